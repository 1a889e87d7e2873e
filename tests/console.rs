//! `ssrt console` driven through piped standard input, as a script would:
//! the app is loaded, entries run in order, callbacks print when they come,
//! CoffeeScript mode, errors, and publishing to a running server over Redis.

mod support;

use std::process::Output;
use support::{Redis, copy_fixture};

fn console(dir: &std::path::Path, env: &str, input: &str) -> Output {
    support::console(dir, env, &[], input)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_app_is_loaded_and_callbacks_print_when_they_come() {
    let app = copy_fixture("basic");
    let output = console(
        app.path(),
        "test",
        "$SS.server.app.square(25, console.log)\n\
         void $SS.server.app.later(150, console.log)\n\
         $SS.env\n\
         function pair(a, b) {\n  return {a, b: [b, b]}\n}\n\
         pair(1, 'x')\n\
         R.set('console', 'yes', function () { R.get('console', function (e, v) { console.log('R says', v) }) })\n",
    );
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        stdout(&output),
        "625\n'test'\n{ a: 1, b: [ 'x', 'x' ] }\ntrue\nR says yes\nwaited 150\n"
    );
}

#[test]
fn coffeescript_mode_takes_blocks_ended_by_an_empty_line() {
    let app = copy_fixture("basic");
    let output = console(
        app.path(),
        "test",
        ".coffee\nsquare = (n) ->\n  n * n\n\nsquare 12\n$SS.shared.filter.clean 'darn'\n.js\n[1, 2].map(n => n * 10)\n",
    );
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        stdout(&output),
        "[Function: square]\n144\n'****'\n[ 10, 20 ]\n"
    );
}

#[test]
fn an_entry_that_throws_is_reported_and_the_rest_still_runs() {
    let app = copy_fixture("basic");
    let output = console(app.path(), "test", "missing.thing\n1 + 1\n");
    assert!(!output.status.success());
    assert_eq!(stdout(&output), "2\n");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ReferenceError"), "{stderr}");
    assert!(stderr.contains("an entry threw"), "{stderr}");
}

#[tokio::test]
async fn publishing_from_the_console_reaches_a_running_server_through_redis() {
    let redis = Redis::start();
    let server = redis.ssrt();
    let mut client = server.client().await;
    let dir = server.dir.path().to_path_buf();
    let output = tokio::task::spawn_blocking(move || {
        console(
            &dir,
            "shared",
            "$SS.publish.broadcast('newMessage', 'from the console')\n",
        )
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{output:?}");
    let event = client.next_frame().await;
    assert_eq!(event["event"], "newMessage");
    assert_eq!(event["params"], "from the console");
}
