//! String commands: GET, SET (with NX, XX, EX, PX), SETEX, SETNX, GETSET,
//! MGET, MSET, the counters INCR, DECR, INCRBY, DECRBY, and APPEND, STRLEN.

use super::{Call, Keyspace, Result, Value, WRONGTYPE, deadline, int};
use crate::reply::Reply;

fn string(v: &mut Value) -> Option<&mut String> {
    if let Value::Str(s) = v { Some(s) } else { None }
}

pub(super) fn run(db: &mut Keyspace, call: &Call) -> Option<Result<Reply>> {
    let a = call.args;
    let reply = match call.upper.as_str() {
        "GET" => call.exactly(1).and_then(|()| {
            Ok(db
                .existing(&a[0], string)?
                .map_or(Reply::Nil, |s| Reply::Text(s.clone())))
        }),
        "SET" => set(db, call),
        "SETEX" => setex(db, call),
        "SETNX" => call.exactly(2).map(|()| {
            if db.live(&a[0]).is_some() {
                Reply::Int(0)
            } else {
                db.set_string(&a[0], &a[1], None);
                Reply::Int(1)
            }
        }),
        "GETSET" => call.exactly(2).and_then(|()| {
            let old = db.existing(&a[0], string)?.map(|s| s.clone());
            db.set_string(&a[0], &a[1], None);
            Ok(old.map_or(Reply::Nil, Reply::Text))
        }),
        "MGET" => call.need(1).map(|()| {
            let values = a.iter().map(|k| match db.get_mut(k) {
                Some(Value::Str(s)) => Reply::Text(s.clone()),
                _ => Reply::Nil,
            });
            Reply::Array(values.collect())
        }),
        "MSET" => {
            if a.is_empty() || !a.len().is_multiple_of(2) {
                Err(call.arity())
            } else {
                for pair in a.chunks(2) {
                    db.set_string(&pair[0], &pair[1], None);
                }
                Ok(Reply::ok())
            }
        }
        "INCR" => call.exactly(1).and_then(|()| incr_by(db, &a[0], 1)),
        "DECR" => call.exactly(1).and_then(|()| incr_by(db, &a[0], -1)),
        "INCRBY" => call
            .exactly(2)
            .and_then(|()| incr_by(db, &a[0], int(&a[1])?)),
        "DECRBY" => call.exactly(2).and_then(|()| {
            let by = int(&a[1])?
                .checked_neg()
                .ok_or_else(|| "ERR decrement would overflow".to_owned())?;
            incr_by(db, &a[0], by)
        }),
        "APPEND" => call.exactly(2).and_then(|()| {
            let s = db.get_or(&a[0], || Value::Str(String::new()), string)?;
            s.push_str(&a[1]);
            Ok(Reply::Int(s.len() as i64))
        }),
        "STRLEN" => call.exactly(1).and_then(|()| {
            let len = db.existing(&a[0], string)?.map_or(0, |s| s.len());
            Ok(Reply::Int(len as i64))
        }),
        _ => return None,
    };
    Some(reply)
}

/// `SET key value [NX|XX] [EX seconds|PX milliseconds]`.
fn set(db: &mut Keyspace, call: &Call) -> Result<Reply> {
    call.need(2)?;
    let a = call.args;
    let (mut expires, mut nx, mut xx) = (None, false, false);
    let mut options = a[2..].iter();
    while let Some(option) = options.next() {
        match option.to_uppercase().as_str() {
            "NX" if !xx => nx = true,
            "XX" if !nx => xx = true,
            unit @ ("EX" | "PX") if expires.is_none() => {
                let amount = int(options
                    .next()
                    .ok_or_else(|| "ERR syntax error".to_owned())?)?;
                if amount <= 0 {
                    return Err("ERR invalid expire time in 'set' command".to_owned());
                }
                let unit_ms = if unit == "EX" { 1000 } else { 1 };
                expires = Some(deadline(amount, unit_ms, "set")?);
            }
            _ => return Err("ERR syntax error".to_owned()),
        }
    }
    let exists = db.live(&a[0]).is_some();
    if (nx && exists) || (xx && !exists) {
        return Ok(Reply::Nil);
    }
    db.set_string(&a[0], &a[1], expires);
    Ok(Reply::ok())
}

fn setex(db: &mut Keyspace, call: &Call) -> Result<Reply> {
    call.exactly(3)?;
    let a = call.args;
    let seconds = int(&a[1])?;
    if seconds <= 0 {
        return Err("ERR invalid expire time in 'setex' command".to_owned());
    }
    let expires = deadline(seconds, 1000, "setex")?;
    db.set_string(&a[0], &a[2], Some(expires));
    Ok(Reply::ok())
}

/// Adds `by` to the integer at `key` (0 when absent), keeping its expiry.
fn incr_by(db: &mut Keyspace, key: &str, by: i64) -> Result<Reply> {
    let current = match db.get_mut(key) {
        None => 0,
        Some(Value::Str(s)) => int(s)?,
        Some(_) => return Err(WRONGTYPE.to_owned()),
    };
    let next = current
        .checked_add(by)
        .ok_or_else(|| "ERR increment or decrement would overflow".to_owned())?;
    let expires = db.live(key).and_then(|e| e.expires);
    db.set_string(key, &next.to_string(), expires);
    Ok(Reply::Int(next))
}

#[cfg(test)]
mod tests {
    use super::super::NOT_INTEGER;
    use super::super::test_support::{run, text};
    use super::*;
    use std::time::Duration;

    #[test]
    fn strings_counters_and_expiry() {
        let mut db = Keyspace::default();
        assert_eq!(run(&mut db, "SET k v"), Ok(Reply::ok()));
        assert_eq!(run(&mut db, "GET k"), Ok(text("v")));
        assert_eq!(run(&mut db, "SET k w NX"), Ok(Reply::Nil));
        assert_eq!(run(&mut db, "INCR n"), Ok(Reply::Int(1)));
        assert_eq!(run(&mut db, "INCRBY n 41"), Ok(Reply::Int(42)));
        assert_eq!(run(&mut db, "INCR k").unwrap_err(), NOT_INTEGER);
        assert_eq!(run(&mut db, "TTL k"), Ok(Reply::Int(-1)));
        assert_eq!(run(&mut db, "EXPIRE k 100"), Ok(Reply::Int(1)));
        assert_eq!(run(&mut db, "TTL k"), Ok(Reply::Int(100)));
        assert_eq!(run(&mut db, "PEXPIRE k 1"), Ok(Reply::Int(1)));
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(run(&mut db, "GET k"), Ok(Reply::Nil));
        assert_eq!(run(&mut db, "TTL k"), Ok(Reply::Int(-2)));
        assert_eq!(run(&mut db, "KEYS *"), Ok(Reply::Array(vec![text("n")])));
    }
}
