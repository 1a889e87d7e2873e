//! `ssrt`: the command line. Everything it runs lives in the workspace crates;
//! this file only parses arguments, sets up logging and prints the banner.

mod console;

use anyhow::Context;
use clap::{Parser, Subcommand};
use ssrt_project::{Config, Project};
use ssrt_runtime::MiddlewareCounts;
use ssrt_server::{Server, StartInfo};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tracing_subscriber::EnvFilter;

/// Many small allocations per call (frames, JSON, engine values): mimalloc
/// is markedly faster at those than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ABOUT: &str = "Runs SocketStream 0.0.36 realtime apps, unchanged, as one Rust binary.";

#[derive(Parser)]
#[command(name = "ssrt", version, about = ABOUT, disable_help_subcommand = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the app in this folder (or --dir): the page and assets, WebSocket, HTTP API
    #[command(visible_alias = "s", after_help = START_HELP)]
    Start {
        /// The project folder (holding app/ and public/)
        #[arg(long, short = 'd', default_value = ".")]
        dir: PathBuf,
        /// Listen on this port instead of the configured one
        #[arg(long, short = 'p')]
        port: Option<u16>,
    },
    /// A JavaScript REPL with the app loaded: $SS, R, the app's globals
    #[command(visible_alias = "c", after_help = CONSOLE_HELP)]
    Console {
        /// The project folder (holding app/ and public/)
        #[arg(long, short = 'd', default_value = ".")]
        dir: PathBuf,
        /// With piped input: how long the app must print nothing after the
        /// input ends before the console exits (waiting for callbacks)
        #[arg(long, default_value_t = 300, value_name = "MS")]
        wait: u64,
    },
    /// Create a new project with a working starter app
    #[command(visible_alias = "n", after_help = NEW_HELP)]
    New {
        /// The project's name, which is also its folder's
        name: String,
    },
    /// Print the version
    #[command(visible_alias = "v")]
    Version,
    /// Print this help, or the help of a command
    #[command(visible_alias = "h")]
    Help {
        /// The command to explain
        command: Option<String>,
    },
}

const START_HELP: &str = "\
The environment comes from SS_ENV (default: development). Configuration is read from
config/app.json, then config/environments/<SS_ENV>.json, over the built-in defaults.

In development assets compile on request and open pages reload when files change; in
every other environment they are packed into public/assets at start-up.

Examples:
  ssrt start                      serve the app in this folder on its configured port
  SS_ENV=production ssrt start    production settings: packed assets, no request logs
  ssrt start --port 4000          override the port";

const CONSOLE_HELP: &str = "\
Interactive on a terminal: history (.ssrt/console_history), multi-line entries, Tab
completion of names, .coffee to type CoffeeScript. With piped input it runs each entry
and prints results, then exits (non-zero if an entry threw).

Examples:
  ssrt console
  echo '$SS.server.app.square(25, console.log)' | ssrt console      prints 625";

const NEW_HELP: &str = "\
Writes app/{client,css,server,shared,views}, lib/{client,css,server}, public/{assets,images},
config/ and vendor/, with a starter page that calls app.init on the server, a Stylus
stylesheet, a Jade view and jQuery. Refuses a folder that already exists.

