//! `browser_check` (SocketStream 0.1–0.2): a browser that cannot open a
//! WebSocket gets the app's `view_name` view (`app/views/incompatible.jade`)
//! instead of its page, which could never connect. SocketStream fell back
//! to Flash sockets for some of them; ssrt speaks WebSocket only, so
//! `strict` no longer decides which browsers can connect, only what is done
//! with one the user-agent parser (`woothee`) does not know: refused when
//! strict, let through otherwise.

use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use std::sync::LazyLock;

static PARSER: LazyLock<woothee::parser::Parser> = LazyLock::new(woothee::parser::Parser::new);

/// The first version of each browser with WebSockets on by default
/// (RFC 6455 or its drafts), by woothee's names.
const FIRST_WITH_WEBSOCKETS: &[(&str, u32)] = &[
    ("Chrome", 4),
    ("Firefox", 6),
    ("Safari", 5),
    ("Opera", 12),
    ("Internet Explorer", 10),
    ("Edge", 12),
];

/// What the check makes of a browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Capable,
    Incapable,
    Unknown,
}

fn verdict(user_agent: &str) -> Verdict {
    let Some(browser) = PARSER.parse(user_agent) else {
        return Verdict::Unknown;
    };
    let Some(&(_, first)) = FIRST_WITH_WEBSOCKETS
        .iter()
        .find(|(name, _)| *name == browser.name)
    else {
        return Verdict::Unknown;
    };
    let major: Option<u32> = browser
        .version
        .split('.')
        .next()
        .and_then(|v| v.parse().ok());
    match major {
        Some(major) if major >= first => Verdict::Capable,
        Some(_) => Verdict::Incapable,
        None => Verdict::Unknown,
    }
}

/// Answers a page request from a browser that cannot connect with the
/// incompatible view (the router adds this layer only when the check is on).
pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let check = &state.config.settings.browser_check;
    let later_api = state.api_tree.is_some();
    if request.method() != Method::GET
        || !crate::assets::is_page_path(request.uri().path(), later_api)
    {
        return next.run(request).await;
    }
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let refused = match verdict(user_agent) {
        Verdict::Capable => false,
        Verdict::Incapable => true,
        Verdict::Unknown => check.strict,
    };
    if !refused {
        return next.run(request).await;
    }
    let view = state
        .assets
        .view(&check.view_name)
        .await
        .unwrap_or_else(|error| {
            tracing::error!("browser_check.view_name: {error}");
            None
        });
    match view {
        Some(view) => Html(view).into_response(),
        None => crate::pages::browser_not_supported().into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_are_told_apart_by_websockets() {
        let cases = [
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
                Verdict::Capable,
            ),
            (
                "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0)",
                Verdict::Incapable,
            ),
            (
                "Mozilla/5.0 (Windows NT 6.1; rv:2.0) Gecko/20100101 Firefox/4.0",
                Verdict::Incapable,
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; rv:120.0) Gecko/20100101 Firefox/120.0",
                Verdict::Capable,
            ),
            ("curl/8.0", Verdict::Unknown),
            ("", Verdict::Unknown),
        ];
        for (user_agent, expected) in cases {
            assert_eq!(verdict(user_agent), expected, "{user_agent}");
        }
    }
}
