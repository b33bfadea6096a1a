//! How the document reaches its applicant (issue 12): the way of collection chosen at the
//! counter or later by the citizen until the document leaves, supplements brought to another
//! hall's counter, mail with its tracking number, the status query, and the leaders' overdue
//! list.

use super::lifecycle::accept_booked_with;
use super::{code_of, Harness};
use axum::http::StatusCode;
use serde_json::json;
use wujing_store::DynStore;
use wujing_testkit::both_dialects;

const ZHENG: &str = "440112200001010139";
const PHONE: &str = "13800138000";
const ADDRESS: &str = "广州市天河区天河路100号3栋1201房";

/// Application texts sent to the test phone, oldest first: (idempotency key, body).
async fn texts(h: &Harness) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = h
        .store
        .messages_to(PHONE, 50)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.topic == "application")
        .map(|m| (m.idempotency_key, m.body))
        .collect();
    v.reverse();
    v
}

/// A mailed application from the counter to the citizen's door: accepted with a missing
/// item and the mail address, the item brought to another hall's counter (found there by the
/// identity card, audited), reviewed, produced, dispatched with its EMS number (required),
/// delivered; no counter or locker step fits a mailed document, the way cannot change once it
/// left, and a copy of the database does not hold the address in clear.
async fn mailed_document(store: DynStore, url: &str) {
    let h = Harness::new(store).await;
    let officer = h.sign_in_as("officer@tianhe").await;
    let elsewhere = h.sign_in_as("officer@gz-city").await;
    let reviewer = h.sign_in_as("reviewer").await;
    let producer = h.sign_in_as("producer").await;

    // A mail address must be usable; the method must be known.
    let (a, b) = accept_booked_with(
        &h,
        &officer,
        ZHENG,
        json!({"missing": ["户口簿"], "collection": {"method": "mail", "mail_address": ADDRESS}}),
    )
    .await;
    assert_eq!(
        (a["status"].as_str(), a["collection_method"].as_str()),
        (Some("pending_supplement"), Some("mail"))
    );
    let id = a["id"].as_i64().unwrap();
    let app = format!("/api/v1/applications/{id}");
    // The acceptance text names what is missing and by when, with the link to the status.
    let sent = texts(&h).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].1.contains("户口簿") && sent[0].1.contains(a["supplement_due"].as_str().unwrap()),
        "{}",
        sent[0].1
    );
    assert!(sent[0].1.contains(&format!("/slip/{}?k=", b.code)));

    // Another hall's counter finds the waiting supplement by the identity card, and takes it.
    let (s, found) = h
        .post_as(
            &elsewhere,
            "/api/v1/halls/gz-city/applications/lookup",
            Some(json!({"id_number": ZHENG})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{found}");
    assert_eq!(found["pending_supplement"][0]["id"], id);
    assert!(found["to_collect"].as_array().unwrap().is_empty());
    // A counter of tianhe may not act as gz-city's.
    let (s, v) = h
        .post_as(
            &officer,
            &format!("/api/v1/halls/gz-city/applications/{id}/supplement"),
            Some(json!(null)),
        )
        .await;
    assert_eq!((s, code_of(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = h
        .post_as(
            &elsewhere,
            &format!("/api/v1/halls/gz-city/applications/{id}/supplement"),
            Some(json!(null)),
        )
        .await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("accepted")),
        "{v}"
    );
    let (s, v) = h
        .post_as(
            &elsewhere,
            &format!("/api/v1/halls/gz-city/applications/{id}/supplement"),
            Some(json!(null)),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "application_move_illegal")
    );
    let sent = texts(&h).await;
    assert_eq!(sent.last().unwrap().0, format!("application:{id}:accepted"));
    // The lookup and the supplement are audited in gz-city (its hall-scoped readers see
    // them), with the citizen.
    let in_city = h
        .store
        .audit_search(&wujing_store::AuditQuery {
            citizen: None,
            actor: None,
            from: None,
            to: None,
            halls: Some(vec!["gz-city".into()]),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    let lookup = in_city
        .iter()
        .find(|e| e.action == "application.lookup")
        .expect("lookup audited in gz-city");
    assert_eq!(lookup.citizen.as_deref(), Some(b.identity_key.as_str()));
    assert!(!lookup.subject.contains(ZHENG), "{}", lookup.subject);
    assert!(in_city.iter().any(|e| e.action == "application.accepted"));

    for step in ["review", "approve"] {
        let (s, v) = h
            .post_as(&reviewer, &format!("{app}/{step}"), Some(json!(null)))
            .await;
        assert_eq!(s, StatusCode::OK, "{step}: {v}");
    }
    for body in [
        json!({"step": "start"}),
        json!({"step": "produced", "document_number": "E55500011"}),
    ] {
        let (s, v) = h
            .post_as(&producer, &format!("{app}/production"), Some(body))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    // A mailed document leaves only with its tracking number.
    let (s, v) = h
        .post_as(
            &producer,
            &format!("{app}/production"),
            Some(json!({"step": "dispatched"})),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::BAD_REQUEST, "tracking_number_invalid")
    );
    let (s, v) = h
        .post_as(
            &producer,
            &format!("{app}/production"),
            Some(json!({"step": "dispatched", "tracking_number": "ea123456785cn"})),
        )
        .await;
    assert_eq!(
        (s, v["tracking_number"].as_str()),
        (StatusCode::OK, Some("EA123456785CN")),
        "{v}"
    );
    let sent = texts(&h).await;
    assert!(sent.last().unwrap().1.contains("EA123456785CN"), "{sent:?}");
    // Gone: the citizen can no longer change the way, and no counter or locker step fits.
    let (s, v) = h
        .post(
            &format!("/api/v1/bookings/{}/collection", b.code),
            json!({"id_number": ZHENG, "method": "counter"}),
        )
        .await;
    assert_eq!((s, code_of(&v)), (StatusCode::CONFLICT, "collection_fixed"));
    let (s, v) = h
        .post_as(
            &producer,
            &format!("{app}/production"),
            Some(json!({"step": "ready"})),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "application_move_illegal")
    );
    let (s, v) = h
        .post_as(
            &officer,
            &format!("{app}/collect"),
            Some(json!({"signed": true})),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "application_move_illegal")
    );
    let (s, v) = h
        .post_as(
            &producer,
            &format!("{app}/production"),
            Some(json!({"step": "delivered"})),
        )
        .await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("collected")),
        "{v}"
    );
    let (_, d) = h.call("GET", &app, None, &officer.headers()).await;
    let steps: Vec<&str> = d["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to_state"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "pending_supplement",
            "accepted",
            "under_review",
            "approved",
            "in_production",
            "produced",
            "dispatched",
            "collected"
        ]
    );
    assert_eq!(d["history"][1]["note"], "hall:gz-city");

    // The address is sealed at rest, and the trail never held it.
    let dump = wujing_testkit::raw_dump(url).await;
    assert!(dump.contains("EA123456785CN"), "the dump reads the tables");
    assert!(
        !dump.contains("天河路100号"),
        "the mail address is in clear"
    );
    assert!(!dump.contains(ZHENG));
    // The owner's view shows it masked.
    let key = h.app.slip_key(&b.code).await.unwrap();
    let r = h
        .form("GET", &format!("/slip/{}?k={key}", b.code), "", &[])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.body;
    assert!(html.contains("广州市天河区……"), "{html}");
    assert!(!html.contains("天河路100号"));
}

