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
//! pinging at most once per [`pubsub::RESUBSCRIBE_MAX_PAUSE`]).
//!
//! With Redis Sentinel (`redis.sentinels`), the master is wherever the
//! sentinels say, and the store follows a failover: a call that finds the
//! master gone (refused, dropped, timed out, or `READONLY` from a master
//! turned replica) makes the store ask the sentinels again, and when they
//! name another master the connections are replaced by ones to it. A call
//! that was never run (refused, `READONLY`) is sent once more, to the new
//! master; any other fails fast as it would without Sentinel. The pub/sub
//! watcher asks the sentinels too, and subscribes again on the new master.

use crate::sentinel::Sentinels;
use crate::{Reply, StoreError};
use redis::Value;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

mod failure;
mod pubsub;

use failure::{backend, failure, lost_master};

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
/// The least time between two lookups of the master after calls failed, so
/// that a load of failing calls while Sentinel has not yet promoted a
/// replica does not become a load on the sentinels.
const LOOKUP_INTERVAL: Duration = Duration::from_millis(100);

pub struct RedisStore {
    shared: Arc<Shared>,
}

/// What the store's calls and its failover follower share.
struct Shared {
    /// The master in use; replaced when the sentinels name another.
    master: RwLock<Arc<Master>>,
    /// Where the master is found, with Redis Sentinel.
    sentinels: Option<Sentinels>,
    /// When the last lookup after a failed call ended; held while one runs,
    /// so that only one call at a time asks the sentinels.
    last_lookup: tokio::sync::Mutex<Option<Instant>>,
}

/// One Redis master and the connections to it.
struct Master {
    /// `host:port`.
    address: String,
    /// How errors name it: the address, and with Sentinel the master's name.
    label: String,
    commands: ConnectionManager,
    /// Connections to databases other than 0 (`R.select(n)`), made on first use.
    other_databases: Mutex<HashMap<u32, ConnectionManager>>,
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

/// How errors name the master at `address`.
fn label(address: &str, sentinels: Option<&Sentinels>) -> String {
    match sentinels {
        Some(sentinels) => format!("{address} (master {})", sentinels.master_name()),
        None => address.to_owned(),
    }
}

impl Master {
    /// Connections to the master at `address`, made when first used.
    fn lazy(address: String, label: String) -> Result<Self, StoreError> {
        let commands = ConnectionManager::new_lazy_with_config(client(&address, 0)?, config())
            .map_err(backend)?;
        Ok(Self::with(address, label, commands))
    }

    fn with(address: String, label: String, commands: ConnectionManager) -> Self {
        Self {
            address,
            label,
            commands,
            other_databases: Mutex::default(),
        }
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

    async fn send(
        &self,
        db: u32,
        query: &Query<'_>,
    ) -> Result<redis::RedisResult<Value>, StoreError> {
        let mut connection = self.connection(db)?;
        Ok(query.send(&mut connection).await)
    }
}

impl Shared {
    fn current(&self) -> Arc<Master> {
        self.master
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// After a call to `seen` failed as if the master had moved: asks the
    /// sentinels where it is (unless another call has just asked), and
    /// switches to the master they name if it is another. Returns the
    /// master to use now. Without Sentinel, `seen` stays the master.
    async fn follow(&self, seen: &Arc<Master>) -> Arc<Master> {
        let Some(sentinels) = &self.sentinels else {
            return seen.clone();
        };
        // Waiting for a lookup that is running is waiting for its answer.
        let Ok(mut last_lookup) =
            tokio::time::timeout(crate::sentinel::LOOKUP_TIMEOUT, self.last_lookup.lock()).await
        else {
            return self.current();
        };
        let current = self.current();
        if !Arc::ptr_eq(&current, seen)
            || last_lookup.is_some_and(|at| at.elapsed() < LOOKUP_INTERVAL)
        {
            return current;
        }
        let found = sentinels.master().await;
        *last_lookup = Some(Instant::now());
        let address = match found {
            Ok(address) if address != current.address => address,
            Ok(_) => return current,
            Err(e) => {
                tracing::debug!(
                    "Redis at {} failed; the sentinels do not name a master: {e}",
                    current.label
                );
                return current;
            }
        };
        let master = match Master::lazy(address.clone(), label(&address, Some(sentinels))) {
            Ok(master) => Arc::new(master),
            Err(e) => {
                tracing::warn!("cannot use the new Redis master at {address}: {e}");
                return current;
            }
        };
        tracing::warn!(
            "Redis master {} moved from {} to {address} (Sentinel failover); following it",
            sentinels.master_name(),
            current.address
        );
        *self
            .master
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = master.clone();
        master
    }
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
        Self::connect_master(address, None).await
    }

    /// Connects to the master that the sentinels at `nodes` (`host:port`
    /// each) know as `master_name`, and follows it when they fail it over.
    pub async fn connect_via_sentinel(
        nodes: &[String],
        master_name: &str,
    ) -> Result<Self, StoreError> {
        let sentinels = Sentinels::new(nodes, master_name)?;
        let address = sentinels.master().await.map_err(|e| {
            StoreError::Backend(format!(
                "cannot find the Redis master {master_name} through the sentinels at {}: {e}",
                sentinels.nodes()
            ))
        })?;
        tracing::info!("the sentinels name {address} as the Redis master {master_name}");
        Self::connect_master(address, Some(sentinels)).await
    }

    async fn connect_master(
        address: String,
        sentinels: Option<Sentinels>,
    ) -> Result<Self, StoreError> {
        let commands = ConnectionManager::new_with_config(client(&address, 0)?, config())
            .await
            .map_err(|e| StoreError::Backend(format!("cannot reach Redis at {address}: {e}")))?;
        let master = Master::with(
            address.clone(),
            label(&address, sentinels.as_ref()),
            commands,
        );
        Ok(Self {
            shared: Arc::new(Shared {
                master: RwLock::new(Arc::new(master)),
                sentinels,
                last_lookup: tokio::sync::Mutex::new(None),
            }),
        })
    }

    /// Runs `query` on database `db`'s connection. A connection refused
    /// from an earlier, failed attempt is stale news: the manager starts a
    /// fresh attempt as it reports it, so the query is tried once more —
    /// at once, and only then (a refused connection never sent it), so that
    /// the first call after Redis returns succeeds. With Sentinel, a refused
    /// or `READONLY` query is tried once more on the master the sentinels
    /// name now; after other failures that suggest a failover, they are
    /// asked in the background, so the call still fails fast.
    async fn run(&self, db: u32, query: Query<'_>) -> Result<Value, StoreError> {
        let mut master = self.shared.current();
        let mut result = master.send(db, &query).await?;
        if let Err(e) = &result {
            let unsent = e.is_connection_refusal()
                || (self.shared.sentinels.is_some() && e.code() == Some("READONLY"));
            if unsent {
                master = self.shared.follow(&master).await;
                result = master.send(db, &query).await?;
            } else if self.shared.sentinels.is_some() && lost_master(e) {
                let shared = self.shared.clone();
                let seen = master.clone();
                tokio::spawn(async move {
                    shared.follow(&seen).await;
                });
            }
        }
        result.map_err(|e| failure(&master.label, e))
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

    /// `host:port` of the master in use.
    pub fn address(&self) -> String {
        self.shared.current().address.clone()
    }

    /// With Sentinel: the master's name and the sentinels (`a:26379,b:26379`).
    pub fn sentinels(&self) -> Option<(String, String)> {
        let sentinels = self.shared.sentinels.as_ref()?;
        Some((sentinels.master_name().to_owned(), sentinels.nodes()))
    }
}
