//! Holding and confirming: the seat chosen is held (or, when it has filled, the alternatives are
//! offered), the phone code is sent, and the booking is confirmed into its slip.

use super::{business_page, weekday, Draft};
use crate::extract::{ClientAddr, PageContext, PageForm};
use crate::pages::render;
use crate::{ApiResult, AppState};
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use wujing_app::citizen::CodeRequest;
use wujing_app::{Code, ConfirmInput, ErrorKind, HoldInput, Principal};
use wujing_domain::idnum::mask_id_number;

struct AltButton {
    slot_id: i64,
    label: String,
}

#[derive(Template)]
#[template(path = "portal_full.html")]
struct FullPage {
    page: PageContext,
    title: String,
    msg: String,
    msg_kind: String,
    business: String,
    draft: String,
    same_hall: Vec<AltButton>,
    other_halls: Vec<AltButton>,
}

#[derive(Template)]
#[template(path = "portal_hold.html")]
struct HoldPage {
    page: PageContext,
    title: String,
    msg: String,
    msg_kind: String,
    business: String,
    draft: String,
    hold_id: String,
    when: String,
    hall: String,
    /// Seconds left when the page was made: the countdown runs from the page's arrival, so a
    /// phone whose clock is wrong still counts the right ten minutes.
    left_s: i64,
    /// The time left in words, `9 分 41 秒` / `9 min 41 s`, as the page is made (the script
    /// counts it down the same way): `10:00` read as a clock time, not as a time remaining.
    remaining: String,
    name: String,
    masked_id: String,
    phone: String,
}

/// Seconds as minutes and seconds remaining, in words: `9 分 41 秒`, `9 min 41 s`; a zero part
/// is left out (`10 分钟`, `41 秒`). `static/hold.js` writes the same words as it counts.
fn time_left(page: &PageContext, seconds: i64) -> String {
    let (m, s) = (seconds.max(0) / 60, seconds.max(0) % 60);
    match (m, s) {
        (0, s) => format!("{s} {}", page.t("秒", "s")),
        (m, 0) => format!("{m} {}", page.t("分钟", "min")),
        (m, s) => format!("{m} {} {s} {}", page.t("分", "min"), page.t("秒", "s")),
    }
}

async fn hold_page(
    s: &AppState,
    page: PageContext,
    code: &str,
    draft: &Draft,
    hold_id: &str,
    phone: &str,
    msg: (String, &str),
) -> ApiResult<Response> {
    let seat = s.app.held_seat(hold_id).await?;
    let left = (seat.expires_at - s.app.clock.now()).num_seconds().max(0);
    let title = page.t("确认预约", "Confirm").to_string();
    let view = HoldPage {
        title,
        msg: msg.0,
        msg_kind: msg.1.into(),
        business: code.into(),
        draft: draft.encode(),
        hold_id: hold_id.into(),
        when: format!(
            "{} {}",
            weekday(&page, seat.day),
            seat.start.format("%H:%M")
        ),
        hall: page.t(&seat.hall.name_zh, &seat.hall.name_en).to_string(),
        left_s: left,
        remaining: time_left(&page, left),
        name: draft.name.clone(),
        masked_id: mask_id_number(&draft.id_number),
        phone: phone.into(),
        page,
    };
    Ok(render(&view))
}

/// Step 3's form: the time chosen.
#[derive(Deserialize)]
pub struct HoldForm {
    ctx: String,
    slot_id: i64,
}

pub async fn hold(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    Path(code): Path<String>,
    PageForm(f): PageForm<HoldForm>,
) -> ApiResult<Response> {
    let page = page.returning_to(&format!("/book/{code}"));
    let draft = Draft::decode(&f.ctx)?;
    match s
        .app
        .hold(
            &HoldInput {
                slot_id: f.slot_id,
                business: code.clone(),
            },
            addr,
        )
        .await
    {
        Ok(h) => hold_page(&s, page, &code, &draft, &h.hold_id, "", (String::new(), "")).await,
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
                            if page.en {
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
            let title = page.t("已约满", "Full").to_string();
            Ok(render(&FullPage {
                page,
                title,
                msg: String::new(),
                msg_kind: String::new(),
                business: code,
                draft: draft.encode(),
                same_hall,
                other_halls,
            }))
        }
        Err(e) if e.kind != ErrorKind::Internal => {
            let msg = page.message(&e);
            business_page(&s, page, &code, msg, &draft)
        }
        Err(e) => Err(e.into()),
    }
}

/// Step 4's form: the phone, its code, an e-mail address if wanted, and which button.
#[derive(Deserialize)]
pub struct ConfirmForm {
    ctx: String,
    hold_id: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    action: ConfirmAction,
}

#[derive(Deserialize, Default, PartialEq)]
#[serde(rename_all = "snake_case")]
enum ConfirmAction {
    /// Send the phone code.
    Send,
    #[default]
    Confirm,
}

pub async fn confirm(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    Path(code): Path<String>,
    PageForm(f): PageForm<ConfirmForm>,
) -> ApiResult<Response> {
    let page = page.returning_to(&format!("/book/{code}"));
    let draft = Draft::decode(&f.ctx)?;
    let (hold_id, phone) = (f.hold_id.trim(), f.phone.trim());
    if f.action == ConfirmAction::Send {
        let r = s
            .app
            .send_phone_code(
                &CodeRequest {
                    phone: phone.into(),
                    purpose: Some("book".into()),
                    lang: Some(page.lang().into()),
                },
                addr.as_deref(),
            )
            .await;
        let msg = match r {
            Ok(_) => (
                page.t(
                    "验证码已发送，10分钟内有效",
                    "Code sent; it is valid for 10 minutes",
                )
                .to_string(),
                "ok",
            ),
            Err(e) => (page.message(&e), "error"),
        };
        return hold_page(&s, page, &code, &draft, hold_id, phone, msg).await;
    }
    // Confirming before asking for a code is a missed step, not a wrong code.
    if f.code.trim().is_empty() {
        let msg = (
            page.t(
                "请先点击“获取验证码”，收到短信后填写验证码，再确认预约。",
                "Get a code first: press “Get a code”, then enter the code from the text message and confirm.",
            )
            .to_string(),
            "error",
        );
        return hold_page(&s, page, &code, &draft, hold_id, phone, msg).await;
    }
    let input = ConfirmInput {
        hold_id: hold_id.into(),
        applicant: draft.applicant(phone),
        answers: draft.answers.clone(),
        channel: None,
        lang: Some(page.lang().into()),
        phone_code: Some(f.code.trim().to_string()),
        email: Some(f.email.trim().to_string()).filter(|e| !e.is_empty()),
    };
    match s.app.confirm(&Principal::Anonymous, &input, addr).await {
        Ok(b) => {
            let key = s.app.slip_key(&b.code).await?;
            Ok(Redirect::to(&format!("/slip/{}?k={key}", b.code)).into_response())
        }
        Err(e) if e.kind == ErrorKind::Internal => Err(e.into()),
        Err(e) if e.code == wujing_app::Code::NotEligible => {
            Ok(super::choose::refused_page(page, &code, &e, &draft))
        }
        Err(e) => {
            let msg = (page.message(&e), "error");
            match hold_page(&s, page.clone(), &code, &draft, hold_id, phone, msg).await {
                Ok(r) => Ok(r),
                Err(_) => {
                    let msg = page.message(&e);
                    business_page(&s, page, &code, msg, &draft)
                }
            }
        }
    }
}
