//! The JSON API under /api/v1 and its OpenAPI description.

use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientAddr};
use crate::{ApiError, ApiResult, AppState};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Extension;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use wujing_app::citizen::{CodeRequest, CodeSent};
use wujing_app::mrz::{MrzInput, MrzView};
use wujing_app::{
    Alert, AppError, AvailabilityQuery, AvailabilityView, BookingView, BusinessView, Code,
    ConfirmInput, DrawView, EligibilityInput, EligibilityView, EntryInput, EntryView, HallView,
    HoldInput, HoldView, OwnerProof, Principal, RescheduleInput, SignalsQuery, SignalsView,
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

/// `GET /api/v1/staff/me`: the signed-in staff member.
#[derive(Serialize, ToSchema)]
pub struct StaffMe {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    #[schema(value_type = Vec<Object>)]
    pub roles: Vec<wujing_domain::staff::RoleGrant>,
    /// Send it back as `X-CSRF-Token` with every state-changing request.
    pub csrf_token: String,
}

/// `GET /api/v1/admin/halls/{id}/calendar`: the hall's closed days of the coming year.
#[derive(Serialize, ToSchema)]
pub struct HallCalendar {
    pub closed_days: Vec<chrono::NaiveDate>,
}

/// `POST …/rating`: the alert an "unsatisfied" rating raised, or null.
#[derive(Serialize, ToSchema)]
pub struct RatingOutcome {
    pub alert: Option<Alert>,
}

/// Every `/api` route of the route table in `lib.rs`; `tests/http.rs` fails on one missing.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Wujing (无境) citizen service API",
        description = "Booking as pre-acceptance for an exit-entry administration, and the halls' staff and device API. Errors use one envelope with a stable code; messages follow Accept-Language (zh-CN default, en). Staff sign in with `POST /api/v1/staff/session` (cookie `wujing_session`) and send the session's CSRF token as `X-CSRF-Token` with every state-changing request; devices send their token as `Authorization: Bearer`. Every operation can also answer 500 `internal_error` and 503 `timeout` or `unavailable`; one with a body 413 `payload_too_large`.",
        version = "1"
    ),
    paths(
        openapi,
        list_halls,
        get_hall,
        list_businesses,
        get_business,
        availability,
        eligibility,
        read_mrz,
        create_hold,
        send_phone_code,
        confirm_booking,
        get_booking,
        cancel_booking,
        reschedule_booking,
        enter_lottery,
        get_lottery_entry,
        get_lottery_draw,
        signals,
        crate::staff::login,
        crate::staff::logout,
        crate::staff::me,
        crate::staff::change_password,
        crate::staff::staff_booking,
        crate::staff::reveal,
        crate::staff::list_staff,
        crate::staff::create_staff,
        crate::staff::get_staff,
        crate::staff::change_staff,
        crate::staff::unlock_sign_in,
        crate::staff::list_devices,
        crate::staff::create_device,
        crate::staff::revoke_device,
        crate::staff::update_hall,
        crate::staff::hall_windows,
        crate::staff::add_window,
        crate::locker::get_locker,
        crate::locker::put_locker,
        crate::locker::api_collect,
        crate::kiosk_sqy::photo,
        crate::kiosk_sqy::plan,
        crate::kiosk_sqy::submit,
        crate::kiosk_sqy::biometrics,
        crate::kiosk_qtt::window,
        crate::kiosk_qtt::card,
        crate::kiosk_qtt::payment,
        crate::bzy::fees,
        crate::bzy::start_payment,
        crate::bzy::paid,
        crate::bzy::declined,
        crate::bzy::wej_fees,
        crate::bzy::wej_start_payment,
        crate::bzy::wej_paid,
        crate::bzy::wej_declined,
        crate::bzy::offer,
        crate::bzy::open,
        crate::bzy::choose,
        crate::bzy::reissue_paid,
        crate::bzy::written,
        crate::bzy::failed,
        crate::wej::status,
        crate::wej::collection,
        crate::wej::write_start,
        crate::wej::write_done,
        crate::wej::write_failed,
        crate::kiosk_qzj::api_open,
        crate::kiosk_qzj::api_collect,
        crate::kiosk_qzj::api_jam,
        crate::kiosk_qzj::api_clear_jam,
        crate::kiosk_tbj::api_form,
        crate::kiosk_yyj::api_slots,
        crate::kiosk_yyj::api_book,
        crate::kiosk_zjt::api_read,
        crate::kiosk_zjt::api_check_in,
        crate::kiosk_zjt::api_lodging,
        crate::staff::remove_window,
        crate::staff::set_capacity,
        crate::staff::hall_calendar,
        crate::staff::set_hall_day,
        crate::authority::get_authority,
        crate::authority::put_authority,
        crate::authority::put_emblem,
        crate::sites::list_sites,
        crate::sites::create_site,
        crate::sites::get_site,
        crate::sites::update_site,
        crate::staff::audit,
        crate::staff::kiosk_me,
        crate::devices::start_pairing,
        crate::devices::poll_pairing,
        crate::devices::heartbeat,
        crate::devices::api_pair,
        crate::devices::api_monitoring,
        crate::devices::api_clear,
        crate::counter::check_in,
        crate::counter::walk_in,
        crate::counter::tickets,
        crate::counter::call_next,
        crate::counter::action,
        crate::counter::accept,
        crate::counter::fee,
        crate::counter::urgent,
        crate::counter::refund,
        crate::counter::receipt,
        crate::counter::reconciliation,
        crate::counter::urgent_list,
        crate::counter::urgent_decide,
        crate::applications::review_queue,
        crate::applications::detail,
        crate::applications::start_review,
        crate::applications::approve,
        crate::applications::refuse,
        crate::applications::supplement_request,
        crate::applications::production,
        crate::applications::collect,
        crate::production::create_batch,
        crate::production::list_batches,
        crate::production::get_batch,
        crate::production::report_document,
        crate::production::list_clients,
        crate::production::create_client,
        crate::production::revoke_client,
        crate::applications::choose_collection,
        crate::applications::counter_lookup,
        crate::applications::supplement,
        crate::applications::overdue,
        crate::applications::mine,
        crate::applications::choose_collection_as_owner,
        crate::applications::withdraw_as_owner,
        crate::rating::api_rate,
        crate::rating::api_alerts,
        crate::rating::api_ack,
        crate::hotline::send_code,
        crate::hotline::book,
        crate::payments::callback,
        crate::lodging::register,
        crate::lodging::batch,
        crate::lodging::stay,
        crate::lodging::check_out,
        crate::lodging::host_register,
        crate::lodging::host_status,
        crate::lodging::worklist,
        crate::lodging::worklist_csv,
        crate::lodging::registration,
        crate::lodging::verify,
        crate::lodging::hotels,
        crate::lodging::create_hotel,
        crate::foreign::api_link
    ),
    components(schemas(ErrorEnvelope, ErrorBody)),
    modifiers(&Security, &CommonErrors),
    tags(
        (name = "halls", description = "The halls, public"),
        (name = "catalogue", description = "The businesses, their fees and options, public"),
        (name = "booking", description = "Citizens: eligibility, holds, bookings"),
        (name = "lottery", description = "Citizens: the lottery before a day's release"),
        (name = "operations", description = "Operators: scalping signals"),
        (name = "staff", description = "Staff: signing in, one's account, booking lookup and identity reveal"),
        (name = "admin", description = "Administrators and hall managers: staff accounts, devices, halls"),
        (name = "audit", description = "Auditors: the audit trail"),
        (name = "counter", description = "The hall: check-in, walk-ins, the counter's calls and actions, fees, receipts, reconciliation"),
        (name = "urgent", description = "The leader post: urgent requests"),
        (name = "applications", description = "After the counter: review, production, collection"),
        (name = "production", description = "The production centre (制证中心): batches and per-document reports, for its system (bearer token) or producers"),
        (name = "ratings", description = "The windows' rating terminals and the alerts they raise"),
        (name = "kiosk", description = "Devices: the kiosk's own endpoint, pairing, heartbeats, the pickup locker (docs/KIOSK.md)"),
        (name = "monitoring", description = "The back office: devices and round-the-clock self-service points, their alerts"),
        (name = "documents", description = "Travel documents: reading a machine-readable zone (ICAO 9303, CS/CD cards), public"),
        (name = "hotline", description = "The hotline (telephone channel): operators book for callers, who confirm with the code sent to their phone"),
        (name = "payments", description = "Online payment: the payment providers' signed notifications"),
        (name = "lodging", description = "Temporary accommodation registration (境外人员住宿登记): hotels' systems (their token), private hosts (public), police stations' worklists (docs/HOTELS.md)"),
        (name = "foreigners", description = "Foreigners as applicants: the passport renewal link recorded at the counter"),
        (name = "meta", description = "This document")
    )
)]
pub struct ApiDoc;

