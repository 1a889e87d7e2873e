//! Redis Sentinel (issue 13): with `redis.sentinels` and `redis.master_name`,
//! ssrt finds the master through the sentinels and follows a failover —
//! against real processes: a master, its replica and a sentinel, all
//! `redis-server`, and the ssrt binary.

use crate::support::outage::{Load, OUTAGE_ACTIONS, deliver_after, timed_reply};
use crate::support::{Client, Redis, Sentinel, Server, copy_fixture};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// How long any one call may take while the master is gone: it fails fast
/// (a killed master refuses connections at once), as without Sentinel.
const ANSWER_LIMIT: Duration = Duration::from_secs(3);
/// How long after the sentinel names the new master ssrt may take to use it.
const FOLLOW_LIMIT: Duration = Duration::from_secs(3);
/// How long after the kill the sentinel may take to promote the replica
/// (down after 500 ms, then the failover: about 1.5 s here).
const PROMOTION_LIMIT: Duration = Duration::from_secs(10);

/// ssrt on the `basic` fixture (with [`OUTAGE_ACTIONS`]), its store found through
/// `sentinel`.
fn ssrt_via(sentinel: &Sentinel) -> Server {
    let app = copy_fixture("basic");
    let (path, source) = OUTAGE_ACTIONS;
    std::fs::write(app.path().join(path), source).expect("write the test actions");
    let config = json!({
        "hostname": "127.0.0.1",
        // Warnings: the log line that says the master moved.
        "log": {"level": 2},
        "redis": {"sentinels": [sentinel.address()], "master_name": Sentinel::MASTER_NAME}
    });
    crate::support::write_environment(app.path(), "failover", config);
    Server::start_in(app, &[("SS_ENV", "failover")])
}

