//! Stops JavaScript that runs too long. A loop in an action (`while true`)
//! never yields to the engine thread, so nothing on that thread can stop it:
//! a thread of its own watches each entry into JavaScript and, past the
//! limit, asks the engine to terminate (deno_core's `terminate_execution`,
//! which the QuickJS backend maps to its interrupt handler). The engine
//! cancels the termination once the entry has unwound and goes on serving
//! with its state intact.

use deno_core::v8::IsolateHandle;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How often the watching thread looks, at most: a loop is stopped within
/// this much of its limit.
const TICK: Duration = Duration::from_millis(100);

/// Not in JavaScript: what [`Shared::entered_at`] holds between entries.
const IDLE: u64 = u64::MAX;

pub(crate) struct Watchdog {
    shared: Arc<Shared>,
}

struct Shared {
    /// When the current entry began, in ms since `epoch`; [`IDLE`] outside.
    entered_at: AtomicU64,
    /// Whether the current entry was terminated.
    fired: AtomicBool,
    epoch: Instant,
    limit: Duration,
    /// Set when the engine is gone, so the watching thread ends.
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl Shared {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(IDLE - 1)
    }
}

impl Watchdog {
    /// Starts the watching thread for the engine behind `isolate`; entries
    /// may run for `limit`.
    pub(crate) fn start(isolate: IsolateHandle, limit: Duration) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            entered_at: AtomicU64::new(IDLE),
            fired: AtomicBool::new(false),
            epoch: Instant::now(),
            limit,
            stopped: Mutex::new(false),
            wake: Condvar::new(),
        });
        let watched = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("ssrt-watchdog".into())
            .spawn(move || watch(&watched, &isolate))?;
        Ok(Self { shared })
    }

    /// Marks the start of an entry into JavaScript; it ends when the guard
    /// is dropped.
    pub(crate) fn enter(&self) -> Entry<'_> {
        self.shared.fired.store(false, Ordering::SeqCst);
        self.shared
            .entered_at
            .store(self.shared.now_ms(), Ordering::SeqCst);
        Entry {
            shared: &self.shared,
        }
    }

    pub(crate) fn limit(&self) -> Duration {
        self.shared.limit
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        if let Ok(mut stopped) = self.shared.stopped.lock() {
            *stopped = true;
        }
        self.shared.wake.notify_all();
    }
}

/// One entry into JavaScript, watched while it lives.
pub(crate) struct Entry<'a> {
    shared: &'a Shared,
}

impl Entry<'_> {
    /// Whether the watchdog terminated this entry (so far).
    pub(crate) fn was_stopped(&self) -> bool {
        self.shared.fired.load(Ordering::SeqCst)
    }
}

impl Drop for Entry<'_> {
    fn drop(&mut self) {
        self.shared.entered_at.store(IDLE, Ordering::SeqCst);
    }
}

fn watch(shared: &Shared, isolate: &IsolateHandle) {
    let Ok(mut stopped) = shared.stopped.lock() else {
        return;
    };
    while !*stopped {
        let entered_at = shared.entered_at.load(Ordering::SeqCst);
        let limit = u64::try_from(shared.limit.as_millis()).unwrap_or(u64::MAX);
        if entered_at != IDLE
            && shared.now_ms().saturating_sub(entered_at) > limit
            && !shared.fired.swap(true, Ordering::SeqCst)
        {
            isolate.terminate_execution();
        }
        stopped = match shared.wake.wait_timeout(stopped, TICK) {
            Ok((guard, _)) => guard,
            Err(_) => return,
        };
    }
}
