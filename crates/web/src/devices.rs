//! Devices (issue 16): pairing a kiosk with a short code (the kiosk's side at `/device` and
//! `/api/v1/device/pairings…`, the administrator's on the devices page and
//! `/api/v1/admin/devices/{id}/pair`), heartbeats, and the back office's monitoring page and
//! API. The protocol is docs/KIOSK.md.

use crate::auth::{set_cookie, DEVICE_COOKIE};
use crate::extract::{ApiJson, ApiPath, ClientAddr, Flash, PageContext, PageForm, PageQuery};
use crate::pages::{back, render};
use crate::{ApiError, ApiResult, AppState};
use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use wujing_app::devices::{
    HeartbeatAnswer, HeartbeatInput, Monitoring, PairingPoll, PairingStarted,
};
use wujing_app::{AppError, Code, Principal};

/// Another site must not drive a visitor's browser through pairing: browsers say where a
/// request was sent from.
fn refuse_cross_site(headers: &HeaderMap) -> Result<(), ApiError> {
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site")
    {
        return Err(AppError::from(Code::Forbidden).into());
    }
    Ok(())
}

/// A kiosk asks for a pairing code to show on its screen; it keeps `secret` and polls with it.
#[utoipa::path(post, path = "/api/v1/device/pairings", tag = "kiosk",
    responses((status = 201, body = PairingStarted),
              (status = 429, description = "`pairing_throttled` (20 codes per address per ten minutes)")))]
pub async fn start_pairing(
    State(s): State<AppState>,
    headers: HeaderMap,
    ClientAddr(addr): ClientAddr,
) -> ApiResult<(StatusCode, Json<PairingStarted>)> {
    refuse_cross_site(&headers)?;
    Ok((
        StatusCode::CREATED,
        Json(s.app.start_pairing(addr.as_deref()).await?),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PollInput {
    /// The `secret` of `POST /api/v1/device/pairings`.
    pub secret: String,
}

/// A poll's answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PollAnswer {
    /// `waiting` (not confirmed yet) or `paired`.
    pub status: &'static str,
    /// The device's bearer token, once, when paired. A browser kiosk need not keep it: the same
    /// answer sets it in the HttpOnly `wujing_device` cookie.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<wujing_app::authz::DevicePrincipal>,
}

/// The kiosk polls (every few seconds) until an administrator has confirmed its code; then it
/// receives its token, once.
#[utoipa::path(post, path = "/api/v1/device/pairings/poll", tag = "kiosk",
    request_body = PollInput,
    responses((status = 200, body = PollAnswer, description = "`waiting`, or `paired` with the token (and the `wujing_device` cookie)"),
              (status = 404, description = "`pairing_unknown` (no such pairing, expired, or taken)"),
              (status = 409, description = "`device_revoked`")))]
