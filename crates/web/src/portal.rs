//! The citizen portal: choose a business, pass the eligibility pre-check, pick a hall, day and
//! time (with alternatives when full), hold, verify the phone, confirm, and get the slip with
//! its QR code, calendar file and pre-filled form; find, cancel and reschedule bookings.
//!
//! Server-rendered, zh-CN by default with English on every page (cookie `wujing_lang`), a
//! large-text mode (cookie `wujing_text`), and no script needed except the hold countdown.
//! Steps carry what the citizen typed in a hidden `ctx` field (their own data, back to them);
//! every decision is the app's, exactly as through the API.

use crate::auth::{cookie, form_field};
use crate::extract::ClientAddr;
use crate::pages::render;
use crate::{ApiResult, AppState};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use wujing_app::Code;
use wujing_app::*;
use wujing_domain::documents::{to_bring, Item};
use wujing_domain::idnum::mask_id_number;
use wujing_domain::Answers;

/// Language, text size and the current path, for every page.
pub struct L {
    pub en: bool,
    pub large: bool,
    pub path: String,
}

impl L {
    pub fn t<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        if self.en {
            en
        } else {
            zh
        }
    }

    fn from(headers: &HeaderMap, path: &str) -> Self {
        let en = match cookie(headers, "wujing_lang") {
            Some(l) => l == "en",
            None => headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("en")),
        };
        Self {
            en,
            large: cookie(headers, "wujing_text") == Some("large"),
            path: enc_path(path),
        }
    }

    fn lang(&self) -> &'static str {
        if self.en {
            "en"
        } else {
            "zh-CN"
        }
    }
}

fn enc_path(p: &str) -> String {
    p.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"/-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

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

pub async fn switch_lang(Query(q): Query<Switch>) -> Response {
    let v = if q.to.as_deref() == Some("en") {
        "en"
    } else {
        "zh-CN"
    };
    let mut r =
        Redirect::to(crate::same_site_path(q.back.as_deref().unwrap_or("/"))).into_response();
    r.headers_mut()
        .append(header::SET_COOKIE, pref_cookie("wujing_lang", v));
    r
}

pub async fn switch_text(Query(q): Query<Switch>) -> Response {
    let v = if q.size.as_deref() == Some("large") {
        "large"
    } else {
        "normal"
    };
    let mut r =
        Redirect::to(crate::same_site_path(q.back.as_deref().unwrap_or("/"))).into_response();
    r.headers_mut()
        .append(header::SET_COOKIE, pref_cookie("wujing_text", v));
    r
}

/// What the citizen typed in step 1, carried through the next steps.
#[derive(Serialize, Deserialize, Default, Clone)]
struct Ctx {
    name: String,
    id_number: String,
    answers: Answers,
}

impl Ctx {
    fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(self).expect("serialisable"))
    }

    fn decode(s: &str) -> AppResult<Self> {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
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

fn form(body: &[u8], keys: &[&str]) -> HashMap<String, String> {
    keys.iter()
        .filter_map(|k| form_field(body, k).map(|v| (k.to_string(), v)))
        .collect()
}

fn field<'a>(f: &'a HashMap<String, String>, k: &str) -> &'a str {
    f.get(k).map_or("", |s| s.trim())
}

fn message(l: &L, e: &AppError) -> String {
    e.message(l.en).to_string()
}

// --- Home and business --------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "portal_home.html")]
struct HomePage {
    l: L,
    title: String,
    msg: String,
    msg_kind: String,
    businesses: Vec<BusinessView>,
}

pub async fn home(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let l = L::from(&headers, "/");
    let businesses = s
        .app
        .businesses()
        .into_iter()
        .filter(|b| b.group == "citizen")
        .collect();
    let title = l.t("首页", "Home").to_string();
    render(&HomePage {
        l,
        title,
        msg: String::new(),
        msg_kind: String::new(),
        businesses,
    })
}

#[derive(Template)]
#[template(path = "portal_business.html")]
struct BusinessPage {
    l: L,
    title: String,
    msg: String,
    msg_kind: String,
    business: BusinessView,
    documents: Vec<Item>,
    ask_destination: bool,
    ask_renewal: bool,
    ask_relation: bool,
}

