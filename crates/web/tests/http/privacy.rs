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
    let (s, a) = entry(ZHENG, "13700137001", Some(code)).await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
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
