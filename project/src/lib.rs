//! A SocketStream project as it sits on disk: which files make up the app
//! ([`layout`]) and how it is configured ([`config`]). Nothing here runs code.

pub mod config;
pub mod layout;

pub use config::{Config, ConfigError, Settings, SslSettings, StoreSetting, WebSocketSettings};
pub use layout::{LayoutError, Project, SourceFile};
