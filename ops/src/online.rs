//! `$SS.users.online` and `$SS.publish.group`: users online and groups in
//! the store, whose key layout is the store crate's
//! ([`ssrt_store::UsersOnline`]); the JavaScript side only says when.

use crate::OpError;
use deno_core::{OpState, op2};
use ssrt_store::UsersOnline;
use std::cell::RefCell;
use std::rc::Rc;

fn users_online(state: &Rc<RefCell<OpState>>) -> Result<UsersOnline, OpError> {
    crate::from_state(state, "users online")
}

/// Marks `user` online; the minute's set expires after `bucket_ttl`
/// seconds (0 keeps it: `users.online.keep_historic`).
#[op2]
pub async fn op_online_add(
    state: Rc<RefCell<OpState>>,
    #[string] user: String,
    #[smi] bucket_ttl: u32,
) -> Result<(), OpError> {
    let ttl = (bucket_ttl > 0).then_some(u64::from(bucket_ttl));
    users_online(&state)?
        .add(&user, ttl)
        .await
        .map_err(OpError::from)
}

#[op2]
pub async fn op_online_remove(
    state: Rc<RefCell<OpState>>,
    #[string] user: String,
) -> Result<(), OpError> {
    users_online(&state)?
        .remove(&user)
        .await
        .map_err(OpError::from)
}

#[op2]
#[serde]
pub async fn op_online_all(state: Rc<RefCell<OpState>>) -> Result<Vec<String>, OpError> {
    users_online(&state)?.all().await.map_err(OpError::from)
}

/// Drops users not seen in the last `mins` minutes.
#[op2]
pub async fn op_online_purge(state: Rc<RefCell<OpState>>, #[smi] mins: u32) -> Result<(), OpError> {
    users_online(&state)?
        .purge(u64::from(mins))
        .await
        .map_err(OpError::from)
}

#[op2]
#[serde]
pub async fn op_group_members(
    state: Rc<RefCell<OpState>>,
    #[string] name: String,
) -> Result<Vec<String>, OpError> {
    users_online(&state)?
        .group_members(&name)
        .await
        .map_err(OpError::from)
}
