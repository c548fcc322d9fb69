//! TLS client configuration shared by the IMAP source and the SMTP sender.
//!
//! One crypto provider (ring) is chosen explicitly so that no other provider
//! linked in by a dependency can make `ClientConfig::builder()` ambiguous.
//! Trust: the Mozilla roots from `webpki-roots`, plus an optional PEM CA file
//! from the config (private CAs, test servers).

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::rustls::{self, pki_types::ServerName, ClientConfig, RootCertStore};

/// A TLS setup problem.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The CA file could not be read or holds no certificate.
    #[error("CA file {path}: {reason}")]
    CaFile {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The host name is not valid for TLS.
    #[error("{0:?} is not a valid TLS server name")]
    ServerName(String),
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Build a client config trusting the public roots and `ca_file`.
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| TlsError::CaFile {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let mut added = 0;
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            let cert = cert.map_err(|e| TlsError::CaFile {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            roots.add(cert).map_err(|e| TlsError::CaFile {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            added += 1;
        }
        if added == 0 {
            return Err(TlsError::CaFile {
                path: path.display().to_string(),
                reason: "no PEM certificate found".into(),
            });
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

/// The server name to verify for `host`.
pub fn server_name(host: &str) -> Result<ServerName<'static>, TlsError> {
    ServerName::try_from(host.to_string()).map_err(|_| TlsError::ServerName(host.to_string()))
}
