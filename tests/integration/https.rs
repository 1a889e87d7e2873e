//! HTTPS and `wss:` (SPEC 9): a self-signed certificate made at start-up, the
//! app's own certificate files, and a configuration that names only one.

use crate::support::browser::Browser;
use crate::support::{Server, copy_fixture};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;

fn enable_ssl(app: &Path, ssl: serde_json::Value) {
    let config = json!({
        "hostname": "127.0.0.1", "log": {"level": 1}, "store": "embedded",
        "pack_assets": false, "ssl": ssl
    });
    crate::support::write_environment(app, "secure", config);
}

/// An HTTPS client that trusts exactly `certificate_pem`.
fn client_trusting(certificate_pem: &[u8]) -> reqwest::Client {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(certificate_pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .build()
        .unwrap()
}

async fn square_over_https(client: &reqwest::Client, port: u16) -> String {
    client
        .get(format!("https://localhost:{port}/api/app/square.json?25"))
        .send()
        .await
        .expect("an HTTPS request the certificate verifies")
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn without_files_a_self_signed_certificate_serves_https_and_wss() {
    let app = copy_fixture("basic");
    enable_ssl(app.path(), json!({"enabled": true}));
    let server = Server::start_in(app, &[("SS_ENV", "secure")]);
    server.expect_in_banner(
        "tls          self-signed certificate for localhost (.ssrt/tls/self-signed.crt)",
    );
    server.expect_in_banner("listening    https://127.0.0.1:");

    let certificate = std::fs::read(server.dir.path().join(".ssrt/tls/self-signed.crt")).unwrap();
    // The private key is the owner's alone.
    let key = std::fs::metadata(server.dir.path().join(".ssrt/tls/self-signed.key")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&key.permissions()) & 0o777,
        0o600
    );
    assert_eq!(
        square_over_https(&client_trusting(&certificate), server.port).await,
        "625"
    );
    let plain = reqwest::get(format!("http://127.0.0.1:{}/", server.port)).await;
    assert!(
        plain.is_err() || !plain.unwrap().status().is_success(),
        "no plain HTTP"
    );

    // The page over HTTPS calls the server over wss:.
    let browser = Browser::launch_accepting_any_certificate().await;
    browser.open(&server.url("/")).await;
    browser.wait_for_text("square", "625").await;
    browser
        .wait_for("return location.protocol", json!("https:"))
        .await;
    browser.close().await;

    // The same certificate on the next start, so a browser's exception lasts.
    let server = server.restart(&[("SS_ENV", "secure")]);
    let again = std::fs::read(server.dir.path().join(".ssrt/tls/self-signed.crt")).unwrap();
    assert_eq!(again, certificate);
}

#[tokio::test]
async fn the_apps_own_certificate_files_are_served() {
    let app = copy_fixture("basic");
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    std::fs::create_dir_all(app.path().join("config/ssl")).unwrap();
    std::fs::write(app.path().join("config/ssl/cert.pem"), made.cert.pem()).unwrap();
    std::fs::write(
        app.path().join("config/ssl/key.pem"),
        made.signing_key.serialize_pem(),
    )
    .unwrap();
    enable_ssl(
        app.path(),
        json!({"enabled": true, "cert_file": "config/ssl/cert.pem", "key_file": "config/ssl/key.pem"}),
    );
    let server = Server::start_in(app, &[("SS_ENV", "secure")]);
    server.expect_in_banner("tls          certificate config/ssl/cert.pem");
    let client = client_trusting(made.cert.pem().as_bytes());
    assert_eq!(square_over_https(&client, server.port).await, "625");
    assert!(
        !server.dir.path().join(".ssrt/tls").exists(),
        "no self-signed certificate made"
    );
}

#[test]
fn bad_tls_settings_stop_start_up_with_a_clear_message() {
    for (ssl, expected) in [
        (
            json!({"enabled": true, "cert_file": "cert.pem"}),
            "set both cert_file and key_file",
        ),
        (
            json!({"enabled": true, "cert_file": "nope.pem", "key_file": "nope.key"}),
            "ssl: cannot read",
        ),
    ] {
        let app = copy_fixture("basic");
        enable_ssl(app.path(), ssl);
        let stderr = crate::support::start_refused(app.path(), "secure");
        assert!(stderr.contains(expected), "{stderr}");
    }
}
