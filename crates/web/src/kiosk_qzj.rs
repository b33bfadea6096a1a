//! 取证机 (qzj, issue 17): the locker's mode page at `/kiosk/qzj` and its JSON actions, and
//! the back office's clearing of a jammed compartment (docs/KIOSK.md §7.6).
//!
//! The page reads the ID card, takes the pickup code on the keypad and asks
//! `POST /api/v1/kiosk/qzj/open` which compartment to open; the bridge opens it
//! (`locker.open`); the page then reports the outcome — `collect` when the door opened (the
//! document is collected in one transaction), `jam` when it did not (the compartment is marked
//! jammed, the document stays collectable at the counter, the device's alert is raised). Each
//! report carries the same proof (the number and the code) and is checked again: the server
//! keeps no state between the steps, and a report without the proof changes nothing.

use crate::extract::{ApiJson, ApiPath, ClientAddr, PageContext, PageForm, PageQuery};
use crate::kiosk::{KioskQuery, Shell};
use crate::pages::{back, render};
use crate::{ApiError, ApiResult, AppState};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Json};
use serde::Deserialize;
use wujing_app::locker::{LockerCollectInput, LockerJam, LockerPickup};
use wujing_app::Principal;

/// Which compartment holds the citizen's document (nothing changes yet): the page opens it.
#[utoipa::path(post, path = "/api/v1/kiosk/qzj/open", tag = "kiosk", security(("device" = [])),
    request_body = LockerCollectInput,
    responses((status = 200, body = LockerPickup),
              (status = 409, description = "`compartment_jammed`: collect at the counter"),
              (status = 422, description = "`pickup_code_invalid` (the same for a wrong identity number, a wrong code, or nothing waiting)"),
              (status = 429, description = "`proof_throttled`")))]
pub async fn api_open(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(input): ApiJson<LockerCollectInput>,
) -> ApiResult<Json<LockerPickup>> {
    Ok(Json(
        s.app
            .locker_compartment_for(&p, addr.as_deref(), &input)
            .await?,
    ))
}

/// The door opened: the document is collected (the compartment freed, the code used up).
#[utoipa::path(post, path = "/api/v1/kiosk/qzj/collect", tag = "kiosk", security(("device" = [])),
    request_body = LockerCollectInput,
    responses((status = 200, body = LockerPickup),
              (status = 409, description = "`compartment_jammed`"),
              (status = 422, description = "`pickup_code_invalid`"),
              (status = 429, description = "`proof_throttled`")))]
pub async fn api_collect(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(input): ApiJson<LockerCollectInput>,
) -> ApiResult<Json<LockerPickup>> {
    Ok(Json(
        s.app
            .collect_from_locker(&p, addr.as_deref(), &input)
            .await?,
    ))
}

/// The door did not open (`locker.open` answered a jam): the compartment is marked jammed,
/// the document stays collectable at the counter, the device's alert is raised; the answer
/// says what to tell the citizen.
#[utoipa::path(post, path = "/api/v1/kiosk/qzj/jam", tag = "kiosk", security(("device" = [])),
    request_body = LockerCollectInput,
    responses((status = 200, body = LockerJam),
              (status = 422, description = "`pickup_code_invalid`"),
              (status = 429, description = "`proof_throttled`")))]
pub async fn api_jam(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(input): ApiJson<LockerCollectInput>,
) -> ApiResult<Json<LockerJam>> {
    Ok(Json(
        s.app.report_locker_jam(&p, addr.as_deref(), &input).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClearJamInput {
    /// What was done (one line, up to 500 characters).
    pub note: String,
}

/// Clears a jammed compartment once its door works (audited, `locker.jam_cleared`); its alert
/// is cleared with it.
#[utoipa::path(post, path = "/api/v1/monitoring/lockers/{id}/compartments/{label}/clear", tag = "monitoring", security(("session" = [], "csrf" = [])),
    params(("id" = String, Path, description = "Site id"), ("label" = String, Path, description = "Compartment label, e.g. `A-07`")),
    request_body = ClearJamInput,
    responses((status = 204, description = "Cleared"),
              (status = 404, description = "`compartment_unknown`"),
              (status = 400, description = "`outcome_required`"),
              (status = 409, description = "`compartment_not_jammed`")))]
pub async fn api_clear_jam(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath((hall, label)): ApiPath<(String, String)>,
    ApiJson(i): ApiJson<ClearJamInput>,
) -> ApiResult<StatusCode> {
    s.app
        .clear_locker_jam(&p, addr.as_deref(), &hall, &label, &i.note)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct ClearJamForm {
    pub note: String,
}

/// The monitoring page's form for a jammed compartment.
pub async fn page_clear_jam(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    ApiPath((hall, label)): ApiPath<(String, String)>,
    form: Result<PageForm<ClearJamForm>, ApiError>,
) -> Response {
    let r = async {
        let PageForm(f) = form.map_err(|e| e.0)?;
        s.app
            .clear_locker_jam(&page.principal, addr.as_deref(), &hall, &label, &f.note)
            .await?;
        Ok("格口已恢复 Compartment cleared".to_string())
    }
    .await;
    back("/staff/monitoring", r, page.en)
}

#[derive(askama::Template)]
#[template(path = "kiosk_qzj.html")]
struct QzjPage {
    shell: Shell,
}

impl QzjPage {
    fn t(&self, zh: &str, en: &str) -> String {
        self.shell.t(zh, en)
    }
}

/// The locker's mode screen: card, pickup code, the door (docs/KIOSK.md §7.6).
pub async fn page(
    State(s): State<AppState>,
    page: PageContext,
    headers: HeaderMap,
    PageQuery(q): PageQuery<KioskQuery>,
) -> Response {
    let shell = Shell::new(&s, &page.principal, &q, &headers, "/kiosk/qzj").await;
    crate::with_kiosk_policy(render(&QzjPage { shell }))
}
