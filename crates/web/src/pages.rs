//! Staff pages: sign-in, a home page per role, one's password, and the administration of staff
//! accounts, devices, halls (name, windows, capacity, calendar) and the audit trail.
//!
//! Forms post back and are answered with a redirect (post/redirect/get) carrying a short
//! message; every form carries the session's CSRF token, checked before the handler runs.

use crate::auth::{cookie, set_cookie, LOGIN_CSRF_COOKIE};
use crate::extract::{
    parsed, percent_encode, ApiPath, ClientAddr, Flash, PageContext, PageForm, PageQuery,
};
use crate::staff::session_cookie;
use crate::{ApiError, ApiResult, AppState};
use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use wujing_app::authz::permits;
use wujing_app::{
    Action, Actor, AppError, AppResult, AuditSearch, AuditView, CapacityInput, Code, DeviceView,
    ErrorKind, HallDayInput, HallInfoInput, NewStaffInput, Principal, StaffChangeInput,
};
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

/// Back to `to` (post/redirect/get) with the outcome as the message for the next page: what was
/// done, or the error in the page's language.
pub(crate) fn back(to: &str, r: AppResult<String>, english: bool) -> Response {
    let (kind, msg) = match r {
        Ok(m) => ("ok", m),
        Err(e) => ("error", e.message(english).to_string()),
    };
    let sep = if to.contains('?') { '&' } else { '?' };
    Redirect::to(&format!(
        "{to}{sep}kind={kind}&msg={}",
        percent_encode(&msg)
    ))
    .into_response()
}

// --- Sign-in -------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    page: PageContext,
    msg: String,
    msg_kind: String,
    csrf: String,
    next: String,
}

/// The sign-in page's query: where to go after signing in, and a message.
#[derive(Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    next: String,
    #[serde(flatten)]
    flash: Flash,
}

pub async fn login_page(
    State(s): State<AppState>,
    page: PageContext,
    PageQuery(q): PageQuery<LoginQuery>,
) -> Response {
    // Log-in CSRF: a double-submit token, since there is no session yet.
    let token = wujing_app::auth::random_token();
    let (msg, msg_kind) = q.flash.shown();
    let mut r = render(&LoginPage {
        page,
        msg,
        msg_kind,
        csrf: token.clone(),
        next: q.next,
    });
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(LOGIN_CSRF_COOKIE, &token, 3600, s.options.secure_cookies),
    );
    r
}

