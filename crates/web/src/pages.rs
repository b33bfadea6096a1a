//! Staff pages: sign-in, a home page per role, one's password, and the administration of staff
//! accounts, devices, halls (name, windows, capacity, calendar) and the audit trail.
//!
//! Forms post back and are answered with a redirect (post/redirect/get) carrying a short
//! message; every form carries the session's CSRF token, checked before the handler runs.

use crate::auth::{cookie, form_field, set_cookie, LOGIN_CSRF_COOKIE};
use crate::extract::{ApiPath, ClientAddr};
use crate::staff::session_cookie;
use crate::{ApiResult, AppState};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Extension;
use std::collections::HashMap;
use wujing_app::authz::permits;
use wujing_app::Code;
use wujing_app::*;
use wujing_domain::staff::{Role, RoleGrant};

pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Back to `to` with a message for the next page.
fn back(to: &str, r: AppResult<String>, english: bool) -> Response {
    let (kind, msg) = match r {
        Ok(m) => ("ok", m),
        Err(e) => ("error", e.message(english).to_string()),
    };
    let sep = if to.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{to}{sep}kind={kind}&msg={}", enc(&msg))).into_response()
}

pub(crate) fn flash(q: &HashMap<String, String>) -> (String, String) {
    let msg: String = q
        .get("msg")
        .cloned()
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect();
    let kind = if q.get("kind").is_some_and(|k| k == "ok") {
        "ok"
    } else {
        "error"
    };
    (msg, kind.to_string())
}

pub(crate) fn staff_of(p: &Principal) -> (String, String) {
    match p {
        Principal::Staff(s) => (s.display_name.clone(), s.csrf_token.clone()),
        _ => (String::new(), String::new()),
    }
}

fn form(body: &[u8]) -> HashMap<String, String> {
    let mut m = HashMap::new();
    for k in [
        "csrf",
        "username",
        "password",
        "next",
        "display_name",
        "roles",
        "op",
        "current",
        "new",
        "name_zh",
        "name_en",
        "address_zh",
        "address_en",
        "pool",
        "seats_per_slot",
        "from",
        "number",
        "kind",
        "day",
        "closed",
        "note",
        "name",
        "hall_id",
        "phone",
    ] {
        if let Some(v) = form_field(body, k) {
            m.insert(k.to_string(), v);
        }
    }
    m
}

fn field<'a>(f: &'a HashMap<String, String>, k: &str) -> &'a str {
    f.get(k).map_or("", String::as_str)
}

fn english(h: &HeaderMap) -> bool {
    h.get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("en"))
}

// --- Sign-in -------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    msg: String,
    msg_kind: String,
    csrf: String,
    next: String,
}

pub async fn login_page(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    // Log-in CSRF: a double-submit token, since there is no session yet.
    let token = wujing_app::auth::random_token();
    let (msg, msg_kind) = flash(&q);
    let next = q.get("next").cloned().unwrap_or_default();
    let mut r = render(&LoginPage {
        msg,
        msg_kind,
        csrf: token.clone(),
        next,
    });
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(LOGIN_CSRF_COOKIE, &token, 3600, s.options.secure_cookies),
    );
    r
}

pub async fn login_submit(
    State(s): State<AppState>,
    headers: HeaderMap,
    ClientAddr(addr): ClientAddr,
    body: axum::body::Bytes,
) -> Response {
    let f = form(&body);
    let en = english(&headers);
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    if expected.is_empty() || !wujing_app::auth::same_secret(expected, field(&f, "csrf")) {
        return back("/staff/login", Err(csrf_error()), en);
    }
    match s
        .app
        .login(
            field(&f, "username"),
            field(&f, "password"),
            addr.as_deref(),
        )
        .await
    {
        Ok(signed) => {
            let next = field(&f, "next");
            let to = if next.starts_with("/staff") && !next.starts_with("//") {
                next
            } else {
                "/staff"
            };
            let ttl = s.app.config.auth.session_ttl.num_seconds();
            let mut r = Redirect::to(to).into_response();
            let (k, v) = session_cookie(&s, &signed.token, ttl);
            r.headers_mut().append(k, v);
            r.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(LOGIN_CSRF_COOKIE, "", 0, s.options.secure_cookies),
            );
            r
        }
        Err(e) => back("/staff/login", Err(e), en),
    }
}

fn csrf_error() -> AppError {
    AppError::new(
        Code::CsrfInvalid,
        "页面已过期，请刷新后重试",
        "the page has expired; reload and try again",
    )
}

pub async fn logout(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
) -> ApiResult<Response> {
    s.app.logout(&p).await?;
    let mut r = Redirect::to("/staff/login").into_response();
    let (k, v) = session_cookie(&s, "", 0);
    r.headers_mut().append(k, v);
    Ok(r)
}

