//! Issue 12: a checked-in booking is used (no reschedule or cancel, its slip says what
//! happened and what comes next); a cancelled booking's slip says so; walk-ins follow the
//! booking rules.

use super::staff::Session;
use super::*;
use http_body_util::BodyExt;

/// A passport renewal for Chen at tianhe on the first bookable day: its code.
async fn book_chen(h: &Harness) -> String {
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
    b["code"].as_str().unwrap().to_string()
}

/// The slip page of a booking, in a language.
async fn slip(h: &Harness, code: &str, lang: &str) -> String {
    let key = h.app.slip_key(code).await.unwrap();
    let res = h
        .raw(
            axum::http::Request::get(format!("/slip/{code}?k={key}"))
                .header("cookie", format!("wujing_lang={lang}"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

/// Nothing on the slip lets the citizen check in, fill the form or change the booking.
fn assert_no_actions(page: &str) {
    for what in [
        "<svg",
        "form.pdf",
        "booking.ics",
        "/change?",
        "id=\"print\"",
        "slip.js",
    ] {
        assert!(!page.contains(what), "the slip offers {what}: {page}");
    }
}

/// Moves the clock to `offset` from the booking's start.
async fn clock_to(h: &Harness, code: &str, offset: chrono::TimeDelta) {
    let starts = h
        .store
        .booking_by_code(code)
        .await
        .unwrap()
        .unwrap()
        .slot
        .starts_at;
    let now = h.app.clock.now();
    h.app.clock.advance(starts - now + offset);
}

async fn checked_in(h: &Harness, code: &str) -> Session {
    clock_to(h, code, -chrono::TimeDelta::minutes(30)).await;
    let officer = h.sign_in_as("officer@tianhe").await;
    let (s, t) = h
        .call(
            "POST",
            "/api/v1/halls/tianhe/checkins",
            Some(json!({"code": code, "id_number": CHEN})),
            &officer.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    officer
}

/// Calls the next ticket at Tianhe's general window, starts serving it and accepts its
/// application with nothing missing: the window's base path, the ticket's id and the answer.
async fn accept_next(h: &Harness, officer: &Session) -> (String, i64, serde_json::Value) {
    let window = super::hall::general_window(h).await;
    let base = format!("/api/v1/halls/tianhe/windows/{window}");
    let (_, t) = h
        .call("POST", &format!("{base}/call"), None, &officer.headers())
        .await;
    let id = t["id"].as_i64().unwrap();
    let (s, _) = h
        .call(
            "POST",
            &format!("{base}/tickets/{id}/action"),
            Some(json!("start")),
            &officer.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, app) = h
        .call(
            "POST",
            &format!("{base}/tickets/{id}/accept"),
            Some(json!({"missing": []})),
            &officer.headers(),
        )
        .await;
    assert!(s.is_success(), "{app}");
    (base, id, app)
}

/// Once checked in, a booking cannot be rescheduled or cancelled (409 `booking_used`), its
/// slip and API view say it is used, with the application and its expected date once
/// accepted, and the citizen may book the business again.
async fn used_booking(store: DynStore) {
    let h = Harness::new(store).await;
    let code = book_chen(&h).await;
    let officer = checked_in(&h, &code).await;
    let uri = format!("/api/v1/bookings/{code}");
    let (s, v) = h
        .post(&format!("{uri}/cancel"), json!({"id_number": CHEN}))
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "booking_used"),
        "{v}"
    );
    let (_, avail) = h
        .get("/api/v1/availability?business=passport_renewal&halls=tianhe&from=2026-12-03&to=2026-12-03")
        .await;
    let (s, v) = h
        .post(
            &format!("{uri}/reschedule"),
            json!({"id_number": CHEN, "slot_id": avail["slots"][0]["slot_id"]}),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "booking_used"),
        "{v}"
    );
    let (s, v) = h.call("GET", &uri, None, &[("x-id-number", CHEN)]).await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("used")),
        "{v}"
    );
    assert_eq!(v["visit"]["ticket"], "A001", "{v}");
    assert!(v["visit"]["application"].is_null(), "{v}");

    let page = slip(&h, &code, "zh-CN").await;
    assert!(
        page.contains("已签到办理") && page.contains("A001") && page.contains("请在大厅等候叫号"),
        "{page}"
    );
    assert_no_actions(&page);

    // Served and accepted: the slip tells the expected date.
    let (_, _, app) = accept_next(&h, &officer).await;
    let ready = app["ready_by"].as_str().unwrap().to_string();
    let (_, v) = h.call("GET", &uri, None, &[("x-id-number", CHEN)]).await;
    assert_eq!(v["visit"]["application"]["status"], "accepted", "{v}");
    assert_eq!(v["visit"]["application"]["ready_by"], ready.as_str());
    let page = slip(&h, &code, "zh-CN").await;
    assert!(
        page.contains("您的申请已受理") && page.contains(&ready),
        "{page}"
    );
    assert_no_actions(&page);
    let page = slip(&h, &code, "en").await;
    assert!(
        page.contains("Your application was accepted")
            && page.contains(&format!("Expected ready by {ready}")),
        "{page}"
    );
    assert_no_actions(&page);

    // The used booking no longer stands in the way of the next one.
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
}
both_dialects!(
    a_checked_in_booking_cannot_be_rescheduled_or_cancelled,
    used_booking
);

