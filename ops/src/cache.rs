//! The compile cache: compiler output on disk, keyed by a hash of the
//! compiler's lock file, the kind of compile and the source. A warm cache
//! means the CoffeeScript compiler is never even loaded at start-up.

use deno_core::{OpState, op2};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where compiled output is kept; `None` disables caching.
pub struct CompileCache {
    dir: Option<PathBuf>,
    salt: blake3::Hash,
}

impl CompileCache {
    pub fn new(dir: Option<PathBuf>) -> Self {
        Self {
            dir,
            salt: blake3::hash(ssrt_js::PACKAGE_LOCK.as_bytes()),
        }
    }

    fn path_for(&self, kind: &str, source: &str) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        let mut hasher = blake3::Hasher::new();
        hasher.update(self.salt.as_bytes());
        hasher.update(kind.as_bytes());
        hasher.update(&[0]);
        hasher.update(source.as_bytes());
        Some(dir.join(format!("{}.{kind}.js", hasher.finalize().to_hex())))
    }

    pub fn get(&self, kind: &str, source: &str) -> Option<String> {
        std::fs::read_to_string(self.path_for(kind, source)?).ok()
    }

    /// Stores output; a cache that cannot be written only costs speed.
    pub fn put(&self, kind: &str, source: &str, output: &str) {
        let Some(path) = self.path_for(kind, source) else {
            return;
        };
        if let Err(e) = write_atomically(&path, output) {
            tracing::debug!("compile cache: cannot write {}: {e}", path.display());
        }
    }
}

/// Writes through a temporary file in the same folder, renamed into place,
/// so a reader never sees half an entry. Its name is unique: the app's engine
/// and the compilers' engine may store the same shared file at once.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(text.as_bytes())?;
    file.persist(path).map(drop).map_err(|e| e.error)
}

#[op2]
#[string]
pub fn op_compile_cache_get(
    state: &mut OpState,
    #[string] kind: &str,
    #[string] source: &str,
) -> Option<String> {
    state.try_borrow::<CompileCache>()?.get(kind, source)
}

#[op2(fast)]
pub fn op_compile_cache_put(
    state: &mut OpState,
    #[string] kind: &str,
    #[string] source: &str,
    #[string] output: &str,
) {
    if let Some(cache) = state.try_borrow::<CompileCache>() {
        cache.put(kind, source, output);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_keyed_by_kind_and_source() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CompileCache::new(Some(dir.path().to_path_buf()));
        assert_eq!(cache.get("coffee", "a = 1"), None);
        cache.put("coffee", "a = 1", "var a = 1;");
        assert_eq!(cache.get("coffee", "a = 1").as_deref(), Some("var a = 1;"));
        assert_eq!(cache.get("coffee", "a = 2"), None);
        assert_eq!(cache.get("jade", "a = 1"), None);
    }

    #[test]
    fn no_directory_means_no_caching() {
        let cache = CompileCache::new(None);
        cache.put("coffee", "a", "b");
        assert_eq!(cache.get("coffee", "a"), None);
    }
}
