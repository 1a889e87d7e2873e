//! Serving the asset pipeline over HTTP: live-compiled assets in development,
//! the packed files with long-lived cache headers otherwise, and what a
//! watched change does (live reload, or a re-pack).

use crate::hub::Hub;
use crate::pages;
use crate::protocol;
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ssrt_assets::{AssetError, AssetKind, Assets, Change, PackReport, Watcher};
use std::path::{Path, PathBuf};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

/// Packed file names change with every pack, so browsers may keep them forever.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Development: the page and every live-compiled asset URL.
pub fn live_routes(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/", get(live_asset))
        .route("/index.html", get(live_asset))
        .route(ssrt_assets::DEV_LIB_SCRIPT, get(live_asset))
        .route(ssrt_assets::DEV_LIB_STYLESHEET, get(live_asset))
        .route(ssrt_assets::DEV_APP_STYLESHEET, get(live_asset))
        .route("/client/{*path}", get(live_asset))
        .route("/shared/{*path}", get(live_asset))
}

/// Production: `public/assets`, precompressed, cached for good; the page,
/// which names the current pack, checked with the server on every load.
pub fn packed_routes(router: Router<AppState>, public: &Path) -> Router<AppState> {
    let packed = ServeDir::new(public.join("assets"))
        .precompressed_br()
        .precompressed_gzip();
    let page = ServeFile::new(public.join("index.html"));
    router
        .merge(
            Router::new()
                .nest_service("/assets", packed)
                .layer(cache_control(IMMUTABLE)),
        )
        .merge(
            Router::new()
                .route_service("/", page.clone())
                .route_service("/index.html", page)
                .layer(cache_control("no-cache")),
        )
}

/// Whether `path` asks for the app's page: `/`, `/index.html`, and for the
/// later API any one-segment path without a dot (`/<room-id>`).
pub fn is_page_path(path: &str, later_api: bool) -> bool {
    let one_segment = path.len() > 1 && !path[1..].contains('/') && !path.contains('.');
    path == "/" || path == "/index.html" || (later_api && one_segment)
}

/// For the later API (0.1–0.2), what is answered where no route or file
/// matched: the app's page for a one-segment path without a dot
/// (`/<room-id>`, which 0.1 apps link to), a 404 for anything else.
pub async fn page_or_not_found(State(state): State<AppState>, uri: Uri) -> Response {
    if uri.path() == "/" || !is_page_path(uri.path(), true) {
        return crate::not_found(uri).await.into_response();
    }
    if !state.config.settings.pack_assets {
        return live_asset(State(state), Uri::from_static("/")).await;
    }
    let packed_page = state.assets.root().join("public/index.html");
    match tokio::fs::read_to_string(&packed_page).await {
        Ok(page) => (
            [(header::CACHE_CONTROL, "no-cache")],
            axum::response::Html(page),
        )
            .into_response(),
        Err(_) => crate::not_found(uri).await.into_response(),
    }
}

fn cache_control(value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static(value))
}

async fn live_asset(State(state): State<AppState>, uri: Uri) -> Response {
    let path = uri.path();
    let Some(kind) = Assets::kind_of(path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match state.assets.compile(path).await {
        Ok(Some(body)) => (
            [
                (header::CONTENT_TYPE, kind.content_type()),
                // Compiled from files that change while you work.
                (header::CACHE_CONTROL, "no-cache"),
            ],
            body.to_string(),
        )
            .into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, format!("No such file: {path}\n")).into_response(),
        Err(error) => {
            tracing::error!("{error}");
            compile_error_response(kind, &error)
        }
    }
}

/// A development compile error, shown where the developer is looking: the
/// browser console for scripts, the page itself for stylesheets and views.
fn compile_error_response(kind: AssetKind, error: &AssetError) -> Response {
    let message = error.to_string();
    let body = match kind {
        AssetKind::Script => pages::console_error(&message) + "\n",
        AssetKind::Stylesheet => {
            let css_text = message
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\A ");
            format!(
                "/* ssrt: cannot compile */\nhtml::before {{ content: \"{css_text}\"; \
                 display: block; white-space: pre; font: 14px monospace; color: #b00; \
                 background: #fee; padding: 1em; }}\n"
            )
        }
        AssetKind::Page => {
            pages::compile_error(&message, ssrt_assets::DEV_LIB_SCRIPT).into_string()
        }
    };
    let status = if kind == AssetKind::Page {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    (status, [(header::CONTENT_TYPE, kind.content_type())], body).into_response()
}

/// Logs what a pack wrote.
pub fn log_pack(report: &PackReport) {
    for file in &report.files {
        tracing::info!(
            "packed public/assets/{} ({} bytes, {} minified, {} gzip, {} brotli)",
            file.name,
            file.raw,
            file.minified,
            file.gzip,
            file.brotli
        );
    }
    tracing::info!("assets packed in {} ms", report.elapsed.as_millis());
}

/// Watches the app's sources. In development a change reloads every open
/// page (stylesheets are swapped in place); with packed assets it re-packs.
pub fn watch(assets: Assets, hub: Hub, packed: bool) -> Option<Watcher> {
    let runtime = tokio::runtime::Handle::current();
    let folders = assets.watched_folders();
    let on_change = move |paths: Vec<PathBuf>| {
        let Some(change) = assets.changed(&paths) else {
            return;
        };
        if change == Change::Server {
            tracing::info!("server code changed; restart ssrt to load it");
        } else if packed {
            let assets = assets.clone();
            runtime.spawn(async move {
                match assets.pack().await {
                    Ok(report) => log_pack(&report),
                    Err(e) => tracing::error!("re-packing the assets failed: {e}"),
                }
            });
        } else {
            let what = if change == Change::Styles {
                "css"
            } else {
                "page"
            };
            tracing::debug!("assets changed; reloading open pages ({what})");
            hub.broadcast(protocol::system("reload", &protocol::json_string(what)).into());
        }
    };
    match ssrt_assets::watch(&folders, on_change) {
        Ok(watcher) => Some(watcher),
        Err(e) => {
            tracing::warn!("cannot watch the app's files for changes: {e}");
            None
        }
    }
}
