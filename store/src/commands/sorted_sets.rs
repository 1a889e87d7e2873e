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
        "ZADD" if a.len() >= 3 && a.len().is_multiple_of(2) => Err("ERR syntax error".to_owned()),
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
            let score = z.get(&a[2]).copied().unwrap_or(0.0) + by;
            if score.is_nan() {
                return Err("ERR resulting score is not a number (NaN)".to_owned());
            }
            z.insert(a[2].clone(), score);
            Ok(Reply::Text(redis_double(score)))
        }),
        "ZSCORE" => call.exactly(2).and_then(|()| {
            Ok(db
                .existing(&a[0], zset)?
                .and_then(|z| z.get(&a[1]).map(|s| Reply::Text(redis_double(*s))))
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
    let mut with_scores = false;
    for option in &a[3..] {
        match option.to_uppercase().as_str() {
            "WITHSCORES" => with_scores = true,
            other @ ("BYSCORE" | "BYLEX" | "REV" | "LIMIT") if call.upper == "ZRANGE" => {
                return Err(format!(
                    "ERR 'zrange' with {other} is not supported by the embedded store; configure Redis to use it"
                ));
            }
            _ => return Err("ERR syntax error".to_owned()),
        }
    }
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
                out.push(Reply::Text(redis_double(*score)));
            }
        }
    }
    Ok(Reply::Array(out))
}

/// A score as Redis writes it over RESP2 (`%.17g`): `0.1` is
/// `0.10000000000000001`, `3` is `3`, `1e20` is `1e+20`.
fn redis_double(value: f64) -> String {
    const DIGITS: i32 = 17;
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    if value == 0.0 {
        return if value.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    let scientific = format!("{:.*e}", (DIGITS - 1) as usize, value);
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let trim = |digits: &str| -> String {
        if digits.contains('.') {
            digits
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_owned()
        } else {
            digits.to_owned()
        }
    };
    if (-4..DIGITS).contains(&exponent) {
        trim(&format!("{:.*}", (DIGITS - 1 - exponent) as usize, value))
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mantissa), exponent.abs())
    }
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
