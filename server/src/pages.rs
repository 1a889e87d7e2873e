//! The HTML that ssrt writes itself: the API index and its errors, the 404,
//! the page shown when a view does not compile, and the fallback for
//! browsers without WebSockets. maud templates, so that every value put in
//! is escaped.

use crate::state::ActionIndex;
use maud::{DOCTYPE, Markup, PreEscaped, html};

/// A whole page: `title`, anything more for the head, and the body.
fn page(title: &str, head: Markup, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html {
            head {
                meta charset="utf-8";
                title { (title) }
                (head)
            }
            body { (body) }
        }
    }
}

/// **(ssrt)** A real index of the HTTP API: every public action, linked, per
/// file; or only `only`'s.
pub fn api_index(prefix: &str, actions: &ActionIndex, only: Option<&str>) -> Markup {
    let files = actions
        .0
        .iter()
        .filter(|(file, _)| only.is_none_or(|only| only == file.as_str()));
    let body = html! {
        h3 { "SocketStream API" }
        p {
            "Call any action as " code { "/" (prefix) "/<file>/<action>.json?params" }
            ", e.g. " code { "/" (prefix) "/app/square.json?25" } "."
        }
        @for (file, described) in files {
            h4 {
                (file)
                @if described.authenticate { " (requires Basic Auth)" }
            }
            ul {
                @for action in &described.actions {
                    @let url = format!("/{prefix}/{file}/{}.json", action.replace('.', "/"));
                    li { a href=(url) { (url) } }
                }
            }
        }
    };
    page("SocketStream API", html! {}, body)
}

/// An HTTP API error, as SocketStream wrote it: a fragment, not a page.
pub fn api_error(message: &str) -> Markup {
    html! {
        h3 { "SocketStream API Error" }
        pre { (message) }
    }
}

/// The HTTP API wants credentials.
pub fn api_unauthorized() -> Markup {
    let body = html! {
        h3 { "SocketStream API Error" }
        p { "Authentication required" }
    };
    page("SocketStream API", html! {}, body)
}

/// A 404 that tells a newcomer what this server does serve.
pub fn not_found(path: &str) -> Markup {
    let body = html! {
        h3 { "Not found: " (path) }
        p { "No such file in " code { "public/" } "." }
    };
    page("Not found", html! {}, body)
}

/// The page, when a view does not compile. It loads the client library
/// (`client_script`), which keeps the live reload working while it is
/// broken, and logs the error in the browser console too.
pub fn compile_error(message: &str, client_script: &str) -> Markup {
    let head = html! {
        script src=(client_script) {}
        script { (PreEscaped(console_error(message))) }
    };
    let body = html! {
        h3 { "ssrt cannot render the page" }
        pre { (message) }
    };
    page("Compile error", head, body)
}

/// `console.error("ssrt: cannot compile " + "<message>")`, for a script
/// element or a script file.
pub fn console_error(message: &str) -> String {
    let quoted = serde_json::Value::from(message).to_string();
    // `</script>` inside the string would end the element.
    let quoted = quoted.replace("</", "<\\/");
    format!("console.error(\"ssrt: cannot compile \" + {quoted});")
}

/// Shown when the app has no incompatible view of its own
/// (`browser_check`).
pub fn browser_not_supported() -> Markup {
    let body = html! {
        h3 { "Sorry, this browser is not supported" }
        p {
            "This app needs a browser with WebSockets: a current Chrome, Firefox, Safari or Edge."
        }
    };
    page("Browser not supported", html! {}, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_goes_in_is_escaped() {
        let html = not_found("/<script>&\"").into_string();
        assert!(
            html.contains("Not found: /&lt;script&gt;&amp;&quot;</h3>"),
            "{html}"
        );
        let html = compile_error("a </script><b>", "/lib.js").into_string();
        assert!(
            html.contains("<pre>a &lt;/script&gt;&lt;b&gt;</pre>"),
            "{html}"
        );
        assert!(html.contains(r#"+ "a <\/script><b>");"#), "{html}");
        assert!(html.starts_with("<!DOCTYPE html><html><head><meta charset=\"utf-8\">"));
    }
}
