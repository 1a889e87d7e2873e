//! Event fan-out to sockets, in Rust (never in JS): a broadcast channel every
//! connection listens on, and a registry of users' connections. Events reach
//! the hub from the store's pub/sub (see `pubsub.rs`), so that every instance
//! sharing a Redis delivers them.

use crate::outbox::{Outbound, Outbox};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::broadcast;

/// Broadcasts a slow socket may fall behind by before it misses some.
const BROADCAST_BACKLOG: usize = 1024;

/// The connections of this instance, by session, by logged-in user and by
/// channel (the later API's `@session.channel`).
#[derive(Default)]
struct Registry {
    connections: HashMap<u32, Registered>,
    by_session: HashMap<String, Vec<u32>>,
    by_user: HashMap<String, Vec<u32>>,
    by_channel: HashMap<String, Vec<u32>>,
}

struct Registered {
    session_id: String,
    user_id: Option<String>,
    channels: Vec<String>,
    sender: Outbox,
}

impl Registry {
    /// The open connections of a session (its tabs).
    fn of_session(&self, session_id: &str) -> Vec<u32> {
        self.by_session.get(session_id).cloned().unwrap_or_default()
    }
}

fn index_add(index: &mut HashMap<String, Vec<u32>>, key: &str, connection: u32) {
    index.entry(key.to_owned()).or_default().push(connection);
}

fn index_remove(index: &mut HashMap<String, Vec<u32>>, key: &str, connection: u32) {
    if let Some(list) = index.get_mut(key) {
        list.retain(|id| *id != connection);
        if list.is_empty() {
            index.remove(key);
        }
    }
}

