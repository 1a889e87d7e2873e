//! API generations: ssrt tells an app written for the later SocketStream
//! API (0.1–0.2, SPEC-0.2-compat) from a 0.0.36 one, says which in the
//! banner, and gives the later apps their `SS` global before their code
//! loads.

use crate::support::{Server, copy_fixture, error_of, write_environment};
use serde_json::json;
use std::time::Duration;

/// The basic fixture with `files` (path, text) written into it and
/// `settings` in its `test` environment.
fn fixture_with(files: &[(&str, &str)], settings: serde_json::Value) -> tempfile::TempDir {
    let app = copy_fixture("basic");
    for (path, text) in files {
        std::fs::write(app.path().join(path), text).unwrap();
    }
    write_environment(app.path(), "test", settings);
    app
}

/// A server file of the later API: `SS` read at module load, as real apps
/// do (`getUserList: SS.users.online.now`), and `SS.require`.
const LATER_ACTIONS: &str = r#"
var helpers = SS.require('helpers');
var getUserList = SS.users.online.now;
exports.actions = {
  env: function (cb) { cb([SS.env, SS === $SS, typeof getUserList]); },
  shout: function (text, cb) { cb(helpers.shout(text)); },
  online: function (cb) { getUserList(function (ids) { cb(ids); }); }
};
"#;

#[tokio::test]
async fn an_app_using_the_ss_global_is_served_as_the_later_api() {
    let app = fixture_with(
        &[("app/server/later.js", LATER_ACTIONS)],
        json!({"store": "embedded"}),
    );
    let server = Server::start_in(app, &[]);
    server.expect_in_banner("api          SocketStream 0.1 (the SS global in app/server/later.js)");
    let mut client = server.client().await;
    assert_eq!(
        client.reply("later.env", json!(null)).await,
        json!(["test", true, "function"])
    );
    assert_eq!(client.reply("later.shout", json!("hi")).await, "HI!");
    assert_eq!(client.reply("later.online", json!(null)).await, json!([]));
}

#[tokio::test]
async fn a_0_0_36_app_gets_no_ss_global() {
    let app = copy_fixture("basic");
    std::fs::write(
        app.path().join("app/server/probe.js"),
        "exports.actions = { ss: function (cb) { cb(typeof SS); } };",
    )
    .unwrap();
    let server = Server::start_in(app, &[]);
    server.expect_in_banner("api          SocketStream 0.0.36 (no later API in use)");
    let mut client = server.client().await;
    assert_eq!(client.reply("probe.ss", json!(null)).await, "undefined");
}

#[tokio::test]
async fn the_config_key_chooses_the_generation() {
    let app = copy_fixture("basic");
    write_environment(app.path(), "test", json!({"socketstream_api": "0.2"}));
    let server = Server::start_in(app, &[]);
    server.expect_in_banner("api          SocketStream 0.2 (socketstream_api in the config)");
    let mut client = server.client().await;
    assert_eq!(client.reply("app.square", json!(5)).await, json!(25));
}

#[tokio::test]
async fn config_files_in_coffeescript_are_run_and_merged() {
    let app = copy_fixture("basic");
    let root = app.path();
    std::fs::write(
        root.join("config/app.coffee"),
        "exports.config =\n  http:\n    hostname: '127.0.0.1'\n  db:\n    name: process.env.SSRT_TEST_DB or 'fallback'\n",
    )
    .unwrap();
    std::fs::write(
        root.join("config/environments/test.coffee"),
        "exports.config = {store: 'embedded', from_env_file: true}\n",
    )
    .unwrap();
    std::fs::write(
        root.join("app/server/settings.js"),
        "exports.actions = { read: function (cb) { \
           cb([$SS.config.db.name, $SS.config.from_env_file, $SS.config.hostname]); } };",
    )
    .unwrap();
    let server = Server::start_in(app, &[("SSRT_TEST_DB", "chat")]);
    server.expect_in_banner("store        embedded");
    let mut client = server.client().await;
    assert_eq!(
        client.reply("settings.read", json!(null)).await,
        json!(["chat", true, "127.0.0.1"])
    );
}

