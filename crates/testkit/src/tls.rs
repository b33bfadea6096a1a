//! Self-signed certificates for the fakes of TLS servers (an HTTPS gateway, an SMTP relay).

use rand::Rng;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::PathBuf;
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

/// A fresh self-signed certificate for `127.0.0.1` and `localhost`, and its PEM in a temporary
/// file (removed on drop): the "CA file" a client is told to trust. Another `TestCert`'s file
/// does not vouch for this one.
pub struct TestCert {
    /// The certificate in PEM.
    pub pem: String,
    /// A file holding `pem`.
    pub ca_file: PathBuf,
    config: Arc<rustls::ServerConfig>,
}

impl TestCert {
    pub fn new() -> Self {
        let n: u64 = rand::thread_rng().gen();
        let mut params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
                .expect("certificate parameters");
        // A name of its own, so that another test certificate is an unknown issuer to it.
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("wujing test {n:016x}"));
        let signing_key = rcgen::KeyPair::generate().expect("a key pair");
        let cert = params.self_signed(&signing_key).expect("a certificate");
        let pem = cert.pem();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(signing_key.serialize_der()));
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![CertificateDer::from(cert.der().to_vec())], key)
        .expect("a server configuration");
        let ca_file = std::env::temp_dir().join(format!("wujing-test-ca-{n:016x}.pem"));
        std::fs::write(&ca_file, &pem).expect("write the CA file");
        Self {
            pem,
            ca_file,
            config: Arc::new(config),
        }
    }

    /// Accepts TLS connections with this certificate.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.config.clone())
    }
}

impl Default for TestCert {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestCert {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.ca_file);
    }
}
