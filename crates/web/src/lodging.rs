//! Temporary accommodation registration over HTTP (issue 14 §3): the hotels' API
//! (`/api/v1/lodging/registrations…`, a hotel's bearer token), the small-hotel page (`/hotel`,
//! signed in with the hotel's code and password: cookie `wujing_hotel`, its forms echo the
//! session's CSRF token), the private host's page and API (`/lodging`, anonymous; the status by
//! reference and code, throttled), the police station's worklist (`/staff/lodging`, its CSV
//! export and `/api/v1/lodging/worklist…`), and the station's hotels (`/api/v1/lodging/hotels`).
//! Handlers are thin: everything is decided in `wujing_app::lodging`.

use crate::auth::{cookie, set_cookie};
use crate::extract::{
    ApiJson, ApiPath, ApiQuery, ClientAddr, Flash, PageContext, PageForm, PageQuery,
};
use crate::pages::{back, render};
use crate::{ApiError, ApiResult, AppState};
use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use serde::{Deserialize, Serialize};
use wujing_app::lodging::{
    BatchItem, HostInput, HostReceipt, HotelInput, HotelView, RegistrationDetail, RegistrationView,
    StayInput, Worklist,
};
use wujing_app::{Action, AppError, Code, Principal};
use wujing_domain::lodging::{Guest, Host, Stay};

/// The small-hotel page's session cookie.
pub const HOTEL_COOKIE: &str = "wujing_hotel";

// --- The hotels' API ---------------------------------------------------------------------

/// Registers one guest stay. Idempotent per `stay_id`: the same stay again answers the same
/// registration; the same id with other content is `409 lodging_stay_conflict`.
#[utoipa::path(post, path = "/api/v1/lodging/registrations", tag = "lodging",
    security(("hotel" = [])),
    request_body = StayInput,
    responses((status = 200, body = RegistrationView),
              (status = 401, description = "`hotel_token_invalid`"),
              (status = 409, description = "`lodging_stay_conflict`"),
              (status = 422, description = "`lodging_invalid` with `details.problems`")))]
pub async fn register(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(input): ApiJson<StayInput>,
) -> ApiResult<Json<RegistrationView>> {
    Ok(Json(
        s.app.register_stay(&p, addr.as_deref(), &input).await?,
    ))
}

/// A batch upload.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct BatchBody {
    /// 1–100 stays, each as for a single registration.
    #[schema(value_type = Vec<StayInput>)]
    pub stays: Vec<serde_json::Value>,
}

/// The batch's answer: one item per stay, in order.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BatchAnswer {
    pub items: Vec<BatchItem>,
}

/// Registers up to 100 stays; each item answers its registration or its error, and a bad item
/// does not keep the others from being registered.
#[utoipa::path(post, path = "/api/v1/lodging/registrations/batch", tag = "lodging",
    security(("hotel" = [])),
    request_body = BatchBody,
    responses((status = 200, body = BatchAnswer),
              (status = 400, description = "`lodging_batch_invalid`")))]
pub async fn batch(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(body): ApiJson<BatchBody>,
) -> ApiResult<Json<BatchAnswer>> {
    let items = s
        .app
        .register_batch_values(&p, addr.as_deref(), &body.stays)
        .await?;
    Ok(Json(BatchAnswer { items }))
}

/// One of the hotel's own stays.
#[utoipa::path(get, path = "/api/v1/lodging/registrations/{stay}", tag = "lodging",
    security(("hotel" = [])),
    params(("stay" = String, Path, description = "The hotel's stay id")),
    responses((status = 200, body = RegistrationView),
              (status = 404, description = "`lodging_not_found`")))]
pub async fn stay(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiPath(stay): ApiPath<String>,
) -> ApiResult<Json<RegistrationView>> {
    Ok(Json(s.app.hotel_stay(&p, &stay).await?))
}

/// A check-out; the body is optional.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct CheckOutBody {
    /// The day the guest left (China date); today when absent.
    #[serde(default)]
    pub day: Option<NaiveDate>,
}