/// The ways a caller proves who it is.
struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::SESSION_COOKIE,
                "The staff session, set by `POST /api/v1/staff/session`",
            ))),
        );
        c.add_security_scheme(
            "csrf",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-CSRF-Token",
                "The session's `csrf_token`, on every state-changing request made with the session cookie",
            ))),
        );
        c.add_security_scheme(
            "device",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A device's token (`POST /api/v1/admin/devices`); a browser terminal carries it in the `wujing_device` cookie set at `/device`",
                    ))
                    .build(),
            ),
        );
        c.add_security_scheme(
            "system",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A system client's token (`wjsys_…`, from `POST /api/v1/admin/system-clients` or `wujing production-client create`): the production centre",
                    ))
                    .build(),
            ),
        );
        c.add_security_scheme(
            "hotel",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A hotel's token (`wjhotel_…`, given once by its police station: `POST /api/v1/lodging/hotels`); docs/HOTELS.md",
                    ))
                    .build(),
            ),
        );
    }
}

/// The errors every operation of a kind can answer, added to each operation so that the
/// annotations list only their use case's own codes: a body's 400 and 413, the security's 401
/// and 403, and everyone's 500 and 503. Where an annotation has the same status, the codes are
/// added to its description; elsewhere the operation refers to a shared response. Every error
/// response has the envelope as its body.
struct CommonErrors;

