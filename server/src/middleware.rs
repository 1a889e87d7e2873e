//! The app's own HTTP middleware (`config/http`, SPEC-0.2-compat §2): a
//! layer around ssrt's routes that hands each request to the engine first
//! (0.1 `exports.call`, 0.2 `exports.primary`) and, when ssrt has no route
//! for it, again afterwards (0.2 `exports.secondary`). The JavaScript side is
//! `js/runtime/09_http.js`; WebSocket upgrades never reach it, as in
//! SocketStream, whose Socket.IO took them before Connect.

use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ssrt_runtime::{ActionError, CallOrigin, ErrorCode, HttpReply, HttpRequest, MiddlewareStage};
use std::net::SocketAddr;
use std::sync::Arc;

/// The largest request body the middleware is given (0.2's
/// `api.post_max_size_kb` default); a larger one is refused with 413.
const MAX_BODY: usize = 8 << 20;

/// Which stages the app has middleware for, from the load summary.
#[derive(Debug, Clone)]
pub struct Stages {
    pub primary: bool,
    pub secondary: bool,
    /// How `config/http` is named in errors and logs.
    pub file: Arc<str>,
}

/// Runs the app's middleware around ssrt's own routes (the router adds
/// this layer only for an app that has middleware).
pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(stages) = state.middleware.clone() else {
        return next.run(request).await;
    };
    if is_websocket_upgrade(&request) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(body) => body,
        Err(_) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body over {} MiB", MAX_BODY >> 20),
            )
                .into_response();
        }
    };
    if stages.primary {
        match run(&state, &stages, MiddlewareStage::Primary, &parts, &body).await {
            Outcome::Answered(response) => return response,
            Outcome::PassedOn => {}
        }
    }
    if !stages.secondary {
        return next.run(Request::from_parts(parts, Body::from(body))).await;
    }
    // Kept for the secondary stage, which runs on ssrt's 404s.
    let response = next
        .run(Request::from_parts(parts.clone(), Body::from(body.clone())))
        .await;
    if response.status() != StatusCode::NOT_FOUND {
        return response;
    }
    match run(&state, &stages, MiddlewareStage::Secondary, &parts, &body).await {
        Outcome::Answered(answered) => answered,
        Outcome::PassedOn => response,
    }
}

fn is_websocket_upgrade(request: &Request) -> bool {
    request
        .headers()
        .get(header::UPGRADE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("websocket"))
}

enum Outcome {
    Answered(Response),
    PassedOn,
}

/// One stage's middleware on the request, in the least busy engine.
async fn run(
    state: &AppState,
    stages: &Stages,
    stage: MiddlewareStage,
    parts: &Parts,
    body: &Bytes,
) -> Outcome {
    let request = HttpRequest {
        method: parts.method.to_string(),
        url: parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned()),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_owned(), value)
            })
            .collect(),
        remote: parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "127.0.0.1".to_owned(), |info| info.0.ip().to_string()),
        body: BASE64.encode(body),
    };
    let params = match serde_json::to_string(&request) {
        Ok(params) => params,
        Err(e) => return Outcome::Answered(failed(&stages.file, &e.to_string())),
    };
    let outcome = state
        .app
        .ask(
            stages.file.to_string(),
            Some(params),
            CallOrigin::Middleware(stage),
        )
        .await;
    let reply = outcome.and_then(|json| {
        serde_json::from_str::<HttpReply>(&json).map_err(|e| {
            ActionError::new(
                ErrorCode::InternalError,
                format!("unreadable middleware reply: {e}"),
            )
        })
    });
    match reply {
        Ok(HttpReply::Next { .. }) => Outcome::PassedOn,
        Ok(HttpReply::Response {
            status,
            headers,
            body,
        }) => Outcome::Answered(response(&stages.file, status, &headers, &body)),
        Err(e) => Outcome::Answered(failed(&stages.file, &e.to_string())),
    }
}

/// The middleware's response as the client gets it. Hop-by-hop headers go:
/// the body arrives whole, and hyper frames it itself.
fn response(file: &str, status: u16, headers: &[(String, String)], body: &str) -> Response {
    let Ok(body) = BASE64.decode(body) else {
        return failed(file, "the middleware's response body is not base64");
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let map = response.headers_mut();
    for (name, value) in headers {
        let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) else {
            tracing::warn!("{file}: the middleware set an invalid header {name:?}; left out");
            continue;
        };
        if !is_hop_by_hop(&name) {
            map.append(name, value);
        }
    }
    response
}

fn is_hop_by_hop(name: &HeaderName) -> bool {
    [
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::CONTENT_LENGTH,
        HeaderName::from_static("keep-alive"),
    ]
    .contains(name)
}

/// A 500 for a request the middleware could not answer (it timed out, its
/// engine stopped), logged with the file named.
fn failed(file: &str, why: &str) -> Response {
    tracing::error!("{file}: the HTTP middleware failed: {why}");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{file}: the HTTP middleware failed: {why}\n"),
    )
        .into_response()
}
