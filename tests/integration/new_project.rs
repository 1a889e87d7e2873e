//! `ssrt new`: the generated project starts with no further steps and its
//! starter page works in a real browser, live-compiled and packed.

use crate::support::browser::Browser;
use crate::support::{Server, copy_dir, ssrt};
use serde_json::json;

fn new_project(parent: &std::path::Path, name: &str) -> std::process::Output {
    ssrt()
        .args(["new", name])
        .current_dir(parent)
        .output()
        .expect("run ssrt new")
}

#[test]
fn new_refuses_bad_names_and_existing_folders() {
    let parent = tempfile::tempdir().unwrap();
    let made = new_project(parent.path(), "chat");
    assert!(made.status.success());
    assert!(String::from_utf8_lossy(&made.stdout).contains("Created chat/"));

    let again = new_project(parent.path(), "chat");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let alias = ssrt()
        .args(["n", "../escape"])
        .current_dir(parent.path())
        .output()
        .unwrap();
    assert!(!alias.status.success());
    assert!(String::from_utf8_lossy(&alias.stderr).contains("not a usable project name"));
    assert!(!parent.path().join("../escape").exists());
}

async fn expect_starter_page(browser: &Browser, server: &Server, env: &str) {
    browser.open(&server.url("/")).await;
    browser.wait_for_text("status", "Connected").await;
    browser
        .wait_for(
            "return document.getElementById('message').textContent.startsWith('Welcome! This reply came from the server')",
            json!(true),
        )
        .await;
    browser.wait_for("return $SS.env", json!(env)).await;
    browser
        .wait_for("return jQuery.fn.jquery", json!("3.7.1"))
        .await;
    browser
        .wait_for(
            "return document.querySelector('#page img').naturalWidth > 0",
            json!(true),
        )
        .await;
}

#[tokio::test]
async fn the_generated_app_starts_and_its_page_answers_from_the_server() {
    let parent = tempfile::tempdir().unwrap();
    assert!(new_project(parent.path(), "starter").status.success());
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&parent.path().join("starter"), dir.path());

    let server = Server::start_in(dir, &[("SS_ENV", "development")]);
    let browser = Browser::launch().await;
    expect_starter_page(&browser, &server, "development").await;
    // The same folder packed, as staging and production run it.
    let server = server.restart(&[("SS_ENV", "staging")]);
    expect_starter_page(&browser, &server, "staging").await;
    browser.close().await;
}
