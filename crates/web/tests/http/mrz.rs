//! `POST /api/v1/mrz` (issue 14 §1) on SQLite and PostgreSQL: the answer's shape for ICAO's
//! specimens and a CS card, the 422 codes for lines that are no MRZ, the per-address limit, and
//! no trace of the zone in the logs.

use super::{code_of, test_config, Harness};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use wujing_store::DynStore;
use wujing_testkit::both_dialects;

const TD3: [&str; 2] = [
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
];
const TD1: [&str; 3] = [
    "I<UTOD231458907<<<<<<<<<<<<<<<",
    "7408122F1204159UTO<<<<<<<<<<<6",
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
];
const TD2: [&str; 2] = [
    "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
    "D231458907UTO7408122F1204159<<<<<<<6",
];
const MRV_A: [&str; 2] = [
    "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L8988901C4XXX4009078F96121096ZE184226B<<<<<<",
];
const MRV_B: [&str; 2] = [
    "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
    "L8988901C4XXX4009078F9612109<<<<<<<<",
];
/// A 往来港澳通行证 card laid out per RULES.md §10 (张三, card C01234567, expires 2031-05-09,
/// born 1990-03-15); its last digit is arbitrary, the composite being unknown.
const CS: [&str; 3] = [
    "CSC012345672<3105098<9003152<7",
    "NFMFMIPN<<<<ZHANG<<SAN<<<<<<<<",
    "M<<<<<<<<<<<<<<<<<<<<<<<<<<<<<",
];

async fn read(h: &Harness, lines: &[&str]) -> (StatusCode, Value) {
    h.post("/api/v1/mrz", json!({ "lines": lines })).await
}

/// ICAO's TD3 specimen answers every field, every check true; the other specimens and a CS
/// card answer their format, valid, with the checks their format has.
async fn mrz_reads_specimens(store: DynStore) {
    let h = Harness::new(store).await;
    let (s, v) = read(&h, &TD3).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v,
        json!({
            "format": "td3", "valid": true,
            "checks": {"document_number": true, "birth_date": true, "expiry_date": true,
                       "optional_data": true, "composite": true, "dates": true},
            "repairs": [],
            "document_code": "P", "issuing_state": "UTO", "document_number": "L898902C3",
            "nationality": "UTO", "birth_date": "1974-08-12", "expiry_date": "2012-04-15",
            "sex": "F", "surname": "ERIKSSON", "given_names": "ANNA MARIA",
            "optional_data": "ZE184226B"
        })
    );
    for (lines, format, composite) in [
        (&TD1[..], "td1", json!(true)),
        (&TD2[..], "td2", json!(true)),
        (&MRV_A[..], "mrv_a", Value::Null),
        (&MRV_B[..], "mrv_b", Value::Null),
        (&CS[..], "cs", Value::Null),
    ] {
        let (s, v) = read(&h, lines).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["format"], format);
        assert_eq!(v["valid"], true, "{v}");
        assert_eq!(v["checks"]["composite"], composite, "{format}");
    }
    let (_, cs) = read(&h, &CS).await;
    assert_eq!(
        (
            &cs["document_code"],
            &cs["document_number"],
            &cs["nationality"]
        ),
        (&json!("CS"), &json!("C01234567"), &json!("CHN"))
    );
    assert_eq!(
        (&cs["surname"], &cs["given_names"]),
        (&json!("ZHANG"), &json!("SAN"))
    );
    assert_eq!(
        (&cs["birth_date"], &cs["expiry_date"]),
        (&json!("1990-03-15"), &json!("2031-05-09"))
    );
}
both_dialects!(mrz_specimens, mrz_reads_specimens);

/// A corrupted check digit answers 200 with the check named false and `valid` false; OCR
/// confusions in typed fields come back repaired and listed; lower case and spaces around the
/// lines are read.
async fn mrz_reports_failed_checks_and_repairs(store: DynStore) {
    let h = Harness::new(store).await;
    let bad = TD3[1].replace("<10", "<11");
    let (s, v) = read(&h, &[TD3[0], &bad]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["valid"], false);
    assert_eq!(v["checks"]["composite"], false);
    assert_eq!(v["checks"]["document_number"], true);
    assert_eq!(v["repairs"], json!([]));

    let ocr = "L898902C36UTO74O8122F1204159ZE184226B<<<<<10";
    let (s, v) = read(&h, &[&format!("  {}  ", TD3[0].to_lowercase()), ocr]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["birth_date"], "1974-08-12");
    assert_eq!(
        v["repairs"],
        json!([{"field": "birth_date", "line": 2, "position": 15, "from": "O", "to": "0"}])
    );
    // In the document number a letter and a digit are both possible: not repaired.
    let (_, v) = read(
        &h,
        &[TD3[0], "L8989O2C36UTO7408122F1204159ZE184226B<<<<<10"],
    )
    .await;
    assert_eq!((&v["valid"], &v["repairs"]), (&json!(false), &json!([])));
    assert_eq!(v["checks"]["document_number"], false);
}
both_dialects!(
    mrz_checks_and_repairs,
    mrz_reports_failed_checks_and_repairs
);

