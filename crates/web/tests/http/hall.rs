//! Hall operations through the API: check-in rules, the counter's calls and actions, the fee at
//! the window with its receipt, the reconciliation, and the console page.

use super::staff::Session;
use super::{applicant, code_of, Harness};
use axum::http::StatusCode;
use serde_json::{json, Value};
use wujing_store::DynStore;
use wujing_testkit::both_dialects;

const CHEN: &str = "440106198503030116";

/// A walk-in ticket waiting at tianhe today, issued straight into the store.
async fn waiting_ticket(h: &Harness) {
    h.store
        .issue_ticket(&wujing_store::NewTicket {
            hall_id: "tianhe".into(),
            day: h.app.clock.today(),
            queue: "A".into(),
            booking_id: None,
            booking_slot_id: None,
            business: "passport_first".into(),
            identity_key: "CHN:440112200001010139".into(),
            kind: "walk_in".into(),
            channel: "counter".into(),
            priority: 0,
            due_at: h.app.clock.now(),
            now: h.app.clock.now(),
        })
        .await
        .unwrap();
}

/// The number of tianhe's first general window.
pub(crate) async fn general_window(h: &Harness) -> u32 {
    h.store
        .windows("tianhe")
        .await
        .unwrap()
        .into_iter()
        .find(|w| w.kind == "general")
        .unwrap()
        .number
}

/// 陈晓明's passport renewal (pages full) at tianhe on the first bookable day: its code.
async fn book_chen_renewal(h: &Harness) -> String {
    let slot = h.slot("tianhe", "passport_renewal").await;
    let (_, hold) = h
        .post(
            "/api/v1/holds",
            json!({"slot_id": slot["slot_id"], "business": "passport_renewal"}),
        )
        .await;
    let (s, b) = h
        .post("/api/v1/bookings", json!({"hold_id": hold["hold_id"], "applicant": applicant(CHEN, "陈晓明"), "answers": {"renewal_reason": "pages_full"}}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let code = b["code"].as_str().unwrap().to_string();
    code
}

async fn counter_day(store: DynStore) {
    let h = Harness::new(store).await;
    // A booking at tianhe on the first bookable day, then the clock to 30 minutes before it.
    let code = book_chen_renewal(&h).await;
    let early: Session = h.sign_in_as("officer@tianhe").await;
    let (s, v) = h
        .call(
            "POST",
            "/api/v1/halls/tianhe/checkins",
            Some(json!({"code": code, "id_number": CHEN})),
            &early.headers(),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "checkin_too_early"),
        "{v}"
    );
    let starts: chrono::DateTime<chrono::Utc> = {
        let b = h.store.booking_by_code(&code).await.unwrap().unwrap();
        b.slot.starts_at
    };
    let now = h.app.clock.now();
    h.app
        .clock
        .advance(starts - now - chrono::TimeDelta::minutes(30));
    // A new day at the hall: the officer signs in again.
    let officer: Session = h.sign_in_as("officer@tianhe").await;
    let checkin = |id: &'static str, hall: &'static str| {
        let (h, officer, code) = (&h, &officer, code.clone());
        async move {
            h.call(
                "POST",
                &format!("/api/v1/halls/{hall}/checkins"),
                Some(json!({"code": code, "id_number": id})),
                &officer.headers(),
            )
            .await
        }
    };
    let (s, v) = checkin("440106198503030124", "tianhe").await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::NOT_FOUND, "booking_not_found"),
        "another identity cannot use it"
    );
    // The kiosk screen refuses another identity and tells why.
    {
        use http_body_util::BodyExt;
        let admin = h.sign_in_as("admin").await;
        let (_, dev) = h
            .call(
                "POST",
                "/api/v1/admin/devices",
                Some(json!({"name": "签到机", "hall_id": "tianhe", "kind": "check_in"})),
                &admin.headers(),
            )
            .await;
        let res = h
            .raw(
                axum::http::Request::post("/kiosk")
                    .header(
                        "authorization",
                        format!("Bearer {}", dev["token"].as_str().unwrap()),
                    )
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(axum::body::Body::from(format!(
                        "code={code}&id_number=440106198503030124"
                    )))
                    .unwrap(),
            )
            .await;
        let html = String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec())
            .unwrap();
        assert!(html.contains("没有找到该预约"), "{html}");
    }
    // At reception, by the identity number alone.
    let (s, v) = h
        .call(
            "POST",
            "/api/v1/halls/tianhe/checkins",
            Some(json!({"id_number": CHEN})),
            &officer.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["label"], "A001");
    let (s, v) = checkin(CHEN, "tianhe").await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "already_checked_in")
    );
    let ticket = h
        .store
        .tickets_of_day("tianhe", h.app.clock.today())
        .await
        .unwrap()
        .remove(0);

    // Call, start, take the fee, finish.
    let window = general_window(&h).await;
    let base = format!("/api/v1/halls/tianhe/windows/{window}");
    let (s, called) = h
        .call("POST", &format!("{base}/call"), None, &officer.headers())
        .await;
    assert_eq!(
        (s, called["label"].as_str()),
        (StatusCode::OK, Some("A001")),
        "{called}"
    );
    let (s, _) = h
        .call("POST", &format!("{base}/call"), None, &officer.headers())
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "nobody else waits");
    let act = |a: Value| {
        let (h, officer, base) = (&h, &officer, base.clone());
        async move {
            h.call(
                "POST",
                &format!("{base}/tickets/{}/action", ticket.id),
                Some(a),
                &officer.headers(),
            )
            .await
        }
    };
    let (s, v) = h
        .call(
            "POST",
            &format!("{base}/tickets/{}/fee", ticket.id),
            Some(json!({"method": "card", "reference": "T-1"})),
            &officer.headers(),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "ticket_state"),
        "no fee before the start"
    );
    let (s, v) = act(json!("start")).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("serving")));
    let (s, v) = h
        .call(
            "POST",
            &format!("{base}/tickets/{}/fee", ticket.id),
            Some(json!({"method": "card", "reference": ""})),
            &officer.headers(),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::BAD_REQUEST, "reference_required")
    );
    let (s, pay) = h
        .call(
            "POST",
            &format!("{base}/tickets/{}/fee", ticket.id),
            Some(json!({"method": "card", "reference": "T-1"})),
            &officer.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{pay}");
    assert_eq!(pay["amount_yuan"], 120, "the renewal fee from the schedule");
    let (s, v) = h
        .call(
            "POST",
            &format!("{base}/tickets/{}/fee", ticket.id),
            Some(json!({"method": "cash", "reference": ""})),
            &officer.headers(),
        )
        .await;
    assert_eq!((s, code_of(&v)), (StatusCode::CONFLICT, "already_paid"));
    let (s, v) = act(json!("finish")).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("done")));
    let (s, v) = act(json!("finish")).await;
    assert_eq!((s, code_of(&v)), (StatusCode::CONFLICT, "ticket_state"));

    // The leader reconciles; the payment is in the audit trail.
    let leader = h.sign_in_as("leader").await;
    let (s, r) = h
        .call(
            "GET",
            "/api/v1/halls/tianhe/reconciliation",
            None,
            &leader.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        r,
        json!([{"window_number": window, "method": "card", "count": 1, "sum_yuan": 120}])
    );
    let sup = h.sign_in_as("supervisor").await;
    let (_, trail) = h
        .call(
            "GET",
            &format!("/api/v1/audit?citizen={CHEN}"),
            None,
            &sup.headers(),
        )
        .await;
    let actions: Vec<&str> = trail
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    // Every counter step that touched Chen is in the trail (finding 13).
    assert_eq!(
        actions,
        [
            "ticket.finish",
            "payment.record",
            "ticket.start",
            "ticket.call",
            "ticket.check_in"
        ]
    );

    // The console page shows the window.
    let res = h
        .raw(
            axum::http::Request::get(format!("/staff/counter/tianhe/{window}"))
                .header("cookie", &officer.cookie)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}
