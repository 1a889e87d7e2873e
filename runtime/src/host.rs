//! One engine thread, its supervisor, and the handle the pool holds
//! ([`crate::pool`] runs `engines` of these).
//!
//! One engine thread at a time runs the app in each. If it crashes (a Rust panic on
//! it; [`crate::crash`] keeps that from taking the process down), the
//! supervisor thread says so loudly, answers every call that was in flight
//! with `engine_restarted`, and starts a new engine thread. That thread loads
//! the app again, attaches the sessions of the connections still open, and
//! takes over the queue of jobs: calls that arrive meanwhile wait for it.
//! An engine whose heap stays full of the app's own data after a stop at
//! `heap_limit_mb` is replaced the same way. Failures in a row are
//! restarted after a growing delay (calls are refused meanwhile, so nothing
//! spins), and after [`MAX_LOST_ENGINES`] not at all, since each engine
//! given up on keeps its memory.

use crate::crash::{self, Crash};
use crate::engine::{Engine, EngineLimits, EngineState, LoadCounts};
use crate::error::EngineError;
use crate::ledger::{Ledger, Owed};
use crate::watchdog::Interrupter;
use crate::{Call, CallOrigin, ConsoleOutcome, Delivery};
use ssrt_ops::{
    ActionError, CallTable, CompileCache, ErrorCode, Publisher, PublisherSlot, SessionListener,
    SessionListenerSlot,
};
use ssrt_project::LayoutError;
use std::collections::HashMap;
use std::future::poll_fn;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, Weak};
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Jobs handled per wake-up before timers and promises get their turn.
const JOBS_PER_TURN: usize = 256;
/// How often calls are checked against their timeout.
const EXPIRY_INTERVAL: Duration = Duration::from_millis(250);
/// An engine that served this long before crashing was doing fine: its
/// crash is restarted at once, as a first one.
const STABLE: Duration = Duration::from_secs(30);
/// The wait before the second restart in a row; it doubles each time after.
const FIRST_DELAY: Duration = Duration::from_millis(500);
/// The longest wait between restarts.
const MAX_DELAY: Duration = Duration::from_secs(30);
/// Engines given up on keep their memory: a crashed one cannot be freed
/// (see [`crate::crash`]), and the QuickJS backend does not free the heap of
/// one dropped with its heap full. After this many, the app is not reloaded
/// again and calls get `engine_stopped`.
const MAX_LOST_ENGINES: usize = 8;
/// How long a new engine may wait for the store, in all, to read the
/// sessions it attaches again; past it, it uses what it last knew.
const REATTACH_PATIENCE: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error("the app failed to load:\n{0}")]
    Load(#[source] EngineError),
    #[error("cannot start the engine thread: {0}")]
    Thread(#[from] std::io::Error),
    #[error("the engine thread stopped while loading")]
    Stopped,
    #[error("an engine panicked while loading")]
    Panicked,
}

enum Job {
    Call(Call),
    AttachSession(u32, String),
    DetachSession(u32),
    Heartbeat(u32),
    DescribeActions(Owed<String>),
    ConsoleEval {
        source: String,
        coffee: bool,
        interactive: bool,
        reply: Owed<ConsoleOutcome>,
    },
    ConsoleComplete(String, Owed<Vec<String>>),
}

/// The pool's way into one engine thread. The thread ends when the handle
/// is dropped. Outlives engine crashes: it always reaches the engine
/// currently running the app.
pub(crate) struct EngineHandle {
    shared: Arc<Shared>,
}

/// What the handles share with the supervisor and the engine threads
/// (which hold it weakly, so that dropping the last handle ends them).
struct Shared {
    /// The current engine's queue; a new one replaces it at a restart.
    /// Jobs are queued under its read lock, and whoever replaces or drains
    /// the queue holds its write lock, so that `attached` and the ledger
    /// agree with what was queued.
    jobs: RwLock<mpsc::UnboundedSender<Job>>,
    /// The sessions of the open connections, to attach again after a restart.
    attached: Mutex<Attached>,
    /// The calls and replies queued and not answered yet.
    ledger: Arc<Ledger>,
    /// Stops the JavaScript the current engine is running.
    interrupter: Mutex<Option<Interrupter>>,
    /// Tells the supervisor when the last handle is gone.
    events: std::sync::mpsc::Sender<Event>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        let _ = self.events.send(Event::Closed);
    }
}

