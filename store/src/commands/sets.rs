//! Set commands: SADD, SREM, SMEMBERS, SISMEMBER, SCARD. Members come back
//! sorted: Redis promises no order, and a fixed one keeps replies
//! deterministic.

use super::{Call, Keyspace, Result, Value, texts};
use crate::reply::Reply;
use std::collections::HashSet;

fn set(v: &mut Value) -> Option<&mut HashSet<String>> {
    if let Value::Set(s) = v { Some(s) } else { None }
}

pub(super) fn run(db: &mut Keyspace, call: &Call) -> Option<Result<Reply>> {
    let a = call.args;
    let reply = match call.upper.as_str() {
        "SADD" => call.need(2).and_then(|()| {
            let s = db.get_or(&a[0], || Value::Set(HashSet::new()), set)?;
            let added = a[1..].iter().filter(|m| s.insert((*m).clone())).count();
            Ok(Reply::Int(added as i64))
        }),
        "SREM" => call
            .need(2)
            .and_then(|()| db.remove_members(&a[0], &a[1..], set, |s, m| s.remove(m))),
        "SMEMBERS" => call.exactly(1).and_then(|()| {
            let mut members: Vec<String> = db
                .existing(&a[0], set)?
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default();
            members.sort();
            Ok(texts(&members))
        }),
        "SISMEMBER" => call.exactly(2).and_then(|()| {
            let found = db.existing(&a[0], set)?.is_some_and(|s| s.contains(&a[1]));
            Ok(Reply::bool(found))
        }),
        "SCARD" => call.exactly(1).and_then(|()| {
            let len = db.existing(&a[0], set)?.map_or(0, |s| s.len());
            Ok(Reply::Int(len as i64))
        }),
        _ => return None,
    };
    Some(reply)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{run, text};
    use super::*;

    #[test]
    fn sets() {
        let mut db = Keyspace::default();
        assert_eq!(run(&mut db, "SADD s x y x"), Ok(Reply::Int(2)));
        assert_eq!(
            run(&mut db, "SMEMBERS s"),
            Ok(Reply::Array(vec![text("x"), text("y")]))
        );
        assert_eq!(run(&mut db, "SREM s x y"), Ok(Reply::Int(2)));
        assert_eq!(
            run(&mut db, "EXISTS s"),
            Ok(Reply::Int(0)),
            "an emptied set is gone"
        );
    }
}
