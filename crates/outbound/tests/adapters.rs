//! The adapters against fakes on loopback, without the app: implicit TLS and authentication
//! to an SMTP relay, and the configurations refused before anything is sent.

use chrono::Utc;
use std::path::PathBuf;
use wujing_app::notify::{Message, Provider};
use wujing_outbound::{sign, SmsGateway, SmsGatewayConfig, SmtpConfig, SmtpRelay, SmtpTls};
use wujing_testkit::smtp::{FakeRelay, RelayOptions, RelayTls};
use wujing_testkit::tls::TestCert;

fn email(to: &str) -> Message {
    Message {
        id: 1,
        idempotency_key: "confirm-mail:B1234".into(),
        channel: "email".into(),
        recipient: to.into(),
        topic: "confirmation".into(),
        body: "[Wujing] Booked: a passport. Booking code B1234.".into(),
        created_at: Utc::now(),
        due_at: Utc::now(),
        attempts: 1,
        delivered_at: None,
        last_error: None,
    }
}

fn relay_client(relay: &FakeRelay, password: &str, ca_file: PathBuf) -> SmtpRelay {
    SmtpRelay::new(&SmtpConfig {
        server: relay.server(),
        from: "noreply@wujing.test".into(),
        tls: SmtpTls::Tls,
        credentials: Some(("wujing".into(), password.into())),
        ca_file: Some(ca_file),
    })
    .unwrap()
}

/// The submissions port: TLS from the first byte, then AUTH PLAIN; a wrong password is a
/// failure to retry, not a delivery.
#[tokio::test]
async fn implicit_tls_and_authentication() {
    let cert = TestCert::new();
    let relay = FakeRelay::start(RelayOptions {
        tls: RelayTls::Implicit(cert.acceptor()),
        credentials: Some(("wujing".into(), "right".into())),
        ..Default::default()
    })
    .await;
    let wrong = relay_client(&relay, "wrong", cert.ca_file.clone());
    let e = wrong.send(&email("zheng@example.test")).await.unwrap_err();
    assert!(e.contains("535"), "{e}");
    let right = relay_client(&relay, "right", cert.ca_file.clone());
    right.send(&email("zheng@example.test")).await.unwrap();
    let log = relay.log();
    assert_eq!((log.tls_sessions, log.tls_failures), (2, 0));
    assert_eq!(
        (log.auth_failures, log.authenticated.clone()),
        (1, vec!["wujing".to_string()])
    );
    assert_eq!(log.mails_secure, [true]);
    let mail = &log.mails[0];
    assert!(
        mail.contains("Subject: [Wujing] Booking confirmed\r\n"),
        "{mail}"
    );
    assert!(
        mail.contains("Message-ID: <confirm-mail.B1234@wujing>\r\n"),
        "{mail}"
    );
    // A recipient the relay cannot be given fails before any connection.
    let before = relay.log().connections;
    assert!(right.send(&email("not an address")).await.is_err());
    assert_eq!(relay.log().connections, before);
}

/// A relay that does not offer STARTTLS gets no mail when STARTTLS is required.
#[tokio::test]
async fn starttls_is_required() {
    let cert = TestCert::new();
    let relay = FakeRelay::start(RelayOptions::default()).await;
    let client = SmtpRelay::new(&SmtpConfig {
        server: relay.server(),
        from: "noreply@wujing.test".into(),
        tls: SmtpTls::StartTls,
        credentials: None,
        ca_file: Some(cert.ca_file.clone()),
    })
    .unwrap();
    assert!(client.send(&email("zheng@example.test")).await.is_err());
    assert!(relay.log().mails.is_empty());
}

/// The signature the gateway checks: HMAC-SHA256 of the body, in hex (RFC 4231 case 2).
#[test]
fn signature() {
    assert_eq!(
        sign("Jefe", b"what do ya want for nothing?"),
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

#[test]
fn configurations_refused_up_front() {
    let cert = TestCert::new();
    let gw = |url: &str, ca_file: Option<PathBuf>| {
        SmsGateway::new(&SmsGatewayConfig {
            url: url.into(),
            secret: "gateway-shared-secret".into(),
            ca_file,
        })
    };
    assert!(gw("https://sms.example.test/send", None).is_ok());
    assert!(gw("http://10.0.0.9:8080/send", None).is_ok());
    assert!(gw("https://sms.example.test/send", Some(cert.ca_file.clone())).is_ok());
    for bad in [
        "ftp://sms.example.test/",
        "sms.example.test/send",
        "https://",
    ] {
        assert!(gw(bad, None).is_err(), "{bad}");
    }
    let missing = std::env::temp_dir().join("wujing-no-such-ca.pem");
    let e = gw("https://sms.example.test/", Some(missing))
        .err()
        .unwrap();
    assert!(e.contains("cannot read the CA file"), "{e}");
    let not_pem = std::env::temp_dir().join(format!("wujing-not-a-ca-{}.pem", std::process::id()));
    std::fs::write(&not_pem, "hello").unwrap();
    let e = gw("https://sms.example.test/", Some(not_pem.clone()))
        .err()
        .unwrap();
    assert!(e.contains("holds no certificate"), "{e}");
    let e = SmtpRelay::new(&SmtpConfig {
        server: "relay.example.test".into(),
        from: "noreply@wujing.test".into(),
        tls: SmtpTls::Tls,
        credentials: None,
        ca_file: Some(not_pem.clone()),
    })
    .err()
    .unwrap();
    assert!(e.contains("holds no certificate"), "{e}");
    let _ = std::fs::remove_file(not_pem);
}
