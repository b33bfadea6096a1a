//! The application's life after the counter over HTTP (issue 12): the review queue, an
//! application with its history, review decisions, production steps and collection at a
//! counter. Each answers the moved application; each step is audited by the use case.

use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientAddr};
use crate::{ApiResult, AppState};
use axum::extract::State;
use axum::{Extension, Json};
use serde::Deserialize;
use wujing_app::lifecycle::{
    ApplicationDetail, CollectInput, CollectionInput, CounterLookup, MyApplication,
    ProductionInput, RefuseInput, SupplementRequest,
};
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

/// Review finds a material missing: the application waits for it (accepted or under review →
/// pending supplement, deadline 15 days); the citizen is texted what and by when.
#[utoipa::path(post, path = "/api/v1/applications/{id}/supplement-request", tag = "applications", security(("session" = [], "csrf" = [])),
    params(("id" = i64, Path, description = "Application id")),
    request_body = SupplementRequest,
    responses((status = 200, body = Application),
              (status = 400, description = "`missing_items_invalid`, `text_invalid`"),
              (status = 404, description = "`application_not_found`"),
              (status = 409, description = "`application_move_illegal`, `application_state_changed`")))]
pub async fn supplement_request(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<SupplementRequest>,
) -> ApiResult<Json<Application>> {
    Ok(Json(
        s.app
            .require_supplement(&p, addr.as_deref(), id, &r)
            .await?,
    ))
}

/// The document handed over at a counter of the application's hall, after the identity check
/// and the applicant's signature of receipt; the history records the officer and the
/// signature.
#[utoipa::path(post, path = "/api/v1/applications/{id}/collect", tag = "applications", security(("session" = [], "csrf" = [])),
    params(("id" = i64, Path, description = "Application id")),
    request_body = CollectInput,
    responses((status = 200, body = Application),
              (status = 400, description = "`signature_required`"),
              (status = 404, description = "`application_not_found`"),
              (status = 409, description = "`application_move_illegal` (not ready, or mailed), `application_state_changed`")))]
pub async fn collect(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(i): ApiJson<CollectInput>,
) -> ApiResult<Json<Application>> {
    Ok(Json(
        s.app
            .collect_at_counter(&p, addr.as_deref(), id, &i)
            .await?,
    ))
}

/// The way of collection changed by staff (a counter of the application's hall) until the
/// document leaves.
#[utoipa::path(post, path = "/api/v1/applications/{id}/collection", tag = "applications", security(("session" = [], "csrf" = [])),
    params(("id" = i64, Path, description = "Application id")),
    request_body = CollectionInput,
    responses((status = 200, body = Application),
              (status = 400, description = "`collection_invalid`, `mail_address_invalid`, `text_invalid`"),
              (status = 404, description = "`application_not_found`"),
              (status = 409, description = "`collection_fixed`")))]
pub async fn choose_collection(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(i): ApiJson<CollectionInput>,
) -> ApiResult<Json<Application>> {
    Ok(Json(
        s.app.choose_collection(&p, addr.as_deref(), id, &i).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupInput {
    /// The identity number on the document the applicant presents.
    pub id_number: String,
}

/// What a counter of the hall can do for the person presenting their identity card:
/// supplements waiting in any hall, documents ready at this one. Audited.
#[utoipa::path(post, path = "/api/v1/halls/{id}/applications/lookup", tag = "applications", security(("session" = [], "csrf" = [])),
    params(("id" = String, Path, description = "The counter's hall")),
    request_body = LookupInput,
    responses((status = 200, body = CounterLookup),
              (status = 400, description = "`id_number_length`, `id_number_checksum`, `id_number_character`")))]
pub async fn counter_lookup(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(hall): ApiPath<String>,
    ApiJson(i): ApiJson<LookupInput>,
) -> ApiResult<Json<CounterLookup>> {
    Ok(Json(
        s.app
            .counter_lookup(&p, &hall, addr.as_deref(), &i.id_number)
            .await?,
    ))
}

/// The missing materials brought to a counter of this hall — any hall, not only the accepting
/// one: the application goes on to review and the citizen is told.
#[utoipa::path(post, path = "/api/v1/halls/{id}/applications/{application}/supplement", tag = "applications", security(("session" = [], "csrf" = [])),
    params(("id" = String, Path, description = "The counter's hall"), ("application" = i64, Path, description = "Application id")),
    responses((status = 200, body = Application),
              (status = 404, description = "`application_not_found`"),
              (status = 409, description = "`application_move_illegal` (not waiting for a supplement), `application_state_changed`")))]