/// Shared error responses: name, status, codes.
const COMMON: &[(&str, &str, &str)] = &[
    (
        "malformed_body",
        "400",
        "a malformed body: `content_type_invalid`, `json_invalid`, `body_invalid`",
    ),
    ("payload_too_large", "413", "`payload_too_large`"),
    ("sign_in_required", "401", "`sign_in_required`"),
    (
        "device_unauthorized",
        "401",
        "`sign_in_required`, `device_token_invalid`",
    ),
    (
        "hotel_unauthorized",
        "401",
        "`sign_in_required`, `hotel_token_invalid` (no, a wrong or a revoked token)",
    ),
    (
        "system_unauthorized",
        "401",
        "`sign_in_required`, `system_token_invalid` (no, a wrong or a revoked token)",
    ),
    (
        "forbidden",
        "403",
        "`forbidden` (also outside the hall a role is limited to)",
    ),
    (
        "forbidden_or_csrf",
        "403",
        "`forbidden` (also outside the hall a role is limited to); `csrf_invalid` (no or a wrong `X-CSRF-Token`)",
    ),
    ("internal_error", "500", "`internal_error`"),
    (
        "unavailable",
        "503",
        "`timeout` (the request took too long; it may have taken effect), `unavailable`",
    ),
];

fn envelope_content() -> utoipa::openapi::Content {
    utoipa::openapi::ContentBuilder::new()
        .schema(Some(utoipa::openapi::Ref::from_schema_name(
            "ErrorEnvelope",
        )))
        .build()
}