both_dialects!(counter, counter_day);

/// "Unsatisfied" at the rating terminal: one alert, one text to each leader and supervisor of
/// the hall through a gateway that fails for a while, escalation when nobody acknowledges, and
/// the acknowledgement.
async fn unsatisfied_pages_leaders(store: DynStore) {
    use super::outbox::{start_gateway, Gateway};
    use std::sync::{Arc, Mutex};
    let g = Arc::new(Mutex::new(Gateway {
        down_for: 5,
        ..Default::default()
    }));
    let url = start_gateway(g.clone(), None).await;
    let sms = super::outbox::gateway(&url, None);
    let h = super::outbox::harness(store, super::test_config(), Some(sms), None).await;
    let leader = h.sign_in_as("leader").await; // org-wide: paged
    let _other_hall = h.create_account("supervisor").await; // org-wide: paged
    let _admin = h.create_account("admin").await; // only for escalations
    let officer = h.sign_in_as("officer@tianhe").await;
    let admin = h.sign_in_as("admin").await;
    let window = general_window(&h).await;
    let (_, kiosk) = h
        .call(
            "POST",
            "/api/v1/admin/devices",
            Some(json!({"name": "评价器1", "hall_id": "tianhe", "kind": "rating_terminal", "window_number": window})),
            &admin.headers(),
        )
        .await;
    let device = [(
        "authorization",
        format!("Bearer {}", kiosk["token"].as_str().unwrap()),
    )];
    let device: Vec<(&str, &str)> = device.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // A booked citizen's ticket served at a window.
    let code = h.book_at("tianhe", "440112200001010139").await;
    let booking = h.store.booking_by_code(&code).await.unwrap().unwrap();
    h.store
        .issue_ticket(&wujing_store::NewTicket {
            hall_id: "tianhe".into(),
            day: h.app.clock.today(),
            queue: "A".into(),
            booking_id: Some(booking.id),
            booking_slot_id: Some(booking.slot.id),
            business: "passport_first".into(),
            identity_key: booking.identity_key.clone(),
            kind: "appointment".into(),
            channel: "counter".into(),
            priority: 0,
            due_at: h.app.clock.now(),
            now: h.app.clock.now(),
        })
        .await
        .unwrap();
    let base = format!("/api/v1/halls/tianhe/windows/{window}");
    serve_next(&h, &base, &officer).await;
    let rating = format!("{base}/rating");
    let (s, v) = h
        .call("POST", &rating, Some(json!({"score": "great"})), &device)
        .await;
    assert_eq!((s, code_of(&v)), (StatusCode::BAD_REQUEST, "score_invalid"));
    let (s, v) = h
        .call(
            "POST",
            &rating,
            Some(json!({"score": "unsatisfied", "reasons": ["slow"]})),
            &device,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let alert_id = v["alert"]["id"].as_i64().unwrap();
    let (s, v) = h
        .call(
            "POST",
            &rating,
            Some(json!({"score": "satisfied"})),
            &device,
        )
        .await;
    assert_eq!((s, code_of(&v)), (StatusCode::CONFLICT, "already_rated"));

    // Delivered once to each recipient although the gateway was down at first.
    for _ in 0..20 {
        h.app.deliver_due().await.unwrap();
        h.app.clock.advance(chrono::TimeDelta::seconds(20));
    }
    let pages: Vec<Value> = g.lock().unwrap().accepted.values().cloned().collect();
    let alert_pages: Vec<&Value> = pages.iter().filter(|m| m["topic"] == "alert").collect();
    assert_eq!(
        alert_pages.len(),
        2,
        "the org-wide leader and supervisor: {pages:?}"
    );
    assert!(alert_pages
        .iter()
        .all(|m| m["text"].as_str().unwrap().contains("不满意")));

    // Nobody acknowledged within ten minutes (the clock moved ~6 min): escalate once more time on.
    h.app.clock.advance(chrono::TimeDelta::minutes(5));
    assert_eq!(h.app.escalate_alerts().await.unwrap(), 1);
    assert_eq!(h.app.escalate_alerts().await.unwrap(), 0, "escalated once");
    for _ in 0..3 {
        h.app.deliver_due().await.unwrap();
    }
    let escalations = g
        .lock()
        .unwrap()
        .accepted
        .keys()
        .filter(|k| k.starts_with("escalate:"))
        .count();
    assert_eq!(escalations, 4, "leader, supervisor and both administrators");

    // The leader sees and acknowledges it; a second acknowledgement is refused.
    let leader = {
        let _ = &leader;
        h.sign_in_as("leader").await
    };
    let (_, list) = h
        .call("GET", "/api/v1/alerts", None, &leader.headers())
        .await;
    assert_eq!(list[0]["id"].as_i64(), Some(alert_id));
    // The alerts page names the business and the applicant, masked, to those who may see
    // alerts only.
    let page = |who: &Session| {
        let req = axum::http::Request::get("/staff/alerts")
            .header("cookie", &who.cookie)
            .body(axum::body::Body::empty())
            .unwrap();
        let h = &h;
        async move {
            use http_body_util::BodyExt;
            let res = h.raw(req).await;
            let status = res.status();
            let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
            (status, String::from_utf8(body).unwrap())
        }
    };
    assert_eq!(page(&officer).await.0, StatusCode::FORBIDDEN);
    let (s, html) = page(&leader).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("首次申请普通护照") && html.contains("44**************39"),
        "{html}"
    );
    assert!(!html.contains("440112200001010139"), "{html}");
    let name = wujing_domain::text::mask_person_name(&booking.name);
    assert!(name.contains('*') && html.contains(&name), "{name}: {html}");
    assert!(!html.contains(&booking.name), "the name in full");
    let ack = format!("/api/v1/alerts/{alert_id}/ack");
    let (s, _) = h
        .call(
            "POST",
            &ack,
            Some(json!({"outcome": "到窗口向市民致歉并说明"})),
            &leader.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = h
        .call(
            "POST",
            &ack,
            Some(json!({"outcome": "again"})),
            &leader.headers(),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "alert_acknowledged")
    );
    assert_eq!(h.app.escalate_alerts().await.unwrap(), 0);
}
both_dialects!(alerts, unsatisfied_pages_leaders);

