//! The store behind sessions and pub/sub (and, later, the `R` global).
//!
//! [`Store`] is one interface with one implementation per backend, chosen at
//! start-up by [`Store::open`]. The embedded backend keeps Redis's data model
//! (keys holding hashes, channels) so that the same key layout (SPEC 6) works
//! on either.

mod commands;
mod embedded;
mod keys;
mod online;
mod redis_store;
mod reply;
mod sentinel;
pub mod session;

pub use embedded::EmbeddedStore;
pub use keys::{EventChannel, Keys};
pub use online::UsersOnline;
pub use redis_store::{CONNECTION_TIMEOUT, RESPONSE_TIMEOUT, RedisStore};
pub use reply::Reply;
pub use session::{SessionData, Sessions, is_valid_session_id, new_session_id};

use std::collections::HashMap;
use tokio::sync::mpsc;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: {0}")]
    Backend(String),
    /// The Redis client failed in a way that is neither the command's fault
    /// nor Redis being unreachable.
    #[error("store: {0}")]
    Redis(#[source] redis::RedisError),
    #[error("{0}")]
    Unavailable(String),
    /// The command itself was refused (`WRONGTYPE …`, `ERR …`), as Redis says.
    #[error("{0}")]
    Command(String),
    /// Redis could not be reached or did not answer in time. The call failed
    /// fast (see [`CONNECTION_TIMEOUT`] and
    /// [`RESPONSE_TIMEOUT`]); the connection comes back by
    /// itself when Redis does. A command that timed out may still run once a
    /// stalled Redis resumes.
    #[error("redis_unavailable: Redis at {address} {problem}")]
    RedisUnavailable {
        /// `host:port`; with Sentinel, followed by the master's name:
        /// `10.0.0.5:6379 (master mymaster)`.
        address: String,
        /// What went wrong, in words: "did not answer within 1s", …
        problem: String,
        #[source]
        source: redis::RedisError,
    },
}

/// Commands that would turn a shared connection into a subscriber.
const SUBSCRIBING: [&str; 4] = ["SUBSCRIBE", "PSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE"];

/// A message received on a pub/sub channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub channel: String,
    pub payload: String,
}

/// Which store the app asked for (`"store"` in config, an ssrt addition).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreChoice {
    /// Redis when it answers; the embedded store otherwise, except where
    /// `require_redis` says a missing Redis is an error.
    Auto {
        require_redis: bool,
    },
    Redis,
    Embedded,
}

/// Where Redis is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisAt {
    /// One server at `host:port`.
    Server { host: String, port: u16 },
    /// Wherever the sentinels (`host:port` each) say the master named
    /// `master_name` is, following it across failovers.
    Sentinel {
        sentinels: Vec<String>,
        master_name: String,
    },
}

/// A store backend. An enum rather than a trait object: the set is closed and
/// calls stay static.
#[derive(Clone)]
pub enum Store {
    Embedded(EmbeddedStore),
    /// Shared: a Redis store holds several connections.
    Redis(std::sync::Arc<RedisStore>),
}

impl Store {
    /// Opens the store the app asked for, with Redis at `host:port`.
    pub async fn open(choice: StoreChoice, host: &str, port: u16) -> Result<Self, StoreError> {
        let at = RedisAt::Server {
            host: host.to_owned(),
            port,
        };
        Self::open_at(choice, &at).await
    }

    /// Opens the store the app asked for, with Redis where `at` says.
    pub async fn open_at(choice: StoreChoice, at: &RedisAt) -> Result<Self, StoreError> {
        if choice == StoreChoice::Embedded {
            return Ok(Store::Embedded(EmbeddedStore::new()));
        }
        let connected = match at {
            RedisAt::Server { host, port } => RedisStore::connect(host, *port).await,
            RedisAt::Sentinel {
                sentinels,
                master_name,
            } => RedisStore::connect_via_sentinel(sentinels, master_name).await,
        };
        match connected {
            Ok(redis) => Ok(Store::Redis(std::sync::Arc::new(redis))),
            Err(e) => match choice {
                StoreChoice::Auto {
                    require_redis: false,
                } => {
                    tracing::debug!("no Redis, using the embedded store: {e}");
                    Ok(Store::Embedded(EmbeddedStore::new()))
                }
                _ => Err(StoreError::Unavailable(format!(
                    "{e}. This app needs Redis (its config sets \"redis\", or SS_ENV is production); \
                     start Redis, or set \"store\": \"embedded\" in the config to run on one machine without it"
                ))),
            },
        }
    }

