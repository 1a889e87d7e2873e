//! `engines: N`: the app loaded in several engines of one process. Each
//! connection is served by one engine, which runs in parallel with the
//! others; events cross engines, HTTP API calls are shared out, and a
//! connection whose engine is stuck or reloading moves to another with its
//! session.

use crate::support::{Client, Server, error_of};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::Duration;

/// Each engine loads this file itself: `engine` names the engine (a new
/// name after a reload); `busyEnded` says whether a `busy` loop has ended in
/// it. `busy` announces its start to every connection (the event goes out
/// while it loops).
const ENGINE_ACTIONS: &str = r#"
var fs = require('fs');
// After `crash`, the reload takes 3 s, so that calls made meanwhile surely
// find the engine down, however slow the machine.
if (fs.existsSync($SS.root + '/crashed')) { var until = Date.now() + 3000; while (Date.now() < until) {} }
var engine = Math.random().toString(36).slice(2);
var busyEnded = false;
exports.actions = {
  whoami: function (cb) { cb({engine: engine, busyEnded: busyEnded, user: this.session.user_id}); },
  busy: function (ms, cb) {
    $SS.publish.broadcast('busy', engine);
    var end = Date.now() + ms;
    while (Date.now() < end) {}
    busyEnded = true;
    cb(engine);
  },
  crash: function (cb) {
    fs.writeFileSync($SS.root + '/crashed', '');
    require('vm').runInNewContext('1 + 1');
    cb('survived');
  },
  tell: function (params, cb) {
    if (params.user) $SS.publish.user(params.user, 'told', {text: params.text, from: engine});
    else $SS.publish.broadcast('told', {text: params.text, from: engine});
    cb(engine);
  }
};
"#;

/// The basic fixture with [`ENGINE_ACTIONS`], `engines` set as given.
fn start(engines: Value) -> Server {
    let app = crate::support::copy_fixture("basic");
    std::fs::write(app.path().join("app/server/engines.js"), ENGINE_ACTIONS).unwrap();
    crate::support::write_environment(
        app.path(),
        "engines",
        json!({"hostname": "127.0.0.1", "store": "embedded", "engines": engines,
               "log": {"level": 2}}),
    );
    Server::start_in(app, &[("SS_ENV", "engines")])
}

async fn engine_of(client: &mut Client) -> String {
    let reply = client.reply("engines.whoami", json!(null)).await;
    reply["engine"].as_str().expect("an engine name").to_owned()
}

/// Sends `engines.busy` for `ms` and returns its cb_id once the loop has
/// begun: when every one of `clients` (the caller first) has had the event
/// saying so.
async fn start_busy(clients: &mut [&mut Client], ms: u64) -> String {
    let cb_id = clients[0].send_call("engines.busy", json!(ms)).await;
    for client in clients {
        let event = client.next_frame().await;
        assert_eq!(event["event"], "busy", "{event}");
    }
    cb_id
}

#[tokio::test]
async fn two_engines_serve_two_connections_in_parallel() {
    let server = start(json!(2));
    server.expect_in_banner("2 JavaScript engines");
    let mut first = server.client().await;
    let mut second = server.client().await;
    let busy_engine = engine_of(&mut first).await;
    assert_ne!(busy_engine, engine_of(&mut second).await);

    // One engine loops for 2 s; the other answers meanwhile.
    let busy = start_busy(&mut [&mut first, &mut second], 2_000).await;
    assert_eq!(second.reply("app.square", json!(12)).await, json!(144));
    assert_eq!(
        first.try_next_frame(Duration::ZERO).await,
        None,
        "the loop ended before the other engine answered"
    );
    let frame = first.next_frame().await;
    assert_eq!(frame["cb_id"], busy.as_str());
    assert_eq!(frame["params"], busy_engine.as_str());
}

#[tokio::test]
async fn with_one_engine_a_busy_action_delays_every_connection() {
    let server = start(json!(1));
    server.expect_in_banner("engines      1 JavaScript engine\n");
    let mut first = server.client().await;
    let mut second = server.client().await;
    assert_eq!(engine_of(&mut first).await, engine_of(&mut second).await);
    start_busy(&mut [&mut first, &mut second], 500).await;
    // The loop had to end before the other connection's call ran.
    let reply = second.reply("engines.whoami", json!(null)).await;
    assert_eq!(reply["busyEnded"], true, "{reply}");
}

