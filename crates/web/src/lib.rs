//! Wujing's HTTP surface: the JSON API under /api/v1, its OpenAPI document, and the operations
//! endpoints (/healthz, /readyz, /metrics).
//!
//! Handlers are thin: they extract, call one [`App`] method, and serialise. They never touch SQL
//! or decide a rule. Errors travel as [`AppError`] inside the response and are rendered into the
//! one error envelope by the [`envelope`] middleware, which knows the request id and language.

mod api;
mod extract;
mod metrics;
mod ops;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::Rng;
use std::sync::Arc;
use std::time::Instant;
use wujing_app::{App, AppError, ErrorKind};

pub use api::ApiDoc;
pub use metrics::HttpMetrics;

#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub http: Arc<HttpMetrics>,
    pub options: WebOptions,
}

/// How the HTTP layer is deployed.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebOptions {
    /// Take the client address from the first `X-Forwarded-For` entry. Only behind a reverse
    /// proxy that sets it: otherwise any caller could pick its own address and dodge the
    /// per-address rate limits.
    pub trust_forwarded_for: bool,
}

/// The client's address as decided by [`envelope`]: the peer, or the proxy's
/// `X-Forwarded-For` when trusted.
#[derive(Debug, Clone)]
pub struct ClientIp(pub Option<String>);

/// The request id, set by middleware for every request (taken from `x-request-id` when the
/// caller sent a sane one) and echoed in the response header and error bodies.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Whether the caller prefers English (`Accept-Language: en…`); zh-CN otherwise.
#[derive(Debug, Clone, Copy)]
pub struct English(pub bool);

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The HTTP status of each error kind.
fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Invalid => StatusCode::BAD_REQUEST,
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
    let english = req
        .headers()
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("en"));
    let method = req.method().clone();
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
    req.extensions_mut().insert(ClientIp(forwarded.or(peer)));
    req.extensions_mut().insert(RequestId(id.clone()));
    req.extensions_mut().insert(English(english));
    let mut res = next.run(req).await;
    if let Some(err) = res.extensions_mut().remove::<Arc<AppError>>() {
        let status = res.status();
        let body = Envelope {
            error: EnvelopeBody {
                code: err.code,
                message: err.message(english),
                request_id: &id,
                details: err.details.as_deref(),
            },
        };
        let mut r = (status, Json(body)).into_response();
        r.headers_mut().extend(
            res.headers()
                .iter()
                .filter(|(k, _)| k.as_str().starts_with("retry-after"))
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        if err.kind == ErrorKind::Internal {
            tracing::error!(request_id = %id, code = err.code, "request failed");
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
    ApiError(AppError::not_found(
        "route_not_found",
        "没有这个接口，请查阅 /api/openapi.json",
        "no such endpoint; see /api/openapi.json",
    ))
}

async fn method_not_allowed() -> ApiError {
    ApiError(AppError::new(
        ErrorKind::Invalid,
        "method_not_allowed",
        "该接口不支持此请求方法",
        "this endpoint does not support the request method",
    ))
}

/// The whole HTTP application with default options.
pub fn router(app: App) -> Router {
    router_with(app, WebOptions::default())
}

/// The whole HTTP application.
pub fn router_with(app: App, options: WebOptions) -> Router {
    let state = AppState {
        app,
        http: Arc::new(HttpMetrics::default()),
        options,
    };
    let api = Router::new()
        .route("/halls", get(api::list_halls))
        .route("/halls/{id}", get(api::get_hall))
        .route("/businesses", get(api::list_businesses))
        .route("/businesses/{code}", get(api::get_business))
        .route("/availability", get(api::availability))
        .route("/eligibility", post(api::eligibility))
        .route("/holds", post(api::create_hold))
        .route("/bookings", post(api::confirm_booking))
        .route("/bookings/{code}", get(api::get_booking))
        .route("/bookings/{code}/cancel", post(api::cancel_booking))
        .route("/bookings/{code}/reschedule", post(api::reschedule_booking))
        .route("/lottery/entries", post(api::enter_lottery))
        .route("/lottery/entries/{id}", get(api::get_lottery_entry))
        .route("/lottery/draws/{day}", get(api::get_lottery_draw))
        .route("/ops/signals", get(api::signals));
    Router::new()
        .nest("/api/v1", api)
        .route("/api/openapi.json", get(api::openapi))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route_layer(middleware::from_fn(tag_route))
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), envelope))
        .with_state(state)
}
