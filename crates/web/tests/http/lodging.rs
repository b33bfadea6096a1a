//! Temporary accommodation registration over HTTP (issue 14 §3), on SQLite and PostgreSQL: a
//! hotel registers through its API once per guest stay however often (and however
//! concurrently) it posts; a batch keeps its good items; the police station's worklist marks
//! late (and warning-only), overstaying, duplicate and departed stays, only for its own area,
//! and every view and export is audited; a hotel reaches only its own stays; a private host's
//! registration is verified or queried by the station and its status needs the code
//! (throttled); the retention sweep anonymises old registrations.

use super::staff::Session;
use super::{code_of, Harness};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use wujing_store::{AuditQuery, DynStore};
use wujing_testkit::both_dialects;

const JIEKOU_INN: &str = "wjhotel_demo_jiekou_inn_token";
const LIUXI: &str = "wjhotel_demo_liuxi_river_token";
const XINTANG: &str = "wjhotel_demo_xintang_token";
const STATION: &str = "conghua-jiekou-ps";
const OTHER_STATION: &str = "zengcheng-xintang-ps";

fn guest(number: &str, stay_until: &str) -> Value {
    json!({
        "surname": "ERIKSSON", "given_names": "ANNA MARIA", "sex": "F",
        "birth_date": "1974-08-12", "nationality": "SWE",
        "document_kind": "passport", "document_number": number,
        "visa_kind": "L", "stay_until": stay_until
    })
}

fn stay_at(stay_id: &str, number: &str, check_in: DateTime<Utc>, until: &str) -> Value {
    json!({
        "stay_id": stay_id,
        "guest": guest(number, until),
        "stay": { "check_in": check_in.to_rfc3339(), "room": "301" }
    })
}

async fn as_hotel(
    h: &Harness,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let auth = format!("Bearer {token}");
    h.call(method, path, body, &[("authorization", auth.as_str())])
        .await
}

async fn register(h: &Harness, token: &str, body: Value) -> (StatusCode, Value) {
    as_hotel(
        h,
        token,
        "POST",
        "/api/v1/lodging/registrations",
        Some(body),
    )
    .await
}

fn now(h: &Harness) -> DateTime<Utc> {
    h.app.clock.now()
}

async fn worklist(h: &Harness, who: &Session, station: &str, view: &str) -> (StatusCode, Value) {
    h.call(
        "GET",
        &format!("/api/v1/lodging/worklist?station={station}&view={view}"),
        None,
        &who.headers(),
    )
    .await
}

async fn audited(h: &Harness, action: &str) -> usize {
    h.store
        .audit_search(&AuditQuery {
            limit: 1000,
            ..AuditQuery::default()
        })
        .await
        .unwrap()
        .iter()
        .filter(|e| e.action == action)
        .count()
}

