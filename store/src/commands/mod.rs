//! The Redis commands the embedded store answers, on Redis's own data model:
//! keys holding strings, hashes, lists, sets or sorted sets, with expiry.
//! Anything else is refused with a clear error, never a hang.
//!
//! This module owns the [`Keyspace`] (entries, lazy expiry, type checks and
//! the shared argument helpers) and sends each command by name to its
//! family's module, which owns that family's commands and tests.

mod glob;
mod hashes;
mod keys;
mod lists;
mod sets;
mod sorted_sets;
mod strings;

use crate::reply::Reply;
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

enum Value {
    Str(String),
    Hash(HashMap<String, String>),
    List(VecDeque<String>),
    Set(HashSet<String>),
    ZSet(HashMap<String, f64>),
}

struct Entry {
    value: Value,
    expires: Option<Instant>,
}

/// One numbered database (`SELECT n`).
#[derive(Default)]
pub struct Keyspace {
    entries: HashMap<String, Entry>,
}

type Result<T> = std::result::Result<T, String>;

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const NOT_INTEGER: &str = "ERR value is not an integer or out of range";

/// Picks one kind of collection out of a [`Value`]; `None` means `WRONGTYPE`.
type Pick<T> = fn(&mut Value) -> Option<&mut T>;

/// One command's arguments, as a family's `run` sees them.
struct Call<'a> {
    /// As the caller spelled it, for error messages.
    name: &'a str,
    /// Upper-cased, for matching.
    upper: String,
    /// The arguments after the name.
    args: &'a [String],
}

impl Call<'_> {
    fn arity(&self) -> String {
        format!(
            "ERR wrong number of arguments for '{}' command",
            self.name.to_lowercase()
        )
    }

    /// At least `n` arguments.
    fn need(&self, n: usize) -> Result<()> {
        if self.args.len() < n {
            Err(self.arity())
        } else {
            Ok(())
        }
    }

    /// Exactly `n` arguments.
    fn exactly(&self, n: usize) -> Result<()> {
        if self.args.len() != n {
            Err(self.arity())
        } else {
            Ok(())
        }
    }

    /// A key followed by one or more `(a, b)` pairs (`HSET`, `ZADD`, …).
    fn key_and_pairs(&self) -> Result<()> {
        if self.args.len() < 3 || self.args.len().is_multiple_of(2) {
            Err(self.arity())
        } else {
            Ok(())
        }
    }
}

/// A family's entry point: `None` when the command is not one of its own.
type Family = fn(&mut Keyspace, &Call) -> Option<Result<Reply>>;

const FAMILIES: [Family; 6] = [
    keys::run,
    strings::run,
    hashes::run,
    lists::run,
    sets::run,
    sorted_sets::run,
];

/// An integer as Redis's `string2ll` reads one: an optional `-`, then `0`
/// or digits without a leading zero; no `+`, no spaces.
fn int(text: &str) -> Result<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let canonical = text == "0"
        || digits
            .bytes()
            .next()
            .is_some_and(|b| (b'1'..=b'9').contains(&b))
            && digits.bytes().all(|b| b.is_ascii_digit());
    canonical
        .then(|| text.parse().ok())
        .flatten()
        .ok_or_else(|| NOT_INTEGER.to_owned())
}

/// When a time to live of `amount` units of `unit_ms` milliseconds, given
/// to `command`, ends. Like Redis, refuses one whose end in Unix
/// milliseconds would overflow (instead of panicking on `Instant` maths).
fn deadline(amount: i64, unit_ms: i64, command: &str) -> Result<Instant> {
    let invalid = || {
        format!(
            "ERR invalid expire time in '{}' command",
            command.to_lowercase()
        )
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let ms = amount
        .checked_mul(unit_ms)
        .filter(|ms| ms.checked_add(now).is_some())
        .ok_or_else(invalid)?;
    Instant::now()
        .checked_add(Duration::from_millis(ms.max(0) as u64))
        .ok_or_else(invalid)
}

fn float(text: &str) -> Result<f64> {
    match text {
        "+inf" | "inf" => Ok(f64::INFINITY),
        "-inf" => Ok(f64::NEG_INFINITY),
        _ => text
            .parse()
            .ok()
            .filter(|f: &f64| !f.is_nan())
            .ok_or_else(|| "ERR value is not a valid float".to_owned()),
    }
}

fn texts<'a>(items: impl IntoIterator<Item = &'a String>) -> Reply {
    Reply::Array(items.into_iter().map(|s| Reply::Text(s.clone())).collect())
}

/// A list index as Redis reads it: negative counts from the end.
fn index(i: i64, len: usize) -> i64 {
    if i < 0 { len as i64 + i } else { i }
}

