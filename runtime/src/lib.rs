//! The JavaScript host. Each engine thread owns one `deno_core` engine with
//! the app loaded (SocketStream apps keep state in module variables and
//! expect one event loop); `engines: N` runs N of them. The server reaches
//! them only through [`AppHandle`], which sends jobs over channels.
//! No networking happens here. The asset compilers run on a second thread
//! with an engine of their own ([`Compiler`]).

mod compiler;
mod crash;
mod engine;
mod error;
mod host;
mod ledger;
mod manifest;
mod node;
mod placement;
mod pool;
mod watchdog;

pub use compiler::{CompileError, Compiler, SourceKind, evaluate_config_files};
pub use error::EngineError;
pub use host::StartError;
pub use pool::{AppHandle, AppOptions, LoadSummary, MiddlewareCounts, start};
pub use ssrt_ops::process::console_writes;
pub use ssrt_ops::{
    ActionError, Audience, Completed, ErrorCode, Publication, Publisher, Responder, SessionListener,
};

/// How a console entry ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleOutcome {
    /// It ran; its value was printed.
    Ran,
    /// It threw (printed), or ran past `action_timeout` and was stopped.
    Threw,
    /// [`AppHandle::interrupt`] stopped it (Ctrl-C); the app's state is kept.
    Interrupted,
}

/// How answered calls reach their responders. The engine thread hands over
/// every call answered in one turn at once, so a network thread can be woken
/// once per turn instead of once per reply. Every engine shares it.
pub trait Delivery: Send + Sync + 'static {
    fn deliver(&self, batch: Vec<Completed>);
}

/// Delivers on the engine thread itself, one call after another.
pub struct DeliverInPlace;

impl Delivery for DeliverInPlace {
    fn deliver(&self, batch: Vec<Completed>) {
        batch.into_iter().for_each(Completed::deliver);
    }
}

/// A call of a server action, from a socket or the HTTP API.
pub struct Call {
    /// `file.action`, e.g. `users.online.yesterday`.
    pub method: String,
    /// The JSON text of the params; `None` when the call carries none.
    pub params: Option<String>,
    pub origin: CallOrigin,
    pub responder: Box<dyn Responder>,
}

/// Where a call comes from, which decides its session and its auth rules.
/// A [`CallOrigin::Middleware`] call's method is the `config/http` file,
/// its params an [`HttpRequest`] and its reply an [`HttpReply`].
pub enum CallOrigin {
    /// A WebSocket connection (by its number) whose session was attached
    /// with [`AppHandle::attach_session`].
    Socket { connection: u32 },
    /// The HTTP API: a session of its own (JSON, see [`AppHandle::attach_session`])
    /// and Basic credentials when the request had them.
    Http {
        session: String,
        credentials: Option<(String, String)>,
    },
    /// An HTTP request for the app's own middleware (`config/http`).
    Middleware(MiddlewareStage),
}

/// Which of `config/http`'s middleware lists runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MiddlewareStage {
    /// 0.1 `exports.call` and 0.2 `exports.primary`: before ssrt's routes.
    Primary,
    /// 0.2 `exports.secondary`: for what ssrt's routes do not serve.
    Secondary,
}

impl MiddlewareStage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::Secondary => "secondary",
        }
    }
}

/// An HTTP request as the app's middleware gets it (JSON to the engine).
#[derive(Debug, serde::Serialize)]
pub struct HttpRequest {
    pub method: String,
    /// The path and query, as sent.
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// The client's IP address.
    pub remote: String,
    /// The body, base64.
    pub body: String,
}

/// What the middleware did with a request (JSON from the engine).
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
pub enum HttpReply {
    /// It answered: `body` is base64.
    Response {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// It called `next()` past its last middleware.
    Next { next: bool },
}