/// Records the guest's check-out.
#[utoipa::path(post, path = "/api/v1/lodging/registrations/{stay}/check-out", tag = "lodging",
    security(("hotel" = [])),
    params(("stay" = String, Path, description = "The hotel's stay id")),
    request_body(content = CheckOutBody, description = "Optional"),
    responses((status = 200, body = RegistrationView),
              (status = 404, description = "`lodging_not_found`"),
              (status = 409, description = "`lodging_checked_out`"),
              (status = 422, description = "`check_out_invalid`")))]
pub async fn check_out(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(stay): ApiPath<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<RegistrationView>> {
    let b: CheckOutBody = if body.iter().all(u8::is_ascii_whitespace) {
        CheckOutBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|_| ApiError(Code::BodyInvalid.into()))?
    };
    Ok(Json(
        s.app.check_out(&p, addr.as_deref(), &stay, b.day).await?,
    ))
}

// --- Private hosts -----------------------------------------------------------------------

/// A private host's (or the foreigner's) registration: answers the reference and the code that
/// shows its status later (shown once).
#[utoipa::path(post, path = "/api/v1/lodging/host", tag = "lodging",
    request_body = HostInput,
    responses((status = 201, body = HostReceipt),
              (status = 422, description = "`lodging_invalid`, `lodging_site_invalid`"),
              (status = 429, description = "`rate_limited` (per client address)")))]
pub async fn host_register(
    State(s): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(input): ApiJson<HostInput>,
) -> ApiResult<(StatusCode, Json<HostReceipt>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.register_host(&input, addr.as_deref()).await?),
    ))
}

/// The owner's proof of a host registration.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct HostProof {
    pub reference: String,
    pub code: String,
}

/// A host registration's status by its reference and code (an owner proof: `429
/// proof_throttled` past the limits; a wrong code and an unknown reference answer alike).
#[utoipa::path(post, path = "/api/v1/lodging/host/status", tag = "lodging",
    request_body = HostProof,
    responses((status = 200, body = RegistrationView),
              (status = 404, description = "`lodging_not_found`"),
              (status = 429, description = "`proof_throttled`")))]
pub async fn host_status(
    State(s): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(b): ApiJson<HostProof>,
) -> ApiResult<Json<RegistrationView>> {
    Ok(Json(
        s.app
            .host_registration_status(&b.reference, &b.code, addr.as_deref())
            .await?,
    ))
}

// --- The station ---------------------------------------------------------------------------

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct WorklistQuery {
    /// The police station (site id).
    #[serde(default)]
    pub station: String,
    /// `all` (default), `late`, `overstay`, `duplicates`, `departed`, `pending`.
    #[serde(default)]
    pub view: String,
}

/// The station's worklist, masked (audited `lodging.worklist_view`).
#[utoipa::path(get, path = "/api/v1/lodging/worklist", tag = "lodging",
    security(("session" = [])), params(WorklistQuery),
    responses((status = 200, body = Worklist),
              (status = 422, description = "`lodging_site_invalid`")))]
pub async fn worklist(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiQuery(q): ApiQuery<WorklistQuery>,
) -> ApiResult<Json<Worklist>> {
    Ok(Json(
        s.app
            .lodging_worklist(&p, addr.as_deref(), &q.station, &q.view)
            .await?,
    ))
}

fn csv(body: String, station: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"lodging-{station}.csv\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// The worklist as CSV (masked; audited `lodging.worklist_export`).
#[utoipa::path(get, path = "/api/v1/lodging/worklist.csv", tag = "lodging",
    security(("session" = [])), params(WorklistQuery),
    responses((status = 200, content_type = "text/csv", body = String)))]
pub async fn worklist_csv(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiQuery(q): ApiQuery<WorklistQuery>,
) -> ApiResult<Response> {
    let body = s
        .app
        .lodging_export(&p, addr.as_deref(), &q.station, &q.view)
        .await?;
    Ok(csv(body, &q.station))
}