pub async fn supplement(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath((hall, id)): ApiPath<(String, i64)>,
) -> ApiResult<Json<Application>> {
    Ok(Json(
        s.app.supplement(&p, &hall, addr.as_deref(), id).await?,
    ))
}

/// Applications past their due date and not ready yet (the office's delay; a pending
/// supplement waits for the citizen and is left out), oldest due first.
#[utoipa::path(get, path = "/api/v1/applications/overdue", tag = "applications", security(("session" = [])),
    params(QueueQuery),
    responses((status = 200, body = Vec<Application>),
              (status = 400, description = "`query_invalid`")))]
pub async fn overdue(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> ApiResult<Json<Vec<Application>>> {
    Ok(Json(s.app.overdue(&p, q.hall.as_deref()).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MineInput {
    pub id_number: String,
    /// The phone the bookings were made with.
    pub phone: String,
    /// The code sent to it (`POST /api/v1/phone-codes`, purpose `lookup`).
    pub code: String,
}

/// The citizen's status query: their applications (from bookings made with this phone), each
/// with its state, history, expected date, next step and way of collection.
#[utoipa::path(post, path = "/api/v1/applications/mine", tag = "applications",
    request_body = MineInput,
    responses((status = 200, body = Vec<MyApplication>),
              (status = 400, description = "`id_number_length`, `id_number_checksum`, `phone_invalid`, `phone_code_wrong`, `phone_code_expired`"),
              (status = 409, description = "`phone_code_used`"),
              (status = 429, description = "`rate_limited`")))]
pub async fn mine(
    State(s): State<AppState>,
    ApiJson(i): ApiJson<MineInput>,
) -> ApiResult<Json<Vec<MyApplication>>> {
    Ok(Json(
        s.app
            .my_applications(&i.id_number, &i.phone, &i.code)
            .await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnerCollectionInput {
    /// The applicant's identity number (the owner proof, limited like the booking's).
    pub id_number: String,
    /// `counter`, `locker` or `mail`.
    pub method: String,
    /// One line, 8 to 120 characters; required for `mail`.
    #[serde(default)]
    pub mail_address: Option<String>,
}

/// The citizen changes how the document of this booking's application reaches them, until it
/// leaves (the booking code and the identity number prove ownership).
#[utoipa::path(post, path = "/api/v1/bookings/{code}/collection", tag = "applications",
    params(("code" = String, Path, description = "Booking code")),
    request_body = OwnerCollectionInput,
    responses((status = 200, body = Application),
              (status = 400, description = "`collection_invalid`, `mail_address_invalid`, `text_invalid`"),
              (status = 404, description = "`booking_not_found`, `application_not_found` (not accepted yet)"),
              (status = 409, description = "`collection_fixed`"),
              (status = 429, description = "`proof_throttled`")))]
pub async fn choose_collection_as_owner(
    State(s): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiPath(code): ApiPath<String>,
    ApiJson(i): ApiJson<OwnerCollectionInput>,
) -> ApiResult<Json<Application>> {
    Ok(Json(
        s.app
            .choose_collection_by_owner(
                &code,
                &i.id_number,
                addr.as_deref(),
                &CollectionInput {
                    method: i.method,
                    mail_address: i.mail_address,
                },
            )
            .await?,
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
    /// An application submitted online (no ticket): its photo's check, `通过` or the failing
    /// limits' codes. `None` for one accepted at a counter.
    online: Option<String>,
}

/// The review queue of every hall the reviewer covers, with its decisions.
pub async fn review_page(
    State(s): State<AppState>,
    page: PageContext,
    PageQuery(q): PageQuery<Flash>,
) -> ApiResult<Response> {
    let halls = s.app.halls().await?;
    let queue: Vec<Application> = s.app.review_queue(&page.principal, None).await?;
    let mut online = Vec::with_capacity(queue.len());
    for a in &queue {
        online.push(match a.ticket_id {
            None => s.app.application_photo_check(a.id).await?.map(|c| {
                if c.is_empty() {
                    "通过 passed".to_string()
                } else {
                    c.join(", ")
                }
            }),
            Some(_) => None,
        });
    }
    let queue = queue
        .into_iter()
        .zip(online)
        .map(|(a, online)| ReviewRow {
            online,
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
    /// The missing materials, separated by 、 , ， ； or new lines.
    #[serde(default)]
    missing: String,
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
        // What happened, in words: "processed" left a reviewer guessing which step it was.
        let done = match f.step.as_str() {
            "review" => "已开始审批，请批准、不予批准或要求补正 Review started: approve, refuse or ask for a supplement",
            "approve" => "已批准 Approved",
            "supplement" => "已要求补正材料 Supplement asked for",
            _ => "已不予批准 Refused",
        };
        match f.step.as_str() {
            "review" => s.app.start_review(p, a, id).await?,
            "approve" => s.app.approve(p, a, id).await?,
            "supplement" => {
                let missing = f
                    .missing
                    .split(['、', ',', '，', ';', '；', '\n'])
                    .map(str::to_string)
                    .collect();
                s.app
                    .require_supplement(p, a, id, &SupplementRequest { missing })
                    .await?
            }
            _ => {
                s.app
                    .refuse(p, a, id, &RefuseInput { reason: f.reason })
                    .await?
            }
        };
        Ok(format!("申请 {id}：{done}"))
    }
    .await;
    back("/staff/review", r, false)
}

// --- The leaders' overdue list --------------------------------------------------------------------

#[derive(Template)]
#[template(path = "overdue.html")]
struct OverduePage {
    page: PageContext,
    msg: String,
    msg_kind: String,
    today: String,
    rows: Vec<OverdueRow>,
}

struct OverdueRow {
    a: Application,
    hall: String,
    business: String,
    state: String,
    /// Working or not, the calendar days past the due date (what a leader asks first).
    days_late: i64,
}

/// Applications past their due date and not ready: the leader sees where the office is late.
pub async fn overdue_page(
    State(s): State<AppState>,
    page: PageContext,
    PageQuery(q): PageQuery<Flash>,
) -> ApiResult<Response> {
    let halls = s.app.halls().await?;
    let today = s.app.clock.today();
    let rows = s
        .app
        .overdue(&page.principal, None)
        .await?
        .into_iter()
        .map(|a| OverdueRow {
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
            days_late: (today - a.ready_by).num_days(),
            a,
        })
        .collect();
    let (msg, msg_kind) = q.shown();
    Ok(render(&OverduePage {
        page,
        msg,
        msg_kind,
        today: today.to_string(),
        rows,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawInput {
    /// The applicant's identity number (the owner proof).
    pub id_number: String,
}

/// The applicant withdraws the application of this booking before a decision (accepted,
/// waiting for a supplement, or under review).
#[utoipa::path(post, path = "/api/v1/bookings/{code}/withdraw", tag = "applications",
    params(("code" = String, Path, description = "Booking code")),
    request_body = WithdrawInput,
    responses((status = 200, body = Application),
              (status = 404, description = "`booking_not_found`, `application_not_found` (not accepted yet)"),
              (status = 409, description = "`application_move_illegal` (decided already), `application_state_changed`"),
              (status = 429, description = "`proof_throttled`")))]
pub async fn withdraw_as_owner(
    State(s): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiPath(code): ApiPath<String>,
    ApiJson(i): ApiJson<WithdrawInput>,
) -> ApiResult<Json<Application>> {
    Ok(Json(
        s.app
            .withdraw_by_owner(&code, &i.id_number, addr.as_deref())
            .await?,
    ))
}
