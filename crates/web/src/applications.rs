//! The application's life after the counter over HTTP (issue 12): the review queue, an
//! application with its history, review decisions, production steps and collection at a
//! counter. Each answers the moved application; each step is audited by the use case.

use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientAddr};
use crate::{ApiResult, AppState};
use axum::extract::State;
use axum::{Extension, Json};
use serde::Deserialize;
use wujing_app::lifecycle::{ApplicationDetail, ProductionInput, RefuseInput};
use wujing_app::{Application, Principal};

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// One hall's queue; without it, every hall the reviewer covers.
    hall: Option<String>,
}

/// Applications waiting for review or under review: urgent first, then by due date.
#[utoipa::path(get, path = "/api/v1/applications/review-queue", tag = "applications", security(("session" = [])),
    params(QueueQuery),
    responses((status = 200, body = Vec<Application>),
              (status = 400, description = "`query_invalid`")))]
pub async fn review_queue(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> ApiResult<Json<Vec<Application>>> {
    Ok(Json(s.app.review_queue(&p, q.hall.as_deref()).await?))
}

/// An application and its history (who moved it, when).
#[utoipa::path(get, path = "/api/v1/applications/{id}", tag = "applications", security(("session" = [])),
    params(("id" = i64, Path, description = "Application id")),
    responses((status = 200, body = ApplicationDetail),
              (status = 400, description = "`path_invalid`"),
              (status = 404, description = "`application_not_found` (also for another hall's)")))]
pub async fn detail(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ApplicationDetail>> {
    Ok(Json(s.app.application_detail(&p, id).await?))
}

/// Takes an accepted application into review.
#[utoipa::path(post, path = "/api/v1/applications/{id}/review", tag = "applications", security(("session" = [], "csrf" = [])),
    params(("id" = i64, Path, description = "Application id")),
    responses((status = 200, body = Application),
              (status = 404, description = "`application_not_found`"),
              (status = 409, description = "`application_move_illegal`, `application_state_changed`")))]
pub async fn start_review(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Application>> {
    Ok(Json(s.app.start_review(&p, addr.as_deref(), id).await?))
}

/// Approves an application under review; the citizen gets a text.
#[utoipa::path(post, path = "/api/v1/applications/{id}/approve", tag = "applications", security(("session" = [], "csrf" = [])),
    params(("id" = i64, Path, description = "Application id")),
    responses((status = 200, body = Application),
              (status = 404, description = "`application_not_found`"),
              (status = 409, description = "`application_move_illegal`, `application_state_changed`")))]
pub async fn approve(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Application>> {
    Ok(Json(s.app.approve(&p, addr.as_deref(), id).await?))
}

/// Refuses an application under review with a reason code; the citizen gets the reason's text.
#[utoipa::path(post, path = "/api/v1/applications/{id}/refuse", tag = "applications", security(("session" = [], "csrf" = [])),
    params(("id" = i64, Path, description = "Application id")),
    request_body = RefuseInput,
    responses((status = 200, body = Application),
              (status = 400, description = "`refusal_reason_invalid`"),
              (status = 404, description = "`application_not_found`"),
              (status = 409, description = "`application_move_illegal`, `application_state_changed`")))]
pub async fn refuse(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<RefuseInput>,
) -> ApiResult<Json<Application>> {
    Ok(Json(s.app.refuse(&p, addr.as_deref(), id, &r).await?))
}

/// A production step: `start`, `produced` (with the document number), `dispatched`, `ready`
/// (the citizen gets a text saying where to collect). Staff with the producer role; the
/// production centre's system reports through `/api/v1/production/documents/{id}`.
#[utoipa::path(post, path = "/api/v1/applications/{id}/production", tag = "applications", security(("session" = [], "csrf" = [])),
    params(("id" = i64, Path, description = "Application id")),
    request_body = ProductionInput,
    responses((status = 200, body = Application),
              (status = 400, description = "`document_number_invalid`"),
              (status = 404, description = "`application_not_found`"),
              (status = 409, description = "`application_move_illegal`, `application_state_changed`, `document_number_taken`")))]
pub async fn production(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(i): ApiJson<ProductionInput>,
) -> ApiResult<Json<Application>> {
    Ok(Json(
        s.app.production_step(&p, addr.as_deref(), id, &i).await?,
    ))
}

/// The document handed over at a counter of the application's hall, after the identity check;
/// the history records the officer who handed it over.
#[utoipa::path(post, path = "/api/v1/applications/{id}/collect", tag = "applications", security(("session" = [], "csrf" = [])),
    params(("id" = i64, Path, description = "Application id")),
    responses((status = 200, body = Application),
              (status = 404, description = "`application_not_found`"),
              (status = 409, description = "`application_move_illegal`, `application_state_changed`")))]
pub async fn collect(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Application>> {
    Ok(Json(
        s.app.collect_at_counter(&p, addr.as_deref(), id).await?,
    ))
}

// --- The reviewer's page -----------------------------------------------------------------------

use crate::extract::{Flash, PageContext, PageForm, PageQuery};
use crate::pages::{back, render};
use crate::ApiError;
use askama::Template;
use axum::response::Response;

#[derive(Template)]
#[template(path = "review.html")]
struct ReviewPage {
    page: PageContext,
    msg: String,
    msg_kind: String,
    queue: Vec<ReviewRow>,
    reasons: Vec<(&'static str, &'static str)>,
}

/// An application as the reviewer's page shows it: names, not codes.
struct ReviewRow {
    a: Application,
    hall: String,
    business: String,
    state: String,
}

/// The review queue of every hall the reviewer covers, with its decisions.
pub async fn review_page(
    State(s): State<AppState>,
    page: PageContext,
    PageQuery(q): PageQuery<Flash>,
) -> ApiResult<Response> {
    let halls = s.app.halls().await?;
    let queue = s
        .app
        .review_queue(&page.principal, None)
        .await?
        .into_iter()
        .map(|a| ReviewRow {
            hall: halls
                .iter()
                .find(|h| h.id == a.hall_id)
                .map_or_else(|| a.hall_id.clone(), |h| h.name_zh.clone()),
            business: s
                .app
                .business(&a.business)
                .map_or_else(|_| a.business.clone(), |b| b.name_zh),
            state: wujing_domain::application::State::parse(&a.status)
                .map_or_else(|| a.status.clone(), |st| st.name_zh().to_string()),
            a,
        })
        .collect();
    let (msg, msg_kind) = q.shown();
    Ok(render(&ReviewPage {
        page,
        msg,
        msg_kind,
        queue,
        reasons: wujing_app::lifecycle::refusal_reasons(),
    }))
}

#[derive(Deserialize)]
pub struct ReviewForm {
    step: String,
    #[serde(default)]
    reason: String,
}

/// A decision from the review page: the same use cases as the API's.
pub async fn review_page_step(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    form: Result<PageForm<ReviewForm>, ApiError>,
) -> Response {
    let r = async {
        let PageForm(f) = form.map_err(|e| e.0)?;
        let p = &page.principal;
        let a = addr.as_deref();
        match f.step.as_str() {
            "review" => s.app.start_review(p, a, id).await?,
            "approve" => s.app.approve(p, a, id).await?,
            _ => {
                s.app
                    .refuse(p, a, id, &RefuseInput { reason: f.reason })
                    .await?
            }
        };
        Ok(format!("申请 {id} 已处理"))
    }
    .await;
    back("/staff/review", r, false)
}