/// One registration in full, for its station (audited `lodging.read`).
#[utoipa::path(get, path = "/api/v1/lodging/worklist/{id}", tag = "lodging",
    security(("session" = [])),
    params(("id" = i64, Path, description = "Registration id")),
    responses((status = 200, body = RegistrationDetail),
              (status = 404, description = "`lodging_not_found`")))]
pub async fn registration(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<RegistrationDetail>> {
    Ok(Json(
        s.app.lodging_registration(&p, addr.as_deref(), id).await?,
    ))
}

/// The station's decision on a host's registration.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Decision {
    /// `accepted` or `queried`.
    pub decision: String,
    /// Required for `queried`: what the registrant must correct or bring.
    #[serde(default)]
    pub note: String,
}

/// Accepts a host's registration, or queries it with a note.
#[utoipa::path(post, path = "/api/v1/lodging/worklist/{id}/verify", tag = "lodging",
    security(("session" = [], "csrf" = [])),
    params(("id" = i64, Path, description = "Registration id")),
    request_body = Decision,
    responses((status = 200, body = RegistrationView),
              (status = 409, description = "`lodging_not_pending`")))]
pub async fn verify(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(d): ApiJson<Decision>,
) -> ApiResult<Json<RegistrationView>> {
    Ok(Json(
        s.app
            .verify_lodging(&p, addr.as_deref(), id, &d.decision, &d.note)
            .await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct StationQuery {
    pub station: String,
}

/// The hotels of a station's area.
#[utoipa::path(get, path = "/api/v1/lodging/hotels", tag = "lodging",
    security(("session" = [])), params(StationQuery),
    responses((status = 200, body = Vec<HotelView>)))]
pub async fn hotels(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiQuery(q): ApiQuery<StationQuery>,
) -> ApiResult<Json<Vec<HotelView>>> {
    Ok(Json(s.app.hotels(&p, &q.station).await?))
}

/// Registers a hotel for the station: answers its API token and page password, once.
#[utoipa::path(post, path = "/api/v1/lodging/hotels", tag = "lodging",
    security(("session" = [], "csrf" = [])),
    request_body = HotelInput,
    responses((status = 201, body = HotelView),
              (status = 400, description = "`hotel_invalid`"),
              (status = 409, description = "`hotel_code_taken`")))]
pub async fn create_hotel(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(input): ApiJson<HotelInput>,
) -> ApiResult<(StatusCode, Json<HotelView>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_hotel(&p, addr.as_deref(), &input).await?),
    ))
}

// --- The station's page --------------------------------------------------------------------

#[derive(Template)]
#[template(path = "lodging_worklist.html")]
struct WorklistPage {
    page: PageContext,
    msg: String,
    msg_kind: String,
    stations: Vec<(String, String, String)>,
    w: Option<Worklist>,
    tabs: Vec<(&'static str, &'static str, usize)>,
}

/// The worklist page: a tab per view, masked rows, the host registrations' decisions.
pub async fn page(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    PageQuery(q): PageQuery<PageQ>,
) -> ApiResult<Response> {
    let p = &page.principal;
    let stations = s.app.lodging_stations(p, Action::Lodging).await?;
    let station = if q.station.is_empty() {
        stations.first().map(|s| s.0.clone()).unwrap_or_default()
    } else {
        q.station.clone()
    };
    let w = if station.is_empty() {
        None
    } else {
        Some(
            s.app
                .lodging_worklist(p, addr.as_deref(), &station, &q.view)
                .await?,
        )
    };
    let tabs = w.as_ref().map_or_else(Vec::new, |w| {
        let c = &w.counts;
        [
            ("all", c.all),
            ("late", c.late),
            ("overstay", c.overstay),
            ("duplicates", c.duplicates),
            ("departed", c.departed),
            ("pending", c.pending),
        ]
        .into_iter()
        .map(|(v, n)| {
            let (zh, _) = crate::labels::worklist_view_words(v).unwrap_or((v, v));
            (v, zh, n)
        })
        .collect()
    });
    let (msg, msg_kind) = Flash {
        msg: q.msg.clone(),
        kind: q.kind.clone(),
    }
    .shown();
    Ok(render(&WorklistPage {
        page,
        msg,
        msg_kind,
        stations,
        w,
        tabs,
    }))
}

