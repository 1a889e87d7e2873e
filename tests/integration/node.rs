//! Node's platform in the app's engine: the `node` fixture's actions use
//! Buffer, crypto, zlib, streams, fs, child_process, os, dns, net, http(s) and
//! npm packages from the app's own node_modules (pg against a real
//! PostgreSQL, mysql against a real MariaDB, redis, request, mongodb…), and
//! call back with values checked exactly here: known digests and test vectors,
//! bodies echoed by the test's own web servers, rows read back with the
//! databases' own clients. Driver failures must reach the action's callback
//! and leave the server serving.

use crate::support::databases::{MariaDb, Postgres};
use crate::support::{PATIENCE, Redis, Server, copy_fixture, error_of, fixture, free_port};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;

/// A fresh copy of the `node` fixture, whose npm packages must be installed.
fn node_app() -> tempfile::TempDir {
    assert!(
        fixture("node")
            .join("node_modules/pg/package.json")
            .exists(),
        "fixtures/node/node_modules is missing: run scripts/setup.sh \
         (npm ci --prefix fixtures/node)"
    );
    copy_fixture("node")
}

fn start_in(app: tempfile::TempDir, env: &[(&'static str, String)]) -> Server {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Server::start_in(app, &env)
}

/// The `node` fixture with `env` (where its databases are).
fn start(env: &[(&'static str, String)]) -> Server {
    start_in(node_app(), env)
}

/// An action over the HTTP API (SPEC 5), which must answer 200 with JSON.
async fn api(server: &Server, path: &str) -> Value {
    let response = reqwest::get(server.url(path)).await.expect("request");
    assert_eq!(response.status(), 200, "{path}");
    let body = response.text().await.expect("body");
    serde_json::from_str(&body).unwrap_or_else(|_| panic!("{path} answered {body}"))
}

#[tokio::test]
async fn buffer_crypto_zlib_streams_and_dns_behave_as_in_node() {
    let server = start(&[]);
    let mut client = server.client().await;
    assert_eq!(
        client.reply("platform.buffer", json!(null)).await,
        json!({
            "base64": "aGVsbG8gd29ybGQ=", "fromBase64": "hello", "hex": "73737274",
            "fromHex": "€", "concat": "foobar", "slice": "stream", "legacy": 6,
            "binarySlice": "éA", "byteLength": 3, "uint32": 256, "isBuffer": [true, false]
        })
    );
    // FIPS 180 and RFC 1321 digests of "abc", RFC 4231-style HMAC, the
    // RFC 6070 and RFC 7914 PBKDF2 vectors, AES-128-CBC as OpenSSL computes it.
    assert_eq!(
        api(&server, "/api/platform/crypto.json").await,
        json!({
            "sha1": "a9993e364706816aba3e25717850c26c9cd0d89d",
            "md5": "900150983cd24fb0d6963f7d28e17f72",
            "sha256": "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=",
            "hmac": "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8",
            "randomBytes": 24,
            "pbkdf2Sync": "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b",
            "pbkdf2": "4b007901b765489abead49d926f721d065a429c1",
            "aes": "62a919264616cd000bc856423fded28a",
            "decrypted": "attack at dawn"
        })
    );
    let text = format!("realtime {}", "socket ".repeat(30));
    assert_eq!(
        client.reply("platform.zlib", json!(null)).await,
        json!({
            "magic": "1f8b", "smaller": true, "gunzipped": text, "inflated": text,
            "fromNode": "made by Node, read by ssrt"
        })
    );
    assert_eq!(
        client.reply("platform.pipeline", json!(null)).await,
        "SOCKETSTREAM ROCKS"
    );
    assert_eq!(
        client.reply("platform.promisify", json!(null)).await,
        json!({"value": 42, "slept": "slept", "rejected": "negative"})
    );
    assert_eq!(
        client.reply("platform.dns", json!(null)).await,
        json!({"address": "127.0.0.1", "family": 4})
    );
}

#[tokio::test]
async fn files_child_processes_and_os() {
    let server = start(&[]);
    let mut client = server.client().await;
    assert_eq!(
        client.reply("system.files", json!(null)).await,
        json!({
            "inTmpdir": true,
            "sync": "written synchronously",
            "copied": "line 1\nline 2\n",
            "promised": "via fs.promises",
            "listing": ["copy.txt", "promised.txt", "streamed.txt", "sync.txt"],
            "removed": true
        })
    );
    assert_eq!(
        client
            .reply("system.processes", json!("piped through cat"))
            .await,
        json!({"exec": "hi\n", "failedCode": 3, "spawned": "piped through cat", "exitCode": 0})
    );

    let os = client.reply("system.os", json!(null)).await;
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(os["hostname"], hostname.trim(), "{os}");
    assert_eq!(os["platform"], "linux", "{os}");
    assert_eq!(os["type"], "Linux", "{os}");
    assert!(os["cpus"].as_u64().is_some_and(|n| n > 0), "{os}");
    assert_eq!(os["eol"], "\n", "{os}");
    let tmp = std::env::temp_dir();
    assert_eq!(
        os["tmpdir"],
        tmp.to_str().unwrap().trim_end_matches('/'),
        "{os}"
    );
}

#[tokio::test]
async fn net_http_https_and_request_reach_the_tests_own_servers() {
    let web = serve(None);
    let secure = serve(Some(self_signed_tls()));
    let server = start(&[]);
    let mut client = server.client().await;

    let echo = client.reply("network.tcpEcho", json!("ping")).await;
    assert_eq!(echo["echoed"], "ping", "{echo}");
    assert!(echo["port"].as_u64().is_some_and(|p| p > 0), "{echo}");

    let hello = json!({"status": 200, "type": "text/plain", "header": "yes", "body": "hello from the test"});
    let url = format!("http://127.0.0.1:{web}/hello");
    assert_eq!(
        api(&server, &format!("/api/network/httpGet.json?url={url}")).await,
        hello
    );
    let missing = client
        .reply(
            "network.httpGet",
            json!({"url": format!("http://127.0.0.1:{web}/missing")}),
        )
        .await;
    assert_eq!(missing["status"], 404, "{missing}");
    assert_eq!(missing["body"], "not found", "{missing}");
    let echo_url = format!("http://127.0.0.1:{web}/echo");
    assert_eq!(
        client
            .reply(
                "network.httpPost",
                json!({"url": echo_url, "body": "posted ✓ from ssrt"})
            )
            .await,
        json!({"status": 200, "type": "text/plain", "header": "yes", "body": "posted ✓ from ssrt"})
    );

    // The certificate is self-signed: refused by default, accepted on request.
    let secure_url = format!("https://127.0.0.1:{secure}/hello");
    let refused = client
        .reply("network.httpsGet", json!({"url": secure_url}))
        .await;
    assert!(
        refused["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{refused}"
    );
    assert_eq!(refused["status"], Value::Null, "{refused}");
    assert_eq!(
        client
            .reply(
                "network.httpsGet",
                json!({"url": secure_url, "insecure": true})
            )
            .await,
        hello
    );

    assert_eq!(
        client
            .reply("network.requestGet", json!({"url": url}))
            .await,
        json!({"status": 200, "header": "yes", "body": "hello from the test"})
    );
    assert_eq!(
        client
            .reply(
                "network.requestJson",
                json!({"url": echo_url, "json": {"a": [1, 2], "name": "tom"}})
            )
            .await,
        json!({"status": 200, "type": "application/json", "body": {"a": [1, 2], "name": "tom"}})
    );
}

#[tokio::test]
async fn the_seed_readmes_geocode_example_runs_unchanged() {
    let web = serve(None);
    let app = node_app();
    crate::support::write_environment(app.path(), "test", json!({"custom": {"geocode_port": web}}));
    let server = start_in(app, &[]);
    let mut client = server.client().await;
    // What the browser's navigator.geolocation hands to `remote`.
    let position =
        json!({"coords": {"latitude": 51.5, "longitude": -0.12}, "timestamp": 1309793400000u64});
    assert_eq!(
        client.reply("geocode.lookup", position).await,
        json!({"formatted_address": "near 51.5,-0.12"})
    );
}

#[tokio::test]
async fn npm_packages_bcryptjs_uuid_moment_async_and_underscore() {
    let server = start(&[]);
    let mut client = server.client().await;
    assert_eq!(
        client.reply("packages.bcrypt", json!("s3cret")).await,
        json!({"prefix": "$2a$04$", "length": 60, "same": true, "wrong": false, "known": true})
    );

    let ids = client.reply("packages.uuid", json!(null)).await;
    let v4: Vec<&str> = ids["v4"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(v4.iter().all(|id| is_uuid_v4(id)), "{ids}");
    assert_ne!(v4[0], v4[1]);
    assert_eq!(ids["v5"], "3999b13b-c4da-5fb9-90ba-f4d65ea68dfa", "{ids}");
    assert_eq!(ids["version"], 4, "{ids}");

    assert_eq!(
        client.reply("packages.moment", json!(null)).await,
        json!({
            "formatted": "Monday, July 4th 2011, 3:30 pm", "nextMonth": "2011-08-04",
            "daysToXmas": 174, "unix": 1309793400, "parsed": "2011-07-04T00:00:00.000Z"
        })
    );
    assert_eq!(
        client.reply("packages.async", json!(null)).await,
        json!({"series": ["one", "two"], "parallel": {"a": 1, "b": 2}, "waterfall": 21, "stopped": "stop"})
    );
    assert_eq!(
        client.reply("packages.underscore", json!(null)).await,
        json!({
            "pluck": ["tom", "ann", "bob"], "sortBy": ["tom", "bob", "ann"],
            "groupBy": ["21:2", "34:1"], "uniq": [1, 2, 3], "template": "Hello Tom!",
            "chain": [20, 40]
        })
    );
    // A package whose main is CoffeeScript: Node's loader compiles it.
    assert_eq!(
        client.reply("packages.coffeePackage", json!(null)).await,
        json!({
            "greeting": "Hello from CoffeeScript, ssrt!", "compiledAs": "coffee",
            "legacy": ["function", true, "function"]
        })
    );
    // An ES-module-only package, required as Node 22 allows.
    assert_eq!(
        client.reply("packages.esmPackage", json!(null)).await,
        json!({"greeting": "Hello from an ES module, ssrt!", "default": "esm-greeter"})
    );
}

#[tokio::test]
async fn process_version_is_modern_unless_the_config_names_an_era() {
    let server = start(&[]);
    let mut client = server.client().await;
    let modern = client.reply("system.versions", json!(null)).await;
    let major = modern["version"].as_str().and_then(|v| v.strip_prefix('v'));
    let major: u32 = major
        .and_then(|v| v.split('.').next()?.parse().ok())
        .unwrap_or_else(|| panic!("{modern}"));
    assert!(major >= 20, "{modern}");

    let app = node_app();
    crate::support::write_environment(app.path(), "test", json!({"node_version": "v0.4.12"}));
    let server = start_in(app, &[]);
    let mut client = server.client().await;
    assert_eq!(
        client.reply("system.versions", json!(null)).await,
        json!({"version": "v0.4.12", "node": "0.4.12"})
    );

    let app = node_app();
    crate::support::write_environment(app.path(), "test", json!({"node_version": "0.4"}));
    let refused = crate::support::start_refused(app.path(), "test");
    assert!(refused.contains("node_version"), "{refused}");
}

/// `xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx` in lower-case hex.
fn is_uuid_v4(id: &str) -> bool {
    let bytes = id.as_bytes();
    id.len() == 36
        && id.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_digit() || ('a'..='f').contains(&c),
        })
        && bytes[14] == b'4'
        && b"89ab".contains(&bytes[19])
}

#[tokio::test]
async fn postgres_through_npm_pg() {
    let postgres = Postgres::start();
    let server = start(&postgres.env());
    let mut client = server.client().await;
    assert_eq!(api(&server, "/api/postgres/add.json?41").await, 42);
    assert_eq!(client.reply("postgres.add", json!(99)).await, 100);

    assert_eq!(
        client.reply("postgres.people", json!(null)).await,
        json!({"ids": [1, 2], "rows": [
            {"name": "Ann", "born": "1985-06-07"}, {"name": "Tom", "born": "1990-01-02"}
        ]})
    );
    assert_eq!(
        postgres.psql("SELECT string_agg(name, ',' ORDER BY id) FROM people"),
        "Tom,Ann"
    );
    assert_eq!(
        client.reply("postgres.types", json!(null)).await,
        json!({"bytes": "6869", "isBuffer": true, "doc": {"a": [1, 2]}, "x": 2.5, "yes": true, "nothing": null})
    );

    // Bad SQL is an error in the callback; the pool and the server carry on.
    assert_eq!(
        client.reply("postgres.bad", json!(null)).await,
        json!({"error": "syntax error at or near \"SELEKT\"", "code": "42601"})
    );
    assert_eq!(client.reply("postgres.add", json!(1)).await, 2);
}

#[tokio::test]
async fn mariadb_through_npm_mysql() {
    let mariadb = MariaDb::start();
    let server = start(&mariadb.env());
    let mut client = server.client().await;
    assert_eq!(api(&server, "/api/mariadb/add.json").await, 2);
    assert_eq!(
        client.reply("mariadb.people", json!(null)).await,
        json!({"insertId": 1, "rows": [
            {"id": 1, "name": "Tom"}, {"id": 2, "name": "Ann"}, {"id": 3, "name": "O'Brien"}
        ]})
    );
    assert_eq!(
        mariadb.query("SELECT GROUP_CONCAT(name ORDER BY id) FROM people"),
        "Tom,Ann,O'Brien"
    );

    let bad = client.reply("mariadb.bad", json!(null)).await;
    assert_eq!(bad["code"], "ER_PARSE_ERROR", "{bad}");
    let message = bad["error"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("ER_PARSE_ERROR: You have an error in your SQL syntax"),
        "{bad}"
    );
    assert!(message.contains("'SELEKT 1'"), "{bad}");
    assert_eq!(client.reply("mariadb.add", json!(null)).await, 2);
}

#[tokio::test]
async fn redis_through_npm_redis_with_callbacks_and_pubsub() {
    let redis = Redis::start();
    let server = start(&[("TEST_REDIS_PORT", redis.port.to_string())]);
    let mut client = server.client().await;
    assert_eq!(
        client.reply("redis.roundTrip", json!("stored ✓")).await,
        json!({"stored": "stored ✓", "hash": {"a": "1", "b": "two"}, "count": 1})
    );
    assert_eq!(redis.hgetall("fixture:hash"), "a\n1\nb\ntwo\n");
    assert_eq!(
        client.reply("redis.wrongType", json!(null)).await,
        json!({"error": "ERR value is not an integer or out of range"})
    );
    assert_eq!(
        client
            .reply("redis.pubsub", json!("hello subscribers"))
            .await,
        json!({"channel": "fixture:news", "message": "hello subscribers"})
    );
    let again = client.reply("redis.roundTrip", json!("again")).await;
    assert_eq!(again["count"], 2, "{again}");
}

#[tokio::test]
async fn the_mongodb_driver_loads_and_reports_an_unreachable_server() {
    let server = start(&[]);
    let mut client = server.client().await;
    assert_eq!(
        client.reply("mongo.bson", json!(null)).await,
        json!({
            "client": "function", "hex": "507f1f77bcf86cd799439011",
            "created": "2012-10-17T21:13:27.000Z", "bytes": "0c0000001061000100000000",
            "back": {"name": "tom", "n": 2}
        })
    );
    let unreachable = client.reply("mongo.unreachable", json!(free_port())).await;
    assert_eq!(
        unreachable["error"], "MongoServerSelectionError",
        "{unreachable}"
    );
    assert!(
        unreachable["message"]
            .as_str()
            .is_some_and(|m| m.contains("ECONNREFUSED")),
        "{unreachable}"
    );
}

#[tokio::test]
async fn failing_driver_calls_reach_the_callback_and_the_server_keeps_serving() {
    let closed = free_port();
    let mut server = start(&[]);
    let mut client = server.client().await;
    for method in ["postgres.refused", "mariadb.refused"] {
        let failed = client.reply(method, json!(closed)).await;
        assert_eq!(failed["code"], "ECONNREFUSED", "{method}: {failed}");
        assert!(
            failed["error"]
                .as_str()
                .is_some_and(|e| e.contains("ECONNREFUSED")),
            "{method}: {failed}"
        );
    }
    let url = format!("http://127.0.0.1:{closed}/");
    let failed = client.reply("network.httpGet", json!({"url": url})).await;
    assert_eq!(failed["code"], "ECONNREFUSED", "{failed}");

    // Without PGHOST config/db.coffee opened no pool: using it throws.
    let (code, message) = error_of(&client.call("postgres.add", json!(1)).await);
    assert_eq!(code, "application_error");
    // V8 says "PG is not defined", QuickJS "'PG' is not defined".
    assert!(
        message.contains("PG") && message.contains("is not defined"),
        "{message}"
    );

    assert_eq!(
        client.reply("platform.pipeline", json!(null)).await,
        "SOCKETSTREAM ROCKS"
    );
    assert_eq!(
        api(&server, "/api/packages/underscore.json").await["uniq"],
        json!([1, 2, 3])
    );
    assert!(server.is_running());
}

#[test]
fn the_console_requires_npm_packages_and_runs_http_servers() {
    let app = node_app();
    let script = "typeof require('pg').Pool\n\
        typeof MongoClient\n\
        (function () { var http = require('http'); \
          var server = http.createServer(function (req, res) { res.end('pong ' + req.method + ' ' + req.url) }); \
          server.listen(0, '127.0.0.1', function () { \
            http.get('http://127.0.0.1:' + server.address().port + '/ping', function (res) { \
              var body = ''; res.setEncoding('utf8'); \
              res.on('data', function (chunk) { body += chunk }); \
              res.on('end', function () { console.log(body); server.close() }) }) }) })()\n";
    let output = crate::support::console(app.path(), "test", &["--wait", "1000"], script);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(stdout, "'function'\n'function'\npong GET /ping\n");
}

// ---- the test's own web servers --------------------------------------------

/// Serves HTTP (or HTTPS with `tls`) on a free port of 127.0.0.1 until the
/// test process ends, a thread per connection; returns the port.
fn serve(tls: Option<Arc<rustls::ServerConfig>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let tls = tls.clone();
            std::thread::spawn(move || {
                let _ = tcp.set_read_timeout(Some(PATIENCE));
                match tls {
                    None => {
                        let _ = answer(tcp);
                    }
                    Some(config) => {
                        let Ok(connection) = rustls::ServerConnection::new(config) else {
                            return;
                        };
                        // A client that rejects the certificate fails the read.
                        if let Some(mut stream) = answer(rustls::StreamOwned::new(connection, tcp))
                        {
                            stream.conn.send_close_notify();
                            let _ = stream.flush();
                        }
                    }
                }
            });
        }
    });
    port
}

/// A self-signed certificate for localhost and 127.0.0.1, which no client
/// trusts unless told not to check.
fn self_signed_tls() -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    let made =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("a certificate");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![made.cert.der().clone()], key)
        .expect("a certificate rustls takes");
    Arc::new(config)
}

