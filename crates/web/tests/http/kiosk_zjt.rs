//! 证件通 (issue 17) through HTTP, on SQLite and PostgreSQL: a foreigner checks in by the
//! passport read (today's booking here found by the checked zone, through a renewed passport's
//! link too; none, too early, a misread and another machine refused), and registers a stay at a
//! private home from the passport (and visa) read through the online host registration's use
//! case — every problem listed, the receipt printed, the registration on the station's
//! worklist like one made online.

use super::foreign::td3;
use super::{code_of, Harness};
use axum::http::StatusCode;
use base64::Engine;
use serde_json::{json, Value};
use wujing_store::{AuditQuery, DynStore};
use wujing_testkit::both_dialects;

const VISA: &str = "foreign_visa_extension";
const STATION: &str = "conghua-jiekou-ps";

async fn device(h: &Harness, kind: &str) -> String {
    let admin = h.admin_principal().await;
    let token = h
        .app
        .create_device(
            &admin,
            None,
            &wujing_app::DeviceInput {
                name: format!("{kind} 1"),
                hall_id: "tianhe".into(),
                kind: kind.into(),
                window_number: None,
            },
        )
        .await
        .unwrap()
        .token
        .unwrap();
    format!("Bearer {token}")
}

async fn as_device(h: &Harness, who: &str, path: &str, body: Value) -> (StatusCode, Value) {
    h.call("POST", path, Some(body), &[("authorization", who)])
        .await
}

fn pdf(v: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().expect("a PDF"))
        .unwrap()
}

/// Books Wednesday's slot `slot` at tianhe for a passport (born 1988-04-02).
async fn book(h: &Harness, slot: &Value, number: &str, nat: &str) -> String {
    let (s, hold) = h
        .post(
            "/api/v1/holds",
            json!({"slot_id": slot["slot_id"], "business": VISA}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{hold}");
    let (s, b) = h
        .post(
            "/api/v1/bookings",
            json!({"hold_id": hold["hold_id"],
                   "applicant": {"name": "SMITH JOHN", "id_type": "foreign_passport",
                                 "id_number": number, "nationality": nat,
                                 "birth_date": "1988-04-02", "phone": "+447700900123"},
                   "answers": {"stay_expires_on": "2026-12-31", "original_stay_days": 30,
                               "extended_days": 0, "requested_days": 10}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b["code"].as_str().unwrap().to_string()
}

fn zone(number: &str, nat: &str) -> Value {
    json!(td3("SMITH", "JOHN", number, nat, "880402", "310101"))
}

async fn check_in_by_passport(store: DynStore) {
    let h = Harness::new(store).await;
    let zjt = device(&h, "zjt").await;
    let tbj = device(&h, "tbj").await;
    let (s, v) = h
        .get(&format!(
            "/api/v1/availability?business={VISA}&halls=tianhe&from=2026-12-02&to=2026-12-02"
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let slots = v["slots"].as_array().unwrap().clone();
    let (first, last) = (&slots[0], slots.last().unwrap());
    let found = book(&h, first, "ZJTA00001", "GBR").await;
    let linked = book(&h, first, "ZJTOLD001", "CAN").await;
    book(&h, last, "ZJTLATE01", "GBR").await;

    // Wednesday, half an hour before the first slot.
    let b = h.store.booking_by_code(&found).await.unwrap().unwrap();
    let now = h.app.clock.now();
    h.app
        .clock
        .advance(b.slot.starts_at - now - chrono::TimeDelta::minutes(30));
    let checkin = |body: Value, who: &str| {
        let (h, who) = (&h, who.to_string());
        async move { as_device(h, &who, "/api/v1/kiosk/zjt/checkins", body).await }
    };

    // Another kind of machine is refused, and so is a misread zone.
    let (s, _) = checkin(json!({"mrz": zone("ZJTA00001", "GBR")}), &tbj).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let mut misread = td3("SMITH", "JOHN", "ZJTA00001", "GBR", "880402", "310101");
    misread[1] = misread[1].replacen("880402", "880403", 1);
    let (s, v) = checkin(json!({ "mrz": misread }), &zjt).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "mrz_check_failed"),
        "{v}"
    );

    // Found: the foreigners' queue, the ticket's PDF; counted and audited like a check-in.
    let (s, v) = checkin(json!({"mrz": zone("ZJTA00001", "GBR")}), &zjt).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(
        v["ticket"]["label"].as_str().unwrap().starts_with('F'),
        "{v}"
    );
    assert_eq!(&pdf(&v["ticket_pdf"])[..5], b"%PDF-");
    assert!(
        !v.to_string().contains("ZJTA00001"),
        "no passport number: {v}"
    );
    let used = h.store.booking_by_code(&found).await.unwrap().unwrap();
    assert_eq!(used.status, wujing_store::BookingStatus::Used);
    let (s, v) = checkin(json!({"mrz": zone("ZJTA00001", "GBR")}), &zjt).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "already_checked_in")
    );
    let checkins = h
        .store
        .audit_search(&AuditQuery {
            limit: 100,
            ..AuditQuery::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "ticket.check_in" && e.actor.starts_with("device:"))
        .count();
    assert_eq!(checkins, 1);
    let today = h.app.clock.today();
    let usage = h.store.device_usage(today, today).await.unwrap();
    assert!(
        usage.iter().any(|u| u.mode == "check_in" && u.uses == 1),
        "{usage:?}"
    );

    // The renewed passport, linked at the counter, finds the old one's booking.
    let officer = h.sign_in_as("officer@tianhe").await;
    let (s, v) = h
        .call(
            "POST",
            "/api/v1/halls/tianhe/passport-links",
            Some(json!({"nationality": "CAN", "birth_date": "1988-04-02",
                        "old_passport_number": "ZJTOLD001", "new_passport_number": "ZJTNEW001"})),
            &officer.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = checkin(json!({"mrz": zone("ZJTNEW001", "CAN")}), &zjt).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        h.store
            .booking_by_code(&linked)
            .await
            .unwrap()
            .unwrap()
            .status,
        wujing_store::BookingStatus::Used
    );

    // No booking: told where to book.
    let (s, v) = checkin(json!({"mrz": zone("NOBOOK001", "GBR")}), &zjt).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::NOT_FOUND, "booking_not_found")
    );
    assert!(
        v["error"]["message"].as_str().unwrap().contains("外国人"),
        "{v}"
    );

    // The day's last slot: too early, with the time check-in opens.
    let (s, v) = checkin(json!({"mrz": zone("ZJTLATE01", "GBR")}), &zjt).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "checkin_too_early"),
        "{v}"
    );
}
both_dialects!(
    a_foreigner_checks_in_by_the_passport_read_through_every_linked_passport,
    check_in_by_passport
);

