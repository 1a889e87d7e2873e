//! What every request handler shares.

use crate::hub::Hub;
use crate::shutdown::Shutdown;
use crate::socket::Limits;
use ssrt_project::Config;
use ssrt_runtime::AppHandle;
use ssrt_store::Sessions;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What every request handler shares, behind one `Arc`: every WebSocket
/// connection's task holds a copy for its whole life, and idle connections
/// are counted in bytes.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub app: AppHandle,
    pub sessions: Sessions,
    pub hub: Hub,
    pub config: Arc<Config>,
    /// `config.client` as JSON, sent to every new connection.
    pub client_config: Arc<str>,
    /// The public actions by file, for the API index and routing.
    pub actions: Arc<ActionIndex>,
    /// For apps of the later API (0.1–0.2): the same as JSON, sent to every
    /// new connection so that the browser can make its `SS.server` stubs.
    pub api_tree: Option<Arc<str>>,
    /// The app's own HTTP middleware (`config/http`), when it has any.
    pub middleware: Option<Arc<crate::middleware::Stages>>,
    pub assets: ssrt_assets::Assets,
    /// What one WebSocket connection may cost.
    pub limits: Arc<Limits>,
    pub shutdown: Shutdown,
    /// Tokens that trade for a session's new cookie.
    pub tokens: crate::session_cookie::Tokens,
}

/// The app's public actions by server file (`users/online`), as the engine
/// describes them.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct ActionIndex(pub BTreeMap<String, FileActions>);

#[derive(Debug, serde::Deserialize)]
pub struct FileActions {
    /// Action paths below the file (`yesterday`, `nested.action`).
    pub actions: Vec<String>,
    /// `exports.authenticate = true`: the HTTP API asks for credentials.
    pub authenticate: bool,
}
