//! Several ssrt processes on one real Redis behave as one app (SPEC 6):
//! sessions resume on any instance and events reach clients of every instance.

mod support;

use serde_json::json;
use std::time::Duration;
use support::{Client, Redis, copy_fixture};

#[tokio::test]
async fn the_banner_names_redis() {
    let redis = Redis::start();
    let server = redis.ssrt();
    assert!(
        server
            .banner
            .contains(&format!("store        redis at 127.0.0.1:{}", redis.port)),
        "{}",
        server.banner
    );
}

#[tokio::test]
async fn a_session_made_on_one_instance_resumes_on_another() {
    let redis = Redis::start();
    let a = redis.ssrt();
    let b = redis.ssrt();
    let first = a.client().await;
    let id = first.new_session_id().expect("a new session");
    let stored = redis.hgetall(&format!("ss:session:{id}"));
    assert!(stored.contains("created_at"), "{stored}");

    let mut again = Client::connect(b.port, Some(&id)).await;
    assert_eq!(
        again.new_session_id(),
        None,
        "b resumed the session instead of making one"
    );
    let who = again.reply("app.whoami", json!(null)).await;
    assert_eq!(who["id"], id.as_str());
    assert_eq!(who["newly_created"], false);
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
    let id = tab_on_a.new_session_id().expect("a new session");
    assert!(tab_on_a.login("secret").await);
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
    support::write_environment(app.path(), "production", config);
    let text = support::start_refused(app.path(), "production");
    assert!(text.contains("This app needs Redis"), "{text}");
    assert!(text.contains("\"store\": \"embedded\""), "{text}");
}

/// Polls `attempt` until it returns true or `within` has passed.
async fn eventually<F: std::future::Future<Output = bool>>(
    within: std::time::Duration,
    mut attempt: impl FnMut() -> F,
) -> bool {
    let deadline = std::time::Instant::now() + within;
    while std::time::Instant::now() < deadline {
        if attempt().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    false
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
    let on_a = std::sync::Arc::new(tokio::sync::Mutex::new(on_a));
    let recovered = eventually(Duration::from_secs(15), || {
        let on_a = on_a.clone();
        async move { on_a.lock().await.reply("redis.ping", json!(null)).await == "PONG" }
    })
    .await;
    assert!(recovered, "R did not reconnect");

    // Pub/sub resubscribed on both instances: b's broadcasts reach a again.
    let mut on_a = on_a.lock().await;
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
