//! The SMTP client: one connection per message to a relay, plain, STARTTLS or implicit TLS,
//! with optional authentication.

use crate::{error_chain, tls};
use async_trait::async_trait;
use lettre::message::header::{ContentTransferEncoding, ContentType, MIME_VERSION_1_0};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::path::PathBuf;
use std::time::Duration;
use wujing_app::notify::{subject_of, Message, Provider};

/// One message, connection and handshakes included, must be handed over within this.
const TIMEOUT: Duration = Duration::from_secs(20);

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain SMTP: a relay on the local network that handles TLS onwards (port 25).
    #[default]
    None,
    /// Plain connection upgraded with STARTTLS, which is required: a relay that does not offer
    /// it, or a certificate that does not verify, gets no credentials and no mail (port 587).
    StartTls,
    /// TLS from the first byte, the submissions port (465).
    Tls,
}

impl SmtpTls {
    /// The port used when the server names none.
    pub fn default_port(self) -> u16 {
        match self {
            SmtpTls::None => 25,
            SmtpTls::StartTls => 587,
            SmtpTls::Tls => 465,
        }
    }
}

/// How to reach the relay.
#[derive(Debug, Clone, Default)]
pub struct SmtpConfig {
    /// `host:port`, `host` (the mode's usual port), or `[v6 address]:port`.
    pub server: String,
    /// The sender address.
    pub from: String,
    pub tls: SmtpTls,
    /// User name and password for `AUTH` (PLAIN or LOGIN), only over TLS.
    pub credentials: Option<(String, String)>,
    /// Also trust the CA certificates of this PEM file (a private CA).
    pub ca_file: Option<PathBuf>,
}

/// Delivers e-mails through an SMTP relay: a UTF-8 text message (base64 body, encoded
/// subject) from "Wujing <from>", its Message-ID derived from the idempotency key.
pub struct SmtpRelay {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// `host` and port of `server`.
fn split_server(server: &str, tls: SmtpTls) -> Result<(String, u16), String> {
    let bad = || format!("the SMTP server {server:?} is not host:port");
    let (host, port) = if let Some(rest) = server.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(bad)?;
        match after {
            "" => (host, None),
            p => (host, Some(p.strip_prefix(':').ok_or_else(bad)?)),
        }
    } else {
        match server.rsplit_once(':') {
            Some((h, _)) if h.contains(':') => return Err(bad()), // bare IPv6: needs brackets
            Some((h, p)) => (h, Some(p)),
            None => (server, None),
        }
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(bad());
    }
    let port = match port {
        None => tls.default_port(),
        Some(p) => p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(bad)?,
    };
    Ok((host.to_string(), port))
}

impl SmtpRelay {
    /// Checks the settings and the CA file and builds the transport; connects to nothing.
    pub fn new(cfg: &SmtpConfig) -> Result<Self, String> {
        tls::init();
        let (host, port) = split_server(&cfg.server, cfg.tls)?;
        let from: Address = cfg
            .from
            .parse()
            .map_err(|e| format!("the sender address {:?}: {e}", cfg.from))?;
        if cfg.credentials.is_some() && cfg.tls == SmtpTls::None {
            return Err(
                "SMTP authentication needs TLS (starttls or tls): the password would cross the network in clear"
                    .into(),
            );
        }
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(port)
            .hello_name(ClientId::Domain("wujing".into()))
            .timeout(Some(TIMEOUT));
        if cfg.tls != SmtpTls::None {
            let mut params = TlsParameters::builder(host);
            if let Some(path) = &cfg.ca_file {
                let pem = tls::read_ca_file(path)?;
                let cert = Certificate::from_pem(&pem)
                    .map_err(|e| format!("the CA file {}: {e}", path.display()))?;
                params = params.add_root_certificate(cert);
            }
            let params = params
                .build_rustls()
                .map_err(|e| format!("cannot set up TLS for the SMTP relay: {e}"))?;
            builder = builder.tls(match cfg.tls {
                SmtpTls::StartTls => Tls::Required(params),
                _ => Tls::Wrapper(params),
            });
        }
        if let Some((user, password)) = &cfg.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Self {
            transport: builder.build(),
            from: Mailbox::new(Some("Wujing".into()), from),
        })
    }

    fn compose(&self, m: &Message) -> Result<lettre::Message, String> {
        let to: Address = m
            .recipient
            .parse()
            .map_err(|e| format!("the recipient address is not valid: {e}"))?;
        lettre::Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, to))
            .subject(subject_of(m))
            .message_id(Some(format!(
                "<{}@wujing>",
                m.idempotency_key.replace([':', '<', '>'], ".")
            )))
            .header(MIME_VERSION_1_0)
            .header(ContentType::TEXT_PLAIN)
            .header(ContentTransferEncoding::Base64)
            .body(m.body.clone())
            .map_err(|e| format!("cannot compose the e-mail: {e}"))
    }
}

#[async_trait]
impl Provider for SmtpRelay {
    async fn send(&self, m: &Message) -> Result<(), String> {
        let mail = self.compose(m)?;
        match tokio::time::timeout(TIMEOUT, self.transport.send(mail)).await {
            Err(_) => Err("the relay timed out".into()),
            Ok(Err(e)) => Err(format!("the relay: {}", error_chain(&e))),
            Ok(Ok(_)) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers() {
        let ok = |s, t| split_server(s, t).unwrap();
        assert_eq!(ok("relay:2525", SmtpTls::None), ("relay".into(), 2525));
        assert_eq!(ok("relay", SmtpTls::None), ("relay".into(), 25));
        assert_eq!(ok("relay", SmtpTls::StartTls), ("relay".into(), 587));
        assert_eq!(ok("relay", SmtpTls::Tls), ("relay".into(), 465));
        assert_eq!(ok("[::1]:25", SmtpTls::Tls), ("::1".into(), 25));
        assert_eq!(ok("[::1]", SmtpTls::Tls), ("::1".into(), 465));
        for bad in [
            "", ":25", "relay:", "relay:x", "relay:0", "::1:25", "[::1]x", "a b:25",
        ] {
            assert!(split_server(bad, SmtpTls::None).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn no_password_in_clear() {
        let cfg = SmtpConfig {
            server: "relay:25".into(),
            from: "noreply@wujing.test".into(),
            credentials: Some(("u".into(), "p".into())),
            ..Default::default()
        };
        assert!(SmtpRelay::new(&cfg).err().unwrap().contains("needs TLS"));
        let cfg = SmtpConfig {
            tls: SmtpTls::StartTls,
            ..cfg
        };
        assert!(SmtpRelay::new(&cfg).is_ok());
        let cfg = SmtpConfig {
            from: "not an address".into(),
            ..cfg
        };
        assert!(SmtpRelay::new(&cfg).is_err());
    }
}
