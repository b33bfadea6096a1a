//! Devices as first-class machines through HTTP (issue 16), on SQLite and PostgreSQL: a device's
//! kind and window are checked when it is registered; pairing gives a kiosk a fresh token for a
//! code an administrator confirms (wrong codes are throttled, the old token stops working,
//! revocation takes effect at once); heartbeats raise an alert once for a fault and clear it
//! when the fault is gone; a silent device raises its alert once and it is escalated, and so
//! does one never heard (from its pairing, or its registration if never paired); staff
//! clear an alert with a note (audited); uses are counted per day, device and mode.

use super::{code_of, Harness};
use axum::http::StatusCode;
use chrono::TimeDelta;
use serde_json::{json, Value};
use wujing_store::{DeviceStep, DynStore};
use wujing_testkit::both_dialects;

fn bearer(token: &str) -> [(&'static str, String); 1] {
    [("authorization", format!("Bearer {token}"))]
}

async fn as_device(
    h: &Harness,
    method: &str,
    uri: &str,
    body: Option<Value>,
    token: &str,
) -> (StatusCode, Value) {
    let b = bearer(token);
    let headers: Vec<(&str, &str)> = b.iter().map(|(k, v)| (*k, v.as_str())).collect();
    h.call(method, uri, body, &headers).await
}

/// The texts sent to a staff account's phone.
/// A heartbeat of the device with `token`, reporting `peripherals`.
async fn heartbeat(h: &Harness, token: &str, peripherals: Value) -> (StatusCode, Value) {
    let body = json!({ "peripherals": peripherals, "software": "kiosk 1.2" });
    as_device(h, "POST", "/api/v1/device/heartbeat", Some(body), token).await
}

/// The first row of the monitoring reading's `list` (`devices` or `alerts`) whose `field` is
/// `value`.
async fn monitored(
    h: &Harness,
    s: &super::staff::Session,
    list: &str,
    field: &str,
    value: &Value,
) -> Value {
    let (_, m) = h
        .call("GET", "/api/v1/monitoring", None, &s.headers())
        .await;
    m[list]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| &r[field] == value)
        .unwrap()
        .clone()
}

async fn texts_of(h: &Harness, username: &str) -> Vec<String> {
    let phone = h
        .store
        .staff_by_username(username)
        .await
        .unwrap()
        .unwrap()
        .phone
        .unwrap();
    h.store
        .messages_to(&phone, 50)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.body)
        .collect()
}