fn business_page(s: &AppState, l: L, code: &str, msg: String) -> ApiResult<Response> {
    let business = s.app.business(code)?;
    let b = s.app.catalogue.business(code).expect("known business");
    let title = l.t(&business.name_zh, &business.name_en).to_string();
    let page = BusinessPage {
        ask_destination: b.document == wujing_domain::DocumentKind::HkmPermit
            && b.endorsement.is_some(),
        ask_renewal: code == "passport_renewal",
        ask_relation: b.endorsement.as_deref() == Some("T"),
        documents: to_bring(b),
        msg_kind: "error".into(),
        l,
        title,
        msg,
        business,
    };
    Ok(render(&page))
}

pub async fn business(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    let l = L::from(&headers, &format!("/book/{code}"));
    business_page(&s, l, &code, String::new())
}

// --- Eligibility and halls ----------------------------------------------------------------------

#[derive(Template)]
#[template(path = "portal_reasons.html")]
struct ReasonsPage {
    l: L,
    title: String,
    msg: String,
    msg_kind: String,
    business: String,
    reasons: Vec<ReasonView>,
}

struct DayCell {
    date: chrono::NaiveDate,
    label: String,
    free: u32,
}

struct HallCard {
    id: String,
    name_zh: String,
    name_en: String,
    district_zh: String,
    district_en: String,
    address_zh: String,
    address_en: String,
    hours: String,
    busy: bool,
    days: Vec<DayCell>,
}

#[derive(Template)]
#[template(path = "portal_halls.html")]
struct HallsPage {
    l: L,
    title: String,
    msg: String,
    msg_kind: String,
    business: String,
    ctx: String,
    fee: Option<u32>,
    halls: Vec<HallCard>,
}

fn weekday(l: &L, d: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    let i = d.weekday().num_days_from_monday() as usize;
    let zh = ["一", "二", "三", "四", "五", "六", "日"];
    let en = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    if l.en {
        format!("{} {}", en[i], d.format("%m-%d"))
    } else {
        format!("{}（周{}）", d.format("%m-%d"), zh[i])
    }
}

const PHONE_PLACEHOLDER: &str = "13000000000";

pub async fn check(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let l = L::from(&headers, &format!("/book/{code}"));
    let f = form(
        &body,
        &[
            "name",
            "id_number",
            "option",
            "destination",
            "renewal_reason",
            "relation",
            "guardian_id_number",
        ],
    );
    let opt = |k: &str| Some(field(&f, k).to_string()).filter(|v| !v.is_empty());
    let ctx = Ctx {
        name: field(&f, "name").into(),
        id_number: field(&f, "id_number").into(),
        answers: Answers {
            option: opt("option"),
            destination: opt("destination"),
            renewal_reason: opt("renewal_reason"),
            relation: opt("relation"),
            guardian_id_number: opt("guardian_id_number"),
            ..Default::default()
        },
    };
    // The phone is not a rule input; it is asked for and verified when the seat is held.
    let input = EligibilityInput {
        business: code.clone(),
        applicant: ApplicantInput::resident(&ctx.name, &ctx.id_number, PHONE_PLACEHOLDER),
        answers: ctx.answers.clone(),
        date: None,
    };
    let v = match s.app.check_eligibility(&input).await {
        Ok(v) => v,
        Err(e) if e.kind != ErrorKind::Internal => {
            return business_page(&s, l, &code, message(&L::from(&headers, "/"), &e))
        }
        Err(e) => return Err(e.into()),
    };
    if !v.eligible {
        let title = l.t("不符合办理条件", "Not eligible").to_string();
        return Ok(render(&ReasonsPage {
            l,
            title,
            msg: String::new(),
            msg_kind: String::new(),
            business: code,
            reasons: v.reasons,
        }));
    }
    halls_page(&s, l, &code, &ctx, v.fee_yuan).await
}

