//! Property-based fuzzing of the wire protocol (docs/fuzzing.md): whatever a
//! browser, or anything else that reaches `/ws`, sends, `parse` answers with
//! a frame or a typed error and never panics; frames built here are JSON that
//! reads back as what went in.
//!
//! The strategies are `pub(crate)` so that the HTTP API's properties
//! (`api/fuzz.rs`) share them.

use super::*;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Every code `parse` may answer a bad frame with (SPEC 3).
const CODES: [&str; 3] = [
    "unable_to_parse_message",
    "missing_message_type",
    "invalid_message_type",
];

/// Words a frame is made of, so that generated JSON hits the fields `parse`
/// looks at, not only keys it ignores.
fn frame_word() -> impl Strategy<Value = String> {
    select(
        &[
            "type", "server", "method", "params", "options", "cb_id", "system", "event", "", "null",
        ][..],
    )
    .prop_map(str::to_owned)
}

/// Any string, with extra weight on what JSON and URLs escape or misread:
/// quotes, backslashes, control characters, the line separators JavaScript
/// once choked on, a BOM, noncharacters, astral characters, `%`, `+`, `=`.
/// (A Rust string cannot hold a lone surrogate; `json_text` sends those.)
pub(crate) fn tricky_string() -> impl Strategy<Value = String> {
    let tricky = prop_oneof![
        select(
            &[
                '"', '\\', '/', '\0', '\n', '\r', '\t', '\u{8}', '\u{c}', '\u{1f}', '\u{7f}',
                '\u{2028}', '\u{2029}', '\u{feff}', '\u{fffd}', '\u{ffff}', '😀', 'é', ' ', '%',
                '+', '&', '=', ':', ';', '.', '?', '#', 'a', 'Z', '0',
            ][..]
        ),
        any::<char>(),
    ];
    prop_oneof![
        any::<String>(),
        prop::collection::vec(tricky, 0..24).prop_map(|chars| chars.into_iter().collect()),
        frame_word(),
    ]
}

/// Any JSON value, a few levels deep, with the numbers at the edges of what
/// serde_json keeps exactly (`u64::MAX`, `i64::MIN`, subnormals).
pub(crate) fn json_value() -> impl Strategy<Value = Value> {
    use prop::num::f64::{NEGATIVE, NORMAL, POSITIVE, SUBNORMAL, ZERO};
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Finite only: JSON has no NaN or infinity.
        (POSITIVE | NEGATIVE | NORMAL | SUBNORMAL | ZERO).prop_map(Value::from),
        tricky_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let key = prop_oneof![3 => frame_word(), 1 => tricky_string()];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key, inner), 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// JSON literals: mostly valid (numbers past `f64` and `u64`, surrogate
/// escapes lone, swapped and paired, characters JSON need not escape), some
/// not (leading zeros, `NaN`, bad escapes, raw control characters).
fn json_literal() -> impl Strategy<Value = String> {
    let valid = select(
        &[
            "\"server\"",
            "\"app.square\"",
            "null",
            "true",
            "false",
            "0",
            "-0",
            "25",
            "1e999999",
            "-1e999999",
            "1e-999999",
            "18446744073709551616",
            "-9223372036854775809",
            "123456789012345678901234567890.5e10",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"\\udc00\\ud800\"",
            "\"\\ud83d\\ude00\"",
            "\"\\uD800x\"",
            "\"\u{7f}\"",
            "\"\u{2028}\"",
            "\"\\u0000\"",
            "[]",
            "{}",
        ][..],
    );
    let invalid = select(
        &[
            "01",
            "1.",
            ".5",
            "+1",
            "NaN",
            "Infinity",
            "\"\\u12\"",
            "\"\\x\"",
            "\"\t\"",
            "\"\u{0}\"",
        ][..],
    );
    prop_oneof![4 => valid, 1 => invalid].prop_map(str::to_owned)
}

