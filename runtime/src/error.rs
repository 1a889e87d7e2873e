//! What can go wrong in an engine, typed: callers match on what happened,
//! and the engine's own errors (a `JsError` with the app's file and line,
//! an I/O error) stay attached as the source.

use deno_core::error::{CoreError, JsError};

/// An engine could not be made, or an entry into its JavaScript failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot start the JavaScript engine: {0}")]
    Create(#[source] Box<CoreError>),
    #[error("cannot start the {what}: {source}")]
    Thread {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// One of ssrt's own bootstrap scripts failed: a bug in ssrt.
    #[error("ssrt bootstrap {script} failed: {source}")]
    Bootstrap {
        script: &'static str,
        #[source]
        source: Box<JsError>,
    },
    #[error("ssrt bootstrap: __ssrt.{0} is not a function")]
    NotAFunction(&'static str),
    #[error("a string too long for the engine")]
    StringTooLong,
    /// The JavaScript threw; the error has its stack.
    #[error("{0}")]
    Threw(Box<JsError>),
    /// The engine was terminated during the call.
    #[error("the engine stopped running JavaScript")]
    Terminated,
    /// The watchdog (`action_timeout`, `load_timeout`, Ctrl-C) or the heap
    /// limit stopped `what`.
    #[error("{what} {why} and was stopped")]
    Stopped { what: &'static str, why: String },
    /// A bootstrap function returned what its Rust side cannot read: the
    /// two sides of the bridge disagree.
    #[error("__ssrt.{function} returned an unexpected value: {source}")]
    Unexpected {
        function: &'static str,
        #[source]
        source: deno_core::serde_v8::Error,
    },
    /// An async op or a callback failed outside any call.
    #[error(transparent)]
    EventLoop(Box<CoreError>),
    #[error("the JavaScript engine crashed: {0}")]
    Crashed(String),
}
