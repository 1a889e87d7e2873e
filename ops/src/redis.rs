//! The `R` global's way to the store: any command, or a `MULTI`/`EXEC`
//! transaction, against a numbered database. Replies come back as JSON in
//! node_redis shapes (see `ssrt_store::Reply`).

use crate::OpError;
use deno_core::{OpState, op2};
use ssrt_store::Store;
use std::cell::RefCell;
use std::rc::Rc;

fn store(state: &Rc<RefCell<OpState>>) -> Result<Store, OpError> {
    crate::from_state(state, "store")
}

#[op2]
#[serde]
pub async fn op_store_command(
    state: Rc<RefCell<OpState>>,
    #[smi] db: u32,
    #[serde] args: Vec<String>,
) -> Result<serde_json::Value, OpError> {
    let store = store(&state)?;
    let reply = store.command(db, &args).await?;
    Ok(reply.to_json())
}

/// Answers `[replies, errors]`: `errors[i]` is the message of command `i`,
/// or `null` when it succeeded.
#[op2]
#[serde]
pub async fn op_store_transaction(
    state: Rc<RefCell<OpState>>,
    #[smi] db: u32,
    #[serde] commands: Vec<Vec<String>>,
) -> Result<(Vec<serde_json::Value>, Vec<Option<String>>), OpError> {
    let store = store(&state)?;
    let outcomes = store.transaction(db, &commands).await?;
    Ok(outcomes
        .into_iter()
        .map(|outcome| match outcome {
            Ok(reply) => (reply.to_json(), None),
            Err(message) => (serde_json::Value::Null, Some(message)),
        })
        .unzip())
}