// --- Home and password ----------------------------------------------------------------------

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    msg: String,
    msg_kind: String,
    who: String,
    csrf: String,
    roles: Vec<String>,
    links: Vec<(&'static str, &'static str)>,
}

pub async fn home(
    Extension(p): Extension<Principal>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (who, csrf) = staff_of(&p);
    let roles = match &p {
        Principal::Staff(s) => s
            .roles
            .iter()
            .map(|g| match &g.hall {
                Some(h) => format!("{}（{h}）", g.role.name_zh()),
                None => g.role.name_zh().to_string(),
            })
            .collect(),
        _ => vec![],
    };
    let mut links = vec![];
    for (action, href, label) in [
        (
            Action::ManageStaff,
            "/staff/admin/staff",
            "工作人员账号 Staff accounts",
        ),
        (
            Action::ManageDevices,
            "/staff/admin/devices",
            "自助终端 Kiosk devices",
        ),
        (
            Action::ManageHalls,
            "/staff/admin/halls",
            "大厅、窗口、日历与号源 Halls",
        ),
        (Action::ViewAudit, "/staff/audit", "审计记录 Audit trail"),
        (
            Action::ViewSignals,
            "/api/v1/ops/signals",
            "黄牛迹象（JSON）Scalping signals",
        ),
        (Action::Alerts, "/staff/alerts", "差评提醒 Alerts"),
        (
            Action::Urgent,
            "/staff/urgent",
            "领导岗：加急审批 Leader post",
        ),
    ] {
        if permits(&p, action, None) {
            links.push((href, label));
        }
    }
    let (msg, msg_kind) = flash(&q);
    render(&HomePage {
        msg,
        msg_kind,
        who,
        csrf,
        roles,
        links,
    })
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    msg: String,
    msg_kind: String,
    who: String,
    csrf: String,
}

pub async fn password_page(
    Extension(p): Extension<Principal>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (who, csrf) = staff_of(&p);
    let (msg, msg_kind) = flash(&q);
    render(&PasswordPage {
        msg,
        msg_kind,
        who,
        csrf,
    })
}

pub async fn password_submit(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    ClientAddr(addr): ClientAddr,
    body: axum::body::Bytes,
) -> Response {
    let f = form(&body);
    match s
        .app
        .change_password(&p, field(&f, "current"), field(&f, "new"), addr.as_deref())
        .await
    {
        Ok(()) => {
            let mut r = back(
                "/staff/login",
                Ok("密码已修改，请用新密码登录".into()),
                english(&headers),
            );
            let (k, v) = session_cookie(&s, "", 0);
            r.headers_mut().append(k, v);
            r
        }
        Err(e) => back("/staff/password", Err(e), english(&headers)),
    }
}

// --- Staff accounts ---------------------------------------------------------------------------

struct StaffRow {
    id: i64,
    username: String,
    display_name: String,
    roles: String,
    disabled: bool,
}

#[derive(Template)]
#[template(path = "staff_list.html")]
struct StaffPage {
    msg: String,
    msg_kind: String,
    who: String,
    csrf: String,
    staff: Vec<StaffRow>,
}

