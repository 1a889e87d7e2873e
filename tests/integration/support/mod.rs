//! Shared by the end-to-end tests: start the real `ssrt` binary on a copy of a
//! fixture app, and talk to it with real WebSocket and HTTP clients.

pub mod browser;
pub mod databases;
pub mod outage;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use std::time::Instant;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for any one frame or start-up before failing.
pub const PATIENCE: Duration = Duration::from_secs(10);
/// How long a test waits for the server's banner. Longer than `PATIENCE`: a
/// debug build loading Node's platform on two busy cores (the whole suite
/// runs in parallel) has taken over 10 s.
const START_PATIENCE: Duration = Duration::from_secs(40);

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// A fresh copy of a fixture app, so tests never share files or caches.
pub fn copy_fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(&fixture(name), dir.path());
    dir
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read fixture") {
        let entry = entry.expect("fixture entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy fixture file");
        }
    }
}

/// Reads with `read` until `done` accepts what it read, and returns that;
/// fails naming `what`, with the last value read, once `within` has passed.
/// The one poller of the async tests: for state that changes under a
/// watcher, a reconnect or another client, with no event to wait on.
pub async fn eventually<T: std::fmt::Debug>(
    within: Duration,
    what: &str,
    mut read: impl AsyncFnMut() -> T,
    done: impl Fn(&T) -> bool,
) -> T {
    let started = Instant::now();
    loop {
        let value = read().await;
        if done(&value) {
            return value;
        }
        assert!(
            started.elapsed() < within,
            "{what} did not happen within {within:?}; last read: {value:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A port nothing listens on right now, for a server to take (or, left
/// unused, for a connection that must be refused).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Writes the top-level keys of `settings` into the app's
/// `config/environments/<env>.json`, keeping the keys the file already has.
pub fn write_environment(app: &Path, env: &str, settings: Value) {
    let path = app.join(format!("config/environments/{env}.json"));
    let mut config: Value = std::fs::read_to_string(&path)
        .map(|text| serde_json::from_str(&text).expect("config file is JSON"))
        .unwrap_or_else(|_| json!({}));
    let Value::Object(settings) = settings else {
        panic!("settings must be a JSON object");
    };
    for (key, value) in settings {
        config[key] = value;
    }
    std::fs::create_dir_all(path.parent().expect("a config folder")).expect("config folder");
    std::fs::write(&path, config.to_string()).expect("write config file");
}

pub fn ssrt() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ssrt"))
}

/// `ssrt console` (with `args`) in `dir` under `SS_ENV=env`, `input` piped to
/// it as a script would; killed if it has not finished within 30 s, so an open
/// handle in the app cannot hang the suite.
pub fn console(dir: &Path, env: &str, args: &[&str], input: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = ssrt()
        .arg("console")
        .args(args)
        .current_dir(dir)
        .env("SS_ENV", env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ssrt console");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    let pid = child.id().to_string();
    let (done, finished) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if finished.recv_timeout(Duration::from_secs(30)).is_err() {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
        }
    });
    let output = child.wait_with_output().expect("console output");
    let _ = done.send(());
    output
}

/// Runs `ssrt start` in `dir` under `SS_ENV=env`, expecting it to refuse to
/// start; returns what it printed on stderr.
pub fn start_refused(dir: &Path, env: &str) -> String {
    let output = ssrt()
        .args(["start", "--port", "0"])
        .current_dir(dir)
        .env("SS_ENV", env)
        .output()
        .expect("run ssrt");
    assert!(
        !output.status.success(),
        "ssrt started, but should not have"
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A running `ssrt start`, killed when dropped.
pub struct Server {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    /// What ssrt printed up to and including the banner.
    pub banner: String,
    output: mpsc::Receiver<String>,
}

impl Server {
    /// Starts the `basic` fixture in the `test` environment.
    pub fn start() -> Self {
        Self::start_fixture("basic", &[])
    }

    pub fn start_fixture(name: &str, env: &[(&str, &str)]) -> Self {
        let dir = copy_fixture(name);
        Self::start_in(dir, env)
    }

    pub fn start_in(dir: tempfile::TempDir, env: &[(&str, &str)]) -> Self {
        Self::start_on(dir, env, 0)
    }

    /// Stops this server and starts another in the same app folder, on the
    /// same port, as a deploy or a crash-and-restart would.
    pub fn restart(mut self, env: &[(&str, &str)]) -> Self {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let port = self.port;
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"));
        Self::start_on(dir, env, port)
    }

    /// Stops the server; the app folder stays until the value is dropped.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn start_on(dir: tempfile::TempDir, env: &[(&str, &str)], port: u16) -> Self {
        let mut command = ssrt();
        command
            .args(["start", "--port", &port.to_string()])
            .current_dir(dir.path())
            .env("SS_ENV", "test")
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("spawn ssrt");
        let (tx, output) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let mut seen = Vec::new();
        let port = loop {
            let line = output.recv_timeout(START_PATIENCE).unwrap_or_else(|_| {
                panic!("ssrt did not start; output so far:\n{}", seen.join("\n"))
            });
            if let Some(port) = line
                .split("listening    http")
                .nth(1)
                .and_then(|rest| rest.split("://").nth(1))
                .and_then(|rest| rest.split([':', ' ']).nth(1))
                .and_then(|port| port.parse().ok())
            {
                seen.push(line);
                break port;
            }
            seen.push(line);
        };
        Server {
            child,
            port,
            dir,
            banner: seen.join("\n"),
            output,
        }
    }

    /// Fails the test, showing the banner, unless it contains `text`.
    pub fn expect_in_banner(&self, text: &str) {
        assert!(
            self.banner.contains(text),
            "the banner lacks {text:?}:\n{}",
            self.banner
        );
    }

    pub fn url(&self, path: &str) -> String {
        let scheme = if self.banner.contains("listening    https://") {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://127.0.0.1:{}{path}", self.port)
    }

    /// Everything the server printed since the last call.
    pub fn output(&self) -> String {
        self.output.try_iter().collect::<Vec<_>>().join("\n")
    }

    /// Stops the server; everything it printed that was not read yet, to
    /// the end of its output.
    pub fn output_to_the_end(&mut self) -> String {
        self.kill();
        let mut lines = Vec::new();
        // Ends when both readers have seen the end of their pipe.
        while let Ok(line) = self.output.recv_timeout(PATIENCE) {
            lines.push(line);
        }
        lines.join("\n")
    }

    /// What the server prints from now until a line contains `needle`;
    /// fails with what it printed if none does within `PATIENCE`.
    pub fn wait_for_output(&self, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Ok(line) = self.output.recv_timeout(left) else {
                break;
            };
            let found = line.contains(needle);
            seen.push(line);
            if found {
                return seen.join("\n");
            }
        }
        panic!(
            "the server never printed {needle:?}; it printed:\n{}",
            seen.join("\n")
        );
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends a signal (`TERM`, `INT`, `STOP`…) to the server process.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// The server's exit status, if it exits within `wait`.
    pub fn exit_within(&mut self, wait: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + wait;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's resident memory, in MiB.
    pub fn rss_mib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the server is running");
        let kib: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/<pid>/status");
        kib / 1024
    }

    pub async fn client(&self) -> Client {
        Client::connect(self.port, None).await
    }

    /// Trades a `rotateSession` token for the new cookie, as the page does:
    /// the session id it sets, or `None` when the server refuses.
    pub async fn exchange(&self, token: &str) -> Option<String> {
        let response = reqwest::Client::new()
            .post(self.url("/_ssrt/session"))
            .header("X-Ssrt-Session-Token", token)
            .send()
            .await
            .expect("the exchange answers");
        let cookie = response.headers().get("set-cookie")?.to_str().ok()?;
        assert!(cookie.contains("; HttpOnly"), "{cookie}");
        let id = cookie.split(';').next()?.strip_prefix("session_id=")?;
        Some(id.to_owned())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A WebSocket client speaking SPEC 3, as a browser tab would.
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The system frames received before `ready`.
    pub hello: Vec<Value>,
    /// Tokens for the session's new cookie, from `rotateSession` frames.
    pub rotations: Vec<String>,
    next_cb: u64,
}

impl Client {
    pub async fn connect(port: u16, session_cookie: Option<&str>) -> Self {
        Self::connect_or_error(port, session_cookie)
            .await
            .unwrap_or_else(|frame| panic!("the connection was refused: {frame}"))
    }

    /// Reads until the server closes the connection: its close code and
    /// reason, or `None` when the connection ended without a close frame.
    /// Frames before it are skipped.
    pub async fn closed(&mut self) -> Option<(u16, String)> {
        loop {
            match tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("the connection closes in time")
            {
                Some(Ok(Message::Close(frame))) => {
                    return frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// Tries only the handshake, as a page at `origin` would: the HTTP
    /// status of a refusal, or 101.
    pub async fn handshake_status(port: u16, origin: &str) -> u16 {
        let mut request = format!("ws://127.0.0.1:{port}/ws")
            .into_client_request()
            .expect("request");
        request
            .headers_mut()
            .insert("Origin", origin.parse().expect("header"));
        match tokio_tungstenite::connect_async(request).await {
            Ok((_, response)) => response.status().as_u16(),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                response.status().as_u16()
            }
            Err(e) => panic!("handshake failed: {e}"),
        }
    }

    /// The session id the server gave this client (`setSession`), if new.
    pub fn new_session_id(&self) -> Option<String> {
        self.hello
            .iter()
            .find(|f| f["method"] == "setSession")
            .and_then(|f| f["params"].as_str())
            .map(str::to_owned)
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(Message::Text(text.into()))
            .await
            .expect("send");
    }

    pub async fn send_binary(&mut self, bytes: &[u8]) {
        self.ws
            .send(Message::Binary(bytes.to_vec().into()))
            .await
            .expect("send");
    }

    /// The next text frame, as JSON. Session-cookie tokens
    /// (`rotateSession`) are kept in `rotations`, as a browser would act on
    /// them, not returned.
    pub async fn next_frame(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("a frame in time")
                .expect("the socket is open")
                .expect("a frame");
            if let Message::Text(text) = message {
                let frame = serde_json::from_str(&text).expect("frames are JSON");
                if let Some(frame) = self.unless_rotation(frame) {
                    return frame;
                }
            }
        }
    }

    /// The next text frame if one arrives within `wait`.
    pub async fn try_next_frame(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => {
                    let frame = serde_json::from_str(&text).ok()?;
                    if let Some(frame) = self.unless_rotation(frame) {
                        return Some(frame);
                    }
                }
                _ => return None,
            }
        }
    }

    fn unless_rotation(&mut self, frame: Value) -> Option<Value> {
        if frame["type"] == "system" && frame["method"] == "rotateSession" {
            let token = frame["params"].as_str().expect("a token");
            self.rotations.push(token.to_owned());
            return None;
        }
        Some(frame)
    }

    /// Fails if any frame arrives within `quiet`: for "nobody else got it" checks.
    pub async fn expect_silence(&mut self, quiet: Duration) {
        if let Some(frame) = self.try_next_frame(quiet).await {
            panic!("expected no frame, got {frame}");
        }
    }

    /// Sends a call and returns its cb_id.
    pub async fn send_call(&mut self, method: &str, params: Value) -> String {
        let cb_id = self.next_cb.to_string();
        self.next_cb += 1;
        let frame = json!({"type": "server", "method": method, "params": params, "options": null, "cb_id": cb_id});
        self.send_text(&frame.to_string()).await;
        cb_id
    }

    /// Calls a method and returns the next frame: the reply or an error.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        self.send_call(method, params).await;
        self.next_frame().await
    }

    /// Logs in as the fixture's user `tom` (`auth.login`); the reply says
    /// whether the password was right.
    pub async fn login(&mut self, password: &str) -> bool {
        let reply = self
            .reply(
                "auth.login",
                json!({"username": "tom", "password": password}),
            )
            .await;
        reply == true
    }

    /// Calls a method and returns the reply's params, failing on anything else.
    pub async fn reply(&mut self, method: &str, params: Value) -> Value {
        let cb_id = self.send_call(method, params).await;
        let frame = self.next_frame().await;
        assert_eq!(frame["type"], "server", "expected a reply, got {frame}");
        assert_eq!(frame["cb_id"], cb_id.as_str());
        frame["params"].clone()
    }
}

/// The `[code, message]` of a system error frame; fails on anything else.
pub fn error_of(frame: &Value) -> (String, String) {
    assert_eq!(frame["type"], "system", "expected an error, got {frame}");
    assert_eq!(frame["method"], "error", "expected an error, got {frame}");
    (
        frame["params"][0].as_str().unwrap_or_default().to_owned(),
        frame["params"][1].as_str().unwrap_or_default().to_owned(),
    )
}

/// A `redis-server` of our own on a free port, killed when dropped.
pub struct Redis {
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
    /// Arguments besides the port and persistence (`--replicaof` …).
    extra: Vec<String>,
}

impl Redis {
    pub fn start() -> Self {
        Self::start_with(Vec::new())
    }

    /// A replica of `master` (`--replicaof`), once it has synced with it.
    pub fn start_replica_of(master: &Redis) -> Self {
        let replicaof = ["--replicaof", "127.0.0.1", &master.port.to_string()];
        let replica = Self::start_with(replicaof.map(str::to_owned).to_vec());
        let started = Instant::now();
        while !replica
            .cli(&["INFO", "replication"])
            .contains("master_link_status:up")
        {
            assert!(started.elapsed() < PATIENCE, "the replica did not sync");
            std::thread::sleep(Duration::from_millis(20));
        }
        replica
    }

    fn start_with(extra: Vec<String>) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = tempfile::tempdir().expect("temp dir");
        let child = Self::spawn(port, dir.path(), &extra);
        Redis {
            port,
            child,
            dir,
            extra,
        }
    }

    fn spawn(port: u16, dir: &Path, extra: &[String]) -> Child {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(extra)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (scripts/setup.sh installs it)");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < PATIENCE, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        child
    }

    /// Stops the server, as a crash would.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.child = Self::spawn(self.port, self.dir.path(), &self.extra);
    }

    /// An ssrt instance of the fixture app whose config points at this Redis.
    pub fn ssrt(&self) -> Server {
        self.ssrt_with(&[])
    }

    /// Like [`Redis::ssrt`], with extra `(path, contents)` files written into
    /// the copy of the fixture first (say, a server file of test actions).
    pub fn ssrt_with(&self, files: &[(&str, &str)]) -> Server {
        let app = copy_fixture("basic");
        for (path, contents) in files {
            let path = app.path().join(path);
            std::fs::create_dir_all(path.parent().expect("a folder")).expect("create folder");
            std::fs::write(path, contents).expect("write fixture file");
        }
        let config = json!({
            "hostname": "127.0.0.1",
            "log": {"level": 1},
            "redis": {"port": self.port}
        });
        std::fs::write(
            app.path().join("config/environments/shared.json"),
            config.to_string(),
        )
        .expect("write config");
        Server::start_in(app, &[("SS_ENV", "shared")])
    }

    /// Stalls the server (SIGSTOP): connections stay open and new ones are
    /// accepted by the kernel, but nothing is answered until [`Redis::resume`].
    pub fn pause(&self) {
        self.signal("STOP");
    }

    /// Lets a paused server carry on (SIGCONT), with everything it held.
    pub fn resume(&self) {
        self.signal("CONT");
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} redis-server failed");
    }

    pub fn hgetall(&self, key: &str) -> String {
        self.cli(&["HGETALL", key])
    }

    /// What `redis-cli` prints for one command.
    pub fn cli(&self, command: &[&str]) -> String {
        redis_cli(self.port, command)
    }
}

