//! The staff JSON API: sign-in, one's own account, staff and device administration, hall
//! administration, booking lookup and identity reveal, the audit trail, and the kiosk's own
//! endpoint. Authorisation happens before these run (see `auth`), and again inside the use
//! cases where a hall is concerned.

use crate::auth::{set_cookie, SESSION_COOKIE};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientAddr};
use crate::{ApiResult, AppState};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};
use wujing_app::{
    Action, Actor, AuditSearch, AuditView, BookingView, CapacityInput, ChangeResult, DeviceView,
    HallDayInput, HallInfoInput, NewStaffInput, Principal, RevealView, SignedIn, StaffChangeInput,
    StaffView, Window,
};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginInput {
    pub username: String,
    pub password: String,
}

pub(crate) fn session_cookie(
    s: &AppState,
    token: &str,
    max_age: i64,
) -> (header::HeaderName, axum::http::HeaderValue) {
    (
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, token, max_age, s.options.secure_cookies),
    )
}

/// Signs a staff member in.
///
/// Sets the `wujing_session` cookie (HttpOnly, SameSite=Strict) and answers the CSRF token that
/// state-changing requests made with the cookie send back as `X-CSRF-Token`. Failures are
/// throttled per user name and per address, and audited.
#[utoipa::path(post, path = "/api/v1/staff/session", tag = "staff",
    request_body = LoginInput,
    responses((status = 200, body = SignedIn, description = "Signed in; the session cookie is set",
               headers(("set-cookie" = String, description = "`wujing_session=…`"))),
              (status = 401, description = "`login_failed` (unknown user, wrong password or disabled account alike)"),
              (status = 429, description = "`login_throttled`, with a Retry-After header")))]
pub async fn login(
    State(s): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(i): ApiJson<LoginInput>,
) -> ApiResult<Response> {
    let signed = s
        .app
        .login(&i.username, &i.password, addr.as_deref())
        .await?;
    let ttl = s.app.config.auth.session_ttl.num_seconds();
    Ok(([session_cookie(&s, &signed.token, ttl)], Json(signed)).into_response())
}

/// Signs out: ends the session and clears its cookie (audited).
#[utoipa::path(delete, path = "/api/v1/staff/session", tag = "staff", security(("session" = [], "csrf" = [])),
    responses((status = 204, description = "Signed out; the cookie is cleared")))]
pub async fn logout(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
) -> ApiResult<Response> {
    s.app.logout(&p, addr.as_deref()).await?;
    Ok(([session_cookie(&s, "", 0)], StatusCode::NO_CONTENT).into_response())
}

/// The signed-in staff member, with the session's CSRF token.
#[utoipa::path(get, path = "/api/v1/staff/me", tag = "staff", security(("session" = [])),
    responses((status = 200, body = crate::api::StaffMe)))]
pub async fn me(Extension(p): Extension<Principal>) -> Json<Value> {
    match p {
        Principal::Staff(st) => Json(json!({
            "id": st.id, "username": st.username, "display_name": st.display_name,
            "roles": st.roles, "csrf_token": st.csrf_token,
        })),
        _ => Json(json!(null)),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasswordInput {
    pub current: String,
    pub new: String,
}

/// Changes one's own password; every session of the account ends, this one included.
#[utoipa::path(post, path = "/api/v1/staff/me/password", tag = "staff", security(("session" = [], "csrf" = [])),
    request_body = PasswordInput,
    responses((status = 204, description = "Changed; the cookie is cleared, sign in again"),
              (status = 400, description = "`current_password_wrong`, `password_too_short`, `password_is_username`")))]
pub async fn change_password(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(i): ApiJson<PasswordInput>,
) -> ApiResult<Response> {
    s.app
        .change_password(&p, &i.current, &i.new, addr.as_deref())
        .await?;
    Ok(([session_cookie(&s, "", 0)], StatusCode::NO_CONTENT).into_response())
}

/// Every staff account (never a password hash).
#[utoipa::path(get, path = "/api/v1/admin/staff", tag = "admin", security(("session" = [])),
    responses((status = 200, body = Vec<StaffView>)))]
pub async fn list_staff(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
) -> ApiResult<Json<Vec<StaffView>>> {
    Ok(Json(s.app.staff_list(&p).await?))
}

