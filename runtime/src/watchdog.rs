//! Stops JavaScript that runs too long. A loop in an action (`while true`)
//! never yields to the engine thread, so nothing on that thread can stop it:
//! a thread of its own watches each entry into JavaScript and, past the
//! limit, asks the engine to terminate (deno_core's `terminate_execution`,
//! which the QuickJS backend maps to its interrupt handler). The engine
//! cancels the termination once the entry has unwound and goes on serving
//! with its state intact.

use deno_core::v8::IsolateHandle;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How often the watching thread looks, at most: a loop is stopped within
/// this much of its limit.
const TICK: Duration = Duration::from_millis(100);

pub(crate) struct Watchdog {
    shared: Arc<Shared>,
    limit: Duration,
}

struct Shared {
    /// One lock for both sides, so that an entry never ends between the
    /// watcher's decision to stop it and the stop itself.
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Default)]
struct State {
    /// When the current entry began; `None` outside JavaScript.
    entered_at: Option<Instant>,
    /// Whether the current entry was terminated.
    fired: bool,
    /// Set when the engine is gone, so the watching thread ends.
    stopped: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Watchdog {
    /// Starts the watching thread for the engine behind `isolate`; entries
    /// may run for `limit`.
    pub(crate) fn start(isolate: IsolateHandle, limit: Duration) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            state: Mutex::default(),
            wake: Condvar::new(),
        });
        let watched = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("ssrt-watchdog".into())
            .spawn(move || watch(&watched, &isolate, limit))?;
        Ok(Self { shared, limit })
    }

    /// Marks the start of an entry into JavaScript, which lasts until
    /// [`Entry::finish`] (or the guard is dropped).
    pub(crate) fn enter(&self) -> Entry<'_> {
        let mut state = self.shared.lock();
        state.entered_at = Some(Instant::now());
        state.fired = false;
        Entry {
            shared: &self.shared,
        }
    }

    pub(crate) fn limit(&self) -> Duration {
        self.limit
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.shared.lock().stopped = true;
        self.shared.wake.notify_all();
    }
}

/// One entry into JavaScript, watched while it lives.
pub(crate) struct Entry<'a> {
    shared: &'a Shared,
}

impl Entry<'_> {
    /// Ends the entry; whether the watchdog terminated it. One lock for
    /// both, so no stop can land after the answer.
    pub(crate) fn finish(self) -> bool {
        let fired = {
            let mut state = self.shared.lock();
            state.entered_at = None;
            state.fired
        };
        std::mem::forget(self); // already ended; `drop` would only repeat it
        fired
    }
}

impl Drop for Entry<'_> {
    fn drop(&mut self) {
        self.shared.lock().entered_at = None;
    }
}

fn watch(shared: &Shared, isolate: &IsolateHandle, limit: Duration) {
    let mut state = shared.lock();
    while !state.stopped {
        let overdue = state
            .entered_at
            .is_some_and(|entered| entered.elapsed() > limit);
        if overdue && !state.fired {
            state.fired = true;
            isolate.terminate_execution();
        }
        state = match shared.wake.wait_timeout(state, TICK) {
            Ok((state, _)) => state,
            Err(poisoned) => poisoned.into_inner().0,
        };
    }
}
