//! 办证易 (issue 17, docs/KIOSK.md §7.1): the kiosk's page `/kiosk/bzy`, its receipt PDF, and
//! its JSON actions under `/api/v1/kiosk/bzy/…` — the card holder's fees due and their payment
//! on the terminal (also `/api/v1/kiosk/wej/…`: 网e捷 pays the same way), and the endorsement
//! re-issue step by step. The page (`static/kiosk-bzy.js`) drives the bridge; the use cases
//! (`wujing_app::bzy`) decide everything and each device acts only as its own kind.

use crate::extract::{ApiJson, ApiPath, ClientAddr, PageContext, PageQuery};
use crate::kiosk::{KioskQuery, Shell};
use crate::pages::render;
use crate::{ApiResult, AppState};
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use wujing_app::bzy::{
    CardHolder, FeesDue, KioskReceipt, OfferView, OpenReissue, PayFee, ReissueCharge,
    ReissueChoice, ReissueFailure, ReissueOpened, ReissueOutcome, ReissueSigned, ReissueWrite,
    TerminalApproved, TerminalCharge, TerminalDeclined,
};
use wujing_app::Principal;

#[derive(Template)]
#[template(path = "kiosk_bzy.html")]
struct BzyPage {
    shell: Shell,
}

impl BzyPage {
    fn t(&self, zh: &str, en: &str) -> String {
        self.shell.t(zh, en)
    }
}

/// The 办证易 screen.
pub async fn page(
    State(s): State<AppState>,
    page: PageContext,
    headers: HeaderMap,
    PageQuery(q): PageQuery<KioskQuery>,
) -> Response {
    crate::with_kiosk_policy(render(&BzyPage {
        shell: Shell::new(&s, &page.principal, &q, &headers, "/kiosk/bzy").await,
    }))
}

fn pdf(bytes: Vec<u8>) -> Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, "application/pdf"),
            (axum::http::header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    )
        .into_response()
}

/// A payment's receipt for the kiosk's printer (paid in the last 15 minutes; nothing personal).
pub async fn receipt_pdf(
    State(s): State<AppState>,
    page: PageContext,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    Ok(pdf(s.app.kiosk_receipt_pdf(&page.principal, id).await?))
}

/// The card holder's fees due (audited).
#[utoipa::path(post, path = "/api/v1/kiosk/bzy/fees", tag = "kiosk", security(("device" = [])),
    request_body = CardHolder,
    responses((status = 200, body = FeesDue),
              (status = 400, description = "`id_number_*` (the card's number is not a valid one)")))]
pub async fn fees(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(input): ApiJson<CardHolder>,
) -> ApiResult<Json<FeesDue>> {
    Ok(Json(
        s.app.kiosk_fees_due(&p, addr.as_deref(), &input).await?,
    ))
}

/// Starts (or reuses) the payment of one fee due: what the terminal charges (audited).
#[utoipa::path(post, path = "/api/v1/kiosk/bzy/payments", tag = "kiosk", security(("device" = [])),
    request_body = PayFee,
    responses((status = 200, body = TerminalCharge),
              (status = 404, description = "`kiosk_fee_not_due`"),
              (status = 503, description = "`payments_disabled`, `payment_provider_failed`")))]
pub async fn start_payment(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(input): ApiJson<PayFee>,
) -> ApiResult<Json<TerminalCharge>> {
    Ok(Json(s.app.kiosk_pay(&p, addr.as_deref(), &input).await?))
}

/// The terminal approved: settled with the provider; the receipt once paid (audited).
#[utoipa::path(post, path = "/api/v1/kiosk/bzy/payments/{id}/paid", tag = "kiosk", security(("device" = [])),
    params(("id" = i64, Path, description = "Payment id")),
    request_body = TerminalApproved,
    responses((status = 200, body = KioskReceipt),
              (status = 404, description = "`kiosk_fee_not_due`, `online_payment_not_found`"),
              (status = 409, description = "`kiosk_payment_not_confirmed`")))]