impl utoipa::Modify for CommonErrors {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for item in doc.paths.paths.values_mut() {
            let ops = [
                (false, item.get.as_mut()),
                (true, item.put.as_mut()),
                (true, item.post.as_mut()),
                (true, item.delete.as_mut()),
                (true, item.patch.as_mut()),
            ];
            for (changes, op) in ops {
                if let Some(op) = op {
                    common_errors(op, changes);
                }
            }
        }
        let c = doc.components.get_or_insert_with(Default::default);
        for (name, _, codes) in COMMON {
            c.responses.insert(
                name.to_string(),
                utoipa::openapi::ResponseBuilder::new()
                    .description(*codes)
                    .content("application/json", envelope_content())
                    .build()
                    .into(),
            );
        }
    }
}

fn common_errors(op: &mut utoipa::openapi::path::Operation, changes: bool) {
    use utoipa::openapi::{Ref, RefOr};
    let schemes: Vec<String> = serde_json::to_value(&op.security)
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r.as_object())
        .flat_map(|r| r.keys().cloned())
        .collect();
    let session = schemes.iter().any(|s| s == "session");
    let device = schemes.iter().any(|s| s == "device");
    let system = schemes.iter().any(|s| s == "system");
    let hotel = schemes.iter().any(|s| s == "hotel");
    let mut common = vec![];
    if op.request_body.is_some() {
        common.extend(["malformed_body", "payload_too_large"]);
    }
    if session || device || system || hotel {
        common.push(if hotel {
            "hotel_unauthorized"
        } else if device {
            "device_unauthorized"
        } else if system {
            "system_unauthorized"
        } else {
            "sign_in_required"
        });
        common.push(if session && changes {
            "forbidden_or_csrf"
        } else {
            "forbidden"
        });
    }
    common.extend(["internal_error", "unavailable"]);
    let responses = &mut op.responses.responses;
    for name in common {
        let &(_, status, codes) = COMMON.iter().find(|c| c.0 == name).expect("listed");
        match responses.get_mut(status) {
            Some(RefOr::T(r)) if r.description.is_empty() => r.description = codes.to_string(),
            Some(RefOr::T(r)) => r.description = format!("{}; {codes}", r.description),
            Some(RefOr::Ref(_)) => {}
            None => {
                responses.insert(
                    status.to_string(),
                    RefOr::Ref(Ref::from_response_name(name)),
                );
            }
        }
    }
    for (status, r) in responses.iter_mut() {
        if let RefOr::T(r) = r {
            if status.as_str() >= "400" && r.content.is_empty() {
                r.content
                    .insert("application/json".into(), envelope_content());
            }
        }
    }
}

/// A PDF file, as a response body.
pub struct Pdf;

impl utoipa::PartialSchema for Pdf {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .content_media_type("application/pdf")
            .into()
    }
}

impl ToSchema for Pdf {}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta",
    responses((status = 200, body = Object, description = "The OpenAPI 3.1 document")))]
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// `GET /api/v1/halls`'s filter.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HallsQuery {
    /// Only the sites offering this business, e.g. `passport_first`.
    pub business: Option<String>,
}

/// All sites (halls, service points, police stations, self-service points) with their kind,
/// district, hours, windows, capacity per pool and businesses; halls first, then by kind. With
/// `business`, only the sites offering it.
#[utoipa::path(get, path = "/api/v1/halls", tag = "halls",
    params(HallsQuery),
    responses((status = 200, body = Vec<HallView>),
              (status = 422, body = ErrorEnvelope, description = "`unknown_business`")))]
pub async fn list_halls(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<HallsQuery>,
) -> ApiResult<Json<Vec<HallView>>> {
    let business = q
        .business
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty());
    Ok(Json(s.app.sites_offering(business).await?))
}

#[utoipa::path(get, path = "/api/v1/halls/{id}", tag = "halls",
    params(("id" = String, Path, description = "Hall id, e.g. `tianhe`")),
    responses((status = 200, body = HallView),
              (status = 404, body = ErrorEnvelope, description = "`hall_not_found`")))]
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
    responses((status = 200, body = BusinessView),
              (status = 422, body = ErrorEnvelope, description = "`unknown_business`")))]
