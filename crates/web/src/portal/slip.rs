//! The slip (reached with its key), its calendar file and pre-filled form, and what its owner
//! may do from it: cancel, or choose another time at the same hall.

use super::weekday;
use crate::extract::{percent_encode, ClientAddr, PageContext, PageForm, PageQuery};
use crate::pages::render;
use crate::{ApiResult, AppState};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::collections::BTreeMap;
use wujing_app::{AvailabilityQuery, BookingView, OwnerProof, RescheduleInput, SlotView};
use wujing_domain::documents::{to_bring, Item};

/// The slip's key, and what was just done from it (`cancelled`, `moved`, `collection`,
/// `withdrawn`): a word, not a text, so that nobody can make our slip page show a message of
/// theirs by sending a link.
#[derive(Deserialize)]
pub struct Key {
    #[serde(default)]
    k: String,
    #[serde(default)]
    done: String,
}

/// What the slip says after a change made from it.
fn done_message(page: &PageContext, done: &str) -> String {
    match done {
        "cancelled" => page.t("预约已取消", "The booking is cancelled"),
        "moved" => page.t("已改约到新时段", "Moved to the new time"),
        "collection" => page.t("领证方式已保存", "Saved"),
        "withdrawn" => page.t("申请已撤回", "The application is withdrawn"),
        _ => "",
    }
    .to_string()
}

#[derive(Template)]
#[template(path = "portal_slip.html")]
struct SlipPage {
    page: PageContext,
    title: String,
    msg: String,
    msg_kind: String,
    b: BookingView,
    key: String,
    qr_svg: String,
    documents: Vec<Item>,
    /// What happened, for a used or cancelled booking: the heading and its lines.
    state: Vec<String>,
    /// What comes next.
    next: Vec<String>,
    /// The application's steps, oldest first (empty before acceptance).
    history: Vec<Step>,
    /// Check-in opens and closes (`HH:MM`, hall time), and how late one may be, in minutes.
    checkin: (String, String),
    late_minutes: i64,
    /// An active booking whose check-in window has closed without a check-in: nothing on the
    /// slip may still offer a visit.
    lapsed: bool,
}

/// One step of the application's timeline, in the page's language.
struct Step {
    /// The state's code, for the step's style (the last one is the current state).
    state: String,
    name: String,
    /// China time for reading, and the instant with its offset for `<time datetime>`.
    at: String,
    datetime: String,
}

fn timeline(page: &PageContext, b: &BookingView) -> Vec<Step> {
    let Some(a) = b.visit.as_ref().and_then(|v| v.application.as_ref()) else {
        return Vec::new();
    };
    a.history
        .iter()
        .map(|s| Step {
            state: s.state.clone(),
            name: page.t(s.name_zh.as_str(), s.name_en.as_str()).into(),
            at: s.at.format("%Y-%m-%d %H:%M").to_string(),
            datetime: s.at.to_rfc3339(),
        })
        .collect()
}

