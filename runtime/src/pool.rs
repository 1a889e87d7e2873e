//! The app's engines: `engines: N` threads, each with the app loaded and
//! supervised on its own ([`crate::host`]), behind the one handle the server
//! holds.
//!
//! What the engines share lives in Rust: the store (sessions, `R`, users
//! online), the publisher and the delivery of replies. What they do not
//! share is module-level state, as with N instances behind Redis. A
//! WebSocket connection is served by one engine for its life
//! ([`Placement`]); an HTTP API call goes to the engine with the fewest
//! calls in flight. Calls of a connection whose engine is down (reloading
//! after a crash) or stuck (in one piece of JavaScript for [`STUCK`]) move,
//! with the connection, to another engine.

use crate::engine::{EngineLimits, LoadCounts};
use crate::host::{self, EngineHandle, Health, Recipe, StartError};
use crate::manifest::Manifest;
use crate::placement::Placement;
use crate::{Call, CallOrigin, ConsoleOutcome, Delivery};
use ssrt_ops::{ActionError, Publisher, SessionListener};
use ssrt_project::{Config, Project};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

/// An engine that has run one piece of JavaScript this long is stuck for
/// the calls of its connections that come meanwhile: they move to another
/// engine instead of queueing behind it.
const STUCK: Duration = Duration::from_secs(1);

/// What the engine threads need to load an app.
pub struct AppOptions {
    pub project: Project,
    pub config: Config,
    /// How many engines run the app (`engines` resolved; `ssrt console`
    /// uses one).
    pub engines: usize,
    /// Where compiled CoffeeScript is kept between runs; `None` for no cache.
    pub cache_dir: Option<PathBuf>,
    /// Routes `$SS.publish.*`.
    pub publisher: Box<dyn Publisher>,
    /// Hands answered calls to their responders, once per engine turn.
    pub delivery: Box<dyn Delivery>,
    /// Where sessions are stored and where the `R` global sends commands.
    pub store: ssrt_store::Store,
    /// Told when a session logs in or out, gets a new id or changes channels.
    pub session_listener: Box<dyn SessionListener>,
    /// Where `@session` changes are stored (shared with the server).
    pub sessions: ssrt_store::Sessions,
}

/// What a successful start loaded.
#[derive(Debug, Clone)]
pub struct LoadSummary {
    pub server_files: usize,
    pub shared_files: usize,
    pub engines: usize,
    pub load_time: Duration,
    /// How many middleware `config/http` gives each stage.
    pub http_middleware: MiddlewareCounts,
}

/// How many middleware `config/http` gives each [`crate::MiddlewareStage`].
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
pub struct MiddlewareCounts {
    pub primary: usize,
    pub secondary: usize,
}

/// The server's way into the app's engines. Cheap to clone; the engine
/// threads end when the last handle is dropped.
#[derive(Clone)]
pub struct AppHandle {
    pool: Arc<Pool>,
}

struct Pool {
    engines: Vec<EngineHandle>,
    /// Which engine serves each connection; unused with one engine.
    placement: Arc<Mutex<Placement>>,
    /// Where the next search for the least busy engine starts, so that
    /// ties are shared out.
    next: AtomicUsize,
}

