//! Wujing's HTTP surface: the JSON API under /api/v1, its OpenAPI document, and the operations
//! endpoints (/healthz, /readyz, /metrics).
//!
//! Handlers are thin: they extract, call one [`App`] method, and serialise. They never touch SQL
//! or decide a rule. Errors travel as [`AppError`] inside the response and are rendered into the
//! one error envelope by the [`envelope`] middleware, which knows the request id and language.

mod api;
mod applications;
mod assets;
pub mod auth;
mod authority;
mod board;
mod bzy;
mod capacity;
mod counter;
mod devices;
mod extract;
mod foreign;
mod hotline;
mod kiosk;
mod kiosk_qtt;
mod kiosk_qzj;
pub mod kiosk_sqy;
mod kiosk_tbj;
mod kiosk_yyj;
mod kiosk_zjt;
mod labels;
mod locker;
mod lodging;
mod metrics;
mod ops;
mod pages;
mod payments;
mod portal;
mod production;
mod rating;
mod reception;
mod serve;
mod signals;
mod sites;
mod staff;
mod stats;
mod wej;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put, MethodRouter};
use axum::{Json, Router};
use rand::Rng;
use std::sync::Arc;
use std::time::Instant;
use tower_http::set_header::SetResponseHeaderLayer;
use wujing_app::{Action, App, AppError, Code, ErrorKind};

pub use api::ApiDoc;
pub use metrics::HttpMetrics;
pub use serve::{
    serve, Closing, ServeOptions, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_SHUTDOWN_GRACE,
};

#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub http: Arc<HttpMetrics>,
    pub options: WebOptions,
    /// The board's live listeners, counted against the caps of [`WebOptions`].
    listeners: Arc<board::Listeners>,
}

/// How the HTTP layer is deployed.
#[derive(Debug, Clone)]
pub struct WebOptions {
    /// Take the client address from the first `X-Forwarded-For` entry. Only behind a reverse
    /// proxy that sets it: otherwise any caller could pick its own address and dodge the
    /// per-address rate limits.
    pub trust_forwarded_for: bool,
    /// Mark cookies `Secure`: set when Wujing is served over TLS (directly or behind a proxy).
    pub secure_cookies: bool,
    /// The largest request body accepted, JSON or form; larger ones answer
    /// `413 payload_too_large`.
    pub max_body_bytes: usize,
    /// How long a request may take until its response starts; longer ones answer
    /// `503 timeout`. A streamed body (the board's server-sent events) is not bounded by it.
    pub request_timeout: std::time::Duration,
    /// The bearer token a metrics scraper presents for `/metrics` (and nothing else); without
    /// one, `/metrics` is for signed-in administrators only.
    pub metrics_token: Option<String>,
    /// The most live listeners (`/board/{id}/events`) one board has at once; more answer
    /// `503 too_many_listeners`. A hall has a few screens: the rest of the cap is for
    /// citizens following their hall's board on a phone.
    pub board_listeners_per_board: usize,
    /// The most live listeners of all boards together.
    pub board_listeners: usize,
    /// Signalled when the server shuts down: the board's live streams end on it.
    pub closing: Closing,
}

/// 64 KiB: every form and JSON body of Wujing is a few KiB at most.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
pub const DEFAULT_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
pub const DEFAULT_BOARD_LISTENERS_PER_BOARD: usize = 200;
pub const DEFAULT_BOARD_LISTENERS: usize = 2_000;

impl Default for WebOptions {
    fn default() -> Self {
        Self {
            trust_forwarded_for: false,
            secure_cookies: false,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            metrics_token: None,
            board_listeners_per_board: DEFAULT_BOARD_LISTENERS_PER_BOARD,
            board_listeners: DEFAULT_BOARD_LISTENERS,
            closing: Closing::default(),
        }
    }
}

/// The client's address as decided by [`envelope`]: the peer, or the proxy's
/// `X-Forwarded-For` when trusted.
#[derive(Debug, Clone)]
pub struct ClientIp(pub Option<String>);

/// The request id, set by middleware for every request (taken from `x-request-id` when the
/// caller sent a sane one) and echoed in the response header and error bodies.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Whether the caller prefers English: by `Accept-Language: en…` for the API, and also by the
/// language chosen with `/lang` for pages; zh-CN otherwise.
#[derive(Debug, Clone, Copy)]
pub struct English(pub bool);

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The HTTP status of each error kind.
pub(crate) fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Invalid => StatusCode::BAD_REQUEST,
        ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Gone => StatusCode::GONE,
        ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An [`AppError`] as a response. The body is written by [`envelope`].
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        Self(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = status_of(self.0.kind).into_response();
        if let Some(secs) = self.0.retry_after {
            r.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, HeaderValue::from(secs));
        }
        r.extensions_mut().insert(Arc::new(self.0));
        r
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Where a `back` parameter may send a browser: a path on this site, else the home page.
/// Browsers read `\` as `/` and drop tabs and line breaks inside URLs, so `/\evil.example`
/// or `/<TAB>/evil.example` would leave the site like `//evil.example`; anything but printable
/// ASCII without a backslash is refused (that also keeps a line break out of the header).
pub(crate) fn same_site_path(back: &str) -> &str {
    let b = back.as_bytes();
    let path_only = b.first() == Some(&b'/')
        && !matches!(b.get(1), Some(b'/' | b'\\'))
        && b.iter().all(|c| c.is_ascii_graphic() && *c != b'\\');
    if path_only {
        back
    } else {
        "/"
    }
}

/// A request whose path or query, once decoded, carries a control or bidirectional-override
/// character: refused before any handler, so that no such character reaches a lookup (a NUL
/// would fail on PostgreSQL and be stored on SQLite) or a page.
fn control_in_address(path_and_query: &str) -> Option<AppError> {
    let decoded = percent_encoding::percent_decode_str(path_and_query).decode_utf8_lossy();
    wujing_domain::text::forbidden_in_line(&decoded).map(AppError::text_invalid)
}

/// A body over [`WebOptions::max_body_bytes`].
pub(crate) fn payload_too_large() -> AppError {
    AppError::from(Code::PayloadTooLarge)
}

/// The errors that tower-http's layers answer with themselves, as a bare status without an
/// [`AppError`]: the body limit's 413 (also axum's, when a streamed body runs over the limit
/// while a handler reads it) and the timeout's 503. Nothing else answers these statuses
/// without an `AppError`.
fn plumbing_error(status: StatusCode) -> Option<AppError> {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => Some(payload_too_large()),
        StatusCode::SERVICE_UNAVAILABLE => Some(AppError::from(Code::Timeout)),
        _ => None,
    }
}