/// The sign-in form, with the double-submit token.
#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    username: String,
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn login_submit(
    State(s): State<AppState>,
    page: PageContext,
    headers: HeaderMap,
    ClientAddr(addr): ClientAddr,
    form: Result<PageForm<LoginForm>, ApiError>,
) -> Response {
    let en = page.en;
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    let given = form.as_ref().map_or("", |f| f.0.csrf.as_str());
    if expected.is_empty() || !wujing_app::auth::same_secret(expected, given) {
        return back("/staff/login", Err(csrf_error()), en);
    }
    let f = match form {
        Ok(PageForm(f)) => f,
        Err(e) => return back("/staff/login", Err(e.0), en),
    };
    match s.app.login(&f.username, &f.password, addr.as_deref()).await {
        Ok(signed) => {
            let next = f.next.as_str();
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
    page: PageContext,
    ClientAddr(addr): ClientAddr,
) -> ApiResult<Response> {
    s.app.logout(&page.principal, addr.as_deref()).await?;
    let mut r = Redirect::to("/staff/login").into_response();
    let (k, v) = session_cookie(&s, "", 0);
    r.headers_mut().append(k, v);
    Ok(r)
}

// --- Home and password ----------------------------------------------------------------------

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    page: PageContext,
    msg: String,
    msg_kind: String,
    roles: Vec<String>,
    links: Vec<(String, String)>,
}

pub async fn home(
    State(s): State<AppState>,
    page: PageContext,
    PageQuery(q): PageQuery<Flash>,
) -> Response {
    let p = &page.principal;
    let halls = s.app.halls().await.unwrap_or_default();
    let roles = match p {
        Principal::Staff(st) => st
            .roles
            .iter()
            .map(|g| match &g.hall {
                Some(h) => {
                    let name = halls
                        .iter()
                        .find(|x| &x.id == h)
                        .map_or(h.as_str(), |x| x.name_zh.as_str());
                    format!("{}（{name}）", g.role.name_zh())
                }
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
        (Action::ViewStats, "/staff/stats", "办证统计 Statistics"),
        (
            Action::Appraisal,
            "/staff/appraisal",
            "民警考评 Officer appraisal",
        ),
        (
            Action::Monitor,
            "/staff/monitoring",
            "设备与24小时自助点监控 Device monitoring",
        ),
        (
            Action::Capacity,
            "/staff/capacity",
            "窗口容量建议 Capacity advisor",
        ),
        (
            Action::ManageHalls,
            "/staff/admin/halls",
            "大厅、窗口、日历与号源 Halls",
        ),
        (
            Action::ManageSites,
            "/staff/sites",
            "办证点（大厅、服务点、派出所）Sites",
        ),
        (
            Action::ManageAuthority,
            "/staff/authority",
            "服务机构信息与短信签名 The authority's face",
        ),
        (Action::ViewAudit, "/staff/audit", "审计记录 Audit trail"),
        (
            Action::ViewSignals,
            "/staff/signals",
            "黄牛迹象 Scalping signals",
        ),
        (Action::Alerts, "/staff/alerts", "差评提醒 Alerts"),
        (
            Action::Reconcile,
            "/staff/reconciliation",
            "每日对账 Daily reconciliation",
        ),
        (
            Action::Lodging,
            "/staff/lodging",
            "境外人员住宿登记 Accommodation registrations",
        ),
        (
            Action::ManageHotels,
            "/staff/lodging/hotels",
            "旅馆与接口令牌 Hotels",
        ),
        (
            Action::Urgent,
            "/staff/urgent",
            "领导岗：加急审批 Leader post",
        ),
        (
            Action::Review,
            "/staff/review",
            "审批：待审申请 Review queue",
        ),
        (
            Action::Produce,
            "/staff/production",
            "制证：制证批次 Production",
        ),
        (
            Action::Hotline,
            "/staff/hotline",
            "电话预约：为来电市民预约 Hotline booking",
        ),
        (
            Action::ViewSignals,
            "/staff/overdue",
            "超期未办结 Overdue applications",
        ),
    ] {
        if permits(p, action, None) {
            links.push((href.to_string(), label.to_string()));
        }
    }
    // An officer of a hall: its reception desk and each of its windows' consoles.
    if let Principal::Staff(st) = p {
        for g in &st.roles {
            let (wujing_domain::staff::Role::Officer, Some(hall)) = (g.role, &g.hall) else {
                continue;
            };
            let name = s
                .app
                .hall(hall)
                .await
                .map_or_else(|_| hall.clone(), |h| h.name_zh);
            links.push((
                format!("/staff/reception/{hall}"),
                format!("{name} · 咨询台：签到与现场取号 Reception"),
            ));
            for w in s.app.counter_windows(p, hall).await.unwrap_or_default() {
                links.push((
                    format!("/staff/counter/{hall}/{}", w.number),
                    format!("{name} · {} 号窗口 Window {}", w.number, w.number),
                ));
            }
        }
    }
    let (msg, msg_kind) = q.shown();
    render(&HomePage {
        page,
        msg,
        msg_kind,
        roles,
        links,
    })
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    page: PageContext,
    msg: String,
    msg_kind: String,
}

pub async fn password_page(page: PageContext, PageQuery(q): PageQuery<Flash>) -> Response {
    let (msg, msg_kind) = q.shown();
    render(&PasswordPage {
        page,
        msg,
        msg_kind,
    })
}

/// The password form: the current one, and the new.
#[derive(Deserialize)]
pub struct PasswordForm {
    current: String,
    new: String,
}

pub async fn password_submit(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    form: Result<PageForm<PasswordForm>, ApiError>,
) -> Response {
    let r = async {
        let PageForm(f) = form.map_err(|e| e.0)?;
        s.app
            .change_password(&page.principal, &f.current, &f.new, addr.as_deref())
            .await
    }
    .await;
    match r {
        Ok(()) => {
            let mut r = back(
                "/staff/login",
                Ok("密码已修改，请用新密码登录".into()),
                page.en,
            );
            let (k, v) = session_cookie(&s, "", 0);
            r.headers_mut().append(k, v);
            r
        }
        Err(e) => back("/staff/password", Err(e), page.en),
    }
}

// --- Staff accounts ---------------------------------------------------------------------------

struct StaffRow {
    id: i64,
    username: String,
    display_name: String,
    roles: String,
    /// The roles in words, with their halls' names.
    roles_words: String,
    disabled: bool,
}

#[derive(Template)]
#[template(path = "staff_list.html")]
struct StaffPage {
    page: PageContext,
    msg: String,
    msg_kind: String,
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
    page: PageContext,
    PageQuery(q): PageQuery<Flash>,
) -> ApiResult<Response> {
    let halls = s.app.halls().await?;
    let hall_name = |id: &str| {
        halls
            .iter()
            .find(|h| h.id == id)
            .map_or_else(|| id.to_string(), |h| h.name_zh.clone())
    };
    let staff = s
        .app
        .staff_list(&page.principal)
        .await?
        .into_iter()
        .map(|v| StaffRow {
            id: v.id,
            roles_words: v
                .roles
                .iter()
                .map(|g| match &g.hall {
                    Some(h) => format!("{}（{}）", g.role.name_zh(), hall_name(h)),
                    None => g.role.name_zh().to_string(),
                })
                .collect::<Vec<_>>()
                .join("、"),
            roles: roles_text(&v.roles),
            username: v.username,
            display_name: v.display_name,
            disabled: v.disabled,
        })
        .collect();
    let (msg, msg_kind) = q.shown();
    Ok(render(&StaffPage {
        page,
        msg,
        msg_kind,
        staff,
    }))
}

/// A new account: the roles as text (`officer@tianhe, leader`), the phone optional.
#[derive(Deserialize)]
pub struct NewStaffForm {
    username: String,
    display_name: String,
    password: String,
    roles: String,
    #[serde(default)]
    phone: String,
}

pub async fn staff_create(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    form: Result<PageForm<NewStaffForm>, ApiError>,
) -> Response {
    let p = &page.principal;
    let r = async {
        s.app.require(p, Action::ManageStaff, None)?;
        let PageForm(f) = form.map_err(|e| e.0)?;
        let input = NewStaffInput {
            username: f.username,
            display_name: f.display_name,
            password: f.password,
            roles: parse_roles(&f.roles)?,
            phone: Some(f.phone).filter(|p| !p.is_empty()),
        };
        let v = s
            .app
            .create_staff(&Actor::new(p, addr.as_deref()), &input)
            .await?;
        Ok(format!("已创建账号 {}", v.username))
    }
    .await;
    back("/staff/admin/staff", r, page.en)
}

/// A change to an account, one `op` a form.
#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum StaffChangeForm {
    Roles {
        roles: String,
    },
    Disable,
    Enable,
    Password {
        password: String,
    },
    /// Lifts the sign-in delay on the account's user name.
    Unlock,
}

pub async fn staff_change(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    form: Result<PageForm<StaffChangeForm>, ApiError>,
) -> Response {
    let r = async {
        let PageForm(f) = form.map_err(|e| e.0)?;
        let mut c = StaffChangeInput::default();
        if let StaffChangeForm::Unlock = f {
            s.app
                .unlock_sign_in(&page.principal, addr.as_deref(), id)
                .await?;
            return Ok("已解除登录限制".to_string());
        }
        match f {
            StaffChangeForm::Unlock => {}
            StaffChangeForm::Roles { roles } => c.roles = Some(parse_roles(&roles)?),
            StaffChangeForm::Disable => c.disabled = Some(true),
            StaffChangeForm::Enable => c.disabled = Some(false),
            StaffChangeForm::Password { password } => c.password = Some(password),
        }
        let v = s
            .app
            .change_staff(&page.principal, addr.as_deref(), id, &c)
            .await?;
        Ok(format!("已保存 {}", v.username))
    }
    .await;
    back("/staff/admin/staff", r, page.en)
}

// --- Devices ---------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "devices.html")]
struct DevicesPage {
    page: PageContext,
    msg: String,
    msg_kind: String,
    /// Each device with its kind, its site's name and when it was paired, in words.
    devices: Vec<(DeviceView, String, String, String)>,
    /// Each site's id and name, for the register form.
    halls: Vec<(String, String)>,
    /// Each kind's stored name and its names in words.
    kinds: Vec<(&'static str, &'static str, &'static str)>,
}

fn device_kinds() -> Vec<(&'static str, &'static str, &'static str)> {
    wujing_domain::DeviceKind::ALL
        .into_iter()
        .map(|k| (k.as_str(), k.name_zh(), k.name_en()))
        .collect()
}

pub async fn devices_page(
    State(s): State<AppState>,
    page: PageContext,
    PageQuery(q): PageQuery<Flash>,
) -> ApiResult<Response> {
    let halls: Vec<(String, String)> = s
        .app
        .halls()
        .await?
        .into_iter()
        .map(|h| (h.id, h.name_zh))
        .collect();
    let devices = s
        .app
        .devices(&page.principal)
        .await?
        .into_iter()
        .map(|d| {
            let kind = wujing_domain::DeviceKind::parse(&d.kind)
                .map_or_else(|| d.kind.clone(), |k| k.name_zh().to_string());
            let site = halls
                .iter()
                .find(|(id, _)| *id == d.hall_id)
                .map_or_else(|| d.hall_id.clone(), |(_, n)| n.clone());
            let paired = d.paired_at.map_or_else(String::new, |t| {
                t.with_timezone(&wujing_domain::calendar::china_offset())
                    .format("%Y-%m-%d %H:%M")
                    .to_string()
            });
            (d, kind, site, paired)
        })
        .collect();
    let (msg, msg_kind) = q.shown();
    Ok(render(&DevicesPage {
        page,
        msg,
        msg_kind,
        devices,
        halls,
        kinds: device_kinds(),
    }))
}

/// A new device: its name, site, kind and (for window machines) window; an empty window field
/// is none.
#[derive(Deserialize)]
pub struct DeviceForm {
    name: String,
    hall_id: String,
    kind: String,
    #[serde(default)]
    window_number: String,
}

pub async fn device_create(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    form: Result<PageForm<DeviceForm>, ApiError>,
) -> ApiResult<Response> {
    let p = &page.principal;
    let created = match form {
        Ok(PageForm(f)) => match f.window_number.trim() {
            "" => Ok(None),
            w => w
                .parse::<u32>()
                .map(Some)
                .map_err(|_| AppError::from(Code::DeviceWindowInvalid)),
        }
        .map(|window_number| wujing_app::DeviceInput {
            name: f.name,
            hall_id: f.hall_id,
            kind: f.kind,
            window_number,
        }),
        Err(e) => Err(e.0),
    };
    let created = match created {
        Ok(input) => s.app.create_device(p, addr.as_deref(), &input).await,
        Err(e) => Err(e),
    };
    // The page never shows the token: the kiosk is paired with the code it shows instead, so a
    // token is never typed, copied or left on a screen.
    let r = created.map(|d| {
        format!(
            "已登记终端 #{} {}：请在终端上打开 /device，并在下方输入终端显示的配对码 · Registered; open /device on the kiosk and enter the code it shows below",
            d.id, d.name
        )
    });
    Ok(back("/staff/admin/devices", r, page.en))
}

pub async fn device_revoke(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
) -> Response {
    let r = s
        .app
        .revoke_device(&page.principal, addr.as_deref(), id)
        .await
        .map(|_| "终端已吊销".to_string());
    back("/staff/admin/devices", r, page.en)
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
    page: PageContext,
    msg: String,
    msg_kind: String,
    halls: Vec<HallRow>,
}

pub async fn halls_page(
    State(s): State<AppState>,
    page: PageContext,
    PageQuery(q): PageQuery<Flash>,
) -> ApiResult<Response> {
    let halls = s
        .app
        .manageable_halls(&page.principal)
        .await?
        .into_iter()
        .map(|h| HallRow {
            capacity: h
                .capacity
                .iter()
                .map(|(p, n)| format!("{} {n}", crate::labels::staff_words(p, page.en)))
                .collect::<Vec<_>>()
                .join(" / "),
            id: h.id,
            name_zh: h.name_zh,
            address_zh: h.address_zh,
            window_count: h.window_count,
        })
        .collect();
    let (msg, msg_kind) = q.shown();
    Ok(render(&HallsPage {
        page,
        msg,
        msg_kind,
        halls,
    }))
}

#[derive(Template)]
#[template(path = "hall.html")]
struct HallPage {
    page: PageContext,
    msg: String,
    msg_kind: String,
    hall: wujing_app::HallSettings,
    capacity: Vec<(&'static str, u32)>,
    windows: Vec<wujing_app::Window>,
    closures: Vec<chrono::NaiveDate>,
    today: chrono::NaiveDate,
}

impl HallPage {
    /// A pool's code in words.
    fn words(&self, code: &str) -> String {
        crate::labels::staff_words(code, self.page.en)
    }

    /// A window's kind in words.
    fn window_kind(&self, kind: &str) -> String {
        crate::labels::window_kind_words(kind, self.page.en)
    }
}

pub async fn hall_page(
    State(s): State<AppState>,
    page: PageContext,
    ApiPath(id): ApiPath<String>,
    PageQuery(q): PageQuery<Flash>,
) -> ApiResult<Response> {
    let p = &page.principal;
    let hall = s.app.hall_settings(p, &id).await?;
    let windows = s.app.hall_windows(p, &id).await?;
    let closures = s.app.hall_closures(p, &id).await?;
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
    let (msg, msg_kind) = q.shown();
    Ok(render(&HallPage {
        page,
        msg,
        msg_kind,
        hall,
        capacity,
        windows,
        closures,
        today: s.app.clock.today(),
    }))
}

/// A change to a hall, one `op` a form.
#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum HallForm {
    Info {
        name_zh: String,
        name_en: String,
        address_zh: String,
        address_en: String,
    },
    Capacity {
        pool: String,
        #[serde(deserialize_with = "parsed")]
        seats_per_slot: u32,
        from: chrono::NaiveDate,
    },
    WindowAdd {
        #[serde(deserialize_with = "parsed")]
        number: u32,
        kind: String,
    },
    WindowRemove {
        #[serde(deserialize_with = "parsed")]
        number: u32,
    },
    Day {
        day: chrono::NaiveDate,
        #[serde(default, deserialize_with = "parsed")]
        closed: bool,
        #[serde(default)]
        note: String,
    },
}

pub async fn hall_submit(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<String>,
    form: Result<PageForm<HallForm>, ApiError>,
) -> Response {
    let (p, a) = (&page.principal, addr.as_deref());
    let r = async {
        let PageForm(f) = form.map_err(|e| e.0)?;
        match f {
            HallForm::Info {
                name_zh,
                name_en,
                address_zh,
                address_en,
            } => {
                let i = HallInfoInput {
                    name_zh,
                    name_en,
                    address_zh,
                    address_en,
                };
                s.app
                    .update_hall_info(p, a, &id, &i)
                    .await
                    .map(|_| "已保存".to_string())
            }
            HallForm::Capacity {
                pool,
                seats_per_slot,
                from,
            } => {
                let i = CapacityInput {
                    pool,
                    seats_per_slot,
                    from: Some(from),
                };
                s.app
                    .set_capacity(p, a, &id, &i)
                    .await
                    .map(|r| format!("已修改 {} 个时段的容量", r.slots_changed))
            }
            HallForm::WindowAdd { number, kind } => s
                .app
                .add_window(p, a, &id, number, &kind)
                .await
                .map(|_| "已新增窗口".to_string()),
            HallForm::WindowRemove { number } => s
                .app
                .remove_window(p, a, &id, number)
                .await
                .map(|_| "已撤销窗口".to_string()),
            HallForm::Day { day, closed, note } => {
                let i = HallDayInput { day, closed, note };
                s.app
                    .set_hall_day(p, a, &id, &i)
                    .await
                    .map(|r| format!("已保存（{} 个时段）", r.slots_changed))
            }
        }
    }
    .await;
    back(
        &format!("/staff/admin/halls/{}", percent_encode(&id)),
        r,
        page.en,
    )
}

// --- Audit -----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    page: PageContext,
    msg: String,
    msg_kind: String,
    citizen: String,
    staff: String,
    from: String,
    to: String,
    entries: Vec<AuditRow>,
    /// Links to the page of older and of newer entries, with the same search.
    older: Option<String>,
    newer: Option<String>,
}

/// Entries on one page of the audit trail.
const AUDIT_PAGE: usize = 50;

/// An entry as the audit page lists it: its time in the halls' local time (China Standard
/// Time, as staff read the halls' days and slots; the `<time>` element carries the instant),
/// its action and detail in words in the page's language.
struct AuditRow {
    e: AuditView,
    /// Who, and what it was done to, in words.
    actor: String,
    target: String,
    /// Where from: a window by its number, a device or hotel by its name.
    station: String,
    at_local: String,
    at_utc: String,
    action: String,
    /// The detail as labelled fields in words.
    detail: Vec<(String, String)>,
}

impl AuditRow {
    fn new(e: AuditView, en: bool, names: crate::labels::Names) -> Self {
        let local = e.at.with_timezone(&wujing_domain::calendar::china_offset());
        // The action's Chinese name (staff pages are Chinese first); an action a newer build
        // wrote, which has none yet, reads as its code in words.
        let action = wujing_domain::audit::action_zh(&e.action).map_or_else(
            || e.action.replace('.', " · ").replace('_', " "),
            str::to_string,
        );
        Self {
            at_local: local.format("%Y-%m-%d %H:%M:%S").to_string(),
            at_utc: e.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            detail: crate::labels::detail_fields(&e.detail, en, names),
            actor: crate::labels::actor_words(&e.actor_name, en),
            target: crate::labels::subject_words(&e.subject, en, names),
            station: e
                .station
                .as_deref()
                .map(|st| crate::labels::station_words(st, en, names))
                .unwrap_or_default(),
            action,
            e,
        }
    }
}

/// The audit search: a citizen's identity number, a staff user name, days (inclusive), and
/// the page (`before` or `after` an entry's number).
#[derive(Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    citizen: String,
    #[serde(default)]
    staff: String,
    #[serde(default, deserialize_with = "serde_html_form::de::empty_as_none")]
    from: Option<chrono::NaiveDate>,
    #[serde(default, deserialize_with = "serde_html_form::de::empty_as_none")]
    to: Option<chrono::NaiveDate>,
    #[serde(default, deserialize_with = "serde_html_form::de::empty_as_none")]
    before: Option<i64>,
    #[serde(default, deserialize_with = "serde_html_form::de::empty_as_none")]
    after: Option<i64>,
    #[serde(flatten)]
    flash: Flash,
}

pub async fn audit_page(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    PageQuery(q): PageQuery<AuditQuery>,
) -> ApiResult<Response> {
    // One more than a page: whether there is a page beyond this one, without counting.
    let search = AuditSearch {
        citizen: Some(q.citizen.clone()),
        staff: Some(q.staff.clone()),
        from: q.from.map(views_local_midnight),
        to: q
            .to
            .map(|d| views_local_midnight(d + chrono::TimeDelta::days(1))),
        limit: Some(AUDIT_PAGE as u32 + 1),
        before: q.before.filter(|_| q.after.is_none()),
        after: q.after,
    };
    let (mut entries, (msg, msg_kind)) = match s
        .app
        .audit_search(&page.principal, addr.as_deref(), &search)
        .await
    {
        Ok(e) => (e, q.flash.shown()),
        // A search the reader may not make (by identity number, for staff of some halls) is
        // answered on the page with its form, like a malformed one.
        Err(e)
            if e.kind == ErrorKind::Invalid
                || e.code == wujing_app::Code::AuditSearchByIdentityForbidden =>
        {
            (vec![], (e.message(page.en).to_string(), "error".into()))
        }
        Err(e) => return Err(e.into()),
    };
    // The entry beyond the page is the newest one when reading upwards, else the oldest.
    let beyond = entries.len() > AUDIT_PAGE;
    if beyond {
        if search.after.is_some() {
            entries.remove(0);
        } else {
            entries.truncate(AUDIT_PAGE);
        }
    }
    let day = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let (from, to) = (day(q.from), day(q.to));
    let link = |key: &str, seq: i64| {
        let mut l = format!("/staff/audit?{key}={seq}");
        for (k, v) in [
            ("citizen", q.citizen.as_str()),
            ("staff", q.staff.as_str()),
            ("from", from.as_str()),
            ("to", to.as_str()),
        ] {
            if !v.is_empty() {
                l.push_str(&format!("&{k}={}", percent_encode(v)));
            }
        }
        l
    };
    let paging_up = search.after.is_some();
    let older = match entries.last() {
        Some(e) if beyond || paging_up => Some(link("before", e.seq)),
        _ => None,
    };
    let newer = match entries.first() {
        Some(e) if (beyond && paging_up) || (search.before.is_some() && !paging_up) => {
            Some(link("after", e.seq))
        }
        _ => None,
    };
    let en = page.en;
    let halls = s.app.halls().await?;
    let named = s.app.audit_names(&page.principal, &entries).await?;
    let names = |kind: &str, id: &str| {
        if kind == "site" {
            return halls.iter().find(|h| h.id == id).map(|h| {
                if en {
                    h.name_en.clone()
                } else {
                    h.name_zh.clone()
                }
            });
        }
        named.get(&format!("{kind}:{id}")).cloned()
    };
    Ok(render(&AuditPage {
        msg,
        msg_kind,
        citizen: q.citizen,
        staff: q.staff,
        from,
        to,
        entries: entries
            .into_iter()
            .map(|e| AuditRow::new(e, en, &names))
            .collect(),
        older,
        newer,
        page,
    }))
}

fn views_local_midnight(d: chrono::NaiveDate) -> chrono::DateTime<chrono::Utc> {
    wujing_app::local_instant(d, chrono::NaiveTime::MIN)
}

// --- Errors on pages -----------------------------------------------------------------------------

/// A citizen's error page, in the portal's layout and the page's language: what went wrong and
/// where to go, with the request id for the hotline.
#[derive(Template)]
#[template(path = "portal_error.html")]
pub struct PortalErrorPage {
    pub page: crate::extract::PageContext,
    pub msg: String,
    pub msg_kind: String,
    pub title: String,
    pub message: String,
    /// The registered code, for machines (an attribute, not shown).
    pub code: String,
    pub not_found: bool,
    pub request_id: String,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub page: crate::extract::PageContext,
    pub msg: String,
    pub msg_kind: String,
    pub title: String,
    pub message: String,
    pub code: String,
    pub request_id: String,
    pub home: String,
}
