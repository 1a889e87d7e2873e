//! Event fan-out to sockets, in Rust (never in JS): a broadcast channel every
//! connection listens on, and a registry of users' connections. Events reach
//! the hub from the store's pub/sub (see `pubsub.rs`), so that every instance
//! sharing a Redis delivers them.

use ssrt_runtime::ActionError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::{broadcast, mpsc};

/// Broadcasts a slow socket may fall behind by before it misses some.
const BROADCAST_BACKLOG: usize = 1024;

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
    pub outcome: Result<String, ActionError>,
}

pub type ConnectionSender = mpsc::UnboundedSender<Outbound>;

/// Each logged-in user's open connections, by connection id.
type UserConnections = HashMap<String, Vec<(u32, ConnectionSender)>>;

/// The fan-out point shared by every connection and the engine's publisher.
#[derive(Clone)]
pub struct Hub {
    broadcasts: broadcast::Sender<Arc<str>>,
    users: Arc<Mutex<UserConnections>>,
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl Hub {
    pub fn new() -> Self {
        Self {
            broadcasts: broadcast::channel(BROADCAST_BACKLOG).0,
            users: Arc::default(),
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<str>> {
        self.broadcasts.subscribe()
    }

    /// Sends an event frame to every connection of this instance.
    pub fn broadcast(&self, frame: Arc<str>) {
        // An error only means nobody is connected.
        let _ = self.broadcasts.send(frame);
    }

    /// Routes events for `user_id` to a connection (every tab gets them).
    pub fn add_user_connection(&self, user_id: &str, connection: u32, sender: ConnectionSender) {
        let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        users
            .entry(user_id.to_owned())
            .or_default()
            .push((connection, sender));
    }

    pub fn remove_connection(&self, user_id: &str, connection: u32) {
        let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(list) = users.get_mut(user_id) {
            list.retain(|(id, _)| *id != connection);
            if list.is_empty() {
                users.remove(user_id);
            }
        }
    }

    /// Sends an event frame to every connection of these users on this instance.
    pub fn send_to_users(&self, user_ids: &[String], frame: &Arc<str>) {
        let users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        for user_id in user_ids {
            for (_, sender) in users.get(user_id).into_iter().flatten() {
                let _ = sender.send(Outbound::Frame(frame.clone()));
            }
        }
    }
}
