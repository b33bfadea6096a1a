//! Foreigners as applicants (issue 14 §2) on SQLite and PostgreSQL: the passport identity in
//! one form (ICAO nationalities, birth date required), one active booking per foreign identity
//! under concurrent confirmations, the passport renewal link (one person across two passports,
//! refused when it would leave two active bookings, audited), the history seen through it, a
//! foreigner accepted at the foreigners' window with the 15-day due date, and the portal's
//! pasted MRZ.

use super::staff::Session;
use super::{code_of, Harness};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use wujing_store::DynStore;
use wujing_testkit::both_dialects;

/// The 7-3-1 check digit of ICAO Doc 9303 Part 3 §4.9.
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

fn pad(s: &str, n: usize) -> String {
    format!("{s:<<n$}")
}

/// A valid TD3 passport zone (Doc 9303 Part 4).
pub(crate) fn td3(
    surname: &str,
    given: &str,
    number: &str,
    nat: &str,
    birth: &str,
    expiry: &str,
) -> [String; 2] {
    let l1 = pad(
        &format!("P<{nat}{surname}<<{}", given.replace(' ', "<")),
        44,
    );
    let num = pad(number, 9);
    let opt = pad("", 14);
    let (n, b, e, o) = (
        format!("{num}{}", check_digit(&num)),
        format!("{birth}{}", check_digit(birth)),
        format!("{expiry}{}", check_digit(expiry)),
        format!("{opt}{}", check_digit(&opt)),
    );
    let composite = format!("{n}{b}{e}{o}");
    let l2 = format!("{n}{nat}{b}M{e}{o}{}", check_digit(&composite));
    [l1, l2]
}

fn passport(number: &str, nat: &str) -> Value {
    json!({"name": "SMITH JOHN", "id_type": "foreign_passport", "id_number": number,
           "nationality": nat, "birth_date": "1988-04-02", "phone": "+447700900123"})
}

/// A visa extension asked for well ahead: 30 days' stay granted, 10 asked.
fn extension(requested: u32) -> Value {
    json!({"stay_expires_on": "2026-12-31", "original_stay_days": 30, "extended_days": 0,
           "requested_days": requested})
}

const VISA: &str = "foreign_visa_extension";

