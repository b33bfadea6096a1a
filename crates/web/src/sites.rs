//! Sites (issue 13 §2): the administrators' API (`/api/v1/admin/sites`) and pages
//! (`/staff/sites`: the list and the creation form; `/staff/sites/{id}`: the edit form). A
//! refused form comes back filled in, each error beside its field; the use cases decide and
//! write everything (one transaction with the audit entry).

use crate::extract::Flash;
use crate::extract::{ApiJson, ApiPath, ClientAddr, PageContext, PageForm, PageQuery};
use crate::pages::render;
use crate::{ApiError, ApiResult, AppState};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use std::collections::BTreeMap;
use wujing_app::{
    AppError, DistrictView, NewSiteInput, Principal, SiteCapacityInput, SiteDetailsInput, SiteView,
    SiteWindowInput,
};

// --- API -------------------------------------------------------------------------------------

/// Every site with its kind, hours, businesses, windows and capacity. Administrators.
#[utoipa::path(get, path = "/api/v1/admin/sites", tag = "admin", security(("session" = [])),
    responses((status = 200, body = Vec<SiteView>),
              (status = 403, description = "`forbidden` (not an administrator)")))]
pub async fn list_sites(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
) -> ApiResult<Json<Vec<SiteView>>> {
    Ok(Json(s.app.sites(&p).await?))
}

/// Creates a site (a hall, service point, police station or self-service point) with its
/// windows, capacity and businesses, in one transaction with its audit entry (`site.create`);
/// its seats are generated at once, so it is bookable when this answers. Administrators.
#[utoipa::path(post, path = "/api/v1/admin/sites", tag = "admin", security(("session" = [], "csrf" = [])),
    request_body = NewSiteInput,
    responses((status = 201, body = SiteView),
              (status = 400, description = "`site_invalid`, with `details.field` (the first) and `details.errors` (every field's message in Chinese and English)"),
              (status = 403, description = "`forbidden` (not an administrator)"),
              (status = 409, description = "`site_exists`")))]
pub async fn create_site(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(i): ApiJson<NewSiteInput>,
) -> ApiResult<(StatusCode, Json<SiteView>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_site(&p, addr.as_deref(), &i).await?),
    ))
}

/// One site. Administrators, and the site's hall manager.
#[utoipa::path(get, path = "/api/v1/admin/sites/{id}", tag = "admin", security(("session" = [])),
    params(("id" = String, Path, description = "Site id, e.g. `conghua-jiekou-ps`")),
    responses((status = 200, body = SiteView),
              (status = 404, description = "`hall_not_found`")))]
pub async fn get_site(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<SiteView>> {
    Ok(Json(s.app.site(&p, &id).await?))
}

/// Replaces a site's names, address, hours and businesses (audited `site.change`, before and
/// after). Windows and capacity change through `/api/v1/admin/halls/{id}/…`; the kind stays.
/// New hours shape the seats generated from now on; seats already generated stay.
/// Administrators, and the site's hall manager.
#[utoipa::path(put, path = "/api/v1/admin/sites/{id}", tag = "admin", security(("session" = [], "csrf" = [])),
    params(("id" = String, Path, description = "Site id, e.g. `conghua-jiekou-ps`")),
    request_body = SiteDetailsInput,
    responses((status = 200, body = SiteView),
              (status = 400, description = "`site_invalid`, with `details.field` and `details.errors`"),
              (status = 404, description = "`hall_not_found`")))]
pub async fn update_site(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<String>,
    ApiJson(d): ApiJson<SiteDetailsInput>,
) -> ApiResult<Json<SiteView>> {
    Ok(Json(s.app.update_site(&p, addr.as_deref(), &id, &d).await?))
}

// --- Pages -----------------------------------------------------------------------------------

