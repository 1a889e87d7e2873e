//! Users online (SPEC 6): the set [`Keys::online_now`], plus one set per
//! minute, [`Keys::online_at`], of who was seen in it. A purge keeps in the
//! first only users seen within the last `mins` minutes. Groups
//! (`$SS.publish.group`) are sets the app fills itself.

use crate::{Keys, Reply, Store, StoreError};
use std::time::{SystemTime, UNIX_EPOCH};

/// Users online and groups in a [`Store`] (database 0, beside sessions).
#[derive(Clone)]
pub struct UsersOnline {
    store: Store,
    keys: Keys,
}

impl UsersOnline {
    pub fn new(store: Store, keys: Keys) -> Self {
        Self { store, keys }
    }

    /// Marks `user` online now and seen this minute. The minute's set
    /// expires after `bucket_ttl` seconds; `None` keeps it (history).
    pub async fn add(&self, user: &str, bucket_ttl: Option<u64>) -> Result<(), StoreError> {
        let bucket = self.keys.online_at(minute_start());
        self.run(&["SADD", &self.keys.online_now(), user]).await?;
        self.run(&["SADD", &bucket, user]).await?;
        if let Some(seconds) = bucket_ttl {
            self.run(&["EXPIRE", &bucket, &seconds.to_string()]).await?;
        }
        Ok(())
    }

    /// `user` is offline now.
    pub async fn remove(&self, user: &str) -> Result<(), StoreError> {
        self.run(&["SREM", &self.keys.online_now(), user])
            .await
            .map(drop)
    }

    /// Everyone online now.
    pub async fn all(&self) -> Result<Vec<String>, StoreError> {
        self.members(&self.keys.online_now()).await
    }

    /// Drops from the online set everyone not seen in the last `mins`
    /// minutes.
    pub async fn purge(&self, mins: u64) -> Result<(), StoreError> {
        let now = minute_start();
        let mut seen = std::collections::HashSet::new();
        for minute in 0..mins {
            let bucket = self.keys.online_at(now.saturating_sub(minute * 60));
            seen.extend(self.members(&bucket).await?);
        }
        let gone: Vec<String> = self
            .all()
            .await?
            .into_iter()
            .filter(|user| !seen.contains(user))
            .collect();
        if gone.is_empty() {
            return Ok(());
        }
        let mut args = vec!["SREM".to_owned(), self.keys.online_now()];
        args.extend(gone);
        self.store.command(0, &args).await.map(drop)
    }

    /// The user ids in group `name`.
    pub async fn group_members(&self, name: &str) -> Result<Vec<String>, StoreError> {
        self.members(&self.keys.group(name)).await
    }

    async fn members(&self, key: &str) -> Result<Vec<String>, StoreError> {
        Ok(match self.run(&["SMEMBERS", key]).await? {
            Reply::Array(items) => items
                .into_iter()
                .filter_map(|item| match item {
                    Reply::Text(text) => Some(text),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        })
    }

    async fn run(&self, args: &[&str]) -> Result<Reply, StoreError> {
        let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
        self.store.command(0, &args).await
    }
}

/// The start of the current minute, in unix seconds.
fn minute_start() -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    now - now % 60
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EmbeddedStore;

    fn online() -> UsersOnline {
        let store = Store::Embedded(EmbeddedStore::new());
        UsersOnline::new(store, Keys::new("ss"))
    }

    #[tokio::test]
    async fn users_come_and_go() {
        let online = online();
        online.add("ann", Some(180)).await.unwrap();
        online.add("bob", None).await.unwrap();
        let mut all = online.all().await.unwrap();
        all.sort();
        assert_eq!(all, ["ann", "bob"]);
        online.remove("ann").await.unwrap();
        assert_eq!(online.all().await.unwrap(), ["bob"]);
    }

    #[tokio::test]
    async fn a_purge_keeps_users_seen_lately() {
        let online = online();
        online.add("ann", Some(180)).await.unwrap();
        // Online, but not seen in any minute's set: a purge drops them.
        online
            .run(&["SADD", &online.keys.online_now(), "ghost"])
            .await
            .unwrap();
        online.purge(2).await.unwrap();
        assert_eq!(online.all().await.unwrap(), ["ann"]);
        online.purge(0).await.unwrap();
        assert!(online.all().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn groups_are_sets_the_app_fills() {
        let online = online();
        assert!(online.group_members("admins").await.unwrap().is_empty());
        online
            .run(&["SADD", &online.keys.group("admins"), "ann"])
            .await
            .unwrap();
        assert_eq!(online.group_members("admins").await.unwrap(), ["ann"]);
    }
}
