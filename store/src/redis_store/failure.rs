//! What a failed Redis call becomes: the app's error when Redis refused the
//! command, `redis_unavailable` naming Redis when it could not be reached or
//! did not answer, and when it means the master may have moved.

use super::{CONNECTION_TIMEOUT, RESPONSE_TIMEOUT};
use crate::StoreError;

pub(super) fn backend(e: redis::RedisError) -> StoreError {
    StoreError::Redis(e)
}

/// What a failed call tells its caller: a command Redis refused (it carries
/// an error code) is the app's to see; a connection that cannot be made, was
/// lost or did not answer in time is `redis_unavailable`, naming Redis's
/// address; anything else is the backend's fault.
pub(super) fn failure(address: &str, e: redis::RedisError) -> StoreError {
    if let Some(code) = e.code() {
        // As Redis words it (`WRONGTYPE Operation against…`), as the
        // embedded store does, not the client's `ResponseError: …`.
        let message = match e.detail() {
            Some(detail) => format!("{code} {detail}"),
            None => code.to_owned(),
        };
        return StoreError::Command(message);
    }
    let problem = if e.is_timeout() {
        format!(
            "did not answer within {}s",
            RESPONSE_TIMEOUT.max(CONNECTION_TIMEOUT).as_secs_f32()
        )
    } else if e.is_connection_refusal() {
        "refused the connection (is it running?)".to_owned()
    } else if e.is_connection_dropped() || e.is_io_error() {
        "closed the connection".to_owned()
    } else {
        return backend(e);
    };
    StoreError::RedisUnavailable {
        address: address.to_owned(),
        problem,
        source: e,
    }
}

/// Whether `e` says the master may have moved: it cannot be reached, the
/// connection was lost or stalled, or it has become a replica.
pub(super) fn lost_master(e: &redis::RedisError) -> bool {
    e.is_connection_refusal()
        || e.is_connection_dropped()
        || e.is_io_error()
        || e.is_timeout()
        || e.code() == Some("READONLY")
}
