//! The network side of ssrt (axum + tokio): the WebSocket protocol on `/ws`,
//! the HTTP API, the page and its assets, static files from `public/`, and
//! event fan-out. The app's JavaScript runs on the engine thread of
//! `ssrt-runtime`; this crate only talks to it through an
//! [`ssrt_runtime::AppHandle`].

mod api;
mod assets;
mod browser_check;
mod call_log;
mod hub;
mod middleware;
mod outbox;
mod pages;
pub mod protocol;
mod pubsub;
mod session_cookie;
mod shutdown;
mod socket;
mod state;
mod tls;

use axum::Router;
use axum::handler::HandlerWithoutStateExt;
use axum::http::{StatusCode, Uri};
use axum::routing::{get, post};
use hub::Hub;
use shutdown::Shutdown;
use ssrt_assets::Assets;
use ssrt_project::{Config, Project, StoreSetting};
use ssrt_runtime::{AppHandle, AppOptions, Compiler, Completed, Delivery, LoadSummary, StartError};
use ssrt_store::{Keys, RedisAt, Sessions, Store, StoreChoice, StoreError};
use state::AppState;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_http::services::ServeDir;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the app's engine stopped during start-up")]
    EngineStopped,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("packing the assets failed: {0}")]
    Pack(#[from] ssrt_assets::AssetError),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("the engine's list of actions is unreadable: {0}")]
    ActionIndex(#[source] serde_json::Error),
}

/// What start-up found, for the banner.
pub struct StartInfo {
    pub load: LoadSummary,
    /// What was packed at start-up, when assets are packed.
    pub pack: Option<ssrt_assets::PackReport>,
    pub store: String,
    pub address: SocketAddr,
    /// Where the HTTPS certificate comes from, when `ssl.enabled`.
    pub tls: Option<String>,
}

/// A loaded app with a bound listener, ready to serve.
pub struct Server {
    router: Router,
    listener: TcpListener,
    /// Whether requests need the client's address (the app has middleware).
    client_addresses: bool,
    /// Watches the app's files while the server runs.
    watcher: Option<ssrt_assets::Watcher>,
    tls: Option<axum_server::tls_rustls::RustlsConfig>,
    shutdown: Shutdown,
    pub info: StartInfo,
}

impl Server {
    /// Loads the app into its engine and binds the configured address.
    pub async fn start(project: Project, config: Config) -> Result<Self, ServerError> {
        let hub = Hub::new();
        let store = open_store(&config).await?;
        let prefix = config.settings.redis.key_prefix.clone();
        let later_api = config.generation.generation.is_later();
        pubsub::spawn_subscriber(&store, Keys::new(&prefix), hub.clone(), later_api).await?;
        let tokens = session_cookie::Tokens::default();
        let engines = config.settings.engines.count();
        let options = app_options(&project, &config, &store, &hub, &tokens, engines);
        let sessions = options.sessions.clone();
        let cache_dir = options.cache_dir.clone();
        let config = Arc::new(config);
        let app = tokio::task::spawn_blocking(move || ssrt_runtime::start(options));
        // Assets compile on their own engine while the app loads on its.
        let (assets, pack) = prepare_assets(&project, cache_dir, &config).await?;
        let (app, load) = app.await.map_err(|_| ServerError::EngineStopped)??;
        let actions = app
            .describe_actions()
            .await
            .map_err(|_| ServerError::EngineStopped)?;
        let settings = &config.settings;
        let address = format!("{}:{}", settings.hostname, settings.port);
        let listener = TcpListener::bind(&address)
            .await
            .map_err(|source| ServerError::Bind {
                address: address.clone(),
                source,
            })?;
        let local = listener
            .local_addr()
            .map_err(|source| ServerError::Bind { address, source })?;
        let state = AppState::new(state::Shared {
            app,
            sessions,
            hub,
            client_config: config.client().to_string().into(),
            actions: Arc::new(serde_json::from_str(&actions).map_err(ServerError::ActionIndex)?),
            api_tree: (config.generation.generation.is_later())
                .then(|| Arc::from(actions.as_str())),
            middleware: middleware_stages(&project, &load),
            config: config.clone(),
            assets: assets.clone(),
            limits: Arc::new(socket::Limits::new(&settings.websocket)),
            shutdown: Shutdown::new(seconds(settings.shutdown_timeout)),
            tokens,
        });
        let tls = if config.settings.ssl.enabled {
            Some(tls::load(&project, &config.settings.ssl)?)
        } else {
            None
        };
        let watcher = assets::watch(assets, state.hub.clone(), pack.is_some());
        let client_addresses = state.middleware.is_some();
        let shutdown = state.shutdown.clone();
        Ok(Self {
            shutdown,
            client_addresses,
            router: router(state, &project),
            listener,
            watcher,
            info: StartInfo {
                load,
                pack,
                store: store.describe(),
                address: local,
                tls: tls.as_ref().map(|tls| tls.description.clone()),
            },
            tls: tls.map(|tls| tls.config),
        })
    }

    /// Serves, HTTP or HTTPS when `ssl.enabled`, until `signal` completes;
    /// then shuts down gracefully (see `shutdown.rs`) within
    /// `shutdown_timeout`.
    pub async fn serve(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let _watching = self.watcher;
        let shutdown = self.shutdown;
        let stopping = {
            let shutdown = shutdown.clone();
            async move {
                signal.await;
                tracing::info!(
                    "shutting down: calls in flight get {:.1} s to finish",
                    shutdown.grace.as_secs_f64()
                );
                shutdown.begin();
            }
        };
        // Past this, what is still open is cut: the operator asked us to stop.
        let deadline = async {
            shutdown.grace_over().await;
            tokio::time::sleep(CLOSING_HANDSHAKE).await;
        };
        let drained = async {
            serve_http(
                self.listener,
                self.router,
                self.client_addresses,
                self.tls,
                stopping,
                shutdown.grace,
            )
            .await?;
            shutdown.connections_closed().await;
            std::io::Result::Ok(())
        };
        tokio::select! {
            result = drained => result,
            () = deadline => {
                tracing::warn!("connections still open at the shutdown deadline were closed");
                Ok(())
            }
        }
    }
}

/// Time a connection gets for its closing handshake after the grace period.
const CLOSING_HANDSHAKE: Duration = Duration::from_secs(1);

/// Accepts connections until `stopping` completes, then waits for HTTP
/// requests in flight (WebSocket connections are tracked by `Shutdown`).
/// `client_addresses`: requests carry the client's address (`ConnectInfo`),
/// which only the app's own middleware reads; other apps skip its cost.
async fn serve_http(
    listener: TcpListener,
    router: Router,
    client_addresses: bool,
    tls: Option<axum_server::tls_rustls::RustlsConfig>,
    stopping: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let Some(tls) = tls else {
        if client_addresses {
            let service = router.into_make_service_with_connect_info::<SocketAddr>();
            return axum::serve(listener, service)
                .with_graceful_shutdown(stopping)
                .await;
        }
        return axum::serve(listener, router)
            .with_graceful_shutdown(stopping)
            .await;
    };
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        stopping.await;
        stopper.graceful_shutdown(Some(grace));
    });
    let server = axum_server::from_tcp_rustls(listener.into_std()?, tls)?.handle(handle);
    if client_addresses {
        server
            .serve(router.into_make_service_with_connect_info::<SocketAddr>())
            .await
    } else {
        server.serve(router.into_make_service()).await
    }
}

