//! The Redis store against a real `redis-server` that is killed or stalled
//! (SIGSTOP): calls fail fast with `redis_unavailable`, and everything comes
//! back by itself. The end-to-end version, through the ssrt binary, is in
//! the workspace's tests/integration/redis.rs.

mod common;

use common::Redis;
use ssrt_store::{RedisStore, StoreError};
use std::time::{Duration, Instant};

fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

/// Runs a command, timing it.
async fn timed(store: &RedisStore, db: u32, words: &[&str]) -> (Duration, Result<String, String>) {
    let started = Instant::now();
    let result = store.command(db, &args(words)).await;
    let elapsed = started.elapsed();
    let result = match result {
        Ok(reply) => Ok(reply.to_json().to_string()),
        Err(e) => {
            assert!(
                matches!(e, StoreError::RedisUnavailable { .. }),
                "expected redis_unavailable, got {e:?}"
            );
            Err(e.to_string())
        }
    };
    (elapsed, result)
}

/// Fails unless `result` is a `redis_unavailable` error naming `port`, given
/// within `limit`.
fn assert_fast_failure(
    what: &str,
    port: u16,
    (elapsed, result): (Duration, Result<String, String>),
    limit: Duration,
) {
    let message = result.expect_err(&format!("{what}: Redis is down, yet the call succeeded"));
    assert!(
        message.starts_with("redis_unavailable: Redis at 127.0.0.1:")
            && message.contains(&port.to_string()),
        "{what}: {message}"
    );
    assert!(elapsed < limit, "{what}: took {elapsed:?}: {message}");
    eprintln!("{what}: failed in {elapsed:?}: {message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_redis_fails_calls_at_once_and_the_first_call_after_it_returns_succeeds() {
    let mut redis = Redis::start();
    let store = RedisStore::connect("127.0.0.1", redis.port)
        .await
        .expect("connect");
    let (_, set) = timed(&store, 0, &["SET", "k", "v"]).await;
    assert_eq!(set.as_deref(), Ok("\"OK\""));

    redis.kill();
    for round in 0..3 {
        let call = timed(&store, 0, &["GET", "k"]).await;
        assert_fast_failure(
            &format!("GET #{round}"),
            redis.port,
            call,
            Duration::from_millis(500),
        );
    }
    // Another database's connection, made while Redis is down.
    let call = timed(&store, 3, &["GET", "k"]).await;
    assert_fast_failure("GET in db 3", redis.port, call, Duration::from_millis(500));
    let started = Instant::now();
    let published = store.publish("c", "lost").await;
    assert!(
        matches!(published, Err(StoreError::RedisUnavailable { .. }))
            && started.elapsed() < Duration::from_millis(500),
        "{published:?} after {:?}",
        started.elapsed()
    );

    // Let the reconnect attempt that the last failure started fail too, as it
    // would in an outage longer than a blink.
    tokio::time::sleep(Duration::from_millis(200)).await;
    redis.restart();
    // No pause, no retry by the caller: the first call finds Redis again.
    let (elapsed, get) = timed(&store, 0, &["GET", "k"]).await;
    assert_eq!(
        get.as_deref(),
        Ok("null"),
        "the restarted Redis keeps nothing"
    );
    eprintln!("first call after the restart answered in {elapsed:?}");
    let (_, get) = timed(&store, 3, &["PING"]).await;
    assert_eq!(get.as_deref(), Ok("\"PONG\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_redis_fails_calls_within_the_response_timeout_and_loses_nothing() {
    let redis = Redis::start();
    let store = RedisStore::connect("127.0.0.1", redis.port)
        .await
        .expect("connect");
    let (_, set) = timed(&store, 0, &["SET", "kept", "yes"]).await;
    assert_eq!(set.as_deref(), Ok("\"OK\""));

    redis.signal("-STOP");
    let limit = ssrt_store::RESPONSE_TIMEOUT + Duration::from_millis(500);
    let call = timed(&store, 0, &["GET", "kept"]).await;
    assert_fast_failure("GET while stalled", redis.port, call, limit);
    // A new connection (database 3) cannot finish its handshake either.
    let call = timed(&store, 3, &["GET", "kept"]).await;
    assert_fast_failure("GET in db 3 while stalled", redis.port, call, limit);

    redis.signal("-CONT");
    let (elapsed, get) = timed(&store, 0, &["GET", "kept"]).await;
    assert_eq!(get.as_deref(), Ok("\"yes\""));
    eprintln!("first call after the stall answered in {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pub_sub_resubscribes_after_redis_restarts() {
    let mut redis = Redis::start();
    let store = RedisStore::connect("127.0.0.1", redis.port)
        .await
        .expect("connect");
    let mut messages = store
        .subscribe(&args(&["news"]), &args(&["user:*"]))
        .await
        .expect("subscribe");
    store.publish("news", "before").await.expect("publish");
    let first = tokio::time::timeout(Duration::from_secs(5), messages.recv()).await;
    assert_eq!(
        first.ok().flatten().map(|m| m.payload).as_deref(),
        Some("before")
    );

    redis.restart();
    let restarted = Instant::now();
    let mut delivered = None;
    while delivered.is_none() && restarted.elapsed() < Duration::from_secs(10) {
        let _ = store.publish("user:7", "after").await;
        if let Ok(Some(message)) =
            tokio::time::timeout(Duration::from_millis(100), messages.recv()).await
        {
            delivered = Some((message, restarted.elapsed()));
        }
    }
    let (message, after) = delivered.expect("no event was delivered after Redis restarted");
    assert_eq!(
        (message.channel.as_str(), message.payload.as_str()),
        ("user:7", "after")
    );
    eprintln!("events flowed again {after:?} after the restart");
    assert!(after < Duration::from_secs(3), "took {after:?}");
}