pub async fn get_business(
    State(s): State<AppState>,
    ApiPath(code): ApiPath<String>,
) -> ApiResult<Json<BusinessView>> {
    Ok(Json(s.app.business(&code)?))
}

/// Free online seats by business, halls and dates, from live counters.
#[utoipa::path(get, path = "/api/v1/availability", tag = "booking",
    params(AvailabilityQuery),
    responses((status = 200, body = AvailabilityView),
              (status = 400, body = ErrorEnvelope, description = "`query_invalid`, `date_in_past`, `date_range_invalid`"),
              (status = 404, body = ErrorEnvelope, description = "`hall_not_found`"),
              (status = 422, body = ErrorEnvelope, description = "`unknown_business`")))]
pub async fn availability(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<AvailabilityQuery>,
) -> ApiResult<Json<AvailabilityView>> {
    Ok(Json(s.app.availability(&q).await?))
}

/// Pre-checks eligibility for a business (M1) and returns every failing reason the caller may
/// see.
///
/// Without `phone_code` only the rules that need no registry records are checked (age,
/// options, answers): any name with any identity number answers alike, and `records_checked`
/// is false. With the code sent to the applicant's phone the records are checked too, and
/// their reasons are given when the name is the one registered for the number (otherwise one
/// `records_not_confirmed`). Counted per identity and per client address.
#[utoipa::path(post, path = "/api/v1/eligibility", tag = "booking",
    request_body = EligibilityInput,
    responses((status = 200, body = EligibilityView),
              (status = 400, body = ErrorEnvelope, description = "`name_required`, `phone_invalid`, `id_type_invalid`, `nationality_invalid`, `passport_number_invalid`, an identity number's code (`id_number_length`, `id_number_checksum`, …), `phone_code_wrong` (with `details.attempts_left`), `phone_code_expired`, `phone_code_used` (a code is good for one use)"),
              (status = 422, body = ErrorEnvelope, description = "`unknown_business`"),
              (status = 429, body = ErrorEnvelope, description = "`rate_limited`, with a Retry-After header")))]
pub async fn eligibility(
    State(s): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(input): ApiJson<EligibilityInput>,
) -> ApiResult<Json<EligibilityView>> {
    Ok(Json(
        s.app.check_eligibility(&input, addr.as_deref()).await?,
    ))
}

/// Reads a travel document's machine-readable zone (issue 14 §1): ICAO Doc 9303 TD1, TD2, TD3,
/// MRV-A and MRV-B, and the Mainland's CS/CD travel permit cards. Every check digit is
/// reported in `checks`; `valid` is whether every enforced one passed (a CS/CD card's composite
/// is reported null and not enforced). OCR confusions (`0`/`O`, `1`/`I`, `8`/`B`, `5`/`S`,
/// `2`/`Z`) are repaired only in fields whose type decides them and only when the zone then
/// passes its checks; `repairs` lists each one. Nothing of the zone is stored or logged.
/// Counted per client address under the pre-check limit.
#[utoipa::path(post, path = "/api/v1/mrz", tag = "documents",
    request_body = MrzInput,
    responses((status = 200, body = MrzView),
              (status = 400, body = ErrorEnvelope, description = "`body_invalid`, `json_invalid`, `content_type_invalid`"),
              (status = 422, body = ErrorEnvelope, description = "`mrz_line_count` (with `details.lines`), `mrz_line_length` (with `details.line` and `details.length`), `mrz_characters` (with `details.line` and `details.position`, from 0), `mrz_format_unknown`"),
              (status = 429, body = ErrorEnvelope, description = "`rate_limited`, with a Retry-After header")))]
pub async fn read_mrz(
    State(s): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(input): ApiJson<MrzInput>,
) -> ApiResult<Json<MrzView>> {
    Ok(Json(s.app.read_mrz(&input, addr.as_deref()).await?))
}