/// The app's HTTP middleware, when `config/http` gives it any.
fn middleware_stages(project: &Project, load: &LoadSummary) -> Option<Arc<middleware::Stages>> {
    let counts = load.http_middleware;
    let file = project.http_config_file()?;
    let shown = file.strip_prefix(project.root()).unwrap_or(&file);
    (counts.primary > 0 || counts.secondary > 0).then(|| {
        Arc::new(middleware::Stages {
            primary: counts.primary > 0,
            secondary: counts.secondary > 0,
            file: Arc::from(shown.to_string_lossy().as_ref()),
        })
    })
}

/// A duration from a config value in seconds. Config checks keep these
/// positive and at most 1e9 s (31 years, which timers can still add to now).
fn seconds(value: f64) -> Duration {
    const LONGEST: Duration = Duration::from_secs(1_000_000_000);
    Duration::try_from_secs_f64(value)
        .map_or(LONGEST, |d| d.clamp(Duration::from_millis(1), LONGEST))
}

/// The app in one engine (whatever `engines` says: the console has one global
/// scope), with its store and publisher, but no listener:
/// what `ssrt console` runs. `$SS.publish` from it reaches running servers
/// that share its Redis. Returns the app and a description of the store.
pub async fn load_app(
    project: Project,
    config: Config,
) -> Result<(AppHandle, LoadSummary, String), ServerError> {
    let store = open_store(&config).await?;
    let options = app_options(
        &project,
        &config,
        &store,
        &Hub::new(),
        &session_cookie::Tokens::default(),
        1,
    );
    let (app, load) = tokio::task::spawn_blocking(move || ssrt_runtime::start(options))
        .await
        .map_err(|_| ServerError::EngineStopped)??;
    Ok((app, load, store.describe()))
}