/// Creates a staff account with its roles (audited).
#[utoipa::path(post, path = "/api/v1/admin/staff", tag = "admin", security(("session" = [], "csrf" = [])),
    request_body = NewStaffInput,
    responses((status = 201, body = StaffView),
              (status = 400, description = "`username_invalid`, `display_name_invalid`, `password_too_short`, `password_is_username`, `role_invalid`, `phone_invalid`"),
              (status = 404, description = "`hall_not_found` (a role's hall)"),
              (status = 409, description = "`username_taken`")))]
pub async fn create_staff(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(i): ApiJson<NewStaffInput>,
) -> ApiResult<(StatusCode, Json<StaffView>)> {
    s.app.require(&p, Action::ManageStaff, None)?;
    let v = s
        .app
        .create_staff(&Actor::new(&p, addr.as_deref()), &i)
        .await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// One staff account.
#[utoipa::path(get, path = "/api/v1/admin/staff/{id}", tag = "admin", security(("session" = [])),
    params(("id" = i64, Path, description = "Staff account id")),
    responses((status = 200, body = StaffView),
              (status = 400, description = "`path_invalid`"),
              (status = 404, description = "`staff_not_found`")))]
pub async fn get_staff(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<StaffView>> {
    Ok(Json(s.app.staff_account(&p, id).await?))
}

/// Changes a staff account (audited).
///
/// Name, roles, disabled, password reset, phone; absent fields stay. The audit entry records
/// the before and after.
#[utoipa::path(patch, path = "/api/v1/admin/staff/{id}", tag = "admin", security(("session" = [], "csrf" = [])),
    params(("id" = i64, Path, description = "Staff account id")),
    request_body = StaffChangeInput,
    responses((status = 200, body = StaffView),
              (status = 400, description = "`cannot_lock_self_out`, `role_invalid`, `password_too_short`, `password_is_username`, `phone_invalid`, `path_invalid`"),
              (status = 404, description = "`staff_not_found`, `hall_not_found` (a role's hall)")))]
pub async fn change_staff(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(i): ApiJson<StaffChangeInput>,
) -> ApiResult<Json<StaffView>> {
    Ok(Json(s.app.change_staff(&p, addr.as_deref(), id, &i).await?))
}

/// Every registered device (kiosks, rating terminals), without tokens.
#[utoipa::path(get, path = "/api/v1/admin/devices", tag = "admin", security(("session" = [])),
    responses((status = 200, body = Vec<DeviceView>)))]
pub async fn list_devices(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
) -> ApiResult<Json<Vec<DeviceView>>> {
    Ok(Json(s.app.devices(&p).await?))
}

/// Registers a device of a kind in a site (at a window for `qtt` and `rating_terminal`),
/// audited. Its bearer token is in this answer only; a kiosk is usually paired instead
/// (`POST /api/v1/admin/devices/{id}/pair`), which gives it a fresh token.
#[utoipa::path(post, path = "/api/v1/admin/devices", tag = "admin", security(("session" = [], "csrf" = [])),
    request_body = wujing_app::DeviceInput,
    responses((status = 201, body = DeviceView, description = "Registered; `token` is shown once"),
              (status = 400, description = "`device_name_invalid`, `device_kind_invalid`, `device_window_invalid`"),
              (status = 404, description = "`not_found` (no such hall)")))]
pub async fn create_device(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(i): ApiJson<wujing_app::DeviceInput>,
) -> ApiResult<(StatusCode, Json<DeviceView>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_device(&p, addr.as_deref(), &i).await?),
    ))
}

/// Lifts the sign-in delay on an account's user name at once (audited as
/// `staff.unlock_sign_in`); addresses stay throttled.
#[utoipa::path(post, path = "/api/v1/admin/staff/{id}/unlock", tag = "admin", security(("session" = [], "csrf" = [])),
    params(("id" = i64, Path, description = "Staff account id")),
    responses((status = 204, description = "Unlocked (also when nothing was held back)"),
              (status = 400, description = "`path_invalid`"),
              (status = 404, description = "`staff_not_found`")))]
