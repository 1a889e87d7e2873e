//! Several ssrt processes on one real Redis behave as one app (SPEC 6):
//! sessions resume on any instance and events reach clients of every instance.

use crate::support::outage::{Load, OUTAGE_ACTIONS, deliver_after, timed_reply};
use crate::support::{Client, Redis, copy_fixture, eventually};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

#[tokio::test]
async fn the_banner_names_redis() {
    let redis = Redis::start();
    let server = redis.ssrt();
    server.expect_in_banner(&format!("store        redis at 127.0.0.1:{}", redis.port));
}

#[tokio::test]
async fn a_session_made_on_one_instance_resumes_on_another() {
    let redis = Redis::start();
    let a = redis.ssrt();
    let b = redis.ssrt();
    let mut first = a.client().await;
    let id = first.new_session_id().expect("a new session");
    // Stored only once it holds something, and then with an expiry.
    let key = format!("ss:session:{id}");
    assert_eq!(
        redis.cli(&["EXISTS", &key]).trim(),
        "0",
        "an empty session is not stored"
    );
    assert_eq!(first.reply("auth.remember", json!("blue")).await, true);
    let stored = redis.hgetall(&key);
    assert!(stored.contains("created_at"), "{stored}");
    let ttl: u64 = redis.cli(&["TTL", &key]).trim().parse().expect("a TTL");
    assert!((1_209_000..=1_209_600).contains(&ttl), "TTL {ttl}");

    let mut again = Client::connect(b.port, Some(&id)).await;
    assert_eq!(
        again.new_session_id(),
        None,
        "b resumed the session instead of making one"
    );
    let who = again.reply("app.whoami", json!(null)).await;
    assert_eq!(who["id"], id.as_str());
    assert_eq!(who["newly_created"], false);
    assert_eq!(again.reply("auth.recall", json!(null)).await, "blue");
}

#[tokio::test]
async fn a_broadcast_from_one_instance_reaches_clients_of_every_instance() {
    let redis = Redis::start();
    let a = redis.ssrt();
    let b = redis.ssrt();
    let mut on_a = a.client().await;
    let mut also_on_a = a.client().await;
    let mut on_b = b.client().await;
    let cb_id = on_b.send_call("app.shout", json!("to everyone")).await;
    let event = json!({"type": "event", "event": "newMessage", "params": "to everyone"});
    assert_eq!(on_a.next_frame().await, event);
    assert_eq!(also_on_a.next_frame().await, event);
    let mut frames = [on_b.next_frame().await, on_b.next_frame().await];
    frames.sort_by_key(|f| f["type"].as_str().unwrap_or_default().to_owned());
    assert_eq!(frames[0], event);
    assert_eq!(frames[1]["cb_id"], cb_id.as_str());
}

#[tokio::test]
async fn publish_user_on_one_instance_reaches_the_users_tabs_on_every_instance() {
    let redis = Redis::start();
    let a = redis.ssrt();
    let b = redis.ssrt();
    let mut tab_on_a = a.client().await;
    assert!(tab_on_a.login("secret").await);
    let token = tab_on_a.rotations.pop().expect("a new cookie at login");
    let id = a.exchange(&token).await.expect("the new cookie");
    // The login is stored in Redis, so the same session on b is logged in too.
    let mut tab_on_b = Client::connect(b.port, Some(&id)).await;
    assert_eq!(tab_on_b.reply("auth.user", json!(null)).await, "tom21");

    let mut sender_on_b = b.client().await;
    assert_eq!(sender_on_b.reply("auth.notify", json!("tom21")).await, true);
    let event = json!({"type": "event", "event": "private", "params": "for tom21"});
    assert_eq!(tab_on_a.next_frame().await, event);
    assert_eq!(tab_on_b.next_frame().await, event);
}

#[test]
fn production_without_redis_is_a_clear_start_up_error() {
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = unused.local_addr().unwrap().port();
    drop(unused);
    let app = copy_fixture("basic");
    let config = json!({"redis": {"port": closed_port}});
    crate::support::write_environment(app.path(), "production", config);
    let text = crate::support::start_refused(app.path(), "production");
    assert!(text.contains("This app needs Redis"), "{text}");
    assert!(text.contains("\"store\": \"embedded\""), "{text}");
}

