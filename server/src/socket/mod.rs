//! One browser connection on `GET /ws` (SPEC 3): the session handshake,
//! calls in, replies and events out. Bad frames get an error frame and the
//! connection carries on.

use crate::call_log::{CallLog, is_silent};
use crate::hub::{Answer, ConnectionSender, Outbound};
use crate::protocol::{self, CallFrame};
use crate::state::AppState;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use futures_util::SinkExt;
use ssrt_runtime::{ActionError, Call, CallOrigin, Responder};
use ssrt_store::SessionData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::sync::{broadcast, mpsc};

/// tungstenite allocates its read buffer up front for every connection; its
/// 128 KiB default would dominate an idle connection's memory. Call frames
/// are ~100 bytes; a larger one still arrives, over several reads (measured:
/// 1 KiB instead of 2 KiB saves 1.2 KiB per idle connection, rpc unchanged).
const READ_BUFFER: usize = 1024;
/// The largest frame a browser may send.
const MAX_MESSAGE: usize = 4 * 1024 * 1024;

/// Numbers connections for the engine, which keys sessions by them.
static NEXT_CONNECTION: AtomicU32 = AtomicU32::new(1);

pub async fn upgrade(
    State(state): State<AppState>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let cookie = session_cookie(&headers);
    ws.read_buffer_size(READ_BUFFER)
        .max_message_size(MAX_MESSAGE)
        .on_upgrade(move |socket| connection(socket, state, cookie))
}

/// The `session_id` cookie, if the upgrade request carried one.
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == "session_id")
        .map(|(_, value)| value.to_owned())
}

async fn connection(mut socket: WebSocket, state: AppState, cookie: Option<String>) {
    let session = match state.sessions.resume_or_create(cookie.as_deref()).await {
        Ok(session) => session,
        Err(e) => {
            tracing::error!("cannot load a session: {e}");
            let frame = protocol::error("session_unavailable", &e.to_string());
            let _ = socket.send(Message::Text(frame.into())).await;
            return;
        }
    };
    // Register everything before saying `ready`, so that no event published
    // after it is missed and no call finds its session missing.
    let connection = NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed);
    let events = state.hub.subscribe();
    let (sender, outbound) = mpsc::unbounded_channel();
    state.app.attach_session(connection, session.to_json());
    state.hub.add_connection(
        connection,
        &session.id,
        session.user_id.as_deref(),
        sender.clone(),
    );
    let hello = send_hello(&mut socket, &state, &session).await;
    // The engine and the hub hold what they need of it: free it for the
    // connection's lifetime (idle connections are counted in KiB).
    drop(session);
    if hello.is_ok() {
        let link = Link {
            state: &state,
            connection,
            sender,
        };
        link.run(socket, outbound, events).await;
    }
    state.hub.remove_connection(connection);
    state.app.detach_session(connection);
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
        protocol::system("setEnvironment", &protocol::json_string(&state.config.env)),
        protocol::system("setConfig", &state.client_config),
        protocol::system("ready", "{}"),
    ];
    for frame in frames {
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

struct Link<'a> {
    state: &'a AppState,
    connection: u32,
    sender: ConnectionSender,
}

impl Link<'_> {
    /// Reads frames and writes answers and events until the socket closes.
    async fn run(
        &self,
        mut socket: WebSocket,
        mut outbound: mpsc::UnboundedReceiver<Outbound>,
        mut events: broadcast::Receiver<Arc<str>>,
    ) {
        loop {
            let written = tokio::select! {
                inbound = socket.recv() => match inbound {
                    Some(Ok(Message::Text(text))) => {
                        self.handle_frame(&text);
                        continue;
                    }
                    Some(Ok(Message::Binary(_))) => {
                        self.reject("unable_to_parse_message", "Binary frames are not part of the protocol");
                        continue;
                    }
                    Some(Ok(_)) => continue, // ping/pong are answered by the WebSocket layer
                    Some(Err(_)) | None => break,
                },
                Some(message) = outbound.recv() => {
                    write_batch(&mut socket, message, &mut outbound).await
                }
                event = events.recv() => match event {
                    Ok(frame) => socket.feed(Message::Text(frame.as_ref().into())).await,
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!("a slow connection missed {missed} broadcast(s)");
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
            };
            if written.is_err() || socket.flush().await.is_err() {
                break;
            }
        }
    }

    fn handle_frame(&self, text: &str) {
        match protocol::parse(text) {
            Ok(frame) => self.call(frame),
            Err(e) => self.reject(e.code(), &e.message()),
        }
    }

    fn reject(&self, code: &str, message: &str) {
        tracing::warn!("bad frame from a client: {code}: {message}");
        let _ = self
            .sender
            .send(Outbound::Frame(protocol::error(code, message).into()));
    }

    fn call(&self, frame: CallFrame<'_>) {
        let method = frame.method.into_owned();
        let params = frame.params.map(|p| p.get().to_owned());
        let options = frame.options.map_or("null", |raw| raw.get());
        let log = CallLog::start(&method, params.as_deref(), "ws", is_silent(options));
        let responder = SocketReply {
            sender: self.sender.clone(),
            cb_id: frame.cb_id.map_or("null", |raw| raw.get()).into(),
            options: options.into(),
            log,
        };
        self.state.app.call(Call {
            method,
            params,
            origin: CallOrigin::Socket {
                connection: self.connection,
            },
            responder: Box::new(responder),
        });
    }
}

/// Feeds `first` and everything else already queued, so a burst of replies
/// costs one flush.
async fn write_batch(
    socket: &mut WebSocket,
    first: Outbound,
    outbound: &mut mpsc::UnboundedReceiver<Outbound>,
) -> Result<(), axum::Error> {
    socket.feed(frame(first)).await?;
    while let Ok(next) = outbound.try_recv() {
        socket.feed(frame(next)).await?;
    }
    Ok(())
}

fn frame(outbound: Outbound) -> Message {
    let text = match outbound {
        Outbound::Frame(frame) => return Message::Text(frame.as_ref().into()),
        Outbound::Answer(answer) => match &answer.outcome {
            Ok(params) => protocol::reply(&answer.cb_id, params, &answer.options),
            Err(e) => protocol::error(&e.code, &e.message),
        },
    };
    Message::Text(text.into())
}

/// Sends a call's outcome back to its connection.
struct SocketReply {
    sender: ConnectionSender,
    cb_id: Box<str>,
    options: Box<str>,
    log: Option<CallLog>,
}

impl Responder for SocketReply {
    fn respond(self: Box<Self>, outcome: Result<String, ActionError>) {
        if let Some(log) = self.log {
            log.finish(&outcome);
        }
        let answer = Answer {
            cb_id: self.cb_id,
            options: self.options,
            outcome,
        };
        // The connection may have closed meanwhile; then nobody is waiting.
        let _ = self.sender.send(Outbound::Answer(Box::new(answer)));
    }
}