impl EngineHandle {
    /// Queues a call; its responder gets the outcome.
    pub(crate) fn call(&self, call: Call) {
        let unsent = {
            let jobs = read(&self.shared.jobs);
            let responder = self.shared.ledger.owe_call(call.responder);
            jobs.send(Job::Call(Call { responder, ..call })).err()
        };
        // Answered outside the lock: a responder may call in again.
        if let Some(mpsc::error::SendError(Job::Call(call))) = unsent {
            call.responder.respond(Err(engine_stopped()));
        }
    }

    /// Gives a connection its session (JSON: `id`, `created_at`, `attributes`,
    /// `user_id`, `newly_created`); tabs sharing a session id share one object.
    pub(crate) fn attach_session(&self, connection: u32, session_json: String) {
        let jobs = read(&self.shared.jobs);
        lock(&self.shared.attached).attach(connection, &session_json);
        let _ = jobs.send(Job::AttachSession(connection, session_json));
    }

    /// Forgets a closed connection's session.
    pub(crate) fn detach_session(&self, connection: u32) {
        let jobs = read(&self.shared.jobs);
        lock(&self.shared.attached).detach(connection);
        let _ = jobs.send(Job::DetachSession(connection));
    }

    /// A connection's heartbeat (the later API's client sends them).
    pub(crate) fn heartbeat(&self, connection: u32) {
        let jobs = read(&self.shared.jobs);
        let _ = jobs.send(Job::Heartbeat(connection));
    }

    /// `{ "<file>": { "actions": [...], "authenticate": bool } }` as JSON.
    pub(crate) async fn describe_actions(&self) -> Result<String, ActionError> {
        let answer = self.queue(Job::DescribeActions);
        answer.await.map_err(|_| engine_stopped())?
    }

    /// `ssrt console`: evaluates `source` (CoffeeScript when `coffee`) in the
    /// app's global scope; the engine prints the value or the error itself,
    /// in colour when `interactive`. Blocks until the engine answers: call
    /// it off the async runtime.
    pub(crate) fn console_eval(
        &self,
        source: String,
        coffee: bool,
        interactive: bool,
    ) -> Result<ConsoleOutcome, ActionError> {
        let answer = self.queue(|reply| Job::ConsoleEval {
            source,
            coffee,
            interactive,
            reply,
        });
        answer.blocking_recv().map_err(|_| engine_stopped())?
    }

    /// `ssrt console`: the global names or properties that complete `path`.
    /// Blocks like [`EngineHandle::console_eval`].
    pub(crate) fn console_complete(&self, path: &str) -> Vec<String> {
        let answer = self.queue(|reply| Job::ConsoleComplete(path.to_owned(), reply));
        answer
            .blocking_recv()
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default()
    }

    /// Stops the JavaScript the engine is running right now, as the
    /// watchdog does at `action_timeout` (Ctrl-C in `ssrt console`): a
    /// console entry ends as [`ConsoleOutcome::Interrupted`]. `false` when
    /// no JavaScript is running.
    pub(crate) fn interrupt(&self) -> bool {
        lock(&self.shared.interrupter)
            .as_ref()
            .is_some_and(Interrupter::interrupt)
    }

    /// Calls and replies queued and not answered yet.
    pub(crate) fn in_flight(&self) -> usize {
        self.shared.ledger.owed()
    }

    /// Whether the engine serves calls now, and how long the JavaScript it
    /// runs now has run.
    pub(crate) fn health(&self) -> Health {
        match lock(&self.shared.interrupter).as_ref() {
            None => Health::Down,
            Some(interrupter) => Health::Serving {
                busy_for: interrupter.busy_for(),
            },
        }
    }

    /// The session a connection has in this engine, as last known (JSON).
    pub(crate) fn session_of(&self, connection: u32) -> Option<String> {
        lock(&self.shared.attached).session_of(connection)
    }

    /// Queues a job whose answer comes back over a channel.
    fn queue<T: Send + 'static>(
        &self,
        job: impl FnOnce(Owed<T>) -> Job,
    ) -> oneshot::Receiver<Result<T, ActionError>> {
        let (unsent, answer) = {
            let jobs = read(&self.shared.jobs);
            let (reply, answer) = self.shared.ledger.owe_reply();
            (jobs.send(job(reply)).err(), answer)
        };
        // Unsent, the job drops its reply: the answer is then an error.
        drop(unsent);
        answer
    }
}

