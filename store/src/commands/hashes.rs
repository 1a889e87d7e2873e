//! Hash commands: HSET, HMSET, HSETNX, HGET, HMGET, HGETALL, HDEL, HEXISTS,
//! HLEN, HKEYS, HVALS, HINCRBY. Fields come back sorted by name: Redis
//! promises no order, and a fixed one keeps replies deterministic.

use super::{Call, Keyspace, Result, Value, int};
use crate::reply::Reply;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

fn hash(v: &mut Value) -> Option<&mut HashMap<String, String>> {
    if let Value::Hash(h) = v {
        Some(h)
    } else {
        None
    }
}

fn new_hash() -> Value {
    Value::Hash(HashMap::new())
}

pub(super) fn run(db: &mut Keyspace, call: &Call) -> Option<Result<Reply>> {
    let a = call.args;
    let reply = match call.upper.as_str() {
        "HSET" | "HMSET" => call.key_and_pairs().and_then(|()| {
            let h = db.get_or(&a[0], new_hash, hash)?;
            let added = a[1..]
                .chunks(2)
                .filter(|pair| h.insert(pair[0].clone(), pair[1].clone()).is_none())
                .count();
            Ok(if call.upper == "HMSET" {
                Reply::ok()
            } else {
                Reply::Int(added as i64)
            })
        }),
        "HSETNX" => call.exactly(3).and_then(|()| {
            let h = db.get_or(&a[0], new_hash, hash)?;
            Ok(Reply::bool(match h.entry(a[1].clone()) {
                Entry::Vacant(field) => {
                    field.insert(a[2].clone());
                    true
                }
                Entry::Occupied(_) => false,
            }))
        }),
        "HGET" => call.exactly(2).and_then(|()| {
            Ok(db
                .existing(&a[0], hash)?
                .and_then(|h| h.get(&a[1]).cloned())
                .map_or(Reply::Nil, Reply::Text))
        }),
        "HMGET" => call.need(2).and_then(|()| {
            let h = db.existing(&a[0], hash)?;
            let values = a[1..].iter().map(|f| {
                h.as_ref()
                    .and_then(|h| h.get(f).cloned())
                    .map_or(Reply::Nil, Reply::Text)
            });
            Ok(Reply::Array(values.collect()))
        }),
        "HGETALL" => call.exactly(1).and_then(|()| {
            let pairs = sorted_pairs(db, &a[0])?;
            let flat = pairs
                .into_iter()
                .flat_map(|(k, v)| [Reply::Text(k), Reply::Text(v)]);
            Ok(Reply::Array(flat.collect()))
        }),
        "HDEL" => call
            .need(2)
            .and_then(|()| db.remove_members(&a[0], &a[1..], hash, |h, f| h.remove(f).is_some())),
        "HEXISTS" => call.exactly(2).and_then(|()| {
            let found = db
                .existing(&a[0], hash)?
                .is_some_and(|h| h.contains_key(&a[1]));
            Ok(Reply::bool(found))
        }),
        "HLEN" => call.exactly(1).and_then(|()| {
            let len = db.existing(&a[0], hash)?.map_or(0, |h| h.len());
            Ok(Reply::Int(len as i64))
        }),
        "HKEYS" | "HVALS" => call.exactly(1).and_then(|()| {
            let keys = call.upper == "HKEYS";
            let pairs = sorted_pairs(db, &a[0])?;
            let items = pairs.into_iter().map(|(k, v)| if keys { k } else { v });
            Ok(Reply::Array(items.map(Reply::Text).collect()))
        }),
        "HINCRBY" => call.exactly(3).and_then(|()| {
            let by = int(&a[2])?;
            let h = db.get_or(&a[0], new_hash, hash)?;
            let current = match h.get(&a[1]) {
                Some(v) => int(v).map_err(|_| "ERR hash value is not an integer".to_owned())?,
                None => 0,
            };
            let next = current
                .checked_add(by)
                .ok_or_else(|| "ERR increment or decrement would overflow".to_owned())?;
            h.insert(a[1].clone(), next.to_string());
            Ok(Reply::Int(next))
        }),
        _ => return None,
    };
    Some(reply)
}

/// The hash at `key` as `(field, value)` pairs sorted by field.
fn sorted_pairs(db: &mut Keyspace, key: &str) -> Result<Vec<(String, String)>> {
    let mut pairs: Vec<(String, String)> = db
        .existing(key, hash)?
        .map(|h| h.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    pairs.sort();
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{run, text};
    use super::super::{NOT_INTEGER, WRONGTYPE};
    use super::*;

    #[test]
    fn hashes() {
        let mut db = Keyspace::default();
        assert_eq!(run(&mut db, "HSET h a 1 b 2"), Ok(Reply::Int(2)));
        assert_eq!(
            run(&mut db, "HGETALL h"),
            Ok(Reply::Array(vec![
                text("a"),
                text("1"),
                text("b"),
                text("2")
            ]))
        );
        assert_eq!(run(&mut db, "HINCRBY h a 9"), Ok(Reply::Int(10)));
        assert_eq!(run(&mut db, "GET h").unwrap_err(), WRONGTYPE);
        assert_eq!(run(&mut db, "HSETNX h a 5"), Ok(Reply::Int(0)));
        assert_eq!(run(&mut db, "HSETNX h c 5"), Ok(Reply::Int(1)));
        assert_eq!(run(&mut db, "HGET h c"), Ok(text("5")));
    }

    #[test]
    fn hincrby_refuses_a_field_that_is_not_an_integer() {
        let mut db = Keyspace::default();
        run(&mut db, "HSET h f x").unwrap();
        assert_eq!(
            run(&mut db, "HINCRBY h f 1"),
            Err("ERR hash value is not an integer".to_owned())
        );
        assert_eq!(run(&mut db, "HINCRBY h g x"), Err(NOT_INTEGER.to_owned()));
    }
}
