//! The JSON API under /api/v1 and its OpenAPI description.

use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientAddr};
use crate::{ApiError, ApiResult, AppState};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use wujing_app::citizen::{CodeRequest, CodeSent};
use wujing_app::{
    AppError, AvailabilityQuery, AvailabilityView, BookingView, BusinessView, Code, ConfirmInput,
    DrawView, EligibilityInput, EligibilityView, EntryInput, EntryView, HallView, HoldInput,
    HoldView, OwnerProof, Principal, RescheduleInput, SignalsQuery, SignalsView,
};

/// The one error envelope every error response uses.
#[derive(Serialize, ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable snake_case code, e.g. `slot_full`, `id_number_checksum`.
    pub code: String,
    /// Message in the request's language (zh-CN by default, en with `Accept-Language: en`).
    pub message: String,
    pub request_id: String,
    /// Structured details: `alternatives` for `slot_full`, `reasons` for `not_eligible`.
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Wujing (无境) citizen service API",
        description = "Booking as pre-acceptance for an exit-entry administration. Errors use one envelope with a stable code; messages follow Accept-Language (zh-CN default, en).",
        version = "1"
    ),
    paths(
        list_halls,
        get_hall,
        list_businesses,
        get_business,
        availability,
        eligibility,
        create_hold,
        send_phone_code,
        confirm_booking,
        get_booking,
        cancel_booking,
        reschedule_booking,
        enter_lottery,
        get_lottery_entry,
        get_lottery_draw,
        signals
    ),
    components(schemas(ErrorEnvelope, ErrorBody))
)]
pub struct ApiDoc;

pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// All halls with their district, hours, windows and capacity per pool.
#[utoipa::path(get, path = "/api/v1/halls", tag = "halls",
    responses((status = 200, body = Vec<HallView>)))]
pub async fn list_halls(State(s): State<AppState>) -> ApiResult<Json<Vec<HallView>>> {
    Ok(Json(s.app.halls().await?))
}

#[utoipa::path(get, path = "/api/v1/halls/{id}", tag = "halls",
    params(("id" = String, Path, description = "Hall id, e.g. `tianhe`")),
    responses((status = 200, body = HallView), (status = 404, body = ErrorEnvelope)))]
pub async fn get_hall(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<HallView>> {
    Ok(Json(s.app.hall(&id).await?))
}

/// The business catalogue with today's fees, options and processing times.
#[utoipa::path(get, path = "/api/v1/businesses", tag = "catalogue",
    responses((status = 200, body = Vec<BusinessView>)))]
pub async fn list_businesses(State(s): State<AppState>) -> Json<Vec<BusinessView>> {
    Json(s.app.businesses())
}

#[utoipa::path(get, path = "/api/v1/businesses/{code}", tag = "catalogue",
    params(("code" = String, Path, description = "Business code, e.g. `hkm_endorsement_g`")),
    responses((status = 200, body = BusinessView), (status = 422, body = ErrorEnvelope)))]
pub async fn get_business(
    State(s): State<AppState>,
    ApiPath(code): ApiPath<String>,
) -> ApiResult<Json<BusinessView>> {
    Ok(Json(s.app.business(&code)?))
}

/// Free online seats by business, halls and dates, from live counters.
#[utoipa::path(get, path = "/api/v1/availability", tag = "booking",
    params(AvailabilityQuery),
    responses((status = 200, body = AvailabilityView), (status = 400, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn availability(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<AvailabilityQuery>,
) -> ApiResult<Json<AvailabilityView>> {
    Ok(Json(s.app.availability(&q).await?))
}

/// Pre-checks eligibility for a business (M1) and returns every failing reason.
#[utoipa::path(post, path = "/api/v1/eligibility", tag = "booking",
    request_body = EligibilityInput,
    responses((status = 200, body = EligibilityView), (status = 400, body = ErrorEnvelope)))]