/// Holds a seat for a short time; a full slot answers 409 `slot_full` with alternatives (M2).
#[utoipa::path(post, path = "/api/v1/holds", tag = "booking",
    request_body = HoldInput,
    responses((status = 201, body = HoldView),
              (status = 404, body = ErrorEnvelope, description = "`slot_not_found`"),
              (status = 409, body = ErrorEnvelope, description = "`slot_full`, with `details.alternatives`"),
              (status = 422, body = ErrorEnvelope, description = "`unknown_business`, `slot_not_bookable`, `slot_in_past`, `date_out_of_range`, `business_not_offered`, `not_yet_released`, `lottery_pending`"),
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
    responses((status = 201, body = BookingView),
              (status = 400, body = ErrorEnvelope, description = "`name_required`, `phone_invalid`, `id_type_invalid`, `nationality_invalid`, `passport_number_invalid`, an identity number's code (`id_number_length`, `id_number_checksum`, …), `channel_invalid`, `email_invalid`, `phone_code_required`, `phone_code_wrong` (with `details.attempts_left`), `phone_code_expired`, `phone_code_used` (a code is good for one use)"),
              (status = 404, body = ErrorEnvelope, description = "`hold_not_found`"),
              (status = 409, body = ErrorEnvelope, description = "`already_booked` or `hold_used`"),
              (status = 410, body = ErrorEnvelope, description = "`hold_expired`"),
              (status = 422, body = ErrorEnvelope, description = "`not_eligible`, with `details.reasons`"),
              (status = 429, body = ErrorEnvelope, description = "`rate_limited`, with a Retry-After header")))]
pub async fn confirm_booking(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(input): ApiJson<ConfirmInput>,
) -> ApiResult<(StatusCode, Json<BookingView>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.confirm(&p, &input, addr).await?),
    ))
}

/// A booking, for its owner: the identity number goes in the `X-Id-Number` header so that it
/// never appears in URLs or access logs.
#[utoipa::path(get, path = "/api/v1/bookings/{code}", tag = "booking",
    params(("code" = String, Path, description = "Booking code"),
           ("X-Id-Number" = String, Header, description = "The booking's identity number")),
    responses((status = 200, body = BookingView),
              (status = 400, body = ErrorEnvelope, description = "`id_number_required`"),
              (status = 404, body = ErrorEnvelope, description = "`booking_not_found` (also for an identity number that does not match)"),
              (status = 429, body = ErrorEnvelope, description = "`proof_throttled`: too many wrong identity numbers for this code or from this address")))]
pub async fn get_booking(
    State(s): State<AppState>,
    ClientAddr(addr): ClientAddr,
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
                addr.as_deref(),
            )
            .await?,
    ))
}

/// Cancels a booking; its seat returns to the public pool after a delay.
#[utoipa::path(post, path = "/api/v1/bookings/{code}/cancel", tag = "booking",
    params(("code" = String, Path, description = "Booking code")),
    request_body = OwnerProof,
    responses((status = 200, body = BookingView),
              (status = 404, body = ErrorEnvelope, description = "`booking_not_found`"),
              (status = 409, body = ErrorEnvelope, description = "`booking_started`, `booking_not_active`")))]
pub async fn cancel_booking(
    State(s): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiPath(code): ApiPath<String>,
    ApiJson(proof): ApiJson<OwnerProof>,
) -> ApiResult<Json<BookingView>> {
    Ok(Json(s.app.cancel(&code, &proof, addr.as_deref()).await?))
}

/// Moves a booking to another slot atomically: the new seat is taken before the old is freed.
#[utoipa::path(post, path = "/api/v1/bookings/{code}/reschedule", tag = "booking",
    params(("code" = String, Path, description = "Booking code")),
    request_body = RescheduleInput,
    responses((status = 200, body = BookingView),
              (status = 404, body = ErrorEnvelope, description = "`booking_not_found`, `slot_not_found`"),
              (status = 409, body = ErrorEnvelope, description = "`booking_not_active`, `same_slot`, `slot_full` (with `details.alternatives`)"),
              (status = 422, body = ErrorEnvelope, description = "`slot_not_bookable`, `slot_in_past`, `date_out_of_range`, `business_not_offered`, `not_yet_released`, `lottery_pending`")))]