async fn halls_page(
    s: &AppState,
    l: L,
    code: &str,
    ctx: &Ctx,
    fee: Option<u32>,
) -> ApiResult<Response> {
    let from = s.app.clock.today() + chrono::TimeDelta::days(1);
    let to = from + chrono::TimeDelta::days(6);
    let avail = s
        .app
        .availability(&AvailabilityQuery {
            business: code.into(),
            halls: None,
            from: Some(from),
            to: Some(to),
            only_free: Some(false),
        })
        .await?;
    let mut per: BTreeMap<(String, chrono::NaiveDate), (u32, u32)> = BTreeMap::new();
    for sl in &avail.slots {
        let e = per.entry((sl.hall_id.clone(), sl.date)).or_default();
        e.0 += sl.free;
        e.1 += sl.capacity;
    }
    let mut halls = Vec::new();
    for h in s.app.halls().await? {
        let days: Vec<DayCell> = per
            .iter()
            .filter(|((hid, _), _)| *hid == h.id)
            .map(|((_, d), (free, _))| DayCell {
                date: *d,
                label: weekday(&l, *d),
                free: *free,
            })
            .collect();
        if days.is_empty() {
            continue;
        }
        let (free, cap) = per
            .iter()
            .filter(|((hid, _), _)| *hid == h.id)
            .fold((0, 0), |a, (_, v)| (a.0 + v.0, a.1 + v.1));
        halls.push(HallCard {
            busy: cap > 0 && free * 5 < cap,
            hours: h.sessions.join(" "),
            id: h.id,
            name_zh: h.name_zh,
            name_en: h.name_en,
            district_zh: h.district.name_zh,
            district_en: h.district.name_en,
            address_zh: h.address_zh,
            address_en: h.address_en,
            days,
        });
    }
    let b = s.app.business(code)?;
    let title = format!(
        "{} · {}",
        l.t(&b.name_zh, &b.name_en),
        l.t("选择大厅和日期", "hall and day")
    );
    Ok(render(&HallsPage {
        l,
        title,
        msg: String::new(),
        msg_kind: String::new(),
        business: code.into(),
        ctx: ctx.encode(),
        fee,
        halls,
    }))
}

// --- Times, hold, confirm ------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "portal_times.html")]
struct TimesPage {
    l: L,
    title: String,
    msg: String,
    msg_kind: String,
    business: String,
    ctx: String,
    slots: Vec<SlotView>,
}

pub async fn times(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let l = L::from(&headers, &format!("/book/{code}"));
    let f = form(&body, &["ctx", "hall", "day"]);
    let ctx = Ctx::decode(field(&f, "ctx"))?;
    let day: chrono::NaiveDate = field(&f, "day")
        .parse()
        .map_err(|_| AppError::new(Code::DateInvalid, "日期无效", "invalid date"))?;
    let hall = s.app.hall(field(&f, "hall")).await?;
    let avail = s
        .app
        .availability(&AvailabilityQuery {
            business: code.clone(),
            halls: Some(hall.id.clone()),
            from: Some(day),
            to: Some(day),
            only_free: Some(false),
        })
        .await?;
    let title = format!(
        "{} · {}",
        l.t(&hall.name_zh, &hall.name_en),
        weekday(&l, day)
    );
    Ok(render(&TimesPage {
        l,
        title,
        msg: String::new(),
        msg_kind: String::new(),
        business: code,
        ctx: ctx.encode(),
        slots: avail.slots,
    }))
}

struct AltButton {
    slot_id: i64,
    label: String,
}

#[derive(Template)]
#[template(path = "portal_full.html")]
struct FullPage {
    l: L,
    title: String,
    msg: String,
    msg_kind: String,
    business: String,
    ctx: String,
    same_hall: Vec<AltButton>,
    other_halls: Vec<AltButton>,
}

#[derive(Template)]
#[template(path = "portal_hold.html")]
struct HoldPage {
    l: L,
    title: String,
    msg: String,
    msg_kind: String,
    business: String,
    ctx: String,
    hold_id: String,
    when: String,
    hall: String,
    expires_ms: i64,
    expires_local: String,
    name: String,
    masked_id: String,
    phone: String,
}

async fn hold_page(
    s: &AppState,
    l: L,
    code: &str,
    ctx: &Ctx,
    hold_id: &str,
    phone: &str,
    msg: (String, &str),
) -> ApiResult<Response> {
    let seat = s.app.held_seat(hold_id).await?;
    let local = seat
        .expires_at
        .with_timezone(&wujing_domain::calendar::china_offset());
    let title = l.t("确认预约", "Confirm").to_string();
    let page = HoldPage {
        title,
        msg: msg.0,
        msg_kind: msg.1.into(),
        business: code.into(),
        ctx: ctx.encode(),
        hold_id: hold_id.into(),
        when: format!("{} {}", weekday(&l, seat.day), seat.start.format("%H:%M")),
        hall: l.t(&seat.hall.name_zh, &seat.hall.name_en).to_string(),
        expires_ms: seat.expires_at.timestamp_millis(),
        expires_local: local.format("%H:%M").to_string(),
        name: ctx.name.clone(),
        masked_id: mask_id_number(&ctx.id_number),
        phone: phone.into(),
        l,
    };
    Ok(render(&page))
}

