//! `console` output, and the version `$SS.version` reports.

use deno_core::op2;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// How many times the app has written to its console, process-wide: `ssrt
/// console` watches it to know when a piped script's callbacks are done.
static CONSOLE_WRITES: AtomicU64 = AtomicU64::new(0);

pub fn console_writes() -> u64 {
    CONSOLE_WRITES.load(Ordering::Relaxed)
}

/// Writes console output straight to stdout or stderr, as Node does.
#[op2(fast)]
pub fn op_console_write(is_err: bool, #[string] text: &str) {
    CONSOLE_WRITES.fetch_add(1, Ordering::Relaxed);
    // A closed pipe must not take the server down; there is nowhere to report it.
    let _ = if is_err {
        std::io::stderr().write_all(text.as_bytes())
    } else {
        std::io::stdout().write_all(text.as_bytes())
    };
}

#[op2]
#[string]
pub fn op_ssrt_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
