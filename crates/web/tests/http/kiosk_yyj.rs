//! 预约机 (issue 17) through HTTP: the appointment machine offers its own hall's free seats of
//! today and the next six days, and books for the card read through the portal's booking spine
//! on the machine's channel (`self_service`): the same limits, eligibility and one-booking
//! rule; another hall's seat is refused; the slip comes back as a PDF with the applicant
//! masked; the mode is the 预约机's alone.

use super::{code_of, Harness};
use axum::http::StatusCode;
use base64::Engine;
use serde_json::json;
use wujing_store::DynStore;
use wujing_testkit::both_dialects;

const CALLER: &str = "440112200001010139"; // demo: 郑华

async fn token(h: &Harness, kind: &str, hall: &str) -> String {
    let admin = h.admin_principal().await;
    h.app
        .create_device(
            &admin,
            None,
            &wujing_app::DeviceInput {
                name: format!("{kind} {hall}"),
                hall_id: hall.into(),
                kind: kind.into(),
                window_number: None,
            },
        )
        .await
        .unwrap()
        .token
        .unwrap()
}

async fn kiosk_booking(store: DynStore) {
    let h = Harness::new(store).await;
    let yyj = token(&h, "yyj", "tianhe").await;
    let bearer = format!("Bearer {yyj}");
    let auth = [("authorization", bearer.as_str())];
    let check_in = token(&h, "check_in", "tianhe").await;
    let other = format!("Bearer {check_in}");

    // Today's seats of this hall only; seven days offered; outside them refused.
    let (s, v) = h
        .call(
            "GET",
            "/api/v1/kiosk/yyj/slots?business=passport_first",
            None,
            &auth,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["date"], "2026-12-01");
    assert_eq!(v["days"].as_array().unwrap().len(), 7);
    let slots = v["slots"].as_array().unwrap();
    assert!(!slots.is_empty(), "{v}");
    assert!(slots.iter().all(|s| s["hall_id"] == "tianhe"));
    let (s, v) = h
        .call(
            "GET",
            "/api/v1/kiosk/yyj/slots?business=passport_first&date=2026-12-08",
            None,
            &auth,
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::BAD_REQUEST, "date_range_invalid")
    );
    let (s, _) = h
        .call(
            "GET",
            "/api/v1/kiosk/yyj/slots?business=passport_first",
            None,
            &[("authorization", other.as_str())],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a check-in kiosk is not a 预约机");

    // Tomorrow's first seat.
    let (_, v) = h
        .call(
            "GET",
            "/api/v1/kiosk/yyj/slots?business=passport_first&date=2026-12-02",
            None,
            &auth,
        )
        .await;
    let slot = v["slots"][0]["slot_id"].as_i64().unwrap();
    let elsewhere = h.slot("gz-city", "passport_first").await["slot_id"]
        .as_i64()
        .unwrap();
    let book = |slot: i64, phone: &str| {
        json!({"slot_id": slot, "business": "passport_first", "name": "郑华",
               "id_number": CALLER, "phone": phone})
    };
    let (s, v) = h
        .call(
            "POST",
            "/api/v1/kiosk/yyj/bookings",
            Some(book(elsewhere, "13800138000")),
            &auth,
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "slot_not_at_site")
    );
    let (s, v) = h
        .call(
            "POST",
            "/api/v1/kiosk/yyj/bookings",
            Some(book(slot, "12345")),
            &auth,
        )
        .await;
    assert_eq!((s, code_of(&v)), (StatusCode::BAD_REQUEST, "phone_invalid"));
    let (s, v) = h
        .call(
            "POST",
            "/api/v1/kiosk/yyj/bookings",
            Some(book(slot, "13800138000")),
            &auth,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let b = &v["booking"];
    assert_eq!(b["channel"], "self_service");
    assert_eq!(b["hall"]["id"], "tianhe");
    assert_eq!(b["date"], "2026-12-02");
    assert!(
        !v.to_string().contains(CALLER),
        "the answer masks the number"
    );
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(v["slip_pdf"].as_str().unwrap())
        .unwrap();
    assert_eq!(&pdf[..5], b"%PDF-");
    let code = b["code"].as_str().unwrap();
    let stored = h.store.booking_by_code(code).await.unwrap().unwrap();
    assert_eq!(stored.channel, "self_service");
    assert_eq!(stored.id_number, CALLER);
    // The spine's one-booking rule holds at the machine too.
    let (s, v) = h
        .call(
            "POST",
            "/api/v1/kiosk/yyj/bookings",
            Some(book(slot, "13800138000")),
            &auth,
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    // Counted as the machine's use.
    let usage = h
        .store
        .device_usage(
            chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        )
        .await
        .unwrap();
    assert!(
        usage.iter().any(|u| u.mode == "book" && u.uses == 1),
        "{usage:?}"
    );
}
both_dialects!(
    the_appointment_machine_books_its_hall_on_its_channel,
    kiosk_booking
);
