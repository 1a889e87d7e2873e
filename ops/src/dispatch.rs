//! Calls in flight between the server and the app's actions.
//!
//! The host opens a call in the [`CallTable`] (getting its id), hands the id to
//! JavaScript with the call, and the action's callback comes back through
//! [`op_reply`] or [`op_reply_error`]. A callback called twice is ignored; one
//! never called is answered by [`CallTable::expire`] once the timeout passes.
//!
//! Answers are not sent the moment they arrive: they collect as [`Completed`]
//! calls, which the host takes once per engine turn and delivers together.
//! Sending each reply on its own would wake the network thread once per reply.

use deno_core::{OpState, op2};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// A failed call: a SPEC 2 error code and its message. The dispatcher's
/// codes (`05_dispatch.js`) and the app's own come from JavaScript as text;
/// ssrt's are an [`ErrorCode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ActionError {
    pub code: String,
    pub message: String,
}

impl ActionError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code: code.as_str().to_owned(),
            message: message.into(),
        }
    }

    pub fn is(&self, code: ErrorCode) -> bool {
        self.code == code.as_str()
    }
}

/// The error codes ssrt gives a call itself, outside the dispatcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The action ran, or waited for its callback, past `action_timeout`.
    ActionTimeout,
    /// Ctrl-C in the console stopped it.
    Interrupted,
    /// It needed more memory than `heap_limit_mb` allows.
    OutOfMemory,
    /// ssrt could not run it or read its answer: a bug in ssrt.
    InternalError,
    /// The engines are gone for good (see `MAX_LOST_ENGINES`).
    EngineStopped,
    /// The engine crashed or ran out of memory while the call was in flight.
    EngineRestarted,
    /// The engine failed repeatedly and waits before its next restart.
    EngineRestarting,
    /// The HTTP API wants credentials (`exports.authenticate`); the
    /// dispatcher gives it.
    Unauthorized,
}

impl ErrorCode {
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ActionTimeout => "action_timeout",
            ErrorCode::Interrupted => "interrupted",
            ErrorCode::OutOfMemory => "out_of_memory",
            ErrorCode::InternalError => "internal_error",
            ErrorCode::EngineStopped => "engine_stopped",
            ErrorCode::EngineRestarted => "engine_restarted",
            ErrorCode::EngineRestarting => "engine_restarting",
            ErrorCode::Unauthorized => "unauthorized",
        }
    }
}

/// Where a call's outcome goes: a socket, an HTTP response, the console.
/// The reply is the JSON text of the value the action passed to its callback.
pub trait Responder: Send + 'static {
    fn respond(self: Box<Self>, outcome: Result<String, ActionError>);
}

struct Pending {
    method: String,
    responder: Box<dyn Responder>,
}

/// An answered call, waiting to be delivered to its responder.
pub struct Completed {
    responder: Box<dyn Responder>,
    outcome: Result<String, ActionError>,
}

impl Completed {
    pub fn deliver(self) {
        self.responder.respond(self.outcome);
    }
}

/// The calls waiting for their action's callback.
pub struct CallTable {
    next_id: u32,
    timeout: Duration,
    pending: HashMap<u32, Pending>,
    /// Deadlines in the order calls were opened; all share one timeout, so
    /// this is also deadline order.
    deadlines: VecDeque<(Instant, u32)>,
    completed: Vec<Completed>,
}

/// Call ids stay below 2^31 so that JavaScript sees them as small integers.
const MAX_CALL_ID: u32 = i32::MAX as u32;

impl CallTable {
    pub fn new(timeout: Duration) -> Self {
        Self {
            next_id: 0,
            timeout,
            pending: HashMap::new(),
            deadlines: VecDeque::new(),
            completed: Vec::new(),
        }
    }

    /// Registers a call and returns the id JavaScript answers it by.
    pub fn open(&mut self, method: String, responder: Box<dyn Responder>) -> u32 {
        let id = loop {
            self.next_id = if self.next_id >= MAX_CALL_ID {
                1
            } else {
                self.next_id + 1
            };
            if !self.pending.contains_key(&self.next_id) {
                break self.next_id;
            }
        };
        self.pending.insert(id, Pending { method, responder });
        self.deadlines
            .push_back((Instant::now() + self.timeout, id));
        id
    }

