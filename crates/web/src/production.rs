//! The production centre over HTTP (issue 12): the centre's API (batches, per-document
//! reports), the administrators' system clients, and the producers' staff page. The API routes
//! take the centre's bearer token or a producer's session (with its CSRF token); the page is
//! for staff sessions only.

use crate::extract::{ApiJson, ApiPath, ClientAddr, Flash, PageContext, PageForm, PageQuery};
use crate::pages::{back, render};
use crate::{ApiError, ApiResult, AppState};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Extension, Json};
use serde::Deserialize;
use wujing_app::lifecycle::{DocumentReport, ProductionInput, ProductionStep};
use wujing_app::{
    Application, BatchInput, BatchItem, BatchView, NewSystemClientInput, Principal,
    SystemClientView,
};
use wujing_domain::application::State as AppState_;

/// Takes approved applications (urgent first, then by due date) into a new batch, each moved
/// to `in_production`; answers the batch with its items.
#[utoipa::path(post, path = "/api/v1/production/batches", tag = "production",
    security(("system" = []), ("session" = [], "csrf" = [])),
    request_body(content = BatchInput, description = "Optional: no body takes up to 50"),
    responses((status = 201, body = BatchView),
              (status = 400, description = "`batch_limit_invalid`"),
              (status = 409, description = "`production_queue_empty`")))]
pub async fn create_batch(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    req: axum::extract::Request,
) -> ApiResult<(StatusCode, Json<BatchView>)> {
    // The body is optional: a centre that takes the default size posts nothing.
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.map_err(|e| {
        ApiError(if crate::extract::over_limit(&e) {
            crate::payload_too_large()
        } else {
            wujing_app::Code::BodyInvalid.into()
        })
    })?;
    let input = if bytes.iter().all(u8::is_ascii_whitespace) {
        BatchInput::default()
    } else {
        let req = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
        <ApiJson<BatchInput> as axum::extract::FromRequest<()>>::from_request(req, &())
            .await?
            .0
    };
    Ok((
        StatusCode::CREATED,
        Json(
            s.app
                .create_production_batch(&p, addr.as_deref(), &input)
                .await?,
        ),
    ))
}

/// The newest batches (20), without their items.
#[utoipa::path(get, path = "/api/v1/production/batches", tag = "production",
    security(("system" = []), ("session" = [])),
    responses((status = 200, body = Vec<BatchView>),))]
pub async fn list_batches(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
) -> ApiResult<Json<Vec<BatchView>>> {
    Ok(Json(s.app.production_batches(&p).await?))
}

/// One batch with its items: what the centre prints (the applicant's name and identity number
/// in full for the centre, audited as `production.batch_read`; masked for staff).
#[utoipa::path(get, path = "/api/v1/production/batches/{id}", tag = "production",
    security(("system" = []), ("session" = [])),
    params(("id" = i64, Path, description = "Batch id")),
    responses((status = 200, body = BatchView),
              (status = 404, description = "`batch_not_found`")))]
pub async fn get_batch(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<BatchView>> {
    Ok(Json(s.app.production_batch(&p, addr.as_deref(), id).await?))
}

/// The centre reports one document: `produced` with its number, or `dispatched`. A retried
/// report that is already true answers 200 again without a second event.
#[utoipa::path(post, path = "/api/v1/production/documents/{id}", tag = "production",
    security(("system" = []), ("session" = [], "csrf" = [])),
    params(("id" = i64, Path, description = "Application id")),
    request_body = DocumentReport,
    responses((status = 200, body = Application),
              (status = 400, description = "`document_number_invalid`, `body_invalid`"),
              (status = 404, description = "`application_not_found`"),
              (status = 409, description = "`document_number_taken`, `document_already_numbered`, `application_move_illegal`, `application_state_changed`")))]
pub async fn report_document(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<DocumentReport>,
) -> ApiResult<Json<Application>> {
    Ok(Json(
        s.app.report_document(&p, addr.as_deref(), id, &r).await?,
    ))
}

/// The system clients (tokens never shown again).
#[utoipa::path(get, path = "/api/v1/admin/system-clients", tag = "admin", security(("session" = [])),
    responses((status = 200, body = Vec<SystemClientView>)))]
pub async fn list_clients(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
) -> ApiResult<Json<Vec<SystemClientView>>> {
    Ok(Json(s.app.system_clients(&p).await?))
}

/// Creates a production centre's client; its token is in this answer only.
#[utoipa::path(post, path = "/api/v1/admin/system-clients", tag = "admin", security(("session" = [], "csrf" = [])),
    request_body = NewSystemClientInput,
    responses((status = 201, body = SystemClientView),
              (status = 400, description = "`system_client_name_invalid`"),
              (status = 409, description = "`system_client_name_taken`")))]
