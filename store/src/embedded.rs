//! The embedded store: Redis's data model in process memory, for one machine
//! with no Redis.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

#[derive(Default)]
struct Data {
    hashes: HashMap<String, HashMap<String, String>>,
}

/// Cheap to clone; clones share the data.
#[derive(Clone, Default)]
pub struct EmbeddedStore {
    data: Arc<Mutex<Data>>,
}

impl EmbeddedStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Data) -> T) -> T {
        // No code runs while the lock is held that could panic halfway through
        // an update, so a poisoned lock still guards consistent data.
        let mut data = self.data.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut data)
    }

    pub fn hgetall(&self, key: &str) -> HashMap<String, String> {
        self.with(|data| data.hashes.get(key).cloned().unwrap_or_default())
    }

    pub fn hset(&self, key: &str, fields: &[(&str, &str)]) {
        self.with(|data| {
            let hash = data.hashes.entry(key.to_owned()).or_default();
            for (field, value) in fields {
                hash.insert((*field).to_owned(), (*value).to_owned());
            }
        })
    }
}
