//! TLS for the broker connection: rustls with the `ring` crypto provider, chosen explicitly.
//!
//! Why ring: rumqttc's default `use-rustls` feature pulls `aws-lc-rs`, whose `aws-lc-sys`
//! needs cmake and a C toolchain that complicate cross-compiling for aarch64 boxes. ring is
//! small, builds with `cc` only, and covers what MQTT over TLS needs (TLS 1.2/1.3, ECDHE,
//! AES-GCM, ChaCha20). The provider is handed to rustls directly
//! (`ClientConfig::builder_with_provider`), so no process-wide default has to be installed
//! and no second provider can be picked by accident.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rumqttc::{TlsConfiguration, Transport};
use rustls::ClientConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Certificate files for a TLS connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM file of the CA certificate(s) the broker's certificate must chain to.
    pub ca: PathBuf,
    /// PEM client certificate chain and key, for brokers that authenticate clients by
    /// certificate.
    pub client: Option<(PathBuf, PathBuf)>,
}

/// Why the TLS setup failed.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or parsed.
    #[error("{path}: {message}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

fn pem_err(path: &Path, e: impl std::fmt::Display) -> TlsError {
    TlsError::Pem {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_err(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_err(path, e))?;
    if certs.is_empty() {
        return Err(pem_err(path, "no certificate in file"));
    }
    Ok(certs)
}

/// The rustls client configuration for `files`.
pub fn client_config(files: &TlsFiles) -> Result<ClientConfig, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs(&files.ca)? {
        roots.add(cert)?;
    }
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots);
    Ok(match &files.client {
        Some((cert, key)) => {
            let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| pem_err(key, e))?;
            builder.with_client_auth_cert(certs(cert)?, key_der)?
        }
        None => builder.with_no_client_auth(),
    })
}

/// The rumqttc transport for `files`.
pub fn transport(files: &TlsFiles) -> Result<Transport, TlsError> {
    Ok(Transport::tls_with_config(TlsConfiguration::Rustls(
        Arc::new(client_config(files)?),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_or_empty_pem_files_are_named_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        let files = TlsFiles {
            ca: dir.path().join("none.pem"),
            client: None,
        };
        let err = client_config(&files).unwrap_err();
        assert!(err.to_string().contains("none.pem"), "{err}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let err = client_config(&TlsFiles {
            ca: empty,
            client: None,
        })
        .unwrap_err();
        assert!(err.to_string().contains("no certificate"), "{err}");
    }
}
