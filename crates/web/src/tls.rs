//! Built-in TLS (SEC-5): rustls from a PEM certificate chain and key, and HSTS on every answer.
//! Handshakes run in each connection's own task, with a deadline (`server`).

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

/// Why the TLS certificate and key cannot serve.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("cannot read the TLS certificate {path}: {reason}")]
    Certificate { path: String, reason: String },
    #[error("{0} holds no certificate")]
    NoCertificate(String),
    #[error("cannot read the TLS private key {path}: {reason}")]
    Key { path: String, reason: String },
    #[error("the TLS certificate and key do not fit together: {0}")]
    Mismatch(tokio_rustls::rustls::Error),
}

/// A TLS acceptor from PEM files: the certificate chain (leaf first) and its private key.
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsSetupError> {
    let unreadable = |reason: String| TlsSetupError::Certificate { path: cert.display().to_string(), reason };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| unreadable(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| unreadable(format!("not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(TlsSetupError::NoCertificate(cert.display().to_string()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| TlsSetupError::Key { path: key.display().to_string(), reason: e.to_string() })?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsSetupError::Mismatch)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(TlsSetupError::Mismatch)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// HSTS: browsers that saw Custos over TLS never use plain HTTP for it again.
pub async fn hsts(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    response
        .headers_mut()
        .insert("strict-transport-security", HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    response
}
