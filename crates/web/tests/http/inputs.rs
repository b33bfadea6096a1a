//! Property-based generation against the outside input the web layer parses itself (issue 19
//! §4): booking codes in paths, slip keys, the QR payload a kiosk scans (`WUJING:<code>:<key>`)
//! and the identity number that goes with them. Near misses of a real booking's values (a
//! character changed, cut, doubled, in another case, padded) and arbitrary strings: never a
//! 5xx, always the error envelope with a registered code, and nothing is found without the
//! right code *and* key or identity number.

use super::{code_of, Harness};
use axum::http::StatusCode;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::json;

/// Cases per input: in process on SQLite, a few milliseconds each.
const CASES: usize = 400;

/// Near misses of `real`, and arbitrary strings.
fn near(real: String) -> impl Strategy<Value = String> {
    let r = real.clone();
    prop_oneof![
        Just(real.clone()),
        Just(real.to_lowercase()),
        Just(format!(" {real} ")),
        (0..real.len().max(1), any::<char>()).prop_map(move |(at, c)| {
            let mut v: Vec<char> = r.chars().collect();
            if !v.is_empty() {
                let at = at % v.len();
                v[at] = c;
            }
            v.into_iter().collect()
        }),
        (0..real.len().max(1)).prop_map({
            let r = real.clone();
            move |n| r.chars().take(n).collect()
        }),
        Just(format!("{real}{real}")),
        any::<String>(),
        "[A-Za-z0-9:<>%/._-]{0,40}",
    ]
}

fn sample<S: Strategy>(s: &S, runner: &mut TestRunner) -> S::Value {
    s.new_tree(runner).expect("a value").current()
}