fn request_id_from(req: &Request) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (8..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_string)
        .unwrap_or_else(|| format!("{:016x}", rand::thread_rng().gen::<u64>()))
}

#[derive(serde::Serialize)]
struct Envelope<'a> {
    error: EnvelopeBody<'a>,
}

/// Borrowing serialisation: a cached `details` value is written out, not deep-copied.
#[derive(serde::Serialize)]
struct EnvelopeBody<'a> {
    code: &'a str,
    message: &'a str,
    request_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a serde_json::value::RawValue>,
}

/// Assigns the request id, renders errors into the envelope, logs and counts the request.
async fn envelope(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id_from(&req);
    let method = req.method().clone();
    let path = req.uri().path();
    let staff_page = path.starts_with("/staff");
    // Everything that is not the JSON API or an operations endpoint is a page for people.
    let page = !(path.starts_with("/api") || ["/healthz", "/readyz", "/metrics"].contains(&path));
    let english = if page {
        extract::page_english(req.headers())
    } else {
        extract::accepts_english(req.headers())
    };
    let path_and_query = req
        .uri()
        .path_and_query()
        .map_or_else(|| "/staff".to_string(), |p| p.to_string());
    let forwarded = state
        .options
        .trust_forwarded_for
        .then(|| {
            req.headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .map(|v| v.trim().to_string())
                .filter(|v| v.parse::<std::net::IpAddr>().is_ok())
        })
        .flatten();
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    // A citizen's error page speaks in the portal's layout and display modes.
    let portal_headers = (page && !staff_page).then(|| req.headers().clone());
    req.extensions_mut().insert(ClientIp(forwarded.or(peer)));
    req.extensions_mut().insert(RequestId(id.clone()));
    req.extensions_mut().insert(English(english));
    let mut res = match control_in_address(&path_and_query) {
        Some(e) => ApiError(e).into_response(),
        None => next.run(req).await,
    };
    if res.extensions().get::<Arc<AppError>>().is_none() {
        if let Some(e) = plumbing_error(res.status()) {
            res.extensions_mut().insert(Arc::new(e));
        }
    }
    if let Some(err) = res.extensions_mut().remove::<Arc<AppError>>() {
        let status = res.status();
        let body = Envelope {
            error: EnvelopeBody {
                code: err.code.as_str(),
                message: err.message(english),
                request_id: &id,
                details: err.details.as_deref(),
            },
        };
        let mut r = if staff_page && err.kind == ErrorKind::Unauthorized {
            axum::response::Redirect::to(&format!(
                "/staff/login?next={}",
                path_and_query.replace('&', "%26")
            ))
            .into_response()
        } else if let Some(headers) = &portal_headers {
            let face = state.app.face().await.ok();
            let page = extract::PageContext::for_error(headers, english, face);
            let title = match err.kind {
                ErrorKind::NotFound => page.t("没有找到", "Not found"),
                ErrorKind::Forbidden | ErrorKind::Unauthorized => page.t("无法访问", "Not allowed"),
                ErrorKind::RateLimited => page.t("请稍后再试", "Please try again later"),
                ErrorKind::Unavailable | ErrorKind::Internal => {
                    page.t("服务暂时不可用", "The service is not available right now")
                }
                _ => page.t("无法完成", "That did not work"),
            }
            .to_string();
            let mut r = pages::render(&pages::PortalErrorPage {
                msg: String::new(),
                msg_kind: String::new(),
                title,
                message: match err.kind {
                    // Not "no such endpoint; see the API": a person followed a link.
                    ErrorKind::NotFound if err.code == Code::RouteNotFound => page
                        .t(
                            "这个网址没有对应的页面，可能链接已过期或输入有误。",
                            "There is no page at this address; the link may be old or mistyped.",
                        )
                        .to_string(),
                    _ => err.message(english).to_string(),
                },
                not_found: err.kind == ErrorKind::NotFound,
                code: err.code.to_string(),
                request_id: id.clone(),
                page,
            });
            *r.status_mut() = status;
            r
        } else if page {
            // The staff pages' header names the authority (its emblem, its name).
            let face = state.app.face().await.ok();
            let mut r = pages::render(&pages::ErrorPage {
                page: extract::PageContext::for_error(&axum::http::HeaderMap::new(), english, face),
                msg: String::new(),
                msg_kind: String::new(),
                title: if status == StatusCode::FORBIDDEN {
                    "没有权限 Forbidden".into()
                } else {
                    format!("{status}")
                },
                message: err.message(english).to_string(),
                code: err.code.to_string(),
                request_id: id.clone(),
                home: if staff_page { "/staff" } else { "/" }.into(),
            });
            *r.status_mut() = status;
            r
        } else {
            (status, Json(body)).into_response()
        };
        r.headers_mut().extend(
            res.headers()
                .iter()
                .filter(|(k, _)| k.as_str().starts_with("retry-after"))
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        if err.kind == ErrorKind::Internal {
            tracing::error!(request_id = %id, code = err.code.as_str(), "request failed");
        } else if err.code == Code::Timeout {
            tracing::warn!(request_id = %id, "request timed out");
        }
        res = r;
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    let route = res
        .extensions()
        .get::<RouteTag>()
        .map_or("unmatched", |r| r.0.as_str())
        .to_string();
    let elapsed = started.elapsed();
    state
        .http
        .observe(method.as_str(), &route, res.status().as_u16(), elapsed);
    tracing::info!(
        request_id = %id,
        method = %method,
        route = %route,
        status = res.status().as_u16(),
        micros = elapsed.as_micros() as u64,
        "request"
    );
    res
}

/// The matched route template, carried out of routing for the metrics and the log: the outer
/// middleware runs before routing and cannot see it otherwise.
#[derive(Clone)]
struct RouteTag(String);

async fn tag_route(path: MatchedPath, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    res.extensions_mut()
        .insert(RouteTag(path.as_str().to_string()));
    res
}

async fn route_not_found() -> ApiError {
    ApiError(AppError::new(
        Code::RouteNotFound,
        "没有这个接口，请查阅 /api/openapi.json",
        "no such endpoint; see /api/openapi.json",
    ))
}

async fn method_not_allowed() -> ApiError {
    ApiError(AppError::new(
        Code::MethodNotAllowed,
        "该接口不支持此请求方法",
        "this endpoint does not support the request method",
    ))
}

/// Scripts and styles come from this site's own files only (`/static/…`): no inline script,
/// handler or style, so markup injected into a page cannot run or restyle it; nothing may
/// frame a page (clickjacking), and forms post only here. The QR code of the slip is inline
/// SVG markup with presentation attributes, which `style-src` does not govern.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

/// The kiosk pages' policy (the check-in screen and the rating terminal): the same, and also
/// the WebSocket of the peripheral bridge on the kiosk itself (docs/KIOSK.md §5). Loopback
/// only, any port, because the agent's port is the kiosk's own configuration (`?bridge=`). No
/// other page may open a socket to the machine it runs on.
pub const KIOSK_CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self'; connect-src 'self' ws://127.0.0.1:*; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// A kiosk page's answer with [`KIOSK_CONTENT_SECURITY_POLICY`] (the outer layer sets the
/// strict policy only where a handler set none).
pub(crate) fn with_kiosk_policy(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(KIOSK_CONTENT_SECURITY_POLICY),
    );
    r
}

/// The whole HTTP application with default options.
pub fn router(app: App) -> Router {
    router_with(app, WebOptions::default())
}

/// Every route: method, path, the action it needs, and its handler. The router is built from
/// this one table, so a route cannot exist without an authorisation decision, and the
/// authorisation-matrix test reads the same table.
fn table() -> Vec<(Method, &'static str, Action, MethodRouter<AppState>)> {
    use Action::*;
    use Method as M;
    vec![
        (M::GET, "/healthz", Public, get(ops::healthz)),
        (M::GET, "/readyz", Public, get(ops::readyz)),
        (M::GET, "/metrics", ViewMetrics, get(ops::metrics)),
        (M::GET, "/api/openapi.json", Public, get(api::openapi)),
        (M::GET, "/api/v1/halls", Public, get(api::list_halls)),
        (M::GET, "/api/v1/halls/{id}", Public, get(api::get_hall)),
        (
            M::GET,
            "/api/v1/businesses",
            Public,
            get(api::list_businesses),
        ),
        (
            M::GET,
            "/api/v1/businesses/{code}",
            Public,
            get(api::get_business),
        ),
        (
            M::GET,
            "/api/v1/availability",
            Public,
            get(api::availability),
        ),
        (
            M::POST,
            "/api/v1/eligibility",
            Public,
            post(api::eligibility),
        ),
        (M::POST, "/api/v1/mrz", Public, post(api::read_mrz)),
        (
            M::POST,
            "/api/v1/phone-codes",
            Public,
            post(api::send_phone_code),
        ),
        (M::POST, "/api/v1/holds", Public, post(api::create_hold)),
        (
            M::POST,
            "/api/v1/bookings",
            Public,
            post(api::confirm_booking),
        ),
        (
            M::GET,
            "/api/v1/bookings/{code}",
            Public,
            get(api::get_booking),
        ),
        (
            M::POST,
            "/api/v1/bookings/{code}/cancel",
            Public,
            post(api::cancel_booking),
        ),
        (
            M::POST,
            "/api/v1/bookings/{code}/reschedule",
            Public,
            post(api::reschedule_booking),
        ),
        (
            M::POST,
            "/api/v1/lottery/entries",
            Public,
            post(api::enter_lottery),
        ),
        (
            M::GET,
            "/api/v1/lottery/entries/{id}",
            Public,
            get(api::get_lottery_entry),
        ),
        (
            M::GET,
            "/api/v1/lottery/draws/{day}",
            Public,
            get(api::get_lottery_draw),
        ),
        (
            M::GET,
            "/api/v1/ops/signals",
            ViewSignals,
            get(api::signals),
        ),
        (M::GET, "/api/v1/kiosk/me", Kiosk, get(staff::kiosk_me)),
        // 办证易 and 网e捷 (issue 17): fees due paid on the terminal, and 办证易's endorsement
        // re-issue. The payment routes are shared in the use case (`KioskPay`); each kind reaches
        // them through its own path, gated by its own kind's action.
        (M::POST, "/api/v1/kiosk/bzy/fees", Endorse, post(bzy::fees)),
        (
            M::POST,
            "/api/v1/kiosk/bzy/payments",
            Endorse,
            post(bzy::start_payment),
        ),
        (
            M::POST,
            "/api/v1/kiosk/bzy/payments/{id}/paid",
            Endorse,
            post(bzy::paid),
        ),
        (
            M::POST,
            "/api/v1/kiosk/bzy/payments/{id}/declined",
            Endorse,
            post(bzy::declined),
        ),
        (
            M::POST,
            "/api/v1/kiosk/wej/fees",
            KioskStatus,
            post(bzy::wej_fees),
        ),
        (
            M::POST,
            "/api/v1/kiosk/wej/payments",
            KioskStatus,
            post(bzy::wej_start_payment),
        ),
        (
            M::POST,
            "/api/v1/kiosk/wej/payments/{id}/paid",
            KioskStatus,
            post(bzy::wej_paid),
        ),
        (
            M::POST,
            "/api/v1/kiosk/wej/payments/{id}/declined",
            KioskStatus,
            post(bzy::wej_declined),
        ),
        (
            M::POST,
            "/api/v1/kiosk/wej/status",
            KioskStatus,
            post(wej::status),
        ),
        (
            M::POST,
            "/api/v1/kiosk/wej/collection",
            KioskStatus,
            post(wej::collection),
        ),
        (
            M::POST,
            "/api/v1/kiosk/wej/writes",
            KioskStatus,
            post(wej::write_start),
        ),
        (
            M::POST,
            "/api/v1/kiosk/wej/writes/{application}/written",
            KioskStatus,
            post(wej::write_done),
        ),
        (
            M::POST,
            "/api/v1/kiosk/wej/writes/{application}/failed",
            KioskStatus,
            post(wej::write_failed),
        ),
        (
            M::POST,
            "/api/v1/kiosk/bzy/endorsements/offer",
            Endorse,
            post(bzy::offer),
        ),
        (
            M::POST,
            "/api/v1/kiosk/bzy/endorsements",
            Endorse,
            post(bzy::open),
        ),
        (
            M::POST,
            "/api/v1/kiosk/bzy/endorsements/{id}/choice",
            Endorse,
            post(bzy::choose),
        ),
        (
            M::POST,
            "/api/v1/kiosk/bzy/endorsements/{id}/paid",
            Endorse,
            post(bzy::reissue_paid),
        ),
        (
            M::POST,
            "/api/v1/kiosk/bzy/endorsements/{id}/written",
            Endorse,
            post(bzy::written),
        ),
        (
            M::POST,
            "/api/v1/kiosk/bzy/endorsements/{id}/failed",
            Endorse,
            post(bzy::failed),
        ),
        // The eight modes (issue 17): each machine's actions, its kind's only.
        (
            M::POST,
            "/api/v1/kiosk/qzj/open",
            Locker,
            post(kiosk_qzj::api_open),
        ),
        (
            M::POST,
            "/api/v1/kiosk/qzj/collect",
            Locker,
            post(kiosk_qzj::api_collect),
        ),
        (
            M::POST,
            "/api/v1/kiosk/qzj/jam",
            Locker,
            post(kiosk_qzj::api_jam),
        ),
        (
            M::POST,
            "/api/v1/kiosk/tbj/forms",
            KioskForm,
            post(kiosk_tbj::api_form),
        ),
        (
            M::POST,
            "/api/v1/kiosk/zjt/read",
            KioskPassport,
            post(kiosk_zjt::api_read),
        ),
        (
            M::POST,
            "/api/v1/kiosk/zjt/checkins",
            KioskPassport,
            post(kiosk_zjt::api_check_in),
        ),
        (
            M::POST,
            "/api/v1/kiosk/zjt/lodging",
            KioskPassport,
            post(kiosk_zjt::api_lodging),
        ),
        (
            M::GET,
            "/api/v1/kiosk/yyj/slots",
            KioskBook,
            get(kiosk_yyj::api_slots),
        ),
        (
            M::POST,
            "/api/v1/kiosk/yyj/bookings",
            KioskBook,
            post(kiosk_yyj::api_book),
        ),
        (M::POST, "/api/v1/staff/session", Public, post(staff::login)),
        (
            M::DELETE,
            "/api/v1/staff/session",
            Staff,
            delete(staff::logout),
        ),
        (M::GET, "/api/v1/staff/me", Staff, get(staff::me)),
        (
            M::POST,
            "/api/v1/staff/me/password",
            Staff,
            post(staff::change_password),
        ),
        (
            M::GET,
            "/api/v1/staff/bookings/{code}",
            LookupBooking,
            get(staff::staff_booking),
        ),
        (
            M::POST,
            "/api/v1/staff/bookings/{code}/reveal",
            RevealIdentity,
            post(staff::reveal),
        ),
        (
            M::GET,
            "/api/v1/admin/staff",
            ManageStaff,
            get(staff::list_staff),
        ),
        (
            M::POST,
            "/api/v1/admin/staff",
            ManageStaff,
            post(staff::create_staff),
        ),
        (
            M::GET,
            "/api/v1/admin/staff/{id}",
            ManageStaff,
            get(staff::get_staff),
        ),
        (
            M::PATCH,
            "/api/v1/admin/staff/{id}",
            ManageStaff,
            patch(staff::change_staff),
        ),
        (
            M::POST,
            "/api/v1/admin/staff/{id}/unlock",
            ManageStaff,
            post(staff::unlock_sign_in),
        ),
        (
            M::GET,
            "/api/v1/admin/devices",
            ManageDevices,
            get(staff::list_devices),
        ),
        (
            M::POST,
            "/api/v1/admin/devices",
            ManageDevices,
            post(staff::create_device),
        ),
        (
            M::POST,
            "/api/v1/admin/devices/{id}/revoke",
            ManageDevices,
            post(staff::revoke_device),
        ),
        (
            M::PUT,
            "/api/v1/admin/halls/{id}",
            ManageHalls,
            put(staff::update_hall),
        ),
        (
            M::GET,
            "/api/v1/admin/halls/{id}/locker",
            ManageHalls,
            get(locker::get_locker),
        ),
        (
            M::PUT,
            "/api/v1/admin/halls/{id}/locker",
            ManageHalls,
            put(locker::put_locker),
        ),
        (
            M::POST,
            "/api/v1/locker/collect",
            Locker,
            post(locker::api_collect),
        ),
        (
            M::GET,
            "/api/v1/admin/halls/{id}/windows",
            ManageHalls,
            get(staff::hall_windows),
        ),
        (
            M::POST,
            "/api/v1/admin/halls/{id}/windows",
            ManageHalls,
            post(staff::add_window),
        ),
        (
            M::DELETE,
            "/api/v1/admin/halls/{id}/windows/{number}",
            ManageHalls,
            delete(staff::remove_window),
        ),
        (
            M::POST,
            "/api/v1/admin/halls/{id}/capacity",
            ManageHalls,
            post(staff::set_capacity),
        ),
        (
            M::GET,
            "/api/v1/admin/halls/{id}/calendar",
            ManageHalls,
            get(staff::hall_calendar),
        ),
        (
            M::POST,
            "/api/v1/admin/halls/{id}/calendar",
            ManageHalls,
            post(staff::set_hall_day),
        ),
        (M::GET, "/api/v1/audit", ViewAudit, get(staff::audit)),
        (
            M::POST,
            "/api/v1/halls/{id}/checkins",
            CheckIn,
            post(counter::check_in),
        ),
        (
            M::GET,
            "/api/v1/halls/{id}/tickets",
            Counter,
            get(counter::tickets),
        ),
        (
            M::POST,
            "/api/v1/halls/{id}/windows/{number}/call",
            Counter,
            post(counter::call_next),
        ),
        (
            M::POST,
            "/api/v1/halls/{id}/windows/{number}/tickets/{ticket}/action",
            Counter,
            post(counter::action),
        ),
        (
            M::POST,
            "/api/v1/halls/{id}/windows/{number}/tickets/{ticket}/fee",
            Counter,
            post(counter::fee),
        ),
        (
            M::GET,
            "/api/v1/halls/{id}/reconciliation",
            Reconcile,
            get(counter::reconciliation),
        ),
        (
            M::GET,
            "/staff/counter/{id}/{number}",
            Counter,
            get(counter::console),
        ),
        (
            M::POST,
            "/staff/counter/{id}/{number}",
            Counter,
            post(counter::console_submit),
        ),
        (M::GET, "/", Public, get(portal::home)),
        (M::GET, "/lang", Public, get(portal::switch_lang)),
        (M::GET, "/text", Public, get(portal::switch_text)),
        (M::GET, "/book/{business}", Public, get(portal::business)),
        // Foreigners (issue 14 §2): their businesses, English first, the passport typed or
        // its zone pasted; the counter's passport renewal link.
        (M::GET, "/foreigners", Public, get(portal::foreign::list)),
        (
            M::GET,
            "/foreigners/book/{business}",
            Public,
            get(portal::foreign::business),
        ),
        (
            M::POST,
            "/foreigners/book/{business}/check",
            Public,
            post(portal::foreign::check),
        ),
        (
            M::POST,
            "/api/v1/halls/{id}/passport-links",
            Counter,
            post(foreign::api_link),
        ),
        (
            M::GET,
            "/staff/halls/{id}/passports",
            Counter,
            get(foreign::page),
        ),
        (
            M::POST,
            "/staff/halls/{id}/passports",
            Counter,
            post(foreign::submit),
        ),
        (
            M::POST,
            "/book/{business}/check",
            Public,
            post(portal::check),
        ),
        (
            M::POST,
            "/book/{business}/times",
            Public,
            post(portal::times),
        ),
        (M::POST, "/book/{business}/hold", Public, post(portal::hold)),
        (M::POST, "/book/{business}/edit", Public, post(portal::edit)),
        (
            M::POST,
            "/book/{business}/halls",
            Public,
            post(portal::halls),
        ),
        (
            M::POST,
            "/book/{business}/confirm",
            Public,
            post(portal::confirm),
        ),
        (M::GET, "/slip/{code}", Public, get(portal::slip)),
        (M::GET, "/slip/{code}/booking.ics", Public, get(portal::ics)),
        (
            M::GET,
            "/slip/{code}/print",
            Public,
            get(portal::slip_print),
        ),
        (
            M::GET,
            "/slip/{code}/form.pdf",
            Public,
            get(portal::form_pdf),
        ),
        (
            M::GET,
            "/slip/{code}/receipt.pdf",
            Public,
            get(portal::receipt_pdf),
        ),
        (M::POST, "/slip/{code}/change", Public, post(portal::change)),
        (
            M::POST,
            "/slip/{code}/collection",
            Public,
            post(portal::collection),
        ),
        (
            M::POST,
            "/slip/{code}/reschedule",
            Public,
            post(portal::reschedule),
        ),
        (M::GET, "/my", Public, get(portal::my)),
        (M::POST, "/my", Public, post(portal::my_submit)),
        (M::GET, "/status", Public, get(portal::status)),
        (M::POST, "/status", Public, post(portal::status_submit)),
        (M::GET, "/staff/login", Public, get(pages::login_page)),
        (M::POST, "/staff/login", Public, post(pages::login_submit)),
        (M::POST, "/staff/logout", Staff, post(pages::logout)),
        (M::GET, "/staff", Staff, get(pages::home)),
        (M::GET, "/staff/password", Staff, get(pages::password_page)),
        (
            M::POST,
            "/staff/password",
            Staff,
            post(pages::password_submit),
        ),
        (
            M::GET,
            "/staff/admin/staff",
            ManageStaff,
            get(pages::staff_page),
        ),
        (
            M::POST,
            "/staff/admin/staff",
            ManageStaff,
            post(pages::staff_create),
        ),
        (
            M::POST,
            "/staff/admin/staff/{id}",
            ManageStaff,
            post(pages::staff_change),
        ),
        (
            M::GET,
            "/staff/admin/devices",
            ManageDevices,
            get(pages::devices_page),
        ),
        (
            M::POST,
            "/staff/admin/devices",
            ManageDevices,
            post(pages::device_create),
        ),
        (
            M::POST,
            "/staff/admin/devices/{id}/revoke",
            ManageDevices,
            post(pages::device_revoke),
        ),
        (
            M::GET,
            "/staff/admin/halls",
            ManageHalls,
            get(pages::halls_page),
        ),
        (
            M::GET,
            "/staff/admin/halls/{id}",
            ManageHalls,
            get(pages::hall_page),
        ),
        (
            M::POST,
            "/staff/admin/halls/{id}",
            ManageHalls,
            post(pages::hall_submit),
        ),
        // Sites (issue 13 §2): creating and listing them is the administrators'; one site is
        // also its hall manager's (the use cases ask again with the site).
        (
            M::GET,
            "/api/v1/admin/sites",
            ManageSites,
            get(sites::list_sites),
        ),
        (
            M::POST,
            "/api/v1/admin/sites",
            ManageSites,
            post(sites::create_site),
        ),
        (
            M::GET,
            "/api/v1/admin/sites/{id}",
            ManageHalls,
            get(sites::get_site),
        ),
        (
            M::PUT,
            "/api/v1/admin/sites/{id}",
            ManageHalls,
            put(sites::update_site),
        ),
        (
            M::GET,
            "/api/v1/admin/authority",
            ManageAuthority,
            get(authority::get_authority),
        ),
        (
            M::PUT,
            "/api/v1/admin/authority",
            ManageAuthority,
            put(authority::put_authority),
        ),
        (
            M::PUT,
            authority::EMBLEM_API_PATH,
            ManageAuthority,
            put(authority::put_emblem),
        ),
        (
            M::POST,
            authority::EMBLEM_UPLOAD_PATH,
            ManageAuthority,
            post(authority::emblem_submit),
        ),
        (
            M::GET,
            "/staff/authority",
            ManageAuthority,
            get(authority::authority_page),
        ),
        (
            M::POST,
            "/staff/authority",
            ManageAuthority,
            post(authority::authority_submit),
        ),
        (
            M::GET,
            "/staff/reception/{id}",
            Counter,
            get(reception::reception_page),
        ),
        (
            M::POST,
            "/staff/reception/{id}",
            Counter,
            post(reception::reception_submit),
        ),
        (M::GET, "/privacy", Public, get(authority::privacy)),
        (
            M::GET,
            "/accessibility",
            Public,
            get(authority::accessibility),
        ),
        (M::GET, "/emblem", Public, get(authority::emblem)),
        (M::GET, "/staff/sites", ManageSites, get(sites::sites_page)),
        (
            M::POST,
            "/staff/sites",
            ManageSites,
            post(sites::sites_submit),
        ),
        (
            M::GET,
            "/staff/sites/{id}",
            ManageHalls,
            get(sites::site_page),
        ),
        (
            M::POST,
            "/staff/sites/{id}",
            ManageHalls,
            post(sites::site_submit),
        ),
        (M::GET, "/staff/audit", ViewAudit, get(pages::audit_page)),
        (M::GET, "/staff/signals", ViewSignals, get(signals::page)),
        (M::GET, "/staff/stats", ViewStats, get(stats::page)),
        (M::GET, "/staff/stats.csv", ViewStats, get(stats::csv)),
        (M::GET, "/staff/stats.xlsx", ViewStats, get(stats::xlsx)),
        (M::GET, "/staff/appraisal", Appraisal, get(stats::appraisal)),
        (
            M::POST,
            "/api/v1/halls/{id}/windows/{number}/rating",
            Rate,
            post(rating::api_rate),
        ),
        (M::GET, "/api/v1/alerts", Alerts, get(rating::api_alerts)),
        (
            M::POST,
            "/api/v1/alerts/{id}/ack",
            Alerts,
            post(rating::api_ack),
        ),
        (
            M::POST,
            "/api/v1/device/pairings",
            Public,
            post(devices::start_pairing),
        ),
        (
            M::POST,
            "/api/v1/device/pairings/poll",
            Public,
            post(devices::poll_pairing),
        ),
        (
            M::POST,
            "/api/v1/device/heartbeat",
            Kiosk,
            post(devices::heartbeat),
        ),
        (
            M::POST,
            "/api/v1/admin/devices/{id}/pair",
            ManageDevices,
            post(devices::api_pair),
        ),
        (
            M::POST,
            "/staff/admin/devices/{id}/pair",
            ManageDevices,
            post(devices::page_pair),
        ),
        (
            M::GET,
            "/api/v1/monitoring",
            Monitor,
            get(devices::api_monitoring),
        ),
        (
            M::POST,
            "/api/v1/monitoring/alerts/{id}/clear",
            Monitor,
            post(devices::api_clear),
        ),
        (M::GET, "/staff/monitoring", Monitor, get(devices::page)),
        (
            M::POST,
            "/api/v1/monitoring/lockers/{id}/compartments/{label}/clear",
            Monitor,
            post(kiosk_qzj::api_clear_jam),
        ),
        (
            M::POST,
            "/staff/monitoring/lockers/{id}/compartments/{label}/clear",
            Monitor,
            post(kiosk_qzj::page_clear_jam),
        ),
        (M::GET, "/staff/capacity", Capacity, get(capacity::page)),
        (
            M::POST,
            "/staff/monitoring/alerts/{id}/clear",
            Monitor,
            post(devices::page_clear),
        ),
        (M::GET, "/device", Public, get(rating::bind_page)),
        (M::POST, "/device", Public, post(rating::bind)),
        (M::GET, "/rate/{id}/{number}", Rate, get(rating::page)),
        (M::POST, "/rate/{id}/{number}", Rate, post(rating::submit)),
        (M::GET, "/staff/alerts", Alerts, get(rating::alerts_page)),
        (
            M::POST,
            "/staff/alerts/{id}/ack",
            Alerts,
            post(rating::alerts_ack),
        ),
        (M::GET, "/static/{file}", Public, get(assets::asset)),
        (M::GET, "/board/{id}", Public, get(board::page)),
        (M::GET, "/board/{id}/events", Public, get(board::events)),
        (
            M::POST,
            "/api/v1/halls/{id}/windows/{number}/tickets/{ticket}/accept",
            Counter,
            post(counter::accept),
        ),
        (
            M::POST,
            "/api/v1/halls/{id}/windows/{number}/tickets/{ticket}/urgent",
            Counter,
            post(counter::urgent),
        ),
        (
            M::POST,
            "/api/v1/halls/{id}/tickets/{ticket}/refund",
            Refund,
            post(counter::refund),
        ),
        (
            M::GET,
            "/api/v1/halls/{id}/tickets/{ticket}/receipt.pdf",
            Receipts,
            get(counter::receipt),
        ),
        (
            M::POST,
            "/api/v1/halls/{id}/walk-ins",
            CheckIn,
            post(counter::walk_in),
        ),
        (
            M::GET,
            "/api/v1/applications/review-queue",
            Review,
            get(applications::review_queue),
        ),
        // Any staff member asks; the use case shows only an application of a hall where the
        // caller reviews, produces or works a counter (else `application_not_found`).
        (
            M::GET,
            "/api/v1/applications/{id}",
            Staff,
            get(applications::detail),
        ),
        (
            M::POST,
            "/api/v1/applications/{id}/review",
            Review,
            post(applications::start_review),
        ),
        (
            M::POST,
            "/api/v1/applications/{id}/approve",
            Review,
            post(applications::approve),
        ),
        (
            M::POST,
            "/api/v1/applications/{id}/supplement-request",
            Review,
            post(applications::supplement_request),
        ),
        (
            M::POST,
            "/api/v1/applications/{id}/refuse",
            Review,
            post(applications::refuse),
        ),
        (
            M::POST,
            "/api/v1/applications/{id}/production",
            Produce,
            post(applications::production),
        ),
        (
            M::POST,
            "/api/v1/applications/{id}/collect",
            Counter,
            post(applications::collect),
        ),
        (
            M::POST,
            "/api/v1/applications/{id}/collection",
            Counter,
            post(applications::choose_collection),
        ),
        (
            M::GET,
            "/api/v1/applications/overdue",
            ViewSignals,
            get(applications::overdue),
        ),
        (
            M::POST,
            "/api/v1/applications/mine",
            Public,
            post(applications::mine),
        ),
        (
            M::POST,
            "/api/v1/halls/{id}/applications/lookup",
            Counter,
            post(applications::counter_lookup),
        ),
        (
            M::POST,
            "/api/v1/halls/{id}/applications/{application}/supplement",
            Counter,
            post(applications::supplement),
        ),
        (
            M::POST,
            "/api/v1/bookings/{code}/collection",
            Public,
            post(applications::choose_collection_as_owner),
        ),
        (
            M::POST,
            "/api/v1/bookings/{code}/withdraw",
            Public,
            post(applications::withdraw_as_owner),
        ),
        (
            M::POST,
            "/slip/{code}/withdraw",
            Public,
            post(portal::withdraw),
        ),
        (
            M::GET,
            "/staff/review",
            Review,
            get(applications::review_page),
        ),
        (
            M::GET,
            "/staff/overdue",
            ViewSignals,
            get(applications::overdue_page),
        ),
        (
            M::POST,
            "/staff/review/{id}",
            Review,
            post(applications::review_page_step),
        ),
        // The production centre's API: its system's bearer token, or a producer's session.
        (
            M::POST,
            "/api/v1/production/batches",
            ProductionBatches,
            post(production::create_batch),
        ),
        (
            M::GET,
            "/api/v1/production/batches",
            ProductionBatches,
            get(production::list_batches),
        ),
        (
            M::GET,
            "/api/v1/production/batches/{id}",
            ProductionBatches,
            get(production::get_batch),
        ),
        (
            M::POST,
            "/api/v1/production/documents/{id}",
            ProductionBatches,
            post(production::report_document),
        ),
        (
            M::GET,
            "/api/v1/admin/system-clients",
            ManageSystemClients,
            get(production::list_clients),
        ),
        (
            M::POST,
            "/api/v1/admin/system-clients",
            ManageSystemClients,
            post(production::create_client),
        ),
        (
            M::POST,
            "/api/v1/admin/system-clients/{id}/revoke",
            ManageSystemClients,
            post(production::revoke_client),
        ),
        // The producers' page: staff sessions only (`Produce` permits no system client).
        (M::GET, "/staff/production", Produce, get(production::page)),
        (
            M::POST,
            "/staff/production/batch",
            Produce,
            post(production::page_batch),
        ),
        (
            M::POST,
            "/staff/production/{id}",
            Produce,
            post(production::page_step),
        ),
        (M::GET, "/api/v1/urgent", Urgent, get(counter::urgent_list)),
        (
            M::POST,
            "/api/v1/urgent/{id}/decision",
            Urgent,
            post(counter::urgent_decide),
        ),
        (M::GET, "/staff/urgent", Urgent, get(counter::urgent_page)),
        (
            M::POST,
            "/staff/urgent/{id}",
            Urgent,
            post(counter::urgent_page_decide),
        ),
        (
            M::GET,
            "/staff/reconciliation",
            Reconcile,
            get(counter::reconciliation_page),
        ),
        (
            M::GET,
            "/staff/reconciliation.csv",
            Reconcile,
            get(counter::reconciliation_csv),
        ),
        // The hotline (telephone channel): the operator's API and page.
        (
            M::POST,
            "/api/v1/hotline/phone-codes",
            Hotline,
            post(hotline::send_code),
        ),
        (
            M::POST,
            "/api/v1/hotline/bookings",
            Hotline,
            post(hotline::book),
        ),
        (M::GET, "/staff/hotline", Hotline, get(hotline::page)),
        (M::POST, "/staff/hotline/hold", Hotline, post(hotline::hold)),
        (
            M::POST,
            "/staff/hotline/confirm",
            Hotline,
            post(hotline::confirm),
        ),
        // Fully online business (全程网办, issue 13): the citizen's pages (the online
        // application's cookie is the proof past the code), the status link, and the
        // reviewers' view of the photo.
        (M::GET, "/online", Public, get(portal::online::start)),
        (
            M::POST,
            "/online",
            Public,
            post(portal::online::start_submit),
        ),
        (M::GET, "/online/app", Public, get(portal::online::app)),
        (
            M::POST,
            "/online/app/answers",
            Public,
            post(portal::online::answers),
        ),
        (
            M::POST,
            portal::online::PHOTO_UPLOAD_PATH,
            Public,
            post(portal::online::photo),
        ),
        (
            M::GET,
            "/online/app/photo",
            Public,
            get(portal::online::own_photo),
        ),
        (
            M::POST,
            "/online/app/collection",
            Public,
            post(portal::online::collection),
        ),
        (
            M::POST,
            "/online/app/pay",
            Public,
            post(portal::online::pay),
        ),
        (
            M::GET,
            "/online/return/{reference}",
            Public,
            get(portal::online::payment_return),
        ),
        (
            M::GET,
            "/online/status/{reference}",
            Public,
            get(portal::online::status),
        ),
        (
            M::GET,
            "/staff/applications/{id}/photo",
            Review,
            get(portal::online::staff_photo),
        ),
        // The kiosk modes 申请易 and 前台通 (issue 17): each its machine's only, never staff's.
        (M::GET, "/kiosk/sqy", KioskSqy, get(kiosk_sqy::page)),
        (M::GET, "/kiosk/qtt", KioskQtt, get(kiosk_qtt::page)),
        (
            M::POST,
            "/api/v1/kiosk/sqy/photo",
            KioskSqy,
            post(kiosk_sqy::photo),
        ),
        (
            M::POST,
            "/api/v1/kiosk/sqy/fingerprints/next",
            KioskSqy,
            post(kiosk_sqy::plan),
        ),
        (
            M::POST,
            "/api/v1/kiosk/sqy/applications",
            KioskSqy,
            post(kiosk_sqy::submit),
        ),
        // Any staff member asks; the use case shows them only to an officer (counter or
        // review) of the accepting hall (else `application_not_found`).
        (
            M::GET,
            "/api/v1/applications/{id}/biometrics",
            Staff,
            get(kiosk_sqy::biometrics),
        ),
        (
            M::GET,
            "/api/v1/kiosk/qtt/window",
            KioskQtt,
            get(kiosk_qtt::window),
        ),
        (
            M::POST,
            "/api/v1/kiosk/qtt/card",
            KioskQtt,
            post(kiosk_qtt::card),
        ),
        (
            M::POST,
            "/api/v1/kiosk/qtt/payment",
            KioskQtt,
            post(kiosk_qtt::payment),
        ),
        (M::GET, "/locker", Locker, get(locker::page)),
        (M::POST, "/locker", Locker, post(locker::submit)),
        // The check-in screen is the check-in kiosk's (and the appointment machine's): a device
        // of another kind is refused the screen, not only the check-in.
        // 办证易's screen and its receipts (issue 17, docs/KIOSK.md §7.1).
        (M::GET, "/kiosk/bzy", Endorse, get(bzy::page)),
        (
            M::GET,
            "/kiosk/bzy/receipts/{id}/pdf",
            Endorse,
            get(bzy::receipt_pdf),
        ),
        // 网e捷's screen and its receipts (issue 17, docs/KIOSK.md §7.3).
        (M::GET, "/kiosk/wej", KioskStatus, get(wej::page)),
        (
            M::GET,
            "/kiosk/wej/receipts/{id}/pdf",
            KioskStatus,
            get(bzy::receipt_pdf),
        ),
        // The eight machines' mode screens (issue 17), each its kind's only.
        (M::GET, "/kiosk/qzj", Locker, get(kiosk_qzj::page)),
        (M::GET, "/kiosk/yyj", KioskBook, get(kiosk_yyj::page)),
        (M::GET, "/kiosk/tbj", KioskForm, get(kiosk_tbj::page)),
        (M::GET, "/kiosk/zjt", KioskPassport, get(kiosk_zjt::page)),
        (M::GET, "/kiosk", CheckIn, get(counter::kiosk)),
        (M::POST, "/kiosk", CheckIn, post(counter::kiosk_submit)),
        (
            M::GET,
            "/kiosk/tickets/{id}/pdf",
            CheckIn,
            get(counter::kiosk_ticket_pdf),
        ),
        // Online payment (issue 13): a provider's signed notification, and the simulated
        // provider's checkout page. Public: the signature, not a session, authenticates.
        (
            M::POST,
            "/api/v1/payments/callback/{provider}",
            Public,
            post(payments::callback),
        ),
        (
            M::GET,
            "/pay/simulated/{reference}",
            Public,
            get(payments::page),
        ),
        (
            M::POST,
            "/pay/simulated/{reference}",
            Public,
            post(payments::submit),
        ),
    ]
    .into_iter()
    .chain(lodging_routes())
    .collect()
}

/// Accommodation registration (issue 14 §3, `lodging.rs`): the hotels' API (their token), the
/// small-hotel page (its session; the sign-in is public), the host's page and API (public), the
/// station's worklist and hotels (staff of a police station).
fn lodging_routes() -> Vec<(Method, &'static str, Action, MethodRouter<AppState>)> {
    use Action::*;
    use Method as M;
    vec![
        (
            M::POST,
            "/api/v1/lodging/registrations",
            Hotel,
            post(lodging::register),
        ),
        (
            M::POST,
            "/api/v1/lodging/registrations/batch",
            Hotel,
            post(lodging::batch),
        ),
        (
            M::GET,
            "/api/v1/lodging/registrations/{stay}",
            Hotel,
            get(lodging::stay),
        ),
        (
            M::POST,
            "/api/v1/lodging/registrations/{stay}/check-out",
            Hotel,
            post(lodging::check_out),
        ),
        (
            M::POST,
            "/api/v1/lodging/host",
            Public,
            post(lodging::host_register),
        ),
        (
            M::POST,
            "/api/v1/lodging/host/status",
            Public,
            post(lodging::host_status),
        ),
        (
            M::GET,
            "/api/v1/lodging/worklist",
            Lodging,
            get(lodging::worklist),
        ),
        (
            M::GET,
            "/api/v1/lodging/worklist.csv",
            Lodging,
            get(lodging::worklist_csv),
        ),
        (
            M::GET,
            "/api/v1/lodging/worklist/{id}",
            Lodging,
            get(lodging::registration),
        ),
        (
            M::POST,
            "/api/v1/lodging/worklist/{id}/verify",
            Lodging,
            post(lodging::verify),
        ),
        (
            M::GET,
            "/api/v1/lodging/hotels",
            ManageHotels,
            get(lodging::hotels),
        ),
        (
            M::POST,
            "/api/v1/lodging/hotels",
            ManageHotels,
            post(lodging::create_hotel),
        ),
        (M::GET, "/staff/lodging", Lodging, get(lodging::page)),
        (
            M::GET,
            "/staff/lodging.csv",
            Lodging,
            get(lodging::page_csv),
        ),
        (
            M::GET,
            "/staff/lodging/hotels",
            ManageHotels,
            get(lodging::hotels_get),
        ),
        (
            M::POST,
            "/staff/lodging/hotels",
            ManageHotels,
            post(lodging::hotels_post),
        ),
        (
            M::GET,
            "/staff/lodging/{id}",
            Lodging,
            get(lodging::record_page),
        ),
        (
            M::POST,
            "/staff/lodging/{id}/verify",
            Lodging,
            post(lodging::page_verify),
        ),
        (M::GET, "/hotel", Public, get(lodging::hotel_get)),
        (M::POST, "/hotel", Hotel, post(lodging::hotel_post)),
        (
            M::POST,
            "/hotel/sign-in",
            Public,
            post(lodging::hotel_sign_in),
        ),
        (
            M::POST,
            "/hotel/sign-out",
            Hotel,
            post(lodging::hotel_sign_out),
        ),
        (M::GET, "/lodging", Public, get(lodging::host_get)),
        (M::POST, "/lodging", Public, post(lodging::host_post)),
        (
            M::POST,
            "/lodging/status",
            Public,
            post(lodging::host_status_post),
        ),
    ]
}

/// The request body limit: [`WebOptions::max_body_bytes`], except the remote applicant's photo
/// upload ([`portal::online::PHOTO_BODY_LIMIT`]), the emblem's
/// ([`authority::EMBLEM_BODY_LIMIT`]) and the 申请易's actions
/// ([`kiosk_sqy::SQY_BODY_LIMIT`]). A declared `Content-Length` over the limit
/// is answered 413 before anyone reads the body; a streamed body is cut at the limit wherever
/// it is read (the extractors answer 413 for the cut).
async fn body_limit(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let limit = if req.uri().path() == portal::online::PHOTO_UPLOAD_PATH {
        portal::online::PHOTO_BODY_LIMIT.max(s.options.max_body_bytes)
    } else if matches!(
        req.uri().path(),
        authority::EMBLEM_UPLOAD_PATH | authority::EMBLEM_API_PATH
    ) {
        authority::EMBLEM_BODY_LIMIT.max(s.options.max_body_bytes)
    } else if req.uri().path().starts_with(kiosk_sqy::SQY_API_PREFIX) {
        // The 申请易's photo and submission (a photo, prints and a signature in base64).
        kiosk_sqy::SQY_BODY_LIMIT.max(s.options.max_body_bytes)
    } else {
        s.options.max_body_bytes
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let req = req.map(|b| axum::body::Body::new(http_body_util::Limited::new(b, limit)));
    next.run(req).await
}

/// `(method, path, action)` of every route, for the authorisation-matrix test and the docs.
pub fn route_table() -> Vec<(Method, &'static str, Action)> {
    table().into_iter().map(|(m, p, a, _)| (m, p, a)).collect()
}

/// The whole HTTP application.
pub fn router_with(app: App, options: WebOptions) -> Router {
    let state = AppState {
        app,
        http: Arc::new(HttpMetrics::default()),
        listeners: Arc::new(board::Listeners::default()),
        options,
    };
    let mut router = Router::new();
    for (_, path, action, handler) in table() {
        let guarded = handler.route_layer(middleware::from_fn_with_state(
            (state.clone(), action),
            auth::authorize,
        ));
        router = router.route(path, guarded);
    }
    // The one stack around every route, outermost first:
    // 0. The security headers, on every response, errors and redirects included.
    // 1. `envelope`: the request id, language and client address for everything inside; it
    //    renders every error below it (including the bare 413 and 503 of the two tower-http
    //    layers) into the envelope or the error page, and logs and counts every request.
    // 2. The timeout bounds everything after it, the database work of `authenticate`
    //    included, until the response starts; a streamed body such as the board's
    //    server-sent events is not bounded, so the board stays connected.
    // 3. `authenticate` resolves the caller (it does not read the body).
    // 4. The body limit answers a declared `Content-Length` over the limit before anyone
    //    reads the body, and cuts a streamed body at the limit wherever it is read (the CSRF
    //    check of forms, `ApiJson`, a handler's `Bytes`). It is inside `authenticate` because
    //    it hands on a wrapped body type, which axum's middleware functions do not take but
    //    the routes do. axum's own default limit for its extractors (2 MiB) is turned off:
    //    this one, from `WebOptions`, is the only one.
    // Then routing, where each route's `authorize` (its action and CSRF) and `tag_route` run
    // before its handler.
    let stack = tower::ServiceBuilder::new()
        // Only where the handler set none: the kiosk pages set their own, which adds the
        // bridge's loopback socket (`with_kiosk_policy`); no other handler sets one.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(middleware::from_fn_with_state(state.clone(), envelope))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            state.options.request_timeout,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), body_limit))
        .layer(axum::extract::DefaultBodyLimit::disable());
    router
        .route_layer(middleware::from_fn(tag_route))
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(stack)
        .with_state(state)
}
