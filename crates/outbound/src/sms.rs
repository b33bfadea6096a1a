//! The SMS gateway client: one signed JSON POST per message.

use crate::{error_chain, tls};
use async_trait::async_trait;
use std::path::PathBuf;
use std::time::Duration;
use wujing_app::notify::{Message, Provider};

/// A whole request, connection and TLS handshake included, must finish within this.
const TIMEOUT: Duration = Duration::from_secs(10);

/// How to reach the gateway.
#[derive(Debug, Clone)]
pub struct SmsGatewayConfig {
    /// `https://host[:port]/path`, or `http://` for a relay on the local network.
    pub url: String,
    /// The shared HMAC secret.
    pub secret: String,
    /// Also trust the CA certificates of this PEM file (a private CA).
    pub ca_file: Option<PathBuf>,
}

/// Delivers text messages to an SMS gateway: a JSON POST
/// `{"idempotency_key", "to", "text", "topic"}` with the headers `Idempotency-Key` and
/// `X-Wujing-Signature: sha256=<hex HMAC-SHA256(secret, body)>`. Any 2xx answer is a delivery;
/// anything else, including a redirect, is a failure to retry.
pub struct SmsGateway {
    client: reqwest::Client,
    url: reqwest::Url,
    secret: String,
}

impl SmsGateway {
    /// Checks the URL and the CA file and builds the client; connects to nothing.
    pub fn new(cfg: &SmsGatewayConfig) -> Result<Self, String> {
        tls::init();
        let url = reqwest::Url::parse(&cfg.url)
            .map_err(|e| format!("the SMS gateway URL {:?} is not a URL: {e}", cfg.url))?;
        if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
            return Err(format!(
                "the SMS gateway URL {:?} must be https://host/path (or http:// for a relay on the local network)",
                cfg.url
            ));
        }
        let mut builder = reqwest::Client::builder()
            .timeout(TIMEOUT)
            // A gateway that redirects is misconfigured: a POST is not replayed elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            // The gateway is reached directly, as before; no proxy from the environment.
            .no_proxy()
            .user_agent(concat!("wujing/", env!("CARGO_PKG_VERSION")));
        let extra = match &cfg.ca_file {
            Some(path) => reqwest::Certificate::from_pem_bundle(&tls::read_ca_file(path)?)
                .map_err(|e| format!("the CA file {}: {e}", path.display()))?,
            None => Vec::new(),
        };
        builder = if url.scheme() == "https" {
            builder.https_only(true).tls_certs_merge(extra)
        } else {
            // No TLS is spoken (redirects are not followed): the system's trust store is not
            // needed, and a machine without one can still reach a relay on the local network.
            builder.tls_certs_only(extra)
        };
        let client = builder
            .build()
            .map_err(|e| format!("cannot set up the SMS gateway client: {}", error_chain(&e)))?;
        Ok(Self {
            client,
            url,
            secret: cfg.secret.clone(),
        })
    }
}

/// Signs a gateway request body: `sha256=<hex HMAC-SHA256(secret, body)>`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(body);
    format!(
        "sha256={}",
        wujing_domain::audit::hex(&mac.finalize().into_bytes())
    )
}

#[async_trait]
impl Provider for SmsGateway {
    async fn send(&self, m: &Message) -> Result<(), String> {
        let body = serde_json::json!({
            "idempotency_key": m.idempotency_key,
            "to": m.recipient,
            "text": m.body,
            "topic": m.topic,
        })
        .to_string();
        let signature = sign(&self.secret, body.as_bytes());
        let answer = self
            .client
            .post(self.url.clone())
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", &m.idempotency_key)
            .header("X-Wujing-Signature", signature)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    "gateway timed out".to_string()
                } else {
                    format!("gateway: {}", error_chain(&e.without_url()))
                }
            })?;
        let status = answer.status();
        // Read the rest so that the connection can be reused; its content does not matter.
        let _ = answer.bytes().await;
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("gateway answered {}", status.as_u16()))
        }
    }
}
