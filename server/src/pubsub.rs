//! `$SS.publish.*` across instances (SPEC 6): events go out through the store
//! on its event channels ([`Keys::event_channel`]: everyone, a user, or the
//! later API's channels) with the body `{"event":…,"params":…}`, and every
//! instance's subscriber hands what comes back to its own [`Hub`] — so a
//! user is reached wherever they are connected.
//! (The later API's `SS.publish.socket` names a connection of this instance:
//! that goes to the hub directly.)

use crate::hub::Hub;
use crate::protocol;
use serde::Deserialize;
use serde_json::value::RawValue;
use ssrt_runtime::{Audience, Publication, Publisher};
use ssrt_store::{EventChannel, Keys, Message, Store, StoreError};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Events that may wait to be published. While Redis stalls, each publish
/// takes its 1 s timeout; past this backlog new events are dropped (and
/// counted in the log) rather than queued without bound.
const PUBLISH_BACKLOG: usize = 10_000;
/// At most one log line per this long about failing publishes.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// Publishes from the engine thread: queued, then sent in order by one task.
/// Events for sockets, which live on this instance, go straight to its hub.
pub struct StorePublisher {
    keys: Keys,
    queue: mpsc::Sender<(String, String)>,
    dropped: Arc<AtomicU64>,
    hub: Hub,
}

impl StorePublisher {
    pub fn spawn(store: Store, keys: Keys, hub: Hub) -> Self {
        let (queue, mut pending) = mpsc::channel::<(String, String)>(PUBLISH_BACKLOG);
        let dropped = Arc::new(AtomicU64::new(0));
        let counted = dropped.clone();
        tokio::spawn(async move {
            let mut failures = FailureLog::default();
            while let Some((channel, payload)) = pending.recv().await {
                if let Err(e) = store.publish(&channel, &payload).await {
                    failures.record(&channel, &e, counted.swap(0, Ordering::Relaxed));
                }
            }
        });
        Self {
            keys,
            queue,
            dropped,
            hub,
        }
    }
}

/// Logs the first failing publish at once, then one summary per
/// [`LOG_EVERY`], so that an outage under load does not flood the log.
#[derive(Default)]
struct FailureLog {
    last: Option<Instant>,
    since: u64,
}

impl FailureLog {
    fn record(&mut self, channel: &str, error: &StoreError, dropped: u64) {
        self.since += 1 + dropped;
        if self.last.is_some_and(|last| last.elapsed() < LOG_EVERY) {
            return;
        }
        self.last = Some(Instant::now());
        let others = std::mem::take(&mut self.since) - 1;
        if others == 0 {
            tracing::error!("cannot publish on {channel}: {error}");
        } else {
            tracing::error!(
                "cannot publish on {channel}: {error} ({others} other event(s) lost since the last report)"
            );
        }
    }
}

impl Publisher for StorePublisher {
    fn publish(&self, publication: Publication) {
        let body = format!(
            r#"{{"event":{},"params":{}}}"#,
            protocol::json_string(&publication.event),
            publication.params
        );
        let to = |channel| self.keys.event_channel(channel);
        let channels = match publication.audience {
            Audience::Broadcast => vec![to(EventChannel::Broadcast)],
            Audience::Users(ids) => ids.iter().map(|id| to(EventChannel::User(id))).collect(),
            Audience::Channels(names) => names
                .iter()
                .map(|name| to(EventChannel::Channel(name)))
                .collect(),
            Audience::Sockets(ids) => {
                for id in &ids {
                    let frame = protocol::event(&publication.event, &publication.params, Some(id));
                    if let Ok(connection) = id.parse() {
                        self.hub.send_to_connection(connection, &frame.into());
                    }
                }
                return;
            }
        };
        for channel in channels {
            match self.queue.try_send((channel, body.clone())) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                }
                // The server is shutting down.
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
    }
}

/// Subscribes this instance to its event channels and feeds the hub.
/// `destinations`: event frames name the user or channel they went to (the
/// later API's handlers get it as a second argument).
pub async fn spawn_subscriber(
    store: &Store,
    keys: Keys,
    hub: Hub,
    destinations: bool,
) -> Result<(), StoreError> {
    let (channels, patterns) = keys.event_subscriptions();
    let mut messages = store.subscribe(&channels, &patterns).await?;
    tokio::spawn(async move {
        while let Some(message) = messages.recv().await {
            route(&hub, &keys, destinations, message);
        }
    });
    Ok(())
}

#[derive(Deserialize)]
struct Body<'a> {
    event: String,
    #[serde(borrow)]
    params: Option<&'a RawValue>,
}

fn route(hub: &Hub, keys: &Keys, destinations: bool, message: Message) {
    let Ok(body) = serde_json::from_str::<Body>(&message.payload) else {
        tracing::warn!("ignoring a malformed event on {}", message.channel);
        return;
    };
    let params = body.params.map_or("null", RawValue::get);
    let frame = |destination: &str| -> Arc<str> {
        let destination = Some(destination).filter(|_| destinations);
        protocol::event(&body.event, params, destination).into()
    };
    match keys.parse_event_channel(&message.channel) {
        Some(EventChannel::Broadcast) => {
            hub.broadcast(protocol::event(&body.event, params, None).into());
        }
        Some(EventChannel::User(user_id)) => {
            hub.send_to_users(&[user_id.to_owned()], &frame(user_id));
        }
        Some(EventChannel::Channel(name)) => hub.send_to_channel(name, &frame(name)),
        None => {}
    }
}
