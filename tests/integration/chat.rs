//! Chat apps as apps of the later SocketStream API were written, one per
//! generation. `fixtures/chat-0.2`: Connect 1.x middleware from its own
//! node_modules in `config/http.coffee`, config in code, `events.coffee`,
//! channels, multi-argument actions, shared code, nested templates with a
//! Jade `include`, and a file only CoffeeScript 1.1 compiles.
//! `fixtures/chat-0.1`: `config/app.json`, `exports.call`, one-params
//! actions, 0.1's synchronous `channel.list()`, client code in JavaScript.
//! Over HTTP, and in two headless Chromium browsers for two users, against
//! a real Redis.

use crate::support::browser::Browser;
use crate::support::{Redis, Server, copy_fixture, fixture};
use fantoccini::Locator;
use serde_json::{Value, json};

/// The `chat-<generation>` fixture on `redis`, which its `test` environment
/// names the way that generation reads config: in code for 0.2, JSON for 0.1.
fn chat_app(generation: &str, redis: &Redis) -> Server {
    let name = format!("chat-{generation}");
    let app = copy_fixture(&name);
    let environments = app.path().join("config/environments");
    std::fs::create_dir_all(&environments).expect("config/environments");
    let (file, text) = if generation == "0.2" {
        assert!(
            fixture(&name)
                .join("node_modules/connect/package.json")
                .exists(),
            "fixtures/{name}/node_modules is missing: run scripts/setup.sh \
             (npm ci --prefix fixtures/{name})"
        );
        let code = format!(
            "exports.config =\n  http:\n    hostname: '127.0.0.1'\n  redis:\n    port: {}\n",
            redis.port
        );
        ("test.coffee", code)
    } else {
        let json = json!({"hostname": "127.0.0.1", "redis": {"port": redis.port}});
        ("test.json", json.to_string())
    };
    std::fs::write(environments.join(file), text).expect("write the test environment");
    Server::start_in(app, &[])
}

async fn get(server: &Server, path: &str) -> (u16, String) {
    let response = reqwest::get(server.url(path)).await.expect("request");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

async fn json_of(response: reqwest::Response) -> Value {
    let body = response.text().await.expect("body");
    serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON: {body}"))
}

#[tokio::test]
async fn connect_middleware_answers_before_and_after_ssrts_routes() {
    let redis = Redis::start();
    let server = chat_app("0.2", &redis);
    server.expect_in_banner("SocketStream 0.2");
    server.expect_in_banner("config/http: 7 middleware before ssrt's routes, 1 after");
    let http = reqwest::Client::new();

    // connect.bodyParser and connect.router: a form and a JSON body.
    let response = http
        .post(server.url("/hooks/echo"))
        .form(&[("a", "1"), ("b", "two")])
        .send()
        .await
        .expect("post a form");
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["x-hook"], "echo");
    assert_eq!(
        json_of(response).await,
        json!({"received": {"a": "1", "b": "two"}})
    );
    let response = http
        .post(server.url("/hooks/echo"))
        .header("content-type", "application/json")
        .body(json!({"nested": {"list": [1, 2]}}).to_string())
        .send()
        .await
        .expect("post JSON");
    assert_eq!(
        json_of(response).await,
        json!({"received": {"nested": {"list": [1, 2]}}})
    );

    // An endpoint of the app's own, reading SS and its config.
    let (status, body) = get(&server, "/stats.json").await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("JSON"),
        json!({"online": 0, "motd": "Welcome to the 0.2 chat"})
    );

    // connect.session: its cookie comes back and its store keeps count.
    let first = http
        .get(server.url("/visits"))
        .send()
        .await
        .expect("get /visits");
    let cookie = first.headers()["set-cookie"]
        .to_str()
        .expect("a text cookie")
        .split(';')
        .next()
        .expect("name=value")
        .to_owned();
    assert!(cookie.starts_with("chat.sid="), "{cookie}");
    assert_eq!(first.text().await.expect("body"), "visits: 1");
    let second = http
        .get(server.url("/visits"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("get /visits again");
    assert_eq!(second.text().await.expect("body"), "visits: 2");

    // An error nothing handles is a 500 naming it; the server goes on.
    let (status, body) = get(&server, "/broken").await;
    assert_eq!(status, 500);
    assert!(body.contains("the middleware broke"), "{body}");

    // ssrt's own routes, for what the middleware passes on.
    let (status, page) = get(&server, "/").await;
    assert_eq!(status, 200);
    assert!(page.contains("<title>Chat 0.2</title>"), "{page}");
    let (status, robots) = get(&server, "/robots.txt").await;
    assert_eq!((status, robots.trim()), (200, "User-agent: *"));
    let (status, reply) = get(&server, "/api/chat/online.json").await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&reply).expect("JSON"),
        json!({"result": []})
    );

    // The secondary middleware, for what nothing else serves.
    let (status, body) = get(&server, "/nothing/here.txt").await;
    assert_eq!(
        (status, body.as_str()),
        (404, "chat: nothing at /nothing/here.txt")
    );
}

/// A browser on the chat page, connected.
async fn open_chat(server: &Server) -> Browser {
    let browser = Browser::launch().await;
    browser.open(&server.url("/")).await;
    browser.wait_for_text("status", "connected").await;
    browser
}