#[derive(Debug, Default, Deserialize)]
pub struct PageQ {
    #[serde(default)]
    station: String,
    #[serde(default)]
    view: String,
    #[serde(default)]
    msg: String,
    #[serde(default)]
    kind: String,
}

/// The page's CSV link.
pub async fn page_csv(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    PageQuery(q): PageQuery<PageQ>,
) -> ApiResult<Response> {
    let body = s
        .app
        .lodging_export(&page.principal, addr.as_deref(), &q.station, &q.view)
        .await?;
    Ok(csv(body, &q.station))
}

#[derive(Template)]
#[template(path = "lodging_record.html")]
struct RecordPage {
    page: PageContext,
    msg: String,
    msg_kind: String,
    d: RegistrationDetail,
    g: Guest,
    st: Stay,
}

/// One registration in full (audited), with the decision form for a host's.
pub async fn record_page(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    PageQuery(q): PageQuery<Flash>,
) -> ApiResult<Response> {
    let d = s
        .app
        .lodging_registration(&page.principal, addr.as_deref(), id)
        .await?;
    let (msg, msg_kind) = q.shown();
    Ok(render(&RecordPage {
        page,
        msg,
        msg_kind,
        g: d.guest.clone().unwrap_or_default(),
        st: d.stay.clone().unwrap_or_default(),
        d,
    }))
}

#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    decision: String,
    #[serde(default)]
    note: String,
}

/// The station's decision from the page.
pub async fn page_verify(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    form: Result<PageForm<DecisionForm>, ApiError>,
) -> Response {
    let r = async {
        let PageForm(f) = form.map_err(|e| e.0)?;
        let v = s
            .app
            .verify_lodging(&page.principal, addr.as_deref(), id, &f.decision, &f.note)
            .await?;
        Ok(if v.status == "accepted" {
            format!("登记 {} 已核查通过", v.reference)
        } else {
            format!("登记 {} 已退回补正", v.reference)
        })
    }
    .await;
    back(&format!("/staff/lodging/{id}"), r, false)
}

// --- Guest fields shared by the hotel's and the host's forms -------------------------------

/// The guest and stay as a form sends them (every field text; the use case validates). No
/// `Debug`: it holds personal data.
#[derive(Default, Clone, Deserialize)]
pub struct GuestForm {
    #[serde(default)]
    pub mrz: String,
    #[serde(default)]
    pub surname: String,
    #[serde(default)]
    pub given_names: String,
    #[serde(default)]
    pub chinese_name: String,
    #[serde(default)]
    pub sex: String,
    #[serde(default)]
    pub birth_date: String,
    #[serde(default)]
    pub nationality: String,
    #[serde(default)]
    pub document_kind: String,
    #[serde(default)]
    pub document_number: String,
    #[serde(default)]
    pub document_expiry: String,
    #[serde(default)]
    pub visa_kind: String,
    #[serde(default)]
    pub stay_until: String,
    #[serde(default)]
    pub entry_date: String,
    #[serde(default)]
    pub purpose: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub check_in: String,
    #[serde(default)]
    pub departure: String,
    #[serde(default)]
    pub room: String,
    #[serde(default)]
    pub stay_id: String,
}

fn day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

impl GuestForm {
    fn guest(&self) -> Guest {
        Guest {
            surname: self.surname.clone(),
            given_names: self.given_names.clone(),
            chinese_name: self.chinese_name.clone(),
            sex: self.sex.clone(),
            birth_date: day(&self.birth_date),
            nationality: self.nationality.clone(),
            document_kind: self.document_kind.clone(),
            document_number: self.document_number.clone(),
            document_expiry: day(&self.document_expiry),
            visa_kind: self.visa_kind.clone(),
            stay_until: day(&self.stay_until),
            entry_date: day(&self.entry_date),
            purpose: self.purpose.clone(),
            phone: self.phone.clone(),
            ..Guest::default()
        }
    }

