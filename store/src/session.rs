//! Sessions (SPEC 6): a hash at `<prefix>:session:<id>` with `created_at`
//! (ms), `attributes` (JSON) and `user_id`; the id travels in the
//! `session_id` cookie.

use crate::{Store, StoreError};
use rand::Rng;
use rand::distr::Alphanumeric;
use serde::Serialize;
use std::time::{SystemTime, UNIX_EPOCH};

/// Session ids are 32 characters of `[0-9A-Za-z]`.
pub const SESSION_ID_LEN: usize = 32;

pub fn is_valid_session_id(id: &str) -> bool {
    id.len() == SESSION_ID_LEN && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn new_session_id() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(SESSION_ID_LEN)
        .map(char::from)
        .collect()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A session as `@session` sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionData {
    pub id: String,
    pub created_at: i64,
    pub attributes: serde_json::Value,
    pub user_id: Option<String>,
    pub newly_created: bool,
}

impl SessionData {
    /// A fresh session that is not stored (HTTP API calls use these).
    pub fn ephemeral() -> Self {
        Self {
            id: new_session_id(),
            created_at: now_ms(),
            attributes: serde_json::json!({}),
            user_id: None,
            newly_created: true,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a session is plain JSON")
    }
}

/// Sessions kept in a [`Store`] under `<prefix>:session:<id>`.
#[derive(Clone)]
pub struct Sessions {
    store: Store,
    prefix: String,
}

impl Sessions {
    pub fn new(store: Store, key_prefix: &str) -> Self {
        Self {
            store,
            prefix: key_prefix.to_owned(),
        }
    }

    fn key(&self, id: &str) -> String {
        format!("{}:session:{id}", self.prefix)
    }

    /// Stores one field of a session (`attributes` as JSON, `user_id`).
    pub async fn set_field(&self, id: &str, field: &str, value: &str) -> Result<(), StoreError> {
        self.store.hset(&self.key(id), &[(field, value)]).await
    }

    /// The session for a `session_id` cookie: the stored one when the cookie
    /// names one, otherwise a new, stored session.
    pub async fn resume_or_create(&self, cookie: Option<&str>) -> Result<SessionData, StoreError> {
        if let Some(id) = cookie.filter(|id| is_valid_session_id(id)) {
            let fields = self.store.hgetall(&self.key(id)).await?;
            if let Some(created_at) = fields.get("created_at").and_then(|v| v.parse().ok()) {
                return Ok(SessionData {
                    id: id.to_owned(),
                    created_at,
                    attributes: fields
                        .get("attributes")
                        .and_then(|a| serde_json::from_str(a).ok())
                        .unwrap_or_else(|| serde_json::json!({})),
                    user_id: fields.get("user_id").filter(|u| !u.is_empty()).cloned(),
                    newly_created: false,
                });
            }
        }
        let session = SessionData::ephemeral();
        let created_at = session.created_at.to_string();
        self.store
            .hset(
                &self.key(&session.id),
                &[("created_at", &created_at), ("attributes", "{}")],
            )
            .await?;
        Ok(session)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EmbeddedStore;

    #[test]
    fn ids_are_32_alphanumerics() {
        let id = new_session_id();
        assert!(is_valid_session_id(&id), "{id}");
        assert!(!is_valid_session_id("short"));
        assert!(!is_valid_session_id(&"é".repeat(16)));
        assert!(!is_valid_session_id(&format!("{}-", &id[..31])));
    }

    #[tokio::test]
    async fn a_session_is_stored_and_resumed_by_its_id() {
        let store = Store::Embedded(EmbeddedStore::new());
        let sessions = Sessions::new(store.clone(), "ss");
        let created = sessions.resume_or_create(None).await.unwrap();
        assert!(created.newly_created);
        let stored = store
            .hgetall(&format!("ss:session:{}", created.id))
            .await
            .unwrap();
        assert_eq!(stored["created_at"], created.created_at.to_string());

        let resumed = sessions.resume_or_create(Some(&created.id)).await.unwrap();
        assert_eq!(resumed.id, created.id);
        assert_eq!(resumed.created_at, created.created_at);
        assert!(!resumed.newly_created);
    }

    #[tokio::test]
    async fn an_unknown_or_malformed_cookie_gets_a_new_session() {
        let sessions = Sessions::new(Store::Embedded(EmbeddedStore::new()), "ss");
        let unknown = "a".repeat(32);
        let fresh = sessions.resume_or_create(Some(&unknown)).await.unwrap();
        assert_ne!(fresh.id, unknown);
        assert!(fresh.newly_created);
        let bad = sessions.resume_or_create(Some("../../etc")).await.unwrap();
        assert!(bad.newly_created);
    }
}