/// How an engine is doing, for the pool to route calls around one that is
/// down or stuck.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Health {
    /// Loading, or reloading after a crash, or given up on.
    Down,
    /// Serving; `busy_for` is how long the JavaScript it runs now has run.
    Serving { busy_for: Option<Duration> },
}

pub(crate) fn engine_stopped() -> ActionError {
    ActionError::new(
        ErrorCode::EngineStopped,
        "The app's JavaScript engine has stopped",
    )
}

pub(crate) fn engine_restarted() -> ActionError {
    ActionError::new(
        ErrorCode::EngineRestarted,
        "The app's JavaScript engine crashed or ran out of memory while this call was in \
         flight (it may have partly run); the app is being reloaded in a new engine",
    )
}

/// Starts engine `index`'s thread, loads the app on it and waits until it
/// is loaded; a supervisor thread restarts it if it crashes. Returns the
/// handle and what `loadApp` found.
pub(crate) fn start(
    recipe: Arc<Recipe>,
    index: usize,
) -> Result<(EngineHandle, LoadCounts), StartError> {
    let (events_tx, events) = std::sync::mpsc::channel();
    let (jobs_tx, jobs_rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        jobs: RwLock::new(jobs_tx),
        attached: Mutex::default(),
        ledger: Arc::default(),
        interrupter: Mutex::new(None),
        events: events_tx.clone(),
    });
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let supervisor = Supervisor {
        shared: Arc::downgrade(&shared),
        recipe,
        index,
        events: events_tx,
        ready: Some(ready_tx),
        generation: 0,
        serving_since: None,
        in_a_row: 0,
        lost_engines: 0,
    };
    supervisor.launch(0, jobs_rx, Duration::ZERO)?;
    std::thread::Builder::new()
        .name(format!("ssrt-supervisor-{index}"))
        .spawn(move || supervisor.run(&events))?;
    let summary = ready_rx.recv().map_err(|_| StartError::Stopped)??;
    Ok((EngineHandle { shared }, summary))
}

/// Everything needed to start an engine for the app, again after a crash;
/// one for all the pool's engines.
pub(crate) struct Recipe {
    pub(crate) root: PathBuf,
    pub(crate) manifest: String,
    pub(crate) limits: EngineLimits,
    pub(crate) cache_dir: Option<PathBuf>,
    pub(crate) store: ssrt_store::Store,
    pub(crate) sessions: ssrt_store::Sessions,
    pub(crate) users_online: ssrt_store::UsersOnline,
    // The server's, shared by every engine.
    pub(crate) publisher: Arc<dyn Publisher>,
    pub(crate) delivery: Arc<dyn Delivery>,
    pub(crate) session_listener: Arc<dyn SessionListener>,
}

/// What engine threads tell the supervisor.
enum Event {
    /// The engine loaded the app and serves from now on.
    Loaded {
        generation: u64,
        /// What `loadApp` found.
        summary: LoadCounts,
        took: Duration,
        /// Connections whose sessions it attached again.
        reattached: usize,
    },
    /// The app did not load (it threw, or ran too long); the thread has
    /// ended normally and hands the queue back.
    LoadFailed {
        generation: u64,
        error: EngineError,
        jobs: mpsc::UnboundedReceiver<Job>,
    },
    /// The engine's heap stays full of the app's own data
    /// ([`Engine::exhausted`]); the thread has answered the calls it had
    /// begun, freed the engine, and hands the queue back.
    Exhausted {
        generation: u64,
        why: String,
        in_flight: usize,
        jobs: mpsc::UnboundedReceiver<Job>,
    },
    /// The engine thread panicked; it is parked for good.
    Crashed { generation: u64, crash: Crash },
    /// The last handle is gone.
    Closed,
}

struct Supervisor {
    shared: Weak<Shared>,
    recipe: Arc<Recipe>,
    /// Which of the pool's engines this is.
    index: usize,
    events: std::sync::mpsc::Sender<Event>,
    /// Where the first load's outcome goes; `None` once it has.
    ready: Option<std::sync::mpsc::Sender<Result<LoadCounts, StartError>>>,
    /// The current engine's.
    generation: u64,
    /// When the current engine began serving.
    serving_since: Option<Instant>,
    /// Crashes and failed reloads since an engine last served for `STABLE`.
    in_a_row: u32,
    /// Engines given up on (crashed, or their heap full): they keep their
    /// memory.
    lost_engines: usize,
}

