//! Warnings for keys ssrt does not know. Apps keep settings of their own in
//! the config (`db`, `twitter`), which `$SS.config` shows them, so an unknown
//! key is no error; but one a letter or two from a key ssrt knows, or any
//! unknown key inside an object that is ssrt's, is most likely a mistake that
//! would otherwise be ignored without a word.

use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};

/// Objects whose keys are all ssrt's: any other key inside one is a mistake.
/// (`client`, `users`, `rtm` and `redis.options` are known but not checked
/// inside: the browser, the JavaScript side or node_redis read them.)
pub(super) const OWNED: &[&str] = &[
    "log",
    "ssl",
    "redis",
    "api",
    "api.auth",
    "api.auth.basic",
    "websocket",
    "browser_check",
];

/// Keys ssrt reads that have no default, so [`super::defaults`] cannot list them.
const WITHOUT_DEFAULT: &[&str] = &[
    "node_version",
    "socketstream_api",
    "ssl.cert_file",
    "ssl.key_file",
    "redis.sentinels",
    "redis.master_name",
];

/// How alike two keys must be (normalized Damerau–Levenshtein, case ignored)
/// for one to pass for a misspelling of the other: `prot` and `port` score
/// 0.75, while `sql` and `ssl`, both plausible keys, score 0.67.
const ALIKE: f64 = 0.75;

/// A key in a config file that ssrt does not know, likely a mistake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The config file, relative to the project.
    pub file: PathBuf,
    /// The dotted key path as written, e.g. `prot` or `redis.hots`.
    pub key: String,
    /// The known key (dotted) it most resembles, if one is close.
    pub suggestion: Option<String>,
    /// The keys ssrt knows in the same object, to list when none is close.
    pub known: Vec<String>,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: unknown key", self.file.display(), self.key)?;
        match &self.suggestion {
            Some(suggestion) => write!(f, "; did you mean `{suggestion}`?"),
            None => write!(
                f,
                ", which ssrt ignores (it knows {})",
                self.known.join(", ")
            ),
        }
    }
}

/// The warnings for one config file's contents.
pub(super) fn unknown(file: &Path, layer: &Value) -> Vec<ConfigWarning> {
    let mut warnings = Vec::new();
    if let Some(object) = layer.as_object() {
        let known = known_keys("");
        for key in object.keys().filter(|key| !known.contains(key)) {
            // Only a near miss: any other top-level key may be the app's own.
            if let Some(suggestion) = closest(key, &known) {
                warnings.push(ConfigWarning {
                    file: file.to_path_buf(),
                    key: key.clone(),
                    suggestion: Some(suggestion.to_owned()),
                    known: Vec::new(),
                });
            }
        }
    }
    for parent in OWNED {
        let Some(Value::Object(object)) = at(layer, parent) else {
            continue;
        };
        let known = known_keys(parent);
        for key in object.keys().filter(|key| !known.contains(key)) {
            warnings.push(ConfigWarning {
                file: file.to_path_buf(),
                key: format!("{parent}.{key}"),
                suggestion: closest(key, &known).map(|known| format!("{parent}.{known}")),
                known: known.clone(),
            });
        }
    }
    warnings
}

/// The keys ssrt knows directly inside the object at dotted `parent` ("" for
/// the top level): those with defaults, and those read without one.
fn known_keys(parent: &str) -> Vec<String> {
    let defaults = super::defaults();
    let mut known: Vec<String> = match at(&defaults, parent) {
        Some(Value::Object(object)) => object.keys().cloned().collect(),
        _ => Vec::new(),
    };
    for key in WITHOUT_DEFAULT {
        let (key_parent, name) = key.rsplit_once('.').unwrap_or(("", key));
        if key_parent == parent {
            known.push(name.to_owned());
        }
    }
    known
}

/// The value at dotted `path` ("" for `value` itself).
fn at<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(value);
    }
    path.split('.').try_fold(value, |value, key| value.get(key))
}

/// The known key most like `key`, if it is alike enough to be what was meant.
fn closest<'a>(key: &str, known: &'a [String]) -> Option<&'a str> {
    let key = key.to_lowercase();
    known
        .iter()
        .map(|candidate| {
            let score = strsim::normalized_damerau_levenshtein(&key, &candidate.to_lowercase());
            (candidate, score)
        })
        .filter(|(_, score)| *score >= ALIKE)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(candidate, _)| candidate.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The warnings as printed, sorted (object key order depends on
    /// serde_json's features).
    fn warnings(layer: Value) -> Vec<String> {
        let mut warnings: Vec<String> = unknown(Path::new("config/app.json"), &layer)
            .iter()
            .map(ToString::to_string)
            .collect();
        warnings.sort();
        warnings
    }

    #[test]
    fn every_key_ssrt_knows_passes() {
        let mut layer = super::super::defaults();
        layer["ssl"]["cert_file"] = json!("cert.pem");
        layer["ssl"]["key_file"] = json!("key.pem");
        layer["node_version"] = json!("v0.4.12");
        layer["redis"]["sentinels"] = json!(["10.0.0.5:26379"]);
        layer["redis"]["master_name"] = json!("mymaster");
        assert_eq!(warnings(layer), Vec::<String>::new());
    }

    #[test]
    fn a_near_miss_at_the_top_gets_a_suggestion() {
        assert_eq!(
            warnings(json!({"prot": 4000})),
            ["config/app.json: prot: unknown key; did you mean `port`?"]
        );
        assert_eq!(
            warnings(json!({"heap_limit": 512, "Store": "redis"})),
            [
                "config/app.json: Store: unknown key; did you mean `store`?",
                "config/app.json: heap_limit: unknown key; did you mean `heap_limit_mb`?",
            ]
        );
    }

    #[test]
    fn the_apps_own_top_level_keys_pass() {
        let layer =
            json!({"db": {}, "twitter": {}, "sql": {}, "app": {}, "custom": 1, "host": "x"});
        assert_eq!(warnings(layer), Vec::<String>::new());
    }

    #[test]
    fn unknown_keys_inside_ssrts_objects_are_named() {
        assert_eq!(
            warnings(json!({"redis": {"hots": "10.0.0.1"}})),
            ["config/app.json: redis.hots: unknown key; did you mean `redis.host`?"]
        );
        assert_eq!(
            warnings(json!({"api": {"auth": {"basic": {"module": "auth"}}}})),
            [
                "config/app.json: api.auth.basic.module: unknown key, which ssrt ignores \
                 (it knows module_name, realm)"
            ]
        );
        assert_eq!(
            warnings(json!({"websocket": {"max_mesage_bytes": 2048}, "log": {"lvl": 2}})),
            [
                "config/app.json: log.lvl: unknown key, which ssrt ignores (it knows level)",
                "config/app.json: websocket.max_mesage_bytes: unknown key; \
                 did you mean `websocket.max_message_bytes`?",
            ]
        );
    }

    #[test]
    fn objects_ssrt_does_not_type_are_not_checked_inside() {
        let layer = json!({
            "client": {"anything": 1},
            "users": {"online": {"whatever": true}},
            "redis": {"options": {"no_ready_check": true}}
        });
        assert_eq!(warnings(layer), Vec::<String>::new());
    }
}