/// Calls `method`; how long its answer took, and the answer (broadcasts
/// that every client here receives are skipped).
/// Whether `answer` is the error `R` reports while Redis is unavailable.
fn is_redis_unavailable(answer: &Value) -> bool {
    answer
        .as_str()
        .is_some_and(|text| text.starts_with("error: redis_unavailable: Redis at 127.0.0.1:"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_is_followed_within_seconds_and_loses_nothing_replicated() {
    let mut master = Redis::start();
    let replica = Redis::start_replica_of(&master);
    let sentinel = Sentinel::start(&master, &[&replica]);
    let server = ssrt_via(&sentinel);
    server.expect_in_banner(&format!(
        "store        redis via sentinel {} at 127.0.0.1:{}",
        Sentinel::MASTER_NAME,
        sentinel.port
    ));

    // Before the failover: a key, and a logged-in session with an attribute.
    let mut caller = server.client().await;
    let (_, answer) =
        timed_reply(&mut caller, "outage.set", json!({"key": "k", "value": "v"})).await;
    assert_eq!(answer, "OK");
    let mut tab = server.client().await;
    assert!(tab.login("secret").await);
    let token = tab.rotations.pop().expect("a new cookie at login");
    let session = server.exchange(&token).await.expect("the new cookie");
    assert_eq!(tab.reply("auth.remember", json!("blue")).await, true);
    drop(tab);
    // Written to the master, and replicated before it dies.
    let key = format!("ss:session:{session}");
    assert!(master.hgetall(&key).contains("tom21"), "not on the master");
    assert_eq!(master.cli(&["WAIT", "1", "1000"]).trim(), "1");
    let copy = replica.hgetall(&key);
    assert!(copy.contains("tom21") && copy.contains("blue"), "{copy}");
    assert_eq!(replica.cli(&["GET", "k"]).trim(), "v");

    let mut listener = server.client().await;
    let mut announcer = server.client().await;
    let load = Load::start(server.port).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    master.stop();
    let killed = Instant::now();
    // Writes until one succeeds; each must be answered fast, and until the
    // new master is in use, with redis_unavailable.
    let mut promoted = None;
    let mut failures = Vec::new();
    let first_success = loop {
        if promoted.is_none() && sentinel.master_port() == Some(replica.port) {
            promoted = Some(killed.elapsed());
        }
        let (took, answer) = timed_reply(
            &mut caller,
            "outage.set",
            json!({"key": "written", "value": "after"}),
        )
        .await;
        if answer == "OK" {
            break killed.elapsed();
        }
        assert!(
            is_redis_unavailable(&answer),
            "a call during the failover got {answer}"
        );
        failures.push(took);
        assert!(
            killed.elapsed() < PROMOTION_LIMIT + FOLLOW_LIMIT,
            "no call succeeded {:?} after the master was killed (the sentinel names port {:?})",
            killed.elapsed(),
            sentinel.master_port()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let promoted = promoted.unwrap_or_else(|| {
        assert_eq!(sentinel.master_port(), Some(replica.port));
        first_success
    });
    // The write went to the promoted replica.
    assert_eq!(replica.cli(&["ROLE"]).lines().next(), Some("master"));
    assert_eq!(replica.cli(&["GET", "written"]).trim(), "after");

    // Events flow again: a broadcast published now reaches a client connected
    // since before the failover.
    let (delivered, others) = deliver_after(
        killed,
        &mut announcer,
        &mut listener,
        "after the failover",
        Duration::from_secs(20),
    )
    .await;
    // Nothing replicated is lost: the key, and the session with its login.
    let (_, kept) = timed_reply(&mut caller, "outage.get", json!("k")).await;
    let mut resumed = Client::connect(server.port, Some(&session)).await;
    let calls = load.finish().await;

    let slowest_failure = failures.iter().max().copied().unwrap_or_default();
    let load_slowest = calls.iter().map(|(_, took, _)| *took).max();
    let load_failed = calls
        .iter()
        .filter(|(sent, ..)| *sent >= killed)
        .filter(|(.., answer)| answer != "v")
        .count();
    eprintln!(
        "Sentinel failover: the sentinel named the replica {promoted:?} after the kill; \
         the first write succeeded {first_success:?} after it ({:?} after the promotion was \
         seen), after {} failed writes (slowest {slowest_failure:?}); a broadcast reached \
         an old client {delivered:?} after the kill (also received: {others:?}); \
         load: {} calls, {load_failed} failed after the kill, slowest {load_slowest:?}",
        first_success.saturating_sub(promoted),
        failures.len(),
        calls.len(),
    );

    assert!(
        slowest_failure < ANSWER_LIMIT,
        "a call during the failover took {slowest_failure:?}"
    );
    assert!(
        promoted < PROMOTION_LIMIT,
        "the sentinel promoted the replica after {promoted:?}"
    );
    assert!(
        first_success.saturating_sub(promoted) < FOLLOW_LIMIT,
        "ssrt used the new master {first_success:?} after the kill, \
         {promoted:?} after the promotion"
    );
    let load_slowest = load_slowest.expect("the load made calls");
    assert!(
        load_slowest < ANSWER_LIMIT,
        "a call under load took {load_slowest:?}"
    );
    for (_, _, answer) in &calls {
        assert!(
            answer == "v" || is_redis_unavailable(answer),
            "a call under load got {answer}"
        );
    }
    assert_eq!(kept, "v", "the key set before the failover");
    assert_eq!(
        resumed.new_session_id(),
        None,
        "the session was lost in the failover"
    );
    assert_eq!(resumed.reply("auth.user", json!(null)).await, "tom21");
    assert_eq!(resumed.reply("auth.recall", json!(null)).await, "blue");
    let delivered = delivered.expect("no broadcast reached the client after the failover");
    assert!(
        delivered < promoted + FOLLOW_LIMIT,
        "events flowed again {delivered:?} after the kill, the promotion at {promoted:?}"
    );
    let log = server.output();
    assert!(
        log.contains(&format!(
            "moved from 127.0.0.1:{} to 127.0.0.1:{}",
            master.port, replica.port
        )),
        "{log}"
    );
}

#[test]
fn sentinels_that_do_not_answer_are_a_clear_start_up_error() {
    let closed_port = crate::support::free_port();
    let app = copy_fixture("basic");
    let config = json!({"redis": {
        "sentinels": [format!("127.0.0.1:{closed_port}")],
        "master_name": "mymaster"
    }});
    crate::support::write_environment(app.path(), "production", config);
    let text = crate::support::start_refused(app.path(), "production");
    assert!(
        text.contains(&format!(
            "cannot find the Redis master mymaster through the sentinels at 127.0.0.1:{closed_port}"
        )),
        "{text}"
    );
    assert!(text.contains("This app needs Redis"), "{text}");
}

#[test]
fn a_bad_sentinel_address_is_a_config_error_naming_the_key() {
    let app = copy_fixture("basic");
    let config = json!({"redis": {"sentinels": ["10.0.0.5"], "master_name": "mymaster"}});
    crate::support::write_environment(app.path(), "staging", config);
    let text = crate::support::start_refused(app.path(), "staging");
    assert!(
        text.contains(
            "config/environments/staging.json: redis.sentinels[0]: \
             expected a sentinel's \"host:port\", such as \"10.0.0.5:26379\", got \"10.0.0.5\""
        ),
        "{text}"
    );
    let app = copy_fixture("basic");
    let config = json!({"redis": {"sentinels": ["10.0.0.5:26379"]}});
    crate::support::write_environment(app.path(), "staging", config);
    let text = crate::support::start_refused(app.path(), "staging");
    assert!(
        text.contains("redis.sentinels: set without redis.master_name"),
        "{text}"
    );
}