pub async fn poll_pairing(
    State(s): State<AppState>,
    headers: HeaderMap,
    ApiJson(i): ApiJson<PollInput>,
) -> ApiResult<Response> {
    refuse_cross_site(&headers)?;
    Ok(match s.app.poll_pairing(&i.secret).await? {
        PairingPoll::Waiting => Json(PollAnswer {
            status: "waiting",
            token: None,
            device: None,
        })
        .into_response(),
        PairingPoll::Paired { token, device } => {
            let cookie = set_cookie(
                DEVICE_COOKIE,
                &token,
                400 * 24 * 3600,
                s.options.secure_cookies,
            );
            let mut r = Json(PollAnswer {
                status: "paired",
                token: Some(token),
                device: Some(device),
            })
            .into_response();
            r.headers_mut().append(header::SET_COOKIE, cookie);
            r
        }
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PairInput {
    /// The code the kiosk shows (case, spaces and hyphens ignored).
    pub code: String,
}

/// Confirms the code a kiosk shows for this device (audited, `device.pair`); the kiosk's next
/// poll receives a fresh token and the device's earlier token stops working.
#[utoipa::path(post, path = "/api/v1/admin/devices/{id}/pair", tag = "admin", security(("session" = [], "csrf" = [])),
    params(("id" = i64, Path, description = "Device id")),
    request_body = PairInput,
    responses((status = 204, description = "Confirmed"),
              (status = 404, description = "`pairing_unknown`, `not_found` (no such device)"),
              (status = 409, description = "`device_revoked`"),
              (status = 429, description = "`pairing_throttled` (five wrong codes, then a wait)")))]
pub async fn api_pair(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(i): ApiJson<PairInput>,
) -> ApiResult<StatusCode> {
    s.app
        .confirm_pairing(&p, addr.as_deref(), id, &i.code)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A page form's fields (the page adds its CSRF field).
#[derive(Deserialize)]
pub struct PairForm {
    code: String,
}

#[derive(Deserialize)]
pub struct ClearForm {
    note: String,
}

/// The devices page's pairing form.
pub async fn page_pair(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    form: Result<PageForm<PairForm>, ApiError>,
) -> Response {
    let r = async {
        let PageForm(f) = form.map_err(|e| e.0)?;
        s.app
            .confirm_pairing(&page.principal, addr.as_deref(), id, &f.code)
            .await?;
        Ok(format!("终端 #{id} 已配对 Paired"))
    }
    .await;
    back("/staff/admin/devices", r, page.en)
}

/// A device's heartbeat with the state of each of its peripherals.
#[utoipa::path(post, path = "/api/v1/device/heartbeat", tag = "kiosk", security(("device" = [])),
    request_body = HeartbeatInput,
    responses((status = 200, body = HeartbeatAnswer),
              (status = 400, description = "`heartbeat_invalid`"),
              (status = 401, description = "`device_token_invalid`")))]
pub async fn heartbeat(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(i): ApiJson<HeartbeatInput>,
) -> ApiResult<Json<HeartbeatAnswer>> {
    Ok(Json(s.app.heartbeat(&p, addr.as_deref(), &i).await?))
}

/// The back office's view of devices and round-the-clock points: sites, devices (online, last
/// seen, peripherals, open faults, last transaction) and alerts, for the sites the caller
/// watches.
#[utoipa::path(get, path = "/api/v1/monitoring", tag = "monitoring", security(("session" = [])),
    responses((status = 200, body = Monitoring)))]
