//! What the engine is told to load: the project's files and config, as JSON
//! for `__ssrt.loadApp`.

use serde::Serialize;
use ssrt_project::{Config, LayoutError, Project};
use std::path::Path;

#[derive(Serialize)]
pub struct Manifest {
    root: String,
    env: String,
    /// The SocketStream API generation: `0.0.36`, `0.1` or `0.2`.
    generation: &'static str,
    config: serde_json::Value,
    #[serde(rename = "requirePaths")]
    require_paths: Vec<String>,
    server: Vec<File>,
    shared: Vec<File>,
    db: Option<String>,
    events: Option<String>,
    http: Option<String>,
}

#[derive(Serialize)]
struct File {
    path: String,
    name: String,
}

fn text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

impl Manifest {
    pub fn new(project: &Project, config: &Config) -> Result<Self, LayoutError> {
        let files = |list: Vec<ssrt_project::SourceFile>| {
            list.into_iter()
                .map(|f| File {
                    path: text(&f.path),
                    name: f.name,
                })
                .collect()
        };
        Ok(Self {
            root: text(project.root()),
            env: config.env.clone(),
            generation: config.generation.generation.as_str(),
            config: config.value.clone(),
            require_paths: project.require_paths().iter().map(|p| text(p)).collect(),
            server: files(project.server_files()?),
            shared: files(project.shared_files()?),
            db: project.db_config_file().as_deref().map(text),
            events: project.events_config_file().as_deref().map(text),
            http: project.http_config_file().as_deref().map(text),
        })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a manifest is plain JSON")
    }
}
