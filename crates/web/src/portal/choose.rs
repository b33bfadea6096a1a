//! Choosing: the eligibility pre-check on the business's questions (with every reason of the
//! rules that need no registry records when refused: the records are checked at the
//! confirmation, after the phone code), then a hall and a day with the week's free seats, then
//! a time.

use super::{business_page, weekday, Draft};
use crate::extract::{ClientAddr, PageContext, PageForm};
use crate::pages::render;
use crate::{ApiResult, AppState};
use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use std::collections::BTreeMap;
use wujing_app::{
    ApplicantInput, AvailabilityQuery, EligibilityInput, ErrorKind, ReasonView, SlotView,
};
use wujing_domain::Answers;

#[derive(Template)]
#[template(path = "portal_reasons.html")]
struct ReasonsPage {
    page: PageContext,
    title: String,
    msg: String,
    msg_kind: String,
    business: String,
    reasons: Vec<ReasonView>,
    /// Refused at the confirmation (a seat was held), not at the pre-check.
    confirming: bool,
    /// What was typed, for the way back (empty when not known).
    draft: String,
}

struct DayCell {
    date: chrono::NaiveDate,
    label: String,
    free: u32,
}

/// How busy a hall is over the week offered, in words and as a style.
struct Busyness {
    class: &'static str,
    zh: &'static str,
    en: &'static str,
}

struct HallCard {
    id: String,
    /// The site's kind (`hall`, `police_station`…) and its short tag, shown beside the name.
    kind: String,
    kind_zh: String,
    kind_en: String,
    name_zh: String,
    name_en: String,
    address_zh: String,
    address_en: String,
    hours: String,
    /// `lat,lon` for the nearest-first script, when the site's location is known.
    location: Option<String>,
    busy: Busyness,
    /// The expected wait after check-in, in minutes (an estimate), if the queue is stable.
    wait: Option<u32>,
    days: Vec<DayCell>,
}

/// A district's halls, folded so that a phone shows the districts first.
struct DistrictGroup {
    id: String,
    name_zh: String,
    name_en: String,
    /// The earliest day with a free seat in the district, and how the portal writes it.
    first_free: Option<(chrono::NaiveDate, String)>,
    halls: Vec<HallCard>,
}

#[derive(Template)]
#[template(path = "portal_halls.html")]
struct HallsPage {
    page: PageContext,
    title: String,
    msg: String,
    msg_kind: String,
    business: String,
    draft: String,
    fee: Option<u32>,
    districts: Vec<DistrictGroup>,
    /// The older-adult mode's one suggestion: the earliest day with a free seat, at the hall
    /// with the shortest expected wait that day; the full list folds away below it.
    suggested: Option<Suggestion>,
}

/// A hall and a day offered in the older-adult mode as the one obvious choice.
struct Suggestion {
    hall_id: String,
    name_zh: String,
    name_en: String,
    address_zh: String,
    address_en: String,
    hours: String,
    date: chrono::NaiveDate,
    label: String,
    free: u32,
    wait: Option<u32>,
}

/// The suggestion: earliest free day first, then the shorter expected wait (a hall whose
/// queue is not stable comes last), then the most free seats that day.
fn suggest(districts: &[DistrictGroup]) -> Option<Suggestion> {
    districts
        .iter()
        .flat_map(|d| &d.halls)
        .filter_map(|h| h.days.iter().find(|d| d.free > 0).map(|d| (h, d)))
        .min_by_key(|(h, d)| {
            (
                d.date,
                h.wait.unwrap_or(u32::MAX),
                std::cmp::Reverse(d.free),
            )
        })
        .map(|(h, d)| Suggestion {
            hall_id: h.id.clone(),
            name_zh: h.name_zh.clone(),
            name_en: h.name_en.clone(),
            address_zh: h.address_zh.clone(),
            address_en: h.address_en.clone(),
            hours: h.hours.clone(),
            date: d.date,
            label: d.label.clone(),
            free: d.free,
            wait: h.wait,
        })
}

