//! The Redis commands the embedded store answers, on Redis's own data model:
//! keys holding strings, hashes, lists, sets or sorted sets, with expiry.
//! Anything else is refused with a clear error, never a hang.

use crate::reply::Reply;
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

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

fn arity(name: &str) -> String {
    format!(
        "ERR wrong number of arguments for '{}' command",
        name.to_lowercase()
    )
}

fn int(text: &str) -> Result<i64> {
    text.parse().map_err(|_| NOT_INTEGER.to_owned())
}

fn float(text: &str) -> Result<f64> {
    match text {
        "+inf" | "inf" => Ok(f64::INFINITY),
        "-inf" => Ok(f64::NEG_INFINITY),
        _ => text
            .parse()
            .map_err(|_| "ERR value is not a valid float".to_owned()),
    }
}

fn texts<'a>(items: impl IntoIterator<Item = &'a String>) -> Reply {
    Reply::Array(items.into_iter().map(|s| Reply::Text(s.clone())).collect())
}

/// Redis's `KEYS` pattern: `*`, `?` and literal characters.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.first(), text.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob(&pattern[1..], text) || (!text.is_empty() && glob(pattern, &text[1..]))
        }
        (Some(b'?'), Some(_)) => glob(&pattern[1..], &text[1..]),
        (Some(p), Some(t)) if p == t => glob(&pattern[1..], &text[1..]),
        _ => false,
    }
}

/// A list index as Redis reads it: negative counts from the end.
fn index(i: i64, len: usize) -> i64 {
    if i < 0 { len as i64 + i } else { i }
}

fn range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let start = index(start, len).max(0);
    let stop = index(stop, len).min(len as i64 - 1);
    (start <= stop && len > 0).then_some((start as usize, stop as usize))
}

impl Keyspace {
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

