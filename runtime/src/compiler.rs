//! The asset compilers' engine: CoffeeScript, Jade and Stylus (the npm
//! originals) on a thread and engine of their own, so that compiling never
//! waits on the app's actions, nor the app on a compile, and the compilers
//! never see the app's globals.

use crate::engine::{Arg, JsFunction, bootstrapped, call, function};
use crate::error::EngineError;
use ssrt_ops::CompileCache;
use std::future::poll_fn;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use tokio::sync::{mpsc, oneshot};

/// What a file is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Coffee,
    Jade,
    Stylus,
    Less,
    /// A config file of the later API (`config/app.coffee`): run, its
    /// `exports.config` returned as JSON.
    Config,
}

impl SourceKind {
    fn name(self) -> &'static str {
        match self {
            SourceKind::Coffee => "coffee",
            SourceKind::Jade => "jade",
            SourceKind::Stylus => "stylus",
            SourceKind::Less => "less",
            SourceKind::Config => "config",
        }
    }
}

/// A compile that failed.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The compiler rejected the source; its message names the file and,
    /// when the compiler says, the line.
    #[error("{0}")]
    Rejected(String),
    #[error("{}: {source}", file.display())]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A config file's `exports.config` is not plain data.
    #[error("{}: {source}", file.display())]
    NotJson {
        file: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// The compilers' engine could not start (shared by every compile
    /// that was waiting for it).
    #[error(transparent)]
    Engine(Arc<EngineError>),
    #[error("the compiler thread has stopped")]
    Stopped,
}

impl From<EngineError> for CompileError {
    fn from(error: EngineError) -> Self {
        Self::Engine(Arc::new(error))
    }
}

/// What `__ssrt.compile` returns: the output or the compiler's message.
#[derive(serde::Deserialize)]
struct Compiled {
    code: Option<String>,
    error: Option<String>,
}

struct Job {
    kind: SourceKind,
    source: String,
    path: PathBuf,
    options: serde_json::Value,
    reply: oneshot::Sender<Result<String, CompileError>>,
}

/// A handle to the compilers' engine. The engine starts on its own thread
/// with the first compile and runs until [`Compiler::release`] (or until the
/// last handle is dropped), so an app that never compiles never pays for it.
/// Cheap to clone.
#[derive(Clone)]
pub struct Compiler {
    shared: Arc<Shared>,
}

struct Shared {
    root: String,
    cache_dir: Option<PathBuf>,
    /// The running engine's job queue, if it is running.
    jobs: Mutex<Option<mpsc::UnboundedSender<Job>>>,
}

impl Compiler {
    /// The compilers for the app at `root`. CoffeeScript output is cached in
    /// `cache_dir` (shared with the app's engine) when given.
    pub fn new(root: &Path, cache_dir: Option<PathBuf>) -> Self {
        Self {
            shared: Arc::new(Shared {
                root: root.to_string_lossy().into_owned(),
                cache_dir,
                jobs: Mutex::new(None),
            }),
        }
    }

    /// Stops the engine once the compiles already asked for are done; the
    /// next compile starts a fresh one. Frees its memory between rare uses
    /// (production packs at start-up and when files change).
    pub fn release(&self) {
        self.jobs().take();
    }

    fn jobs(&self) -> std::sync::MutexGuard<'_, Option<mpsc::UnboundedSender<Job>>> {
        self.shared
            .jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues `job`, starting the engine first if it is not running.
    fn submit(&self, job: Job) -> Result<(), CompileError> {
        let mut jobs = self.jobs();
        let sender = match jobs.as_ref() {
            Some(sender) if !sender.is_closed() => sender,
            _ => jobs.insert(spawn_engine(
                &self.shared.root,
                self.shared.cache_dir.clone(),
            )?),
        };
        sender.send(job).map_err(|_| CompileError::Stopped)
    }

    /// Compiles `source`, the contents of the file at `path`. `options` go to
    /// the compiler: `locals` for Jade, `paths` (import folders) for Stylus.
    pub async fn compile(
        &self,
        kind: SourceKind,
        source: String,
        path: &Path,
        options: serde_json::Value,
    ) -> Result<String, CompileError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            kind,
            source,
            path: path.to_path_buf(),
            options,
            reply,
        };
        self.submit(job)?;
        answer.await.map_err(|_| CompileError::Stopped)?
    }
}

