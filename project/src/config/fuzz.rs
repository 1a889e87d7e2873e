//! Property-based fuzzing of configuration (docs/fuzzing.md): deep merging
//! does what `merge` promises, and any config files, however wrong, load or
//! give a [`ConfigError`] that names what to fix, never a panic.

use super::*;
use proptest::prelude::*;
use proptest::sample::select;
use std::fs;

/// Any JSON value a few levels deep; strings from a small alphabet so that
/// keys of different layers meet.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from), // NaN and infinities become null
        "[a-c]{0,2}".prop_map(Value::String),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-c]{0,2}", inner), 0..5)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// Any JSON object.
fn json_object() -> impl Strategy<Value = Value> {
    prop::collection::vec(("[a-c]{0,2}", json_value()), 0..5)
        .prop_map(|fields| Value::Object(fields.into_iter().collect()))
}

/// Values at the edges of what ssrt's settings accept: ports around 0 and
/// 65535, sizes around 1024, timeouts around 0 and 1e9, numbers serde
/// cannot make a `u16`/`u64`/`usize` of, the store names, lists of origins,
/// and plain wrong types.
fn edge_value() -> impl Strategy<Value = Value> {
    let edges = select(vec![
        json!(0),
        json!(1),
        json!(-1),
        json!(0.5),
        json!(-0.0),
        json!(255),
        json!(256),
        json!(1023),
        json!(1024),
        json!(3000.0),
        json!(65535),
        json!(65536),
        json!(1e9),
        json!(1_000_000_001),
        json!(1e300),
        json!(u64::MAX),
        json!(i64::MIN),
        json!("auto"),
        json!("redis"),
        json!("embedded"),
        json!(""),
        json!("0.0.0.0"),
        json!([]),
        json!({}),
        json!(["*"]),
        json!(["https://a.example", 7]),
        json!([3]),
        json!(["127.0.0.1:26379"]),
        json!("mymaster"),
        json!({"level": 2}),
        Value::Null,
        json!(true),
        json!(false),
    ]);
    prop_oneof![3 => edges, 1 => json_value()]
}

/// Every key path ssrt knows (objects and leaves, from the defaults, and
/// those read without a default), and two an app may use or misspell.
fn known_paths() -> Vec<Vec<String>> {
    fn walk(value: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        if let Value::Object(fields) = value {
            for (key, value) in fields {
                path.push(key.clone());
                out.push(path.clone());
                walk(value, path, out);
                path.pop();
            }
        }
    }
    let mut paths = Vec::new();
    walk(&defaults(), &mut Vec::new(), &mut paths);
    for extra in [
        "ssl.cert_file",
        "ssl.key_file",
        "node_version",
        "redis.sentinels",
        "redis.master_name",
        "db.host",
        "prot",
    ] {
        paths.push(extra.split('.').map(str::to_owned).collect());
    }
    paths
}

/// Sets `path` in `object`, making (or replacing with) objects on the way.
fn set(object: &mut Value, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut here = object;
    for key in parents {
        if !here.is_object() {
            *here = json!({});
        }
        here = here
            .as_object_mut()
            .unwrap()
            .entry(key.clone())
            .or_insert_with(|| json!({}));
    }
    if !here.is_object() {
        *here = json!({});
    }
    here.as_object_mut().unwrap().insert(last.clone(), value);
}

/// The keys whose ranges `check::settings` checks beyond their types.
const RANGED: [&str; 10] = [
    "port",
    "redis.port",
    "action_timeout",
    "shutdown_timeout",
    "heap_limit_mb",
    "websocket.write_timeout",
    "websocket.ping_interval",
    "websocket.idle_timeout",
    "websocket.max_message_bytes",
    "websocket.outbound_queue_bytes",
];

/// A key path to set: any ssrt knows, or one it checks the range of.
fn setting_path() -> impl Strategy<Value = Vec<String>> {
    let ranged = RANGED.map(|key| key.split('.').map(str::to_owned).collect::<Vec<_>>());
    prop_oneof![select(known_paths()), select(ranged.to_vec())]
}

/// A config file's contents: mostly ssrt's own keys set to edge values,
/// sometimes any object at all.
fn config_layer() -> impl Strategy<Value = Value> {
    let settings = prop::collection::vec((setting_path(), edge_value()), 0..5).prop_map(|sets| {
        let mut layer = json!({});
        for (path, value) in sets {
            set(&mut layer, &path, value);
        }
        layer
    });
    prop_oneof![4 => settings, 1 => json_object()]
}

fn environment() -> impl Strategy<Value = &'static str> {
    select(&["development", "production", "staging"][..])
}

/// `path` in `value`, if there.
fn lookup<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(value, |value, key| value.get(key))
}

/// Every value that is not an object, with its path.
fn leaves(value: &Value) -> Vec<(Vec<String>, Value)> {
    fn walk(value: &Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, Value)>) {
        match value {
            Value::Object(fields) => {
                for (key, value) in fields {
                    path.push(key.clone());
                    walk(value, path, out);
                    path.pop();
                }
            }
            other => out.push((path.clone(), other.clone())),
        }
    }
    let mut out = Vec::new();
    walk(value, &mut Vec::new(), &mut out);
    out
}

