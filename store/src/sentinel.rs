//! Finding the Redis master through Redis Sentinel (`redis.sentinels` and
//! `redis.master_name` in the config), with the `redis` crate's
//! [`redis::sentinel::Sentinel`]: it asks the sentinels, in the configured
//! order, where the master named `master_name` is, skips one they consider
//! down (`s_down`, `o_down`), and checks with `ROLE` that the server found
//! is a master indeed.

use crate::StoreError;
use redis::sentinel::Sentinel;
use redis::{ConnectionAddr, ConnectionInfo};
use std::time::Duration;

/// How long asking the sentinels where the master is may take: a sentinel
/// or a master that accepts connections but does not answer (stalled, or a
/// host gone from the network) must not hold the caller longer.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(1);

/// The sentinels of one master.
pub(crate) struct Sentinels {
    /// `host:port` of each sentinel, as configured.
    nodes: Vec<String>,
    master_name: String,
    /// One lookup at a time: `Sentinel` keeps a connection to each sentinel.
    sentinel: tokio::sync::Mutex<Sentinel>,
}

impl Sentinels {
    /// Sentinels at `nodes` (`host:port` each) that monitor `master_name`.
    /// Nothing is connected yet.
    pub(crate) fn new(nodes: &[String], master_name: &str) -> Result<Self, StoreError> {
        let urls: Vec<String> = nodes.iter().map(|node| format!("redis://{node}")).collect();
        let sentinel = Sentinel::build(urls).map_err(|e| {
            StoreError::Backend(format!(
                "the sentinels {} cannot be used: {e}",
                nodes.join(",")
            ))
        })?;
        Ok(Self {
            nodes: nodes.to_vec(),
            master_name: master_name.to_owned(),
            sentinel: tokio::sync::Mutex::new(sentinel),
        })
    }

    pub(crate) fn master_name(&self) -> &str {
        &self.master_name
    }

    /// `a:26379,b:26379`.
    pub(crate) fn nodes(&self) -> String {
        self.nodes.join(",")
    }

    /// Where the master is now (`host:port`), as the first sentinel that
    /// knows a master it considers up says, within [`LOOKUP_TIMEOUT`]
    /// (waiting for a lookup already running included); or why not.
    pub(crate) async fn master(&self) -> Result<String, String> {
        let lookup = async {
            let mut sentinel = self.sentinel.lock().await;
            sentinel
                .async_master_for(&self.master_name, None)
                .await
                .map_err(|e| e.to_string())
                .and_then(|client| address(client.get_connection_info()))
        };
        match tokio::time::timeout(LOOKUP_TIMEOUT, lookup).await {
            Ok(found) => found,
            Err(_) => Err(format!(
                "the sentinels did not say within {}s",
                LOOKUP_TIMEOUT.as_secs_f32()
            )),
        }
    }
}

/// `host:port` of a TCP connection (`[host]:port` for an IPv6 address), as
/// a `redis://` URL takes it.
fn address(info: &ConnectionInfo) -> Result<String, String> {
    match info.addr() {
        ConnectionAddr::Tcp(host, port) if host.contains(':') => Ok(format!("[{host}]:{port}")),
        ConnectionAddr::Tcp(host, port) => Ok(format!("{host}:{port}")),
        other => Err(format!(
            "the sentinels named a master at {other}, which is not a plain TCP address"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redis::IntoConnectionInfo;

    #[test]
    fn addresses_are_written_as_urls_take_them() {
        let info = "redis://10.0.0.5:6380".into_connection_info().unwrap();
        assert_eq!(address(&info).unwrap(), "10.0.0.5:6380");
        let info = ConnectionAddr::Tcp("::1".to_owned(), 6380)
            .into_connection_info()
            .unwrap();
        assert_eq!(address(&info).unwrap(), "[::1]:6380");
    }

    #[tokio::test]
    async fn no_sentinel_listening_is_said_at_once() {
        let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let node = unused.local_addr().unwrap().to_string();
        drop(unused);
        let sentinels = Sentinels::new(&[node], "mymaster").unwrap();
        let started = std::time::Instant::now();
        let error = sentinels.master().await.unwrap_err();
        assert!(started.elapsed() < LOOKUP_TIMEOUT, "{error}");
        assert!(!error.is_empty());
    }
}
