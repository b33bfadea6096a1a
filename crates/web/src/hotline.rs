//! The hotline over HTTP (M4, telephone channel): the operator's API and page.
//!
//! The page walks the call: find a free seat (business, site, day), hold it and send the code
//! to the caller's phone, then confirm with the code the caller reads out. The caller's details
//! travel in the page's own form fields between the steps (the operator's screen already shows
//! them), never in a URL.

use crate::extract::{ApiJson, ClientAddr, PageContext, PageForm, PageQuery};
use crate::pages::render;
use crate::{ApiError, ApiResult, AppState};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Extension, Json};
use chrono::NaiveDate;
use serde::Deserialize;
use wujing_app::citizen::CodeSent;
use wujing_app::hotline::HotlineCodeInput;
use wujing_app::{
    AppError, ApplicantInput, AvailabilityQuery, BookingView, BusinessView, Code, ConfirmInput,
    ErrorKind, HallView, HoldInput, Principal, SlotView,
};
use wujing_domain::eligibility::Answers;
use wujing_domain::idnum::mask_phone;

/// Sends the caller the code they will read out to the operator.
#[utoipa::path(post, path = "/api/v1/hotline/phone-codes", tag = "hotline",
    security(("session" = [], "csrf" = [])),
    request_body = HotlineCodeInput,
    responses((status = 201, body = CodeSent),
              (status = 400, description = "`phone_invalid`"),
              (status = 403, description = "`forbidden`: not a hotline operator"),
              (status = 429, description = "`code_rate_limited`")))]
pub async fn send_code(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(input): ApiJson<HotlineCodeInput>,
) -> ApiResult<(StatusCode, Json<CodeSent>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.hotline_send_code(&p, &input, addr.as_deref()).await?),
    ))
}

/// Confirms a hold for the caller on the telephone channel, with the code the caller read out.
#[utoipa::path(post, path = "/api/v1/hotline/bookings", tag = "hotline",
    security(("session" = [], "csrf" = [])),
    request_body = ConfirmInput,
    responses((status = 201, body = BookingView),
              (status = 400, description = "`phone_code_required` (always, on this route), `phone_code_wrong`, `phone_code_expired`, an applicant field's code"),
              (status = 403, description = "`forbidden`: not a hotline operator; `channel_not_yours`: a stated channel other than the telephone"),
              (status = 404, description = "`hold_not_found`"),
              (status = 409, description = "`already_booked` or `hold_used`"),
              (status = 410, description = "`hold_expired`"),
              (status = 422, description = "`not_eligible`, with `details.reasons`")))]
pub async fn book(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(input): ApiJson<ConfirmInput>,
) -> ApiResult<(StatusCode, Json<BookingView>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.hotline_book(&p, &input, addr).await?),
    ))
}

// --- The operator's page ----------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    business: String,
    #[serde(default)]
    hall: String,
    #[serde(default)]
    day: String,
}

/// The caller's details and the chosen seat, carried from step to step.
#[derive(Deserialize, Default, Clone)]
pub struct CallerForm {
    #[serde(default)]
    business: String,
    #[serde(default)]
    hall: String,
    #[serde(default)]
    day: String,
    #[serde(default)]
    slot_id: String,
    #[serde(default)]
    hold_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    option: String,
    #[serde(default)]
    renewal_reason: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    resend: String,
}

#[derive(Template)]
#[template(path = "hotline.html")]
struct HotlinePage {
    page: PageContext,
    /// `search`, `code` or `done`.
    step: &'static str,
    msg: String,
    msg_kind: &'static str,
    reasons: Vec<String>,
    businesses: Vec<BusinessView>,
    halls: Vec<HallView>,
    business: Option<BusinessView>,
    slots: Vec<SlotView>,
    searched: bool,
    f: CallerForm,
    masked_phone: String,
    booking: Option<BookingView>,
}

impl HotlinePage {
    /// The fields the code step carries to the confirmation.
    fn carried(&self) -> Vec<(&'static str, &str)> {
        let f = &self.f;
        vec![
            ("business", &f.business),
            ("hall", &f.hall),
            ("day", &f.day),
            ("slot_id", &f.slot_id),
            ("hold_id", &f.hold_id),
            ("name", &f.name),
            ("id_number", &f.id_number),
            ("phone", &f.phone),
            ("lang", &f.lang),
            ("option", &f.option),
            ("renewal_reason", &f.renewal_reason),
        ]
    }

    fn new(s: &AppState, page: PageContext, f: CallerForm) -> Self {
        let businesses: Vec<_> = s
            .app
            .businesses()
            .into_iter()
            .filter(|b| b.group == "citizen" && !b.suspended)
            .collect();
        let business = businesses.iter().find(|b| b.code == f.business).cloned();
        HotlinePage {
            page,
            step: "search",
            msg: String::new(),
            msg_kind: "",
            reasons: vec![],
            businesses,
            halls: vec![],
            business,
            slots: vec![],
            searched: false,
            masked_phone: mask_phone(f.phone.trim()),
            f,
            booking: None,
        }
    }