/// Whether merging `layer` leaves what is at `path` alone: the layer does
/// not reach it, because on the way it lacks a key, without replacing an
/// object on the way by something else.
fn untouched(layer: &Value, path: &[String]) -> bool {
    let mut here = layer;
    for key in path {
        match here {
            Value::Object(fields) => match fields.get(key) {
                Some(value) => here = value,
                None => return true,
            },
            _ => return false,
        }
    }
    false
}

/// The value at a dotted key as errors print it: `websocket.allowed_origins[1]`.
fn at_key<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    key.split('.').try_fold(value, |value, step| {
        let mut parts = step.split('[');
        let name = parts.next().unwrap_or_default();
        let mut here = value.get(name)?;
        for index in parts {
            here = here.get(index.strip_suffix(']')?.parse::<usize>().ok()?)?;
        }
        Some(here)
    })
}

fn merged(base: &Value, layer: &Value) -> Value {
    let mut base = base.clone();
    merge(&mut base, layer.clone());
    base
}

/// Objects whose keys `o1`, `o2` always hold objects and `l1`, `l2` never
/// do: layers of one shape, as config files of one app are.
fn shaped() -> impl Strategy<Value = Value> {
    let scalar = || {
        prop::option::of(prop_oneof![
            Just(Value::Null),
            any::<i8>().prop_map(Value::from),
            "[a-c]{0,2}".prop_map(Value::String),
            Just(json!([1, 2])),
        ])
    };
    let object = |fields: [(&str, Option<Value>); 4]| {
        Value::Object(
            fields
                .into_iter()
                .filter_map(|(key, value)| Some((key.to_owned(), value?)))
                .collect(),
        )
    };
    (scalar(), scalar())
        .prop_map(move |(l1, l2)| object([("l1", l1), ("l2", l2), ("o1", None), ("o2", None)]))
        .prop_recursive(3, 24, 2, move |inner| {
            (
                scalar(),
                scalar(),
                prop::option::of(inner.clone()),
                prop::option::of(inner),
            )
                .prop_map(move |(l1, l2, o1, o2)| {
                    object([("l1", l1), ("l2", l2), ("o1", o1), ("o2", o2)])
                })
        })
}