/// Pieces of JSON text: structure, the frame's keys, literals (see
/// `json_literal`), stray quotes and backslashes, non-JSON spaces.
fn json_token() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(&[
            "{", "}", "[", "]", ":", ",", " ", "\n", "\"type\"", "\"method\"", "\"params\"",
            "\"options\"", "\"cb_id\"", "\"", "\\", "\u{feff}", "\u{a0}",
        ][..])
        .prop_map(str::to_owned),
        2 => json_literal(),
        1 => any::<char>().prop_map(String::from),
    ]
}

/// Text a socket may receive: anything at all, a soup of JSON tokens, a
/// call whose fields hold odd literals, or a JSON value with one character
/// cut out or put in.
fn any_text() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        6 => frame_word().prop_map(|word| json_string(&word)),
        1 => json_literal(),
    ];
    let value = prop_oneof![
        6 => json_literal(),
        1 => json_value().prop_map(|value| value.to_string()),
        1 => prop::collection::vec(json_token(), 1..4).prop_map(|tokens| tokens.concat()),
    ];
    let field = (key, value).prop_map(|(key, value)| format!("{key}:{value}"));
    prop_oneof![
        1 => any::<String>(),
        1 => prop::collection::vec(json_token(), 0..48).prop_map(|tokens| tokens.concat()),
        3 => prop::collection::vec(field, 0..4)
            .prop_map(|fields| format!(r#"{{"type":"server",{}}}"#, fields.join(","))),
        1 => (json_value(), any::<prop::sample::Index>(), any::<char>(), any::<bool>()).prop_map(
            |(value, at, c, insert)| {
                let text = value.to_string();
                let mut chars: Vec<char> = text.chars().collect();
                let at = at.index(chars.len() + 1);
                if insert {
                    chars.insert(at, c);
                } else if at < chars.len() {
                    chars.remove(at);
                }
                chars.into_iter().collect()
            }
        ),
    ]
}

/// A frame-like JSON value: mostly objects, so that `type` and the other
/// fields are there to be read.
fn json_frame() -> impl Strategy<Value = Value> {
    let key = prop_oneof![3 => frame_word(), 1 => tricky_string()];
    prop_oneof![
        1 => json_value(),
        3 => prop::collection::vec((key, json_value()), 0..6)
            .prop_map(|fields| Value::Object(fields.into_iter().collect())),
    ]
}

/// What a parse came to, owned, to compare with what was expected:
/// method, then the raw JSON of params, options and cb_id.
type Outcome = Result<(String, Option<String>, Option<String>, Option<String>), FrameError>;

fn outcome(text: &str) -> Outcome {
    let raw = |value: Option<&RawValue>| value.map(|v| v.get().to_owned());
    parse(text).map(|frame| {
        (
            frame.method.into_owned(),
            raw(frame.params),
            raw(frame.options),
            raw(frame.cb_id),
        )
    })
}

/// What SPEC 3 says `value`, sent as a frame, comes to. A model, written
/// from the spec rather than from `parse`.
fn expected(value: &Value) -> Outcome {
    let Value::Object(fields) = value else {
        return Err(FrameError::MissingType);
    };
    let stringy = |key| matches!(fields.get(key), None | Some(Value::Null | Value::String(_)));
    if !stringy("type") || !stringy("method") {
        return Err(FrameError::InvalidType("(malformed fields)".into()));
    }
    // A field's raw JSON is what serializing it alone gives: the frame was
    // serialized by the same serializer.
    let raw = |key| {
        fields
            .get(key)
            .filter(|v| !v.is_null())
            .map(Value::to_string)
    };
    match fields.get("type").and_then(Value::as_str) {
        None => Err(FrameError::MissingType),
        Some("server") => Ok((
            fields
                .get("method")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            raw("params"),
            raw("options"),
            raw("cb_id"),
        )),
        Some(other) => Err(FrameError::InvalidType(other.to_owned())),
    }
}

/// JSON's own whitespace, to put between tokens.
fn json_space() -> impl Strategy<Value = &'static str> {
    select(&["", "", " ", "\t", "\n", "\r\n", "  "][..])
}