fn check_digit(s: &str) -> char {
    let sum: u32 = s
        .bytes()
        .zip([7u32, 3, 1].iter().cycle())
        .map(|(b, w)| {
            let v = match b {
                b'0'..=b'9' => u32::from(b - b'0'),
                b'A'..=b'Z' => u32::from(b - b'A') + 10,
                _ => 0,
            };
            v * w
        })
        .sum();
    char::from_digit(sum % 10, 10).unwrap()
}

/// A full-size visa's zone (MRV-A) in the passport `number`, valid until `expiry` (YYMMDD).
fn mrv_a(number: &str, expiry: &str) -> Vec<String> {
    let l1 = format!("{:<<44}", "V<CHNERIKSSON<<ANNA<MARIA");
    let num = format!("{number:<<9}");
    let l2 = format!(
        "{num}{}SWE740812{}F{expiry}{}{}",
        check_digit(&num),
        check_digit("740812"),
        check_digit(expiry),
        "<".repeat(16)
    );
    vec![l1, l2]
}

fn lodging(passport: Value) -> Value {
    json!({
        "passport": passport,
        "visa_kind": "L",
        "stay_until": "20270131",
        "host_name": "张三",
        "host_id_number": "11010519491231002x",
        "host_phone": "13800138000",
        "address": "广州市从化区街口街 1 号 302 房",
        "station": STATION,
    })
}

