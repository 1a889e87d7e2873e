//! The asset compilers (npm's CoffeeScript, Jade 0.10 and Stylus 0.13) in
//! their own engine: 2011-era syntax, `@import`, and errors that name the
//! file and line.

use serde_json::json;
use ssrt_runtime::{CompileError, Compiler, SourceKind};
use std::path::Path;

fn compiler(root: &Path) -> Compiler {
    Compiler::new(root, None)
}

#[tokio::test]
async fn coffee_compiles_each_file_in_its_own_closure() {
    let dir = tempfile::tempdir().unwrap();
    let compiler = compiler(dir.path());
    let js = compiler
        .compile(
            SourceKind::Coffee,
            "window.app =\n  square: (n) -> n * n\nhidden = 1\n".into(),
            &dir.path().join("app/client/app.coffee"),
            json!({}),
        )
        .await
        .unwrap();
    assert!(js.starts_with("(function() {"), "{js}");
    assert!(js.contains("var hidden;"), "{js}");
    assert!(js.contains("return n * n;"), "{js}");
}

#[tokio::test]
async fn coffee_errors_name_the_file_relative_to_the_app_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let compiler = compiler(dir.path());
    let error = compiler
        .compile(
            SourceKind::Coffee,
            "x = 1\ny = 2\nz = )\n".into(),
            &dir.path().join("app/client/broken.coffee"),
            json!({}),
        )
        .await
        .unwrap_err();
    let message = rejected(error);
    assert!(
        message.starts_with("app/client/broken.coffee:3:"),
        "{message}"
    );
}

#[tokio::test]
async fn jade_of_2011_takes_colon_attributes_the_doctype_and_unescaped_locals() {
    let dir = tempfile::tempdir().unwrap();
    let compiler = compiler(dir.path());
    let source = "!!! 5\nhtml\n  head\n    != SocketStream\n  body\n    a(href: '/x', class: 'big') Go\n    p(title=\"t\")= name\n";
    let html = compiler
        .compile(
            SourceKind::Jade,
            source.into(),
            &dir.path().join("app/views/app.jade"),
            json!({"locals": {"SocketStream": "<script src=\"/a.js\"></script>", "name": "a<b"}}),
        )
        .await
        .unwrap();
    assert_eq!(
        html,
        "<!DOCTYPE html><html><head><script src=\"/a.js\"></script></head>\
         <body><a href=\"/x\" class=\"big\">Go</a><p title=\"t\">a&lt;b</p></body></html>"
    );
}

#[tokio::test]
async fn jade_errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let compiler = compiler(dir.path());
    let error = compiler
        .compile(
            SourceKind::Jade,
            "html\n  body\n    p= missing.value\n".into(),
            &dir.path().join("app/views/app.jade"),
            json!({}),
        )
        .await
        .unwrap_err();
    let message = rejected(error);
    assert!(message.starts_with("app/views/app.jade:3"), "{message}");
}

#[tokio::test]
async fn stylus_imports_mixins_variables_and_nesting() {
    let dir = tempfile::tempdir().unwrap();
    let css_dir = dir.path().join("app/css");
    std::fs::create_dir_all(&css_dir).unwrap();
    std::fs::write(
        css_dir.join("helpers.styl"),
        "brand = #336699\nrounded(r)\n  -webkit-border-radius r\n  border-radius r\n",
    )
    .unwrap();
    let source = "@import 'helpers'\nbody\n  color brand\n  a\n    rounded(3px)\n";
    let css = compiler(dir.path())
        .compile(
            SourceKind::Stylus,
            source.into(),
            &css_dir.join("app.styl"),
            json!({"paths": [css_dir]}),
        )
        .await
        .unwrap();
    assert!(css.contains("body {\n  color: #369;\n}"), "{css}");
    assert!(
        css.contains("body a {\n  -webkit-border-radius: 3px;\n  border-radius: 3px;\n}"),
        "{css}"
    );
}

#[tokio::test]
async fn stylus_errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let css_dir = dir.path().join("app/css");
    let error = compiler(dir.path())
        .compile(
            SourceKind::Stylus,
            "body\n  color red\n  a\n   ::: x\n".into(),
            &css_dir.join("app.styl"),
            json!({"paths": [css_dir]}),
        )
        .await
        .unwrap_err();
    let message = rejected(error);
    assert!(message.starts_with("app/css/app.styl:4"), "{message}");
}

#[tokio::test]
async fn a_released_engine_starts_again_on_the_next_compile() {
    let dir = tempfile::tempdir().unwrap();
    let compiler = compiler(dir.path());
    let path = dir.path().join("app/client/a.coffee");
    let first = compiler
        .compile(SourceKind::Coffee, "a = 1\n".into(), &path, json!({}))
        .await;
    compiler.release();
    let second = compiler
        .compile(SourceKind::Coffee, "a = 1\n".into(), &path, json!({}))
        .await;
    assert_eq!(first.unwrap(), second.unwrap());
}

/// The compiler's own message, for a source it rejected.
fn rejected(error: CompileError) -> String {
    match error {
        CompileError::Rejected(message) => message,
        other => panic!("expected the compiler to reject the source, got: {other}"),
    }
}