    /// The check-in as typed on the page (`datetime-local`, China time).
    fn stay(&self) -> Stay {
        let check_in = NaiveDateTime::parse_from_str(self.check_in.trim(), "%Y-%m-%dT%H:%M")
            .ok()
            .and_then(|t| {
                wujing_domain::calendar::china_offset()
                    .from_local_datetime(&t)
                    .single()
            })
            .map(|t| t.with_timezone(&chrono::Utc));
        Stay {
            check_in,
            departure: day(&self.departure),
            room: self.room.clone(),
            ..Stay::default()
        }
    }

    /// Fills the fields a pasted MRZ reads (the zone's lines, as pasted); the answer says what
    /// happened.
    async fn prefill(
        &mut self,
        app: &wujing_app::App,
        client_addr: Option<&str>,
    ) -> Result<(), AppError> {
        let lines: Vec<String> = self
            .mrz
            .lines()
            .map(|l| l.trim().replace(' ', ""))
            .filter(|l| !l.is_empty())
            .collect();
        let g = app.prefill_from_mrz(&lines, client_addr).await?;
        self.surname = g.surname;
        self.given_names = g.given_names;
        self.sex = g.sex;
        self.birth_date = g.birth_date.map(|d| d.to_string()).unwrap_or_default();
        self.nationality = g.nationality;
        self.document_kind = g.document_kind;
        self.document_number = g.document_number;
        self.document_expiry = g.document_expiry.map(|d| d.to_string()).unwrap_or_default();
        if let Some(d) = g.stay_until {
            self.stay_until = d.to_string();
        }
        Ok(())
    }
}

/// Problems of a refused registration, for the page: (field, zh, en).
fn problems(e: &AppError) -> Vec<(String, String, String)> {
    let details: Option<serde_json::Value> = e
        .details
        .as_ref()
        .and_then(|d| serde_json::from_str(d.get()).ok());
    let list = details
        .as_ref()
        .and_then(|d| d.get("problems"))
        .and_then(|p| p.as_array())
        .cloned()
        .unwrap_or_default();
    if list.is_empty() {
        return vec![(String::new(), e.zh.clone(), e.en.clone())];
    }
    list.iter()
        .map(|p| {
            let f = |k: &str| {
                p.get(k)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            (f("field"), f("zh"), f("en"))
        })
        .collect()
}

// --- The small-hotel page ------------------------------------------------------------------

#[derive(Template)]
#[template(path = "hotel.html")]
struct HotelPage {
    page: PageContext,
    title: String,
    msg: String,
    msg_kind: String,
    /// The hotel's name when signed in; empty shows the sign-in form.
    hotel: String,
    csrf: String,
    f: GuestForm,
    errors: Vec<(String, String, String)>,
    done: Option<RegistrationView>,
    visa_kinds: &'static [&'static str],
}

fn hotel_token(headers: &HeaderMap) -> Option<&str> {
    cookie(headers, HOTEL_COOKIE)
}

async fn hotel_page(
    s: &AppState,
    page: PageContext,
    headers: &HeaderMap,
    f: GuestForm,
    errors: Vec<(String, String, String)>,
    done: Option<RegistrationView>,
    flash: (String, String),
) -> ApiResult<Response> {
    let session = s.app.hotel_page_session(hotel_token(headers)).await?;
    let (hotel, csrf) = session.unwrap_or_default();
    let title = page
        .t("旅馆住宿登记", "Hotel guest registration")
        .to_string();
    Ok(render(&HotelPage {
        page,
        title,
        msg: flash.0,
        msg_kind: flash.1,
        hotel,
        csrf,
        f,
        errors,
        done,
        visa_kinds: wujing_domain::lodging::VISA_KINDS,
    }))
}

