//! HTTPS and `wss:` (SPEC 9): rustls with the app's certificate files, or a
//! self-signed certificate made with rcgen and kept in `.ssrt/tls` so that a
//! browser's exception for it lasts across restarts.

use axum_server::tls_rustls::RustlsConfig;
use ssrt_project::{Project, SslSettings};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("ssl: set both cert_file and key_file, or neither (for a self-signed certificate)")]
    HalfConfigured,
    #[error("ssl: cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("ssl: {} holds no {what} in PEM form", path.display())]
    NoPem { path: PathBuf, what: &'static str },
    #[error("ssl: the certificate and key do not make a TLS configuration: {0}")]
    Config(#[from] rustls::Error),
    #[error("ssl: cannot make a self-signed certificate: {0}")]
    SelfSigned(#[from] rcgen::Error),
    #[error("ssl: cannot keep the self-signed certificate in {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A TLS configuration and where its certificate came from, for the banner.
pub struct Tls {
    pub config: RustlsConfig,
    pub description: String,
}

/// The app's TLS setup: its files when configured, else the self-signed one.
pub fn load(project: &Project, ssl: &SslSettings) -> Result<Tls, TlsError> {
    let root = project.root();
    let (cert, key, description) = match (&ssl.cert_file, &ssl.key_file) {
        (Some(cert), Some(key)) => (
            root.join(cert),
            root.join(key),
            format!("certificate {cert}"),
        ),
        (None, None) => {
            let (cert, key) = self_signed(&project.ssrt_dir().join("tls"))?;
            let shown = cert
                .strip_prefix(root)
                .unwrap_or(&cert)
                .display()
                .to_string();
            (
                cert,
                key,
                format!("self-signed certificate for localhost ({shown}); browsers will warn"),
            )
        }
        _ => return Err(TlsError::HalfConfigured),
    };
    let certs = read_certs(&cert)?;
    let key = read_key(&key)?;
    // Name the crypto provider: other crates may compile in a second one.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Tls {
        config: RustlsConfig::from_config(Arc::new(config)),
        description,
    })
}

/// `self-signed.{crt,key}` in `dir` (`.ssrt/tls`), made on first use for `localhost`,
/// `127.0.0.1` and `::1`.
fn self_signed(dir: &Path) -> Result<(PathBuf, PathBuf), TlsError> {
    let (cert, key) = (dir.join("self-signed.crt"), dir.join("self-signed.key"));
    if cert.is_file() && key.is_file() {
        return Ok((cert, key));
    }
    let names = [
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let made = rcgen::generate_simple_self_signed(names)?;
    // The key is readable by its owner alone, like ssh's.
    let write = |path: &Path, text: String, mode: u32| {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(path)
            .and_then(|mut file| file.write_all(text.as_bytes()))
            .map_err(|source| TlsError::Write {
                path: path.to_path_buf(),
                source,
            })
    };
    std::fs::create_dir_all(dir).map_err(|source| TlsError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    write(&cert, made.cert.pem(), 0o644)?;
    write(&key, made.signing_key.serialize_pem(), 0o600)?;
    Ok((cert, key))
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn read_certs(path: &Path) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, TlsError> {
    use rustls::pki_types::pem::PemObject;
    let pem = read(path)?;
    let certs: Vec<_> = rustls::pki_types::CertificateDer::pem_slice_iter(&pem)
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(TlsError::NoPem {
            path: path.to_path_buf(),
            what: "certificate",
        });
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<rustls::pki_types::PrivateKeyDer<'static>, TlsError> {
    use rustls::pki_types::pem::PemObject;
    let pem = read(path)?;
    rustls::pki_types::PrivateKeyDer::from_pem_slice(&pem).map_err(|_| TlsError::NoPem {
        path: path.to_path_buf(),
        what: "private key",
    })
}