#[test]
fn a_config_file_that_does_not_compile_stops_start_up_naming_it() {
    let app = copy_fixture("basic");
    std::fs::write(
        app.path().join("config/app.coffee"),
        "exports.config =\n  port: (\n",
    )
    .unwrap();
    let stderr = crate::support::start_refused(app.path(), "test");
    assert!(stderr.contains("config/app.coffee:"), "{stderr}");
    let app = copy_fixture("basic");
    std::fs::write(app.path().join("config/app.coffee"), "config = {}\n").unwrap();
    let stderr = crate::support::start_refused(app.path(), "test");
    assert!(
        stderr.contains("config/app.coffee: it must set exports.config"),
        "{stderr}"
    );
}

/// The fixture turned into a later-API app (its client code uses `SS`),
/// with an `.html` view beside the Jade ones; `extra` config on top.
fn later_app(extra: serde_json::Value) -> tempfile::TempDir {
    fixture_with(
        &[
            ("app/client/later.coffee", "SS.events.on 'x', (m) -> m\n"),
            ("app/views/people/row.html", "<tr><td>${name}</td></tr>"),
        ],
        extra,
    )
}

async fn get(server: &Server, path: &str) -> (u16, String) {
    let response = reqwest::get(server.url(path)).await.expect("GET");
    let status = response.status().as_u16();
    (status, response.text().await.expect("a body"))
}

#[tokio::test]
async fn a_0_1_app_is_served_its_page_at_one_segment_paths_and_html_views() {
    let server = Server::start_in(later_app(json!({})), &[]);
    let (status, page) = get(&server, "/room-42").await;
    assert_eq!(status, 200);
    assert!(page.contains("<title>ssrt fixture</title>"), "{page}");
    assert!(
        page.contains(
            r#"<script id="people-row" type="text/html"><tr><td>${name}</td></tr></script>"#
        ),
        "{page}"
    );
    assert_eq!(get(&server, "/room-42.txt").await.0, 404);
    assert_eq!(get(&server, "/rooms/42").await.0, 404);

    // A 0.0.36 app: no page there, and no .html views.
    let server = Server::start();
    assert_eq!(get(&server, "/room-42").await.0, 404);
    assert!(!get(&server, "/").await.1.contains("people-row"));
}