struct Request {
    method: String,
    target: String,
    content_type: String,
    body: Vec<u8>,
}

/// Answers one request and closes (`Connection: close`); every response
/// carries `X-Test: yes`. Returns the stream for a TLS close_notify.
fn answer<S: Read + Write>(stream: S) -> Option<S> {
    let mut reader = BufReader::new(stream);
    let request = read_request(&mut reader)?;
    let (status, content_type, body) = route(request);
    let mut stream = reader.into_inner();
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         X-Test: yes\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(&body).ok()?;
    stream.flush().ok()?;
    Some(stream)
}

/// `GET /hello`; `POST /echo` sends the body back with its content type; the
/// geocoding API the seed README calls answers with where it was asked about.
fn route(request: Request) -> (&'static str, String, Vec<u8>) {
    const GEOCODE: &str = "/maps/api/geocode/json?sensor=true&latlng=";
    if let Some(latlng) = request.target.strip_prefix(GEOCODE) {
        let reply =
            json!({"status": "OK", "results": [{"formatted_address": format!("near {latlng}")}]});
        return (
            "200 OK",
            "application/json".into(),
            reply.to_string().into_bytes(),
        );
    }
    match (request.method.as_str(), request.target.as_str()) {
        ("GET", "/hello") => (
            "200 OK",
            "text/plain".into(),
            b"hello from the test".to_vec(),
        ),
        ("POST", "/echo") => ("200 OK", request.content_type, request.body),
        _ => ("404 Not Found", "text/plain".into(), b"not found".to_vec()),
    }
}

fn read_request(reader: &mut impl BufRead) -> Option<Request> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let (mut length, mut chunked, mut content_type) = (0, false, String::new());
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.parse().ok()?,
            "content-type" => content_type = value.to_owned(),
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            _ => {}
        }
    }
    let body = if chunked {
        read_chunked(reader)?
    } else {
        let mut body = vec![0; length];
        reader.read_exact(&mut body).ok()?;
        body
    };
    Some(Request {
        method,
        target,
        content_type,
        body,
    })
}

/// A chunked body (Node sends one when a request has no Content-Length).
fn read_chunked(reader: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size).ok()?;
        let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
        let mut chunk = vec![0; size + 2]; // the chunk and its CRLF
        reader.read_exact(&mut chunk).ok()?;
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(&chunk[..size]);
    }
}
