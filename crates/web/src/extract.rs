//! Extractors whose rejections are [`ApiError`]s, so that malformed input gets the same
//! envelope, code and language as every other error instead of axum's plain-text answers.

use crate::ApiError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use wujing_app::AppError;
use wujing_app::Code;

pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError(AppError::new(
                Code::ContentTypeInvalid,
                "请求须为 JSON（Content-Type: application/json）",
                "the request body must be JSON (Content-Type: application/json)",
            )));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                // A streamed body that ran over the limit (a declared length over it is
                // refused before any handler runs).
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError(crate::payload_too_large())
                } else {
                    ApiError(AppError::from(Code::BodyInvalid))
                }
            })?;
        if let Some(c) = forbidden_in_json(&bytes) {
            return Err(ApiError(crate::text_invalid(c)));
        }
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError(AppError::new(
                Code::BodyInvalid,
                format!("请求内容字段有误：{}", e.body_text()),
                format!("a field of the request body is wrong: {}", e.body_text()),
            ))),
            Err(e) => Err(ApiError(AppError::new(
                Code::JsonInvalid,
                format!("请求内容不是有效的 JSON：{}", e.body_text()),
                format!("the request body is not valid JSON: {}", e.body_text()),
            ))),
        }
    }
}

/// `application/json` or a `+json` type, as axum's own `Json` accepts.
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(ct) = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The first forbidden character in any string (or key) of a JSON body. JSON cannot carry a
/// raw control character inside a string, so one can only arrive escaped (`\u0000`) or, for
/// C1 controls and bidi overrides, as their UTF-8 bytes; bodies with neither, which is nearly
/// every body, are not parsed twice.
fn forbidden_in_json(bytes: &[u8]) -> Option<char> {
    let suspicious = bytes.windows(3).any(|w| {
        matches!(
            w,
            [b'\\', b'u', _]
                | [0xC2, 0x80..=0x9F, _]
                | [0xE2, 0x80, 0xAA..=0xAE]
                | [0xE2, 0x81, 0xA6..=0xA9]
        )
    });
    if !suspicious {
        return None;
    }
    fn walk(v: &serde_json::Value) -> Option<char> {
        match v {
            serde_json::Value::String(s) => wujing_domain::text::forbidden_char(s),
            serde_json::Value::Array(a) => a.iter().find_map(walk),
            serde_json::Value::Object(m) => m
                .iter()
                .find_map(|(k, x)| wujing_domain::text::forbidden_char(k).or_else(|| walk(x))),
            _ => None,
        }
    }
    // Unparseable JSON is left to the typed parse, which names the error.
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| walk(&v))
}

pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|e: QueryRejection| {
                ApiError(AppError::new(
                    Code::QueryInvalid,
                    format!("查询参数有误：{}", e.body_text()),
                    format!("a query parameter is wrong: {}", e.body_text()),
                ))
            })
    }
}

pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Self(p.0))
            .map_err(|e: PathRejection| {
                ApiError(AppError::new(
                    Code::PathInvalid,
                    format!("路径参数有误：{}", e.body_text()),
                    format!("a path parameter is wrong: {}", e.body_text()),
                ))
            })
    }
}

/// The client's address when the server knows it (not in in-process tests without
/// `X-Forwarded-For`), as decided by the envelope middleware.
pub struct ClientAddr(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<crate::ClientIp>()
                .and_then(|c| c.0.clone()),
        ))
    }
}
