//! Turns the merged configuration into [`Settings`], or into an error that
//! names the key and the file that set it, so a user knows what to edit.

use super::{ConfigError, EnginesSetting, Layer, Settings};
use serde_json::Value;
use std::borrow::Cow;

/// The smallest heap limit an app engine starts with.
const MIN_HEAP_LIMIT_MB: u64 = 256;
/// The smallest message and queue sizes: below them ordinary calls and
/// replies would not fit.
const MIN_BYTES: usize = 1024;
/// The longest timeout: far beyond any real one, and small enough that adding
/// it to the clock cannot overflow (which would panic).
const MAX_SECONDS: f64 = 1e9;

/// One step of a key path.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// Deserializes [`Settings`] from `merged` and checks the ranges serde cannot.
pub(super) fn settings(merged: &Value, layers: &[Layer]) -> Result<Settings, ConfigError> {
    // serde reads a struct from an array too (`"redis": ["h", 1]` would be a
    // host and a port): the objects ssrt reads must be objects.
    for key in super::keys::OWNED {
        let path: Vec<Step> = key.split('.').map(|k| Step::Key(k.to_owned())).collect();
        if lookup(merged, &path).is_some_and(|value| !value.is_object()) {
            return Err(out_of_range(merged, layers, key));
        }
    }
    let settings: Settings = serde_path_to_error::deserialize(merged).map_err(|error| {
        let path: Vec<Step> = error
            .path()
            .iter()
            .filter_map(|segment| match segment {
                serde_path_to_error::Segment::Map { key } => Some(Step::Key(key.clone())),
                serde_path_to_error::Segment::Seq { index } => Some(Step::Index(*index)),
                _ => None,
            })
            .collect();
        let serde_message = error.inner().to_string();
        // A missing field is reported at the object that lacks it, where
        // "expected an object" would be wrong: keep serde's words then.
        let message = match expected(&pattern(&path)) {
            Some(what) if !serde_message.starts_with("missing field") => {
                format!("expected {what}, got {}", shown(lookup(merged, &path)))
            }
            _ => serde_message,
        };
        invalid(layers, &path, message)
    })?;

    let ws = &settings.websocket;
    let seconds = [
        ("action_timeout", settings.action_timeout),
        ("load_timeout", settings.load_timeout),
        ("shutdown_timeout", settings.shutdown_timeout),
        ("session_idle_timeout", settings.session_idle_timeout),
        ("websocket.write_timeout", ws.write_timeout),
        ("websocket.ping_interval", ws.ping_interval),
        ("websocket.idle_timeout", ws.idle_timeout),
    ];
    for (key, value) in seconds {
        if !(value > 0.0 && value <= MAX_SECONDS) {
            return Err(out_of_range(merged, layers, key));
        }
    }
    let unusable = [
        ("heap_limit_mb", settings.heap_limit_mb < MIN_HEAP_LIMIT_MB),
        (
            "websocket.max_message_bytes",
            ws.max_message_bytes < MIN_BYTES,
        ),
        (
            "websocket.outbound_queue_bytes",
            ws.outbound_queue_bytes < MIN_BYTES,
        ),
        ("redis.port", settings.redis.port == 0),
        (
            "engines",
            matches!(settings.engines, EnginesSetting::Count(n) if n == 0 || n > EnginesSetting::MAX),
        ),
        (
            "browser_check.view_name",
            !is_view_name(&settings.browser_check.view_name),
        ),
    ];
    if let Some((key, _)) = unusable.into_iter().find(|(_, bad)| *bad) {
        return Err(out_of_range(merged, layers, key));
    }
    sentinel(&settings, merged, layers)?;
    Ok(settings)
}

/// A file's name below `app/views`, without its extension: folders are
/// allowed, climbing out of `app/views` is not.
fn is_view_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != ".." && !part.contains('\\'))
}

