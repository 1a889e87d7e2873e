//! The app's browser-side sources and how each one compiles: the page
//! (`app/views/app.jade`), templates, client and shared code, stylesheets and
//! the `lib/` bundles.

use crate::AssetError;
use serde_json::json;
use ssrt_project::{Generation, Project};
use ssrt_runtime::{Compiler, SourceKind};
use std::path::{Path, PathBuf};

pub(crate) struct Sources {
    project: Project,
    compiler: Compiler,
    generation: Generation,
}

/// A piece of browser code: where it lives and the URL development serves it at.
pub(crate) struct CodeFile {
    pub path: PathBuf,
    pub url: String,
    /// For the later API: the object its `exports.` stand for, such as
    /// `SS.client["users"]["online"]`.
    pub namespace: Option<String>,
}

impl Sources {
    pub fn new(project: Project, compiler: Compiler, generation: Generation) -> Self {
        Self {
            project,
            compiler,
            generation,
        }
    }

    pub fn project(&self) -> &Project {
        &self.project
    }

    pub fn compiler(&self) -> &Compiler {
        &self.compiler
    }

    /// A path as users know it: relative to the app.
    pub fn shown(&self, path: &Path) -> String {
        path.strip_prefix(self.project.root())
            .unwrap_or(path)
            .to_string_lossy()
            .into_owned()
    }

    /// `app/views/app.jade` rendered, `!= SocketStream` standing for `tags`.
    pub async fn page(&self, tags: &str) -> Result<String, AssetError> {
        let path = self.project.root().join("app/views/app.jade");
        if !path.is_file() {
            return Err(AssetError::NoPage);
        }
        let source = read(&path)?;
        let locals = json!({ "locals": { "SocketStream": tags } });
        Ok(self
            .compiler
            .compile(SourceKind::Jade, source, &path, locals)
            .await?)
    }

    /// `app/views/<name>.jade` rendered, or `<name>.html` as it is; `None`
    /// when neither exists. A page of its own, without the app's client.
    pub async fn view(&self, name: &str) -> Result<Option<String>, AssetError> {
        let views = self.project.root().join("app/views");
        let html = views.join(format!("{name}.html"));
        if html.is_file() {
            return Ok(Some(read(&html)?));
        }
        let path = views.join(format!("{name}.jade"));
        if !path.is_file() {
            return Ok(None);
        }
        let source = read(&path)?;
        Ok(Some(
            self.compiler
                .compile(SourceKind::Jade, source, &path, json!({}))
                .await?,
        ))
    }

    /// Every jQuery template as `<script id="dir-name" type="text/html">`:
    /// Jade rendered, and for the later API `.html` as it is. 0.2 marks
    /// them `text/x-jquery-tmpl`.
    pub async fn templates(&self) -> Result<String, AssetError> {
        let kind = match self.generation {
            Generation::V02 => "text/x-jquery-tmpl",
            Generation::V0036 | Generation::V01 => "text/html",
        };
        let mut html = String::new();
        for (id, path) in self.project.templates()? {
            let source = read(&path)?;
            let rendered = if path.extension().is_some_and(|ext| ext == "html") {
                if !self.generation.is_later() {
                    continue; // 0.0.36 templates are Jade only
                }
                source
            } else {
                self.compiler
                    .compile(SourceKind::Jade, source, &path, json!({}))
                    .await?
            };
            html.push_str(&format!(
                "<script id=\"{id}\" type=\"{kind}\">{rendered}</script>"
            ));
        }
        Ok(html)
    }

