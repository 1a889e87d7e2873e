//! The Redis backend: one multiplexed connection for commands and one for
//! pub/sub, both through `redis`'s `ConnectionManager`, which reconnects by
//! itself and (over RESP3) resubscribes after Redis comes back.
//!
//! Redis faults fail fast: while Redis is down (refusing connections) or
//! stalled (accepting but not answering), a call that needs it fails within
//! about [`RESPONSE_TIMEOUT`] with [`StoreError::RedisUnavailable`], instead
//! of queueing behind reconnect attempts with backoff. Nothing is retried in
//! a loop on a caller's behalf: a reconnect is one connection attempt, made
//! when a call finds the connection broken (and, for pub/sub, by a watcher
//! pinging at most once per [`RESUBSCRIBE_MAX_PAUSE`]).

use crate::{Message, Reply, StoreError};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{PushKind, Value};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long one attempt to open a connection to Redis (TCP connect and the
/// `HELLO 3` handshake) may take before it is an error. A Redis on the same
/// network connects in well under a millisecond; a second is a stalled or
/// unreachable one.
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a command may wait for Redis's reply before the call fails with
/// `redis_unavailable`. The connection is kept (a stalled Redis answers late,
/// and late replies are discarded in order), so this also bounds how long a
/// slow command (`KEYS` on a large database, a blocking `BLPOP`) may run.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);
/// Extra connection attempts per reconnect: none. The manager's default (six,
/// with exponential backoff from 100 ms) made every call wait 8–9.5 s while
/// Redis was down; the next call makes the next attempt instead.
const RECONNECT_RETRIES: usize = 0;
/// How long start-up waits to learn whether anything listens at Redis's address.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);
/// The pub/sub watcher pings a lost Redis with pauses doubling from 100 ms up
/// to this, so events flow again at most about this long after Redis returns.
const RESUBSCRIBE_MAX_PAUSE: Duration = Duration::from_secs(1);

pub struct RedisStore {
    commands: ConnectionManager,
    /// Connections to databases other than 0 (`R.select(n)`), made on first use.
    other_databases: Mutex<HashMap<u32, ConnectionManager>>,
    /// `host:port`.
    address: String,
}

fn backend(e: redis::RedisError) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// What [`RedisStore::run`] sends. (Not a closure: an async closure's
/// future is not known to be `Send`, and callers run on a multi-threaded
/// runtime.)
enum Query<'a> {
    Command(&'a redis::Cmd),
    Pipeline(&'a redis::Pipeline),
}

impl Query<'_> {
    async fn send(&self, connection: &mut ConnectionManager) -> redis::RedisResult<Value> {
        match self {
            Query::Command(command) => command.query_async(connection).await,
            Query::Pipeline(pipe) => pipe.query_async(connection).await,
        }
    }
}

/// What a failed call tells its caller: a command Redis refused (it carries
/// an error code) is the app's to see; a connection that cannot be made, was
/// lost or did not answer in time is `redis_unavailable`, naming Redis's
/// address; anything else is the backend's fault.
fn failure(address: &str, e: redis::RedisError) -> StoreError {
    if let Some(code) = e.code() {
        // As Redis words it (`WRONGTYPE Operation against…`), as the
        // embedded store does, not the client's `ResponseError: …`.
        let message = match e.detail() {
            Some(detail) => format!("{code} {detail}"),
            None => code.to_owned(),
        };
        return StoreError::Command(message);
    }
    let problem = if e.is_timeout() {
        format!(
            "did not answer within {}s",
            RESPONSE_TIMEOUT.max(CONNECTION_TIMEOUT).as_secs_f32()
        )
    } else if e.is_connection_refusal() {
        "refused the connection (is it running?)".to_owned()
    } else if e.is_connection_dropped() || e.is_io_error() {
        "closed the connection".to_owned()
    } else {
        return backend(e);
    };
    StoreError::RedisUnavailable {
        address: address.to_owned(),
        problem,
        source: e,
    }
}

/// The client for commands on database `db` at `address`. It speaks RESP2,
/// so that replies have the shapes node_redis gave apps (`ZSCORE` as a
/// string, `WITHSCORES` flat), the same as the embedded store's.
fn client(address: &str, db: u32) -> Result<redis::Client, StoreError> {
    redis::Client::open(format!("redis://{address}/{db}")).map_err(backend)
}

/// The client for pub/sub, speaking RESP3 for push messages and automatic
/// resubscription.
fn pubsub_client(address: &str) -> Result<redis::Client, StoreError> {
    redis::Client::open(format!("redis://{address}/0?protocol=resp3")).map_err(backend)
}

fn config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECTION_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(RECONNECT_RETRIES)
}

