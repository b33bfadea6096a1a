//! 网e捷 (issue 17, docs/KIOSK.md §7.3): the kiosk's page `/kiosk/wej`, its receipt PDF, and
//! its status action `/api/v1/kiosk/wej/status`, the choice of collection and the on-site
//! write (`/api/v1/kiosk/wej/writes…`, 立等可取); its payment actions are 办证易's use cases
//! through its own paths (`crate::bzy`).

use crate::extract::{ApiJson, ApiPath, ClientAddr, PageContext, PageQuery};
use crate::kiosk::{KioskQuery, Shell};
use crate::pages::render;
use crate::{ApiResult, AppState};
use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::{Extension, Json};
use wujing_app::bzy::CardHolder;
use wujing_app::wej::{
    KioskApplication, KioskCollectionInput, KioskStatusView, KioskWrite, KioskWriteFailure,
    KioskWriteInput, KioskWriteOutcome, KioskWriteReadBack,
};
use wujing_app::Principal;

#[derive(Template)]
#[template(path = "kiosk_wej.html")]
struct WejPage {
    shell: Shell,
}

impl WejPage {
    fn t(&self, zh: &str, en: &str) -> String {
        self.shell.t(zh, en)
    }
}

/// The 网e捷 screen.
pub async fn page(
    State(s): State<AppState>,
    page: PageContext,
    headers: HeaderMap,
    PageQuery(q): PageQuery<KioskQuery>,
) -> Response {
    crate::with_kiosk_policy(render(&WejPage {
        shell: Shell::new(&s, &page.principal, &q, &headers, "/kiosk/wej").await,
    }))
}

/// The card holder's applications in plain words and fees due (audited).
#[utoipa::path(post, path = "/api/v1/kiosk/wej/status", tag = "kiosk", security(("device" = [])),
    request_body = CardHolder,
    responses((status = 200, body = KioskStatusView),
              (status = 400, description = "`id_number_*` (the card's number is not a valid one)")))]
pub async fn status(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(input): ApiJson<CardHolder>,
) -> ApiResult<Json<KioskStatusView>> {
    Ok(Json(s.app.kiosk_status(&p, addr.as_deref(), &input).await?))
}

/// The card holder chooses how to receive one of their applications' documents (counter, the
/// hall's pickup locker, or mail), the card's number again as the proof (audited).
#[utoipa::path(post, path = "/api/v1/kiosk/wej/collection", tag = "kiosk", security(("device" = [])),
    request_body = KioskCollectionInput,
    responses((status = 200, body = KioskApplication),
              (status = 400, description = "`id_number_*`, `collection_invalid`, `mail_address_invalid`"),
              (status = 404, description = "`application_not_found` (also for another person's)"),
              (status = 409, description = "`collection_fixed` (the document has left)")))]
pub async fn collection(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(input): ApiJson<KioskCollectionInput>,
) -> ApiResult<Json<KioskApplication>> {
    Ok(Json(
        s.app
            .kiosk_choose_collection(&p, addr.as_deref(), &input)
            .await?,
    ))
}

/// 立等可取: the holder's approved G or L endorsement moved to produced at this machine, and
/// the signed payload the card writer writes (audited moves).
#[utoipa::path(post, path = "/api/v1/kiosk/wej/writes", tag = "kiosk", security(("device" = [])),
    request_body = KioskWriteInput,
    responses((status = 200, body = KioskWrite),
              (status = 400, description = "`id_number_*`"),
              (status = 404, description = "`application_not_found` (also for another person's)"),
              (status = 409, description = "`onsite_write_state` (not approved, or produced already)"),
              (status = 422, description = "`onsite_write_not_offered` (not a G or L endorsement), `onsite_write_no_permit` (no valid e-card permit)")))]
pub async fn write_start(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(input): ApiJson<KioskWriteInput>,
) -> ApiResult<Json<KioskWrite>> {
    Ok(Json(
        s.app.kiosk_write_start(&p, addr.as_deref(), &input).await?,
    ))
}

/// The card writer's read-back: equal to the payload's hash, the application moves on to
/// collected at this machine; another leaves it produced (`onsite_write_mismatch`).
#[utoipa::path(post, path = "/api/v1/kiosk/wej/writes/{application}/written", tag = "kiosk", security(("device" = [])),
    params(("application" = i64, Path)),
    request_body = KioskWriteReadBack,
    responses((status = 200, body = KioskWriteOutcome),
              (status = 404, description = "`application_not_found`"),
              (status = 409, description = "`onsite_write_state`"),
              (status = 422, description = "`onsite_write_mismatch` (left produced: a counter writes it)")))]
pub async fn write_done(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(application): ApiPath<i64>,
    ApiJson(input): ApiJson<KioskWriteReadBack>,
) -> ApiResult<Json<KioskWriteOutcome>> {
    Ok(Json(
        s.app
            .kiosk_write_written(&p, addr.as_deref(), application, &input)
            .await?,
    ))
}

/// The write did not happen at the machine (recorded): the application stays produced and
/// the answer says to go to a counter.
#[utoipa::path(post, path = "/api/v1/kiosk/wej/writes/{application}/failed", tag = "kiosk", security(("device" = [])),
    params(("application" = i64, Path)),
    request_body = KioskWriteFailure,
    responses((status = 200, body = KioskWriteOutcome),
              (status = 400, description = "`body_invalid` (an unknown reason)"),
              (status = 404, description = "`application_not_found`"),
              (status = 409, description = "`onsite_write_state`")))]
pub async fn write_failed(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(application): ApiPath<i64>,
    ApiJson(input): ApiJson<KioskWriteFailure>,
) -> ApiResult<Json<KioskWriteOutcome>> {
    Ok(Json(
        s.app
            .kiosk_write_failed(&p, addr.as_deref(), application, &input)
            .await?,
    ))
}
