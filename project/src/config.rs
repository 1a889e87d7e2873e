//! Configuration (SPEC 7): defaults, then the `SS_ENV` preset, then
//! `config/app.json`, then `config/environments/<env>.json`, deep-merged.
//!
//! The merged JSON is kept whole, because apps read any key they like from
//! `$SS.config`; [`Settings`] is the typed view of the keys ssrt itself uses.

mod check;
#[cfg(test)]
mod fuzz;
mod keys;

pub use keys::ConfigWarning;

use serde::Deserialize;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}:{line}:{column}: invalid JSON in config file: {message}")]
    InvalidJson {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: a config file must hold a JSON object")]
    NotAnObject { path: PathBuf },
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A key ssrt uses holds a value it cannot use.
    #[error("{}: {key}: {message}", origin(.file.as_deref()))]
    InvalidSetting {
        /// The config file (relative to the project) that set the value last;
        /// `None` when only the defaults or the `SS_ENV` preset did.
        file: Option<PathBuf>,
        /// Dotted key path, e.g. `redis.port` or `websocket.allowed_origins[0]`.
        key: String,
        /// What was expected and what was found.
        message: String,
    },
}

/// Where an invalid value came from, as an error message starts.
fn origin(file: Option<&Path>) -> String {
    match file {
        Some(file) => file.display().to_string(),
        None => "ssrt's defaults".to_owned(),
    }
}

/// The merged configuration of one app in one environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `SS_ENV`, e.g. `development`.
    pub env: String,
    /// Everything, as `$SS.config` shows it.
    pub value: Value,
    /// The keys ssrt reads, typed.
    pub settings: Settings,
    /// Whether the app's own config files set `redis`: then it wants Redis.
    pub redis_in_files: bool,
    /// Likely mistakes that do not stop the app (misspelt keys), for the
    /// command line to print at start-up.
    pub warnings: Vec<ConfigWarning>,
    /// The SocketStream API the app was written against, and what told it.
    pub generation: crate::Detected,
}

/// The configuration keys that ssrt itself acts on.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub port: u16,
    pub hostname: String,
    pub enable_color: bool,
    pub pack_assets: bool,
    pub throw_errors: bool,
    pub log: LogSettings,
    pub ssl: SslSettings,
    pub redis: RedisSettings,
    pub api: ApiSettings,
    /// **(ssrt)** seconds an action may take before its caller gets an error.
    pub action_timeout: f64,
    /// **(ssrt)** seconds loading the app (its files, `config/db` and their
    /// npm packages) may take before the start-up stops with an error.
    pub load_timeout: f64,
    /// **(ssrt)** MiB the app's JavaScript heap may grow to; past it, the
    /// allocating call fails with `out_of_memory` instead of the host's
    /// memory running out.
    pub heap_limit_mb: u64,
    /// **(ssrt)** `auto`, `redis` or `embedded`: where sessions and pub/sub live.
    pub store: StoreSetting,
    /// **(ssrt)** the SocketStream API the app was written against (`"0.0.36"`,
    /// `"0.1"`, `"0.2"`), when the files do not tell it right.
    #[serde(default)]
    pub socketstream_api: Option<crate::Generation>,
    /// **(ssrt)** how many JavaScript engines run the app, each on a thread
    /// of its own with the app loaded.
    pub engines: EnginesSetting,
    /// **(ssrt)** limits on each browser connection.
    pub websocket: WebSocketSettings,
    /// **(ssrt)** seconds calls in flight get to finish on SIGTERM/SIGINT.
    pub shutdown_timeout: f64,
    /// **(ssrt)** seconds a stored session lives without being used.
    pub session_idle_timeout: f64,
    /// 0.1–0.2's check of the browser before it gets the page.
    pub browser_check: BrowserCheckSettings,
}

/// `browser_check` (SocketStream 0.1–0.2): browsers that cannot open a
/// WebSocket get the view `view_name` instead of the app's page.
#[derive(Debug, Clone, Deserialize)]
pub struct BrowserCheckSettings {
    pub enabled: bool,
    /// Only browsers known to have WebSockets get the page; otherwise only
    /// browsers known to lack them are turned away.
    pub strict: bool,
    /// A view in `app/views` (`incompatible` is `app/views/incompatible.jade`
    /// or `.html`).
    pub view_name: String,
}