impl Supervisor {
    fn run(mut self, events: &std::sync::mpsc::Receiver<Event>) {
        for event in events.iter() {
            match event {
                Event::Closed => return,
                Event::Loaded {
                    generation,
                    summary,
                    took,
                    reattached,
                } if generation == self.generation => {
                    self.serving_since = Some(Instant::now());
                    match self.ready.take() {
                        Some(ready) => {
                            let _ = ready.send(Ok(summary));
                        }
                        None => tracing::warn!(
                            "the app is reloaded in a new JavaScript engine ({} ms) and serves \
                             again; {reattached} open connection(s) keep their sessions",
                            took.as_millis()
                        ),
                    }
                }
                Event::LoadFailed {
                    generation,
                    error,
                    jobs,
                } if generation == self.generation => {
                    if let Some(ready) = self.ready.take() {
                        let _ = ready.send(Err(StartError::Load(error)));
                        return;
                    }
                    let delay = self.next_delay();
                    tracing::error!(
                        "reloading the app in a new JavaScript engine failed (attempt {}); \
                         trying again in {}:\n{error}",
                        self.in_a_row,
                        seconds(delay),
                    );
                    self.relaunch(jobs, delay);
                }
                Event::Exhausted {
                    generation,
                    why,
                    in_flight,
                    jobs,
                } if generation == self.generation => {
                    self.lost_engines += 1;
                    let what = format!(
                        "the app's JavaScript engine cannot recover: {why}. {in_flight} call(s) \
                         in flight got engine_restarted"
                    );
                    self.replace(&what, jobs, "");
                }
                Event::Crashed { generation, crash } => {
                    self.lost_engines += 1;
                    if let Some(ready) = self.ready.take() {
                        let crashed = EngineError::Crashed(crash.what.clone());
                        let _ = ready.send(Err(StartError::Load(crashed)));
                        return;
                    }
                    if generation == self.generation {
                        self.crashed(&crash);
                    }
                }
                _ => {}
            }
        }
    }

    /// The current engine crashed: its queue is replaced at once (calls
    /// from now on wait for the new engine), what it owed is answered, and
    /// a new engine is started.
    fn crashed(&mut self, crash: &Crash) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let (jobs_tx, jobs) = mpsc::unbounded_channel();
        let owing = {
            let mut queue = write(&shared.jobs);
            *queue = jobs_tx;
            shared.ledger.take_all()
        };
        if let Some(interrupter) = lock(&shared.interrupter).take() {
            interrupter.retire();
        }
        let connections = lock(&shared.attached).connections.len();
        drop(shared);
        let in_flight = owing.len();
        // Callers first: resolving a backtrace for the log can take a while.
        owing.fail(engine_restarted);
        let what = format!(
            "the app's JavaScript engine crashed: {}. {in_flight} call(s) in flight got \
             engine_restarted; {connections} open connection(s) keep their sessions",
            crash.what
        );
        self.replace(&what, jobs, &crash.backtrace_lines());
    }

    /// Logs what happened to the engine (loudly) and starts the next one
    /// on `jobs`, unless too many were lost.
    fn replace(&mut self, what: &str, jobs: mpsc::UnboundedReceiver<Job>, backtrace: &str) {
        let lost = self.lost_engines;
        if lost >= MAX_LOST_ENGINES {
            tracing::error!(
                "{what}.\n  The app is NOT reloaded again: {lost} engines were lost, and each \
                 keeps its memory. Calls get engine_stopped until the server is restarted.\
                 {backtrace}"
            );
            return; // dropping `jobs`: calls from now on are refused
        }
        let delay = self.next_delay();
        tracing::error!(
            "{what}.\n  The app is being reloaded in a new engine {when}; module-level state \
             (variables in server files, timers, open handles) is lost. The old engine's \
             memory is not freed ({lost} of at most {MAX_LOST_ENGINES} engines lost).{backtrace}",
            when = self.when(delay),
        );
        self.relaunch(jobs, delay);
    }

    /// When the next engine starts, for the log.
    fn when(&self, delay: Duration) -> String {
        if delay.is_zero() {
            "now".to_owned()
        } else {
            format!("in {} (failure {} in a row)", seconds(delay), self.in_a_row)
        }
    }

    /// How long to wait before the next engine: nothing after an engine
    /// that served for a while, then doubling from `FIRST_DELAY`.
    fn next_delay(&mut self) -> Duration {
        if self
            .serving_since
            .take()
            .is_some_and(|since| since.elapsed() >= STABLE)
        {
            self.in_a_row = 0;
        }
        self.in_a_row += 1;
        match self.in_a_row {
            0 | 1 => Duration::ZERO,
            n => FIRST_DELAY
                .saturating_mul(1 << (n - 2).min(16))
                .min(MAX_DELAY),
        }
    }

    fn relaunch(&mut self, jobs: mpsc::UnboundedReceiver<Job>, delay: Duration) {
        self.generation += 1;
        if let Err(e) = self.launch(self.generation, jobs, delay) {
            // The queue went with the failed spawn: calls get engine_stopped.
            tracing::error!("cannot start a new engine thread: {e}");
        }
    }

    /// Starts an engine thread that waits `delay` (refusing jobs), then
    /// loads the app and serves `jobs`.
    fn launch(
        &self,
        generation: u64,
        jobs: mpsc::UnboundedReceiver<Job>,
        delay: Duration,
    ) -> std::io::Result<()> {
        let thread = EngineThread {
            recipe: Arc::clone(&self.recipe),
            shared: Weak::clone(&self.shared),
            events: self.events.clone(),
            generation,
        };
        std::thread::Builder::new()
            .name(format!("ssrt-js-{}", self.index))
            .spawn(move || thread.run(jobs, delay))
            .map(drop)
    }
}

