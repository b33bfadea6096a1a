//! Online payment over HTTP: the callback route (signature, duplicates, unknown orders,
//! amounts) and the simulated provider's checkout page, whose notifications travel over a real
//! socket to the server's own callback route, on both databases.

use super::*;
use std::sync::Arc;
use wujing_app::payments::simulated::{sign, CallbackSender, SECRET_NAME, SIGNATURE_HEADER};
use wujing_app::{PaymentPurpose, PaymentStatus, PAYMENT_PROBE_KIND};
use wujing_outbound::loopback::LoopbackPoster;

/// The app with the simulated provider, served on a real loopback socket (the provider posts
/// its notifications there) and in process.
struct Paying {
    h: Harness,
    base: String,
    secret: String,
}

async fn paying(store: DynStore) -> Paying {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let config = Config {
        public_url: base.clone(),
        ..test_config()
    };
    let app = App::new(store.clone(), config, Clock::manual(start()))
        .enable_simulated_payments(&base, Arc::new(LoopbackPoster::new().unwrap()))
        .await
        .unwrap();
    app.load_demo().await.unwrap();
    let router = wujing_web::router(app.clone());
    tokio::spawn(wujing_web::serve(
        listener,
        router.clone(),
        wujing_web::ServeOptions::default(),
        std::future::pending(),
    ));
    let secret = store.secret(SECRET_NAME, "unused").await.unwrap();
    Paying {
        h: Harness { router, app, store },
        base,
        secret,
    }
}

/// A probe purpose of its own (the hook counts its calls per purpose id).
fn probe() -> PaymentPurpose {
    PaymentPurpose::new(PAYMENT_PROBE_KIND, i64::from(rand::random::<u32>()))
}

fn reference_of(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_string()
}

fn notice(event: &str, reference: &str, outcome: &str, amount: i64) -> String {
    json!({"event_id": event, "reference": reference, "outcome": outcome, "amount_yuan": amount})
        .to_string()
}

impl Paying {
    async fn start(&self, purpose: &PaymentPurpose) -> wujing_app::PaymentView {
        self.h
            .app
            .start_payment(purpose, 160, "护照换发", "Passport renewal", "/remote/7")
            .await
            .unwrap()
    }

