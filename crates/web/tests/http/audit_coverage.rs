//! Finding 13 of issue 11: every staff action that touches a citizen, and every sign-in,
//! sign-out and read of the trail, leaves an entry in the audit trail, made over HTTP by the
//! role that may do it and found again with its actor, action and citizen; and the audit page
//! shows times in the halls' local time. On SQLite and PostgreSQL.

use super::staff::{Session, PASSWORD};
use super::{applicant, code_of, test_config, Harness};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use wujing_domain::audit::AuditEntry;
use wujing_store::{AuditQuery, DynStore};
use wujing_testkit::both_dialects;

/// Demo registry: Guangzhou hukou, no passport yet.
const ZHENG: &str = "440112200001010139";
/// Zheng's identity key as stored: a blind index under the test keys.
fn zheng_key() -> String {
    wujing_testkit::test_keys().identity_key("CHN:440112200001010139")
}

/// How auditors see Zheng: a pseudonym, the start of the blind index.
fn zheng_shown() -> String {
    format!("{}…", &zheng_key()[..12])
}
const FROM: &str = "203.0.113.7";

/// A harness that takes the client's address from `X-Forwarded-For`, so that tests can check
/// the address recorded.
async fn harness(store: DynStore, config: wujing_app::Config) -> Harness {
    Harness::with_options(
        store,
        config,
        wujing_web::WebOptions {
            trust_forwarded_for: true,
            ..Default::default()
        },
    )
    .await
}

/// An account with roles like `officer@tianhe`, signed in: its actor id and session.
async fn staff(h: &Harness, spec: &str) -> (String, String, Session) {
    let username = h.create_account(spec).await;
    let id = h
        .store
        .staff_by_username(&username)
        .await
        .unwrap()
        .unwrap()
        .id;
    let session = h.session_of(&username).await;
    (format!("staff:{id}"), username, session)
}

/// A session's headers with the client address.
fn from(s: &Session) -> [(&str, &str); 3] {
    let [c, x] = s.headers();
    [c, x, ("x-forwarded-for", FROM)]
}