    /// Records a call's outcome; `false` when the call was already answered.
    pub fn complete(&mut self, id: u32, outcome: Result<String, ActionError>) -> bool {
        match self.pending.remove(&id) {
            Some(pending) => {
                self.completed.push(Completed {
                    responder: pending.responder,
                    outcome,
                });
                true
            }
            None => false,
        }
    }

    /// The calls answered since the last take, in the order they were answered.
    pub fn take_completed(&mut self) -> Vec<Completed> {
        std::mem::take(&mut self.completed)
    }

    /// Answers every call whose deadline has passed with an `action_timeout` error.
    pub fn expire(&mut self, now: Instant) -> usize {
        let mut expired = 0;
        while let Some(&(deadline, id)) = self.deadlines.front() {
            if deadline > now {
                break;
            }
            self.deadlines.pop_front();
            if let Some(pending) = self.pending.remove(&id) {
                let message = format!(
                    "The {} action did not call back within {:.1}s",
                    pending.method,
                    self.timeout.as_secs_f64()
                );
                self.completed.push(Completed {
                    responder: pending.responder,
                    outcome: Err(ActionError::new(ErrorCode::ActionTimeout, message)),
                });
                expired += 1;
            }
        }
        // Answered calls leave their deadline behind; drop those from the front.
        while let Some(&(_, id)) = self.deadlines.front() {
            if self.pending.contains_key(&id) {
                break;
            }
            self.deadlines.pop_front();
        }
        expired
    }

    /// Whether no call is waiting.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

#[op2(fast)]
pub fn op_reply(state: &mut OpState, #[smi] call_id: u32, #[string] json: String) {
    state.borrow_mut::<CallTable>().complete(call_id, Ok(json));
}

#[op2(fast)]
pub fn op_reply_error(
    state: &mut OpState,
    #[smi] call_id: u32,
    #[string] code: String,
    #[string] message: String,
) {
    state
        .borrow_mut::<CallTable>()
        .complete(call_id, Err(ActionError { code, message }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    struct Channel(mpsc::Sender<Result<String, ActionError>>);
    impl Responder for Channel {
        fn respond(self: Box<Self>, outcome: Result<String, ActionError>) {
            self.0.send(outcome).unwrap();
        }
    }

    #[test]
    fn a_call_is_answered_once() {
        let (tx, rx) = mpsc::channel();
        let mut table = CallTable::new(Duration::from_secs(30));
        let id = table.open("app.square".into(), Box::new(Channel(tx)));
        assert!(table.complete(id, Ok("625".into())));
        assert!(!table.complete(id, Ok("1".into())));
        assert!(rx.try_recv().is_err(), "nothing is sent before delivery");
        table
            .take_completed()
            .into_iter()
            .for_each(Completed::deliver);
        assert_eq!(rx.try_recv().unwrap(), Ok("625".into()));
        assert!(rx.try_recv().is_err());
        assert!(table.is_empty());
    }

    #[test]
    fn a_call_never_answered_times_out() {
        let (tx, rx) = mpsc::channel();
        let mut table = CallTable::new(Duration::from_millis(10));
        let slow = table.open("app.slow".into(), Box::new(Channel(tx.clone())));
        let fast = table.open("app.fast".into(), Box::new(Channel(tx)));
        table.complete(fast, Ok("1".into()));
        assert_eq!(table.expire(Instant::now()), 0);
        assert_eq!(table.expire(Instant::now() + Duration::from_millis(11)), 1);
        table
            .take_completed()
            .into_iter()
            .for_each(Completed::deliver);
        assert_eq!(rx.recv().unwrap(), Ok("1".into()));
        let timeout = rx.recv().unwrap().unwrap_err();
        assert_eq!(timeout.code, "action_timeout");
        assert!(timeout.message.contains("app.slow"));
        assert!(!table.complete(slow, Ok("late".into())));
        assert!(table.deadlines.is_empty());
    }
}
