//! The Redis backend: one multiplexed connection for commands and one for
//! pub/sub, both through `redis`'s `ConnectionManager`, which reconnects by
//! itself and (over RESP3) resubscribes after Redis comes back.

use crate::{Message, Reply, StoreError};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, PushKind, Value};
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::{Mutex, mpsc};

/// How long connecting or a single command may take before it is an error.
const TIMEOUT: Duration = Duration::from_secs(2);
/// How long start-up waits to learn whether anything listens at Redis's address.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

pub struct RedisStore {
    client: redis::Client,
    commands: ConnectionManager,
    /// Connections to databases other than 0 (`R.select(n)`), opened on first use.
    other_databases: Mutex<HashMap<u32, ConnectionManager>>,
    /// `host:port`.
    address: String,
}

fn backend(e: redis::RedisError) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// A command Redis refused (it carries an error code) is the app's to see;
/// anything else is the connection's fault.
fn refused_or_backend(e: redis::RedisError) -> StoreError {
    match e.code() {
        Some(_) => StoreError::Command(e.to_string()),
        None => backend(e),
    }
}

/// The client for database `db` at `address`, speaking RESP3 (push messages).
fn client(address: &str, db: u32) -> Result<redis::Client, StoreError> {
    redis::Client::open(format!("redis://{address}/{db}?protocol=resp3")).map_err(backend)
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
        // A refused or silent port is known at once here; the connection
        // manager would first spend its retries on it.
        match tokio::time::timeout(PROBE_TIMEOUT, tokio::net::TcpStream::connect(&address)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                return Err(StoreError::Backend(format!(
                    "cannot reach Redis at {address}: {e}"
                )));
            }
            Err(_) => {
                return Err(StoreError::Backend(format!(
                    "no answer from Redis at {address}"
                )));
            }
        }
        let client = client(&address, 0)?;
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
            other_databases: Mutex::default(),
            address,
        })
    }

    async fn connection(&self, db: u32) -> Result<ConnectionManager, StoreError> {
        if db == 0 {
            return Ok(self.commands.clone());
        }
        let mut others = self.other_databases.lock().await;
        if let Some(connection) = others.get(&db) {
            return Ok(connection.clone());
        }
        let connection = ConnectionManager::new_with_config(client(&self.address, db)?, config())
            .await
            .map_err(backend)?;
        others.insert(db, connection.clone());
        Ok(connection)
    }

    /// `MULTI` … `EXEC` through a pipeline.
    pub async fn transaction(
        &self,
        db: u32,
        commands: &[Vec<String>],
    ) -> Result<Vec<Result<Reply, String>>, StoreError> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        for args in commands {
            let Some((name, rest)) = args.split_first() else {
                return Err(StoreError::Command("ERR empty command".to_owned()));
            };
            pipe.cmd(name).arg(rest);
        }
        let mut connection = self.connection(db).await?;
        let values: Vec<Value> = pipe
            .query_async(&mut connection)
            .await
            .map_err(refused_or_backend)?;
        Ok(values.into_iter().map(Reply::from_redis).collect())
    }

    /// Runs any command against database `db`.
    pub async fn command(&self, db: u32, args: &[String]) -> Result<Reply, StoreError> {
        let Some((name, rest)) = args.split_first() else {
            return Err(StoreError::Command("ERR empty command".to_owned()));
        };
        let mut connection = self.connection(db).await?;
        let value: Value = redis::cmd(name)
            .arg(rest)
            .query_async(&mut connection)
            .await
            .map_err(refused_or_backend)?;
        Reply::from_redis(value).map_err(StoreError::Command)
    }

    pub fn address(&self) -> &str {
        &self.address
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
            while let Some(push) = push_rx.recv().await {
                let (channel, payload) = match (push.kind, push.data.as_slice()) {
                    (PushKind::Message, [channel, payload]) => (channel, payload),
                    (PushKind::PMessage, [_pattern, channel, payload]) => (channel, payload),
                    (PushKind::Disconnection, _) => {
                        tracing::warn!("lost the Redis pub/sub connection; reconnecting");
                        reconnect(&mut connection).await;
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

/// Pings until Redis answers: a `ConnectionManager` reconnects (and
/// resubscribes) when it is used, and a subscriber sends nothing otherwise.
async fn reconnect(connection: &mut ConnectionManager) {
    let mut pause = Duration::from_millis(100);
    loop {
        let pong: Result<String, _> = redis::cmd("PING").query_async(connection).await;
        if pong.is_ok() {
            tracing::info!("Redis pub/sub connection is back");
            return;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        Value::SimpleString(text) => Some(text.clone()),
        _ => None,
    }
}
