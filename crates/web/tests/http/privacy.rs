//! Regression tests for the protection of citizens' data (issue: data protected as a public
//! authority must), each named after the property it protects, on both databases.

use super::{test_config, Harness};
use axum::http::StatusCode;
use serde_json::json;
use wujing_store::DynStore;
use wujing_testkit::both_dialects;

/// A phone counts once however it is written: the per-phone code limit cannot be multiplied by
/// writing one mobile number as `137…`, `+86 137…` and `+0086137…` (SMS bombing).
async fn one_phone_however_written_shares_its_code_limit(store: DynStore) {
    let h = Harness::with_config(store, test_config()).await;
    let (s, v) = h
        .post("/api/v1/phone-codes", json!({"phone": "13700137009"}))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    for other in ["+8613700137009", "+008613700137009", "0086 137-0013-7009"] {
        let (s, v) = h.post("/api/v1/phone-codes", json!({"phone": other})).await;
        assert_eq!(
            (s, super::code_of(&v)),
            (StatusCode::TOO_MANY_REQUESTS, "code_rate_limited"),
            "{other}"
        );
    }
    // The one code went to the canonical number.
    assert_eq!(
        h.store.messages_to("13700137009", 5).await.unwrap().len(),
        1
    );
}
both_dialects!(
    phone_canonical,
    one_phone_however_written_shares_its_code_limit
);

/// The language and text-size switches send the browser back only to a path of this site:
/// never off-site however the address is disguised, and never a 500 for a broken one.
#[tokio::test]
async fn preference_switches_redirect_only_within_the_site() {
    let (store, _g) = wujing_testkit::sqlite_store().await;
    let h = Harness::with_config(store, test_config()).await;
    let location = |uri: String| {
        let h = &h;
        async move {
            let res = h
                .raw(
                    axum::http::Request::get(uri.as_str())
                        .body(axum::body::Body::empty())
                        .unwrap(),
                )
                .await;
            // A control character in the address is refused outright (text_invalid); anything
            // else is answered with a redirect.
            if res.status() == StatusCode::BAD_REQUEST {
                return None;
            }
            assert_eq!(res.status(), StatusCode::SEE_OTHER, "{uri}");
            Some(res.headers()["location"].to_str().unwrap().to_string())
        }
    };
    for evil in [
        "https://evil.example/",
        "//evil.example/",
        "/%5Cevil.example",
        "%2F%2Fevil.example",
        "/%09/evil.example",
        "/%0D%0ALocation:%20https://evil.example",
        "/\\evil.example",
        "evil.example",
        "/%E4%BD%A0",
    ] {
        for switch in ["/lang?to=en", "/text?size=large"] {
            let back = if evil.contains('%') {
                evil.to_string()
            } else {
                evil.replace('/', "%2F")
                    .replace('\\', "%5C")
                    .replace(':', "%3A")
            };
            let got = location(format!("{switch}&back={back}")).await;
            assert!(got.is_none_or(|l| l == "/"), "{switch} back={evil}");
        }
    }
    let got = location("/lang?to=en&back=%2Fhalls%3Fbusiness%3Dpassport_first".into()).await;
    assert_eq!(got.as_deref(), Some("/halls?business=passport_first"));
}