/// One engine thread: one engine, from loading the app until the last
/// handle is gone (or it crashes).
struct EngineThread {
    recipe: Arc<Recipe>,
    shared: Weak<Shared>,
    events: std::sync::mpsc::Sender<Event>,
    generation: u64,
}

impl EngineThread {
    fn run(self, mut jobs: mpsc::UnboundedReceiver<Job>, delay: Duration) {
        let generation = self.generation;
        let crashes = self.events.clone();
        crash::watch_this_thread(move |crash| {
            let _ = crashes.send(Event::Crashed { generation, crash });
        });
        let failed = |error: EngineError, jobs| {
            crash::stop_watching_this_thread();
            let _ = self.events.send(Event::LoadFailed {
                generation,
                error,
                jobs,
            });
        };
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(source) => {
                let error = EngineError::Thread {
                    what: "engine's event loop",
                    source,
                };
                return failed(error, jobs);
            }
        };
        if !delay.is_zero() {
            runtime.block_on(refuse(&mut jobs, delay));
        }
        let started = Instant::now();
        let _context = runtime.enter();
        let recipe = &self.recipe;
        let mut engine = match Engine::new(self.engine_state(), &recipe.root, recipe.limits) {
            Ok(engine) => engine,
            Err(e) => return failed(e, jobs),
        };
        let loaded = runtime.block_on(async {
            let loaded = engine.load_app(&recipe.manifest);
            // Let `config/db` and top-level code finish their first turn.
            let _ = poll_fn(|cx| Poll::Ready(engine.poll_event_loop(cx))).await;
            loaded
        });
        let summary = match loaded {
            Ok(summary) => summary,
            Err(e) => {
                drop(engine);
                return failed(e, jobs);
            }
        };
        // Take over: the sessions of the open connections, and what was
        // queued while the app loaded (its attaches and detaches are in
        // `attached` already).
        let Some(shared) = self.shared.upgrade() else {
            return crash::stop_watching_this_thread(); // every handle is gone
        };
        let mut queued = Vec::new();
        let sessions = {
            let _queue = write(&shared.jobs);
            while let Ok(job) = jobs.try_recv() {
                queued.push(job);
            }
            lock(&shared.attached).snapshot()
        };
        *lock(&shared.interrupter) = Some(engine.interrupter());
        drop(shared);
        let ended = runtime.block_on(async {
            let reattached = reattach(&mut engine, &recipe.sessions, sessions).await;
            for job in queued {
                if !matches!(job, Job::AttachSession(..) | Job::DetachSession(_)) {
                    run(&mut engine, job);
                }
            }
            let _ = self.events.send(Event::Loaded {
                generation,
                summary,
                took: started.elapsed(),
                reattached,
            });
            serve(&mut engine, &*recipe.delivery, &mut jobs).await
        });
        if let Ended::Exhausted(why) = ended {
            self.hand_over(engine, jobs, why);
        }
        crash::stop_watching_this_thread();
    }

    /// The engine cannot go on: answers what it had begun with
    /// `engine_restarted`, frees it, and hands the queue (which it had not
    /// begun) to the supervisor for the next engine.
    fn hand_over(self, mut engine: Engine, jobs: mpsc::UnboundedReceiver<Job>, why: String) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        lock(&shared.interrupter).take();
        let in_flight = shared.ledger.restarting(|| engine.give_up_calls());
        drop(shared);
        drop(engine);
        let _ = self.events.send(Event::Exhausted {
            generation: self.generation,
            why,
            in_flight,
            jobs,
        });
    }

    /// A fresh engine's op state, around the server's publisher and
    /// listeners.
    fn engine_state(&self) -> EngineState {
        let recipe = &self.recipe;
        EngineState {
            calls: CallTable::new(recipe.limits.action),
            cache: CompileCache::new(recipe.cache_dir.clone()),
            publisher: PublisherSlot(Arc::clone(&recipe.publisher)),
            sessions: recipe.sessions.clone(),
            users_online: recipe.users_online.clone(),
            store: recipe.store.clone(),
            session_listener: SessionListenerSlot(Box::new(TrackedSessions {
                inner: Arc::clone(&recipe.session_listener),
                shared: Weak::clone(&self.shared),
            })),
        }
    }
}