pub async fn create_client(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(i): ApiJson<NewSystemClientInput>,
) -> ApiResult<(StatusCode, Json<SystemClientView>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_system_client(&p, addr.as_deref(), &i).await?),
    ))
}

/// Revokes a system client: its token is refused (401) from now on.
#[utoipa::path(post, path = "/api/v1/admin/system-clients/{id}/revoke", tag = "admin", security(("session" = [], "csrf" = [])),
    params(("id" = i64, Path, description = "System client id")),
    responses((status = 204),
              (status = 404, description = "`not_found`")))]
pub async fn revoke_client(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.app.revoke_system_client(&p, addr.as_deref(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- The producers' page ---------------------------------------------------------------------

/// How many of the newest batches the page opens with their items.
const OPEN_BATCHES: usize = 5;

#[derive(Template)]
#[template(path = "production.html")]
struct ProductionPage {
    page: PageContext,
    msg: String,
    msg_kind: String,
    waiting: u64,
    batches: Vec<BatchRow>,
}

struct BatchRow {
    b: BatchView,
    /// China time, `YYYY-MM-DD HH:MM`.
    at: String,
    items: Vec<ItemRow>,
}

/// An item as the page shows it: names, not codes; the applicant masked.
struct ItemRow {
    i: BatchItem,
    state: String,
    applicant: String,
}

/// The waiting count, a button to make a batch, and the newest batches with each document's
/// next step.
pub async fn page(
    State(s): State<AppState>,
    page: PageContext,
    PageQuery(q): PageQuery<Flash>,
) -> ApiResult<Response> {
    let p = &page.principal;
    let waiting = s.app.production_waiting(p).await?;
    let mut batches = Vec::new();
    for (n, b) in s.app.production_batches(p).await?.into_iter().enumerate() {
        let b = if n < OPEN_BATCHES {
            s.app.production_batch(p, None, b.id).await?
        } else {
            b
        };
        let at = b
            .created_at
            .with_timezone(&wujing_domain::calendar::china_offset())
            .format("%Y-%m-%d %H:%M")
            .to_string();
        let items = b
            .items
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|i| ItemRow {
                state: AppState_::parse(&i.status)
                    .map_or_else(|| i.status.clone(), |st| st.name_zh().to_string()),
                applicant: i.applicant.as_ref().map_or_else(
                    || "现场取号（无登记）".to_string(),
                    |a| format!("{} {}", a.name, a.id_number),
                ),
                i,
            })
            .collect();
        batches.push(BatchRow { b, at, items });
    }
    let (msg, msg_kind) = q.shown();
    Ok(render(&ProductionPage {
        page,
        msg,
        msg_kind,
        waiting,
        batches,
    }))
}

#[derive(Deserialize)]
pub struct BatchForm {
    #[serde(default)]
    limit: Option<u32>,
}

/// "Make a batch" from the page: the same use case as the API's.
pub async fn page_batch(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    form: Result<PageForm<BatchForm>, ApiError>,
) -> Response {
    let r = async {
        let PageForm(f) = form.map_err(|e| e.0)?;
        let b = s
            .app
            .create_production_batch(
                &page.principal,
                addr.as_deref(),
                &BatchInput { limit: f.limit },
            )
            .await?;
        Ok(format!("批次 {} 已生成，共 {} 份", b.id, b.size))
    }
    .await;
    back("/staff/production", r, false)
}

#[derive(Deserialize)]
pub struct StepForm {
    step: String,
    #[serde(default)]
    document_number: String,
    #[serde(default)]
    tracking_number: String,
}

/// One document's next step from the page (produced with its number, dispatched — mailed with
/// its tracking number —, arrived at the collection site or delivered by the carrier): the
/// staff production step.
pub async fn page_step(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    form: Result<PageForm<StepForm>, ApiError>,
) -> Response {
    let r = async {
        let PageForm(f) = form.map_err(|e| e.0)?;
        let step = match f.step.as_str() {
            "produced" => ProductionStep::Produced,
            "dispatched" => ProductionStep::Dispatched,
            "delivered" => ProductionStep::Delivered,
            _ => ProductionStep::Ready,
        };
        let done = match step {
            ProductionStep::Start => "已开始制证 In production",
            ProductionStep::Produced => "证件已制作 Produced",
            ProductionStep::Dispatched => "已发出 Dispatched",
            ProductionStep::Delivered => "已送达 Delivered",
            ProductionStep::Ready => "已到领证地点，待领取 At the collection site",
        };
        let number = f.document_number.trim().to_string();
        let tracking = f.tracking_number.trim().to_string();
        s.app
            .production_step(
                &page.principal,
                addr.as_deref(),
                id,
                &ProductionInput {
                    step,
                    document_number: (!number.is_empty()).then_some(number),
                    tracking_number: (!tracking.is_empty()).then_some(tracking),
                },
            )
            .await?;
        Ok(format!("申请 {id}：{done}"))
    }
    .await;
    back("/staff/production", r, false)
}
