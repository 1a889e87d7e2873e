//! The embedded store: Redis's data model in process memory, for one machine
//! with no Redis.

use crate::Message;
use crate::commands::Keyspace;
use crate::reply::Reply;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::{broadcast, mpsc};

/// Messages a slow subscriber may fall behind by before it misses some.
const PUBSUB_BACKLOG: usize = 1024;

/// The numbered databases (`SELECT n`), created on first use.
#[derive(Default)]
struct Data {
    databases: HashMap<u32, Keyspace>,
}

/// Cheap to clone; clones share the data.
#[derive(Clone)]
pub struct EmbeddedStore {
    data: Arc<Mutex<Data>>,
    pubsub: broadcast::Sender<Message>,
}

impl Default for EmbeddedStore {
    fn default() -> Self {
        Self::new()
    }
}

impl EmbeddedStore {
    pub fn new() -> Self {
        Self {
            data: Arc::default(),
            pubsub: broadcast::channel(PUBSUB_BACKLOG).0,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Data) -> T) -> T {
        // No code runs while the lock is held that could panic halfway through
        // an update, so a poisoned lock still guards consistent data.
        let mut data = self.data.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut data)
    }

    /// Runs `commands` with the data locked throughout, so nothing interleaves.
    pub fn transaction(&self, db: u32, commands: &[Vec<String>]) -> Vec<Result<Reply, String>> {
        self.with(|data| {
            let keyspace = data.databases.entry(db).or_default();
            commands.iter().map(|args| keyspace.execute(args)).collect()
        })
    }

    /// Runs one command against database `db`.
    pub fn command(&self, db: u32, args: &[String]) -> Result<Reply, String> {
        if args
            .first()
            .is_some_and(|name| name.eq_ignore_ascii_case("PUBLISH"))
        {
            let [_, channel, payload] = args else {
                return Err("ERR wrong number of arguments for 'publish' command".to_owned());
            };
            self.publish(channel, payload);
            return Ok(Reply::Int(self.pubsub.receiver_count() as i64));
        }
        self.with(|data| data.databases.entry(db).or_default().execute(args))
    }

    pub fn publish(&self, channel: &str, payload: &str) {
        // An error only means nobody subscribes.
        let _ = self.pubsub.send(Message {
            channel: channel.to_owned(),
            payload: payload.to_owned(),
        });
    }

    /// Messages on `channels`, or on channels matching a `prefix*` pattern.
    pub fn subscribe(
        &self,
        channels: &[String],
        patterns: &[String],
    ) -> mpsc::UnboundedReceiver<Message> {
        let mut messages = self.pubsub.subscribe();
        let channels = channels.to_vec();
        let prefixes: Vec<String> = patterns
            .iter()
            .map(|p| p.trim_end_matches('*').to_owned())
            .collect();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                let message = match messages.recv().await {
                    Ok(message) => message,
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!("a subscriber missed {missed} message(s)");
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                let wanted = channels.contains(&message.channel)
                    || prefixes.iter().any(|p| message.channel.starts_with(p));
                if wanted && tx.send(message).is_err() {
                    break;
                }
            }
        });
        rx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn subscribers_get_their_channels_and_patterns_only() {
        let store = EmbeddedStore::new();
        let mut rx = store.subscribe(&["ss:broadcast".into()], &["ss:user:*".into()]);
        store.publish("ss:other", "no");
        store.publish("ss:user:7", "to seven");
        store.publish("ss:broadcast", "to all");
        assert_eq!(rx.recv().await.unwrap().payload, "to seven");
        assert_eq!(rx.recv().await.unwrap().payload, "to all");
        assert!(rx.try_recv().is_err());
    }
}
