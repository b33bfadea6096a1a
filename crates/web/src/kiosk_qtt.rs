//! 前台通 (issue 17, docs/KIOSK.md §7.2): the counter machine's page and its JSON actions — the
//! card read into its window's console, the window's fee and its payment on the terminal. Only
//! a paired device of kind `qtt` reaches them (`Action::KioskQtt`), for its own window; after
//! the payment the page becomes the window's rating terminal (`/rate/{site}/{window}`).

use crate::extract::{ApiJson, ClientAddr};
use crate::{ApiResult, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use wujing_app::kiosk_qtt::{QttCardInput, QttCardView, QttPaymentInput, QttWindow};
use wujing_app::Principal;

/// The window: the ticket called or served, its fee in fen, the terminal reference, paid or not.
#[utoipa::path(get, path = "/api/v1/kiosk/qtt/window", tag = "kiosk", security(("device" = [])),
    responses((status = 200, body = QttWindow)))]
pub async fn window(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
) -> ApiResult<Json<QttWindow>> {
    Ok(Json(s.app.qtt_window(&p).await?))
}

/// The card read into the console of this window, for the ticket called or served there.
#[utoipa::path(post, path = "/api/v1/kiosk/qtt/card", tag = "kiosk", security(("device" = [])),
    request_body = QttCardInput,
    responses((status = 200, body = QttCardView),
              (status = 400, description = "`id_number_*`, `name_required`"),
              (status = 409, description = "`no_ticket_served`")))]
pub async fn card(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(input): ApiJson<QttCardInput>,
) -> ApiResult<Json<QttCardView>> {
    Ok(Json(s.app.qtt_card(&p, addr.as_deref(), &input).await?))
}

/// The terminal's approved charge, recorded as the window's fee (the counter's payment, with
/// its receipt) when it is the fee of the ticket being served, and not paid yet.
#[utoipa::path(post, path = "/api/v1/kiosk/qtt/payment", tag = "kiosk", security(("device" = [])),
    request_body = QttPaymentInput,
    responses((status = 201, body = wujing_app::Payment),
              (status = 400, description = "`method_invalid`, `reference_required`"),
              (status = 409, description = "`no_ticket_served`, `already_paid`"),
              (status = 422, description = "`terminal_amount_mismatch`")))]
pub async fn payment(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(input): ApiJson<QttPaymentInput>,
) -> ApiResult<(StatusCode, Json<wujing_app::Payment>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.qtt_payment(&p, addr.as_deref(), &input).await?),
    ))
}

#[derive(askama::Template)]
#[template(path = "kiosk_qtt.html")]
struct QttPage {
    shell: crate::kiosk::Shell,
    window_number: u32,
    /// The window's rating terminal, which this machine becomes after the payment.
    rate: String,
}

/// The 前台通's screen at its window (its script drives the card read and the payment).
pub async fn page(
    State(s): State<AppState>,
    page: crate::extract::PageContext,
    headers: axum::http::HeaderMap,
    crate::extract::PageQuery(q): crate::extract::PageQuery<crate::kiosk::KioskQuery>,
) -> axum::response::Response {
    let (window, rate) = match &page.principal {
        Principal::Device(d) => {
            let w = d.window_number.unwrap_or_default();
            (w, format!("/rate/{}/{w}", d.hall_id))
        }
        _ => (0, String::new()),
    };
    crate::with_kiosk_policy(crate::pages::render(&QttPage {
        shell: crate::kiosk::Shell::new(&s, &page.principal, &q, &headers, "/kiosk/qtt").await,
        window_number: window,
        rate,
    }))
}
