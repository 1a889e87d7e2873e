//! The Redis backend's pub/sub: publishing on the command connection, and
//! one subscriber connection of its own that survives reconnects and (with
//! Sentinel) failovers.

use super::{Query, RedisStore, Shared, config, failure, pubsub_client};
use crate::{Message, StoreError};
use redis::aio::ConnectionManager;
use redis::{PushKind, Value};
use std::time::Duration;
use tokio::sync::mpsc;

/// The pub/sub watcher pings a lost Redis with pauses doubling from 100 ms up
/// to this, so events flow again at most about this long after Redis returns.
pub(super) const RESUBSCRIBE_MAX_PAUSE: Duration = Duration::from_secs(1);

impl RedisStore {
    pub async fn publish(&self, channel: &str, payload: &str) -> Result<(), StoreError> {
        let mut publish = redis::cmd("PUBLISH");
        publish.arg(channel).arg(payload);
        self.run(0, Query::Command(&publish)).await.map(drop)
    }

    /// Subscribes to exact `channels` and glob `patterns` on a connection of
    /// its own; messages arrive on the returned receiver, across reconnects
    /// (and, with Sentinel, across failovers).
    pub async fn subscribe(
        &self,
        channels: &[String],
        patterns: &[String],
    ) -> Result<mpsc::UnboundedReceiver<Message>, StoreError> {
        let (push_tx, mut push_rx) = mpsc::unbounded_channel();
        let subscription = Subscription {
            channels: channels.to_vec(),
            patterns: patterns.to_vec(),
            push: push_tx,
        };
        let master = self.shared.current();
        let mut connection = subscription.open(&master.address, &master.label).await?;
        let mut address = master.address.clone();
        let shared = self.shared.clone();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(push) = push_rx.recv().await {
                let (channel, payload) = match (push.kind, push.data.as_slice()) {
                    (PushKind::Message, [channel, payload]) => (channel, payload),
                    (PushKind::PMessage, [_pattern, channel, payload]) => (channel, payload),
                    (PushKind::Disconnection, _) => {
                        tracing::warn!("lost the Redis pub/sub connection; reconnecting");
                        reconnect(&shared, &subscription, &mut connection, &mut address).await;
                        continue;
                    }
                    _ => continue,
                };
                let (Some(channel), Some(payload)) = (text(channel), text(payload)) else {
                    continue;
                };
                if tx.send(Message { channel, payload }).is_err() {
                    break;
                }
            }
        });
        Ok(rx)
    }
}

/// What one subscriber listens to, to subscribe again on another master.
struct Subscription {
    channels: Vec<String>,
    patterns: Vec<String>,
    push: mpsc::UnboundedSender<redis::PushInfo>,
}

impl Subscription {
    /// A pub/sub connection to Redis at `address`, subscribed; errors name
    /// Redis as `label`.
    async fn open(&self, address: &str, label: &str) -> Result<ConnectionManager, StoreError> {
        let config = config()
            .set_push_sender(self.push.clone())
            .set_automatic_resubscription();
        let unavailable = |e| failure(label, e);
        let mut connection = ConnectionManager::new_with_config(pubsub_client(address)?, config)
            .await
            .map_err(unavailable)?;
        for channel in &self.channels {
            connection.subscribe(channel).await.map_err(unavailable)?;
        }
        for pattern in &self.patterns {
            connection.psubscribe(pattern).await.map_err(unavailable)?;
        }
        Ok(connection)
    }
}

/// Pings until Redis answers: a `ConnectionManager` reconnects (and
/// resubscribes) when it is used, and a subscriber sends nothing otherwise.
/// Each round pings twice: a failed ping starts a fresh connection attempt
/// as it reports the last one's failure, and the second ping waits for it.
/// With Sentinel, each round first asks the sentinels where the master is
/// (which moves the store's commands there too); once they name another,
/// `connection` is replaced by one subscribed there.
async fn reconnect(
    shared: &Shared,
    subscription: &Subscription,
    connection: &mut ConnectionManager,
    address: &mut String,
) {
    let mut pause = Duration::from_millis(100);
    loop {
        if shared.sentinels.is_some() {
            let master = shared.follow(&shared.current()).await;
            if master.address != *address {
                match subscription.open(&master.address, &master.label).await {
                    Ok(moved) => {
                        *connection = moved;
                        address.clone_from(&master.address);
                        tracing::info!(
                            "Redis pub/sub subscribed again on the new master at {address}"
                        );
                        return;
                    }
                    Err(e) => tracing::debug!("cannot subscribe on the new master yet: {e}"),
                }
            }
        }
        for _ in 0..2 {
            let pong: Result<String, _> = redis::cmd("PING").query_async(connection).await;
            if pong.is_ok() {
                tracing::info!("Redis pub/sub connection is back");
                return;
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(RESUBSCRIBE_MAX_PAUSE);
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        Value::SimpleString(text) => Some(text.clone()),
        _ => None,
    }
}
