//! Finding a project's files: the folders of SPEC section 1 and the rules for
//! which files count (`.coffee`/`.js`, nothing starting with `_` or `.`).

use std::fs;
use std::path::{Path, PathBuf};

/// Errors that stop start-up because the project itself is malformed.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error(
        "Unable to start SocketStream here. Not a valid project directory: {0} (a project has app/ and public/)"
    )]
    NotAProject(PathBuf),
    #[error("{dir}/{name} conflicts with a file of the same name ({dir}/{file})")]
    NameConflict {
        dir: String,
        name: String,
        file: String,
    },
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A SocketStream project rooted at a directory that has `app/` and `public/`.
#[derive(Debug, Clone)]
pub struct Project {
    root: PathBuf,
}

/// One server or shared source file, with the dotted name it is reachable by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Absolute path on disk.
    pub path: PathBuf,
    /// Path below its folder without extension, `/`-separated: `users/online`.
    pub name: String,
}

/// File extensions that hold code, in order of preference.
pub const CODE_EXTENSIONS: [&str; 2] = ["coffee", "js"];

impl Project {
    /// Opens the project at `dir`, checking that it is one.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, LayoutError> {
        let dir = dir.as_ref();
        let root = dir.canonicalize().map_err(|source| LayoutError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        if !root.join("app").is_dir() || !root.join("public").is_dir() {
            return Err(LayoutError::NotAProject(root));
        }
        Ok(Self { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `app/server/**`: the files whose `exports.actions` clients call.
    pub fn server_files(&self) -> Result<Vec<SourceFile>, LayoutError> {
        self.code_files("app/server")
    }

    /// `app/shared/**`: code loaded on both sides.
    pub fn shared_files(&self) -> Result<Vec<SourceFile>, LayoutError> {
        self.code_files("app/shared")
    }

    /// `app/client/**`: browser code, `app` (the required `app.coffee`) first.
    pub fn client_files(&self) -> Result<Vec<SourceFile>, LayoutError> {
        let mut files = self.code_files("app/client")?;
        files.sort_by_key(|file| file.name != "app");
        Ok(files)
    }

    /// The files directly in `folder` (`lib/client`, `lib/css`), in name
    /// order, which is the order they are loaded in.
    pub fn library_files(&self, folder: &str) -> Result<Vec<PathBuf>, LayoutError> {
        let dir = self.root.join(folder);
        if !dir.is_dir() {
            return Ok(Vec::new());
        }
        let entries =
            visible_entries(&dir).map_err(|source| LayoutError::Io { path: dir, source })?;
        Ok(entries.into_iter().filter(|path| path.is_file()).collect())
    }

    /// The jQuery templates: `app/views/<dir>/**/<name>.jade` (and `.html`,
    /// which the later API reads) with their element ids (`<dir>-<name>`).
    /// `app/views/app.jade` itself is the page.
    pub fn templates(&self) -> Result<Vec<(String, PathBuf)>, LayoutError> {
        let views = self.root.join("app/views");
        let mut templates = Vec::new();
        if views.is_dir() {
            collect_templates(&views, "", &mut templates)?;
        }
        Ok(templates)
    }

    /// `.ssrt/`: what ssrt keeps for the project (compile cache, console
    /// history, a self-signed certificate); safe to delete.
    pub fn ssrt_dir(&self) -> PathBuf {
        self.root.join(".ssrt")
    }

    /// `config/db.coffee` or `config/db.js`, run once after config is loaded.
    pub fn db_config_file(&self) -> Option<PathBuf> {
        self.config_code("db")
    }

    /// `config/events.coffee` or `.js` (0.2): binds `SS.events` handlers
    /// before the app's files load.
    pub fn events_config_file(&self) -> Option<PathBuf> {
        self.config_code("events")
    }

    /// `config/http.coffee` or `.js` (0.1 `exports.call`, 0.2
    /// `exports.primary`/`secondary`): the app's own HTTP middleware.
    pub fn http_config_file(&self) -> Option<PathBuf> {
        self.config_code("http")
    }

    fn config_code(&self, name: &str) -> Option<PathBuf> {
        CODE_EXTENSIONS
            .iter()
            .map(|ext| self.root.join("config").join(format!("{name}.{ext}")))
            .find(|path| path.is_file())
    }

    /// Folders searched for bare `require('name')`, in order: `lib/server`,
    /// `app/shared`, then every `vendor/<name>/lib`.
    pub fn require_paths(&self) -> Vec<PathBuf> {
        let mut paths = vec![self.root.join("lib/server"), self.root.join("app/shared")];
        if let Ok(entries) = visible_entries(&self.root.join("vendor")) {
            paths.extend(
                entries
                    .into_iter()
                    .map(|vendor| vendor.join("lib"))
                    .filter(|lib| lib.is_dir()),
            );
        }
        paths
    }

    /// Every code file below `folder` (relative to the root), depth first,
    /// in name order, refusing a file and a folder of the same name.
    fn code_files(&self, folder: &str) -> Result<Vec<SourceFile>, LayoutError> {
        let mut files = Vec::new();
        let base = self.root.join(folder);
        if base.is_dir() {
            collect_code_files(&base, "", folder, &mut files)?;
        }
        Ok(files)
    }
}

fn collect_code_files(
    dir: &Path,
    prefix: &str,
    shown_dir: &str,
    out: &mut Vec<SourceFile>,
) -> Result<(), LayoutError> {
    let entries = visible_entries(dir).map_err(|source| LayoutError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut stems = Vec::new();
    let mut subdirs = Vec::new();
    for path in entries {
        let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if path.is_dir() {
            subdirs.push((file_name.to_owned(), path));
        } else if let Some((stem, ext)) = file_name.rsplit_once('.')
            && CODE_EXTENSIONS.contains(&ext)
        {
            stems.push((stem.to_owned(), file_name.to_owned(), path));
        }
    }
    for (stem, file_name, path) in &stems {
        if let Some((dir_name, _)) = subdirs.iter().find(|(name, _)| name == stem) {
            return Err(LayoutError::NameConflict {
                dir: shown_dir.to_owned(),
                name: dir_name.clone(),
                file: file_name.clone(),
            });
        }
        out.push(SourceFile {
            path: path.clone(),
            name: format!("{prefix}{stem}"),
        });
    }
    for (name, path) in subdirs {
        collect_code_files(
            &path,
            &format!("{prefix}{name}/"),
            &format!("{shown_dir}/{name}"),
            out,
        )?;
    }
    Ok(())
}

fn collect_templates(
    dir: &Path,
    prefix: &str,
    out: &mut Vec<(String, PathBuf)>,
) -> Result<(), LayoutError> {
    let entries = visible_entries(dir).map_err(|source| LayoutError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for path in entries {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if path.is_dir() {
            collect_templates(&path, &format!("{prefix}{name}-"), out)?;
        } else if let Some(stem) = name
            .strip_suffix(".jade")
            .or_else(|| name.strip_suffix(".html"))
            && !prefix.is_empty()
        {
            out.push((format!("{prefix}{stem}"), path));
        }
    }
    Ok(())
}

/// The entries of `dir` that are not hidden (`.x`) or private (`_x`), sorted by name.
fn visible_entries(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| !n.starts_with('.') && !n.starts_with('_'))
        })
        .collect();
    paths.sort();
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project_with(files: &[&str]) -> (tempfile::TempDir, Project) {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("public")).unwrap();
        fs::create_dir_all(dir.path().join("app")).unwrap();
        for file in files {
            let path = dir.path().join(file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, "").unwrap();
        }
        let project = Project::open(dir.path()).unwrap();
        (dir, project)
    }

    #[test]
    fn a_folder_without_app_and_public_is_not_a_project() {
        let dir = tempfile::tempdir().unwrap();
        let err = Project::open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("Not a valid project directory"));
    }