async fn registration(store: DynStore) {
    let h = Harness::new(store).await;
    let zjt = device(&h, "zjt").await;
    let tbj = device(&h, "tbj").await;
    let passport = json!(td3(
        "ERIKSSON",
        "ANNA MARIA",
        "ZJTH12345",
        "SWE",
        "740812",
        "310101"
    ));
    let register = |body: Value, who: &str| {
        let (h, who) = (&h, who.to_string());
        async move { as_device(h, &who, "/api/v1/kiosk/zjt/lodging", body).await }
    };

    // The read, masked for the screen; a visa page read as the passport is the wrong page.
    let (s, v) = as_device(
        &h,
        &zjt,
        "/api/v1/kiosk/zjt/read",
        json!({ "mrz": passport }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["nationality"].as_str(), v["name"].as_str()),
        (Some("SWE"), Some("E******"))
    );
    assert!(!v.to_string().contains("ZJTH12345"), "masked: {v}");
    let visa = mrv_a("ZJTH12345", "270215");
    let (s, v) = as_device(&h, &zjt, "/api/v1/kiosk/zjt/read", json!({"mrz": visa})).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "mrz_wrong_page"),
        "{v}"
    );
    let (s, v) = as_device(
        &h,
        &zjt,
        "/api/v1/kiosk/zjt/read",
        json!({"mrz": visa, "page": "visa"}),
    )
    .await;
    assert_eq!(
        (s, v["stay_until"].as_str()),
        (StatusCode::OK, Some("2027-02-15")),
        "{v}"
    );

    // Every problem listed at once, with its field.
    let mut bad = lodging(passport.clone());
    bad["visa_kind"] = json!("");
    bad["host_id_number"] = json!("110105194912310021");
    bad["host_phone"] = json!("1380013800");
    bad["stay_until"] = json!("2027013");
    let (s, v) = register(bad, &zjt).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "lodging_invalid"),
        "{v}"
    );
    let fields: Vec<&str> = v["error"]["details"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    for f in ["host_id_number", "host_phone", "visa_kind", "stay_until"] {
        assert!(fields.contains(&f), "{f} missing from {fields:?}");
    }
    // A misread zone, another machine, a visa of another passport: refused.
    let mut misread = lodging(passport.clone());
    misread["passport"][1] =
        json!(passport[1]
            .as_str()
            .unwrap()
            .replacen("ZJTH12345", "ZJTH12346", 1));
    let (s, v) = register(misread, &zjt).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "mrz_check_failed")
    );
    let (s, _) = register(lodging(passport.clone()), &tbj).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let mut other_visa = lodging(passport.clone());
    other_visa["visa"] = json!(mrv_a("OTHER1234", "270215"));
    let (s, v) = register(other_visa, &zjt).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "mrz_wrong_page")
    );

    // Registered, with the visa's date; the receipt to print.
    let mut ok = lodging(passport.clone());
    ok["visa"] = json!(visa);
    ok.as_object_mut().unwrap().remove("stay_until");
    let (s, r) = register(ok, &zjt).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let (reference, code) = (
        r["reference"].as_str().unwrap().to_string(),
        r["code"].as_str().unwrap().to_string(),
    );
    assert_eq!(code.len(), 8);
    assert_eq!(&pdf(&r["receipt_pdf"])[..5], b"%PDF-");
    assert_eq!(r["lateness"], "on_time");
    for secret in ["ZJTH12345", "11010519491231002X", "13800138000"] {
        assert!(!r.to_string().contains(secret), "{secret} in {r}");
    }

    // As one made online: its status with the code, on the station's worklist to verify,
    // audited by the machine.
    let (s, v) = h
        .post(
            "/api/v1/lodging/host/status",
            json!({"reference": reference, "code": code}),
        )
        .await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("pending")),
        "{v}"
    );
    let officer = h.sign_in_as(&format!("officer@{STATION}")).await;
    let (s, w) = h
        .call(
            "GET",
            &format!("/api/v1/lodging/worklist?station={STATION}&view=pending"),
            None,
            &officer.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{w}");
    let item = w["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["reference"] == reference.as_str())
        .expect("on the worklist")
        .clone();
    assert_eq!(item["source"], "host");
    assert_eq!(item["stay_until"], "2027-02-15");
    let (s, d) = h
        .call(
            "GET",
            &format!("/api/v1/lodging/worklist/{}", item["id"]),
            None,
            &officer.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["host"]["id_number"], "11010519491231002X");
    assert_eq!(d["guest"]["visa_kind"], "L");
    let entries = h
        .store
        .audit_search(&AuditQuery {
            limit: 100,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let registered: Vec<_> = entries
        .iter()
        .filter(|e| e.action == "lodging.host_register")
        .collect();
    assert_eq!(registered.len(), 1);
    assert!(
        registered[0].actor.starts_with("device:"),
        "{:?}",
        registered[0].actor
    );
}
both_dialects!(
    a_private_home_stay_is_registered_from_the_passport_read_like_one_made_online,
    registration
);