/// Runs the later API's config `files` (relative to `root`, e.g.
/// `config/app.coffee`) in a compilers' engine of their own, with this
/// process's environment as `process.env`: each file's `exports.config`.
/// Blocks; call it before any async runtime starts.
pub fn evaluate_config_files(
    root: &Path,
    files: &[PathBuf],
) -> Result<Vec<(PathBuf, serde_json::Value)>, CompileError> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let compiler = Compiler::new(root, None);
    let env: serde_json::Map<String, serde_json::Value> = std::env::vars()
        .map(|(key, value)| (key, value.into()))
        .collect();
    let options = serde_json::json!({ "env": env });
    let mut evaluated = Vec::new();
    for file in files {
        let path = root.join(file);
        let source = std::fs::read_to_string(&path).map_err(|source| CompileError::Read {
            file: file.clone(),
            source,
        })?;
        let (reply, answer) = oneshot::channel();
        compiler.submit(Job {
            kind: SourceKind::Config,
            source,
            path,
            options: options.clone(),
            reply,
        })?;
        let json = answer
            .blocking_recv()
            .map_err(|_| CompileError::Stopped)??;
        let value = serde_json::from_str(&json).map_err(|source| CompileError::NotJson {
            file: file.clone(),
            source,
        })?;
        evaluated.push((file.clone(), value));
    }
    compiler.release();
    Ok(evaluated)
}

/// Starts the engine's thread. It bootstraps, then serves jobs until its
/// queue is dropped; if it cannot bootstrap, every job gets that error.
fn spawn_engine(
    root: &str,
    cache_dir: Option<PathBuf>,
) -> Result<mpsc::UnboundedSender<Job>, CompileError> {
    let (jobs_tx, mut jobs_rx) = mpsc::unbounded_channel::<Job>();
    let root = root.to_owned();
    std::thread::Builder::new()
        .name("ssrt-compile".into())
        .spawn(move || match CompilerEngine::new(&root, cache_dir) {
            Ok(engine) => engine.serve(jobs_rx),
            Err(e) => {
                let e = Arc::new(e);
                while let Some(job) = jobs_rx.blocking_recv() {
                    let _ = job.reply.send(Err(CompileError::Engine(Arc::clone(&e))));
                }
            }
        })
        .map_err(|source| EngineError::Thread {
            what: "compiler thread",
            source,
        })?;
    Ok(jobs_tx)
}

struct CompilerEngine {
    runtime: deno_core::JsRuntime,
    compile: JsFunction,
}

impl CompilerEngine {
    fn new(root: &str, cache_dir: Option<PathBuf>) -> Result<Self, EngineError> {
        let scripts = ssrt_js::BASE.iter().chain(ssrt_js::COMPILERS);
        let mut runtime = bootstrapped(scripts, |state| state.put(CompileCache::new(cache_dir)))?;
        let init = function(&mut runtime, "initCompilers")?;
        call::<()>(&mut runtime, &init, &[Arg::Str(root)])?;
        let compile = function(&mut runtime, "compile")?;
        Ok(Self { runtime, compile })
    }

    fn serve(mut self, mut jobs: mpsc::UnboundedReceiver<Job>) {
        let Ok(tokio) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            tracing::error!("the compiler thread cannot start its event loop");
            return;
        };
        while let Some(job) = jobs.blocking_recv() {
            let result = self.compile(&job);
            let _ = job.reply.send(result);
            // Let the callbacks a compiler queued (Stylus's fs.stat) run.
            tokio.block_on(poll_fn(|cx| {
                let _ = self
                    .runtime
                    .poll_event_loop(cx, deno_core::PollEventLoopOptions::default());
                Poll::Ready(())
            }));
        }
    }

    fn compile(&mut self, job: &Job) -> Result<String, CompileError> {
        let path = job.path.to_string_lossy();
        let options = job.options.to_string();
        let args = [
            Arg::Str(job.kind.name()),
            Arg::Str(&job.source),
            Arg::Str(&path),
            Arg::Str(&options),
        ];
        let compiled: Compiled = call(&mut self.runtime, &self.compile, &args)?;
        match compiled {
            Compiled {
                code: Some(code), ..
            } => Ok(code),
            Compiled {
                error: Some(error), ..
            } => Err(CompileError::Rejected(error)),
            _ => Err(CompileError::Rejected(format!(
                "{path}: the compiler produced no output"
            ))),
        }
    }
}
