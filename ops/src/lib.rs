//! The ops: the only way ssrt's JavaScript reaches Rust (docs/architecture.md; "Ops are the
//! only bridge"). Each module owns one concern and the state it keeps in
//! [`deno_core::OpState`]; [`extension`] bundles them for an engine.

pub mod cache;
pub mod dispatch;
mod error;
pub mod files;
pub mod online;
pub mod process;
pub mod publish;
pub mod redis;
pub mod sessions;

use deno_core::OpState;
use std::cell::RefCell;
use std::rc::Rc;

pub use cache::CompileCache;
pub use dispatch::{ActionError, CallTable, Completed, ErrorCode, Responder};
pub use error::OpError;
pub use publish::{Audience, Publication, Publisher, PublisherSlot};
pub use sessions::{SessionListener, SessionListenerSlot};

deno_core::extension!(
    ssrt_ops,
    ops = [
        cache::op_compile_cache_get,
        cache::op_compile_cache_put,
        dispatch::op_reply,
        dispatch::op_reply_error,
        files::op_fs_kind,
        files::op_fs_read_dir,
        files::op_fs_read_text,
        files::op_npm_dir_exists,
        files::op_npm_file,
        online::op_group_members,
        online::op_online_add,
        online::op_online_all,
        online::op_online_purge,
        online::op_online_remove,
        process::op_console_write,
        process::op_ssrt_version,
        publish::op_publish,
        redis::op_store_command,
        redis::op_store_transaction,
        sessions::op_session_rotate,
        sessions::op_session_channels,
        sessions::op_session_set,
        sessions::op_session_user_changed,
    ],
);

/// `js/bridge.js`, compiled into the binary. (`extension!`'s `js = [...]`
/// would read it from the source tree each time an engine starts, so the
/// binary would fail wherever that tree is not.)
static BRIDGE: [deno_core::ExtensionFileSource; 1] = [deno_core::ExtensionFileSource::new(
    "ext:ssrt_ops/bridge.js",
    deno_core::ascii_str_include!("../js/bridge.js"),
)];

/// The ops extension for a new engine. Its state ([`CallTable`],
/// [`CompileCache`], a [`Publisher`], the [`ssrt_store::Sessions`], the
/// [`ssrt_store::UsersOnline`] and a [`SessionListener`]) is put into the
/// `OpState` by the host.
pub fn extension() -> deno_core::Extension {
    let mut extension = ssrt_ops::init();
    extension.js_files = std::borrow::Cow::Borrowed(&BRIDGE);
    extension
}

/// A clone of the `T` the host put into the op state, for an async op
/// (which must not hold the state across an await); an error naming `what`
/// when this engine has none.
pub(crate) fn from_state<T: Clone + 'static>(
    state: &Rc<RefCell<OpState>>,
    what: &'static str,
) -> Result<T, OpError> {
    let value = state.borrow().try_borrow::<T>().cloned();
    value.ok_or(OpError::NoState(what))
}