/// What the list with this id shows, one line per item.
fn lines_of(id: &str) -> String {
    format!(
        "return Array.from(document.querySelectorAll('#{id} li')).map(li => li.textContent).join('\\n')"
    )
}

/// Two users chat in two browsers: a message typed in one shows in both,
/// users online counts both, and a channel event reaches its subscribers
/// only. `say(room, text)` is the page's call for a channel message, which
/// differs by generation. Returns alice's and bob's browsers.
async fn two_users_chat(server: &Server, say: fn(&str, &str) -> String) -> (Browser, Browser) {
    let alice = open_chat(server).await;
    let bob = open_chat(server).await;
    // client.* config and shared code reach the page; SS.client.app.init ran.
    alice.wait_for_text("motd", "server: lobby").await;

    alice.run("SS.client.app.login('alice')").await;
    bob.run("SS.client.app.login('bob')").await;
    alice.wait_for_text("user", "alice").await;
    bob.wait_for_text("user", "bob").await;

    // Typed in one browser, shown in both.
    alice
        .client
        .find(Locator::Id("text"))
        .await
        .expect("the message box")
        .send_keys("hello from alice\u{E007}")
        .await
        .expect("type a message");
    bob.wait_for(&lines_of("messages"), json!("alice: hello from alice"))
        .await;
    alice
        .wait_for(&lines_of("messages"), json!("alice: hello from alice"))
        .await;

    // Users online counts both.
    bob.run("SS.client.app.showOnline()").await;
    bob.wait_for_text("online", "alice,bob").await;

    // A channel event reaches its subscribers only: each hears its own
    // room, and the second event shows the first did not go astray.
    alice
        .run("SS.server.chat.join('rust', function () { window.joined = true; })")
        .await;
    bob.run("SS.server.chat.join('js', function () { window.joined = true; })")
        .await;
    alice.wait_for("return window.joined", json!(true)).await;
    bob.wait_for("return window.joined", json!(true)).await;
    alice.run(&say("rust", "ownership")).await;
    alice
        .wait_for(&lines_of("room"), json!("rust> alice: ownership"))
        .await;
    bob.run(&say("js", "closures")).await;
    bob.wait_for(&lines_of("room"), json!("js> bob: closures"))
        .await;
    alice.run(&say("js", "hi")).await;
    bob.wait_for(&lines_of("room"), json!("js> bob: closures\njs> alice: hi"))
        .await;
    assert_eq!(
        alice.run(&lines_of("room")).await,
        json!("rust> alice: ownership")
    );
    (alice, bob)
}

#[tokio::test]
async fn two_users_chat_in_the_0_2_app() {
    let redis = Redis::start();
    let server = chat_app("0.2", &redis);
    let (alice, bob) = two_users_chat(&server, |room, text| {
        format!("SS.server.chat.say('{room}', '{text}')")
    })
    .await;

    // events.coffee saw both clients arrive.
    bob.run("SS.server.chat.stats(function (seen) { window.seen = seen; })")
        .await;
    bob.wait_for("return window.seen && window.seen.inits", json!(2))
        .await;

    // A nested view is a 0.2 template, Jade `include` works in it, and a
    // CoffeeScript 1.1 file serves.
    assert_eq!(
        bob.run("return document.getElementById('chat-message').type")
            .await,
        json!("text/x-jquery-tmpl")
    );
    assert_eq!(
        bob.run("return document.getElementById('chat-help').innerHTML")
            .await,
        json!("<div class=\"help\"><p>Press Enter to send</p></div>")
    );
    bob.run("SS.server.legacy.era(function (era) { window.era = era; })")
        .await;
    bob.wait_for("return window.era", json!("CoffeeScript 1.1"))
        .await;
    alice.close().await;
    bob.close().await;
}

#[tokio::test]
async fn two_users_chat_in_the_0_1_app() {
    let redis = Redis::start();
    let server = chat_app("0.1", &redis);
    server.expect_in_banner("SocketStream 0.1 (exports.call in config/http.coffee)");
    // 0.1 sends one params value: the room and the text in an object.
    let (alice, bob) = two_users_chat(&server, |room, text| {
        format!("SS.server.chat.say({{room: '{room}', text: '{text}'}})")
    })
    .await;

    // 0.1's channel.list() answers at once.
    bob.run("SS.server.chat.join('go', function (rooms) { window.rooms = rooms; })")
        .await;
    bob.wait_for("return window.rooms", json!(["js", "go"]))
        .await;
    // Templates are text/html before 0.2.
    assert_eq!(
        bob.run("return document.getElementById('chat-message').type")
            .await,
        json!("text/html")
    );

    // exports.call answers first; the HTTP API answers in 0.1's format.
    let (status, body) = get(&server, "/stats.json").await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("JSON"),
        json!({"online": 2, "motd": "Welcome to the 0.1 chat"})
    );
    let (status, body) = get(&server, "/api/chat/online.json").await;
    assert_eq!((status, body.as_str()), (200, r#"["alice","bob"]"#));
    alice.close().await;
    bob.close().await;
}
