//! The citizen portal: choose a business, pass the eligibility pre-check, pick a hall, day and
//! time (with alternatives when full), hold, verify the phone, confirm, and get the slip with
//! its QR code, calendar file and pre-filled form; find, cancel and reschedule bookings.
//!
//! Server-rendered, zh-CN by default with English on every page (cookie `wujing_lang`), a
//! large-text mode (cookie `wujing_text`), and no script needed except the hold countdown.
//! Steps carry what the citizen typed in a hidden `ctx` field (their own data, back to them);
//! every decision is the app's, exactly as through the API.
//!
//! One module per step: this one starts (home, the business's questions) and switches the
//! language and text size; [`choose`] checks eligibility and offers halls, days and times;
//! [`hold`] holds the seat, sends the phone code and confirms; [`slip`] shows the slip with its
//! calendar file and form, and cancels or reschedules; [`mine`] finds one's bookings.

mod choose;
pub mod foreign;
mod hold;
mod mine;
pub mod online;
mod slip;

pub use choose::{check, times};
pub use hold::{confirm, hold};
pub use mine::{my, my_submit};
pub use mine::{status, status_submit};
pub use slip::{change, collection, form_pdf, ics, reschedule, slip, withdraw};

use crate::extract::{PageContext, PageQuery, LANG_COOKIE, TEXT_COOKIE};
use crate::pages::render;
use crate::{ApiResult, AppState};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use serde::{Deserialize, Serialize};
use wujing_app::{AppError, AppResult, BusinessView, Code};
use wujing_domain::documents::{to_bring, Item};
use wujing_domain::Answers;

#[derive(Deserialize)]
pub struct Switch {
    to: Option<String>,
    size: Option<String>,
    back: Option<String>,
}

fn pref_cookie(name: &str, value: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; SameSite=Lax; Max-Age=31536000"
    ))
    .expect("plain cookie")
}

pub async fn switch_lang(PageQuery(q): PageQuery<Switch>) -> Response {
    let v = if q.to.as_deref() == Some("en") {
        "en"
    } else {
        "zh-CN"
    };
    let mut r =
        Redirect::to(crate::same_site_path(q.back.as_deref().unwrap_or("/"))).into_response();
    r.headers_mut()
        .append(header::SET_COOKIE, pref_cookie(LANG_COOKIE, v));
    r
}

pub async fn switch_text(PageQuery(q): PageQuery<Switch>) -> Response {
    let v = if q.size.as_deref() == Some("large") {
        "large"
    } else {
        "normal"
    };
    let mut r =
        Redirect::to(crate::same_site_path(q.back.as_deref().unwrap_or("/"))).into_response();
    r.headers_mut()
        .append(header::SET_COOKIE, pref_cookie(TEXT_COOKIE, v));
    r
}

/// What the citizen typed in step 1, their draft application, carried through the next steps
/// in the hidden form field `ctx`.
#[derive(Serialize, Deserialize, Default, Clone)]
struct Draft {
    name: String,
    /// A resident ID number, or a foreigner's passport number.
    id_number: String,
    answers: Answers,
    /// A foreigner's passport nationality and birth date (issue 14 §2); absent for a resident.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nationality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    birth_date: Option<chrono::NaiveDate>,
}

impl Draft {
    fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(self).expect("serialisable"))
    }

    fn decode(s: &str) -> AppResult<Self> {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s.trim())
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| {
                AppError::new(
                    Code::FormExpired,
                    "页面已失效，请从头开始",
                    "the page has expired; please start again",
                )
            })
    }
}

/// A day as the portal shows it: `12-02（周三）`, `Wed 12-02`.
fn weekday(page: &PageContext, d: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    let i = d.weekday().num_days_from_monday() as usize;
    let zh = ["一", "二", "三", "四", "五", "六", "日"];
    let en = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    if page.en {
        format!("{} {}", en[i], d.format("%m-%d"))
    } else {
        format!("{}（周{}）", d.format("%m-%d"), zh[i])
    }
}

// --- Home and business --------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "portal_home.html")]
struct HomePage {
    page: PageContext,
    title: String,
    msg: String,
    msg_kind: String,
    businesses: Vec<BusinessView>,
    /// The foreigners' businesses, offered in their own section (issue 14 §2).
    foreign: Vec<(BusinessView, foreign::Commitment)>,
}

pub async fn home(State(s): State<AppState>, page: PageContext) -> Response {
    let businesses = s
        .app
        .businesses()
        .into_iter()
        .filter(|b| b.group == "citizen")
        .collect();
    let title = page.t("首页", "Home").to_string();
    render(&HomePage {
        page,
        title,
        msg: String::new(),
        msg_kind: String::new(),
        businesses,
        foreign: foreign::foreign_businesses(&s),
    })
}

#[derive(Template)]
#[template(path = "portal_business.html")]
struct BusinessPage {
    page: PageContext,
    title: String,
    msg: String,
    msg_kind: String,
    business: BusinessView,
    documents: Vec<Item>,
    ask_destination: bool,
    ask_renewal: bool,
    ask_relation: bool,
}

/// The business's questions (step 1), with `msg` as the error when not empty.
fn business_page(s: &AppState, page: PageContext, code: &str, msg: String) -> ApiResult<Response> {
    let business = s.app.business(code)?;
    if business.group == "foreigner" {
        // A foreigner's business asks for the passport (a refused confirmation comes back here).
        let f = foreign::ForeignForm::default();
        return foreign::form_page(s, page, code, f, None, Vec::new(), msg);
    }
    let b = s.app.catalogue.business(code).expect("known business");
    let title = page.t(&business.name_zh, &business.name_en).to_string();
    let view = BusinessPage {
        ask_destination: b.document == wujing_domain::DocumentKind::HkmPermit
            && b.endorsement.is_some(),
        ask_renewal: code == "passport_renewal",
        ask_relation: b.endorsement.as_deref() == Some("T"),
        documents: to_bring(b),
        msg_kind: "error".into(),
        page,
        title,
        msg,
        business,
    };
    Ok(render(&view))
}

pub async fn business(
    State(s): State<AppState>,
    page: PageContext,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    if s.app.business(&code)?.group == "foreigner" {
        return Ok(Redirect::to(&format!("/foreigners/book/{code}")).into_response());
    }
    business_page(&s, page, &code, String::new())
}
