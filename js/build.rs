//! Embeds the npm packages installed from `package-lock.json` into the binary.
//!
//! `npm ci` in this folder fetches them (the README's set-up command does it);
//! this script only reads `node_modules/` and writes a table of
//! `(path, include_str!(file))` that `src/lib.rs` includes. Nothing from npm is
//! committed to the repository.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let modules = manifest_dir.join("node_modules");
    println!("cargo::rerun-if-changed=package-lock.json");
    println!("cargo::rerun-if-changed=node_modules/.package-lock.json");
    if !modules.is_dir() {
        panic!(
            "\n\nssrt-js: {} is missing.\nRun `npm ci --prefix js` once (see the README), then build again.\n\n",
            modules.display()
        );
    }
    let mut files = Vec::new();
    collect(&modules, &modules, &mut files);
    files.sort();

    // Each file is named from this crate's folder as the crate is compiled,
    // not by the path it had when this script ran: the script does not run
    // again when the checkout moves, and an absolute path would then name a
    // folder that is gone.
    let mut table = String::from("&[\n");
    for relative in &files {
        writeln!(
            table,
            "    ({relative:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/node_modules/\", {relative:?}))),"
        )
        .expect("writing to a String");
    }
    table.push(']');
    let out =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("npm_files.rs");
    std::fs::write(&out, table).expect("writing npm_files.rs");
}

/// Every `.js`, `.styl` (Stylus's built-in functions) and `package.json` file
/// of the installed packages, minus their command-line tools, examples and
/// tests, which never run inside ssrt.
fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !matches!(
                name.as_str(),
                "bin" | "test" | "tests" | "testing" | ".bin" | "example" | "examples"
            ) {
                collect(root, &path, out);
            }
        } else if name.ends_with(".js") || name.ends_with(".styl") || name == "package.json" {
            let relative = path
                .strip_prefix(root)
                .expect("walked below root")
                .to_string_lossy()
                .replace('\\', "/");
            out.push(relative);
        }
    }
}
