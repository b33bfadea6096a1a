//! The production centre over HTTP (issue 12): its system authenticates with a bearer token
//! (missing, wrong or revoked: 401), takes approved applications in batches, reads what it
//! prints (in full, audited) and reports each document (idempotently for a retry); producers
//! use the page with their session and see applicants masked. On SQLite and PostgreSQL.

use super::lifecycle::accept_booked;
use super::staff::Session;
use super::{code_of, Harness};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};
use wujing_store::DynStore;
use wujing_testkit::both_dialects;

const ZHENG: &str = "440112200001010139";
/// Demo registry: 户籍 in Kashgar (Xinjiang).
const ZHANG: &str = "653101199001010451";

/// An application accepted at tianhe for `id_number` and approved by a reviewer: its id.
async fn approved(h: &Harness, officer: &Session, reviewer: &Session, id_number: &str) -> i64 {
    let (a, _) = accept_booked(h, officer, id_number).await;
    let id = a["id"].as_i64().unwrap();
    for step in ["review", "approve"] {
        let (s, v) = h
            .call(
                "POST",
                &format!("/api/v1/applications/{id}/{step}"),
                None,
                &reviewer.headers(),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    id
}

fn bearer(token: &str) -> [(&'static str, String); 1] {
    [("authorization", format!("Bearer {token}"))]
}

async fn as_centre(
    h: &Harness,
    method: &str,
    path: &str,
    body: Option<Value>,
    token: &str,
) -> (StatusCode, Value) {
    let [(k, v)] = bearer(token);
    h.call(method, path, body, &[(k, v.as_str())]).await
}

async fn events(h: &Harness, id: i64) -> usize {
    h.store.application_events(id).await.unwrap().len()
}

async fn centre(store: DynStore) {
    let h = Harness::new(store).await;
    let admin = h.sign_in_as("admin").await;
    let officer = h.sign_in_as("officer@tianhe").await;
    let reviewer = h.sign_in_as("reviewer").await;
    let producer = h.sign_in_as("producer").await;

    // An administrator creates the centre's client; the token is shown once, never audited.
    let (s, c) = h
        .call(
            "POST",
            "/api/v1/admin/system-clients",
            Some(json!({"name": "centre-gz"})),
            &admin.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let token = c["token"].as_str().unwrap().to_string();
    let client = c["id"].as_i64().unwrap();
    assert!(token.starts_with("wjsys_"));
    let (s, v) = h
        .call(
            "POST",
            "/api/v1/admin/system-clients",
            Some(json!({"name": "centre-gz"})),
            &admin.headers(),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "system_client_name_taken")
    );
    let (s, list) = h
        .call(
            "GET",
            "/api/v1/admin/system-clients",
            None,
            &admin.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(list[0].get("token").is_none(), "{list}");

    // The booking helper books under the name 郑华: Zhang's record says so here.
    let mut p = h.store.person(ZHANG).await.unwrap().unwrap();
    p.name = "郑华".into();
    h.store
        .upsert_persons(&[p], h.app.clock.now())
        .await
        .unwrap();
    let first = approved(&h, &officer, &reviewer, ZHENG).await;
    let second = approved(&h, &officer, &reviewer, ZHANG).await;
    // Zhang's document is to be mailed.
    let (s, v) = h
        .call(
            "POST",
            &format!("/api/v1/applications/{second}/collection"),
            Some(json!({"method": "mail", "mail_address": "广东省广州市天河区体育西路100号"})),
            &officer.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // Who may call: nobody → 401; a wrong token → 401; staff without the role → 403; the
    // centre's token opens no staff route.
    let batches = "/api/v1/production/batches";
    let (s, v) = h.call("GET", batches, None, &[]).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNAUTHORIZED, "sign_in_required")
    );
    let (s, v) = as_centre(&h, "GET", batches, None, "wjsys_not-a-token").await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNAUTHORIZED, "system_token_invalid")
    );
    let (s, v) = h.call("GET", batches, None, &officer.headers()).await;
    assert_eq!((s, code_of(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = h.call("POST", batches, None, &reviewer.headers()).await;
    assert_eq!((s, code_of(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    for (method, path) in [
        ("GET", "/staff"),
        ("GET", "/staff/production"),
        ("GET", "/staff/review"),
        ("GET", "/api/v1/applications/review-queue"),
        ("GET", "/api/v1/admin/system-clients"),
    ] {
        let (s, _) = as_centre(&h, method, path, None, &token).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{method} {path}");
    }
    let (s, _) = as_centre(
        &h,
        "GET",
        &format!("/api/v1/applications/{first}"),
        None,
        &token,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = as_centre(
        &h,
        "POST",
        &format!("/api/v1/applications/{first}/production"),
        Some(json!({"step": "start"})),
        &token,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // A batch: a limit over 200 is refused; without a body, both applications.
    let (s, v) = as_centre(&h, "POST", batches, Some(json!({"limit": 201})), &token).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::BAD_REQUEST, "batch_limit_invalid")
    );
    let (s, b) = as_centre(&h, "POST", batches, None, &token).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["size"], 2);
    assert_eq!(b["created_by"], "centre-gz");
    let items = b["items"].as_array().unwrap();
    let ids: Vec<i64> = items
        .iter()
        .map(|i| i["application_id"].as_i64().unwrap())
        .collect();
    assert!(ids.contains(&first) && ids.contains(&second));
    let zheng = items.iter().find(|i| i["application_id"] == first).unwrap();
    // What the centre prints: in full, for the centre only.
    assert_eq!(zheng["applicant"]["name"], "郑华");
    assert_eq!(zheng["applicant"]["id_number"], ZHENG);
    assert_eq!(zheng["applicant"]["masked"], false);
    assert_eq!(zheng["document_kind"], "passport");
    assert_eq!(zheng["business"], "passport_first");
    assert_eq!(zheng["status"], "in_production");
    assert_eq!(zheng["collection_method"], "counter");
    let zhang = items
        .iter()
        .find(|i| i["application_id"] == second)
        .unwrap();
    assert_eq!(zhang["collection_method"], "mail");
    assert!(zheng["due_date"].is_string() && zheng["expedited"].is_boolean());
    let batch = b["id"].as_i64().unwrap();
    let (s, v) = as_centre(&h, "POST", batches, None, &token).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "production_queue_empty")
    );

    // The move into production is the centre's in the history and the trail; its read of
    // the batch is audited, naming the applications and the fields.
    let ev = h.store.application_events(first).await.unwrap();
    assert_eq!(ev.last().unwrap().actor, format!("system:{client}"));
    let (chain, _) = h.store.audit_chain().await.unwrap();
    let moved = chain
        .iter()
        .find(|e| {
            e.action == "application.in_production" && e.subject == format!("application:{first}")
        })
        .expect("the move is audited");
    assert_eq!(moved.actor, format!("system:{client}"));
    let reads: Vec<_> = chain
        .iter()
        .filter(|e| e.action == "production.batch_read")
        .collect();
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0].subject, format!("batch:{batch}"));
    assert_eq!(reads[0].actor, format!("system:{client}"));
    assert!(
        reads[0].detail.contains(&first.to_string()),
        "{}",
        reads[0].detail
    );
    // The token is nowhere in the trail.
    assert!(chain.iter().all(|e| !e.detail.contains(&token)));

    // A producer reads the same batch masked, and that read is no print.
    let (s, v) = h
        .call(
            "GET",
            &format!("{batches}/{batch}"),
            None,
            &producer.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let z = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["application_id"] == first)
        .unwrap();
    assert_eq!(z["applicant"]["name"], "郑*");
    assert_eq!(z["applicant"]["masked"], true);
    assert_ne!(z["applicant"]["id_number"], ZHENG);
    let (chain, _) = h.store.audit_chain().await.unwrap();
    assert_eq!(
        chain
            .iter()
            .filter(|e| e.action == "production.batch_read")
            .count(),
        1
    );
    let (s, v) = as_centre(&h, "GET", batches, None, &token).await;
    assert_eq!((s, v[0]["id"].as_i64()), (StatusCode::OK, Some(batch)));
    assert!(v[0].get("items").is_none());
    let (s, v) = as_centre(&h, "GET", &format!("{batches}/999"), None, &token).await;
    assert_eq!((s, code_of(&v)), (StatusCode::NOT_FOUND, "batch_not_found"));

    // Reports per document.
    let doc = |id: i64| format!("/api/v1/production/documents/{id}");
    let produced = json!({"step": "produced", "document_number": "E12345678"});
    let (s, v) = as_centre(
        &h,
        "POST",
        &doc(first),
        Some(json!({"step": "ready"})),
        &token,
    )
    .await;
    assert_eq!((s, code_of(&v)), (StatusCode::BAD_REQUEST, "body_invalid"));
    let (s, v) = as_centre(
        &h,
        "POST",
        &doc(first),
        Some(json!({"step": "produced"})),
        &token,
    )
    .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::BAD_REQUEST, "document_number_invalid")
    );
    let (s, v) = as_centre(&h, "POST", &doc(first), Some(produced.clone()), &token).await;
    assert_eq!(
        (s, v["status"].as_str(), v["document_number"].as_str()),
        (StatusCode::OK, Some("produced"), Some("E12345678"))
    );
    // A retry of the same report: 200 again, no second event, no second audit entry.
    let (n_events, n_audit) = (
        events(&h, first).await,
        h.store.audit_chain().await.unwrap().0.len(),
    );
    let (s, v) = as_centre(&h, "POST", &doc(first), Some(produced.clone()), &token).await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("produced"))
    );
    assert_eq!(events(&h, first).await, n_events);
    assert_eq!(h.store.audit_chain().await.unwrap().0.len(), n_audit);
    // Another number for it: refused; its number for another document: refused.
    let (s, v) = as_centre(
        &h,
        "POST",
        &doc(first),
        Some(json!({"step": "produced", "document_number": "E87654321"})),
        &token,
    )
    .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "document_already_numbered")
    );
    let (s, v) = as_centre(&h, "POST", &doc(second), Some(produced.clone()), &token).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "document_number_taken")
    );
    let a2 = h.store.application(second).await.unwrap().unwrap();
    assert_eq!(
        (a2.status.as_str(), a2.document_number),
        ("in_production", None)
    );
    // Dispatched, and retried.
    let dispatched = json!({"step": "dispatched"});
    for _ in 0..2 {
        let (s, v) = as_centre(&h, "POST", &doc(first), Some(dispatched.clone()), &token).await;
        assert_eq!(
            (s, v["status"].as_str()),
            (StatusCode::OK, Some("dispatched"))
        );
    }
    let steps: Vec<String> = h
        .store
        .application_events(first)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.to_state)
        .collect();
    assert_eq!(
        steps,
        [
            "accepted",
            "under_review",
            "approved",
            "in_production",
            "produced",
            "dispatched"
        ]
    );
    // A report that is not the next step.
    let (s, v) = as_centre(&h, "POST", &doc(second), Some(dispatched.clone()), &token).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "application_move_illegal")
    );
    // A mailed document leaves with the carrier's tracking number.
    let (s, _) = as_centre(
        &h,
        "POST",
        &doc(second),
        Some(json!({"step": "produced", "document_number": "E22222222"})),
        &token,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = as_centre(&h, "POST", &doc(second), Some(dispatched), &token).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::BAD_REQUEST, "tracking_number_invalid")
    );
    let mailed = json!({"step": "dispatched", "tracking_number": "EA123456785CN"});
    for _ in 0..2 {
        let (s, v) = as_centre(&h, "POST", &doc(second), Some(mailed.clone()), &token).await;
        assert_eq!(
            (s, v["status"].as_str()),
            (StatusCode::OK, Some("dispatched")),
            "{v}"
        );
    }
    let a2 = h.store.application(second).await.unwrap().unwrap();
    assert_eq!(a2.tracking_number.as_deref(), Some("EA123456785CN"));

    // Revoked: the token is refused from the next request on.
    let (s, _) = h
        .call(
            "POST",
            &format!("/api/v1/admin/system-clients/{client}/revoke"),
            None,
            &admin.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = as_centre(&h, "GET", batches, None, &token).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNAUTHORIZED, "system_token_invalid")
    );
    let (chain, _) = h.store.audit_chain().await.unwrap();
    assert!(chain.iter().any(|e| e.action == "system_client.create"));
    assert!(chain.iter().any(|e| e.action == "system_client.revoke"));
}
both_dialects!(
    the_production_centre_batches_prints_and_reports_with_its_own_token,
    centre
);

