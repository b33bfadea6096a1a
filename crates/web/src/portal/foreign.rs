//! Foreigners' pages (issue 14 §2): the businesses for foreigners (`/foreigners`), and each
//! business's first step (`/foreigners/book/{code}`): the passport identity typed in, or the
//! machine-readable zone pasted and read on the server by the same reader as `POST
//! /api/v1/mrz` (a plain form post: the page has no script), and the business's questions.
//!
//! English first: a visitor who has not chosen a language gets these pages in English, and the
//! choice is kept (the `wujing_lang` cookie) for the steps that follow, which are the citizens'
//! (hall and day, time, hold, confirmation, slip) with a draft that carries the passport.
//! A refusal lists every reason above the form, with what was typed kept, so that one change
//! and one more press is all a correction takes.

use super::{choose, Draft};
use crate::auth::cookie;
use crate::extract::{ClientAddr, PageContext, PageForm, LANG_COOKIE};
use crate::pages::render;
use crate::{ApiResult, AppState};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use wujing_app::mrz::{MrzInput, MrzView};
use wujing_app::{ApplicantInput, BusinessView, EligibilityInput, ErrorKind, ReasonView};
use wujing_domain::documents::{to_bring, Item};
use wujing_domain::foreign::{self, RESIDENCE_CATEGORIES};
use wujing_domain::Answers;

/// The page's language for a foreigner: the one chosen, else English; and the cookie that
/// keeps English for the next steps when nothing was chosen.
fn english_first(mut page: PageContext, headers: &HeaderMap) -> (PageContext, Option<HeaderValue>) {
    match cookie(headers, LANG_COOKIE) {
        Some(_) => (page, None),
        None => {
            page.en = true;
            (page, Some(super::pref_cookie(LANG_COOKIE, "en")))
        }
    }
}

