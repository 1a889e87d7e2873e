//! Property-based fuzzing of the HTTP API's request handling
//! (docs/fuzzing.md): the path, decoded by axum's own router as in
//! `crate::router`, and the query string become a method and params, and an
//! `Authorization` header becomes credentials, without a panic for any input
//! and without losing or inventing anything for well-formed input.

use super::*;
use crate::protocol::fuzz::tricky_string;
use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use base64::Engine as _;
use futures_util::FutureExt as _;
use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, utf8_percent_encode};
use proptest::prelude::*;
use proptest::sample::select;
use tower::ServiceExt as _;

/// What a URL path must encode besides controls and non-ASCII: the rest is
/// left as a browser sends it, so that the router sees unencoded
/// punctuation too.
const PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'\\')
    .add(b'^')
    .add(b'|')
    .add(b'[')
    .add(b']');

/// How `call` reads a path: the route as the server mounts it (prefix
/// `api`), answering the stem, method and whether JSON was asked for.
fn router() -> Router {
    Router::new().route(
        "/api/{*path}",
        get(|Path(path): Path<String>| async move {
            let (stem, format) = route(&path);
            serde_json::to_string(&(stem, method_name(stem), format == Format::Json)).unwrap()
        }),
    )
}

/// What the API makes of `/api/<path>`: `None` when no request can carry
/// that URI or axum refuses it (not UTF-8 once decoded, no route).
fn request(path: &str) -> Option<(String, String, bool)> {
    let request = Request::get(format!("/api/{path}"))
        .body(Body::empty())
        .ok()?;
    let response = router()
        .oneshot(request)
        .now_or_never()
        .expect("the router answers at once")
        .unwrap();
    if response.status() != StatusCode::OK {
        return None;
    }
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .now_or_never()
        .expect("the body is there")
        .unwrap();
    Some(serde_json::from_slice(&body).unwrap())
}

/// The dispatcher's first check (`lookup` in js/runtime/05_dispatch.js): a file
/// and an action, and no empty part. A method that fails it is answered
/// `invalid_action_length` and looked up nowhere.
fn dispatchable(method: &str) -> bool {
    method.split('.').count() >= 2 && method.split('.').all(|part| !part.is_empty())
}

/// A name for one path segment: anything but `/` and `.`, not empty.
fn segment() -> impl Strategy<Value = String> {
    tricky_string()
        .prop_map(|s| s.replace(['/', '.'], ""))
        .prop_filter("a segment is not empty", |s| !s.is_empty())
}

/// Path pieces an attacker tries: dot segments, raw and percent-encoded in
/// either case, encoded slashes and backslashes, NUL, stray `%`, extensions.
fn traversal_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(&[
            "..", ".", "%2e%2e", "%2E%2e", ".%2e", "%2e.", "%2e", "%2F", "%2f", "..%2F..",
            "%2e%2e%2f", "%5C..%5C", "..\\..", "\\", "", "%00", "%", "%zz", "%ff", "%c0%ae",
            "...", ".json", ".html", "..json", "app", "square", "secret",
        ][..])
        .prop_map(str::to_owned),
        1 => segment().prop_map(|s| utf8_percent_encode(&s, PATH).to_string()),
    ]
}

/// The checks every path that reached an action must pass: the method has
/// no `/`, and a stem with an empty, `.` or `..` segment gives a method the
/// dispatcher refuses, so it cannot name anything outside `app/server`.
fn check_method(stem: &str, method: &str) -> Result<(), TestCaseError> {
    prop_assert!(!method.contains('/'), "{method:?}");
    let traverses = stem
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
        || stem.split(['/', '\\']).any(|s| s == "..");
    if !stem.is_empty() && traverses {
        prop_assert!(!dispatchable(method), "{stem:?} became {method:?}");
    }
    Ok(())
}

/// Base64 of `user:password`, as a browser sends it.
fn basic(scheme: &str, user: &str, password: &str) -> HeaderValue {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    HeaderValue::from_str(&format!("{scheme}{token}")).unwrap()
}

fn credentials(value: HeaderValue) -> Option<(String, String)> {
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, value);
    basic_credentials(&headers)
}