pub async fn eligibility(
    State(s): State<AppState>,
    ApiJson(input): ApiJson<EligibilityInput>,
) -> ApiResult<Json<EligibilityView>> {
    Ok(Json(s.app.check_eligibility(&input).await?))
}

/// Holds a seat for a short time; a full slot answers 409 `slot_full` with alternatives (M2).
#[utoipa::path(post, path = "/api/v1/holds", tag = "booking",
    request_body = HoldInput,
    responses((status = 201, body = HoldView), (status = 404, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope, description = "`slot_full`, with `details.alternatives`"),
              (status = 422, body = ErrorEnvelope),
              (status = 429, body = ErrorEnvelope, description = "`rate_limited`, with a Retry-After header")))]
pub async fn create_hold(
    State(s): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(input): ApiJson<HoldInput>,
) -> ApiResult<(StatusCode, Json<HoldView>)> {
    Ok((StatusCode::CREATED, Json(s.app.hold(&input, addr).await?)))
}

/// Confirms a hold as a booking bound to the applicant's identity (M1, M3).
#[utoipa::path(post, path = "/api/v1/bookings", tag = "booking",
    request_body = ConfirmInput,
    responses((status = 201, body = BookingView), (status = 400, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope, description = "`already_booked` or `hold_used`"),
              (status = 410, body = ErrorEnvelope, description = "`hold_expired`"),
              (status = 422, body = ErrorEnvelope, description = "`not_eligible`, with `details.reasons`"),
              (status = 429, body = ErrorEnvelope, description = "`rate_limited`, with a Retry-After header")))]
pub async fn confirm_booking(
    State(s): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(input): ApiJson<ConfirmInput>,
) -> ApiResult<(StatusCode, Json<BookingView>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.confirm(&input, addr).await?),
    ))
}

/// A booking, for its owner: the identity number goes in the `X-Id-Number` header so that it
/// never appears in URLs or access logs.
#[utoipa::path(get, path = "/api/v1/bookings/{code}", tag = "booking",
    params(("code" = String, Path, description = "Booking code"),
           ("X-Id-Number" = String, Header, description = "The booking's identity number")),
    responses((status = 200, body = BookingView), (status = 400, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope)))]
pub async fn get_booking(
    State(s): State<AppState>,
    ApiPath(code): ApiPath<String>,
    headers: HeaderMap,
) -> ApiResult<Json<BookingView>> {
    let id_number = id_number_header(&headers)?;
    Ok(Json(
        s.app
            .booking(
                &code,
                &OwnerProof {
                    id_number: id_number.to_string(),
                },
            )
            .await?,
    ))
}

/// Cancels a booking; its seat returns to the public pool after a delay.
#[utoipa::path(post, path = "/api/v1/bookings/{code}/cancel", tag = "booking",
    params(("code" = String, Path, description = "Booking code")),
    request_body = OwnerProof,
    responses((status = 200, body = BookingView), (status = 404, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope)))]
pub async fn cancel_booking(
    State(s): State<AppState>,
    ApiPath(code): ApiPath<String>,
    ApiJson(proof): ApiJson<OwnerProof>,
) -> ApiResult<Json<BookingView>> {
    Ok(Json(s.app.cancel(&code, &proof).await?))
}

/// Moves a booking to another slot atomically: the new seat is taken before the old is freed.
#[utoipa::path(post, path = "/api/v1/bookings/{code}/reschedule", tag = "booking",
    params(("code" = String, Path, description = "Booking code")),
    request_body = RescheduleInput,
    responses((status = 200, body = BookingView), (status = 404, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn reschedule_booking(
    State(s): State<AppState>,
    ApiPath(code): ApiPath<String>,
    ApiJson(input): ApiJson<RescheduleInput>,
) -> ApiResult<Json<BookingView>> {
    Ok(Json(s.app.reschedule(&code, &input).await?))
}

/// The identity number proving ownership, from the `X-Id-Number` header.
fn id_number_header(headers: &HeaderMap) -> ApiResult<&str> {
    headers
        .get("x-id-number")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError(AppError::new(
                Code::IdNumberRequired,
                "请在 X-Id-Number 请求头中提供证件号码",
                "send the identity number in the X-Id-Number header",
            ))
        })
}

