//! Online payment's HTTP side: the providers' callback route
//! (`POST /api/v1/payments/callback/{provider}`: the raw body and headers handed to the app,
//! which verifies, records and applies them) and the simulated provider's checkout page
//! (`/pay/simulated/{reference}`, 模拟支付: pay, decline, or send the notification again).

use crate::extract::{ApiPath, PageContext, PageForm};
use crate::pages::render;
use crate::{ApiResult, AppState};
use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use serde::Deserialize;
use wujing_app::payments::simulated::SimulatedCheckout;
use wujing_app::payments::{CallbackAnswer, PaymentStatus};

/// A payment provider's notification of an order's outcome. Authenticated by the provider's
/// signature over the raw body (the simulated provider: `X-Wujing-Sim-Signature:
/// sha256=<hex HMAC-SHA256>`), not by a session; recorded once per provider event id, so a
/// repeated notification answers `already_processed` and changes nothing.
#[utoipa::path(post, path = "/api/v1/payments/callback/{provider}", tag = "payments",
    params(("provider" = String, Path, description = "The provider's name, e.g. `simulated`")),
    request_body(content = String, description = "The provider's notification, exactly as signed"),
    responses((status = 200, body = CallbackAnswer, description = "`result`: `applied`, `already_processed`, `stale` or `refunding`"),
              (status = 400, description = "`payment_callback_invalid`"),
              (status = 401, description = "`payment_signature_invalid`"),
              (status = 404, description = "`online_payment_not_found` (unknown reference or provider)"),
              (status = 422, description = "`payment_amount_mismatch` (recorded, not accepted)"),
              (status = 503, description = "`payments_disabled`")))]
pub async fn callback(
    State(s): State<AppState>,
    ApiPath(provider): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<CallbackAnswer>> {
    let headers: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    Ok(Json(
        s.app.payment_callback(&provider, &body, &headers).await?,
    ))
}

#[derive(Template)]
#[template(path = "portal_pay_simulated.html")]
struct CheckoutPage {
    page: PageContext,
    title: String,
    msg: String,
    msg_kind: String,
    c: SimulatedCheckout,
    subject: String,
    status: String,
    decided: String,
}

fn status_name(page: &PageContext, s: PaymentStatus) -> &'static str {
    match s {
        PaymentStatus::Pending => page.t("待支付", "Awaiting payment"),
        PaymentStatus::Paid => page.t("已支付", "Paid"),
        PaymentStatus::Declined => page.t("已拒绝", "Declined"),
        PaymentStatus::RefundDue => page.t("退款中", "Being refunded"),
        PaymentStatus::Refunded => page.t("已退款", "Refunded"),
    }
}

fn checkout_page(page: PageContext, c: SimulatedCheckout, msg: String) -> Response {
    let title = page.t("模拟支付", "Simulated payment").to_string();
    let subject = page.t(&c.subject_zh, &c.subject_en).to_string();
    let status = status_name(&page, c.status).to_string();
    let decided = match c.decided {
        Some(wujing_app::payments::PaymentOutcome::Paid) => page.t("已支付", "paid"),
        Some(wujing_app::payments::PaymentOutcome::Declined) => page.t("已拒绝", "declined"),
        None => "",
    }
    .to_string();
    let msg_kind = if msg.is_empty() { "" } else { "error" }.to_string();
    render(&CheckoutPage {
        page,
        title,
        msg,
        msg_kind,
        c,
        subject,
        status,
        decided,
    })
}

/// The simulated provider's checkout page.
pub async fn page(
    State(s): State<AppState>,
    page: PageContext,
    axum::extract::Path(reference): axum::extract::Path<String>,
) -> ApiResult<Response> {
    let c = s.app.simulated_checkout(&reference).await?;
    Ok(checkout_page(page, c, String::new()))
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckoutAction {
    Pay,
    Decline,
    Resend,
}

#[derive(Deserialize)]
pub struct CheckoutForm {
    action: CheckoutAction,
}

/// Pay, decline, or send the notification again: the signed notification goes to our
/// callback route over HTTP, then the browser goes back to the purpose's page.
pub async fn submit(
    State(s): State<AppState>,
    page: PageContext,
    axum::extract::Path(reference): axum::extract::Path<String>,
    PageForm(f): PageForm<CheckoutForm>,
) -> ApiResult<Response> {
    let done = match f.action {
        CheckoutAction::Pay => s.app.simulated_decide(&reference, true).await,
        CheckoutAction::Decline => s.app.simulated_decide(&reference, false).await,
        CheckoutAction::Resend => s.app.simulated_resend(&reference).await,
    };
    match done {
        Ok(back) => Ok(Redirect::to(&back).into_response()),
        Err(e) => {
            let c = s.app.simulated_checkout(&reference).await?;
            let msg = page.message(&e);
            Ok(checkout_page(page, c, msg))
        }
    }
}
