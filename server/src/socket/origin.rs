//! Which pages may open `/ws` (cross-site WebSocket hijacking).
//!
//! Browsers send the session cookie with any page's WebSocket handshake, but
//! always say which page asked in `Origin`. A handshake from another site is
//! refused unless `websocket.allowed_origins` names it. Clients that are not
//! browsers send no `Origin`, carry no victim's cookie, and are let in.

use axum::http::HeaderMap;
use axum::http::header::{HOST, ORIGIN};

/// The origins allowed besides the page's own.
pub struct OriginPolicy {
    allowed: Vec<String>,
    any: bool,
}

impl OriginPolicy {
    pub fn new(allowed: &[String]) -> Self {
        Self {
            any: allowed.iter().any(|origin| origin == "*"),
            allowed: allowed.iter().map(|origin| normalise(origin)).collect(),
        }
    }

    /// Whether a handshake with these headers may go on.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(ORIGIN) else {
            return true;
        };
        if self.any {
            return true;
        }
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let origin = normalise(origin);
        let same_host = headers
            .get(HOST)
            .and_then(|host| host.to_str().ok())
            .is_some_and(|host| authority(&origin) == Some(host.to_ascii_lowercase().as_str()));
        same_host || self.allowed.contains(&origin)
    }
}

/// `HTTPS://Example.com/` → `https://example.com`.
fn normalise(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// The `host[:port]` of an origin (`http://host:port`); `null` has none.
fn authority(origin: &str) -> Option<&str> {
    let (scheme, authority) = origin.split_once("://")?;
    matches!(scheme, "http" | "https").then_some(authority)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, host.parse().unwrap());
        if let Some(origin) = origin {
            headers.insert(ORIGIN, origin.parse().unwrap());
        }
        headers
    }

    #[test]
    fn the_pages_own_origin_is_allowed_and_another_site_is_not() {
        let policy = OriginPolicy::new(&[]);
        assert!(policy.allows(&headers(Some("http://localhost:3000"), "localhost:3000")));
        assert!(policy.allows(&headers(Some("HTTPS://App.example"), "app.example")));
        assert!(!policy.allows(&headers(Some("http://evil.example"), "localhost:3000")));
        assert!(!policy.allows(&headers(Some("http://localhost:3001"), "localhost:3000")));
        assert!(!policy.allows(&headers(Some("null"), "localhost:3000")));
        assert!(policy.allows(&headers(None, "localhost:3000")));
    }

    #[test]
    fn the_allowlist_adds_origins_and_star_allows_any() {
        let policy = OriginPolicy::new(&["https://app.example/".into()]);
        assert!(policy.allows(&headers(Some("https://app.example"), "10.0.0.5:3000")));
        assert!(!policy.allows(&headers(Some("http://app.example"), "10.0.0.5:3000")));
        let any = OriginPolicy::new(&["*".into()]);
        assert!(any.allows(&headers(Some("http://evil.example"), "localhost:3000")));
    }
}