#[tokio::test]
async fn a_mailed_document_goes_from_a_supplement_elsewhere_to_the_door_on_sqlite() {
    let t = wujing_testkit::TempSqlite::new();
    let store = wujing_testkit::open(&t.url()).await.unwrap();
    store.migrate().await.unwrap();
    mailed_document(store, &t.url()).await;
}

#[tokio::test]
async fn a_mailed_document_goes_from_a_supplement_elsewhere_to_the_door_on_postgres() {
    let Some(url) = wujing_testkit::fresh_pg_database().await else {
        return;
    };
    let store = wujing_testkit::open(&url).await.unwrap();
    store.migrate().await.unwrap();
    mailed_document(store, &url).await;
}

/// The citizen changes the way of collection with the owner proof (the API) or from the slip
/// with the identity number; wrong proofs and bad input change nothing; the status query
/// with a phone code lists the application with its next step and way of collection.
async fn citizen_choice(store: DynStore) {
    let h = Harness::new(store).await;
    let officer = h.sign_in_as("officer@tianhe").await;
    let (a, b) = accept_booked_with(&h, &officer, ZHENG, json!({})).await;
    let id = a["id"].as_i64().unwrap();
    let choose = |body: serde_json::Value| {
        let h = &h;
        let uri = format!("/api/v1/bookings/{}/collection", b.code);
        async move { h.post(&uri, body).await }
    };
    let method = || async {
        h.store
            .application(id)
            .await
            .unwrap()
            .unwrap()
            .collection_method
    };
    let other = "440106198503030571";
    for (body, status, code) in [
        (
            json!({"id_number": other, "method": "locker"}),
            StatusCode::NOT_FOUND,
            "booking_not_found",
        ),
        (
            json!({"id_number": ZHENG, "method": "drone"}),
            StatusCode::BAD_REQUEST,
            "collection_invalid",
        ),
        (
            json!({"id_number": ZHENG, "method": "mail", "mail_address": "短"}),
            StatusCode::BAD_REQUEST,
            "mail_address_invalid",
        ),
        (
            json!({"id_number": ZHENG, "method": "mail", "mail_address": "广州市天河区\u{202e}路100号"}),
            StatusCode::BAD_REQUEST,
            "text_invalid",
        ),
    ] {
        let (s, v) = choose(body.clone()).await;
        assert_eq!((s, code_of(&v)), (status, code), "{body}");
        assert_eq!(method().await, "counter");
    }
    let (s, v) = choose(json!({"id_number": ZHENG, "method": "locker"})).await;
    assert_eq!(
        (s, v["collection_method"].as_str()),
        (StatusCode::OK, Some("locker")),
        "{v}"
    );
    // From the slip: the link and the identity number.
    let key = h.app.slip_key(&b.code).await.unwrap();
    let form = |id_number: &str| {
        format!(
            "id_number={id_number}&method=mail&mail_address={}",
            ADDRESS
                .bytes()
                .map(|b| format!("%{b:02X}"))
                .collect::<String>()
        )
    };
    let r = h
        .form(
            "POST",
            &format!("/slip/{}/collection?k={key}", b.code),
            &form(other),
            &[],
        )
        .await;
    // Another person's number is refused on the slip, as an error.
    assert_ne!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.body.contains("msg error"), "{}", r.body);
    assert_eq!(method().await, "locker");
    let r = h
        .form(
            "POST",
            &format!("/slip/{}/collection?k={key}", b.code),
            &form(ZHENG),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(method().await, "mail");
    assert_eq!(
        h.store
            .application_mail_address(id)
            .await
            .unwrap()
            .as_deref(),
        Some(ADDRESS)
    );
    // Each change is audited as the citizen's, without the address.
    let chain = h.store.audit_chain().await.unwrap().0;
    let changes: Vec<_> = chain
        .iter()
        .filter(|e| e.action == "application.collection")
        .collect();
    assert_eq!(changes.len(), 2);
    assert!(changes
        .iter()
        .all(|e| e.actor == "anonymous" && !e.detail.to_string().contains("天河路")));

    // The status query: a lookup code to the booking's phone.
    let (s, _) = h
        .post(
            "/api/v1/phone-codes",
            json!({"phone": PHONE, "purpose": "lookup"}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let m = h.store.messages_to(PHONE, 1).await.unwrap().remove(0);
    let code: String = m
        .body
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect();
    let (s, v) = h
        .post(
            "/api/v1/applications/mine",
            json!({"id_number": ZHENG, "phone": PHONE, "code": "000000"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, v) = h
        .post(
            "/api/v1/applications/mine",
            json!({"id_number": ZHENG, "phone": PHONE, "code": code}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mine = v.as_array().unwrap();
    assert_eq!(mine.len(), 1);
    let got = &mine[0]["application"];
    assert_eq!(got["status"], "accepted");
    assert_eq!(got["collection_method"], "mail");
    assert_eq!(got["mail_address"], "广州市天河区……");
    assert_eq!(got["can_choose_collection"], true);
    assert!(got["next_step_zh"].as_str().unwrap().contains("2026-12-10"));
    assert!(mine[0]["link"]
        .as_str()
        .unwrap()
        .starts_with(&format!("/slip/{}?k=", b.code)));
}
both_dialects!(
    the_citizen_chooses_how_to_collect_with_the_owner_proof,
    citizen_choice
);

async fn overdue_ids(h: &Harness, who: &super::staff::Session) -> Vec<i64> {
    let (s, v) = h
        .call("GET", "/api/v1/applications/overdue", None, &who.headers())
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_i64().unwrap())
        .collect()
}

/// The overdue list: what is past its due date and not ready, for leaders of its hall or the
/// organisation; not for another hall's leader, and not a pending supplement.
async fn overdue_list(store: DynStore) {
    let h = Harness::new(store).await;
    let officer = h.sign_in_as("officer@tianhe").await;
    let (a, _) = accept_booked_with(&h, &officer, ZHENG, json!({})).await;
    let id = a["id"].as_i64().unwrap();
    let leader = h.sign_in_as("leader@tianhe").await;
    assert!(
        overdue_ids(&h, &leader).await.is_empty(),
        "due 2026-12-10, not late yet"
    );
    h.app.clock.advance(chrono::TimeDelta::days(12));
    // Sessions do not last twelve days.
    let leader = h.sign_in_as("leader@tianhe").await;
    let city_leader = h.sign_in_as("leader@gz-city").await;
    let officer = h.sign_in_as("officer@tianhe").await;
    assert_eq!(overdue_ids(&h, &leader).await, vec![id]);
    assert!(overdue_ids(&h, &city_leader).await.is_empty());
    let (s, v) = h
        .call(
            "GET",
            "/api/v1/applications/overdue?hall=tianhe",
            None,
            &city_leader.headers(),
        )
        .await;
    assert_eq!((s, code_of(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = h
        .call(
            "GET",
            "/api/v1/applications/overdue",
            None,
            &officer.headers(),
        )
        .await;
    assert_eq!((s, code_of(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    // The page names the business and the days late.
    let r = h
        .form("GET", "/staff/overdue", "", &[("cookie", &leader.cookie)])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("<strong>3</strong>"), "{}", r.body);
}
both_dialects!(leaders_see_what_their_halls_are_late_with, overdue_list);

/// The applicant withdraws before a decision, with the owner proof (from the API or the
/// slip); a wrong proof changes nothing, a decided application cannot be withdrawn, and the
/// history names the citizen, not a person.
async fn withdrawal(store: DynStore) {
    let h = Harness::new(store).await;
    let officer = h.sign_in_as("officer@tianhe").await;
    let (a, b) = accept_booked_with(&h, &officer, ZHENG, json!({})).await;
    let id = a["id"].as_i64().unwrap();
    let uri = format!("/api/v1/bookings/{}/withdraw", b.code);
    let (s, v) = h
        .post(&uri, json!({"id_number": "440106198503030571"}))
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::NOT_FOUND, "booking_not_found")
    );
    assert_eq!(
        h.store.application(id).await.unwrap().unwrap().status,
        "accepted"
    );
    // From the slip, with the identity number.
    let key = h.app.slip_key(&b.code).await.unwrap();
    let r = h
        .form(
            "POST",
            &format!("/slip/{}/withdraw?k={key}", b.code),
            &format!("id_number={ZHENG}"),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        h.store.application(id).await.unwrap().unwrap().status,
        "withdrawn"
    );
    let (s, v) = h.post(&uri, json!({"id_number": ZHENG})).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "application_move_illegal")
    );
    let events = h.store.application_events(id).await.unwrap();
    assert_eq!(events.last().unwrap().actor, "citizen");
    // The slip offers neither withdrawal nor a change of collection any more.
    let r = h
        .form("GET", &format!("/slip/{}?k={key}", b.code), "", &[])
        .await;
    assert!(
        r.body.contains("已撤回") || r.body.contains("withdrawn"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("/withdraw?k="));
    assert!(!r.body.contains("/collection?k="));
}
both_dialects!(
    the_applicant_withdraws_before_a_decision_with_the_owner_proof,
    withdrawal
);

/// Review finds a material missing after all: the application waits for it with a deadline,
/// the citizen is texted what and by when, a counter takes it, and review resumes.
async fn review_asks_for_a_supplement(store: DynStore) {
    let h = Harness::new(store).await;
    let officer = h.sign_in_as("officer@tianhe").await;
    let reviewer = h.sign_in_as("reviewer").await;
    let (a, _) = accept_booked_with(&h, &officer, ZHENG, json!({})).await;
    let id = a["id"].as_i64().unwrap();
    let app = format!("/api/v1/applications/{id}");
    let (s, _) = h
        .call("POST", &format!("{app}/review"), None, &reviewer.headers())
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = h
        .post_as(
            &reviewer,
            &format!("{app}/supplement-request"),
            Some(json!({ "missing": json!([" "]) })),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::BAD_REQUEST, "missing_items_invalid")
    );
    let (s, v) = h
        .post_as(
            &reviewer,
            &format!("{app}/supplement-request"),
            Some(json!({ "missing": json!(["户口簿\u{202e}"]) })),
        )
        .await;
    assert_eq!((s, code_of(&v)), (StatusCode::BAD_REQUEST, "text_invalid"));
    assert_eq!(
        h.store.application(id).await.unwrap().unwrap().status,
        "under_review"
    );
    let (s, v) = h
        .post_as(
            &reviewer,
            &format!("{app}/supplement-request"),
            Some(json!({ "missing": json!(["户口簿"]) })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "pending_supplement");
    assert_eq!(v["missing"], json!(["户口簿"]));
    assert_eq!(v["supplement_due"], "2026-12-16");
    let sent = texts(&h).await;
    let (key, body) = sent.last().unwrap();
    assert_eq!(key, &format!("application:{id}:pending_supplement"));
    assert!(
        body.contains("户口簿") && body.contains("2026-12-16"),
        "{body}"
    );
    // A counter of another hall takes it; review resumes.
    let elsewhere = h.sign_in_as("officer@gz-city").await;
    let (s, v) = h
        .call(
            "POST",
            &format!("/api/v1/halls/gz-city/applications/{id}/supplement"),
            None,
            &elsewhere.headers(),
        )
        .await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("accepted"))
    );
    let (s, _) = h
        .call("POST", &format!("{app}/review"), None, &reviewer.headers())
        .await;
    assert_eq!(s, StatusCode::OK);
}
both_dialects!(
    review_asks_for_a_supplement_and_a_counter_takes_it,
    review_asks_for_a_supplement
);