/// Starts the engines, loads the app in each (at the same time) and waits
/// until all have loaded.
pub fn start(options: AppOptions) -> Result<(AppHandle, LoadSummary), StartError> {
    let started = Instant::now();
    let count = options.engines.max(1);
    let placement = Arc::new(Mutex::new(Placement::new(count)));
    let session_listener: Arc<dyn SessionListener> = if count == 1 {
        Arc::from(options.session_listener)
    } else {
        Arc::new(PlacedSessions {
            inner: options.session_listener,
            placement: Arc::downgrade(&placement),
        })
    };
    let settings = &options.config.settings;
    let recipe = Arc::new(Recipe {
        root: options.project.root().to_path_buf(),
        manifest: Manifest::new(&options.project, &options.config)?.to_json(),
        limits: EngineLimits {
            action: Duration::from_secs_f64(settings.action_timeout),
            load: Duration::from_secs_f64(settings.load_timeout),
            heap_limit_mb: settings.heap_limit_mb,
        },
        cache_dir: options.cache_dir,
        users_online: ssrt_store::UsersOnline::new(
            options.store.clone(),
            ssrt_store::Keys::new(&settings.redis.key_prefix),
        ),
        store: options.store,
        sessions: options.sessions,
        publisher: Arc::from(options.publisher),
        delivery: Arc::from(options.delivery),
        session_listener,
    });
    let loaded: Vec<Result<(EngineHandle, LoadCounts), StartError>> = if count == 1 {
        vec![host::start(recipe, 0)]
    } else {
        std::thread::scope(|scope| {
            let loading: Vec<_> = (0..count)
                .map(|index| {
                    let recipe = Arc::clone(&recipe);
                    scope.spawn(move || host::start(recipe, index))
                })
                .collect();
            loading
                .into_iter()
                .map(|loading| loading.join().unwrap_or(Err(StartError::Panicked)))
                .collect()
        })
    };
    let (engines, counts): (Vec<EngineHandle>, Vec<LoadCounts>) = loaded
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .unzip();
    // Every engine loaded the same app; there is at least one.
    let counts = counts[0];
    let pool = Pool {
        engines,
        placement,
        next: AtomicUsize::new(0),
    };
    Ok((
        AppHandle {
            pool: Arc::new(pool),
        },
        LoadSummary {
            server_files: counts.server,
            shared_files: counts.shared,
            engines: count,
            load_time: started.elapsed(),
            http_middleware: counts.http,
        },
    ))
}

/// Where [`AppHandle::ask`] waits.
struct Answer(tokio::sync::oneshot::Sender<Result<String, ActionError>>);

impl ssrt_ops::Responder for Answer {
    fn respond(self: Box<Self>, outcome: Result<String, ActionError>) {
        // The asker may have gone away (a client that hung up).
        let _ = self.0.send(outcome);
    }
}

impl AppHandle {
    /// How many engines run the app.
    pub fn engines(&self) -> usize {
        self.pool.engines.len()
    }

    /// Queues a call; its responder gets the outcome.
    pub fn call(&self, call: Call) {
        let pool = &self.pool;
        let engine = match call.origin {
            _ if pool.engines.len() == 1 => 0,
            CallOrigin::Socket { connection } => pool.engine_for(connection),
            CallOrigin::Http { .. } | CallOrigin::Middleware(_) => pool.least_busy(),
        };
        pool.engines[engine].call(call);
    }

    /// Queues a call without a responder of its own and waits for its
    /// outcome (the HTTP API, the app's HTTP middleware).
    pub async fn ask(
        &self,
        method: String,
        params: Option<String>,
        origin: CallOrigin,
    ) -> Result<String, ActionError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.call(Call {
            method,
            params,
            origin,
            responder: Box::new(Answer(tx)),
        });
        rx.await.unwrap_or_else(|_| Err(host::engine_stopped()))
    }

    /// Gives a connection its session (JSON: `id`, `created_at`, `attributes`,
    /// `user_id`, `newly_created`) in the engine that will serve it; tabs
    /// sharing a session id share one object.
    pub fn attach_session(&self, connection: u32, session_json: String) {
        let pool = &self.pool;
        let engine = if pool.engines.len() == 1 {
            0
        } else {
            let id = session_id(&session_json);
            lock(&pool.placement).place(connection, &id, |engine| pool.usable(engine))
        };
        pool.engines[engine].attach_session(connection, session_json);
    }

    /// Forgets a closed connection's session.
    pub fn detach_session(&self, connection: u32) {
        let pool = &self.pool;
        let engine = if pool.engines.len() == 1 {
            Some(0)
        } else {
            lock(&pool.placement).remove(connection)
        };
        if let Some(engine) = engine {
            pool.engines[engine].detach_session(connection);
        }
    }

    /// A later-API client's heartbeat: its user is confirmed online and
    /// `client:heartbeat` emitted, in the engine serving the connection.
    pub fn heartbeat(&self, connection: u32) {
        let pool = &self.pool;
        let engine = if pool.engines.len() == 1 {
            Some(0)
        } else {
            lock(&pool.placement).engine_of(connection)
        };
        if let Some(engine) = engine {
            pool.engines[engine].heartbeat(connection);
        }
    }

    /// `{ "<file>": { "actions": [...], "authenticate": bool } }` as JSON.
    pub async fn describe_actions(&self) -> Result<String, ActionError> {
        let pool = &self.pool;
        let engine = (0..pool.engines.len())
            .find(|&engine| pool.usable(engine))
            .unwrap_or(0);
        pool.engines[engine].describe_actions().await
    }

    /// `ssrt console` (one engine): evaluates `source` (CoffeeScript when
    /// `coffee`) in the app's global scope; the engine prints the value or
    /// the error itself, in colour when `interactive`. Blocks until the
    /// engine answers: call it off the async runtime.
    pub fn console_eval(
        &self,
        source: String,
        coffee: bool,
        interactive: bool,
    ) -> Result<ConsoleOutcome, ActionError> {
        self.pool.engines[0].console_eval(source, coffee, interactive)
    }

    /// `ssrt console`: the global names or properties that complete `path`.
    /// Blocks like [`AppHandle::console_eval`].
    pub fn console_complete(&self, path: &str) -> Vec<String> {
        self.pool.engines[0].console_complete(path)
    }

    /// Stops the JavaScript the console's engine is running right now, as
    /// the watchdog does at `action_timeout` (Ctrl-C in `ssrt console`): a
    /// console entry ends as [`ConsoleOutcome::Interrupted`]. `false` when
    /// no JavaScript is running.
    pub fn interrupt(&self) -> bool {
        self.pool.engines[0].interrupt()
    }
}

