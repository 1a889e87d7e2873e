//! What an op throws into JavaScript: one enum, each case with its JS class
//! (`deno_error::JsError`) and its message (`thiserror`).

use ssrt_store::StoreError;

#[derive(Debug, thiserror::Error, deno_error::JsError)]
pub enum OpError {
    /// The store (Redis or embedded) failed; the app's callback gets the
    /// message.
    #[class(generic)]
    #[error(transparent)]
    Store(#[from] StoreError),
    #[class(generic)]
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The host put no such state into this engine (the compilers' engine
    /// has no store, for one).
    #[class(generic)]
    #[error("this engine has no {0}")]
    NoState(&'static str),
    #[class(type)]
    #[error("unknown audience {0}")]
    UnknownAudience(String),
}