/// A form post from a staff page, with the session's cookie and CSRF token: the redirect.
async fn form(h: &Harness, who: &Session, path: &str, fields: &str) -> String {
    let res = h
        .raw(
            Request::builder()
                .method("POST")
                .uri(path)
                .header("cookie", &who.cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(format!("csrf={}&{fields}", who.csrf)))
                .unwrap(),
        )
        .await;
    res.headers()["location"].to_str().unwrap().to_string()
}

async fn page_html(h: &Harness, who: &Session) -> String {
    let (s, html) = h
        .call("GET", "/staff/production", None, &who.headers())
        .await;
    assert_eq!(s, StatusCode::OK, "{html}");
    html.as_str().unwrap().to_string()
}

/// The producers' page: the waiting count, a batch made with the button, the batch's items
/// masked, and each document's next step until it has arrived at the collection site.
async fn page_flow(store: DynStore) {
    let h = Harness::new(store).await;
    let officer = h.sign_in_as("officer@tianhe").await;
    let reviewer = h.sign_in_as("reviewer").await;
    let producer = h.sign_in_as("producer").await;
    let id = approved(&h, &officer, &reviewer, ZHENG).await;

    // The nav offers the page to producers, not to reviewers.
    let (_, home) = h.call("GET", "/staff", None, &producer.headers()).await;
    assert!(home
        .as_str()
        .unwrap()
        .contains("href=\"/staff/production\""));
    let (_, home) = h.call("GET", "/staff", None, &reviewer.headers()).await;
    assert!(!home
        .as_str()
        .unwrap()
        .contains("href=\"/staff/production\""));
    let (s, _) = h
        .call("GET", "/staff/production", None, &reviewer.headers())
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let html = page_html(&h, &producer).await;
    assert!(
        html.contains("<strong>1</strong> 份已批准申请待制证"),
        "{html}"
    );
    assert!(html.contains("action=\"/staff/production/batch\""));
    // Without the CSRF token nothing happens.
    let res = h
        .raw(
            Request::builder()
                .method("POST")
                .uri("/staff/production/batch")
                .header("cookie", &producer.cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from("limit=10"))
                .unwrap(),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let to = form(&h, &producer, "/staff/production/batch", "limit=10").await;
    assert!(to.starts_with("/staff/production?kind=ok"), "{to}");
    let html = page_html(&h, &producer).await;
    assert!(html.contains("<strong>0</strong> 份"), "{html}");
    assert!(html.contains("郑*"), "masked: {html}");
    assert!(!html.contains(ZHENG) && !html.contains("郑华"));
    assert!(html.contains("首次申请普通护照") && html.contains("制证中"));
    assert!(html.contains(&format!("action=\"/staff/production/{id}\"")));
    assert!(html.contains("name=\"document_number\""));

    // Produced with a bad number: the page says why; then with a good one.
    let to = form(
        &h,
        &producer,
        &format!("/staff/production/{id}"),
        "step=produced&document_number=e1",
    )
    .await;
    assert!(to.starts_with("/staff/production?kind=error"), "{to}");
    for (fields, state) in [
        ("step=produced&document_number=E20261201", "produced"),
        ("step=dispatched", "dispatched"),
        ("step=ready", "ready_for_collection"),
    ] {
        let to = form(&h, &producer, &format!("/staff/production/{id}"), fields).await;
        assert!(
            to.starts_with("/staff/production?kind=ok"),
            "{fields}: {to}"
        );
        let a = h.store.application(id).await.unwrap().unwrap();
        assert_eq!(a.status, state);
    }
    let html = page_html(&h, &producer).await;
    assert!(
        html.contains("E20261201") && html.contains("可领取"),
        "{html}"
    );
    // The staff steps are the producer's in the history.
    let ev = h.store.application_events(id).await.unwrap();
    assert!(ev.last().unwrap().actor.starts_with("staff:"));
}
both_dialects!(
    the_production_page_makes_a_batch_and_steps_each_document,
    page_flow
);

/// A captured log of the centre's whole exchange — a client created, a batch made and read
/// with the applicant in full, a document reported, a wrong and a revoked token — holds neither
/// the token nor the applicant's name or identity number.
#[tokio::test]
async fn the_centres_token_and_what_it_prints_are_never_logged() {
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
    let admin = h.sign_in_as("admin").await;
    let officer = h.sign_in_as("officer@tianhe").await;
    let reviewer = h.sign_in_as("reviewer").await;
    let (_, c) = h
        .call(
            "POST",
            "/api/v1/admin/system-clients",
            Some(json!({"name": "centre-gz"})),
            &admin.headers(),
        )
        .await;
    let token = c["token"].as_str().unwrap().to_string();
    let id = approved(&h, &officer, &reviewer, ZHENG).await;
    let (s, b) = as_centre(&h, "POST", "/api/v1/production/batches", None, &token).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(b["items"][0]["applicant"]["id_number"], ZHENG);
    let (s, _) = as_centre(
        &h,
        "POST",
        &format!("/api/v1/production/documents/{id}"),
        Some(json!({"step": "produced", "document_number": "E12345678"})),
        &token,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let wrong = format!("{token}x");
    let (s, _) = as_centre(&h, "GET", "/api/v1/production/batches", None, &wrong).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let client = c["id"].as_i64().unwrap();
    h.call(
        "POST",
        &format!("/api/v1/admin/system-clients/{client}/revoke"),
        None,
        &admin.headers(),
    )
    .await;
    let (s, _) = as_centre(&h, "GET", "/api/v1/production/batches", None, &token).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    let log = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("route=/api/v1/production/batches"),
        "the exchange was logged:\n{log}"
    );
    for secret in [token.as_str(), &token[6..], ZHENG, "郑华"] {
        assert!(!log.contains(secret), "the log contains {secret}:\n{log}");
    }
}