async fn idempotent(store: DynStore) {
    let h = Harness::new(store).await;
    let t = now(&h) - Duration::hours(2);
    let body = stay_at("PMS-1001", "L898902C3", t, "2027-01-31");
    let (s, first) = register(&h, JIEKOU_INN, body.clone()).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    assert_eq!(first["lateness"], "on_time");
    assert_eq!(first["status"], "registered");
    // The same stay again: the same answer, and no second registration or audit entry.
    let entries = audited(&h, "lodging.register").await;
    let (s, again) = register(&h, JIEKOU_INN, body.clone()).await;
    assert_eq!((s, &again), (StatusCode::OK, &first));
    assert_eq!(audited(&h, "lodging.register").await, entries);
    // The same stay id with other content is a conflict, not an overwrite.
    let mut other = body.clone();
    other["guest"]["surname"] = json!("ANDERSSON");
    let (s, v) = register(&h, JIEKOU_INN, other).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "lodging_stay_conflict")
    );
    // Another hotel may use the same stay id for its own guest.
    let (s, v) = register(&h, LIUXI, stay_at("PMS-1001", "X1234567", t, "2027-01-31")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_ne!(v["reference"], first["reference"]);

    // Two simultaneous posts of one new stay: one registration, the same answer to both.
    let racing = stay_at("PMS-2002", "P7654321", t, "2027-01-31");
    let (a, b) = tokio::join!(
        register(&h, JIEKOU_INN, racing.clone()),
        register(&h, JIEKOU_INN, racing.clone())
    );
    assert_eq!(a.0, StatusCode::OK, "{}", a.1);
    assert_eq!(b.0, StatusCode::OK, "{}", b.1);
    assert_eq!(a.1, b.1);
    let officer = h.sign_in_as(&format!("officer@{STATION}")).await;
    let (s, w) = worklist(&h, &officer, STATION, "all").await;
    assert_eq!(s, StatusCode::OK, "{w}");
    let of_racing = w["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["reference"] == a.1["reference"])
        .count();
    assert_eq!(of_racing, 1);
    assert_eq!(w["counts"]["all"], 3);

    // Reading it back, and the check-out, once.
    let (s, v) = as_hotel(
        &h,
        JIEKOU_INN,
        "GET",
        "/api/v1/lodging/registrations/PMS-1001",
        None,
    )
    .await;
    assert_eq!((s, &v["reference"]), (StatusCode::OK, &first["reference"]));
    let (s, v) = as_hotel(
        &h,
        JIEKOU_INN,
        "POST",
        "/api/v1/lodging/registrations/PMS-1001/check-out",
        None,
    )
    .await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("checked_out")),
        "{v}"
    );
    let (s, v) = as_hotel(
        &h,
        JIEKOU_INN,
        "POST",
        "/api/v1/lodging/registrations/PMS-1001/check-out",
        None,
    )
    .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "lodging_checked_out")
    );
    // A wrong token is refused.
    let (s, v) = register(&h, "wjhotel_not_a_token", body).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNAUTHORIZED, "hotel_token_invalid")
    );
}

both_dialects!(
    a_hotel_registers_a_guest_stay_once_however_often_and_concurrently_it_posts,
    idempotent
);

