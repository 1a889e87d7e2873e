//! The `session_id` cookie, which only the server writes: `HttpOnly`, so a
//! page's scripts can neither read nor plant it; `SameSite=Lax`; `Path=/`;
//! `Secure` under HTTPS.
//!
//! The WebSocket handshake that starts a session sets it. When the session
//! gets a new id (at login and logout, against fixation), its open
//! connections move to the new id and each is sent a one-time token; the
//! page trades it for the new cookie at `POST /_ssrt/session` — an open
//! WebSocket cannot set cookies, an HTTP response can.

use crate::hub::Hub;
use crate::outbox::Outbound;
use crate::protocol;
use crate::state::AppState;
use axum::extract::State;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cookie::{Cookie, SameSite};
use ssrt_runtime::SessionListener;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Where the page trades a token for its new cookie.
pub const EXCHANGE_PATH: &str = "/_ssrt/session";
/// The request header that carries the token.
const TOKEN_HEADER: &str = "x-ssrt-session-token";
/// How long a token may wait to be traded.
const TOKEN_LIFETIME: Duration = Duration::from_secs(60);
const NAME: &str = "session_id";

/// The `session_id` cookie of a request, if it carries one.
pub fn read(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == NAME)
        .map(|cookie| cookie.value().to_owned())
}

/// The `Set-Cookie` value that gives the browser session `id`.
pub fn set_cookie(id: &str, secure: bool) -> Option<HeaderValue> {
    let cookie = Cookie::build((NAME, id))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .build();
    HeaderValue::from_str(&cookie.to_string()).ok()
}

/// One-time tokens, each good for one session's new cookie.
#[derive(Clone, Default)]
pub struct Tokens(Arc<Mutex<HashMap<String, (String, Instant)>>>);

impl Tokens {
    fn issue(&self, session_id: &str) -> String {
        let token = ssrt_store::new_session_id();
        let mut tokens = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        tokens.retain(|_, (_, issued)| now.duration_since(*issued) < TOKEN_LIFETIME);
        tokens.insert(token.clone(), (session_id.to_owned(), now));
        token
    }

    fn redeem(&self, token: &str) -> Option<String> {
        let mut tokens = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let (session_id, issued) = tokens.remove(token)?;
        (issued.elapsed() < TOKEN_LIFETIME).then_some(session_id)
    }
}

/// `POST /_ssrt/session`: the new cookie for a valid token, once.
pub async fn exchange(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let session_id = headers
        .get(TOKEN_HEADER)
        .and_then(|token| token.to_str().ok())
        .and_then(|token| state.tokens.redeem(token));
    let Some(session_id) = session_id else {
        return (StatusCode::FORBIDDEN, "unknown or used session token").into_response();
    };
    match set_cookie(&session_id, state.config.settings.ssl.enabled) {
        Some(cookie) => (StatusCode::NO_CONTENT, [(SET_COOKIE, cookie)]).into_response(),
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Keeps connections with their session through logins, new ids and channels.
pub struct SessionFollower {
    pub hub: Hub,
    pub tokens: Tokens,
}

impl SessionListener for SessionFollower {
    fn user_changed(&self, session_id: &str, user_id: Option<&str>) {
        self.hub.set_session_user(session_id, user_id);
    }

    fn channels_changed(&self, session_id: &str, channels: &[String]) {
        self.hub.set_session_channels(session_id, channels);
    }

    fn session_rotated(&self, old_id: &str, new_id: &str) {
        for sender in self.hub.rename_session(old_id, new_id) {
            let token = protocol::json_string(&self.tokens.issue(new_id));
            sender.send(Outbound::Frame(
                protocol::system("rotateSession", &token).into(),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_http_only_lax_and_secure_under_https() {
        let plain = set_cookie("abc", false).unwrap();
        assert_eq!(plain, "session_id=abc; HttpOnly; SameSite=Lax; Path=/");
        let secure = set_cookie("abc", true).unwrap();
        assert!(secure.to_str().unwrap().contains("; Secure"), "{secure:?}");
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, "a=1; session_id=xyz; b=2".parse().unwrap());
        assert_eq!(read(&headers).as_deref(), Some("xyz"));
        headers.insert(COOKIE, "a=1".parse().unwrap());
        assert_eq!(read(&headers), None);
    }

    #[test]
    fn a_token_is_good_once() {
        let tokens = Tokens::default();
        let token = tokens.issue("s1");
        assert_eq!(tokens.redeem(&token).as_deref(), Some("s1"));
        assert_eq!(tokens.redeem(&token), None);
        assert_eq!(tokens.redeem("guess"), None);
    }
}