/// Enters a day's lottery release (one entry per identity and day); only when the release
/// policy is a lottery and during its entry window.
#[utoipa::path(post, path = "/api/v1/lottery/entries", tag = "lottery",
    request_body = EntryInput,
    responses((status = 201, body = EntryView), (status = 400, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope, description = "`already_entered`"),
              (status = 422, body = ErrorEnvelope, description = "`lottery_not_open`, `lottery_closed`, `lottery_not_used`, `not_eligible`")))]
pub async fn enter_lottery(
    State(s): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(input): ApiJson<EntryInput>,
) -> ApiResult<(StatusCode, Json<EntryView>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.enter_lottery(&input, addr).await?),
    ))
}

/// A lottery entry for its owner (identity number in `X-Id-Number`): its status, the booking
/// code if it won, the remaining seats if it lost.
#[utoipa::path(get, path = "/api/v1/lottery/entries/{id}", tag = "lottery",
    params(("id" = i64, Path, description = "Entry number"),
           ("X-Id-Number" = String, Header, description = "The entrant's identity number")),
    responses((status = 200, body = EntryView), (status = 404, body = ErrorEnvelope)))]
pub async fn get_lottery_entry(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
) -> ApiResult<Json<EntryView>> {
    let id_number = id_number_header(&headers)?;
    Ok(Json(s.app.lottery_entry(id, id_number).await?))
}

/// A day's draw, public: its seed, counts and times, so anyone can check the order.
#[utoipa::path(get, path = "/api/v1/lottery/draws/{day}", tag = "lottery",
    params(("day" = String, Path, description = "Release day, YYYY-MM-DD")),
    responses((status = 200, body = DrawView), (status = 404, body = ErrorEnvelope)))]
pub async fn get_lottery_draw(
    State(s): State<AppState>,
    ApiPath(day): ApiPath<chrono::NaiveDate>,
) -> ApiResult<Json<DrawView>> {
    Ok(Json(s.app.lottery_draw(day).await?))
}

/// Scalping signals for leaders, supervisors and administrators (signed in): phones and
/// addresses shared by several identities, abandoned holds, cancel→rebook pairs; masked.
#[utoipa::path(get, path = "/api/v1/ops/signals", tag = "operations",
    params(SignalsQuery),
    responses((status = 200, body = SignalsView), (status = 401, body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope)))]
pub async fn signals(
    State(s): State<AppState>,
    axum::Extension(p): axum::Extension<Principal>,
    ApiQuery(q): ApiQuery<SignalsQuery>,
) -> ApiResult<Json<SignalsView>> {
    Ok(Json(s.app.signals(&p, &q).await?))
}

/// Sends a six-digit code to a phone (through the outbox): needed to confirm a booking when
/// the server requires verified phones (the default of `wujing serve`), and to find one's
/// bookings. One per minute and five per hour per phone; a code lives ten minutes and allows
/// five tries.
#[utoipa::path(post, path = "/api/v1/phone-codes", tag = "booking", request_body = CodeRequest,
    responses((status = 202, body = CodeSent), (status = 400, body = ErrorEnvelope),
              (status = 429, body = ErrorEnvelope)))]
pub async fn send_phone_code(
    State(s): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(r): ApiJson<wujing_app::citizen::CodeRequest>,
) -> ApiResult<(StatusCode, Json<wujing_app::citizen::CodeSent>)> {
    Ok((
        StatusCode::ACCEPTED,
        Json(s.app.send_phone_code(&r, addr.as_deref()).await?),
    ))
}
