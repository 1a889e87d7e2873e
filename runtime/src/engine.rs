//! The app's engine: a Deno worker with Node's platform ([`crate::node`]),
//! ssrt's ops and bootstrap; calls into the `__ssrt` functions the bootstrap
//! defines, and the event loop. The compilers' plain engine shares the
//! helpers at the bottom.
//!
//! Written only against the API both engines of `deno_core` provide (QuickJS
//! and V8), so the same code builds with either feature.

use crate::ConsoleOutcome;
use crate::error::EngineError;
use crate::watchdog::{Interrupter, StoppedBy, Watchdog};
use deno_core::{JsRuntime, PollEventLoopOptions, RuntimeOptions, v8};
use ssrt_ops::{
    ActionError, CallTable, CompileCache, Completed, ErrorCode, PublisherSlot, Responder,
    SessionListenerSlot,
};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// An argument for a call into JavaScript.
pub(crate) enum Arg<'a> {
    Int(u32),
    Str(&'a str),
    Undefined,
}

impl<'a> Arg<'a> {
    fn optional(text: Option<&'a str>) -> Self {
        text.map_or(Arg::Undefined, Arg::Str)
    }
}

/// The `__ssrt` functions the host calls, looked up once after bootstrap.
struct Entrypoints {
    load_app: JsFunction,
    dispatch: JsFunction,
    dispatch_http: JsFunction,
    run_http_middleware: JsFunction,
    attach_session: JsFunction,
    detach_session: JsFunction,
    heartbeat: JsFunction,
    describe_actions: JsFunction,
    console_eval: JsFunction,
    console_complete: JsFunction,
}

/// What `loadApp` found.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
pub(crate) struct LoadCounts {
    pub(crate) server: usize,
    pub(crate) shared: usize,
    pub(crate) http: crate::MiddlewareCounts,
}

/// What the app's JavaScript may take (config `action_timeout`,
/// `load_timeout`, `heap_limit_mb`).
#[derive(Debug, Clone, Copy)]
pub struct EngineLimits {
    /// Each entry into JavaScript once the app is loaded: a call, an event,
    /// a timer, a console entry.
    pub action: Duration,
    /// Loading the app: its files, `config/db` and their npm packages.
    pub load: Duration,
    pub heap_limit_mb: u64,
}

pub struct Engine {
    worker: deno_runtime::worker::MainWorker,
    entry: Entrypoints,
    /// Stops any entry into JavaScript that runs past its limit.
    watchdog: Watchdog,
    limits: EngineLimits,
    /// Set when the heap stays full after a stop at its limit.
    exhausted: Option<String>,
}

/// After a stop at the heap limit and a garbage collection, an engine whose
/// heap is still this full (in percent of the limit) cannot recover.
const EXHAUSTED_PERCENT: u64 = 90;

/// Why the engine stopped an entry into JavaScript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stopped {
    /// It ran past this limit.
    Timeout(Duration),
    /// Ctrl-C in the console ([`Interrupter`]).
    Interrupted,
    OutOfMemory,
}

/// What the ops keep in the engine's `OpState`.
pub struct EngineState {
    pub calls: CallTable,
    pub cache: CompileCache,
    pub publisher: PublisherSlot,
    pub sessions: ssrt_store::Sessions,
    pub users_online: ssrt_store::UsersOnline,
    pub store: ssrt_store::Store,
    pub session_listener: SessionListenerSlot,
}