/// The SMS gateway is down for ten minutes by the clock while confirmations are sent and an
/// "unsatisfied" rating pages the leaders. The sweeper still escalates the alert on time (its
/// pages wait in the outbox), and after recovery the gateway accepts every message exactly
/// once, although the answer to its first acceptance is lost and that message comes again.
async fn gateway_down_ten_minutes(store: DynStore) {
    use super::outbox::{start_gateway, Gateway};
    use chrono::TimeDelta;
    use std::sync::{Arc, Mutex};
    let config = wujing_app::Config {
        hall: wujing_app::hall::HallRules {
            escalate_after: TimeDelta::minutes(5),
            ..Default::default()
        },
        ..super::test_config()
    };
    let g = Arc::new(Mutex::new(Gateway {
        lose_next_answer: true,
        ..Default::default()
    }));
    let url = start_gateway(g.clone(), None).await;
    let sms = super::outbox::gateway(&url, None);
    let h = super::outbox::harness(store, config, Some(sms), None).await;
    let clock = h.app.clock.clone();
    let back_at = clock.now() + TimeDelta::minutes(10);
    g.lock().unwrap().down_while = Some(Box::new(move || clock.now() < back_at));

    let _leader = h.create_account("leader").await;
    let _supervisor = h.create_account("supervisor").await;
    let _admin2 = h.create_account("admin").await;
    let officer = h.sign_in_as("officer@tianhe").await;
    let admin = h.sign_in_as("admin").await;
    // Two confirmations.
    for i in 0..2u32 {
        let slot = h.slot("tianhe", "passport_first").await;
        let (_, hold) = h
            .post(
                "/api/v1/holds",
                json!({"slot_id": slot["slot_id"], "business": "passport_first"}),
            )
            .await;
        let (s, b) = h
            .post(
                "/api/v1/bookings",
                json!({"hold_id": hold["hold_id"], "applicant": {"name": "市民", "id_number": wujing_testkit::identity(40 + i), "phone": format!("1390000040{i}")}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    // A minute in, an unsatisfied rating.
    h.app.clock.advance(TimeDelta::minutes(1));
    let window = general_window(&h).await;
    let (_, kiosk) = h
        .call(
            "POST",
            "/api/v1/admin/devices",
            Some(json!({"name": "评价器1", "hall_id": "tianhe", "kind": "rating_terminal", "window_number": window})),
            &admin.headers(),
        )
        .await;
    let device = format!("Bearer {}", kiosk["token"].as_str().unwrap());
    let device = [("authorization", device.as_str())];
    waiting_ticket(&h).await;
    let base = format!("/api/v1/halls/tianhe/windows/{window}");
    serve_next(&h, &base, &officer).await;
    let (s, v) = h
        .call(
            "POST",
            &format!("{base}/rating"),
            Some(json!({"score": "unsatisfied", "reasons": ["slow"]})),
            &device,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let raised = h.app.clock.now();

    // The server's loops, 15 s at a time, for 25 minutes: the dispatcher, and the sweeper's
    // escalation.
    let mut escalated_at = None;
    let mut accepted_during_outage = 0;
    for _ in 0..100 {
        h.app.deliver_due().await.unwrap();
        if h.app.escalate_alerts().await.unwrap() > 0 {
            assert!(escalated_at.is_none(), "escalated twice");
            escalated_at = Some(h.app.clock.now());
        }
        if h.app.clock.now() < back_at {
            accepted_during_outage += g.lock().unwrap().accepted.len();
        }
        h.app.clock.advance(TimeDelta::seconds(15));
    }
    assert_eq!(accepted_during_outage, 0, "the gateway was down");
    // On time: at the first sweep five minutes after the rating, within the outage.
    let at = escalated_at.expect("the alert was escalated");
    assert!(
        at >= raised + TimeDelta::minutes(5)
            && at < raised + TimeDelta::minutes(5) + TimeDelta::seconds(15),
        "escalated at {at}, raised at {raised}"
    );
    assert!(at < back_at);
    // Every message accepted exactly once after recovery.
    let g = std::mem::take(&mut *g.lock().unwrap());
    let keys: Vec<&String> = g.accepted.keys().collect();
    let count = |p: &str| keys.iter().filter(|k| k.starts_with(p)).count();
    assert_eq!(count("confirm:"), 2, "{keys:?}");
    assert_eq!(
        count("alert:"),
        2,
        "the leader and the supervisor: {keys:?}"
    );
    assert_eq!(
        count("escalate:"),
        4,
        "leader, supervisor and both administrators: {keys:?}"
    );
    assert_eq!(
        g.duplicates, 1,
        "the lost answer's message came once more and was dropped"
    );
    assert_eq!(g.bad_signatures, 0);
    let r = h.app.deliver_due().await.unwrap();
    assert_eq!((r.delivered, r.failed), (0, 0), "nothing left to send");
}
both_dialects!(gateway_outage, gateway_down_ten_minutes);

/// A call made on one app server reaches the boards of another: LISTEN/NOTIFY on PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_reach_boards_on_every_server_on_postgres() {
    let Some(url) = wujing_testkit::fresh_pg_database().await else {
        return;
    };
    let a = wujing_testkit::open(&url).await.unwrap();
    a.migrate().await.unwrap();
    let b = wujing_testkit::open(&url).await.unwrap();
    let mut rx = b.subscribe();
    // The listener connects in the background; publish until it hears.
    let got = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            a.publish(r#"{"hall":"tianhe","label":"A007","window":3}"#)
                .await
                .unwrap();
            if let Ok(Ok(p)) =
                tokio::time::timeout(std::time::Duration::from_millis(300), rx.recv()).await
            {
                return p;
            }
        }
    })
    .await
    .expect("the other server heard the call");
    assert!(got.contains("A007"));
}

/// The next frame of an event stream naming `event`.
async fn next_event(body: &mut axum::body::Body, event: &str) -> String {
    use http_body_util::BodyExt;
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            let f = body.frame().await.unwrap().unwrap();
            if let Some(d) = f.data_ref() {
                let t = String::from_utf8_lossy(d).to_string();
                if t.contains(&format!("event: {event}")) {
                    return t;
                }
            }
        }
    })
    .await
    .expect("the event arrives on the stream")
}