async fn batch(store: DynStore) {
    let h = Harness::new(store).await;
    let t = now(&h) - Duration::hours(1);
    let mut bad = stay_at("B-2", "E1234567", t, "2027-01-31");
    bad["guest"]["nationality"] = json!("ZZZ");
    let (s, v) = as_hotel(
        &h,
        XINTANG,
        "POST",
        "/api/v1/lodging/registrations/batch",
        Some(json!({ "stays": [
            stay_at("B-1", "E7654321", t, "2027-01-31"),
            bad,
            { "stay_id": "B-3", "guest": 42 },
            stay_at("B-4", "E1111111", t, "2027-01-31"),
        ]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert!(items[0]["registration"]["reference"].is_string(), "{v}");
    assert_eq!(items[1]["error"]["code"], "lodging_invalid");
    assert_eq!(
        items[1]["error"]["details"]["problems"][0]["code"],
        "nationality_unknown"
    );
    assert_eq!(items[2]["error"]["code"], "body_invalid");
    assert_eq!(items[2]["stay_id"], "B-3");
    assert!(items[3]["registration"]["reference"].is_string());
    // The good ones are registered.
    let (s, _) = as_hotel(
        &h,
        XINTANG,
        "GET",
        "/api/v1/lodging/registrations/B-4",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = as_hotel(
        &h,
        XINTANG,
        "POST",
        "/api/v1/lodging/registrations/batch",
        Some(json!({"stays": []})),
    )
    .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::BAD_REQUEST, "lodging_batch_invalid")
    );
}

both_dialects!(
    a_batch_registers_its_good_items_and_answers_each_bad_one,
    batch
);

async fn station(store: DynStore) {
    let h = Harness::new(store).await;
    let n = now(&h);
    let today = (n + Duration::hours(8)).date_naive();
    let later = (today + Duration::days(60)).to_string();
    let ok = |r: (StatusCode, Value)| {
        assert_eq!(r.0, StatusCode::OK, "{}", r.1);
        r.1["reference"].as_str().unwrap().to_string()
    };
    let on_time = ok(register(
        &h,
        JIEKOU_INN,
        stay_at("S-1", "A1000001", n - Duration::hours(3), &later),
    )
    .await);
    let warning = ok(register(
        &h,
        JIEKOU_INN,
        stay_at("S-2", "A1000002", n - Duration::hours(30), &later),
    )
    .await);
    let late = ok(register(
        &h,
        JIEKOU_INN,
        stay_at("S-3", "A1000003", n - Duration::days(5), &later),
    )
    .await);
    // The visa allowed the stay until yesterday: an overstay.
    let yesterday = (today - Duration::days(1)).to_string();
    let overstay = ok(register(
        &h,
        JIEKOU_INN,
        stay_at("S-4", "A1000004", n - Duration::hours(20), &yesterday),
    )
    .await);
    // The same passport tonight at two hotels (one in another station's area).
    let dup = ok(register(
        &h,
        LIUXI,
        stay_at("S-5", "A1000005", n - Duration::hours(2), &later),
    )
    .await);
    ok(register(
        &h,
        XINTANG,
        stay_at("X-5", "a1000005", n - Duration::hours(1), &later),
    )
    .await);
    // A guest who left.
    ok(register(
        &h,
        JIEKOU_INN,
        stay_at("S-6", "A1000006", n - Duration::hours(10), &later),
    )
    .await);
    let (s, _) = as_hotel(
        &h,
        JIEKOU_INN,
        "POST",
        "/api/v1/lodging/registrations/S-6/check-out",
        Some(json!({})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);

    let officer = h.sign_in_as(&format!("officer@{STATION}")).await;
    let (s, w) = worklist(&h, &officer, STATION, "all").await;
    assert_eq!(s, StatusCode::OK, "{w}");
    let c = &w["counts"];
    assert_eq!(
        (
            c["all"].as_u64(),
            c["late"].as_u64(),
            c["warning_only"].as_u64()
        ),
        (Some(6), Some(2), Some(1)),
        "{c}"
    );
    assert_eq!(c["overstay"], 1);
    assert_eq!(c["duplicates"], 1);
    assert_eq!(c["departed"], 1);
    let find = |r: &str| {
        w["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["reference"] == r)
            .cloned()
            .unwrap()
    };
    assert_eq!(find(&on_time)["lateness"], "on_time");
    assert_eq!(find(&warning)["lateness"], "warning_only");
    assert_eq!(find(&late)["lateness"], "late");
    assert_eq!(find(&overstay)["overstay"], true);
    assert_eq!(find(&dup)["duplicates"], 1);
    // Masked on the list.
    assert_eq!(find(&on_time)["document"], "A1****01");
    assert!(!w.to_string().contains("ERIKSSON"));
    let (s, v) = worklist(&h, &officer, STATION, "late").await;
    assert_eq!(
        (s, v["items"].as_array().unwrap().len()),
        (StatusCode::OK, 2)
    );

    // Another station sees none of them, and cannot open this station's list or records.
    let other = h.sign_in_as(&format!("officer@{OTHER_STATION}")).await;
    let (s, v) = worklist(&h, &other, STATION, "all").await;
    assert_eq!((s, code_of(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = worklist(&h, &other, OTHER_STATION, "all").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["counts"]["all"], 1);
    assert!(!v.to_string().contains(&on_time));
    let id = find(&on_time)["id"].as_i64().unwrap();
    let (s, v) = h
        .call(
            "GET",
            &format!("/api/v1/lodging/worklist/{id}"),
            None,
            &other.headers(),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::NOT_FOUND, "lodging_not_found")
    );
    // The station's own officer reads the record in full.
    let (s, v) = h
        .call(
            "GET",
            &format!("/api/v1/lodging/worklist/{id}"),
            None,
            &officer.headers(),
        )
        .await;
    assert_eq!(
        (s, v["guest"]["surname"].as_str()),
        (StatusCode::OK, Some("ERIKSSON")),
        "{v}"
    );

    // Every view, read and export is in the audit trail.
    assert_eq!(audited(&h, "lodging.worklist_view").await, 3);
    assert_eq!(audited(&h, "lodging.read").await, 1);
    let read = h
        .store
        .audit_search(&AuditQuery {
            limit: 1000,
            ..AuditQuery::default()
        })
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.action == "lodging.read")
        .unwrap();
    assert!(
        read.citizen.is_some(),
        "a full read names the guest by blind key"
    );
    let res = h
        .call(
            "GET",
            &format!("/api/v1/lodging/worklist.csv?station={STATION}&view=all"),
            None,
            &officer.headers(),
        )
        .await;
    assert_eq!(res.0, StatusCode::OK);
    let csv = res.1.as_str().unwrap().to_string();
    assert_eq!(csv.lines().count(), 7, "{csv}");
    assert!(csv.contains(&late) && !csv.contains("ERIKSSON"));
    assert_eq!(audited(&h, "lodging.worklist_export").await, 1);
    // A hall manager of the station registers hotels but does not read the worklist.
    let manager = h.sign_in_as(&format!("hall_manager@{STATION}")).await;
    let (s, _) = worklist(&h, &manager, STATION, "all").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = h
        .post_as(
            &manager,
            "/api/v1/lodging/hotels",
            Some(json!({"station": STATION, "code": "new-inn", "name": "新客栈", "address": "街口街 9 号"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let token = v["token"].as_str().unwrap().to_string();
    let (s, v) = register(
        &h,
        &token,
        stay_at("N-1", "N1000001", n - Duration::hours(1), &later),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = h
        .post_as(
            &manager,
            "/api/v1/lodging/hotels",
            Some(json!({"station": OTHER_STATION, "code": "far-inn", "name": "远客栈", "address": "新塘"})),
        )
        .await;
    assert_eq!((s, code_of(&v)), (StatusCode::FORBIDDEN, "forbidden"));
}

both_dialects!(
    the_station_worklist_marks_late_overstaying_duplicate_and_departed_stays_of_its_area_only,
    station
);

async fn hotels_apart(store: DynStore) {
    let h = Harness::new(store).await;
    let t = now(&h) - Duration::hours(1);
    let (s, _) = register(
        &h,
        JIEKOU_INN,
        stay_at("MINE-1", "C1234567", t, "2027-01-31"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = as_hotel(
        &h,
        XINTANG,
        "GET",
        "/api/v1/lodging/registrations/MINE-1",
        None,
    )
    .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::NOT_FOUND, "lodging_not_found")
    );
    let (s, v) = as_hotel(
        &h,
        XINTANG,
        "POST",
        "/api/v1/lodging/registrations/MINE-1/check-out",
        None,
    )
    .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::NOT_FOUND, "lodging_not_found")
    );
    // A hotel's token opens nothing of the staff's.
    let (s, _) = as_hotel(
        &h,
        JIEKOU_INN,
        "GET",
        &format!("/api/v1/lodging/worklist?station={STATION}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

both_dialects!(
    a_hotel_cannot_read_or_check_out_another_hotels_stays,
    hotels_apart
);

fn host_body(h: &Harness) -> Value {
    json!({
        "station": STATION,
        "host": { "name": "张三", "id_number": "11010519491231002X", "phone": "13800138000",
                  "address": "广州市从化区街口街 1 号 302 房", "relationship": "friend" },
        "guest": guest("H1234567", "2027-01-31"),
        "stay": { "check_in": (now(h) - Duration::hours(4)).to_rfc3339() }
    })
}

async fn host(store: DynStore) {
    let h = Harness::new(store).await;
    let (s, r) = h.post("/api/v1/lodging/host", host_body(&h)).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let (reference, code) = (
        r["reference"].as_str().unwrap(),
        r["code"].as_str().unwrap(),
    );
    // The status needs the code; a wrong one and an unknown reference answer alike.
    let status = |code: String| {
        let h = &h;
        let reference = reference.to_string();
        async move {
            h.post(
                "/api/v1/lodging/host/status",
                json!({"reference": reference, "code": code}),
            )
            .await
        }
    };
    let (s, v) = status("00000000".into()).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::NOT_FOUND, "lodging_not_found")
    );
    let (s, v) = status(code.into()).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("pending")));
    // A bad host identity is refused with its reason.
    let mut bad = host_body(&h);
    bad["host"]["id_number"] = json!("110105194912310021");
    let (s, v) = h.post("/api/v1/lodging/host", bad).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "lodging_invalid")
    );
    assert_eq!(
        v["error"]["details"]["problems"][0]["field"],
        "host_id_number"
    );

    // The station queries it with a note, then accepts it.
    let officer = h.sign_in_as(&format!("officer@{STATION}")).await;
    let (s, w) = worklist(&h, &officer, STATION, "pending").await;
    assert_eq!(s, StatusCode::OK, "{w}");
    let id = w["items"][0]["id"].as_i64().unwrap();
    assert_eq!(w["counts"]["pending"], 1);
    let verify = |d: Value| {
        let (h, officer) = (&h, &officer);
        async move {
            h.post_as(
                officer,
                &format!("/api/v1/lodging/worklist/{id}/verify"),
                Some(d),
            )
            .await
        }
    };
    let (s, v) = verify(json!({"decision": "queried"})).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::BAD_REQUEST, "lodging_decision_invalid")
    );
    let (s, v) = verify(json!({"decision": "queried", "note": "请补充护照签证页"})).await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("queried")),
        "{v}"
    );
    let (_, v) = status(code.into()).await;
    assert_eq!(v["station_note"], "请补充护照签证页");
    // The host got the station's answer by text, in the decision's transaction.
    let texts = h.store.messages_to("13800138000", 10).await.unwrap();
    assert!(
        texts
            .iter()
            .any(|m| m.topic == "lodging_verification" && m.body.contains("请补充护照签证页")),
        "the query is texted to the host"
    );
    let (s, v) = verify(json!({"decision": "accepted"})).await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("accepted"))
    );
    let (s, v) = verify(json!({"decision": "accepted"})).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "lodging_not_pending")
    );
    assert_eq!(audited(&h, "lodging.verify").await, 2);
    // Another station cannot decide it.
    let other = h.sign_in_as(&format!("officer@{OTHER_STATION}")).await;
    let (s, _) = h
        .post_as(
            &other,
            &format!("/api/v1/lodging/worklist/{id}/verify"),
            Some(json!({"decision": "accepted"})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Guessing codes is throttled: past the limit even the right code is refused.
    let mut throttled = false;
    for _ in 0..30 {
        let (s, v) = status("12345678".into()).await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(code_of(&v), "proof_throttled");
            throttled = true;
            break;
        }
    }
    assert!(throttled, "the owner proof is throttled");
    let (s, _) = status(code.into()).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
}

