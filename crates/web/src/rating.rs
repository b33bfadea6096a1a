//! The rating terminal at a window (前台通 mode), the leaders' alerts, and binding a browser to
//! a device token.

use crate::auth::{set_cookie, DEVICE_COOKIE};
use crate::extract::{
    percent_encode, ApiJson, ApiPath, ClientAddr, Flash, PageContext, PageForm, PageQuery,
};
use crate::pages::{back, render};
use crate::{ApiError, ApiResult, AppState};
use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use wujing_app::ratings::{RatingInput, REASONS};
use wujing_app::{Alert, AppError, Code, Principal};

/// Where the device page sends the browser once bound.
#[derive(Deserialize)]
pub struct DeviceBack {
    #[serde(default)]
    back: String,
}

#[derive(Template)]
#[template(path = "device.html")]
struct DevicePage {
    msg: String,
    back: String,
}

/// The form a terminal's browser is bound with. The token is typed or pasted into it and
/// posted: a token in an address would stay in the browser's history, the access logs of
/// every proxy on the way, and `Referer` headers.
pub async fn bind_page(PageQuery(q): PageQuery<DeviceBack>) -> Response {
    render(&DevicePage {
        msg: String::new(),
        back: crate::same_site_path(&q.back).to_string(),
    })
}

#[derive(Deserialize)]
pub struct DeviceBind {
    token: String,
    #[serde(default)]
    back: String,
}

/// Binds this browser to a device token (the terminal is set up once by staff): the token goes
/// into an HttpOnly cookie and is checked like a bearer token on every request. A wrong token
/// shows the form again with the reason.
pub async fn bind(
    State(s): State<AppState>,
    headers: HeaderMap,
    form: Result<PageForm<DeviceBind>, ApiError>,
) -> ApiResult<Response> {
    // Another site must not post a token of its choosing and turn a visitor's browser (a
    // staff member's, say) into a terminal: browsers say where a form was sent from.
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site")
    {
        return Err(AppError::from(Code::Forbidden).into());
    }
    let PageForm(f) = form?;
    let token = f.token.trim();
    let back = crate::same_site_path(&f.back).to_string();
    let p = match s.app.authenticate(None, Some(token)).await {
        Ok(p) => p,
        Err(e) if e.code == Code::DeviceTokenInvalid => {
            let mut r = render(&DevicePage {
                msg: "令牌无效或已吊销 The token is not valid or was revoked".into(),
                back,
            });
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            return Ok(r);
        }
        Err(e) => return Err(e.into()),
    };
    let Principal::Device(_) = p else {
        unreachable!("a valid token is a device")
    };
    let mut r = Redirect::to(&back).into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            DEVICE_COOKIE,
            token,
            400 * 24 * 3600,
            s.options.secure_cookies,
        ),
    );
    Ok(r)
}

