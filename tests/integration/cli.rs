//! The command line: help, version, and the start-up errors a user can make.

use crate::support::{Server, copy_fixture, ssrt, write_environment};
use serde_json::json;
use std::fs;

fn run(args: &[&str], dir: &std::path::Path) -> (bool, String) {
    let output = ssrt()
        .args(args)
        .current_dir(dir)
        .env("SS_ENV", "test")
        .output()
        .expect("run ssrt");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn version_and_help() {
    let here = std::env::temp_dir();
    let (ok, text) = run(&["version"], &here);
    assert!(ok);
    assert_eq!(text.trim(), format!("ssrt {}", env!("CARGO_PKG_VERSION")));
    assert_eq!(run(&["v"], &here).1, text);

    let (ok, help) = run(&["help"], &here);
    assert!(ok, "{help}");
    for command in ["start", "version", "help"] {
        assert!(help.contains(command), "{help}");
    }
    let (ok, start_help) = run(&["help", "start"], &here);
    assert!(ok);
    assert!(start_help.contains("SS_ENV"), "{start_help}");

    let (ok, unknown) = run(&["frobnicate"], &here);
    assert!(!ok);
    assert!(
        unknown.contains("unrecognized subcommand 'frobnicate'"),
        "{unknown}"
    );
}

#[test]
fn starting_outside_a_project_says_so() {
    let empty = tempfile::tempdir().unwrap();
    let (ok, text) = run(&["start"], empty.path());
    assert!(!ok);
    assert!(
        text.contains("Unable to start SocketStream here. Not a valid project directory"),
        "{text}"
    );
}

/// Starts the fixture app with `files` written over it; it must fail.
/// Returns what ssrt printed.
fn failed_start(files: &[(&str, &str)]) -> String {
    let app = copy_fixture("basic");
    for (path, text) in files {
        fs::write(app.path().join(path), text).unwrap();
    }
    let (ok, text) = run(&["start", "--port", "0"], app.path());
    assert!(!ok, "ssrt started although it should not have:\n{text}");
    text
}

#[test]
fn a_broken_config_file_is_named_with_its_line() {
    let text = failed_start(&[("config/app.json", "{\n  \"port\": 3000,\n  oops\n}\n")]);
    assert!(text.contains("config/app.json:3:"), "{text}");
}

#[test]
fn a_wrong_setting_names_the_file_and_key() {
    let text = failed_start(&[("config/app.json", r#"{"port": "abc"}"#)]);
    assert!(
        text.contains(
            r#"config/app.json: port: expected a port 0–65535 (0: any free port), got "abc""#
        ),
        "{text}"
    );
}

#[test]
fn a_misspelt_setting_is_a_warning_with_a_suggestion() {
    let app = copy_fixture("basic");
    // Level 2 shows warnings; the fixture's test environment shows errors only.
    write_environment(
        app.path(),
        "test",
        json!({"prot": 4000, "log": {"level": 2}}),
    );
    let server = Server::start_in(app, &[]);
    server
        .expect_in_banner("config/environments/test.json: prot: unknown key; did you mean `port`?");
}

#[test]
fn a_coffeescript_syntax_error_names_the_file_and_line() {
    let text = failed_start(&[(
        "app/server/broken.coffee",
        "exports.actions =\n  ok: (cb) -> cb(1)\n  bad: (cb) -> cb(]\n",
    )]);
    assert!(text.contains("app/server/broken.coffee:3:"), "{text}");
}

#[test]
fn a_server_file_that_throws_while_loading_is_named() {
    let text = failed_start(&[(
        "app/server/throws.js",
        "exports.actions = {};\nthrow new Error('cannot load me');\n",
    )]);
    assert!(text.contains("cannot load me"), "{text}");
    assert!(text.contains("app/server/throws.js"), "{text}");
}

#[test]
fn a_file_and_folder_of_the_same_name_conflict() {
    let text = failed_start(&[("app/server/users.coffee", "exports.actions = {}\n")]);
    assert!(
        text.contains("conflicts with a file of the same name"),
        "{text}"
    );
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let app = copy_fixture("basic");
    let (ok, text) = run(&["start", "--port", &port], app.path());
    assert!(!ok);
    assert!(
        text.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{text}"
    );
}
