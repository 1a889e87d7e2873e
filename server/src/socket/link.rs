//! A connection after its handshake: reads calls, writes replies and
//! events, and closes it when a limit is passed (1009 for a message too big,
//! 1013 for a reader too far behind), when the browser stops answering
//! pings, or at shutdown (1001, once its calls in flight are answered).

use crate::call_log::{CallLog, is_silent};
use crate::outbox::{Answer, Inbox, Outbound, Outbox, Queued};
use crate::protocol::{self, CallFrame, Inbound};
use crate::state::AppState;
use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use futures_util::SinkExt;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use ssrt_runtime::{ActionError, Call, CallOrigin, Responder};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::time::{Instant, MissedTickBehavior, timeout};

/// How long a closing handshake may take to send before the socket is dropped.
const CLOSE_WAIT: Duration = Duration::from_secs(1);
/// Close code 1013 (RFC 6455 registry): try again later.
const TRY_AGAIN_LATER: u16 = 1013;

pub(super) struct Link<'a> {
    state: &'a AppState,
    connection: u32,
    sender: Outbox,
    /// Calls sent to the engine and not yet answered on the socket.
    in_flight: usize,
    rate: Option<Box<DefaultDirectRateLimiter>>,
}

/// How a write ended.
enum Written {
    Done,
    /// The socket failed: the browser is gone.
    Failed,
    /// The write stalled past `websocket.write_timeout`: the browser stopped reading.
    Stalled,
    /// The reader is too far behind: its queue overflowed.
    Overflowed,
}

impl From<Result<Result<(), axum::Error>, tokio::time::error::Elapsed>> for Written {
    fn from(written: Result<Result<(), axum::Error>, tokio::time::error::Elapsed>) -> Self {
        match written {
            Ok(Ok(())) => Written::Done,
            Ok(Err(_)) => Written::Failed,
            Err(_) => Written::Stalled,
        }
    }
}

/// What woke the connection.
enum Wake {
    Read(Option<Result<Message, axum::Error>>),
    Write(Outbound, usize),
    Event(Result<Arc<str>, broadcast::error::RecvError>),
    Overflowed,
    Keepalive,
    ShutdownBegun,
    GraceOver,
}

impl<'a> Link<'a> {
    pub(super) fn new(state: &'a AppState, connection: u32, sender: Outbox) -> Self {
        let rate = state
            .limits
            .calls_per_second
            .map(|n| Box::new(RateLimiter::direct(Quota::per_second(n))));
        Self {
            state,
            connection,
            sender,
            in_flight: 0,
            rate,
        }
    }

    /// Serves the connection until it closes, then says why to the browser.
    #[allow(clippy::manual_async_fn, reason = "an `async fn` future is larger")]
    pub(super) fn run(
        mut self,
        socket: &mut WebSocket,
        mut inbox: Inbox,
        mut events: broadcast::Receiver<Arc<str>>,
    ) -> impl Future<Output = ()> {
        // An `async` block, not an `async fn`: an `async fn` copies its
        // arguments into its future twice (rust-lang/rust#62958), and this
        // future lives as long as the connection. The socket is borrowed for
        // the same reason: the caller's future already holds it.
        async move {
            let limits = &self.state.limits;
            let shutdown = &self.state.shutdown;
            let mut keepalive = tokio::time::interval_at(
                Instant::now() + limits.ping_interval,
                limits.ping_interval,
            );
            keepalive.set_missed_tick_behavior(MissedTickBehavior::Delay);
            let mut heard = Instant::now();
            // Made once: they stay registered with the shutdown's tokens.
            let mut begun = std::pin::pin!(shutdown.begun());
            let mut grace_over = std::pin::pin!(shutdown.grace_over());
            let mut draining = false;
            let close = loop {
                if draining && self.in_flight == 0 {
                    break Some(close_frame(close_code::AWAY, "the server is shutting down"));
                }
                let wake = tokio::select! {
                    read = socket.recv() => Wake::Read(read),
                    Some(queued) = inbox.recv() => match queued {
                        Queued::Frame(message, size) => Wake::Write(message, size),
                        Queued::Overflowed => Wake::Overflowed,
                    },
                    event = events.recv() => Wake::Event(event),
                    _ = keepalive.tick() => Wake::Keepalive,
                    () = &mut begun, if !draining => Wake::ShutdownBegun,
                    () = &mut grace_over, if draining => Wake::GraceOver,
                };
                let written: Written = match wake {
                    Wake::Read(Some(Ok(message))) => {
                        heard = Instant::now();
                        self.read(message, draining);
                        continue;
                    }
                    Wake::Read(Some(Err(e))) => {
                        break too_big(&e).then(|| {
                            let limit = limits.max_message;
                            close_frame(
                                close_code::SIZE,
                                &format!("message larger than {limit} bytes"),
                            )
                        });
                    }
                    Wake::Read(None) => break None,
                    Wake::Write(first, size) => {
                        self.write_batch(socket, &mut inbox, first, size).await
                    }
                    Wake::Event(Ok(frame)) => {
                        let message = Message::Text(frame.as_ref().into());
                        timeout(limits.write_timeout, socket.send(message))
                            .await
                            .into()
                    }
                    Wake::Event(Err(broadcast::error::RecvError::Lagged(missed))) => {
                        tracing::warn!(
                            "closing a connection too slow to read: it missed {missed} broadcast(s)"
                        );
                        break Some(close_frame(
                            TRY_AGAIN_LATER,
                            "too far behind reading events",
                        ));
                    }
                    Wake::Event(Err(broadcast::error::RecvError::Closed)) => break None,
                    Wake::Overflowed => Written::Overflowed,
                    Wake::Keepalive if heard.elapsed() > limits.idle_timeout => {
                        tracing::info!(
                            "closing a connection: nothing heard for {:.1} s, not even a pong",
                            limits.idle_timeout.as_secs_f64()
                        );
                        break Some(close_frame(close_code::AWAY, "no answer to pings"));
                    }
                    Wake::Keepalive => {
                        let ping = Message::Ping(Default::default());
                        timeout(limits.write_timeout, socket.send(ping))
                            .await
                            .into()
                    }
                    Wake::ShutdownBegun => {
                        draining = true;
                        continue;
                    }
                    Wake::GraceOver => {
                        break Some(close_frame(close_code::AWAY, "the server is shutting down"));
                    }
                };
                match written {
                    Written::Done => {}
                    Written::Failed => break None,
                    Written::Stalled => {
                        // Nothing more can reach it, not even a close frame.
                        tracing::warn!(
                            "closing a connection stalled writing for {:.1} s",
                            limits.write_timeout.as_secs_f64()
                        );
                        break None;
                    }
                    Written::Overflowed => {
                        tracing::warn!(
                            "closing a connection too slow to read: over {} bytes wait for it",
                            limits.queue_bytes
                        );
                        break Some(close_frame(
                            TRY_AGAIN_LATER,
                            "too far behind reading replies and events",
                        ));
                    }
                }
            };
            if let Some(frame) = close {
                // The closing handshake: the browser answers with its own close
                // frame; closing TCP before it reads ours could lose ours.
                let _ = timeout(CLOSE_WAIT, async {
                    socket.send(Message::Close(Some(frame))).await?;
                    while let Some(Ok(message)) = socket.recv().await {
                        if matches!(message, Message::Close(_)) {
                            break;
                        }
                    }
                    Ok::<_, axum::Error>(())
                })
                .await;
            }
        }
    }

