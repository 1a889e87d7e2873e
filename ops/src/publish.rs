//! `$SS.publish.*`: JavaScript names an audience and an event; the host's
//! [`Publisher`] routes it (in-process, or through Redis to every instance)
//! and Rust fans it out to the sockets.

use deno_core::{OpState, op2};

/// Who receives a published event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// Every connected client of every instance.
    Broadcast,
    /// Every connection of these users.
    Users(Vec<String>),
    /// Every connection whose session subscribes to one of these channels
    /// (the later API's `SS.publish.channel`).
    Channels(Vec<String>),
    /// These connections of this instance, by the number actions see as
    /// `@request.socket_id` (the later API's `SS.publish.socket`).
    Sockets(Vec<String>),
}

/// One published event; `params` is JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    pub audience: Audience,
    pub event: String,
    pub params: String,
}

/// Delivers publications; the server provides it, and every engine shares it.
pub trait Publisher: Send + Sync + 'static {
    fn publish(&self, publication: Publication);
}

/// The engine's publisher, as kept in its `OpState`.
pub struct PublisherSlot(pub std::sync::Arc<dyn Publisher>);

#[op2]
pub fn op_publish(
    state: &mut OpState,
    #[string] kind: &str,
    #[serde] targets: Vec<String>,
    #[string] event: String,
    #[string] params: String,
) -> Result<(), crate::OpError> {
    let audience = match kind {
        "broadcast" => Audience::Broadcast,
        "user" => Audience::Users(targets),
        "channel" => Audience::Channels(targets),
        "socket" => Audience::Sockets(targets),
        other => {
            return Err(crate::OpError::UnknownAudience(other.to_owned()));
        }
    };
    match state.try_borrow::<PublisherSlot>() {
        Some(slot) => slot.0.publish(Publication {
            audience,
            event,
            params,
        }),
        None => tracing::warn!("$SS.publish: no publisher in this engine; event {event} dropped"),
    }
    Ok(())
}