    /// Which backend this is, for the start-up banner.
    pub fn describe(&self) -> String {
        match self {
            Store::Embedded(_) => "embedded (in-process, single machine; no Redis)".to_owned(),
            Store::Redis(redis) => match redis.sentinels() {
                Some((master_name, sentinels)) => {
                    format!("redis via sentinel {master_name} at {sentinels}")
                }
                None => format!("redis at {}", redis.address()),
            },
        }
    }

    /// Runs any command (`args[0]` is its name) against database `db`.
    pub async fn command(&self, db: u32, args: &[String]) -> Result<Reply, StoreError> {
        if args
            .first()
            .is_some_and(|name| SUBSCRIBING.iter().any(|s| name.eq_ignore_ascii_case(s)))
        {
            return Err(StoreError::Command(
                "ERR subscribing through R is not supported: use $SS.publish on the server and $SS.events in the browser"
                    .to_owned(),
            ));
        }
        match self {
            Store::Embedded(store) => store.command(db, args).map_err(StoreError::Command),
            Store::Redis(store) => store.command(db, args).await,
        }
    }

    /// Runs `commands` as one transaction (`MULTI`…`EXEC`); each command gets
    /// its own reply or error, as `EXEC` reports them.
    pub async fn transaction(
        &self,
        db: u32,
        commands: &[Vec<String>],
    ) -> Result<Vec<Result<Reply, String>>, StoreError> {
        match self {
            Store::Embedded(store) => Ok(store.transaction(db, commands)),
            Store::Redis(store) => store.transaction(db, commands).await,
        }
    }

    /// All fields of the hash at `key`; empty when there is none.
    pub async fn hgetall(&self, key: &str) -> Result<HashMap<String, String>, StoreError> {
        let reply = self
            .command(0, &["HGETALL".to_owned(), key.to_owned()])
            .await?;
        let Reply::Array(items) = reply else {
            return Ok(HashMap::new());
        };
        let text = |r: &Reply| match r {
            Reply::Text(t) => t.clone(),
            other => other.to_json().to_string(),
        };
        Ok(items
            .chunks(2)
            .filter(|pair| pair.len() == 2)
            .map(|pair| (text(&pair[0]), text(&pair[1])))
            .collect())
    }

    /// Sets fields of the hash at `key`, creating it if needed.
    pub async fn hset(&self, key: &str, fields: &[(&str, &str)]) -> Result<(), StoreError> {
        let mut args = vec!["HSET".to_owned(), key.to_owned()];
        for (field, value) in fields {
            args.push((*field).to_owned());
            args.push((*value).to_owned());
        }
        self.command(0, &args).await.map(drop)
    }

    /// Publishes `payload` on `channel` to every subscriber of every instance.
    pub async fn publish(&self, channel: &str, payload: &str) -> Result<(), StoreError> {
        match self {
            Store::Embedded(store) => {
                store.publish(channel, payload);
                Ok(())
            }
            Store::Redis(store) => store.publish(channel, payload).await,
        }
    }

    /// Messages on exact `channels` and on channels matching `prefix*` `patterns`.
    pub async fn subscribe(
        &self,
        channels: &[String],
        patterns: &[String],
    ) -> Result<mpsc::UnboundedReceiver<Message>, StoreError> {
        match self {
            Store::Embedded(store) => Ok(store.subscribe(channels, patterns)),
            Store::Redis(store) => store.subscribe(channels, patterns).await,
        }
    }
}
