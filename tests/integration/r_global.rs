//! The `R` global (SPEC 6) gives node_redis's reply shapes, on a real Redis
//! and on the embedded store alike.

use crate::support::{Redis, Server};
use serde_json::{Value, json};

async fn round_trip(server: &Server) -> Value {
    let mut client = server.client().await;
    client.reply("redis.roundTrip", json!(null)).await
}

fn check(reply: &Value) {
    assert_eq!(reply["value"], "hi");
    assert_eq!(reply["hash"], json!({"name": "Tom", "age": "21"}));
    assert_eq!(reply["none"], Value::Null);
    assert_eq!(reply["count"], 1);
    assert_eq!(reply["again"], "hi");
    assert_eq!(reply["tags"], json!(["a", "b"]));
    assert_eq!(reply["replies"], json!(["OK", 2, "2"]));
    assert!(
        reply["wrongType"].as_str().unwrap().contains("WRONGTYPE"),
        "{reply}"
    );
    assert_eq!(reply["ttl"], 100);
}

#[tokio::test]
async fn r_on_the_embedded_store() {
    let server = Server::start();
    check(&round_trip(&server).await);
    let mut client = server.client().await;
    assert_eq!(client.reply("redis.select", json!(null)).await, Value::Null);
}

#[tokio::test]
async fn r_on_redis() {
    let redis = Redis::start();
    let server = redis.ssrt();
    check(&round_trip(&server).await);
    let mut client = server.client().await;
    assert_eq!(client.reply("redis.select", json!(null)).await, Value::Null);
}
