//! The asset pipeline (SPEC 8): the page, client code and stylesheets,
//! compiled live per request in development, packed and minified into
//! `public/assets` in production, and watched for changes in both.
//!
//! The compilers themselves (CoffeeScript, Jade, Stylus) run in their own
//! JavaScript engine, reached through [`ssrt_runtime::Compiler`].

pub mod minify;
mod pack;
mod page;
mod sources;
mod watch;

pub use pack::{PackReport, PackedFile};
pub use watch::{Change, Watcher, watch};

use sources::Sources;
use ssrt_project::{Generation, LayoutError, Project};
use ssrt_runtime::{CompileError, Compiler};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

/// Where the development bundle of `lib/client` (with the ssrt client) is served.
pub const DEV_LIB_SCRIPT: &str = "/_ssrt/lib.js";
/// Where the development bundle of `lib/css` is served.
pub const DEV_LIB_STYLESHEET: &str = "/_ssrt/lib.css";
/// Where the app's stylesheet (`app/css/app.styl`, `.less` or `.css`) is
/// served, compiled, in development; the URL SocketStream used.
pub const DEV_APP_STYLESHEET: &str = "/css/app.styl";

#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    #[error(transparent)]
    Compile(#[from] CompileError),
    #[error(transparent)]
    Minify(#[from] minify::MinifyError),
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error("app/views/app.jade is missing, so there is no page to serve")]
    NoPage,
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What an asset is, which decides its content type (and how a development
/// compile error is shown in the browser).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssetKind {
    Page,
    Script,
    Stylesheet,
}

impl AssetKind {
    pub fn content_type(self) -> &'static str {
        match self {
            AssetKind::Page => "text/html; charset=utf-8",
            AssetKind::Script => "application/javascript; charset=utf-8",
            AssetKind::Stylesheet => "text/css; charset=utf-8",
        }
    }
}

/// The app's assets. Cheap to clone.
#[derive(Clone)]
pub struct Assets {
    sources: Arc<Sources>,
    /// Development: compiled assets by URL path until a watched file changes.
    compiled: Arc<Mutex<HashMap<String, Arc<str>>>>,
    /// Development: the last compile error of each stylesheet URL.
    stylesheet_errors: Arc<Mutex<HashMap<String, String>>>,
    /// One pack at a time: each removes the files of the packs before it.
    packing: Arc<tokio::sync::Mutex<()>>,
}

impl Assets {
    /// The assets of `project`, served as its SocketStream API `generation`
    /// expects (0.1 and later namespace client code under `SS.client`).
    pub fn new(project: Project, compiler: Compiler, generation: Generation) -> Self {
        Self {
            sources: Arc::new(Sources::new(project, compiler, generation)),
            compiled: Arc::default(),
            stylesheet_errors: Arc::default(),
            packing: Arc::default(),
        }
    }

    /// The app's folder.
    pub fn root(&self) -> &std::path::Path {
        self.sources.project().root()
    }

    /// Development: what is served at `url_path`, if it is an asset URL:
    /// `/` (the page), [`DEV_LIB_SCRIPT`], [`DEV_LIB_STYLESHEET`],
    /// `/client/…`, `/shared/…` and `/css/app.styl`.
    pub fn kind_of(url_path: &str) -> Option<AssetKind> {
        match url_path {
            "/" | "/index.html" => Some(AssetKind::Page),
            DEV_LIB_SCRIPT => Some(AssetKind::Script),
            DEV_LIB_STYLESHEET | DEV_APP_STYLESHEET => Some(AssetKind::Stylesheet),
            _ if url_path.starts_with("/client/") || url_path.starts_with("/shared/") => {
                Some(AssetKind::Script)
            }
            _ => None,
        }
    }

    /// Development: compiles the asset at `url_path` (see [`Assets::kind_of`]),
    /// or answers from the cache. `Ok(None)` when there is no such file.
    pub async fn compile(&self, url_path: &str) -> Result<Option<Arc<str>>, AssetError> {
        let url_path = if url_path == "/index.html" {
            "/"
        } else {
            url_path
        };
        if let Some(hit) = lock(&self.compiled).get(url_path) {
            return Ok(Some(hit.clone()));
        }
        let compiled = self.compile_afresh(url_path).await;
        if Self::kind_of(url_path) == Some(AssetKind::Stylesheet) {
            let mut errors = lock(&self.stylesheet_errors);
            match &compiled {
                Err(error) => errors.insert(url_path.to_owned(), error.to_string()),
                Ok(_) => errors.remove(url_path),
            };
        }
        let Some(compiled) = compiled? else {
            return Ok(None);
        };
        let compiled: Arc<str> = compiled.into();
        lock(&self.compiled).insert(url_path.to_owned(), compiled.clone());
        Ok(Some(compiled))
    }

    async fn compile_afresh(&self, url_path: &str) -> Result<Option<String>, AssetError> {
        let sources = &self.sources;
        Ok(match url_path {
            "/" => Some(sources.page(&page::live_tags(sources).await?).await?),
            DEV_LIB_SCRIPT => Some(sources::joined(&sources.library_script().await?)),
            DEV_LIB_STYLESHEET => Some(sources::joined(&sources.library_stylesheet()?)),
            DEV_APP_STYLESHEET => Some(sources.stylesheet().await?),
            _ => sources.code_at(url_path).await?,
        })
    }

    /// A view other than the page (`browser_check`'s), rendered afresh;
    /// `None` when the app has no such view.
    pub async fn view(&self, name: &str) -> Result<Option<String>, AssetError> {
        self.sources.view(name).await
    }

    /// Development: the stylesheets that last failed to compile, with their
    /// errors. A stylesheet cannot write to the browser console, so the
    /// server tells each page that connects.
    pub fn stylesheet_errors(&self) -> Vec<String> {
        lock(&self.stylesheet_errors).values().cloned().collect()
    }

    /// Production: packs everything into `public/assets` and writes
    /// `public/index.html`, removing what an earlier pack left.
    /// Packs are rare, so the compilers' engine is released after each.
    pub async fn pack(&self) -> Result<PackReport, AssetError> {
        let _one_at_a_time = self.packing.lock().await;
        let packed = pack::pack(&self.sources).await;
        self.sources.compiler().release();
        packed
    }

    /// What a change to `paths` means for the assets; forgets compiled
    /// assets it affects.
    pub fn changed(&self, paths: &[PathBuf]) -> Option<Change> {
        let change = watch::classify(self.sources.project().root(), paths)?;
        if change != Change::Server {
            lock(&self.compiled).clear();
        }
        Some(change)
    }

    /// The folders [`watch`] should watch.
    pub fn watched_folders(&self) -> Vec<PathBuf> {
        watch::folders(self.sources.project().root())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