/// The count of `queue` in an event frame's `waiting`.
fn count(frame: &str, queue: &str) -> u64 {
    let data = frame.split("data: ").nth(1).unwrap().trim();
    let v: Value = serde_json::from_str(data).unwrap();
    v["waiting"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["queue"] == queue)
        .unwrap()["count"]
        .as_u64()
        .unwrap()
}

async fn board_html_as(h: &Harness, uri: &str, cookie: &str) -> String {
    use http_body_util::BodyExt;
    let page = h
        .raw(
            axum::http::Request::get(uri)
                .header("cookie", cookie)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    String::from_utf8(
        page.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap()
}

async fn board_html(h: &Harness, uri: &str) -> String {
    use http_body_util::BodyExt;
    let page = h
        .raw(
            axum::http::Request::get(uri)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    String::from_utf8(
        page.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap()
}

/// The board page opens with the latest calls (or says none was made yet) and every queue's
/// count with what its letter means; its event stream carries new calls with the queues' new
/// counts, and a check-in's new count.
async fn board_shows_calls(store: DynStore) {
    use http_body_util::BodyExt;
    let h = Harness::new(store).await;
    let officer = h.sign_in_as("officer@tianhe").await;
    let html = board_html(&h, "/board/tianhe").await;
    assert!(
        html.contains("class=\"empty\""),
        "an empty state before any call"
    );
    assert!(
        html.contains("data-queue=\"A\"")
            && html.contains("data-queue=\"W\"")
            && html.contains("现场取号"),
        "{html}"
    );
    assert!(
        !html.contains("data-sound"),
        "silent unless the screen is set up to speak"
    );
    assert!(board_html(&h, "/board/tianhe?sound=on")
        .await
        .contains("data-sound=\"on\""));
    waiting_ticket(&h).await;
    let res = h
        .raw(
            axum::http::Request::get("/board/tianhe/events")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut body = res.into_body();
    let window = general_window(&h).await;
    let (s, _) = h
        .call(
            "POST",
            &format!("/api/v1/halls/tianhe/windows/{window}/call"),
            None,
            &officer.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let frame = next_event(&mut body, "call").await;
    assert!(
        frame.contains("A001") && frame.contains(&format!("\"window\":{window}")),
        "{frame}"
    );
    assert_eq!(
        count(&frame, "A"),
        0,
        "the call's event carries the queue's new count"
    );
    // A walk-in: the boards hear of the queue's new count.
    let (s, v) = h
        .call(
            "POST",
            "/api/v1/halls/tianhe/walk-ins",
            Some(json!({"business": "passport_first", "name": "郑华", "id_number": "440112200001010139"})),
            &officer.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let frame = next_event(&mut body, "waiting").await;
    assert_eq!(count(&frame, "W"), 1, "{frame}");
    let html = board_html(&h, "/board/tianhe").await;
    assert!(html.contains("data-label=\"A001\"") && html.contains("src=\"/static/board.js\""));
    assert!(!html.contains("class=\"empty\""));
    // The board's script, a file (the content security policy allows no inline one), speaks.
    let script = h
        .raw(
            axum::http::Request::get("/static/board.js")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    let script = script.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&script).contains("speechSynthesis"));
}
both_dialects!(board, board_shows_calls);

/// A walk-in, sent to the leader post and approved (called before an earlier ticket),
/// accepted pending a supplement, paid, refunded by the leader; the receipt is a PDF.
async fn leader_post_and_refund(store: DynStore) {
    let h = Harness::new(store).await;
    let officer = h.sign_in_as("officer@tianhe").await;
    let leader = h.sign_in_as("leader@tianhe").await;
    let walk_in = |id: &'static str, name: &'static str| {
        let (h, officer) = (&h, &officer);
        async move {
            h.call(
                "POST",
                "/api/v1/halls/tianhe/walk-ins",
                Some(json!({"business": "passport_first", "name": name, "id_number": id})),
                &officer.headers(),
            )
            .await
        }
    };
    let (s, v) = walk_in(CHEN, "陈晓明").await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "not_eligible"),
        "he holds a passport already"
    );
    let (s, first) = walk_in("43010219881111033X", "王强").await;
    assert_eq!(
        (s, first["label"].as_str()),
        (StatusCode::CREATED, Some("W001")),
        "{first}"
    );
    let (_, second) = walk_in("440112200001010139", "郑华").await;
    assert_eq!(second["label"], "W002");
    let window = general_window(&h).await;
    let base = format!("/api/v1/halls/tianhe/windows/{window}");
    // W002 is urgent (a funeral): the officer asks, the leader approves, W002 is called first.
    let (s, u) = h
        .call(
            "POST",
            &format!("{base}/tickets/{}/urgent", second["id"]),
            Some(json!({"reason": "funeral", "note": "父亲病故"})),
            &officer.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    let (s, v) = h
        .call("GET", "/api/v1/urgent", None, &officer.headers())
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::FORBIDDEN, "forbidden"),
        "officers do not decide"
    );
    let (s, _) = h
        .call(
            "POST",
            &format!("/api/v1/urgent/{}/decision", u["id"]),
            Some(json!({"approved": true})),
            &leader.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = h
        .call(
            "POST",
            &format!("/api/v1/urgent/{}/decision", u["id"]),
            Some(json!({"approved": false})),
            &leader.headers(),
        )
        .await;
    assert_eq!((s, code_of(&v)), (StatusCode::CONFLICT, "urgent_decided"));
    let (_, called) = h
        .call("POST", &format!("{base}/call"), None, &officer.headers())
        .await;
    assert_eq!(called["label"], "W002", "the approved urgent case first");
    let id = called["id"].as_i64().unwrap();
    h.call(
        "POST",
        &format!("{base}/tickets/{id}/action"),
        Some(json!("start")),
        &officer.headers(),
    )
    .await;
    let (s, app) = h
        .call(
            "POST",
            &format!("{base}/tickets/{id}/accept"),
            Some(json!({"missing": ["户口簿"]})),
            &officer.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{app}");
    assert_eq!(
        (app["status"].as_str(), app["expedited"].as_bool()),
        (Some("pending_supplement"), Some(true))
    );
    assert!(app["supplement_due"].is_string());
    let (s, v) = h
        .call(
            "POST",
            &format!("{base}/tickets/{id}/accept"),
            Some(json!({})),
            &officer.headers(),
        )
        .await;
    assert_eq!((s, code_of(&v)), (StatusCode::CONFLICT, "already_accepted"));
    let (s, pay) = h
        .call(
            "POST",
            &format!("{base}/tickets/{id}/fee"),
            Some(json!({"method": "qr", "reference": "WX-9"})),
            &officer.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{pay}");
    // The receipt.
    let res = h
        .raw(
            axum::http::Request::get(format!("/api/v1/halls/tianhe/tickets/{id}/receipt.pdf"))
                .header("cookie", &officer.cookie)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    if res.status() != StatusCode::SERVICE_UNAVAILABLE
        || std::env::var("CI").as_deref() == Ok("true")
    {
        assert_eq!(res.status(), StatusCode::OK);
    }
    // Only a leader refunds; the reconciliation leaves the refund out.
    let (s, _) = h
        .call(
            "POST",
            &format!("/api/v1/halls/tianhe/tickets/{id}/refund"),
            None,
            &officer.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, r) = h
        .call(
            "GET",
            "/api/v1/halls/tianhe/reconciliation",
            None,
            &leader.headers(),
        )
        .await;
    assert_eq!(r[0]["sum_yuan"], pay["amount_yuan"]);
    {
        use http_body_util::BodyExt;
        let page = h
            .raw(
                axum::http::Request::get("/staff/reconciliation?hall=tianhe")
                    .header("cookie", &leader.cookie)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(page.status(), StatusCode::OK);
        let html = String::from_utf8(
            page.into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .to_vec(),
        )
        .unwrap();
        assert!(
            html.contains(&format!("<td>{}</td>", pay["amount_yuan"])),
            "{html}"
        );
    }
    let (s, _) = h
        .call(
            "POST",
            &format!("/api/v1/halls/tianhe/tickets/{id}/refund"),
            None,
            &leader.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = h
        .call(
            "POST",
            &format!("/api/v1/halls/tianhe/tickets/{id}/refund"),
            None,
            &leader.headers(),
        )
        .await;
    assert_eq!((s, code_of(&v)), (StatusCode::CONFLICT, "not_refundable"));
    let (_, r) = h
        .call(
            "GET",
            "/api/v1/halls/tianhe/reconciliation",
            None,
            &leader.headers(),
        )
        .await;
    assert_eq!(r, json!([]));
    // The transactions keep the refunded payment, marked, on the page and in the export.
    let html = board_html_as(&h, "/staff/reconciliation?hall=tianhe", &leader.cookie).await;
    assert!(
        html.contains("class=\"refunded\"") && html.contains("已退款"),
        "{html}"
    );
    let res = h
        .raw(
            axum::http::Request::get("/staff/reconciliation.csv?hall=tianhe")
                .header("cookie", &leader.cookie)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = {
        use http_body_util::BodyExt;
        String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
    };
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(
        lines[1].contains(pay["receipt_no"].as_str().unwrap()) && lines[1].contains(":"),
        "{csv}"
    );
    let exports = h
        .store
        .audit_search(&wujing_store::AuditQuery {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "reconciliation.export")
        .count();
    assert_eq!(exports, 1, "the export is audited");
    assert_eq!(h.app.audit_verify().await.unwrap().map(|n| n > 5), Ok(true));
}
both_dialects!(leader_post, leader_post_and_refund);

/// A walk-in answers the business's questions like a booking: a passport renewal before it is
/// due needs its reason (pages full), and is refused without it.
async fn walk_in_answers(store: DynStore) {
    let h = Harness::new(store).await;
    let officer = h.sign_in_as("officer@tianhe").await;
    let walk_in = |answers: serde_json::Value| {
        let (h, officer) = (&h, &officer);
        async move {
            h.call(
                "POST",
                "/api/v1/halls/tianhe/walk-ins",
                Some(
                    json!({"business": "passport_renewal", "name": "陈晓明", "id_number": CHEN,
                            "answers": answers}),
                ),
                &officer.headers(),
            )
            .await
        }
    };
    let (s, v) = walk_in(json!({})).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "not_eligible"),
        "{v}"
    );
    let (s, v) = walk_in(json!({"renewal_reason": "pages_full"})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = walk_in(json!({"colour": "blue"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
}
both_dialects!(walk_ins_answer_the_business_questions, walk_in_answers);

/// The kiosk's screen: the hall's name, an on-screen keypad, a refused check-in saying what to
/// do next, the ticket with "watch the board" and a printable slip, and printing by the
/// kiosk's own address.
async fn the_kiosk_names_its_hall_and_says_what_to_do(store: DynStore) {
    let h = Harness::new(store).await;
    let code = book_chen_renewal(&h).await;
    let admin = h.sign_in_as("admin").await;
    let (_, device) = h
        .call(
            "POST",
            "/api/v1/admin/devices",
            Some(json!({"name": "签到机", "hall_id": "tianhe", "kind": "check_in"})),
            &admin.headers(),
        )
        .await;
    let bearer = format!("Bearer {}", device["token"].as_str().unwrap());
    let auth = [("authorization", bearer.as_str())];
    let idle = h.form("GET", "/kiosk?print=auto", "", &auth).await;
    assert_eq!(idle.status, StatusCode::OK);
    assert!(idle.body.contains("天河区出入境办证大厅"), "{}", idle.body);
    assert!(idle.body.contains("class=\"keypad\"") && idle.body.contains("data-print=\"auto\""));
    // The booking code's letters can be typed by touch: exactly the codes' letters (no I, L,
    // O, which no code has), behind a toggle.
    let letters: String = idle
        .body
        .split("data-keys=\"letters\"")
        .nth(1)
        .expect("the letter keys")
        .split("</div>")
        .next()
        .unwrap()
        .split("data-key=\"")
        .skip(1)
        .filter_map(|k| k.split('"').next())
        .filter(|k| *k != "back")
        .collect();
    assert_eq!(letters, "ABCDEFGHJKMNPQRSTUVWXYZ");
    assert!(idle.body.contains("data-keyset aria-pressed=\"false\""));
    assert!(
        idle.body.contains("action=\"/kiosk?print=auto\""),
        "printing survives the form"
    );

    // Too early: the time it opens, and what to do meanwhile.
    let early = h
        .form(
            "POST",
            "/kiosk",
            &format!("code={code}&id_number={CHEN}"),
            &auth,
        )
        .await;
    assert!(
        early.body.contains("请于")
            && early.body.contains("class=\"next\"")
            // A refusal is a failure unmistakably: its class, icon and state word.
            && early.body.contains("class=\"outcome outcome-fail err\" role=\"alert\"")
            && early.body.contains("未能签到"),
        "{}",
        early.body
    );
    let starts = h
        .store
        .booking_by_code(&code)
        .await
        .unwrap()
        .unwrap()
        .slot
        .starts_at;
    let now = h.app.clock.now();
    h.app
        .clock
        .advance(starts - now - chrono::TimeDelta::minutes(30));
    let wrong = h
        .form(
            "POST",
            "/kiosk",
            &format!("code={code}&id_number=440106198503030124"),
            &auth,
        )
        .await;
    assert!(
        wrong.body.contains("核对预约号和身份证号码"),
        "{}",
        wrong.body
    );
    let ticket = h
        .form(
            "POST",
            "/kiosk",
            &format!("code={code}&id_number={CHEN}"),
            &auth,
        )
        .await;
    assert!(
        ticket.body.contains("class=\"ticket\">A001<")
            && ticket.body.contains("留意叫号屏")
            && ticket
                .body
                .contains("class=\"outcome outcome-ok noprint\" role=\"status\"")
            && ticket.body.contains("换发普通护照")
            && ticket.body.contains("class=\"print-only\""),
        "{}",
        ticket.body
    );
    assert!(
        !ticket.body.contains(CHEN),
        "no identity number on the screen"
    );

    // The bridge's printer prints the ticket the server renders: the hall, the number and the
    // business, nothing about the citizen; for a kiosk of that hall only.
    let id = ticket
        .body
        .split("data-ticket=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("the ticket's id on the page")
        .to_string();
    let pdf = h
        .form("GET", &format!("/kiosk/tickets/{id}/pdf"), "", &auth)
        .await;
    assert_eq!(
        (pdf.status, pdf.content_type.as_str()),
        (StatusCode::OK, "application/pdf")
    );
    assert!(pdf.body.starts_with("%PDF-") && !pdf.body.contains(CHEN));
    // (The clock moved past the first session's life.)
    let admin = h.sign_in_as("admin").await;
    let (_, other) = h
        .call(
            "POST",
            "/api/v1/admin/devices",
            Some(json!({"name": "签到机", "hall_id": "yuexiu", "kind": "check_in"})),
            &admin.headers(),
        )
        .await;
    let other = format!("Bearer {}", other["token"].as_str().unwrap());
    let refused = h
        .form(
            "GET",
            &format!("/kiosk/tickets/{id}/pdf"),
            "",
            &[("authorization", other.as_str())],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::FORBIDDEN,
        "another hall's kiosk"
    );
    let none = h.form("GET", "/kiosk/tickets/999999/pdf", "", &auth).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
}

both_dialects!(kiosk_screen, the_kiosk_names_its_hall_and_says_what_to_do);

/// The kiosk's start address is its configuration (the bridge's port, the idle delay, printing),
/// kept by the form and the "done" link; the language and the older-adult mode chosen on the
/// screen come from the portal's cookies, and with none chosen the screen speaks both.
async fn the_kiosk_keeps_its_start_address_and_the_citizens_choices(store: DynStore) {
    let h = Harness::new(store).await;
    let admin = h.sign_in_as("admin").await;
    let (_, device) = h
        .call(
            "POST",
            "/api/v1/admin/devices",
            Some(json!({"name": "签到机", "hall_id": "tianhe", "kind": "check_in"})),
            &admin.headers(),
        )
        .await;
    let bearer = format!("Bearer {}", device["token"].as_str().unwrap());
    let auth = [("authorization", bearer.as_str())];
    let page = h
        .form(
            "GET",
            "/kiosk?idle=5&bridge=47801&print=auto&colour=red",
            "",
            &auth,
        )
        .await;
    let start = "/kiosk?print=auto&#38;bridge=47801&#38;idle=10";
    assert!(
        page.body.contains(&format!("action=\"{start}\""))
            && page.body.contains(&format!("data-start=\"{start}\""))
            && page.body.contains("data-idle=\"10\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("自助签到 · Self check-in") && page.body.contains("lang=\"zh-CN\""));
    // A port below 1024 is no agent's: the default is used.
    let page = h.form("GET", "/kiosk?bridge=80", "", &auth).await;
    assert!(
        page.body.contains("data-start=\"/kiosk\" data-idle=\"60\""),
        "{}",
        page.body
    );
    let en = h
        .form(
            "GET",
            "/kiosk",
            "",
            &[auth[0], ("cookie", "wujing_lang=en; wujing_care=on")],
        )
        .await;
    assert!(
        en.body.contains("<html lang=\"en\">")
            && en.body.contains("class=\"care\"")
            && en.body.contains(">Self check-in<")
            && !en.body.contains("自助签到"),
        "{}",
        en.body
    );
}

both_dialects!(
    kiosk_start_address,
    the_kiosk_keeps_its_start_address_and_the_citizens_choices
);

/// The reception page checks a booking in by the identity number and issues walk-in numbers,
/// listing every reason a walk-in is refused and never echoing the identity number.
async fn reception_checks_in_and_issues_walk_ins(store: DynStore) {
    let h = Harness::new(store).await;
    let officer = h.sign_in_as("officer@tianhe").await;
    let cookie = [("cookie", officer.cookie.as_str())];
    let page = h.form("GET", "/staff/reception/tianhe", "", &cookie).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("天河区出入境办证大厅") && page.body.contains("value=\"walk_in\""));
    assert_eq!(
        h.form("GET", "/staff/reception/haizhu", "", &cookie)
            .await
            .status,
        StatusCode::FORBIDDEN,
        "another hall's reception"
    );
    let post = |body: String| {
        let (h, officer) = (&h, &officer);
        async move {
            h.form(
                "POST",
                "/staff/reception/tianhe",
                &format!("csrf={}&{body}", officer.csrf),
                &[("cookie", officer.cookie.as_str())],
            )
            .await
        }
    };
    // 陈晓明 holds a valid passport: a first passport is refused, with the reason.
    let refused = post(format!(
        "op=walk_in&business=passport_first&name=%E9%99%88%E6%99%93%E6%98%8E&id_number={CHEN}"
    ))
    .await;
    assert!(
        refused.body.contains("class=\"reasons\""),
        "{}",
        refused.body
    );
    assert!(
        !refused.body.contains(CHEN),
        "the identity number is not echoed"
    );
    let issued = post(
        "op=walk_in&business=passport_first&name=%E9%83%91%E5%8D%8E&id_number=440112200001010139"
            .into(),
    )
    .await;
    assert!(
        issued.body.contains("class=\"big\">W001<"),
        "{}",
        issued.body
    );
    let none = post(format!("op=check_in&id_number={CHEN}")).await;
    assert!(none.body.contains("msg error"), "{}", none.body);
}

both_dialects!(reception, reception_checks_in_and_issues_walk_ins);

/// Calls the next ticket at the window `base` and serves it to the end.
async fn serve_next(h: &Harness, base: &str, officer: &Session) {
    let (_, t) = h
        .call("POST", &format!("{base}/call"), None, &officer.headers())
        .await;
    let id = t["id"].as_i64().unwrap();
    for a in ["start", "finish"] {
        let (s, _) = h
            .call(
                "POST",
                &format!("{base}/tickets/{id}/action"),
                Some(json!(a)),
                &officer.headers(),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
    }
}
