//! The JavaScript that ships inside the ssrt binary.
//!
//! * [`BASE`]: what every ssrt engine runs first: shared internals and the
//!   CommonJS module system for the app's files.
//! * [`APP`]: what an app's engine adds: Node's platform, `$SS` with action
//!   dispatch, the `R` Redis client, and what `ssrt console` evaluates through.
//! * [`COMPILERS`]: what the asset compiler's engine adds: CoffeeScript, Jade
//!   and Stylus behind one `compile` function.
//! * [`BROWSER_CLIENT`]: the browser client library (`$SS`, `remote`), sent to
//!   every page.
//! * [`npm_file`]: files of the npm packages pinned in `package-lock.json`
//!   (the compilers, Node built-in polyfills), which the module system reads
//!   as if they sat in a `node_modules` folder.

/// What every engine runs first: shared internals and error reporting, and
/// `require` for the app's own files; as `(name, source)` in running order.
pub const BASE: &[(&str, &str)] = &[
    (
        "ssrt:runtime/00_base.js",
        include_str!("../runtime/00_base.js"),
    ),
    (
        "ssrt:runtime/01_require.js",
        include_str!("../runtime/01_require.js"),
    ),
];

/// An app engine's bootstrap, run after [`BASE`] in a Deno worker, one
/// concern per file: Node's platform with the 2011 APIs on top, `$SS`,
/// sessions, action dispatch, loading the app, the `R` Redis client, what
/// `ssrt console` evaluates through, and the app's HTTP middleware.
pub const APP: &[(&str, &str)] = &[
    (
        "ssrt:runtime/02_node.js",
        include_str!("../runtime/02_node.js"),
    ),
    ("ssrt:runtime/03_ss.js", include_str!("../runtime/03_ss.js")),
    (
        "ssrt:runtime/04_sessions.js",
        include_str!("../runtime/04_sessions.js"),
    ),
    (
        "ssrt:runtime/05_dispatch.js",
        include_str!("../runtime/05_dispatch.js"),
    ),
    (
        "ssrt:runtime/06_load.js",
        include_str!("../runtime/06_load.js"),
    ),
    (
        "ssrt:runtime/07_redis.js",
        include_str!("../runtime/07_redis.js"),
    ),
    (
        "ssrt:runtime/08_console.js",
        include_str!("../runtime/08_console.js"),
    ),
    (
        "ssrt:runtime/09_http.js",
        include_str!("../runtime/09_http.js"),
    ),
];

/// The compiler engine's bootstrap, run after [`BASE`] in a plain engine:
/// the few built-ins the compilers need, then CoffeeScript, Jade and Stylus
/// behind one `compile` function.
pub const COMPILERS: &[(&str, &str)] = &[
    (
        "ssrt:compilers/00_shims.js",
        include_str!("../compilers/00_shims.js"),
    ),
    (
        "ssrt:compilers/compilers.js",
        include_str!("../compilers/compilers.js"),
    ),
];

/// The browser client library, plain browser JavaScript.
pub const BROWSER_CLIENT: &str = include_str!("../client/ssrt-client.js");

/// The npm lock file the embedded packages were installed from; compile caches
/// key on it so that a new compiler version never serves stale output.
pub const PACKAGE_LOCK: &str = include_str!("../package-lock.json");

static NPM_FILES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/npm_files.rs"));

/// The source of an embedded npm file, by its path below `node_modules/`
/// (`"util/util.js"`).
pub fn npm_file(path: &str) -> Option<&'static str> {
    NPM_FILES
        .binary_search_by(|(name, _)| (*name).cmp(path))
        .ok()
        .map(|index| NPM_FILES[index].1)
}

/// Whether an embedded directory exists below `node_modules/` (`"util"`).
pub fn npm_dir_exists(path: &str) -> bool {
    let prefix = format!("{}/", path.trim_end_matches('/'));
    let start = NPM_FILES.partition_point(|(name, _)| *name < prefix.as_str());
    NPM_FILES
        .get(start)
        .is_some_and(|(name, _)| name.starts_with(&prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pinned_packages_are_embedded() {
        assert!(npm_file("coffee-script/package.json").is_some());
        assert!(npm_file("coffee-script/lib/coffee-script/lexer.js").is_some());
        assert!(npm_file("util/util.js").is_some());
        assert!(npm_file("no/such/file.js").is_none());
        assert!(npm_dir_exists("events"));
        assert!(!npm_dir_exists("even"));
    }
}
