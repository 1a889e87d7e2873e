//! The browser ⇄ server wire protocol (SPEC 3): JSON text frames, parsed and
//! built here and nowhere else.

use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// A frame from the browser that asks for something.
#[derive(Debug)]
pub struct CallFrame<'a> {
    pub method: Cow<'a, str>,
    /// `None` for absent or `null` params; `0`, `false` and `""` are params.
    pub params: Option<&'a RawValue>,
    pub options: Option<&'a RawValue>,
    pub cb_id: Option<&'a RawValue>,
}

/// Why an incoming frame was refused; sent back as a system error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    UnableToParse,
    MissingType,
    InvalidType(String),
}

impl FrameError {
    pub fn code(&self) -> &'static str {
        match self {
            FrameError::UnableToParse => "unable_to_parse_message",
            FrameError::MissingType => "missing_message_type",
            FrameError::InvalidType(_) => "invalid_message_type",
        }
    }

    pub fn message(&self) -> String {
        match self {
            FrameError::UnableToParse => "Unable to parse incoming message: it is not JSON".into(),
            FrameError::MissingType => "Incoming message has no 'type'".into(),
            FrameError::InvalidType(kind) => format!("Invalid message type '{kind}'"),
        }
    }
}

#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
    #[serde(borrow, default)]
    options: Option<&'a RawValue>,
    #[serde(borrow, default)]
    cb_id: Option<&'a RawValue>,
}

/// What JSON allows around values (RFC 8259): not every Unicode space.
const JSON_WHITESPACE: [char; 4] = [' ', '\t', '\n', '\r'];

/// What a browser's text frame is.
#[derive(Debug)]
pub enum Inbound<'a> {
    /// `{"type":"server",…}`: call an action.
    Call(CallFrame<'a>),
    /// `{"type":"heartbeat"}`: the later API's client is still there.
    Heartbeat,
}

/// Reads a text frame from the browser.
pub fn read(text: &str) -> Result<Inbound<'_>, FrameError> {
    let frame: Frame = serde_json::from_str(text).map_err(|e| {
        if e.is_data() && text.trim_start().starts_with('{') {
            FrameError::InvalidType("(malformed fields)".into())
        } else if e.is_data() {
            FrameError::MissingType
        } else {
            FrameError::UnableToParse
        }
    })?;
    // serde also reads a struct from a JSON array (`["server","a.b",25]`);
    // frames are objects (SPEC 3), and an array has no `type`.
    if !text.trim_start_matches(JSON_WHITESPACE).starts_with('{') {
        return Err(FrameError::MissingType);
    }
    match frame.kind.as_deref() {
        None => Err(FrameError::MissingType),
        Some("server") => Ok(Inbound::Call(CallFrame {
            method: frame.method.unwrap_or_default(),
            params: frame.params.filter(|p| p.get() != "null"),
            options: frame.options,
            cb_id: frame.cb_id,
        })),
        Some("heartbeat") => Ok(Inbound::Heartbeat),
        Some(other) => Err(FrameError::InvalidType(other.to_owned())),
    }
}

/// Reads a frame that must be a call.
pub fn parse(text: &str) -> Result<CallFrame<'_>, FrameError> {
    match read(text)? {
        Inbound::Call(frame) => Ok(frame),
        Inbound::Heartbeat => Err(FrameError::InvalidType("heartbeat".into())),
    }
}

/// `{"type":"system","method":<method>,"params":<params>}`; `params` is JSON.
pub fn system(method: &str, params: &str) -> String {
    format!(
        r#"{{"type":"system","method":{},"params":{params}}}"#,
        json_string(method)
    )
}

/// The answer to a call: `{"type":"server","cb_id":…,"params":…,"options":…}`.
pub fn reply(cb_id: &str, params: &str, options: &str) -> String {
    format!(r#"{{"type":"server","cb_id":{cb_id},"params":{params},"options":{options}}}"#)
}

/// An error for the browser console.
pub fn error(code: &str, message: &str) -> String {
    system(
        "error",
        &format!("[{},{}]", json_string(code), json_string(message)),
    )
}

/// A pushed event: `{"type":"event","event":…,"params":…}`; `params` is JSON.
/// With a `destination` (the later API's user or channel) it ends
/// `,"destination":…}`.
pub fn event(name: &str, params: &str, destination: Option<&str>) -> String {
    let name = json_string(name);
    match destination {
        None => format!(r#"{{"type":"event","event":{name},"params":{params}}}"#),
        Some(to) => format!(
            r#"{{"type":"event","event":{name},"params":{params},"destination":{}}}"#,
            json_string(to)
        ),
    }
}

/// `text` as a JSON string literal.
pub(crate) fn json_string(text: &str) -> String {
    serde_json::to_string(text).expect("strings always serialise")
}

#[cfg(test)]
pub(crate) mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn a_call_frame_keeps_its_raw_parts() {
        let frame = parse(
            r#"{"type":"server","method":"app.square","params":25,"options":null,"cb_id":"8231"}"#,
        )
        .unwrap();
        assert_eq!(frame.method, "app.square");
        assert_eq!(frame.params.unwrap().get(), "25");
        assert_eq!(frame.cb_id.unwrap().get(), r#""8231""#);
    }

    #[test]
    fn null_is_no_params_but_falsy_values_are_params() {
        let params = |p: &str| {
            let text = format!(r#"{{"type":"server","method":"a.b","params":{p}}}"#);
            parse(&text).unwrap().params.map(|p| p.get().to_owned())
        };
        assert_eq!(params("null"), None);
        assert_eq!(params("0").as_deref(), Some("0"));
        assert_eq!(params("false").as_deref(), Some("false"));
        assert_eq!(params(r#""""#).as_deref(), Some(r#""""#));
    }

    #[test]
    fn bad_frames_get_the_spec_error_codes() {
        assert_eq!(
            parse("not json").unwrap_err().code(),
            "unable_to_parse_message"
        );
        assert_eq!(
            parse(r#"{"method":"a.b"}"#).unwrap_err().code(),
            "missing_message_type"
        );
        assert_eq!(parse("[1,2]").unwrap_err().code(), "missing_message_type");
        // An array is no frame, even when serde could read one from it.
        assert_eq!(
            parse(r#"["server","app.square",25]"#).unwrap_err(),
            FrameError::MissingType
        );
        assert_eq!(
            parse(r#"{"type":"nope"}"#).unwrap_err().code(),
            "invalid_message_type"
        );
        assert!(matches!(
            read(r#"{"type":"heartbeat"}"#),
            Ok(Inbound::Heartbeat)
        ));
        assert_eq!(
            parse(r#"{"type":7}"#).unwrap_err().code(),
            "invalid_message_type"
        );
    }

    #[test]
    fn frames_built_here_are_valid_json() {
        let parsed: Value = serde_json::from_str(&reply(r#""7""#, "625", "null")).unwrap();
        assert_eq!(
            parsed,
            json!({"type":"server","cb_id":"7","params":625,"options":null})
        );
        let parsed: Value = serde_json::from_str(&error("code", "a \"quoted\"\nline")).unwrap();
        assert_eq!(
            parsed,
            json!({"type":"system","method":"error","params":["code","a \"quoted\"\nline"]})
        );
        let parsed: Value = serde_json::from_str(&event("newMessage", r#"{"a":1}"#, None)).unwrap();
        assert_eq!(
            parsed,
            json!({"type":"event","event":"newMessage","params":{"a":1}})
        );
    }
}
