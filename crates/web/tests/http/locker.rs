//! The pickup locker and the sweeper through HTTP (issue 12): an administrator sets up the
//! compartments; a document to be collected from the locker arrives and its text carries a
//! one-time code; the locker (a device of the hall) opens one compartment for the identity
//! number and the code, once; misses are one answer and throttled; another hall's locker opens
//! nothing; the code is nowhere in the database in clear; the sweeper lapses, reminds once and
//! returns to the vault.

use super::{code_of, Harness};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::TimeDelta;
use http_body_util::BodyExt;
use serde_json::json;
use wujing_store::DynStore;
use wujing_testkit::identity;

/// Runs `$body(store, url)` on SQLite and on PostgreSQL (when available): these tests set the
/// collection method behind the store's back (the citizen's choice is another part of issue 12)
/// and read a raw copy of the database.
macro_rules! with_url {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let t = wujing_testkit::TempSqlite::new();
                let store = wujing_testkit::open(&t.url()).await.unwrap();
                store.migrate().await.unwrap();
                super::$body(store, &t.url()).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                let Some(url) = wujing_testkit::fresh_pg_database().await else {
                    return;
                };
                let store = wujing_testkit::open(&url).await.unwrap();
                store.migrate().await.unwrap();
                super::$body(store, &url).await;
            }
        }
    };
}

/// Books `id_number` at tianhe, serves it at a general window and accepts it (with `missing`
/// materials): the application's id and the booking's phone.
pub(super) async fn accept(
    h: &Harness,
    officer: &super::staff::Session,
    id_number: &str,
    missing: &[&str],
) -> (i64, String) {
    let (a, b) =
        super::lifecycle::accept_booked_with(h, officer, id_number, json!({ "missing": missing }))
            .await;
    (a["id"].as_i64().unwrap(), b.phone)
}

