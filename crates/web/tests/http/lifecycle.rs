//! The application's life after the counter through the API (issue 12): accepted at a window,
//! reviewed, produced, collected at a counter; each step audited, in the history, and the
//! citizen's texts queued.

use super::{code_of, Harness};
use axum::http::StatusCode;
use serde_json::json;
use wujing_store::DynStore;
use wujing_testkit::both_dialects;

const ZHENG: &str = "440112200001010139";
const PHONE: &str = "13800138000";
/// Demo registry: 户籍 in Kashgar (Xinjiang).
const ZHANG: &str = "653101199001010451";

/// Books `id_number` at tianhe, serves the booking at a general window and accepts it: the
/// application (JSON) and the booking.
pub(crate) async fn accept_booked(
    h: &Harness,
    officer: &super::staff::Session,
    id_number: &str,
) -> (serde_json::Value, wujing_store::Booking) {
    accept_booked_with(h, officer, id_number, json!({})).await
}

/// The same with the acceptance's body (missing materials, the way of collection).
pub(super) async fn accept_booked_with(
    h: &Harness,
    officer: &super::staff::Session,
    id_number: &str,
    accept: serde_json::Value,
) -> (serde_json::Value, wujing_store::Booking) {
    let code = h.book_at("tianhe", id_number).await;
    accept_booking(h, officer, &code, "passport_first", accept).await
}

