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
// `edit` and `halls` are the back links of the later steps.
pub use hold::{confirm, hold};
pub use mine::{my, my_submit};
pub use mine::{status, status_submit};
pub use slip::{
    change, collection, form_pdf, ics, receipt_pdf, reschedule, slip, slip_print, withdraw,
};

use crate::extract::{
    PageContext, PageQuery, CARE_COOKIE, CONTRAST_COOKIE, LANG_COOKIE, TEXT_COOKIE,
};
use crate::pages::render;
use crate::{ApiResult, AppState};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use serde::{Deserialize, Serialize};
use wujing_app::{AppError, AppResult, BusinessView, Code};
use wujing_domain::documents::{to_bring, to_bring_if, Conditional, Item};
use wujing_domain::Answers;

#[derive(Deserialize)]
pub struct Switch {
    to: Option<String>,
    size: Option<String>,
    /// `high` or `normal`.
    contrast: Option<String>,
    /// The older-adult mode: `on` or `off`.
    care: Option<String>,
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

/// The display switches (`/text?size=…`, `&contrast=…`, `&care=…`): each one given is kept
/// in its cookie, the others are left as they were.
pub async fn switch_text(PageQuery(q): PageQuery<Switch>) -> Response {
    let mut r =
        Redirect::to(crate::same_site_path(q.back.as_deref().unwrap_or("/"))).into_response();
    let choices = [
        (TEXT_COOKIE, q.size.as_deref(), "large", "normal"),
        (CONTRAST_COOKIE, q.contrast.as_deref(), "high", "normal"),
        (CARE_COOKIE, q.care.as_deref(), "on", "off"),
    ];
    for (cookie, asked, on, off) in choices {
        if let Some(v) = asked {
            let v = if v == on { on } else { off };
            r.headers_mut()
                .append(header::SET_COOKIE, pref_cookie(cookie, v));
        }
    }
    // Leaving the older-adult mode leaves its large text too.
    if q.care.as_deref() == Some("off") {
        r.headers_mut()
            .append(header::SET_COOKIE, pref_cookie(TEXT_COOKIE, "normal"));
    }
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
    /// The fee the pre-check found, shown again when the citizen comes back to the halls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fee: Option<u32>,
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

/// One document's services on the home page.
struct ServiceGroup {
    id: &'static str,
    name_zh: &'static str,
    name_en: &'static str,
    /// What the document is for, in a line.
    note_zh: &'static str,
    note_en: &'static str,
    businesses: Vec<BusinessView>,
}

/// The home page's groups: by the document a citizen thinks of, in the order they ask for them.
const GROUPS: [(&str, &str, &str, &str, &str); 3] = [
    (
        "passport",
        "普通护照",
        "Passport",
        "出国旅行、留学、工作使用",
        "For travel, study and work abroad",
    ),
    (
        "hkm_permit",
        "往来港澳通行证及签注",
        "Hong Kong and Macao permit and endorsements",
        "前往香港、澳门使用；每次前往须有有效签注",
        "For Hong Kong and Macao; each trip needs a valid endorsement",
    ),
    (
        "tw_permit",
        "往来台湾通行证及签注",
        "Taiwan permit and endorsements",
        "前往台湾地区使用；每次前往须有有效签注",
        "For Taiwan; each trip needs a valid endorsement",
    ),
];

#[derive(Template)]
#[template(path = "portal_home.html")]
struct HomePage {
    page: PageContext,
    title: String,
    msg: String,
    msg_kind: String,
    groups: Vec<ServiceGroup>,
    /// One group only (`/?group=passport`): the older-adult mode's second screen.
    only: Option<String>,
    /// The foreigners' businesses, offered in their own section (issue 14 §2).
    foreign: Vec<(BusinessView, foreign::Commitment)>,
}

#[derive(Deserialize)]
pub struct HomeQuery {
    #[serde(default)]
    group: String,
}

pub async fn home(
    State(s): State<AppState>,
    page: PageContext,
    PageQuery(q): PageQuery<HomeQuery>,
) -> Response {
    let all: Vec<BusinessView> = s
        .app
        .businesses()
        .into_iter()
        .filter(|b| b.group == "citizen")
        .collect();
    let groups: Vec<ServiceGroup> = GROUPS
        .iter()
        .map(|(id, name_zh, name_en, note_zh, note_en)| ServiceGroup {
            id,
            name_zh,
            name_en,
            note_zh,
            note_en,
            businesses: all.iter().filter(|b| b.document == *id).cloned().collect(),
        })
        .filter(|g| !g.businesses.is_empty())
        .collect();
    let only = groups
        .iter()
        .find(|g| g.id == q.group)
        .map(|g| g.id.to_string());
    let title = match groups.iter().find(|g| Some(g.id) == only.as_deref()) {
        Some(g) => page.t(g.name_zh, g.name_en).to_string(),
        None => page.t("首页", "Home").to_string(),
    };
    render(&HomePage {
        page,
        title,
        msg: String::new(),
        msg_kind: String::new(),
        groups,
        only,
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
    conditional: Vec<Conditional>,
    ask_destination: bool,
    ask_renewal: bool,
    ask_relation: bool,
    /// What the citizen typed before (after an error, or coming back from a later step).
    prefill: Draft,
}

/// The relations to the person visited, as a list rather than free text.
pub(crate) use wujing_domain::eligibility::RELATIONS;

impl BusinessPage {
    fn relations(&self) -> &'static [(&'static str, &'static str, &'static str)] {
        &RELATIONS
    }

    fn destinations(&self) -> &'static [(&'static str, &'static str, &'static str)] {
        &wujing_domain::eligibility::DESTINATIONS
    }

    fn renewal_reasons(&self) -> &'static [(&'static str, &'static str, &'static str)] {
        &wujing_domain::eligibility::RENEWAL_REASONS
    }

    /// Whether `v` is the answer typed before (an empty answer is the empty value).
    fn chosen(&self, have: &Option<String>, v: &str) -> bool {
        have.as_deref().unwrap_or("") == v
    }
}

/// The business's questions (step 1), with `msg` as the error when not empty and what was
/// typed before kept.
fn business_page(
    s: &AppState,
    page: PageContext,
    code: &str,
    msg: String,
    prefill: &Draft,
) -> ApiResult<Response> {
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
        conditional: to_bring_if(b),
        msg_kind: "error".into(),
        prefill: prefill.clone(),
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
    business_page(&s, page, &code, String::new(), &Draft::default())
}

/// The draft carried back to an earlier step.
#[derive(Deserialize)]
pub struct BackForm {
    ctx: String,
}

/// Back to step 1 from a later step, with everything typed still there.
pub async fn edit(
    State(s): State<AppState>,
    page: PageContext,
    Path(code): Path<String>,
    crate::extract::PageForm(f): crate::extract::PageForm<BackForm>,
) -> ApiResult<Response> {
    let draft = Draft::decode(&f.ctx)?;
    business_page(&s, page, &code, String::new(), &draft)
}

/// Back to the choice of hall and day from a later step (a seat held meanwhile returns by
/// itself when its hold expires).
pub async fn halls(
    State(s): State<AppState>,
    page: PageContext,
    Path(code): Path<String>,
    crate::extract::PageForm(f): crate::extract::PageForm<BackForm>,
) -> ApiResult<Response> {
    let page = page.returning_to(&format!("/book/{code}"));
    let draft = Draft::decode(&f.ctx)?;
    choose::halls_page(&s, page, &code, &draft, draft.fee).await
}