/// A form's fields as typed, so that a refused form comes back as it was sent. Numbers stay
/// text here: a value that is not a number is passed on as one the use case refuses for that
/// field, so that every error, typed or not, is shown beside its field.
#[derive(Deserialize, Default, Clone)]
pub struct SiteForm {
    #[serde(default)]
    id: String,
    #[serde(default)]
    district: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name_zh: String,
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    address_zh: String,
    #[serde(default)]
    address_en: String,
    #[serde(default)]
    latitude: String,
    #[serde(default)]
    longitude: String,
    #[serde(default)]
    weekdays: Vec<String>,
    #[serde(default)]
    sessions: String,
    #[serde(default)]
    slot_minutes: String,
    #[serde(default)]
    businesses: Vec<String>,
    #[serde(default)]
    general_windows: String,
    #[serde(default)]
    expedite_windows: String,
    #[serde(default)]
    online: String,
    #[serde(default)]
    on_site: String,
    #[serde(default)]
    expedite: String,
}

/// A coordinate typed in a form: blank is none; what is not a number is NaN, which the use
/// case refuses as out of range with the field's message.
fn coordinate(s: &str) -> Option<f64> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.parse().unwrap_or(f64::NAN))
}

/// A number typed in a form; `bad` (a value its rule refuses) when it is not one.
fn num(s: &str, bad: u32) -> u32 {
    s.trim().parse().unwrap_or(bad)
}

impl SiteForm {
    fn details(&self) -> SiteDetailsInput {
        SiteDetailsInput {
            name_zh: self.name_zh.clone(),
            name_en: self.name_en.clone(),
            address_zh: self.address_zh.clone(),
            address_en: self.address_en.clone(),
            // 0 is no weekday: refused as such.
            weekdays: self.weekdays.iter().map(|w| num(w, 0)).collect(),
            sessions: self.sessions.clone(),
            slot_minutes: num(&self.slot_minutes, 0),
            businesses: self.businesses.clone(),
            latitude: coordinate(&self.latitude),
            longitude: coordinate(&self.longitude),
        }
    }

    fn new_site(&self) -> NewSiteInput {
        // Windows are numbered in order: the general ones first, then the expedite ones.
        let general = num(&self.general_windows, 0).min(60);
        let expedite = if self.expedite_windows.trim().is_empty() {
            0
        } else {
            num(&self.expedite_windows, 61).min(61)
        };
        let windows = (1..=general)
            .map(|n| SiteWindowInput {
                number: n,
                kind: "general".into(),
            })
            .chain((1..=expedite).map(|n| SiteWindowInput {
                number: general + n,
                kind: "expedite".into(),
            }))
            .collect();
        let seats = |s: &str| if s.trim().is_empty() { 0 } else { num(s, 501) };
        NewSiteInput {
            id: self.id.clone(),
            district: self.district.clone(),
            kind: self.kind.clone(),
            details: self.details(),
            windows,
            capacity: SiteCapacityInput {
                online: seats(&self.online),
                on_site: seats(&self.on_site),
                expedite: seats(&self.expedite),
            },
        }
    }

    fn from_site(v: &SiteView) -> Self {
        Self {
            id: v.id.clone(),
            district: v.district.id.clone(),
            kind: v.kind.clone(),
            name_zh: v.name_zh.clone(),
            name_en: v.name_en.clone(),
            address_zh: v.address_zh.clone(),
            address_en: v.address_en.clone(),
            latitude: v.latitude.map(|x| x.to_string()).unwrap_or_default(),
            longitude: v.longitude.map(|x| x.to_string()).unwrap_or_default(),
            weekdays: v.weekdays.iter().map(u32::to_string).collect(),
            sessions: v.sessions.clone(),
            slot_minutes: v.slot_minutes.to_string(),
            businesses: v.businesses.clone(),
            ..Default::default()
        }
    }

    fn has_weekday(&self, d: &u32) -> bool {
        self.weekdays.iter().any(|w| w.trim() == d.to_string())
    }

    fn has_business(&self, code: &str) -> bool {
        self.businesses.iter().any(|b| b == code)
    }
}

/// Each field's error in the page's language, from a `site_invalid` answer's details.
#[derive(Default)]
pub struct FieldErrors {
    errors: BTreeMap<String, String>,
}