proptest! {
    /// Any path that makes a request: no panic, and the method keeps the
    /// promises of `check_method`.
    #[test]
    fn any_path_is_handled(path in prop_oneof![
        any::<String>(),
        tricky_string(),
        prop::collection::vec(traversal_piece(), 1..8).prop_map(|p| p.join("/")),
    ]) {
        if let Some((stem, method, _)) = request(&path) {
            check_method(&stem, &method)?;
        }
    }

    /// Paths built from dot segments, encoded slashes and the like, joined
    /// and suffixed in every way: never an action the dispatcher would look
    /// up unless every segment is a real name.
    #[test]
    fn traversal_never_reaches_a_lookup(
        pieces in prop::collection::vec(traversal_piece(), 1..8),
        separators in prop::collection::vec(select(&["/", "//", "%2F", "/./", "/../"][..]), 8),
        ext in select(&["", "/", ".json", ".html", ".json/", "/.json"][..]),
    ) {
        let mut path = String::new();
        for (n, piece) in pieces.iter().enumerate() {
            if n > 0 {
                path.push_str(separators[n]);
            }
            path.push_str(piece);
        }
        path.push_str(ext);
        if let Some((stem, method, _)) = request(&path) {
            check_method(&stem, &method)?;
        }
    }

    /// A method's segments, percent-encoded in a URL path as a browser or
    /// `curl` may encode them, decode back to that method and format.
    #[test]
    fn an_encoded_path_names_its_method(
        segments in prop::collection::vec(segment(), 2..5),
        every_byte in any::<bool>(),
        ext in select(&["", ".json", ".html", "/", ".json/"][..]),
    ) {
        let set = if every_byte { NON_ALPHANUMERIC } else { PATH };
        let path: Vec<String> = segments
            .iter()
            .map(|s| utf8_percent_encode(s, set).to_string())
            .collect();
        let (stem, method, json) = request(&format!("{}{ext}", path.join("/")))
            .expect("an encoded path is a request the API answers");
        prop_assert_eq!(stem, segments.join("/"));
        prop_assert_eq!(&method, &segments.join("."));
        prop_assert!(dispatchable(&method));
        prop_assert_eq!(json, ext.starts_with(".json"));
    }

    /// Any query string: no panic; without `=` it is one string param (or
    /// an error, when not UTF-8), with `=` an object of strings and of
    /// arrays of two or more strings.
    #[test]
    fn any_query_parses(query in prop_oneof![
        any::<String>(),
        tricky_string(),
        prop::collection::vec(
            prop_oneof![
                select(&["=", "&", "+", "%", "%2", "%3D", "%26", "%ff", "%c3%a9", "a", "a=1"][..])
                    .prop_map(str::to_owned),
                tricky_string(),
            ],
            0..12,
        )
        .prop_map(|p| p.concat()),
    ]) {
        match parse_params(&query) {
            Ok(Value::String(_)) => prop_assert!(!query.contains('=')),
            Ok(Value::Object(fields)) => {
                prop_assert!(query.contains('='));
                for value in fields.values() {
                    match value {
                        Value::String(_) => {}
                        Value::Array(values) => {
                            prop_assert!(values.len() >= 2);
                            prop_assert!(values.iter().all(Value::is_string));
                        }
                        other => prop_assert!(false, "{other:?}"),
                    }
                }
            }
            Ok(other) => prop_assert!(false, "{other:?}"),
            Err(message) => {
                prop_assert!(!query.contains('='));
                prop_assert!(!message.is_empty());
            }
        }
    }

    /// `?<one value>`, percent-encoded every way a client may (`%20` or `+`
    /// for a space), is that value.
    #[test]
    fn a_single_param_round_trips(value in tricky_string(), plus in any::<bool>()) {
        let query = if plus {
            form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>()
        } else {
            utf8_percent_encode(&value, NON_ALPHANUMERIC).to_string()
        };
        prop_assert_eq!(parse_params(&query).unwrap(), Value::String(value));
    }

    /// `?k=v&…`, form-encoded, is an object of those pairs; a key given
    /// more than once has all its values, in order.
    #[test]
    fn form_params_round_trip(pairs in prop::collection::vec(
        (prop_oneof![select(&["a", "b", ""][..]).prop_map(str::to_owned), tricky_string()],
         tricky_string()),
        1..8,
    )) {
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        let mut expected: Vec<(String, Vec<String>)> = Vec::new();
        for (key, value) in pairs {
            match expected.iter_mut().find(|(k, _)| *k == key) {
                Some((_, values)) => values.push(value),
                None => expected.push((key, vec![value])),
            }
        }
        let expected: Map<String, Value> = expected
            .into_iter()
            .map(|(key, mut values)| {
                let value = if values.len() == 1 {
                    Value::String(values.remove(0))
                } else {
                    Value::Array(values.into_iter().map(Value::String).collect())
                };
                (key, value)
            })
            .collect();
        prop_assert_eq!(parse_params(&query).unwrap(), Value::Object(expected));
    }

    /// Any `Authorization` value a request can carry: no panic, and a user
    /// name never holds the `:` that ends it.
    #[test]
    fn any_authorization_header_is_handled(
        scheme in select(&["Basic ", "basic ", "BASIC ", "Basic", "Basic  ", "Bearer ", ""][..]),
        rest in prop_oneof![
            any::<Vec<u8>>(),
            tricky_string().prop_map(String::into_bytes),
            tricky_string().prop_map(|s| {
                base64::engine::general_purpose::STANDARD.encode(s).into_bytes()
            }),
        ],
    ) {
        let mut bytes = scheme.as_bytes().to_vec();
        bytes.extend(rest);
        if let Ok(value) = HeaderValue::from_bytes(&bytes)
            && let Some((user, _)) = credentials(value)
        {
            prop_assert!(!user.contains(':'));
        }
    }

    /// Credentials a client encodes, from any user name without `:` (RFC
    /// 7617) and any password, under the scheme name in any case (it is
    /// case-insensitive, RFC 7235 §2.1), decode back exactly.
    #[test]
    fn basic_credentials_round_trip(
        user in tricky_string().prop_map(|s| s.replace(':', "")),
        password in tricky_string(),
        upper in prop::collection::vec(any::<bool>(), 5),
        spaces in 1usize..3,
    ) {
        let scheme: String = "basic"
            .chars()
            .zip(upper)
            .map(|(c, upper)| if upper { c.to_ascii_uppercase() } else { c })
            .collect();
        let value = basic(&format!("{scheme}{}", " ".repeat(spaces)), &user, &password);
        prop_assert_eq!(credentials(value), Some((user, password)));
    }
}

