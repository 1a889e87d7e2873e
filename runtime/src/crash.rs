//! A Rust panic on an engine thread. Most panics there happen inside a call
//! from JavaScript into Rust (an op), behind the engine's `extern "C"`
//! callbacks: unwinding cannot cross those, so the panic would abort the
//! whole process. The panic hook runs before any unwinding, so for an engine
//! thread it reports the crash and then parks that thread for good: nothing
//! unwinds, the process lives on, and the supervisor ([`crate::host`])
//! starts a new engine. The parked engine keeps its memory (its heap cannot
//! be freed while its stack is still inside it). Any panic on an engine
//! thread counts, even one something there would have caught (a task's):
//! after a panic, the engine's state cannot be trusted.

use std::any::Any;
use std::backtrace::{Backtrace, BacktraceStatus};
use std::cell::RefCell;
use std::panic::PanicHookInfo;
use std::sync::Once;

/// What crashed an engine thread.
#[derive(Debug)]
pub(crate) struct Crash {
    /// The panic's message and where it happened.
    pub what: String,
    /// Captured when `RUST_BACKTRACE` asks for one; resolved (slow) only
    /// when printed.
    pub backtrace: Backtrace,
}

impl Crash {
    /// The backtrace on lines of its own, or nothing when none was captured.
    pub(crate) fn backtrace_lines(&self) -> String {
        match self.backtrace.status() {
            BacktraceStatus::Captured => format!("\n{}", self.backtrace),
            _ => String::new(),
        }
    }
}

type OnCrash = Box<dyn FnOnce(Crash)>;

thread_local! {
    /// Set on engine threads: what to do when this thread panics.
    static ON_CRASH: RefCell<Option<OnCrash>> = const { RefCell::new(None) };
}

/// Makes a panic on this thread call `on_crash` and park the thread
/// instead of unwinding (see the module's documentation).
pub(crate) fn watch_this_thread(on_crash: impl FnOnce(Crash) + 'static) {
    install_hook();
    ON_CRASH.with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            *slot = Some(Box::new(on_crash));
        }
    });
}

/// Undoes [`watch_this_thread`]: the engine on this thread has ended normally.
pub(crate) fn stop_watching_this_thread() {
    ON_CRASH.with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            slot.take();
        }
    });
}

fn install_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let on_crash = ON_CRASH
                .try_with(|slot| slot.try_borrow_mut().ok().and_then(|mut slot| slot.take()))
                .ok()
                .flatten();
            let Some(on_crash) = on_crash else {
                return previous(info);
            };
            on_crash(describe(info));
            // Never return: returning would unwind into the engine's C frames.
            loop {
                std::thread::park();
            }
        }));
    });
}

fn describe(info: &PanicHookInfo<'_>) -> Crash {
    let message = payload_text(info.payload());
    let what = match info.location() {
        Some(location) => format!("{message} (at {location})"),
        None => message,
    };
    Crash {
        what,
        backtrace: Backtrace::capture(),
    }
}

fn payload_text(payload: &dyn Any) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_owned()
    }
}