/// The inclusive `start..=stop` of a `LRANGE`-style range, clamped to `len`;
/// `None` when it is empty.
fn range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let start = index(start, len).max(0);
    let stop = index(stop, len).min(len as i64 - 1);
    (start <= stop && len > 0).then_some((start as usize, stop as usize))
}

impl Keyspace {
    /// Runs one command (`args[0]` is its name).
    pub fn execute(&mut self, args: &[String]) -> Result<Reply> {
        let Some((name, args)) = args.split_first() else {
            return Err("ERR empty command".to_owned());
        };
        let call = Call {
            name,
            upper: name.to_uppercase(),
            args,
        };
        FAMILIES
            .iter()
            .find_map(|run| run(self, &call))
            .unwrap_or_else(|| {
                Err(format!(
                    "ERR '{}' is not supported by the embedded store; configure Redis to use it",
                    name.to_lowercase()
                ))
            })
    }

    /// The entry at `key`, dropping it first if it has expired.
    fn live(&mut self, key: &str) -> Option<&mut Entry> {
        if self
            .entries
            .get(key)
            .is_some_and(|e| e.expires.is_some_and(|at| at <= Instant::now()))
        {
            self.entries.remove(key);
        }
        self.entries.get_mut(key)
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.live(key).map(|entry| &mut entry.value)
    }

    /// Drops every expired entry (before counting or listing keys).
    fn purge_expired(&mut self) {
        let now = Instant::now();
        self.entries
            .retain(|_, e| e.expires.is_none_or(|at| at > now));
    }

    /// The value at `key`, created by `make` if absent; `WRONGTYPE` if `pick`
    /// does not accept what is there.
    fn get_or<T>(&mut self, key: &str, make: fn() -> Value, pick: Pick<T>) -> Result<&mut T> {
        if self.live(key).is_none() {
            self.entries.insert(
                key.to_owned(),
                Entry {
                    value: make(),
                    expires: None,
                },
            );
        }
        let entry = self.entries.get_mut(key).expect("inserted above");
        pick(&mut entry.value).ok_or_else(|| WRONGTYPE.to_owned())
    }

    /// The value at `key` if there is one; `WRONGTYPE` if `pick` does not
    /// accept it.
    fn existing<T>(&mut self, key: &str, pick: Pick<T>) -> Result<Option<&mut T>> {
        match self.get_mut(key) {
            None => Ok(None),
            Some(value) => pick(value).map(Some).ok_or_else(|| WRONGTYPE.to_owned()),
        }
    }

    /// Removes `members` from the collection at `key` (dropping it once
    /// empty, as Redis does) and answers how many were there.
    fn remove_members<T>(
        &mut self,
        key: &str,
        members: &[String],
        pick: Pick<T>,
        remove: fn(&mut T, &String) -> bool,
    ) -> Result<Reply> {
        let removed = match self.existing(key, pick)? {
            Some(collection) => members.iter().filter(|m| remove(collection, m)).count(),
            None => 0,
        };
        self.drop_if_empty(key);
        Ok(Reply::Int(removed as i64))
    }

    /// Drops `key` when its collection became empty, as Redis does.
    fn drop_if_empty(&mut self, key: &str) {
        let empty = match self.entries.get(key).map(|e| &e.value) {
            Some(Value::Hash(h)) => h.is_empty(),
            Some(Value::List(l)) => l.is_empty(),
            Some(Value::Set(s)) => s.is_empty(),
            Some(Value::ZSet(z)) => z.is_empty(),
            _ => false,
        };
        if empty {
            self.entries.remove(key);
        }
    }

    fn set_string(&mut self, key: &str, value: &str, expires: Option<Instant>) {
        self.entries.insert(
            key.to_owned(),
            Entry {
                value: Value::Str(value.to_owned()),
                expires,
            },
        );
    }
}

/// Helpers for the families' unit tests.
#[cfg(test)]
mod test_support {
    use super::*;

    pub fn run(space: &mut Keyspace, line: &str) -> std::result::Result<Reply, String> {
        let args: Vec<String> = line.split(' ').map(str::to_owned).collect();
        space.execute(&args)
    }

    pub fn text(s: &str) -> Reply {
        Reply::Text(s.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::run;
    use super::*;

    #[test]
    fn unknown_commands_and_wrong_arity_are_clear_errors() {
        let mut db = Keyspace::default();
        assert!(
            run(&mut db, "XADD s * a 1")
                .unwrap_err()
                .contains("not supported by the embedded store")
        );
        assert!(
            run(&mut db, "GET")
                .unwrap_err()
                .contains("wrong number of arguments for 'get'")
        );
    }
}
