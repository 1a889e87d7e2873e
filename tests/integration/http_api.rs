//! SPEC 5: every action over HTTP, with Basic Auth for secured files; plus
//! static files from public/.

use crate::support::Server;

async fn get(url: &str) -> reqwest::Response {
    reqwest::get(url).await.expect("request")
}

#[tokio::test]
async fn actions_answer_as_json_or_html() {
    let server = Server::start();
    let json = get(&server.url("/api/app/square.json?25")).await;
    assert_eq!(json.status(), 200);
    assert_eq!(json.headers()["content-type"], "application/json");
    assert_eq!(json.text().await.unwrap(), "625");

    let html = get(&server.url("/api/app/square?25")).await;
    assert!(
        html.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(html.text().await.unwrap(), "625");
    let explicit = get(&server.url("/api/app/square.html?5")).await;
    assert_eq!(explicit.text().await.unwrap(), "25");
}

#[tokio::test]
async fn query_strings_become_params() {
    let server = Server::start();
    let text = |url: String| async move { get(&url).await.text().await.unwrap() };
    assert_eq!(text(server.url("/api/app/echo.json?25")).await, r#""25""#);
    let object: serde_json::Value =
        serde_json::from_str(&text(server.url("/api/app/echo.json?name=Tom&age=21")).await)
            .unwrap();
    assert_eq!(object, serde_json::json!({"name": "Tom", "age": "21"}));
    assert_eq!(
        text(server.url("/api/app/init.json")).await,
        r#""Hello from test""#
    );
    assert_eq!(
        text(server.url("/api/app/nested/deeper.json")).await,
        r#""ok""#
    );
    assert_eq!(
        text(server.url("/api/users/online/double.json?x")).await,
        "null"
    );
}

#[tokio::test]
async fn errors_are_400_pages() {
    let server = Server::start();
    for (path, needle) in [
        ("/api/app/boom.json", "kaboom"),
        ("/api/app/square.json", "expects params but none were sent"),
        (
            "/api/nope/square.json",
            "Unable to find the /app/server/nope module",
        ),
        ("/api/app/Square.json?1", "Action names are case sensitive"),
    ] {
        let response = get(&server.url(path)).await;
        assert_eq!(response.status(), 400, "{path}");
        let body = response.text().await.unwrap();
        assert!(
            body.starts_with("<h3>SocketStream API Error</h3>"),
            "{body}"
        );
        assert!(body.contains(needle), "{path}: {body}");
    }
}

#[tokio::test]
async fn secured_files_ask_for_basic_auth_and_check_it_with_the_configured_module() {
    let server = Server::start();
    let url = server.url("/api/secure/secret.json");
    let anonymous = get(&url).await;
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.headers()["www-authenticate"],
        r#"Basic realm="Fixture API""#
    );

    let client = reqwest::Client::new();
    let good = client
        .get(&url)
        .basic_auth("tom", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(good.status(), 200);
    assert_eq!(good.text().await.unwrap(), r#""user tom21""#);

    let bad = client
        .get(&url)
        .basic_auth("tom", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(
        bad.text()
            .await
            .unwrap()
            .contains("Invalid username or password")
    );
}

#[tokio::test]
async fn the_api_index_lists_public_actions() {
    let server = Server::start();
    let index = get(&server.url("/api")).await.text().await.unwrap();
    assert!(index.contains("/api/app/square.json"), "{index}");
    assert!(index.contains("/api/users/online/double.json"), "{index}");
    assert!(index.contains("/api/app/nested/deeper.json"), "{index}");
    assert!(index.contains("requires Basic Auth"), "{index}");
    let file = get(&server.url("/api/users/online"))
        .await
        .text()
        .await
        .unwrap();
    assert!(file.contains("/api/users/online/double.json"), "{file}");
    assert!(!file.contains(r#"href="/api/app/square.json""#), "{file}");
}

#[tokio::test]
async fn public_files_are_served_and_nothing_outside_them() {
    let server = Server::start();
    let robots = get(&server.url("/robots.txt")).await;
    assert_eq!(robots.status(), 200);
    assert_eq!(robots.text().await.unwrap(), "static file\n");
    // Sent as raw request lines: an HTTP client's URL parser would turn
    // `/../config` into `/config` before sending it.
    for path in [
        "/../config/app.json",
        "/public/../config/app.json",
        "/%2e%2e/config/app.json",
        "/..%2fconfig%2fapp.json",
        "/nothing.txt",
    ] {
        let (status, body) = raw_get(server.port, path).await;
        assert_eq!(status, 404, "{path}: {body}");
    }
}

/// `GET path` written as it is on a new connection: the status and the body.
async fn raw_get(port: u16, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response}"));
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    (status, body.to_owned())
}
