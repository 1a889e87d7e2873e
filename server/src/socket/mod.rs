//! One browser connection on `GET /ws` (SPEC 3): the origin check and the
//! session handshake, then a [`link::Link`] carrying calls in and replies
//! and events out. Bad frames get an error frame and the connection carries
//! on; what a connection may cost is bounded by [`Limits`].

mod link;
mod origin;

use crate::outbox;
use crate::protocol;
use crate::seconds;
use crate::session_cookie;
use crate::state::AppState;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::http::header::{ORIGIN, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::SinkExt;
use origin::OriginPolicy;
use ssrt_project::WebSocketSettings;
use ssrt_store::{SessionData, StoreError};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// tungstenite allocates its read buffer up front for every connection; its
/// 128 KiB default would dominate an idle connection's memory. Call frames
/// are ~100 bytes; a larger one still arrives, over several reads (measured:
/// 1 KiB instead of 2 KiB saves 1.2 KiB per idle connection, rpc unchanged).
const READ_BUFFER: usize = 1024;

/// Numbers connections for the engine, which keys sessions by them.
static NEXT_CONNECTION: AtomicU32 = AtomicU32::new(1);

/// What one connection may cost (`websocket.*` in the config), read once.
pub struct Limits {
    max_message: usize,
    queue_bytes: usize,
    write_timeout: Duration,
    ping_interval: Duration,
    idle_timeout: Duration,
    calls_per_second: Option<NonZeroU32>,
    origins: OriginPolicy,
}

impl Limits {
    pub fn new(settings: &WebSocketSettings) -> Self {
        Self {
            max_message: settings.max_message_bytes,
            queue_bytes: settings.outbound_queue_bytes,
            write_timeout: seconds(settings.write_timeout),
            ping_interval: seconds(settings.ping_interval),
            idle_timeout: seconds(settings.idle_timeout),
            calls_per_second: NonZeroU32::new(settings.calls_per_second),
            origins: OriginPolicy::new(&settings.allowed_origins),
        }
    }
}

pub async fn upgrade(
    State(state): State<AppState>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !state.limits.origins.allows(&headers) {
        let origin = headers
            .get(ORIGIN)
            .map(|origin| String::from_utf8_lossy(origin.as_bytes()));
        tracing::warn!(
            "refused a WebSocket handshake from origin {:?} (allow it in websocket.allowed_origins)",
            origin.unwrap_or_default()
        );
        let message = "This page's origin may not open a WebSocket here; \
                       the server's websocket.allowed_origins setting lists the origins that may.";
        return (StatusCode::FORBIDDEN, message).into_response();
    }
    if state.shutdown.has_begun() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is shutting down",
        )
            .into_response();
    }
    let sent = session_cookie::read(&headers);
    let session = state.sessions.resume_or_create(sent.as_deref()).await;
    let cookie = match &session {
        Ok(session) if sent.as_deref() != Some(session.id.as_str()) => {
            session_cookie::set_cookie(&session.id, state.config.settings.ssl.enabled)
        }
        _ => None,
    };
    let limit = state.limits.max_message;
    let mut response = ws
        .read_buffer_size(READ_BUFFER)
        .max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| {
            let shutdown = state.shutdown.clone();
            // Boxed: the task holds it twice (in this closure and in the
            // connection's future) and needs it only until the hello.
            shutdown.track(connection(socket, state, Box::new(session)))
        });
    if let Some(cookie) = cookie {
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    response
}

#[allow(clippy::manual_async_fn, reason = "an `async fn` future is larger")]
fn connection(
    mut socket: WebSocket,
    state: AppState,
    session: Box<Result<SessionData, StoreError>>,
) -> impl Future<Output = ()> {
    // An `async` block, not an `async fn`, for the reason given at
    // [`link::Link::run`].
    async move {
        let data = match session.as_ref() {
            Ok(data) => data,
            Err(e) => {
                tracing::error!("cannot load a session: {e}");
                let frame = protocol::error("session_unavailable", &e.to_string());
                let _ = socket.send(Message::Text(frame.into())).await;
                let close = CloseFrame {
                    code: close_code::ERROR,
                    reason: "the session store is unavailable".into(),
                };
                let _ = socket.send(Message::Close(Some(close))).await;
                return;
            }
        };
        // Register everything before saying `ready`, so that no event published
        // after it is missed and no call finds its session missing.
        let connection = NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed);
        let events = state.hub.subscribe();
        let (sender, inbox) = outbox::channel(state.limits.queue_bytes);
        state.app.attach_session(connection, data.to_json());
        state.hub.add_connection(
            connection,
            &data.id,
            data.user_id.as_deref(),
            &data.channels,
            sender.clone(),
        );
        let hello = send_hello(&mut socket, &state, data).await;
        // The engine and the hub hold what they need of it: free it for the
        // connection's lifetime (idle connections are counted in KiB).
        drop(session);
        if hello.is_ok() {
            link::Link::new(&state, connection, sender)
                .run(&mut socket, inbox, events)
                .await;
        }
        drop(socket);
        state.hub.remove_connection(connection);
        state.app.detach_session(connection);
    }
}

/// The system frames of SPEC 3 that open every connection.
async fn send_hello(
    socket: &mut WebSocket,
    state: &AppState,
    session: &SessionData,
) -> Result<(), axum::Error> {
    if session.newly_created {
        let frame = protocol::system("setSession", &protocol::json_string(&session.id));
        socket.feed(Message::Text(frame.into())).await?;
    }
    let frames = [
        Some(protocol::system(
            "setEnvironment",
            &protocol::json_string(&state.config.env),
        )),
        Some(protocol::system("setConfig", &state.client_config)),
        // The later API's clients make `SS.server` stubs from it.
        state
            .api_tree
            .as_deref()
            .map(|tree| protocol::system("setApi", tree)),
        Some(protocol::system("ready", "{}")),
    ];
    for frame in frames.into_iter().flatten() {
        socket.feed(Message::Text(frame.into())).await?;
    }
    if !state.config.settings.pack_assets {
        for error in state.assets.stylesheet_errors() {
            let frame = protocol::error("compile_error", &error);
            socket.feed(Message::Text(frame.into())).await?;
        }
    }
    socket.flush().await
}

#[cfg(test)]
mod tests {
    /// The size of the future `make` would return, without running it.
    fn future_size<F: Future>(_make: impl FnOnce() -> F) -> usize {
        size_of::<F>()
    }

    /// Every open connection holds this future, so its size is part of each
    /// idle connection's memory. It was 3.5 KiB as an `async fn` holding the
    /// state, the session and the link's future twice over.
    #[test]
    #[allow(unreachable_code)]
    fn a_connection_future_stays_small() {
        let size =
            future_size(|| super::connection(unreachable!(), unreachable!(), unreachable!()));
        assert!(size <= 1536, "a connection's future takes {size} bytes");
    }
}