fn roles_text(r: &[RoleGrant]) -> String {
    r.iter()
        .map(|g| match &g.hall {
            Some(h) => format!("{}@{h}", g.role.as_str()),
            None => g.role.as_str().to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse_roles(s: &str) -> AppResult<Vec<RoleGrant>> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|x| {
            let (r, h) = match x.split_once('@') {
                Some((r, h)) => (r.trim(), Some(h.trim().to_string())),
                None => (x, None),
            };
            Role::parse(r)
                .map(|role| RoleGrant { role, hall: h })
                .ok_or_else(|| {
                    AppError::new(
                        Code::RoleInvalid,
                        format!("没有“{r}”这个角色"),
                        format!("there is no role \"{r}\""),
                    )
                })
        })
        .collect()
}

pub async fn staff_page(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let (who, csrf) = staff_of(&p);
    let staff = s
        .app
        .staff_list(&p)
        .await?
        .into_iter()
        .map(|v| StaffRow {
            id: v.id,
            roles: roles_text(&v.roles),
            username: v.username,
            display_name: v.display_name,
            disabled: v.disabled,
        })
        .collect();
    let (msg, msg_kind) = flash(&q);
    Ok(render(&StaffPage {
        msg,
        msg_kind,
        who,
        csrf,
        staff,
    }))
}

pub async fn staff_create(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    ClientAddr(addr): ClientAddr,
    body: axum::body::Bytes,
) -> Response {
    let f = form(&body);
    let r = async {
        s.app.require(&p, Action::ManageStaff, None)?;
        let input = NewStaffInput {
            username: field(&f, "username").into(),
            display_name: field(&f, "display_name").into(),
            password: field(&f, "password").into(),
            roles: parse_roles(field(&f, "roles"))?,
            phone: Some(field(&f, "phone").to_string()).filter(|p| !p.is_empty()),
        };
        let v = s
            .app
            .create_staff(&Actor::new(&p, addr.as_deref()), &input)
            .await?;
        Ok(format!("已创建账号 {}", v.username))
    }
    .await;
    back("/staff/admin/staff", r, english(&headers))
}

pub async fn staff_change(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    body: axum::body::Bytes,
) -> Response {
    let f = form(&body);
    let r = async {
        let mut c = StaffChangeInput::default();
        match field(&f, "op") {
            "roles" => c.roles = Some(parse_roles(field(&f, "roles"))?),
            "disable" => c.disabled = Some(true),
            "enable" => c.disabled = Some(false),
            "password" => c.password = Some(field(&f, "password").into()),
            _ => {
                return Err(AppError::new(
                    Code::OpInvalid,
                    "未知操作",
                    "unknown operation",
                ))
            }
        }
        let v = s.app.change_staff(&p, addr.as_deref(), id, &c).await?;
        Ok(format!("已保存 {}", v.username))
    }
    .await;
    back("/staff/admin/staff", r, english(&headers))
}

// --- Devices ---------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "devices.html")]
struct DevicesPage {
    msg: String,
    msg_kind: String,
    who: String,
    csrf: String,
    devices: Vec<DeviceView>,
    halls: Vec<String>,
    new_token: String,
}

pub async fn devices_page(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let (who, csrf) = staff_of(&p);
    let devices = s.app.devices(&p).await?;
    let halls = s.app.hall_ids().await?;
    let (msg, msg_kind) = flash(&q);
    Ok(render(&DevicesPage {
        msg,
        msg_kind,
        who,
        csrf,
        devices,
        halls,
        new_token: String::new(),
    }))
}

pub async fn device_create(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    ClientAddr(addr): ClientAddr,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let f = form(&body);
    match s
        .app
        .create_device(&p, addr.as_deref(), field(&f, "name"), field(&f, "hall_id"))
        .await
    {
        // The token is shown on this answer only; it is never stored in clear.
        Ok(d) => {
            let (who, csrf) = staff_of(&p);
            let devices = s.app.devices(&p).await?;
            let halls = s.app.hall_ids().await?;
            Ok(render(&DevicesPage {
                msg: format!("已登记终端 {}", d.name),
                msg_kind: "ok".into(),
                who,
                csrf,
                devices,
                halls,
                new_token: d.token.unwrap_or_default(),
            }))
        }
        Err(e) => Ok(back("/staff/admin/devices", Err(e), english(&headers))),
    }
}

pub async fn device_revoke(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
) -> Response {
    let r = s
        .app
        .revoke_device(&p, addr.as_deref(), id)
        .await
        .map(|_| "终端已吊销".to_string());
    back("/staff/admin/devices", r, english(&headers))
}

// --- Halls -----------------------------------------------------------------------------------

struct HallRow {
    id: String,
    name_zh: String,
    address_zh: String,
    window_count: u32,
    capacity: String,
}

#[derive(Template)]
#[template(path = "halls.html")]
struct HallsPage {
    msg: String,
    msg_kind: String,
    who: String,
    csrf: String,
    halls: Vec<HallRow>,
}

pub async fn halls_page(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let (who, csrf) = staff_of(&p);
    let halls = s
        .app
        .manageable_halls(&p)
        .await?
        .into_iter()
        .map(|h| HallRow {
            capacity: h
                .capacity
                .iter()
                .map(|(p, n)| format!("{p} {n}"))
                .collect::<Vec<_>>()
                .join(" / "),
            id: h.id,
            name_zh: h.name_zh,
            address_zh: h.address_zh,
            window_count: h.window_count,
        })
        .collect();
    let (msg, msg_kind) = flash(&q);
    Ok(render(&HallsPage {
        msg,
        msg_kind,
        who,
        csrf,
        halls,
    }))
}

#[derive(Template)]
#[template(path = "hall.html")]
struct HallPage {
    msg: String,
    msg_kind: String,
    who: String,
    csrf: String,
    hall: wujing_app::HallSettings,
    capacity: Vec<(&'static str, u32)>,
    windows: Vec<wujing_app::Window>,
    closures: Vec<chrono::NaiveDate>,
    today: chrono::NaiveDate,
}

pub async fn hall_page(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiPath(id): ApiPath<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let hall = s.app.hall_settings(&p, &id).await?;
    let (who, csrf) = staff_of(&p);
    let windows = s.app.hall_windows(&p, &id).await?;
    let closures = s.app.hall_closures(&p, &id).await?;
    let capacity = wujing_domain::Pool::ALL
        .iter()
        .map(|pool| {
            (
                pool.as_str(),
                hall.capacity
                    .iter()
                    .find(|(x, _)| x == pool.as_str())
                    .map_or(0, |(_, n)| *n),
            )
        })
        .collect();
    let (msg, msg_kind) = flash(&q);
    Ok(render(&HallPage {
        msg,
        msg_kind,
        who,
        csrf,
        hall,
        capacity,
        windows,
        closures,
        today: s.app.clock.today(),
    }))
}

pub async fn hall_submit(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<String>,
    body: axum::body::Bytes,
) -> Response {
    let f = form(&body);
    let a = addr.as_deref();
    let num = |k: &str| -> AppResult<u32> {
        field(&f, k).trim().parse().map_err(|_| {
            AppError::new(
                Code::NumberInvalid,
                format!("{k} 须为数字"),
                format!("{k} must be a number"),
            )
        })
    };
    let date = |k: &str| -> AppResult<chrono::NaiveDate> {
        field(&f, k).parse().map_err(|_| {
            AppError::new(
                Code::DateInvalid,
                format!("{k} 须为日期"),
                format!("{k} must be a date"),
            )
        })
    };
    let r = async {
        match field(&f, "op") {
            "info" => {
                let i = HallInfoInput {
                    name_zh: field(&f, "name_zh").into(),
                    name_en: field(&f, "name_en").into(),
                    address_zh: field(&f, "address_zh").into(),
                    address_en: field(&f, "address_en").into(),
                };
                s.app
                    .update_hall_info(&p, a, &id, &i)
                    .await
                    .map(|_| "已保存".to_string())
            }
            "capacity" => {
                let i = CapacityInput {
                    pool: field(&f, "pool").into(),
                    seats_per_slot: num("seats_per_slot")?,
                    from: Some(date("from")?),
                };
                s.app
                    .set_capacity(&p, a, &id, &i)
                    .await
                    .map(|r| format!("已修改 {} 个时段的容量", r.slots_changed))
            }
            "window_add" => s
                .app
                .add_window(&p, a, &id, num("number")?, field(&f, "kind"))
                .await
                .map(|_| "已新增窗口".to_string()),
            "window_remove" => s
                .app
                .remove_window(&p, a, &id, num("number")?)
                .await
                .map(|_| "已撤销窗口".to_string()),
            "day" => {
                let i = HallDayInput {
                    day: date("day")?,
                    closed: field(&f, "closed") == "true",
                    note: field(&f, "note").into(),
                };
                s.app
                    .set_hall_day(&p, a, &id, &i)
                    .await
                    .map(|r| format!("已保存（{} 个时段）", r.slots_changed))
            }
            _ => Err(AppError::new(
                Code::OpInvalid,
                "未知操作",
                "unknown operation",
            )),
        }
    }
    .await;
    back(
        &format!("/staff/admin/halls/{}", enc(&id)),
        r,
        english(&headers),
    )
}

// --- Audit -----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    msg: String,
    msg_kind: String,
    who: String,
    csrf: String,
    citizen: String,
    staff: String,
    from: String,
    to: String,
    entries: Vec<AuditView>,
}

pub async fn audit_page(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let (who, csrf) = staff_of(&p);
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let day = |k: &str, end: bool| {
        get(k).parse::<chrono::NaiveDate>().ok().map(|d| {
            let d = if end {
                d + chrono::TimeDelta::days(1)
            } else {
                d
            };
            views_local_midnight(d)
        })
    };
    let search = AuditSearch {
        citizen: Some(get("citizen")),
        staff: Some(get("staff")),
        from: day("from", false),
        to: day("to", true),
        limit: Some(200),
    };
    let (entries, (msg, msg_kind)) = match s.app.audit_search(&p, &search).await {
        Ok(e) => (e, flash(&q)),
        Err(e) if e.kind == ErrorKind::Invalid => {
            (vec![], (e.message(false).to_string(), "error".into()))
        }
        Err(e) => return Err(e.into()),
    };
    Ok(render(&AuditPage {
        msg,
        msg_kind,
        who,
        csrf,
        citizen: get("citizen"),
        staff: get("staff"),
        from: get("from"),
        to: get("to"),
        entries,
    }))
}

fn views_local_midnight(d: chrono::NaiveDate) -> chrono::DateTime<chrono::Utc> {
    wujing_app::local_instant(d, chrono::NaiveTime::MIN)
}

// --- Errors on pages -----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub msg: String,
    pub msg_kind: String,
    pub title: String,
    pub message: String,
    pub code: String,
    pub request_id: String,
    pub home: String,
}
