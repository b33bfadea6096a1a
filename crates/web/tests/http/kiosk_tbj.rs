//! 填表机 (issue 17) through HTTP: the form filled from a card read or a passport's zone (its
//! check digits checked here: a misread is `mrz_check_failed`), for a business of the
//! document's group, rendered as a PDF; the mode is the 填表机's alone.

use super::{code_of, Harness};
use axum::http::StatusCode;
use base64::Engine;
use serde_json::json;
use wujing_store::DynStore;
use wujing_testkit::both_dialects;

const SPECIMEN: [&str; 2] = [
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
];

async fn kiosk_form(store: DynStore) {
    let h = Harness::new(store).await;
    let admin = h.admin_principal().await;
    let token = |kind: &str| {
        let (h, admin) = (&h, &admin);
        let kind = kind.to_string();
        async move {
            h.app
                .create_device(
                    admin,
                    None,
                    &wujing_app::DeviceInput {
                        name: format!("{kind} 1"),
                        hall_id: "tianhe".into(),
                        kind,
                        window_number: None,
                    },
                )
                .await
                .unwrap()
                .token
                .unwrap()
        }
    };
    let tbj = format!("Bearer {}", token("tbj").await);
    let yyj = format!("Bearer {}", token("yyj").await);
    let form = |body: serde_json::Value, who: &str| {
        let who = who.to_string();
        let h = &h;
        async move {
            h.call(
                "POST",
                "/api/v1/kiosk/tbj/forms",
                Some(body),
                &[("authorization", who.as_str())],
            )
            .await
        }
    };
    let card = json!({"business": "passport_first", "name": "郑华",
                      "id_number": "440112200001010139", "phone": "13800138000"});
    let (s, v) = form(card.clone(), &tbj).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(v["pdf"].as_str().unwrap())
        .unwrap();
    assert_eq!(&pdf[..5], b"%PDF-");
    let (s, _) = form(card.clone(), &yyj).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "another machine's mode");

    // A foreigner's business with a card, a citizen's with a passport: refused.
    let (_, hall) = h.call("GET", "/api/v1/halls/tianhe", None, &[]).await;
    let foreign = hall["businesses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap().to_string())
        .find(|b| b.starts_with("foreign_"))
        .expect("tianhe serves foreigners");
    let mut wrong = card.clone();
    wrong["business"] = json!(foreign);
    let (s, v) = form(wrong, &tbj).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_business")
    );
    let passport = |lines: Vec<String>, business: &str| json!({"business": business, "mrz": lines, "phone": "+4915112345678"});
    let lines: Vec<String> = SPECIMEN.iter().map(|s| s.to_string()).collect();
    let (s, v) = form(passport(lines.clone(), &foreign), &tbj).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = form(passport(lines.clone(), "passport_first"), &tbj).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_business")
    );
    // A misread check digit: read again.
    let mut misread = lines.clone();
    misread[1] = misread[1].replacen("L898902C36", "L898902C37", 1);
    let (s, v) = form(passport(misread, &foreign), &tbj).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "mrz_check_failed"),
        "{v}"
    );
    // Neither, or both.
    let (s, v) = form(
        json!({"business": "passport_first", "phone": "13800138000"}),
        &tbj,
    )
    .await;
    assert_eq!((s, code_of(&v)), (StatusCode::BAD_REQUEST, "body_invalid"));
}
both_dialects!(
    the_form_machine_fills_from_the_card_or_the_checked_passport,
    kiosk_form
);