proptest! {
    /// Anything at all: a frame or one of the three codes, never a panic,
    /// and the error frame sent back for it is JSON too. A frame that
    /// parses is a JSON object whose fields say what `parse` read (checked
    /// against serde reading the same text as a plain map).
    #[test]
    fn any_text_parses_or_gets_a_typed_error(text in any_text()) {
        match parse(&text) {
            Err(e) => {
                prop_assert!(CODES.contains(&e.code()), "{e:?}");
                let reply: Value = serde_json::from_str(&error(e.code(), &e.message()))
                    .expect("the error frame is JSON");
                prop_assert_eq!(&reply["params"][0], e.code());
            }
            Ok(frame) => {
                let start = text.trim_start_matches(JSON_WHITESPACE).chars().next();
                prop_assert_eq!(start, Some('{'));
                let fields: BTreeMap<String, &RawValue> = serde_json::from_str(&text)
                    .expect("a frame that parsed is a JSON object");
                let string = |key: &str| {
                    fields
                        .get(key)
                        .filter(|v| v.get() != "null")
                        .map(|v| serde_json::from_str::<String>(v.get()).expect("a string"))
                };
                let raw = |key: &str| fields.get(key).map(|v| v.get()).filter(|v| *v != "null");
                prop_assert_eq!(string("type"), Some("server".to_owned()));
                prop_assert_eq!(string("method").unwrap_or_default(), frame.method);
                prop_assert_eq!(raw("params"), frame.params.map(RawValue::get));
                prop_assert_eq!(raw("options"), frame.options.map(RawValue::get));
                prop_assert_eq!(raw("cb_id"), frame.cb_id.map(RawValue::get));
            }
        }
    }

    /// Any JSON value as a frame: exactly what the spec says, field by field
    /// (see `expected`).
    #[test]
    fn any_json_value_gets_the_spec_answer(
        value in json_frame(),
        kind in prop::option::of(prop_oneof![Just("server".to_owned()), tricky_string()]),
    ) {
        // Most objects are given a `type`, so that calls and unknown types
        // are common too.
        let mut value = value;
        if let (Some(kind), Value::Object(fields)) = (kind, &mut value) {
            fields.insert("type".into(), Value::String(kind));
        }
        prop_assert_eq!(outcome(&value.to_string()), expected(&value));
    }

    /// Nesting far past serde_json's recursion limit (128), in every place a
    /// frame can hold it: an error or a frame, never a stack overflow (which
    /// would abort the whole server, not just fail one call).
    #[test]
    fn deep_nesting_never_overflows(
        depth in 1usize..50_000,
        object in any::<bool>(),
        place in select(&["top", "type", "method", "params", "options", "cb_id", "other"][..]),
    ) {
        let (open, close) = if object { ("{\"a\":", "}") } else { ("[", "]") };
        let nested = format!("{}1{}", open.repeat(depth), close.repeat(depth));
        let text = match place {
            "top" => nested.clone(),
            "type" => format!(r#"{{"type":{nested}}}"#),
            _ => format!(r#"{{"type":"server","method":"a.b","{place}":{nested}}}"#),
        };
        let outcome = outcome(&text);
        let nested = Some(nested);
        match (place, &outcome) {
            // serde_json skips values it does not look into without recursing.
            ("params", Ok((_, params, _, _))) => prop_assert_eq!(params, &nested),
            ("options", Ok((_, _, options, _))) => prop_assert_eq!(options, &nested),
            ("cb_id", Ok((_, _, _, cb_id))) => prop_assert_eq!(cb_id, &nested),
            ("params" | "options" | "cb_id", Err(e)) => prop_assert!(false, "{e:?}"),
            ("other", _) => prop_assert!(outcome.is_ok(), "{outcome:?}"),
            ("top", _) => prop_assert_eq!(outcome, Err(FrameError::MissingType)),
            _ => prop_assert_eq!(
                outcome,
                Err(FrameError::InvalidType("(malformed fields)".into()))
            ),
        }
    }

    /// A call frame as a browser may send it, with any method, params,
    /// options and cb_id, its fields in any order and JSON whitespace
    /// anywhere: `parse` gives back what was encoded.
    #[test]
    fn a_call_frame_round_trips(
        method in tricky_string(),
        params in json_value(),
        options in prop::option::of(json_value()),
        cb_id in prop_oneof![
            any::<u32>().prop_map(Value::from),
            any::<u32>().prop_map(|n| Value::String(n.to_string())),
            json_value(),
        ],
        order in Just((0..5).collect::<Vec<usize>>()).prop_shuffle(),
        spaces in prop::collection::vec(json_space(), 32),
    ) {
        let fields = [
            ("type", json_string("server")),
            ("method", json_string(&method)),
            ("params", params.to_string()),
            ("cb_id", cb_id.to_string()),
            ("options", options.as_ref().map_or("null".into(), Value::to_string)),
        ];
        let mut space = spaces.iter().cycle();
        let mut text = format!("{}{{", space.next().unwrap());
        for (n, &i) in order.iter().enumerate() {
            let (key, value) = &fields[i];
            if n > 0 {
                text.push(',');
            }
            let mut s = || *space.next().unwrap();
            text.push_str(&format!(r#"{}"{key}"{}:{}{value}{}"#, s(), s(), s(), s()));
        }
        text.push('}');
        text.push_str(space.next().unwrap());

        let given = |value: &Value| (!value.is_null()).then(|| value.to_string());
        prop_assert_eq!(
            outcome(&text),
            Ok((
                method,
                given(&params),
                options.as_ref().and_then(given),
                given(&cb_id),
            ))
        );
    }

    /// `json_string` is a JSON string literal of exactly its input, on one
    /// line: no character JSON forbids raw (below U+0020) is left raw. DEL
    /// and C1 controls may stay; JSON allows them.
    #[test]
    fn json_string_round_trips(text in tricky_string()) {
        let literal = json_string(&text);
        prop_assert!(!literal.chars().any(|c| c < ' '), "{literal:?}");
        prop_assert_eq!(serde_json::from_str::<String>(&literal).unwrap(), text);
    }

    /// Every frame the server builds is JSON holding exactly the strings and
    /// values it was built from.
    #[test]
    fn built_frames_read_back(
        name in tricky_string(),
        text in tricky_string(),
        params in json_value(),
        options in json_value(),
        cb_id in json_value(),
    ) {
        let read = |frame: String| serde_json::from_str::<Value>(&frame).unwrap();
        let params_json = params.to_string();
        prop_assert_eq!(
            read(error(&name, &text)),
            json!({"type": "system", "method": "error", "params": [name, text]})
        );
        prop_assert_eq!(
            read(system(&name, &params_json)),
            json!({"type": "system", "method": name, "params": params})
        );
        prop_assert_eq!(
            read(event(&name, &params_json, None)),
            json!({"type": "event", "event": name, "params": params})
        );
        prop_assert_eq!(
            read(event(&name, &params_json, Some(&text))),
            json!({"type": "event", "event": name, "params": params, "destination": text})
        );
        let reply_frame = reply(&cb_id.to_string(), &params_json, &options.to_string());
        prop_assert_eq!(
            read(reply_frame.clone()),
            json!({"type": "server", "cb_id": cb_id, "params": params, "options": options})
        );
        // A reply is a `server` frame too, and `parse` reads its parts back.
        let given = |value: &Value| (!value.is_null()).then(|| value.to_string());
        prop_assert_eq!(
            outcome(&reply_frame),
            Ok((String::new(), given(&params), given(&options), given(&cb_id)))
        );
    }
}