/// Free text with a control character or a bidirectional override is refused with 400
/// `text_invalid` on both databases, in a body or in an address, and nothing is written: a NUL
/// once answered 500 on PostgreSQL and was stored on SQLite.
async fn control_characters_are_refused_and_nothing_is_written(store: DynStore) {
    let h = Harness::with_config(store, test_config()).await;
    let slot = h.slot("tianhe", "passport_first").await;
    let (s, hold) = h
        .post(
            "/api/v1/holds",
            json!({"slot_id": slot["slot_id"], "business": "passport_first"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{hold}");
    for name in ["郑\u{0}华", "郑华\u{202e}", "\u{1b}[2J郑华", "郑\u{85}华"] {
        let (s, v) = h
            .post(
                "/api/v1/bookings",
                json!({"hold_id": hold["hold_id"],
                       "applicant": super::applicant("440112200001010139", name)}),
            )
            .await;
        assert_eq!(
            (s, super::code_of(&v)),
            (StatusCode::BAD_REQUEST, "text_invalid"),
            "{name:?}"
        );
    }
    let (s, v) = h
        .post(
            "/api/v1/eligibility",
            json!({"business": "passport_first", "option\u{0}": "x"}),
        )
        .await;
    assert_eq!(
        (s, super::code_of(&v)),
        (StatusCode::BAD_REQUEST, "text_invalid"),
        "{v}"
    );
    let (s, v) = h.get("/api/v1/bookings/AB%00CD").await;
    assert_eq!(
        (s, super::code_of(&v)),
        (StatusCode::BAD_REQUEST, "text_invalid"),
        "{v}"
    );
    // The hold is still usable: nothing was confirmed by the refused attempts.
    let (s, v) = h
        .post(
            "/api/v1/bookings",
            json!({"hold_id": hold["hold_id"],
                   "applicant": super::applicant("440112200001010139", "郑华")}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(h.store.verify_invariants().await.unwrap().is_clean());
}
both_dialects!(
    control_characters,
    control_characters_are_refused_and_nothing_is_written
);

/// Someone else's identity number with a name of the caller's choosing (issue 11, finding 1).
const STRANGER: &str = super::CHEN; // demo: 陈晓明, passport valid to 2030, Guangzhou hukou

/// A number with the stranger's birth date (so the rules of age answer alike) that the registry
/// does not know.
fn unknown_number() -> String {
    let birth = chrono::NaiveDate::from_ymd_opt(1985, 3, 3).unwrap();
    wujing_domain::idnum::compose("440106", birth, 57)
}

/// Sends a booking code to `phone` and returns it as the citizen reads it.
async fn code_sent_to(h: &Harness, phone: &str) -> String {
    let (s, v) = h.post("/api/v1/phone-codes", json!({"phone": phone})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let m = h.store.messages_to(phone, 1).await.unwrap().remove(0);
    m.body
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect()
}

fn check_body(
    business: &str,
    id: &str,
    name: &str,
    answers: serde_json::Value,
) -> serde_json::Value {
    json!({"business": business,
           "applicant": {"name": name, "id_number": id, "phone": "13800138000"},
           "answers": answers})
}

/// An anonymous pre-check learns nothing from the registry: a stranger's number with a wrong
/// name, the same number with the right name and a number the registry does not know answer
/// exactly alike, for every kind of registry fact (a passport held and its expiry, a permit, a
/// household city outside the open cities, a lost-passport report).
async fn anonymous_precheck_answers_alike_whatever_the_registry_holds(store: DynStore) {
    let mut config = test_config();
    // Twelve checks of one number: more than a minute's limit, which is tested below.
    config.limits.checks_per_identity = 0;
    let h = Harness::with_config(store, config).await;
    let unknown = unknown_number();
    for (business, answers) in [
        ("passport_first", json!({})),
        ("passport_renewal", json!({})),
        ("passport_replacement", json!({})),
        ("hkm_permit", json!({})),
        (
            "hkm_endorsement_g",
            json!({"option": "3m1", "destination": "hk"}),
        ),
        (
            "hkm_endorsement_t",
            json!({"option": "3m1", "relation": "spouse"}),
        ),
    ] {
        let mut answers_seen = Vec::new();
        for (id, name) in [
            (STRANGER, "王五"),
            (STRANGER, "陈晓明"),
            (unknown.as_str(), "王五"),
        ] {
            let (s, v) = h
                .post(
                    "/api/v1/eligibility",
                    check_body(business, id, name, answers.clone()),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{business}: {v}");
            assert_eq!(v["records_checked"], false, "{business}: {v}");
            answers_seen.push(v);
        }
        assert_eq!(answers_seen[0], answers_seen[1], "{business}");
        assert_eq!(answers_seen[0], answers_seen[2], "{business}");
    }
}
both_dialects!(
    precheck_anonymous,
    anonymous_precheck_answers_alike_whatever_the_registry_holds
);

/// The reasons that come from the registry records are given only to a caller who gave the
/// code sent to the applicant's phone and the name registered for the number; with the code
/// but another name, or without the code at the confirmation, a refusal says the same whether
/// the number is someone else's or unknown.
async fn registry_reasons_only_with_the_phone_code_and_the_registered_name(store: DynStore) {
    let h = Harness::with_config(store, test_config()).await;
    let unknown = unknown_number();
    let with_code = |id: &str, name: &str, phone: &str, code: &str| {
        json!({"business": "passport_renewal",
               "applicant": {"name": name, "id_number": id, "phone": phone},
               "phone_code": code})
    };
    // The applicant herself: the code and the registered name.
    let code = code_sent_to(&h, "13800138001").await;
    let (s, own) = h
        .post(
            "/api/v1/eligibility",
            with_code(STRANGER, "陈晓明", "13800138001", &code),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{own}");
    assert_eq!(own["records_checked"], true);
    assert_eq!(own["reasons"][0]["code"], "renewal_not_due", "{own}");
    // A third party with their own phone's code: another name, or an unknown number, alike.
    let mut refusals = Vec::new();
    for (id, phone) in [(STRANGER, "13800138002"), (unknown.as_str(), "13800138003")] {
        let code = code_sent_to(&h, phone).await;
        let (s, v) = h
            .post("/api/v1/eligibility", with_code(id, "王五", phone, &code))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["records_checked"], true);
        assert_eq!(v["eligible"], false);
        assert_eq!(v["reasons"].as_array().unwrap().len(), 1, "{v}");
        assert_eq!(v["reasons"][0]["code"], "records_not_confirmed", "{v}");
        refusals.push(v);
    }
    assert_eq!(refusals[0], refusals[1]);

    // The confirmation refuses, with the records' reasons only after the code and the name.
    let confirm = |id: &str, name: &str, phone: &str, code: Option<&str>, hold: &str| {
        let mut b = json!({"hold_id": hold,
                           "applicant": {"name": name, "id_number": id, "phone": phone}});
        if let Some(c) = code {
            b["phone_code"] = json!(c);
        }
        b
    };
    let slot = h.slot("tianhe", "passport_renewal").await;
    let (s, hold) = h
        .post(
            "/api/v1/holds",
            json!({"slot_id": slot["slot_id"], "business": "passport_renewal"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{hold}");
    let hold = hold["hold_id"].as_str().unwrap();
    let mut refusals = Vec::new();
    for (id, name) in [
        (STRANGER, "王五"),
        (STRANGER, "陈晓明"),
        (unknown.as_str(), "王五"),
    ] {
        let (s, v) = h
            .post(
                "/api/v1/bookings",
                confirm(id, name, "13800138004", None, hold),
            )
            .await;
        assert_eq!(
            (s, super::code_of(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "not_eligible"),
            "{v}"
        );
        refusals.push(v["error"]["details"].clone());
    }
    assert_eq!(refusals[0], refusals[1]);
    assert_eq!(refusals[0], refusals[2]);
    assert_eq!(refusals[0]["reasons"][0]["code"], "records_not_confirmed");
    let code = code_sent_to(&h, "13800138005").await;
    let (s, v) = h
        .post(
            "/api/v1/bookings",
            confirm(STRANGER, "陈晓明", "13800138005", Some(&code), hold),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        v["error"]["details"]["reasons"][0]["code"], "renewal_not_due",
        "{v}"
    );
}
both_dialects!(
    precheck_registry_reasons,
    registry_reasons_only_with_the_phone_code_and_the_registered_name
);

/// Pre-checks are counted per identity number and per client address like holds: past the
/// limit the answer is 429 `rate_limited` with Retry-After, whoever the caller names.
async fn prechecks_are_limited_per_identity_and_per_address(store: DynStore) {
    let mut config = test_config();
    config.limits.checks_per_identity = 3;
    config.limits.checks_per_address = 5;
    let h = Harness::with_options(
        store,
        config,
        wujing_web::WebOptions {
            trust_forwarded_for: true,
            ..Default::default()
        },
    )
    .await;
    let ask = |id: String, from: &'static str| {
        let h = &h;
        async move {
            let body = check_body("passport_first", &id, "王五", json!({}));
            let res = h
                .raw(
                    axum::http::Request::post("/api/v1/eligibility")
                        .header("content-type", "application/json")
                        .header("x-forwarded-for", from)
                        .body(axum::body::Body::from(body.to_string()))
                        .unwrap(),
                )
                .await;
            let retry = res.headers().get("retry-after").cloned();
            let status = res.status();
            let bytes = http_body_util::BodyExt::collect(res.into_body())
                .await
                .unwrap()
                .to_bytes();
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            (status, v, retry)
        }
    };
    // One identity from several addresses.
    for from in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        let (s, v, _) = ask(STRANGER.into(), from).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (s, v, retry) = ask(STRANGER.into(), "203.0.113.4").await;
    assert_eq!(
        (s, super::code_of(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    assert!(retry.is_some(), "Retry-After");
    // One address walking through numbers.
    let birth = chrono::NaiveDate::from_ymd_opt(1990, 1, 1).unwrap();
    for seq in 0..5 {
        let id = wujing_domain::idnum::compose("440106", birth, 100 + seq);
        let (s, v, _) = ask(id, "198.51.100.7").await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let id = wujing_domain::idnum::compose("440106", birth, 200);
    let (s, v, retry) = ask(id, "198.51.100.7").await;
    assert_eq!(
        (s, super::code_of(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    assert!(retry.is_some(), "Retry-After");
}
both_dialects!(
    precheck_limits,
    prechecks_are_limited_per_identity_and_per_address
);

/// The application form of a booking made for someone else with the booker's own phone
/// carries what the booker stated and nothing from the registry: not the applicant's
/// household city (Zhang's is Kashgar).
async fn form_of_a_booking_for_someone_else_carries_no_registry_fact(store: DynStore) {
    let h = Harness::with_config(store, test_config()).await;
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
            json!({"hold_id": hold["hold_id"],
                   "applicant": {"name": "张伟", "id_number": "653101199001010451",
                                 "phone": "13900139000"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let code = b["code"].as_str().unwrap();
    let key = h.app.slip_key(code).await.unwrap();
    let res = h
        .raw(
            axum::http::Request::get(format!("/slip/{code}/form.pdf?k={key}"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    if res.status() == StatusCode::SERVICE_UNAVAILABLE {
        wujing_testkit::missing("a CJK font", "apt-get install fonts-wqy-microhei");
    }
    assert_eq!(res.status(), StatusCode::OK);
    let pdf = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    let path = std::env::temp_dir().join(format!("wujing-form-privacy-{code}.pdf"));
    std::fs::write(&path, &pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args([path.to_str().unwrap(), "-"])
        .output();
    let _ = std::fs::remove_file(&path);
    let out = match out {
        Ok(o) => o,
        Err(_) => wujing_testkit::missing("pdftotext", "apt-get install poppler-utils"),
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("张伟") && text.contains(code), "{text}");
    assert!(
        !text.contains("喀什"),
        "a registry fact on the form:\n{text}"
    );
}
both_dialects!(
    form_registry_facts_needs_pdf_tools,
    form_of_a_booking_for_someone_else_carries_no_registry_fact
);

/// A walk-in at a kiosk is answered like a stranger (nobody there checks the identity card):
/// refused without the records' reasons, alike for a known number with another name and an
/// unknown one; reception staff, with the card in hand, see the records' reasons.
async fn walk_in_kiosks_learn_nothing_from_the_registry(store: DynStore) {
    let h = Harness::new(store).await;
    let officer = h.sign_in_as("officer@tianhe").await;
    let admin = h.sign_in_as("admin").await;
    let (s, kiosk) = h
        .call(
            "POST",
            "/api/v1/admin/devices",
            Some(json!({"name": "取号机1", "hall_id": "tianhe", "kind": "check_in"})),
            &admin.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{kiosk}");
    let bearer = format!("Bearer {}", kiosk["token"].as_str().unwrap());
    let walk_in = |id: String, name: &'static str, headers: Vec<(String, String)>| {
        let h = &h;
        async move {
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            h.call(
                "POST",
                "/api/v1/halls/tianhe/walk-ins",
                Some(json!({"business": "passport_renewal", "name": name, "id_number": id})),
                &headers,
            )
            .await
        }
    };
    let device = vec![("authorization".to_string(), bearer)];
    let mut seen = Vec::new();
    for (id, name) in [
        (STRANGER.to_string(), "王五"),
        (STRANGER.to_string(), "陈晓明"),
        (unknown_number(), "王五"),
    ] {
        let (s, v) = walk_in(id, name, device.clone()).await;
        assert_eq!(
            (s, super::code_of(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "not_eligible"),
            "{v}"
        );
        seen.push(v["error"]["details"].clone());
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[0], seen[2]);
    assert_eq!(seen[0]["reasons"][0]["code"], "records_not_confirmed");
    let staff: Vec<(String, String)> = officer
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let (s, v) = walk_in(STRANGER.to_string(), "陈晓明", staff).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        v["error"]["details"]["reasons"][0]["code"],
        "renewal_not_due"
    );
}
both_dialects!(
    walk_in_registry,
    walk_in_kiosks_learn_nothing_from_the_registry
);

/// A hall's name and address are single-line: a line break (which once went verbatim into
/// every citizen's calendar file) or a bidi override is refused, and the hall is unchanged.
async fn hall_details_stay_on_one_line(store: DynStore) {
    let h = Harness::with_config(store, test_config()).await;
    let m = h.sign_in_as("hall_manager@tianhe").await;
    let before = h.get("/api/v1/halls/tianhe").await.1;
    for address in [
        "天河路1号\r\nATTENDEE:mailto:x@evil.example",
        "天河路\u{202e}1号",
    ] {
        let (s, v) = h
            .call(
                "PUT",
                "/api/v1/admin/halls/tianhe",
                Some(json!({"name_zh": "天河办证大厅", "name_en": "Tianhe Hall",
                            "address_zh": address, "address_en": "1 Tianhe Road"})),
                &m.headers(),
            )
            .await;
        assert_eq!(
            (s, super::code_of(&v)),
            (StatusCode::BAD_REQUEST, "text_invalid"),
            "{address:?}"
        );
    }
    assert_eq!(h.get("/api/v1/halls/tianhe").await.1, before);
}
both_dialects!(hall_one_line, hall_details_stay_on_one_line);

/// A booking's identity number cannot be searched for through its code: wrong numbers are
/// limited per code (then even the right one is refused until the window ends, from any
/// address) and per client address across codes; nothing else is a way in but the phone code.
async fn failed_owner_proofs_are_limited_per_code_and_per_address(store: DynStore) {
    let mut config = test_config();
    config.limits.proofs_per_code = 3;
    config.limits.proofs_per_address = 5;
    let h = Harness::with_options(
        store,
        config,
        wujing_web::WebOptions {
            trust_forwarded_for: true,
            ..Default::default()
        },
    )
    .await;
    const ZHENG: &str = "440112200001010139";
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
            json!({"hold_id": hold["hold_id"], "applicant": super::applicant(ZHENG, "郑华")}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let uri = format!("/api/v1/bookings/{}", b["code"].as_str().unwrap());
    let get = |uri: String, id: &'static str, addr: &'static str| {
        let h = &h;
        async move {
            h.call(
                "GET",
                &uri,
                None,
                &[("x-id-number", id), ("x-forwarded-for", addr)],
            )
            .await
        }
    };
    // The right number, many times: successes do not count.
    for _ in 0..10 {
        assert_eq!(get(uri.clone(), ZHENG, "192.0.2.1").await.0, StatusCode::OK);
    }
    // Per address: five failures on other codes, then the right proof from that address is
    // refused, while another address still gets in.
    for i in 0..5 {
        let (s, v) = get(
            format!("/api/v1/bookings/2233445566{i:02}"),
            ZHENG,
            "192.0.2.2",
        )
        .await;
        assert_eq!(
            (s, super::code_of(&v)),
            (StatusCode::NOT_FOUND, "booking_not_found")
        );
    }
    let (s, v) = get(uri.clone(), ZHENG, "192.0.2.2").await;
    assert_eq!(
        (s, super::code_of(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "proof_throttled"),
        "{v}"
    );
    assert!(
        v["error"]["details"]["retry_after_seconds"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert_eq!(get(uri.clone(), ZHENG, "192.0.2.3").await.0, StatusCode::OK);
    // Per code: three wrong numbers, then the right one is refused from every address, and
    // cancelling is refused too.
    for (i, wrong) in [
        "440112200001010147",
        "440112200001010155",
        "44011220000101016X",
    ]
    .into_iter()
    .enumerate()
    {
        let addr = ["198.51.100.1", "198.51.100.2", "198.51.100.3"][i];
        assert_eq!(get(uri.clone(), wrong, addr).await.0, StatusCode::NOT_FOUND);
    }
    let (s, v) = get(uri.clone(), ZHENG, "203.0.113.9").await;
    assert_eq!(
        (s, super::code_of(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "proof_throttled"),
        "{v}"
    );
    let (s, v) = h
        .call(
            "POST",
            &format!("{uri}/cancel"),
            Some(json!({"id_number": ZHENG})),
            &[("x-forwarded-for", "203.0.113.10")],
        )
        .await;
    assert_eq!(
        (s, super::code_of(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "proof_throttled"),
        "{v}"
    );
    // The booking is untouched.
    let active = h.store.booking_by_code(b["code"].as_str().unwrap()).await;
    assert_eq!(
        active.unwrap().unwrap().status,
        wujing_store::BookingStatus::Active
    );
}
both_dialects!(
    owner_proof_limits,
    failed_owner_proofs_are_limited_per_code_and_per_address
);

/// A lottery entry takes the phone code when codes are required (nobody uses up someone
/// else's one entry without their phone), its id is random (entries cannot be listed by
/// counting), and only its identity reads it, within the same failure limits as a booking.
async fn lottery_entries_need_the_phone_code_and_are_private(store: DynStore) {
    let mut config = super::lottery_config();
    config.require_phone_code = true;
    config.limits.proofs_per_code = 3;
    let h = Harness::with_config(store, config).await;
    let day = "2026-12-04";
    let entry = |id: &'static str, phone: &'static str, code: Option<String>| {
        let name = if id == ZHENG { "郑华" } else { "林晓" };
        let h = &h;
        async move {
            h.post(
                "/api/v1/lottery/entries",
                json!({"day": day, "business": "passport_first", "halls": ["huadu"],
                       "applicant": {"name": name, "id_number": id, "phone": phone},
                       "phone_code": code}),
            )
            .await
        }
    };
    let code_for = |phone: &'static str| {
        let h = &h;
        async move {
            let (s, v) = h.post("/api/v1/phone-codes", json!({"phone": phone})).await;
            assert_eq!(s, StatusCode::ACCEPTED, "{v}");
            let text = h.store.messages_to(phone, 1).await.unwrap().remove(0).body;
            text.chars()
                .filter(char::is_ascii_digit)
                .take(6)
                .collect::<String>()
        }
    };
    const ZHENG: &str = "440112200001010139";
    const LIN: &str = "440106199307070246";
    let (s, v) = entry(ZHENG, "13700137001", None).await;
    assert_eq!(super::code_of(&v), "phone_code_required", "{s} {v}");
    let (s, v) = entry(ZHENG, "13700137001", Some("000000".into())).await;
    assert!(s.is_client_error(), "a wrong code is refused: {v}");
    let code = code_for("13700137001").await;
    let (s, a) = entry(ZHENG, "13700137001", Some(code.clone())).await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    // The entry used the code up: it enters nobody else.
    let (s, v) = entry(LIN, "13700137001", Some(code)).await;
    assert_eq!(
        (s, super::code_of(&v)),
        (StatusCode::BAD_REQUEST, "phone_code_used"),
        "{v}"
    );
    let code = code_for("13700137002").await;
    let (s, b) = entry(LIN, "13700137002", Some(code)).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (a, b) = (
        a["entry_id"].as_i64().unwrap(),
        b["entry_id"].as_i64().unwrap(),
    );
    assert!(
        a.abs_diff(b) > 1 << 20,
        "entry ids are not sequential: {a}, {b}"
    );
    let read = |id: i64, who: &'static str| {
        let h = &h;
        async move {
            h.call(
                "GET",
                &format!("/api/v1/lottery/entries/{id}"),
                None,
                &[("x-id-number", who)],
            )
            .await
        }
    };
    assert_eq!(read(a, ZHENG).await.0, StatusCode::OK);
    for _ in 0..3 {
        let (s, v) = read(a, LIN).await;
        assert_eq!(
            (s, super::code_of(&v)),
            (StatusCode::NOT_FOUND, "entry_not_found")
        );
    }
    let (s, v) = read(a, ZHENG).await;
    assert_eq!(
        (s, super::code_of(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "proof_throttled"),
        "{v}"
    );
    // Another entry is not affected by the failures on this one.
    assert_eq!(read(b, LIN).await.0, StatusCode::OK);
}
both_dialects!(
    lottery_privacy,
    lottery_entries_need_the_phone_code_and_are_private
);

/// A phone code is good for one use (security finding 14): the pre-check verifies it without
/// using it up, so the same code then confirms the booking; a second use is refused
/// (`phone_code_used`), by a confirmation as by a pre-check; a confirmation refused for
/// another reason (the identity already booked) leaves the code for the retry; and of two
/// confirmations racing with one code exactly one books.
async fn a_phone_code_is_good_for_one_use(store: DynStore) {
    let mut config = test_config();
    config.require_phone_code = true;
    let h = Harness::with_config(store, config).await;
    const PHONE: &str = "13800138000";
    const ZHENG: &str = "440112200001010139";
    const LIN: &str = "440106199307070246";
    const ZHOU: &str = "44010519600101089X";
    let person = |id: &str| {
        let name = match id {
            ZHENG => "郑华",
            LIN => "林晓",
            _ => "周建国",
        };
        json!({"name": name, "id_number": id, "phone": PHONE})
    };
    let slot = h.slot("tianhe", "passport_first").await;
    let hold = || {
        let (h, slot) = (&h, slot.clone());
        async move {
            let (s, v) = h
                .post(
                    "/api/v1/holds",
                    json!({"slot_id": slot["slot_id"], "business": "passport_first"}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            v["hold_id"].as_str().unwrap().to_string()
        }
    };
    let precheck = |id: &'static str, code: String| {
        let h = &h;
        async move {
            h.post(
                "/api/v1/eligibility",
                json!({"business": "passport_first", "applicant": person(id), "answers": {},
                       "phone_code": code}),
            )
            .await
        }
    };
    let confirm = |id: &'static str, hold: String, code: String| {
        let h = &h;
        async move {
            h.post(
                "/api/v1/bookings",
                json!({"hold_id": hold, "applicant": person(id), "phone_code": code}),
            )
            .await
        }
    };
    let next_code = || {
        let h = &h;
        async move {
            // One code a minute per phone.
            h.app.clock.advance(chrono::TimeDelta::seconds(61));
            code_sent_to(h, PHONE).await
        }
    };

    // The pre-check, twice, then the confirmation: one code.
    let code = code_sent_to(&h, PHONE).await;
    for _ in 0..2 {
        let (s, v) = precheck(ZHENG, code.clone()).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(
            (v["records_checked"].clone(), v["eligible"].clone()),
            (json!(true), json!(true)),
            "{v}"
        );
    }
    let (s, v) = confirm(ZHENG, hold().await, code.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // A second use: refused, by a confirmation and by a pre-check alike.
    let spare = hold().await;
    let (s, v) = confirm(LIN, spare.clone(), code.clone()).await;
    assert_eq!(
        (s, super::code_of(&v)),
        (StatusCode::BAD_REQUEST, "phone_code_used"),
        "{v}"
    );
    let (s, v) = precheck(LIN, code.clone()).await;
    assert_eq!(
        (s, super::code_of(&v)),
        (StatusCode::BAD_REQUEST, "phone_code_used"),
        "{v}"
    );

    // A refused confirmation keeps the code: the retry books with it.
    let code = next_code().await;
    let (s, v) = confirm(ZHENG, spare.clone(), code.clone()).await;
    assert_eq!(
        (s, super::code_of(&v)),
        (StatusCode::CONFLICT, "already_booked"),
        "{v}"
    );
    let (s, v) = confirm(LIN, spare, code.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // Two confirmations racing with one code: exactly one books.
    let code = next_code().await;
    let (a, b) = (hold().await, hold().await);
    let (ra, rb) = tokio::join!(
        confirm(ZHOU, a, code.clone()),
        confirm(ZHOU, b, code.clone())
    );
    let mut outcomes = vec![
        (
            ra.0,
            ra.1["error"]["code"].as_str().unwrap_or("").to_string(),
        ),
        (
            rb.0,
            rb.1["error"]["code"].as_str().unwrap_or("").to_string(),
        ),
    ];
    outcomes.sort();
    assert_eq!(
        outcomes,
        [
            (StatusCode::CREATED, String::new()),
            (StatusCode::BAD_REQUEST, "phone_code_used".to_string())
        ],
        "{ra:?} {rb:?}"
    );
    assert!(h.store.verify_invariants().await.unwrap().is_clean());
}
both_dialects!(phone_code_one_use, a_phone_code_is_good_for_one_use);

/// A copy of the database — a backup, a stolen disk, a curious database administrator — shows
/// no citizen's identity number, name, phone or e-mail address in clear: not in bookings, the
/// registry, phone codes, the outbox (whose delivered texts are purged), the audit trail or
/// the rate counters; and the service still reads everything back through its keys.
async fn a_copy_of_the_database_holds_no_personal_data_in_clear(store: DynStore, url: &str) {
    use super::{applicant, CHEN};
    let h = Harness::with_config(store, test_config()).await;
    let phone = "13800138000";
    let email = "chen.xiaoming@example.org";
    let (s, _) = h.post("/api/v1/phone-codes", json!({"phone": phone})).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let code: String = h.store.messages_to(phone, 1).await.unwrap()[0]
        .body
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect();
    let who = applicant(CHEN, "陈晓明");
    let answers = json!({"option": "1y2", "destination": "hk"});
    let (s, e) = h
        .post(
            "/api/v1/eligibility",
            json!({"business": "hkm_endorsement_g", "applicant": who, "answers": answers, "phone_code": code}),
        )
        .await;
    assert_eq!(
        (s, &e["records_checked"]),
        (StatusCode::OK, &json!(true)),
        "{e}"
    );
    let slot = h.slot("tianhe", "hkm_endorsement_g").await;
    let (_, hold) = h
        .post(
            "/api/v1/holds",
            json!({"slot_id": slot["slot_id"], "business": "hkm_endorsement_g"}),
        )
        .await;
    let (s, b) = h
        .post(
            "/api/v1/bookings",
            json!({"hold_id": hold["hold_id"], "applicant": who, "answers": answers, "phone_code": code,
                   "email": email}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let booking = b["code"].as_str().unwrap().to_string();
    // Staff read it (audited with the citizen), and the messages go out (their texts purged).
    let admin = h.admin_principal().await;
    h.app.staff_booking(&admin, None, &booking).await.unwrap();
    h.app.deliver_due().await.unwrap();

    let dump = wujing_testkit::raw_dump(url).await;
    assert!(dump.contains(&booking), "the dump reads the tables");
    for secret in [CHEN, "陈晓明", phone, email, "653101199001010451", "张伟"] {
        assert!(
            !dump.contains(secret),
            "{secret} is in clear in the database:\n{}",
            dump.lines()
                .filter(|l| l.contains(secret))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    // The service itself still reads it all back.
    let (s, v) = h
        .call(
            "GET",
            &format!("/api/v1/bookings/{booking}"),
            None,
            &[("x-id-number", CHEN)],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["applicant"]["name"], "陈晓明");
    let (person, _) = h.store.facts(CHEN).await.unwrap();
    assert_eq!(person.unwrap().name, "陈晓明");
    let sent = h.store.messages_to(phone, 5).await.unwrap();
    assert!(sent
        .iter()
        .all(|m| m.body.is_empty() && m.recipient == phone));
}

#[tokio::test]
async fn personal_data_is_sealed_at_rest_on_sqlite() {
    let t = wujing_testkit::TempSqlite::new();
    let store = wujing_testkit::open(&t.url()).await.unwrap();
    store.migrate().await.unwrap();
    a_copy_of_the_database_holds_no_personal_data_in_clear(store, &t.url()).await;
}

#[tokio::test]
async fn personal_data_is_sealed_at_rest_on_postgres() {
    let Some(url) = wujing_testkit::fresh_pg_database().await else {
        return;
    };
    let store = wujing_testkit::open(&url).await.unwrap();
    store.migrate().await.unwrap();
    a_copy_of_the_database_holds_no_personal_data_in_clear(store, &url).await;
}

/// The retention period: 90 days (configurable) after the visit, a booking keeps its time,
/// hall and business for the statistics, but no identity number, name, phone or answers; a
/// booking not yet visited, or visited recently, keeps them. The erased booking is no longer
/// found by its owner proof (there is nothing left to prove against).
async fn personal_data_is_erased_after_the_retention_period(store: DynStore) {
    use super::{applicant, CHEN};
    let h = Harness::with_config(store, test_config()).await;
    let book = |day: &'static str| {
        let h = &h;
        async move {
            let (_, v) = h
                .get(&format!("/api/v1/availability?business=hkm_endorsement_g&halls=tianhe&from={day}&to={day}"))
                .await;
            let (_, hold) = h
                .post(
                    "/api/v1/holds",
                    json!({"slot_id": v["slots"][0]["slot_id"], "business": "hkm_endorsement_g"}),
                )
                .await;
            let (s, b) = h
                .post(
                    "/api/v1/bookings",
                    json!({"hold_id": hold["hold_id"], "applicant": applicant(CHEN, "陈晓明"),
                           "answers": {"option": "1y2", "destination": "hk"}}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{b}");
            b["code"].as_str().unwrap().to_string()
        }
    };
    let visited = book("2026-12-02").await;
    // Within 90 days of the visit nothing is erased.
    h.app.clock.advance(chrono::TimeDelta::days(90));
    let r = h.app.apply_retention().await.unwrap();
    assert_eq!(r.bookings, 0);
    let b = h.store.booking_by_code(&visited).await.unwrap().unwrap();
    assert_eq!(b.name, "陈晓明");
    h.app.clock.advance(chrono::TimeDelta::days(2));
    let r = h.app.apply_retention().await.unwrap();
    assert_eq!(r.bookings, 1);
    let b = h.store.booking_by_code(&visited).await.unwrap().unwrap();
    assert_eq!(
        (
            b.id_number.as_str(),
            b.name.as_str(),
            b.phone.as_str(),
            b.answers_json.as_str()
        ),
        ("", "", "", "{}")
    );
    assert!(b.identity_key.starts_with("anon:"), "{}", b.identity_key);
    assert_eq!(
        (b.slot.hall_id.as_str(), b.business.as_str()),
        ("tianhe", "hkm_endorsement_g")
    );
    // Nothing is left to prove ownership against.
    let (s, _) = h
        .call(
            "GET",
            &format!("/api/v1/bookings/{visited}"),
            None,
            &[("x-id-number", CHEN)],
        )
        .await;
    assert_ne!(s, StatusCode::OK);
    // A second pass erases nothing more.
    assert_eq!(h.app.apply_retention().await.unwrap().bookings, 0);
}
both_dialects!(
    retention,
    personal_data_is_erased_after_the_retention_period
);