/// How busy a hall's week is and how long one waits after check-in, from the seats booked so
/// far: the capacity advisor's estimate (`wujing_app::capacity::hall_estimate`), so the wait a
/// citizen sees and the advice leaders read come from one model.
fn estimate(h: &wujing_app::HallView, taken: u32, slots: u32) -> (Busyness, Option<u32>) {
    let (load, wait) = wujing_app::capacity::hall_estimate(h, taken, slots);
    let busy = match load {
        l if l < 0.5 => Busyness {
            class: "calm",
            zh: "空闲",
            en: "Quiet",
        },
        l if l < 0.8 => Busyness {
            class: "moderate",
            zh: "适中",
            en: "Moderate",
        },
        _ => Busyness {
            class: "busy",
            zh: "繁忙",
            en: "Busy",
        },
    };
    (busy, wait)
}
pub(super) const PHONE_PLACEHOLDER: &str = "13000000000";

/// Step 1's form: who applies, and the answers to the business's questions (those it does not
/// ask arrive empty or not at all).
#[derive(Deserialize)]
pub struct CheckForm {
    name: String,
    id_number: String,
    #[serde(default)]
    option: String,
    #[serde(default)]
    destination: String,
    #[serde(default)]
    renewal_reason: String,
    #[serde(default)]
    relation: String,
    #[serde(default)]
    guardian_id_number: String,
    #[serde(default)]
    companion_id_number: String,
}

/// An answer as the rules take it: absent when left empty.
fn answer(v: &str) -> Option<String> {
    Some(v.trim().to_string()).filter(|v| !v.is_empty())
}

pub async fn check(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    Path(code): Path<String>,
    PageForm(f): PageForm<CheckForm>,
) -> ApiResult<Response> {
    let page = page.returning_to(&format!("/book/{code}"));
    let mut draft = Draft {
        name: f.name.trim().into(),
        id_number: f.id_number.trim().into(),
        answers: Answers {
            option: answer(&f.option),
            destination: answer(&f.destination),
            renewal_reason: answer(&f.renewal_reason),
            relation: answer(&f.relation),
            guardian_id_number: answer(&f.guardian_id_number),
            companion_id_number: answer(&f.companion_id_number),
            ..Default::default()
        },
        nationality: None,
        birth_date: None,
        fee: None,
    };
    // The phone is not a rule input; it is asked for and verified when the seat is held.
    let input = EligibilityInput {
        business: code.clone(),
        applicant: ApplicantInput::resident(&draft.name, &draft.id_number, PHONE_PLACEHOLDER),
        answers: draft.answers.clone(),
        date: None,
        // No code yet: the records are checked when the booking is confirmed with it.
        phone_code: None,
    };
    let v = match s.app.check_eligibility(&input, addr.as_deref()).await {
        Ok(v) => v,
        Err(e) if e.kind != ErrorKind::Internal => {
            let msg = page.message(&e);
            return business_page(&s, page, &code, msg, &draft);
        }
        Err(e) => return Err(e.into()),
    };
    if !v.eligible {
        let title = page.t("不符合办理条件", "Not eligible").to_string();
        return Ok(render(&ReasonsPage {
            page,
            title,
            msg: String::new(),
            msg_kind: String::new(),
            business: code,
            reasons: v.reasons,
            confirming: false,
            draft: draft.encode(),
        }));
    }
    draft.fee = v.fee_yuan;
    halls_page(&s, page, &code, &draft, v.fee_yuan).await
}

/// The reasons a refused confirmation gives (as many as the caller may see), as the reasons
/// page; the seat held returns by itself when the hold expires.
pub(super) fn refused_page(
    page: PageContext,
    business: &str,
    e: &wujing_app::AppError,
    draft: &Draft,
) -> Response {
    let reasons: Vec<ReasonView> = e
        .details
        .as_ref()
        .and_then(|d| {
            serde_json::from_str::<serde_json::Value>(d.get())
                .ok()
                .and_then(|v| serde_json::from_value(v["reasons"].clone()).ok())
        })
        .unwrap_or_default();
    let title = page.t("不符合办理条件", "Not eligible").to_string();
    render(&ReasonsPage {
        page,
        title,
        msg: String::new(),
        msg_kind: String::new(),
        business: business.into(),
        reasons,
        confirming: true,
        draft: draft.encode(),
    })
}

