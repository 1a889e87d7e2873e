//! `ssrt new <name>`: the SocketStream 0.0.36 skeleton (SPEC 9) with a
//! starter app whose page calls `app.init` on the server and shows the reply.
//! The templates live in `template/`; jQuery comes from the npm package
//! embedded in the binary (never committed here).

use std::path::{Path, PathBuf};

/// Folders every project gets, even when the starter app puts nothing in them.
const FOLDERS: &[&str] = &[
    "app/client",
    "app/css",
    "app/server",
    "app/shared",
    "app/views",
    "lib/client",
    "lib/css",
    "lib/server",
    "public/assets",
    "public/images",
    "config/environments",
    "vendor",
];

/// The starter app's files: `(path in the project, contents)`. `APP_NAME` is
/// replaced by the project's name.
const FILES: &[(&str, &str)] = &[
    ("README.md", include_str!("../template/README.md")),
    (".gitignore", include_str!("../template/gitignore")),
    (
        "app/client/app.coffee",
        include_str!("../template/app/client/app.coffee"),
    ),
    (
        "app/server/app.coffee",
        include_str!("../template/app/server/app.coffee"),
    ),
    (
        "app/css/app.styl",
        include_str!("../template/app/css/app.styl"),
    ),
    (
        "app/css/helpers.styl",
        include_str!("../template/app/css/helpers.styl"),
    ),
    (
        "app/views/app.jade",
        include_str!("../template/app/views/app.jade"),
    ),
    (
        "app/views/greetings/hello.jade",
        include_str!("../template/app/views/greetings/hello.jade"),
    ),
    (
        "config/app.json",
        include_str!("../template/config/app.json"),
    ),
    (
        "config/db.coffee",
        include_str!("../template/config/db.coffee"),
    ),
    (
        "lib/css/reset.css",
        include_str!("../template/lib/css/reset.css"),
    ),
    (
        "public/images/logo.svg",
        include_str!("../template/public/images/logo.svg"),
    ),
    (
        "public/robots.txt",
        include_str!("../template/public/robots.txt"),
    ),
];

/// jQuery, from the pinned npm package, as the first browser library.
const JQUERY: (&str, &str) = ("lib/client/1.jquery.min.js", "jquery/dist/jquery.min.js");

#[derive(Debug, thiserror::Error)]
pub enum NewError {
    #[error(
        "'{0}' is not a usable project name: use letters, digits, '-', '_' and '.', starting with a letter or digit"
    )]
    BadName(String),
    #[error("{} already exists; choose another name or remove it first", .0.display())]
    Exists(PathBuf),
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("this ssrt was built without jQuery ({0} is not embedded)")]
    MissingPackage(&'static str),
}

/// Creates the project `name` inside `parent`; returns its folder.
pub fn create(parent: &Path, name: &str) -> Result<PathBuf, NewError> {
    validate_name(name)?;
    let root = parent.join(name);
    if root.exists() {
        return Err(NewError::Exists(root));
    }
    let jquery = ssrt_js::npm_file(JQUERY.1).ok_or(NewError::MissingPackage(JQUERY.1))?;
    for folder in FOLDERS {
        let dir = root.join(folder);
        std::fs::create_dir_all(&dir).map_err(|source| NewError::Io { path: dir, source })?;
    }
    for (path, contents) in FILES {
        write(&root.join(path), &contents.replace("APP_NAME", name))?;
    }
    write(&root.join(JQUERY.0), jquery)?;
    Ok(root)
}

/// A name that is one plain folder name on every system.
pub fn validate_name(name: &str) -> Result<(), NewError> {
    let mut chars = name.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if starts_well && rest_ok && name.len() <= 100 {
        Ok(())
    } else {
        Err(NewError::BadName(name.to_owned()))
    }
}

fn write(path: &Path, contents: &str) -> Result<(), NewError> {
    let io = |source| NewError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::write(path, contents).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_plain_folder_names() {
        for good in ["chat", "my-app", "app_2", "v1.2"] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
        for bad in [
            "", ".", "..", "-x", ".hidden", "a/b", "../up", "sp ace", "ünï",
        ] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_skeleton_has_every_folder_and_the_starter_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = create(dir.path(), "chat").unwrap();
        for folder in FOLDERS {
            assert!(root.join(folder).is_dir(), "{folder}");
        }
        let page = std::fs::read_to_string(root.join("app/views/app.jade")).unwrap();
        assert!(page.contains("title chat"), "{page}");
        let jquery = std::fs::read_to_string(root.join("lib/client/1.jquery.min.js")).unwrap();
        assert!(jquery.starts_with("/*! jQuery v3.7.1"), "{}", &jquery[..40]);
    }

    #[test]
    fn an_existing_folder_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("taken")).unwrap();
        std::fs::write(dir.path().join("taken/keep.txt"), "mine").unwrap();
        let error = create(dir.path(), "taken").unwrap_err();
        assert!(error.to_string().contains("already exists"), "{error}");
        let kept = std::fs::read_dir(dir.path().join("taken")).unwrap().count();
        assert_eq!(kept, 1);
    }
}
