//! What every request handler shares.

use crate::hub::Hub;
use crate::shutdown::Shutdown;
use crate::socket::Limits;
use ssrt_project::Config;
use ssrt_runtime::AppHandle;
use ssrt_store::Sessions;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub app: AppHandle,
    pub sessions: Sessions,
    pub hub: Hub,
    pub config: Arc<Config>,
    /// `config.client` as JSON, sent to every new connection.
    pub client_config: Arc<str>,
    /// The public actions by file, for the API index and routing
    /// (`{"users/online": {"actions": [...], "authenticate": bool}}`).
    pub actions: Arc<serde_json::Value>,
    /// For apps of the later API (0.1–0.2): the same as JSON, sent to every
    /// new connection so that the browser can make its `SS.server` stubs.
    pub api_tree: Option<Arc<str>>,
    pub assets: ssrt_assets::Assets,
    /// What one WebSocket connection may cost.
    pub limits: Arc<Limits>,
    pub shutdown: Shutdown,
    /// Tokens that trade for a session's new cookie.
    pub tokens: crate::session_cookie::Tokens,
}
