//! Operations endpoints: liveness, readiness and metrics.

use crate::{ApiResult, AppState};
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};
use std::fmt::Write;

/// Liveness: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers and its schema is the one this build expects.
pub async fn readyz(State(s): State<AppState>) -> ApiResult<Json<Value>> {
    let r = s.app.readiness().await?;
    Ok(Json(json!({
        "status": "ready",
        "database": r.database,
        "migrations": r.migrations,
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
    // How far the statistics' roll-ups are behind (docs/STATISTICS.md); left out when the
    // database cannot say, rather than reported as zero.
    if let Ok(lag) = s.app.stats_lag_seconds().await {
        let _ = writeln!(
            out,
            "# HELP wujing_stats_rollup_lag_seconds Seconds since the oldest closed day not yet rolled up became due\n# TYPE wujing_stats_rollup_lag_seconds gauge\nwujing_stats_rollup_lag_seconds {lag}"
        );
    }
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        out,
    )
}