/// **(ssrt)** what one WebSocket connection may cost the server.
#[derive(Debug, Clone, Deserialize)]
pub struct WebSocketSettings {
    /// The largest message (and frame) a browser may send; larger ones close
    /// the connection with 1009.
    pub max_message_bytes: usize,
    /// Bytes of replies and events that may wait for a slow reader before
    /// its connection is closed with 1013 (it reconnects).
    pub outbound_queue_bytes: usize,
    /// Seconds one write may stall before the connection is closed.
    pub write_timeout: f64,
    /// Seconds between pings the server sends.
    pub ping_interval: f64,
    /// Seconds without any frame from the browser (pongs count) before the
    /// connection is closed.
    pub idle_timeout: f64,
    /// Origins (`https://example.com`) allowed to open `/ws` besides the
    /// page's own; `["*"]` allows any.
    pub allowed_origins: Vec<String>,
    /// Calls per second one connection may make (0: no limit); past it,
    /// calls are answered with `rate_limited`.
    pub calls_per_second: u32,
}

/// **(ssrt)** `engines`: a count, or `"auto"` for one per core the process
/// may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum EnginesSetting {
    Count(usize),
    Auto(AutoWord),
}

/// The word `"auto"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AutoWord {
    Auto,
}

impl EnginesSetting {
    /// The most engines one process runs: each holds the whole app.
    pub const MAX: usize = 64;