/// A local (hall) time for the citizen.
fn local(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&wujing_domain::calendar::china_offset())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// What a used or cancelled booking's slip says happened, and what comes next. An active
/// booking's slip says neither: its QR code and actions are the next step.
fn state_lines(page: &PageContext, b: &BookingView) -> (Vec<String>, Vec<String>) {
    let (mut state, mut next) = (Vec::new(), Vec::new());
    match b.status.as_str() {
        "cancelled" => {
            let when = b.cancelled_at.map(local).unwrap_or_default();
            state.push(if page.en {
                format!("This booking was cancelled on {when}. Its code can no longer be used to check in.")
            } else {
                format!("该预约已于{when}取消，预约号不能再用于签到。")
            });
            next.push(
                page.t(
                    "如仍需办理，请重新预约。",
                    "To apply after all, make a new booking.",
                )
                .into(),
            );
        }
        "used" => {
            let Some(v) = &b.visit else {
                state.push(
                    page.t("该预约已签到使用。", "This booking has been checked in.")
                        .into(),
                );
                return (state, next);
            };
            let at = local(v.checked_in_at);
            state.push(if page.en {
                format!("Checked in at {at}; your number was {}.", v.ticket)
            } else {
                format!("已于{at}签到，排队号 {}。", v.ticket)
            });
            match &v.application {
                Some(a) => {
                    let ready = a.ready_by.to_string();
                    match a.status.as_str() {
                        "accepted" => {
                            state.push(
                                page.t("您的申请已受理。", "Your application was accepted.")
                                    .into(),
                            );
                            next.push(if page.en {
                                format!("Expected ready by {ready}{}. This page shows how it is getting on.",
                                    if a.expedited { " (expedited)" } else { "" })
                            } else {
                                format!("预计{ready}前办结{}，办理进度可在本页查看。",
                                    if a.expedited { "（加急）" } else { "" })
                            });
                        }
                        "pending_supplement" => {
                            state.push(page.t(
                                "您的申请已受理，尚缺以下材料：",
                                "Your application was accepted; these materials are still missing:",
                            ).into());
                            state.push(a.missing.join("、"));
                            let due = a.supplement_due.map(|d| d.to_string()).unwrap_or_default();
                            next.push(if page.en {
                                format!("Bring them to any counter by {due}. The document is expected ready by {ready} once they are in.")
                            } else {
                                format!("请于{due}前到任一窗口补交；补齐后预计{ready}前办结。")
                            });
                        }
                        _ => {
                            state.push(if page.en {
                                format!("Your application is {}.", a.status_en)
                            } else {
                                format!("您的申请当前状态：{}。", a.status_zh)
                            });
                            next.push(
                                page.t(a.next_step_zh.as_str(), a.next_step_en.as_str())
                                    .into(),
                            );
                        }
                    }
                }
                None => {
                    let (zh, en) = match v.ticket_status.as_str() {
                        "waiting" => (
                            "请在大厅等候叫号。",
                            "Please wait in the hall for your number to be called.",
                        ),
                        "called" | "serving" => {
                            ("正在窗口办理。", "You are being served at a window.")
                        }
                        "parked" => (
                            "办理暂停，请留意窗口叫号。",
                            "Your case is on hold; listen for your number.",
                        ),
                        "missed" => (
                            "已过号，请到咨询台重新排队。",
                            "Your number was missed; ask at the information desk to queue again.",
                        ),
                        _ => (
                            "本次办理已结束，没有受理申请。",
                            "The visit is over; no application was taken.",
                        ),
                    };
                    next.push(page.t(zh, en).into());
                }
            }
        }
        _ => {}
    }
    (state, next)
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

/// What the slip and its print view both show of a booking: the check-in QR code (only while
/// a visit is still to come: empty once used, cancelled or lapsed) and what to bring.
fn code_and_documents(
    s: &AppState,
    page: &PageContext,
    b: &BookingView,
    key: &str,
    lapsed: bool,
) -> (String, Vec<Item>) {
    let qr = if b.status == "active" && !lapsed {
        qr_svg(
            &wujing_domain::slip::qr_payload(&b.code, key),
            page.t("签到二维码", "Check-in QR code"),
        )
    } else {
        String::new()
    };
    let documents = s
        .app
        .catalogue
        .business(&b.business.id)
        .map(to_bring)
        .unwrap_or_default();
    (qr, documents)
}

/// Whether an active booking's check-in window has closed without a check-in.
fn has_lapsed(s: &AppState, b: &BookingView) -> bool {
    s.app.has_lapsed(b)
}

pub async fn slip(
    State(s): State<AppState>,
    page: PageContext,
    Path(code): Path<String>,
    PageQuery(k): PageQuery<Key>,
) -> ApiResult<Response> {
    let msg = done_message(&page, &k.done);
    slip_page(&s, page, &code, &k.k, msg, "ok").await
}

/// The slip with a message above it: a change's outcome, or a refusal (`kind` `error`) shown
/// in place, without a redirect, so that what was refused is not reported as done.
async fn slip_page(
    s: &AppState,
    page: PageContext,
    code: &str,
    key: &str,
    msg: String,
    msg_kind: &str,
) -> ApiResult<Response> {
    let page = page.returning_to(&format!("/slip/{code}?k={key}"));
    let b = s.app.booking_by_slip(code, key).await?;
    let lapsed = has_lapsed(s, &b);
    let (qr, documents) = code_and_documents(s, &page, &b, key, lapsed);
    let (mut state, mut next) = state_lines(&page, &b);
    if lapsed {
        state.push(
            page.t(
                "预约时间已过，未签到，本预约已失效。",
                "The time has passed without a check-in: this booking has lapsed.",
            )
            .into(),
        );
        next.push(
            page.t(
                "如仍需办理，请重新预约，或到大厅咨询台现场取号。",
                "To apply after all, book again or take a walk-in number at a hall's information desk.",
            )
            .into(),
        );
    }
    let history = timeline(&page, &b);
    let title = page.t("预约凭证", "Booking slip").to_string();
    let checkin = s.app.checkin_window(b.starts_at);
    Ok(render(&SlipPage {
        page,
        title,
        msg_kind: msg_kind.into(),
        msg,
        b,
        key: key.into(),
        qr_svg: qr,
        documents,
        state,
        next,
        history,
        checkin,
        late_minutes: s.app.config.hall.checkin_late.num_minutes(),
        lapsed,
    }))
}

#[derive(Template)]
#[template(path = "portal_slip_print.html")]
struct PrintPage {
    page: PageContext,
    title: String,
    b: BookingView,
    qr_svg: String,
    documents: Vec<Item>,
    checkin: (String, String),
    late_minutes: i64,
    lapsed: bool,
}

/// The slip as paper: the authority's header, the visit, the QR code, the check-in window and
/// what to bring; no button, link or form (a cancelled or used booking prints as such, without
/// a code to scan).
pub async fn slip_print(
    State(s): State<AppState>,
    page: PageContext,
    Path(code): Path<String>,
    PageQuery(k): PageQuery<Key>,
) -> ApiResult<Response> {
    let b = s.app.booking_by_slip(&code, &k.k).await?;
    let lapsed = has_lapsed(&s, &b);
    let (qr_svg, documents) = code_and_documents(&s, &page, &b, &k.k, lapsed);
    let title = page.t("预约凭证", "Booking slip").to_string();
    Ok(render(&PrintPage {
        checkin: s.app.checkin_window(b.starts_at),
        late_minutes: s.app.config.hall.checkin_late.num_minutes(),
        lapsed,
        page,
        title,
        b,
        qr_svg,
        documents,
    }))
}

/// A refusal of something asked from the slip, on the slip, with the refusal's status.
async fn refused(
    s: &AppState,
    page: PageContext,
    code: &str,
    key: &str,
    e: &wujing_app::AppError,
) -> ApiResult<Response> {
    let msg = page.message(e);
    let mut r = slip_page(s, page, code, key, msg, "error").await?;
    *r.status_mut() = crate::status_of(e.kind);
    Ok(r)
}

/// An iCalendar file with the visit (RFC 5545; times in UTC).
pub async fn ics(
    State(s): State<AppState>,
    Path(code): Path<String>,
    PageQuery(k): PageQuery<Key>,
) -> ApiResult<Response> {
    let v = s.app.booking_by_slip(&code, &k.k).await?;
    let hall = s.app.hall(&v.hall.id).await?;
    let start = v.starts_at;
    let end = start + chrono::TimeDelta::minutes(i64::from(hall.slot_minutes));
    let body = calendar_file(&Visit {
        code: &v.code,
        created_at: v.created_at,
        start,
        end,
        summary: &format!("{} · {}", v.business.name_zh, v.hall.name_zh),
        location: &v.address_zh,
    })
    .to_string();
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

/// What the calendar file says about a visit.
struct Visit<'a> {
    code: &'a str,
    created_at: chrono::DateTime<chrono::Utc>,
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
    summary: &'a str,
    location: &'a str,
}

/// The visit as an iCalendar file (RFC 5545): the library escapes text (a line break in a hall
/// address cannot start a new property) and folds long lines.
fn calendar_file(v: &Visit) -> icalendar::Calendar {
    use icalendar::{Component, EventLike};
    let event = icalendar::Event::new()
        .uid(&format!("{}@wujing", v.code))
        .timestamp(v.created_at)
        .starts(v.start)
        .ends(v.end)
        .summary(v.summary)
        .location(v.location)
        .description(&format!("预约号 Booking code {}", v.code))
        .done();
    let mut cal = icalendar::Calendar::new();
    cal.push(event);
    cal.done()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_break_in_an_address_cannot_start_a_calendar_property() {
        let t = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let ics = calendar_file(&Visit {
            code: "K7Q2M9XP",
            created_at: t,
            start: t,
            end: t,
            summary: "护照 · 天河",
            location: "天河路1号\r\nATTENDEE:mailto:x@evil.example;,\\",
        })
        .to_string();
        let lines: Vec<&str> = ics.split("\r\n").collect();
        assert!(
            !lines.iter().any(|l| l.starts_with("ATTENDEE")),
            "a property was injected: {ics}"
        );
        // Long lines are folded at 75 octets, continuation lines start with a space.
        assert!(lines.iter().all(|l| l.len() <= 75), "{ics}");
        let location: String = ics
            .split("\r\n")
            .skip_while(|l| !l.starts_with("LOCATION"))
            .take_while(|l| l.starts_with("LOCATION") || l.starts_with(' '))
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
            .collect();
        assert!(location.contains("\\n"), "{location}");
        assert!(location.contains("\\;\\,\\\\"), "{location}");
    }
}

/// A PDF of a booking, downloaded under `{stem}-{CODE}.pdf`.
fn pdf_download(stem: &str, code: &str, pdf: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{stem}-{}.pdf\"",
                    code.trim().to_ascii_uppercase()
                ),
            ),
        ],
        pdf,
    )
        .into_response()
}

