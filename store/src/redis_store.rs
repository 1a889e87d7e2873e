//! The Redis backend: one multiplexed connection for commands and one for
//! pub/sub, both through `redis`'s `ConnectionManager`, which reconnects by
//! itself and (over RESP3) resubscribes after Redis comes back.

use crate::{Message, StoreError};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, PushKind, Value};
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long connecting or a single command may take before it is an error.
const TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct RedisStore {
    client: redis::Client,
    commands: ConnectionManager,
    address: String,
}

fn backend(e: redis::RedisError) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(TIMEOUT))
        .set_response_timeout(Some(TIMEOUT))
}

impl RedisStore {
    /// Connects to Redis at `host:port`, failing fast when nothing answers.
    pub async fn connect(host: &str, port: u16) -> Result<Self, StoreError> {
        let address = format!("{host}:{port}");
        let client =
            redis::Client::open(format!("redis://{address}/?protocol=resp3")).map_err(backend)?;
        let commands = tokio::time::timeout(
            TIMEOUT,
            ConnectionManager::new_with_config(client.clone(), config()),
        )
        .await
        .map_err(|_| StoreError::Backend(format!("no answer from Redis at {address}")))?
        .map_err(|e| StoreError::Backend(format!("cannot reach Redis at {address}: {e}")))?;
        Ok(Self {
            client,
            commands,
            address,
        })
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    pub async fn hgetall(&self, key: &str) -> Result<HashMap<String, String>, StoreError> {
        self.commands.clone().hgetall(key).await.map_err(backend)
    }

    pub async fn hset(&self, key: &str, fields: &[(&str, &str)]) -> Result<(), StoreError> {
        self.commands
            .clone()
            .hset_multiple::<_, _, _, ()>(key, fields)
            .await
            .map_err(backend)
    }

    pub async fn publish(&self, channel: &str, payload: &str) -> Result<(), StoreError> {
        self.commands
            .clone()
            .publish::<_, _, ()>(channel, payload)
            .await
            .map_err(backend)
    }

    /// Subscribes to exact `channels` and glob `patterns` on a connection of
    /// its own; messages arrive on the returned receiver, across reconnects.
    pub async fn subscribe(
        &self,
        channels: &[String],
        patterns: &[String],
    ) -> Result<mpsc::UnboundedReceiver<Message>, StoreError> {
        let (push_tx, mut push_rx) = mpsc::unbounded_channel();
        let config = config()
            .set_push_sender(push_tx)
            .set_automatic_resubscription();
        let mut connection = ConnectionManager::new_with_config(self.client.clone(), config)
            .await
            .map_err(backend)?;
        for channel in channels {
            connection.subscribe(channel).await.map_err(backend)?;
        }
        for pattern in patterns {
            connection.psubscribe(pattern).await.map_err(backend)?;
        }
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            // The connection must live as long as the subscription.
            let _connection = connection;
            while let Some(push) = push_rx.recv().await {
                let (channel, payload) = match (push.kind, push.data.as_slice()) {
                    (PushKind::Message, [channel, payload]) => (channel, payload),
                    (PushKind::PMessage, [_pattern, channel, payload]) => (channel, payload),
                    (PushKind::Disconnection, _) => {
                        tracing::warn!("lost the Redis pub/sub connection; reconnecting");
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

fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        Value::SimpleString(text) => Some(text.clone()),
        _ => None,
    }
}
