//! The slip (reached with its key), its calendar file and pre-filled form, and what its owner
//! may do from it: cancel, or choose another time at the same hall.

use super::weekday;
use crate::extract::{percent_encode, PageContext, PageForm, PageQuery};
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

/// The slip's key, and a message after a change.
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
    page: PageContext,
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
    page: PageContext,
    Path(code): Path<String>,
    PageQuery(k): PageQuery<Key>,
) -> ApiResult<Response> {
    let page = page.returning_to(&format!("/slip/{code}?k={}", k.k));
    let b = s.app.booking_by_slip(&code, &k.k).await?;
    let documents = s
        .app
        .catalogue
        .business(&b.business.id)
        .map(to_bring)
        .unwrap_or_default();
    let qr = qr_svg(
        &format!("WUJING:{}:{}", b.code, k.k),
        page.t("签到二维码", "Check-in QR code"),
    );
    let title = page.t("预约凭证", "Booking slip").to_string();
    let msg = k.msg.chars().take(200).collect::<String>();
    Ok(render(&SlipPage {
        page,
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
    PageQuery(k): PageQuery<Key>,
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
    PageQuery(k): PageQuery<Key>,
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
    page: PageContext,
    title: String,
    msg: String,
    msg_kind: String,
    code: String,
    key: String,
    id_number: String,
    days: Vec<(String, Vec<SlotView>)>,
}

fn slip_url(code: &str, key: &str, msg: &str) -> String {
    format!("/slip/{code}?k={key}&msg={}", percent_encode(msg))
}

/// The slip's form: the identity number that proves ownership, and which button.
#[derive(Deserialize)]
pub struct ChangeForm {
    id_number: String,
    #[serde(default)]
    action: ChangeAction,
}

#[derive(Deserialize, Default, PartialEq)]
#[serde(rename_all = "snake_case")]
enum ChangeAction {
    /// Offer the other times at the same hall.
    #[default]
    Reschedule,
    Cancel,
}

pub async fn change(
    State(s): State<AppState>,
    page: PageContext,
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
    let checked = s.app.booking(&b.code, &proof).await;
    if let Err(e) = checked {
        return Ok(Redirect::to(&slip_url(&b.code, &k.k, &page.message(&e))).into_response());
    }
    if f.action == ChangeAction::Cancel {
        let r = s.app.cancel(&b.code, &proof).await;
        let msg = match r {
            Ok(_) => page.t("预约已取消", "The booking is cancelled").to_string(),
            Err(e) => page.message(&e),
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
    Path(code): Path<String>,
    PageQuery(k): PageQuery<Key>,
    PageForm(f): PageForm<RescheduleForm>,
) -> ApiResult<Response> {
    let b = s.app.booking_by_slip(&code, &k.k).await?;
    let msg = match s
        .app
        .reschedule(
            &b.code,
            &RescheduleInput {
                id_number: f.id_number.trim().into(),
                slot_id: f.slot_id,
            },
        )
        .await
    {
        Ok(_) => page
            .t("已改约到新时段", "Moved to the new time")
            .to_string(),
        Err(e) => page.message(&e),
    };
    Ok(Redirect::to(&slip_url(&b.code, &k.k, &msg)).into_response())
}
