//! A connection's queue of frames waiting to be written, bounded by bytes.
//!
//! Replies and user events are queued by other tasks (the engine's reply
//! pump, the pub/sub subscriber) faster than a browser that stopped reading
//! takes them. Past `websocket.outbound_queue_bytes` the queue refuses more
//! and wakes its connection, which closes with 1013 so that the browser
//! reconnects — instead of the server's memory growing without bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{Notify, mpsc};

/// What a connection task is asked to write. Kept two words wide: every
/// connection's queue preallocates room for a block of these.
pub enum Outbound {
    /// A finished frame (events are built once and shared).
    Frame(Arc<str>),
    /// A call's answer or error, turned into a frame by the connection task.
    Answer(Box<Answer>),
}

pub struct Answer {
    pub cb_id: Box<str>,
    pub options: Box<str>,
    pub outcome: Result<String, ssrt_runtime::ActionError>,
}

impl Outbound {
    /// About the bytes its frame will take (the frame's envelope is small and
    /// the same for all).
    fn size(&self) -> usize {
        const ENVELOPE: usize = 64;
        ENVELOPE
            + match self {
                Outbound::Frame(frame) => frame.len(),
                Outbound::Answer(answer) => match &answer.outcome {
                    Ok(params) => params.len() + answer.cb_id.len() + answer.options.len(),
                    Err(e) => e.message.len(),
                },
            }
    }
}

/// The bytes queued and not yet written, shared by both ends.
struct Backlog {
    bytes: AtomicUsize,
    limit: usize,
    overflowed: Notify,
}

/// What [`Inbox::recv`] found.
pub enum Queued {
    Frame(Outbound, usize),
    Overflowed,
}

/// The sending end: cheap to clone, held by the hub and by pending calls.
#[derive(Clone)]
pub struct Outbox {
    queue: mpsc::UnboundedSender<Outbound>,
    backlog: Arc<Backlog>,
}

/// The connection task's end.
pub struct Inbox {
    queue: mpsc::UnboundedReceiver<Outbound>,
    backlog: Arc<Backlog>,
}

/// A queue that holds at most `limit` bytes.
pub fn channel(limit: usize) -> (Outbox, Inbox) {
    let (sender, receiver) = mpsc::unbounded_channel();
    let backlog = Arc::new(Backlog {
        bytes: AtomicUsize::new(0),
        limit,
        overflowed: Notify::new(),
    });
    let outbox = Outbox {
        queue: sender,
        backlog: backlog.clone(),
    };
    let inbox = Inbox {
        queue: receiver,
        backlog,
    };
    (outbox, inbox)
}

impl Outbox {
    /// Queues a frame, or drops it and signals the overflow when the
    /// connection is that far behind (it is about to be closed), or gone.
    pub fn send(&self, message: Outbound) {
        let size = message.size();
        let backlog = &self.backlog;
        let queued = backlog.bytes.fetch_add(size, Ordering::Relaxed) + size;
        if queued > backlog.limit {
            backlog.bytes.fetch_sub(size, Ordering::Relaxed);
            // Stores a permit, so the overflow is seen even if the
            // connection task is busy writing right now.
            backlog.overflowed.notify_one();
            return;
        }
        if self.queue.send(message).is_err() {
            backlog.bytes.fetch_sub(size, Ordering::Relaxed);
        }
    }
}

impl Inbox {
    /// The next frame to write, with its size for [`Inbox::written`] — or
    /// the news that a sender found the queue full. `None` once every
    /// sender is gone.
    pub async fn recv(&mut self) -> Option<Queued> {
        let overflowed = self.backlog.overflowed.notified();
        tokio::select! {
            biased;
            () = overflowed => Some(Queued::Overflowed),
            message = self.queue.recv() => message.map(|message| {
                let size = message.size();
                Queued::Frame(message, size)
            }),
        }
    }

    /// A frame already queued, without waiting.
    pub fn try_recv(&mut self) -> Option<(Outbound, usize)> {
        let message = self.queue.try_recv().ok()?;
        let size = message.size();
        Some((message, size))
    }

    /// Frees queue room once frames have reached the socket: counting until
    /// then bounds what a stalled write holds, too.
    pub fn written(&self, bytes: usize) {
        self.backlog.bytes.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// Completes when a sender found the queue full: lets a write that is
    /// stuck on a reader that stopped reading give up at once.
    pub async fn overflowed(&self) {
        self.backlog.overflowed.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(bytes: usize) -> Outbound {
        Outbound::Frame("x".repeat(bytes).into())
    }

    #[tokio::test]
    async fn a_full_queue_drops_and_signals_until_frames_are_written() {
        let (outbox, mut inbox) = channel(1000);
        outbox.send(frame(400));
        outbox.send(frame(400));
        // 2 × (400 + 64) queued; one more would pass 1000.
        outbox.send(frame(400));
        assert!(matches!(inbox.recv().await, Some(Queued::Overflowed)));
        let Some(Queued::Frame(_, first)) = inbox.recv().await else {
            panic!("the first frame is queued")
        };
        let (_, second) = inbox.try_recv().expect("second");
        assert!(inbox.try_recv().is_none(), "the third frame was dropped");
        inbox.written(first + second);
        outbox.send(frame(400));
        assert!(inbox.try_recv().is_some(), "room again after writing");
    }
}
