//! An app of the later SocketStream API (0.1–0.2) in headless Chromium: the
//! `SS` global from the first line of the app's code, `SS.server` stubs,
//! `SS.client` namespaces across files, `SS.client.app.init` after connect,
//! events, and `reconnect` after a restart.

use crate::support::browser::Browser;
use crate::support::{Server, copy_fixture};
use serde_json::json;

/// The fixture's page and server, with client code written for 0.1: no
/// `remote`, no `window.app`.
const LATER_APP: &str = r#"
show = (id, text) -> document.getElementById(id).textContent = text
# At file load, before any connection (real apps do this).
SS.socket.on 'connect', -> show 'status', 'up'
SS.socket.on 'reconnect', -> show 'status', 'reconnected'
SS.events.on 'newMessage', (text) -> show 'event', text

exports.init = ->
  show 'inits', (SS.client.app.inits = (SS.client.app.inits or 0) + 1)
  show 'format', SS.client.util.labels.hash(7)
  SS.server.app.square 25, (n) -> show 'square', n
  SS.server.app.init (reply) -> show 'message', reply
  # No callback: the reply is logged.
  SS.server.app.square 3
"#;

const LATER_HELPER: &str = "exports.hash = (n) -> \"##{n}\"\n";

/// The fixture with [`LATER_APP`] for client code and a second client file
/// in a folder.
fn later_app() -> tempfile::TempDir {
    let app = copy_fixture("basic");
    let root = app.path();
    std::fs::write(root.join("app/client/app.coffee"), LATER_APP).unwrap();
    std::fs::remove_file(root.join("app/client/clock.coffee")).unwrap();
    std::fs::create_dir_all(root.join("app/client/util")).unwrap();
    std::fs::write(root.join("app/client/util/labels.coffee"), LATER_HELPER).unwrap();
    app
}

#[tokio::test]
async fn a_later_api_page_gets_ss_stubs_namespaces_and_init() {
    let app = later_app();
    let server = Server::start_in(app, &[]);
    server.expect_in_banner("SocketStream 0.1 (the SS global in app/client/app.coffee)");

    let browser = Browser::launch().await;
    browser.open(&server.url("/")).await;
    browser.wait_for_text("status", "up").await;
    browser.wait_for_text("square", "625").await;
    browser.wait_for_text("message", "Hello from test").await;
    browser.wait_for_text("format", "#7").await;
    browser.wait_for_text("inits", "1").await;
    browser
        .wait_for(
            "return SS === $SS && typeof SS.server.users.online.double",
            json!("function"),
        )
        .await;
    browser
        .wait_for("return typeof window.require", json!("undefined"))
        .await;

    let reply = reqwest::get(server.url("/api/app/shout.json?to%20the%20page"))
        .await
        .expect("call the API");
    assert_eq!(reply.status(), 200);
    browser.wait_for_text("event", "to the page").await;

    // A restart: the page reconnects, `reconnect` follows `connect`, and
    // init does not run again.
    let _server = server.restart(&[]);
    browser.wait_for_text("status", "reconnected").await;
    browser.wait_for_text("inits", "1").await;
    browser.close().await;
}

#[tokio::test]
async fn a_0_2_page_sends_each_argument_of_a_call() {
    let app = later_app();
    let root = app.path();
    std::fs::write(
        root.join("app/server/calls.js"),
        "exports.actions = { add: function (a, b, cb) { cb(a + b); } };",
    )
    .unwrap();
    crate::support::write_environment(root, "test", json!({"socketstream_api": "0.2"}));
    let server = Server::start_in(app, &[]);

    let browser = Browser::launch().await;
    browser.open(&server.url("/")).await;
    browser.wait_for_text("square", "625").await;
    browser
        .run("SS.server.calls.add(2, 3, function (sum) { window.sum = sum; })")
        .await;
    browser.wait_for("return window.sum", json!(5)).await;
    browser.close().await;
}