#[tokio::test]
async fn redis_going_away_and_coming_back_never_takes_ssrt_down() {
    let mut redis = Redis::start();
    let a = redis.ssrt();
    let b = redis.ssrt();
    let mut on_a = a.client().await;
    let mut on_b = b.client().await;
    assert_eq!(on_a.reply("redis.ping", json!(null)).await, "PONG");

    redis.stop();
    // Calls that need no Redis carry on; R's errors reach its callback.
    assert_eq!(on_a.reply("app.square", json!(5)).await, 25);
    let failed = on_a.reply("redis.ping", json!(null)).await;
    assert!(failed.as_str().unwrap().starts_with("error:"), "{failed}");

    redis.restart();
    eventually(
        Duration::from_secs(15),
        "R reconnecting",
        async || on_a.reply("redis.ping", json!(null)).await,
        |reply| reply == "PONG",
    )
    .await;

    // Pub/sub resubscribed on both instances: b's broadcasts reach a again.
    let mut delivered = false;
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while !delivered && std::time::Instant::now() < deadline {
        on_b.send_call("app.shout", json!("back again")).await;
        while let Some(frame) = on_b.try_next_frame(Duration::from_millis(300)).await {
            let _ = frame; // b's own reply and event
        }
        while let Some(frame) = on_a.try_next_frame(Duration::from_millis(300)).await {
            delivered |= frame["event"] == "newMessage";
        }
    }
    assert!(delivered, "broadcasts did not resume after Redis came back");
    assert!(a.banner.contains("redis at"));
    assert_eq!(on_a.reply("app.square", json!(6)).await, 36);
}

// Redis faults fail fast (the hardening issue): while Redis is killed or
// stalled, a call that needs it is answered with `redis_unavailable` within
// about a second (RESPONSE_TIMEOUT in store/src/redis_store.rs), calls that
// do not need it are untouched, and everything comes back by itself.

/// How long an answer may take while Redis is down or stalled. Measured: well
/// a few milliseconds when killed, 1.0 s when stalled; generous for a busy
/// machine, and far below the 8–9.5 s it took before.
const ANSWER_LIMIT: Duration = Duration::from_secs(3);
/// How long an answer may take while Redis is stalled: the 1 s response
/// timeout and some slack, below the 2 s timeout it replaced.
const STALL_LIMIT: Duration = Duration::from_millis(1900);
/// How long a call that needs no Redis may take, whatever Redis is doing.
const PROMPT: Duration = Duration::from_secs(1);

/// Fails unless `answer` is the error `R` reports when Redis at `port` is
/// unavailable.
fn assert_redis_unavailable(answer: &Value, port: u16) {
    let text = answer.as_str().unwrap_or_default();
    assert!(
        text.starts_with(&format!(
            "error: redis_unavailable: Redis at 127.0.0.1:{port} "
        )),
        "expected redis_unavailable naming the address, got {answer}"
    );
}

/// A new WebSocket connection: how long until it was answered, and whether
/// with `ready` (true) or with a `session_unavailable` frame naming Redis.
async fn timed_connection(port: u16, redis_port: u16, cookie: Option<&str>) -> (Duration, bool) {
    let started = Instant::now();
    let outcome = Client::connect_or_error(port, cookie).await;
    let took = started.elapsed();
    match outcome {
        Ok(_) => (took, true),
        Err(frame) => {
            let (code, message) = crate::support::error_of(&frame);
            assert_eq!(code, "session_unavailable", "{frame}");
            assert!(
                message.contains(&format!(
                    "redis_unavailable: Redis at 127.0.0.1:{redis_port}"
                )),
                "{frame}"
            );
            (took, false)
        }
    }
}

/// Waits for the server to log that a publication failed; returns how long
/// that took and the line.
fn timed_publish_failure(server: &crate::support::Server) -> (Duration, String) {
    let started = Instant::now();
    let printed = server.wait_for_output("cannot publish");
    let line = printed.lines().last().unwrap_or_default().to_owned();
    (started.elapsed(), line)
}