pub(super) async fn halls_page(
    s: &AppState,
    page: PageContext,
    code: &str,
    draft: &Draft,
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
    // Per hall and day: free seats, capacity, and the number of slots.
    let mut per: BTreeMap<(String, chrono::NaiveDate), (u32, u32, u32)> = BTreeMap::new();
    for sl in &avail.slots {
        let e = per.entry((sl.hall_id.clone(), sl.date)).or_default();
        e.0 += sl.free;
        e.1 += sl.capacity;
        e.2 += 1;
    }
    let mut districts: Vec<DistrictGroup> = Vec::new();
    // Only the sites offering the business (availability asked for those only, too), halls
    // first, then service points and police stations, grouped by district in that order.
    let mut sites = s.app.sites_offering(Some(code)).await?;
    sites.sort_by_key(|h| h.district.id.clone());
    for h in sites {
        let mine: Vec<_> = per.iter().filter(|((hid, _), _)| *hid == h.id).collect();
        if mine.is_empty() {
            continue;
        }
        let days: Vec<DayCell> = mine
            .iter()
            .map(|((_, d), (free, _, _))| DayCell {
                date: *d,
                label: weekday(&page, *d),
                free: *free,
            })
            .collect();
        let (free, cap, slots) = mine
            .iter()
            .fold((0, 0, 0), |a, (_, v)| (a.0 + v.0, a.1 + v.1, a.2 + v.2));
        let (busy, wait) = estimate(&h, cap - free, slots);
        let first_free = days
            .iter()
            .find(|d| d.free > 0)
            .map(|d| (d.date, d.label.clone()));
        let card = HallCard {
            busy,
            wait,
            hours: h.sessions.join(" "),
            location: h.latitude.zip(h.longitude).map(|(a, o)| format!("{a},{o}")),
            kind_zh: wujing_domain::SiteKind::parse(&h.kind)
                .map_or(h.kind_zh, |k| k.tag_zh().to_string()),
            kind_en: wujing_domain::SiteKind::parse(&h.kind)
                .map_or(h.kind_en, |k| k.tag_en().to_string()),
            kind: h.kind,
            id: h.id,
            name_zh: h.name_zh,
            name_en: h.name_en,
            address_zh: h.address_zh,
            address_en: h.address_en,
            days,
        };
        match districts.last_mut().filter(|d| d.id == h.district.id) {
            Some(d) => {
                d.halls.push(card);
                if first_free.as_ref().map(|f| f.0) < d.first_free.as_ref().map(|f| f.0)
                    || d.first_free.is_none()
                {
                    d.first_free = first_free.or(d.first_free.take());
                }
            }
            None => districts.push(DistrictGroup {
                id: h.district.id,
                name_zh: h.district.name_zh,
                name_en: h.district.name_en,
                first_free,
                halls: vec![card],
            }),
        }
    }
    let b = s.app.business(code)?;
    let title = format!(
        "{} · {}",
        page.t(&b.name_zh, &b.name_en),
        page.t("选择大厅和日期", "hall and day")
    );
    let suggested = if page.care { suggest(&districts) } else { None };
    Ok(render(&HallsPage {
        page,
        title,
        msg: String::new(),
        msg_kind: String::new(),
        business: code.into(),
        draft: draft.encode(),
        fee,
        districts,
        suggested,
    }))
}

#[derive(Template)]
#[template(path = "portal_times.html")]
struct TimesPage {
    page: PageContext,
    title: String,
    msg: String,
    msg_kind: String,
    business: String,
    draft: String,
    slots: Vec<SlotView>,
}

/// Step 2's form: the hall and the day chosen.
#[derive(Deserialize)]
pub struct TimesForm {
    ctx: String,
    hall: String,
    day: chrono::NaiveDate,
}

pub async fn times(
    State(s): State<AppState>,
    page: PageContext,
    Path(code): Path<String>,
    PageForm(f): PageForm<TimesForm>,
) -> ApiResult<Response> {
    let page = page.returning_to(&format!("/book/{code}"));
    let draft = Draft::decode(&f.ctx)?;
    let day = f.day;
    let hall = s.app.hall(f.hall.trim()).await?;
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
        page.t(&hall.name_zh, &hall.name_en),
        weekday(&page, day)
    );
    Ok(render(&TimesPage {
        page,
        title,
        msg: String::new(),
        msg_kind: String::new(),
        business: code,
        draft: draft.encode(),
        slots: avail.slots,
    }))
}
