//! The leaders' statistics and the officers' appraisal through HTTP (issue 18): a day of the
//! hall rolled up shows on the dashboard, in the CSV (with its BOM, parsed back) and in the
//! workbook (opened as the zip it is); the dashboard is scoped to the reader's halls; an
//! appraisal is its officer's and their hall's leaders' and supervisors', each view audited.

use super::staff::Session;
use super::Harness;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::TimeDelta;
use http_body_util::BodyExt;
use std::io::Read;
use wujing_store::{AuditQuery, DynStore, NewRating, NewTicket, TicketMove};
use wujing_testkit::both_dialects;

async fn get(h: &Harness, uri: &str, s: &Session) -> (StatusCode, Vec<u8>) {
    let res = h
        .raw(
            Request::get(uri)
                .header("cookie", &s.cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let status = res.status();
    (
        status,
        res.into_body().collect().await.unwrap().to_bytes().to_vec(),
    )
}

async fn officer_id(h: &Harness, username: &str) -> i64 {
    h.store
        .staff_by_username(username)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// `n` walk-ins at tianhe today, each called by `officer`, served and rated: every third
/// unsatisfied.
async fn serve_day(h: &Harness, officer: i64, n: u32) {
    let today = h.app.clock.today();
    let now = h.app.clock.now();
    for i in 0..n {
        h.store
            .issue_ticket(&NewTicket {
                hall_id: "tianhe".into(),
                day: today,
                queue: "A".into(),
                booking_id: None,
                booking_slot_id: None,
                business: "passport_first".into(),
                identity_key: format!("CHN:stats-{i}"),
                kind: "walk_in".into(),
                channel: "counter".into(),
                priority: 0,
                due_at: now,
                now,
            })
            .await
            .unwrap();
        let called = now + TimeDelta::minutes(i64::from(3 * i + 1));
        let t = h
            .store
            .call_next("tianhe", today, &["A".to_string()], 1, officer, called)
            .await
            .unwrap()
            .unwrap();
        h.store
            .move_ticket(t.id, 1, &TicketMove::Start, called)
            .await
            .unwrap();
        let done = called + TimeDelta::minutes(12);
        h.store
            .move_ticket(t.id, 1, &TicketMove::Finish, done)
            .await
            .unwrap();
        h.store
            .record_rating(
                &NewRating {
                    ticket_id: t.id,
                    score: if i % 3 == 0 {
                        "unsatisfied"
                    } else {
                        "satisfied"
                    }
                    .into(),
                    reasons: "[]".into(),
                    now: done,
                },
                &[],
            )
            .await
            .unwrap();
    }
}

/// The sheet's XML of an XLSX workbook.
fn sheet_xml(xlsx: &[u8], n: u32) -> String {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(xlsx)).unwrap();
    let mut f = zip.by_name(&format!("xl/worksheets/sheet{n}.xml")).unwrap();
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    s
}

async fn dashboard_exports_and_appraisal(store: DynStore) {
    let h = Harness::new(store).await;
    let officer_name = h.create_account("officer@tianhe").await;
    let officer = officer_id(&h, &officer_name).await;
    let day = h.app.clock.today();
    serve_day(&h, officer, 6).await;
    // Nothing of today is history yet; after the day closes, the job rolls it.
    h.app.clock.advance(TimeDelta::days(1));
    let leader = h.sign_in_as("leader@tianhe").await;
    assert!(
        h.app.stats_lag_seconds().await.unwrap() > 0,
        "a closed day waits"
    );
    let r = h.app.roll_up(None).await.unwrap();
    assert!(r.days >= 1, "{r:?}");
    assert_eq!(r.lag_seconds, 0);
    let admin = h.sign_in_as("admin").await;
    let (s, metrics) = get(&h, "/metrics", &admin).await;
    assert_eq!(s, StatusCode::OK);
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(
        metrics.contains(
            "# TYPE wujing_stats_rollup_lag_seconds gauge\nwujing_stats_rollup_lag_seconds 0\n"
        ),
        "{metrics}"
    );
    // A second pass finds nothing to do.
    assert_eq!(h.app.roll_up(None).await.unwrap().days, 0);

    let q = format!("from={day}&to={day}");
    let (s, body) = get(&h, &format!("/staff/stats?{q}"), &leader).await;
    let html = String::from_utf8(body).unwrap();
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("<svg class=\"chart\""), "charts drawn");
    assert!(html.contains("办证统计"));
    assert!(html.contains(">按日</h2>"), "a day is a row a day");
    // A year reads as months; the seats' table says the business filter does not apply.
    let year = format!(
        "from={}&to={day}&business=passport_first",
        day - TimeDelta::days(364)
    );
    let (s, body) = get(&h, &format!("/staff/stats?{year}"), &leader).await;
    let html = String::from_utf8(body).unwrap();
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(
        html.contains(">按月</h2>") && !html.contains(">按日</h2>"),
        "{html}"
    );
    assert!(
        html.contains(&format!("<td>{}</td>", day.format("%Y-%m"))),
        "the month of the day served is a row: {html}"
    );
    assert!(html.contains("所选业务不适用于此表"), "{html}");

    // CSV: BOM, header, the day, the total; the figures as rolled up.
    let (s, csv) = get(&h, &format!("/staff/stats.csv?{q}"), &leader).await;
    assert_eq!(s, StatusCode::OK);
    assert!(csv.starts_with(&[0xEF, 0xBB, 0xBF]), "UTF-8 with a BOM");
    let text = String::from_utf8(csv[3..].to_vec()).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert_eq!(rows[0][0], "日期");
    let col = |name: &str| rows[0].iter().position(|c| *c == name).unwrap();
    assert_eq!(rows[1][0], day.to_string());
    assert_eq!(rows[1][col("取号")], "6");
    assert_eq!(rows[1][col("办结")], "6");
    assert_eq!(rows[1][col("不满意")], "2");
    assert_eq!(rows[1][col("满意")], "4");
    assert_eq!(rows[1][col("办理合计(秒)")], (6 * 12 * 60).to_string());
    assert_eq!(rows[2][0], "合计");
    assert_eq!(rows[2][col("取号")], "6");

    // The workbook: a zip whose first sheet holds the same row.
    let (s, xlsx) = get(&h, &format!("/staff/stats.xlsx?{q}"), &leader).await;
    assert_eq!(s, StatusCode::OK);
    assert!(xlsx.starts_with(b"PK"), "a zip");
    let sheet = sheet_xml(&xlsx, 1);
    assert!(sheet.contains("<v>6</v>"), "{sheet}");
    assert!(
        sheet.contains(&format!("<v>{}</v>", 6 * 12 * 60)),
        "{sheet}"
    );

    // Scoped: another hall's leader sees none of tianhe's figures and may not ask for them.
    let other = h.sign_in_as("leader@yuexiu").await;
    let (s, _) = get(&h, &format!("/staff/stats?{q}&hall=tianhe"), &other).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, csv) = get(&h, &format!("/staff/stats.csv?{q}"), &other).await;
    assert_eq!(s, StatusCode::OK);
    let text = String::from_utf8(csv[3..].to_vec()).unwrap();
    assert_eq!(text.lines().count(), 2, "header and an empty total: {text}");
    // Bad filters: a typed error, not a 500.
    for bad in [
        "from=2026-13-01",
        "from=2026-12-05&to=2026-12-01",
        "business=nope",
        "channel=nope",
    ] {
        let (s, _) = get(&h, &format!("/staff/stats.csv?{bad}"), &leader).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
    }

    // The appraisal: the officer's own, their hall's leader's; not another officer's, nor
    // another hall's leader's.
    let me = h.session_of(&officer_name).await;
    let (s, body) = get(&h, &format!("/staff/appraisal?{q}"), &me).await;
    let html = String::from_utf8(body).unwrap();
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("<dd>6</dd>"), "six served");
    let (s, _) = get(
        &h,
        &format!("/staff/appraisal?officer={officer}&{q}"),
        &leader,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let colleague = h.sign_in_as("officer@tianhe").await;
    let (s, _) = get(
        &h,
        &format!("/staff/appraisal?officer={officer}&{q}"),
        &colleague,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = get(
        &h,
        &format!("/staff/appraisal?officer={officer}&{q}"),
        &other,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let supervisor = h.sign_in_as("supervisor").await;
    let (s, _) = get(
        &h,
        &format!("/staff/appraisal?officer={officer}&{q}"),
        &supervisor,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = get(&h, "/staff/appraisal?officer=999999", &supervisor).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Each view audited: three that were allowed.
    let views = h
        .store
        .audit_search(&AuditQuery {
            limit: 100,
            ..AuditQuery::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "appraisal.view" && e.subject == format!("staff:{officer}"))
        .count();
    assert_eq!(views, 3);
}
both_dialects!(
    stats_dashboard_exports_and_appraisal,
    dashboard_exports_and_appraisal
);