/// The pre-filled application form.
pub async fn form_pdf(
    State(s): State<AppState>,
    Path(code): Path<String>,
    PageQuery(k): PageQuery<Key>,
) -> ApiResult<Response> {
    let pdf = s.app.application_form_by_slip(&code, &k.k).await?;
    Ok(pdf_download("wujing-form", &code, pdf))
}

/// The receipt of the fee paid at the window for this booking's visit.
pub async fn receipt_pdf(
    State(s): State<AppState>,
    Path(code): Path<String>,
    PageQuery(k): PageQuery<Key>,
) -> ApiResult<Response> {
    let pdf = s.app.receipt_by_slip(&code, &k.k).await?;
    Ok(pdf_download("receipt", &code, pdf))
}

#[derive(Template)]
#[template(path = "portal_reschedule.html")]
struct ReschedulePage {
    page: PageContext,
    title: String,
    msg: String,
    msg_kind: String,
    code: String,
    key: String,
    id_number: String,
    days: Vec<(String, Vec<SlotView>)>,
    /// The hall shown, and every hall offering the business (id, "district · name").
    hall: String,
    halls: Vec<(String, String)>,
}

fn slip_url(code: &str, key: &str, done: &str) -> String {
    format!("/slip/{code}?k={}&done={done}", percent_encode(key))
}

