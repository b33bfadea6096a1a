//! The errors a use case returns: a stable snake_case code, a kind that the web layer maps to
//! an HTTP status, messages in zh-CN and en, and optional structured details.

use serde_json::value::RawValue;
use serde_json::Value;
use std::sync::Arc;
use wujing_store::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Malformed input (400).
    Invalid,
    /// Well-formed but refused by a rule (422).
    Unprocessable,
    /// No or wrong credentials (401).
    Unauthorized,
    /// Credentials fine, action not allowed (403).
    Forbidden,
    /// Unknown resource (404).
    NotFound,
    /// Conflicts with the current state (409).
    Conflict,
    /// No longer available (410).
    Gone,
    /// Too many requests (429).
    RateLimited,
    /// A dependency is down (503).
    Unavailable,
    /// A bug or an unexpected database failure (500).
    Internal,
}

#[derive(Debug, Clone)]
pub struct AppError {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub zh: String,
    pub en: String,
    /// Already serialised, and shared: at release time the same cached alternatives answer
    /// thousands of requests, and copying bytes is far cheaper than serialising a tree.
    pub details: Option<Arc<RawValue>>,
    /// Seconds after which a rate-limited request may be retried.
    pub retry_after: Option<u64>,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(
        kind: ErrorKind,
        code: &'static str,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            code,
            zh: zh.into(),
            en: en.into(),
            details: None,
            retry_after: None,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = serde_json::value::to_raw_value(&details)
            .ok()
            .map(Arc::from);
        self
    }

    pub fn with_shared_details(mut self, details: Arc<RawValue>) -> Self {
        self.details = Some(details);
        self
    }

    pub fn invalid(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, code, zh, en)
    }

    pub fn not_found(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, code, zh, en)
    }

    pub fn message(&self, english: bool) -> &str {
        if english {
            &self.en
        } else {
            &self.zh
        }
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.en)
    }
}

impl std::error::Error for AppError {}

/// Store errors that a use case did not translate itself. Anything reaching here unexpectedly
/// is an internal error; its text goes to the log, not to the citizen.
impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::not_found(
                "not_found",
                format!("找不到{what}"),
                format!("{what} not found"),
            ),
            StoreError::RateLimited { retry_after_secs } => {
                let secs = retry_after_secs.max(1) as u64;
                let mut e = Self::new(
                    ErrorKind::RateLimited,
                    "rate_limited",
                    format!("请求过于频繁，请{secs}秒后再试"),
                    format!("too many requests; retry in {secs} s"),
                )
                .with_details(serde_json::json!({ "retry_after_seconds": secs }));
                e.retry_after = Some(secs);
                e
            }
            StoreError::Unavailable(msg) => {
                tracing::error!(error = %msg, "database unavailable");
                let mut e = Self::new(
                    ErrorKind::Unavailable,
                    "unavailable",
                    "系统繁忙，请稍后再试",
                    "the service is temporarily unavailable; try again shortly",
                );
                e.retry_after = Some(5);
                e
            }
            other => {
                tracing::error!(error = %other, "unexpected store error");
                Self::new(
                    ErrorKind::Internal,
                    "internal_error",
                    "系统内部错误，已记录，请稍后再试",
                    "internal error; it has been logged, please try again",
                )
            }
        }
    }
}