pub async fn paid(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<TerminalApproved>,
) -> ApiResult<Json<KioskReceipt>> {
    Ok(Json(
        s.app.kiosk_paid(&p, addr.as_deref(), id, &input).await?,
    ))
}

/// The terminal declined: recorded (audited); nothing is paid.
#[utoipa::path(post, path = "/api/v1/kiosk/bzy/payments/{id}/declined", tag = "kiosk", security(("device" = [])),
    params(("id" = i64, Path, description = "Payment id")),
    request_body = TerminalDeclined,
    responses((status = 204, description = "Recorded")))]
pub async fn declined(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<TerminalDeclined>,
) -> ApiResult<StatusCode> {
    s.app
        .kiosk_declined(&p, addr.as_deref(), id, &input)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The card holder's fees due (audited).
#[utoipa::path(post, path = "/api/v1/kiosk/wej/fees", tag = "kiosk", security(("device" = [])),
    request_body = CardHolder,
    responses((status = 200, body = FeesDue),
              (status = 400, description = "`id_number_*` (the card's number is not a valid one)")))]
pub async fn wej_fees(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(input): ApiJson<CardHolder>,
) -> ApiResult<Json<FeesDue>> {
    Ok(Json(
        s.app.kiosk_fees_due(&p, addr.as_deref(), &input).await?,
    ))
}

/// Starts (or reuses) the payment of one fee due: what the terminal charges (audited).
#[utoipa::path(post, path = "/api/v1/kiosk/wej/payments", tag = "kiosk", security(("device" = [])),
    request_body = PayFee,
    responses((status = 200, body = TerminalCharge),
              (status = 404, description = "`kiosk_fee_not_due`"),
              (status = 503, description = "`payments_disabled`, `payment_provider_failed`")))]
pub async fn wej_start_payment(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(input): ApiJson<PayFee>,
) -> ApiResult<Json<TerminalCharge>> {
    Ok(Json(s.app.kiosk_pay(&p, addr.as_deref(), &input).await?))
}

/// The terminal approved: settled with the provider; the receipt once paid (audited).
#[utoipa::path(post, path = "/api/v1/kiosk/wej/payments/{id}/paid", tag = "kiosk", security(("device" = [])),
    params(("id" = i64, Path, description = "Payment id")),
    request_body = TerminalApproved,
    responses((status = 200, body = KioskReceipt),
              (status = 404, description = "`kiosk_fee_not_due`, `online_payment_not_found`"),
              (status = 409, description = "`kiosk_payment_not_confirmed`")))]
pub async fn wej_paid(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<TerminalApproved>,
) -> ApiResult<Json<KioskReceipt>> {
    Ok(Json(
        s.app.kiosk_paid(&p, addr.as_deref(), id, &input).await?,
    ))
}

/// The terminal declined: recorded (audited); nothing is paid.
#[utoipa::path(post, path = "/api/v1/kiosk/wej/payments/{id}/declined", tag = "kiosk", security(("device" = [])),
    params(("id" = i64, Path, description = "Payment id")),
    request_body = TerminalDeclined,
    responses((status = 204, description = "Recorded")))]
pub async fn wej_declined(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<TerminalDeclined>,
) -> ApiResult<StatusCode> {
    s.app
        .kiosk_declined(&p, addr.as_deref(), id, &input)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What the card holder may re-issue, or why not (`endorsement_reissue_refused` with
/// `details.reason`); audited either way.
#[utoipa::path(post, path = "/api/v1/kiosk/bzy/endorsements/offer", tag = "kiosk", security(("device" = [])),
    request_body = CardHolder,
    responses((status = 200, body = OfferView),
              (status = 422, description = "`endorsement_reissue_refused` with `details.reason` (not_in_registry, state_functionary, military, no_permit, not_e_card, first_endorsement, validity_too_short)")))]
