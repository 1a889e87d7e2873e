//! The call path without the network: a text frame in → parse → the engine
//! thread runs `app.square` → reply op → reply frame out. Measures what one
//! call costs ssrt itself; `../shared/bench` measures the whole server.
//!
//! Run: `cargo bench -p ssrt-server --bench call_path`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ssrt_project::{Config, Project};
use ssrt_runtime::{ActionError, AppHandle, AppOptions, Call, CallOrigin, Publication, Responder};
use ssrt_server::protocol;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Calls kept in flight in the pipelined case, like 32 connections × 8.
const IN_FLIGHT: usize = 256;

struct NoPublisher;

/// Nobody listens for session_listener here: no sockets to move between users.
struct NoListener;
impl ssrt_runtime::SessionListener for NoListener {
    fn user_changed(&self, _: &str, _: Option<&str>) {}
    fn session_rotated(&self, _: &str, _: &str) {}
    fn channels_changed(&self, _: &str, _: &[String]) {}
}
impl ssrt_runtime::Publisher for NoPublisher {
    fn publish(&self, _: Publication) {}
}

/// Answers into a channel, as a socket connection's responder does.
struct ChannelReply {
    cb_id: Box<str>,
    replies: mpsc::UnboundedSender<String>,
}
impl Responder for ChannelReply {
    fn respond(self: Box<Self>, outcome: Result<String, ActionError>) {
        let frame = match outcome {
            Ok(params) => protocol::reply(&self.cb_id, &params, "null"),
            Err(e) => protocol::error(&e.code, &e.message),
        };
        let _ = self.replies.send(frame);
    }
}

fn start_app() -> AppHandle {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/basic");
    let project = Project::open(root).expect("fixture");
    let config = Config::load(project.root(), "test").expect("config");
    let store = ssrt_store::Store::Embedded(Default::default());
    let (app, _) = ssrt_runtime::start(AppOptions {
        project,
        config,
        engines: 1,
        cache_dir: None,
        delivery: Box::new(ssrt_runtime::DeliverInPlace),
        store: store.clone(),
        sessions: ssrt_store::Sessions::new(store, "ss", std::time::Duration::from_secs(60)),
        session_listener: Box::new(NoListener),
        publisher: Box::new(NoPublisher),
    })
    .expect("the fixture app starts");
    app.attach_session(
        1,
        r#"{"id":"bench","created_at":0,"attributes":{},"user_id":null,"newly_created":true}"#
            .into(),
    );
    app
}

fn send(app: &AppHandle, n: u64, replies: &mpsc::UnboundedSender<String>) {
    let text = format!(
        r#"{{"type":"server","method":"app.square","params":{},"options":null,"cb_id":"{n}"}}"#,
        n % 10_000
    );
    let frame = protocol::parse(&text).expect("a valid frame");
    app.call(Call {
        method: frame.method.into_owned(),
        params: frame.params.map(|p| p.get().to_owned()),
        origin: CallOrigin::Socket { connection: 1 },
        responder: Box::new(ChannelReply {
            cb_id: frame.cb_id.map_or("null", |c| c.get()).into(),
            replies: replies.clone(),
        }),
    });
}

fn call_path(c: &mut Criterion) {
    let app = start_app();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio");
    let mut group = c.benchmark_group("call_path");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(5));

    group.bench_function("one_call_in_flight", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let app = app.clone();
            async move {
                let (tx, mut rx) = mpsc::unbounded_channel();
                let started = Instant::now();
                for n in 0..iters {
                    send(&app, n, &tx);
                    rx.recv().await.expect("a reply");
                }
                started.elapsed()
            }
        })
    });

    group.bench_function("pipelined_256_in_flight", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let app = app.clone();
            async move {
                let (tx, mut rx) = mpsc::unbounded_channel();
                let started = Instant::now();
                let mut sent = 0;
                while sent < iters.min(IN_FLIGHT as u64) {
                    send(&app, sent, &tx);
                    sent += 1;
                }
                for _ in 0..iters {
                    rx.recv().await.expect("a reply");
                    if sent < iters {
                        send(&app, sent, &tx);
                        sent += 1;
                    }
                }
                started.elapsed()
            }
        })
    });
    group.finish();
}

criterion_group!(benches, call_path);
criterion_main!(benches);
