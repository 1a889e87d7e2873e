//! Reading files for the module system and the `fs` shim: the app's files on
//! disk, and the npm packages embedded in the binary.

use crate::OpError;
use deno_core::op2;
use std::io::ErrorKind;

/// The text of a file, or `null` when there is none.
#[op2]
#[string]
pub fn op_fs_read_text(#[string] path: &str) -> Result<Option<String>, OpError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(source) => Err(OpError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// What is at a path, as `op_fs_kind` answers it (`KIND` in 01_require.js).
#[repr(u32)]
pub enum FileKind {
    Missing = 0,
    File = 1,
    Directory = 2,
}

/// What is at `path`: a [`FileKind`] as a number (fast ops take no enums).
#[op2(fast)]
pub fn op_fs_kind(#[string] path: &str) -> u32 {
    let kind = match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => FileKind::Directory,
        Ok(_) => FileKind::File,
        Err(_) => FileKind::Missing,
    };
    kind as u32
}

/// The names in a directory, sorted.
#[op2]
#[serde]
pub fn op_fs_read_dir(#[string] path: &str) -> Result<Vec<String>, OpError> {
    let entries = std::fs::read_dir(path).map_err(|source| OpError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut names: Vec<String> = entries
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

/// An embedded npm file by its path below `node_modules/`, or `null`.
#[op2]
#[string]
pub fn op_npm_file(#[string] path: &str) -> Option<String> {
    ssrt_js::npm_file(path).map(str::to_owned)
}

#[op2(fast)]
pub fn op_npm_dir_exists(#[string] path: &str) -> bool {
    ssrt_js::npm_dir_exists(path)
}
