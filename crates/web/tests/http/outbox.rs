//! The notification outbox through the outbound adapters, against fakes on loopback: while the
//! SMS gateway fails, messages wait and retry with backoff; afterwards each is accepted exactly
//! once, including one whose first acceptance was answered with an error (the gateway drops
//! the redelivery by its idempotency key). The gateway speaks HTTPS and the relay STARTTLS with
//! self-signed certificates that the clients trust through their CA-file option; a certificate
//! they do not trust gets no message, which stays pending with its backoff.

use super::{applicant, test_config, Harness};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use wujing_app::notify::Provider;
use wujing_app::{App, Clock, Config};
use wujing_outbound::{sign, SmsGateway, SmsGatewayConfig, SmtpConfig, SmtpRelay, SmtpTls};
use wujing_store::DynStore;
use wujing_testkit::both_dialects;
use wujing_testkit::smtp::{FakeRelay, RelayOptions, RelayTls};
use wujing_testkit::tls::TestCert;

pub(crate) const SECRET: &str = "gateway-shared-secret";

/// A harness whose app sends texts and e-mails through these providers (the console where
/// `None`), as `wujing serve` wires them.
pub(crate) async fn harness(
    store: DynStore,
    config: Config,
    sms: Option<Arc<dyn Provider>>,
    mail: Option<Arc<dyn Provider>>,
) -> Harness {
    let mut app = App::new(store.clone(), config, Clock::manual(super::start()));
    if let Some(p) = sms {
        app = app.with_sms_provider(p);
    }
    if let Some(p) = mail {
        app = app.with_mail_provider(p);
    }
    app.load_demo().await.unwrap();
    Harness {
        router: wujing_web::router(app.clone()),
        app,
        store,
    }
}

/// The SMS gateway client for `url`, trusting `ca_file` besides the system's roots.
pub(crate) fn gateway(url: &str, ca_file: Option<&Path>) -> Arc<dyn Provider> {
    Arc::new(
        SmsGateway::new(&SmsGatewayConfig {
            url: url.into(),
            secret: SECRET.into(),
            ca_file: ca_file.map(Path::to_path_buf),
        })
        .unwrap(),
    )
}

#[derive(Default)]
pub(crate) struct Gateway {
    /// Requests to refuse before working.
    pub(crate) down_for: u32,
    /// Refuses every request while this says so (an outage driven by the test's clock).
    pub(crate) down_while: Option<Box<dyn Fn() -> bool + Send>>,
    /// Accept the next new message but answer 500, as if the answer were lost.
    pub(crate) lose_next_answer: bool,
    pub(crate) accepted: HashMap<String, Value>,
    pub(crate) duplicates: u32,
    pub(crate) bad_signatures: u32,
    pub(crate) requests: u32,
    /// TLS handshakes that failed (a client that does not trust the certificate).
    pub(crate) tls_failures: u32,
}