/// The fan-out point shared by every connection and the pub/sub subscriber.
#[derive(Clone)]
pub struct Hub {
    broadcasts: broadcast::Sender<Arc<str>>,
    registry: Arc<Mutex<Registry>>,
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
            registry: Arc::default(),
        }
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<str>> {
        self.broadcasts.subscribe()
    }

    /// Sends an event frame to every connection of this instance.
    pub fn broadcast(&self, frame: Arc<str>) {
        // An error only means nobody is connected.
        let _ = self.broadcasts.send(frame);
    }

    /// Registers an open connection with its session, its user if logged
    /// in, and its session's channels.
    pub fn add_connection(
        &self,
        connection: u32,
        session_id: &str,
        user_id: Option<&str>,
        channels: &[String],
        sender: Outbox,
    ) {
        let mut registry = self.registry();
        index_add(&mut registry.by_session, session_id, connection);
        if let Some(user_id) = user_id {
            index_add(&mut registry.by_user, user_id, connection);
        }
        for channel in channels {
            index_add(&mut registry.by_channel, channel, connection);
        }
        registry.connections.insert(
            connection,
            Registered {
                session_id: session_id.to_owned(),
                user_id: user_id.map(str::to_owned),
                channels: channels.to_vec(),
                sender,
            },
        );
    }

    pub fn remove_connection(&self, connection: u32) {
        let mut registry = self.registry();
        let Some(gone) = registry.connections.remove(&connection) else {
            return;
        };
        index_remove(&mut registry.by_session, &gone.session_id, connection);
        if let Some(user_id) = &gone.user_id {
            index_remove(&mut registry.by_user, user_id, connection);
        }
        for channel in &gone.channels {
            index_remove(&mut registry.by_channel, channel, connection);
        }
    }

    /// A session's channels changed: its connections (every tab) now get
    /// the events of `channels`, and no others.
    pub fn set_session_channels(&self, session_id: &str, channels: &[String]) {
        let mut registry = self.registry();
        for connection in registry.of_session(session_id) {
            let Some(entry) = registry.connections.get_mut(&connection) else {
                continue;
            };
            let old = std::mem::replace(&mut entry.channels, channels.to_vec());
            for channel in &old {
                index_remove(&mut registry.by_channel, channel, connection);
            }
            for channel in channels {
                index_add(&mut registry.by_channel, channel, connection);
            }
        }
    }

    /// A session logged in or out: its connections (every tab) now get the
    /// events of `user_id`, or no user's.
    pub fn set_session_user(&self, session_id: &str, user_id: Option<&str>) {
        let mut registry = self.registry();
        for connection in registry.of_session(session_id) {
            let Some(entry) = registry.connections.get_mut(&connection) else {
                continue;
            };
            let old = std::mem::replace(&mut entry.user_id, user_id.map(str::to_owned));
            if let Some(old) = old {
                index_remove(&mut registry.by_user, &old, connection);
            }
            if let Some(user_id) = user_id {
                index_add(&mut registry.by_user, user_id, connection);
            }
        }
    }

    /// A session got a new id: its connections are now indexed under it.
    /// Returns their senders, so that each can be told.
    pub fn rename_session(&self, old_id: &str, new_id: &str) -> Vec<Outbox> {
        let mut registry = self.registry();
        let Some(connections) = registry.by_session.remove(old_id) else {
            return Vec::new();
        };
        let mut senders = Vec::with_capacity(connections.len());
        for connection in &connections {
            if let Some(entry) = registry.connections.get_mut(connection) {
                entry.session_id = new_id.to_owned();
                senders.push(entry.sender.clone());
            }
        }
        registry.by_session.insert(new_id.to_owned(), connections);
        senders
    }

    /// Sends an event frame to one connection of this instance, if open.
    pub fn send_to_connection(&self, connection: u32, frame: &Arc<str>) {
        if let Some(entry) = self.registry().connections.get(&connection) {
            entry.sender.send(Outbound::Frame(frame.clone()));
        }
    }

    /// Sends an event frame to every connection on this instance whose
    /// session subscribes to `channel`.
    pub fn send_to_channel(&self, channel: &str, frame: &Arc<str>) {
        let registry = self.registry();
        for connection in registry.by_channel.get(channel).into_iter().flatten() {
            if let Some(entry) = registry.connections.get(connection) {
                entry.sender.send(Outbound::Frame(frame.clone()));
            }
        }
    }

    /// Sends an event frame to every connection of these users on this instance.
    pub fn send_to_users(&self, user_ids: &[String], frame: &Arc<str>) {
        let registry = self.registry();
        for user_id in user_ids {
            for connection in registry.by_user.get(user_id).into_iter().flatten() {
                if let Some(entry) = registry.connections.get(connection) {
                    entry.sender.send(Outbound::Frame(frame.clone()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::{Inbox, channel};

    fn frames(rx: &mut Inbox) -> usize {
        std::iter::from_fn(|| rx.try_recv()).count()
    }

    #[test]
    fn user_events_follow_a_session_through_login_and_logout() {
        let hub = Hub::new();
        let (tab1, mut rx1) = channel(1 << 20);
        let (tab2, mut rx2) = channel(1 << 20);
        hub.add_connection(1, "s", None, &[], tab1);
        hub.add_connection(2, "s", None, &[], tab2);
        let frame: Arc<str> = "{}".into();
        hub.send_to_users(&["u".into()], &frame);
        assert_eq!((frames(&mut rx1), frames(&mut rx2)), (0, 0));

        hub.set_session_user("s", Some("u"));
        hub.send_to_users(&["u".into()], &frame);
        assert_eq!((frames(&mut rx1), frames(&mut rx2)), (1, 1));

        hub.remove_connection(2);
        hub.send_to_users(&["u".into()], &frame);
        assert_eq!((frames(&mut rx1), frames(&mut rx2)), (1, 0));

        hub.set_session_user("s", None);
        hub.send_to_users(&["u".into()], &frame);
        assert_eq!(frames(&mut rx1), 0);

        // A new id: the session's remaining tab follows it.
        assert_eq!(hub.rename_session("s", "t").len(), 1);
        assert!(hub.rename_session("s", "u").is_empty());
        hub.set_session_user("t", Some("u"));
        hub.send_to_users(&["u".into()], &frame);
        assert_eq!(frames(&mut rx1), 1);
    }

    #[test]
    fn channel_events_reach_the_sessions_that_subscribe() {
        let hub = Hub::new();
        let (tab1, mut rx1) = channel(1 << 20);
        let (tab2, mut rx2) = channel(1 << 20);
        let (other, mut rx3) = channel(1 << 20);
        hub.add_connection(1, "s", None, &["news".into()], tab1);
        hub.add_connection(2, "s", None, &["news".into()], tab2);
        hub.add_connection(3, "t", None, &[], other);
        let frame: Arc<str> = "{}".into();
        hub.send_to_channel("news", &frame);
        assert_eq!(
            (frames(&mut rx1), frames(&mut rx2), frames(&mut rx3)),
            (1, 1, 0)
        );

        hub.set_session_channels("s", &["sport".into()]);
        hub.set_session_channels("t", &["news".into()]);
        hub.send_to_channel("news", &frame);
        assert_eq!(
            (frames(&mut rx1), frames(&mut rx2), frames(&mut rx3)),
            (0, 0, 1)
        );
        hub.send_to_channel("sport", &frame);
        assert_eq!((frames(&mut rx1), frames(&mut rx2)), (1, 1));

        hub.remove_connection(1);
        hub.remove_connection(2);
        hub.send_to_channel("sport", &frame);
        assert!(!hub.registry().by_channel.contains_key("sport"));
    }
}
