//! Acceptance channels through HTTP (issue 13, M4): every booking, ticket and application
//! records the channel of who called — the web for anonymous callers, a registered gateway's
//! own channel, the telephone for the hotline, the counter for staff at a site — and nobody
//! states one that is not theirs.

use super::staff::Session;
use super::{applicant, code_of, Harness};
use axum::http::StatusCode;
use serde_json::json;
use wujing_store::DynStore;
use wujing_testkit::both_dialects;

const CALLER: &str = "440112200001010139";
const CALLER_PHONE: &str = "13800138000";

async fn hold(h: &Harness) -> String {
    let slot = h.slot("tianhe", "passport_first").await;
    let (s, hold) = h
        .post(
            "/api/v1/holds",
            json!({"slot_id": slot["slot_id"], "business": "passport_first"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{hold}");
    hold["hold_id"].as_str().unwrap().to_string()
}

async fn gateway_token(h: &Harness, admin: &Session, name: &str, kind: &str) -> String {
    let (s, c) = h
        .post_as(
            admin,
            "/api/v1/admin/system-clients",
            Some(json!({"name": name, "kind": kind})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    c["token"].as_str().unwrap().to_string()
}

/// Per caller kind: an anonymous booking is the web's; a stated channel other than the caller's
/// is refused whoever states it; a WeChat gateway's booking is WeChat's; the production
/// centre's token books nothing.
async fn channel_per_caller(store: DynStore) {
    let h = Harness::new(store).await;
    let admin = h.sign_in_as("admin").await;

    for (stated, status, code) in [
        ("counter", StatusCode::FORBIDDEN, "channel_not_yours"),
        ("self_service", StatusCode::FORBIDDEN, "channel_not_yours"),
        ("telephone", StatusCode::FORBIDDEN, "channel_not_yours"),
        ("wechat", StatusCode::FORBIDDEN, "channel_not_yours"),
        ("hotline", StatusCode::BAD_REQUEST, "channel_invalid"),
    ] {
        let hold_id = hold(&h).await;
        let (s, v) = h
            .post(
                "/api/v1/bookings",
                json!({"hold_id": hold_id, "applicant": applicant(CALLER, "郑华"), "channel": stated}),
            )
            .await;
        assert_eq!((s, code_of(&v)), (status, code), "{stated}: {v}");
    }
    let hold_id = hold(&h).await;
    let (s, b) = h
        .post(
            "/api/v1/bookings",
            json!({"hold_id": hold_id, "applicant": applicant(CALLER, "郑华"), "channel": "web"}),
        )
        .await;
    assert_eq!(
        (s, b["channel"].as_str()),
        (StatusCode::CREATED, Some("web")),
        "{b}"
    );

    // A staff session sent along to a citizen endpoint changes nothing: still the web.
    let officer = h.sign_in_as("officer@tianhe").await;
    let hold_id = hold(&h).await;
    let (s, b) = h
        .post_as(
            &officer,
            "/api/v1/bookings",
            Some(json!({"hold_id": hold_id, "applicant": applicant("110101199003074514", "王芳")})),
        )
        .await;
    assert_eq!(
        (s, b["channel"].as_str()),
        (StatusCode::CREATED, Some("web")),
        "{b}"
    );

    // The WeChat gateway relays a citizen's booking: the booking is WeChat's.
    let wechat = gateway_token(&h, &admin, "wechat-gw", "wechat").await;
    let bearer = format!("Bearer {wechat}");
    let hold_id = hold(&h).await;
    let (s, b) = h
        .call(
            "POST",
            "/api/v1/bookings",
            Some(json!({"hold_id": hold_id, "applicant": applicant("11010119900307803X", "李娜")})),
            &[("authorization", bearer.as_str())],
        )
        .await;
    assert_eq!(
        (s, b["channel"].as_str()),
        (StatusCode::CREATED, Some("wechat")),
        "{b}"
    );
    // The gateway's token is no production centre's.
    let (s, _) = h
        .call(
            "GET",
            "/api/v1/production/batches",
            None,
            &[("authorization", bearer.as_str())],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // The production centre does not book for citizens.
    let centre = gateway_token(&h, &admin, "centre", "production_centre").await;
    let hold_id = hold(&h).await;
    let (s, v) = h
        .call(
            "POST",
            "/api/v1/bookings",
            Some(json!({"hold_id": hold_id, "applicant": applicant("110101199003072316", "赵强")})),
            &[("authorization", format!("Bearer {centre}").as_str())],
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::FORBIDDEN, "forbidden"),
        "{v}"
    );
    // An unknown kind of client is refused.
    let (s, v) = h
        .post_as(
            &admin,
            "/api/v1/admin/system-clients",
            Some(json!({"name": "counterfeit", "kind": "counter"})),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::BAD_REQUEST, "system_client_kind_invalid")
    );

    // Staff at a site: a walk-in ticket and an accepted application are the counter's.
    let (s, t) = h
        .call(
            "POST",
            "/api/v1/halls/tianhe/walk-ins",
            Some(json!({"business": "passport_first", "name": "王强", "id_number": "43010219881111033X"})),
            &officer.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let ticket = h
        .store
        .ticket(t["id"].as_i64().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ticket.channel.as_deref(), Some("counter"));
    let (a, _) = super::lifecycle::accept_booked(&h, &officer, "110101198001010037").await;
    assert_eq!(a["channel"], "counter", "{a}");
    // At a police station's acceptance point its staff record the police station's channel.
    let constable = h.sign_in_as("officer@conghua-jiekou-ps").await;
    let (s, t) = h
        .call(
            "POST",
            "/api/v1/halls/conghua-jiekou-ps/walk-ins",
            Some(json!({"business": "passport_first", "name": "陈静", "id_number": "110101198507150029"})),
            &constable.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let ticket = h
        .store
        .ticket(t["id"].as_i64().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ticket.channel.as_deref(), Some("police_station"));
}
both_dialects!(
    every_booking_ticket_and_application_records_its_callers_channel,
    channel_per_caller
);

/// The hotline books for a caller who reads out the code sent to their own phone: without the
/// code nothing is booked, the booking is the telephone's, and the attempt is audited with the
/// operator. Other staff cannot use the hotline's routes.
async fn hotline_booking(store: DynStore) {
    let h = Harness::new(store).await;
    let operator = h.sign_in_as("hotline").await;
    let officer = h.sign_in_as("officer@tianhe").await;
    let (s, v) = h
        .post_as(
            &officer,
            "/api/v1/hotline/phone-codes",
            Some(json!({"phone": CALLER_PHONE})),
        )
        .await;
    assert_eq!((s, code_of(&v)), (StatusCode::FORBIDDEN, "forbidden"));

    let (s, v) = h
        .post_as(
            &operator,
            "/api/v1/hotline/phone-codes",
            Some(json!({"phone": CALLER_PHONE})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let text = h
        .store
        .messages_to(CALLER_PHONE, 1)
        .await
        .unwrap()
        .remove(0)
        .body;
    assert!(
        text.contains("热线"),
        "the text says the hotline asks: {text}"
    );
    let code: String = text.chars().filter(char::is_ascii_digit).take(6).collect();

    let hold_id = hold(&h).await;
    let body = |code: Option<&str>| json!({"hold_id": hold_id, "applicant": applicant(CALLER, "郑华"), "phone_code": code});
    let (s, v) = h
        .post_as(&operator, "/api/v1/hotline/bookings", Some(body(None)))
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::BAD_REQUEST, "phone_code_required")
    );
    let (s, v) = h
        .post_as(
            &operator,
            "/api/v1/hotline/bookings",
            Some(body(Some("000000"))),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::BAD_REQUEST, "phone_code_wrong"),
        "{v}"
    );
    let (s, b) = h
        .post_as(
            &operator,
            "/api/v1/hotline/bookings",
            Some(body(Some(&code))),
        )
        .await;
    assert_eq!(
        (s, b["channel"].as_str()),
        (StatusCode::CREATED, Some("telephone")),
        "{b}"
    );
    // The confirmation with the slip link went to the caller's phone.
    let last = h
        .store
        .messages_to(CALLER_PHONE, 1)
        .await
        .unwrap()
        .remove(0);
    assert!(
        last.body.contains(b["code"].as_str().unwrap()),
        "{}",
        last.body
    );

    let entries = h
        .store
        .audit_search(&wujing_store::AuditQuery {
            citizen: None,
            actor: None,
            from: None,
            to: None,
            halls: None,
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    let e = entries
        .iter()
        .find(|e| e.action == "booking.hotline")
        .expect("the hotline booking is audited");
    assert!(e.actor.starts_with("staff:"), "{}", e.actor);
    assert!(
        !e.detail.to_string().contains(CALLER_PHONE),
        "masked: {}",
        e.detail
    );
    assert!(!e.subject.contains(CALLER));
}
both_dialects!(
    a_hotline_operator_books_for_a_caller_who_confirms_with_their_code,
    hotline_booking
);

/// The operator's page walks the call: free times of the chosen site and day, the seat held and
/// the code sent, a wrong code told, the right one books on the telephone channel.
async fn hotline_page(store: DynStore) {
    let h = Harness::new(store).await;
    let operator = h.sign_in_as("hotline").await;
    let cookie = [("cookie", operator.cookie.as_str())];
    let search = h
        .form(
            "GET",
            "/staff/hotline?business=passport_first&hall=tianhe&day=2026-12-02",
            "",
            &cookie,
        )
        .await;
    assert_eq!(search.status, StatusCode::OK);
    let i = search
        .body
        .find("name=\"slot_id\" value=\"")
        .expect("free times listed")
        + 22;
    let slot: String = search.body[i..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let caller = format!(
        "business=passport_first&hall=tianhe&day=2026-12-02&slot_id={slot}&name=%E9%83%91%E5%8D%8E&id_number={CALLER}&phone={CALLER_PHONE}&lang=zh-CN"
    );
    // A wrong identity number is told on the search step, and no seat is held for it.
    let bad = h
        .form(
            "POST",
            "/staff/hotline/hold",
            &format!(
                "csrf={}&{}",
                operator.csrf,
                caller.replace(CALLER, "440112200001010130")
            ),
            &cookie,
        )
        .await;
    assert_eq!(bad.status, StatusCode::OK);
    assert!(bad.body.contains("class=\"flash error\""), "{}", bad.body);
    let held = h
        .form(
            "POST",
            "/staff/hotline/hold",
            &format!("csrf={}&{caller}", operator.csrf),
            &cookie,
        )
        .await;
    assert!(held.body.contains("138****8000"), "{}", held.body);
    let hold_id = held.field("hold_id");
    assert!(!hold_id.is_empty());
    let text = h
        .store
        .messages_to(CALLER_PHONE, 1)
        .await
        .unwrap()
        .remove(0)
        .body;
    let code: String = text.chars().filter(char::is_ascii_digit).take(6).collect();
    let confirm = |code: String| {
        let body = format!(
            "csrf={}&{caller}&hold_id={hold_id}&code={code}",
            operator.csrf
        );
        let (h, cookie) = (&h, &cookie);
        async move {
            h.form("POST", "/staff/hotline/confirm", &body, cookie)
                .await
        }
    };
    let wrong = confirm("000000".into()).await;
    assert!(wrong.body.contains("验证码不正确"), "{}", wrong.body);
    let done = confirm(code).await;
    assert!(done.body.contains("已预约"), "{}", done.body);
    let i = done.body.find("<span class=\"code\">").unwrap() + 19;
    let code: String = done.body[i..].chars().take_while(|c| *c != '<').collect();
    let b = h.store.booking_by_code(&code).await.unwrap().unwrap();
    assert_eq!(b.channel, "telephone");
}
both_dialects!(
    the_hotline_page_books_a_caller_with_their_code,
    hotline_page
);