/// Serves the tianhe booking `code` of `business` at a general window and accepts it with
/// the acceptance's body: the application (JSON) and the booking.
pub(super) async fn accept_booking(
    h: &Harness,
    officer: &super::staff::Session,
    code: &str,
    business: &str,
    accept: serde_json::Value,
) -> (serde_json::Value, wujing_store::Booking) {
    let b = h.store.booking_by_code(code).await.unwrap().unwrap();
    h.store
        .issue_ticket(&wujing_store::NewTicket {
            hall_id: "tianhe".into(),
            day: h.app.clock.today(),
            queue: "A".into(),
            booking_id: Some(b.id),
            booking_slot_id: Some(b.slot.id),
            business: business.into(),
            identity_key: b.identity_key.clone(),
            kind: "appointment".into(),
            channel: "counter".into(),
            priority: 0,
            due_at: h.app.clock.now(),
            now: h.app.clock.now(),
        })
        .await
        .unwrap();
    let window = h
        .store
        .windows("tianhe")
        .await
        .unwrap()
        .into_iter()
        .find(|w| w.kind == "general")
        .unwrap()
        .number;
    let base = format!("/api/v1/halls/tianhe/windows/{window}");
    let (_, t) = h
        .call("POST", &format!("{base}/call"), None, &officer.headers())
        .await;
    let ticket = t["id"].as_i64().unwrap();
    h.call(
        "POST",
        &format!("{base}/tickets/{ticket}/action"),
        Some(json!("start")),
        &officer.headers(),
    )
    .await;
    let (s, a) = h
        .call(
            "POST",
            &format!("{base}/tickets/{ticket}/accept"),
            Some(accept),
            &officer.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    h.call(
        "POST",
        &format!("{base}/tickets/{ticket}/action"),
        Some(json!("finish")),
        &officer.headers(),
    )
    .await;
    (a, b)
}

async fn journey(store: DynStore) {
    let h = Harness::new(store).await;
    let officer = h.sign_in_as("officer@tianhe").await;
    let elsewhere = h.sign_in_as("officer@gz-city").await;
    let reviewer = h.sign_in_as("reviewer").await;
    let producer = h.sign_in_as("producer").await;

    // A booked citizen served at a tianhe window and accepted.
    let (a, b) = accept_booked(&h, &officer, ZHENG).await;
    assert_eq!(a["status"], "accepted");
    assert_eq!(a["collection_method"], "counter");
    // Guangzhou 户籍: 7 working days from Tuesday 2026-12-01.
    assert_eq!(a["ready_by"], "2026-12-10");
    let id = a["id"].as_i64().unwrap();
    let app = format!("/api/v1/applications/{id}");

    // The reviewer's queue has it; a decision needs review first.
    let (s, q) = h
        .call(
            "GET",
            "/api/v1/applications/review-queue?hall=tianhe",
            None,
            &reviewer.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{q}");
    assert!(q.as_array().unwrap().iter().any(|x| x["id"] == id));
    // A reviewer of another hall neither sees it in their queue nor may ask for tianhe's.
    let city_reviewer = h.sign_in_as("reviewer@gz-city").await;
    let (s, q) = h
        .call(
            "GET",
            "/api/v1/applications/review-queue",
            None,
            &city_reviewer.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(q.as_array().unwrap().iter().all(|x| x["id"] != id), "{q}");
    let (s, v) = h
        .call(
            "GET",
            "/api/v1/applications/review-queue?hall=tianhe",
            None,
            &city_reviewer.headers(),
        )
        .await;
    assert_eq!((s, code_of(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = h
        .call(
            "POST",
            &format!("{app}/review"),
            None,
            &city_reviewer.headers(),
        )
        .await;
    assert_eq!((s, code_of(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = h.post_as(&reviewer, &format!("{app}/approve"), None).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "application_move_illegal")
    );
    // The reviewer's page lists it and takes it into review (a form with the CSRF token).
    let (s, html) = h
        .call("GET", "/staff/review", None, &reviewer.headers())
        .await;
    assert_eq!(s, StatusCode::OK);
    let html = html.as_str().unwrap();
    assert!(
        html.contains(&format!("action=\"/staff/review/{id}\"")),
        "{html}"
    );
    assert!(html.contains("开始审批"));
    // Names, not codes: the hall, the business and the state in Chinese.
    assert!(
        html.contains("天河区出入境办证大厅") && html.contains(">已受理</td>"),
        "{html}"
    );
    assert!(!html.contains(">tianhe</td>") && !html.contains(">accepted</td>"));
    let res = h
        .raw(
            axum::http::Request::builder()
                .method("POST")
                .uri(format!("/staff/review/{id}"))
                .header("cookie", &reviewer.cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(axum::body::Body::from(format!(
                    "csrf={}&step=review",
                    reviewer.csrf
                )))
                .unwrap(),
        )
        .await;
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/staff/review?kind=ok"), "{to}");
    let (s, v) = h.call("GET", &app, None, &reviewer.headers()).await;
    assert_eq!(
        (s, v["application"]["status"].as_str()),
        (StatusCode::OK, Some("under_review"))
    );
    let (s, v) = h.post_as(&reviewer, &format!("{app}/review"), None).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "application_move_illegal")
    );
    let (s, v) = h
        .post_as(
            &reviewer,
            &format!("{app}/refuse"),
            Some(json!({"reason": "looks_odd"})),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::BAD_REQUEST, "refusal_reason_invalid")
    );
    let (s, v) = h.post_as(&officer, &format!("{app}/approve"), None).await;
    assert_eq!((s, code_of(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = h.post_as(&reviewer, &format!("{app}/approve"), None).await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("approved"))
    );

    // Production, by the producer role.
    let (s, _) = h
        .post_as(
            &producer,
            &format!("{app}/production"),
            Some(json!({"step": "start"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = h
        .post_as(
            &producer,
            &format!("{app}/production"),
            Some(json!({"step": "produced", "document_number": "e1"})),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::BAD_REQUEST, "document_number_invalid")
    );
    let (s, v) = h
        .post_as(
            &producer,
            &format!("{app}/production"),
            Some(json!({"step": "produced", "document_number": "E12345678"})),
        )
        .await;
    assert_eq!(
        (s, v["document_number"].as_str()),
        (StatusCode::OK, Some("E12345678"))
    );
    for step in ["dispatched", "ready"] {
        let (s, v) = h
            .post_as(
                &producer,
                &format!("{app}/production"),
                Some(json!({ "step": step })),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }

    // Collected at a tianhe counter, not at another hall's.
    let signed = || Some(json!({ "signed": true }));
    let (s, v) = h
        .post_as(&elsewhere, &format!("{app}/collect"), signed())
        .await;
    assert_eq!((s, code_of(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    // No hand-over without the applicant's signature of receipt.
    let (s, v) = h
        .post_as(&officer, &format!("{app}/collect"), Some(json!({})))
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::BAD_REQUEST, "signature_required")
    );
    let (s, v) = h
        .post_as(&officer, &format!("{app}/collect"), signed())
        .await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("collected"))
    );
    let (s, v) = h
        .post_as(&officer, &format!("{app}/collect"), signed())
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "application_move_illegal")
    );

    // The history, seen by the officer; another hall's officer does not find it.
    let (s, d) = h.call("GET", &app, None, &officer.headers()).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let steps: Vec<&str> = d["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to_state"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "accepted",
            "under_review",
            "approved",
            "in_production",
            "produced",
            "dispatched",
            "ready_for_collection",
            "collected"
        ]
    );
    let (s, v) = h.call("GET", &app, None, &elsewhere.headers()).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::NOT_FOUND, "application_not_found")
    );

    // Each step audited against the citizen; the texts that matter queued.
    let (chain, _) = h.store.audit_chain().await.unwrap();
    for action in [
        "application.under_review",
        "application.approved",
        "application.in_production",
        "application.produced",
        "application.dispatched",
        "application.ready_for_collection",
        "application.collected",
    ] {
        let e = chain
            .iter()
            .find(|e| e.action == action)
            .unwrap_or_else(|| panic!("{action} not audited"));
        assert_eq!(e.citizen.as_deref(), Some(b.identity_key.as_str()));
        assert_eq!(e.subject, format!("application:{id}"));
    }
    let messages: Vec<_> = h
        .store
        .messages_to(PHONE, 20)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.topic == "application")
        .collect();
    let texts: Vec<&str> = messages
        .iter()
        .map(|m| m.idempotency_key.as_str())
        .collect();
    assert_eq!(
        texts[..2],
        [
            format!("application:{id}:ready_for_collection"),
            format!("application:{id}:approved")
        ]
    );
    // The acceptance is texted too, in its own transaction with the application.
    assert!(
        texts[2].starts_with("ticket:") && texts[2].ends_with(":accepted"),
        "{texts:?}"
    );
    assert_eq!(texts.len(), 3);
    // Every text links to the status: the booking's own slip link.
    for m in &messages {
        assert!(
            m.body.contains(&format!("/slip/{}?k=", b.code)),
            "{}",
            m.body
        );
    }
}
both_dialects!(
    an_application_goes_from_the_counter_to_the_citizens_hands,
    journey
);

/// An applicant registered outside Guangdong (Kashgar) is due in 20 days, not 7 working days.
async fn cross_province(store: DynStore) {
    let h = Harness::new(store).await;
    let officer = h.sign_in_as("officer@tianhe").await;
    // The booking helper books under the name 郑华: the record says so.
    let mut p = h.store.person(ZHANG).await.unwrap().unwrap();
    assert_eq!(p.hukou_city, "喀什");
    p.name = "郑华".into();
    h.store
        .upsert_persons(&[p], h.app.clock.now())
        .await
        .unwrap();
    let (a, _) = accept_booked(&h, &officer, ZHANG).await;
    // Tuesday 2026-12-01 + 20 days = Monday 2026-12-21, a working day.
    assert_eq!(a["ready_by"], "2026-12-21");
}
both_dialects!(
    cross_province_applicants_are_due_in_twenty_days,
    cross_province
);

/// The booking's owner follows the application from the counter to the collection: each
/// step with its state's name and its China time, and the next step in both languages, in
/// the API's booking view and on the slip. Who moved it stays with staff, and without the
/// owner's proof nothing of it is shown.
async fn owner_progress(store: DynStore) {
    let h = Harness::new(store).await;
    let officer = h.sign_in_as("officer@tianhe").await;
    let reviewer = h.sign_in_as("reviewer").await;
    let producer = h.sign_in_as("producer").await;
    let (a, b) = accept_booked(&h, &officer, ZHENG).await;
    let id = a["id"].as_i64().unwrap();
    let app = format!("/api/v1/applications/{id}");
    let uri = format!("/api/v1/bookings/{}", b.code);
    let owner = [("x-id-number", ZHENG)];

    // Accepted: one step, and the expected date.
    let (s, v) = h.call("GET", &uri, None, &owner).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let va = &v["visit"]["application"];
    assert_eq!(va["history"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(va["history"][0]["state"], "accepted");
    assert!(
        va["next_step_en"]
            .as_str()
            .unwrap()
            .contains("Expected ready by 2026-12-10"),
        "{v}"
    );

    let (s, _) = h.post_as(&reviewer, &format!("{app}/review"), None).await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = h.call("GET", &uri, None, &owner).await;
    let va = &v["visit"]["application"];
    assert_eq!(va["status_en"], "under review");
    assert_eq!(
        va["next_step_en"],
        "Your application is being reviewed; expected ready by 2026-12-10."
    );
    assert_eq!(
        va["next_step_zh"],
        "您的申请正在审批，预计2026-12-10前办结。"
    );

    let (s, _) = h.post_as(&reviewer, &format!("{app}/approve"), None).await;
    assert_eq!(s, StatusCode::OK);
    for body in [
        json!({"step": "start"}),
        json!({"step": "produced", "document_number": "E12345678"}),
        json!({"step": "dispatched"}),
        json!({"step": "ready"}),
    ] {
        let (s, v) = h
            .post_as(&producer, &format!("{app}/production"), Some(body))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }

    // Ready: every step in order, each at its recorded time in China Standard Time.
    let (s, v) = h.call("GET", &uri, None, &owner).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let va = &v["visit"]["application"];
    let events = h.store.application_events(id).await.unwrap();
    let steps = va["history"].as_array().unwrap();
    let states: Vec<&str> = steps.iter().map(|x| x["state"].as_str().unwrap()).collect();
    assert_eq!(
        states,
        [
            "accepted",
            "under_review",
            "approved",
            "in_production",
            "produced",
            "dispatched",
            "ready_for_collection"
        ]
    );
    let china = wujing_domain::calendar::china_offset();
    for (step, e) in steps.iter().zip(&events) {
        let at = e.at.with_timezone(&china);
        assert_eq!(step["at"], at.to_rfc3339(), "{step}");
        assert!(step["at"].as_str().unwrap().ends_with("+08:00"));
    }
    assert_eq!(steps[6]["name_zh"], "可领取");
    assert_eq!(steps[6]["name_en"], "ready for collection");
    let next_en = va["next_step_en"].as_str().unwrap();
    assert!(
        next_en.starts_with("Your document is ready: collect it at a counter of ")
            && next_en.ends_with("with your ID card."),
        "{next_en}"
    );
    assert!(va["next_step_zh"]
        .as_str()
        .unwrap()
        .starts_with("您的证件已可领取：请携带身份证到"));
    // Who moved it is not the citizen's business.
    let body = v.to_string();
    assert!(
        !body.contains("staff:") && !body.contains("actor") && !body.contains("note"),
        "{body}"
    );

    // The slip, in both languages: the timeline with each step's time, and the next step.
    let key = h.app.slip_key(&b.code).await.unwrap();
    for (lang, name, next) in [
        ("zh-CN", "审批中", "您的证件已可领取"),
        (
            "en",
            "under review",
            "Your document is ready: collect it at",
        ),
    ] {
        let (s, page) = slip_page(&h, &format!("/slip/{}?k={key}", b.code), lang).await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            page.contains("class=\"timeline\"") && page.contains(name) && page.contains(next),
            "{page}"
        );
        for e in &events {
            let at = e.at.with_timezone(&china);
            assert!(
                page.contains(&format!(
                    "<time datetime=\"{}\">{}</time>",
                    at.to_rfc3339(),
                    at.format("%Y-%m-%d %H:%M")
                )),
                "{page}"
            );
        }
        assert!(!page.contains("staff:"));
    }

    // A stranger: another ID number, no ID number, a wrong slip key. Nothing of it shows.
    for headers in [vec![("x-id-number", STRANGER)], vec![]] {
        let (s, v) = h.call("GET", &uri, None, &headers).await;
        assert!(!s.is_success(), "{s} {v}");
        let body = v.to_string();
        assert!(
            !body.contains("history") && !body.contains("ready_for_collection"),
            "{body}"
        );
    }
    let (s, page) = slip_page(&h, &format!("/slip/{}?k=wrong{key}", b.code), "en").await;
    assert!(!s.is_success(), "{s}");
    assert!(
        !page.contains("timeline") && !page.contains("ready for collection"),
        "{page}"
    );
}
both_dialects!(
    the_owner_sees_each_step_of_the_application_and_what_comes_next_and_a_stranger_nothing,
    owner_progress
);

/// Another valid-looking ID number: not the booking's owner.
const STRANGER: &str = "11010519491231002X";

async fn slip_page(h: &Harness, uri: &str, lang: &str) -> (StatusCode, String) {
    use http_body_util::BodyExt;
    let res = h
        .raw(
            axum::http::Request::get(uri)
                .header("cookie", format!("wujing_lang={lang}"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    let s = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    (s, String::from_utf8(body).unwrap())
}

/// A walk-in registered outside Guangdong is due in 20 days too: the ticket keeps the
/// registry's answer at issue (it keeps no identity number), and the acceptance reads it.
async fn cross_province_walk_in(store: DynStore) {
    let h = Harness::new(store).await;
    let officer = h.sign_in_as("officer@tianhe").await;
    let p = h.store.person(ZHANG).await.unwrap().unwrap();
    let (s, t) = h
        .call(
            "POST",
            "/api/v1/halls/tianhe/walk-ins",
            Some(json!({"business": "passport_first", "name": p.name, "id_number": ZHANG})),
            &officer.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let window = h
        .store
        .windows("tianhe")
        .await
        .unwrap()
        .into_iter()
        .find(|w| w.kind == "general")
        .unwrap()
        .number;
    let base = format!("/api/v1/halls/tianhe/windows/{window}");
    let (_, called) = h
        .call("POST", &format!("{base}/call"), None, &officer.headers())
        .await;
    assert_eq!(called["id"], t["id"], "{called}");
    h.call(
        "POST",
        &format!("{base}/tickets/{}/action", t["id"]),
        Some(json!("start")),
        &officer.headers(),
    )
    .await;
    let (s, a) = h
        .call(
            "POST",
            &format!("{base}/tickets/{}/accept", t["id"]),
            Some(json!({})),
            &officer.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    assert_eq!(a["ready_by"], "2026-12-21");
}
both_dialects!(
    cross_province_walk_ins_are_due_in_twenty_days,
    cross_province_walk_in
);