    fn read(&mut self, message: Message, draining: bool) {
        match message {
            Message::Text(_) if draining => {
                self.reject(
                    "shutting_down",
                    "The server is shutting down; call again once reconnected",
                );
            }
            Message::Text(text) => {
                if self.rate.as_ref().is_some_and(|rate| rate.check().is_err()) {
                    self.reject(
                        "rate_limited",
                        "Too many calls; slow down (websocket.calls_per_second)",
                    );
                    return;
                }
                match protocol::read(&text) {
                    Ok(Inbound::Call(frame)) => self.call(frame),
                    Ok(Inbound::Heartbeat) => self.state.app.heartbeat(self.connection),
                    Err(e) => self.reject(e.code(), &e.message()),
                }
            }
            Message::Binary(_) => {
                self.reject(
                    "unable_to_parse_message",
                    "Binary frames are not part of the protocol",
                );
            }
            // Pings are answered by the WebSocket layer; a close is followed
            // by the end of the stream.
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) => {}
        }
    }

    fn reject(&self, code: &str, message: &str) {
        tracing::warn!("refused a frame from a client: {code}: {message}");
        self.sender
            .send(Outbound::Frame(protocol::error(code, message).into()));
    }

    fn call(&mut self, frame: CallFrame<'_>) {
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
        self.in_flight += 1;
        self.state.app.call(Call {
            method,
            params,
            origin: CallOrigin::Socket {
                connection: self.connection,
            },
            responder: Box::new(responder),
        });
    }

    /// Writes `first` and everything else already queued, so a burst of
    /// replies costs one flush; the queue's room is freed once written.
    async fn write_batch(
        &mut self,
        socket: &mut WebSocket,
        inbox: &mut Inbox,
        first: Outbound,
        size: usize,
    ) -> Written {
        let mut bytes = size;
        let mut batch = vec![self.frame(first)];
        while let Some(queued) = inbox.try_recv() {
            match queued {
                Queued::Frame(next, size) => {
                    bytes += size;
                    batch.push(self.frame(next));
                }
                Queued::Overflowed => {
                    inbox.written(bytes);
                    return Written::Overflowed;
                }
            }
        }
        let write = async {
            for message in batch {
                socket.feed(message).await?;
            }
            socket.flush().await
        };
        let written = tokio::select! {
            // A write that completes at once never waits on the news.
            biased;
            written = timeout(self.state.limits.write_timeout, write) => Written::from(written),
            () = inbox.overflowed() => Written::Overflowed,
        };
        inbox.written(bytes);
        written
    }

    fn frame(&mut self, outbound: Outbound) -> Message {
        let text = match outbound {
            Outbound::Frame(frame) => return Message::Text(frame.as_ref().into()),
            // Never queued as a frame: `Inbox` hands it over as `Queued::Overflowed`.
            Outbound::Overflowed => String::new(),
            Outbound::Answer(answer) => {
                self.in_flight = self.in_flight.saturating_sub(1);
                match &answer.outcome {
                    Ok(params) => protocol::reply(&answer.cb_id, params, &answer.options),
                    Err(e) => protocol::error(&e.code, &e.message),
                }
            }
        };
        Message::Text(text.into())
    }
}

fn close_frame(code: u16, reason: &str) -> CloseFrame {
    CloseFrame {
        code,
        reason: reason.into(),
    }
}

/// Whether reading failed on a message or frame over the size limit.
fn too_big(error: &axum::Error) -> bool {
    std::error::Error::source(error)
        .and_then(|source| source.downcast_ref::<tungstenite::Error>())
        .is_some_and(|e| matches!(e, tungstenite::Error::Capacity(_)))
}

/// Sends a call's outcome back to its connection.
struct SocketReply {
    sender: Outbox,
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
        self.sender.send(Outbound::Answer(Box::new(answer)));
    }
}
