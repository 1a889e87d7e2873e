//! A SocketStream project as it sits on disk: which files make up the app
//! ([`layout`]), how it is configured ([`config`]) and which SocketStream API
//! it was written against ([`generation`]). Nothing here runs code.

pub mod config;
pub mod generation;
pub mod layout;

pub use config::{Config, ConfigError, Settings, SslSettings, StoreSetting, WebSocketSettings};
pub use generation::{Detected, Generation};
pub use layout::{LayoutError, Project, SourceFile};