    /// Posts a notification in process, signed with `signature` (or not at all).
    async fn notify(&self, body: &str, signature: Option<&str>) -> (StatusCode, Value) {
        let mut headers = vec![];
        if let Some(s) = signature {
            headers.push((SIGNATURE_HEADER, s));
        }
        let mut req = Request::post("/api/v1/payments/callback/simulated")
            .header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let res = self
            .h
            .router
            .clone()
            .oneshot(req.body(Body::from(body.to_string())).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    async fn signed(&self, body: &str) -> (StatusCode, Value) {
        let s = sign(&self.secret, body.as_bytes());
        self.notify(body, Some(&s)).await
    }

    /// Submits the checkout page's form; answers the status and where it redirects.
    async fn checkout(&self, reference: &str, action: &str) -> (StatusCode, String, String) {
        let res = self
            .h
            .router
            .clone()
            .oneshot(
                Request::post(format!("/pay/simulated/{reference}"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(Body::from(format!("action={action}")))
                    .unwrap(),
            )
            .await
            .unwrap();
        let status = res.status();
        let location = res
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        (status, location, String::from_utf8_lossy(&bytes).into())
    }

    async fn status_of(&self, purpose: &PaymentPurpose) -> PaymentStatus {
        self.h
            .app
            .payment_for(purpose)
            .await
            .unwrap()
            .unwrap()
            .status
    }
}

/// Signed and applied once; the same notification again is 200 and changes nothing (also two
/// copies at once over real HTTP); a tampered body, a missing signature, an unknown order, a
/// garbled body and another amount are refused with their codes.
async fn callback_route(store: DynStore) {
    let p = paying(store).await;
    let purpose = probe();
    let view = p.start(&purpose).await;
    assert_eq!(view.status, PaymentStatus::Pending);
    let url = view.checkout_url.clone().unwrap();
    assert_eq!(url, format!("/pay/simulated/{}", reference_of(&url)));
    let reference = reference_of(&url);
    // Starting again answers the same open payment.
    assert_eq!(p.start(&purpose).await.id, view.id);

    let body = notice("evt-1", &reference, "paid", 160);
    let mut tampered = body.replace("160", "1");
    let good = sign(&p.secret, body.as_bytes());
    let (s, v) = p.notify(&tampered, Some(&good)).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNAUTHORIZED, "payment_signature_invalid")
    );
    let (s, v) = p.notify(&body, None).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNAUTHORIZED, "payment_signature_invalid")
    );
    let (s, v) = p.notify(&body, Some("sha256=00")).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNAUTHORIZED, "payment_signature_invalid")
    );
    assert_eq!(p.status_of(&purpose).await, PaymentStatus::Pending);

    // Two copies at once, over the socket: one applies, the other was already processed.
    let poster = Arc::new(LoopbackPoster::new().unwrap());
    let headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        (SIGNATURE_HEADER.to_string(), good.clone()),
    ];
    let url = format!("{}/api/v1/payments/callback/simulated", p.base);
    let (a, b) = tokio::join!(
        poster.post(&url, &headers, body.clone().into_bytes()),
        poster.post(&url, &headers, body.clone().into_bytes())
    );
    assert_eq!((a.unwrap(), b.unwrap()), (200, 200));
    assert_eq!(p.status_of(&purpose).await, PaymentStatus::Paid);
    let (s, v) = p.notify(&body, Some(&good)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["result"], "already_processed");
    assert_eq!(v["status"], "paid");
    assert_eq!(p.h.store.payment_events(view.id).await.unwrap().len(), 1);
    assert_eq!(wujing_app::payment_probe::calls(purpose.id), 1);

    let (s, v) = p
        .signed(&notice("evt-2", "sim_nosuchorder", "paid", 160))
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::NOT_FOUND, "online_payment_not_found")
    );
    let (s, v) = p.signed("{\"not\": \"a notice\"}").await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::BAD_REQUEST, "payment_callback_invalid")
    );
    let (s, v) = p.call_other_provider(&body, &good).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::NOT_FOUND, "online_payment_not_found")
    );

    // Another purpose notified with another amount: refused, recorded, still pending.
    let other = probe();
    let o = p.start(&other).await;
    tampered = notice(
        "evt-3",
        &reference_of(o.checkout_url.as_deref().unwrap()),
        "paid",
        1,
    );
    let (s, v) = p.signed(&tampered).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "payment_amount_mismatch")
    );
    assert_eq!(p.status_of(&other).await, PaymentStatus::Pending);
    assert_eq!(
        p.h.store.payment_events(o.id).await.unwrap()[0].disposition,
        "amount_mismatch"
    );
    assert_eq!(wujing_app::payment_probe::calls(other.id), 0);
}
both_dialects!(
    the_callback_route_verifies_the_signature_and_applies_a_notification_once,
    callback_route
);

impl Paying {
    async fn call_other_provider(&self, body: &str, sig: &str) -> (StatusCode, Value) {
        self.h
            .call(
                "POST",
                "/api/v1/payments/callback/bank",
                Some(serde_json::from_str(body).unwrap()),
                &[(SIGNATURE_HEADER, sig)],
            )
            .await
    }
}