fn with_cookie(mut r: Response, c: Option<HeaderValue>) -> Response {
    if let Some(c) = c {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

/// A commitment as a page says it: "15 days" or "7 working days".
pub(super) struct Commitment {
    pub days: u32,
    pub working: bool,
}

fn commitment(b: &BusinessView) -> Commitment {
    match b.processing_calendar_days {
        Some(days) => Commitment {
            days,
            working: false,
        },
        None => Commitment {
            days: b.processing_working_days,
            working: true,
        },
    }
}

#[derive(Template)]
#[template(path = "portal_foreigners.html")]
struct ForeignersPage {
    page: PageContext,
    title: String,
    msg: String,
    msg_kind: String,
    businesses: Vec<(BusinessView, Commitment)>,
}

/// The foreigners' businesses, from the catalogue.
pub(super) fn foreign_businesses(s: &AppState) -> Vec<(BusinessView, Commitment)> {
    s.app
        .businesses()
        .into_iter()
        .filter(|b| b.group == "foreigner")
        .map(|b| {
            let c = commitment(&b);
            (b, c)
        })
        .collect()
}

pub async fn list(State(s): State<AppState>, page: PageContext, headers: HeaderMap) -> Response {
    let (page, set) = english_first(page, &headers);
    let title = page.t("外国人", "Foreigners").to_string();
    let view = ForeignersPage {
        businesses: foreign_businesses(&s),
        page,
        title,
        msg: String::new(),
        msg_kind: String::new(),
    };
    with_cookie(render(&view), set)
}

/// What the form shows: what was typed or read, as text, kept across a refusal.
#[derive(Deserialize, Default, Clone)]
pub struct ForeignForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    mrz: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    passport_number: String,
    #[serde(default)]
    nationality: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    stay_expires_on: String,
    #[serde(default)]
    original_stay_days: String,
    #[serde(default)]
    extended_days: String,
    #[serde(default)]
    requested_days: String,
    #[serde(default)]
    entry_date: String,
    #[serde(default)]
    visa_requires_residence: String,
    #[serde(default)]
    residence_category: String,
    #[serde(default)]
    permit_expires_on: String,
}

/// What was read from a pasted zone, as the page shows it.
pub(super) struct ReadZone {
    view: MrzView,
    country: String,
}

#[derive(Template)]
#[template(path = "portal_foreign_business.html")]
struct BusinessPage {
    page: PageContext,
    title: String,
    msg: String,
    msg_kind: String,
    business: BusinessView,
    commitment: Commitment,
    documents: Vec<Item>,
    f: ForeignForm,
    read: Option<ReadZone>,
    reasons: Vec<ReasonView>,
    nationalities: Vec<(&'static str, &'static str)>,
    categories: Vec<(&'static str, &'static str, &'static str)>,
}

impl BusinessPage {
    fn asks(&self, what: &str) -> bool {
        let code = self.business.code.as_str();
        match what {
            "stay" => code == "foreign_visa_extension",
            "entry" => code == "foreign_residence_permit",
            "permit" => code == "foreign_residence_extension",
            "category" => foreign::is_residence(code),
            _ => false,
        }
    }
}

/// The form of a foreigner's business, with the message, the zone read and the reasons given.
pub(super) fn form_page(
    s: &AppState,
    page: PageContext,
    code: &str,
    f: ForeignForm,
    read: Option<ReadZone>,
    reasons: Vec<ReasonView>,
    msg: String,
) -> ApiResult<Response> {
    let business = s.app.business(code)?;
    let b = s.app.catalogue.business(code).expect("known business");
    let title = page.t(&business.name_zh, &business.name_en).to_string();
    Ok(render(&BusinessPage {
        commitment: commitment(&business),
        documents: to_bring(b),
        msg_kind: "error".into(),
        page,
        title,
        msg,
        business,
        f,
        read,
        reasons,
        nationalities: foreign::nationalities(),
        categories: RESIDENCE_CATEGORIES.to_vec(),
    }))
}

/// `/foreigners/book/{code}`; a citizens' business is the citizens' page.
pub async fn business(
    State(s): State<AppState>,
    page: PageContext,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    let b = s.app.business(&code)?;
    if b.group != "foreigner" {
        return Ok(axum::response::Redirect::to(&format!("/book/{code}")).into_response());
    }
    let (page, set) = english_first(page, &headers);
    let page = page.returning_to(&format!("/foreigners/book/{code}"));
    Ok(with_cookie(
        form_page(
            &s,
            page,
            &code,
            ForeignForm::default(),
            None,
            Vec::new(),
            String::new(),
        )?,
        set,
    ))
}

/// The lines of a pasted zone: one per line as pasted, or a zone pasted as one run of
/// characters cut into its lines (2 × 44 a passport, 2 × 36, 3 × 30 a card).
fn zone_lines(text: &str) -> Vec<String> {
    let lines: Vec<String> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<String>())
        .filter(|l| !l.is_empty())
        .collect();
    if let [one] = lines.as_slice() {
        let n = one.chars().count();
        let width = match n {
            88 => 44,
            72 => 36,
            90 => 30,
            _ => return lines,
        };
        let chars: Vec<char> = one.chars().collect();
        return chars.chunks(width).map(|c| c.iter().collect()).collect();
    }
    lines
}

fn opt_day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

fn opt_days(s: &str) -> Option<u32> {
    s.trim().parse().ok()
}

/// Reads the pasted zone into the form: the passport's number, nationality, birth date and the
/// name (surname, then given names, as on a visa application).
async fn read_zone(
    s: &AppState,
    page: &PageContext,
    addr: Option<&str>,
    f: &mut ForeignForm,
) -> Result<ReadZone, String> {
    let input = MrzInput {
        lines: zone_lines(&f.mrz),
    };
    let view = s
        .app
        .read_mrz(&input, addr)
        .await
        .map_err(|e| page.message(&e))?;
    f.passport_number = view.document_number.clone();
    f.nationality =
        foreign::nationality(&view.nationality).unwrap_or_else(|_| view.nationality.clone());
    if let Some(d) = view.birth_date {
        f.birth_date = d.to_string();
    }
    let name = format!("{} {}", view.surname, view.given_names);
    if !name.trim().is_empty() {
        f.name = name.trim().to_string();
    }
    let country = wujing_domain::mrz::country_name(&view.nationality)
        .unwrap_or("")
        .to_string();
    Ok(ReadZone { view, country })
}

/// `POST /foreigners/book/{code}/check`: `action=read` reads the pasted zone into the form;
/// otherwise the eligibility pre-check, as for citizens (a zone pasted but not read yet is read
/// first when the passport fields are empty).
pub async fn check(
    State(s): State<AppState>,
    page: PageContext,
    headers: HeaderMap,
    ClientAddr(addr): ClientAddr,
    Path(code): Path<String>,
    PageForm(mut f): PageForm<ForeignForm>,
) -> ApiResult<Response> {
    let (page, _) = english_first(page, &headers);
    let page = page.returning_to(&format!("/foreigners/book/{code}"));
    let wants_read =
        f.action == "read" || (f.passport_number.trim().is_empty() && !f.mrz.trim().is_empty());
    let mut read = None;
    if wants_read {
        match read_zone(&s, &page, addr.as_deref(), &mut f).await {
            Ok(r) => read = Some(r),
            Err(msg) => return form_page(&s, page, &code, f, None, Vec::new(), msg),
        }
        if f.action == "read" {
            return form_page(&s, page, &code, f, read, Vec::new(), String::new());
        }
    }
    let mut answers = Answers {
        stay_expires_on: opt_day(&f.stay_expires_on),
        original_stay_days: opt_days(&f.original_stay_days),
        extended_days: opt_days(&f.extended_days),
        requested_days: opt_days(&f.requested_days),
        entry_date: opt_day(&f.entry_date),
        visa_requires_residence: match f.visa_requires_residence.as_str() {
            "no" => Some(false),
            "yes" => Some(true),
            _ => None,
        },
        residence_category: Some(f.residence_category.trim().to_string()).filter(|c| !c.is_empty()),
        permit_expires_on: opt_day(&f.permit_expires_on),
        ..Default::default()
    };
    foreign::complete_answers(&code, &mut answers);
    let draft = Draft {
        name: f.name.trim().into(),
        id_number: f.passport_number.trim().into(),
        answers,
        nationality: Some(f.nationality.trim().to_string()),
        birth_date: opt_day(&f.birth_date),
        fee: None,
    };
    let input = EligibilityInput {
        business: code.clone(),
        applicant: draft.applicant(choose::PHONE_PLACEHOLDER),
        answers: draft.answers.clone(),
        date: None,
        phone_code: None,
    };
    let v = match s.app.check_eligibility(&input, addr.as_deref()).await {
        Ok(v) => v,
        Err(e) if e.kind != ErrorKind::Internal => {
            let msg = page.message(&e);
            return form_page(&s, page, &code, f, read, Vec::new(), msg);
        }
        Err(e) => return Err(e.into()),
    };
    if !v.eligible {
        let msg = refusal_headline(&page, &v.reasons);
        return form_page(&s, page, &code, f, read, v.reasons, msg);
    }
    choose::halls_page(&s, page, &code, &draft, v.fee_yuan).await
}

/// The headline above a refusal's reasons: "too late" sends the applicant to a counter or the
/// hotline, "not yet" to the date in the reason, anything else back to the form. One
/// "you cannot apply yet" for all three told someone whose time had passed to wait.
fn refusal_headline(page: &PageContext, reasons: &[ReasonView]) -> String {
    use foreign::{timing, Timing};
    let timings: Vec<Timing> = reasons.iter().filter_map(|r| timing(&r.code)).collect();
    if timings.contains(&Timing::TooLate) {
        format!(
            "{}{}{}",
            page.t(
                "已过申请期限，不能网上预约，原因如下。请尽快到出入境大厅外国人窗口说明情况，或拨打服务热线 ",
                "It is too late to book this online, for the reasons below. Go to a hall's foreigners' counter as soon as possible, or call the hotline ",
            ),
            page.hotline(),
            page.t("。没有为您预留名额。", "; no seat has been taken."),
        )
    } else if timings.contains(&Timing::TooEarly) {
        page.t(
            "现在还不能申请，原因如下；请在所列日期起再预约。没有为您预留名额。",
            "You cannot apply yet, for the reasons below; book from the date given. No seat has been taken.",
        )
        .to_string()
    } else {
        page.t(
            "暂不符合办理条件，原因如下；请修改后再核对。没有为您预留名额。",
            "You cannot book with these answers, for the reasons below. Change what is needed and check again; no seat has been taken.",
        )
        .to_string()
    }
}

impl Draft {
    /// The applicant as the app takes it: a passport when the draft has a nationality.
    pub(super) fn applicant(&self, phone: &str) -> ApplicantInput {
        match &self.nationality {
            None => ApplicantInput::resident(&self.name, &self.id_number, phone),
            Some(n) => ApplicantInput {
                name: self.name.clone(),
                id_type: Some("foreign_passport".into()),
                id_number: self.id_number.clone(),
                nationality: Some(n.clone()),
                birth_date: self.birth_date,
                phone: phone.into(),
            },
        }
    }
}