/// A GET by a citizen's link: status and body.
async fn fetch(h: &Harness, uri: &str) -> (StatusCode, Vec<u8>) {
    let res = h
        .raw(
            axum::http::Request::get(uri)
                .header("cookie", "wujing_lang=zh-CN")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    let status = res.status();
    (
        status,
        res.into_body().collect().await.unwrap().to_bytes().to_vec(),
    )
}

/// The text of a PDF, by pdftotext.
fn pdf_text(bytes: &[u8], name: &str) -> String {
    let path = std::env::temp_dir().join(format!("wujing-{name}-{}.pdf", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args([path.to_str().unwrap(), "-"])
        .output();
    let _ = std::fs::remove_file(&path);
    match out {
        Ok(o) => String::from_utf8_lossy(&o.stdout).into_owned(),
        Err(_) => wujing_testkit::missing("pdftotext", "apt-get install poppler-utils"),
    }
}

/// The fee paid at the window shows on the slip and in My bookings with its receipt, which
/// the slip's key downloads (and nothing else does); a refund shows on both and on the
/// receipt. A booking never served has no receipt.
async fn receipt_for_citizen(store: DynStore) {
    let h = Harness::new(store).await;
    let code = book_chen(&h).await;
    let key = h.app.slip_key(&code).await.unwrap();
    let receipt = format!("/slip/{code}/receipt.pdf?k={key}");
    let (s, body) = fetch(&h, &receipt).await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let officer = checked_in(&h, &code).await;
    let (base, id, _) = accept_next(&h, &officer).await;
    let (s, pay) = h
        .call(
            "POST",
            &format!("{base}/tickets/{id}/fee"),
            Some(json!({"method": "card", "reference": "POS-77"})),
            &officer.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{pay}");
    let receipt_no = pay["receipt_no"].as_str().unwrap().to_string();
    let page = slip(&h, &code, "zh-CN").await;
    assert!(
        page.contains(&receipt_no) && page.contains("receipt.pdf") && !page.contains("已退款"),
        "{page}"
    );
    let (_, v) = h
        .call(
            "GET",
            &format!("/api/v1/bookings/{code}"),
            None,
            &[("x-id-number", CHEN)],
        )
        .await;
    assert_eq!(
        v["visit"]["receipt"]["receipt_no"],
        receipt_no.as_str(),
        "{v}"
    );
    // Another key, or another booking's, downloads nothing.
    let (s, _) = fetch(&h, &format!("/slip/{code}/receipt.pdf?k=x{key}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, pdf) = fetch(&h, &receipt).await;
    if s == StatusCode::SERVICE_UNAVAILABLE {
        wujing_testkit::missing("a CJK font", "apt-get install fonts-wqy-microhei");
    }
    assert_eq!(s, StatusCode::OK);
    let text = pdf_text(&pdf, "receipt");
    for expected in [receipt_no.as_str(), "出入境证件费收据", "POS-77"] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    assert!(!text.contains("已退款"), "{text}");
    // The leader refunds: the slip, My bookings and the receipt say so.
    let leader = h.sign_in_as("leader@tianhe").await;
    let (s, v) = h
        .call(
            "POST",
            &format!("/api/v1/halls/tianhe/tickets/{id}/refund"),
            None,
            &leader.headers(),
        )
        .await;
    assert!(s.is_success(), "{v}");
    let page = slip(&h, &code, "zh-CN").await;
    assert!(page.contains("已退款"), "{page}");
    let (_, pdf) = fetch(&h, &receipt).await;
    assert!(pdf_text(&pdf, "refunded").contains("已退款"));
    let my = h.my_bookings(CHEN, "13800138000").await.body;
    assert!(
        my.contains(&receipt_no) && my.contains("已退款") && my.contains("历史记录"),
        "{my}"
    );
}
both_dialects!(
    a_paid_visit_has_its_receipt_on_the_slip_and_in_my_bookings_needs_pdf_tools,
    receipt_for_citizen
);

/// A cancelled booking's slip says it is cancelled and offers no code, form or action; an
/// active one's still does.
async fn cancelled_slip(store: DynStore) {
    let h = Harness::new(store).await;
    let code = book_chen(&h).await;
    let page = slip(&h, &code, "zh-CN").await;
    assert!(
        page.contains("预约成功")
            && page.contains("<svg")
            && page.contains("form.pdf")
            && page.contains("/change?")
    );
    let (s, _) = h
        .post(
            &format!("/api/v1/bookings/{code}/cancel"),
            json!({"id_number": CHEN}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    for (lang, says) in [("zh-CN", "预约已取消"), ("en", "Booking cancelled")] {
        let page = slip(&h, &code, lang).await;
        assert!(page.contains(says), "{page}");
        assert_no_actions(&page);
    }
    // Nor does its address serve the form any more.
    let key = h.app.slip_key(&code).await.unwrap();
    let (s, v) = h.get(&format!("/slip/{code}/form.pdf?k={key}")).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(
        v.to_string().contains("data-code=\\\"booking_not_active"),
        "{v}"
    );
}
both_dialects!(
    a_cancelled_bookings_slip_shows_no_code_form_or_actions,
    cancelled_slip
);

/// Walk-ins at reception: not beside an active booking of the business, one open number per
/// identity and business, only while an on-site slot runs; each audited with its channel.
async fn walk_ins(store: DynStore) {
    let h = Harness::new(store).await;
    const WANG: &str = "43010219881111033X";
    const ZHENG: &str = "440112200001010139";
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
            json!({"hold_id": hold["hold_id"], "applicant": applicant(WANG, "王强")}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let code = b["code"].as_str().unwrap().to_string();
    let officer = h.sign_in_as("officer@tianhe").await;
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
    let (s, v) = walk_in(WANG, "王强").await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "already_booked"),
        "{v}"
    );
    let (s, v) = walk_in(ZHENG, "郑华").await;
    assert_eq!(
        (s, v["label"].as_str()),
        (StatusCode::CREATED, Some("W001")),
        "{v}"
    );
    let (s, v) = walk_in(ZHENG, "郑华").await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "already_queued"),
        "{v}"
    );
    let t = h
        .store
        .tickets_of_day("tianhe", h.app.clock.today())
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        (t.channel.as_deref(), t.slot_id.is_some()),
        (Some("counter"), true)
    );
    let (chain, _) = h.store.audit_chain().await.unwrap();
    let walk_ins: Vec<_> = chain
        .iter()
        .filter(|e| e.action == "ticket.walk_in")
        .collect();
    assert_eq!(walk_ins.len(), 1, "refusals leave no entry");
    assert_eq!(walk_ins[0].subject, "ticket:W001");
    // Wang cancels his booking; in the evening no on-site slot runs.
    let (s, _) = h
        .post(
            &format!("/api/v1/bookings/{code}/cancel"),
            json!({"id_number": WANG}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    h.app.clock.advance(chrono::TimeDelta::hours(11));
    let officer = h.sign_in_as("officer@tianhe").await;
    let (s, v) = h
        .call(
            "POST",
            "/api/v1/halls/tianhe/walk-ins",
            Some(json!({"business": "passport_first", "name": "王强", "id_number": WANG})),
            &officer.headers(),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "walk_in_closed"),
        "{v}"
    );
    let r = h.store.verify_invariants().await.unwrap();
    assert!(r.is_clean(), "{r:?}");
}
both_dialects!(walk_ins_follow_the_booking_rules, walk_ins);

/// A booking whose check-in window closed without a check-in has lapsed: its slip says so and
/// offers nothing that belongs to a visit still to come.
async fn lapsed_slip(store: DynStore) {
    let h = Harness::new(store).await;
    let code = book_chen(&h).await;
    let before = slip(&h, &code, "zh-CN").await;
    assert!(
        before.contains("预约成功") && before.contains("签到时间"),
        "{before}"
    );
    clock_to(&h, &code, chrono::TimeDelta::minutes(31)).await;
    let page = slip(&h, &code, "zh-CN").await;
    assert!(
        page.contains("预约已失效") && !page.contains("预约成功"),
        "{page}"
    );
    assert_no_actions(&page);
    let key = h.app.slip_key(&code).await.unwrap();
    let (s, v) = h.get(&format!("/slip/{code}/form.pdf?k={key}")).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(
        v.to_string().contains("data-code=\\\"booking_lapsed"),
        "{v}"
    );
}
both_dialects!(
    a_lapsed_bookings_slip_shows_no_code_form_or_actions,
    lapsed_slip
);