#[tokio::test]
async fn a_0_2_app_marks_its_templates_for_jquery_tmpl_and_packs_its_page_paths() {
    let server = Server::start_in(
        later_app(json!({"socketstream_api": "0.2", "pack_assets": true})),
        &[],
    );
    let (status, page) = get(&server, "/lobby").await;
    assert_eq!(status, 200);
    assert!(
        page.contains(r#"<script id="people-info" type="text/x-jquery-tmpl">"#),
        "{page}"
    );
}

/// Actions whose calls differ between the generations.
const DISPATCH_ACTIONS: &str = r#"
exports.actions = {
  add: function (a, b, cb) { cb(a + b); },
  echo: function (params, cb) { cb(params); },
  origin: function (cb) { cb(this.request.origin); },
  sameSession: function (cb) {
    var session = this.session;
    this.getSession(function (got) { cb(got === session); });
  },
  session: function (cb) { cb('an action called session'); },
  boom: function (cb) { throw new Error('kaboom'); }
};
"#;

fn dispatch_app(generation: &str) -> Server {
    let app = fixture_with(
        &[("app/server/calls.js", DISPATCH_ACTIONS)],
        json!({"socketstream_api": generation, "store": "embedded"}),
    );
    Server::start_in(app, &[])
}

#[tokio::test]
async fn a_0_2_app_spreads_arguments_and_answers_with_0_2_error_codes() {
    let server = dispatch_app("0.2");
    let mut client = server.client().await;
    assert_eq!(client.reply("calls.add", json!([2, 3])).await, json!(5));
    assert_eq!(
        client.reply("calls.echo", json!([[1, 2]])).await,
        json!([1, 2])
    );
    assert_eq!(client.reply("calls.origin", json!([])).await, "socketio");
    assert_eq!(client.reply("calls.sameSession", json!([])).await, true);
    let cases = [
        ("calls.add", json!([2]), "MISSING_ARGS"),
        ("calls.add", json!([1, 2, 3]), "TOO_MANY_ARGS"),
        ("calls.session", json!([]), "RESERVED_WORD"),
        ("calls.boom", json!([]), "APPLICATION_ERROR"),
        ("calls", json!([]), "INVALID_ACTION_LENGTH"),
        ("nofile.x", json!([]), "MODULE_NOT_FOUND"),
        ("calls.nothing", json!([]), "ACTION_NOT_FOUND"),
        // The fixture's secure.coffee sets exports.authenticate = true.
        ("secure.secret", json!([]), "UNAUTHORIZED"),
    ];
    for (method, params, expected) in cases {
        let (code, message) = error_of(&client.call(method, params).await);
        assert_eq!(code, expected, "{method}: {message}");
    }
    // The HTTP API wraps replies as 0.2 did.
    let (status, body) = get(&server, "/api/calls/origin.json").await;
    assert_eq!((status, body.as_str()), (200, r#"{"result":"api"}"#));
    let (status, body) = get(&server, "/api/calls/add.json?1").await;
    assert_eq!(status, 200);
    let error: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(error["error"]["code"], "MISSING_ARGS", "{body}");
    let (status, body) = get(&server, "/api/calls/add?1").await;
    assert_eq!(status, 500);
    assert!(body.contains("MISSING_ARGS"), "{body}");
}

#[tokio::test]
async fn a_0_1_app_drops_falsy_params_and_guards_only_the_http_api() {
    let server = dispatch_app("0.1");
    let mut client = server.client().await;
    assert_eq!(client.reply("calls.echo", json!(7)).await, json!(7));
    // 0.1 passes params only when they are truthy.
    let (code, _) = error_of(&client.call("calls.echo", json!(0)).await);
    assert_eq!(code, "params_missing");
    // An action may be called `session`; 0.2's reserved words do not apply.
    assert_eq!(
        client.reply("calls.session", json!(null)).await,
        "an action called session"
    );
    // exports.authenticate guards the HTTP API, not the socket.
    assert_eq!(
        client.reply("secure.secret", json!(null)).await,
        "user null"
    );
    assert_eq!(get(&server, "/api/secure/secret.json").await.0, 401);
}

#[tokio::test]
async fn a_0_2_app_gets_server_events_and_session_disconnects() {
    let app = fixture_with(
        &[
            (
                "config/events.coffee",
                "global.seen = []\n\
         SS.events.on 'client:init', (session) -> seen.push \"init #{typeof session.id}\"\n\
         SS.events.on 'client:disconnect', (session) -> seen.push 'disconnect'\n\
         SS.events.on 'application:exception', (error) -> seen.push \"exception #{error.message}\"\n",
            ),
            (
                "app/server/watch.coffee",
                "exports.actions =\n\
         \x20 seen: (cb) -> cb(seen)\n\
         \x20 watch: (cb) ->\n\
         \x20   @session.on 'disconnect', -> seen.push 'session disconnect'\n\
         \x20   cb(true)\n\
         \x20 boom: (cb) -> throw new Error('kaboom')\n",
            ),
        ],
        json!({"store": "embedded"}),
    );
    let server = Server::start_in(app, &[]);
    server.expect_in_banner("SocketStream 0.2 (config/events.coffee)");
    let mut leaving = server.client().await;
    assert_eq!(leaving.reply("watch.watch", json!([])).await, true);
    let mut staying = server.client().await;
    drop(leaving);
    let (code, _) = error_of(&staying.call("watch.boom", json!([])).await);
    assert_eq!(code, "APPLICATION_ERROR");
    // The closed tab's events come when the server has seen it close,
    // before or after the exception.
    let seen = crate::support::eventually(
        crate::support::PATIENCE,
        "five server events",
        async || staying.reply("watch.seen", json!([])).await,
        |seen| seen.as_array().is_some_and(|seen| seen.len() >= 5),
    )
    .await;
    let mut seen: Vec<&str> = seen
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|entry| entry.as_str())
        .collect();
    seen.sort_unstable();
    assert_eq!(
        seen,
        [
            "disconnect",
            "exception kaboom",
            "init string",
            "init string",
            "session disconnect"
        ]
    );
}

#[tokio::test]
async fn a_0_2_apps_channels_reach_their_subscribers_across_tabs_and_reconnects() {
    let app = fixture_with(
        &[(
            "app/server/rooms.coffee",
            "exports.actions =\n\
         \x20 join: (name, cb) -> @session.channel.subscribe name, => cb(@session.channel.list())\n\
         \x20 leave: (name, cb) -> @session.channel.unsubscribe name, -> cb(true)\n\
         \x20 say: (name, text, cb) ->\n\
         \x20   SS.publish.channel name, 'said', text\n\
         \x20   cb(true)\n",
        )],
        json!({"socketstream_api": "0.2", "store": "embedded"}),
    );
    let server = Server::start_in(app, &[]);
    let mut member = server.client().await;
    let mut outsider = server.client().await;
    let mut speaker = server.client().await;
    assert_eq!(
        member.reply("rooms.join", json!(["lobby"])).await,
        json!(["lobby"])
    );

    assert_eq!(
        speaker.reply("rooms.say", json!(["lobby", "hi"])).await,
        true
    );
    let event = member.next_frame().await;
    assert_eq!(
        event,
        json!({"type": "event", "event": "said", "params": "hi", "destination": "lobby"})
    );
    outsider.expect_silence(Duration::from_millis(300)).await;

    // Stored with the session: a new tab of it is in the channel too.
    let session = member.new_session_id().expect("a new session");
    let mut second_tab = crate::support::Client::connect(server.port, Some(&session)).await;
    assert_eq!(
        speaker.reply("rooms.say", json!(["lobby", "again"])).await,
        true
    );
    assert_eq!(second_tab.next_frame().await["params"], "again");
    assert_eq!(member.next_frame().await["params"], "again");

    // Leaving: neither tab gets the channel's events.
    assert_eq!(member.reply("rooms.leave", json!(["lobby"])).await, true);
    assert_eq!(
        speaker.reply("rooms.say", json!(["lobby", "gone"])).await,
        true
    );
    member.expect_silence(Duration::from_millis(300)).await;
    second_tab.expect_silence(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn a_later_api_heartbeat_keeps_its_user_online() {
    let app = fixture_with(
        &[(
            "app/server/presence.coffee",
            "exports.actions =\n\
         \x20 forgetSeen: (cb) ->\n\
         \x20   R.keys 'ss:online:at:*', (err, keys) ->\n\
         \x20     if keys.length then R.del keys, -> cb(true) else cb(true)\n\
         \x20 purgeNow: (cb) -> SS.users.online.purge -> SS.users.online.now (ids) -> cb(ids)\n",
        )],
        json!({"socketstream_api": "0.1", "store": "embedded"}),
    );
    let server = Server::start_in(app, &[]);
    let mut tab = server.client().await;
    assert!(tab.login("secret").await);
    assert_eq!(tab.reply("presence.forgetSeen", json!(null)).await, true);
    // Unheard of since: a purge drops the user.
    assert_eq!(tab.reply("presence.purgeNow", json!(null)).await, json!([]));

    assert!(tab.login("secret").await);
    assert_eq!(tab.reply("presence.forgetSeen", json!(null)).await, true);
    tab.send_text(r#"{"type":"heartbeat"}"#).await;
    assert_eq!(
        tab.reply("presence.purgeNow", json!(null)).await,
        json!(["tom21"])
    );
}

#[tokio::test]
async fn a_0_2_app_publishes_to_one_socket() {
    let app = fixture_with(
        &[(
            "app/server/pokes.coffee",
            "exports.actions =\n\
         \x20 me: (cb) -> cb(@request.socket_id)\n\
         \x20 poke: (socketId, text, cb) ->\n\
         \x20   SS.publish.socket socketId, 'poked', text\n\
         \x20   cb(true)\n",
        )],
        json!({"socketstream_api": "0.2", "store": "embedded"}),
    );
    let server = Server::start_in(app, &[]);
    let mut target = server.client().await;
    let mut poker = server.client().await;
    let id = target.reply("pokes.me", json!([])).await;
    assert_eq!(poker.reply("pokes.poke", json!([id, "hey"])).await, true);
    let event = target.next_frame().await;
    assert_eq!(event["params"], "hey", "{event}");
    assert_eq!(event["destination"], id.to_string(), "{event}");
    poker.expect_silence(Duration::from_millis(300)).await;
}

/// 0.1's `config/http`: one `exports.call` middleware, before ssrt's routes.
const CALL_MIDDLEWARE: &str = r#"
exports.call = function (req, res, next) {
  if (req.url === '/hello?name=ann') {
    res.writeHead(200, {'Content-Type': 'text/plain', 'Set-Cookie': ['a=1', 'b=2']});
    return res.end('hello ' + req.headers['x-who'] + ' from ' + req.connection.remoteAddress);
  }
  if (req.url === '/never') return;
  next();
};
"#;

#[tokio::test]
async fn a_0_1_apps_exports_call_answers_first_and_passes_the_rest_on() {
    let app = fixture_with(
        &[("config/http.js", CALL_MIDDLEWARE)],
        json!({"store": "embedded", "hostname": "127.0.0.1", "action_timeout": 1}),
    );
    let server = Server::start_in(app, &[]);
    server.expect_in_banner("SocketStream 0.1 (exports.call in config/http.js)");
    // From a source address of its own, to see the middleware gets the real one.
    let http = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .expect("an HTTP client");
    let response = http
        .get(server.url("/hello?name=ann"))
        .header("x-who", "bob")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let cookies: Vec<_> = response.headers().get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
    assert_eq!(
        response.text().await.expect("body"),
        "hello bob from 127.0.0.2"
    );

    // Passed on: the page, the HTTP API.
    let page = reqwest::get(server.url("/")).await.expect("page");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("body").contains("Fixture"));
    let square = reqwest::get(server.url("/api/app/square.json?5"))
        .await
        .expect("API call");
    assert_eq!(square.text().await.expect("body"), "25");

    // A middleware that never answers is cut at action_timeout, naming the file.
    let stuck = reqwest::get(server.url("/never")).await.expect("request");
    assert_eq!(stuck.status(), 500);
    let body = stuck.text().await.expect("body");
    assert!(
        body.contains("config/http.js") && body.contains("action_timeout"),
        "{body}"
    );
}

#[tokio::test]
async fn browser_check_gives_browsers_without_websockets_the_incompatible_view() {
    let app = fixture_with(
        &[(
            "app/views/incompatible.jade",
            "p Please use a browser with WebSockets\n",
        )],
        json!({"store": "embedded", "browser_check": {"enabled": true}}),
    );
    let server = Server::start_in(app, &[]);
    let page_for = |user_agent: &'static str| {
        let url = server.url("/");
        async move {
            let client = reqwest::Client::new();
            let response = client
                .get(url)
                .header("user-agent", user_agent)
                .send()
                .await
                .expect("request");
            response.text().await.expect("body")
        }
    };
    let ie8 = page_for("Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0)").await;
    assert_eq!(ie8, "<p>Please use a browser with WebSockets</p>");
    let chrome = page_for(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
         Chrome/120.0.0.0 Safari/537.36",
    )
    .await;
    assert!(
        chrome.contains("<h1 class=\"title\">Fixture</h1>"),
        "{chrome}"
    );
    // Not strict: a browser the check does not know gets the page.
    assert!(page_for("curl/8.0").await.contains("Fixture"));
}