/// Redis Sentinel's keys: both or neither, a non-empty list of `host:port`,
/// and a name.
fn sentinel(settings: &Settings, merged: &Value, layers: &[Layer]) -> Result<(), ConfigError> {
    let redis = &settings.redis;
    let key = |name: &str| vec![Step::Key("redis".into()), Step::Key(name.into())];
    let either = |name: &str, other: &str| {
        invalid(
            layers,
            &key(name),
            format!("set without redis.{other}: set both (Redis Sentinel) or neither"),
        )
    };
    match (&redis.sentinels, &redis.master_name) {
        (None, None) => return Ok(()),
        (Some(_), None) => return Err(either("sentinels", "master_name")),
        (None, Some(_)) => return Err(either("master_name", "sentinels")),
        (Some(_), Some(_)) => {}
    }
    if redis.sentinels.as_ref().is_some_and(Vec::is_empty) {
        return Err(out_of_range(merged, layers, "redis.sentinels"));
    }
    for (index, node) in redis.sentinels.iter().flatten().enumerate() {
        if !is_host_and_port(node) {
            let mut path = key("sentinels");
            path.push(Step::Index(index));
            let what = expected("redis.sentinels[]").unwrap_or_default();
            let message = format!("expected {what}, got {}", shown(lookup(merged, &path)));
            return Err(invalid(layers, &path, message));
        }
    }
    if redis.master_name.as_deref().is_some_and(str::is_empty) {
        return Err(out_of_range(merged, layers, "redis.master_name"));
    }
    Ok(())
}

/// `host:port` with a port 1–65535, an IPv6 host in brackets (`[::1]:26379`).
fn is_host_and_port(text: &str) -> bool {
    let Some((host, port)) = text.rsplit_once(':') else {
        return false;
    };
    let host = match host.strip_prefix('[') {
        Some(bracketed) => match bracketed.strip_suffix(']') {
            Some(inner) if inner.contains(':') => inner,
            _ => return false,
        },
        None if host.contains(':') => return false,
        None => host,
    };
    !host.is_empty()
        && !host
            .chars()
            .any(|c| c.is_whitespace() || "/@?#[]".contains(c))
        && port.parse::<u16>().is_ok_and(|port| port != 0)
}

/// What each key ssrt types must hold, worded to follow "expected".
/// `pattern` is the dotted key with `[]` for any array index.
fn expected(pattern: &str) -> Option<Cow<'static, str>> {
    let what = match pattern {
        // `--port 0` and `"port": 0` both let the system pick a port.
        "port" => "a port 0–65535 (0: any free port)",
        "redis.port" => "a port 1–65535",
        "hostname" => "an address to listen on, such as \"0.0.0.0\"",
        "redis.host" => "a host name or address, such as \"127.0.0.1\"",
        "enable_color" | "pack_assets" | "throw_errors" | "ssl.enabled" | "api.enabled" => {
            "true or false"
        }
        "log.level" => "a log level from 0 (nothing) to 4 (everything)",
        "ssl.cert_file" | "ssl.key_file" => "a file name relative to the project",
        "redis.key_prefix" | "api.prefix" | "api.auth.basic.realm" => "a string",
        "action_timeout"
        | "load_timeout"
        | "shutdown_timeout"
        | "session_idle_timeout"
        | "websocket.write_timeout"
        | "websocket.ping_interval"
        | "websocket.idle_timeout" => {
            return Some(format!("a positive number of seconds, at most {MAX_SECONDS:e}").into());
        }
        "heap_limit_mb" => {
            return Some(
                format!(
                    "a whole number of MiB, at least {MIN_HEAP_LIMIT_MB} \
                     (the engine itself needs about 100)"
                )
                .into(),
            );
        }
        "store" => "\"auto\", \"redis\" or \"embedded\"",
        "socketstream_api" => "\"0.0.36\", \"0.1\" or \"0.2\"",
        "engines" => {
            return Some(
                format!(
                    "a number of engines from 1 to {}, or \"auto\" (one per core)",
                    EnginesSetting::MAX
                )
                .into(),
            );
        }
        "websocket.max_message_bytes" | "websocket.outbound_queue_bytes" => {
            return Some(format!("a whole number of bytes, at least {MIN_BYTES}").into());
        }
        "websocket.allowed_origins" => "a list of origins, such as [\"https://example.com\"]",
        "websocket.allowed_origins[]" => "an origin, such as \"https://example.com\"",
        "websocket.calls_per_second" => "a whole number of calls per second (0: no limit)",
        "redis.sentinels" => "a list of sentinels' \"host:port\", such as [\"10.0.0.5:26379\"]",
        "redis.sentinels[]" => "a sentinel's \"host:port\", such as \"10.0.0.5:26379\"",
        "redis.master_name" => "the name the sentinels know the master by, such as \"mymaster\"",
        "browser_check.view_name" => "a view's name in app/views, such as \"incompatible\"",
        "log" | "ssl" | "redis" | "api" | "api.auth" | "api.auth.basic" | "websocket"
        | "browser_check" => "an object",
        _ => return None,
    };
    Some(what.into())
}

