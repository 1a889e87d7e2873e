//! The Redis key layout (SPEC 6), in one place: sessions, users online,
//! groups, and the pub/sub channels events travel on between instances, all
//! under the app's `redis.key_prefix`. Instances of one app, and SocketStream
//! servers beside them, find each other's data only because they agree on
//! these names.

use std::sync::Arc;

/// Key and channel names under one prefix. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    prefix: Arc<str>,
}

/// What an event channel carries, read back from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventChannel<'a> {
    /// `<prefix>:broadcast`: every connection.
    Broadcast,
    /// `<prefix>:user:<id>`: every connection of one user.
    User(&'a str),
    /// `<prefix>:channel:<name>` (the later API): the channel's subscribers.
    Channel(&'a str),
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    /// A session's hash.
    pub fn session(&self, id: &str) -> String {
        format!("{}:session:{id}", self.prefix)
    }

    /// The set of users online now.
    pub fn online_now(&self) -> String {
        format!("{}:online:now", self.prefix)
    }

    /// The set of users seen in the minute starting at `minute_start` (unix
    /// seconds).
    pub fn online_at(&self, minute_start: u64) -> String {
        format!("{}:online:at:{minute_start}", self.prefix)
    }

    /// A group's set of user ids (`$SS.publish.group`).
    pub fn group(&self, name: &str) -> String {
        format!("{}:group:{name}", self.prefix)
    }

    /// The pub/sub channel an event for `to` goes out on.
    pub fn event_channel(&self, to: EventChannel<'_>) -> String {
        match to {
            EventChannel::Broadcast => format!("{}:broadcast", self.prefix),
            EventChannel::User(id) => format!("{}:user:{id}", self.prefix),
            EventChannel::Channel(name) => format!("{}:channel:{name}", self.prefix),
        }
    }

    /// What an instance subscribes to for every event: exact channel names,
    /// then patterns.
    pub fn event_subscriptions(&self) -> (Vec<String>, Vec<String>) {
        (
            vec![self.event_channel(EventChannel::Broadcast)],
            vec![
                format!("{}:user:*", self.prefix),
                format!("{}:channel:*", self.prefix),
            ],
        )
    }

    /// Which event a channel name carries; `None` for any other name.
    pub fn parse_event_channel<'a>(&self, channel: &'a str) -> Option<EventChannel<'a>> {
        let rest = channel.strip_prefix(&*self.prefix)?.strip_prefix(':')?;
        if rest == "broadcast" {
            Some(EventChannel::Broadcast)
        } else if let Some(id) = rest.strip_prefix("user:") {
            Some(EventChannel::User(id))
        } else {
            rest.strip_prefix("channel:").map(EventChannel::Channel)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_channels_read_back_as_what_they_carry() {
        let keys = Keys::new("ss");
        for to in [
            EventChannel::Broadcast,
            EventChannel::User("42"),
            EventChannel::Channel("room:1"),
        ] {
            let name = keys.event_channel(to);
            assert_eq!(keys.parse_event_channel(&name), Some(to), "{name}");
        }
        assert_eq!(keys.event_channel(EventChannel::User("7")), "ss:user:7");
        assert_eq!(keys.parse_event_channel("other:broadcast"), None);
        assert_eq!(keys.parse_event_channel("ss:session:x"), None);
        assert_eq!(keys.parse_event_channel("ssx:broadcast"), None);
    }

    #[test]
    fn keys_are_under_the_prefix() {
        let keys = Keys::new("app");
        assert_eq!(keys.session("abc"), "app:session:abc");
        assert_eq!(keys.online_now(), "app:online:now");
        assert_eq!(keys.online_at(1_700_000_040), "app:online:at:1700000040");
        assert_eq!(keys.group("admins"), "app:group:admins");
    }
}