/// Before a restart after failures in a row: answers jobs with an error
/// until `delay` has passed, so that callers are not kept waiting.
async fn refuse(jobs: &mut mpsc::UnboundedReceiver<Job>, delay: Duration) {
    let until = tokio::time::Instant::now() + delay;
    let error = ActionError::new(
        ErrorCode::EngineRestarting,
        format!(
            "The app's JavaScript engine failed repeatedly (it crashed, ran out of memory or \
             could not load the app); it is restarted in {}",
            seconds(delay)
        ),
    );
    loop {
        tokio::select! {
            job = jobs.recv() => match job {
                Some(job) => refuse_job(job, &error),
                None => return,
            },
            () = tokio::time::sleep_until(until) => return,
        }
    }
}

fn refuse_job(job: Job, error: &ActionError) {
    match job {
        Job::Call(call) => call.responder.respond(Err(error.clone())),
        // `attached` has them; the new engine attaches from there.
        Job::AttachSession(..) | Job::DetachSession(_) | Job::Heartbeat(_) => {}
        Job::DescribeActions(reply) => reply.send(Err(error.clone())),
        Job::ConsoleEval { reply, .. } => reply.send(Err(error.clone())),
        Job::ConsoleComplete(_, reply) => reply.send(Ok(Vec::new())),
    }
}

/// Attaches the sessions of the open connections to a new engine, as the
/// store has them now (a login or `@session.save` on the crashed engine is
/// kept); what the host last knew when the store cannot say.
async fn reattach(
    engine: &mut Engine,
    sessions: &ssrt_store::Sessions,
    snapshot: Vec<(String, String, Vec<u32>)>,
) -> usize {
    let deadline = tokio::time::Instant::now() + REATTACH_PATIENCE;
    let mut reattached = 0;
    for (id, known, connections) in snapshot {
        let stored = tokio::time::timeout_at(deadline, sessions.resume_or_create(Some(&id))).await;
        let json = match stored {
            Ok(Ok(session)) if !session.newly_created => session.to_json(),
            _ => known,
        };
        for connection in connections {
            engine.attach_session(connection, &json);
            reattached += 1;
        }
    }
    reattached
}

/// Why [`serve`] returned.
enum Ended {
    /// Every handle is gone.
    Closed,
    /// The engine cannot go on ([`Engine::exhausted`]).
    Exhausted(String),
}

