//! Commands on keys whatever they hold (DEL, EXISTS, KEYS, TYPE, RENAME),
//! expiry (EXPIRE, PEXPIRE, TTL, PTTL, PERSIST), the whole database (DBSIZE,
//! FLUSHDB) and the connection checks PING and ECHO.

use super::{Call, Entry, Keyspace, Result, Value, deadline, glob, int, texts};
use crate::reply::Reply;
use std::time::Instant;

pub(super) fn run(db: &mut Keyspace, call: &Call) -> Option<Result<Reply>> {
    let a = call.args;
    let reply = match call.upper.as_str() {
        "PING" => ping(call),
        "ECHO" => call.exactly(1).map(|()| Reply::Text(a[0].clone())),
        "DBSIZE" => {
            db.purge_expired();
            Ok(Reply::Int(db.entries.len() as i64))
        }
        "FLUSHDB" => {
            db.entries.clear();
            Ok(Reply::ok())
        }
        "DEL" => call.need(1).map(|()| {
            let deleted = a
                .iter()
                .filter(|k| db.live(k).is_some() && db.entries.remove(*k).is_some())
                .count();
            Reply::Int(deleted as i64)
        }),
        "EXISTS" => call
            .need(1)
            .map(|()| Reply::Int(a.iter().filter(|k| db.live(k).is_some()).count() as i64)),
        "RENAME" => rename(db, call),
        "KEYS" => call.exactly(1).map(|()| keys(db, &a[0])),
        "TYPE" => call.exactly(1).map(|()| {
            let kind = match db.get_mut(&a[0]) {
                None => "none",
                Some(Value::Str(_)) => "string",
                Some(Value::Hash(_)) => "hash",
                Some(Value::List(_)) => "list",
                Some(Value::Set(_)) => "set",
                Some(Value::ZSet(_)) => "zset",
            };
            Reply::Text(kind.to_owned())
        }),
        "EXPIRE" => expire(db, call, 1000),
        "PEXPIRE" => expire(db, call, 1),
        "TTL" | "PTTL" => call
            .exactly(1)
            .map(|()| ttl(db, &a[0], call.upper == "TTL")),
        "PERSIST" => call.exactly(1).map(|()| match db.live(&a[0]) {
            Some(entry) if entry.expires.is_some() => {
                entry.expires = None;
                Reply::Int(1)
            }
            _ => Reply::Int(0),
        }),
        _ => return None,
    };
    Some(reply)
}

/// `PING [message]`: the message back, or `PONG`.
fn ping(call: &Call) -> Result<Reply> {
    match call.args {
        [] => Ok(Reply::Text("PONG".to_owned())),
        [message] => Ok(Reply::Text(message.clone())),
        _ => Err(call.arity()),
    }
}

fn rename(db: &mut Keyspace, call: &Call) -> Result<Reply> {
    call.exactly(2)?;
    let (from, to) = (&call.args[0], &call.args[1]);
    if db.live(from).is_none() {
        return Err("ERR no such key".to_owned());
    }
    if let Some(entry) = db.entries.remove(from) {
        db.entries.insert(to.clone(), entry);
    }
    Ok(Reply::ok())
}

/// The live keys matching `pattern` (see [`glob`]), sorted: Redis promises
/// no order, and a sorted one keeps tests and apps deterministic.
fn keys(db: &mut Keyspace, pattern: &str) -> Reply {
    db.purge_expired();
    // Redis skips matching for a lone `*`, which also lists the empty key.
    let all = pattern == "*";
    let mut keys: Vec<&String> = db
        .entries
        .keys()
        .filter(|k| all || glob::matches(pattern.as_bytes(), k.as_bytes()))
        .collect();
    keys.sort();
    texts(keys)
}

/// `EXPIRE`/`PEXPIRE`: a time to live of `amount` units; zero or less
/// deletes the key at once, as Redis does.
fn expire(db: &mut Keyspace, call: &Call, unit_ms: i64) -> Result<Reply> {
    call.exactly(2)?;
    let key = &call.args[0];
    let amount = int(&call.args[1])?;
    let at = deadline(amount, unit_ms, call.name)?;
    Ok(match db.live(key) {
        Some(entry) if amount > 0 => {
            entry.expires = Some(at);
            Reply::Int(1)
        }
        Some(_) => {
            db.entries.remove(key);
            Reply::Int(1)
        }
        None => Reply::Int(0),
    })
}

/// `TTL` (whole seconds, rounded) or `PTTL`: -2 for no key, -1 for no expiry.
fn ttl(db: &mut Keyspace, key: &str, seconds: bool) -> Reply {
    match db.live(key) {
        None => Reply::Int(-2),
        Some(Entry { expires: None, .. }) => Reply::Int(-1),
        Some(Entry {
            expires: Some(at), ..
        }) => {
            let left = at.saturating_duration_since(Instant::now());
            Reply::Int(if seconds {
                left.as_secs_f64().round() as i64
            } else {
                left.as_millis() as i64
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{run, text};
    use super::*;

    #[test]
    fn rename_moves_value_and_expiry_and_refuses_a_missing_key() {
        let mut db = Keyspace::default();
        run(&mut db, "HSET old f v").unwrap();
        run(&mut db, "EXPIRE old 100").unwrap();
        assert_eq!(run(&mut db, "RENAME old new"), Ok(Reply::ok()));
        assert_eq!(run(&mut db, "EXISTS old"), Ok(Reply::Int(0)));
        assert_eq!(run(&mut db, "HGET new f"), Ok(text("v")));
        assert!(matches!(run(&mut db, "TTL new"), Ok(Reply::Int(1..=100))));
        assert_eq!(
            run(&mut db, "RENAME old other"),
            Err("ERR no such key".to_owned())
        );
    }

    #[test]
    fn keys_lists_matching_keys_sorted() {
        let mut db = Keyspace::default();
        run(&mut db, "MSET b 1 a 2 ab 3 c[ 4").unwrap();
        let keys = |db: &mut Keyspace, pattern: &str| run(db, &format!("KEYS {pattern}"));
        let list = |names: &[&str]| Ok(Reply::Array(names.iter().map(|n| text(n)).collect()));
        assert_eq!(keys(&mut db, "*"), list(&["a", "ab", "b", "c["]));
        assert_eq!(keys(&mut db, "a*"), list(&["a", "ab"]));
        assert_eq!(keys(&mut db, "[ab]"), list(&["a", "b"]));
        assert_eq!(keys(&mut db, "c\\["), list(&["c["]));
    }
}