/// The checkout page: declined, then a new attempt paid, each through the provider's signed
/// notification over HTTP; the notification sent again changes nothing; a decided order
/// cannot be decided again; the refund goes to the provider once.
async fn checkout_page(store: DynStore) {
    let p = paying(store).await;
    let purpose = probe();
    let first = p.start(&purpose).await;
    let reference = reference_of(first.checkout_url.as_deref().unwrap());
    let (s, html) = p.h.get(&format!("/pay/simulated/{reference}")).await;
    assert_eq!(s, StatusCode::OK);
    let html = html.as_str().unwrap();
    assert!(
        html.contains("模拟支付") && html.contains("Simulated payment"),
        "{html}"
    );
    assert!(html.contains("护照换发") && html.contains("¥160"));
    assert!(html.contains("value=\"pay\"") && html.contains("value=\"decline\""));

    let (s, location, _) = p.checkout(&reference, "decline").await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(location, format!("/remote/7?payment={}", first.id));
    assert_eq!(p.status_of(&purpose).await, PaymentStatus::Declined);
    let (s, _, html) = p.checkout(&reference, "pay").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("该笔支付已有结果"), "{html}");

    let second = p.start(&purpose).await;
    assert_ne!(second.id, first.id);
    let reference = reference_of(second.checkout_url.as_deref().unwrap());
    let (_, html) = p.h.get(&format!("/pay/simulated/{reference}")).await;
    assert!(!html.as_str().unwrap().contains("value=\"resend\""));
    let (s, v, _) = p.checkout(&reference, "resend").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, location, _) = p.checkout(&reference, "pay").await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(location, format!("/remote/7?payment={}", second.id));
    let paid = p.h.app.payment_for(&purpose).await.unwrap().unwrap();
    assert_eq!((paid.id, paid.status), (second.id, PaymentStatus::Paid));
    assert_eq!(paid.paid_at, Some(start()));
    let (_, html) = p.h.get(&format!("/pay/simulated/{reference}")).await;
    assert!(html.as_str().unwrap().contains("value=\"resend\""));
    // The same notification again (a provider's retry): nothing changes, the hook ran once.
    let (s, location, _) = p.checkout(&reference, "resend").await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(location, format!("/remote/7?payment={}", second.id));
    assert_eq!(p.h.store.payment_events(second.id).await.unwrap().len(), 1);
    assert_eq!(wujing_app::payment_probe::calls(purpose.id), 1);
    assert!(matches!(
        p.h.app.start_payment(&purpose, 160, "护照换发", "Passport renewal", "/remote/7").await,
        Err(e) if e.code == wujing_app::Code::PaymentAlreadyPaid
    ));

    // Refunded once, even when asked twice at once.
    let actor = wujing_app::Actor {
        id: "staff:1".into(),
        name: "admin".into(),
        client_addr: None,
        station: None,
        hall: None,
    };
    let (a, b) = tokio::join!(
        p.h.app.refund_for(&actor, &purpose, "申请撤回"),
        p.h.app.refund_for(&actor, &purpose, "申请撤回")
    );
    let done: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].status, PaymentStatus::Refunded);
    let sim = p.h.app.simulated_provider().unwrap();
    assert_eq!(sim.refunds_of(&reference), 1);
    assert_eq!(
        p.h.app.refund_for(&actor, &purpose, "again").await.unwrap(),
        None
    );
    let (chain, _) = p.h.store.audit_chain().await.unwrap();
    let refunds: Vec<_> = chain
        .iter()
        .filter(|e| e.action == "online_payment.refund")
        .collect();
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].actor, "staff:1");
}
both_dialects!(
    the_checkout_page_declines_and_pays_through_signed_http_notifications,
    checkout_page
);

/// A late "paid" for a declined order, once the purpose is paid by another payment: the money
/// goes back at once, and the purpose stays paid once.
async fn late_second_payment(store: DynStore) {
    let p = paying(store).await;
    let purpose = probe();
    let first = p.start(&purpose).await;
    let r1 = reference_of(first.checkout_url.as_deref().unwrap());
    let (s, _) = p.signed(&notice("d-1", &r1, "declined", 160)).await;
    assert_eq!(s, StatusCode::OK);
    let second = p.start(&purpose).await;
    let r2 = reference_of(second.checkout_url.as_deref().unwrap());
    let (s, v) = p.signed(&notice("p-2", &r2, "paid", 160)).await;
    assert_eq!((s, v["result"].as_str()), (StatusCode::OK, Some("applied")));
    let (s, v) = p.signed(&notice("p-1", &r1, "paid", 160)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["result"], "refunding");
    assert_eq!(v["status"], "refunded");
    assert_eq!(p.h.app.simulated_provider().unwrap().refunds_of(&r1), 1);
    assert_eq!(p.status_of(&purpose).await, PaymentStatus::Paid);
    assert_eq!(wujing_app::payment_probe::calls(purpose.id), 1);
    assert_eq!(p.h.app.process_due_refunds().await.unwrap(), 0);
}
both_dialects!(
    a_late_payment_of_a_paid_purpose_is_refunded_at_once,
    late_second_payment
);

/// Without a provider, starting a payment and the callback answer `payments_disabled`.
#[tokio::test]
async fn without_a_provider_online_payment_is_disabled() {
    let (store, _g) = wujing_testkit::sqlite_store().await;
    let h = Harness::new(store).await;
    let e = h
        .app
        .start_payment(&probe(), 160, "护照换发", "Passport renewal", "/remote/7")
        .await
        .unwrap_err();
    assert_eq!(e.code, wujing_app::Code::PaymentsDisabled);
    let (s, v) = h
        .post("/api/v1/payments/callback/simulated", json!({}))
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::SERVICE_UNAVAILABLE, "payments_disabled")
    );
    let (s, _) = h.get("/pay/simulated/sim_x").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
