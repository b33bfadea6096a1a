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
    HallDayInput, HallInfoInput, NewStaffInput, Principal, RevealView, StaffChangeInput, StaffView,
};

#[derive(Deserialize)]
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

pub async fn logout(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
) -> ApiResult<Response> {
    s.app.logout(&p).await?;
    Ok(([session_cookie(&s, "", 0)], StatusCode::NO_CONTENT).into_response())
}

pub async fn me(Extension(p): Extension<Principal>) -> Json<Value> {
    match p {
        Principal::Staff(st) => Json(json!({
            "id": st.id, "username": st.username, "display_name": st.display_name,
            "roles": st.roles, "csrf_token": st.csrf_token,
        })),
        _ => Json(json!(null)),
    }
}

#[derive(Deserialize)]
pub struct PasswordInput {
    pub current: String,
    pub new: String,
}

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

pub async fn list_staff(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
) -> ApiResult<Json<Vec<StaffView>>> {
    Ok(Json(s.app.staff_list(&p).await?))
}

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

pub async fn get_staff(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<StaffView>> {
    Ok(Json(s.app.staff_account(&p, id).await?))
}

pub async fn change_staff(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(i): ApiJson<StaffChangeInput>,
) -> ApiResult<Json<StaffView>> {
    Ok(Json(s.app.change_staff(&p, addr.as_deref(), id, &i).await?))
}

pub async fn list_devices(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
) -> ApiResult<Json<Vec<DeviceView>>> {
    Ok(Json(s.app.devices(&p).await?))
}

#[derive(Deserialize)]
pub struct DeviceInput {
    pub name: String,
    pub hall_id: String,
}

pub async fn create_device(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(i): ApiJson<DeviceInput>,
) -> ApiResult<(StatusCode, Json<DeviceView>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.app
                .create_device(&p, addr.as_deref(), &i.name, &i.hall_id)
                .await?,
        ),
    ))
}

pub async fn revoke_device(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.app.revoke_device(&p, addr.as_deref(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

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

pub async fn hall_windows(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiPath(hall): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let w = s.app.hall_windows(&p, &hall).await?;
    Ok(Json(json!(w)))
}

#[derive(Deserialize)]
pub struct WindowInput {
    pub number: u32,
    pub kind: String,
}

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

pub async fn hall_calendar(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiPath(hall): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "closed_days": s.app.hall_closures(&p, &hall).await? }),
    ))
}

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

pub async fn staff_booking(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiPath(code): ApiPath<String>,
) -> ApiResult<Json<BookingView>> {
    Ok(Json(s.app.staff_booking(&p, &code).await?))
}

#[derive(Deserialize)]
pub struct RevealInput {
    pub reason: String,
}

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

pub async fn audit(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiQuery(q): ApiQuery<AuditSearch>,
) -> ApiResult<Json<Vec<AuditView>>> {
    Ok(Json(s.app.audit_search(&p, &q).await?))
}

pub async fn kiosk_me(Extension(p): Extension<Principal>) -> Json<Value> {
    match p {
        Principal::Device(d) => Json(json!(d)),
        _ => Json(json!(null)),
    }
}