#[derive(Template)]
#[template(path = "rate.html")]
struct RatePage {
    msg: String,
    window: u32,
    /// The officer at the window (or the last one there today).
    officer: Option<String>,
    ticket: String,
    /// Seconds before the form gives way to the idle screen.
    idle_after: i64,
    reasons: Vec<(&'static str, &'static str, &'static str)>,
}

pub async fn page(
    State(s): State<AppState>,
    page: PageContext,
    ApiPath((hall, window)): ApiPath<(String, u32)>,
    PageQuery(q): PageQuery<Flash>,
) -> ApiResult<Response> {
    let asked = s.app.label_to_rate(&page.principal, &hall, window).await?;
    let msg: String = q.msg.chars().take(100).collect();
    let officer = s.app.window_officer(&page.principal, &hall, window).await?;
    let (ticket, idle_after) = asked.unwrap_or_default();
    Ok(crate::with_kiosk_policy(render(&RatePage {
        msg,
        window,
        officer,
        ticket,
        idle_after,
        reasons: REASONS.to_vec(),
    })))
}

/// The rating terminal's form: the score button pressed, and the reasons ticked (any number).
#[derive(Deserialize)]
pub struct RateForm {
    score: String,
    #[serde(default)]
    reason: Vec<String>,
}

pub async fn submit(
    State(s): State<AppState>,
    page: PageContext,
    ApiPath((hall, window)): ApiPath<(String, u32)>,
    form: Result<PageForm<RateForm>, ApiError>,
) -> Response {
    let rated = match form {
        Ok(PageForm(f)) => {
            let r = RatingInput {
                score: f.score,
                reasons: f.reason,
            };
            s.app.rate(&page.principal, &hall, window, &r).await
        }
        Err(e) => Err(e.0),
    };
    let msg = match rated {
        Ok(_) => "谢谢您的评价 Thank you",
        Err(e) if e.code == Code::AlreadyRated => "已评价，谢谢 Already rated, thank you",
        Err(_) => "评价未能提交，请告知工作人员 The rating could not be saved",
    };
    Redirect::to(&format!(
        "/rate/{}/{window}?msg={}",
        percent_encode(&hall),
        percent_encode(msg)
    ))
    .into_response()
}

/// The citizen's rating of the window's last ticket, from the window's rating terminal.
///
/// The ticket is the window's last one finished in the last ten minutes; "unsatisfied" raises
/// an alert and pages the hall's leaders and supervisors.
#[utoipa::path(post, path = "/api/v1/halls/{id}/windows/{number}/rating", tag = "ratings", security(("device" = [])),
    params(("id" = String, Path, description = "Hall id, e.g. `tianhe`"), ("number" = u32, Path, description = "Window number in the hall")),
    request_body = RatingInput,
    responses((status = 201, body = crate::api::RatingOutcome),
              (status = 400, description = "`score_invalid`, `reason_invalid`, `path_invalid`"),
              (status = 409, description = "`nothing_to_rate`, `already_rated`")))]
pub async fn api_rate(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiPath((hall, window)): ApiPath<(String, u32)>,
    ApiJson(r): ApiJson<RatingInput>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let alert = s.app.rate(&p, &hall, window, &r).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "alert": alert })),
    ))
}

/// Alerts of the halls the caller covers, newest first.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "ratings", security(("session" = [])),
    responses((status = 200, body = Vec<Alert>)))]
pub async fn api_alerts(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
) -> ApiResult<Json<Vec<wujing_app::Alert>>> {
    Ok(Json(s.app.alerts(&p).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AckInput {
    outcome: String,
}

/// Acknowledges an alert with what was done (audited).
#[utoipa::path(post, path = "/api/v1/alerts/{id}/ack", tag = "ratings", security(("session" = [], "csrf" = [])),
    params(("id" = i64, Path, description = "Alert id")),
    request_body = AckInput,
    responses((status = 204, description = "Acknowledged"),
              (status = 400, description = "`outcome_required`, `path_invalid`"),
              (status = 404, description = "`alert_not_found`"),
              (status = 409, description = "`alert_acknowledged`")))]
pub async fn api_ack(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(a): ApiJson<AckInput>,
) -> ApiResult<StatusCode> {
    s.app
        .acknowledge_alert(&p, addr.as_deref(), id, &a.outcome)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    page: PageContext,
    msg: String,
    msg_kind: String,
    open_count: usize,
    alerts: Vec<wujing_app::ratings::AlertShown>,
}

pub async fn alerts_page(
    State(s): State<AppState>,
    page: PageContext,
    PageQuery(q): PageQuery<Flash>,
) -> ApiResult<Response> {
    let alerts = s.app.alerts_shown(&page.principal).await?;
    let (msg, msg_kind) = q.shown();
    let open_count = alerts
        .iter()
        .filter(|a| a.alert.acknowledged_at.is_none())
        .count();
    Ok(render(&AlertsPage {
        page,
        msg,
        msg_kind,
        open_count,
        alerts,
    }))
}

/// The leader's acknowledgement from the alerts page: the same as the API's (`outcome`).
pub async fn alerts_ack(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    form: Result<PageForm<AckInput>, ApiError>,
) -> Response {
    let r = async {
        let PageForm(a) = form.map_err(|e| e.0)?;
        s.app
            .acknowledge_alert(&page.principal, addr.as_deref(), id, &a.outcome)
            .await?;
        Ok("已确认".to_string())
    }
    .await;
    back("/staff/alerts", r, false)
}
