//! HTML forms and page queries as typed input: a missing or malformed field gets the page's
//! friendly answer (the error page, or the staff page's message) and writes nothing; repeated
//! checkbox values all arrive; the CSRF token is still required on every staff form.

use super::staff::Session;
use super::Harness;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};

const ZHENG: &str = "440112200001010139"; // demo: 郑华, no passport yet

pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) location: String,
    pub(super) content_type: String,
    pub(super) body: String,
}

impl Answer {
    /// The message a post/redirect/get answer carries, decoded.
    pub(super) fn flash(&self) -> String {
        let msg = self.location.split("msg=").nth(1).unwrap_or("");
        let mut out = Vec::new();
        let b = msg.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                out.push(
                    u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap(), 16).unwrap(),
                );
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    /// The value of a form field on the page.
    pub(super) fn field(&self, name: &str) -> String {
        let pat = format!("name=\"{name}\" value=\"");
        let i = self
            .body
            .find(&pat)
            .unwrap_or_else(|| panic!("no {name} in {}", self.body))
            + pat.len();
        self.body[i..].split('"').next().unwrap().to_string()
    }
}

impl Harness {
    /// A urlencoded form (or, for GET, no body) with the given cookie and extra headers.
    pub(super) async fn form(
        &self,
        method: &str,
        uri: &str,
        body: &str,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut req = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if method != "GET" {
            req = req.header("content-type", "application/x-www-form-urlencoded");
        }
        let res = self
            .raw(req.body(Body::from(body.to_string())).unwrap())
            .await;
        let header = |k: &str| {
            res.headers()
                .get(k)
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default()
        };
        let (location, content_type) = (header("location"), header("content-type"));
        let status = res.status();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            location,
            content_type,
            body: String::from_utf8_lossy(&bytes).into(),
        }
    }

    async fn free_seats(&self) -> u64 {
        let (_, v) = self
            .get("/api/v1/availability?business=passport_first&halls=tianhe&from=2026-12-02&to=2026-12-08")
            .await;
        v["slots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["free"].as_u64().unwrap())
            .sum()
    }
}

fn cookie(s: &Session) -> [(&str, &str); 1] {
    [("cookie", s.cookie.as_str())]
}