/// The engine thread's loop: jobs from the server, the JS event loop, and the
/// call timeout sweep, until every handle is gone (or the engine cannot go
/// on). What a turn answered is delivered at its end, all at once.
async fn serve(
    engine: &mut Engine,
    delivery: &dyn Delivery,
    jobs: &mut mpsc::UnboundedReceiver<Job>,
) -> Ended {
    let mut expiry = tokio::time::interval(EXPIRY_INTERVAL);
    poll_fn(|cx| {
        let mut handled = 0;
        while handled < JOBS_PER_TURN && engine.exhausted().is_none() {
            match jobs.poll_recv(cx) {
                Poll::Ready(Some(job)) => run(engine, job),
                Poll::Ready(None) => return Poll::Ready(Ended::Closed),
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
        match engine.exhausted() {
            Some(why) => Poll::Ready(Ended::Exhausted(why.to_owned())),
            None => Poll::Pending,
        }
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
                CallOrigin::Middleware(stage) => {
                    engine.run_http_middleware(id, stage, params.as_deref().unwrap_or("{}"))
                }
            }
        }
        Job::AttachSession(connection, json) => engine.attach_session(connection, &json),
        Job::DetachSession(connection) => engine.detach_session(connection),
        Job::Heartbeat(connection) => engine.heartbeat(connection),
        Job::DescribeActions(reply) => reply.send(Ok(engine.describe_actions())),
        Job::ConsoleEval {
            source,
            coffee,
            interactive,
            reply,
        } => reply.send(Ok(engine.console_eval(&source, coffee, interactive))),
        Job::ConsoleComplete(path, reply) => reply.send(Ok(engine.console_complete(&path))),
    }
}

/// The sessions of the open connections, kept in step with the jobs that
/// attach and detach them (and with session_listener, which give a session a new id).
#[derive(Default)]
struct Attached {
    /// Connection → its session's id.
    connections: HashMap<u32, String>,
    /// Session id → its JSON as last known, and its connections.
    sessions: HashMap<String, (String, Vec<u32>)>,
}

impl Attached {
    fn attach(&mut self, connection: u32, json: &str) {
        #[derive(serde::Deserialize)]
        struct Id {
            id: String,
        }
        let id = serde_json::from_str::<Id>(json).map_or_else(|_| String::new(), |s| s.id);
        self.detach(connection);
        let entry = self
            .sessions
            .entry(id.clone())
            .or_insert_with(|| (json.to_owned(), Vec::new()));
        entry.1.push(connection);
        self.connections.insert(connection, id);
    }

    fn detach(&mut self, connection: u32) {
        let Some(id) = self.connections.remove(&connection) else {
            return;
        };
        if let Some((_, connections)) = self.sessions.get_mut(&id) {
            connections.retain(|c| *c != connection);
            if connections.is_empty() {
                self.sessions.remove(&id);
            }
        }
    }

    fn rotated(&mut self, old_id: &str, new_id: &str) {
        let Some((json, connections)) = self.sessions.remove(old_id) else {
            return;
        };
        for connection in &connections {
            self.connections.insert(*connection, new_id.to_owned());
        }
        let json = patched(&json, "id", new_id.into());
        self.sessions.insert(new_id.to_owned(), (json, connections));
    }

    fn user_changed(&mut self, id: &str, user_id: Option<&str>) {
        if let Some((json, _)) = self.sessions.get_mut(id) {
            *json = patched(json, "user_id", user_id.into());
        }
    }

    fn channels_changed(&mut self, id: &str, channels: &[String]) {
        if let Some((json, _)) = self.sessions.get_mut(id) {
            *json = patched(json, "channels", channels.into());
        }
    }

    /// The JSON of a connection's session.
    fn session_of(&self, connection: u32) -> Option<String> {
        let id = self.connections.get(&connection)?;
        self.sessions.get(id).map(|(json, _)| json.clone())
    }

    /// Every session: its id, JSON and connections.
    fn snapshot(&self) -> Vec<(String, String, Vec<u32>)> {
        self.sessions
            .iter()
            .map(|(id, (json, connections))| (id.clone(), json.clone(), connections.clone()))
            .collect()
    }
}

/// `json` with one field set.
fn patched(json: &str, field: &str, value: serde_json::Value) -> String {
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(mut session) => {
            session[field] = value;
            session.to_string()
        }
        Err(_) => json.to_owned(),
    }
}

/// The server's session listener, as an engine uses it; also keeps
/// `attached` in step with session_listener.
struct TrackedSessions {
    inner: Arc<dyn SessionListener>,
    shared: Weak<Shared>,
}

impl SessionListener for TrackedSessions {
    fn user_changed(&self, session_id: &str, user_id: Option<&str>) {
        if let Some(shared) = self.shared.upgrade() {
            lock(&shared.attached).user_changed(session_id, user_id);
        }
        self.inner.user_changed(session_id, user_id);
    }