impl RedisStore {
    /// Connects to Redis at `host:port`, failing fast when nothing answers.
    pub async fn connect(host: &str, port: u16) -> Result<Self, StoreError> {
        let address = format!("{host}:{port}");
        // A refused or silent port is known at once here, and said plainly.
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
        let commands = ConnectionManager::new_with_config(client(&address, 0)?, config())
            .await
            .map_err(|e| StoreError::Backend(format!("cannot reach Redis at {address}: {e}")))?;
        Ok(Self {
            commands,
            other_databases: Mutex::default(),
            address,
        })
    }

    /// The connection for database `db`. Other databases' connections are
    /// made lazily, so that no caller waits on a lock while one connects.
    fn connection(&self, db: u32) -> Result<ConnectionManager, StoreError> {
        if db == 0 {
            return Ok(self.commands.clone());
        }
        let mut others = self
            .other_databases
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(connection) = others.get(&db) {
            return Ok(connection.clone());
        }
        let connection =
            ConnectionManager::new_lazy_with_config(client(&self.address, db)?, config())
                .map_err(backend)?;
        others.insert(db, connection.clone());
        Ok(connection)
    }

    /// Runs `query` on database `db`'s connection. A connection refused
    /// from an earlier, failed attempt is stale news: the manager starts a
    /// fresh attempt as it reports it, so the query is tried once more —
    /// at once, and only then (a refused connection never sent it), so that
    /// the first call after Redis returns succeeds.
    async fn run(&self, db: u32, query: Query<'_>) -> Result<Value, StoreError> {
        let mut connection = self.connection(db)?;
        match query.send(&mut connection).await {
            Err(e) if e.is_connection_refusal() => query.send(&mut connection).await,
            result => result,
        }
        .map_err(|e| failure(&self.address, e))
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
        let reply = self.run(db, Query::Pipeline(&pipe)).await?;
        let values: Vec<Value> = redis::from_redis_value(reply)
            .map_err(|e| StoreError::Backend(format!("an unexpected reply to EXEC: {e}")))?;
        Ok(values.into_iter().map(Reply::from_redis).collect())
    }

    /// Runs any command against database `db`.
    pub async fn command(&self, db: u32, args: &[String]) -> Result<Reply, StoreError> {
        let Some((name, rest)) = args.split_first() else {
            return Err(StoreError::Command("ERR empty command".to_owned()));
        };
        let mut command = redis::cmd(name);
        command.arg(rest);
        let value = self.run(db, Query::Command(&command)).await?;
        Reply::from_redis(value).map_err(StoreError::Command)
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    pub async fn publish(&self, channel: &str, payload: &str) -> Result<(), StoreError> {
        let mut publish = redis::cmd("PUBLISH");
        publish.arg(channel).arg(payload);
        self.run(0, Query::Command(&publish)).await.map(drop)
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
        let unavailable = |e| failure(&self.address, e);
        let mut connection =
            ConnectionManager::new_with_config(pubsub_client(&self.address)?, config)
                .await
                .map_err(unavailable)?;
        for channel in channels {
            connection.subscribe(channel).await.map_err(unavailable)?;
        }
        for pattern in patterns {
            connection.psubscribe(pattern).await.map_err(unavailable)?;
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
/// Each round pings twice: a failed ping starts a fresh connection attempt
/// as it reports the last one's failure, and the second ping waits for it.
async fn reconnect(connection: &mut ConnectionManager) {
    let mut pause = Duration::from_millis(100);
    loop {
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