    /// Shared code, then client code (`app` first): the app's own scripts in
    /// the order the page loads them.
    pub fn code_files(&self) -> Result<Vec<CodeFile>, AssetError> {
        let shared = self
            .project
            .shared_files()?
            .into_iter()
            .map(|f| ("shared", f));
        let client = self
            .project
            .client_files()?
            .into_iter()
            .map(|f| ("client", f));
        Ok(shared
            .chain(client)
            .map(|(folder, file)| {
                let name = file.path.file_name().unwrap_or_default().to_string_lossy();
                let dir = file.name.rsplit_once('/').map(|(dir, _)| format!("{dir}/"));
                let namespace = self.generation.is_later().then(|| {
                    let keys: String = file
                        .name
                        .split('/')
                        .map(|key| format!("[{key:?}]"))
                        .collect();
                    format!("SS.{folder}{keys}")
                });
                CodeFile {
                    url: format!("/{folder}/{}{name}", dir.unwrap_or_default()),
                    path: file.path.clone(),
                    namespace,
                }
            })
            .collect())
    }

    /// The compiled code served at a `/client/…` or `/shared/…` URL.
    pub async fn code_at(&self, url: &str) -> Result<Option<String>, AssetError> {
        let Some(file) = self.code_files()?.into_iter().find(|file| file.url == url) else {
            return Ok(None);
        };
        self.app_code(&file).await.map(Some)
    }

    /// One client or shared file as the page runs it: compiled, and for the
    /// later API namespaced.
    async fn app_code(&self, file: &CodeFile) -> Result<String, AssetError> {
        let code = self.code(&file.path).await?;
        Ok(match &file.namespace {
            Some(namespace) => namespaced(&code, namespace),
            None => code,
        })
    }

    /// One code file as browser JavaScript.
    pub async fn code(&self, path: &Path) -> Result<String, AssetError> {
        let source = read(path)?;
        if path.extension().is_some_and(|ext| ext == "coffee") {
            Ok(self
                .compiler
                .compile(SourceKind::Coffee, source, path, json!({}))
                .await?)
        } else {
            Ok(source)
        }
    }

    /// The app's stylesheet: `app/css/app.styl` (Stylus), else `app.less`
    /// (Less, SocketStream 0.2.3+), else `app.css` as it is; `@import`
    /// looks in `app/css`. An app without one has an empty stylesheet.
    pub async fn stylesheet(&self) -> Result<String, AssetError> {
        let folder = self.project.root().join("app/css");
        let found = [
            ("styl", Some(SourceKind::Stylus)),
            ("less", Some(SourceKind::Less)),
            ("css", None),
        ]
        .into_iter()
        .map(|(ext, kind)| (folder.join(format!("app.{ext}")), kind))
        .find(|(path, _)| path.is_file());
        let Some((path, kind)) = found else {
            return Ok(String::new());
        };
        let source = read(&path)?;
        let Some(kind) = kind else {
            return Ok(source);
        };
        let options = json!({ "paths": [folder] });
        Ok(self.compiler.compile(kind, source, &path, options).await?)
    }

    /// The ssrt client, then `lib/client` in file-name order: `.coffee`
    /// compiled, a `;` after each file; files named `.min` are not minified.
    pub async fn library_script(&self) -> Result<Vec<Piece>, AssetError> {
        let mut pieces = vec![Piece {
            name: "ssrt-client.js".into(),
            code: format!(
                "window.SSRT_API_GENERATION = \"{}\";\n{}",
                self.generation,
                ssrt_js::BROWSER_CLIENT
            ),
            minify: true,
            end: ";\n",
        }];
        for path in self.project.library_files("lib/client")? {
            let code = match path.extension().and_then(|ext| ext.to_str()) {
                Some("js") => read(&path)?,
                Some("coffee") => self.code(&path).await?,
                _ => continue,
            };
            pieces.push(self.library_piece(&path, code, ";\n"));
        }
        Ok(pieces)
    }

    /// `lib/css` in file-name order; files named `.min` are not minified.
    pub fn library_stylesheet(&self) -> Result<Vec<Piece>, AssetError> {
        let mut pieces = Vec::new();
        for path in self.project.library_files("lib/css")? {
            if path.extension().is_some_and(|ext| ext == "css") {
                let css = read(&path)?;
                pieces.push(self.library_piece(&path, css, "\n"));
            }
        }
        Ok(pieces)
    }

