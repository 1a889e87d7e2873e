//! The embedded store against a real `redis-server`: one script of commands
//! runs on both, and every reply (or error) must agree. Redis is the
//! reference; a difference is a bug in the embedded store unless the script
//! says why it is deliberate.
//!
//! Redis is asked through `RedisStore`, ssrt's own Redis backend, so the
//! test also holds the two backends to the same reply shapes (node_redis's,
//! see `Reply`) and the same error wording.

mod common;

use common::Redis;
use ssrt_store::{EmbeddedStore, RedisStore, Reply, StoreError};
use std::time::Duration;

/// The script. One command per line, words split on spaces. A line starting
/// with `sleep N` waits N ms on both sides; `#` starts a comment.
const SCRIPT: &str = r#"
# ---- keys, connection, database
PING
PING hello
PING a b
ECHO hi
ECHO
FLUSHDB
DBSIZE
EXISTS nothing
DEL nothing
DEL
TYPE nothing
SET s1 v
SET s2 v
HSET h1 f v
RPUSH l1 a
SADD set1 m
ZADD z1 1 m
TYPE s1
TYPE h1
TYPE l1
TYPE set1
TYPE z1
EXISTS s1 s2 nothing s1
DBSIZE
KEYS *
KEYS s*
KEYS ?1
KEYS *1
KEYS [sh]1
KEYS [^s]1
KEYS [!s]1
KEYS [a-i]1
KEYS [i-a]1
KEYS set[0-9]
KEYS s\1
KEYS s[1
KEYS l1[
KEYS nomatch*
KEYS
DEL s2 nothing s1
EXISTS s1 s2
RENAME h1 h2
TYPE h1
HGET h2 f
RENAME h1 h3
RENAME h2
RENAME h2 h2
# ---- expiry
SET e v
TTL e
PTTL e
TTL nothing
PTTL nothing
EXPIRE e 100
TTL e
PTTL e
PERSIST e
PERSIST e
PERSIST nothing
TTL e
EXPIRE nothing 10
EXPIRE e abc
EXPIRE e
EXPIRE e 9223372036854775807
PEXPIRE e 9223372036854775807
EXPIRE e 1.5
PEXPIRE e 20
sleep 50
GET e
TTL e
EXISTS e
SET e v
EXPIRE e -1
EXISTS e
SET e v
PEXPIRE e 0
EXISTS e
# ---- strings
GET s
SET s hello
GET s
STRLEN s
STRLEN nothing
APPEND s world
APPEND new abc
GET new
SET s x NX
SET s2 x XX
GET s2
SET s y XX
GET s
SET s2 v NX
GET s2
SET s z nx
SET s v NX XX
SET s v EX 10 PX 100
SET s v EX
SET s v EX abc
SET s v EX 0
SET s v PX -5
SET s v EX 9223372036854775807
SET s v BOGUS
SET s
SET ex v EX 100
TTL ex
SET ex v PX 100000
PTTL ex
SET ex v
TTL ex
SETEX sx 100 v
TTL sx
GET sx
SETEX sx 0 v
SETEX sx -1 v
SETEX sx abc v
SETEX sx 100
SETNX sx other
SETNX snx first
GET snx
GETSET snx second
GETSET nothing2 first
GET nothing2
MSET m1 a m2 b
MGET m1 m2 nothing h2 m1
MSET m1
MSET m1 a m2
MGET
INCR counter
INCR counter
DECR counter
INCRBY counter 10
INCRBY counter -3
DECRBY counter 5
DECRBY counter -5
INCRBY counter abc
INCRBY counter 1.5
INCRBY counter +5
INCRBY counter 05
INCR s
INCR h2
SET big 9223372036854775807
INCR big
SET small -9223372036854775808
DECR small
DECRBY counter -9223372036854775808
INCRBY counter 9223372036854775808
SET plus +1
INCR plus
SET spaced 01
INCR spaced
GET h2
APPEND h2 x
STRLEN h2
GETSET h2 x
# ---- hashes
HSET h a 1 b 2
HSET h a 10 c 3
HGET h a
HGET h nothing
HGET nothing a
HMSET h d 4
HMSET h d
HSET h a
HSET h
HSETNX h a 5
HSETNX h e 5
HMGET h a nothing e
HMGET nothing a b
HGETALL h
HGETALL nothing
HKEYS h
HVALS h
HKEYS nothing
HLEN h
HLEN nothing
HEXISTS h a
HEXISTS h nothing
HEXISTS nothing a
HINCRBY h a 5
HINCRBY h new 7
HINCRBY h a abc
HINCRBY h b 1.5
HSET h text x
HINCRBY h text 1
HSET h huge 9223372036854775807
HINCRBY h huge 1
HDEL h a nothing b
HDEL h
HDEL nothing a
HGET s a
HSET s a 1
HGETALL s
HDEL h c d e new text huge
EXISTS h
# ---- lists
LPUSH l a b c
RPUSH l d e
LRANGE l 0 -1
LRANGE l 1 2
LRANGE l -2 -1
LRANGE l -100 100
LRANGE l 5 10
LRANGE l 3 1
LRANGE l a 1
LRANGE nothing 0 -1
LLEN l
LLEN nothing
LINDEX l 0
LINDEX l -1
LINDEX l 100
LINDEX l -100
LINDEX l x
LINDEX nothing 0
LPOP l
RPOP l
LPOP nothing
RPOP nothing
LPOP l 2
RPOP l 0
RPUSH l x y x z x
LREM l 2 x
LRANGE l 0 -1
LREM l -1 x
LRANGE l 0 -1
LREM l 0 nothing
LREM l x x
LREM nothing 0 x
LTRIM l 1 -1
LRANGE l 0 -1
LTRIM l 5 10
EXISTS l
LTRIM nothing 0 1
LPUSH s x
LRANGE s 0 -1
LPUSH l
RPUSH l1 b c
LPOP l1 5
LPOP l1 -1
RPOP l1 1
RPOP l1 1
EXISTS l1
# ---- sets
SADD st a b c a
SADD st c d
SCARD st
SCARD nothing
SMEMBERS st
SMEMBERS nothing
SISMEMBER st a
SISMEMBER st z
SISMEMBER nothing a
SREM st a z
SREM nothing a
SREM st
SADD s x
SMEMBERS s
SREM st b c d
EXISTS st
# ---- sorted sets
ZADD zs 1 a 2 b 3 c
ZADD zs 2.5 a 4 d
ZADD zs 1.5
ZADD zs 1 a 2
ZADD zs x a
ZADD zs nan a
ZADD zs
ZADD zs inf top -inf bottom
ZCARD zs
ZCARD nothing
ZSCORE zs a
ZSCORE zs top
ZSCORE zs nothing
ZSCORE nothing a
ZRANGE zs 0 -1
ZRANGE zs 0 -1 WITHSCORES
ZRANGE zs 0 -1 withscores
ZRANGE zs 1 2
ZRANGE zs -2 -1
ZRANGE zs 10 20
ZRANGE zs a 1
ZRANGE nothing 0 -1
ZREVRANGE zs 0 -1
ZREVRANGE zs 0 1 WITHSCORES
ZREVRANGE zs 0 -1 BOGUS
ZRANGE zs 0
ZINCRBY zs 2 a
ZINCRBY zs 0.1 new
ZINCRBY zs x a
ZINCRBY zs -inf top
ZINCRBY zs2 1.5 m
ZSCORE zs2 m
ZADD tie 1 b 1 a 1 c
ZRANGE tie 0 -1
ZREVRANGE tie 0 -1
ZREM zs a nothing
ZREM zs
ZREM nothing a
ZSCORE s a
ZADD s 1 a
ZRANGE s 0 -1
ZREM tie a b c
EXISTS tie
# ---- pub/sub: nobody listens on either side
PUBLISH channel message
PUBLISH channel
# ---- the end
DBSIZE
KEYS *
FLUSHDB
DBSIZE
"#;

/// What a command answered, comparable across the two stores.
#[derive(Debug, Clone, PartialEq)]
enum Answer {
    Reply(Reply),
    Error(String),
}

/// Commands whose replies Redis gives in no particular order; the embedded
/// store sorts them, so Redis's are sorted too before comparing. `HGETALL`
/// is sorted by pairs.
fn unordered(name: &str) -> Option<usize> {
    match name {
        "KEYS" | "SMEMBERS" | "HKEYS" | "HVALS" => Some(1),
        "HGETALL" => Some(2),
        _ => None,
    }
}

fn sorted(answer: Answer, chunk: usize) -> Answer {
    let Answer::Reply(Reply::Array(items)) = answer else {
        return answer;
    };
    let key = |r: &[Reply]| format!("{r:?}");
    let mut chunks: Vec<&[Reply]> = items.chunks(chunk).collect();
    chunks.sort_by_key(|c| key(c));
    Answer::Reply(Reply::Array(chunks.concat()))
}

/// Whether two answers agree. Remaining times to live (`TTL`, `PTTL`) may
/// differ by the time between the two calls: a second, or 100 ms.
fn agree(name: &str, redis: &Answer, embedded: &Answer) -> bool {
    let slack = match name {
        "TTL" => 1,
        "PTTL" => 100,
        _ => 0,
    };
    match (redis, embedded) {
        (Answer::Reply(Reply::Int(a)), Answer::Reply(Reply::Int(b))) if *a >= 0 && *b >= 0 => {
            a.abs_diff(*b) <= slack
        }
        _ => redis == embedded,
    }
}

/// Both of ssrt's backends, fed the same script: `RedisStore` (what apps
/// get with Redis) against a real redis-server, and the embedded store.
#[tokio::test]
async fn the_embedded_store_answers_every_command_as_redis_does() {
    let server = Redis::start();
    let redis = RedisStore::connect("127.0.0.1", server.port)
        .await
        .expect("connect to redis-server");
    let embedded = EmbeddedStore::new();

    let mut mismatches = Vec::new();
    let mut compared = 0;
    for line in SCRIPT.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(ms) = line.strip_prefix("sleep ") {
            std::thread::sleep(Duration::from_millis(ms.parse().expect("sleep N")));
            continue;
        }
        let args: Vec<String> = line.split(' ').map(str::to_owned).collect();
        let name = args[0].to_uppercase();

        let from_redis = match redis.command(0, &args).await {
            Ok(reply) => Answer::Reply(reply),
            Err(StoreError::Command(e)) => Answer::Error(e),
            Err(e) => panic!("{line}: redis-server failed: {e}"),
        };
        let from_embedded = match embedded.command(0, &args) {
            Ok(reply) => Answer::Reply(reply),
            Err(e) => Answer::Error(e),
        };
        let (from_redis, from_embedded) = match unordered(&name) {
            Some(chunk) => (sorted(from_redis, chunk), sorted(from_embedded, chunk)),
            None => (from_redis, from_embedded),
        };
        compared += 1;
        if !agree(&name, &from_redis, &from_embedded) {
            mismatches.push(format!(
                "{line}\n    redis:    {from_redis:?}\n    embedded: {from_embedded:?}"
            ));
        }
    }
    assert!(compared > 100, "the script ran only {compared} commands");
    assert!(
        mismatches.is_empty(),
        "{} of {compared} replies differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