both_dialects!(
    a_host_registration_is_queried_then_accepted_by_its_station_and_its_status_needs_the_throttled_code,
    host
);

async fn retention(store: DynStore) {
    let h = Harness::new(store).await;
    let t = now(&h) - Duration::hours(1);
    let (s, _) = register(&h, JIEKOU_INN, stay_at("R-1", "R1234567", t, "2027-01-31")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        h.app.sweep_lodging().await.unwrap(),
        0,
        "nothing is due yet"
    );
    h.app.clock.advance(Duration::days(366));
    assert_eq!(h.app.sweep_lodging().await.unwrap(), 1);
    assert_eq!(
        h.app.sweep_lodging().await.unwrap(),
        0,
        "a second pass finds nothing"
    );
    assert_eq!(audited(&h, "lodging.anonymise").await, 1);
    let r = h
        .store
        .registration(&wujing_store::RegistrationBy::Stay {
            hotel_id: h
                .store
                .hotel(wujing_store::HotelBy::Code("jiekou-inn"))
                .await
                .unwrap()
                .unwrap()
                .id,
            stay_id: "R-1".into(),
        })
        .await
        .unwrap()
        .unwrap();
    assert!(r.anonymised);
    assert_eq!(r.record, "");
    // The hotel's retry of the old stay still answers, without personal data.
    let (s, v) = as_hotel(
        &h,
        JIEKOU_INN,
        "GET",
        "/api/v1/lodging/registrations/R-1",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

both_dialects!(
    the_retention_sweep_anonymises_registrations_past_the_period,
    retention
);

async fn small_hotel_page(store: DynStore) {
    let h = Harness::new(store).await;
    h.app.set_demo_authority().await.unwrap();
    // Sign in with the demo hotel's code and password: the session cookie.
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/hotel/sign-in")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(
            "code=jiekou-inn&password=jiekou+demo+1",
        ))
        .unwrap();
    let res = h.raw(req).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let (s, page) = h
        .call("GET", "/hotel", None, &[("cookie", cookie.as_str())])
        .await;
    assert_eq!(s, StatusCode::OK);
    let page = page.as_str().unwrap().to_string();
    assert!(
        page.contains("广州市公安局出入境管理支队"),
        "a hotel's pages carry the authority's face too"
    );
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    // A form without the session's CSRF token is refused.
    let form = |body: String| {
        axum::http::Request::builder()
            .method("POST")
            .uri("/hotel")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", cookie.as_str())
            .body(axum::body::Body::from(body))
            .unwrap()
    };
    let res = h.raw(form("csrf=wrong&action=prefill".into())).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // The pasted MRZ fills the form in.
    let mrz = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10";
    let body = format!(
        "csrf={csrf}&action=prefill&mrz={}",
        mrz.replace('<', "%3C").replace('\n', "%0A")
    );
    let res = h.raw(form(body)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = String::from_utf8(
        http_body_util::BodyExt::collect(res.into_body())
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    assert!(html.contains("value=\"ERIKSSON\""), "prefilled");
    assert!(html.contains("value=\"L898902C3\""));
}

both_dialects!(
    the_small_hotel_page_signs_in_and_prefills_from_a_pasted_mrz,
    small_hotel_page
);

/// A copy of the database shows no guest's or host's name, document number, resident ID,
/// phone or address in clear; the station still reads them through the keys.
async fn sealed_at_rest(store: DynStore, url: &str) {
    let h = Harness::new(store).await;
    let t = now(&h) - Duration::hours(1);
    let mut body = stay_at("SEAL-1", "Q9876543", t, "2027-01-31");
    body["guest"]["surname"] = json!("VANDERBILT");
    let (s, _) = register(&h, JIEKOU_INN, body).await;
    assert_eq!(s, StatusCode::OK);
    let (s, r) = h.post("/api/v1/lodging/host", host_body(&h)).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let dump = wujing_testkit::raw_dump(url).await;
    assert!(dump.contains("SEAL-1"), "the dump reads the tables");
    for secret in [
        "VANDERBILT",
        "Q9876543",
        "H1234567",
        "11010519491231002X",
        "张三",
        "13800138000",
        "302 房",
        "1974-08-12",
    ] {
        assert!(
            !dump.contains(secret),
            "{secret} is in clear in the database"
        );
    }
    let officer = h.sign_in_as(&format!("officer@{STATION}")).await;
    let (_, w) = worklist(&h, &officer, STATION, "all").await;
    let id = w["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["source"] == "hotel")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (s, v) = h
        .call(
            "GET",
            &format!("/api/v1/lodging/worklist/{id}"),
            None,
            &officer.headers(),
        )
        .await;
    assert_eq!(
        (s, v["guest"]["surname"].as_str()),
        (StatusCode::OK, Some("VANDERBILT"))
    );
}

#[tokio::test]
async fn registrations_are_sealed_at_rest_on_sqlite() {
    let t = wujing_testkit::TempSqlite::new();
    let store = wujing_testkit::open(&t.url()).await.unwrap();
    store.migrate().await.unwrap();
    sealed_at_rest(store, &t.url()).await;
}

#[tokio::test]
async fn registrations_are_sealed_at_rest_on_postgres() {
    let Some(url) = wujing_testkit::fresh_pg_database().await else {
        return;
    };
    let store = wujing_testkit::open(&url).await.unwrap();
    store.migrate().await.unwrap();
    sealed_at_rest(store, &url).await;
}