/// Accepts TLS connections for axum; failed handshakes are counted and skipped.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    g: Arc<Mutex<Gateway>>,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            let handshake = self.acceptor.accept(tcp);
            match tokio::time::timeout(std::time::Duration::from_secs(5), handshake).await {
                Ok(Ok(tls)) => return (tls, addr),
                _ => self.g.lock().unwrap().tls_failures += 1,
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// The fake gateway on loopback, over HTTPS with `tls`, else plain HTTP; returns its URL.
pub(crate) async fn start_gateway(
    g: Arc<Mutex<Gateway>>,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> String {
    let state = g.clone();
    let app = axum::Router::new().route(
        "/sms",
        post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let g = state.clone();
            async move {
                let mut g = g.lock().unwrap();
                g.requests += 1;
                let sig = headers
                    .get("x-wujing-signature")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if sig != sign(SECRET, &body) {
                    g.bad_signatures += 1;
                    return StatusCode::UNAUTHORIZED;
                }
                if g.down_for > 0 {
                    g.down_for -= 1;
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                if g.down_while.as_ref().is_some_and(|down| down()) {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                let v: Value = serde_json::from_slice(&body).unwrap();
                let key = headers["idempotency-key"].to_str().unwrap().to_string();
                assert_eq!(v["idempotency_key"], key.as_str());
                if g.accepted.contains_key(&key) {
                    g.duplicates += 1;
                    return StatusCode::OK;
                }
                g.accepted.insert(key, v);
                if g.lose_next_answer {
                    g.lose_next_answer = false;
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                StatusCode::OK
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    match tls {
        Some(acceptor) => {
            let l = TlsListener {
                tcp: l,
                acceptor,
                g,
            };
            tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
            format!("https://{addr}/sms")
        }
        None => {
            tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
            format!("http://{addr}/sms")
        }
    }
}

async fn outbox_exactly_once(store: DynStore) {
    let g = Arc::new(Mutex::new(Gateway {
        down_for: 7,
        lose_next_answer: true,
        ..Default::default()
    }));
    let cert = TestCert::new();
    let url = start_gateway(g.clone(), Some(cert.acceptor())).await;
    assert!(url.starts_with("https://"));
    let sms = gateway(&url, Some(&cert.ca_file));
    let h = harness(store, test_config(), Some(sms), None).await;
    // Three bookings, three confirmations in the outbox.
    let people = [
        ("郑华", "440112200001010139"),
        ("王强", "43010219881111033X"),
        ("陈晓明", "440106198503030116"),
    ];
    let mut codes = Vec::new();
    for (i, (name, id)) in people.iter().enumerate() {
        let business = if i == 2 {
            "hkm_endorsement_g"
        } else {
            "passport_first"
        };
        let slot = h.slot("tianhe", business).await;
        let (s, hold) = h
            .post(
                "/api/v1/holds",
                json!({"slot_id": slot["slot_id"], "business": business}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{hold}");
        let mut body = json!({"hold_id": hold["hold_id"], "applicant": applicant(id, name), "lang": if i == 1 { "en" } else { "zh-CN" }});
        if i == 2 {
            body["answers"] = json!({"option": "3m1"});
        }
        let (s, b) = h.post("/api/v1/bookings", body).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        codes.push(b["code"].as_str().unwrap().to_string());
    }
    // Passes while the gateway is down: nothing delivered, each retry waits its backoff.
    let mut delivered = 0;
    for _ in 0..40 {
        let r = h.app.deliver_due().await.unwrap();
        delivered += r.delivered;
        h.app.clock.advance(chrono::TimeDelta::seconds(30));
        if delivered == 3 {
            break;
        }
    }
    assert_eq!(delivered, 3);
    let seen = std::mem::take(&mut *g.lock().unwrap());
    let g = seen;
    assert_eq!((g.bad_signatures, g.tls_failures), (0, 0));
    assert_eq!(g.accepted.len(), 3, "each message accepted once");
    assert_eq!(
        g.duplicates, 1,
        "the message whose answer was lost came again and was dropped"
    );
    assert!(
        g.requests > 3 + 7,
        "7 refusals, 3 acceptances, 1 redelivery"
    );
    for (i, code) in codes.iter().enumerate() {
        let m = &g.accepted[&format!("confirm:{code}")];
        assert_eq!(m["to"], "13800138000");
        let text = m["text"].as_str().unwrap();
        assert!(text.contains(code.as_str()), "{text}");
        if i == 1 {
            assert!(text.starts_with("[Wujing] Booked"), "{text}");
        } else {
            assert!(text.starts_with("【无境】预约成功"), "{text}");
        }
    }
    // Nothing is left to send, and passes stay quiet.
    let r = h.app.deliver_due().await.unwrap();
    assert_eq!((r.delivered, r.failed), (0, 0));
}
both_dialects!(outbox_gateway, outbox_exactly_once);

/// Phone codes: required when configured, limited in sends and tries, and needed to find one's
/// bookings.
async fn phone_codes_guard_confirmation(store: DynStore) {
    let mut config = test_config();
    config.require_phone_code = true;
    let h = Harness::with_config(store, config).await;
    let phone = "13800138000";
    let zheng = "440112200001010139";
    let slot = h.slot("tianhe", "passport_first").await;
    let (_, hold) = h
        .post(
            "/api/v1/holds",
            json!({"slot_id": slot["slot_id"], "business": "passport_first"}),
        )
        .await;
    let confirm = |code: Option<&str>| {
        let mut b = json!({"hold_id": hold["hold_id"], "applicant": applicant(zheng, "郑华")});
        if let Some(c) = code {
            b["phone_code"] = json!(c);
        }
        b
    };
    let (s, v) = h.post("/api/v1/bookings", confirm(None)).await;
    assert_eq!(
        (s, super::code_of(&v)),
        (StatusCode::BAD_REQUEST, "phone_code_required")
    );
    let (s, v) = h.post("/api/v1/phone-codes", json!({"phone": phone})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let (s, v) = h.post("/api/v1/phone-codes", json!({"phone": phone})).await;
    assert_eq!(
        (s, super::code_of(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "code_rate_limited")
    );
    let sent = h.store.messages_to(phone, 5).await.unwrap();
    assert_eq!(sent.len(), 1);
    let code: String = sent[0]
        .body
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (s, v) = h.post("/api/v1/bookings", confirm(Some(wrong))).await;
    assert_eq!(
        (s, super::code_of(&v)),
        (StatusCode::BAD_REQUEST, "phone_code_wrong")
    );
    assert_eq!(v["error"]["details"]["attempts_left"], 4);
    let (s, b) = h.post("/api/v1/bookings", confirm(Some(&code))).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    // Finding one's bookings needs a lookup code to the same phone.
    assert!(
        h.app.my_bookings(zheng, phone, &code).await.is_err(),
        "a booking code is not a lookup code"
    );
    h.app.clock.advance(chrono::TimeDelta::seconds(61));
    let (s, _) = h
        .post(
            "/api/v1/phone-codes",
            json!({"phone": phone, "purpose": "lookup", "lang": "en"}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let text = h.store.messages_to(phone, 1).await.unwrap().remove(0).body;
    assert!(text.starts_with("[Wujing] Your code is"), "{text}");
    let code: String = text.chars().filter(char::is_ascii_digit).take(6).collect();
    // Wrong tries after a successful check do not take the code back.
    assert!(h.app.check_phone_code(phone, "lookup", &code).await.is_ok());
    for _ in 0..5 {
        let _ = h.app.check_phone_code(phone, "lookup", wrong).await;
    }
    assert!(
        h.app.check_phone_code(phone, "lookup", &code).await.is_ok(),
        "a verified code stays valid until it is used or expires"
    );
    let mine = h.app.my_bookings(zheng, phone, &code).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].0.code, b["code"].as_str().unwrap());
    // The slip link opens the booking; a wrong key does not.
    let key = &mine[0].1;
    assert!(h.app.booking_by_slip(&mine[0].0.code, key).await.is_ok());
    assert!(h
        .app
        .booking_by_slip(&mine[0].0.code, "0000")
        .await
        .is_err());
    // Finding one's bookings used the code up.
    let e = h.app.my_bookings(zheng, phone, &code).await.err().unwrap();
    assert_eq!(e.code.as_str(), "phone_code_used");
}
both_dialects!(phone_codes, phone_codes_guard_confirmation);

/// Books a seat for 郑华 with an e-mail address: a text and an e-mail in the outbox.
async fn book_with_email(h: &Harness, email: &str) -> Value {
    let slot = h.slot("tianhe", "passport_first").await;
    let (_, hold) = h
        .post(
            "/api/v1/holds",
            json!({"slot_id": slot["slot_id"], "business": "passport_first"}),
        )
        .await;
    let (s, b) = h
        .post("/api/v1/bookings", json!({"hold_id": hold["hold_id"], "applicant": applicant("440112200001010139", "郑华"), "email": email}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b
}

/// The SMTP client of `relay`.
fn smtp(relay: &FakeRelay, tls: SmtpTls, ca_file: Option<&Path>) -> Arc<dyn Provider> {
    Arc::new(
        SmtpRelay::new(&SmtpConfig {
            server: relay.server(),
            from: "noreply@wujing.test".into(),
            tls,
            credentials: None,
            ca_file: ca_file.map(Path::to_path_buf),
        })
        .unwrap(),
    )
}

/// The value of header `name` in `mail`, unfolded, with RFC 2047 encoded words decoded.
fn header(mail: &str, name: &str) -> String {
    use base64::Engine;
    let head = mail.split("\r\n\r\n").next().unwrap().replace("\r\n ", " ");
    let raw = head
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no {name} in {mail}"));
    let mut out = String::new();
    for word in raw.split_whitespace() {
        let lower = word.to_ascii_lowercase();
        match lower
            .strip_prefix("=?utf-8?b?")
            .and_then(|w| w.strip_suffix("?="))
        {
            Some(_) => {
                let b64 = &word["=?utf-8?b?".len()..word.len() - 2];
                out.push_str(
                    &String::from_utf8(
                        base64::engine::general_purpose::STANDARD
                            .decode(b64)
                            .unwrap(),
                    )
                    .unwrap(),
                );
            }
            None => {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(word);
            }
        }
    }
    out
}

/// The text of a base64 text/plain mail.
fn body(mail: &str) -> String {
    use base64::Engine;
    assert!(
        header(mail, "Content-Transfer-Encoding").eq_ignore_ascii_case("base64"),
        "{mail}"
    );
    let b64: String = mail.split("\r\n\r\n").nth(1).unwrap().lines().collect();
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .unwrap(),
    )
    .unwrap()
}

/// E-mail through an SMTP relay: the confirmation goes to the address given at booking, with a
/// UTF-8 subject and body; a relay that refuses makes the message wait and retry.
#[tokio::test]
async fn confirmation_email_through_smtp() {
    let relay = FakeRelay::start(RelayOptions {
        refuse_first: 1,
        ..Default::default()
    })
    .await;
    let (store, _g) = wujing_testkit::sqlite_store().await;
    let mail = smtp(&relay, SmtpTls::None, None);
    let h = harness(store, test_config(), None, Some(mail)).await;
    let slot = h.slot("tianhe", "passport_first").await;
    let (_, hold) = h
        .post(
            "/api/v1/holds",
            json!({"slot_id": slot["slot_id"], "business": "passport_first"}),
        )
        .await;
    let (s, v) = h
        .post("/api/v1/bookings", json!({"hold_id": hold["hold_id"], "applicant": applicant("440112200001010139", "郑华"), "email": "not an address"}))
        .await;
    assert_eq!(
        (s, super::code_of(&v)),
        (StatusCode::BAD_REQUEST, "email_invalid")
    );
    let b = book_with_email(&h, "zheng@example.test").await;
    let mut delivered = 0;
    let mut failed = 0;
    for _ in 0..5 {
        let r = h.app.deliver_due().await.unwrap();
        (delivered, failed) = (delivered + r.delivered, failed + r.failed);
        h.app.clock.advance(chrono::TimeDelta::seconds(30));
    }
    assert_eq!(delivered, 2, "the text and the e-mail");
    assert_eq!(failed, 1, "the relay refused once");
    let log = relay.log();
    assert_eq!((log.refused, log.mails.len()), (1, 1));
    assert_eq!(log.mails_secure, [false]);
    assert_eq!(
        log.envelopes[0],
        (
            "FROM:<noreply@wujing.test>".to_string(),
            vec!["TO:<zheng@example.test>".to_string()]
        )
    );
    let mail = &log.mails[0];
    assert_eq!(header(mail, "To"), "zheng@example.test");
    assert_eq!(header(mail, "From"), "Wujing <noreply@wujing.test>");
    assert_eq!(header(mail, "Subject"), "【无境】预约成功");
    let code = b["code"].as_str().unwrap();
    assert_eq!(
        header(mail, "Message-ID"),
        format!("<confirm-mail.{code}@wujing>")
    );
    assert!(body(mail).contains(code), "{mail}");
}

/// A relay that requires STARTTLS and a password: the client upgrades, trusting the relay's
/// self-signed certificate through its CA file, authenticates, and delivers over TLS.
#[tokio::test]
async fn email_over_starttls_with_authentication() {
    let cert = TestCert::new();
    let creds = ("wujing".to_string(), "relay password".to_string());
    let relay = FakeRelay::start(RelayOptions {
        tls: RelayTls::StartTls(cert.acceptor()),
        credentials: Some(creds.clone()),
        ..Default::default()
    })
    .await;
    let mail = Arc::new(
        SmtpRelay::new(&SmtpConfig {
            server: relay.server(),
            from: "noreply@wujing.test".into(),
            tls: SmtpTls::StartTls,
            credentials: Some(creds),
            ca_file: Some(cert.ca_file.clone()),
        })
        .unwrap(),
    );
    let (store, _g) = wujing_testkit::sqlite_store().await;
    let h = harness(store, test_config(), None, Some(mail)).await;
    let b = book_with_email(&h, "zheng@example.test").await;
    let r = h.app.deliver_due().await.unwrap();
    assert_eq!((r.delivered, r.failed), (2, 0));
    let log = relay.log();
    assert_eq!((log.tls_sessions, log.tls_failures), (1, 0));
    assert_eq!(log.authenticated, ["wujing"]);
    assert_eq!(log.mails_secure, [true]);
    assert!(body(&log.mails[0]).contains(b["code"].as_str().unwrap()));
}

/// Certificates the clients do not trust (self-signed, and not the one in their CA file): the
/// gateway gets no request and the relay no mail; both messages stay pending and are retried
/// after their backoff, and fail again.
async fn untrusted_certificates_are_refused(store: DynStore) {
    let (served, trusted) = (TestCert::new(), TestCert::new());
    let g = Arc::new(Mutex::new(Gateway::default()));
    let url = start_gateway(g.clone(), Some(served.acceptor())).await;
    let relay = FakeRelay::start(RelayOptions {
        tls: RelayTls::StartTls(served.acceptor()),
        ..Default::default()
    })
    .await;
    let sms = gateway(&url, Some(&trusted.ca_file));
    let mail = smtp(&relay, SmtpTls::StartTls, Some(&trusted.ca_file));
    let h = harness(store, test_config(), Some(sms), Some(mail)).await;
    book_with_email(&h, "zheng@example.test").await;
    let pending = |recipient: &'static str| {
        let store = h.store.clone();
        async move {
            let mut m = store.messages_to(recipient, 5).await.unwrap();
            assert_eq!(m.len(), 1);
            m.remove(0)
        }
    };
    for attempt in 1..=2u32 {
        let r = h.app.deliver_due().await.unwrap();
        assert_eq!((r.delivered, r.failed), (0, 2), "attempt {attempt}");
        let now = h.app.clock.now();
        for recipient in ["13800138000", "zheng@example.test"] {
            let m = pending(recipient).await;
            assert_eq!(m.delivered_at, None);
            assert_eq!(m.attempts, attempt);
            assert_eq!(m.due_at, now + wujing_app::notify::backoff(attempt));
            let e = m.last_error.unwrap_or_default();
            assert!(e.to_lowercase().contains("certificate"), "{recipient}: {e}");
        }
        // Not retried before the backoff is over.
        h.app
            .clock
            .advance(wujing_app::notify::backoff(attempt) - chrono::TimeDelta::seconds(1));
        let r = h.app.deliver_due().await.unwrap();
        assert_eq!((r.delivered, r.failed), (0, 0));
        h.app.clock.advance(chrono::TimeDelta::seconds(1));
    }
    // The client gives up as soon as it refuses the certificate; the relay's side of the
    // handshake may count its failure a moment later on a loaded machine.
    let mut log = relay.log();
    for _ in 0..100 {
        if log.tls_failures >= 2 && g.lock().unwrap().tls_failures >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        log = relay.log();
    }
    let gw = g.lock().unwrap();
    assert_eq!(gw.requests, 0, "no request crossed an untrusted connection");
    assert_eq!(gw.tls_failures, 2);
    assert_eq!((log.tls_sessions, log.tls_failures), (0, 2));
    assert!(log.mails.is_empty() && log.envelopes.is_empty());
}
both_dialects!(untrusted_certificates, untrusted_certificates_are_refused);

/// A dispatcher told to stop (the server shutting down) gives its batch's untried messages
/// back at once: they are not left leased for a minute, and not counted as an attempt.
async fn a_stopping_dispatcher_gives_its_leases_back(store: DynStore) {
    let h = Harness::new(store).await;
    for i in 0..2u32 {
        let id = wujing_testkit::identity(1 + i);
        let slot = h.slot("tianhe", "passport_first").await;
        let (s, hold) = h
            .post(
                "/api/v1/holds",
                json!({"slot_id": slot["slot_id"], "business": "passport_first"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{hold}");
        let (s, b) = h
            .post(
                "/api/v1/bookings",
                json!({"hold_id": hold["hold_id"], "applicant": {"name": "市民", "id_number": id, "phone": format!("1390000090{i}")}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    let r = h.app.deliver_due_until(|| true).await.unwrap();
    assert_eq!((r.delivered, r.failed), (0, 0));
    assert!(r.released >= 2, "{}", r.released);
    // Due again at once (the clock has not moved, so a lease left standing would hide them).
    let r2 = h.app.deliver_due().await.unwrap();
    assert_eq!(u64::from(r2.delivered), r.released);
    for i in 0..2 {
        let sent = h
            .store
            .messages_to(&format!("1390000090{i}"), 10)
            .await
            .unwrap();
        assert!(
            !sent.is_empty() && sent.iter().all(|m| m.attempts == 1),
            "{sent:?}"
        );
    }
}

both_dialects!(
    stopping_dispatcher,
    a_stopping_dispatcher_gives_its_leases_back
);
