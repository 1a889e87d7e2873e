//! Graceful shutdown on SIGTERM/SIGINT: the listener stops accepting, every
//! connection refuses new calls and waits for its calls in flight (up to
//! `shutdown_timeout`), then closes with 1001 so browsers reconnect to the
//! next instance; the server returns once all connections are closed.

use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tokio_util::task::task_tracker::TrackedFuture;

#[derive(Clone)]
pub struct Shutdown {
    started: CancellationToken,
    /// Cancelled `grace` after `started`: calls still running are cut.
    deadline: CancellationToken,
    connections: TaskTracker,
    /// How long calls in flight get to finish.
    pub grace: Duration,
}

impl Shutdown {
    pub fn new(grace: Duration) -> Self {
        Self {
            started: CancellationToken::new(),
            deadline: CancellationToken::new(),
            connections: TaskTracker::new(),
            grace,
        }
    }

    /// Starts the shutdown; the grace period ends by itself.
    pub fn begin(&self) {
        self.started.cancel();
        let deadline = self.deadline.clone();
        let grace = self.grace;
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            deadline.cancel();
        });
    }

    pub fn has_begun(&self) -> bool {
        self.started.is_cancelled()
    }

    /// Completes once shutdown has begun.
    pub async fn begun(&self) {
        self.started.cancelled().await;
    }

    /// Completes when the grace period is over.
    pub async fn grace_over(&self) {
        self.deadline.cancelled().await;
    }

    /// Counts a connection's task, so that [`Shutdown::connections_closed`]
    /// waits for it.
    pub fn track<F: Future>(&self, connection: F) -> TrackedFuture<F> {
        self.connections.track_future(connection)
    }

    /// Completes when every tracked connection has closed.
    pub async fn connections_closed(&self) {
        self.connections.close();
        self.connections.wait().await;
    }
}