fn enc(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

/// A header value must be visible ASCII; anything else is not what a client can send.
fn header_safe(s: &str) -> bool {
    s.bytes().all(|b| (0x20..0x7f).contains(&b))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn booking_codes_slip_keys_and_qr_payloads_never_answer_5xx() {
    let (store, _g) = wujing_testkit::sqlite_store().await;
    let h = Harness::new(store).await;
    let id = wujing_testkit::identity(77);
    let slot = h.slot("tianhe", "passport_first").await;
    let (_, hold) = h
        .post(
            "/api/v1/holds",
            json!({"slot_id": slot["slot_id"], "business": "passport_first"}),
        )
        .await;
    let (s, b) = h
        .post(
            "/api/v1/bookings",
            json!({"hold_id": hold["hold_id"], "applicant": {"name": "市民", "id_number": id, "phone": "13900000077"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let code = b["code"].as_str().unwrap().to_string();
    let key = h.app.slip_key(&code).await.unwrap();
    let officer = h.sign_in_as("officer@tianhe").await;
    let mut runner = TestRunner::deterministic();
    let codes = near(code.clone());
    let keys = near(key.clone());
    let ids = near(id.clone());
    let qr = near(format!("WUJING:{code}:{key}"));
    let is_code = |c: &str| c.trim().eq_ignore_ascii_case(&code);

    for _ in 0..CASES {
        let (c, k, i, q) = (
            sample(&codes, &mut runner),
            sample(&keys, &mut runner),
            sample(&ids, &mut runner),
            sample(&qr, &mut runner),
        );
        // The booking by code, with an identity number as proof.
        if header_safe(&i) {
            let uri = format!("/api/v1/bookings/{}", enc(&c));
            let (s, v) = h.call("GET", &uri, None, &[("x-id-number", &i)]).await;
            assert!(s.as_u16() < 500, "{uri} with {i:?}: {s} {v}");
            if s == StatusCode::OK {
                assert!(is_code(&c), "{c:?} found {v}");
            } else {
                assert!(!code_of(&v).is_empty());
            }
        }
        // The slip link.
        let uri = format!("/slip/{}?k={}", enc(&c), enc(&k));
        let (s, v) = h.get(&uri).await;
        assert!(s.as_u16() < 500, "{uri}: {s} {v}");
        if s == StatusCode::OK {
            assert!(is_code(&c) && k == key, "{c:?} {k:?} opened the slip");
        }
        // The kiosk's scan (a QR payload or a typed code) with the identity card.
        let (s, v) = h
            .call(
                "POST",
                "/api/v1/halls/tianhe/checkins",
                Some(json!({"code": q, "id_number": i})),
                &officer.headers(),
            )
            .await;
        assert!(s.as_u16() < 500, "check-in {q:?} {i:?}: {s} {v}");
        assert!(
            s != StatusCode::OK && s != StatusCode::CREATED,
            "checked in with {q:?} {i:?} (the day is not the booking's)"
        );
        assert!(!code_of(&v).is_empty());
    }
}

/// A form body as it comes: the right field names with arbitrary or near values, unknown
/// fields, repeated fields, broken percent-encoding, or arbitrary bytes.
fn form_body(fields: &'static [&'static str]) -> impl Strategy<Value = String> {
    let value = prop_oneof![
        "[ -~]{0,30}",
        any::<String>(),
        Just("440106198503030116".to_string()),
        Just("%".to_string()),
        Just("%zz".to_string()),
        "[0-9]{0,25}",
    ];
    prop_oneof![
        proptest::collection::vec((proptest::sample::select(fields), value.clone()), 0..8)
            .prop_map(|pairs| pairs
                .iter()
                .map(|(k, v)| format!("{k}={}", enc(v)))
                .collect::<Vec<_>>()
                .join("&")),
        proptest::collection::vec((proptest::sample::select(fields), value), 0..8).prop_map(
            |pairs| pairs
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&")
        ),
        any::<String>(),
        "[a-z_=&%0-9]{0,60}",
    ]
}

/// The portal's and the staff sign-in's forms, posted with generated bodies (and the hall's
/// pages with a made-up draft): never a 5xx; the citizen sees a page, not a stack.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_bodies_never_answer_5xx() {
    let (store, _g) = wujing_testkit::sqlite_store().await;
    let h = Harness::new(store).await;
    const BOOKING: &[&str] = &[
        "name",
        "id_number",
        "guardian_id_number",
        "companion_id_number",
        "renewal_reason",
        "relation",
        "destination",
        "option",
        "ctx",
        "hall",
        "day",
        "slot_id",
        "hold",
        "phone",
        "code",
        "action",
    ];
    const PROOF: &[&str] = &[
        "id_number",
        "phone",
        "code",
        "action",
        "slot_id",
        "method",
        "mail_address",
    ];
    let forms: &[(&str, &[&str])] = &[
        ("/book/passport_first/check", BOOKING),
        ("/book/passport_renewal/check", BOOKING),
        ("/book/hkm_endorsement_g/check", BOOKING),
        ("/book/passport_first/halls", BOOKING),
        ("/book/passport_first/times", BOOKING),
        ("/book/passport_first/hold", BOOKING),
        ("/book/passport_first/confirm", BOOKING),
        ("/book/passport_first/edit", BOOKING),
        ("/book/moon_visa/check", BOOKING),
        (
            "/foreigners/book/foreign_visa_extension/check",
            &[
                "mrz",
                "passport_number",
                "nationality",
                "birth_date",
                "sex",
                "expiry",
                "name",
                "stay_until",
                "action",
            ],
        ),
        ("/my", PROOF),
        ("/status", PROOF),
        ("/slip/ABCDEFGH2345/change?k=00", PROOF),
        ("/slip/ABCDEFGH2345/collection?k=00", PROOF),
        ("/slip/ABCDEFGH2345/reschedule?k=00", PROOF),
        ("/slip/ABCDEFGH2345/withdraw?k=00", PROOF),
        ("/staff/login", &["username", "password", "next"]),
        (
            "/lodging",
            &[
                "host_name",
                "id_number",
                "phone",
                "address",
                "guest_passport",
                "action",
            ],
        ),
    ];
    let mut runner = TestRunner::default();
    for (path, fields) in forms {
        let strategy = form_body(fields);
        for _ in 0..CASES / 4 {
            let body = sample(&strategy, &mut runner);
            let res = h
                .raw(
                    axum::http::Request::post(*path)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(axum::body::Body::from(body.clone()))
                        .unwrap(),
                )
                .await;
            assert!(
                res.status().as_u16() < 500,
                "POST {path} with {body:?}: {}",
                res.status()
            );
        }
    }
}

/// Import files (docs/IMPORT.md) as they come: arbitrary lines and near-valid records never
/// panic the reader, and every refusal names a line that exists.
#[test]
fn import_files_never_panic_and_name_their_lines() {
    let line = prop_oneof![
        any::<String>(),
        Just(r#"{"id_number":"440106198503030116","name":"陈晓明"}"#.to_string()),
        "\\{\"[a-z_]{1,12}\":(\"[ -~]{0,20}\"|[0-9]{1,20}|null|true|\\[\\])\\}",
        Just("# a comment".to_string()),
        Just(String::new()),
    ];
    let file = proptest::collection::vec(line, 0..12).prop_map(|l| l.join("\n"));
    let mut runner = TestRunner::new(ProptestConfig::with_cases(2_000));
    runner
        .run(&file, |text| {
            let lines = text.lines().count();
            for errors in [
                wujing_app::import::parse_persons(&text).err(),
                wujing_app::import::parse_documents(&text).err(),
            ]
            .into_iter()
            .flatten()
            {
                prop_assert!(!errors.is_empty());
                for e in errors {
                    prop_assert!((1..=lines).contains(&e.line), "{e} of {lines} lines");
                    prop_assert!(!e.message.is_empty());
                }
            }
            Ok(())
        })
        .unwrap();
}