#[tokio::test]
async fn events_and_sessions_cross_engines() {
    let server = start(json!(2));
    let mut tom = server.client().await;
    let mut listener = server.client().await;
    let tom_engine = engine_of(&mut tom).await;
    assert_ne!(tom_engine, engine_of(&mut listener).await);

    // A broadcast from one engine reaches the other's connections.
    // The sender gets the event too, before or after the reply.
    let cb_id = listener
        .send_call("engines.tell", json!({"text": "to all"}))
        .await;
    let mut frames = [listener.next_frame().await, listener.next_frame().await];
    frames.sort_by_key(|frame| frame["type"] != "server");
    let [reply, own_event] = frames;
    assert_eq!(reply["cb_id"], cb_id.as_str(), "{reply}");
    let event = tom.next_frame().await;
    assert_eq!(event["type"], "event", "{event}");
    assert_eq!(
        event["params"],
        json!({"text": "to all", "from": reply["params"]})
    );
    assert_eq!(own_event["params"], event["params"]);

    // A login on one engine: a user event sent from the other reaches it.
    assert!(tom.login("secret").await);
    let from = listener
        .reply("engines.tell", json!({"user": "tom21", "text": "hi tom"}))
        .await;
    let event = tom.next_frame().await;
    assert_eq!(event["params"], json!({"text": "hi tom", "from": from}));
    listener.expect_silence(Duration::from_millis(200)).await;

    // A second tab of the session joins the first tab's engine, though
    // another connection has left that engine the busier.
    let _newcomer = server.client().await;
    let token = tom
        .rotations
        .last()
        .expect("a new session id at login")
        .clone();
    let session = server.exchange(&token).await.expect("the new cookie");
    let mut second_tab = Client::connect(server.port, Some(&session)).await;
    let reply = second_tab.reply("engines.whoami", json!(null)).await;
    assert_eq!(reply["engine"], tom_engine.as_str());
    assert_eq!(reply["user"], "tom21");
}

#[tokio::test]
async fn http_api_calls_are_balanced_across_engines() {
    let server = start(json!(3));
    let mut seen = HashSet::new();
    for _ in 0..6 {
        let reply: Value = reqwest::get(server.url("/api/engines/whoami.json"))
            .await
            .expect("the API answers")
            .text()
            .await
            .map(|text| serde_json::from_str(&text).expect("JSON"))
            .expect("a body");
        seen.insert(reply["engine"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
}

#[tokio::test]
async fn a_stuck_engines_connection_moves_to_another_engine() {
    let server = start(json!(2));
    let mut first = server.client().await;
    let mut other = server.client().await;
    let stuck_engine = engine_of(&mut first).await;
    let other_engine = engine_of(&mut other).await;
    assert!(first.login("secret").await);

    let busy = start_busy(&mut [&mut first, &mut other], 4_000).await;
    // Past the pool's STUCK (1 s) in one loop, the engine is stuck.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    // It moves with its session, logged in, to the other engine.
    let reply = first.reply("engines.whoami", json!(null)).await;
    assert_eq!(reply["engine"], other_engine.as_str());
    assert_eq!(reply["user"], "tom21");
    let frame = first.next_frame().await;
    assert_eq!(frame["cb_id"], busy.as_str(), "{frame}");
    assert_eq!(frame["params"], stuck_engine.as_str());
    // It stays where it moved.
    assert_eq!(engine_of(&mut first).await, other_engine);
    server.wait_for_output("is stuck: connection");
}

#[tokio::test]
async fn a_crashed_engines_connections_move_while_it_reloads() {
    let server = start(json!(2));
    let mut crasher = server.client().await;
    let mut other = server.client().await;
    let mut neighbour = server.client().await;
    let crashed_engine = engine_of(&mut crasher).await;
    let other_engine = engine_of(&mut other).await;
    assert_eq!(engine_of(&mut neighbour).await, crashed_engine);

    let (code, _) = error_of(&crasher.call("engines.crash", json!(null)).await);
    assert_eq!(code, "engine_restarted");
    // The neighbour's socket stays open; its next call is served by the
    // engine that did not crash instead of waiting for the reload.
    assert_eq!(engine_of(&mut neighbour).await, other_engine);
    server.wait_for_output("reloaded in a new JavaScript engine");
    // The reloaded engine, now the least loaded, takes the next connection.
    let mut newcomer = server.client().await;
    let reloaded = engine_of(&mut newcomer).await;
    assert_ne!(reloaded, crashed_engine);
    assert_ne!(reloaded, other_engine);
}