    /// How many engines to start: `"auto"` is the cores this process may
    /// run on (its CPU affinity and cgroup quota count), at most [`Self::MAX`].
    pub fn count(self) -> usize {
        match self {
            Self::Count(n) => n,
            Self::Auto(_) => std::thread::available_parallelism()
                .map_or(1, usize::from)
                .min(Self::MAX),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreSetting {
    /// Redis when the app configures it, in production, or when it answers;
    /// otherwise the embedded store.
    Auto,
    Redis,
    Embedded,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub level: u8,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SslSettings {
    pub enabled: bool,
    /// PEM certificate chain, relative to the project; with `key_file`.
    #[serde(default)]
    pub cert_file: Option<String>,
    /// PEM private key, relative to the project; with `cert_file`.
    #[serde(default)]
    pub key_file: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RedisSettings {
    pub host: String,
    pub port: u16,
    pub key_prefix: String,
    /// **(ssrt)** Redis Sentinel: `host:port` of each sentinel; with
    /// `master_name`, the master is found through them (and followed across
    /// failovers) instead of at `host:port`.
    #[serde(default)]
    pub sentinels: Option<Vec<String>>,
    /// **(ssrt)** the name the sentinels monitor the master under.
    #[serde(default)]
    pub master_name: Option<String>,
}

impl RedisSettings {
    /// The sentinels and the master's name, when both are set (the config
    /// check refuses one without the other).
    pub fn sentinel(&self) -> Option<(&[String], &str)> {
        Some((self.sentinels.as_deref()?, self.master_name.as_deref()?))
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ApiSettings {
    pub enabled: bool,
    pub prefix: String,
    pub auth: ApiAuthSettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ApiAuthSettings {
    pub basic: BasicAuthSettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BasicAuthSettings {
    /// The module whose `authenticate` checks API passwords; `false` when unset.
    pub module_name: Value,
    pub realm: String,
}

impl BasicAuthSettings {
    /// The configured module name, if one is set.
    pub fn module(&self) -> Option<&str> {
        self.module_name.as_str()
    }
}

/// The defaults every app starts from.
pub fn defaults() -> Value {
    json!({
        "port": 3000,
        "hostname": "0.0.0.0",
        "enable_color": true,
        "pack_assets": true,
        "throw_errors": true,
        "log": { "level": 3 },
        "ssl": { "enabled": false },
        "redis": { "host": "127.0.0.1", "port": 6379, "options": {}, "key_prefix": "ss" },
        "api": {
            "enabled": true,
            "prefix": "api",
            "auth": { "basic": { "module_name": false, "realm": "Secure API" } }
        },
        "client": { "remote_prefix": null, "log": { "level": 2 } },
        "users": { "online": { "enabled": true, "mins": 2, "keep_historic": false } },
        "rtm": { "enabled": false },
        "action_timeout": 30,
        "load_timeout": 60,
        "heap_limit_mb": 1024,
        "store": "auto",
        "engines": 1,
        "websocket": {
            "max_message_bytes": 1_048_576,
            "outbound_queue_bytes": 8_388_608,
            "write_timeout": 10,
            "ping_interval": 30,
            "idle_timeout": 90,
            "allowed_origins": [],
            "calls_per_second": 0
        },
        "shutdown_timeout": 10,
        "session_idle_timeout": 1_209_600,
        "browser_check": { "enabled": false, "strict": false, "view_name": "incompatible" }
    })
}

/// The preset layered over the defaults for a named environment.
pub fn preset(env: &str) -> Value {
    match env {
        "development" => json!({ "pack_assets": false }),
        "production" => json!({
            "throw_errors": false,
            "log": { "level": 0 },
            "client": { "log": { "level": 0 } }
        }),
        _ => json!({}),
    }
}

/// One source of settings, in merge order.
struct Layer {
    /// The config file, relative to the project; `None` for the defaults and
    /// the preset, which are ssrt's own.
    file: Option<PathBuf>,
    value: Value,
}

/// The later API's config files (0.1.3+) that exist for `env`, relative to
/// `root`, in merge order: `config/app.(coffee|js)`, then
/// `config/environments/<env>.(coffee|js)`. They are code: the caller runs
/// them and hands [`Config::load_with`] each one's `exports.config`.
pub fn code_files(root: &Path, env: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for stem in [
        PathBuf::from("config/app"),
        Path::new("config/environments").join(env),
    ] {
        let found = ["coffee", "js"]
            .iter()
            .map(|ext| stem.with_extension(ext))
            .find(|file| root.join(file).is_file());
        files.extend(found);
    }
    files
}

impl Config {
    /// Loads the configuration of the project at `root` for environment `env`
    /// from its JSON files.
    pub fn load(root: &Path, env: &str) -> Result<Self, ConfigError> {
        Self::load_with(root, env, &[])
    }

    /// Loads the configuration with the later API's config files already
    /// run (`evaluated`: each file of [`code_files`] and its
    /// `exports.config`). Each merges after the JSON file of its level:
    /// `config/app.json`, `config/app.coffee`, the environment's `.json`,
    /// the environment's `.coffee`.
    pub fn load_with(
        root: &Path,
        env: &str,
        evaluated: &[(PathBuf, Value)],
    ) -> Result<Self, ConfigError> {
        let mut layers = vec![
            Layer {
                file: None,
                value: defaults(),
            },
            Layer {
                file: None,
                value: preset(env),
            },
        ];
        let files = [
            PathBuf::from("config/app.json"),
            Path::new("config/environments").join(format!("{env}.json")),
        ];
        for file in files {
            if let Some(value) = read_layer(&root.join(&file))? {
                layers.push(Layer {
                    file: Some(file.clone()),
                    value: later_keys(value),
                });
            }
            let code = evaluated
                .iter()
                .filter(|(path, _)| path.with_extension("") == file.with_extension(""));
            for (path, value) in code {
                if !value.is_object() {
                    return Err(ConfigError::NotAnObject { path: path.clone() });
                }
                layers.push(Layer {
                    file: Some(path.clone()),
                    value: later_keys(value.clone()),
                });
            }
        }
        let mut value = json!({});
        for layer in &layers {
            merge(&mut value, layer.value.clone());
        }
        let settings = check::settings(&value, &layers)?;
        let settings_generation = settings.socketstream_api;
        let mut warnings = Vec::new();
        let mut redis_in_files = false;
        for layer in &layers {
            if let Some(file) = &layer.file {
                redis_in_files |= layer.value.get("redis").is_some();
                warnings.extend(keys::unknown(file, &layer.value));
            }
        }
        Ok(Self {
            env: env.to_owned(),
            value,
            settings,
            redis_in_files,
            warnings,
            generation: crate::generation::detect(root, settings_generation),
        })
    }

    /// Listens on `port` instead (`ssrt start --port`): in `settings`, and in
    /// `value`, where the app reads `$SS.config.port`.
    pub fn set_port(&mut self, port: u16) {
        self.settings.port = port;
        self.value["port"] = port.into();
    }

    /// `config.client`: the part the browser receives in `setConfig`.
    pub fn client(&self) -> Value {
        self.value.get("client").cloned().unwrap_or(Value::Null)
    }
}

/// The 0.1–0.2 names of the keys ssrt reads (SPEC-0.2-compat §2.6), copied to
/// ssrt's own unless the layer sets those too: `http.port` and
/// `http.hostname` to `port` and `hostname`, `https.enabled` to
/// `ssl.enabled`, `users_online.{enabled, mins_until_offline}` to
/// `users.online.{enabled, mins}`, and an enabled `rate_limiter`'s
/// `websockets.rps` (15 unless set) to `websocket.calls_per_second`. The
/// originals stay for `SS.config`.
fn later_keys(mut layer: Value) -> Value {
    let copies = [
        ("/http/port", "/port"),
        ("/http/hostname", "/hostname"),
        ("/https/enabled", "/ssl/enabled"),
        ("/users_online/enabled", "/users/online/enabled"),
        ("/users_online/mins_until_offline", "/users/online/mins"),
    ];
    for (from, to) in copies {
        if let Some(value) = layer.pointer(from).cloned() {
            set_unless_set(&mut layer, to, value);
        }
    }
    if layer.pointer("/rate_limiter/enabled") == Some(&Value::Bool(true)) {
        let rps = layer.pointer("/rate_limiter/websockets/rps").cloned();
        set_unless_set(
            &mut layer,
            "/websocket/calls_per_second",
            rps.unwrap_or_else(|| json!(15)),
        );
    }
    layer
}

/// Sets the value at the JSON pointer `to` (creating objects on the way)
/// unless the layer sets it already.
fn set_unless_set(layer: &mut Value, to: &str, value: Value) {
    if layer.pointer(to).is_some() {
        return;
    }
    let mut node = layer;
    let steps: Vec<&str> = to.trim_start_matches('/').split('/').collect();
    for step in &steps[..steps.len() - 1] {
        if !node[*step].is_object() {
            node[*step] = json!({});
        }
        node = &mut node[*step];
    }
    node[steps[steps.len() - 1]] = value;
}

/// Reads one optional config file; a missing file is no layer at all.
fn read_layer(path: &Path) -> Result<Option<Value>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ConfigError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let value: Value = serde_json::from_str(&text).map_err(|e| ConfigError::InvalidJson {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    if !value.is_object() {
        return Err(ConfigError::NotAnObject {
            path: path.to_path_buf(),
        });
    }
    Ok(Some(value))
}

/// Deep merge: objects merge key by key, anything else replaces.
pub fn merge(base: &mut Value, layer: Value) {
    match (base, layer) {
        (Value::Object(base), Value::Object(layer)) => {
            for (key, value) in layer {
                match base.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, layer) => *base = layer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn defaults_and_development_preset() {
        let dir = project(&[]);
        let config = Config::load(dir.path(), "development").unwrap();
        assert_eq!(config.settings.port, 3000);
        assert!(!config.settings.pack_assets);
        assert_eq!(config.settings.api.prefix, "api");
        assert_eq!(config.settings.api.auth.basic.module(), None);
        assert_eq!(config.client()["log"]["level"], 2);
        assert_eq!(config.settings.store, StoreSetting::Auto);
        assert!(!config.redis_in_files);
    }

    #[test]
    fn setting_redis_in_a_file_is_noticed() {
        let dir = project(&[(
            "config/environments/live.json",
            r#"{"redis": {"port": 6380}}"#,
        )]);
        let config = Config::load(dir.path(), "live").unwrap();
        assert!(config.redis_in_files);
        assert_eq!(config.settings.redis.port, 6380);
        assert_eq!(config.settings.redis.host, "127.0.0.1");
    }

    #[test]
    fn production_preset_silences_logs() {
        let dir = project(&[]);
        let config = Config::load(dir.path(), "production").unwrap();
        assert_eq!(config.settings.log.level, 0);
        assert!(!config.settings.throw_errors);
        assert!(config.settings.pack_assets);
        assert_eq!(config.client()["log"]["level"], 0);
    }

    #[test]
    fn files_merge_deeply_in_order() {
        let dir = project(&[
            (
                "config/app.json",
                r#"{"port": 4000, "db": {"mongo": {"host": "a"}}, "log": {"level": 1}}"#,
            ),
            (
                "config/environments/staging.json",
                r#"{"db": {"mongo": {"port": 27017}}, "port": 4001}"#,
            ),
        ]);
        let config = Config::load(dir.path(), "staging").unwrap();
        assert_eq!(config.settings.port, 4001);
        assert_eq!(config.settings.log.level, 1);
        assert_eq!(
            config.value["db"]["mongo"],
            json!({"host": "a", "port": 27017})
        );
        assert_eq!(config.value["redis"]["key_prefix"], "ss");
    }

    #[test]
    fn invalid_json_names_the_file_and_line() {
        let dir = project(&[("config/app.json", "{\n  \"port\": 3000,\n  oops\n}")]);
        let err = Config::load(dir.path(), "development").unwrap_err();
        let message = err.to_string();
        assert!(message.contains("config/app.json:3:"), "{message}");
    }

    /// Loads `files` in the `staging` environment, expecting an error;
    /// returns it as printed.
    fn load_error(files: &[(&str, &str)]) -> String {
        let dir = project(files);
        match Config::load(dir.path(), "staging") {
            Ok(_) => panic!("{files:?} loaded, but should not have"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_wrong_type_names_the_file_and_key() {
        let dir = project(&[("config/app.json", r#"{"port": "abc"}"#)]);
        let err = Config::load(dir.path(), "development").unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"config/app.json: port: expected a port 0–65535 (0: any free port), got "abc""#
        );
        let ConfigError::InvalidSetting { file, key, .. } = err else {
            panic!("not an InvalidSetting: {err:?}");
        };
        assert_eq!(file.as_deref(), Some(Path::new("config/app.json")));
        assert_eq!(key, "port");
    }

    #[test]
    fn a_nested_key_is_a_dotted_path_in_the_file_that_set_it_last() {
        let message = load_error(&[
            ("config/app.json", r#"{"redis": {"port": 6380}}"#),
            (
                "config/environments/staging.json",
                r#"{"redis": {"port": 70000}}"#,
            ),
        ]);
        assert_eq!(
            message,
            "config/environments/staging.json: redis.port: expected a port 1–65535, got 70000"
        );
        // The environment file sets other keys; the bad one is app.json's.
        let message = load_error(&[
            ("config/app.json", r#"{"redis": {"port": true}}"#),
            (
                "config/environments/staging.json",
                r#"{"redis": {"host": "10.0.0.1"}}"#,
            ),
        ]);
        assert_eq!(
            message,
            "config/app.json: redis.port: expected a port 1–65535, got true"
        );
    }

    #[test]
    fn port_zero_means_any_free_port_but_not_for_redis() {
        let dir = project(&[("config/app.json", r#"{"port": 0}"#)]);
        let config = Config::load(dir.path(), "development").unwrap();
        assert_eq!(config.settings.port, 0);
        let message = load_error(&[("config/app.json", r#"{"redis": {"port": 0}}"#)]);
        assert_eq!(
            message,
            "config/app.json: redis.port: expected a port 1–65535, got 0"
        );
    }

    #[test]
    fn other_wrong_types_are_worded_for_their_key() {
        let cases = [
            (
                r#"{"store": "disk"}"#,
                r#"config/app.json: store: expected "auto", "redis" or "embedded", got "disk""#,
            ),
            (
                r#"{"log": 2}"#,
                "config/app.json: log: expected an object, got 2",
            ),
            (
                r#"{"websocket": {"allowed_origins": ["https://a.example", 7]}}"#,
                r#"config/app.json: websocket.allowed_origins[1]: expected an origin, such as "https://example.com", got 7"#,
            ),
            (
                r#"{"api": {"auth": {"basic": {"realm": ["a", "very", "long", "list", "of", "words", "to", "cut"]}}}}"#,
                r#"config/app.json: api.auth.basic.realm: expected a string, got ["a","very","long","list","of","words","…"#,
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(load_error(&[("config/app.json", text)]), expected);
        }
    }

    #[test]
    fn timeouts_must_be_positive_and_finite_enough() {
        for key in ["action_timeout", "shutdown_timeout"] {
            let text = format!(r#"{{"{key}": 0}}"#);
            assert_eq!(
                load_error(&[("config/environments/staging.json", &text)]),
                format!(
                    "config/environments/staging.json: {key}: \
                     expected a positive number of seconds, at most 1e9, got 0"
                )
            );
        }
        for key in ["write_timeout", "ping_interval", "idle_timeout"] {
            let text = format!(r#"{{"websocket": {{"{key}": -1.5}}}}"#);
            assert_eq!(
                load_error(&[("config/app.json", &text)]),
                format!(
                    "config/app.json: websocket.{key}: \
                     expected a positive number of seconds, at most 1e9, got -1.5"
                )
            );
        }
        // Too long to add to the clock without overflowing.
        let message = load_error(&[("config/app.json", r#"{"action_timeout": 1e300}"#)]);
        assert!(
            message.starts_with("config/app.json: action_timeout: "),
            "{message}"
        );
        let dir = project(&[("config/app.json", r#"{"action_timeout": 0.5}"#)]);
        let config = Config::load(dir.path(), "development").unwrap();
        assert_eq!(config.settings.action_timeout, 0.5);
    }

    #[test]
    fn websocket_sizes_have_a_floor() {
        for key in ["max_message_bytes", "outbound_queue_bytes"] {
            let text = format!(r#"{{"websocket": {{"{key}": 1023}}}}"#);
            assert_eq!(
                load_error(&[("config/app.json", &text)]),
                format!(
                    "config/app.json: websocket.{key}: \
                     expected a whole number of bytes, at least 1024, got 1023"
                )
            );
        }
        // The queue may be smaller than the largest message.
        let dir = project(&[(
            "config/app.json",
            r#"{"websocket": {"max_message_bytes": 65536, "outbound_queue_bytes": 1024}}"#,
        )]);
        let config = Config::load(dir.path(), "development").unwrap();
        assert_eq!(config.settings.websocket.outbound_queue_bytes, 1024);
    }

    #[test]
    fn an_array_where_an_object_belongs_is_an_error() {
        let dir = project(&[("config/app.json", r#"{"redis": ["h", 1, "p"]}"#)]);
        let err = Config::load(dir.path(), "development").unwrap_err();
        assert!(
            err.to_string()
                .contains("config/app.json: redis: expected an object"),
            "{err}"
        );
    }

    #[test]
    fn the_heap_limit_has_a_default_and_a_floor() {
        let dir = project(&[]);
        let config = Config::load(dir.path(), "development").unwrap();
        assert_eq!(config.settings.heap_limit_mb, 1024);
        assert_eq!(
            load_error(&[("config/app.json", r#"{"heap_limit_mb": 16}"#)]),
            "config/app.json: heap_limit_mb: expected a whole number of MiB, at least 256 \
             (the engine itself needs about 100), got 16"
        );
    }

    #[test]
    fn later_config_files_merge_after_the_json_of_their_level_with_their_key_names() {
        let dir = project(&[
            ("config/app.json", r#"{"port": 4000, "custom": {"a": 1}}"#),
            ("config/app.coffee", "exports.config = {}"),
            ("config/environments/live.coffee", ""),
        ]);
        assert_eq!(
            code_files(dir.path(), "live"),
            [
                PathBuf::from("config/app.coffee"),
                PathBuf::from("config/environments/live.coffee")
            ]
        );
        let evaluated = [
            (
                PathBuf::from("config/app.coffee"),
                json!({"http": {"port": 4100, "hostname": "127.0.0.1"}, "custom": {"b": 2},
                       "users_online": {"mins_until_offline": 5}}),
            ),
            (
                PathBuf::from("config/environments/live.coffee"),
                json!({"https": {"enabled": false}}),
            ),
        ];
        let config = Config::load_with(dir.path(), "live", &evaluated).unwrap();
        assert_eq!(config.settings.port, 4100);
        assert_eq!(config.settings.hostname, "127.0.0.1");
        assert_eq!(config.value["custom"], json!({"a": 1, "b": 2}));
        assert_eq!(config.value["http"]["port"], 4100);
        assert_eq!(config.value["users"]["online"]["mins"], 5);
        assert_eq!(config.settings.websocket.calls_per_second, 0);
        let limited = |rate_limiter: Value| {
            let evaluated = [(
                PathBuf::from("config/app.coffee"),
                json!({ "rate_limiter": rate_limiter }),
            )];
            let config = Config::load_with(dir.path(), "live", &evaluated).unwrap();
            config.settings.websocket.calls_per_second
        };
        assert_eq!(limited(json!({"enabled": true})), 15);
        assert_eq!(
            limited(json!({"enabled": true, "websockets": {"rps": 4}})),
            4
        );
        assert_eq!(
            limited(json!({"enabled": false, "websockets": {"rps": 4}})),
            0
        );
        let bad = [(PathBuf::from("config/app.coffee"), json!([1]))];
        let err = Config::load_with(dir.path(), "live", &bad).unwrap_err();
        assert_eq!(
            err.to_string(),
            "config/app.coffee: a config file must hold a JSON object"
        );
    }

    #[test]
    fn engines_are_a_count_or_auto() {
        let count = |files: &[(&str, &str)]| {
            let dir = project(files);
            Config::load(dir.path(), "development")
                .unwrap()
                .settings
                .engines
                .count()
        };
        assert_eq!(count(&[]), 1);
        assert_eq!(count(&[("config/app.json", r#"{"engines": 3}"#)]), 3);
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        assert_eq!(
            count(&[("config/app.json", r#"{"engines": "auto"}"#)]),
            cores.min(EnginesSetting::MAX)
        );
        for bad in ["0", "65", "\"all\"", "1.5"] {
            assert_eq!(
                load_error(&[("config/app.json", &format!(r#"{{"engines": {bad}}}"#))]),
                format!(
                    "config/app.json: engines: expected a number of engines from 1 to 64, \
                     or \"auto\" (one per core), got {bad}"
                )
            );
        }
    }

    #[test]
    fn the_browser_check_view_stays_in_app_views() {
        let dir = project(&[(
            "config/app.json",
            r#"{"browser_check": {"enabled": true, "view_name": "errors/old_browser"}}"#,
        )]);
        let check = Config::load(dir.path(), "development")
            .unwrap()
            .settings
            .browser_check;
        assert!(check.enabled && !check.strict);
        assert_eq!(check.view_name, "errors/old_browser");
        for bad in [r#""../secret""#, r#""""#, "7"] {
            let text = format!(r#"{{"browser_check": {{"view_name": {bad}}}}}"#);
            assert_eq!(
                load_error(&[("config/app.json", &text)]),
                format!(
                    "config/app.json: browser_check.view_name: expected a view's name in \
                     app/views, such as \"incompatible\", got {bad}"
                )
            );
        }
    }

    #[test]
    fn sentinels_come_with_a_master_name() {
        let dir = project(&[(
            "config/environments/live.json",
            r#"{"redis": {"sentinels": ["10.0.0.5:26379", "[::1]:26380"], "master_name": "mymaster"}}"#,
        )]);
        let config = Config::load(dir.path(), "live").unwrap();
        let (sentinels, name) = config.settings.redis.sentinel().expect("sentinel settings");
        assert_eq!(sentinels, ["10.0.0.5:26379", "[::1]:26380"]);
        assert_eq!(name, "mymaster");
        assert!(config.redis_in_files);
        assert_eq!(config.warnings, []);
        let dir = project(&[]);
        let config = Config::load(dir.path(), "development").unwrap();
        assert!(config.settings.redis.sentinel().is_none());
    }

    #[test]
    fn a_bad_sentinel_setting_names_its_key() {
        let cases = [
            (
                r#"{"redis": {"sentinels": ["10.0.0.5:26379", "10.0.0.6"], "master_name": "m"}}"#,
                r#"config/app.json: redis.sentinels[1]: expected a sentinel's "host:port", such as "10.0.0.5:26379", got "10.0.0.6""#,
            ),
            (
                r#"{"redis": {"sentinels": ["a:0"], "master_name": "m"}}"#,
                r#"config/app.json: redis.sentinels[0]: expected a sentinel's "host:port", such as "10.0.0.5:26379", got "a:0""#,
            ),
            (
                r#"{"redis": {"sentinels": ["::1:26379"], "master_name": "m"}}"#,
                r#"config/app.json: redis.sentinels[0]: expected a sentinel's "host:port", such as "10.0.0.5:26379", got "::1:26379""#,
            ),
            (
                r#"{"redis": {"sentinels": [26379], "master_name": "m"}}"#,
                r#"config/app.json: redis.sentinels[0]: expected a sentinel's "host:port", such as "10.0.0.5:26379", got 26379"#,
            ),
            (
                r#"{"redis": {"sentinels": "10.0.0.5:26379", "master_name": "m"}}"#,
                r#"config/app.json: redis.sentinels: expected a list of sentinels' "host:port", such as ["10.0.0.5:26379"], got "10.0.0.5:26379""#,
            ),
            (
                r#"{"redis": {"sentinels": [], "master_name": "m"}}"#,
                r#"config/app.json: redis.sentinels: expected a list of sentinels' "host:port", such as ["10.0.0.5:26379"], got []"#,
            ),
            (
                r#"{"redis": {"sentinels": ["a:26379"], "master_name": ""}}"#,
                r#"config/app.json: redis.master_name: expected the name the sentinels know the master by, such as "mymaster", got """#,
            ),
            (
                r#"{"redis": {"sentinels": ["a:26379"]}}"#,
                "config/app.json: redis.sentinels: set without redis.master_name: \
                 set both (Redis Sentinel) or neither",
            ),
            (
                r#"{"redis": {"master_name": "mymaster"}}"#,
                "config/app.json: redis.master_name: set without redis.sentinels: \
                 set both (Redis Sentinel) or neither",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(load_error(&[("config/app.json", text)]), expected, "{text}");
        }
        // Named in the file that set the key last.
        let message = load_error(&[
            (
                "config/app.json",
                r#"{"redis": {"sentinels": ["a:26379"], "master_name": "m"}}"#,
            ),
            (
                "config/environments/staging.json",
                r#"{"redis": {"sentinels": ["b"]}}"#,
            ),
        ]);
        assert!(
            message.starts_with("config/environments/staging.json: redis.sentinels[0]: "),
            "{message}"
        );
    }

    #[test]
    fn misspelt_keys_are_warnings_naming_their_file() {
        let dir = project(&[
            ("config/app.json", r#"{"prot": 4000, "db": {"host": "x"}}"#),
            (
                "config/environments/staging.json",
                r#"{"websocket": {"idle_timeot": 60}}"#,
            ),
        ]);
        let config = Config::load(dir.path(), "staging").unwrap();
        let warnings: Vec<String> = config.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            [
                "config/app.json: prot: unknown key; did you mean `port`?",
                "config/environments/staging.json: websocket.idle_timeot: unknown key; \
                 did you mean `websocket.idle_timeout`?",
            ]
        );
        // The misspelt key is still there for the app, and the real one kept its default.
        assert_eq!(config.value["prot"], 4000);
        assert_eq!(config.settings.port, 3000);
    }

    #[test]
    fn a_clean_config_has_no_warnings() {
        let dir = project(&[
            ("config/app.json", r#"{"port": 4000, "db": {"host": "x"}}"#),
            (
                "config/environments/staging.json",
                r#"{"ssl": {"enabled": true, "cert_file": "c.pem", "key_file": "k.pem"}}"#,
            ),
        ]);
        let config = Config::load(dir.path(), "staging").unwrap();
        assert_eq!(config.warnings, []);
    }
}
