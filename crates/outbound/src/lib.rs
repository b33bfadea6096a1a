//! Outbound adapters: the clients that carry the outbox's messages off the machine.
//!
//! `wujing-app` owns the notification port (`notify::Provider`, the outbox and its dispatcher)
//! and knows no network protocol; this crate implements the port for the real providers, so
//! that their libraries (an HTTP client, an SMTP client, TLS) are compiled into the binary
//! without reaching the use cases, and can be swapped or faked without touching them:
//!
//! - [`sms::SmsGateway`]: a JSON POST per message to an SMS platform over HTTPS (or plain
//!   HTTP to a relay on the local network), signed with HMAC-SHA256 (`reqwest`).
//! - [`mail::SmtpRelay`]: e-mail through an SMTP relay, plain, STARTTLS or implicit TLS, with
//!   optional authentication (`lettre`).
//! - [`loopback::LoopbackPoster`]: the simulated payment provider's signed notifications, an
//!   HTTP POST to this server's own callback route on a loopback address (`reqwest`).
//!
//! The composition root (`wujing serve`, and the tests) builds them from configuration and
//! hands them to `App::with_sms_provider` / `App::with_mail_provider`; without them the app
//! prints messages to the console.
//!
//! TLS is rustls with the *ring* provider. Servers are verified against the operating
//! system's trust store (rustls-platform-verifier: on Linux the system bundle, as read by
//! rustls-native-certs) plus, when configured, the certificates of one extra PEM file (a
//! private CA, or a test's self-signed certificate).

pub mod loopback;
pub mod mail;
pub mod sms;
mod tls;

pub use mail::{SmtpConfig, SmtpRelay, SmtpTls};
pub use sms::{sign, SmsGateway, SmsGatewayConfig};

/// An error and its causes on one line (`a: b: c`), for `last_error` and the logs: the
/// library errors' own `Display` often names only the outermost step.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let s = c.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cause = c.source();
    }
    out
}