Example:
  ssrt new chat && cd chat && ssrt start";

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Start { dir, port } => start(dir, port),
        Command::New { name } => new_project(&name),
        Command::Console { dir, wait } => console(dir, Duration::from_millis(wait)),
        Command::Version => {
            println!("ssrt {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Help { command } => help(command.as_deref()),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ssrt: error: {}", describe(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// An error with its causes, each said once (many messages already quote
/// their cause).
fn describe(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

fn help(command: Option<&str>) -> anyhow::Result<()> {
    let mut args = vec!["ssrt"];
    args.extend(command);
    args.push("--help");
    // clap prints the help and exits, or reports an unknown command.
    Cli::parse_from(args);
    Ok(())
}

fn new_project(name: &str) -> anyhow::Result<()> {
    ssrt_generator::create(Path::new("."), name)?;
    println!(
        "Created {name}/, a new SocketStream app. Next:\n\n  cd {name}\n  ssrt start        \
         then open http://localhost:3000\n\nEdit app/client/app.coffee or app/css/app.styl and \
         the page reloads by itself."
    );
    Ok(())
}

fn console(dir: PathBuf, quiet_wait: Duration) -> anyhow::Result<()> {
    let (project, env, config) = open_project(&dir)?;
    // The REPL's output is the point; the server's request log is not.
    init_logging(
        config.settings.log.level.min(1),
        config.settings.enable_color,
    );
    // The log above stops at errors; config warnings still matter here.
    if config.settings.log.level >= 2 {
        for warning in &config.warnings {
            eprintln!("warning: {warning}");
        }
    }
    let runtime = async_runtime()?;
    let history = project.ssrt_dir().join("console_history");
    let (app, load, store) = runtime.block_on(ssrt_server::load_app(project, config))?;
    if std::io::stdin().is_terminal() {
        println!(
            "ssrt {} console · {env} · {} server files, {} shared · store: {store}",
            env!("CARGO_PKG_VERSION"),
            load.server_files,
            load.shared_files
        );
    }
    // The REPL blocks this thread; the runtime's workers keep the store and
    // publisher going meanwhile.
    let ok = console::run(app, &history, quiet_wait, runtime.handle())?;
    if ok {
        Ok(())
    } else {
        Err(anyhow::anyhow!("an entry threw (see above)"))
    }
}

/// The project in `dir`, its environment (`SS_ENV`) and its config: the JSON
/// files, and the later API's `config/app.coffee` and the like, which are
/// run first.
fn open_project(dir: &Path) -> anyhow::Result<(Project, String, Config)> {
    let project = Project::open(dir)?;
    let env = std::env::var("SS_ENV").unwrap_or_else(|_| "development".to_owned());
    let code = ssrt_project::config::code_files(project.root(), &env);
    let evaluated = ssrt_runtime::evaluate_config_files(project.root(), &code)?;
    let config = Config::load_with(project.root(), &env, &evaluated)?;
    Ok((project, env, config))
}

fn async_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn start(dir: PathBuf, port: Option<u16>) -> anyhow::Result<()> {
    let (project, env, mut config) = open_project(&dir)?;
    if let Some(port) = port {
        config.set_port(port);
    }
    init_logging(config.settings.log.level, config.settings.enable_color);
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let runtime = async_runtime()?;
    runtime.block_on(async {
        let server = Server::start(project, config.clone()).await?;
        release_start_up_memory();
        print_banner(&server.info, &env, &config.generation);
        server.serve(first_signal_then_watch()).await?;
        tracing::info!("stopped");
        Ok(())
    })
}

/// Packing assets at start-up (on this thread) briefly takes tens of MiB,
/// which mimalloc would otherwise keep for this thread: hand it back.
fn release_start_up_memory() {
    // SAFETY: mi_collect only walks mimalloc's own heaps; any thread may call it.
    unsafe { libmimalloc_sys::mi_collect(true) };
}

/// SPEC 9 log levels: 0 nothing, 1 errors, 2 warnings, 3 calls, 4 everything.
/// `RUST_LOG` overrides them.
fn init_logging(level: u8, color: bool) {
    let directive = match level {
        0 => "off",
        1 => "error",
        2 => "warn",
        3 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "{directive},hyper=warn,tower_http=warn,deno_core=warn"
        ))
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(color)
        .with_target(false)
        .init();
}

fn print_banner(info: &StartInfo, env: &str, generation: &ssrt_project::Detected) {
    let load = &info.load;
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let host = if info.address.ip().is_unspecified() {
        "localhost".to_owned()
    } else {
        info.address.ip().to_string()
    };
    println!(
        "ssrt {version} · SocketStream apps in Rust\n\
         \x20 environment  {env}\n\
         \x20 api          SocketStream {generation} ({evidence})\n\
         \x20 pid          {pid}\n\
         \x20 store        {store}\n\
         \x20 loaded       {server} server file{sp}, {shared} shared file{hp} in {ms} ms\n\
         \x20 engines      {engines}\n\
         {middleware}\
         \x20 assets       {assets}\n\
         {tls}\
         \x20 listening    {scheme}://{host}:{port}  (WebSocket /ws)",
        version = env!("CARGO_PKG_VERSION"),
        pid = std::process::id(),
        generation = generation.generation,
        evidence = generation.evidence,
        store = info.store,
        server = load.server_files,
        sp = plural(load.server_files),
        shared = load.shared_files,
        hp = plural(load.shared_files),
        ms = load.load_time.as_millis(),
        engines = match load.engines {
            1 => "1 JavaScript engine".to_owned(),
            n => format!("{n} JavaScript engines, one thread each (module state is per engine)"),
        },
        middleware = match load.http_middleware {
            MiddlewareCounts {
                primary: 0,
                secondary: 0,
            } => String::new(),
            MiddlewareCounts { primary, secondary } => format!(
                "  http         config/http: {primary} middleware before ssrt's routes, {secondary} after\n"
            ),
        },
        port = info.address.port(),
        scheme = if info.tls.is_some() { "https" } else { "http" },
        tls = match &info.tls {
            Some(source) => format!("  tls          {source}\n"),
            None => String::new(),
        },
        assets = match &info.pack {
            Some(pack) => format!(
                "packed into public/assets in {} ms ({} KiB gzipped)",
                pack.elapsed.as_millis(),
                pack.files
                    .iter()
                    .map(|file| file.gzip)
                    .sum::<usize>()
                    .div_ceil(1024)
            ),
            None => "compiled live; open pages reload when files change".to_owned(),
        },
    );
}

/// Completes at the first Ctrl-C or SIGTERM, which starts a graceful
/// shutdown; a second one exits at once, as an operator in a hurry expects.
async fn first_signal_then_watch() {
    shutdown_signal().await;
    tokio::spawn(async {
        shutdown_signal().await;
        eprintln!("second signal: exiting without waiting for calls in flight");
        std::process::exit(130);
    });
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