/// Of the load's calls sent between `from` and `to`: the slowest answer; and
/// of those answered in that time, how many there were and how many failed
/// (a call still waiting at `to` may be answered by a Redis just come back).
async fn window(load: Load, from: Instant, to: Instant) -> (Duration, usize, usize) {
    let calls = load.finish().await;
    let sent: Vec<_> = calls
        .iter()
        .filter(|(sent, ..)| *sent >= from && *sent < to)
        .collect();
    let slowest = sent.iter().map(|(_, took, _)| *took).max();
    let answered: Vec<_> = sent
        .iter()
        .filter(|(sent, took, _)| *sent + *took < to)
        .collect();
    let failed = answered
        .iter()
        .filter(|(.., answer)| answer.as_str().is_some_and(|a| a.starts_with("error:")))
        .count();
    (slowest.unwrap_or_default(), answered.len(), failed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_redis_fails_calls_fast_and_everything_comes_back() {
    let mut redis = Redis::start();
    let server = redis.ssrt_with(&[OUTAGE_ACTIONS]);
    let mut listener = server.client().await;
    let mut caller = server.client().await;
    let mut announcer = server.client().await;
    assert_eq!(
        caller
            .reply("outage.set", json!({"key": "k", "value": "v"}))
            .await,
        "OK"
    );
    let load = Load::start(server.port).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    redis.stop();
    let down = Instant::now();
    let (needs_redis, answer) = timed_reply(&mut caller, "outage.get", json!("k")).await;
    assert_redis_unavailable(&answer, redis.port);
    let (no_redis, answer) = timed_reply(&mut caller, "app.square", json!(7)).await;
    assert_eq!(answer, 49);
    let (connecting, ready) = timed_connection(server.port, redis.port, None).await;
    let (publish_call, answer) = timed_reply(&mut caller, "outage.announce", json!("lost")).await;
    assert_eq!(answer, true);
    let (publish_failure, line) = timed_publish_failure(&server);
    assert!(
        line.contains(&format!(
            "redis_unavailable: Redis at 127.0.0.1:{}",
            redis.port
        )),
        "{line}"
    );
    // Keep Redis down a while, under load.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (again, answer) = timed_reply(&mut caller, "outage.get", json!("k")).await;
    assert_redis_unavailable(&answer, redis.port);

    // Calls answered from here on may reach the restarted Redis.
    let back = Instant::now();
    redis.restart();
    let (first_after, answer) = timed_reply(
        &mut caller,
        "outage.set",
        json!({"key": "k", "value": "again"}),
    )
    .await;
    let recovered = back.elapsed();
    let (delivered, _) = deliver_after(
        back,
        &mut announcer,
        &mut listener,
        "back",
        Duration::from_secs(15),
    )
    .await;
    let (reconnecting, ready_after) = timed_connection(server.port, redis.port, None).await;
    let (slowest, calls, failed) = window(load, down, back).await;

    eprintln!(
        "Redis killed: R call answered in {needs_redis:?} (again after 1.5 s: {again:?}), \
         app.square in {no_redis:?}, new connection in {connecting:?} (ready: {ready}), \
         announce in {publish_call:?}, its failure logged after {publish_failure:?}; \
         load: {calls} calls, {failed} failed, slowest {slowest:?}. \
         Restarted: first call answered {first_after:?} ({recovered:?} after the restart), \
         an event delivered {delivered:?} after it, a new connection ready in {reconnecting:?}"
    );
    for (what, took) in [
        ("an R call", needs_redis),
        ("an R call 1.5 s into the outage", again),
        ("a new connection", connecting),
        ("the logged publish failure", publish_failure),
        ("the slowest call under load", slowest),
    ] {
        assert!(took < ANSWER_LIMIT, "{what} took {took:?} with Redis down");
    }
    for (what, took) in [("app.square", no_redis), ("outage.announce", publish_call)] {
        assert!(took < PROMPT, "{what} took {took:?} with Redis down");
    }
    assert!(
        calls > 0 && failed == calls,
        "{failed} of {calls} calls failed under load"
    );
    assert_eq!(answer, "OK", "the first call after Redis came back");
    let delivered = delivered.expect("no event reached the client after Redis came back");
    assert!(
        delivered < Duration::from_secs(5),
        "events flowed again after {delivered:?}"
    );
    assert!(
        ready_after,
        "a new connection after Redis came back got no session"
    );
    assert!(
        reconnecting < PROMPT,
        "a new connection took {reconnecting:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_redis_fails_calls_fast_and_loses_nothing() {
    let redis = Redis::start();
    let server = redis.ssrt_with(&[OUTAGE_ACTIONS]);
    let mut listener = server.client().await;
    let mut caller = server.client().await;
    let mut announcer = server.client().await;
    assert_eq!(
        caller
            .reply("outage.set", json!({"key": "k", "value": "kept"}))
            .await,
        "OK"
    );
    let mut tab = server.client().await;
    assert!(tab.login("secret").await);
    let token = tab.rotations.pop().expect("a new cookie at login");
    let session = server.exchange(&token).await.expect("the new cookie");
    drop(tab);
    let load = Load::start(server.port).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    redis.pause();
    let stalled = Instant::now();
    let (needs_redis, answer) = timed_reply(&mut caller, "outage.get", json!("k")).await;
    assert_redis_unavailable(&answer, redis.port);
    let (no_redis, answer) = timed_reply(&mut caller, "app.square", json!(7)).await;
    assert_eq!(answer, 49);
    let (connecting, ready) = timed_connection(server.port, redis.port, None).await;
    let (resuming, resumed) = timed_connection(server.port, redis.port, Some(&session)).await;
    let (publish_call, answer) = timed_reply(&mut caller, "outage.announce", json!("during")).await;
    assert_eq!(answer, true);
    let (publish_failure, line) = timed_publish_failure(&server);
    assert!(
        line.contains(&format!(
            "redis_unavailable: Redis at 127.0.0.1:{}",
            redis.port
        )),
        "{line}"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (again, answer) = timed_reply(&mut caller, "outage.get", json!("k")).await;
    assert_redis_unavailable(&answer, redis.port);

    let back = Instant::now();
    redis.resume();
    let (first_after, kept) = timed_reply(&mut caller, "outage.get", json!("k")).await;
    let recovered = back.elapsed();
    let (delivered, early) = deliver_after(
        back,
        &mut announcer,
        &mut listener,
        "after",
        Duration::from_secs(15),
    )
    .await;
    let mut again_tab = Client::connect(server.port, Some(&session)).await;
    let (slowest, calls, failed) = window(load, stalled, back).await;

    eprintln!(
        "Redis stalled: R call answered in {needs_redis:?} (again after 1.5 s: {again:?}), \
         app.square in {no_redis:?}, new connection in {connecting:?} (ready: {ready}), \
         resuming a session in {resuming:?} (ready: {resumed}), announce in {publish_call:?}, \
         its failure logged after {publish_failure:?}; \
         load: {calls} calls, {failed} failed, slowest {slowest:?}. \
         Resumed: first call answered in {first_after:?} ({recovered:?} after SIGCONT), \
         an event delivered {delivered:?} after it; also received: {early:?}"
    );
    for (what, took) in [
        ("an R call", needs_redis),
        ("an R call 1.5 s into the stall", again),
        ("a new connection", connecting),
        ("a connection resuming a session", resuming),
        ("the logged publish failure", publish_failure),
        ("the slowest call under load", slowest),
    ] {
        assert!(
            took < STALL_LIMIT,
            "{what} took {took:?} with Redis stalled"
        );
    }
    for (what, took) in [("app.square", no_redis), ("outage.announce", publish_call)] {
        assert!(took < PROMPT, "{what} took {took:?} with Redis stalled");
    }
    assert!(
        calls > 0 && failed == calls,
        "{failed} of {calls} calls failed under load"
    );
    // Nothing stored before the stall is lost.
    assert_eq!(kept, "kept", "the key set before the stall");
    assert!(
        recovered < PROMPT,
        "the first call after SIGCONT took {recovered:?}"
    );
    assert_eq!(again_tab.new_session_id(), None, "the session was lost");
    let (_, user) = timed_reply(&mut again_tab, "auth.user", json!(null)).await;
    assert_eq!(user, "tom21");
    let delivered = delivered.expect("no event reached the client after Redis resumed");
    assert!(
        delivered < Duration::from_secs(5),
        "events flowed again after {delivered:?}"
    );
}