/// Lines that are no MRZ answer 422 with a stable code, details, and texts in both languages;
/// a body without lines is 400 like any malformed body.
async fn mrz_refuses_lines_that_are_no_mrz(store: DynStore) {
    let h = Harness::new(store).await;
    let cases: Vec<(Vec<&str>, &str, Value)> = vec![
        (vec![TD3[0]], "mrz_line_count", json!({"lines": 1})),
        (vec![TD1[0], TD1[1]], "mrz_line_count", json!({"lines": 2})),
        (
            vec![TD3[0], &TD3[1][..40]],
            "mrz_line_length",
            json!({"line": 2, "length": 40}),
        ),
        (
            vec!["P<UTO", TD3[1]],
            "mrz_line_length",
            json!({"line": 1, "length": 5}),
        ),
        (
            vec![TD3[0], "L898902C36UTO7408122F1204159ZE184226B<<<<-10"],
            "mrz_characters",
            json!({"line": 2, "position": 41}),
        ),
        (
            vec!["X<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", TD3[1]],
            "mrz_format_unknown",
            Value::Null,
        ),
    ];
    for (lines, code, details) in cases {
        let (s, v) = read(&h, &lines).await;
        assert_eq!(
            (s, code_of(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, code),
            "{v}"
        );
        assert_eq!(v["error"]["details"], details, "{code}");
        assert!(!v["error"]["message"].as_str().unwrap().is_empty());
    }
    let (s, v) = h
        .call(
            "POST",
            "/api/v1/mrz",
            Some(json!({"lines": [TD3[0]]})),
            &[("accept-language", "en")],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("two lines"),
        "{v}"
    );
    let (s, v) = h.post("/api/v1/mrz", json!({"text": TD3[0]})).await;
    assert_eq!((s, code_of(&v)), (StatusCode::BAD_REQUEST, "body_invalid"));
}
both_dialects!(mrz_refusals, mrz_refuses_lines_that_are_no_mrz);

/// Reads are counted per client address, refused ones too: past the limit 429
/// `rate_limited` with Retry-After; another address goes on.
async fn mrz_is_limited_per_address(store: DynStore) {
    let mut config = test_config();
    config.limits.checks_per_address = 3;
    let h = Harness::with_options(
        store,
        config,
        wujing_web::WebOptions {
            trust_forwarded_for: true,
            ..Default::default()
        },
    )
    .await;
    let ask = |lines: Vec<&'static str>, from: &'static str| {
        let h = &h;
        async move {
            let res = h
                .raw(
                    Request::post("/api/v1/mrz")
                        .header("content-type", "application/json")
                        .header("x-forwarded-for", from)
                        .body(Body::from(json!({ "lines": lines }).to_string()))
                        .unwrap(),
                )
                .await;
            let retry = res.headers().contains_key("retry-after");
            let status = res.status();
            let bytes = res.into_body().collect().await.unwrap().to_bytes();
            let v: Value = serde_json::from_slice(&bytes).unwrap();
            (status, v, retry)
        }
    };
    assert_eq!(ask(TD3.to_vec(), "203.0.113.7").await.0, StatusCode::OK);
    assert_eq!(
        ask(vec![TD3[0]], "203.0.113.7").await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(ask(TD3.to_vec(), "203.0.113.7").await.0, StatusCode::OK);
    let (s, v, retry) = ask(TD3.to_vec(), "203.0.113.7").await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    assert!(retry, "Retry-After");
    assert_eq!(ask(TD3.to_vec(), "203.0.113.8").await.0, StatusCode::OK);
}
both_dialects!(mrz_limit, mrz_is_limited_per_address);

/// A captured log of reads, refused ones included, holds no name, number or line of the zone.
#[tokio::test]
async fn mrz_reads_leave_no_trace_in_the_logs() {
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
    assert_eq!(read(&h, &TD3).await.0, StatusCode::OK);
    assert_eq!(read(&h, &CS).await.0, StatusCode::OK);
    assert_eq!(
        read(&h, &[TD3[0]]).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let broken = TD3[1].replace('<', "-");
    assert_eq!(
        read(&h, &[TD3[0], &broken]).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let log = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("/api/v1/mrz"),
        "the access log has the route: {log}"
    );
    for secret in [
        "ERIKSSON",
        "L898902C3",
        "740812",
        "ZHANG",
        "C01234567",
        "UTO",
    ] {
        assert!(!log.contains(secret), "{secret} in the log");
    }
}
