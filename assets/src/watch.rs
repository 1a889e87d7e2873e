//! Watching the app's sources (`app/`, `lib/client`, `lib/css`) with
//! `notify`, and what a change means: a stylesheet swap, a page reload, or
//! nothing until restart (server code).

use notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a burst of file events (an editor's save) is gathered for.
const DEBOUNCE: Duration = Duration::from_millis(100);

/// What changed, strongest first when a batch of events mixes kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// Client or shared code, a view, or `lib/client`: pages reload.
    Scripts,
    /// `app/css` or `lib/css`: stylesheets are swapped in place.
    Styles,
    /// `app/server` or other files outside the assets: a restart loads them.
    Server,
}

/// Keeps the watch running; dropping it stops it.
pub struct Watcher {
    _debouncer: Debouncer<notify::RecommendedWatcher, RecommendedCache>,
}

/// Watches `folders` recursively and calls `on_change`, on the debouncer's
/// thread, with each debounced batch of changed paths. Only writes count
/// (reads are events too, and the compilers read the sources); hidden and
/// private files are left out.
pub fn watch(
    folders: &[PathBuf],
    mut on_change: impl FnMut(Vec<PathBuf>) + Send + 'static,
) -> Result<Watcher, notify::Error> {
    let mut debouncer =
        new_debouncer(
            DEBOUNCE,
            None,
            move |result: DebounceEventResult| match result {
                Ok(events) => {
                    let mut batch: Vec<PathBuf> = events
                        .into_iter()
                        .filter(|debounced| is_write(&debounced.event.kind))
                        .flat_map(|debounced| debounced.event.paths)
                        .filter(|path| !is_hidden(path))
                        .collect();
                    batch.sort();
                    batch.dedup();
                    if !batch.is_empty() {
                        on_change(batch);
                    }
                }
                Err(errors) => {
                    for e in errors {
                        tracing::warn!("watching for changes failed: {e}");
                    }
                }
            },
        )?;
    for folder in folders {
        debouncer.watch(folder, RecursiveMode::Recursive)?;
    }
    Ok(Watcher {
        _debouncer: debouncer,
    })
}

fn is_write(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
    )
}

/// The asset folders of the app at `root` that exist.
pub(crate) fn folders(root: &Path) -> Vec<PathBuf> {
    ["app", "lib/client", "lib/css"]
        .into_iter()
        .map(|folder| root.join(folder))
        .filter(|dir| dir.is_dir())
        .collect()
}

/// The strongest change among `paths`, if any is in a watched folder.
pub(crate) fn classify(root: &Path, paths: &[PathBuf]) -> Option<Change> {
    paths
        .iter()
        .filter_map(|path| {
            let relative = path.strip_prefix(root).ok()?;
            let is_in = |folder: &str| relative.starts_with(folder);
            Some(if is_in("app/css") || is_in("lib/css") {
                Change::Styles
            } else if ["app/client", "app/shared", "app/views", "lib/client"]
                .iter()
                .any(|folder| is_in(folder))
            {
                Change::Scripts
            } else {
                Change::Server
            })
        })
        .min()
}

/// Editors' swap and backup files. (Files starting with `_` count: a Stylus
/// partial such as `_vars.styl` is still imported.)
fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.starts_with('.') || name.ends_with('~'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_counts_as_its_strongest_change() {
        let root = Path::new("/app-root");
        let at = |p: &str| root.join(p);
        assert_eq!(
            classify(root, &[at("app/css/app.styl")]),
            Some(Change::Styles)
        );
        assert_eq!(
            classify(
                root,
                &[at("lib/css/reset.css"), at("app/server/app.coffee")]
            ),
            Some(Change::Styles)
        );
        assert_eq!(
            classify(root, &[at("app/css/a.styl"), at("lib/client/1.jquery.js")]),
            Some(Change::Scripts)
        );
        assert_eq!(
            classify(root, &[at("app/server/app.coffee")]),
            Some(Change::Server)
        );
        assert_eq!(classify(root, &[PathBuf::from("/elsewhere/x")]), None);
    }

    #[test]
    fn editor_droppings_are_hidden() {
        assert!(is_hidden(Path::new("/a/.app.coffee.swp")));
        assert!(is_hidden(Path::new("/a/app.coffee~")));
        assert!(!is_hidden(Path::new("/a/app.coffee")));
        assert!(!is_hidden(Path::new("/a/_vars.styl")));
    }
}
