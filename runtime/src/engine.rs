//! One `deno_core` engine with ssrt's ops and bootstrap: calls into the
//! `__ssrt` functions the bootstrap defines, and the event loop.
//!
//! Written only against the API both engines of `deno_core` provide (QuickJS
//! and V8), so the same code builds with either feature.

use deno_core::{JsRuntime, PollEventLoopOptions, RuntimeOptions, v8};
use ssrt_ops::{CallTable, CompileCache, PublisherSlot};
use std::task::{Context, Poll};
use std::time::Instant;

/// An argument for a call into JavaScript.
pub enum Arg<'a> {
    Int(u32),
    Str(&'a str),
    Undefined,
}

/// The `__ssrt` functions the host calls, looked up once after bootstrap.
struct Entrypoints {
    load_app: v8::Global<v8::Function>,
    dispatch: v8::Global<v8::Function>,
    dispatch_http: v8::Global<v8::Function>,
    attach_session: v8::Global<v8::Function>,
    detach_session: v8::Global<v8::Function>,
    describe_actions: v8::Global<v8::Function>,
}

pub struct Engine {
    runtime: JsRuntime,
    entry: Entrypoints,
}

impl Engine {
    /// A bootstrapped engine: Node globals, `require`, `$SS`; no app yet.
    pub fn new(
        cache: CompileCache,
        calls: CallTable,
        publisher: PublisherSlot,
    ) -> Result<Self, String> {
        let mut runtime = JsRuntime::try_new(RuntimeOptions {
            extensions: vec![ssrt_ops::extension()],
            ..Default::default()
        })
        .map_err(|e| format!("cannot start the JavaScript engine: {e}"))?;
        {
            let state = runtime.op_state();
            let mut state = state.borrow_mut();
            state.put(cache);
            state.put(calls);
            state.put(publisher);
        }
        for (name, source) in ssrt_js::BOOTSTRAP {
            runtime
                .execute_script(*name, *source)
                .map_err(|e| format!("ssrt bootstrap {name} failed: {e}"))?;
        }
        let entry = Entrypoints {
            load_app: function(&mut runtime, "loadApp")?,
            dispatch: function(&mut runtime, "dispatch")?,
            dispatch_http: function(&mut runtime, "dispatchHttp")?,
            attach_session: function(&mut runtime, "attachSession")?,
            detach_session: function(&mut runtime, "detachSession")?,
            describe_actions: function(&mut runtime, "describeActions")?,
        };
        Ok(Self { runtime, entry })
    }

    /// Loads the app; returns `loadApp`'s JSON summary or the error text.
    pub fn load_app(&mut self, manifest_json: &str) -> Result<String, String> {
        let load_app = self.entry.load_app.clone();
        self.call(&load_app, &[Arg::Str(manifest_json)])
            .map(Option::unwrap_or_default)
    }

    pub fn dispatch(&mut self, call_id: u32, method: &str, params: Option<&str>, session_id: &str) {
        let f = self.entry.dispatch.clone();
        let params = params.map_or(Arg::Undefined, Arg::Str);
        let args = [
            Arg::Int(call_id),
            Arg::Str(method),
            params,
            Arg::Str(session_id),
        ];
        self.call_reporting(&f, &args, call_id);
    }

    pub fn dispatch_http(
        &mut self,
        call_id: u32,
        method: &str,
        params: Option<&str>,
        session_json: &str,
        credentials: Option<(&str, &str)>,
    ) {
        let f = self.entry.dispatch_http.clone();
        let (username, password) = match credentials {
            Some((user, pass)) => (Arg::Str(user), Arg::Str(pass)),
            None => (Arg::Undefined, Arg::Undefined),
        };
        let params = params.map_or(Arg::Undefined, Arg::Str);
        let args = [
            Arg::Int(call_id),
            Arg::Str(method),
            params,
            Arg::Str(session_json),
            username,
            password,
        ];
        self.call_reporting(&f, &args, call_id);
    }

    pub fn attach_session(&mut self, session_json: &str) {
        let f = self.entry.attach_session.clone();
        if let Err(e) = self.call(&f, &[Arg::Str(session_json)]) {
            tracing::error!("attaching a session failed: {e}");
        }
    }