    /// The value at `key`, created by `make` if absent; `WRONGTYPE` if `pick`
    /// does not accept what is there.
    fn get_or<T>(
        &mut self,
        key: &str,
        make: fn() -> Value,
        pick: fn(&mut Value) -> Option<&mut T>,
    ) -> Result<&mut T> {
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

    fn existing<T>(
        &mut self,
        key: &str,
        pick: fn(&mut Value) -> Option<&mut T>,
    ) -> Result<Option<&mut T>> {
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
        pick: fn(&mut Value) -> Option<&mut T>,
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

    fn incr_by(&mut self, key: &str, by: i64) -> Result<Reply> {
        let current = match self.get_mut(key) {
            None => 0,
            Some(Value::Str(s)) => int(s)?,
            Some(_) => return Err(WRONGTYPE.to_owned()),
        };
        let next = current
            .checked_add(by)
            .ok_or_else(|| NOT_INTEGER.to_owned())?;
        let expires = self.live(key).and_then(|e| e.expires);
        self.set_string(key, &next.to_string(), expires);
        Ok(Reply::Int(next))
    }

    /// Runs one command (`args[0]` is its name).
    pub fn execute(&mut self, args: &[String]) -> Result<Reply> {
        let Some(name) = args.first() else {
            return Err("ERR empty command".to_owned());
        };
        let upper = name.to_uppercase();
        let a = &args[1..];
        let need = |n: usize| {
            if a.len() < n {
                Err(arity(name))
            } else {
                Ok(())
            }
        };
        let exactly = |n: usize| {
            if a.len() != n {
                Err(arity(name))
            } else {
                Ok(())
            }
        };
        fn hash(v: &mut Value) -> Option<&mut HashMap<String, String>> {
            if let Value::Hash(h) = v {
                Some(h)
            } else {
                None
            }
        }
        fn list(v: &mut Value) -> Option<&mut VecDeque<String>> {
            if let Value::List(l) = v {
                Some(l)
            } else {
                None
            }
        }
        fn set(v: &mut Value) -> Option<&mut HashSet<String>> {
            if let Value::Set(s) = v { Some(s) } else { None }
        }
        fn zset(v: &mut Value) -> Option<&mut HashMap<String, f64>> {
            if let Value::ZSet(z) = v {
                Some(z)
            } else {
                None
            }
        }
        fn string(v: &mut Value) -> Option<&mut String> {
            if let Value::Str(s) = v { Some(s) } else { None }
        }
        let reply = match upper.as_str() {
            "PING" => Reply::Text(a.first().cloned().unwrap_or_else(|| "PONG".to_owned())),
            "ECHO" => {
                exactly(1)?;
                Reply::Text(a[0].clone())
            }
            "DBSIZE" => {
                let now = Instant::now();
                self.entries
                    .retain(|_, e| e.expires.is_none_or(|at| at > now));
                Reply::Int(self.entries.len() as i64)
            }
            "FLUSHDB" => {
                self.entries.clear();
                Reply::ok()
            }
            "DEL" => {
                need(1)?;
                Reply::Int(
                    a.iter()
                        .filter(|k| self.live(k).is_some() && self.entries.remove(*k).is_some())
                        .count() as i64,
                )
            }
            "RENAME" => {
                exactly(2)?;
                if self.live(&a[0]).is_none() {
                    return Err("ERR no such key".to_owned());
                }
                if let Some(entry) = self.entries.remove(&a[0]) {
                    self.entries.insert(a[1].clone(), entry);
                }
                Reply::ok()
            }
            "EXISTS" => {
                need(1)?;
                Reply::Int(a.iter().filter(|k| self.live(k).is_some()).count() as i64)
            }
            "KEYS" => {
                exactly(1)?;
                let now = Instant::now();
                self.entries
                    .retain(|_, e| e.expires.is_none_or(|at| at > now));
                let mut keys: Vec<&String> = self
                    .entries
                    .keys()
                    .filter(|k| glob(a[0].as_bytes(), k.as_bytes()))
                    .collect();
                keys.sort();
                texts(keys)
            }
            "TYPE" => {
                exactly(1)?;
                Reply::Text(
                    match self.get_mut(&a[0]) {
                        None => "none",
                        Some(Value::Str(_)) => "string",
                        Some(Value::Hash(_)) => "hash",
                        Some(Value::List(_)) => "list",
                        Some(Value::Set(_)) => "set",
                        Some(Value::ZSet(_)) => "zset",
                    }
                    .to_owned(),
                )
            }
            "EXPIRE" | "PEXPIRE" => {
                exactly(2)?;
                let amount = int(&a[1])?;
                let duration = if upper == "EXPIRE" {
                    Duration::from_secs(amount.max(0) as u64)
                } else {
                    Duration::from_millis(amount.max(0) as u64)
                };
                match self.live(&a[0]) {
                    Some(entry) if amount > 0 => {
                        entry.expires = Some(Instant::now() + duration);
                        Reply::Int(1)
                    }
                    Some(_) => {
                        self.entries.remove(&a[0]);
                        Reply::Int(1)
                    }
                    None => Reply::Int(0),
                }
            }
            "TTL" | "PTTL" => {
                exactly(1)?;
                match self.live(&a[0]) {
                    None => Reply::Int(-2),
                    Some(Entry { expires: None, .. }) => Reply::Int(-1),
                    Some(Entry {
                        expires: Some(at), ..
                    }) => {
                        let left = at.saturating_duration_since(Instant::now());
                        Reply::Int(if upper == "TTL" {
                            left.as_secs_f64().round() as i64
                        } else {
                            left.as_millis() as i64
                        })
                    }
                }
            }
            "PERSIST" => {
                exactly(1)?;
                match self.live(&a[0]) {
                    Some(entry) if entry.expires.is_some() => {
                        entry.expires = None;
                        Reply::Int(1)
                    }
                    _ => Reply::Int(0),
                }
            }
            // ---- strings
            "GET" => {
                exactly(1)?;
                match self.existing(&a[0], string)? {
                    Some(s) => Reply::Text(s.clone()),
                    None => Reply::Nil,
                }
            }
            "SET" => {
                need(2)?;
                let (mut expires, mut nx, mut xx) = (None, false, false);
                let mut options = a[2..].iter();
                while let Some(option) = options.next() {
                    match option.to_uppercase().as_str() {
                        "NX" => nx = true,
                        "XX" => xx = true,
                        unit @ ("EX" | "PX") => {
                            let amount = int(options
                                .next()
                                .ok_or_else(|| "ERR syntax error".to_owned())?)?;
                            if amount <= 0 {
                                return Err("ERR invalid expire time in 'set' command".to_owned());
                            }
                            let amount = amount as u64;
                            expires = Some(
                                Instant::now()
                                    + if unit == "EX" {
                                        Duration::from_secs(amount)
                                    } else {
                                        Duration::from_millis(amount)
                                    },
                            );
                        }
                        _ => return Err("ERR syntax error".to_owned()),
                    }
                }
                let exists = self.live(&a[0]).is_some();
                if (nx && exists) || (xx && !exists) {
                    Reply::Nil
                } else {
                    self.set_string(&a[0], &a[1], expires);
                    Reply::ok()
                }
            }
            "SETEX" => {
                exactly(3)?;
                let seconds = int(&a[1])?;
                if seconds <= 0 {
                    return Err("ERR invalid expire time in 'setex' command".to_owned());
                }
                self.set_string(
                    &a[0],
                    &a[2],
                    Some(Instant::now() + Duration::from_secs(seconds as u64)),
                );
                Reply::ok()
            }
            "SETNX" => {
                exactly(2)?;
                if self.live(&a[0]).is_some() {
                    Reply::Int(0)
                } else {
                    self.set_string(&a[0], &a[1], None);
                    Reply::Int(1)
                }
            }
            "GETSET" => {
                exactly(2)?;
                let old = self.existing(&a[0], string)?.map(|s| s.clone());
                self.set_string(&a[0], &a[1], None);
                old.map_or(Reply::Nil, Reply::Text)
            }
            "MGET" => {
                need(1)?;
                Reply::Array(
                    a.iter()
                        .map(|k| match self.get_mut(k) {
                            Some(Value::Str(s)) => Reply::Text(s.clone()),
                            _ => Reply::Nil,
                        })
                        .collect(),
                )
            }
            "MSET" => {
                if a.is_empty() || !a.len().is_multiple_of(2) {
                    return Err(arity(name));
                }
                for pair in a.chunks(2) {
                    self.set_string(&pair[0], &pair[1], None);
                }
                Reply::ok()
            }
            "INCR" => {
                exactly(1)?;
                self.incr_by(&a[0], 1)?
            }
            "DECR" => {
                exactly(1)?;
                self.incr_by(&a[0], -1)?
            }
            "INCRBY" => {
                exactly(2)?;
                self.incr_by(&a[0], int(&a[1])?)?
            }
            "DECRBY" => {
                exactly(2)?;
                self.incr_by(&a[0], -int(&a[1])?)?
            }
            "APPEND" => {
                exactly(2)?;
                let s = self.get_or(&a[0], || Value::Str(String::new()), string)?;
                s.push_str(&a[1]);
                Reply::Int(s.len() as i64)
            }
            "STRLEN" => {
                exactly(1)?;
                Reply::Int(self.existing(&a[0], string)?.map_or(0, |s| s.len()) as i64)
            }
            // ---- hashes
            "HSET" | "HMSET" => {
                if a.len() < 3 || a.len().is_multiple_of(2) {
                    return Err(arity(name));
                }
                let h = self.get_or(&a[0], || Value::Hash(HashMap::new()), hash)?;
                let added = a[1..]
                    .chunks(2)
                    .filter(|pair| h.insert(pair[0].clone(), pair[1].clone()).is_none())
                    .count();
                if upper == "HMSET" {
                    Reply::ok()
                } else {
                    Reply::Int(added as i64)
                }
            }
            "HSETNX" => {
                exactly(3)?;
                let h = self.get_or(&a[0], || Value::Hash(HashMap::new()), hash)?;
                Reply::bool(h.try_insert_like(&a[1], &a[2]))
            }
            "HGET" => {
                exactly(2)?;
                self.existing(&a[0], hash)?
                    .and_then(|h| h.get(&a[1]).cloned())
                    .map_or(Reply::Nil, Reply::Text)
            }
            "HMGET" => {
                need(2)?;
                let h = self.existing(&a[0], hash)?;
                let values = a[1..]
                    .iter()
                    .map(|f| {
                        h.as_ref()
                            .and_then(|h| h.get(f).cloned())
                            .map_or(Reply::Nil, Reply::Text)
                    })
                    .collect();
                Reply::Array(values)
            }
            "HGETALL" => {
                exactly(1)?;
                let mut pairs: Vec<(String, String)> = self
                    .existing(&a[0], hash)?
                    .map(|h| h.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default();
                pairs.sort();
                Reply::Array(
                    pairs
                        .into_iter()
                        .flat_map(|(k, v)| [Reply::Text(k), Reply::Text(v)])
                        .collect(),
                )
            }
            "HDEL" => {
                need(2)?;
                self.remove_members(&a[0], &a[1..], hash, |h, f| h.remove(f).is_some())?
            }
            "HEXISTS" => {
                exactly(2)?;
                Reply::bool(
                    self.existing(&a[0], hash)?
                        .is_some_and(|h| h.contains_key(&a[1])),
                )
            }
            "HLEN" => {
                exactly(1)?;
                Reply::Int(self.existing(&a[0], hash)?.map_or(0, |h| h.len()) as i64)
            }
            "HKEYS" | "HVALS" => {
                exactly(1)?;
                let mut pairs: Vec<(String, String)> = self
                    .existing(&a[0], hash)?
                    .map(|h| h.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default();
                pairs.sort();
                let items = pairs
                    .into_iter()
                    .map(|(k, v)| if upper == "HKEYS" { k } else { v });
                Reply::Array(items.map(Reply::Text).collect())
            }
            "HINCRBY" => {
                exactly(3)?;
                let by = int(&a[2])?;
                let h = self.get_or(&a[0], || Value::Hash(HashMap::new()), hash)?;
                let current = h.get(&a[1]).map_or(Ok(0), |v| int(v))?;
                let next = current
                    .checked_add(by)
                    .ok_or_else(|| NOT_INTEGER.to_owned())?;
                h.insert(a[1].clone(), next.to_string());
                Reply::Int(next)
            }
            // ---- lists
            "LPUSH" | "RPUSH" => {
                need(2)?;
                let l = self.get_or(&a[0], || Value::List(VecDeque::new()), list)?;
                for item in &a[1..] {
                    if upper == "LPUSH" {
                        l.push_front(item.clone())
                    } else {
                        l.push_back(item.clone())
                    }
                }
                Reply::Int(l.len() as i64)
            }
            "LPOP" | "RPOP" => {
                exactly(1)?;
                let popped = self.existing(&a[0], list)?.and_then(|l| {
                    if upper == "LPOP" {
                        l.pop_front()
                    } else {
                        l.pop_back()
                    }
                });
                self.drop_if_empty(&a[0]);
                popped.map_or(Reply::Nil, Reply::Text)
            }
            "LLEN" => {
                exactly(1)?;
                Reply::Int(self.existing(&a[0], list)?.map_or(0, |l| l.len()) as i64)
            }
            "LRANGE" => {
                exactly(3)?;
                let (start, stop) = (int(&a[1])?, int(&a[2])?);
                match self.existing(&a[0], list)? {
                    Some(l) => match range(start, stop, l.len()) {
                        Some((from, to)) => texts(l.range(from..=to)),
                        None => Reply::Array(vec![]),
                    },
                    None => Reply::Array(vec![]),
                }
            }
            "LINDEX" => {
                exactly(2)?;
                let i = int(&a[1])?;
                self.existing(&a[0], list)?
                    .and_then(|l| {
                        usize::try_from(index(i, l.len()))
                            .ok()
                            .and_then(|i| l.get(i).cloned())
                    })
                    .map_or(Reply::Nil, Reply::Text)
            }
            "LREM" => {
                exactly(3)?;
                let count = int(&a[1])?;
                let removed = match self.existing(&a[0], list)? {
                    Some(l) => {
                        let limit = if count == 0 {
                            usize::MAX
                        } else {
                            count.unsigned_abs() as usize
                        };
                        let mut removed = 0;
                        let positions: Vec<usize> = if count < 0 {
                            (0..l.len()).rev().collect()
                        } else {
                            (0..l.len()).collect()
                        };
                        let mut doomed = HashSet::new();
                        for i in positions {
                            if removed < limit && l[i] == a[2] {
                                doomed.insert(i);
                                removed += 1;
                            }
                        }
                        let kept: VecDeque<String> = l
                            .drain(..)
                            .enumerate()
                            .filter(|(i, _)| !doomed.contains(i))
                            .map(|(_, v)| v)
                            .collect();
                        *l = kept;
                        removed
                    }
                    None => 0,
                };
                self.drop_if_empty(&a[0]);
                Reply::Int(removed as i64)
            }
            "LTRIM" => {
                exactly(3)?;
                let (start, stop) = (int(&a[1])?, int(&a[2])?);
                if let Some(l) = self.existing(&a[0], list)? {
                    *l = match range(start, stop, l.len()) {
                        Some((from, to)) => l.range(from..=to).cloned().collect(),
                        None => VecDeque::new(),
                    };
                }
                self.drop_if_empty(&a[0]);
                Reply::ok()
            }
            // ---- sets
            "SADD" => {
                need(2)?;
                let s = self.get_or(&a[0], || Value::Set(HashSet::new()), set)?;
                Reply::Int(a[1..].iter().filter(|m| s.insert((*m).clone())).count() as i64)
            }
            "SREM" => {
                need(2)?;
                self.remove_members(&a[0], &a[1..], set, |s, m| s.remove(m))?
            }
            "SMEMBERS" => {
                exactly(1)?;
                let mut members: Vec<String> = self
                    .existing(&a[0], set)?
                    .map(|s| s.iter().cloned().collect())
                    .unwrap_or_default();
                members.sort();
                texts(&members)
            }
            "SISMEMBER" => {
                exactly(2)?;
                Reply::bool(
                    self.existing(&a[0], set)?
                        .is_some_and(|s| s.contains(&a[1])),
                )
            }
            "SCARD" => {
                exactly(1)?;
                Reply::Int(self.existing(&a[0], set)?.map_or(0, |s| s.len()) as i64)
            }
            // ---- sorted sets
            "ZADD" => {
                if a.len() < 3 || a.len().is_multiple_of(2) {
                    return Err(arity(name));
                }
                let scores: Vec<(f64, &String)> = a[1..]
                    .chunks(2)
                    .map(|pair| float(&pair[0]).map(|score| (score, &pair[1])))
                    .collect::<Result<_>>()?;
                let z = self.get_or(&a[0], || Value::ZSet(HashMap::new()), zset)?;
                Reply::Int(
                    scores
                        .into_iter()
                        .filter(|(score, m)| z.insert((*m).clone(), *score).is_none())
                        .count() as i64,
                )
            }
            "ZINCRBY" => {
                exactly(3)?;
                let by = float(&a[1])?;
                let z = self.get_or(&a[0], || Value::ZSet(HashMap::new()), zset)?;
                let score = z.entry(a[2].clone()).or_insert(0.0);
                *score += by;
                Reply::Text(score.to_string())
            }
            "ZSCORE" => {
                exactly(2)?;
                self.existing(&a[0], zset)?
                    .and_then(|z| z.get(&a[1]).map(|s| Reply::Text(s.to_string())))
                    .unwrap_or(Reply::Nil)
            }
            "ZREM" => {
                need(2)?;
                self.remove_members(&a[0], &a[1..], zset, |z, m| z.remove(m).is_some())?
            }
            "ZCARD" => {
                exactly(1)?;
                Reply::Int(self.existing(&a[0], zset)?.map_or(0, |z| z.len()) as i64)
            }
            "ZRANGE" | "ZREVRANGE" => {
                need(3)?;
                let (start, stop) = (int(&a[1])?, int(&a[2])?);
                let with_scores = a
                    .get(3)
                    .is_some_and(|o| o.eq_ignore_ascii_case("WITHSCORES"));
                let mut members: Vec<(String, f64)> = self
                    .existing(&a[0], zset)?
                    .map(|z| z.iter().map(|(m, s)| (m.clone(), *s)).collect())
                    .unwrap_or_default();
                members.sort_by(|x, y| x.1.total_cmp(&y.1).then_with(|| x.0.cmp(&y.0)));
                if upper == "ZREVRANGE" {
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
                Reply::Array(out)
            }
            _ => {
                return Err(format!(
                    "ERR '{}' is not supported by the embedded store; configure Redis to use it",
                    name.to_lowercase()
                ));
            }
        };
        Ok(reply)
    }
}

/// `HSETNX`: insert only when the field is absent.
trait InsertNew {
    fn try_insert_like(&mut self, field: &str, value: &str) -> bool;
}

impl InsertNew for HashMap<String, String> {
    fn try_insert_like(&mut self, field: &str, value: &str) -> bool {
        if self.contains_key(field) {
            return false;
        }
        self.insert(field.to_owned(), value.to_owned());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(space: &mut Keyspace, line: &str) -> std::result::Result<Reply, String> {
        let args: Vec<String> = line.split(' ').map(str::to_owned).collect();
        space.execute(&args)
    }

    fn text(s: &str) -> Reply {
        Reply::Text(s.to_owned())
    }

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

    #[test]
    fn hashes_lists_sets_and_sorted_sets() {
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
        assert_eq!(run(&mut db, "RPUSH l a b c"), Ok(Reply::Int(3)));
        assert_eq!(
            run(&mut db, "LRANGE l 0 -1"),
            Ok(Reply::Array(vec![text("a"), text("b"), text("c")]))
        );
        assert_eq!(run(&mut db, "LPOP l"), Ok(text("a")));
        assert_eq!(run(&mut db, "SADD s x y x"), Ok(Reply::Int(2)));
        assert_eq!(
            run(&mut db, "SMEMBERS s"),
            Ok(Reply::Array(vec![text("x"), text("y")]))
        );
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
        assert_eq!(run(&mut db, "SREM s x y"), Ok(Reply::Int(2)));
        assert_eq!(
            run(&mut db, "EXISTS s"),
            Ok(Reply::Int(0)),
            "an emptied set is gone"
        );
    }

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
