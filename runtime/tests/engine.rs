//! The engine thread on the fixture app, without any networking: loading,
//! dispatch rules and the module system, checked through real calls.

use serde_json::{Value, json};
use ssrt_project::{Config, Project};
use ssrt_runtime::{
    ActionError, AppHandle, AppOptions, Audience, Call, CallOrigin, Publication, Publisher,
    Responder,
};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/basic")
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Publication>>>);
impl Publisher for Recorder {
    fn publish(&self, publication: Publication) {
        self.0.lock().unwrap().push(publication);
    }
}

/// Nobody listens for session_listener here: no sockets to move between users.
struct NoListener;
impl ssrt_runtime::SessionListener for NoListener {
    fn user_changed(&self, _: &str, _: Option<&str>) {}
    fn session_rotated(&self, _: &str, _: &str) {}
    fn channels_changed(&self, _: &str, _: &[String]) {}
}

struct Reply(oneshot::Sender<Result<String, ActionError>>);
impl Responder for Reply {
    fn respond(self: Box<Self>, outcome: Result<String, ActionError>) {
        let _ = self.0.send(outcome);
    }
}

fn start() -> (AppHandle, Recorder) {
    let project = Project::open(fixture()).unwrap();
    let config = Config::load(project.root(), "test").unwrap();
    let recorder = Recorder::default();
    let store = ssrt_store::Store::Embedded(Default::default());
    let (app, summary) = ssrt_runtime::start(AppOptions {
        project,
        config,
        engines: 1,
        cache_dir: None,
        delivery: Box::new(ssrt_runtime::DeliverInPlace),
        store: store.clone(),
        sessions: ssrt_store::Sessions::new(store, "ss", std::time::Duration::from_secs(60)),
        session_listener: Box::new(NoListener),
        publisher: Box::new(recorder.clone()),
    })
    .unwrap();
    assert_eq!(summary.server_files, 6);
    assert_eq!(summary.shared_files, 1);
    app.attach_session(
        1,
        json!({"id": "s1", "created_at": 1, "attributes": {}, "user_id": null, "newly_created": true})
            .to_string(),
    );
    (app, recorder)
}

async fn call(app: &AppHandle, method: &str, params: Option<Value>) -> Result<Value, ActionError> {
    let (tx, rx) = oneshot::channel();
    app.call(Call {
        method: method.to_owned(),
        params: params.map(|p| p.to_string()),
        origin: CallOrigin::Socket { connection: 1 },
        responder: Box::new(Reply(tx)),
    });
    rx.await
        .unwrap()
        .map(|json| serde_json::from_str(&json).unwrap())
}

#[tokio::test]
async fn actions_answer_and_follow_the_arity_rules() {
    let (app, _) = start();
    assert_eq!(
        call(&app, "app.square", Some(json!(25))).await,
        Ok(json!(625))
    );
    assert_eq!(call(&app, "app.nested.deeper", None).await, Ok(json!("ok")));
    assert_eq!(
        call(&app, "users.online.double", Some(json!(4))).await,
        Ok(json!(8))
    );
    assert_eq!(
        call(&app, "app.callServer", Some(json!(5))).await,
        Ok(json!(10))
    );
    assert_eq!(
        call(&app, "app.viaOther", Some(json!(3))).await,
        Ok(json!(9))
    );
    assert_eq!(
        call(&app, "plain.zero", Some(json!(0))).await,
        Ok(json!({"got": 0, "type": "number"}))
    );
    let code = |r: Result<Value, ActionError>| r.unwrap_err().code;
    assert_eq!(
        code(call(&app, "app.noCallback", None).await),
        "callback_missing"
    );
    assert_eq!(code(call(&app, "app.square", None).await), "params_missing");
    assert_eq!(
        code(call(&app, "app.init", Some(json!(1))).await),
        "params_not_required"
    );
    assert_eq!(
        code(call(&app, "nothing.here", None).await),
        "unable_to_find_module"
    );
    assert_eq!(
        code(call(&app, "app.Square", Some(json!(1))).await),
        "action_missing"
    );
    assert_eq!(code(call(&app, "app", None).await), "invalid_action_length");
    assert_eq!(
        code(call(&app, "app.unserialisable", None).await),
        "application_error"
    );
    let boom = call(&app, "app.boom", None).await.unwrap_err();
    assert_eq!(boom.code, "application_error");
    assert!(boom.message.contains("kaboom"), "{}", boom.message);
    assert!(boom.message.contains("app.coffee"), "{}", boom.message);
}

#[tokio::test]
async fn the_module_system_serves_node_style_requires() {
    let (app, _) = start();
    let reply = call(&app, "app.requires", None).await.unwrap();
    assert_eq!(
        reply,
        json!({
            "helper": "HI!",
            "vendor": "vendored tools",
            "format": "x=42",
            "inherits": "function",
            "path": "/a/c",
            "query": {"a": "1", "b": "two"},
            "url": "8080",
            "events": "function",
            "fs": true,
            "dbLoaded": true,
            "filename": "app/server/app.coffee",
            "config": "hello",
        })
    );
    assert_eq!(
        call(&app, "app.shared", Some(json!("darn it"))).await,
        Ok(json!("**** it"))
    );
    assert_eq!(
        call(&app, "app.modules", None).await,
        Ok(json!({"cycle": "a-early/undefined then a-late", "cached": true}))
    );
}

#[tokio::test]
async fn callbacks_twice_never_and_later() {
    let (app, _) = start();
    assert_eq!(call(&app, "app.twice", None).await, Ok(json!("first")));
    assert_eq!(
        call(&app, "app.later", Some(json!(20))).await,
        Ok(json!("waited 20"))
    );
    let never = call(&app, "app.never", None).await.unwrap_err();
    assert_eq!(never.code, "action_timeout");
    // State lives in module variables, shared by every call, as in Node.
    let first = call(&app, "app.count", None).await.unwrap();
    let second = call(&app, "app.count", None).await.unwrap();
    assert_eq!(second.as_i64().unwrap(), first.as_i64().unwrap() + 1);
}

#[tokio::test]
async fn publish_reaches_the_servers_publisher() {
    let (app, recorder) = start();
    assert_eq!(
        call(&app, "app.shout", Some(json!("hi all"))).await,
        Ok(json!(true))
    );
    let published = recorder.0.lock().unwrap().clone();
    assert_eq!(
        published,
        [Publication {
            audience: Audience::Broadcast,
            event: "newMessage".into(),
            params: r#""hi all""#.into(),
        }]
    );
}