/// The error for a key whose value has the right type but not a usable size.
fn out_of_range(merged: &Value, layers: &[Layer], key: &str) -> ConfigError {
    let path: Vec<Step> = key.split('.').map(|k| Step::Key(k.to_owned())).collect();
    let what = expected(key).unwrap_or(Cow::Borrowed("another value"));
    let message = format!("expected {what}, got {}", shown(lookup(merged, &path)));
    invalid(layers, &path, message)
}

/// An [`ConfigError::InvalidSetting`] naming the last layer that set `path`:
/// its value is the one in effect, since later layers override earlier ones.
fn invalid(layers: &[Layer], path: &[Step], message: String) -> ConfigError {
    let file = layers
        .iter()
        .rev()
        .find(|layer| lookup(&layer.value, path).is_some())
        .and_then(|layer| layer.file.clone());
    ConfigError::InvalidSetting {
        file,
        key: dotted(path),
        message,
    }
}

fn lookup<'a>(value: &'a Value, path: &[Step]) -> Option<&'a Value> {
    path.iter().try_fold(value, |value, step| match step {
        Step::Key(key) => value.get(key),
        Step::Index(index) => value.get(index),
    })
}

/// `redis.port`, `websocket.allowed_origins[1]`.
fn dotted(path: &[Step]) -> String {
    joined(path, |index| format!("[{index}]"))
}

/// Like [`dotted`], with `[]` for every index, to look keys up in [`expected`].
fn pattern(path: &[Step]) -> String {
    joined(path, |_| "[]".to_owned())
}

fn joined(path: &[Step], index: impl Fn(usize) -> String) -> String {
    let mut text = String::new();
    for step in path {
        match step {
            Step::Key(key) => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(key);
            }
            Step::Index(i) => text.push_str(&index(*i)),
        }
    }
    text
}

/// A value as the user wrote it, cut short if long.
fn shown(value: Option<&Value>) -> String {
    const LONGEST: usize = 40;
    let Some(value) = value else {
        return "nothing".to_owned();
    };
    let text = value.to_string();
    match text.char_indices().nth(LONGEST) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::{Path, PathBuf};

    #[test]
    fn a_value_only_ssrt_set_is_said_to_be_its_default() {
        let layers = [
            Layer {
                file: None,
                value: json!({"port": 3000, "redis": {"port": 6379}}),
            },
            Layer {
                file: Some(PathBuf::from("config/app.json")),
                value: json!({"redis": {"host": "x"}}),
            },
        ];
        let path = [Step::Key("redis".into()), Step::Key("port".into())];
        let error = invalid(&layers, &path, "bad".into());
        assert_eq!(error.to_string(), "ssrt's defaults: redis.port: bad");
        let path = [Step::Key("redis".into()), Step::Key("host".into())];
        let ConfigError::InvalidSetting { file, .. } = invalid(&layers, &path, "bad".into()) else {
            panic!("not an InvalidSetting");
        };
        assert_eq!(file.as_deref(), Some(Path::new("config/app.json")));
    }

    #[test]
    fn sentinel_addresses_are_host_and_port() {
        for good in ["10.0.0.5:26379", "sentinel-1.internal:26379", "[::1]:26379"] {
            assert!(is_host_and_port(good), "{good}");
        }
        for bad in [
            "10.0.0.5",
            ":26379",
            "a:",
            "a:0",
            "a:65536",
            "::1:26379",
            "[]:26379",
            "[10.0.0.5]:26379",
            "a b:26379",
            "redis://a:26379",
            "user@a:26379",
        ] {
            assert!(!is_host_and_port(bad), "{bad}");
        }
    }

    #[test]
    fn paths_print_dotted_with_indices() {
        let path = [
            Step::Key("websocket".into()),
            Step::Key("allowed_origins".into()),
            Step::Index(2),
        ];
        assert_eq!(dotted(&path), "websocket.allowed_origins[2]");
        assert_eq!(pattern(&path), "websocket.allowed_origins[]");
        assert_eq!(shown(None), "nothing");
    }
}
