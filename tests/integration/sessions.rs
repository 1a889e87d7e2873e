//! The `@session` API over real sockets (SPEC 6), on the embedded store:
//! login through an auth module, secured files, stored attributes, and user
//! events reaching every tab of a logged-in session.

use crate::support::{Client, Server, error_of};
use serde_json::json;

const TOM: &str = "tom21";
/// Long enough for a wrongly routed event to show up.
const QUIET: std::time::Duration = std::time::Duration::from_millis(300);

/// A tab logged in as tom, and the id its session has since the login.
async fn logged_in_tab(server: &Server) -> (Client, String) {
    let mut tab = server.client().await;
    let before = tab.new_session_id().expect("a new session");
    assert!(tab.login("secret").await);
    let token = tab.rotations.last().expect("a new cookie at login").clone();
    let id = server.exchange(&token).await.expect("the new cookie");
    assert_ne!(id, before);
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

#[tokio::test]
async fn a_login_gives_the_session_a_new_id_and_an_id_known_before_stops_working() {
    let server = Server::start();
    // An attacker learns (or plants) an id, and the victim's tab uses it.
    let mut attacker = server.client().await;
    let planted = attacker.new_session_id().expect("a new session");
    assert_eq!(attacker.reply("auth.remember", json!("mine")).await, true);
    drop(attacker);
    let mut victim = Client::connect(server.port, Some(&planted)).await;
    let mut other_tab = Client::connect(server.port, Some(&planted)).await;
    assert!(victim.login("secret").await);

    // Every open tab of the session is told about the new id...
    let token = victim.rotations.pop().expect("a token");
    assert_eq!(other_tab.reply("auth.user", json!(null)).await, TOM);
    assert_eq!(other_tab.rotations.len(), 1, "the other tab follows too");
    let new_id = server.exchange(&token).await.expect("the new cookie");
    assert_eq!(server.exchange(&token).await, None, "a token is good once");
    assert_eq!(server.exchange("guessed").await, None);

    // ...and the old id is worth nothing: a fresh, logged-out session.
    let mut with_planted = Client::connect(server.port, Some(&planted)).await;
    assert!(with_planted.new_session_id().is_some());
    assert_eq!(
        with_planted.reply("auth.user", json!(null)).await,
        json!(null)
    );
    let mut with_new = Client::connect(server.port, Some(&new_id)).await;
    assert_eq!(with_new.reply("auth.user", json!(null)).await, TOM);
    assert_eq!(with_new.reply("auth.recall", json!(null)).await, "mine");

    // Logging out moves it again.
    assert_eq!(with_new.reply("auth.logout", json!(null)).await, true);
    let token = with_new.rotations.pop().expect("a token at logout");
    let after_logout = server.exchange(&token).await.expect("the new cookie");
    assert_ne!(after_logout, new_id);
    let stale = Client::connect(server.port, Some(&new_id)).await;
    assert!(stale.new_session_id().is_some());
}

#[tokio::test]
async fn an_idle_session_expires() {
    let app = crate::support::copy_fixture("basic");
    crate::support::write_environment(
        app.path(),
        "idle",
        json!({"hostname": "127.0.0.1", "store": "embedded", "pack_assets": false,
               "log": {"level": 1}, "session_idle_timeout": 1}),
    );
    let server = Server::start_in(app, &[("SS_ENV", "idle")]);
    let (mut tab, id) = logged_in_tab(&server).await;
    assert_eq!(tab.reply("auth.remember", json!("x")).await, true);
    drop(tab);
    // Resuming renews it; left alone past the idle time, it is gone.
    let resumed = Client::connect(server.port, Some(&id)).await;
    assert_eq!(resumed.new_session_id(), None);
    drop(resumed);
    let started = std::time::Instant::now();
    loop {
        let mut again = Client::connect(server.port, Some(&id)).await;
        if again.new_session_id().is_some() {
            assert_eq!(again.reply("auth.user", json!(null)).await, json!(null));
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "never expired"
        );
        // Each resume renews the expiry: wait past it before trying again.
        drop(again);
        tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    }
}
