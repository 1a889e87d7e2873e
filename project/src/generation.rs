//! Which SocketStream API an app was written against: 0.0.36 (SPEC.md), or
//! the later 0.1 or 0.2 (SPEC-0.2-compat). Their rules conflict in places
//! (what `exports.authenticate` gates, call arity, `channel.list`), so ssrt
//! applies the rules of the app's own generation. The config key
//! `socketstream_api` says it outright; otherwise the files tell, as
//! SPEC-0.2-compat §6 lists: `config/events.*` or a Connect `exports.primary`
//! in `config/http.*` mean 0.2, an `exports.call` there means 0.1, and
//! server or client code using the `SS` global (0.0.37+) rather than `$SS`
//! means at least 0.1.

use serde::Deserialize;
use std::fmt;
use std::path::Path;

/// A SocketStream API generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub enum Generation {
    #[serde(rename = "0.0.36")]
    V0036,
    #[serde(rename = "0.1")]
    V01,
    #[serde(rename = "0.2")]
    V02,
}

impl Generation {
    /// Whether this is the later API (0.1 or 0.2), with its `SS` global.
    pub fn is_later(self) -> bool {
        self != Self::V0036
    }

    /// As config and the banner write it: `0.0.36`, `0.1`, `0.2`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V0036 => "0.0.36",
            Self::V01 => "0.1",
            Self::V02 => "0.2",
        }
    }
}

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An app's generation and what told it, for the banner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    pub generation: Generation,
    /// E.g. `config/events.coffee`, or `socketstream_api in the config`.
    pub evidence: String,
}

/// The generation of the app in `root`; `explicit` is the config's
/// `socketstream_api`, which wins.
pub fn detect(root: &Path, explicit: Option<Generation>) -> Detected {
    let found = |generation, evidence: String| Detected {
        generation,
        evidence,
    };
    if let Some(generation) = explicit {
        return found(generation, "socketstream_api in the config".to_owned());
    }
    for name in ["config/events.coffee", "config/events.js"] {
        if root.join(name).is_file() {
            return found(Generation::V02, name.to_owned());
        }
    }
    for name in ["config/http.coffee", "config/http.js"] {
        let Ok(source) = std::fs::read_to_string(root.join(name)) else {
            continue;
        };
        if exports(&source, "primary") || exports(&source, "secondary") {
            return found(Generation::V02, format!("exports.primary in {name}"));
        }
        if exports(&source, "call") {
            return found(Generation::V01, format!("exports.call in {name}"));
        }
    }
    match first_use_of_ss(root) {
        Some(file) => found(Generation::V01, format!("the SS global in {file}")),
        None => found(Generation::V0036, "no later API in use".to_owned()),
    }
}

/// Whether `source` assigns `exports.<name>` (or `module.exports.<name>`).
fn exports(source: &str, name: &str) -> bool {
    let needle = format!("exports.{name}");
    source.match_indices(&needle).any(|(at, _)| {
        let rest = source[at + needle.len()..].trim_start();
        let after = source[at + needle.len()..].chars().next();
        let ends_word = after.is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '$'));
        ends_word && rest.starts_with('=') && !rest.starts_with("==")
    })
}

/// The first app source file (server, shared or client code) that uses the
/// `SS` global, relative to `root`.
fn first_use_of_ss(root: &Path) -> Option<String> {
    const FOLDERS: [&str; 3] = ["app/server", "app/shared", "app/client"];
    for folder in FOLDERS {
        let mut files = Vec::new();
        collect_sources(&root.join(folder), &mut files);
        files.sort();
        for file in files {
            let Ok(source) = std::fs::read_to_string(&file) else {
                continue;
            };
            if uses_ss(&source) {
                let relative = file.strip_prefix(root).unwrap_or(&file);
                return Some(relative.display().to_string());
            }
        }
    }
    None
}

fn collect_sources(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_sources(&path, files);
        } else if path
            .extension()
            .is_some_and(|ext| ext == "js" || ext == "coffee")
        {
            files.push(path);
        }
    }
}

/// Whether `source` reads a member of the `SS` global (`SS.server`,
/// `SS.events`, …), not `$SS` or a longer name ending in `SS`.
fn uses_ss(source: &str) -> bool {
    source.match_indices("SS.").any(|(at, _)| {
        let before = source[..at].chars().next_back();
        let member = source[at + 3..]
            .split(|c: char| !c.is_alphanumeric())
            .next();
        before.is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '$' || c == '.'))
            && member.is_some_and(|m| {
                matches!(
                    m,
                    "server"
                        | "client"
                        | "shared"
                        | "events"
                        | "socket"
                        | "publish"
                        | "users"
                        | "config"
                        | "env"
                        | "require"
                        | "root"
                        | "version"
                )
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    fn generation(files: &[(&str, &str)]) -> (Generation, String) {
        let dir = app(files);
        let detected = detect(dir.path(), None);
        (detected.generation, detected.evidence)
    }

    #[test]
    fn the_files_tell_the_generation() {
        let plain = [
            ("config/app.json", "{}"),
            (
                "app/server/app.coffee",
                "exports.actions =\n  init: (cb) -> $SS.publish.broadcast 'x', 1",
            ),
            (
                "app/client/app.coffee",
                "exports.init = -> remote 'app.init', (r) -> r",
            ),
        ];
        assert_eq!(
            generation(&plain),
            (Generation::V0036, "no later API in use".into())
        );
        assert_eq!(
            generation(&[("app/client/app.coffee", "SS.events.on 'x', (m) -> m")]),
            (
                Generation::V01,
                "the SS global in app/client/app.coffee".into()
            )
        );
        assert_eq!(
            generation(&[(
                "config/http.coffee",
                "exports.call = (req, res, next) -> next()"
            )]),
            (Generation::V01, "exports.call in config/http.coffee".into())
        );
        assert_eq!(
            generation(&[
                (
                    "config/http.coffee",
                    "exports.primary =\n  [connect.bodyParser()]"
                ),
                ("app/server/app.coffee", "SS.publish.broadcast 'x', 1"),
            ]),
            (
                Generation::V02,
                "exports.primary in config/http.coffee".into()
            )
        );
        assert_eq!(
            generation(&[("config/events.js", "SS.events.on('client:init', f)")]),
            (Generation::V02, "config/events.js".into())
        );
    }

    #[test]
    fn the_config_key_wins() {
        let dir = app(&[("config/events.coffee", "")]);
        let detected = detect(dir.path(), Some(Generation::V01));
        assert_eq!(detected.generation, Generation::V01);
        assert_eq!(detected.evidence, "socketstream_api in the config");
    }

    #[test]
    fn only_the_ss_global_counts() {
        assert!(uses_ss("SS.server.app.init()"));
        assert!(uses_ss("x = 1\n  SS.socket.on 'connect', ->"));
        assert!(!uses_ss("$SS.server.app.init()"));
        assert!(!uses_ss("CSS.supports('x')"));
        assert!(!uses_ss("window.SS.foo()"));
        assert!(!uses_ss("SS.somethingElse"));
        assert!(exports("exports.call = (req) ->", "call"));
        assert!(exports("module.exports.primary=[]", "primary"));
        assert!(!exports("exports.caller = 1", "call"));
        assert!(!exports("if exports.call == 1", "call"));
    }
}
