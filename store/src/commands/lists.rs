//! List commands: LPUSH, RPUSH, LPOP, RPOP, LLEN, LRANGE, LINDEX, LREM,
//! LTRIM. Indexes count from the end when negative, as in Redis.

use super::{Call, Keyspace, Result, Value, index, int, range, texts};
use crate::reply::Reply;
use std::collections::VecDeque;

fn list(v: &mut Value) -> Option<&mut VecDeque<String>> {
    if let Value::List(l) = v {
        Some(l)
    } else {
        None
    }
}

pub(super) fn run(db: &mut Keyspace, call: &Call) -> Option<Result<Reply>> {
    let a = call.args;
    let front = call.upper.starts_with('L');
    let reply = match call.upper.as_str() {
        "LPUSH" | "RPUSH" => call.need(2).and_then(|()| {
            let l = db.get_or(&a[0], || Value::List(VecDeque::new()), list)?;
            for item in &a[1..] {
                if front {
                    l.push_front(item.clone())
                } else {
                    l.push_back(item.clone())
                }
            }
            Ok(Reply::Int(l.len() as i64))
        }),
        "LPOP" | "RPOP" => pop(db, call, front),
        "LLEN" => call.exactly(1).and_then(|()| {
            let len = db.existing(&a[0], list)?.map_or(0, |l| l.len());
            Ok(Reply::Int(len as i64))
        }),
        "LRANGE" => call.exactly(3).and_then(|()| {
            let (start, stop) = (int(&a[1])?, int(&a[2])?);
            Ok(match db.existing(&a[0], list)? {
                Some(l) => match range(start, stop, l.len()) {
                    Some((from, to)) => texts(l.range(from..=to)),
                    None => Reply::Array(vec![]),
                },
                None => Reply::Array(vec![]),
            })
        }),
        "LINDEX" => call.exactly(2).and_then(|()| {
            let i = int(&a[1])?;
            Ok(db
                .existing(&a[0], list)?
                .and_then(|l| {
                    usize::try_from(index(i, l.len()))
                        .ok()
                        .and_then(|i| l.get(i).cloned())
                })
                .map_or(Reply::Nil, Reply::Text))
        }),
        "LREM" => call.exactly(3).and_then(|()| {
            let count = int(&a[1])?;
            let removed = match db.existing(&a[0], list)? {
                Some(l) => remove(l, count, &a[2]),
                None => 0,
            };
            db.drop_if_empty(&a[0]);
            Ok(Reply::Int(removed as i64))
        }),
        "LTRIM" => call.exactly(3).and_then(|()| {
            let (start, stop) = (int(&a[1])?, int(&a[2])?);
            if let Some(l) = db.existing(&a[0], list)? {
                *l = match range(start, stop, l.len()) {
                    Some((from, to)) => l.range(from..=to).cloned().collect(),
                    None => VecDeque::new(),
                };
            }
            db.drop_if_empty(&a[0]);
            Ok(Reply::ok())
        }),
        _ => return None,
    };
    Some(reply)
}

/// `LPOP`/`RPOP key [count]`: one item, or (with a count) an array of up
/// to `count`; nil when there is no list.
fn pop(db: &mut Keyspace, call: &Call, front: bool) -> Result<Reply> {
    let a = call.args;
    if a.is_empty() || a.len() > 2 {
        return Err(call.arity());
    }
    let count = match a.get(1) {
        Some(count) => Some(
            usize::try_from(int(count)?)
                .map_err(|_| "ERR value is out of range, must be positive".to_owned())?,
        ),
        None => None,
    };
    let Some(l) = db.existing(&a[0], list)? else {
        return Ok(Reply::Nil);
    };
    let mut popped = Vec::new();
    while popped.len() < count.unwrap_or(1) {
        match if front { l.pop_front() } else { l.pop_back() } {
            Some(item) => popped.push(Reply::Text(item)),
            None => break,
        }
    }
    db.drop_if_empty(&a[0]);
    Ok(match count {
        Some(_) => Reply::Array(popped),
        None => popped.pop().unwrap_or(Reply::Nil),
    })
}

/// `LREM`: removes up to `count` copies of `item` from the head (from the
/// tail when negative; all of them when 0) and answers how many went.
fn remove(l: &mut VecDeque<String>, count: i64, item: &str) -> usize {
    let limit = if count == 0 {
        usize::MAX
    } else {
        count.unsigned_abs() as usize
    };
    let mut doomed = vec![false; l.len()];
    let mut removed = 0;
    let positions: Box<dyn Iterator<Item = usize>> = if count < 0 {
        Box::new((0..l.len()).rev())
    } else {
        Box::new(0..l.len())
    };
    for i in positions {
        if removed < limit && l[i] == item {
            doomed[i] = true;
            removed += 1;
        }
    }
    let mut i = 0;
    l.retain(|_| {
        i += 1;
        !doomed[i - 1]
    });
    removed
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{run, text};
    use super::*;

    #[test]
    fn lists() {
        let mut db = Keyspace::default();
        assert_eq!(run(&mut db, "RPUSH l a b c"), Ok(Reply::Int(3)));
        assert_eq!(
            run(&mut db, "LRANGE l 0 -1"),
            Ok(Reply::Array(vec![text("a"), text("b"), text("c")]))
        );
        assert_eq!(run(&mut db, "LPOP l"), Ok(text("a")));
    }

    #[test]
    fn lrem_counts_from_the_head_or_the_tail() {
        let mut db = Keyspace::default();
        run(&mut db, "RPUSH l x a x b x").unwrap();
        assert_eq!(run(&mut db, "LREM l -2 x"), Ok(Reply::Int(2)));
        assert_eq!(
            run(&mut db, "LRANGE l 0 -1"),
            Ok(Reply::Array(vec![text("x"), text("a"), text("b")]))
        );
        assert_eq!(run(&mut db, "LREM l 0 x"), Ok(Reply::Int(1)));
        assert_eq!(run(&mut db, "LREM l 1 a"), Ok(Reply::Int(1)));
        assert_eq!(run(&mut db, "LREM l 1 b"), Ok(Reply::Int(1)));
        assert_eq!(run(&mut db, "EXISTS l"), Ok(Reply::Int(0)));
    }
}
