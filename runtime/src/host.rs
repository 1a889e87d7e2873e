//! The engine thread and the handle the server holds to it.

use crate::engine::{Engine, EngineState};
use crate::manifest::Manifest;
use crate::{Call, CallOrigin, Delivery};
use ssrt_ops::{
    ActionError, CallTable, CompileCache, LoginListener, LoginListenerSlot, Publisher,
    PublisherSlot,
};
use ssrt_project::{Config, LayoutError, Project};
use std::future::poll_fn;
use std::path::PathBuf;
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Jobs handled per wake-up before timers and promises get their turn.
const JOBS_PER_TURN: usize = 256;
/// How often calls are checked against their timeout.
const EXPIRY_INTERVAL: Duration = Duration::from_millis(250);

/// What the engine thread needs to load an app.
pub struct AppOptions {
    pub project: Project,
    pub config: Config,
    /// Where compiled CoffeeScript is kept between runs; `None` for no cache.
    pub cache_dir: Option<PathBuf>,
    /// Routes `$SS.publish.*`.
    pub publisher: Box<dyn Publisher>,
    /// Hands answered calls to their responders, once per engine turn.
    pub delivery: Box<dyn Delivery>,
    /// Where sessions are stored and where the `R` global sends commands.
    pub store: ssrt_store::Store,
    /// Told when a session logs in or out.
    pub logins: Box<dyn LoginListener>,
    /// Where `@session` changes are stored (shared with the server).
    pub sessions: ssrt_store::Sessions,
}

/// What a successful start loaded.
#[derive(Debug, Clone)]
pub struct LoadSummary {
    pub server_files: usize,
    pub shared_files: usize,
    pub load_time: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error("{0}")]
    Engine(String),
    #[error("the app failed to load:\n{0}")]
    Load(String),
    #[error("cannot start the engine thread: {0}")]
    Thread(#[from] std::io::Error),
}

enum Job {
    Call(Call),
    AttachSession(u32, String),
    DetachSession(u32),
    DescribeActions(oneshot::Sender<String>),
    ConsoleEval {
        source: String,
        coffee: bool,
        interactive: bool,
        reply: oneshot::Sender<bool>,
    },
    ConsoleComplete(String, oneshot::Sender<Vec<String>>),
}

/// The server's way into the engine thread. Cheap to clone; the thread ends
/// when the last handle is dropped.
#[derive(Clone)]
pub struct AppHandle {
    jobs: mpsc::UnboundedSender<Job>,
}

impl AppHandle {
    /// Queues a call; its responder gets the outcome.
    pub fn call(&self, call: Call) {
        if let Err(mpsc::error::SendError(Job::Call(call))) = self.jobs.send(Job::Call(call)) {
            call.responder.respond(Err(engine_stopped()));
        }
    }

    /// Gives a connection its session (JSON: `id`, `created_at`, `attributes`,
    /// `user_id`, `newly_created`); tabs sharing a session id share one object.
    pub fn attach_session(&self, connection: u32, session_json: String) {
        let _ = self.jobs.send(Job::AttachSession(connection, session_json));
    }

    /// Forgets a closed connection's session.
    pub fn detach_session(&self, connection: u32) {
        let _ = self.jobs.send(Job::DetachSession(connection));
    }

    /// `{ "<file>": { "actions": [...], "authenticate": bool } }` as JSON.
    pub async fn describe_actions(&self) -> Result<String, ActionError> {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Job::DescribeActions(tx))
            .map_err(|_| engine_stopped())?;
        rx.await.map_err(|_| engine_stopped())
    }

    /// `ssrt console`: evaluates `source` (CoffeeScript when `coffee`) in the
    /// app's global scope; the engine prints the value or the error itself,
    /// in colour when `interactive`. Returns whether it ran without throwing.
    /// Blocks until the engine answers: call it off the async runtime.
    pub fn console_eval(
        &self,
        source: String,
        coffee: bool,
        interactive: bool,
    ) -> Result<bool, ActionError> {
        let (reply, answer) = oneshot::channel();
        let job = Job::ConsoleEval {
            source,
            coffee,
            interactive,
            reply,
        };
        self.jobs.send(job).map_err(|_| engine_stopped())?;
        answer.blocking_recv().map_err(|_| engine_stopped())
    }

    /// `ssrt console`: the global names or properties that complete `path`.
    /// Blocks like [`AppHandle::console_eval`].
    pub fn console_complete(&self, path: &str) -> Vec<String> {
        let (reply, answer) = oneshot::channel();
        if self
            .jobs
            .send(Job::ConsoleComplete(path.to_owned(), reply))
            .is_err()
        {
            return Vec::new();
        }
        answer.blocking_recv().unwrap_or_default()
    }
}

fn engine_stopped() -> ActionError {
    ActionError::new("engine_stopped", "The app's JavaScript engine has stopped")
}