    fn session_rotated(&self, old_id: &str, new_id: &str) {
        if let Some(shared) = self.shared.upgrade() {
            lock(&shared.attached).rotated(old_id, new_id);
        }
        self.inner.session_rotated(old_id, new_id);
    }

    fn channels_changed(&self, session_id: &str, channels: &[String]) {
        if let Some(shared) = self.shared.upgrade() {
            lock(&shared.attached).channels_changed(session_id, channels);
        }
        self.inner.channels_changed(session_id, channels);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

/// `1.5 s`, for messages about delays.
fn seconds(delay: Duration) -> String {
    format!("{} s", delay.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssrt_ops::Publication;

    fn session(id: &str) -> String {
        serde_json::json!({"id": id, "created_at": 1, "attributes": {}, "user_id": null,
                           "newly_created": true})
        .to_string()
    }

    fn field(json: &str, name: &str) -> serde_json::Value {
        serde_json::from_str::<serde_json::Value>(json).unwrap()[name].clone()
    }

    #[test]
    fn attached_sessions_follow_attaches_detaches_logins_and_new_ids() {
        let mut attached = Attached::default();
        attached.attach(1, &session("a"));
        attached.attach(2, &session("a"));
        attached.attach(3, &session("b"));
        attached.detach(3);
        attached.detach(9); // never attached: nothing happens
        let snapshot = attached.snapshot();
        assert_eq!(snapshot.len(), 1);
        assert_eq!(snapshot[0].0, "a");
        assert_eq!(snapshot[0].2, vec![1, 2]);

        // A login: the user, then the session's new id; both tabs follow.
        attached.user_changed("a", Some("tom"));
        attached.rotated("a", "a2");
        let snapshot = attached.snapshot();
        let (id, json, connections) = &snapshot[0];
        assert_eq!(id, "a2");
        assert_eq!(field(json, "id"), "a2");
        assert_eq!(field(json, "user_id"), "tom");
        assert_eq!(connections, &vec![1, 2]);
        assert_eq!(attached.connections[&1], "a2");

        attached.detach(1);
        attached.detach(2);
        assert!(attached.snapshot().is_empty());
        assert!(attached.connections.is_empty());
    }

    #[test]
    fn restarts_in_a_row_wait_longer_each_time_and_a_stable_engine_resets_them() {
        let (events, _) = std::sync::mpsc::channel();
        let mut supervisor = Supervisor {
            shared: Weak::new(),
            index: 0,
            recipe: Arc::new(Recipe {
                root: PathBuf::new(),
                manifest: String::new(),
                limits: EngineLimits {
                    action: Duration::from_secs(1),
                    load: Duration::from_secs(1),
                    heap_limit_mb: 256,
                },
                cache_dir: None,
                store: ssrt_store::Store::Embedded(Default::default()),
                sessions: ssrt_store::Sessions::new(
                    ssrt_store::Store::Embedded(Default::default()),
                    "ss",
                    Duration::from_secs(60),
                ),
                users_online: ssrt_store::UsersOnline::new(
                    ssrt_store::Store::Embedded(Default::default()),
                    ssrt_store::Keys::new("ss"),
                ),
                publisher: Arc::new(NoPublisher),
                delivery: Arc::new(crate::DeliverInPlace),
                session_listener: Arc::new(NoListener),
            }),
            events,
            ready: None,
            generation: 1,
            serving_since: None,
            in_a_row: 0,
            lost_engines: 0,
        };
        let delays: Vec<Duration> = (0..9).map(|_| supervisor.next_delay()).collect();
        let ms = |n| Duration::from_millis(n);
        assert_eq!(
            delays,
            [0, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000].map(ms)
        );
        supervisor.serving_since = Some(Instant::now() - STABLE);
        assert_eq!(supervisor.next_delay(), Duration::ZERO);
        supervisor.serving_since = Some(Instant::now());
        assert_eq!(supervisor.next_delay(), ms(500));
    }

    struct NoPublisher;
    impl Publisher for NoPublisher {
        fn publish(&self, _: Publication) {}
    }

    struct NoListener;
    impl SessionListener for NoListener {
        fn user_changed(&self, _: &str, _: Option<&str>) {}
        fn session_rotated(&self, _: &str, _: &str) {}
        fn channels_changed(&self, _: &str, _: &[String]) {}
    }
}
