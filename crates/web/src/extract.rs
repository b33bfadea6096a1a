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
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError(AppError::new(
                Code::ContentTypeInvalid,
                "请求须为 JSON（Content-Type: application/json）",
                "the request body must be JSON (Content-Type: application/json)",
            ))),
            // A streamed body that ran over the limit (a declared length over it is refused
            // before any handler runs).
            Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError(crate::payload_too_large()))
            }
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