impl Engine {
    /// A bootstrapped engine for the app in `root`: Node's platform,
    /// `require`, `$SS`; no app yet, and JavaScript held to `limits`. Must be
    /// called inside a tokio runtime.
    pub fn new(
        engine_state: EngineState,
        root: &std::path::Path,
        limits: EngineLimits,
    ) -> Result<Self, EngineError> {
        let extensions = vec![ssrt_ops::extension()];
        let heap_limit_bytes =
            usize::try_from(limits.heap_limit_mb.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
        let mut worker = crate::node::main_worker(root, extensions, heap_limit_bytes);
        let isolate = worker.js_runtime.v8_isolate().thread_safe_handle();
        let watchdog = Watchdog::start(isolate).map_err(|source| EngineError::Thread {
            what: "watchdog thread",
            source,
        })?;
        let runtime = &mut worker.js_runtime;
        {
            let state = runtime.op_state();
            let mut state = state.borrow_mut();
            state.put(engine_state.calls);
            state.put(engine_state.cache);
            state.put(engine_state.publisher);
            state.put(engine_state.sessions);
            state.put(engine_state.users_online);
            state.put(engine_state.store);
            state.put(engine_state.session_listener);
        }
        run_scripts(runtime, ssrt_js::BASE.iter().chain(ssrt_js::APP))?;
        let entry = Entrypoints {
            load_app: function(runtime, "loadApp")?,
            dispatch: function(runtime, "dispatch")?,
            dispatch_http: function(runtime, "dispatchHttp")?,
            run_http_middleware: function(runtime, "runHttpMiddleware")?,
            attach_session: function(runtime, "attachSession")?,
            detach_session: function(runtime, "detachSession")?,
            heartbeat: function(runtime, "heartbeat")?,
            describe_actions: function(runtime, "describeActions")?,
            console_eval: function(runtime, "consoleEval")?,
            console_complete: function(runtime, "consoleComplete")?,
        };
        Ok(Self {
            worker,
            entry,
            watchdog,
            limits,
            exhausted: None,
        })
    }

    /// Loads the app; what it found.
    pub fn load_app(&mut self, manifest_json: &str) -> Result<LoadCounts, EngineError> {
        let (loaded, stopped) = self.watched_for(self.limits.load, |runtime, entry| {
            call(runtime, &entry.load_app, &[Arg::Str(manifest_json)])
        });
        match stopped {
            Some(stopped) => Err(self.stopped("loading the app", stopped)),
            None => loaded,
        }
    }

    /// Registers a call so its action's callback can answer it.
    pub fn open_call(&mut self, method: String, responder: Box<dyn Responder>) -> u32 {
        let state = self.worker.js_runtime.op_state();
        let mut state = state.borrow_mut();
        state.borrow_mut::<CallTable>().open(method, responder)
    }

    pub fn dispatch(&mut self, call_id: u32, method: &str, params: Option<&str>, connection: u32) {
        let args = [
            Arg::Int(call_id),
            Arg::Str(method),
            Arg::optional(params),
            Arg::Int(connection),
        ];
        let outcome = self.watched(|runtime, entry| call(runtime, &entry.dispatch, &args));
        self.answer_if_failed(outcome, call_id, method);
    }

    pub fn dispatch_http(
        &mut self,
        call_id: u32,
        method: &str,
        params: Option<&str>,
        session_json: &str,
        credentials: Option<(&str, &str)>,
    ) {
        let args = [
            Arg::Int(call_id),
            Arg::Str(method),
            Arg::optional(params),
            Arg::Str(session_json),
            Arg::optional(credentials.map(|(user, _)| user)),
            Arg::optional(credentials.map(|(_, password)| password)),
        ];
        let outcome = self.watched(|runtime, entry| call(runtime, &entry.dispatch_http, &args));
        self.answer_if_failed(outcome, call_id, method);
    }

    /// Runs `config/http`'s `stage` on a request (an [`crate::HttpRequest`]
    /// as JSON); the call is answered with an [`crate::HttpReply`].
    pub fn run_http_middleware(
        &mut self,
        call_id: u32,
        stage: crate::MiddlewareStage,
        request_json: &str,
    ) {
        let args = [
            Arg::Int(call_id),
            Arg::Str(stage.as_str()),
            Arg::Str(request_json),
        ];
        let outcome =
            self.watched(|runtime, entry| call(runtime, &entry.run_http_middleware, &args));
        self.answer_if_failed(outcome, call_id, "config/http middleware");
    }

    pub fn attach_session(&mut self, connection: u32, session_json: &str) {
        let args = [Arg::Int(connection), Arg::Str(session_json)];
        let (result, _) =
            self.watched(|runtime, entry| call::<()>(runtime, &entry.attach_session, &args));
        if let Err(e) = result {
            tracing::error!("attaching a session failed: {e}");
        }
    }

    pub fn detach_session(&mut self, connection: u32) {
        let args = [Arg::Int(connection)];
        let (result, _) =
            self.watched(|runtime, entry| call::<()>(runtime, &entry.detach_session, &args));
        if let Err(e) = result {
            tracing::error!("detaching a session failed: {e}");
        }
    }

    /// A later-API client's heartbeat: its user is confirmed online.
    pub fn heartbeat(&mut self, connection: u32) {
        let args = [Arg::Int(connection)];
        let (result, _) =
            self.watched(|runtime, entry| call::<()>(runtime, &entry.heartbeat, &args));
        if let Err(e) = result {
            tracing::error!("a heartbeat failed: {e}");
        }
    }

    pub fn describe_actions(&mut self) -> String {
        let (described, _) =
            self.watched(|runtime, entry| call(runtime, &entry.describe_actions, &[]));
        match described {
            Ok(json) => json,
            Err(e) => {
                tracing::error!("listing actions failed: {e}");
                "{}".to_owned()
            }
        }
    }

    /// Evaluates a console entry, which prints its own value or error (so it
    /// comes before anything its callbacks print). An entry that runs past
    /// the limit is stopped (and logged); one interrupted (Ctrl-C) says so.
    pub fn console_eval(
        &mut self,
        source: &str,
        coffee: bool,
        interactive: bool,
    ) -> ConsoleOutcome {
        let flag = |on: bool| Arg::Int(u32::from(on));
        let args = [Arg::Str(source), flag(coffee), flag(interactive)];
        let (outcome, stopped) =
            self.watched(|runtime, entry| call(runtime, &entry.console_eval, &args));
        match stopped {
            Some(Stopped::Interrupted) => return ConsoleOutcome::Interrupted,
            Some(stopped) => {
                tracing::error!("{}", self.stopped("the entry", stopped));
                return ConsoleOutcome::Threw;
            }
            None => {}
        }
        match outcome {
            Ok(true) => ConsoleOutcome::Ran,
            Ok(false) => ConsoleOutcome::Threw,
            Err(e) => {
                tracing::error!("the console failed: {e}");
                ConsoleOutcome::Threw
            }
        }
    }

    /// Stops the engine's running JavaScript from another thread.
    pub(crate) fn interrupter(&self) -> Interrupter {
        self.watchdog.interrupter()
    }

    /// Completions of the dotted path `path` (`$SS.ser` → `$SS.server`).
    pub fn console_complete(&mut self, path: &str) -> Vec<String> {
        let (completions, _) = self
            .watched(|runtime, entry| call(runtime, &entry.console_complete, &[Arg::Str(path)]));
        completions.unwrap_or_else(|e| {
            tracing::error!("completing {path} failed: {e}");
            Vec::new()
        })
    }

    /// The calls answered since the last take.
    pub fn take_completed(&mut self) -> Vec<Completed> {
        let state = self.worker.js_runtime.op_state();
        let mut state = state.borrow_mut();
        state.borrow_mut::<CallTable>().take_completed()
    }

    /// Gives up the calls in flight, for an engine that will not run
    /// again: those answered are delivered here, the others dropped (which
    /// answers them, see `crate::ledger`). The engine must not run
    /// JavaScript after this.
    pub fn give_up_calls(&mut self) {
        let state = self.worker.js_runtime.op_state();
        let table = state.borrow_mut().try_take::<CallTable>();
        if let Some(mut table) = table {
            table
                .take_completed()
                .into_iter()
                .for_each(Completed::deliver);
        }
    }

    /// Answers calls whose action never called back.
    pub fn expire_calls(&mut self) {
        let state = self.worker.js_runtime.op_state();
        let expired = state
            .borrow_mut()
            .borrow_mut::<CallTable>()
            .expire(Instant::now());
        if expired > 0 {
            tracing::warn!("{expired} call(s) timed out waiting for their action's callback");
        }
    }

    /// One turn of the event loop: timers, promises, async ops. A callback
    /// that runs past the limit is stopped and reported as an error.
    pub fn poll_event_loop(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), EngineError>> {
        let (polled, stopped) =
            self.watched(|runtime, _| runtime.poll_event_loop(cx, PollEventLoopOptions::default()));
        if let Some(stopped) = stopped {
            return Poll::Ready(Err(
                self.stopped("a callback (timer, event or promise)", stopped)
            ));
        }
        polled.map_err(|e| EngineError::EventLoop(Box::new(e)))
    }

    /// Runs `f` as one watched entry into JavaScript, held to the action
    /// timeout (see [`Engine::watched_for`]).
    fn watched<T>(
        &mut self,
        f: impl FnOnce(&mut JsRuntime, &Entrypoints) -> T,
    ) -> (T, Option<Stopped>) {
        self.watched_for(self.limits.action, f)
    }

    /// Runs `f` as one entry into JavaScript that may run for `limit`. When
    /// the engine stopped it (the watchdog, or the heap limit: the QuickJS
    /// backend terminates like V8 when an allocation would pass it), the
    /// termination is cancelled so that the engine serves the next entry,
    /// and the reason is returned.
    fn watched_for<T>(
        &mut self,
        limit: Duration,
        f: impl FnOnce(&mut JsRuntime, &Entrypoints) -> T,
    ) -> (T, Option<Stopped>) {
        let entry = self.watchdog.enter(limit);
        let result = f(&mut self.worker.js_runtime, &self.entry);
        let stopped_by = entry.finish();
        let isolate = self.worker.js_runtime.v8_isolate();
        let stopped = match stopped_by {
            Some(StoppedBy::Timeout) => Some(Stopped::Timeout(limit)),
            Some(StoppedBy::Interrupt) => Some(Stopped::Interrupted),
            None if isolate.is_execution_terminating() => Some(Stopped::OutOfMemory),
            None => None,
        };
        if stopped.is_some() {
            isolate.cancel_terminate_execution();
        }
        if stopped == Some(Stopped::OutOfMemory) {
            self.check_heap();
        }
        (result, stopped)
    }

    /// After an entry was stopped at the heap limit: collects garbage and
    /// finds out whether the app's own data still fills the heap, in which
    /// case no call can get far (see [`Engine::exhausted`]).
    fn check_heap(&mut self) {
        let isolate = self.worker.js_runtime.v8_isolate();
        isolate.low_memory_notification();
        let held = isolate.get_heap_statistics().total_heap_size() as u64;
        let limit = self.limits.heap_limit_mb.saturating_mul(1 << 20);
        if held.saturating_mul(100) >= limit.saturating_mul(EXHAUSTED_PERCENT) {
            self.exhausted = Some(format!(
                "a call was stopped at heap_limit_mb ({} MiB), and after garbage collection \
                 the app still holds {} MiB: its own data fills the heap",
                self.limits.heap_limit_mb,
                held >> 20
            ));
        }
    }

    /// Why the engine cannot go on, when its heap is full of what the app
    /// keeps (module-level data that outgrew `heap_limit_mb`): only a fresh
    /// engine frees it.
    pub fn exhausted(&self) -> Option<&str> {
        self.exhausted.as_deref()
    }

    /// `what` was stopped, and why.
    fn stopped(&self, what: &'static str, stopped: Stopped) -> EngineError {
        EngineError::Stopped {
            what,
            why: self.stopped_because(stopped),
        }
    }

    /// Why an entry was stopped, as users read it.
    fn stopped_because(&self, stopped: Stopped) -> String {
        match stopped {
            Stopped::Timeout(limit) => format!("ran for more than {}", seconds(limit)),
            Stopped::Interrupted => "was interrupted by Ctrl-C".to_owned(),
            Stopped::OutOfMemory => format!(
                "needed more memory than heap_limit_mb ({} MiB) allows",
                self.limits.heap_limit_mb
            ),
        }
    }

    /// Answers the call when its dispatch did not: the watchdog stopped the
    /// action, or a dispatch threw past the bootstrap's own `try` (a bug in
    /// ssrt, but the caller must still get an answer).
    fn answer_if_failed(
        &mut self,
        (result, stopped): (Result<(), EngineError>, Option<Stopped>),
        call_id: u32,
        method: &str,
    ) {
        let error = if let Some(stopped) = stopped {
            let why = self.stopped_because(stopped);
            let message = format!("The {method} action {why} and was stopped");
            tracing::error!("{message}");
            let code = match stopped {
                Stopped::Timeout(_) => ErrorCode::ActionTimeout,
                Stopped::Interrupted => ErrorCode::Interrupted,
                Stopped::OutOfMemory => ErrorCode::OutOfMemory,
            };
            ActionError::new(code, message)
        } else {
            match result {
                Ok(_) => return,
                Err(e) => ActionError::new(ErrorCode::InternalError, e.to_string()),
            }
        };
        let state = self.worker.js_runtime.op_state();
        state
            .borrow_mut()
            .borrow_mut::<CallTable>()
            .complete(call_id, Err(error));
    }
}

/// `1.5 s`, for messages about the limit.
fn seconds(limit: Duration) -> String {
    format!("{} s", limit.as_secs_f64())
}

/// A plain engine (no Node platform) with ssrt's ops, their state, and the
/// given bootstrap scripts run.
pub(crate) fn bootstrapped<'a>(
    scripts: impl Iterator<Item = &'a (&'static str, &'static str)>,
    put_state: impl FnOnce(&mut deno_core::OpState),
) -> Result<JsRuntime, EngineError> {
    let mut runtime = JsRuntime::try_new(RuntimeOptions {
        extensions: vec![ssrt_ops::extension()],
        ..Default::default()
    })
    .map_err(|e| EngineError::Create(Box::new(e)))?;
    put_state(&mut runtime.op_state().borrow_mut());
    run_scripts(&mut runtime, scripts)?;
    Ok(runtime)
}

