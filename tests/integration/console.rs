//! `ssrt console` driven through piped standard input, as a script would:
//! the app is loaded, entries run in order, callbacks print when they come,
//! CoffeeScript mode, errors, publishing to a running server over Redis, and
//! Ctrl-C (SIGINT) stopping an entry that never ends.

use crate::support::{PATIENCE, Redis, copy_fixture};
use serde_json::json;
use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn console(dir: &std::path::Path, env: &str, input: &str) -> Output {
    let _turn = one_at_a_time();
    crate::support::console(dir, env, &[], input)
}

/// The tests here run their consoles one at a time: loading the app is
/// CPU-heavy in a debug build, and the `test` environment gives it 1 s
/// (`action_timeout`), which several loads at once on two cores can pass.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
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

/// `ssrt console` whose standard input stays open, typed into while it
/// runs, with piped input or on a terminal; killed when dropped.
struct OpenConsole {
    child: Child,
    stdin: Option<ChildStdin>,
    /// Its stdout and stderr, as they come.
    output: mpsc::Receiver<String>,
    /// What it printed and has not been waited for yet.
    unread: String,
}

impl OpenConsole {
    /// With piped standard input, as a script would run it.
    fn piped(dir: &std::path::Path, env: &str) -> Self {
        let mut command = crate::support::ssrt();
        command.arg("console");
        Self::start(command, dir, env)
    }

    /// On a terminal: `script` gives it a pseudo-terminal, so rustyline
    /// runs as for a person typing, and Ctrl-C (byte 3) is the terminal's.
    /// `exec` and `TERM` keep it the same under any login: without `exec`,
    /// a shell that stays as the console's parent (dash, when `SHELL` is
    /// unset) also gets the Ctrl-C and exits 130 after the console's 0.
    fn on_terminal(dir: &std::path::Path, env: &str) -> Self {
        let ssrt = env!("CARGO_BIN_EXE_ssrt");
        let mut command = Command::new("script");
        command
            .args(["-qfec", &format!("exec '{ssrt}' console"), "/dev/null"])
            .env("TERM", "xterm");
        Self::start(command, dir, env)
    }

    fn start(mut command: Command, dir: &std::path::Path, env: &str) -> Self {
        let mut child = command
            .current_dir(dir)
            .env("SS_ENV", env)
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the console");
        let (tx, output) = mpsc::channel();
        for mut stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut buffer = [0; 4096];
                while let Ok(read @ 1..) = stream.read(&mut buffer) {
                    let text = String::from_utf8_lossy(&buffer[..read]).into_owned();
                    if tx.send(text).is_err() {
                        break;
                    }
                }
            });
        }
        let stdin = child.stdin.take();
        Self {
            child,
            stdin,
            output,
            unread: String::new(),
        }
    }

    fn type_text(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin
            .write_all(text.as_bytes())
            .expect("write to the console");
        stdin.flush().expect("flush");
    }

    /// What the console prints up to and including `needle`; fails with
    /// what it printed if it does not print it in time.
    fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(at) = self.unread.find(needle) {
                let rest = self.unread.split_off(at + needle.len());
                return std::mem::replace(&mut self.unread, rest);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok(text) => self.unread.push_str(&text),
                Err(_) => panic!(
                    "the console never printed {needle:?}; it printed:\n{}",
                    self.unread
                ),
            }
        }
    }

    /// Sends SIGINT, as Ctrl-C in a terminal does.
    fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -INT failed");
    }

    fn exit_status(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("the console's status") {
                return status;
            }
            assert!(Instant::now() < deadline, "the console did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for OpenConsole {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The basic fixture with an `action_timeout` far past the tests' patience:
/// only Ctrl-C can stop a loop in time.
fn app_without_watchdog_in_reach() -> tempfile::TempDir {
    let app = copy_fixture("basic");
    crate::support::write_environment(
        app.path(),
        "ctrlc",
        json!({"store": "embedded", "action_timeout": 120, "log": {"level": 1}}),
    );
    app
}

#[test]
fn ctrl_c_stops_an_endless_piped_entry_and_the_console_goes_on_with_the_app_state() {
    use std::os::unix::process::ExitStatusExt;
    let _turn = one_at_a_time();
    let app = app_without_watchdog_in_reach();
    let mut console = OpenConsole::piped(app.path(), "ctrlc");
    console.type_text("var kept = 'state'; 'ready'\n");
    console.wait_for("'ready'\n");
    console.type_text("console.log('looping'); while (true) {}\n");
    console.wait_for("looping\n");

    let interrupted = Instant::now();
    console.interrupt();
    console.type_text("kept + (1 + 1)\n");
    let printed = console.wait_for("'state2'\n");
    let back = interrupted.elapsed();
    assert!(
        printed.contains("Interrupted (Ctrl-C): the entry was stopped"),
        "{printed}"
    );
    assert!(
        !printed.contains("and was stopped"),
        "not the watchdog: {printed}"
    );

    // A second loop, a second Ctrl-C: the same again.
    console.type_text("console.log('again'); for (;;) {}\n");
    console.wait_for("again\n");
    console.interrupt();
    console.type_text("kept\n");
    console.wait_for("'state'\n");

    // With no entry running, Ctrl-C ends a piped console, as it ends a script.
    // (A timer prints once the entry has returned: the console is idle.)
    console.type_text("setTimeout(function () { console.log('idle') }, 50); 'set'\n");
    console.wait_for("idle\n");
    console.interrupt();
    let status = console.exit_status();
    assert_eq!(status.code(), Some(130), "{status:?}");
    assert_eq!(status.signal(), None);
    eprintln!("piped: the next entry was answered {back:?} after SIGINT");
}

#[test]
fn on_a_terminal_ctrl_c_stops_the_entry_and_at_the_prompt_drops_the_line() {
    let _turn = one_at_a_time();
    let app = app_without_watchdog_in_reach();
    let mut console = OpenConsole::on_terminal(app.path(), "ctrlc");
    console.wait_for("ssrt> ");
    console.type_text("var kept = 'state'\r");
    console.wait_for("ssrt> ");
    console.type_text("console.log('looping'); while (true) {}\r");
    console.wait_for("looping");
    // As a person would, let the loop run a moment: through `script`, a
    // Ctrl-C typed within the first milliseconds is sometimes lost before it
    // reaches the terminal (strace shows the terminal already back in
    // cooked mode with ISIG, and no SIGINT sent), so the test would flake.
    std::thread::sleep(Duration::from_millis(100));

    let interrupted = Instant::now();
    console.type_text("\u{3}"); // Ctrl-C
    let printed = console.wait_for("ssrt> ");
    let back = interrupted.elapsed();
    assert!(
        printed.contains("Interrupted (Ctrl-C): the entry was stopped"),
        "{printed}"
    );
    console.type_text("kept + (1 + 1)\r");
    console.wait_for("'state2'");

    // At the prompt Ctrl-C is rustyline's: the line typed so far is dropped
    // and a new prompt comes; the console stays.
    console.wait_for("ssrt> ");
    console.type_text("kept + ' dropped'");
    console.wait_for("dropped'");
    console.type_text("\u{3}");
    console.wait_for("ssrt> ");
    console.type_text("kept\r");
    let printed = console.wait_for("'state'");
    assert!(!printed.contains("'state dropped'"), "{printed}");
    console.type_text(".exit\r");
    let status = console.exit_status();
    assert!(status.success(), "{status:?}");
    eprintln!("terminal: the prompt was back {back:?} after Ctrl-C");
}
