//! What the engine owes its callers, kept outside the engine. A call's
//! responder (and a console entry's reply) is recorded here when the job is
//! queued; the engine answers through a stand-in that takes it back out. If
//! the engine crashes, its stand-ins are never used (the crashed engine never
//! runs again), so the supervisor answers whatever is still owed: every
//! caller gets an answer, none waits forever.

use crate::{ActionError, Responder};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::oneshot;

#[derive(Default)]
pub(crate) struct Ledger {
    state: Mutex<State>,
    /// Set while an engine that cannot go on is dropped: the calls it
    /// leaves unanswered get `engine_restarted`, not `engine_stopped`.
    restarting: AtomicBool,
    /// How many calls got `engine_restarted` that way.
    restarted: AtomicUsize,
}

#[derive(Default)]
struct State {
    next_id: u64,
    owed: HashMap<u64, Debt>,
}

enum Debt {
    Call(Box<dyn Responder>),
    /// A reply over a channel: how to fail it.
    Reply(Box<dyn FnOnce(ActionError) + Send>),
}

impl Ledger {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, debt: Debt) -> u64 {
        let mut state = self.lock();
        state.next_id = state.next_id.wrapping_add(1);
        let id = state.next_id;
        state.owed.insert(id, debt);
        id
    }

    fn take(&self, id: u64) -> Option<Debt> {
        self.lock().owed.remove(&id)
    }

    /// Records a call's responder; the engine answers through the stand-in
    /// returned.
    pub(crate) fn owe_call(self: &Arc<Self>, responder: Box<dyn Responder>) -> Box<dyn Responder> {
        let id = self.record(Debt::Call(responder));
        Box::new(OwedCall {
            id,
            ledger: Arc::clone(self),
            answered: false,
        })
    }

    /// A reply the engine owes over a channel: the engine's end, and the
    /// caller's, which gets either the engine's answer or an error.
    pub(crate) fn owe_reply<T: Send + 'static>(
        self: &Arc<Self>,
    ) -> (Owed<T>, oneshot::Receiver<Result<T, ActionError>>) {
        let (sender, receiver) = oneshot::channel();
        let slot = Arc::new(Mutex::new(Some(sender)));
        let failed = Arc::clone(&slot);
        let id = self.record(Debt::Reply(Box::new(move |error| {
            if let Some(sender) = lock(&failed).take() {
                let _ = sender.send(Err(error));
            }
        })));
        let owed = Owed {
            id,
            slot,
            ledger: Arc::clone(self),
        };
        (owed, receiver)
    }

    /// How many calls and replies are owed now.
    pub(crate) fn owed(&self) -> usize {
        self.lock().owed.len()
    }

    /// Takes everything owed now, to answer it with an error (outside any
    /// lock the caller holds).
    pub(crate) fn take_all(&self) -> Owing {
        Owing(self.lock().owed.drain().map(|(_, debt)| debt).collect())
    }

    /// Runs `give_up`, which drops the stand-ins of an engine that is
    /// being replaced: the calls it had begun and not answered get
    /// `engine_restarted`. Returns how many.
    pub(crate) fn restarting(&self, give_up: impl FnOnce()) -> usize {
        self.restarted.store(0, Ordering::SeqCst);
        self.restarting.store(true, Ordering::SeqCst);
        give_up();
        self.restarting.store(false, Ordering::SeqCst);
        self.restarted.load(Ordering::SeqCst)
    }
}

/// Debts taken out of the ledger, to be answered.
pub(crate) struct Owing(Vec<Debt>);

impl Owing {
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// Answers every debt with `error`.
    pub(crate) fn fail(self, error: impl Fn() -> ActionError) {
        for debt in self.0 {
            match debt {
                Debt::Call(responder) => responder.respond(Err(error())),
                Debt::Reply(fail) => fail(error()),
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The engine's stand-in for a call's responder.
struct OwedCall {
    id: u64,
    ledger: Arc<Ledger>,
    answered: bool,
}

impl Responder for OwedCall {
    fn respond(mut self: Box<Self>, outcome: Result<String, ActionError>) {
        self.answered = true;
        // Already answered when the engine was given up on.
        if let Some(Debt::Call(responder)) = self.ledger.take(self.id) {
            responder.respond(outcome);
        }
    }
}

impl Drop for OwedCall {
    /// A call dropped unanswered (its engine shut down, or is replaced) is
    /// told so.
    fn drop(&mut self) {
        if !self.answered
            && let Some(Debt::Call(responder)) = self.ledger.take(self.id)
        {
            let error = if self.ledger.restarting.load(Ordering::SeqCst) {
                self.ledger.restarted.fetch_add(1, Ordering::SeqCst);
                crate::host::engine_restarted()
            } else {
                crate::host::engine_stopped()
            };
            responder.respond(Err(error));
        }
    }
}

/// Where a reply goes: taken by whichever answers first, the engine or the
/// ledger failing it.
type ReplySlot<T> = Arc<Mutex<Option<oneshot::Sender<Result<T, ActionError>>>>>;

/// The engine's end of a reply owed over a channel.
pub(crate) struct Owed<T> {
    id: u64,
    slot: ReplySlot<T>,
    ledger: Arc<Ledger>,
}

impl<T> Owed<T> {
    pub(crate) fn send(self, outcome: Result<T, ActionError>) {
        self.ledger.take(self.id);
        if let Some(sender) = lock(&self.slot).take() {
            let _ = sender.send(outcome);
        }
    }
}

impl<T> Drop for Owed<T> {
    /// Dropped unsent (the engine shut down): the caller's receiver sees
    /// the channel closed; the ledger forgets it.
    fn drop(&mut self) {
        self.ledger.take(self.id);
    }
}