impl Harness {
    /// Holds a seat of `business` at tianhe (the `nth` free slot of Wednesday) and confirms it.
    async fn book_foreign(
        &self,
        nth: usize,
        applicant: Value,
        answers: Value,
    ) -> (StatusCode, Value) {
        let (s, v) = self
            .get(&format!(
                "/api/v1/availability?business={VISA}&halls=tianhe&from=2026-12-02&to=2026-12-02"
            ))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let slot = v["slots"][nth].clone();
        let (s, hold) = self
            .post(
                "/api/v1/holds",
                json!({"slot_id": slot["slot_id"], "business": VISA}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{hold}");
        self.post(
            "/api/v1/bookings",
            json!({"hold_id": hold["hold_id"], "applicant": applicant, "answers": answers}),
        )
        .await
    }

    async fn link(
        &self,
        officer: &Session,
        nat: &str,
        old: &str,
        new: &str,
    ) -> (StatusCode, Value) {
        self.call(
            "POST",
            "/api/v1/halls/tianhe/passport-links",
            Some(json!({"nationality": nat, "birth_date": "1988-04-02",
                        "old_passport_number": old, "new_passport_number": new})),
            &officer.headers(),
        )
        .await
    }
}

async fn foreign_identities_are_normalised_and_checked_against_icao(store: DynStore) {
    let h = Harness::new(store).await;
    let check = |applicant: Value| {
        let h = &h;
        async move {
            h.post(
                "/api/v1/eligibility",
                json!({"business": VISA, "applicant": applicant, "answers": extension(10)}),
            )
            .await
        }
    };
    let (s, v) = check(passport("123456789", "GBR")).await;
    assert_eq!((s, &v["eligible"]), (StatusCode::OK, &json!(true)), "{v}");
    for (nat, why) in [
        ("ZZZ", "not an ICAO code"),
        ("XXX", "unspecified: decided against"),
        ("UTO", "the specimen state"),
        ("GB", "too short"),
    ] {
        let (s, v) = check(passport("123456789", nat)).await;
        assert_eq!(
            (s, code_of(&v)),
            (StatusCode::BAD_REQUEST, "nationality_invalid"),
            "{nat}: {why}"
        );
    }
    let (s, _) = check(passport("123456789", "XXA")).await;
    assert_eq!(s, StatusCode::OK, "a stateless person's travel document");
    let mut no_birth = passport("123456789", "GBR");
    no_birth["birth_date"] = Value::Null;
    let (s, v) = check(no_birth).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::BAD_REQUEST, "birth_date_required")
    );
    let mut unborn = passport("123456789", "GBR");
    unborn["birth_date"] = json!("2027-01-01");
    let (s, v) = check(unborn).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::BAD_REQUEST, "birth_date_invalid")
    );
    let (s, v) = check(passport("12/34", "GBR")).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::BAD_REQUEST, "passport_number_invalid")
    );

    // One passport however it is written: `d<<` is the zone's Germany, `DEU` typed; spaces
    // and case do not make another identity.
    let (s, b) = h
        .book_foreign(0, passport("c01x 00t47", "d<<"), extension(10))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(
        b["applicant"]["id_number"]
            .as_str()
            .map(|n| n.contains("C01X00T47")),
        Some(false),
        "masked: {b}"
    );
    let (s, v) = h
        .book_foreign(1, passport("C01X00T47", "DEU"), extension(10))
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "already_booked"),
        "{v}"
    );
    let stored = h
        .store
        .booking_by_code(b["code"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.id_number.as_str(), stored.nationality.as_deref()),
        ("C01X00T47", Some("DEU")),
        "stored in its one form"
    );
}
both_dialects!(
    foreign_identities_are_normalised_and_checked_against_icao,
    foreign_identities_are_normalised_and_checked_against_icao
);

