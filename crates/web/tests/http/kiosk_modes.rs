//! The kiosk modes 申请易 and 前台通 through HTTP (issue 17), on SQLite and PostgreSQL: the
//! photo's check, the fingerprint plan and the submission of a passport application with its
//! biometrics (sealed, readable by an officer of the accepting hall only, every access audited,
//! deleted after production or the retention, never logged); the counter machine's card read
//! into its own window's console and the window's fee taken on its terminal.

use super::staff::Session;
use super::{code_of, Harness};
use axum::http::StatusCode;
use base64::Engine;
use chrono::TimeDelta;
use serde_json::{json, Value};
use wujing_store::DynStore;
use wujing_testkit::{both_dialects, photo_jpeg};

/// 陈晓明 (demo registry, born 1985): fingerprints mandatory, signs.
const CHEN: &str = "440106198503030116";
/// 郑华 (demo registry, no passport yet): booked at the counter.
const ZHENG: &str = "440112200001010139";
/// A child born 2016-01-01: under 16, and signs (6 or older).
const CHILD: &str = "440106201601010017";
/// A child born 2022-01-01: pre-school, not asked to sign.
const TODDLER: &str = "440106202201010039";

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn bearer(token: &str) -> [(&'static str, String); 1] {
    [("authorization", format!("Bearer {token}"))]
}

async fn as_device(
    h: &Harness,
    method: &str,
    uri: &str,
    body: Option<Value>,
    token: &str,
) -> (StatusCode, Value) {
    let b = bearer(token);
    let headers: Vec<(&str, &str)> = b.iter().map(|(k, v)| (*k, v.as_str())).collect();
    h.call(method, uri, body, &headers).await
}

/// A device of `kind` registered at tianhe (at `window` for a 前台通): its token.
async fn device(h: &Harness, admin: &Session, kind: &str, window: Option<u32>) -> String {
    let mut body = json!({"name": format!("{kind} 1"), "hall_id": "tianhe", "kind": kind});
    if let Some(w) = window {
        body["window_number"] = json!(w);
    }
    let (s, v) = h
        .call(
            "POST",
            "/api/v1/admin/devices",
            Some(body),
            &admin.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["token"].as_str().unwrap().to_string()
}

fn good_photo() -> String {
    b64(&photo_jpeg(354, 472, [250, 250, 250], 75))
}

/// A print's image as the emulator answers it (a few bytes stand for an ISO 19794-4 image).
fn print_image(finger: &str) -> String {
    b64(format!("ISO19794-4:{finger}:minutiae").as_bytes())
}

/// A signature pad's PNG (the signature: magic and a few bytes).
fn signature_png() -> String {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.extend_from_slice(b"IHDR-signature-strokes");
    b64(&b)
}

/// A complete adult submission: the right thumb poor twice, then the right index and the left
/// thumb good.
fn adult_submission() -> Value {
    json!({
        "id_number": CHEN,
        "name": "陈晓明",
        "business": "passport_renewal",
        "photo": good_photo(),
        "captures": [
            {"finger": "right_thumb", "quality": 41},
            {"finger": "right_thumb", "quality": null},
            {"finger": "right_index", "quality": 78, "image": print_image("right_index")},
            {"finger": "left_thumb", "quality": 83, "image": print_image("left_thumb")}
        ],
        "signature": signature_png()
    })
}

async fn console_of(h: &Harness, officer: &Session, window: u32) -> String {
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    let res = h
        .raw(
            Request::get(format!("/staff/counter/tianhe/{window}"))
                .header("cookie", &officer.cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

async fn audit_actions(h: &Harness) -> Vec<String> {
    h.store
        .audit_search(&wujing_store::AuditQuery {
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

async fn sqy_flow(store: DynStore) {
    let h = Harness::new(store).await;
    let admin = h.sign_in_as("admin").await;
    let sqy = device(&h, &admin, "sqy", None).await;
    let checkin = device(&h, &admin, "check_in", None).await;

    // The photo: within the limits, and a file too small, each limit told.
    let (s, v) = as_device(
        &h,
        "POST",
        "/api/v1/kiosk/sqy/photo",
        Some(json!({"jpeg": good_photo()})),
        &sqy,
    )
    .await;
    assert_eq!(
        (s, v["accepted"].clone()),
        (StatusCode::OK, json!(true)),
        "{v}"
    );
    let small = b64(&photo_jpeg(354, 472, [250, 250, 250], 20));
    let (_, v) = as_device(
        &h,
        "POST",
        "/api/v1/kiosk/sqy/photo",
        Some(json!({"jpeg": small})),
        &sqy,
    )
    .await;
    assert_eq!(v["accepted"], json!(false));
    assert_eq!(v["reasons"][0]["code"], "photo_file_too_small", "{v}");
    let (_, v) = as_device(
        &h,
        "POST",
        "/api/v1/kiosk/sqy/photo",
        Some(json!({"jpeg": b64(&photo_jpeg(300, 400, [250, 250, 250], 95))})),
        &sqy,
    )
    .await;
    let codes: Vec<&str> = v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"photo_width") && codes.contains(&"photo_height"),
        "{v}"
    );

    // The plan: a poor print is asked again, then the next finger of the hand.
    let plan = |captures: Value| json!({"id_number": CHEN, "captures": captures});
    let (s, v) = as_device(
        &h,
        "POST",
        "/api/v1/kiosk/sqy/fingerprints/next",
        Some(plan(json!([]))),
        &sqy,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["step"].as_str(), v["finger"].as_str()),
        (Some("capture"), Some("right_thumb"))
    );
    assert_eq!(v["mandatory"], json!(true));
    let (_, v) = as_device(
        &h,
        "POST",
        "/api/v1/kiosk/sqy/fingerprints/next",
        Some(plan(json!([{"finger": "right_thumb", "quality": 30}, {"finger": "right_thumb", "quality": null}]))),
        &sqy,
    )
    .await;
    assert_eq!(v["finger"], "right_index", "{v}");
    // Under 16 without the guardian's consent: none; with it: the right thumb.
    let (_, v) = as_device(
        &h,
        "POST",
        "/api/v1/kiosk/sqy/fingerprints/next",
        Some(json!({"id_number": CHILD})),
        &sqy,
    )
    .await;
    assert_eq!(
        (v["step"].as_str(), v["signature_asked"].clone()),
        (Some("not_taken"), json!(true)),
        "{v}"
    );
    let (_, v) = as_device(
        &h,
        "POST",
        "/api/v1/kiosk/sqy/fingerprints/next",
        Some(json!({"id_number": CHILD, "guardian_consent": true, "skipped": ["right_thumb"]})),
        &sqy,
    )
    .await;
    assert_eq!(v["finger"], "right_index", "{v}");
    let (s, v) = as_device(
        &h,
        "POST",
        "/api/v1/kiosk/sqy/fingerprints/next",
        Some(json!({"id_number": CHEN, "skipped": ["right_toe"]})),
        &sqy,
    )
    .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::BAD_REQUEST, "biometrics_invalid")
    );

    // Submissions the rules refuse, each with its code; nothing is written.
    let mut only_one = adult_submission();
    only_one["captures"] =
        json!([{"finger": "right_thumb", "quality": 90, "image": print_image("right_thumb")}]);
    let mut unsigned = adult_submission();
    unsigned["signature"] = Value::Null;
    let mut bad_photo = adult_submission();
    bad_photo["photo"] = json!(small);
    let mut visa = adult_submission();
    visa["business"] = json!("hkm_permit");
    for (body, status, code) in [
        (
            only_one,
            StatusCode::UNPROCESSABLE_ENTITY,
            "fingerprints_incomplete",
        ),
        (
            unsigned,
            StatusCode::UNPROCESSABLE_ENTITY,
            "signature_missing",
        ),
        (bad_photo, StatusCode::UNPROCESSABLE_ENTITY, "photo_invalid"),
        (
            visa,
            StatusCode::UNPROCESSABLE_ENTITY,
            "kiosk_business_invalid",
        ),
    ] {
        let (s, v) = as_device(
            &h,
            "POST",
            "/api/v1/kiosk/sqy/applications",
            Some(body),
            &sqy,
        )
        .await;
        assert_eq!((s, code_of(&v)), (status, code), "{v}");
    }
    assert!(!audit_actions(&h)
        .await
        .contains(&"biometrics.write".to_string()));

    // The application: accepted, channel self_service, its form for the printer.
    let (s, r) = as_device(
        &h,
        "POST",
        "/api/v1/kiosk/sqy/applications",
        Some(adult_submission()),
        &sqy,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(
        (r["fingerprints"].clone(), r["signature"].clone()),
        (json!(2), json!("signed"))
    );
    assert_eq!(r["name_masked"], "陈*明");
    if let Some(pdf) = r["form_pdf"].as_str() {
        let pdf = base64::engine::general_purpose::STANDARD
            .decode(pdf)
            .unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
    }
    let id = r["application_id"].as_i64().unwrap();
    // The applicant's reference: stable, and not the row number.
    let reference = r["reference"].as_str().unwrap();
    assert_eq!(reference, h.app.application_reference(id).await.unwrap());
    assert!(
        reference.len() == 9
            && reference.bytes().enumerate().all(|(i, b)| if i == 4 {
                b == b'-'
            } else {
                wujing_app::CODE_ALPHABET.contains(&b)
            }),
        "{reference}"
    );
    let a = h.store.application(id).await.unwrap().unwrap();
    assert_eq!(
        (
            a.status.as_str(),
            a.channel.as_str(),
            a.hall_id.as_str(),
            a.ticket_id
        ),
        ("accepted", "self_service", "tianhe", None)
    );
    // Sealed at rest: the store's adapters seal on the way in; what the officer reads is the
    // same image, and the stored text is not.
    let stored = h.store.application_biometrics(id).await.unwrap();
    assert_eq!(
        stored.iter().map(|b| b.part.as_str()).collect::<Vec<_>>(),
        ["left_thumb", "photo", "right_index", "signature"]
    );

    // A pre-school child without the guardian's consent: no prints, not asked to sign.
    let (s, r2) = as_device(
        &h,
        "POST",
        "/api/v1/kiosk/sqy/applications",
        Some(
            json!({"id_number": TODDLER, "name": "陈小宝", "business": "passport_first",
                    "photo": good_photo()}),
        ),
        &sqy,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{r2}");
    assert_eq!(
        (r2["fingerprints"].clone(), r2["signature"].clone()),
        (json!(0), json!("not_asked"))
    );

    // Only its machines: a check-in kiosk and staff are refused the routes.
    let (s, _) = as_device(
        &h,
        "POST",
        "/api/v1/kiosk/sqy/applications",
        Some(adult_submission()),
        &checkin,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = h
        .call(
            "POST",
            "/api/v1/kiosk/sqy/photo",
            Some(json!({"jpeg": good_photo()})),
            &admin.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Officers of the accepting hall see them (audited); another hall's officer, an
    // administrator and a producer do not.
    let uri = format!("/api/v1/applications/{id}/biometrics");
    for who in ["officer@tianhe", "reviewer@tianhe"] {
        let s_ = h.sign_in_as(who).await;
        let (s, v) = h.call("GET", &uri, None, &s_.headers()).await;
        assert_eq!(s, StatusCode::OK, "{who}: {v}");
        assert_eq!(v["parts"].as_array().unwrap().len(), 4);
        let photo = v["parts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["part"] == "photo")
            .unwrap();
        assert_eq!(photo["data"], json!(good_photo()));
        assert_eq!(photo["media_type"], "image/jpeg");
    }
    for who in ["officer@yuexiu", "admin", "producer"] {
        let s_ = h.sign_in_as(who).await;
        let (s, v) = h.call("GET", &uri, None, &s_.headers()).await;
        assert_eq!(
            (s, code_of(&v)),
            (StatusCode::NOT_FOUND, "application_not_found"),
            "{who}"
        );
    }
    let actions = audit_actions(&h).await;
    assert_eq!(
        actions.iter().filter(|a| *a == "biometrics.write").count(),
        2
    );
    assert_eq!(
        actions.iter().filter(|a| *a == "biometrics.read").count(),
        2
    );
}
both_dialects!(
    sqy_takes_a_passport_application_with_its_biometrics,
    sqy_flow
);

async fn deletion(store: DynStore) {
    let h = Harness::new(store).await;
    let admin = h.sign_in_as("admin").await;
    let officer = h.sign_in_as("officer@tianhe").await;
    let reviewer = h.sign_in_as("reviewer").await;
    let producer = h.sign_in_as("producer").await;
    let sqy = device(&h, &admin, "sqy", None).await;
    let (_, r) = as_device(
        &h,
        "POST",
        "/api/v1/kiosk/sqy/applications",
        Some(adult_submission()),
        &sqy,
    )
    .await;
    let produced = r["application_id"].as_i64().unwrap();
    let mut other = adult_submission();
    other["id_number"] = json!("653101199001010451");
    other["name"] = json!("张伟");
    let (s, r) = as_device(
        &h,
        "POST",
        "/api/v1/kiosk/sqy/applications",
        Some(other),
        &sqy,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let kept = r["application_id"].as_i64().unwrap();

    // Nothing is due while the applications are under way.
    assert_eq!(h.app.sweep_biometrics().await.unwrap(), 0);
    for step in ["review", "approve"] {
        let (s, v) = h
            .call(
                "POST",
                &format!("/api/v1/applications/{produced}/{step}"),
                None,
                &reviewer.headers(),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    for body in [
        json!({"step": "start"}),
        json!({"step": "produced", "document_number": "E98765432"}),
    ] {
        let (s, v) = h
            .call(
                "POST",
                &format!("/api/v1/applications/{produced}/production"),
                Some(body),
                &producer.headers(),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    // The document is produced: the next sweep deletes its biometrics (audited), once.
    assert_eq!(h.app.sweep_biometrics().await.unwrap(), 1);
    assert_eq!(h.app.sweep_biometrics().await.unwrap(), 0);
    assert!(h
        .store
        .application_biometrics(produced)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(h.store.application_biometrics(kept).await.unwrap().len(), 4);
    let (_, v) = h
        .call(
            "GET",
            &format!("/api/v1/applications/{produced}/biometrics"),
            None,
            &officer.headers(),
        )
        .await;
    assert_eq!(
        (v["deleted"].clone(), v["parts"].clone()),
        (json!(true), json!([])),
        "{v}"
    );

    // The retention (60 days by default) deletes the other, whatever its state.
    h.app.clock.advance(TimeDelta::days(61));
    assert_eq!(h.app.sweep_biometrics().await.unwrap(), 1);
    assert!(h
        .store
        .application_biometrics(kept)
        .await
        .unwrap()
        .is_empty());
    let actions = audit_actions(&h).await;
    assert_eq!(
        actions.iter().filter(|a| *a == "biometrics.delete").count(),
        2
    );
}
both_dialects!(
    biometrics_are_deleted_after_production_or_the_retention,
    deletion
);

async fn qtt_flow(store: DynStore) {
    let h = Harness::new(store).await;
    let admin = h.sign_in_as("admin").await;
    let officer = h.sign_in_as("officer@tianhe").await;
    let window = super::hall::general_window(&h).await;
    let qtt = device(&h, &admin, "qtt", Some(window)).await;
    let card = json!({"id_number": ZHENG, "name": "郑华"});

    // Nothing served yet: the card has nowhere to go.
    let (s, v) = as_device(
        &h,
        "POST",
        "/api/v1/kiosk/qtt/card",
        Some(card.clone()),
        &qtt,
    )
    .await;
    assert_eq!((s, code_of(&v)), (StatusCode::CONFLICT, "no_ticket_served"));
    let (_, w) = as_device(&h, "GET", "/api/v1/kiosk/qtt/window", None, &qtt).await;
    assert_eq!(
        (w["window"].clone(), w["ticket"].clone()),
        (json!(window), Value::Null)
    );

    // The officer calls a booked ticket to the window and starts serving it.
    let code = h.book_at("tianhe", ZHENG).await;
    let b = h.store.booking_by_code(&code).await.unwrap().unwrap();
    h.store
        .issue_ticket(&wujing_store::NewTicket {
            hall_id: "tianhe".into(),
            day: h.app.clock.today(),
            queue: "A".into(),
            booking_id: Some(b.id),
            booking_slot_id: Some(b.slot.id),
            business: "passport_first".into(),
            identity_key: b.identity_key.clone(),
            kind: "appointment".into(),
            channel: "counter".into(),
            priority: 0,
            due_at: h.app.clock.now(),
            now: h.app.clock.now(),
        })
        .await
        .unwrap();
    let base = format!("/api/v1/halls/tianhe/windows/{window}");
    let (_, t) = h
        .call("POST", &format!("{base}/call"), None, &officer.headers())
        .await;
    let ticket = t["id"].as_i64().unwrap();

    // The card read goes into this window's console, for this ticket.
    let (s, v) = as_device(
        &h,
        "POST",
        "/api/v1/kiosk/qtt/card",
        Some(card.clone()),
        &qtt,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["name_masked"], "郑*");
    assert_ne!(v["id_number_masked"], json!(ZHENG));
    let console = console_of(&h, &officer, window).await;
    assert!(
        console.contains("id=\"card-read\">前台通读卡 Card read at the counter：<strong>郑华</strong> · 44**************39 ✓ 与本号身份一致 · this ticket's identity</p>"),
        "{console}"
    );
    // Another person's card on the same ticket: the console says so.
    let (s, _) = as_device(
        &h,
        "POST",
        "/api/v1/kiosk/qtt/card",
        Some(json!({"id_number": CHEN, "name": "陈晓明"})),
        &qtt,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let console = console_of(&h, &officer, window).await;
    assert!(
        console.contains("<strong>陈晓明</strong> · 44**************16 <strong>与本号身份不符"),
        "{console}"
    );
    as_device(
        &h,
        "POST",
        "/api/v1/kiosk/qtt/card",
        Some(card.clone()),
        &qtt,
    )
    .await;
    let read = h
        .app
        .counter_card_read(&h.admin_principal().await, "tianhe", window, ticket)
        .await
        .unwrap();
    assert_eq!(read.unwrap().name, "郑华");

    // The fee: only once serving, only the exact amount, only once.
    let (_, w) = as_device(&h, "GET", "/api/v1/kiosk/qtt/window", None, &qtt).await;
    assert_eq!(w["amount_fen"], Value::Null, "called, not yet serving: {w}");
    h.call(
        "POST",
        &format!("{base}/tickets/{ticket}/action"),
        Some(json!("start")),
        &officer.headers(),
    )
    .await;
    let (_, w) = as_device(&h, "GET", "/api/v1/kiosk/qtt/window", None, &qtt).await;
    let fen = w["amount_fen"].as_u64().unwrap();
    assert_eq!(fen, 12000, "{w}");
    assert_eq!(w["paid"], json!(false));
    let pay =
        |amount: u64| json!({"transaction_id": "emu-0001", "method": "card", "amount_fen": amount});
    let (s, v) = as_device(
        &h,
        "POST",
        "/api/v1/kiosk/qtt/payment",
        Some(pay(100)),
        &qtt,
    )
    .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "terminal_amount_mismatch")
    );
    let (s, v) = as_device(
        &h,
        "POST",
        "/api/v1/kiosk/qtt/payment",
        Some(pay(fen)),
        &qtt,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        (v["amount_yuan"].clone(), v["method"].clone()),
        (json!(120), json!("card"))
    );
    let (s, v) = as_device(
        &h,
        "POST",
        "/api/v1/kiosk/qtt/payment",
        Some(pay(fen)),
        &qtt,
    )
    .await;
    assert_eq!((s, code_of(&v)), (StatusCode::CONFLICT, "already_paid"));
    let (_, w) = as_device(&h, "GET", "/api/v1/kiosk/qtt/window", None, &qtt).await;
    assert_eq!(w["paid"], json!(true));

    // A 前台通 of another window reads into its own window only: nothing is served there.
    let other = h
        .store
        .windows("tianhe")
        .await
        .unwrap()
        .into_iter()
        .find(|w_| w_.number != window)
        .unwrap()
        .number;
    let qtt2 = device(&h, &admin, "qtt", Some(other)).await;
    let (s, _) = as_device(&h, "POST", "/api/v1/kiosk/qtt/card", Some(card), &qtt2).await;
    assert_eq!(s, StatusCode::CONFLICT);
    // The card read and the payment are audited.
    let actions = audit_actions(&h).await;
    assert!(actions.contains(&"counter.card_read".to_string()));
    assert!(actions.contains(&"payment.record".to_string()));
}
both_dialects!(
    qtt_reads_the_card_into_its_window_and_takes_the_fee,
    qtt_flow
);

/// A captured log of a whole 申请易 exchange — photo checks, plans, a submission, an officer's
/// read — holds neither the photo, the prints nor the signature (nor the name or number).
#[tokio::test]
async fn biometrics_never_reach_the_logs() {
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (store, _g) = wujing_testkit::sqlite_store().await;
    let h = Harness::new(store).await;
    let admin = h.sign_in_as("admin").await;
    let officer = h.sign_in_as("officer@tianhe").await;
    let sqy = device(&h, &admin, "sqy", None).await;
    as_device(
        &h,
        "POST",
        "/api/v1/kiosk/sqy/photo",
        Some(json!({"jpeg": good_photo()})),
        &sqy,
    )
    .await;
    // A refused submission too (its error path), then the accepted one, then the read.
    let mut unsigned = adult_submission();
    unsigned["signature"] = Value::Null;
    as_device(
        &h,
        "POST",
        "/api/v1/kiosk/sqy/applications",
        Some(unsigned),
        &sqy,
    )
    .await;
    let (s, r) = as_device(
        &h,
        "POST",
        "/api/v1/kiosk/sqy/applications",
        Some(adult_submission()),
        &sqy,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let id = r["application_id"].as_i64().unwrap();
    let (s, _) = h
        .call(
            "GET",
            &format!("/api/v1/applications/{id}/biometrics"),
            None,
            &officer.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    let log = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("route=/api/v1/kiosk/sqy/applications"),
        "the exchange was logged:\n{log}"
    );
    let photo = good_photo();
    for secret in [
        &photo[..40],
        &photo[photo.len() / 2..photo.len() / 2 + 40],
        &print_image("right_index"),
        &print_image("left_thumb"),
        &signature_png(),
        CHEN,
        "陈晓明",
    ] {
        assert!(!log.contains(secret), "the log contains {secret}");
    }
}
