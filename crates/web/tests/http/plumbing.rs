//! The HTTP plumbing around every route (tower-http's body limit and timeout): their answers
//! come in the one envelope, and the board's event stream outlives the timeout.

use super::{code_of, test_config, Harness};
use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode};
use futures_util::StreamExt;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::time::Duration;

/// A body that sends `first` and then never ends.
fn never_ending(first: &'static str) -> Body {
    Body::from_stream(
        futures_util::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(first)) })
            .chain(futures_util::stream::pending()),
    )
}

/// A body of `len` bytes in 4 KiB chunks, with no declared length.
fn streamed(len: usize, byte: u8) -> Body {
    let chunks: Vec<Result<Bytes, std::io::Error>> = (0..len.div_ceil(4096))
        .map(|i| Ok(Bytes::from(vec![byte; 4096.min(len - i * 4096)])))
        .collect();
    Body::from_stream(futures_util::stream::iter(chunks))
}

async fn answer(h: &Harness, req: Request<Body>) -> (StatusCode, String, Value) {
    let res = h.raw(req).await;
    let status = res.status();
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, content_type, v)
}

#[tokio::test]
async fn oversized_bodies_answer_413_in_the_envelope() {
    let (store, _g) = wujing_testkit::sqlite_store().await;
    let h = Harness::new(store).await;
    let limit = wujing_web::DEFAULT_MAX_BODY_BYTES;
    let big_json = json!({"business": "passport_first", "padding": "x".repeat(limit)}).to_string();

    // JSON with a declared length over the limit: refused before any handler runs.
    let (s, _, v) = answer(
        &h,
        Request::post("/api/v1/eligibility")
            .header("content-type", "application/json")
            .header("content-length", big_json.len())
            .body(Body::from(big_json.clone()))
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert_eq!(code_of(&v), "payload_too_large");
    assert_eq!(v["error"]["message"], "请求内容过大");
    assert!(v["error"]["request_id"].is_string());

    // JSON streamed without a length: cut at the limit while it is read; in English.
    let (s, _, v) = answer(
        &h,
        Request::post("/api/v1/eligibility")
            .header("content-type", "application/json")
            .header("accept-language", "en")
            .body(streamed(limit + 1, b' '))
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert_eq!(code_of(&v), "payload_too_large");
    assert_eq!(v["error"]["message"], "the request body is too large");

    // A staff route: a declared length over the limit is refused before the sign-in check.
    let (s, _, v) = answer(
        &h,
        Request::post("/api/v1/admin/staff")
            .header("content-type", "application/json")
            .header("content-length", big_json.len())
            .body(Body::from(big_json))
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert_eq!(code_of(&v), "payload_too_large");

    // A citizen's form page (read by the handler): the error page, with the code.
    let form = format!("name={}", "x".repeat(limit));
    let declared = Request::post("/book/passport_renewal/check")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("content-length", form.len())
        .body(Body::from(form))
        .unwrap();
    let undeclared = Request::post("/book/passport_renewal/check")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(streamed(limit + 1, b'x'))
        .unwrap();
    for req in [declared, undeclared] {
        let (s, content_type, v) = answer(&h, req).await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
        assert!(content_type.starts_with("text/html"), "{content_type}");
        assert!(v.as_str().unwrap().contains("payload_too_large"), "{v}");
    }

    // A staff form (read by the CSRF check first), streamed.
    let officer = h.sign_in_as("officer@tianhe").await;
    let (s, _, v) = answer(
        &h,
        Request::post("/staff/password")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", &officer.cookie)
            .body(streamed(limit + 1, b'x'))
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert!(v.as_str().unwrap().contains("payload_too_large"), "{v}");

    // Under the limit, nothing changes.
    let (s, v) = h
        .post(
            "/api/v1/eligibility",
            json!({"business": "passport_first", "applicant": super::applicant(super::CHEN, "陈晓明")}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

#[tokio::test]
async fn a_request_over_the_timeout_answers_503_and_the_board_stream_stays() {
    let (store, _g) = wujing_testkit::sqlite_store().await;
    let h = Harness::with_options(
        store,
        test_config(),
        wujing_web::WebOptions {
            request_timeout: Duration::from_millis(300),
            ..Default::default()
        },
    )
    .await;

    // A request whose body never finishes: the handler waits, the timeout answers.
    let (s, _, v) = answer(
        &h,
        Request::post("/api/v1/eligibility")
            .header("content-type", "application/json")
            .header("accept-language", "en")
            .body(never_ending("{\"business\":"))
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(code_of(&v), "timeout");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("took too long"));

    // The board's event stream is not cut by the timeout: a call after it still arrives.
    let res = h
        .raw(
            Request::get("/board/tianhe/events")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let mut body = res.into_body();
    tokio::time::sleep(Duration::from_millis(600)).await;
    h.store
        .publish(r#"{"hall":"tianhe","label":"A042","window":3,"calls":1}"#)
        .await
        .unwrap();
    let frame = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let f = body.frame().await.expect("the stream is open").unwrap();
            if let Some(d) = f.data_ref() {
                let t = String::from_utf8_lossy(d).to_string();
                if t.contains("event: call") {
                    return t;
                }
            }
        }
    })
    .await
    .expect("the call arrives after the timeout has passed");
    assert!(frame.contains("A042"), "{frame}");

    // Quick requests are not affected.
    let (s, v) = h.get("/api/v1/halls/tianhe").await;
    assert_eq!(s, StatusCode::OK, "{v}");
}