pub async fn api_monitoring(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
) -> ApiResult<Json<Monitoring>> {
    Ok(Json(s.app.monitoring(&p).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClearInput {
    /// What was done (one line, up to 500 characters).
    pub note: String,
}

/// Clears a device's alert with a note (audited, `device_alert.clear`).
#[utoipa::path(post, path = "/api/v1/monitoring/alerts/{id}/clear", tag = "monitoring", security(("session" = [], "csrf" = [])),
    params(("id" = i64, Path, description = "Device alert id")),
    request_body = ClearInput,
    responses((status = 204, description = "Cleared"),
              (status = 404, description = "`device_alert_not_found`"),
              (status = 409, description = "`device_alert_cleared`"),
              (status = 422, description = "`outcome_required`")))]
pub async fn api_clear(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(i): ApiJson<ClearInput>,
) -> ApiResult<StatusCode> {
    s.app
        .clear_device_alert(&p, addr.as_deref(), id, &i.note)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A device's row as the page shows it.
struct DeviceRow {
    d: wujing_app::devices::MonitoredDevice,
    /// The site's name (staff pages show names, not ids).
    site: String,
    seen: String,
    last_transaction: String,
    /// Each peripheral and its state in words; a fault marked.
    peripherals: Vec<(String, bool)>,
    /// The open alerts' reasons in words.
    faults: Vec<String>,
}

/// A device alert as the page shows it.
struct AlertRow {
    a: wujing_app::devices::DeviceAlertView,
    /// Raised, in hall time.
    at: String,
    /// The device's name and its site's.
    device: String,
    /// The reason in words.
    reason: String,
}

#[derive(Template)]
#[template(path = "monitoring.html")]
struct MonitoringPage {
    page: PageContext,
    msg: String,
    msg_kind: String,
    /// Each site with its kind in words (staff pages show no raw codes).
    sites: Vec<(wujing_app::devices::MonitoredSite, String)>,
    devices: Vec<DeviceRow>,
    alerts: Vec<AlertRow>,
    /// The pickup lockers' compartments (issue 17), with when each jam began (hall time).
    lockers: Vec<(wujing_app::locker::MonitoredLocker, Vec<String>)>,
}

fn local(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map_or_else(
        || "—".to_string(),
        |t| {
            t.with_timezone(&wujing_domain::calendar::china_offset())
                .format("%m-%d %H:%M")
                .to_string()
        },
    )
}

pub async fn page(
    State(s): State<AppState>,
    page: PageContext,
    PageQuery(q): PageQuery<Flash>,
) -> ApiResult<Response> {
    let m = s.app.monitoring(&page.principal).await?;
    let (msg, msg_kind) = q.shown();
    let site_name = |id: &str| {
        m.sites
            .iter()
            .find(|s| s.id == id)
            .map_or_else(|| id.to_string(), |s| s.name_zh.clone())
    };
    let words = |reason: &str, state: &str| {
        let (zh, en) = wujing_domain::device::alert_words(reason, state);
        format!("{zh} {en}")
    };
    let devices: Vec<DeviceRow> = m
        .devices
        .iter()
        .map(|d| DeviceRow {
            site: site_name(&d.hall_id),
            seen: local(d.last_seen),
            last_transaction: local(d.last_transaction_at),
            // What needs a look, in words; the working ones counted, not listed.
            peripherals: {
                let mut v: Vec<(String, bool)> = d
                    .peripherals
                    .iter()
                    .filter(|(_, state)| state.as_str() != "ok")
                    .map(|(k, state)| {
                        let (pz, pe) = wujing_domain::device::peripheral_words(k);
                        let (sz, se) = wujing_domain::device::state_words(state);
                        (
                            format!("{pz}{sz} ({pe}: {se})"),
                            wujing_domain::device::is_fault(state),
                        )
                    })
                    .collect();
                let ok = d.peripherals.values().filter(|s| *s == "ok").count();
                if ok > 0 {
                    let names: Vec<&str> = d
                        .peripherals
                        .iter()
                        .filter(|(_, s)| *s == "ok")
                        .map(|(k, _)| wujing_domain::device::peripheral_words(k).0)
                        .collect();
                    v.push((
                        format!(
                            "{}正常 ({ok} working): {}",
                            if v.is_empty() { "全部" } else { "其余" },
                            names.join("、")
                        ),
                        false,
                    ));
                }
                v
            },
            faults: d
                .faults
                .iter()
                .map(|r| {
                    let state = r
                        .strip_prefix("fault:")
                        .and_then(|p| d.peripherals.get(p))
                        .map_or("error", String::as_str);
                    words(r, state)
                })
                .collect(),
            d: d.clone(),
        })
        .collect();
    let alerts = m
        .alerts
        .iter()
        .map(|a| AlertRow {
            at: local(Some(a.raised_at)),
            device: m
                .devices
                .iter()
                .find(|d| d.id == a.device_id)
                .map_or_else(|| format!("#{}", a.device_id), |d| d.name.clone())
                + " · "
                + &site_name(&a.hall_id),
            reason: words(&a.reason, &a.state),
            a: a.clone(),
        })
        .collect();
    let lockers = m
        .lockers
        .into_iter()
        .map(|l| {
            let at = l.compartments.iter().map(|c| local(c.jammed_at)).collect();
            (l, at)
        })
        .collect();
    Ok(render(&MonitoringPage {
        page,
        msg,
        msg_kind,
        sites: m
            .sites
            .into_iter()
            .map(|s| {
                let kind = wujing_domain::site::SiteKind::parse(&s.kind)
                    .map_or_else(|| s.kind.clone(), |k| k.name_zh().to_string());
                (s, kind)
            })
            .collect(),
        devices,
        alerts,
        lockers,
    }))
}

/// The monitoring page's clearing form.
pub async fn page_clear(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    form: Result<PageForm<ClearForm>, ApiError>,
) -> Response {
    let r = async {
        let PageForm(f) = form.map_err(|e| e.0)?;
        s.app
            .clear_device_alert(&page.principal, addr.as_deref(), id, &f.note)
            .await?;
        Ok("已解除 Cleared".to_string())
    }
    .await;
    back("/staff/monitoring", r, page.en)
}