// The `session_id` cookie (`crate::session_cookie::read`), the other header
// a request is identified by; its properties sit here, with the API's.

/// A cookie name (an RFC 6265 token) other than `session_id`, some of
/// them one character or one case away from it.
fn cookie_name() -> impl Strategy<Value = String> {
    prop_oneof![
        select(
            &[
                "a",
                "session_id2",
                "Session_id",
                "SESSION_ID",
                "session-id",
                "xsession_id",
                "session_i",
                "_ga",
                "$Version",
            ][..]
        )
        .prop_map(str::to_owned),
        "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}",
    ]
    .prop_filter("not the session cookie", |name| name != "session_id")
}

/// A cookie value: RFC 6265 cookie-octets (no space, `"`, `,`, `;`, `\`).
fn cookie_value() -> impl Strategy<Value = String> {
    "[\\x21\\x23-\\x2B\\x2D-\\x3A\\x3C-\\x5B\\x5D-\\x7E]{0,16}"
}

/// An id as the server makes them: 32 of `[0-9A-Za-z]`.
fn session_id() -> impl Strategy<Value = String> {
    "[0-9A-Za-z]{32}"
}

/// `pairs` as `Cookie` headers: one, or split over several as HTTP/2
/// sends them, `; ` or `;` between pairs.
fn cookie_headers(pairs: &[(String, String)], splits: &[bool], tight: bool) -> HeaderMap {
    let mut lines = vec![String::new()];
    for (n, (name, value)) in pairs.iter().enumerate() {
        if n > 0 && splits[n % splits.len()] {
            lines.push(String::new());
        }
        let line = lines.last_mut().unwrap();
        if !line.is_empty() {
            line.push_str(if tight { ";" } else { "; " });
        }
        line.push_str(&format!("{name}={value}"));
    }
    let mut headers = HeaderMap::new();
    for line in lines {
        headers.append(header::COOKIE, HeaderValue::from_str(&line).unwrap());
    }
    headers
}

proptest! {
    /// Any `Cookie` headers a request can carry: no panic, and a value
    /// found never holds the `;` that ends a pair.
    #[test]
    fn any_cookie_header_is_handled(values in prop::collection::vec(
        prop_oneof![
            any::<Vec<u8>>(),
            tricky_string().prop_map(String::into_bytes),
            tricky_string().prop_map(|s| format!("session_id={s}").into_bytes()),
            tricky_string().prop_map(|s| format!("session_id={s}; b=2").into_bytes()),
            tricky_string().prop_map(|s| format!("a=1; session_id{s}").into_bytes()),
        ],
        1..4,
    )) {
        let mut headers = HeaderMap::new();
        for value in values {
            if let Ok(value) = HeaderValue::from_bytes(&value) {
                headers.append(header::COOKIE, value);
            }
        }
        if let Some(id) = crate::session_cookie::read(&headers) {
            prop_assert!(!id.contains(';'), "{id:?}");
        }
    }

    /// The session cookie among any others, anywhere in one or several
    /// `Cookie` headers, is found with its id exactly; without it, none is.
    #[test]
    fn the_session_cookie_is_found_among_any_others(
        others in prop::collection::vec((cookie_name(), cookie_value()), 0..6),
        at in any::<prop::sample::Index>(),
        id in session_id(),
        splits in prop::collection::vec(any::<bool>(), 1..4),
        tight in any::<bool>(),
    ) {
        let headers = cookie_headers(&others, &splits, tight);
        prop_assert_eq!(crate::session_cookie::read(&headers), None);
        let mut pairs = others;
        pairs.insert(at.index(pairs.len() + 1), ("session_id".into(), id.clone()));
        let headers = cookie_headers(&pairs, &splits, tight);
        prop_assert_eq!(crate::session_cookie::read(&headers), Some(id));
    }

    /// What `Set-Cookie` gives the browser, sent back as it sends it,
    /// reads as the same id.
    #[test]
    fn a_set_cookie_comes_back_as_its_id(id in session_id(), secure in any::<bool>()) {
        let set = crate::session_cookie::set_cookie(&id, secure).unwrap();
        let pair = set.to_str().unwrap().split(';').next().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(pair).unwrap());
        prop_assert_eq!(crate::session_cookie::read(&headers), Some(id));
    }
}