pub async fn unlock_sign_in(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.app.unlock_sign_in(&p, addr.as_deref(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes a device's token (audited).
#[utoipa::path(post, path = "/api/v1/admin/devices/{id}/revoke", tag = "admin", security(("session" = [], "csrf" = [])),
    params(("id" = i64, Path, description = "Device id")),
    responses((status = 204, description = "Revoked"),
              (status = 400, description = "`path_invalid`"),
              (status = 404, description = "`not_found` (no such device)")))]
pub async fn revoke_device(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.app.revoke_device(&p, addr.as_deref(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes a hall's names and addresses (audited). Hall managers: their hall only.
#[utoipa::path(put, path = "/api/v1/admin/halls/{id}", tag = "admin", security(("session" = [], "csrf" = [])),
    params(("id" = String, Path, description = "Hall id, e.g. `tianhe`")),
    request_body = HallInfoInput,
    responses((status = 204, description = "Changed"),
              (status = 400, description = "`hall_field_invalid`, with `details.field`"),
              (status = 404, description = "`hall_not_found`")))]
pub async fn update_hall(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(hall): ApiPath<String>,
    ApiJson(i): ApiJson<HallInfoInput>,
) -> ApiResult<StatusCode> {
    s.app
        .update_hall_info(&p, addr.as_deref(), &hall, &i)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A hall's windows and their kinds.
#[utoipa::path(get, path = "/api/v1/admin/halls/{id}/windows", tag = "admin", security(("session" = [])),
    params(("id" = String, Path, description = "Hall id, e.g. `tianhe`")),
    responses((status = 200, body = Vec<Window>)))]
pub async fn hall_windows(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiPath(hall): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let w = s.app.hall_windows(&p, &hall).await?;
    Ok(Json(json!(w)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct WindowInput {
    pub number: u32,
    pub kind: String,
}

/// Adds a window to a hall (audited).
#[utoipa::path(post, path = "/api/v1/admin/halls/{id}/windows", tag = "admin", security(("session" = [], "csrf" = [])),
    params(("id" = String, Path, description = "Hall id, e.g. `tianhe`")),
    request_body = WindowInput,
    responses((status = 201, description = "Added"),
              (status = 400, description = "`window_invalid`"),
              (status = 404, description = "`not_found` (no such hall)"),
              (status = 409, description = "`window_exists`")))]
pub async fn add_window(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(hall): ApiPath<String>,
    ApiJson(i): ApiJson<WindowInput>,
) -> ApiResult<StatusCode> {
    s.app
        .add_window(&p, addr.as_deref(), &hall, i.number, &i.kind)
        .await?;
    Ok(StatusCode::CREATED)
}

/// Removes a window from a hall (audited).
#[utoipa::path(delete, path = "/api/v1/admin/halls/{id}/windows/{number}", tag = "admin", security(("session" = [], "csrf" = [])),
    params(("id" = String, Path, description = "Hall id, e.g. `tianhe`"), ("number" = u32, Path, description = "Window number in the hall")),
    responses((status = 204, description = "Removed"),
              (status = 400, description = "`path_invalid`"),
              (status = 404, description = "`not_found` (no such window)")))]
pub async fn remove_window(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath((hall, number)): ApiPath<(String, u32)>,
) -> ApiResult<StatusCode> {
    s.app
        .remove_window(&p, addr.as_deref(), &hall, number)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes a pool's seats per slot from a day on (audited).
///
/// In place: existing bookings keep their seats, and a change that would leave a slot
/// overbooked is refused.
#[utoipa::path(post, path = "/api/v1/admin/halls/{id}/capacity", tag = "admin", security(("session" = [], "csrf" = [])),
    params(("id" = String, Path, description = "Hall id, e.g. `tianhe`")),
    request_body = CapacityInput,
    responses((status = 200, body = ChangeResult),
              (status = 400, description = "`pool_invalid`, `capacity_invalid`, `from_in_past`"),
              (status = 404, description = "`hall_not_found`"),
              (status = 409, description = "`capacity_below_taken`")))]
pub async fn set_capacity(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(hall): ApiPath<String>,
    ApiJson(i): ApiJson<CapacityInput>,
) -> ApiResult<Json<ChangeResult>> {
    Ok(Json(
        s.app.set_capacity(&p, addr.as_deref(), &hall, &i).await?,
    ))
}