/// What `redis-cli` prints for one command to the server on `port`.
fn redis_cli(port: u16, command: &[&str]) -> String {
    let output = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(command)
        .output()
        .expect("redis-cli");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Client {
    /// Connects as [`Client::connect`] does, but a system error frame before
    /// `ready` (`session_unavailable` when the session store cannot be
    /// reached) is returned instead of failing the test.
    pub async fn connect_or_error(port: u16, session_cookie: Option<&str>) -> Result<Self, Value> {
        let mut request = format!("ws://127.0.0.1:{port}/ws")
            .into_client_request()
            .expect("request");
        if let Some(id) = session_cookie {
            request.headers_mut().insert(
                "Cookie",
                format!("other=1; session_id={id}").parse().expect("header"),
            );
        }
        let (ws, _) = tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(request))
            .await
            .expect("connect in time")
            .expect("connect");
        let mut client = Client {
            ws,
            hello: Vec::new(),
            rotations: Vec::new(),
            next_cb: 1,
        };
        loop {
            let frame = client.next_frame().await;
            if frame["type"] == "system" && frame["method"] == "error" {
                return Err(frame);
            }
            let ready = frame["method"] == "ready";
            client.hello.push(frame);
            if ready {
                return Ok(client);
            }
        }
    }
}

/// A Redis Sentinel of our own (`redis-server --sentinel`) on a free port,
/// watching one master as [`Sentinel::MASTER_NAME`] with quorum 1, quick to
/// fail it over: down after 500 ms without an answer, a failover timeout of
/// 2 s. Killed when dropped.
pub struct Sentinel {
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Sentinel {
    pub const MASTER_NAME: &str = "mymaster";

    /// Starts watching `master`; returns once the sentinel knows each of
    /// `replicas` (found through the master's `INFO`), so that it can
    /// promote one.
    pub fn start(master: &Redis, replicas: &[&Redis]) -> Self {
        let port = free_port();
        let dir = tempfile::tempdir().expect("temp dir");
        let name = Self::MASTER_NAME;
        // Sentinel rewrites its config file, so it lives in a folder of its own.
        let config = format!(
            "port {port}\nbind 127.0.0.1\n\
             sentinel monitor {name} 127.0.0.1 {} 1\n\
             sentinel down-after-milliseconds {name} 500\n\
             sentinel failover-timeout {name} 2000\n",
            master.port
        );
        let path = dir.path().join("sentinel.conf");
        std::fs::write(&path, config).expect("write sentinel.conf");
        let child = Command::new("redis-server")
            .arg(&path)
            .arg("--sentinel")
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (scripts/setup.sh installs it)");
        let sentinel = Sentinel {
            port,
            child,
            _dir: dir,
        };
        let started = Instant::now();
        loop {
            let known = sentinel.cli(&["SENTINEL", "replicas", name]);
            if replicas
                .iter()
                .all(|replica| known.contains(&format!("127.0.0.1:{}", replica.port)))
                && sentinel.master_port() == Some(master.port)
            {
                return sentinel;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "the sentinel did not find the master and its replicas: {known}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `127.0.0.1:<port>`, as `redis.sentinels` lists it.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The port of the master the sentinel names now.
    pub fn master_port(&self) -> Option<u16> {
        self.cli(&["SENTINEL", "get-master-addr-by-name", Self::MASTER_NAME])
            .lines()
            .nth(1)?
            .trim()
            .parse()
            .ok()
    }

    /// What `redis-cli` prints for one command to the sentinel.
    pub fn cli(&self, command: &[&str]) -> String {
        redis_cli(self.port, command)
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
