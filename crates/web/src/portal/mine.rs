//! My bookings: the identity number and a code sent to the phone booked with find a citizen's
//! bookings: the current ones, then the history (used, cancelled, lapsed) with each visit's
//! application and receipt.

use crate::extract::{ClientAddr, PageContext, PageForm};
use crate::pages::render;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use wujing_app::citizen::CodeRequest;
use wujing_app::lifecycle::MyApplication;
use wujing_app::BookingView;

#[derive(Template)]
#[template(path = "portal_my.html")]
struct MyPage {
    page: PageContext,
    title: String,
    msg: String,
    msg_kind: String,
    id_number: String,
    phone: String,
    /// Whether a lookup succeeded (its list may be empty: that is an answer, not an error).
    found: bool,
    /// Each booking with its slip key and whether it lapsed (listed with the history).
    bookings: Vec<(BookingView, String, bool)>,
}

pub async fn my(page: PageContext) -> Response {
    let title = page.t("我的预约", "My bookings").to_string();
    render(&MyPage {
        page,
        title,
        msg: String::new(),
        msg_kind: String::new(),
        id_number: String::new(),
        phone: String::new(),
        found: false,
        bookings: vec![],
    })
}

/// The form: identity number, phone, the code sent to it, and which button.
#[derive(Deserialize)]
pub struct MyForm {
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    action: MyAction,
}

#[derive(Deserialize, Default, PartialEq)]
#[serde(rename_all = "snake_case")]
enum MyAction {
    /// Send the phone code.
    Send,
    #[default]
    Find,
}

pub async fn my_submit(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    PageForm(f): PageForm<MyForm>,
) -> Response {
    let (id, phone) = (f.id_number.trim().to_string(), f.phone.trim().to_string());
    let mut found = false;
    let (msg, kind, bookings) = if f.action == MyAction::Send {
        match s
            .app
            .send_phone_code(
                &CodeRequest {
                    phone: phone.clone(),
                    purpose: Some("lookup".into()),
                    lang: Some(page.lang().into()),
                },
                addr.as_deref(),
            )
            .await
        {
            Ok(_) => (
                page.t("验证码已发送", "Code sent").to_string(),
                "ok",
                vec![],
            ),
            Err(e) => (page.message(&e), "error", vec![]),
        }
    } else {
        match s.app.my_bookings(&id, &phone, f.code.trim()).await {
            Ok(b) => {
                found = true;
                let b = b
                    .into_iter()
                    .map(|(v, k)| {
                        let lapsed = s.app.has_lapsed(&v);
                        (v, k, lapsed)
                    })
                    .collect();
                (String::new(), "ok", b)
            }
            Err(e) => (page.message(&e), "error", vec![]),
        }
    };
    let title = page.t("我的预约", "My bookings").to_string();
    render(&MyPage {
        page,
        title,
        msg,
        msg_kind: kind.into(),
        id_number: id,
        phone,
        found,
        bookings,
    })
}

// --- The status query ------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "portal_status.html")]
struct StatusPage {
    page: PageContext,
    title: String,
    msg: String,
    msg_kind: String,
    id_number: String,
    phone: String,
    /// Whether a search was made (an empty list then says so).
    searched: bool,
    found: Vec<Found>,
}

/// One application, in the page's language.
struct Found {
    business: String,
    hall: String,
    accepted: String,
    state: String,
    status: String,
    ready_by: String,
    next: String,
    collection: String,
    history: Vec<(String, String, String, String)>,
    link: String,
}

fn found(page: &PageContext, m: MyApplication) -> Found {
    let a = &m.application;
    let china = wujing_domain::calendar::china_offset();
    Found {
        business: page
            .t(m.business_zh.as_str(), m.business_en.as_str())
            .into(),
        hall: page.t(m.hall_zh.as_str(), m.hall_en.as_str()).into(),
        accepted: m
            .accepted_at
            .with_timezone(&china)
            .format("%Y-%m-%d")
            .to_string(),
        state: page.t(a.status_zh.as_str(), a.status_en.as_str()).into(),
        status: a.status.clone(),
        ready_by: a.ready_by.to_string(),
        next: page
            .t(a.next_step_zh.as_str(), a.next_step_en.as_str())
            .into(),
        collection: page
            .t(a.collection_zh.as_str(), a.collection_en.as_str())
            .into(),
        history: a
            .history
            .iter()
            .map(|s| {
                (
                    s.state.clone(),
                    page.t(s.name_zh.as_str(), s.name_en.as_str()).into(),
                    s.at.format("%Y-%m-%d %H:%M").to_string(),
                    s.at.to_rfc3339(),
                )
            })
            .collect(),
        link: m.link,
    }
}

/// The status query's form: identity number, phone and a code sent to it.
pub async fn status(page: PageContext) -> Response {
    let title = page.t("办证进度查询", "Application status").to_string();
    render(&StatusPage {
        page,
        title,
        msg: String::new(),
        msg_kind: String::new(),
        id_number: String::new(),
        phone: String::new(),
        searched: false,
        found: vec![],
    })
}

pub async fn status_submit(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    PageForm(f): PageForm<MyForm>,
) -> Response {
    let (id, phone) = (f.id_number.trim().to_string(), f.phone.trim().to_string());
    let mut searched = false;
    let (msg, kind, list) = if f.action == MyAction::Send {
        match s
            .app
            .send_phone_code(
                &CodeRequest {
                    phone: phone.clone(),
                    purpose: Some("lookup".into()),
                    lang: Some(page.lang().into()),
                },
                addr.as_deref(),
            )
            .await
        {
            Ok(_) => (
                page.t("验证码已发送", "Code sent").to_string(),
                "ok",
                vec![],
            ),
            Err(e) => (page.message(&e), "error", vec![]),
        }
    } else {
        match s.app.my_applications(&id, &phone, f.code.trim()).await {
            Ok(list) => {
                searched = true;
                (String::new(), "ok", list)
            }
            Err(e) => (page.message(&e), "error", vec![]),
        }
    };
    let found = list.into_iter().map(|m| found(&page, m)).collect();
    let title = page.t("办证进度查询", "Application status").to_string();
    render(&StatusPage {
        page,
        title,
        msg,
        msg_kind: kind.into(),
        id_number: id,
        phone,
        searched,
        found,
    })
}