    fn failed(mut self, e: &AppError) -> Self {
        self.msg = self.page.message(e);
        self.msg_kind = "error";
        let details = e
            .details
            .as_ref()
            .and_then(|d| serde_json::from_str::<serde_json::Value>(d.get()).ok());
        if let Some(rs) = details
            .as_ref()
            .and_then(|d| d.get("reasons"))
            .and_then(|r| r.as_array())
        {
            let key = if self.page.en {
                "message_en"
            } else {
                "message_zh"
            };
            self.reasons = rs
                .iter()
                .filter_map(|r| r.get(key).and_then(|m| m.as_str()).map(str::to_string))
                .collect();
        }
        self
    }
}

/// Fills the search step: the sites and, when a business, site and day are chosen, the free
/// seats of that day.
async fn search_step(s: &AppState, mut view: HotlinePage) -> ApiResult<HotlinePage> {
    view.step = "search";
    view.halls = s.app.halls().await?;
    let day = NaiveDate::parse_from_str(view.f.day.trim(), "%Y-%m-%d").ok();
    if let (Some(_), false, Some(day)) = (&view.business, view.f.hall.is_empty(), day) {
        view.searched = true;
        match s
            .app
            .availability(&AvailabilityQuery {
                business: view.f.business.clone(),
                halls: Some(view.f.hall.clone()),
                from: Some(day),
                to: Some(day),
                only_free: Some(true),
            })
            .await
        {
            Ok(a) => view.slots = a.slots,
            Err(e) if e.kind != ErrorKind::Internal => view = view.failed(&e),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(view)
}

pub async fn page(
    State(s): State<AppState>,
    page: PageContext,
    PageQuery(q): PageQuery<SearchQuery>,
) -> ApiResult<Response> {
    let f = CallerForm {
        business: q.business,
        hall: q.hall,
        day: q.day,
        ..CallerForm::default()
    };
    let view = HotlinePage::new(&s, page, f);
    Ok(render(&search_step(&s, view).await?))
}

fn answers(f: &CallerForm) -> Answers {
    let some = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
    Answers {
        option: some(&f.option),
        renewal_reason: some(&f.renewal_reason),
        ..Answers::default()
    }
}

/// Step two: hold the chosen seat and send the code to the caller's phone.
pub async fn hold(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    form: Result<PageForm<CallerForm>, ApiError>,
) -> ApiResult<Response> {
    let PageForm(f) = form?;
    let p = page.principal.clone();
    let view = HotlinePage::new(&s, page, f.clone());
    let r: Result<String, AppError> = async {
        let slot_id: i64 =
            f.slot_id.trim().parse().map_err(|_| {
                AppError::new(Code::SlotNotFound, "请选择一个时段", "choose a time")
            })?;
        // The caller's identity and phone are checked before a seat is taken for them.
        s.app
            .parse_applicant(&ApplicantInput::resident(&f.name, &f.id_number, &f.phone))?;
        let h = s
            .app
            .hold(
                &HoldInput {
                    slot_id,
                    business: f.business.clone(),
                },
                addr.clone(),
            )
            .await?;
        s.app
            .hotline_send_code(
                &p,
                &HotlineCodeInput {
                    phone: f.phone.clone(),
                    lang: Some(f.lang.clone()),
                },
                addr.as_deref(),
            )
            .await?;
        Ok(h.hold_id)
    }
    .await;
    match r {
        Ok(hold_id) => {
            let mut view = view;
            view.f.hold_id = hold_id;
            view.step = "code";
            Ok(render(&view))
        }
        Err(e) if e.kind == ErrorKind::Internal => Err(e.into()),
        Err(e) => Ok(render(&search_step(&s, view.failed(&e)).await?)),
    }
}

/// Step three: confirm with the code the caller reads out (or send it again).
pub async fn confirm(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    form: Result<PageForm<CallerForm>, ApiError>,
) -> ApiResult<Response> {
    let PageForm(f) = form?;
    let p = page.principal.clone();
    let mut view = HotlinePage::new(&s, page, f.clone());
    view.step = "code";
    if !f.resend.is_empty() {
        let sent = s
            .app
            .hotline_send_code(
                &p,
                &HotlineCodeInput {
                    phone: f.phone.clone(),
                    lang: Some(f.lang.clone()),
                },
                addr.as_deref(),
            )
            .await;
        return match sent {
            Ok(_) => {
                view.msg = view.page.t("验证码已重新发送", "Code sent again").into();
                view.msg_kind = "ok";
                Ok(render(&view))
            }
            Err(e) if e.kind == ErrorKind::Internal => Err(e.into()),
            Err(e) => Ok(render(&view.failed(&e))),
        };
    }
    let input = ConfirmInput {
        hold_id: f.hold_id.clone(),
        applicant: ApplicantInput::resident(&f.name, &f.id_number, &f.phone),
        answers: answers(&f),
        channel: None,
        lang: Some(f.lang.clone()),
        phone_code: Some(f.code.trim().to_string()),
        email: None,
    };
    match s.app.hotline_book(&p, &input, addr).await {
        Ok(b) => {
            view.step = "done";
            view.booking = Some(b);
            Ok(render(&view))
        }
        Err(e) if e.kind == ErrorKind::Internal => Err(e.into()),
        // A seat lost meanwhile: back to the search, the caller's details kept.
        Err(e)
            if matches!(
                e.code,
                Code::HoldExpired | Code::HoldNotFound | Code::HoldUsed
            ) =>
        {
            Ok(render(&search_step(&s, view.failed(&e)).await?))
        }
        Err(e) => Ok(render(&view.failed(&e))),
    }
}
