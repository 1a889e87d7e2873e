//! A connection's queue of frames waiting to be written, bounded by bytes.
//!
//! Replies and user events are queued by other tasks (the engine's reply
//! pump, the pub/sub subscriber) faster than a browser that stopped reading
//! takes them. Past `websocket.outbound_queue_bytes` the queue refuses more
//! and wakes its connection, which closes with 1013 so that the browser
//! reconnects — instead of the server's memory growing without bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use tokio::sync::{Notify, mpsc};

/// What a connection task is asked to write. Kept two words wide: every
/// connection's queue preallocates room for a block of these.
pub enum Outbound {
    /// A finished frame (events are built once and shared).
    Frame(Arc<str>),
    /// A call's answer or error, turned into a frame by the connection task.
    Answer(Box<Answer>),
    /// Not a frame: queued once, when the queue first overflows, to wake its
    /// connection (see [`Queued::Overflowed`]).
    Overflowed,
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
                Outbound::Overflowed => 0,
            }
    }
}

/// The bytes queued and not yet written, shared by both ends.
struct Backlog {
    bytes: AtomicUsize,
    limit: usize,
    overflowed: AtomicBool,
    /// Wakes a write stalled on the reader that overflowed.
    stalled_write: Notify,
}

fn queued(message: Outbound) -> Queued {
    match message {
        Outbound::Overflowed => Queued::Overflowed,
        message => {
            let size = message.size();
            Queued::Frame(message, size)
        }
    }
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
        overflowed: AtomicBool::new(false),
        stalled_write: Notify::new(),
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
            if !backlog.overflowed.swap(true, Ordering::Relaxed) {
                // Once: wakes the connection task if it waits for frames,
                // and (a stored permit) if it is stuck writing.
                let _ = self.queue.send(Outbound::Overflowed);
                backlog.stalled_write.notify_one();
            }
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
        self.queue.recv().await.map(queued)
    }

    /// The same, without waiting.
    pub fn try_recv(&mut self) -> Option<Queued> {
        self.queue.try_recv().ok().map(queued)
    }

    /// Frees queue room once frames have reached the socket: counting until
    /// then bounds what a stalled write holds, too.
    pub fn written(&self, bytes: usize) {
        self.backlog.bytes.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// Completes when a sender found the queue full: lets a write that is
    /// stuck on a reader that stopped reading give up at once.
    pub async fn overflowed(&self) {
        self.backlog.stalled_write.notified().await;
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
        let Some(Queued::Frame(_, first)) = inbox.recv().await else {
            panic!("the first frame is queued")
        };
        let Some(Queued::Frame(_, second)) = inbox.try_recv() else {
            panic!("the second frame is queued")
        };
        // The third was dropped; in its place, the news.
        assert!(matches!(inbox.try_recv(), Some(Queued::Overflowed)));
        assert!(inbox.try_recv().is_none());
        tokio::time::timeout(std::time::Duration::from_secs(1), inbox.overflowed())
            .await
            .expect("a stalled write hears of it too");
        inbox.written(first + second);
        outbox.send(frame(400));
        assert!(
            matches!(inbox.try_recv(), Some(Queued::Frame(..))),
            "room again after writing"
        );
    }
}