    #[test]
    fn server_files_are_named_by_their_path_and_hidden_files_are_skipped() {
        let (_dir, project) = project_with(&[
            "app/server/app.coffee",
            "app/server/users/online.js",
            "app/server/_draft.coffee",
            "app/server/.swp.js",
            "app/server/notes.txt",
        ]);
        let names: Vec<String> = project
            .server_files()
            .unwrap()
            .into_iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(names, ["app", "users/online"]);
    }

    #[test]
    fn a_file_and_folder_of_the_same_name_conflict() {
        let (_dir, project) =
            project_with(&["app/server/users.coffee", "app/server/users/online.coffee"]);
        let err = project.server_files().unwrap_err();
        assert!(
            err.to_string()
                .contains("conflicts with a file of the same name"),
            "{err}"
        );
    }

    #[test]
    fn client_files_start_with_app() {
        let (_dir, project) = project_with(&[
            "app/client/about.coffee",
            "app/client/app.coffee",
            "app/client/zebra/stripes.js",
        ]);
        let names: Vec<String> = project
            .client_files()
            .unwrap()
            .into_iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(names, ["app", "about", "zebra/stripes"]);
    }

    #[test]
    fn library_files_load_in_name_order_without_private_files() {
        let (dir, project) = project_with(&[
            "lib/client/2.ui.js",
            "lib/client/1.jquery.min.js",
            "lib/client/_old.js",
        ]);
        let root = dir.path().canonicalize().unwrap();
        assert_eq!(
            project.library_files("lib/client").unwrap(),
            [
                root.join("lib/client/1.jquery.min.js"),
                root.join("lib/client/2.ui.js")
            ]
        );
        assert!(project.library_files("lib/css").unwrap().is_empty());
    }

    #[test]
    fn templates_are_named_by_folder_and_file_and_the_page_is_not_one() {
        let (_dir, project) = project_with(&[
            "app/views/app.jade",
            "app/views/people/info.jade",
            "app/views/people/cards/small.jade",
            "app/views/people/row.html",
            "app/views/notes.txt",
        ]);
        let ids: Vec<String> = project
            .templates()
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(ids, ["people-cards-small", "people-info", "people-row"]);
    }

    #[test]
    fn vendor_libs_are_on_the_require_path_after_lib_server() {
        let (dir, project) = project_with(&["vendor/b/lib/b.js", "vendor/a/lib/a.js"]);
        let root = dir.path().canonicalize().unwrap();
        assert_eq!(
            project.require_paths(),
            [
                root.join("lib/server"),
                root.join("app/shared"),
                root.join("vendor/a/lib"),
                root.join("vendor/b/lib"),
            ]
        );
    }
}