pub async fn hold(
    State(s): State<AppState>,
    headers: HeaderMap,
    ClientAddr(addr): ClientAddr,
    Path(code): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let l = L::from(&headers, &format!("/book/{code}"));
    let f = form(&body, &["ctx", "slot_id"]);
    let ctx = Ctx::decode(field(&f, "ctx"))?;
    let slot_id: i64 = field(&f, "slot_id")
        .parse()
        .map_err(|_| AppError::new(Code::SlotInvalid, "时段无效", "invalid time"))?;
    match s
        .app
        .hold(
            &HoldInput {
                slot_id,
                business: code.clone(),
            },
            addr,
        )
        .await
    {
        Ok(h) => hold_page(&s, l, &code, &ctx, &h.hold_id, "", (String::new(), "")).await,
        Err(e) if e.code == Code::SlotFull => {
            let details: serde_json::Value = e
                .details
                .as_deref()
                .and_then(|d| serde_json::from_str(d.get()).ok())
                .unwrap_or_default();
            let alt = |k: &str| -> Vec<AltButton> {
                details["alternatives"][k]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| AltButton {
                        slot_id: a["slot"]["slot_id"].as_i64().unwrap_or_default(),
                        label: format!(
                            "{} {} · {}",
                            a["slot"]["date"].as_str().unwrap_or(""),
                            a["slot"]["start"].as_str().unwrap_or(""),
                            if l.en {
                                a["hall_name_en"].as_str()
                            } else {
                                a["hall_name_zh"].as_str()
                            }
                            .unwrap_or("")
                        ),
                    })
                    .collect()
            };
            let (same_hall, other_halls) = (alt("same_hall"), alt("other_halls"));
            let title = l.t("已约满", "Full").to_string();
            Ok(render(&FullPage {
                l,
                title,
                msg: String::new(),
                msg_kind: String::new(),
                business: code,
                ctx: ctx.encode(),
                same_hall,
                other_halls,
            }))
        }
        Err(e) if e.kind != ErrorKind::Internal => business_page(
            &s,
            l,
            &code,
            e.message(L::from(&headers, "/").en).to_string(),
        ),
        Err(e) => Err(e.into()),
    }
}

pub async fn confirm(
    State(s): State<AppState>,
    headers: HeaderMap,
    ClientAddr(addr): ClientAddr,
    Path(code): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let l = L::from(&headers, &format!("/book/{code}"));
    let f = form(
        &body,
        &["ctx", "hold_id", "phone", "code", "action", "email"],
    );
    let ctx = Ctx::decode(field(&f, "ctx"))?;
    let (hold_id, phone) = (field(&f, "hold_id"), field(&f, "phone"));
    if field(&f, "action") == "send" {
        let r = s
            .app
            .send_phone_code(
                &citizen::CodeRequest {
                    phone: phone.into(),
                    purpose: Some("book".into()),
                    lang: Some(l.lang().into()),
                },
                addr.as_deref(),
            )
            .await;
        let msg = match r {
            Ok(_) => (
                l.t(
                    "验证码已发送，10分钟内有效",
                    "Code sent; it is valid for 10 minutes",
                )
                .to_string(),
                "ok",
            ),
            Err(e) => (message(&l, &e), "error"),
        };
        return hold_page(&s, l, &code, &ctx, hold_id, phone, msg).await;
    }
    let input = ConfirmInput {
        hold_id: hold_id.into(),
        applicant: ApplicantInput::resident(&ctx.name, &ctx.id_number, phone),
        answers: ctx.answers.clone(),
        channel: Some("web".into()),
        lang: Some(l.lang().into()),
        phone_code: Some(field(&f, "code").to_string()),
        email: Some(field(&f, "email").to_string()).filter(|e| !e.is_empty()),
    };
    match s.app.confirm(&input, addr).await {
        Ok(b) => {
            let key = s.app.slip_key(&b.code).await?;
            Ok(Redirect::to(&format!("/slip/{}?k={key}", b.code)).into_response())
        }
        Err(e) if e.kind == ErrorKind::Internal => Err(e.into()),
        Err(e) => {
            let msg = (message(&l, &e), "error");
            match hold_page(&s, l, &code, &ctx, hold_id, phone, msg).await {
                Ok(r) => Ok(r),
                Err(_) => business_page(
                    &s,
                    L::from(&headers, &format!("/book/{code}")),
                    &code,
                    message(&L::from(&headers, "/"), &e),
                ),
            }
        }
    }
}

