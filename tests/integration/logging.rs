//! The server's log (SPEC 9): levels 0–4, call lines with their time, silent
//! calls left out, and colours unless `enable_color` is false.

use crate::support::{Server, copy_fixture};
use serde_json::json;

fn start_logging(level: u8, enable_color: bool) -> Server {
    let app = copy_fixture("basic");
    let config = json!({
        "hostname": "127.0.0.1", "store": "embedded", "pack_assets": false,
        "log": {"level": level}, "enable_color": enable_color
    });
    crate::support::write_environment(app.path(), "logged", config);
    Server::start_in(app, &[("SS_ENV", "logged")])
}

/// Makes a logged call, a silent one and an API call; returns the log up
/// to the last of the `expected` lines.
async fn log_of_some_calls(server: &Server, expected: &[&str]) -> String {
    let mut client = server.client().await;
    assert_eq!(client.reply("app.square", json!(5)).await, 25);
    client.send_text(r#"{"type":"server","method":"app.echo","params":"quiet","options":{"silent":true},"cb_id":"9"}"#).await;
    assert_eq!(client.next_frame().await["params"], "quiet");
    let api = reqwest::get(server.url("/api/app/square.json?3"))
        .await
        .unwrap();
    assert_eq!(api.text().await.unwrap(), "9");
    log_until(server, expected)
}

/// What the server printed until each of `lines` had appeared (a call's
/// log line is written after its reply is sent).
fn log_until(server: &Server, lines: &[&str]) -> String {
    let mut log = server.output();
    for line in lines {
        if !log.contains(line) {
            log.push('\n');
            log.push_str(&server.wait_for_output(line));
        }
    }
    log
}

#[tokio::test]
async fn level_3_logs_each_call_with_its_time_but_not_silent_ones() {
    let server = start_logging(3, false);
    let log = log_of_some_calls(&server, &["-> app.square (ws, ", "-> app.square (api, "]).await;
    assert!(log.contains("-> app.square (ws, "), "{log}");
    assert!(log.contains("-> app.square (api, "), "{log}");
    assert!(log.contains(" ms)"), "{log}");
    assert!(
        !log.contains("app.echo"),
        "silent calls are not logged: {log}"
    );
    assert!(
        !log.contains("<- app.square"),
        "params only at level 4: {log}"
    );
    assert!(
        !log.contains('\u{1b}'),
        "no colours when enable_color is false: {log}"
    );
}

#[tokio::test]
async fn level_4_also_logs_params_as_calls_arrive() {
    let server = start_logging(4, false);
    let log = log_of_some_calls(
        &server,
        &["<- app.square 5 (ws)", r#"<- app.square "3" (api)"#],
    )
    .await;
    assert!(log.contains("<- app.square 5 (ws)"), "{log}");
    assert!(log.contains(r#"<- app.square "3" (api)"#), "{log}");
    assert!(!log.contains("app.echo"), "{log}");
}

#[tokio::test]
async fn level_1_logs_only_errors_in_colour_by_default() {
    let server = start_logging(1, true);
    std::fs::write(server.dir.path().join("app/client/clock.coffee"), "y = (\n").unwrap();
    let calls = log_of_some_calls(&server, &[]).await;
    let _ = reqwest::get(server.url("/client/clock.coffee"))
        .await
        .unwrap();
    // Printed after the calls: had they been logged, they would be in here.
    let log = calls + &log_until(&server, &["app/client/clock.coffee:1:"]);
    assert!(!log.contains("app.square"), "{log}");
    assert!(
        log.contains("\u{1b}["),
        "colours are on by default: {log:?}"
    );
}

#[tokio::test]
async fn level_0_logs_nothing_at_all() {
    let mut server = start_logging(0, true);
    std::fs::write(server.dir.path().join("app/client/clock.coffee"), "y = (\n").unwrap();
    let _ = reqwest::get(server.url("/client/clock.coffee"))
        .await
        .unwrap();
    let log = log_of_some_calls(&server, &[]).await + &server.output_to_the_end();
    assert_eq!(log, "", "level 0 is silent");
}
