//! Redis outages under load, shared by the redis and sentinel tests:
//! test actions that need Redis, a timed call, and a client calling in a loop.

use super::Client;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Test actions: what needs Redis (`R`, `$SS.publish`); `app.square` does not.
pub const OUTAGE_ACTIONS: (&str, &str) = (
    "app/server/outage.coffee",
    r##"
exports.actions =
  set: (pair, cb) ->
    R.set pair.key, pair.value, (err) -> cb(if err then "error: #{err.message}" else 'OK')
  get: (key, cb) ->
    R.get key, (err, value) -> cb(if err then "error: #{err.message}" else value)
  announce: (text, cb) ->
    $SS.publish.broadcast('announcement', text)
    cb(true)
"##,
);

/// Calls `method` and returns how long the answer took, and the answer
/// (skipping the broadcasts every client here receives).
pub async fn timed_reply(client: &mut Client, method: &str, params: Value) -> (Duration, Value) {
    let started = Instant::now();
    let cb_id = client.send_call(method, params).await;
    loop {
        // Longer than any limit the tests set, so that a slow answer is measured.
        let frame = client
            .try_next_frame(Duration::from_secs(30))
            .await
            .unwrap_or_else(|| panic!("no answer to {method} within 30 s"));
        if frame["type"] == "event" {
            continue;
        }
        assert_eq!(frame["type"], "server", "expected a reply, got {frame}");
        assert_eq!(frame["cb_id"], cb_id.as_str());
        return (started.elapsed(), frame["params"].clone());
    }
}

/// Announces `text` from `sender` until `listener` receives it, for at most
/// `within` from `since`: how long delivery took from `since`, and whatever
/// else `listener` received.
pub async fn deliver_after(
    since: Instant,
    sender: &mut Client,
    listener: &mut Client,
    text: &str,
    within: Duration,
) -> (Option<Duration>, Vec<Value>) {
    let mut others = Vec::new();
    while since.elapsed() < within {
        sender.send_call("outage.announce", json!(text)).await;
        while sender
            .try_next_frame(Duration::from_millis(100))
            .await
            .is_some()
        {}
        while let Some(frame) = listener.try_next_frame(Duration::from_millis(200)).await {
            if frame["event"] == "announcement" && frame["params"] == text {
                return (Some(since.elapsed()), others);
            }
            others.push(frame);
        }
    }
    (None, others)
}

/// One call of a [`Load`]: when it went out, how long its answer took, and
/// what it was.
pub type Timed = (Instant, Duration, Value);

/// A client calling `outage.get` in a loop, as other users would.
pub struct Load {
    stop: Arc<AtomicBool>,
    calls: tokio::task::JoinHandle<Vec<Timed>>,
}

impl Load {
    pub async fn start(port: u16) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let mut client = Client::connect(port, None).await;
        let calls = tokio::spawn({
            let stop = stop.clone();
            async move {
                let mut calls = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let sent = Instant::now();
                    let (took, answer) = timed_reply(&mut client, "outage.get", json!("k")).await;
                    calls.push((sent, took, answer));
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                calls
            }
        });
        Load { stop, calls }
    }

    /// Stops the load; every call it made.
    pub async fn finish(self) -> Vec<Timed> {
        self.stop.store(true, Ordering::Relaxed);
        self.calls.await.expect("the load ran to the end")
    }
}
