//! The store behind sessions (and, later, pub/sub and the `R` global).
//!
//! [`Store`] is one interface with one implementation per backend, chosen at
//! start-up. The embedded backend keeps Redis's data model (keys holding
//! hashes) so that the same key layout (SPEC 6) works on either.

mod embedded;
pub mod session;

pub use embedded::EmbeddedStore;
pub use session::{SessionData, Sessions, is_valid_session_id};

use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: {0}")]
    Backend(String),
}

/// A store backend. An enum rather than a trait object: the set is closed and
/// calls stay static.
#[derive(Clone)]
pub enum Store {
    Embedded(EmbeddedStore),
}

impl Store {
    /// Which backend this is, for the start-up banner.
    pub fn describe(&self) -> String {
        match self {
            Store::Embedded(_) => "embedded (in-process, single machine)".to_owned(),
        }
    }

    /// All fields of the hash at `key`; empty when there is none.
    pub async fn hgetall(&self, key: &str) -> Result<HashMap<String, String>, StoreError> {
        match self {
            Store::Embedded(store) => Ok(store.hgetall(key)),
        }
    }

    /// Sets fields of the hash at `key`, creating it if needed.
    pub async fn hset(&self, key: &str, fields: &[(&str, &str)]) -> Result<(), StoreError> {
        match self {
            Store::Embedded(store) => {
                store.hset(key, fields);
                Ok(())
            }
        }
    }
}