/// The citizen's steps: a field missing or not of its type is the friendly error page, in the
/// page's language, with a stable code, and no seat is taken; a query that does not fit is
/// the error page too, not a plain-text answer.
#[tokio::test]
async fn portal_forms_answer_bad_fields_with_the_error_page() {
    let (store, _g) = wujing_testkit::sqlite_store().await;
    let h = Harness::new(store).await;
    let en = [("cookie", "wujing_lang=en")];
    let zh = [("cookie", "wujing_lang=zh-CN")];

    let a = h
        .form(
            "POST",
            "/book/passport_first/check",
            "name=%E9%83%91%E5%8D%8E",
            &en,
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    assert!(
        a.content_type.starts_with("text/html"),
        "{}",
        a.content_type
    );
    assert!(
        a.body.contains("body_invalid")
            && a.body.contains("the form is not filled in correctly")
            && a.body.contains("id_number"),
        "{}",
        a.body
    );
    let a = h
        .form("POST", "/book/passport_first/check", "name=x", &zh)
        .await;
    assert!(a.body.contains("表单填写有误"), "{}", a.body);

    // A real first step, then a time that is not a number and a day that is not a date.
    let a = h
        .form(
            "POST",
            "/book/passport_first/check",
            &format!("name=%E9%83%91%E5%8D%8E&id_number={ZHENG}"),
            &zh,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let ctx = a.field("ctx");
    let before = h.free_seats().await;
    let a = h
        .form(
            "POST",
            "/book/passport_first/hold",
            &format!("ctx={ctx}&slot_id=abc"),
            &en,
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    assert!(
        a.body.contains("body_invalid") && a.body.contains("slot_id"),
        "{}",
        a.body
    );
    let a = h
        .form(
            "POST",
            "/book/passport_first/hold",
            &format!("ctx={ctx}"),
            &en,
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    assert_eq!(h.free_seats().await, before, "no seat was held");
    let a = h
        .form(
            "POST",
            "/book/passport_first/times",
            &format!("ctx={ctx}&hall=tianhe&day=tomorrow"),
            &en,
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    assert!(a.body.contains("day"), "{}", a.body);
    // An unknown button is refused, not taken for another.
    let a = h
        .form("POST", "/my", "id_number=1&phone=2&action=delete", &en)
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);

    // Binding a device without its token is the error page.
    let a = h.form("POST", "/device", "back=/kiosk", &en).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        a.content_type.starts_with("text/html") && a.body.contains("body_invalid"),
        "{}",
        a.body
    );
}

/// Staff forms send a bad field back to their page as its message, like any other refusal,
/// and change nothing; the typed `op` forms do what they say.
#[tokio::test]
async fn staff_forms_send_bad_fields_back_and_write_nothing() {
    let (store, _g) = wujing_testkit::sqlite_store().await;
    let h = Harness::new(store).await;
    let admin = h.sign_in_as("admin").await;
    let hall = "/staff/admin/halls/tianhe";
    let capacity = || async {
        let (_, v) = h.get("/api/v1/halls/tianhe").await;
        v["capacity"].clone()
    };
    let before = capacity().await;
    let a = h
        .form(
            "POST",
            hall,
            &format!(
                "csrf={}&op=capacity&pool=online&seats_per_slot=abc&from=2026-12-05",
                admin.csrf
            ),
            &cookie(&admin),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert!(
        a.location.starts_with(&format!("{hall}?kind=error&msg=")),
        "{}",
        a.location
    );
    assert!(
        a.flash().contains("\"abc\""),
        "the value is named: {}",
        a.flash()
    );
    assert_eq!(capacity().await, before, "nothing changed");
    for body in [
        "op=launch",
        "op=window_add&kind=general",
        "op=day&day=2026-13-40&closed=true",
        "name_zh=x",
    ] {
        let a = h
            .form(
                "POST",
                hall,
                &format!("csrf={}&{body}", admin.csrf),
                &cookie(&admin),
            )
            .await;
        assert!(a.location.contains("kind=error"), "{body}: {}", a.location);
    }
    let a = h
        .form(
            "POST",
            hall,
            &format!("csrf={}&op=window_add&number=+97+&kind=general", admin.csrf),
            &cookie(&admin),
        )
        .await;
    assert!(a.location.contains("kind=ok"), "{}", a.flash());
    let (_, windows) = h
        .call(
            "GET",
            "/api/v1/admin/halls/tianhe/windows",
            None,
            &admin.headers(),
        )
        .await;
    assert!(
        windows
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["number"] == 97),
        "{windows}"
    );

    // A new account without its password is refused whole.
    let a = h
        .form(
            "POST",
            "/staff/admin/staff",
            &format!(
                "csrf={}&username=nopass&display_name=x&roles=leader",
                admin.csrf
            ),
            &cookie(&admin),
        )
        .await;
    assert!(
        a.location.starts_with("/staff/admin/staff?kind=error"),
        "{}",
        a.location
    );
    assert!(a.flash().contains("password"), "{}", a.flash());
    assert!(h.store.staff_by_username("nopass").await.unwrap().is_none());

    // The audit search takes empty days as no bound, and refuses a day that is not one.
    let a = h
        .form(
            "GET",
            "/staff/audit?citizen=&staff=&from=&to=",
            "",
            &cookie(&admin),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let a = h
        .form("GET", "/staff/audit?from=yesterday", "", &cookie(&admin))
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    assert!(a.body.contains("query_invalid"), "{}", a.body);
    // So does the reconciliation page (an empty day is today).
    let leader = h.sign_in_as("leader@tianhe").await;
    let a = h
        .form(
            "GET",
            "/staff/reconciliation?hall=tianhe&day=",
            "",
            &cookie(&leader),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
}

/// Every ticked checkbox arrives: the materials checklist at the counter and the reasons at the
/// rating terminal.
#[tokio::test]
async fn repeated_checkbox_values_all_arrive() {
    let (store, _g) = wujing_testkit::sqlite_store().await;
    let h = Harness::new(store).await;
    let officer = h.sign_in_as("officer@tianhe").await;
    let (s, t) = h
        .call(
            "POST",
            "/api/v1/halls/tianhe/walk-ins",
            Some(json!({"business": "passport_first", "name": "郑华", "id_number": ZHENG})),
            &officer.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let id = t["id"].as_i64().unwrap();
    let window = h
        .store
        .windows("tianhe")
        .await
        .unwrap()
        .into_iter()
        .find(|w| w.kind == "general")
        .unwrap()
        .number;
    let console = format!("/staff/counter/tianhe/{window}");
    let post = |body: String| {
        let (h, officer, console) = (&h, &officer, console.clone());
        async move {
            let a = h
                .form(
                    "POST",
                    &console,
                    &format!("csrf={}&{body}", officer.csrf),
                    &cookie(officer),
                )
                .await;
            assert!(a.location.contains("kind=ok"), "{body}: {}", a.flash());
            a.flash()
        }
    };
    assert!(post("op=next".into())
        .await
        .contains(t["label"].as_str().unwrap()));
    post(format!("op=start&ticket={id}")).await;
    // The console while serving: nothing decided for the officer, no second call.
    let screen = h.form("GET", &console, "", &cookie(&officer)).await.body;
    let boxes: Vec<&str> = screen
        .split("name=\"present\"")
        .skip(1)
        .map(|rest| rest.split('>').next().unwrap())
        .collect();
    assert!(
        !boxes.is_empty() && boxes.iter().all(|b| !b.contains("checked")),
        "{boxes:?}"
    );
    assert!(screen.contains("id=\"next\" disabled"), "{screen}");
    assert!(
        screen.contains("<option value=\"\" selected disabled>"),
        "no default urgent reason"
    );
    assert!(
        screen.contains("受理中") && !screen.contains("· serving ·"),
        "the state in words"
    );
    // All the materials but the last are ticked (names in Chinese, percent-encoded).
    let materials: Vec<String> =
        wujing_domain::documents::to_bring(h.app.catalogue.business("passport_first").unwrap())
            .into_iter()
            .map(|i| i.zh.to_string())
            .collect();
    assert!(materials.len() >= 2, "{materials:?}");
    let (left_out, ticked) = materials.split_last().unwrap();
    let present: String = ticked
        .iter()
        .map(|m| {
            let enc: String = m.bytes().map(|b| format!("%{b:02X}")).collect();
            format!("&present={enc}")
        })
        .collect();
    let msg = post(format!("op=accept&ticket={id}{present}")).await;
    assert!(msg.contains("补正"), "{msg}");
    let application = h.store.application_of(id).await.unwrap().unwrap();
    assert_eq!(application.missing, std::slice::from_ref(left_out));
    assert!(
        application.ready_by > application.supplement_due.unwrap(),
        "the date promised is never before the supplement deadline"
    );

    // The rating terminal: several reasons with one score.
    post(format!("op=finish&ticket={id}")).await;
    let admin = h.sign_in_as("admin").await;
    let (_, device) = h
        .call(
            "POST",
            "/api/v1/admin/devices",
            Some(json!({"name": "评价器", "hall_id": "tianhe", "kind": "rating_terminal", "window_number": window})),
            &admin.headers(),
        )
        .await;
    let bearer = format!("Bearer {}", device["token"].as_str().unwrap());
    let terminal = format!("/rate/tianhe/{window}");
    let screen = || async {
        let a = h
            .form("GET", &terminal, "", &[("authorization", &bearer)])
            .await;
        assert_eq!(a.status, StatusCode::OK);
        a.body
    };
    // The terminal asks about the finished ticket for two minutes, then returns to idle (the
    // citizen has left); a rating pressed a little later is still taken.
    let asking = screen().await;
    assert!(
        asking.contains("name=\"score\"") && asking.contains("data-idle-after=\"120\""),
        "{asking}"
    );
    // It names the officer who served at the window (the staff account's display name).
    assert!(
        asking.contains("为您服务：测试") && asking.contains("Served by 测试"),
        "{asking}"
    );
    // An account whose display name is only its log-in name: the public screen names no one
    // rather than show a log-in name.
    let (_, list) = h
        .call("GET", "/api/v1/admin/staff", None, &admin.headers())
        .await;
    let served_by = asking
        .split("为您服务：")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .unwrap()
        .to_string();
    let account = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["display_name"] == served_by.as_str())
        .unwrap()
        .clone();
    let (s, v) = h
        .call(
            "PATCH",
            &format!("/api/v1/admin/staff/{}", account["id"]),
            Some(json!({"display_name": account["username"]})),
            &admin.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let asking = screen().await;
    let username = account["username"].as_str().unwrap();
    assert!(
        !asking.contains(username) && !asking.contains("为您服务"),
        "{asking}"
    );
    h.app.clock.advance(chrono::TimeDelta::seconds(121));
    let idle = screen().await;
    assert!(
        !idle.contains("name=\"score\"") && idle.contains("Welcome"),
        "{idle}"
    );
    let a = h
        .form(
            "POST",
            &terminal,
            "reason=slow&score=unsatisfied&reason=attitude",
            &[("authorization", &bearer)],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert!(a.flash().contains("Thank you"), "{}", a.flash());
    // Rated, the terminal stays idle: it never asks about a rated ticket again.
    h.app.clock.advance(chrono::TimeDelta::seconds(-100));
    assert!(!screen().await.contains("name=\"score\""));
    let leader = h.sign_in_as("leader").await;
    let (_, alerts) = h
        .call("GET", "/api/v1/alerts", None, &leader.headers())
        .await;
    let reasons = alerts[0]["reasons"].as_str().unwrap_or_default();
    assert!(
        reasons.contains("slow") && reasons.contains("attitude"),
        "{alerts}"
    );
}

/// A staff form needs the session's CSRF token, in its `csrf` field or the header: missing,
/// forged, given twice or in a body that is not a form, it is refused and nothing is written.
#[tokio::test]
async fn staff_forms_still_need_the_csrf_token() {
    let (store, _g) = wujing_testkit::sqlite_store().await;
    let h = Harness::new(store).await;
    let admin = h.sign_in_as("admin").await;
    let account = |user: &str| {
        format!("username={user}&display_name=x&password=a+long+password&roles=leader")
    };
    let refused = [
        account("nocsrf"),
        format!("csrf=forged&{}", account("forged")),
        format!("csrf=&{}", account("empty")),
        format!("csrf=forged&csrf={}&{}", admin.csrf, account("twice")),
    ];
    for body in &refused {
        let a = h
            .form("POST", "/staff/admin/staff", body, &cookie(&admin))
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{body}");
        assert!(a.body.contains("csrf_invalid"), "{}", a.body);
    }
    let req = Request::post("/staff/admin/staff")
        .header("cookie", &admin.cookie)
        .body(Body::from(format!(
            "csrf={}&{}",
            admin.csrf,
            account("untyped")
        )))
        .unwrap();
    assert_eq!(
        h.raw(req).await.status(),
        StatusCode::FORBIDDEN,
        "not a form: no field read"
    );
    for user in ["nocsrf", "forged", "empty", "twice", "untyped"] {
        assert!(
            h.store.staff_by_username(user).await.unwrap().is_none(),
            "{user}"
        );
    }
    // The header does as well as the field.
    let a = h
        .form(
            "POST",
            "/staff/admin/staff",
            &account("byheader"),
            &[("cookie", &admin.cookie), ("x-csrf-token", &admin.csrf)],
        )
        .await;
    assert!(a.location.contains("kind=ok"), "{}", a.flash());
    assert!(h
        .store
        .staff_by_username("byheader")
        .await
        .unwrap()
        .is_some());
    // The counter console: a forged token calls nobody.
    let officer = h.sign_in_as("officer@tianhe").await;
    let (s, _) = h
        .call(
            "POST",
            "/api/v1/halls/tianhe/walk-ins",
            Some(json!({"business": "passport_first", "name": "郑华", "id_number": ZHENG})),
            &officer.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let a = h
        .form(
            "POST",
            "/staff/counter/tianhe/1",
            "csrf=forged&op=next",
            &cookie(&officer),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let (_, tickets) = h
        .call(
            "GET",
            "/api/v1/halls/tianhe/tickets",
            None,
            &officer.headers(),
        )
        .await;
    let tickets: &Vec<Value> = tickets.as_array().unwrap();
    assert!(
        tickets.iter().all(|t| t["status"] == "waiting"),
        "{tickets:?}"
    );
}