/// Starts the engine thread, loads the app on it and waits until it is loaded.
pub fn start(options: AppOptions) -> Result<(AppHandle, LoadSummary), StartError> {
    let manifest = Manifest::new(&options.project, &options.config)?.to_json();
    let timeout = Duration::from_secs_f64(options.config.settings.action_timeout);
    let heap_limit_mb = options.config.settings.heap_limit_mb;
    let (jobs_tx, jobs_rx) = mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let started = Instant::now();
    std::thread::Builder::new()
        .name("ssrt-js".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = ready_tx.send(Err(StartError::Thread(e)));
                    return;
                }
            };
            let mut delivery = options.delivery;
            let state = EngineState {
                calls: CallTable::new(timeout),
                cache: CompileCache::new(options.cache_dir),
                publisher: PublisherSlot(options.publisher),
                sessions: options.sessions,
                store: options.store,
                logins: LoginListenerSlot(options.logins),
            };
            let _context = runtime.enter();
            let mut engine =
                match Engine::new(state, options.project.root(), timeout, heap_limit_mb) {
                    Ok(engine) => engine,
                    Err(e) => {
                        let _ = ready_tx.send(Err(StartError::Engine(e)));
                        return;
                    }
                };
            let loaded = runtime.block_on(async {
                let loaded = engine.load_app(&manifest);
                // Let `config/db` and top-level code finish their first turn.
                let _ = poll_fn(|cx| Poll::Ready(engine.poll_event_loop(cx))).await;
                loaded
            });
            let ok = loaded.is_ok();
            let _ = ready_tx.send(loaded.map_err(StartError::Load));
            if ok {
                runtime.block_on(serve(&mut engine, delivery.as_mut(), jobs_rx));
            }
        })?;
    let summary = ready_rx
        .recv()
        .map_err(|_| StartError::Engine("the engine thread stopped while loading".into()))??;
    let counts: serde_json::Value = serde_json::from_str(&summary).unwrap_or_default();
    let count = |key: &str| counts[key].as_u64().unwrap_or(0) as usize;
    Ok((
        AppHandle { jobs: jobs_tx },
        LoadSummary {
            server_files: count("server"),
            shared_files: count("shared"),
            load_time: started.elapsed(),
        },
    ))
}

/// The engine thread's loop: jobs from the server, the JS event loop, and the
/// call timeout sweep, until every handle is gone. What a turn answered is
/// delivered at its end, all at once.
async fn serve(
    engine: &mut Engine,
    delivery: &mut dyn Delivery,
    mut jobs: mpsc::UnboundedReceiver<Job>,
) {
    let mut expiry = tokio::time::interval(EXPIRY_INTERVAL);
    poll_fn(|cx| {
        let mut handled = 0;
        while handled < JOBS_PER_TURN {
            match jobs.poll_recv(cx) {
                Poll::Ready(Some(job)) => run(engine, job),
                Poll::Ready(None) => return Poll::Ready(()),
                Poll::Pending => break,
            }
            handled += 1;
        }
        // Poll until pending, so the interval holds our waker for its next tick.
        if expiry.poll_tick(cx).is_ready() {
            while expiry.poll_tick(cx).is_ready() {}
            engine.expire_calls();
        }
        let more_jobs = handled == JOBS_PER_TURN;
        match engine.poll_event_loop(cx) {
            Poll::Ready(Err(e)) => {
                tracing::error!("uncaught error in the app's JavaScript: {e}");
                cx.waker().wake_by_ref();
            }
            _ if more_jobs => cx.waker().wake_by_ref(),
            _ => {}
        }
        let answered = engine.take_completed();
        if !answered.is_empty() {
            delivery.deliver(answered);
        }
        Poll::Pending
    })
    .await
}

fn run(engine: &mut Engine, job: Job) {
    match job {
        Job::Call(call) => {
            let Call {
                method,
                params,
                origin,
                responder,
            } = call;
            let id = engine.open_call(method.clone(), responder);
            match origin {
                CallOrigin::Socket { connection } => {
                    engine.dispatch(id, &method, params.as_deref(), connection)
                }
                CallOrigin::Http {
                    session,
                    credentials,
                } => engine.dispatch_http(
                    id,
                    &method,
                    params.as_deref(),
                    &session,
                    credentials.as_ref().map(|(u, p)| (u.as_str(), p.as_str())),
                ),
            }
        }
        Job::AttachSession(connection, json) => engine.attach_session(connection, &json),
        Job::DetachSession(connection) => engine.detach_session(connection),
        Job::DescribeActions(reply) => {
            let _ = reply.send(engine.describe_actions());
        }
        Job::ConsoleEval {
            source,
            coffee,
            interactive,
            reply,
        } => {
            let _ = reply.send(engine.console_eval(&source, coffee, interactive));
        }
        Job::ConsoleComplete(path, reply) => {
            let _ = reply.send(engine.console_complete(&path));
        }
    }
}
