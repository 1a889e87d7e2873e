//! The asset pipeline over HTTP (SPEC 8): live compiling in development,
//! compile errors that name the file and line without stopping the server,
//! and packing for production (names, minifying, compressed copies, cache
//! headers, re-packing on change).

use crate::support::{PATIENCE, Server, copy_fixture, eventually};
use std::path::Path;

async fn get(url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("request")
}

async fn text(url: &str) -> String {
    get(url, &[]).await.text().await.expect("body")
}

/// Polls `url` until its body satisfies `done` (files change under a watcher).
async fn wait_for_body(url: &str, done: impl Fn(&str) -> bool) -> String {
    let what = format!("a change to {url}");
    eventually(PATIENCE, &what, async || text(url).await, |body| done(body)).await
}

fn packed_files(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("public/assets"))
        .expect("public/assets")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn development_compiles_each_asset_on_request() {
    let server = Server::start();
    let page = get(&server.url("/"), &[]).await;
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let page = page.text().await.unwrap();
    assert!(
        page.starts_with("<!DOCTYPE html><html><head><title>ssrt fixture</title>"),
        "{page}"
    );
    assert!(page.contains(r#"<h1 class="title">Fixture</h1>"#), "{page}");
    assert!(
        page.contains(r#"<script src="/client/app.coffee" type="text/javascript"></script><script src="/client/clock.coffee""#),
        "{page}"
    );

    let app = get(&server.url("/client/app.coffee"), &[]).await;
    assert_eq!(
        app.headers()["content-type"],
        "application/javascript; charset=utf-8"
    );
    assert_eq!(app.headers()["cache-control"], "no-cache");
    let app = app.text().await.unwrap();
    assert!(app.starts_with("(function() {\n  window.app = {"), "{app}");

    let css = text(&server.url("/css/app.styl")).await;
    assert!(
        css.contains("body h1 {\n  -webkit-border-radius: 4px;"),
        "{css}"
    );

    let lib = text(&server.url("/_ssrt/lib.js")).await;
    assert!(
        lib.starts_with("window.SSRT_API_GENERATION = \"0.0.36\";\n// The ssrt browser client"),
        "{lib}"
    );
    assert!(
        lib.contains("})();\n(function() {\n  window.format"),
        "{lib}"
    );

    for missing in [
        "/client/nothing.coffee",
        "/client/..%2f..%2fconfig%2fapp.json",
        "/shared/x.js",
    ] {
        assert_eq!(
            get(&server.url(missing), &[]).await.status(),
            404,
            "{missing}"
        );
    }
}

#[tokio::test]
async fn development_compile_errors_name_the_file_and_line_and_the_server_keeps_going() {
    let dir = copy_fixture("basic");
    std::fs::write(dir.path().join("app/client/clock.coffee"), "x = 1\ny = (\n").unwrap();
    std::fs::write(
        dir.path().join("app/css/helpers.styl"),
        "body\n  color red\n  a\n   ::: x\n",
    )
    .unwrap();
    let server = Server::start_in(dir, &[]);

    let script = text(&server.url("/client/clock.coffee")).await;
    assert!(
        script.starts_with("console.error(\"ssrt: cannot compile \" + \"app/client/clock.coffee:"),
        "{script}"
    );
    let css = text(&server.url("/css/app.styl")).await;
    assert!(css.contains("html::before { content: \""), "{css}");
    assert!(css.contains("app/css/helpers.styl:4"), "{css}");

    // Everything else still works, and the log names the file.
    assert!(
        text(&server.url("/client/app.coffee"))
            .await
            .contains("window.app")
    );
    let mut client = server.client().await;
    // A stylesheet cannot log to the browser console; the socket does.
    let (code, message) = crate::support::error_of(&client.next_frame().await);
    assert_eq!(code, "compile_error");
    assert!(message.contains("app/css/helpers.styl:4"), "{message}");
    assert_eq!(client.reply("app.square", serde_json::json!(5)).await, 25);
    let log = server.output();
    assert!(
        log.contains("app/client/clock.coffee:2:5: missing )"),
        "{log}"
    );
    assert!(log.contains("app/css/helpers.styl:4\n"), "{log}");
}

#[tokio::test]
async fn a_broken_page_shows_its_error_and_recovers_when_fixed() {
    let dir = copy_fixture("basic");
    let root = dir.path().to_path_buf();
    let good = std::fs::read_to_string(root.join("app/views/app.jade")).unwrap();
    std::fs::write(
        root.join("app/views/app.jade"),
        "html\n  body\n    p= missing.value\n",
    )
    .unwrap();
    let server = Server::start_in(dir, &[]);

    let page = get(&server.url("/"), &[]).await;
    assert_eq!(page.status(), 500);
    let page = page.text().await.unwrap();
    assert!(page.contains("app/views/app.jade:3"), "{page}");
    assert!(
        page.contains(r#"<script src="/_ssrt/lib.js">"#),
        "the live reload stays: {page}"
    );

    std::fs::write(root.join("app/views/app.jade"), good).unwrap();
    wait_for_body(&server.url("/"), |body| {
        body.contains("<h1 class=\"title\">")
    })
    .await;
}

#[tokio::test]
async fn development_serves_edits_without_a_restart() {
    let dir = copy_fixture("basic");
    let root = dir.path().to_path_buf();
    let server = Server::start_in(dir, &[]);
    let url = server.url("/client/clock.coffee");
    assert!(!text(&url).await.contains("edited"));
    std::fs::write(root.join("app/client/clock.coffee"), "app.edited = true\n").unwrap();
    wait_for_body(&url, |body| body.contains("app.edited = true;")).await;
}

#[tokio::test]
async fn production_packs_minifies_and_compresses_once_at_start_up() {
    let dir = copy_fixture("basic");
    let root = dir.path().to_path_buf();
    std::fs::create_dir_all(root.join("public/assets")).unwrap();
    for stale in ["app_1.js", "app_1.js.gz", "lib_1.css", "logo.png"] {
        std::fs::write(root.join("public/assets").join(stale), "old").unwrap();
    }
    let server = Server::start_in(dir, &[("SS_ENV", "staging")]);
    server.expect_in_banner("assets       packed into public/assets in ");

    let files = packed_files(&root);
    assert_eq!(
        files.len(),
        13,
        "four packs, a .gz and a .br each, and logo.png: {files:?}"
    );
    assert!(
        files.contains(&"logo.png".to_owned()),
        "only packs are removed"
    );
    let stamp = files[0]
        .trim_start_matches("app_")
        .split('.')
        .next()
        .unwrap()
        .to_owned();
    for base in ["lib_{}.js", "app_{}.js", "lib_{}.css", "app_{}.css"] {
        let name = base.replace("{}", &stamp);
        for suffix in ["", ".gz", ".br"] {
            assert!(
                files.contains(&format!("{name}{suffix}")),
                "{name}{suffix} in {files:?}"
            );
        }
    }

    let index = std::fs::read_to_string(root.join("public/index.html")).unwrap();
    assert!(
        index.contains(&format!(r#"<script src="/assets/lib_{stamp}.js""#)),
        "{index}"
    );
    assert!(
        index.contains(&format!(r#"<link href="/assets/app_{stamp}.css""#)),
        "{index}"
    );
    let page = get(&server.url("/"), &[]).await;
    assert_eq!(page.headers()["cache-control"], "no-cache");
    assert_eq!(page.text().await.unwrap(), index);

    let lib = text(&server.url(&format!("/assets/lib_{stamp}.js"))).await;
    assert!(
        lib.contains("\nwindow.tiny = function ( word ) { return \"tiny \" + word };"),
        ".min untouched: {lib}"
    );
    assert!(lib.contains("})();;\n"), "a `;` after each .js file: {lib}");
    assert!(
        !lib.contains("// The ssrt browser client"),
        "minified: {lib}"
    );
    let css = text(&server.url(&format!("/assets/app_{stamp}.css"))).await;
    assert_eq!(
        css,
        "body{color:#369;font-family:sans-serif}body h1{-webkit-border-radius:4px;border-radius:4px}"
    );

    let url = server.url(&format!("/assets/app_{stamp}.js"));
    let plain = get(&url, &[]).await;
    assert_eq!(
        plain.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = plain.bytes().await.unwrap();
    for (accept, encoding) in [("gzip", "gzip"), ("br", "br"), ("gzip, br", "br")] {
        let response = get(&url, &[("accept-encoding", accept)]).await;
        assert_eq!(response.headers()["content-encoding"], encoding, "{accept}");
        assert!(response.bytes().await.unwrap().len() < plain.len());
    }
}

#[tokio::test]
async fn production_repacks_when_a_library_changes() {
    let dir = copy_fixture("basic");
    let root = dir.path().to_path_buf();
    let server = Server::start_in(dir, &[("SS_ENV", "staging")]);
    let before = packed_files(&root);
    std::fs::write(root.join("lib/css/reset.css"), "h2 { margin: 0px }\n").unwrap();
    let index = wait_for_body(&server.url("/"), |body| {
        !before.iter().any(|name| body.contains(name.as_str()))
    })
    .await;
    let lib_css = index
        .split("/assets/")
        .find_map(|part| {
            part.split('"')
                .next()
                .filter(|name| name.starts_with("lib_") && name.ends_with(".css"))
        })
        .expect("a lib stylesheet link")
        .to_owned();
    assert_eq!(
        text(&server.url(&format!("/assets/{lib_css}"))).await,
        "h2{margin:0}\n"
    );
    assert_eq!(packed_files(&root).len(), 12, "the old pack is gone");
}

#[tokio::test]
async fn a_compile_error_at_pack_time_stops_start_up_naming_the_file() {
    let dir = copy_fixture("basic");
    std::fs::write(
        dir.path().join("lib/client/4.broken.js"),
        "var ok = 1;\nvar = ;\n",
    )
    .unwrap();
    let stderr = crate::support::start_refused(dir.path(), "staging");
    assert!(
        stderr.contains("packing the assets failed: lib/client/4.broken.js:2: "),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("4.broken.js").count(),
        1,
        "said once: {stderr}"
    );
}

#[tokio::test]
async fn an_app_without_a_page_or_stylesheet_still_starts_packed() {
    let dir = copy_fixture("basic");
    std::fs::remove_file(dir.path().join("app/views/app.jade")).unwrap();
    std::fs::remove_dir_all(dir.path().join("app/css")).unwrap();
    let server = Server::start_in(dir, &[("SS_ENV", "staging")]);
    server.expect_in_banner("packed into public/assets");
    let mut client = server.client().await;
    assert_eq!(client.reply("app.square", serde_json::json!(6)).await, 36);
    assert_eq!(get(&server.url("/"), &[]).await.status(), 404);
    assert!(!server.dir.path().join("public/index.html").exists());
}

/// CoffeeScript that 1.1 (SocketStream 0.1–0.2's compiler) accepted and 1.12
/// rejects: a `###` block comment left open to the end of the file.
const OPEN_COMMENT: &str = "###\nleft open, as real apps of the era did\n";

#[tokio::test]
async fn a_file_only_coffeescript_1_1_accepts_is_compiled_with_it_and_named_in_a_warning() {
    let app = copy_fixture("basic");
    let server_file =
        format!("exports.actions =\n  era: (cb) -> cb 'compiled by 1.1'\n{OPEN_COMMENT}");
    std::fs::write(app.path().join("app/server/era.coffee"), server_file).unwrap();
    let client_file = format!("window.era = 'client 1.1'\n{OPEN_COMMENT}");
    std::fs::write(app.path().join("app/client/era.coffee"), client_file).unwrap();
    // Rejected by both compilers: still an error naming the file.
    std::fs::write(app.path().join("app/client/broken.coffee"), "x = (]\n").unwrap();
    let server = Server::start_in(app, &[]);
    server.expect_in_banner(
        "app/server/era.coffee:3: CoffeeScript 1.12 rejects this file (unexpected #); \
             compiled it with CoffeeScript 1.1",
    );
    let mut client = server.client().await;
    assert_eq!(
        client.reply("era.era", serde_json::json!(null)).await,
        "compiled by 1.1"
    );

    let js = text(&server.url("/client/era.coffee")).await;
    assert!(js.contains("window.era = 'client 1.1';"), "{js}");
    server.wait_for_output("app/client/era.coffee:2: CoffeeScript 1.12 rejects this file");
    let broken = text(&server.url("/client/broken.coffee")).await;
    assert!(broken.contains("app/client/broken.coffee:1:"), "{broken}");
}

#[tokio::test]
async fn a_less_or_css_stylesheet_serves_when_there_is_no_stylus_one() {
    let dir = copy_fixture("basic");
    let css_dir = dir.path().join("app/css");
    std::fs::remove_file(css_dir.join("app.styl")).unwrap();
    std::fs::write(
        css_dir.join("app.less"),
        "@import \"colors.less\";\n.rounded(@r: 2px) { border-radius: @r; }\nh1 { color: @brand; .rounded(4px); }\n",
    )
    .unwrap();
    std::fs::write(css_dir.join("colors.less"), "@brand: #336699;\n").unwrap();
    let server = Server::start_in(dir, &[]);
    let css = text(&server.url("/css/app.styl")).await;
    assert_eq!(css, "h1 {\n  color: #336699;\n  border-radius: 4px;\n}\n");

    // A Less error names the file and line.
    let dir = server.dir.path();
    std::fs::write(
        dir.join("app/css/app.less"),
        "h1 {\n  color: @nowhere;\n}\n",
    )
    .unwrap();
    wait_for_body(&server.url("/css/app.styl"), |css| {
        css.contains("app/css/app.less:2") && css.contains("@nowhere")
    })
    .await;

    // Plain CSS, as it is.
    std::fs::remove_file(dir.join("app/css/app.less")).unwrap();
    std::fs::write(dir.join("app/css/app.css"), "p { margin: 0 }\n").unwrap();
    wait_for_body(&server.url("/css/app.styl"), |css| {
        css == "p { margin: 0 }\n"
    })
    .await;
}
