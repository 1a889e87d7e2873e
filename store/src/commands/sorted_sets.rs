//! Sorted-set commands: ZADD, ZINCRBY, ZSCORE, ZREM, ZCARD, ZRANGE and
//! ZREVRANGE (with WITHSCORES). Members are ordered by score, then by name,
//! as in Redis; scores are written as Redis writes them.

use super::{Call, Keyspace, Result, Value, float, int, range};
use crate::reply::Reply;
use std::collections::HashMap;

fn zset(v: &mut Value) -> Option<&mut HashMap<String, f64>> {
    if let Value::ZSet(z) = v {
        Some(z)
    } else {
        None
    }
}

fn new_zset() -> Value {
    Value::ZSet(HashMap::new())
}

pub(super) fn run(db: &mut Keyspace, call: &Call) -> Option<Result<Reply>> {
    let a = call.args;
    let reply = match call.upper.as_str() {
        "ZADD" => call.key_and_pairs().and_then(|()| {
            let scores: Vec<(f64, &String)> = a[1..]
                .chunks(2)
                .map(|pair| float(&pair[0]).map(|score| (score, &pair[1])))
                .collect::<Result<_>>()?;
            let z = db.get_or(&a[0], new_zset, zset)?;
            let added = scores
                .into_iter()
                .filter(|(score, m)| z.insert((*m).clone(), *score).is_none())
                .count();
            Ok(Reply::Int(added as i64))
        }),
        "ZINCRBY" => call.exactly(3).and_then(|()| {
            let by = float(&a[1])?;
            let z = db.get_or(&a[0], new_zset, zset)?;
            let score = z.entry(a[2].clone()).or_insert(0.0);
            *score += by;
            Ok(Reply::Text(score.to_string()))
        }),
        "ZSCORE" => call.exactly(2).and_then(|()| {
            Ok(db
                .existing(&a[0], zset)?
                .and_then(|z| z.get(&a[1]).map(|s| Reply::Text(s.to_string())))
                .unwrap_or(Reply::Nil))
        }),
        "ZREM" => call
            .need(2)
            .and_then(|()| db.remove_members(&a[0], &a[1..], zset, |z, m| z.remove(m).is_some())),
        "ZCARD" => call.exactly(1).and_then(|()| {
            let len = db.existing(&a[0], zset)?.map_or(0, |z| z.len());
            Ok(Reply::Int(len as i64))
        }),
        "ZRANGE" | "ZREVRANGE" => zrange(db, call),
        _ => return None,
    };
    Some(reply)
}

/// `ZRANGE`/`ZREVRANGE key start stop [WITHSCORES]`, by rank.
fn zrange(db: &mut Keyspace, call: &Call) -> Result<Reply> {
    call.need(3)?;
    let a = call.args;
    let (start, stop) = (int(&a[1])?, int(&a[2])?);
    let with_scores = a
        .get(3)
        .is_some_and(|o| o.eq_ignore_ascii_case("WITHSCORES"));
    let mut members: Vec<(String, f64)> = db
        .existing(&a[0], zset)?
        .map(|z| z.iter().map(|(m, s)| (m.clone(), *s)).collect())
        .unwrap_or_default();
    members.sort_by(|x, y| x.1.total_cmp(&y.1).then_with(|| x.0.cmp(&y.0)));
    if call.upper == "ZREVRANGE" {
        members.reverse();
    }
    let mut out = Vec::new();
    if let Some((from, to)) = range(start, stop, members.len()) {
        for (member, score) in &members[from..=to] {
            out.push(Reply::Text(member.clone()));
            if with_scores {
                out.push(Reply::Text(score.to_string()));
            }
        }
    }
    Ok(Reply::Array(out))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{run, text};
    use super::*;

    #[test]
    fn sorted_sets() {
        let mut db = Keyspace::default();
        assert_eq!(run(&mut db, "ZADD z 2 two 1 one"), Ok(Reply::Int(2)));
        assert_eq!(
            run(&mut db, "ZRANGE z 0 -1 WITHSCORES"),
            Ok(Reply::Array(vec![
                text("one"),
                text("1"),
                text("two"),
                text("2")
            ]))
        );
    }
}