async fn open_store(config: &Config) -> Result<Store, ServerError> {
    let redis = &config.settings.redis;
    let at = match redis.sentinel() {
        Some((sentinels, master_name)) => RedisAt::Sentinel {
            sentinels: sentinels.to_vec(),
            master_name: master_name.to_owned(),
        },
        None => RedisAt::Server {
            host: redis.host.clone(),
            port: redis.port,
        },
    };
    Ok(Store::open_at(store_choice(config), &at).await?)
}

/// What the engine thread needs: the app, its store, where events and
/// session_listener go.
fn app_options(
    project: &Project,
    config: &Config,
    store: &Store,
    hub: &Hub,
    tokens: &session_cookie::Tokens,
    engines: usize,
) -> AppOptions {
    let prefix = &config.settings.redis.key_prefix;
    AppOptions {
        engines,
        cache_dir: Some(project.ssrt_dir().join("cache")),
        project: project.clone(),
        config: config.clone(),
        publisher: Box::new(pubsub::StorePublisher::spawn(
            store.clone(),
            Keys::new(prefix),
            hub.clone(),
        )),
        delivery: Box::new(ReplyPump::spawn()),
        store: store.clone(),
        session_listener: Box::new(session_cookie::SessionFollower {
            hub: hub.clone(),
            tokens: tokens.clone(),
        }),
        sessions: Sessions::new(
            store.clone(),
            prefix,
            seconds(config.settings.session_idle_timeout),
        ),
    }
}

/// The app's assets (their compilers start on demand), packed now when
/// assets are packed.
async fn prepare_assets(
    project: &Project,
    cache_dir: Option<std::path::PathBuf>,
    config: &Config,
) -> Result<(Assets, Option<ssrt_assets::PackReport>), ServerError> {
    let compiler = Compiler::new(project.root(), cache_dir);
    let assets = Assets::new(project.clone(), compiler, config.generation.generation);
    if !config.settings.pack_assets {
        return Ok((assets, None));
    }
    tracing::info!("packing assets into public/assets");
    let report = assets.pack().await?;
    assets::log_pack(&report);
    Ok((assets, Some(report)))
}

/// Redis when the app asks for it (its config sets `redis`, or `store` says
/// so) and in production; otherwise Redis if it answers, else embedded.
fn store_choice(config: &Config) -> StoreChoice {
    match config.settings.store {
        StoreSetting::Redis => StoreChoice::Redis,
        StoreSetting::Embedded => StoreChoice::Embedded,
        StoreSetting::Auto => StoreChoice::Auto {
            require_redis: config.redis_in_files || config.env == "production",
        },
    }
}

/// Delivers answered calls from a task on this runtime: the engine thread
/// wakes it once per turn, and its sends to connections stay on the runtime.
struct ReplyPump(tokio::sync::mpsc::UnboundedSender<Vec<Completed>>);

impl ReplyPump {
    fn spawn() -> Self {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Vec<Completed>>();
        tokio::spawn(async move {
            while let Some(batch) = rx.recv().await {
                batch.into_iter().for_each(Completed::deliver);
            }
        });
        Self(tx)
    }
}

impl Delivery for ReplyPump {
    fn deliver(&self, batch: Vec<Completed>) {
        if let Err(unsent) = self.0.send(batch) {
            // The server is shutting down; answer in place rather than drop.
            unsent.0.into_iter().for_each(Completed::deliver);
        }
    }
}

fn router(state: AppState, project: &Project) -> Router {
    let mut router = Router::new().route("/ws", get(socket::upgrade)).route(
        session_cookie::EXCHANGE_PATH,
        post(session_cookie::exchange),
    );
    let api = &state.config.settings.api;
    if api.enabled {
        let prefix = api.prefix.trim_matches('/');
        router = router
            .route(&format!("/{prefix}"), get(api::index))
            .route(&format!("/{prefix}/{{*path}}"), get(api::call));
    }
    let public = project.root().join("public");
    router = if state.config.settings.pack_assets {
        assets::packed_routes(router, &public)
    } else {
        assets::live_routes(router)
    };
    let files = ServeDir::new(&public);
    let router = if state.api_tree.is_some() {
        let missing = axum::handler::Handler::with_state(assets::page_or_not_found, state.clone());
        router.fallback_service(files.fallback(missing))
    } else {
        router.fallback_service(files.not_found_service(not_found.into_service()))
    };
    let router = if state.config.settings.browser_check.enabled {
        router.layer(axum::middleware::from_fn_with_state(
            state.clone(),
            browser_check::layer,
        ))
    } else {
        router
    };
    let router = if state.middleware.is_some() {
        router.layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::layer,
        ))
    } else {
        router
    };
    router.with_state(state)
}

/// A 404 that tells a newcomer what this server does serve.
pub(crate) async fn not_found(uri: Uri) -> (StatusCode, maud::Markup) {
    (StatusCode::NOT_FOUND, pages::not_found(uri.path()))
}
