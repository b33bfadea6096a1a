//! What both clients share about TLS: the crypto provider and the extra CA file.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::path::Path;

/// Makes *ring* the process's default rustls crypto provider, once. reqwest is built without a
/// provider of its own (aws-lc-rs would add a long C build); lettre picks ring by its feature.
/// A provider installed earlier by someone else stays.
pub(crate) fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The PEM text of an extra CA file, checked to hold at least one certificate: a typo in a path
/// or a file of something else is said at start-up, not at the first message.
pub(crate) fn read_ca_file(path: &Path) -> Result<Vec<u8>, String> {
    let pem = std::fs::read(path)
        .map_err(|e| format!("cannot read the CA file {}: {e}", path.display()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the CA file {} is not PEM: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "the CA file {} holds no certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    Ok(pem)
}