/// The small-hotel page: the sign-in, or the registration form.
pub async fn hotel_get(
    State(s): State<AppState>,
    page: PageContext,
    headers: HeaderMap,
    PageQuery(q): PageQuery<Flash>,
) -> ApiResult<Response> {
    let f = GuestForm {
        document_kind: "passport".into(),
        ..GuestForm::default()
    };
    hotel_page(&s, page, &headers, f, Vec::new(), None, q.shown()).await
}

#[derive(Deserialize)]
pub struct SignInForm {
    code: String,
    password: String,
}

/// The hotel's sign-in: sets the session cookie.
pub async fn hotel_sign_in(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    form: Result<PageForm<SignInForm>, ApiError>,
) -> Response {
    let r = async {
        let PageForm(f) = form.map_err(|e| e.0)?;
        s.app
            .hotel_sign_in(&f.code, &f.password, addr.as_deref())
            .await
    }
    .await;
    match r {
        Ok(token) => {
            let mut resp = Redirect::to("/hotel").into_response();
            resp.headers_mut().insert(
                header::SET_COOKIE,
                set_cookie(HOTEL_COOKIE, &token, 12 * 3600, s.options.secure_cookies),
            );
            resp
        }
        Err(e) => back("/hotel", Err(e), page.en),
    }
}

/// Signs the hotel out: ends the session and clears the cookie.
pub async fn hotel_sign_out(
    State(s): State<AppState>,
    page: PageContext,
    headers: HeaderMap,
    form: Result<PageForm<CsrfForm>, ApiError>,
) -> Response {
    let token = hotel_token(&headers);
    let given = form.ok().map(|PageForm(f)| f.csrf);
    if let Err(e) = s.app.check_hotel_csrf(token, given.as_deref()).await {
        return back("/hotel", Err(e), page.en);
    }
    let _ = s.app.hotel_sign_out(&page.principal, token).await;
    let mut resp = Redirect::to("/hotel").into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(HOTEL_COOKIE, "", 0, s.options.secure_cookies),
    );
    resp
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

#[derive(Deserialize)]
pub struct HotelForm {
    #[serde(default)]
    csrf: String,
    /// `prefill` (read the pasted MRZ) or `register`.
    #[serde(default)]
    action: String,
    #[serde(flatten)]
    f: GuestForm,
}

/// The hotel's form: reads a pasted MRZ into the fields, or registers the guest.
pub async fn hotel_post(
    State(s): State<AppState>,
    page: PageContext,
    headers: HeaderMap,
    ClientAddr(addr): ClientAddr,
    form: Result<PageForm<HotelForm>, ApiError>,
) -> ApiResult<Response> {
    let PageForm(form) = form?;
    s.app
        .check_hotel_csrf(hotel_token(&headers), Some(&form.csrf))
        .await?;
    let mut f = form.f;
    let none = (String::new(), String::new());
    if form.action == "prefill" {
        return match f.prefill(&s.app, addr.as_deref()).await {
            Ok(()) => {
                let ok = (
                    page.t(
                        "已从机读区读取，请核对并补充其余信息",
                        "Read from the MRZ: check the fields and complete the rest",
                    )
                    .to_string(),
                    "ok".to_string(),
                );
                hotel_page(&s, page, &headers, f, Vec::new(), None, ok).await
            }
            Err(e) => hotel_page(&s, page, &headers, f, problems(&e), None, none).await,
        };
    }
    let input = StayInput {
        stay_id: f.stay_id.clone(),
        guest: f.guest(),
        stay: f.stay(),
    };
    match s
        .app
        .register_stay(&page.principal, addr.as_deref(), &input)
        .await
    {
        Ok(v) => {
            let fresh = GuestForm {
                document_kind: "passport".into(),
                ..GuestForm::default()
            };
            hotel_page(&s, page, &headers, fresh, Vec::new(), Some(v), none).await
        }
        Err(e) if e.code == Code::Unavailable => Err(ApiError(e)),
        Err(e) => hotel_page(&s, page, &headers, f, problems(&e), None, none).await,
    }
}