async fn one_active_booking_per_foreign_identity_under_concurrency(store: DynStore) {
    let h = Harness::new(store).await;
    let (s, v) = h
        .get(&format!(
            "/api/v1/availability?business={VISA}&halls=tianhe&from=2026-12-02&to=2026-12-02"
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    let mut holds = Vec::new();
    // Five: the confirmations per identity a day's limit allows.
    for slot in v["slots"].as_array().unwrap().iter().take(5) {
        let (s, hold) = h
            .post(
                "/api/v1/holds",
                json!({"slot_id": slot["slot_id"], "business": VISA}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{hold}");
        holds.push(hold["hold_id"].clone());
    }
    let h = std::sync::Arc::new(h);
    let tasks: Vec<_> = holds
        .into_iter()
        .map(|hold| {
            let h = h.clone();
            tokio::spawn(async move {
                h.post(
                    "/api/v1/bookings",
                    json!({"hold_id": hold, "applicant": passport("X1234567", "FRA"),
                           "answers": extension(10)}),
                )
                .await
            })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        let (s, v) = t.await.unwrap();
        match s {
            StatusCode::CREATED => won += 1,
            _ => assert_eq!((s, code_of(&v)), (StatusCode::CONFLICT, "already_booked")),
        }
    }
    assert_eq!(won, 1, "exactly one of five concurrent confirmations books");
    let r = h.store.verify_invariants().await.unwrap();
    assert_eq!(
        (r.oversold.len(), r.miscounted.len(), r.duplicate_identities),
        (0, 0, 0)
    );
}
both_dialects!(
    one_active_booking_per_foreign_identity_under_concurrency,
    one_active_booking_per_foreign_identity_under_concurrency
);

async fn the_renewal_link_makes_two_passports_one_person(store: DynStore) {
    let h = Harness::new(store).await;
    let officer = h.sign_in_as("officer@tianhe").await;
    let (s, a) = h
        .book_foreign(0, passport("OLD000001", "GBR"), extension(10))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    // Before the link the new passport is another identity.
    let (s, v) = h
        .post(
            "/api/v1/eligibility",
            json!({"business": VISA, "applicant": passport("NEW000001", "GBR"), "answers": extension(10)}),
        )
        .await;
    assert_eq!((s, &v["eligible"]), (StatusCode::OK, &json!(true)));

    let outsider = h.sign_in_as("officer@haizhu-pazhou").await;
    let (s, v) = h.link(&outsider, "GBR", "OLD000001", "NEW000001").await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::FORBIDDEN, "forbidden"),
        "another hall's officer"
    );
    let (s, v) = h.link(&officer, "GBR", "OLD000001", "OLD000001").await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::BAD_REQUEST, "passport_link_same")
    );
    let (s, v) = h.link(&officer, "GBR", "old 000001", "new000001").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["passports"], 2);
    assert!(!v.to_string().contains("NEW000001"), "masked: {v}");
    let (s, v) = h.link(&officer, "GBR", "OLD000001", "NEW000001").await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "passport_already_linked")
    );

    // The new passport cannot book the business the old one has an active booking of.
    let (s, v) = h
        .book_foreign(1, passport("NEW000001", "GBR"), extension(10))
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "already_booked"),
        "{v}"
    );
    // A third passport linked to the second belongs to the same person.
    let (s, _) = h.link(&officer, "GBR", "NEW000001", "NEWEST001").await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = h
        .book_foreign(2, passport("NEWEST001", "GBR"), extension(10))
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "already_booked"),
        "{v}"
    );
    // Once the old booking is cancelled the person books again, with the new passport.
    let (s, _) = h
        .post(
            &format!("/api/v1/bookings/{}/cancel", a["code"].as_str().unwrap()),
            json!({"id_number": "OLD000001"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = h
        .book_foreign(3, passport("NEWEST001", "GBR"), extension(10))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // Two passports each with an active booking of one business cannot become one person:
    // refused, and nothing of the link is written.
    let (s, _) = h
        .book_foreign(4, passport("TWIN00001", "IND"), extension(10))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = h
        .book_foreign(5, passport("TWIN00002", "IND"), extension(10))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = h.link(&officer, "IND", "TWIN00001", "TWIN00002").await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "passport_link_conflict"),
        "{v}"
    );
    let key = |n: &str| h.store.keys().identity_key(&format!("P:IND:{n}"));
    assert_eq!(
        h.store.foreign_person_key(&key("TWIN00001")).await.unwrap(),
        None
    );
    assert_eq!(
        h.store.foreign_person_key(&key("TWIN00002")).await.unwrap(),
        None
    );

    let entries = h
        .store
        .audit_search(&wujing_store::AuditQuery {
            citizen: None,
            actor: None,
            from: None,
            to: None,
            halls: None,
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let links: Vec<_> = entries
        .iter()
        .filter(|e| e.action == "foreign.passport_link")
        .collect();
    assert_eq!(
        links.len(),
        2,
        "each recorded link audited, the refused ones not"
    );
    assert!(links.iter().all(|e| e.actor.starts_with("staff:")
        && !e.subject.contains("OLD000001")
        && e.citizen.as_deref().is_some_and(|c| c.starts_with("P:"))));
}
both_dialects!(
    the_renewal_link_makes_two_passports_one_person,
    the_renewal_link_makes_two_passports_one_person
);

/// Checks the booking in at tianhe, calls it at the foreigners' window and accepts it.
async fn accept_at_foreigners_window(h: &Harness, code: &str, passport_number: &str) -> Value {
    let b = h.store.booking_by_code(code).await.unwrap().unwrap();
    let now = h.app.clock.now();
    h.app
        .clock
        .advance(b.slot.starts_at - now - chrono::TimeDelta::minutes(30));
    let officer = h.sign_in_as("officer@tianhe").await;
    let (s, t) = h
        .call(
            "POST",
            "/api/v1/halls/tianhe/checkins",
            Some(json!({"code": code, "id_number": passport_number})),
            &officer.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    assert!(
        t["label"].as_str().unwrap().starts_with('F'),
        "the foreigners' queue: {t}"
    );
    let window = h
        .store
        .windows("tianhe")
        .await
        .unwrap()
        .into_iter()
        .find(|w| w.kind == "foreigners")
        .unwrap()
        .number;
    let base = format!("/api/v1/halls/tianhe/windows/{window}");
    let (s, called) = h
        .call("POST", &format!("{base}/call"), None, &officer.headers())
        .await;
    assert_eq!(
        (s, &called["label"]),
        (StatusCode::OK, &t["label"]),
        "{called}"
    );
    let id = called["id"].as_i64().unwrap();
    h.call(
        "POST",
        &format!("{base}/tickets/{id}/action"),
        Some(json!("start")),
        &officer.headers(),
    )
    .await;
    let (s, app) = h
        .call(
            "POST",
            &format!("{base}/tickets/{id}/accept"),
            Some(json!({})),
            &officer.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{app}");
    app
}

async fn a_foreigner_is_accepted_and_their_history_is_seen_through_the_link(store: DynStore) {
    let h = Harness::new(store).await;
    let (s, b) = h
        .book_foreign(0, passport("HIST00001", "CAN"), extension(20))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let app = accept_at_foreigners_window(&h, b["code"].as_str().unwrap(), "hist00001").await;
    // Accepted Wed 2026-12-02: a decision within 15 days, Thu 2026-12-17.
    assert_eq!(app["ready_by"], "2026-12-17", "{app}");
    assert_eq!(app["status"], "accepted");
    let stored = h
        .store
        .booking_by_code(b["code"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.id_kind, wujing_store::IdKind::ForeignPassport);
    assert!(
        !app.to_string().contains("HIST00001"),
        "no passport number: {app}"
    );

    // The passport is renewed; the officer links it. 20 of the visa's 30 days are extended
    // already (recorded here under the old passport): 15 more are refused with the new one,
    // although the applicant declares no earlier extension.
    let officer = h.sign_in_as("officer@tianhe").await;
    let (s, v) = h.link(&officer, "CAN", "HIST00001", "HIST00002").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        v["applications"], 1,
        "the old passport's application, through the link"
    );
    let mut answers = extension(15);
    answers["stay_expires_on"] = json!("2027-01-20");
    let (s, v) = h
        .book_foreign(2, passport("HIST00002", "CAN"), answers.clone())
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "not_eligible"),
        "{v}"
    );
    assert!(
        v.to_string().contains("extension_exceeds_original_stay"),
        "{v}"
    );
    // Ten more days fit.
    answers["requested_days"] = json!(10);
    let (s, v) = h
        .book_foreign(3, passport("HIST00002", "CAN"), answers)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // Someone else's passport sees no such history.
    let (s, v) = h
        .book_foreign(4, passport("OTHER0001", "CAN"), extension(30))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}
both_dialects!(
    a_foreigner_is_accepted_and_their_history_is_seen_through_the_link,
    a_foreigner_is_accepted_and_their_history_is_seen_through_the_link
);

async fn form(
    h: &Harness,
    uri: &str,
    fields: &[(&str, &str)],
    cookie: Option<&str>,
) -> (StatusCode, String) {
    let body = fields
        .iter()
        .map(|(k, v)| {
            let enc: String = v
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            format!("{k}={enc}")
        })
        .collect::<Vec<_>>()
        .join("&");
    let mut req = Request::post(uri).header("content-type", "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let res = h.raw(req.body(Body::from(body)).unwrap()).await;
    let s = res.status();
    let b = res.into_body().collect().await.unwrap().to_bytes();
    (s, String::from_utf8_lossy(&b).into())
}

async fn the_portal_reads_a_pasted_mrz_and_lists_every_reason(store: DynStore) {
    let h = Harness::new(store).await;
    // The home page offers the foreigners' section; their pages are English first.
    let (_, home) = h.get("/").await;
    assert!(home.as_str().unwrap().contains("href=\"/foreigners\""));
    let res = h
        .raw(Request::get("/foreigners").body(Body::empty()).unwrap())
        .await;
    assert!(res
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("wujing_lang=en")));
    let b = res.into_body().collect().await.unwrap().to_bytes();
    let list = String::from_utf8_lossy(&b);
    for b in [
        VISA,
        "foreign_stay_permit",
        "foreign_residence_permit",
        "foreign_residence_extension",
    ] {
        assert!(list.contains(&format!("/foreigners/book/{b}")), "{b}");
    }
    assert!(list.contains("Decision within"), "{list}");
    let (_, zh) = h
        .call(
            "GET",
            "/foreigners",
            None,
            &[("cookie", "wujing_lang=zh-CN")],
        )
        .await;
    assert!(
        zh.as_str().unwrap().contains("办理时限"),
        "a chosen language is kept"
    );
    // The citizens' page of a foreigners' business sends them to theirs.
    let res = h
        .raw(
            Request::get(format!("/book/{VISA}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        res.headers()["location"],
        format!("/foreigners/book/{VISA}")
    );

    // A zone pasted as one run, with an OCR slip in the birth date (O for 0): read, repaired,
    // and the form filled in.
    let [l1, l2] = td3(
        "SMITH",
        "JOHN PETER",
        "533401372",
        "GBR",
        "880402",
        "300115",
    );
    let noisy = format!("{l1}{}", l2.replacen("880402", "88O402", 1));
    let uri = format!("/foreigners/book/{VISA}/check");
    let (s, page) = form(&h, &uri, &[("action", "read"), ("mrz", &noisy)], None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("What was read"), "English first: {page}");
    assert!(page.contains("every check digit is right"), "{page}");
    assert!(
        page.contains(
            "name=\"passport_number\" autocomplete=\"off\" maxlength=\"24\" value=\"533401372\""
        ),
        "{page}"
    );
    assert!(page.contains("value=\"1988-04-02\""), "{page}");
    assert!(page.contains("<option value=\"GBR\" selected>"), "{page}");
    assert!(page.contains("SMITH JOHN PETER"));
    assert!(
        page.contains("Reading errors put right"),
        "the repair is shown: {page}"
    );
    // A zone that is no zone is refused with the reader's message, the form kept.
    let (_, page) = form(&h, &uri, &[("action", "read"), ("mrz", "HELLO")], None).await;
    assert!(page.contains("role=\"alert\""), "{page}");

    // The stay ends in 3 days: refused with the reason, and every missing answer named.
    let fields = |ends: &'static str, asked: &'static str| {
        vec![
            ("action", "check"),
            ("name", "SMITH JOHN PETER"),
            ("passport_number", "533401372"),
            ("nationality", "GBR"),
            ("birth_date", "1988-04-02"),
            ("stay_expires_on", ends),
            ("original_stay_days", "30"),
            ("extended_days", "0"),
            ("requested_days", asked),
        ]
    };
    let (_, page) = form(&h, &uri, &fields("2026-12-04", "10"), None).await;
    assert!(page.contains("extension_too_late"), "{page}");
    assert!(
        page.contains("at least 7 days before the stay ends"),
        "{page}"
    );
    // Too late, not "not yet": the headline says so and sends to a counter or the hotline, the
    // reason gives the last day it was possible.
    assert!(
        page.contains("It is too late to book this online")
            && page.contains("Go to a hall&#39;s foreigners&#39; counter")
            && page.contains("or call the hotline 12367;")
            && page.contains("by 2026-11-27 at the latest")
            && !page.contains("cannot apply yet"),
        "{page}"
    );
    assert!(
        page.contains("value=\"2026-12-04\""),
        "what was typed is kept"
    );
    let (_, page) = form(&h, &uri, &fields("2026-12-04", "40"), None).await;
    assert!(
        page.contains("extension_too_late") && page.contains("extension_exceeds_original_stay"),
        "every reason at once: {page}"
    );
    // Far enough: the halls offering it.
    let (s, page) = form(&h, &uri, &fields("2026-12-30", "10"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("/book/foreign_visa_extension/times"),
        "{page}"
    );
    assert!(page.contains("name=\"ctx\""));
    // In Chinese when chosen.
    let (_, page) = form(
        &h,
        &uri,
        &fields("2026-12-04", "10"),
        Some("wujing_lang=zh-CN"),
    )
    .await;
    assert!(page.contains("签证延期须在停留期届满7日前提出"), "{page}");
    assert!(page.contains("已过申请期限"), "{page}");

    // A residence permit asked for before the date of entry: "not yet", from that date, not
    // the too-late headline.
    let uri = "/foreigners/book/foreign_residence_permit/check";
    let early = [
        ("action", "check"),
        ("name", "SMITH JOHN PETER"),
        ("passport_number", "533401372"),
        ("nationality", "GBR"),
        ("birth_date", "1988-04-02"),
        ("entry_date", "2026-12-20"),
        ("visa_requires_residence", "yes"),
        ("residence_category", "work"),
        ("requested_days", "365"),
    ];
    let (_, page) = form(&h, uri, &early, None).await;
    assert!(
        page.contains("entry_date_in_future")
            && page.contains("You cannot apply yet")
            && page.contains("you can apply from 2026-12-20")
            && !page.contains("too late"),
        "{page}"
    );
}
both_dialects!(
    the_portal_reads_a_pasted_mrz_and_lists_every_reason,
    the_portal_reads_a_pasted_mrz_and_lists_every_reason
);

async fn two_officers_linking_one_new_passport_at_once_record_one_link(store: DynStore) {
    let h = std::sync::Arc::new(Harness::new(store).await);
    let a = h.sign_in_as("officer@tianhe").await;
    let b = h.sign_in_as("officer@tianhe").await;
    // The same new passport claimed as the successor of two different old ones, at once.
    let (h1, h2) = (h.clone(), h.clone());
    let one = tokio::spawn(async move { h1.link(&a, "JPN", "RACEOLD01", "RACENEW01").await });
    let two = tokio::spawn(async move { h2.link(&b, "JPN", "RACEOLD02", "RACENEW01").await });
    let mut statuses = [one.await.unwrap(), two.await.unwrap()];
    statuses.sort_by_key(|(s, _)| *s);
    assert_eq!(statuses[0].0, StatusCode::CREATED, "{:?}", statuses[0].1);
    assert_eq!(
        (statuses[1].0, code_of(&statuses[1].1)),
        (StatusCode::CONFLICT, "passport_already_linked")
    );
    let key = |n: &str| h.store.keys().identity_key(&format!("P:JPN:{n}"));
    let person = h
        .store
        .foreign_person_key(&key("RACENEW01"))
        .await
        .unwrap()
        .unwrap();
    assert!(person == key("RACEOLD01") || person == key("RACEOLD02"));
    let passports = h.store.foreign_passport_keys(&person).await.unwrap();
    assert_eq!(
        passports.len(),
        2,
        "one old passport and the new one, nothing of the loser"
    );
}
both_dialects!(
    two_officers_linking_one_new_passport_at_once_record_one_link,
    two_officers_linking_one_new_passport_at_once_record_one_link
);