fn run_scripts<'a>(
    runtime: &mut JsRuntime,
    scripts: impl Iterator<Item = &'a (&'static str, &'static str)>,
) -> Result<(), EngineError> {
    for (script, source) in scripts {
        runtime
            .execute_script(*script, *source)
            .map_err(|source| EngineError::Bootstrap { script, source })?;
    }
    Ok(())
}

/// A function of the bootstrap's `__ssrt`, with its name for errors.
pub(crate) struct JsFunction {
    name: &'static str,
    function: v8::Global<v8::Function>,
}

/// Calls `f(args…)` and reads what it returns as a `T` (through serde_v8;
/// `()` reads nothing).
pub(crate) fn call<T: serde::de::DeserializeOwned>(
    runtime: &mut JsRuntime,
    f: &JsFunction,
    args: &[Arg],
) -> Result<T, EngineError> {
    deno_core::scope!(scope, runtime);
    v8::tc_scope!(let scope, scope);
    let mut locals: Vec<v8::Local<v8::Value>> = Vec::with_capacity(args.len());
    for arg in args {
        locals.push(match arg {
            Arg::Int(n) => v8::Integer::new_from_unsigned(scope, *n).into(),
            Arg::Str(text) => match v8::String::new(scope, text) {
                Some(string) => string.into(),
                None => return Err(EngineError::StringTooLong),
            },
            Arg::Undefined => v8::undefined(scope).into(),
        });
    }
    let function = v8::Local::new(scope, &f.function);
    let receiver = v8::undefined(scope).into();
    match function.call(scope, receiver, &locals) {
        Some(value) => {
            deno_core::serde_v8::from_v8(scope, value).map_err(|source| EngineError::Unexpected {
                function: f.name,
                source,
            })
        }
        // A stopped entry has nothing to report, and building an error
        // while terminating only makes deno_core print warnings.
        None if scope.has_terminated() => Err(EngineError::Terminated),
        None => match scope.exception() {
            Some(exception) => Err(EngineError::Threw(
                deno_core::error::JsError::from_v8_exception(scope, exception),
            )),
            None => Err(EngineError::Terminated),
        },
    }
}

/// Looks up `__ssrt.<name>`, which the bootstrap must have defined.
pub(crate) fn function(
    runtime: &mut JsRuntime,
    name: &'static str,
) -> Result<JsFunction, EngineError> {
    let value = runtime
        .execute_script("ssrt:entrypoint", format!("globalThis.__ssrt.{name}"))
        .map_err(|source| EngineError::Bootstrap {
            script: "ssrt:entrypoint",
            source,
        })?;
    deno_core::scope!(scope, runtime);
    let local = v8::Local::new(scope, value);
    let function: v8::Local<v8::Function> = local
        .try_into()
        .map_err(|_| EngineError::NotAFunction(name))?;
    Ok(JsFunction {
        name,
        function: v8::Global::new(scope, function),
    })
}
