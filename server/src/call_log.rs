//! The request log (SPEC 9): each call's outcome and time at level 3 (info),
//! its params as it arrives at level 4 (debug); calls made with
//! `{silent: true}` are never logged.

use ssrt_runtime::ActionError;
use std::time::Instant;

/// A call being timed for the log.
pub struct CallLog {
    started: Instant,
    method: String,
    via: &'static str,
}

impl CallLog {
    /// Starts timing `method` when the log would show it; `via` names where
    /// it came from (`"ws"`, `"api"`).
    pub fn start(
        method: &str,
        params: Option<&str>,
        via: &'static str,
        silent: bool,
    ) -> Option<Self> {
        if silent || !tracing::enabled!(tracing::Level::INFO) {
            return None;
        }
        tracing::debug!("<- {method} {} ({via})", params.unwrap_or("null"));
        Some(Self {
            started: Instant::now(),
            method: method.to_owned(),
            via,
        })
    }

    pub fn finish(self, outcome: &Result<String, ActionError>) {
        let Self {
            started,
            method,
            via,
        } = self;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        match outcome {
            Ok(_) => tracing::info!("-> {method} ({via}, {ms:.2} ms)"),
            Err(e) => tracing::info!("-> {method} failed: {} ({via}, {ms:.2} ms)", e.code),
        }
    }
}

/// Whether a call's `options` (raw JSON) ask for it not to be logged.
pub fn is_silent(options: &str) -> bool {
    options.contains("silent")
        && serde_json::from_str::<serde_json::Value>(options)
            .is_ok_and(|value| value["silent"] == serde_json::Value::Bool(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_silent_true_is_silent() {
        assert!(is_silent(r#"{"silent":true}"#));
        assert!(is_silent(r#"{ "x": 1, "silent": true }"#));
        assert!(!is_silent(r#"{"silent":false}"#));
        assert!(!is_silent(r#""silent""#));
        assert!(!is_silent("null"));
    }
}
