//! `@session` changes made by the app: stored through the store (so any
//! instance resumes them), and logins announced to the server so that a
//! user's events reach every tab of the session.

use deno_core::{OpState, op2};
use deno_error::JsErrorBox;
use ssrt_store::Sessions;
use std::cell::RefCell;
use std::rc::Rc;

/// Told when a session logs in or out; the server moves its connections.
pub trait LoginListener: Send + 'static {
    fn user_changed(&self, session_id: &str, user_id: Option<&str>);
}

/// The engine's login listener, as kept in its `OpState`.
pub struct LoginListenerSlot(pub Box<dyn LoginListener>);

/// Stores one field of a session: `attributes` (JSON) or `user_id`.
#[op2]
pub async fn op_session_set(
    state: Rc<RefCell<OpState>>,
    #[string] id: String,
    #[string] field: String,
    #[string] value: String,
) -> Result<(), JsErrorBox> {
    let sessions = state.borrow().try_borrow::<Sessions>().cloned();
    let Some(sessions) = sessions else {
        return Err(JsErrorBox::generic(
            "sessions are not stored in this engine",
        ));
    };
    sessions
        .set_field(&id, &field, &value)
        .await
        .map_err(crate::redis::js_error)
}

/// A session's user changed; an empty `user_id` means logged out.
#[op2(fast)]
pub fn op_session_user_changed(state: &mut OpState, #[string] id: &str, #[string] user_id: &str) {
    if let Some(listener) = state.try_borrow::<LoginListenerSlot>() {
        listener
            .0
            .user_changed(id, Some(user_id).filter(|u| !u.is_empty()));
    }
}
