//! 取证机 (issue 17) through HTTP: the locker's mode asks which compartment to open (nothing
//! changes), then reports the door opened (collected) or jammed. A jam marks the compartment
//! (in the database), keeps the document collectable, raises the device's alert (which a
//! heartbeat does not clear), puts no new arrival in it and tells the citizen the counter;
//! the back office sees each compartment's state and clears the jam (audited), after which the
//! code opens it again. Misses stay one answer and throttled.

use super::locker::{accept, by_locker, code_in, device, texts, to_ready};
use super::{code_of, Harness};
use axum::http::StatusCode;
use serde_json::{json, Value};
use wujing_store::DynStore;
use wujing_testkit::identity;

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

async fn step(h: &Harness, token: &str, what: &str, id: &str, code: &str) -> (StatusCode, Value) {
    h.call(
        "POST",
        &format!("/api/v1/kiosk/qzj/{what}"),
        Some(json!({"id_number": id, "code": code})),
        &[("authorization", &format!("Bearer {token}"))],
    )
    .await
}

/// The compartments' states on the monitoring API, by label.
async fn states(h: &Harness, who: &super::staff::Session) -> Vec<(String, String)> {
    let (s, v) = h
        .call("GET", "/api/v1/monitoring", None, &who.headers())
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let l = v["lockers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["hall_id"] == "tianhe")
        .expect("tianhe's locker on the monitoring");
    l["compartments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["label"].as_str().unwrap().to_string(),
                c["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn jammed_locker(store: DynStore, url: &str) {
    let h = Harness::new(store).await;
    let officer = h.sign_in_as("officer@tianhe").await;
    let manager = h.sign_in_as("hall_manager@tianhe").await;
    let leader = h.sign_in_as("leader").await;
    let (s, v) = h
        .call(
            "PUT",
            "/api/v1/admin/halls/tianhe/locker",
            Some(json!({"count": 3})),
            &manager.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let person = identity(21);
    let (id, phone) = accept(&h, &officer, &person, &[]).await;
    by_locker(url, id).await;
    to_ready(&h, id).await;
    let t = texts(&h, &phone, id).await;
    let code = code_in(
        &t.iter()
            .find(|(k, _)| k.ends_with(":ready_for_collection"))
            .unwrap()
            .1,
    );
    let locker = device(&h, "tianhe").await;
    assert_eq!(
        states(&h, &manager).await,
        vec![
            ("A-01".into(), "occupied".into()),
            ("A-02".into(), "free".into()),
            ("A-03".into(), "free".into())
        ]
    );

    // A wrong code: the one answer; staff cannot use the mode.
    let wrong = if code == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    let (s, v) = step(&h, &locker, "open", &person, wrong).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "pickup_code_invalid")
    );
    let (s, _) = h
        .call(
            "POST",
            "/api/v1/kiosk/qzj/open",
            Some(json!({"id_number": person, "code": code})),
            &manager.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // The right pair names the compartment and changes nothing.
    let (s, v) = step(&h, &locker, "open", &person, &code).await;
    assert_eq!(
        (s, v["compartment"].as_str()),
        (StatusCode::OK, Some("A-01"))
    );
    let a = h.store.application(id).await.unwrap().unwrap();
    assert_eq!(a.status, "ready_for_collection");

    // The door jams: recorded, the citizen told the counter, the alert raised once.
    let (s, v) = step(&h, &locker, "jam", &person, &code).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["compartment"], "A-01");
    assert!(v["next_zh"].as_str().unwrap().contains("窗口"), "{v}");
    assert!(v["next_en"].as_str().unwrap().contains("counter"), "{v}");
    let (s, _) = step(&h, &locker, "jam", &person, &code).await;
    assert_eq!(s, StatusCode::OK, "a second report changes nothing more");
    let a = h.store.application(id).await.unwrap().unwrap();
    assert_eq!(a.status, "ready_for_collection", "still collectable");
    assert_eq!(states(&h, &manager).await[0].1, "jammed");
    let c = h.store.locker("tianhe").await.unwrap();
    assert!(c[0].jammed_at.is_some() && c[0].application_id == Some(id));
    let (_, m) = h
        .call("GET", "/api/v1/monitoring", None, &leader.headers())
        .await;
    let open: Vec<&Value> = m["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["reason"] == "jam:A-01" && a["cleared_at"].is_null())
        .collect();
    assert_eq!(open.len(), 1, "{m}");
    let audit = h.store.audit_chain().await.unwrap().0;
    assert_eq!(
        audit.iter().filter(|e| e.action == "locker.jam").count(),
        2,
        "each report is audited"
    );
    // A heartbeat saying the locker works does not clear a compartment's jam.
    let (s, v) = h
        .call(
            "POST",
            "/api/v1/device/heartbeat",
            Some(json!({"peripherals": {"locker": "ok", "id_reader": "ok"}})),
            &[("authorization", &format!("Bearer {locker}"))],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["cleared"], json!([]));

    // While jammed: the code names no door to open, and the locker collects nothing.
    for what in ["open", "collect"] {
        let (s, v) = step(&h, &locker, what, &person, &code).await;
        assert_eq!(
            (s, code_of(&v)),
            (StatusCode::CONFLICT, "compartment_jammed"),
            "{what}"
        );
    }
    // A new arrival is not put in the jammed compartment.
    let second = identity(22);
    let (id2, phone2) = accept(&h, &officer, &second, &[]).await;
    by_locker(url, id2).await;
    to_ready(&h, id2).await;
    let c = h.store.locker("tianhe").await.unwrap();
    assert_eq!(c[1].application_id, Some(id2), "{c:?}");

    // The back office clears the jam with a note; the alert goes with it.
    let clear =
        |label: &str| format!("/api/v1/monitoring/lockers/tianhe/compartments/{label}/clear");
    let (s, v) = h
        .call(
            "POST",
            &clear("A-01"),
            Some(json!({"note": " "})),
            &manager.headers(),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::BAD_REQUEST, "outcome_required")
    );
    let (s, v) = h
        .call(
            "POST",
            &clear("Z-99"),
            Some(json!({"note": "x"})),
            &manager.headers(),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::NOT_FOUND, "compartment_unknown")
    );
    let other = h.sign_in_as("hall_manager@gz-city").await;
    let (s, _) = h
        .call(
            "POST",
            &clear("A-01"),
            Some(json!({"note": "门已修好"})),
            &other.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = h
        .call(
            "POST",
            &clear("a-01"),
            Some(json!({"note": "门已修好"})),
            &manager.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, v) = h
        .call(
            "POST",
            &clear("A-01"),
            Some(json!({"note": "again"})),
            &manager.headers(),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "compartment_not_jammed")
    );
    let (_, m) = h
        .call("GET", "/api/v1/monitoring", None, &leader.headers())
        .await;
    assert!(
        m["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["reason"] == "jam:A-01")
            .all(|a| !a["cleared_at"].is_null() && a["note"] == "门已修好"),
        "{m}"
    );
    let audit = h.store.audit_chain().await.unwrap().0;
    assert!(audit
        .iter()
        .any(|e| e.action == "locker.jam_cleared" && e.subject == "hall:tianhe"));

    // The door works again: the same code opens it, and the door opened collects.
    let (s, v) = step(&h, &locker, "open", &person, &code).await;
    assert_eq!(
        (s, v["compartment"].as_str()),
        (StatusCode::OK, Some("A-01")),
        "{v}"
    );
    let (s, v) = step(&h, &locker, "collect", &person, &code).await;
    assert_eq!(
        (s, v["compartment"].as_str()),
        (StatusCode::OK, Some("A-01")),
        "{v}"
    );
    let a = h.store.application(id).await.unwrap().unwrap();
    assert_eq!(a.status, "collected");
    let (s, v) = step(&h, &locker, "open", &person, &code).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "pickup_code_invalid"),
        "one use"
    );
    assert_eq!(
        states(&h, &manager).await,
        vec![
            ("A-01".into(), "free".into()),
            ("A-02".into(), "occupied".into()),
            ("A-03".into(), "free".into())
        ]
    );

    // Guessing: five misses against one identity number, then even the right code waits.
    for _ in 0..5 {
        let (s, _) = step(&h, &locker, "open", &second, wrong).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let t = texts(&h, &phone2, id2).await;
    let code2 = code_in(
        &t.iter()
            .find(|(k, _)| k.ends_with(":ready_for_collection"))
            .unwrap()
            .1,
    );
    let (s, v) = step(&h, &locker, "open", &second, &code2).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "proof_throttled")
    );
}
with_url!(
    jammed_locker_stays_collectable_and_is_cleared,
    jammed_locker
);
