//! The `@session` API over real sockets (SPEC 6), on the embedded store:
//! login through an auth module, secured files, stored attributes, and user
//! events reaching every tab of a logged-in session.

mod support;

use serde_json::json;
use support::{Client, Server, error_of};

const TOM: &str = "tom21";
/// Long enough for a wrongly routed event to show up.
const QUIET: std::time::Duration = std::time::Duration::from_millis(300);

async fn logged_in_tab(server: &Server) -> (Client, String) {
    let mut tab = server.client().await;
    let id = tab.new_session_id().expect("a new session");
    assert!(tab.login("secret").await);
    (tab, id)
}

#[tokio::test]
async fn login_opens_secured_files_and_logout_closes_them() {
    let server = Server::start();
    let mut tab = server.client().await;
    let (code, _) = error_of(&tab.call("secure.secret", json!(null)).await);
    assert_eq!(code, "not_logged_in");
    assert!(!tab.login("nope").await);
    assert_eq!(tab.reply("auth.user", json!(null)).await, json!(null));

    assert!(tab.login("secret").await);
    assert_eq!(tab.reply("auth.user", json!(null)).await, TOM);
    assert_eq!(tab.reply("secure.secret", json!(null)).await, "user tom21");

    assert_eq!(tab.reply("auth.logout", json!(null)).await, true);
    let (code, _) = error_of(&tab.call("secure.secret", json!(null)).await);
    assert_eq!(code, "not_logged_in");
}

#[tokio::test]
async fn a_login_and_saved_attributes_outlive_the_connection() {
    let server = Server::start();
    let (mut tab, id) = logged_in_tab(&server).await;
    assert_eq!(
        tab.reply("auth.remember", json!({"colour": "blue"})).await,
        true
    );
    drop(tab);

    let mut later = Client::connect(server.port, Some(&id)).await;
    assert_eq!(later.new_session_id(), None);
    assert_eq!(later.reply("auth.user", json!(null)).await, TOM);
    assert_eq!(
        later.reply("auth.recall", json!(null)).await,
        json!({"colour": "blue"})
    );
    assert_eq!(
        later.reply("secure.secret", json!(null)).await,
        "user tom21"
    );
}

#[tokio::test]
async fn user_events_reach_every_tab_of_the_user_and_nobody_else() {
    let server = Server::start();
    let (mut first_tab, id) = logged_in_tab(&server).await;
    let mut second_tab = Client::connect(server.port, Some(&id)).await;
    let mut stranger = server.client().await;

    assert_eq!(stranger.reply("auth.notify", json!(TOM)).await, true);
    let event = json!({"type": "event", "event": "private", "params": "for tom21"});
    assert_eq!(first_tab.next_frame().await, event);
    assert_eq!(second_tab.next_frame().await, event);
    stranger.expect_silence(QUIET).await;

    // After logout no tab of the session gets the user's events.
    assert_eq!(first_tab.reply("auth.logout", json!(null)).await, true);
    assert_eq!(stranger.reply("auth.notify", json!(TOM)).await, true);
    first_tab.expect_silence(QUIET).await;
    second_tab.expect_silence(QUIET).await;
}

#[tokio::test]
async fn users_online_follow_logins_and_the_purge() {
    let server = Server::start();
    let mut anyone = server.client().await;
    assert_eq!(anyone.reply("auth.online", json!(null)).await, json!([]));
    let (mut tab, _) = logged_in_tab(&server).await;
    assert_eq!(tab.reply("auth.online", json!(null)).await, json!([TOM]));
    // Seen within the last minutes: tom21 stays; never seen: ghost goes.
    assert_eq!(
        tab.reply("auth.staleUser", json!("ghost")).await,
        json!([TOM])
    );
    assert_eq!(tab.reply("auth.logout", json!(null)).await, true);
    assert_eq!(anyone.reply("auth.online", json!(null)).await, json!([]));
}

#[tokio::test]
async fn a_group_event_reaches_its_members_only() {
    let server = Server::start();
    let (mut member, _) = logged_in_tab(&server).await;
    let mut outsider = server.client().await;
    let params = json!({"group": "admins", "member": TOM});
    assert_eq!(outsider.reply("auth.notifyGroup", params).await, true);
    assert_eq!(
        member.next_frame().await,
        json!({"type": "event", "event": "groupNews", "params": "admins"})
    );
    outsider.expect_silence(QUIET).await;
}
