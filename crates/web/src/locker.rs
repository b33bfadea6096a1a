//! The pickup locker (取证机): its administrator's API (compartments and occupancy), the
//! locker's own API and its touch page, where the citizen types the identity number and the
//! pickup code and is told which compartment opens. The page is bound to a device of the hall
//! like the kiosk's (`/device?back=/locker`); the use cases decide everything.

use crate::extract::{ApiJson, ApiPath, ClientAddr, PageContext, PageForm};
use crate::pages::render;
use crate::{ApiError, ApiResult, AppState};
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::{Extension, Json};
use wujing_app::locker::{LockerCollectInput, LockerPickup, LockerSetup, LockerView};
use wujing_app::Principal;

/// A hall's locker compartments and which are occupied.
#[utoipa::path(get, path = "/api/v1/admin/halls/{id}/locker", tag = "admin", security(("session" = [])),
    params(("id" = String, Path, description = "Hall id, e.g. `tianhe`")),
    responses((status = 200, body = LockerView),
              (status = 404, description = "`not_found` (no such hall)")))]
pub async fn get_locker(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiPath(hall): ApiPath<String>,
) -> ApiResult<Json<LockerView>> {
    Ok(Json(s.app.locker(&p, &hall).await?))
}

/// Sets up a hall's locker compartments, by count (`A-01` … in rows of 20) or by labels
/// (audited). Compartments no longer listed are removed; an occupied one never is.
#[utoipa::path(put, path = "/api/v1/admin/halls/{id}/locker", tag = "admin", security(("session" = [], "csrf" = [])),
    params(("id" = String, Path, description = "Hall id, e.g. `tianhe`")),
    request_body = LockerSetup,
    responses((status = 200, body = LockerView),
              (status = 400, description = "`locker_invalid`"),
              (status = 404, description = "`not_found` (no such hall)"),
              (status = 409, description = "`compartment_occupied`")))]
pub async fn put_locker(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(hall): ApiPath<String>,
    ApiJson(setup): ApiJson<LockerSetup>,
) -> ApiResult<Json<LockerView>> {
    Ok(Json(
        s.app.set_locker(&p, addr.as_deref(), &hall, &setup).await?,
    ))
}

/// A collection at the locker (a device of the hall): the applicant's identity number and the
/// one-time pickup code; answers the compartment that opens. The document is then collected,
/// the compartment free and the code used up.
#[utoipa::path(post, path = "/api/v1/locker/collect", tag = "kiosk", security(("device" = [])),
    request_body = LockerCollectInput,
    responses((status = 200, body = LockerPickup),
              (status = 422, description = "`pickup_code_invalid` (the same for a wrong identity number, a wrong code, or nothing waiting)"),
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

#[derive(Template)]
#[template(path = "locker.html")]
struct LockerPage {
    msg: String,
    compartment: Option<String>,
}

/// The locker's touch page: the form.
pub async fn page() -> Response {
    render(&LockerPage {
        msg: String::new(),
        compartment: None,
    })
}

/// The form posted: the compartment that opens, or the reason in both languages.
pub async fn submit(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    form: Result<PageForm<LockerCollectInput>, ApiError>,
) -> Response {
    let collected = match form {
        Ok(PageForm(input)) => {
            s.app
                .collect_from_locker(&page.principal, addr.as_deref(), &input)
                .await
        }
        Err(e) => Err(e.0),
    };
    match collected {
        Ok(pickup) => render(&LockerPage {
            msg: String::new(),
            compartment: Some(pickup.compartment),
        }),
        Err(e) => render(&LockerPage {
            msg: format!("{} · {}", e.message(false), e.message(true)),
            compartment: None,
        }),
    }
}
