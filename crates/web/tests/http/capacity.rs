//! The capacity advisor's page and its two reads (issue 18 §3), on both databases: service
//! times measured from served tickets, bookings counted per slot start, the page for a hall's
//! leader, and the scope (another hall's leader is refused, an unknown hall is not found).

use super::hall::general_window;
use super::Harness;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::TimeDelta;
use http_body_util::BodyExt;
use serde_json::json;
use wujing_store::DynStore;
use wujing_testkit::both_dialects;

async fn page(h: &Harness, uri: &str, cookie: &str) -> (StatusCode, String) {
    let res = h
        .raw(
            Request::get(uri)
                .header("cookie", cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, String::from_utf8(body).unwrap())
}

async fn advisor(store: DynStore) {
    let h = Harness::new(store).await;
    let today = h.app.clock.today();
    // Three walk-ins served in 4, 6 and 8 minutes.
    for i in 0..3u32 {
        h.store
            .issue_ticket(&wujing_store::NewTicket {
                hall_id: "tianhe".into(),
                day: today,
                queue: "A".into(),
                booking_id: None,
                booking_slot_id: None,
                business: "passport_first".into(),
                identity_key: format!("CHN:44011220000101013{i}"),
                kind: "walk_in".into(),
                channel: "counter".into(),
                priority: 0,
                due_at: h.app.clock.now(),
                now: h.app.clock.now(),
            })
            .await
            .unwrap();
    }
    let officer = h.sign_in_as("officer@tianhe").await;
    let base = format!("/api/v1/halls/tianhe/windows/{}", general_window(&h).await);
    for minutes in [4, 6, 8] {
        let (s, t) = h
            .call("POST", &format!("{base}/call"), None, &officer.headers())
            .await;
        assert_eq!(s, StatusCode::OK, "{t}");
        let id = t["id"].as_i64().unwrap();
        let act = |a: &'static str| {
            let (h, officer, base) = (&h, &officer, base.clone());
            async move {
                h.call(
                    "POST",
                    &format!("{base}/tickets/{id}/action"),
                    Some(json!(a)),
                    &officer.headers(),
                )
                .await
                .0
            }
        };
        assert_eq!(act("start").await, StatusCode::OK);
        h.app.clock.advance(TimeDelta::minutes(minutes));
        assert_eq!(act("finish").await, StatusCode::OK);
    }
    let m = h
        .store
        .service_moments("tianhe", today - TimeDelta::days(56), today)
        .await
        .unwrap();
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!((m[0].business.as_str(), m[0].count), ("passport_first", 3));
    assert!((m[0].sum_minutes - 18.0).abs() < 1e-6, "{m:?}");
    assert!((m[0].sum_of_squares - 116.0).abs() < 1e-6, "{m:?}");
    // Another hall's tickets and days outside the range are not read.
    assert!(h
        .store
        .service_moments("gz-city", today - TimeDelta::days(56), today)
        .await
        .unwrap()
        .is_empty());
    assert!(h
        .store
        .service_moments(
            "tianhe",
            today + TimeDelta::days(1),
            today + TimeDelta::days(2)
        )
        .await
        .unwrap()
        .is_empty());

    // A booking in the coming days is counted at its slot start.
    let slot = h.slot("tianhe", "passport_renewal").await;
    let (_, hold) = h
        .post(
            "/api/v1/holds",
            json!({"slot_id": slot["slot_id"], "business": "passport_renewal"}),
        )
        .await;
    let (s, b) = h
        .post(
            "/api/v1/bookings",
            json!({"hold_id": hold["hold_id"], "applicant": super::applicant("440106198503030116", "陈晓明"), "answers": {"renewal_reason": "pages_full"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    // `Harness::slot` looks on Wednesday 2026-12-02.
    let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
    let counts = h.store.booked_counts("tianhe", day, day).await.unwrap();
    assert_eq!(counts.len(), 1, "{counts:?}");
    assert_eq!(
        (counts[0].business.as_str(), counts[0].count),
        ("passport_renewal", 1)
    );

    // The page: a leader of the hall sees the advice; the booked seat is in it.
    let leader = h.sign_in_as("leader@tianhe").await;
    let (s, html) = page(&h, "/staff/capacity", &leader.cookie).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("Capacity advisor") && html.contains("窗口容量建议"));
    assert!(html.contains("2026-12-02"), "{html}");
    // The columns say what they count and which way their signs go: a legend, units in the
    // headers, the windows' balance in words (never a bare signed "short" figure).
    assert!(
        html.contains("class=\"legend\"")
            && html.contains("预计到达（人）")
            && html.contains("约满时到达（人）")
            && html.contains("余量（人）")
            && ["缺 ", "富余 ", "持平"].iter().any(|w| html.contains(w)),
        "{html}"
    );
    assert!(!html.contains("差额 Short"), "{html}");
    let token = leader
        .cookie
        .split_once('=')
        .unwrap()
        .1
        .split(';')
        .next()
        .unwrap();
    let who = h.app.authenticate(Some(token), None).await.unwrap();
    let report = h.app.capacity(&who, Some("tianhe")).await.unwrap();
    let hall = report.hall.unwrap();
    assert_eq!(hall.hall_id, "tianhe");
    let booked: u32 = hall
        .days
        .iter()
        .flat_map(|d| &d.hours)
        .map(|x| x.booked)
        .sum();
    assert_eq!(booked, 1);
    // Three tickets are too few to trust: the plan's service time stands in.
    let first = hall
        .services
        .iter()
        .find(|s| s.business == "passport_first")
        .unwrap();
    assert_eq!((first.tickets, first.from_history), (3, false));
    // Another hall is not the leader's; an unknown hall is not found for an administrator.
    let (s, _) = page(&h, "/staff/capacity?hall=gz-city", &leader.cookie).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let admin = h.sign_in_as("admin").await;
    let (s, _) = page(&h, "/staff/capacity?hall=nowhere", &admin.cookie).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, html) = page(&h, "/staff/capacity?hall=gz-city", &admin.cookie).await;
    assert_eq!(s, StatusCode::OK, "{html}");
}

both_dialects!(capacity_advisor, advisor);