/// Review, production and arrival of application `id` (the arrival is the last step).
pub(super) async fn to_ready(h: &Harness, id: i64) {
    let reviewer = h.sign_in_as("reviewer").await;
    let producer = h.sign_in_as("producer").await;
    let app = format!("/api/v1/applications/{id}");
    for (path, who) in [("review", &reviewer), ("approve", &reviewer)] {
        let (s, v) = h
            .call("POST", &format!("{app}/{path}"), None, &who.headers())
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    for step in [
        json!({"step": "start"}),
        json!({"step": "produced", "document_number": format!("E{id:08}")}),
        json!({"step": "dispatched"}),
        json!({"step": "ready"}),
    ] {
        let (s, v) = h
            .call(
                "POST",
                &format!("{app}/production"),
                Some(step),
                &producer.headers(),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
}

pub(super) async fn by_locker(url: &str, id: i64) {
    wujing_testkit::raw_exec(
        url,
        &format!("UPDATE applications SET collection_method = 'locker' WHERE id = {id}"),
    )
    .await;
}

/// The texts to `phone` about application `id`, newest first.
pub(super) async fn texts(h: &Harness, phone: &str, id: i64) -> Vec<(String, String)> {
    h.store
        .messages_to(phone, 50)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.idempotency_key.starts_with(&format!("application:{id}:")))
        .map(|m| (m.idempotency_key, m.body))
        .collect()
}

/// The 8-digit code in a text.
pub(super) fn code_in(body: &str) -> String {
    let at = body.find("取件码").expect("a pickup code in the text") + "取件码".len();
    body[at..].chars().take(8).collect()
}

pub(super) async fn device(h: &Harness, hall: &str) -> String {
    let admin = h.admin_principal().await;
    h.app
        .create_device(
            &admin,
            None,
            &wujing_app::DeviceInput {
                name: "取证机".into(),
                hall_id: hall.into(),
                kind: "qzj".into(),
                window_number: None,
            },
        )
        .await
        .unwrap()
        .token
        .unwrap()
}

async fn collect(
    h: &Harness,
    token: &str,
    id_number: &str,
    code: &str,
) -> (StatusCode, serde_json::Value) {
    h.call(
        "POST",
        "/api/v1/locker/collect",
        Some(json!({"id_number": id_number, "code": code})),
        &[("authorization", &format!("Bearer {token}"))],
    )
    .await
}

async fn locker_journey(store: DynStore, url: &str) {
    let h = Harness::new(store).await;
    let officer = h.sign_in_as("officer@tianhe").await;
    let manager = h.sign_in_as("hall_manager@tianhe").await;
    let other_manager = h.sign_in_as("hall_manager@gz-city").await;

    // The administrator's route: set up two compartments, see the occupancy.
    let locker = "/api/v1/admin/halls/tianhe/locker";
    let (s, v) = h
        .call(
            "PUT",
            locker,
            Some(json!({"count": 0, "labels": ["A-01"]})),
            &manager.headers(),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::BAD_REQUEST, "locker_invalid")
    );
    let (s, v) = h
        .call(
            "PUT",
            locker,
            Some(json!({"count": 2})),
            &other_manager.headers(),
        )
        .await;
    assert_eq!((s, code_of(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = h
        .call("PUT", locker, Some(json!({"count": 2})), &manager.headers())
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["total"].as_u64(), v["free"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(v["compartments"][0]["label"], "A-01");
    let audit = h.store.audit_chain().await.unwrap().0;
    assert!(audit
        .iter()
        .any(|e| e.action == "locker.set" && e.subject == "hall:tianhe"));

    // Three documents for the locker arrive; two compartments.
    let people = [identity(11), identity(12), identity(13)];
    let mut apps = Vec::new();
    for p in &people {
        let (id, phone) = accept(&h, &officer, p, &[]).await;
        by_locker(url, id).await;
        to_ready(&h, id).await;
        apps.push((id, phone));
    }
    let (s, v) = h.call("GET", locker, None, &manager.headers()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (v["total"].as_u64(), v["free"].as_u64()),
        (Some(2), Some(0)),
        "{v}"
    );
    let mut codes = Vec::new();
    for (id, phone) in &apps[..2] {
        let t = texts(&h, phone, *id).await;
        let (_, body) = t
            .iter()
            .find(|(k, _)| k.ends_with(":ready_for_collection"))
            .unwrap();
        assert!(body.contains("自助取证机"), "{body}");
        let code = code_in(body);
        assert!(
            code.len() == 8 && code.bytes().all(|b| b.is_ascii_digit()),
            "{code}"
        );
        codes.push(code);
    }
    // The third waits at the counter, and its text says so.
    let (id3, phone3) = &apps[2];
    let t = texts(&h, phone3, *id3).await;
    let (_, body) = t
        .iter()
        .find(|(k, _)| k.ends_with(":ready_for_collection"))
        .unwrap();
    assert!(
        body.contains("暂无空余格口") && !body.contains("取件码"),
        "{body}"
    );
    // Removing an occupied compartment is refused.
    let (s, v) = h
        .call("PUT", locker, Some(json!({"count": 1})), &manager.headers())
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "compartment_occupied")
    );

    // The code is nowhere in clear in the database (texts are sealed, the code kept as a MAC).
    let dump = wujing_testkit::raw_dump(url).await;
    assert!(dump.contains("A-01"), "the dump reads the tables");
    for c in &codes {
        assert!(!dump.contains(c.as_str()), "pickup code {c} in clear");
    }

    let here = device(&h, "tianhe").await;
    let elsewhere = device(&h, "gz-city").await;
    // Staff cannot open the locker; another hall's locker finds nothing.
    let (s, _) = h
        .call(
            "POST",
            "/api/v1/locker/collect",
            Some(json!({"id_number": people[0], "code": codes[0]})),
            &manager.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = collect(&h, &elsewhere, &people[0], &codes[0]).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "pickup_code_invalid")
    );
    // A wrong code, another person's number, an unknown number: the same answer.
    let wrong = if codes[0] == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    for (who, code) in [
        (people[0].as_str(), wrong),
        (people[1].as_str(), codes[0].as_str()),
        (identity(99).as_str(), codes[0].as_str()),
    ] {
        let (s, v) = collect(&h, &here, who, code).await;
        assert_eq!(
            (s, code_of(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "pickup_code_invalid")
        );
        assert_eq!(v["error"]["details"], serde_json::Value::Null);
    }
    // The right pair opens the compartment, once.
    let (s, v) = collect(&h, &here, &people[0], &codes[0]).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let opened = v["compartment"].as_str().unwrap().to_string();
    assert!(opened == "A-01" || opened == "A-02");
    let (s, v) = collect(&h, &here, &people[0], &codes[0]).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "pickup_code_invalid")
    );
    let a = h.store.application(apps[0].0).await.unwrap().unwrap();
    assert_eq!(a.status, "collected");
    let last = h
        .store
        .application_events(a.id)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert!(last.actor.starts_with("device:"), "{last:?}");
    let audit = h.store.audit_chain().await.unwrap().0;
    let e = audit
        .iter()
        .find(|e| {
            e.action == "application.collected" && e.subject == format!("application:{}", a.id)
        })
        .unwrap();
    assert!(e.actor.starts_with("device:") && e.citizen.is_some());
    let (_, v) = h.call("GET", locker, None, &manager.headers()).await;
    assert_eq!(v["free"].as_u64(), Some(1));

    // Brute force: failures against one identity number are throttled (five an hour; one was
    // above), and then even the right code waits.
    for _ in 0..4 {
        let (s, _) = collect(&h, &here, &people[1], wrong).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (s, v) = collect(&h, &here, &people[1], &codes[1]).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "proof_throttled")
    );
    h.app.clock.advance(TimeDelta::hours(2));

    // The locker's page: bound to the device by its cookie, a big form, then the compartment.
    let page = |method: &str, body: Option<String>| {
        let mut r = Request::builder()
            .method(method)
            .uri("/locker")
            .header("cookie", format!("wujing_device={here}"));
        if body.is_some() {
            r = r.header("content-type", "application/x-www-form-urlencoded");
        }
        r.body(body.map_or_else(Body::empty, Body::from)).unwrap()
    };
    let res = h.raw(page("GET", None)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html =
        String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(
        html.contains("name=\"id_number\"") && html.contains("name=\"code\""),
        "{html}"
    );
    let res = h
        .raw(page(
            "POST",
            Some(format!("id_number={}&code={}", people[1], codes[1])),
        ))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let html =
        String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(
        html.contains("格口取件") && html.contains("Take your document from compartment"),
        "{html}"
    );
    // The outcome is a success unmistakably (not by colour alone), and the way out is a button
    // in the kiosk's style, not a bare link.
    assert!(
        html.contains("class=\"outcome outcome-ok\" role=\"status\"")
            && html.contains("<a class=\"button\" href=\"/locker\" id=\"done\">完成 Done</a>"),
        "{html}"
    );
    let a = h.store.application(apps[1].0).await.unwrap().unwrap();
    assert_eq!(a.status, "collected");
    // Without a device the page is not there.
    let res = h
        .raw(Request::get("/locker").body(Body::empty()).unwrap())
        .await;
    assert!(res.status().is_client_error() || res.status().is_redirection());
}
with_url!(
    locker_collects_once_with_the_right_pair_only,
    locker_journey
);

async fn sweeper(store: DynStore, url: &str) {
    let h = Harness::new(store).await;
    let officer = h.sign_in_as("officer@tianhe").await;
    let manager = h.sign_in_as("hall_manager@tianhe").await;
    let locker = "/api/v1/admin/halls/tianhe/locker";
    let (s, _) = h
        .call(
            "PUT",
            locker,
            Some(json!({"labels": ["B-01"]})),
            &manager.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // One pending a supplement, one in the locker, one at the counter.
    let (pending, pending_phone) = accept(&h, &officer, &identity(21), &["户口簿"]).await;
    let (in_locker, locker_phone) = accept(&h, &officer, &identity(22), &[]).await;
    by_locker(url, in_locker).await;
    to_ready(&h, in_locker).await;
    let (at_counter, counter_phone) = accept(&h, &officer, &identity(23), &[]).await;
    to_ready(&h, at_counter).await;
    let (_, v) = h.call("GET", locker, None, &manager.headers()).await;
    assert_eq!(v["free"].as_u64(), Some(0));
    let status = |id: i64| {
        let store = h.store.clone();
        async move { store.application(id).await.unwrap().unwrap().status }
    };

    // Nothing is due yet.
    assert_eq!(
        h.app.sweep_applications().await.unwrap(),
        Default::default()
    );

    // Past the reminder days: one reminder each, once.
    h.app
        .clock
        .advance(TimeDelta::days(3) + TimeDelta::hours(1));
    let r = h.app.sweep_applications().await.unwrap();
    assert_eq!((r.reminded, r.returned), (2, 0));
    let r = h.app.sweep_applications().await.unwrap();
    assert_eq!(r.reminded, 0, "reminded once");
    for (id, phone) in [(in_locker, &locker_phone), (at_counter, &counter_phone)] {
        let t = texts(&h, phone, id).await;
        assert_eq!(
            t.iter().filter(|(k, _)| k.ends_with(":reminder")).count(),
            1
        );
    }

    // Past the supplement deadline (15 days): lapsed, with a text.
    h.app.clock.advance(TimeDelta::days(13));
    let r = h.app.sweep_applications().await.unwrap();
    assert_eq!(r.lapsed, 1);
    assert_eq!(status(pending).await, "lapsed");
    let t = texts(&h, &pending_phone, pending).await;
    assert!(
        t.iter()
            .any(|(k, b)| k.ends_with(":lapsed") && b.contains("终止")),
        "{t:?}"
    );

    // Past the uncollected days (30): back to the vault, compartment freed, told to come to a
    // counter; a second run does nothing.
    h.app.clock.advance(TimeDelta::days(15));
    let r = h.app.sweep_applications().await.unwrap();
    assert_eq!((r.returned, r.lapsed, r.reminded), (2, 0, 0));
    assert_eq!(
        h.app.sweep_applications().await.unwrap(),
        Default::default()
    );
    for (id, phone) in [(in_locker, &locker_phone), (at_counter, &counter_phone)] {
        assert_eq!(status(id).await, "returned_to_vault");
        let t = texts(&h, phone, id).await;
        assert!(t
            .iter()
            .any(|(k, b)| k.ends_with(":returned_to_vault") && b.contains("窗口领取")));
        let last = h.store.application_events(id).await.unwrap().pop().unwrap();
        assert_eq!(last.actor, "system:sweeper");
    }
    // (A month later the manager signs in again.)
    let manager = h.sign_in_as("hall_manager@tianhe").await;
    let (_, v) = h.call("GET", locker, None, &manager.headers()).await;
    assert_eq!(v["free"].as_u64(), Some(1), "{v}");
    let audit = h.store.audit_chain().await.unwrap().0;
    for action in [
        "application.lapsed",
        "application.reminded",
        "application.returned_to_vault",
    ] {
        assert!(
            audit
                .iter()
                .any(|e| e.action == action && e.actor == "system:sweeper"),
            "{action}"
        );
    }
}
with_url!(
    sweeper_lapses_reminds_once_and_returns_to_the_vault,
    sweeper
);
