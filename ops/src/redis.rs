//! The `R` global's way to the store: any command, or a `MULTI`/`EXEC`
//! transaction, against a numbered database. Replies come back as JSON in
//! node_redis shapes (see `ssrt_store::Reply`).

use deno_core::{OpState, op2};
use deno_error::JsErrorBox;
use ssrt_store::{Store, StoreError};
use std::cell::RefCell;
use std::rc::Rc;

/// A store failure as the JavaScript error the app's callback receives.
pub(crate) fn js_error(e: StoreError) -> JsErrorBox {
    JsErrorBox::generic(e.to_string())
}

fn store(state: &Rc<RefCell<OpState>>) -> Result<Store, JsErrorBox> {
    crate::from_state(state, "store")
}

#[op2]
#[serde]
pub async fn op_store_command(
    state: Rc<RefCell<OpState>>,
    #[smi] db: u32,
    #[serde] args: Vec<String>,
) -> Result<serde_json::Value, JsErrorBox> {
    let store = store(&state)?;
    let reply = store.command(db, &args).await.map_err(js_error)?;
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
) -> Result<(Vec<serde_json::Value>, Vec<Option<String>>), JsErrorBox> {
    let store = store(&state)?;
    let outcomes = store.transaction(db, &commands).await.map_err(js_error)?;
    Ok(outcomes
        .into_iter()
        .map(|outcome| match outcome {
            Ok(reply) => (reply.to_json(), None),
            Err(message) => (serde_json::Value::Null, Some(message)),
        })
        .unzip())
}
