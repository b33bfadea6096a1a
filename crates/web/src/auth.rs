//! Who is calling, and whether they may: the session cookie or a device token becomes a
//! [`Principal`], and each route's [`Action`] is checked by the app's one authorisation
//! function before its handler runs. State-changing requests made with the session cookie must
//! echo the session's CSRF token (header `X-CSRF-Token` or form field `csrf`).

use crate::extract::{from_urlencoded, over_limit};
use crate::{ApiError, AppState};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use serde::Deserialize;
use wujing_app::Code;
use wujing_app::{Action, AppError, Principal};

pub const SESSION_COOKIE: &str = "wujing_session";
pub const LOGIN_CSRF_COOKIE: &str = "wujing_login_csrf";
pub const DEVICE_COOKIE: &str = "wujing_device";

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// A `Set-Cookie` value: HttpOnly and SameSite=Strict always, Secure when served over TLS.
pub fn set_cookie(name: &str, value: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    ))
    .expect("cookie values are URL-safe base64")
}

/// Marks a request to `/metrics` that carried the configured scraper token: the scraper is
/// no principal of the organisation, and the token opens that one route only.
#[derive(Clone, Copy)]
struct MetricsScraper;

/// Equality that takes as long whatever the first differing byte, so that the scraper token
/// cannot be found byte by byte from response times.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// Resolves the principal for every request.
pub async fn authenticate(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    if req.uri().path() == "/metrics" {
        let scraper = s
            .options
            .metrics_token
            .as_deref()
            .is_some_and(|t| bearer(req.headers()).is_some_and(|given| same_secret(given, t)));
        if scraper {
            req.extensions_mut().insert(Principal::Anonymous);
            req.extensions_mut().insert(MetricsScraper);
            return next.run(req).await;
        }
    }
    let session = cookie(req.headers(), SESSION_COOKIE).map(str::to_string);
    // A device authenticates with its bearer token; a browser-based terminal (the rating
    // screen) carries the same token in a cookie set once at /device.
    let bearer = bearer(req.headers())
        .or_else(|| cookie(req.headers(), DEVICE_COOKIE))
        .map(str::to_string);
    // The small-hotel page's session (`lodging.rs`): a stale cookie is no one, not an error,
    // so that it never locks the browser out of the public pages; a staff session in the same
    // browser comes first.
    let mut hotel = None;
    if bearer.is_none() && session.is_none() {
        if let Some(t) = cookie(req.headers(), crate::lodging::HOTEL_COOKIE) {
            if let Ok(Some(p)) = s.app.hotel_principal(t).await {
                hotel = Some(p);
            }
        }
    }
    let principal = match hotel {
        Some(p) => p,
        None => match s
            .app
            .authenticate(session.as_deref(), bearer.as_deref())
            .await
        {
            Ok(p) => p,
            Err(e) => return axum::response::IntoResponse::into_response(ApiError(e)),
        },
    };
    req.extensions_mut().insert(principal);
    // Pages show the authority's face (a cached read); the API does not need it. A database
    // that cannot answer leaves the pages with the product's default.
    if !req.uri().path().starts_with("/api/") {
        if let Ok(f) = s.app.face().await {
            req.extensions_mut().insert(f);
        }
    }
    next.run(req).await
}

fn is_safe(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Checks a route's action (and CSRF) before its handler.
pub async fn authorize(
    State((s, action)): State<(AppState, Action)>,
    req: Request,
    next: Next,
) -> Response {
    let p = req
        .extensions()
        .get::<Principal>()
        .cloned()
        .unwrap_or(Principal::Anonymous);
    let scraper =
        action == Action::ViewMetrics && req.extensions().get::<MetricsScraper>().is_some();
    let allowed = if scraper {
        Ok(())
    } else {
        s.app.require(&p, action, None)
    };
    if let Err(e) = allowed {
        return axum::response::IntoResponse::into_response(ApiError(e));
    }
    // Citizen endpoints do not use the session, so a cookie sent along changes nothing there.
    let uses_session = action != Action::Public;
    let req = if uses_session && matches!(p, Principal::Staff(_)) && !is_safe(req.method()) {
        match csrf_checked(&s, &p, req).await {
            Ok(r) => r,
            Err(e) => return axum::response::IntoResponse::into_response(ApiError(e)),
        }
    } else {
        req
    };
    next.run(req).await
}

/// The CSRF token from the header, or from a urlencoded form's `csrf` field (the body is
/// buffered and handed on unchanged). A body that cannot be read as a form has no token.
async fn csrf_checked(s: &AppState, p: &Principal, req: Request) -> Result<Request, AppError> {
    if let Some(h) = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
    {
        s.app.check_csrf(p, Some(h))?;
        return Ok(req);
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    // A page's file upload (the authority's emblem) is a multipart form: its `csrf` field is
    // read the same way. The body is already cut at the route's limit by `body_limit`, and
    // only an authorised caller gets here (the action is checked first).
    let is_multipart = content_type.starts_with("multipart/form-data");
    if !is_form && !is_multipart {
        s.app.check_csrf(p, None)?;
        return Ok(req);
    }
    let (parts, body) = req.into_parts();
    let limit = if is_multipart {
        usize::MAX
    } else {
        s.options.max_body_bytes
    };
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|e| {
        if over_limit(&e) {
            crate::payload_too_large()
        } else {
            AppError::new(
                Code::BodyInvalid,
                "无法读取请求内容",
                "the request body could not be read",
            )
        }
    })?;
    let given = if is_multipart {
        multipart_csrf(&content_type, bytes.clone()).await
    } else {
        from_urlencoded::<CsrfField>(&bytes)
            .ok()
            .and_then(|f| f.csrf)
    };
    s.app.check_csrf(p, given.as_deref())?;
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The `csrf` field of a multipart form, read from a copy of the buffered body (the handler
/// reads the form again from the original). A body that is not such a form has none.
async fn multipart_csrf(content_type: &str, bytes: axum::body::Bytes) -> Option<String> {
    use axum::extract::{FromRequest, Multipart};
    let req = Request::builder()
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(bytes))
        .ok()?;
    let mut m = Multipart::from_request(req, &()).await.ok()?;
    while let Ok(Some(field)) = m.next_field().await {
        if field.name() == Some("csrf") {
            return field.text().await.ok();
        }
    }
    None
}

/// The one field of every staff form that the CSRF check reads; the handler reads the rest.
#[derive(Deserialize)]
struct CsrfField {
    csrf: Option<String>,
}