proptest! {
    /// Merging an empty object changes no object, and a value merged with
    /// itself is that value.
    #[test]
    fn merging_nothing_or_itself_is_identity(a in json_object(), any in json_value()) {
        prop_assert_eq!(&merged(&a, &json!({})), &a);
        prop_assert_eq!(&merged(&any, &any), &any);
        prop_assert_eq!(&merged(&a, &a), &a);
    }

    /// After `merge(a, b)`: every value `b` sets is `b`'s; every value of
    /// `a` that `b` does not reach is `a`'s; nothing else is there.
    #[test]
    fn the_later_layer_wins_and_the_rest_is_kept(a in json_value(), b in json_value()) {
        let result = merged(&a, &b);
        for (path, value) in leaves(&b) {
            prop_assert_eq!(lookup(&result, &path), Some(&value), "b's {:?}", path);
        }
        for (path, value) in leaves(&a) {
            if untouched(&b, &path) {
                prop_assert_eq!(lookup(&result, &path), Some(&value), "a's {:?}", path);
            }
        }
        for (path, value) in leaves(&result) {
            let from = |layer: &Value| lookup(layer, &path) == Some(&value);
            prop_assert!(from(&b) || from(&a), "{:?} = {} came from nowhere", path, value);
        }
    }

    /// For layers of one shape (a key holds an object in every layer or in
    /// none), the order of merging does not matter, only the order of the
    /// layers: `(a + b) + c == a + (b + c)`. See
    /// `merging_is_not_associative_when_a_layer_replaces_an_object` for
    /// the other case.
    #[test]
    fn merging_layers_of_one_shape_is_associative(
        a in shaped(),
        b in shaped(),
        c in shaped(),
    ) {
        prop_assert_eq!(merged(&merged(&a, &b), &c), merged(&a, &merged(&b, &c)));
    }

    /// Any files over the defaults and a preset: settings, or an
    /// `InvalidSetting` naming a key and a file that sets it; never a panic.
    /// Settings that pass hold the merged values, in the ranges the check
    /// promises. The misspelt-key warnings never panic either.
    #[test]
    fn any_layers_give_settings_or_a_config_error(
        env in environment(),
        files in prop::collection::vec(config_layer(), 0..=2),
    ) {
        let names = [
            PathBuf::from("config/app.json"),
            PathBuf::from(format!("config/environments/{env}.json")),
        ];
        let mut layers = vec![
            Layer { file: None, value: defaults() },
            Layer { file: None, value: preset(env) },
        ];
        for (value, name) in files.into_iter().zip(&names) {
            layers.push(Layer { file: Some(name.clone()), value });
        }
        let mut all = json!({});
        for layer in &layers {
            merge(&mut all, layer.value.clone());
        }
        match check::settings(&all, &layers) {
            Ok(settings) => {
                prop_assert_eq!(&json!(settings.port), &all["port"]);
                prop_assert_eq!(&json!(settings.hostname), &all["hostname"]);
                prop_assert_eq!(&json!(settings.redis.port), &all["redis"]["port"]);
                prop_assert_eq!(&json!(settings.websocket.max_message_bytes),
                    &all["websocket"]["max_message_bytes"]);
                prop_assert_eq!(Some(settings.action_timeout), all["action_timeout"].as_f64());
                let timeouts = [
                    settings.action_timeout,
                    settings.shutdown_timeout,
                    settings.websocket.write_timeout,
                    settings.websocket.ping_interval,
                    settings.websocket.idle_timeout,
                ];
                prop_assert!(timeouts.iter().all(|t| *t > 0.0 && *t <= 1e9), "{timeouts:?}");
                prop_assert!(settings.heap_limit_mb >= 256);
                prop_assert!(settings.websocket.max_message_bytes >= 1024);
                prop_assert!(settings.websocket.outbound_queue_bytes >= 1024);
                prop_assert!(settings.redis.port != 0);
            }
            Err(ConfigError::InvalidSetting { file, key, message }) => {
                prop_assert!(!key.is_empty() && !message.is_empty());
                // The file named is the last layer to set the key, whose
                // value is the one in effect (`None`: ssrt's own layers).
                let last = layers.iter().rev().find(|l| at_key(&l.value, &key).is_some());
                prop_assert_eq!(file, last.and_then(|l| l.file.clone()), "{}", key);
            }
            Err(other) => prop_assert!(false, "{other}"),
        }
        for layer in &layers {
            if let Some(file) = &layer.file {
                for warning in keys::unknown(file, &layer.value) {
                    prop_assert!(!warning.to_string().is_empty());
                }
            }
        }
    }

    /// `Config::load` on files with any contents: JSON objects, other JSON,
    /// or text that is not JSON. A file that is not JSON is `InvalidJson`,
    /// JSON that is not an object `NotAnObject` (the first file in merge
    /// order decides); otherwise settings or `InvalidSetting`, and a
    /// loaded config shows every value the environment file sets.
    #[test]
    fn config_files_with_any_contents_load_or_say_why(
        env in environment(),
        app in prop::option::of(file_text()),
        environment in prop::option::of(file_text()),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let app_path = dir.path().join("config/app.json");
        let env_path = dir.path().join(format!("config/environments/{env}.json"));
        let files = [(&app_path, &app), (&env_path, &environment)];
        for (path, text) in files {
            if let Some(text) = text {
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                fs::write(path, text).unwrap();
            }
        }
        let outcome = Config::load(dir.path(), env);
        let first_bad = files.iter().find_map(|(path, text)| {
            let value = serde_json::from_str::<Value>(text.as_deref()?);
            match value {
                Err(_) => Some(("InvalidJson", path.to_path_buf())),
                Ok(value) if !value.is_object() => Some(("NotAnObject", path.to_path_buf())),
                Ok(_) => None,
            }
        });
        match (&outcome, first_bad) {
            (Err(ConfigError::InvalidJson { path, .. }), Some(("InvalidJson", bad)))
            | (Err(ConfigError::NotAnObject { path }), Some(("NotAnObject", bad))) => {
                prop_assert_eq!(path, &bad);
            }
            (Err(ConfigError::InvalidSetting { .. }), None) => {}
            (Ok(config), None) => {
                if let Some(text) = &environment {
                    let layer: Value = serde_json::from_str(text).unwrap();
                    for (path, value) in leaves(&layer) {
                        prop_assert_eq!(lookup(&config.value, &path), Some(&value));
                    }
                }
            }
            (outcome, bad) => prop_assert!(false, "{outcome:?} for {bad:?}"),
        }
        if let Err(e) = outcome {
            prop_assert!(!e.to_string().is_empty());
        }
    }
}

/// A config file's text: a layer, any JSON, or JSON with a character cut out
/// or put in.
fn file_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => config_layer().prop_map(|value| value.to_string()),
        1 => json_value().prop_map(|value| value.to_string()),
        1 => (config_layer(), any::<prop::sample::Index>(), any::<char>()).prop_map(
            |(value, at, c)| {
                let mut text: Vec<char> = value.to_string().chars().collect();
                let at = at.index(text.len() + 1);
                if at < text.len() && c.is_ascii_digit() {
                    text.remove(at);
                } else {
                    text.insert(at, c);
                }
                text.into_iter().collect()
            }
        ),
    ]
}

/// A layer that sets a key to a scalar wipes out the object earlier layers
/// built there, and a later object starts afresh: so merge order is the
/// layers' order (defaults, preset, app.json, the environment's file), and
/// grouping them differently would give another config.
#[test]
fn merging_is_not_associative_when_a_layer_replaces_an_object() {
    let a = json!({"db": {"host": "a", "port": 1}});
    let b = json!({"db": false});
    let c = json!({"db": {"port": 2}});
    assert_eq!(merged(&merged(&a, &b), &c), json!({"db": {"port": 2}}));
    assert_eq!(
        merged(&a, &merged(&b, &c)),
        json!({"db": {"host": "a", "port": 2}})
    );
}
