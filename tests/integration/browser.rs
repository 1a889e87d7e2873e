//! The browser side, end to end: ssrt serves the fixture app to headless
//! Chromium, live-compiled (development) and packed (staging), and the page
//! runs: `app.init`, `remote` replies, pushed events, reconnection after a
//! restart, and live reload.

use crate::support::browser::Browser;
use crate::support::{Server, copy_fixture};
use serde_json::json;

/// What the fixture's `app.init` writes into the page once it has run.
async fn expect_app_running(browser: &Browser, env: &str) {
    browser.wait_for_text("square", "625").await;
    browser
        .wait_for_text("message", &format!("Hello from {env}"))
        .await;
    browser.wait_for_text("inits", "1").await;
    // Shared code, lib/client (.js without a `;`, .coffee, .min) all loaded.
    browser.wait_for_text("shared", "**** it").await;
    browser.wait_for_text("format", "#7").await;
    browser.wait_for_text("tiny", "tiny ok").await;
    // Stylus (with its @import) and lib/css both applied.
    browser
        .wait_for(
            "return getComputedStyle(document.body).color",
            json!("rgb(51, 102, 153)"),
        )
        .await;
    browser
        .wait_for(
            "return getComputedStyle(document.body).marginTop",
            json!("0px"),
        )
        .await;
    // The jQuery template, the session cookie (out of scripts' reach) and
    // the environment.
    browser
        .wait_for(
            "return document.getElementById('people-info').innerHTML",
            json!("<div class=\"person\"><span class=\"name\">${name}</span></div>"),
        )
        .await;
    browser
        .wait_for(
            "return $SS.connected && document.cookie.indexOf('session_id') === -1",
            json!(true),
        )
        .await;
    browser.wait_for("return $SS.env", json!(env)).await;
}

/// An event published on the server reaches the page.
async fn expect_pushed_events(server: &Server, browser: &Browser) {
    let reply = reqwest::get(server.url("/api/app/shout.json?hello%20page"))
        .await
        .expect("call the API");
    assert_eq!(reply.status(), 200);
    browser.wait_for_text("event", "hello page").await;
}

/// Opens the page of `server` and checks the whole app runs, then that its
/// scripts are the ones `script_paths` (a page script) expects.
async fn expect_page_runs(
    server: &Server,
    env: &str,
    script_paths: &str,
    expected: serde_json::Value,
) {
    let browser = Browser::launch().await;
    browser.open(&server.url("/")).await;
    expect_app_running(&browser, env).await;
    expect_pushed_events(server, &browser).await;
    browser.wait_for(script_paths, expected).await;
    browser.close().await;
}

#[tokio::test]
async fn the_live_compiled_page_runs_the_app() {
    expect_page_runs(
        &Server::start(),
        "test",
        "return Array.from(document.scripts).filter(s => s.src).map(s => new URL(s.src).pathname)",
        json!([
            "/_ssrt/lib.js",
            "/shared/filter.coffee",
            "/client/app.coffee",
            "/client/clock.coffee"
        ]),
    )
    .await;
}

#[tokio::test]
async fn the_packed_page_runs_the_app() {
    expect_page_runs(
        &Server::start_fixture("basic", &[("SS_ENV", "staging")]),
        "staging",
        "return Array.from(document.scripts).filter(s => s.src).every(s => /^\\/assets\\/(lib|app)_\\d+\\.js$/.test(new URL(s.src).pathname))",
        json!(true),
    )
    .await;
}

#[tokio::test]
async fn an_open_page_reconnects_after_a_restart_and_sends_what_was_queued() {
    let mut server = Server::start();
    let browser = Browser::launch().await;
    browser.open(&server.url("/")).await;
    browser.wait_for_text("square", "625").await;

    server.kill();
    browser.wait_for_text("status", "down").await;
    // Called while the server is down: queued in the page until it is back.
    browser.run("app.again(9)").await;

    let server = server.restart(&[]);
    browser.wait_for_text("status", "up 1").await;
    browser.wait_for_text("square", "81").await;
    browser.run("app.again(12)").await;
    browser.wait_for_text("square", "144").await;
    // A reconnection is not a new page: app.init ran once.
    browser.wait_for_text("inits", "1").await;
    drop(server);
    browser.close().await;
}