// --- Slip, calendar, change ------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct Key {
    #[serde(default)]
    k: String,
    #[serde(default)]
    msg: String,
}

#[derive(Template)]
#[template(path = "portal_slip.html")]
struct SlipPage {
    l: L,
    title: String,
    msg: String,
    msg_kind: String,
    b: BookingView,
    key: String,
    qr_svg: String,
    documents: Vec<Item>,
}

fn qr_svg(data: &str, label: &str) -> String {
    use qrcode::render::svg;
    qrcode::QrCode::new(data.as_bytes())
        .map(|c| {
            c.render::<svg::Color>()
                .min_dimensions(180, 180)
                .quiet_zone(true)
                .build()
                .replacen(
                    "<svg ",
                    &format!("<svg role=\"img\" aria-label=\"{label}\" "),
                    1,
                )
        })
        .unwrap_or_default()
}

pub async fn slip(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
    Query(k): Query<Key>,
) -> ApiResult<Response> {
    let l = L::from(&headers, &format!("/slip/{code}?k={}", k.k));
    let b = s.app.booking_by_slip(&code, &k.k).await?;
    let documents = s
        .app
        .catalogue
        .business(&b.business.id)
        .map(to_bring)
        .unwrap_or_default();
    let qr = qr_svg(
        &format!("WUJING:{}:{}", b.code, k.k),
        l.t("签到二维码", "Check-in QR code"),
    );
    let title = l.t("预约凭证", "Booking slip").to_string();
    let msg = k.msg.chars().take(200).collect::<String>();
    Ok(render(&SlipPage {
        l,
        title,
        msg_kind: "ok".into(),
        msg,
        b,
        key: k.k,
        qr_svg: qr,
        documents,
    }))
}

/// An iCalendar file with the visit (RFC 5545; times in UTC).
pub async fn ics(
    State(s): State<AppState>,
    Path(code): Path<String>,
    Query(k): Query<Key>,
) -> ApiResult<Response> {
    let v = s.app.booking_by_slip(&code, &k.k).await?;
    let hall = s.app.hall(&v.hall.id).await?;
    let start = v.starts_at;
    let end = start + chrono::TimeDelta::minutes(i64::from(hall.slot_minutes));
    let f = |t: chrono::DateTime<chrono::Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let esc = |s: &str| {
        s.replace('\\', "\\\\")
            .replace(';', "\\;")
            .replace(',', "\\,")
    };
    let body = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Wujing//Exit-entry booking//ZH\r\nBEGIN:VEVENT\r\nUID:{}@wujing\r\nDTSTAMP:{}\r\nDTSTART:{}\r\nDTEND:{}\r\nSUMMARY:{}\r\nLOCATION:{}\r\nDESCRIPTION:{}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        v.code,
        f(v.created_at),
        f(start),
        f(end),
        esc(&format!("{} · {}", v.business.name_zh, v.hall.name_zh)),
        esc(&v.address_zh),
        esc(&format!("预约号 Booking code {}", v.code)),
    );
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/calendar; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"wujing-{}.ics\"", v.code),
            ),
        ],
        body,
    )
        .into_response())
}

/// The pre-filled application form.
pub async fn form_pdf(
    State(s): State<AppState>,
    Path(code): Path<String>,
    Query(k): Query<Key>,
) -> ApiResult<Response> {
    let pdf = s.app.application_form_by_slip(&code, &k.k).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"wujing-form-{}.pdf\"",
                    code.trim().to_ascii_uppercase()
                ),
            ),
        ],
        pdf,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "portal_reschedule.html")]
struct ReschedulePage {
    l: L,
    title: String,
    msg: String,
    msg_kind: String,
    code: String,
    key: String,
    id_number: String,
    days: Vec<(String, Vec<SlotView>)>,
}

fn slip_url(code: &str, key: &str, msg: &str) -> String {
    format!("/slip/{code}?k={key}&msg={}", enc_path(msg))
}

