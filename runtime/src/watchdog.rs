//! Stops JavaScript that runs too long. A loop in an action (`while true`)
//! never yields to the engine thread, so nothing on that thread can stop it:
//! a thread of its own watches each entry into JavaScript and, past the
//! limit, asks the engine to terminate (deno_core's `terminate_execution`,
//! which the QuickJS backend maps to its interrupt handler). The engine
//! cancels the termination once the entry has unwound and goes on serving
//! with its state intact. [`Interrupter`] takes the same path on demand:
//! Ctrl-C in `ssrt console`.

use deno_core::v8::IsolateHandle;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How often the watching thread looks, at most: a loop is stopped within
/// this much of its limit.
const TICK: Duration = Duration::from_millis(100);

/// Who stopped an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoppedBy {
    /// It ran past the limit.
    Timeout,
    /// [`Interrupter::interrupt`] (Ctrl-C in the console).
    Interrupt,
}

pub(crate) struct Watchdog {
    shared: Arc<Shared>,
    isolate: IsolateHandle,
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
    /// How long the current entry may run.
    limit: Duration,
    /// Whether (and why) the current entry was terminated.
    stopped_by: Option<StoppedBy>,
    /// Set when the engine is gone, so the watching thread ends.
    stopped: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stop_watching(&self) {
        self.lock().stopped = true;
        self.wake.notify_all();
    }
}

impl Watchdog {
    /// Starts the watching thread for the engine behind `isolate`.
    pub(crate) fn start(isolate: IsolateHandle) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            state: Mutex::default(),
            wake: Condvar::new(),
        });
        let watched = Arc::clone(&shared);
        let handle = isolate.clone();
        std::thread::Builder::new()
            .name("ssrt-watchdog".into())
            .spawn(move || watch(&watched, &handle))?;
        Ok(Self { shared, isolate })
    }

    /// Marks the start of an entry into JavaScript that may run for
    /// `limit`, which lasts until [`Entry::finish`] (or the guard is dropped).
    pub(crate) fn enter(&self, limit: Duration) -> Entry<'_> {
        let mut state = self.shared.lock();
        state.entered_at = Some(Instant::now());
        state.limit = limit;
        state.stopped_by = None;
        Entry {
            shared: &self.shared,
        }
    }

    /// A handle that stops the entry running at the time it is used, from
    /// any thread.
    pub(crate) fn interrupter(&self) -> Interrupter {
        Interrupter {
            shared: Arc::clone(&self.shared),
            isolate: self.isolate.clone(),
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.shared.stop_watching();
    }
}

/// Stops the JavaScript an engine is running, as the watchdog does at the
/// limit; cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct Interrupter {
    shared: Arc<Shared>,
    isolate: IsolateHandle,
}

impl Interrupter {
    /// Terminates the entry into JavaScript running now; `false` when the
    /// engine is not running JavaScript (or the entry is already stopped).
    pub fn interrupt(&self) -> bool {
        let mut state = self.shared.lock();
        if state.entered_at.is_none() || state.stopped_by.is_some() {
            return false;
        }
        state.stopped_by = Some(StoppedBy::Interrupt);
        self.isolate.terminate_execution();
        true
    }

    /// How long the entry into JavaScript running now has run; `None`
    /// outside JavaScript.
    pub fn busy_for(&self) -> Option<Duration> {
        self.shared
            .lock()
            .entered_at
            .map(|entered| entered.elapsed())
    }

    /// Ends the watching thread of an engine that will never run again (it
    /// crashed), which [`Watchdog`]'s drop would otherwise do.
    pub(crate) fn retire(&self) {
        self.shared.stop_watching();
    }
}

/// One entry into JavaScript, watched while it lives.
pub(crate) struct Entry<'a> {
    shared: &'a Shared,
}

impl Entry<'_> {
    /// Ends the entry; whether (and why) it was terminated. One lock for
    /// both, so no stop can land after the answer.
    pub(crate) fn finish(self) -> Option<StoppedBy> {
        let stopped_by = {
            let mut state = self.shared.lock();
            state.entered_at = None;
            state.stopped_by
        };
        std::mem::forget(self); // already ended; `drop` would only repeat it
        stopped_by
    }
}

impl Drop for Entry<'_> {
    fn drop(&mut self) {
        self.shared.lock().entered_at = None;
    }
}

fn watch(shared: &Shared, isolate: &IsolateHandle) {
    let mut state = shared.lock();
    while !state.stopped {
        let overdue = state
            .entered_at
            .is_some_and(|entered| entered.elapsed() > state.limit);
        if overdue && state.stopped_by.is_none() {
            state.stopped_by = Some(StoppedBy::Timeout);
            isolate.terminate_execution();
        }
        state = match shared.wake.wait_timeout(state, TICK) {
            Ok((state, _)) => state,
            Err(poisoned) => poisoned.into_inner().0,
        };
    }
}