/// The slip's form: the identity number that proves ownership, and which button.
#[derive(Deserialize)]
pub struct ChangeForm {
    id_number: String,
    #[serde(default)]
    action: ChangeAction,
    /// Rescheduling: the hall whose times are shown (the booking's own by default).
    #[serde(default)]
    hall: String,
}

#[derive(Deserialize, Default, PartialEq)]
#[serde(rename_all = "snake_case")]
enum ChangeAction {
    /// Offer the other times at the same hall.
    #[default]
    Reschedule,
    /// Ask whether to cancel …
    Cancel,
    /// … and cancel.
    CancelConfirmed,
}

/// "Do you really want to cancel?", with what would be cancelled.
#[derive(Template)]
#[template(path = "portal_cancel.html")]
struct CancelPage {
    page: PageContext,
    title: String,
    msg: String,
    msg_kind: String,
    b: BookingView,
    key: String,
    /// The proof already given, carried to the confirming button (the owner's own input).
    id_number: String,
}

#[derive(Deserialize)]
pub struct CollectionForm {
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    mail_address: String,
}

/// The citizen changes the way of collection from the slip. The link alone is not enough: a
/// document could be redirected to another address, so the applicant's identity number is
/// asked too (the owner proof, limited like cancel and reschedule).
pub async fn collection(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    Path(code): Path<String>,
    PageQuery(k): PageQuery<Key>,
    PageForm(f): PageForm<CollectionForm>,
) -> ApiResult<Response> {
    let b = s.app.booking_by_slip(&code, &k.k).await?;
    let r = s
        .app
        .choose_collection_by_owner(
            &b.code,
            &f.id_number,
            addr.as_deref(),
            &wujing_app::lifecycle::CollectionInput {
                method: f.method,
                mail_address: Some(f.mail_address),
            },
        )
        .await;
    match r {
        Ok(_) => Ok(Redirect::to(&slip_url(&b.code, &k.k, "collection")).into_response()),
        Err(e) => refused(&s, page, &b.code, &k.k, &e).await,
    }
}

#[derive(Deserialize)]
pub struct WithdrawForm {
    #[serde(default)]
    id_number: String,
}

