//! Operations endpoints: liveness, readiness and metrics.

use crate::{ApiError, ApiResult, AppState};
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};
use std::fmt::Write;
use wujing_app::{AppError, ErrorKind};

/// Liveness: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers and its schema is the one this build expects.
pub async fn readyz(State(s): State<AppState>) -> ApiResult<Json<Value>> {
    let unavailable = |zh: String, en: String| {
        ApiError(AppError::new(ErrorKind::Unavailable, "not_ready", zh, en))
    };
    s.app.store.ping().await.map_err(|e| {
        unavailable(
            format!("数据库不可用：{e}"),
            format!("database unreachable: {e}"),
        )
    })?;
    let m = s.app.store.migration_status().await.map_err(|e| {
        unavailable(
            format!("无法读取迁移状态：{e}"),
            format!("cannot read migrations: {e}"),
        )
    })?;
    if !m.is_current() {
        return Err(unavailable(
            format!(
                "数据库结构版本不符：待执行 {:?}，未知 {:?}",
                m.pending(),
                m.unknown()
            ),
            format!(
                "schema not current: pending {:?}, unknown {:?}",
                m.pending(),
                m.unknown()
            ),
        ));
    }
    Ok(Json(json!({
        "status": "ready",
        "database": s.app.store.dialect(),
        "migrations": m.applied,
    })))
}

/// Prometheus metrics: HTTP traffic and the booking counters.
pub async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    let mut out = String::new();
    s.http.render(&mut out);
    for (name, help, value) in s.app.metrics.snapshot() {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
        );
    }
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        out,
    )
}