    pub fn detach_session(&mut self, session_id: &str) {
        let f = self.entry.detach_session.clone();
        if let Err(e) = self.call(&f, &[Arg::Str(session_id)]) {
            tracing::error!("detaching a session failed: {e}");
        }
    }

    pub fn describe_actions(&mut self) -> String {
        let f = self.entry.describe_actions.clone();
        match self.call(&f, &[]) {
            Ok(Some(json)) => json,
            Ok(None) => "{}".to_owned(),
            Err(e) => {
                tracing::error!("listing actions failed: {e}");
                "{}".to_owned()
            }
        }
    }

    /// Registers a call so its action's callback can answer it.
    pub fn open_call(&mut self, method: String, responder: Box<dyn ssrt_ops::Responder>) -> u32 {
        let state = self.runtime.op_state();
        let mut state = state.borrow_mut();
        state.borrow_mut::<CallTable>().open(method, responder)
    }

    /// Answers calls whose action never called back.
    pub fn expire_calls(&mut self) {
        let state = self.runtime.op_state();
        let expired = state
            .borrow_mut()
            .borrow_mut::<CallTable>()
            .expire(Instant::now());
        if expired > 0 {
            tracing::warn!("{expired} call(s) timed out waiting for their action's callback");
        }
    }

    /// One turn of the event loop: timers, promises, async ops.
    pub fn poll_event_loop(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), String>> {
        self.runtime
            .poll_event_loop(cx, PollEventLoopOptions::default())
            .map_err(|e| e.to_string())
    }

    /// A dispatch that throws past the bootstrap's own `try` is a bug in ssrt,
    /// but the caller must still get an answer.
    fn call_reporting(&mut self, f: &v8::Global<v8::Function>, args: &[Arg], call_id: u32) {
        if let Err(e) = self.call(f, args) {
            let state = self.runtime.op_state();
            state.borrow_mut().borrow_mut::<CallTable>().complete(
                call_id,
                Err(ssrt_ops::ActionError::new("internal_error", e)),
            );
        }
    }

    /// Calls `f(args…)`; a string result comes back as `Some`.
    fn call(
        &mut self,
        f: &v8::Global<v8::Function>,
        args: &[Arg],
    ) -> Result<Option<String>, String> {
        let runtime = &mut self.runtime;
        deno_core::scope!(scope, runtime);
        v8::tc_scope!(let scope, scope);
        let mut locals: Vec<v8::Local<v8::Value>> = Vec::with_capacity(args.len());
        for arg in args {
            let local: v8::Local<v8::Value> = match arg {
                Arg::Int(n) => v8::Integer::new_from_unsigned(scope, *n).into(),
                Arg::Str(text) => match v8::String::new(scope, text) {
                    Some(string) => string.into(),
                    None => return Err("a string too long for the engine".to_owned()),
                },
                Arg::Undefined => v8::undefined(scope).into(),
            };
            locals.push(local);
        }
        let function = v8::Local::new(scope, f);
        let receiver = v8::undefined(scope).into();
        match function.call(scope, receiver, &locals) {
            Some(value) if value.is_string() => Ok(Some(value.to_rust_string_lossy(scope))),
            Some(_) => Ok(None),
            None => match scope.exception() {
                Some(exception) => {
                    Err(deno_core::error::JsError::from_v8_exception(scope, exception).to_string())
                }
                None => Err("the engine stopped running JavaScript".to_owned()),
            },
        }
    }
}

/// Looks up `__ssrt.<name>`, which the bootstrap must have defined.
fn function(runtime: &mut JsRuntime, name: &str) -> Result<v8::Global<v8::Function>, String> {
    let value = runtime
        .execute_script("ssrt:entrypoint", format!("globalThis.__ssrt.{name}"))
        .map_err(|e| format!("ssrt bootstrap: {e}"))?;
    deno_core::scope!(scope, runtime);
    let local = v8::Local::new(scope, value);
    let function: v8::Local<v8::Function> = local
        .try_into()
        .map_err(|_| format!("ssrt bootstrap: __ssrt.{name} is not a function"))?;
    Ok(v8::Global::new(scope, function))
}