    /// Shared then client code, compiled, in page order; `.js` files get a `;`.
    pub async fn app_script(&self) -> Result<Vec<Piece>, AssetError> {
        let mut pieces = Vec::new();
        for file in self.code_files()? {
            let plain_js = file.path.extension().is_some_and(|ext| ext == "js");
            pieces.push(Piece {
                name: self.shown(&file.path),
                code: self.app_code(&file).await?,
                minify: true,
                end: if plain_js { ";\n" } else { "\n" },
            });
        }
        Ok(pieces)
    }

    fn library_piece(&self, path: &Path, code: String, end: &'static str) -> Piece {
        Piece {
            minify: !is_minified(path),
            name: self.shown(path),
            code,
            end,
        }
    }
}

/// The later API's client and shared files (SPEC-0.2-compat §3): each
/// `exports.` becomes the file's namespace (`exports.init` in
/// `app/client/app` is `SS.client["app"].init`), whose objects are created
/// first. `module.exports.` and `x.exports.` are left alone.
fn namespaced(code: &str, namespace: &str) -> String {
    let mut out = String::with_capacity(code.len() + 2 * namespace.len());
    // `SS.client["a"]["b"]`: create `SS.client["a"]`, then the whole.
    let mut end = 0;
    while let Some(open) = namespace[end..].find('[') {
        let close = end + open + namespace[end + open..].find(']').unwrap_or(0) + 1;
        let path = &namespace[..close];
        out.push_str(&format!("{path} = {path} || {{}};\n"));
        end = close;
    }
    let mut rest = code;
    while let Some(at) = rest.find("exports.") {
        let before = rest[..at].chars().next_back();
        out.push_str(&rest[..at]);
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == '.') {
            out.push_str("exports.");
        } else {
            out.push_str(namespace);
            out.push('.');
        }
        rest = &rest[at + "exports.".len()..];
    }
    out.push_str(rest);
    out
}

/// A library its authors shipped minified (`jquery.min.js`), which packing
/// leaves as it is; `jquery.minimap.js` is not one.
fn is_minified(path: &Path) -> bool {
    path.file_stem()
        .is_some_and(|stem| stem.to_string_lossy().ends_with(".min"))
}

/// One file of a bundle, compiled: what it is called (for errors), whether
/// packing minifies it, and what follows it in the bundle.
pub(crate) struct Piece {
    pub name: String,
    pub code: String,
    pub minify: bool,
    pub end: &'static str,
}

/// A bundle as it is, unminified.
pub(crate) fn joined(pieces: &[Piece]) -> String {
    let mut bundle = String::new();
    for piece in pieces {
        bundle.push_str(&piece.code);
        bundle.push_str(piece.end);
    }
    bundle
}

pub(crate) fn read(path: &Path) -> Result<String, AssetError> {
    std::fs::read_to_string(path).map_err(|source| AssetError::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::{is_minified, namespaced};
    use std::path::Path;

    #[test]
    fn later_api_files_export_into_their_namespace() {
        let code = "exports.init = function () { module.exports.x = 1; a.exports.y = 2; };\nexports.n = 3;";
        assert_eq!(
            namespaced(code, r#"SS.client["users"]["online"]"#),
            "SS.client[\"users\"] = SS.client[\"users\"] || {};\n\
             SS.client[\"users\"][\"online\"] = SS.client[\"users\"][\"online\"] || {};\n\
             SS.client[\"users\"][\"online\"].init = function () { module.exports.x = 1; a.exports.y = 2; };\n\
             SS.client[\"users\"][\"online\"].n = 3;"
        );
    }

    #[test]
    fn only_min_files_count_as_minified() {
        assert!(is_minified(Path::new("lib/client/jquery.min.js")));
        assert!(is_minified(Path::new("lib/css/reset.min.css")));
        assert!(!is_minified(Path::new("lib/client/jquery.minimap.js")));
        assert!(!is_minified(Path::new("lib/client/min.js")));
        assert!(!is_minified(Path::new("lib/client/app.js")));
    }
}
