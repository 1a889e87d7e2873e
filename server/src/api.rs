//! The HTTP API (SPEC 5): every action is also
//! `GET /<prefix>/<file path>/<action>[.json|.html]?<params>`.

use crate::call_log::CallLog;
use crate::pages;
use crate::state::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use headers::HeaderMapExt as _;
use headers::authorization::{Authorization, Basic};
use serde_json::{Map, Value};
use ssrt_runtime::{ActionError, CallOrigin, ErrorCode};
use ssrt_store::SessionData;

/// How the reply is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Html,
    Json,
}

/// `/<prefix>` alone: the index of every public action.
pub async fn index(State(state): State<AppState>) -> Response {
    index_page(&state, None)
}

/// `/<prefix>/<path>`: an action call, or the index of one file.
pub async fn call(
    State(state): State<AppState>,
    Path(path): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let (path, format) = route(&path);
    if path.is_empty() {
        return index_page(&state, None);
    }
    if state.actions.0.contains_key(path) {
        return index_page(&state, Some(path));
    }
    let method = method_name(path);
    let query = query.as_deref().filter(|q| !q.is_empty());
    let params = match query.map(parse_params).transpose() {
        Ok(params) => params,
        Err(e) => return api_error(&e),
    };
    let params = params.map(|p| p.to_string());
    let log = CallLog::start(&method, params.as_deref(), "api", false);
    let origin = CallOrigin::Http {
        session: SessionData::ephemeral().to_json(),
        credentials: basic_credentials(&headers),
    };
    let outcome = state.app.ask(method, params, origin).await;
    if let Some(log) = log {
        log.finish(&outcome);
    }
    if state.config.generation.generation == ssrt_project::Generation::V02 {
        return reply_0_2(outcome, format);
    }
    match outcome {
        Ok(json) => match format {
            Format::Json => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
            Format::Html => Html(json).into_response(),
        },
        Err(e) if e.is(ErrorCode::Unauthorized) => unauthorized(&state),
        Err(e) => api_error(&e.message),
    }
}

/// 0.2's replies (SPEC-0.2-compat §2.7): `.json` always 200 `text/json`,
/// `{"result": …}` or `{"error": {"code", "message"}}`; `.html` the result's
/// JSON, or a 500 page.
fn reply_0_2(outcome: Result<String, ActionError>, format: Format) -> Response {
    let text_json = [(header::CONTENT_TYPE, "text/json")];
    match (outcome, format) {
        (Ok(json), Format::Json) => (text_json, format!(r#"{{"result":{json}}}"#)).into_response(),
        (Ok(json), Format::Html) => Html(json).into_response(),
        (Err(e), Format::Json) => {
            let error = serde_json::json!({"error": {"code": e.code, "message": e.message}});
            (text_json, error.to_string()).into_response()
        }
        (Err(e), Format::Html) => {
            let body = pages::api_error(&e.to_string());
            (StatusCode::INTERNAL_SERVER_ERROR, body).into_response()
        }
    }
}

/// The path axum decoded, without trailing slashes or the extension, and the
/// format the extension asks for.
fn route(path: &str) -> (&str, Format) {
    split_format(path.trim_end_matches('/'))
}

/// `app/square` → `app.square`: the path names an action, never a file. A
/// `.`, `..` or empty segment leaves an empty part in the method, which the
/// dispatcher refuses (`invalid_action_length`) before looking anything up.
fn method_name(path: &str) -> String {
    path.replace('/', ".")
}

/// `app/square.json` → (`app/square`, JSON); no extension means HTML.
fn split_format(path: &str) -> (&str, Format) {
    if let Some(stem) = path.strip_suffix(".json") {
        (stem, Format::Json)
    } else if let Some(stem) = path.strip_suffix(".html") {
        (stem, Format::Html)
    } else {
        (path, Format::Html)
    }
}

/// `25` → `"25"`; `name=Tom&age=21` → `{"name":"Tom","age":"21"}` (a key
/// given twice becomes an array). No query at all means no params.
fn parse_params(query: &str) -> Result<Value, String> {
    if !query.contains('=') {
        let text = percent_encoding::percent_decode_str(&query.replace('+', " "))
            .decode_utf8()
            .map_err(|_| "The query string is not valid UTF-8".to_owned())?
            .into_owned();
        return Ok(Value::String(text));
    }
    let mut object = Map::new();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let value = Value::String(value.into_owned());
        match object.get_mut(key.as_ref()) {
            Some(Value::Array(values)) => values.push(value),
            Some(existing) => *existing = Value::Array(vec![existing.take(), value]),
            None => {
                object.insert(key.into_owned(), value);
            }
        }
    }
    Ok(Value::Object(object))
}

/// The username and password of an `Authorization: Basic` header.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let Authorization(basic) = headers.typed_get::<Authorization<Basic>>()?;
    Some((basic.username().to_owned(), basic.password().to_owned()))
}

fn unauthorized(state: &AppState) -> Response {
    let realm = state.config.settings.api.auth.basic.realm.replace('"', "'");
    let mut response = (StatusCode::UNAUTHORIZED, pages::api_unauthorized()).into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("Basic realm=\"{realm}\"")) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

fn api_error(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, pages::api_error(message)).into_response()
}

/// **(ssrt)** A real index: every public action, linked, per file.
fn index_page(state: &AppState, only: Option<&str>) -> Response {
    let prefix = &state.config.settings.api.prefix;
    pages::api_index(prefix, &state.actions, only).into_response()
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn query_strings_become_params_as_the_original_made_them() {
        assert_eq!(parse_params("25").unwrap(), json!("25"));
        assert_eq!(parse_params("hello%20world").unwrap(), json!("hello world"));
        assert_eq!(
            parse_params("name=Tom&age=21").unwrap(),
            json!({"name": "Tom", "age": "21"})
        );
        assert_eq!(parse_params("a=1&a=2").unwrap(), json!({"a": ["1", "2"]}));
    }

    #[test]
    fn the_extension_picks_the_format() {
        assert!(matches!(
            split_format("app/square.json"),
            ("app/square", Format::Json)
        ));
        assert!(matches!(
            split_format("app/square.html"),
            ("app/square", Format::Html)
        ));
        assert!(matches!(
            split_format("app/square"),
            ("app/square", Format::Html)
        ));
    }

    #[test]
    fn basic_credentials_are_decoded() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic dG9tOnNlY3JldA=="),
        );
        assert_eq!(
            basic_credentials(&headers),
            Some(("tom".to_owned(), "secret".to_owned()))
        );
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("BASIC dG9tOnNlY3JldA=="),
        );
        assert_eq!(
            basic_credentials(&headers),
            Some(("tom".to_owned(), "secret".to_owned()))
        );
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        assert_eq!(basic_credentials(&headers), None);
    }
}