// --- The private host's page ---------------------------------------------------------------

#[derive(Template)]
#[template(path = "lodging_host.html")]
struct HostPage {
    page: PageContext,
    title: String,
    msg: String,
    msg_kind: String,
    stations: Vec<(String, String, String)>,
    station: String,
    h: HostFields,
    f: GuestForm,
    errors: Vec<(String, String, String)>,
    receipt: Option<HostReceipt>,
    status: Option<RegistrationView>,
    reference: String,
    visa_kinds: &'static [&'static str],
}

#[derive(Default, Clone, Deserialize)]
pub struct HostFields {
    #[serde(default)]
    host_name: String,
    #[serde(default)]
    host_id_number: String,
    #[serde(default)]
    host_phone: String,
    #[serde(default)]
    relationship: String,
    #[serde(default)]
    address: String,
}

#[derive(Deserialize)]
pub struct HostForm {
    #[serde(default)]
    station: String,
    #[serde(default)]
    action: String,
    #[serde(flatten)]
    h: HostFields,
    #[serde(flatten)]
    f: GuestForm,
}

#[allow(clippy::too_many_arguments)]
async fn host_page(
    s: &AppState,
    page: PageContext,
    station: String,
    h: HostFields,
    f: GuestForm,
    errors: Vec<(String, String, String)>,
    receipt: Option<HostReceipt>,
    status: Option<RegistrationView>,
    reference: String,
    flash: (String, String),
) -> ApiResult<Response> {
    let stations = s.app.police_stations().await?;
    let title = page
        .t(
            "境外人员住宿登记（非旅馆）",
            "Register a foreign guest's stay (private housing)",
        )
        .to_string();
    Ok(render(&HostPage {
        page,
        title,
        msg: flash.0,
        msg_kind: flash.1,
        stations,
        station,
        h,
        f,
        errors,
        receipt,
        status,
        reference,
        visa_kinds: wujing_domain::lodging::VISA_KINDS,
    }))
}

/// The host's form.
pub async fn host_get(State(s): State<AppState>, page: PageContext) -> ApiResult<Response> {
    let f = GuestForm {
        document_kind: "passport".into(),
        ..GuestForm::default()
    };
    let none = (String::new(), String::new());
    host_page(
        &s,
        page,
        String::new(),
        HostFields::default(),
        f,
        vec![],
        None,
        None,
        String::new(),
        none,
    )
    .await
}