#[tokio::test]
async fn edits_reload_open_pages_and_stylesheets_swap_in_place() {
    let dir = copy_fixture("basic");
    let root = dir.path().to_path_buf();
    let server = Server::start_in(dir, &[]);
    let browser = Browser::launch().await;
    browser.open(&server.url("/")).await;
    browser.wait_for_text("square", "625").await;
    browser.run("window.sameDocument = true").await;

    std::fs::write(
        root.join("app/css/helpers.styl"),
        "brand = #993366\n\nrounded(radius)\n  border-radius radius\n",
    )
    .unwrap();
    browser
        .wait_for(
            "return getComputedStyle(document.body).color",
            json!("rgb(153, 51, 102)"),
        )
        .await;
    browser
        .wait_for("return window.sameDocument === true", json!(true))
        .await;

    let app = std::fs::read_to_string(root.join("app/client/clock.coffee")).unwrap();
    std::fs::write(
        root.join("app/client/clock.coffee"),
        app + "\napp.edited = true\n",
    )
    .unwrap();
    browser
        .wait_for(
            "return window.sameDocument === undefined && app.edited === true",
            json!(true),
        )
        .await;
    browser.wait_for_text("square", "625").await;
    browser.close().await;
}

#[tokio::test]
async fn remote_takes_falsy_params_options_and_the_prefix_and_logs_by_level() {
    let server = Server::start();
    let browser = Browser::launch().await;
    browser.open(&server.url("/")).await;
    browser.wait_for_text("square", "625").await;
    // Record what the client logs, and answer into `window.results`.
    browser
        .run(
            "window.logged = []; console.log = function () { logged.push(Array.from(arguments).join(' ')) };\
             window.results = []; window.keep = function (r) { results.push(r) };",
        )
        .await;

    browser
        .run(
            "$SS.config.log.level = 2;\
             remote('app.echo', 0, keep); remote('app.echo', false, keep); remote('app.echo', '', keep);\
             remote('app.square', 3, {silent: true}, keep);",
        )
        .await;
    browser
        .wait_for("return results", json!([0, false, "", 9]))
        .await;
    browser
        .wait_for(
            "return logged",
            json!(["<- app.echo", "<- app.echo", "<- app.echo"]),
        )
        .await;

    browser
        .run(
            "logged.length = 0; results.length = 0; $SS.config.log.level = 4;\
             $SS.config.remote_prefix = 'users.online'; remote('double', 21, keep);",
        )
        .await;
    browser.wait_for("return results", json!([42])).await;
    browser
        .wait_for(
            "return logged",
            json!(["<- users.online.double 21", "-> users.online.double 42"]),
        )
        .await;

    browser
        .run("logged.length = 0; $SS.config.remote_prefix = null; $SS.config.log.level = 0; remote('app.square', 2, keep);")
        .await;
    browser.wait_for("return results", json!([42, 4])).await;
    browser.wait_for("return logged", json!([])).await;
    browser.close().await;
}

#[tokio::test]
async fn the_http_only_session_cookie_survives_reloads_and_follows_a_login() {
    let server = Server::start();
    let browser = Browser::launch().await;
    let whoami =
        "window.me = null; remote('app.whoami', function (r) { me = r.id + ' ' + r.user_id });";
    browser.open(&server.url("/")).await;
    browser.wait_for_text("square", "625").await;
    browser.run(whoami).await;
    browser.wait_for("return me !== null", json!(true)).await;
    let first = browser.run("return me").await;
    assert_eq!(
        first.as_str().map(|me| me.ends_with(" null")),
        Some(true),
        "{first}"
    );

    // The handshake set the cookie: a reload resumes the session.
    browser.open(&server.url("/")).await;
    browser.wait_for_text("square", "625").await;
    browser.run(whoami).await;
    browser.wait_for("return me", first.clone()).await;

    // A login moves the session to a new id; the page trades its token for
    // the new cookie, so that the next reload is still logged in.
    browser
        .run(
            "window.exchanged = 0; var send = XMLHttpRequest.prototype.send;\
             XMLHttpRequest.prototype.send = function () {\
               this.addEventListener('load', function () { if (this.status === 204) exchanged++; });\
               return send.apply(this, arguments); };\
             window.loggedIn = null;\
             remote('auth.login', {username: 'tom', password: 'secret'}, function (ok) { loggedIn = ok });",
        )
        .await;
    browser.wait_for("return loggedIn", json!(true)).await;
    browser.wait_for("return exchanged", json!(1)).await;
    browser.run(whoami).await;
    browser.wait_for("return me !== null", json!(true)).await;
    let after_login = browser.run("return me").await;
    let after_login = after_login.as_str().unwrap_or_default().to_owned();
    assert!(after_login.ends_with(" tom21"), "{after_login}");
    assert_ne!(
        Some(after_login.split(' ').next()),
        first.as_str().map(|f| f.split(' ').next())
    );

    browser.open(&server.url("/")).await;
    browser.wait_for_text("square", "625").await;
    browser.run(whoami).await;
    browser.wait_for("return me", json!(after_login)).await;
    browser.close().await;
}