impl Pool {
    /// Whether an engine may take calls: serving, and not stuck.
    fn usable(&self, engine: usize) -> bool {
        match self.engines[engine].health() {
            Health::Down => false,
            Health::Serving { busy_for } => busy_for.is_none_or(|busy| busy < STUCK),
        }
    }

    /// The engine a connection's call goes to: its own, unless that one is
    /// down or stuck and another is not; then the connection moves there.
    fn engine_for(&self, connection: u32) -> usize {
        let mut placement = lock(&self.placement);
        let Some(engine) = placement.engine_of(connection) else {
            // Calls come after the attach; without one, any engine will say so.
            return self.least_busy();
        };
        if self.usable(engine) {
            return engine;
        }
        let Some(session) = self.engines[engine].session_of(connection) else {
            return engine;
        };
        let Some(to) = placement.relocate(connection, |other| self.usable(other)) else {
            return engine;
        };
        drop(placement);
        tracing::warn!(
            "engine {engine} is {}: connection {connection} moves to engine {to}",
            match self.engines[engine].health() {
                Health::Down => "down",
                Health::Serving { .. } => "stuck",
            }
        );
        self.engines[engine].detach_session(connection);
        self.engines[to].attach_session(connection, session);
        to
    }

    /// The usable engine with the fewest calls in flight; ties go round.
    fn least_busy(&self) -> usize {
        let count = self.engines.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % count;
        (0..count)
            .map(|offset| (start + offset) % count)
            .filter(|&engine| self.usable(engine))
            .min_by_key(|&engine| self.engines[engine].in_flight())
            .unwrap_or(start)
    }
}

/// The id in a session's JSON.
fn session_id(session_json: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Id {
        id: String,
    }
    serde_json::from_str::<Id>(session_json).map_or_else(|_| String::new(), |s| s.id)
}

/// The server's session listener, keeping the placement of a session's tabs
/// in step with its new ids.
struct PlacedSessions {
    inner: Box<dyn SessionListener>,
    placement: Weak<Mutex<Placement>>,
}

impl SessionListener for PlacedSessions {
    fn user_changed(&self, session_id: &str, user_id: Option<&str>) {
        self.inner.user_changed(session_id, user_id);
    }

    fn session_rotated(&self, old_id: &str, new_id: &str) {
        if let Some(placement) = self.placement.upgrade() {
            lock(&placement).rotated(old_id, new_id);
        }
        self.inner.session_rotated(old_id, new_id);
    }

    fn channels_changed(&self, session_id: &str, channels: &[String]) {
        self.inner.channels_changed(session_id, channels);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
