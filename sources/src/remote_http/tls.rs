//! TLS for `https` and `wss`: the public web roots, plus an extra CA certificate when one is configured
//! (a remote runtime behind a private CA or a self-signed certificate).

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};

use super::RemoteSetupError;

/// A client configuration trusting the web roots and every certificate in `extra_ca` (PEM).
pub(super) fn client_config(extra_ca: Option<&Path>) -> Result<Arc<ClientConfig>, RemoteSetupError> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = extra_ca {
        let pem = std::fs::read(path).map_err(|e| RemoteSetupError::CaFile(e.kind().to_string()))?;
        let mut added = 0;
        for certificate in CertificateDer::pem_slice_iter(&pem) {
            let certificate = certificate.map_err(|_| RemoteSetupError::CaFile("it is not PEM".to_owned()))?;
            roots.add(certificate).map_err(|e| RemoteSetupError::CaFile(e.to_string()))?;
            added += 1;
        }
        if added == 0 {
            return Err(RemoteSetupError::CaFile("it holds no certificate".to_owned()));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| RemoteSetupError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