/// The hall's closed days of the coming year.
#[utoipa::path(get, path = "/api/v1/admin/halls/{id}/calendar", tag = "admin", security(("session" = [])),
    params(("id" = String, Path, description = "Hall id, e.g. `tianhe`")),
    responses((status = 200, body = crate::api::HallCalendar)))]
pub async fn hall_calendar(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiPath(hall): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "closed_days": s.app.hall_closures(&p, &hall).await? }),
    ))
}

/// Closes or reopens a hall on a day (audited); a day with bookings cannot close.
#[utoipa::path(post, path = "/api/v1/admin/halls/{id}/calendar", tag = "admin", security(("session" = [], "csrf" = [])),
    params(("id" = String, Path, description = "Hall id, e.g. `tianhe`")),
    request_body = HallDayInput,
    responses((status = 200, body = ChangeResult),
              (status = 400, description = "`day_in_past`"),
              (status = 404, description = "`not_found` (no such hall)"),
              (status = 409, description = "`day_has_bookings`")))]
pub async fn set_hall_day(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(hall): ApiPath<String>,
    ApiJson(i): ApiJson<HallDayInput>,
) -> ApiResult<Json<ChangeResult>> {
    Ok(Json(
        s.app.set_hall_day(&p, addr.as_deref(), &hall, &i).await?,
    ))
}

/// A booking as staff see it, personal data masked (audited: `booking.lookup`).
///
/// Hall-scoped roles see their hall's bookings only.
#[utoipa::path(get, path = "/api/v1/staff/bookings/{code}", tag = "staff", security(("session" = [])),
    params(("code" = String, Path, description = "Booking code")),
    responses((status = 200, body = BookingView),
              (status = 404, description = "`booking_not_found`")))]
pub async fn staff_booking(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(code): ApiPath<String>,
) -> ApiResult<Json<BookingView>> {
    Ok(Json(s.app.staff_booking(&p, addr.as_deref(), &code).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RevealInput {
    pub reason: String,
}

/// The applicant's full identity number and phone, with a reason: an audited act.
#[utoipa::path(post, path = "/api/v1/staff/bookings/{code}/reveal", tag = "staff", security(("session" = [], "csrf" = [])),
    params(("code" = String, Path, description = "Booking code")),
    request_body = RevealInput,
    responses((status = 200, body = RevealView),
              (status = 400, description = "`reason_required`"),
              (status = 404, description = "`booking_not_found`")))]
pub async fn reveal(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(code): ApiPath<String>,
    ApiJson(i): ApiJson<RevealInput>,
) -> ApiResult<Json<RevealView>> {
    Ok(Json(
        s.app
            .reveal_identity(&p, addr.as_deref(), &code, &i.reason)
            .await?,
    ))
}

/// Searches the audit trail, newest first; citizens shown by pseudonym (audited). A
/// supervisor scoped to halls gets only the entries about its halls.
///
/// Each search is itself recorded (`audit.read`), the searched citizen by pseudonym in its
/// criteria.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", security(("session" = [])),
    params(AuditSearch),
    responses((status = 200, body = Vec<AuditView>),
              (status = 400, description = "`query_invalid`; an identity number's code (`id_number_length`, `id_number_checksum`, …) when the citizen parameter is malformed"),
              (status = 403, description = "`forbidden`; `audit_search_by_identity_forbidden` when staff scoped to halls search by a citizen's identity number")))]
pub async fn audit(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiQuery(q): ApiQuery<AuditSearch>,
) -> ApiResult<Json<Vec<AuditView>>> {
    Ok(Json(s.app.audit_search(&p, addr.as_deref(), &q).await?))
}

/// The calling device: its id, name and hall.
#[utoipa::path(get, path = "/api/v1/kiosk/me", tag = "kiosk", security(("device" = [])),
    responses((status = 200, body = wujing_app::authz::DevicePrincipal)))]
pub async fn kiosk_me(Extension(p): Extension<Principal>) -> Json<Value> {
    match p {
        Principal::Device(d) => Json(json!(d)),
        _ => Json(json!(null)),
    }
}
