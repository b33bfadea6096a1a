//! My bookings: the identity number and a code sent to the phone booked with find a citizen's
//! active bookings.

use crate::extract::{ClientAddr, PageContext, PageForm};
use crate::pages::render;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use wujing_app::citizen::CodeRequest;
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
    bookings: Vec<(BookingView, String)>,
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
            Ok(b) if b.is_empty() => (
                page.t("没有找到有效的预约", "No active bookings found")
                    .to_string(),
                "error",
                vec![],
            ),
            Ok(b) => (String::new(), "ok", b),
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
        bookings,
    })
}
