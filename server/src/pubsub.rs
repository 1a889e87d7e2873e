//! `$SS.publish.*` across instances (SPEC 6): events go out through the store
//! on `<prefix>:broadcast` and `<prefix>:user:<id>` with the body
//! `{"event":…,"params":…}`, and every instance's subscriber hands what comes
//! back to its own [`Hub`] — so a user is reached wherever they are connected.

use crate::hub::Hub;
use crate::protocol;
use serde::Deserialize;
use serde_json::value::RawValue;
use ssrt_runtime::{Audience, Publication, Publisher};
use ssrt_store::{Message, Store, StoreError};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Publishes from the engine thread: queued, then sent in order by one task.
pub struct StorePublisher {
    prefix: String,
    queue: mpsc::UnboundedSender<(String, String)>,
}

impl StorePublisher {
    pub fn spawn(store: Store, prefix: &str) -> Self {
        let (queue, mut pending) = mpsc::unbounded_channel::<(String, String)>();
        tokio::spawn(async move {
            while let Some((channel, payload)) = pending.recv().await {
                if let Err(e) = store.publish(&channel, &payload).await {
                    tracing::error!("cannot publish on {channel}: {e}");
                }
            }
        });
        Self {
            prefix: prefix.to_owned(),
            queue,
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
        let channels = match publication.audience {
            Audience::Broadcast => vec![format!("{}:broadcast", self.prefix)],
            Audience::Users(ids) => ids
                .iter()
                .map(|id| format!("{}:user:{id}", self.prefix))
                .collect(),
        };
        for channel in channels {
            // An error only means the server is shutting down.
            let _ = self.queue.send((channel, body.clone()));
        }
    }
}

/// Subscribes this instance to its event channels and feeds the hub.
pub async fn spawn_subscriber(store: &Store, prefix: &str, hub: Hub) -> Result<(), StoreError> {
    let broadcast = format!("{prefix}:broadcast");
    let user_prefix = format!("{prefix}:user:");
    let mut messages = store
        .subscribe(
            std::slice::from_ref(&broadcast),
            &[format!("{user_prefix}*")],
        )
        .await?;
    tokio::spawn(async move {
        while let Some(message) = messages.recv().await {
            route(&hub, &broadcast, &user_prefix, message);
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

fn route(hub: &Hub, broadcast: &str, user_prefix: &str, message: Message) {
    let Ok(body) = serde_json::from_str::<Body>(&message.payload) else {
        tracing::warn!("ignoring a malformed event on {}", message.channel);
        return;
    };
    let params = body.params.map_or("null", RawValue::get);
    let frame: Arc<str> = protocol::event(&body.event, params).into();
    if message.channel == broadcast {
        hub.broadcast(frame);
    } else if let Some(user_id) = message.channel.strip_prefix(user_prefix) {
        hub.send_to_users(&[user_id.to_owned()], &frame);
    }
}
