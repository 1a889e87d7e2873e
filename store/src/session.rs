//! Sessions (SPEC 6): a hash at `<prefix>:session:<id>` with `created_at`
//! (ms), `attributes` (JSON), `user_id` and (the later API's) `channels`
//! (JSON); the id travels in the `session_id` cookie.

use crate::{Keys, Reply, Store, StoreError};
use rand::Rng;
use rand::distr::Alphanumeric;
use serde::Serialize;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Session ids are 32 characters of `[0-9A-Za-z]`.
pub const SESSION_ID_LEN: usize = 32;

pub fn is_valid_session_id(id: &str) -> bool {
    id.len() == SESSION_ID_LEN && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// 32 random characters from a CSPRNG: session ids, and anything else that
/// must not be guessed.
pub fn new_session_id() -> String {
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
    /// The channels it subscribes to (the later API's `@session.channel`).
    pub channels: Vec<String>,
    pub newly_created: bool,
}

impl SessionData {
    /// A fresh session, not stored (until it holds something).
    pub fn ephemeral() -> Self {
        Self {
            id: new_session_id(),
            created_at: now_ms(),
            attributes: serde_json::json!({}),
            user_id: None,
            channels: Vec::new(),
            newly_created: true,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a session is plain JSON")
    }
}

/// Sessions kept in a [`Store`] under `<prefix>:session:<id>`.
///
/// A session is stored only once it holds something (attributes or a user),
/// so connections that never log in or save cost the store nothing. Every
/// write and every resume renews its expiry (`EXPIRE`): sessions nobody uses
/// for `idle` disappear, in Redis and in the embedded store alike.
#[derive(Clone)]
pub struct Sessions {
    store: Store,
    keys: Keys,
    idle_secs: String,
}

impl Sessions {
    pub fn new(store: Store, key_prefix: &str, idle: Duration) -> Self {
        Self {
            store,
            keys: Keys::new(key_prefix),
            idle_secs: idle.as_secs().max(1).to_string(),
        }
    }

    fn key(&self, id: &str) -> String {
        self.keys.session(id)
    }

    fn expire(&self, key: &str) -> Vec<String> {
        vec!["EXPIRE".to_owned(), key.to_owned(), self.idle_secs.clone()]
    }

    /// Runs `commands` as one transaction; a command refused is an error.
    async fn atomically(&self, commands: &[Vec<String>]) -> Result<(), StoreError> {
        for reply in self.store.transaction(0, commands).await? {
            reply.map_err(StoreError::Command)?;
        }
        Ok(())
    }

    /// Stores one field of a session (`attributes` as JSON, `user_id`),
    /// storing the session itself if this is the first thing it holds.
    pub async fn set_field(
        &self,
        id: &str,
        created_at: i64,
        field: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        let key = self.key(id);
        let set = [
            "HSET",
            &key,
            "created_at",
            &created_at.to_string(),
            field,
            value,
        ]
        .map(str::to_owned)
        .to_vec();
        self.atomically(&[set, self.expire(&key)]).await
    }

    /// Gives a session a new id, moving what it holds: the old id stops
    /// working (a login or logout must not keep an id someone else may know).
    pub async fn rotate(&self, id: &str) -> Result<String, StoreError> {
        let new_id = new_session_id();
        let (old_key, new_key) = (self.key(id), self.key(&new_id));
        let exists = self
            .store
            .command(0, &["EXISTS".to_owned(), old_key.clone()])
            .await?;
        if exists == Reply::Int(1) {
            let rename = ["RENAME", &old_key, &new_key].map(str::to_owned).to_vec();
            self.atomically(&[rename, self.expire(&new_key)]).await?;
        }
        Ok(new_id)
    }

    /// The session for a `session_id` cookie: the stored one when the cookie
    /// names one (its expiry renewed), otherwise a new one, not yet stored —
    /// keeping the cookie's id if it is well formed, so that a session that
    /// holds nothing keeps its id across page loads. (An id someone planted
    /// gains them nothing: logging in gives the session a new one.)
    pub async fn resume_or_create(&self, cookie: Option<&str>) -> Result<SessionData, StoreError> {
        let Some(id) = cookie.filter(|id| is_valid_session_id(id)) else {
            return Ok(SessionData::ephemeral());
        };
        {
            let key = self.key(id);
            let fields = self.store.hgetall(&key).await?;
            if let Some(created_at) = fields.get("created_at").and_then(|v| v.parse().ok()) {
                self.store.command(0, &self.expire(&key)).await?;
                return Ok(SessionData {
                    id: id.to_owned(),
                    created_at,
                    attributes: fields
                        .get("attributes")
                        .and_then(|a| serde_json::from_str(a).ok())
                        .unwrap_or_else(|| serde_json::json!({})),
                    user_id: fields.get("user_id").filter(|u| !u.is_empty()).cloned(),
                    channels: fields
                        .get("channels")
                        .and_then(|c| serde_json::from_str(c).ok())
                        .unwrap_or_default(),
                    newly_created: false,
                });
            }
        }
        Ok(SessionData {
            id: id.to_owned(),
            ..SessionData::ephemeral()
        })
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

    fn sessions(store: &Store) -> Sessions {
        Sessions::new(store.clone(), "ss", Duration::from_secs(60))
    }

    #[tokio::test]
    async fn a_session_is_stored_once_it_holds_something_and_resumed_by_its_id() {
        let store = Store::Embedded(EmbeddedStore::new());
        let sessions = sessions(&store);
        let created = sessions.resume_or_create(None).await.unwrap();
        assert!(created.newly_created);
        let key = format!("ss:session:{}", created.id);
        assert!(
            store.hgetall(&key).await.unwrap().is_empty(),
            "not stored yet"
        );
        let again = sessions.resume_or_create(Some(&created.id)).await.unwrap();
        assert!(again.newly_created, "nothing to resume");
        assert_eq!(again.id, created.id, "an empty session keeps its id");

        sessions
            .set_field(&created.id, created.created_at, "attributes", r#"{"a":1}"#)
            .await
            .unwrap();
        let stored = store.hgetall(&key).await.unwrap();
        assert_eq!(stored["created_at"], created.created_at.to_string());
        let ttl = store
            .command(0, &["TTL".into(), key.clone()])
            .await
            .unwrap();
        assert!(matches!(ttl, Reply::Int(1..=60)), "{ttl:?}");

        let resumed = sessions.resume_or_create(Some(&created.id)).await.unwrap();
        assert_eq!(resumed.id, created.id);
        assert_eq!(resumed.created_at, created.created_at);
        assert_eq!(resumed.attributes, serde_json::json!({"a": 1}));
        assert!(!resumed.newly_created);
    }

    #[tokio::test]
    async fn rotating_moves_a_session_to_a_new_id_and_the_old_one_stops_working() {
        let store = Store::Embedded(EmbeddedStore::new());
        let sessions = sessions(&store);
        let old = SessionData::ephemeral();
        sessions
            .set_field(&old.id, old.created_at, "user_id", "tom")
            .await
            .unwrap();
        let new_id = sessions.rotate(&old.id).await.unwrap();
        assert!(is_valid_session_id(&new_id) && new_id != old.id);
        let resumed = sessions.resume_or_create(Some(&new_id)).await.unwrap();
        assert_eq!(resumed.user_id.as_deref(), Some("tom"));
        let stale = sessions.resume_or_create(Some(&old.id)).await.unwrap();
        assert!(stale.newly_created && stale.user_id.is_none());
        // A session not stored yet just gets a new id.
        assert!(is_valid_session_id(
            &sessions.rotate(&stale.id).await.unwrap()
        ));
    }

    #[tokio::test]
    async fn an_unknown_cookie_starts_an_empty_session_and_a_malformed_one_a_new_id() {
        let sessions = sessions(&Store::Embedded(EmbeddedStore::new()));
        let unknown = "a".repeat(32);
        let fresh = sessions.resume_or_create(Some(&unknown)).await.unwrap();
        assert_eq!(fresh.id, unknown);
        assert!(fresh.newly_created && fresh.user_id.is_none());
        let bad = sessions.resume_or_create(Some("../../etc")).await.unwrap();
        assert!(bad.newly_created);
    }
}
