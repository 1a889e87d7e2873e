//! `@session` changes made by the app: stored through the store (so any
//! instance resumes them), and logins, new ids and channels announced to the
//! server, so that a user's and a channel's events reach every tab of the
//! session.

use crate::OpError;
use deno_core::{OpState, op2};
use ssrt_store::Sessions;
use std::cell::RefCell;
use std::rc::Rc;

/// Told when a session logs in or out, gets a new id or changes its
/// channels; the server moves its connections.
pub trait SessionListener: Send + Sync + 'static {
    fn user_changed(&self, session_id: &str, user_id: Option<&str>);
    /// The session got a new id (at login and logout): its connections
    /// follow, and their browsers are given the new cookie.
    fn session_rotated(&self, old_id: &str, new_id: &str);
    /// The session's channels (the later API's `@session.channel`) are now
    /// `channels`: its connections get those channels' events.
    fn channels_changed(&self, session_id: &str, channels: &[String]);
}

/// The engine's session listener, as kept in its `OpState`.
pub struct SessionListenerSlot(pub Box<dyn SessionListener>);

fn sessions(state: &Rc<RefCell<OpState>>) -> Result<Sessions, OpError> {
    crate::from_state(state, "session store")
}

/// Stores one field of a session: `attributes` (JSON) or `user_id`.
#[op2]
pub async fn op_session_set(
    state: Rc<RefCell<OpState>>,
    #[string] id: String,
    #[number] created_at: i64,
    #[string] field: String,
    #[string] value: String,
) -> Result<(), OpError> {
    sessions(&state)?
        .set_field(&id, created_at, &field, &value)
        .await
        .map_err(OpError::from)
}

/// Gives a session a new id and tells the server; returns the new id.
#[op2]
#[string]
pub async fn op_session_rotate(
    state: Rc<RefCell<OpState>>,
    #[string] id: String,
) -> Result<String, OpError> {
    let new_id = sessions(&state)?.rotate(&id).await?;
    if let Some(listener) = state.borrow().try_borrow::<SessionListenerSlot>() {
        listener.0.session_rotated(&id, &new_id);
    }
    Ok(new_id)
}

/// A session's channels changed (they are stored with `op_session_set`).
#[op2]
pub fn op_session_channels(
    state: &mut OpState,
    #[string] id: &str,
    #[serde] channels: Vec<String>,
) {
    if let Some(listener) = state.try_borrow::<SessionListenerSlot>() {
        listener.0.channels_changed(id, &channels);
    }
}

/// A session's user changed; an empty `user_id` means logged out.
#[op2(fast)]
pub fn op_session_user_changed(state: &mut OpState, #[string] id: &str, #[string] user_id: &str) {
    if let Some(listener) = state.try_borrow::<SessionListenerSlot>() {
        listener
            .0
            .user_changed(id, Some(user_id).filter(|u| !u.is_empty()));
    }
}
