//! Configuration (SPEC 7): defaults, then the `SS_ENV` preset, then
//! `config/app.json`, then `config/environments/<env>.json`, deep-merged.
//!
//! The merged JSON is kept whole, because apps read any key they like from
//! `$SS.config`; [`Settings`] is the typed view of the keys ssrt itself uses.

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
    #[error("invalid configuration: {0}")]
    InvalidSetting(String),
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
    /// **(ssrt)** MiB the app's JavaScript heap may grow to; past it, the
    /// allocating call fails with `out_of_memory` instead of the host's
    /// memory running out.
    pub heap_limit_mb: u64,
    /// **(ssrt)** `auto`, `redis` or `embedded`: where sessions and pub/sub live.
    pub store: StoreSetting,
    /// **(ssrt)** limits on each browser connection.
    pub websocket: WebSocketSettings,
    /// **(ssrt)** seconds calls in flight get to finish on SIGTERM/SIGINT.
    pub shutdown_timeout: f64,
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

/// The smallest heap limit an app engine starts with.
const MIN_HEAP_LIMIT_MB: u64 = 256;

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
        "heap_limit_mb": 1024,
        "store": "auto",
        "websocket": {
            "max_message_bytes": 1_048_576,
            "outbound_queue_bytes": 8_388_608,
            "write_timeout": 10,
            "ping_interval": 30,
            "idle_timeout": 90,
            "allowed_origins": [],
            "calls_per_second": 0
        },
        "shutdown_timeout": 10
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

impl Config {
    /// Loads the configuration of the project at `root` for environment `env`.
    pub fn load(root: &Path, env: &str) -> Result<Self, ConfigError> {
        let mut value = defaults();
        merge(&mut value, preset(env));
        let files = [
            root.join("config/app.json"),
            root.join("config/environments").join(format!("{env}.json")),
        ];
        let mut redis_in_files = false;
        for path in files {
            if let Some(layer) = read_layer(&path)? {
                redis_in_files |= layer.get("redis").is_some();
                merge(&mut value, layer);
            }
        }
        Self::from_value(env, value, redis_in_files)
    }

    /// Builds a config from an already merged value, checking the keys ssrt uses.
    fn from_value(env: &str, value: Value, redis_in_files: bool) -> Result<Self, ConfigError> {
        let settings = Settings::deserialize(&value)
            .map_err(|e| ConfigError::InvalidSetting(e.to_string()))?;
        if settings.action_timeout.is_nan() || settings.action_timeout <= 0.0 {
            return Err(ConfigError::InvalidSetting(
                "action_timeout must be a positive number of seconds".into(),
            ));
        }
        if settings.heap_limit_mb < MIN_HEAP_LIMIT_MB {
            return Err(ConfigError::InvalidSetting(format!(
                "heap_limit_mb must be at least {MIN_HEAP_LIMIT_MB} (the engine itself needs about 100 MiB)"
            )));
        }
        Ok(Self {
            env: env.to_owned(),
            value,
            settings,
            redis_in_files,
        })
    }

    /// `config.client`: the part the browser receives in `setConfig`.
    pub fn client(&self) -> Value {
        self.value.get("client").cloned().unwrap_or(Value::Null)
    }
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

    #[test]
    fn a_wrong_type_is_a_clear_error() {
        let dir = project(&[("config/app.json", r#"{"port": "eighty"}"#)]);
        let err = Config::load(dir.path(), "development").unwrap_err();
        assert!(err.to_string().contains("invalid configuration"), "{err}");
    }

    #[test]
    fn the_heap_limit_has_a_default_and_a_floor() {
        let dir = project(&[]);
        let config = Config::load(dir.path(), "development").unwrap();
        assert_eq!(config.settings.heap_limit_mb, 1024);
        let dir = project(&[("config/app.json", r#"{"heap_limit_mb": 16}"#)]);
        let err = Config::load(dir.path(), "development").unwrap_err();
        assert!(
            err.to_string()
                .contains("heap_limit_mb must be at least 256"),
            "{err}"
        );
    }
}