/// The whole trail, oldest first, read from the store (reading it over HTTP would add entries).
async fn trail(h: &Harness) -> Vec<AuditEntry> {
    let mut all = h
        .store
        .audit_search(&AuditQuery {
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap();
    all.sort_by_key(|e| e.seq);
    all
}

async fn with_action(h: &Harness, action: &str) -> Vec<AuditEntry> {
    trail(h)
        .await
        .into_iter()
        .filter(|e| e.action == action)
        .collect()
}

/// The one entry of `action`, checked for its actor, citizen and client address.
async fn the_entry(h: &Harness, action: &str, actor: &str, citizen: Option<&str>) -> AuditEntry {
    let found = with_action(h, action).await;
    assert_eq!(found.len(), 1, "{action}: {found:?}");
    let e = found.into_iter().next().unwrap();
    assert_eq!(e.actor, actor, "{action}");
    assert_eq!(e.citizen.as_deref(), citizen, "{action}");
    assert_eq!(e.client_addr.as_deref(), Some(FROM), "{action}");
    e
}

fn detail(e: &AuditEntry) -> Value {
    serde_json::from_str(&e.detail).unwrap()
}

/// Zheng's booking at tianhe; its code.
async fn zheng_books(h: &Harness) -> String {
    let slot = h.slot("tianhe", "passport_first").await;
    let (s, hold) = h
        .post(
            "/api/v1/holds",
            json!({"slot_id": slot["slot_id"], "business": "passport_first"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{hold}");
    let (s, b) = h
        .post(
            "/api/v1/bookings",
            json!({"hold_id": hold["hold_id"], "applicant": applicant(ZHENG, "郑华")}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b["code"].as_str().unwrap().to_string()
}

/// A walk-in ticket for Zheng waiting in tianhe's queue A, issued straight into the store.
async fn waiting_ticket(h: &Harness) -> (i64, String) {
    let t = h
        .store
        .issue_ticket(&wujing_store::NewTicket {
            hall_id: "tianhe".into(),
            day: h.app.clock.today(),
            queue: "A".into(),
            booking_id: None,
            booking_slot_id: None,
            business: "passport_first".into(),
            identity_key: zheng_key(),
            kind: "walk_in".into(),
            channel: "counter".into(),
            priority: 0,
            due_at: h.app.clock.now(),
            now: h.app.clock.now(),
        })
        .await
        .unwrap();
    (t.id, t.label)
}

async fn general_window(h: &Harness) -> u32 {
    h.store
        .windows("tianhe")
        .await
        .unwrap()
        .into_iter()
        .find(|w| w.kind == "general")
        .unwrap()
        .number
}

async fn page(h: &Harness, uri: &str, s: &Session) -> (StatusCode, String) {
    let res = h
        .raw(
            Request::get(uri)
                .header("cookie", &s.cookie)
                .header("x-forwarded-for", FROM)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, String::from_utf8(body).unwrap())
}

async fn post_form(h: &Harness, uri: &str, s: &Session, form: &str) -> StatusCode {
    h.raw(
        Request::post(uri)
            .header("cookie", &s.cookie)
            .header("x-forwarded-for", FROM)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(format!("csrf={}&{form}", s.csrf)))
            .unwrap(),
    )
    .await
    .status()
}

async fn masked_booking_lookups_are_audited_with_the_citizen(store: DynStore) {
    let h = harness(store, test_config()).await;
    let code = zheng_books(&h).await;
    let (officer, _, o) = staff(&h, "officer@tianhe").await;
    let (s, v) = h
        .call(
            "GET",
            &format!("/api/v1/staff/bookings/{code}"),
            None,
            &from(&o),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["applicant"]["id_number"], "44**************39");
    let e = the_entry(&h, "booking.lookup", &officer, Some(zheng_key().as_str())).await;
    assert_eq!(e.subject, format!("booking:{code}"));
    // A lookup refused (another hall's officer) or of no booking records nothing.
    let (_, _, other) = staff(&h, "officer@baiyun").await;
    for uri in [
        format!("/api/v1/staff/bookings/{code}"),
        "/api/v1/staff/bookings/NOSUCHCODE00".to_string(),
    ] {
        let (s, _) = h.call("GET", &uri, None, &from(&other)).await;
        assert!(s.is_client_error(), "{uri}: {s}");
    }
    assert_eq!(with_action(&h, "booking.lookup").await.len(), 1);
}
both_dialects!(
    booking_lookup,
    masked_booking_lookups_are_audited_with_the_citizen
);

async fn every_counter_action_is_audited_with_the_window_and_the_citizen(store: DynStore) {
    let h = harness(store, test_config()).await;
    let window = general_window(&h).await;
    let (officer, _, o) = staff(&h, "officer@tianhe").await;
    let base = format!("/api/v1/halls/tianhe/windows/{window}");
    let act = |id: i64, body: Value| {
        let (h, o, base) = (&h, &o, base.clone());
        async move {
            let (s, v) = h
                .call(
                    "POST",
                    &format!("{base}/tickets/{id}/action"),
                    Some(body),
                    &from(o),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
            v
        }
    };
    // Nobody waiting: a call that finds no one touches no citizen and records nothing.
    let (s, _) = h
        .call("POST", &format!("{base}/call"), None, &from(&o))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(with_action(&h, "ticket.call").await.is_empty());

    // Call, start, finish.
    let (id, label) = waiting_ticket(&h).await;
    let (s, v) = h
        .call("POST", &format!("{base}/call"), None, &from(&o))
        .await;
    assert_eq!((s, v["id"].as_i64()), (StatusCode::OK, Some(id)), "{v}");
    let e = the_entry(&h, "ticket.call", &officer, Some(zheng_key().as_str())).await;
    assert_eq!(
        (e.subject.as_str(), e.station.as_deref()),
        (
            format!("ticket:{label}").as_str(),
            Some(format!("window:{window}").as_str())
        )
    );
    act(id, json!("recall")).await;
    the_entry(&h, "ticket.recall", &officer, Some(zheng_key().as_str())).await;
    act(id, json!("start")).await;
    the_entry(&h, "ticket.start", &officer, Some(zheng_key().as_str())).await;
    act(id, json!("park")).await;
    the_entry(&h, "ticket.park", &officer, Some(zheng_key().as_str())).await;
    act(id, json!("unpark")).await;
    the_entry(&h, "ticket.unpark", &officer, Some(zheng_key().as_str())).await;
    act(id, json!("start")).await;
    act(id, json!("finish")).await;
    let e = the_entry(&h, "ticket.finish", &officer, Some(zheng_key().as_str())).await;
    assert_eq!(detail(&e)["status"], "done");

    // No-show, then back in the queue.
    let (id, _) = waiting_ticket(&h).await;
    h.call("POST", &format!("{base}/call"), None, &from(&o))
        .await;
    act(id, json!("no_show")).await;
    the_entry(&h, "ticket.no_show", &officer, Some(zheng_key().as_str())).await;
    act(id, json!("requeue")).await;
    the_entry(&h, "ticket.requeue", &officer, Some(zheng_key().as_str())).await;

    // Transfer to the walk-in queue.
    h.call("POST", &format!("{base}/call"), None, &from(&o))
        .await;
    act(id, json!({"transfer_last": {"queue": "W"}})).await;
    let e = the_entry(&h, "ticket.transfer", &officer, Some(zheng_key().as_str())).await;
    assert_eq!(
        (detail(&e)["from"].clone(), detail(&e)["to"].clone()),
        (json!("A"), json!("W"))
    );

    // A refused move records nothing.
    let (s, v) = h
        .call(
            "POST",
            &format!("{base}/tickets/{id}/action"),
            Some(json!("finish")),
            &from(&o),
        )
        .await;
    assert_eq!((s, code_of(&v)), (StatusCode::CONFLICT, "ticket_state"));
    assert_eq!(with_action(&h, "ticket.finish").await.len(), 1);

    // The console page's buttons go through the same use cases: "next" is a call.
    let console = format!("/staff/counter/tianhe/{window}");
    assert_eq!(
        post_form(&h, &console, &o, "op=next").await,
        StatusCode::SEE_OTHER
    );
    let calls = with_action(&h, "ticket.call").await;
    assert_eq!(calls.len(), 4, "{calls:?}");
    assert!(calls
        .iter()
        .all(|e| e.actor == officer && e.citizen.as_deref() == Some(zheng_key().as_str())));
    assert_eq!(
        h.app.audit_verify().await.unwrap(),
        Ok(trail(&h).await.len() as u64)
    );
}
both_dialects!(
    counter_actions,
    every_counter_action_is_audited_with_the_window_and_the_citizen
);

async fn urgent_requests_are_audited_with_their_request(store: DynStore) {
    let h = harness(store, test_config()).await;
    let window = general_window(&h).await;
    let (officer, _, o) = staff(&h, "officer@tianhe").await;
    let (id, label) = waiting_ticket(&h).await;
    let uri = format!("/api/v1/halls/tianhe/windows/{window}/tickets/{id}/urgent");
    let (s, v) = h
        .call(
            "POST",
            &uri,
            Some(json!({"reason": "funeral", "note": "父亲病故"})),
            &from(&o),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["ticket_label"], label.as_str());
    let e = the_entry(&h, "urgent.request", &officer, Some(zheng_key().as_str())).await;
    assert_eq!(e.subject, format!("ticket:{label}"));
    assert_eq!(detail(&e)["reason"], "funeral");
    // A second request while one waits is refused, and the refusal leaves no entry: the
    // request and its entry are written together or not at all.
    let (s, v) = h
        .call("POST", &uri, Some(json!({"reason": "other"})), &from(&o))
        .await;
    assert_eq!((s, code_of(&v)), (StatusCode::CONFLICT, "urgent_open"));
    assert_eq!(with_action(&h, "urgent.request").await.len(), 1);
    // The leader's decision is found by the citizen too.
    let (leader, _, l) = staff(&h, "leader@tianhe").await;
    let (s, _) = h
        .call(
            "POST",
            &format!("/api/v1/urgent/{}/decision", v_id(&h).await),
            Some(json!({"approved": true})),
            &from(&l),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    the_entry(&h, "urgent.approve", &leader, Some(zheng_key().as_str())).await;
}
both_dialects!(
    urgent_request,
    urgent_requests_are_audited_with_their_request
);

async fn v_id(h: &Harness) -> i64 {
    h.store.urgent_requests(true).await.unwrap()[0].id
}

async fn signing_out_is_audited_and_ends_the_session(store: DynStore) {
    let h = harness(store, test_config()).await;
    // Through the API.
    let (me, _, s) = staff(&h, "leader@tianhe").await;
    let (st, _) = h
        .call("DELETE", "/api/v1/staff/session", None, &from(&s))
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let e = the_entry(&h, "session.sign_out", &me, None).await;
    assert_eq!(e.subject, me);
    let (st, _) = h.call("GET", "/api/v1/staff/me", None, &s.headers()).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    // Signing out again without a session has nothing to end or record.
    let (st, _) = h
        .call("DELETE", "/api/v1/staff/session", None, &from(&s))
        .await;
    assert!(st.is_client_error(), "{st}");
    assert_eq!(with_action(&h, "session.sign_out").await.len(), 1);
    // Through the page's button.
    let (other, _, p) = staff(&h, "officer@tianhe").await;
    assert_eq!(
        post_form(&h, "/staff/logout", &p, "").await,
        StatusCode::SEE_OTHER
    );
    let outs = with_action(&h, "session.sign_out").await;
    assert_eq!(outs.len(), 2);
    assert_eq!(
        (outs[1].actor.as_str(), outs[1].client_addr.as_deref()),
        (other.as_str(), Some(FROM))
    );
    let (st, _) = h.call("GET", "/api/v1/staff/me", None, &p.headers()).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}
both_dialects!(sign_out, signing_out_is_audited_and_ends_the_session);

async fn sign_in(h: &Harness, username: &str, password: &str, addr: &str) -> (StatusCode, Value) {
    h.call(
        "POST",
        "/api/v1/staff/session",
        Some(json!({"username": username, "password": password})),
        &[("x-forwarded-for", addr)],
    )
    .await
}

async fn failed_sign_ins_are_audited_without_user_names_that_match_no_account(store: DynStore) {
    let config = wujing_app::Config {
        auth: wujing_app::AuthConfig {
            addr_attempts: 8,
            ..test_config().auth
        },
        ..test_config()
    };
    let h = harness(store, config).await;
    let target = h.create_account("admin").await;
    let id = h
        .store
        .staff_by_username(&target)
        .await
        .unwrap()
        .unwrap()
        .id;
    let actor = format!("staff:{id}");

    // A wrong password: recorded against the account, with the address.
    let (s, v) = sign_in(&h, &target, "not the password", FROM).await;
    assert_eq!((s, code_of(&v)), (StatusCode::UNAUTHORIZED, "login_failed"));
    let e = the_entry(&h, "session.sign_in_failed", &actor, None).await;
    assert_eq!(
        (e.subject.as_str(), e.actor_name.as_str()),
        (actor.as_str(), target.as_str())
    );
    assert_eq!(detail(&e)["reason"], "wrong_password");

    // A name that is no account (here a password typed into the wrong box) is never written.
    let typed = "Tr0ub4dor&3-secret";
    let (s, _) = sign_in(&h, typed, "whatever it is", "198.51.100.20").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let failed = with_action(&h, "session.sign_in_failed").await;
    assert_eq!(failed.len(), 2);
    let unknown = &failed[1];
    assert_eq!(
        (
            unknown.actor.as_str(),
            unknown.subject.as_str(),
            unknown.client_addr.as_deref()
        ),
        ("anonymous", "staff:unknown", Some("198.51.100.20"))
    );
    let everything = format!("{:?}", trail(&h).await);
    assert!(
        !everything
            .to_ascii_lowercase()
            .contains(&typed.to_ascii_lowercase()),
        "the typed name is in the trail"
    );

    // Four more wrong passwords, then the user name's delay refuses even the right one: the
    // refusal is recorded against the account.
    for _ in 0..4 {
        sign_in(&h, &target, "not the password", FROM).await;
    }
    let (s, v) = sign_in(&h, &target, PASSWORD, FROM).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "login_throttled")
    );
    let throttled: Vec<AuditEntry> = with_action(&h, "session.sign_in_failed")
        .await
        .into_iter()
        .filter(|e| detail(e)["reason"] == "throttled")
        .collect();
    assert_eq!(throttled.len(), 1, "{throttled:?}");
    assert_eq!(
        (
            throttled[0].actor.as_str(),
            detail(&throttled[0])["gate"].clone()
        ),
        (actor.as_str(), json!("user_name"))
    );

    // The address has used its 8 attempts (5 + 1 above, 2 now); after that, its refusals are
    // recorded once per delay, however often it knocks.
    for _ in 0..2 {
        sign_in(&h, "nobody-here", "x", FROM).await;
    }
    for _ in 0..20 {
        let (s, v) = sign_in(&h, &target, PASSWORD, FROM).await;
        assert_eq!(
            (s, code_of(&v)),
            (StatusCode::TOO_MANY_REQUESTS, "login_throttled")
        );
    }
    let by_address: Vec<AuditEntry> = with_action(&h, "session.sign_in_failed")
        .await
        .into_iter()
        .filter(|e| detail(e)["gate"] == "address")
        .collect();
    assert_eq!(by_address.len(), 1, "{by_address:?}");
    assert_eq!(
        (
            by_address[0].actor.as_str(),
            by_address[0].client_addr.as_deref()
        ),
        (actor.as_str(), Some(FROM))
    );
    // The administrator finds the attempts by the account's name.
    let (_, _, admin) = staff(&h, "admin").await;
    let (s, v) = h
        .call(
            "GET",
            &format!("/api/v1/audit?staff={target}"),
            None,
            &from(&admin),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let failed = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "session.sign_in_failed")
        .count();
    assert_eq!(
        failed, 7,
        "5 wrong passwords, 1 user-name delay, 1 address delay"
    );
}
both_dialects!(
    failed_sign_in,
    failed_sign_ins_are_audited_without_user_names_that_match_no_account
);

async fn reading_the_trail_is_audited_with_the_number_masked(store: DynStore) {
    let h = harness(store, test_config()).await;
    let (supervisor, _, s) = staff(&h, "supervisor").await;
    // Through the API: one entry per search, the searched citizen in its citizen field, the
    // criteria with the number masked.
    let (st, v) = h
        .call(
            "GET",
            &format!("/api/v1/audit?citizen={ZHENG}&limit=50"),
            None,
            &from(&s),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v, json!([]), "the search does not find its own entry");
    let e = the_entry(&h, "audit.read", &supervisor, Some(zheng_key().as_str())).await;
    let d = detail(&e);
    assert_eq!(
        (
            d["citizen"].clone(),
            d["limit"].clone(),
            d["results"].clone()
        ),
        (json!(zheng_shown()), json!(50), json!(0))
    );
    assert!(!e.detail.contains(ZHENG), "{}", e.detail);
    // Through the page: one more entry per view; the earlier search shows, masked.
    let (st, html) = page(&h, &format!("/staff/audit?citizen={ZHENG}"), &s).await;
    assert_eq!(st, StatusCode::OK);
    let (_, table) = html.split_once("<table").unwrap();
    assert!(
        table.contains("查阅审计记录") && table.contains(&zheng_shown()),
        "{table}"
    );
    assert!(!table.contains(ZHENG), "{table}");
    let reads = with_action(&h, "audit.read").await;
    assert_eq!(reads.len(), 2);
    assert!(reads.iter().all(|e| e.actor == supervisor
        && e.citizen.as_deref() == Some(zheng_key().as_str())
        && !e.detail.contains(ZHENG)));
    // A search without a citizen concerns none.
    page(&h, "/staff/audit", &s).await;
    let reads = with_action(&h, "audit.read").await;
    assert_eq!((reads.len(), reads[2].citizen.as_ref()), (3, None));
}
both_dialects!(
    audit_read,
    reading_the_trail_is_audited_with_the_number_masked
);

async fn the_audit_page_shows_times_in_the_halls_local_time(store: DynStore) {
    // The harness clock stands at 2026-12-01 01:00 UTC, 09:00 in Guangzhou.
    let h = harness(store, test_config()).await;
    let (_, _, s) = staff(&h, "supervisor").await;
    let (st, html) = page(&h, "/staff/audit", &s).await;
    assert_eq!(st, StatusCode::OK);
    // The zone is named as staff say it, never as "UTC".
    assert!(
        html.contains("北京时间") && !html.contains("UTC"),
        "the zone is named: {html}"
    );
    let (_, table) = html.split_once("<table").unwrap();
    assert!(
        table.contains(r#"<time datetime="2026-12-01T01:00:00.000Z">2026-12-01 09:00:00</time>"#),
        "{table}"
    );
    assert!(!table.contains(">2026-12-01 01:00"), "{table}");
    // Actions read in words, not as their codes.
    assert!(
        table.contains("<td>登录</td>") && !table.contains("session.sign_in"),
        "{table}"
    );
}
both_dialects!(
    local_time,
    the_audit_page_shows_times_in_the_halls_local_time
);