pub async fn reschedule_booking(
    State(s): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiPath(code): ApiPath<String>,
    ApiJson(input): ApiJson<RescheduleInput>,
) -> ApiResult<Json<BookingView>> {
    Ok(Json(
        s.app.reschedule(&code, &input, addr.as_deref()).await?,
    ))
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
    responses((status = 201, body = EntryView),
              (status = 400, body = ErrorEnvelope, description = "`halls_invalid`, `name_required`, `phone_invalid`, `id_type_invalid`, `nationality_invalid`, `passport_number_invalid`, an identity number's code (`id_number_length`, `id_number_checksum`, …), `phone_code_required`, `phone_code_wrong` (with `details.attempts_left`), `phone_code_expired`, `phone_code_used` (a code is good for one use)"),
              (status = 404, body = ErrorEnvelope, description = "`hall_not_found`"),
              (status = 409, body = ErrorEnvelope, description = "`already_entered`"),
              (status = 422, body = ErrorEnvelope, description = "`lottery_not_open`, `lottery_closed`, `lottery_not_used`, `not_eligible` (with `details.reasons`), `unknown_business`, `business_not_offered`")))]
pub async fn enter_lottery(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(input): ApiJson<EntryInput>,
) -> ApiResult<(StatusCode, Json<EntryView>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.enter_lottery(&p, &input, addr).await?),
    ))
}

/// A lottery entry for its owner (identity number in `X-Id-Number`): its status, the booking
/// code if it won, the remaining seats if it lost.
#[utoipa::path(get, path = "/api/v1/lottery/entries/{id}", tag = "lottery",
    params(("id" = i64, Path, description = "Entry id (random 64-bit)"),
           ("X-Id-Number" = String, Header, description = "The entrant's identity number")),
    responses((status = 200, body = EntryView),
              (status = 400, body = ErrorEnvelope, description = "`id_number_required`, `path_invalid`"),
              (status = 404, body = ErrorEnvelope, description = "`entry_not_found`"),
              (status = 429, body = ErrorEnvelope, description = "`proof_throttled`: too many wrong identity numbers for this entry or from this address")))]
pub async fn get_lottery_entry(
    State(s): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
) -> ApiResult<Json<EntryView>> {
    let id_number = id_number_header(&headers)?;
    Ok(Json(
        s.app.lottery_entry(id, id_number, addr.as_deref()).await?,
    ))
}

/// A day's draw, public: its seed, counts and times, so anyone can check the order.
#[utoipa::path(get, path = "/api/v1/lottery/draws/{day}", tag = "lottery",
    params(("day" = String, Path, description = "Release day, YYYY-MM-DD")),
    responses((status = 200, body = DrawView),
              (status = 400, body = ErrorEnvelope, description = "`path_invalid`"),
              (status = 404, body = ErrorEnvelope, description = "`draw_not_found`")))]
pub async fn get_lottery_draw(
    State(s): State<AppState>,
    ApiPath(day): ApiPath<chrono::NaiveDate>,
) -> ApiResult<Json<DrawView>> {
    Ok(Json(s.app.lottery_draw(day).await?))
}

/// Scalping signals for leaders, supervisors and administrators (signed in): phones and
/// addresses shared by several identities, abandoned holds, cancel→rebook pairs; masked.
/// Staff scoped to halls see only the signals of bookings and holds at their halls.
#[utoipa::path(get, path = "/api/v1/ops/signals", tag = "operations",
    security(("session" = [])),
    params(SignalsQuery),
    responses((status = 200, body = SignalsView),
              (status = 400, body = ErrorEnvelope, description = "`hours_invalid`, `query_invalid`")))]
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
    responses((status = 202, body = CodeSent),
              (status = 400, body = ErrorEnvelope, description = "`phone_invalid`, `purpose_invalid`"),
              (status = 429, body = ErrorEnvelope, description = "`code_rate_limited`")))]
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