both_dialects!(registering_checks_kind_and_window, registering);
async fn registering(store: DynStore) {
    let h = Harness::new(store).await;
    let admin = h.sign_in_as("admin").await;
    for (body, code) in [
        (
            json!({"name": "x", "hall_id": "tianhe", "kind": "kiosk"}),
            "device_kind_invalid",
        ),
        (
            json!({"name": "x", "hall_id": "tianhe", "kind": "rating_terminal"}),
            "device_window_invalid",
        ),
        (
            json!({"name": "x", "hall_id": "tianhe", "kind": "check_in", "window_number": 1}),
            "device_window_invalid",
        ),
        (
            json!({"name": "x", "hall_id": "tianhe", "kind": "qtt", "window_number": 998}),
            "device_window_invalid",
        ),
        (
            json!({"name": "x", "hall_id": "tianhe-tiyu-24h", "kind": "rating_terminal", "window_number": 1}),
            "device_window_invalid",
        ),
    ] {
        let (s, v) = h
            .call(
                "POST",
                "/api/v1/admin/devices",
                Some(body.clone()),
                &admin.headers(),
            )
            .await;
        assert_eq!((s, code_of(&v)), (StatusCode::BAD_REQUEST, code), "{body}");
    }
    // A 办证易 at a round-the-clock point; its applications' channel is its own.
    let (s, v) = h
        .call(
            "POST",
            "/api/v1/admin/devices",
            Some(json!({"name": "办证易 2", "hall_id": "tianhe-tiyu-24h", "kind": "bzy"})),
            &admin.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, me) = as_device(
        &h,
        "GET",
        "/api/v1/kiosk/me",
        None,
        v["token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(me["kind"], "bzy");
    assert_eq!(me["hall_id"], "tianhe-tiyu-24h");
    // The point has no windows, no seats, and is open all day every day.
    let (_, site) = h.get("/api/v1/halls/tianhe-tiyu-24h").await;
    assert_eq!(site["kind"], "self_service", "{site}");
    let (_, avail) = h
        .get("/api/v1/availability?business=hkm_endorsement_g&halls=tianhe-tiyu-24h&from=2026-12-01&to=2026-12-04")
        .await;
    assert!(
        avail["slots"].as_array().is_none_or(|s| s.is_empty()),
        "{avail}"
    );
}

both_dialects!(pairing_gives_a_fresh_token_once, pairing);
async fn pairing(store: DynStore) {
    let h = Harness::new(store).await;
    let admin = h.sign_in_as("admin").await;
    let (_, dev) = h
        .call(
            "POST",
            "/api/v1/admin/devices",
            Some(json!({"name": "签到机 7", "hall_id": "tianhe", "kind": "check_in"})),
            &admin.headers(),
        )
        .await;
    let id = dev["id"].as_i64().unwrap();
    let first_token = dev["token"].as_str().unwrap().to_string();

    let (s, p) = h.post("/api/v1/device/pairings", json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let code = p["code"].as_str().unwrap().to_string();
    let secret = p["secret"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 8);
    let (s, w) = h
        .post("/api/v1/device/pairings/poll", json!({ "secret": secret }))
        .await;
    assert_eq!((s, w["status"].as_str()), (StatusCode::OK, Some("waiting")));
    assert!(w.get("token").is_none());

    // A wrong code is refused; the right one, written loosely, is taken.
    let pair = format!("/api/v1/admin/devices/{id}/pair");
    let (s, v) = h
        .call(
            "POST",
            &pair,
            Some(json!({"code": "ACDEFGHJ"})),
            &admin.headers(),
        )
        .await;
    assert_eq!((s, code_of(&v)), (StatusCode::NOT_FOUND, "pairing_unknown"));
    let loose = format!("{}-{}", code[..4].to_lowercase(), &code[4..]);
    let (s, v) = h
        .call(
            "POST",
            &pair,
            Some(json!({ "code": loose })),
            &admin.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    // The same code again is no longer a live pairing to confirm.
    let (s, _) = h
        .call(
            "POST",
            &pair,
            Some(json!({ "code": code })),
            &admin.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (s, got) = h
        .post("/api/v1/device/pairings/poll", json!({ "secret": secret }))
        .await;
    assert_eq!(
        (s, got["status"].as_str()),
        (StatusCode::OK, Some("paired")),
        "{got}"
    );
    let token = got["token"].as_str().unwrap().to_string();
    assert_eq!(got["device"]["id"].as_i64(), Some(id));
    // Taken once.
    let (s, v) = h
        .post("/api/v1/device/pairings/poll", json!({ "secret": secret }))
        .await;
    assert_eq!((s, code_of(&v)), (StatusCode::NOT_FOUND, "pairing_unknown"));
    // The new token works, the one from registration no longer does.
    let (s, me) = as_device(&h, "GET", "/api/v1/kiosk/me", None, &token).await;
    assert_eq!((s, me["kind"].as_str()), (StatusCode::OK, Some("check_in")));
    let (s, v) = as_device(&h, "GET", "/api/v1/kiosk/me", None, &first_token).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNAUTHORIZED, "device_token_invalid")
    );
    // Audited.
    let (_, trail) = h
        .call("GET", "/api/v1/audit?limit=20", None, &admin.headers())
        .await;
    assert!(
        trail
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "device.pair"),
        "{trail}"
    );

    // Revocation takes effect at once; a revoked device cannot be paired again.
    let (s, _) = h
        .call(
            "POST",
            &format!("/api/v1/admin/devices/{id}/revoke"),
            None,
            &admin.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = as_device(&h, "GET", "/api/v1/kiosk/me", None, &token).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (_, p2) = h.post("/api/v1/device/pairings", json!({})).await;
    let (s, v) = h
        .call(
            "POST",
            &pair,
            Some(json!({ "code": p2["code"] })),
            &admin.headers(),
        )
        .await;
    assert_eq!((s, code_of(&v)), (StatusCode::CONFLICT, "device_revoked"));

    // Wrong codes are throttled per administrator: the code proves presence at the kiosk.
    let other = h.sign_in_as("admin").await;
    let (_, dev2) = h
        .call(
            "POST",
            "/api/v1/admin/devices",
            Some(json!({"name": "签到机 8", "hall_id": "tianhe", "kind": "check_in"})),
            &other.headers(),
        )
        .await;
    let pair2 = format!("/api/v1/admin/devices/{}/pair", dev2["id"]);
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let (s, v) = h
            .call(
                "POST",
                &pair2,
                Some(json!({"code": "ACDEFGHJ"})),
                &other.headers(),
            )
            .await;
        statuses.push((s, code_of(&v).to_string()));
    }
    assert!(
        statuses[..5]
            .iter()
            .all(|(s, _)| *s == StatusCode::NOT_FOUND),
        "{statuses:?}"
    );
    assert_eq!(
        statuses[6],
        (
            StatusCode::TOO_MANY_REQUESTS,
            "pairing_throttled".to_string()
        )
    );
}

/// A paired-by-token device of `kind` in tianhe, and a leader of the hall and an administrator
/// to be paged.
async fn setup(h: &Harness, kind: &str) -> (String, i64, String, String, super::staff::Session) {
    let leader = h.create_account("leader@tianhe").await;
    let admin_user = h.create_account("admin").await;
    let admin = h.session_of(&admin_user).await;
    let (_, dev) = h
        .call(
            "POST",
            "/api/v1/admin/devices",
            Some(json!({"name": "北门机", "hall_id": "tianhe", "kind": kind})),
            &admin.headers(),
        )
        .await;
    (
        dev["token"].as_str().unwrap().to_string(),
        dev["id"].as_i64().unwrap(),
        leader,
        admin_user,
        admin,
    )
}

both_dialects!(a_reported_fault_raises_once_and_clears, fault);
async fn fault(store: DynStore) {
    let h = Harness::new(store).await;
    let (token, id, leader, _, admin) = setup(&h, "qzj").await;
    let (s, v) = heartbeat(&h, &token, json!({"printer": "paper_out", "locker": "ok"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["raised"], json!(["fault:printer"]));
    // Reported again: still one alert, one text.
    let (_, v) = heartbeat(&h, &token, json!({"printer": "paper_out", "locker": "ok"})).await;
    assert_eq!(v["raised"], json!([]));
    let texts = texts_of(&h, &leader).await;
    assert_eq!(
        texts.iter().filter(|t| t.contains("打印机缺纸")).count(),
        1,
        "{texts:?}"
    );
    let d = monitored(&h, &admin, "devices", "id", &json!(id)).await;
    assert_eq!(d["online"], true);
    assert_eq!(d["faults"], json!(["fault:printer"]));
    assert_eq!(d["peripherals"]["printer"], "paper_out");
    // Paper refilled: the device's own heartbeat clears it, recorded and audited.
    let (_, v) = heartbeat(&h, &token, json!({"printer": "ok", "locker": "ok"})).await;
    assert_eq!(v["cleared"], json!(["fault:printer"]));
    let a = monitored(&h, &admin, "alerts", "device_id", &json!(id)).await;
    assert_eq!(a["cleared_by"], json!(format!("device:{id}")));
    let clear = format!("/api/v1/monitoring/alerts/{}/clear", a["id"]);
    let (s, v) = h
        .call(
            "POST",
            &clear,
            Some(json!({"note": "已加纸"})),
            &admin.headers(),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "device_alert_cleared")
    );
    // A jammed locker cleared by staff with a note.
    let (_, v) = heartbeat(&h, &token, json!({"locker": "jam"})).await;
    assert_eq!(v["raised"], json!(["fault:locker"]));
    let jam = monitored(&h, &admin, "alerts", "reason", &json!("fault:locker")).await["id"].clone();
    let (s, _) = h
        .call(
            "POST",
            &format!("/api/v1/monitoring/alerts/{jam}/clear"),
            Some(json!({"note": "已到场处理"})),
            &admin.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, trail) = h
        .call("GET", "/api/v1/audit?limit=50", None, &admin.headers())
        .await;
    let actions: Vec<&str> = trail
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"device_alert.clear") && actions.contains(&"device.status"),
        "{actions:?}"
    );
    // Bad heartbeats are refused with their code; staff cannot send one.
    let (s, v) = heartbeat(&h, &token, json!({"toaster": "ok"})).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::BAD_REQUEST, "heartbeat_invalid")
    );
    let (s, v) = heartbeat(&h, &token, json!({"printer": "on_fire"})).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::BAD_REQUEST, "heartbeat_invalid")
    );
    let (s, _) = h
        .call(
            "POST",
            "/api/v1/device/heartbeat",
            Some(json!({ "peripherals": {} })),
            &admin.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

both_dialects!(
    a_silent_device_raises_its_alert_once_and_it_escalates,
    silence
);
async fn silence(store: DynStore) {
    let h = Harness::new(store).await;
    let (token, id, leader, admin_user, admin) = setup(&h, "bzy").await;
    revoke_all_but(&h, &admin, &[id]).await;
    let (s, _) = heartbeat(&h, &token, json!({"id_reader": "ok"})).await;
    assert_eq!(s, StatusCode::OK);
    // Within the threshold: nothing.
    h.app.clock.advance(TimeDelta::minutes(4));
    assert_eq!(h.app.watch_devices().await.unwrap().silent, 0);
    // Past it: the alert, once.
    h.app.clock.advance(TimeDelta::minutes(2));
    assert_eq!(h.app.watch_devices().await.unwrap().silent, 1);
    assert_eq!(
        h.app.watch_devices().await.unwrap().silent,
        0,
        "raised once"
    );
    let texts = texts_of(&h, &leader).await;
    assert_eq!(
        texts.iter().filter(|t| t.contains("无心跳")).count(),
        1,
        "{texts:?}"
    );
    let d = monitored(&h, &admin, "devices", "id", &json!(id)).await;
    assert_eq!(
        (d["online"].clone(), d["faults"].clone()),
        (json!(false), json!(["silent"]))
    );
    // Nobody cleared it within the escalation delay: escalated once, to the administrators.
    h.app.clock.advance(TimeDelta::minutes(11));
    let r = h.app.watch_devices().await.unwrap();
    assert_eq!(r.escalated, 1);
    assert_eq!(
        h.app.watch_devices().await.unwrap().escalated,
        0,
        "escalated once"
    );
    let texts = texts_of(&h, &admin_user).await;
    assert_eq!(
        texts.iter().filter(|t| t.contains("升级设备提醒")).count(),
        1,
        "{texts:?}"
    );
    // The device comes back: its heartbeat clears the silence.
    let (_, v) = heartbeat(&h, &token, json!({"id_reader": "ok"})).await;
    assert_eq!(v["cleared"], json!(["silent"]));
    assert_eq!(h.app.watch_devices().await.unwrap(), Default::default());
}

/// Revokes every device but `keep`: the demo's machines are registered and never heard, so
/// they would be silent too; a test watches its own devices only.
async fn revoke_all_but(h: &Harness, admin: &super::staff::Session, keep: &[i64]) {
    for d in h.store.devices().await.unwrap() {
        if keep.contains(&d.id) || d.revoked_at.is_some() {
            continue;
        }
        let (s, _) = h
            .call(
                "POST",
                &format!("/api/v1/admin/devices/{}/revoke", d.id),
                None,
                &admin.headers(),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
    }
}

both_dialects!(
    a_device_never_heard_is_silent_from_its_pairing_or_registration,
    never_heard
);
async fn never_heard(store: DynStore) {
    let h = Harness::new(store).await;
    // Registered now, never installed: silent from its registration.
    let (token, id, leader, _, admin) = setup(&h, "bzy").await;
    // Registered now too, but paired four minutes later: silent from its pairing.
    let (_, other) = h
        .call(
            "POST",
            "/api/v1/admin/devices",
            Some(json!({"name": "南门机", "hall_id": "tianhe", "kind": "wej"})),
            &admin.headers(),
        )
        .await;
    let paired = other["id"].as_i64().unwrap();
    revoke_all_but(&h, &admin, &[id, paired]).await;
    h.app.clock.advance(TimeDelta::minutes(4));
    assert_eq!(h.app.watch_devices().await.unwrap().silent, 0);
    let (_, p) = h.post("/api/v1/device/pairings", json!({})).await;
    let admin = h.sign_in_as("admin").await;
    let (s, _) = h
        .call(
            "POST",
            &format!("/api/v1/admin/devices/{paired}/pair"),
            Some(json!({ "code": p["code"] })),
            &admin.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, got) = h
        .post(
            "/api/v1/device/pairings/poll",
            json!({ "secret": p["secret"] }),
        )
        .await;
    assert_eq!(got["status"], "paired", "{got}");

    // Six minutes after registration: the one never paired is silent, once.
    h.app.clock.advance(TimeDelta::minutes(2));
    assert_eq!(h.app.watch_devices().await.unwrap().silent, 1);
    assert_eq!(
        h.app.watch_devices().await.unwrap().silent,
        0,
        "raised once"
    );
    let texts = texts_of(&h, &leader).await;
    assert_eq!(
        texts.iter().filter(|t| t.contains("无心跳")).count(),
        1,
        "{texts:?}"
    );
    let admin = h.sign_in_as("admin").await;
    let d = monitored(&h, &admin, "devices", "id", &json!(id)).await;
    assert_eq!(
        (d["online"].clone(), d["faults"].clone()),
        (json!(false), json!(["silent"]))
    );
    let d = monitored(&h, &admin, "devices", "id", &json!(paired)).await;
    assert_eq!(d["faults"], json!([]), "paired two minutes ago: {d}");
    // Six minutes after its pairing, still never heard: the paired one too.
    h.app.clock.advance(TimeDelta::minutes(4));
    assert_eq!(h.app.watch_devices().await.unwrap().silent, 1);
    // The first machine is installed at last: its first heartbeat clears its silence.
    let (_, v) = heartbeat(&h, &token, json!({"id_reader": "ok"})).await;
    assert_eq!(v["cleared"], json!(["silent"]));
}

both_dialects!(uses_are_counted_per_day_device_and_mode, usage);
async fn usage(store: DynStore) {
    let h = Harness::new(store).await;
    let (_, id, _, _, _) = setup(&h, "check_in").await;
    let day = h.app.clock.today();
    for mode in ["check_in", "check_in", "rate"] {
        h.store
            .device_step(
                &DeviceStep::Usage {
                    device_id: id,
                    day,
                    mode: mode.into(),
                },
                h.app.clock.now(),
                &[],
            )
            .await
            .unwrap();
    }
    let admin = h.admin_principal().await;
    let mut u: Vec<(String, u32)> = h
        .app
        .device_usage(&admin, day, day)
        .await
        .unwrap()
        .into_iter()
        .filter(|u| u.device_id == id)
        .map(|u| (u.mode, u.uses))
        .collect();
    u.sort();
    assert_eq!(u, [("check_in".into(), 2), ("rate".into(), 1)]);
}