/// The applicant withdraws the application from the slip, with the identity number.
pub async fn withdraw(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    Path(code): Path<String>,
    PageQuery(k): PageQuery<Key>,
    PageForm(f): PageForm<WithdrawForm>,
) -> ApiResult<Response> {
    let b = s.app.booking_by_slip(&code, &k.k).await?;
    match s
        .app
        .withdraw_by_owner(&b.code, &f.id_number, addr.as_deref())
        .await
    {
        Ok(_) => Ok(Redirect::to(&slip_url(&b.code, &k.k, "withdrawn")).into_response()),
        Err(e) => refused(&s, page, &b.code, &k.k, &e).await,
    }
}

pub async fn change(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    Path(code): Path<String>,
    PageQuery(k): PageQuery<Key>,
    PageForm(f): PageForm<ChangeForm>,
) -> ApiResult<Response> {
    let page = page.returning_to(&format!("/slip/{code}"));
    let b = s.app.booking_by_slip(&code, &k.k).await?;
    let proof = OwnerProof {
        id_number: f.id_number.trim().into(),
    };
    // The proof is checked before anything is shown or changed.
    let checked = s.app.booking(&b.code, &proof, addr.as_deref()).await;
    if let Err(e) = checked {
        return refused(&s, page, &b.code, &k.k, &e).await;
    }
    match f.action {
        // Cancelling cannot be undone (the seat goes to someone else): it is asked once more.
        ChangeAction::Cancel => {
            let title = page.t("确认取消预约", "Cancel the booking?").to_string();
            return Ok(render(&CancelPage {
                page,
                title,
                msg: String::new(),
                msg_kind: String::new(),
                key: k.k,
                id_number: proof.id_number,
                b,
            }));
        }
        ChangeAction::CancelConfirmed => {
            return match s.app.cancel(&b.code, &proof, addr.as_deref()).await {
                Ok(_) => Ok(Redirect::to(&slip_url(&b.code, &k.k, "cancelled")).into_response()),
                Err(e) => refused(&s, page, &b.code, &k.k, &e).await,
            };
        }
        ChangeAction::Reschedule => {}
    }
    // Any hall offering the business will do: the seat moves in one step wherever it is.
    let sites = s.app.sites_offering(Some(&b.business.id)).await?;
    let hall_id = sites
        .iter()
        .find(|h| h.id == f.hall.trim())
        .map_or_else(|| b.hall.id.clone(), |h| h.id.clone());
    let halls = sites
        .iter()
        .map(|h| {
            (
                h.id.clone(),
                format!(
                    "{} · {}",
                    page.t(&h.district.name_zh, &h.district.name_en),
                    page.t(&h.name_zh, &h.name_en)
                ),
            )
        })
        .collect();
    let from = s.app.clock.today() + chrono::TimeDelta::days(1);
    let avail = s
        .app
        .availability(&AvailabilityQuery {
            business: b.business.id.clone(),
            halls: Some(hall_id.clone()),
            from: Some(from),
            to: Some(from + chrono::TimeDelta::days(6)),
            only_free: Some(true),
        })
        .await?;
    let mut days: BTreeMap<chrono::NaiveDate, Vec<SlotView>> = BTreeMap::new();
    for sl in avail.slots.into_iter().filter(|sl| sl.slot_id != b.slot_id) {
        days.entry(sl.date).or_default().push(sl);
    }
    let days = days
        .into_iter()
        .map(|(d, v)| (weekday(&page, d), v))
        .collect();
    let title = page.t("改约", "Reschedule").to_string();
    Ok(render(&ReschedulePage {
        page,
        title,
        msg: String::new(),
        msg_kind: String::new(),
        code: b.code,
        key: k.k,
        id_number: proof.id_number,
        days,
        hall: hall_id,
        halls,
    }))
}

/// The reschedule page's form: the proof again, and the new time.
#[derive(Deserialize)]
pub struct RescheduleForm {
    id_number: String,
    slot_id: i64,
}

pub async fn reschedule(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    Path(code): Path<String>,
    PageQuery(k): PageQuery<Key>,
    PageForm(f): PageForm<RescheduleForm>,
) -> ApiResult<Response> {
    let b = s.app.booking_by_slip(&code, &k.k).await?;
    match s
        .app
        .reschedule(
            &b.code,
            &RescheduleInput {
                id_number: f.id_number.trim().into(),
                slot_id: f.slot_id,
            },
            addr.as_deref(),
        )
        .await
    {
        Ok(_) => Ok(Redirect::to(&slip_url(&b.code, &k.k, "moved")).into_response()),
        Err(e) => refused(&s, page, &b.code, &k.k, &e).await,
    }
}