impl FieldErrors {
    fn of(e: &AppError, english: bool) -> Self {
        let errors = e
            .details
            .as_ref()
            .and_then(|d| serde_json::from_str::<serde_json::Value>(d.get()).ok())
            .and_then(|v| v["errors"].as_object().cloned())
            .map(|m| {
                m.into_iter()
                    .map(|(f, v)| {
                        let text = v[if english { "en" } else { "zh" }]
                            .as_str()
                            .unwrap_or_default()
                            .to_string();
                        (f, text)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self { errors }
    }

    /// The field's error, empty when it has none.
    pub fn get(&self, field: &str) -> &str {
        self.errors.get(field).map_or("", String::as_str)
    }
}

/// Whether a refusal is the form's to show (bad or conflicting input); the rest (not signed
/// in, not allowed, a failure) take the staff pages' usual way.
fn shown_in_form(e: &AppError) -> bool {
    use wujing_app::ErrorKind::*;
    matches!(e.kind, Invalid | Unprocessable | Conflict | PayloadTooLarge)
}

/// A business to tick: its code and names.
struct BusinessBox {
    code: String,
    name_zh: String,
    name_en: String,
    foreigner: bool,
}

const WEEKDAYS: [(u32, &str, &str); 7] = [
    (1, "一", "Mon"),
    (2, "二", "Tue"),
    (3, "三", "Wed"),
    (4, "四", "Thu"),
    (5, "五", "Fri"),
    (6, "六", "Sat"),
    (7, "日", "Sun"),
];

const KINDS: [(&str, &str, &str); 4] = [
    ("hall", "出入境办证大厅", "Exit-entry hall"),
    ("service_point", "服务点", "Service point"),
    ("police_station", "派出所受理点", "Police station"),
    (
        "self_service",
        "24小时自助办证点",
        "24-hour self-service point",
    ),
];

fn business_boxes(s: &AppState) -> Vec<BusinessBox> {
    s.app
        .businesses()
        .into_iter()
        .map(|b| BusinessBox {
            foreigner: b.group == "foreigner",
            code: b.code,
            name_zh: b.name_zh,
            name_en: b.name_en,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "sites.html")]
struct SitesPage {
    page: PageContext,
    msg: String,
    msg_kind: String,
    sites: Vec<SiteView>,
    districts: Vec<DistrictView>,
    businesses: Vec<BusinessBox>,
    form: SiteForm,
    errs: FieldErrors,
    weekdays: &'static [(u32, &'static str, &'static str)],
    kinds: &'static [(&'static str, &'static str, &'static str)],
}

async fn sites_page_with(
    s: &AppState,
    page: PageContext,
    msg: String,
    msg_kind: String,
    form: SiteForm,
    errs: FieldErrors,
) -> ApiResult<Response> {
    let sites = s.app.sites(&page.principal).await?;
    Ok(render(&SitesPage {
        sites,
        districts: s.app.districts().await?,
        businesses: business_boxes(s),
        form,
        errs,
        weekdays: &WEEKDAYS,
        kinds: &KINDS,
        page,
        msg,
        msg_kind,
    }))
}

/// `/staff/sites`: every site, and the form that creates one.
pub async fn sites_page(
    State(s): State<AppState>,
    page: PageContext,
    PageQuery(q): PageQuery<Flash>,
) -> ApiResult<Response> {
    let (msg, msg_kind) = q.shown();
    // A new site's usual start: weekdays, the police stations' shorter hours.
    let form = SiteForm {
        kind: "police_station".into(),
        weekdays: (1..=5).map(|d: u32| d.to_string()).collect(),
        sessions: "09:00-12:00,14:00-17:00".into(),
        slot_minutes: "30".into(),
        general_windows: "2".into(),
        expedite_windows: "0".into(),
        online: "2".into(),
        on_site: "1".into(),
        expedite: "0".into(),
        ..Default::default()
    };
    sites_page_with(&s, page, msg, msg_kind, form, FieldErrors::default()).await
}

/// The creation form posted: to the new site's page, or back with each error by its field.
pub async fn sites_submit(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    form: Result<PageForm<SiteForm>, ApiError>,
) -> ApiResult<Response> {
    let f = match form {
        Ok(PageForm(f)) => f,
        Err(e) => {
            let msg = page.message(&e.0);
            return sites_page_with(
                &s,
                page,
                msg,
                "error".into(),
                SiteForm::default(),
                FieldErrors::default(),
            )
            .await;
        }
    };
    match s
        .app
        .create_site(&page.principal, addr.as_deref(), &f.new_site())
        .await
    {
        Ok(v) => Ok(Redirect::to(&format!(
            "/staff/sites/{}?kind=ok&msg={}",
            v.id,
            crate::extract::percent_encode(page.t(
                "已新建办证点，号源已生成",
                "Site created; its seats are generated"
            ))
        ))
        .into_response()),
        Err(e) if !shown_in_form(&e) => Err(e.into()),
        Err(e) => {
            let errs = FieldErrors::of(&e, page.t("zh", "en") == "en");
            let msg = page.message(&e);
            let status = crate::status_of(e.kind);
            let mut r = sites_page_with(&s, page, msg, "error".into(), f, errs).await?;
            *r.status_mut() = status;
            Ok(r)
        }
    }
}

#[derive(Template)]
#[template(path = "site.html")]
struct SitePage {
    page: PageContext,
    msg: String,
    msg_kind: String,
    site: SiteView,
    businesses: Vec<BusinessBox>,
    form: SiteForm,
    errs: FieldErrors,
    weekdays: &'static [(u32, &'static str, &'static str)],
    /// Whether the list of every site is the reader's (administrators; a hall manager edits
    /// only their own site).
    can_list: bool,
}

fn can_list(page: &PageContext) -> bool {
    wujing_app::authz::permits(&page.principal, wujing_app::Action::ManageSites, None)
}

/// `/staff/sites/{id}`: a site's names, address, hours and businesses.
pub async fn site_page(
    State(s): State<AppState>,
    page: PageContext,
    ApiPath(id): ApiPath<String>,
    PageQuery(q): PageQuery<Flash>,
) -> ApiResult<Response> {
    let site = s.app.site(&page.principal, &id).await?;
    let (msg, msg_kind) = q.shown();
    Ok(render(&SitePage {
        form: SiteForm::from_site(&site),
        site,
        businesses: business_boxes(&s),
        errs: FieldErrors::default(),
        weekdays: &WEEKDAYS,
        can_list: can_list(&page),
        page,
        msg,
        msg_kind,
    }))
}

/// The edit form posted: back to the page with the outcome, or with each error by its field.
pub async fn site_submit(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<String>,
    form: Result<PageForm<SiteForm>, ApiError>,
) -> ApiResult<Response> {
    let site = s.app.site(&page.principal, &id).await?;
    let (f, r) = match form {
        Ok(PageForm(f)) => {
            let r = s
                .app
                .update_site(&page.principal, addr.as_deref(), &id, &f.details())
                .await;
            (f, r)
        }
        Err(e) => (SiteForm::from_site(&site), Err(e.0)),
    };
    match r {
        Ok(v) => Ok(Redirect::to(&format!(
            "/staff/sites/{}?kind=ok&msg={}",
            v.id,
            crate::extract::percent_encode(page.t("已保存", "Saved"))
        ))
        .into_response()),
        Err(e) if !shown_in_form(&e) => Err(e.into()),
        Err(e) => {
            let errs = FieldErrors::of(&e, page.t("zh", "en") == "en");
            let msg = page.message(&e);
            let status = crate::status_of(e.kind);
            let mut r = render(&SitePage {
                form: SiteForm {
                    id: site.id.clone(),
                    ..f
                },
                site,
                businesses: business_boxes(&s),
                errs,
                weekdays: &WEEKDAYS,
                can_list: can_list(&page),
                page,
                msg,
                msg_kind: "error".into(),
            });
            *r.status_mut() = status;
            Ok(r)
        }
    }
}