/// The host's form posted: MRZ prefill, or the registration (answers reference and code).
pub async fn host_post(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    form: Result<PageForm<HostForm>, ApiError>,
) -> ApiResult<Response> {
    let PageForm(form) = form?;
    let mut f = form.f;
    let none = (String::new(), String::new());
    if form.action == "prefill" {
        let errors = f
            .prefill(&s.app, addr.as_deref())
            .await
            .err()
            .map(|e| problems(&e))
            .unwrap_or_default();
        return host_page(
            &s,
            page,
            form.station,
            form.h,
            f,
            errors,
            None,
            None,
            String::new(),
            none,
        )
        .await;
    }
    let input = HostInput {
        station: form.station.clone(),
        host: Host {
            name: form.h.host_name.clone(),
            id_number: form.h.host_id_number.clone(),
            phone: form.h.host_phone.clone(),
            relationship: form.h.relationship.clone(),
            address: form.h.address.clone(),
        },
        guest: f.guest(),
        stay: f.stay(),
        lang: if page.en { "en".into() } else { "zh".into() },
    };
    match s.app.register_host(&input, addr.as_deref()).await {
        Ok(r) => {
            host_page(
                &s,
                page,
                String::new(),
                HostFields::default(),
                GuestForm::default(),
                vec![],
                Some(r),
                None,
                String::new(),
                none,
            )
            .await
        }
        Err(e) if e.code == Code::Unavailable => Err(ApiError(e)),
        Err(e) => {
            host_page(
                &s,
                page,
                form.station,
                form.h,
                f,
                problems(&e),
                None,
                None,
                String::new(),
                none,
            )
            .await
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    reference: String,
    code: String,
}

/// The status of a host's registration by reference and code (throttled owner proof).
pub async fn host_status_post(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    form: Result<PageForm<StatusForm>, ApiError>,
) -> ApiResult<Response> {
    let PageForm(form) = form?;
    let none = (String::new(), String::new());
    let f = GuestForm::default();
    match s
        .app
        .host_registration_status(&form.reference, &form.code, addr.as_deref())
        .await
    {
        Ok(v) => {
            host_page(
                &s,
                page,
                String::new(),
                HostFields::default(),
                f,
                vec![],
                None,
                Some(v),
                form.reference,
                none,
            )
            .await
        }
        Err(e) if e.code == Code::Unavailable => Err(ApiError(e)),
        Err(e) => {
            let msg = (e.message(page.en).to_string(), "error".to_string());
            host_page(
                &s,
                page,
                String::new(),
                HostFields::default(),
                f,
                vec![],
                None,
                None,
                form.reference,
                msg,
            )
            .await
        }
    }
}

// --- The station's hotels ------------------------------------------------------------------

#[derive(Template)]
#[template(path = "lodging_hotels.html")]
struct HotelsPage {
    page: PageContext,
    msg: String,
    msg_kind: String,
    stations: Vec<(String, String, String)>,
    station: String,
    hotels: Vec<HotelView>,
    created: Option<HotelView>,
}

async fn hotels_page(
    s: &AppState,
    page: PageContext,
    station: &str,
    created: Option<HotelView>,
    flash: (String, String),
) -> ApiResult<Response> {
    let stations = s
        .app
        .lodging_stations(&page.principal, Action::ManageHotels)
        .await?;
    let station = if station.is_empty() {
        stations.first().map(|s| s.0.clone()).unwrap_or_default()
    } else {
        station.to_string()
    };
    let hotels = if station.is_empty() {
        Vec::new()
    } else {
        s.app.hotels(&page.principal, &station).await?
    };
    Ok(render(&HotelsPage {
        page,
        msg: flash.0,
        msg_kind: flash.1,
        stations,
        station,
        hotels,
        created,
    }))
}

/// The station's hotels and the form that registers one.
pub async fn hotels_get(
    State(s): State<AppState>,
    page: PageContext,
    PageQuery(q): PageQuery<PageQ>,
) -> ApiResult<Response> {
    let flash = Flash {
        msg: q.msg.clone(),
        kind: q.kind.clone(),
    }
    .shown();
    hotels_page(&s, page, &q.station, None, flash).await
}

#[derive(Deserialize)]
pub struct NewHotelForm {
    #[serde(default)]
    station: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    address: String,
}

/// Registers a hotel from the page: its token and password are shown on the answer, once.
pub async fn hotels_post(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    form: Result<PageForm<NewHotelForm>, ApiError>,
) -> ApiResult<Response> {
    let f = match form {
        Ok(PageForm(f)) => f,
        Err(e) => {
            let msg = (e.0.message(page.en).to_string(), "error".to_string());
            return hotels_page(&s, page, "", None, msg).await;
        }
    };
    let input = HotelInput {
        station: f.station.clone(),
        code: f.code,
        name: f.name,
        address: f.address,
    };
    match s
        .app
        .create_hotel(&page.principal, addr.as_deref(), &input)
        .await
    {
        Ok(v) => {
            let ok = (
                format!("旅馆“{}”已登记 Registered", v.name),
                "ok".to_string(),
            );
            hotels_page(&s, page, &f.station, Some(v), ok).await
        }
        Err(e) if e.code == Code::Unavailable => Err(ApiError(e)),
        Err(e) => {
            let msg = (e.message(false).to_string(), "error".to_string());
            hotels_page(&s, page, &f.station, None, msg).await
        }
    }
}
