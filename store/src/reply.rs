//! A command's reply, the same whichever backend answered it, in the shapes
//! node_redis gave apps: integers as numbers, bulk strings as strings, nil as
//! null, and hashes as flat `[field, value, …]` arrays (`hgetall` is turned
//! into an object by the JavaScript side).

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Nil,
    Int(i64),
    Float(f64),
    Text(String),
    Array(Vec<Reply>),
}

impl Reply {
    pub fn ok() -> Self {
        Reply::Text("OK".to_owned())
    }

    pub fn bool(value: bool) -> Self {
        Reply::Int(i64::from(value))
    }

    pub fn to_json(&self) -> Value {
        match self {
            Reply::Nil => Value::Null,
            Reply::Int(n) => Value::from(*n),
            Reply::Float(f) => Value::from(*f),
            Reply::Text(text) => Value::from(text.as_str()),
            Reply::Array(items) => Value::Array(items.iter().map(Reply::to_json).collect()),
        }
    }

    pub(crate) fn from_redis(value: redis::Value) -> Result<Self, String> {
        use redis::Value as V;
        Ok(match value {
            V::Nil => Reply::Nil,
            V::Int(n) => Reply::Int(n),
            V::BulkString(bytes) => Reply::Text(String::from_utf8_lossy(&bytes).into_owned()),
            V::SimpleString(text) => Reply::Text(text),
            V::Okay => Reply::ok(),
            V::Double(f) => Reply::Float(f),
            V::Boolean(b) => Reply::bool(b),
            V::BigNumber(digits) => Reply::Text(String::from_utf8_lossy(&digits).into_owned()),
            V::VerbatimString { text, .. } => Reply::Text(text),
            V::Array(items) | V::Set(items) => Reply::Array(
                items
                    .into_iter()
                    .map(Reply::from_redis)
                    .collect::<Result<_, _>>()?,
            ),
            V::Map(pairs) => {
                let mut flat = Vec::with_capacity(pairs.len() * 2);
                for (key, value) in pairs {
                    flat.push(Reply::from_redis(key)?);
                    flat.push(Reply::from_redis(value)?);
                }
                Reply::Array(flat)
            }
            V::ServerError(e) => return Err(e.to_string()),
            other => Reply::Text(format!("{other:?}")),
        })
    }
}
