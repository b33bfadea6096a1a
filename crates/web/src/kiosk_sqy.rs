//! 申请易 (issue 17, docs/KIOSK.md §7.7): the e-passport kiosk's page and its JSON actions —
//! the photo's check, the fingerprint plan's next step, the submission — and the officer's
//! view of an application's biometrics. Only a paired device of kind `sqy` reaches the kiosk's
//! routes (`Action::KioskSqy`); the use cases in `wujing_app::kiosk_sqy` decide everything.

use crate::extract::{ApiJson, ApiPath, ClientAddr};
use crate::{ApiResult, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use wujing_app::kiosk_sqy::{
    ApplicationBiometrics, SqyPhotoCheck, SqyPhotoInput, SqyPlanInput, SqyPlanView, SqyReceipt,
    SqySubmitInput,
};
use wujing_app::Principal;

/// The path prefix of the 申请易's JSON actions: their bodies carry a photo, prints and a
/// signature, so they get [`SQY_BODY_LIMIT`].
pub const SQY_API_PREFIX: &str = "/api/v1/kiosk/sqy/";
/// A submission's body limit: an 80 KB photo, ten prints and a signature in base64, with room.
pub const SQY_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// Checks the camera's photo against RULES.md §5; nothing is kept.
#[utoipa::path(post, path = "/api/v1/kiosk/sqy/photo", tag = "kiosk", security(("device" = [])),
    request_body = SqyPhotoInput,
    responses((status = 200, body = SqyPhotoCheck),
              (status = 400, description = "`biometrics_invalid`")))]
pub async fn photo(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiJson(input): ApiJson<SqyPhotoInput>,
) -> ApiResult<Json<SqyPhotoCheck>> {
    Ok(Json(s.app.sqy_photo(&p, &input).await?))
}

/// The fingerprint plan's next step for the captures so far (RULES.md §5).
#[utoipa::path(post, path = "/api/v1/kiosk/sqy/fingerprints/next", tag = "kiosk", security(("device" = [])),
    request_body = SqyPlanInput,
    responses((status = 200, body = SqyPlanView),
              (status = 400, description = "`id_number_*`, `biometrics_invalid`")))]
pub async fn plan(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiJson(input): ApiJson<SqyPlanInput>,
) -> ApiResult<Json<SqyPlanView>> {
    Ok(Json(s.app.sqy_plan(&p, &input).await?))
}

/// Submits the application with its biometrics (sealed; audited `biometrics.write`); answers
/// the application and its filled form for the printer.
#[utoipa::path(post, path = "/api/v1/kiosk/sqy/applications", tag = "kiosk", security(("device" = [])),
    request_body = SqySubmitInput,
    responses((status = 201, body = SqyReceipt),
              (status = 400, description = "`id_number_*`, `name_required`, `biometrics_invalid`"),
              (status = 422, description = "`kiosk_business_invalid`, `business_not_offered`, `photo_invalid`, `fingerprints_incomplete`, `signature_missing`")))]
pub async fn submit(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(input): ApiJson<SqySubmitInput>,
) -> ApiResult<(StatusCode, Json<SqyReceipt>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.sqy_submit(&p, addr.as_deref(), &input).await?),
    ))
}

/// An application's biometrics, for an officer (counter or review) of the accepting hall;
/// audited (`biometrics.read`). Anyone else: `application_not_found`.
#[utoipa::path(get, path = "/api/v1/applications/{id}/biometrics", tag = "applications", security(("session" = [])),
    params(("id" = i64, Path, description = "Application id")),
    responses((status = 200, body = ApplicationBiometrics),
              (status = 404, description = "`application_not_found`")))]
pub async fn biometrics(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<(
    [(axum::http::HeaderName, &'static str); 1],
    Json<ApplicationBiometrics>,
)> {
    Ok((
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(
            s.app
                .application_biometrics(&p, addr.as_deref(), id)
                .await?,
        ),
    ))
}

#[derive(askama::Template)]
#[template(path = "kiosk_sqy.html")]
struct SqyPage {
    shell: crate::kiosk::Shell,
}

/// The 申请易's screen (its script drives the steps against the bridge and the actions above).
pub async fn page(
    State(s): State<AppState>,
    page: crate::extract::PageContext,
    headers: axum::http::HeaderMap,
    crate::extract::PageQuery(q): crate::extract::PageQuery<crate::kiosk::KioskQuery>,
) -> axum::response::Response {
    crate::with_kiosk_policy(crate::pages::render(&SqyPage {
        shell: crate::kiosk::Shell::new(&s, &page.principal, &q, &headers, "/kiosk/sqy").await,
    }))
}