pub async fn offer(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(input): ApiJson<CardHolder>,
) -> ApiResult<Json<OfferView>> {
    Ok(Json(
        s.app.reissue_offer(&p, addr.as_deref(), &input).await?,
    ))
}

/// The face matched on the kiosk: a re-issue of the holder's permit opens (audited).
#[utoipa::path(post, path = "/api/v1/kiosk/bzy/endorsements", tag = "kiosk", security(("device" = [])),
    request_body = OpenReissue,
    responses((status = 200, body = ReissueOpened),
              (status = 409, description = "`endorsement_reissue_in_progress` (one re-issue per permit at a time)"),
              (status = 422, description = "`face_not_verified`, `endorsement_reissue_refused`")))]
pub async fn open(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(input): ApiJson<OpenReissue>,
) -> ApiResult<Json<ReissueOpened>> {
    Ok(Json(s.app.reissue_open(&p, addr.as_deref(), &input).await?))
}

/// The citizen's choice, priced, and the terminal's charge (audited).
#[utoipa::path(post, path = "/api/v1/kiosk/bzy/endorsements/{id}/choice", tag = "kiosk", security(("device" = [])),
    params(("id" = i64, Path, description = "Re-issue id")),
    request_body = ReissueChoice,
    responses((status = 200, body = ReissueCharge),
              (status = 404, description = "`endorsement_reissue_not_found`"),
              (status = 409, description = "`endorsement_reissue_state`"),
              (status = 422, description = "`endorsement_reissue_refused` (details.reason type_not_allowed or option_not_allowed)")))]
pub async fn choose(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ReissueChoice>,
) -> ApiResult<Json<ReissueCharge>> {
    Ok(Json(
        s.app
            .reissue_choose(&p, addr.as_deref(), id, &input)
            .await?,
    ))
}

/// The terminal approved: settled; the endorsements recorded and the payload signed (audited).
#[utoipa::path(post, path = "/api/v1/kiosk/bzy/endorsements/{id}/paid", tag = "kiosk", security(("device" = [])),
    params(("id" = i64, Path, description = "Re-issue id")),
    request_body = TerminalApproved,
    responses((status = 200, body = ReissueSigned),
              (status = 409, description = "`kiosk_payment_not_confirmed`, `endorsement_reissue_state`")))]
pub async fn reissue_paid(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<TerminalApproved>,
) -> ApiResult<Json<ReissueSigned>> {
    Ok(Json(
        s.app.reissue_paid(&p, addr.as_deref(), id, &input).await?,
    ))
}

/// The card writer read the payload back (audited); another hash fails the re-issue with the
/// refund (`card_write_mismatch`).
#[utoipa::path(post, path = "/api/v1/kiosk/bzy/endorsements/{id}/written", tag = "kiosk", security(("device" = [])),
    params(("id" = i64, Path, description = "Re-issue id")),
    request_body = ReissueWrite,
    responses((status = 200, body = ReissueOutcome),
              (status = 409, description = "`endorsement_reissue_state`"),
              (status = 422, description = "`card_write_mismatch`")))]
pub async fn written(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ReissueWrite>,
) -> ApiResult<Json<ReissueOutcome>> {
    Ok(Json(
        s.app
            .reissue_written(&p, addr.as_deref(), id, &input)
            .await?,
    ))
}

/// The kiosk stopped the re-issue: failed with the reason, a fee taken refunded (audited).
#[utoipa::path(post, path = "/api/v1/kiosk/bzy/endorsements/{id}/failed", tag = "kiosk", security(("device" = [])),
    params(("id" = i64, Path, description = "Re-issue id")),
    request_body = ReissueFailure,
    responses((status = 200, body = ReissueOutcome),
              (status = 400, description = "`body_invalid` (an unknown reason)")))]
pub async fn failed(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ReissueFailure>,
) -> ApiResult<Json<ReissueOutcome>> {
    Ok(Json(
        s.app
            .reissue_failed(&p, addr.as_deref(), id, &input)
            .await?,
    ))
}
