//! The notification outbox against a fake SMS gateway on loopback: while the gateway fails,
//! messages wait and retry with backoff; afterwards each is accepted exactly once, including
//! one whose first acceptance was answered with an error (the gateway drops the redelivery by
//! its idempotency key).

use super::{applicant, test_config, Harness};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use wujing_app::notify::{sign, SmsConfig};
use wujing_store::DynStore;
use wujing_testkit::both_dialects;

pub(crate) const SECRET: &str = "gateway-shared-secret";

#[derive(Default)]
pub(crate) struct Gateway {
    /// Requests to refuse before working.
    pub(crate) down_for: u32,
    /// Accept the next new message but answer 500, as if the answer were lost.
    pub(crate) lose_next_answer: bool,
    pub(crate) accepted: HashMap<String, Value>,
    pub(crate) duplicates: u32,
    pub(crate) bad_signatures: u32,
    pub(crate) requests: u32,
}

pub(crate) async fn start_gateway(g: Arc<Mutex<Gateway>>) -> String {
    let app = axum::Router::new().route(
        "/sms",
        post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let g = g.clone();
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
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    format!("http://{addr}/sms")
}

async fn outbox_exactly_once(store: DynStore) {
    let g = Arc::new(Mutex::new(Gateway {
        down_for: 7,
        lose_next_answer: true,
        ..Default::default()
    }));
    let url = start_gateway(g.clone()).await;
    let mut config = test_config();
    config.sms = SmsConfig::Http {
        url,
        secret: SECRET.into(),
    };
    let h = Harness::with_config(store, config).await;
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
    assert_eq!(g.bad_signatures, 0);
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
    // Wrong tries after a successful one do not take it back.
    for _ in 0..5 {
        let _ = h.app.check_phone_code(phone, "lookup", wrong).await;
    }
    let e = h.app.check_phone_code(phone, "lookup", &code).await.err();
    assert!(
        e.is_none(),
        "an already verified code stays valid until it expires"
    );
}
both_dialects!(phone_codes, phone_codes_guard_confirmation);

/// E-mail through an SMTP relay: the confirmation goes to the address given at booking, with a
/// UTF-8 subject and body; a relay that refuses makes the message wait and retry.
#[tokio::test]
async fn confirmation_email_through_smtp() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = listener.local_addr().unwrap().to_string();
    let mails = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = mails.clone();
    tokio::spawn(async move {
        let mut first = true;
        loop {
            let (s, _) = listener.accept().await.unwrap();
            let (r, mut w) = s.into_split();
            let mut r = BufReader::new(r);
            // The first connection is refused, as by a relay that is down.
            if first {
                first = false;
                w.write_all(b"421 try later\r\n").await.unwrap();
                continue;
            }
            w.write_all(b"220 fake relay\r\n").await.unwrap();
            let mut data = String::new();
            let mut in_data = false;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).await.unwrap() == 0 {
                    break;
                }
                if in_data {
                    if line == ".\r\n" {
                        in_data = false;
                        seen.lock().unwrap().push(std::mem::take(&mut data));
                        w.write_all(b"250 queued\r\n").await.unwrap();
                    } else {
                        data.push_str(&line);
                    }
                    continue;
                }
                let reply: &[u8] = match line.get(..4).unwrap_or("") {
                    "EHLO" => b"250-fake\r\n250 OK\r\n",
                    "MAIL" | "RCPT" => b"250 OK\r\n",
                    "DATA" => {
                        in_data = true;
                        data.push_str(&format!("X-Envelope: {line}"));
                        b"354 go on\r\n"
                    }
                    "QUIT" => b"221 bye\r\n",
                    _ => b"500 what\r\n",
                };
                w.write_all(reply).await.unwrap();
            }
        }
    });
    let (store, _g) = wujing_testkit::sqlite_store().await;
    let mut config = test_config();
    config.mail = wujing_app::notify::MailConfig::Smtp {
        server,
        from: "noreply@wujing.test".into(),
    };
    let h = Harness::with_config(store, config).await;
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
    let (s, b) = h
        .post("/api/v1/bookings", json!({"hold_id": hold["hold_id"], "applicant": applicant("440112200001010139", "郑华"), "email": "zheng@example.test"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let mut delivered = 0;
    for _ in 0..5 {
        delivered += h.app.deliver_due().await.unwrap().delivered;
        h.app.clock.advance(chrono::TimeDelta::seconds(30));
    }
    assert_eq!(delivered, 2, "the text and the e-mail");
    let mails = mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert!(mail.contains("To: <zheng@example.test>"), "{mail}");
    use base64::Engine;
    let subject = mail
        .lines()
        .find_map(|l| l.strip_prefix("Subject: =?UTF-8?B?"))
        .unwrap()
        .trim_end_matches("?=");
    let subject = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(subject)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(subject, "【无境】预约成功");
    let body: String = mail.split("\r\n\r\n").nth(1).unwrap().lines().collect();
    let body = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(body.trim())
            .unwrap(),
    )
    .unwrap();
    assert!(body.contains(b["code"].as_str().unwrap()), "{body}");
}