pub async fn change(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
    Query(k): Query<Key>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let l = L::from(&headers, &format!("/slip/{code}"));
    let f = form(&body, &["id_number", "action"]);
    let b = s.app.booking_by_slip(&code, &k.k).await?;
    let proof = OwnerProof {
        id_number: field(&f, "id_number").into(),
    };
    // The proof is checked before anything is shown or changed.
    let checked = s.app.booking(&b.code, &proof).await;
    if let Err(e) = checked {
        return Ok(Redirect::to(&slip_url(&b.code, &k.k, &message(&l, &e))).into_response());
    }
    if field(&f, "action") == "cancel" {
        let r = s.app.cancel(&b.code, &proof).await;
        let msg = match r {
            Ok(_) => l.t("预约已取消", "The booking is cancelled").to_string(),
            Err(e) => message(&l, &e),
        };
        return Ok(Redirect::to(&slip_url(&b.code, &k.k, &msg)).into_response());
    }
    let from = s.app.clock.today() + chrono::TimeDelta::days(1);
    let avail = s
        .app
        .availability(&AvailabilityQuery {
            business: b.business.id.clone(),
            halls: Some(b.hall.id.clone()),
            from: Some(from),
            to: Some(from + chrono::TimeDelta::days(6)),
            only_free: Some(true),
        })
        .await?;
    let mut days: BTreeMap<chrono::NaiveDate, Vec<SlotView>> = BTreeMap::new();
    for sl in avail.slots.into_iter().filter(|sl| sl.slot_id != b.slot_id) {
        days.entry(sl.date).or_default().push(sl);
    }
    let days = days.into_iter().map(|(d, v)| (weekday(&l, d), v)).collect();
    let title = l.t("改约", "Reschedule").to_string();
    Ok(render(&ReschedulePage {
        l,
        title,
        msg: String::new(),
        msg_kind: String::new(),
        code: b.code,
        key: k.k,
        id_number: proof.id_number,
        days,
    }))
}

pub async fn reschedule(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
    Query(k): Query<Key>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let l = L::from(&headers, &format!("/slip/{code}"));
    let f = form(&body, &["id_number", "slot_id"]);
    let b = s.app.booking_by_slip(&code, &k.k).await?;
    let slot_id: i64 = field(&f, "slot_id").parse().unwrap_or_default();
    let msg = match s
        .app
        .reschedule(
            &b.code,
            &RescheduleInput {
                id_number: field(&f, "id_number").into(),
                slot_id,
            },
        )
        .await
    {
        Ok(_) => l.t("已改约到新时段", "Moved to the new time").to_string(),
        Err(e) => message(&l, &e),
    };
    Ok(Redirect::to(&slip_url(&b.code, &k.k, &msg)).into_response())
}

// --- My bookings -----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "portal_my.html")]
struct MyPage {
    l: L,
    title: String,
    msg: String,
    msg_kind: String,
    id_number: String,
    phone: String,
    bookings: Vec<(BookingView, String)>,
}

pub async fn my(headers: HeaderMap) -> Response {
    let l = L::from(&headers, "/my");
    let title = l.t("我的预约", "My bookings").to_string();
    render(&MyPage {
        l,
        title,
        msg: String::new(),
        msg_kind: String::new(),
        id_number: String::new(),
        phone: String::new(),
        bookings: vec![],
    })
}

pub async fn my_submit(
    State(s): State<AppState>,
    headers: HeaderMap,
    ClientAddr(addr): ClientAddr,
    body: axum::body::Bytes,
) -> Response {
    let l = L::from(&headers, "/my");
    let f = form(&body, &["id_number", "phone", "code", "action"]);
    let (id, phone) = (
        field(&f, "id_number").to_string(),
        field(&f, "phone").to_string(),
    );
    let (msg, kind, bookings) = if field(&f, "action") == "send" {
        match s
            .app
            .send_phone_code(
                &citizen::CodeRequest {
                    phone: phone.clone(),
                    purpose: Some("lookup".into()),
                    lang: Some(l.lang().into()),
                },
                addr.as_deref(),
            )
            .await
        {
            Ok(_) => (l.t("验证码已发送", "Code sent").to_string(), "ok", vec![]),
            Err(e) => (message(&l, &e), "error", vec![]),
        }
    } else {
        match s.app.my_bookings(&id, &phone, field(&f, "code")).await {
            Ok(b) if b.is_empty() => (
                l.t("没有找到有效的预约", "No active bookings found")
                    .to_string(),
                "error",
                vec![],
            ),
            Ok(b) => (String::new(), "ok", b),
            Err(e) => (message(&l, &e), "error", vec![]),
        }
    };
    let title = l.t("我的预约", "My bookings").to_string();
    render(&MyPage {
        l,
        title,
        msg,
        msg_kind: kind.into(),
        id_number: id,
        phone,
        bookings,
    })
}
