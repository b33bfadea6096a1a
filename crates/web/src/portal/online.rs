//! Apply online (网上办理, 全程网办): the identity and the code to the registered phone, then
//! the online application's page (eligibility, answers, photo, collection, fee and payment,
//! and once paid its reference and status link), the return from the payment provider, the
//! status page behind a text's link, and the reviewers' view of the photo.
//!
//! The online application's handle lives in an HttpOnly cookie (`wujing_online`: reference and
//! secret) scoped to `/online`, `SameSite=Lax` so that it comes back with the browser's return
//! from a payment provider's site. Every decision is the app's ([`wujing_app::remote`]).

use crate::auth::cookie;
use crate::extract::{ApiPath, ClientAddr, PageContext, PageForm, PageQuery};
use crate::pages::render;
use crate::{ApiResult, AppState};
use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use wujing_app::remote::{ReasonView, RemoteCollection, RemoteIdentity, RemoteVerify, RemoteView};
use wujing_app::{AppError, Code, Principal};

/// The cookie holding `reference.secret` of the browser's online application.
pub const ONLINE_COOKIE: &str = "wujing_online";
/// The photo upload's path: the one route whose body may be larger than the default limit.
pub const PHOTO_UPLOAD_PATH: &str = "/online/app/photo";
/// The photo upload's body limit: an 80 KB photo with the form's overhead, and room for a
/// somewhat larger file to be told its size instead of a bare refusal.
pub const PHOTO_BODY_LIMIT: usize = 160 * 1024;

fn session(headers: &HeaderMap) -> Option<(String, String)> {
    let v = cookie(headers, ONLINE_COOKIE)?;
    let (r, s) = v.split_once('.')?;
    Some((r.to_string(), s.to_string()))
}

fn session_cookie(value: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{ONLINE_COOKIE}={value}; Path=/online; HttpOnly; SameSite=Lax; Max-Age=86400{secure}"
    ))
    .expect("reference and secret are URL-safe")
}

/// The businesses that can be handled online today, `(code, name)` in the page's language.
fn remote_businesses(s: &AppState, page: &PageContext) -> Vec<(String, String)> {
    s.app
        .remote_businesses()
        .into_iter()
        .map(|b| {
            let name = page.t(&b.name_zh, &b.name_en).to_string();
            (b.code, name)
        })
        .collect()
}

// --- Start: identity and code -----------------------------------------------------------------

#[derive(Template)]
#[template(path = "portal_online_start.html")]
struct StartPage {
    page: PageContext,
    title: String,
    msg: String,
    msg_kind: String,
    businesses: Vec<(String, String)>,
    business: String,
    id_number: String,
    name: String,
    /// The masked registered phone the code went to, once sent.
    masked_phone: String,
    reasons: Vec<ReasonView>,
}

pub async fn start(State(s): State<AppState>, page: PageContext) -> Response {
    let title = page.t("网上办理", "Apply online").to_string();
    let businesses = remote_businesses(&s, &page);
    render(&StartPage {
        page,
        title,
        msg: String::new(),
        msg_kind: String::new(),
        business: businesses.first().map(|b| b.0.clone()).unwrap_or_default(),
        businesses,
        id_number: String::new(),
        name: String::new(),
        masked_phone: String::new(),
        reasons: vec![],
    })
}

#[derive(Deserialize)]
pub struct StartForm {
    #[serde(default)]
    business: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    action: String,
}

pub async fn start_submit(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    PageForm(f): PageForm<StartForm>,
) -> Response {
    let page = page.returning_to("/online");
    let (business, id_number, name) = (
        f.business.trim().to_string(),
        f.id_number.trim().to_string(),
        f.name.trim().to_string(),
    );
    let lang = Some(page.lang().to_string());
    let mut masked_phone = String::new();
    let failed = |e: AppError| -> Vec<ReasonView> {
        #[derive(Deserialize)]
        struct Details {
            reasons: Vec<ReasonViewIn>,
        }
        e.details
            .as_ref()
            .and_then(|d| serde_json::from_str::<Details>(d.get()).ok())
            .map(|d| d.reasons.into_iter().map(Into::into).collect())
            .unwrap_or_default()
    };
    let (msg, kind, reasons) = if f.action == "verify" {
        let r = s
            .app
            .remote_verify(
                &RemoteVerify {
                    business: business.clone(),
                    id_number: id_number.clone(),
                    name: name.clone(),
                    code: f.code.trim().to_string(),
                    lang,
                },
                addr.as_deref(),
            )
            .await;
        match r {
            Ok(session) => {
                let mut resp = Redirect::to("/online/app").into_response();
                resp.headers_mut().append(
                    header::SET_COOKIE,
                    session_cookie(
                        &format!("{}.{}", session.reference, session.secret),
                        s.options.secure_cookies,
                    ),
                );
                return resp;
            }
            Err(e) => {
                // The code was sent: keep the code field on the page.
                masked_phone = "·".into();
                (page.message(&e), "error", failed(e))
            }
        }
    } else {
        match s
            .app
            .remote_send_code(
                &RemoteIdentity {
                    business: business.clone(),
                    id_number: id_number.clone(),
                    name: name.clone(),
                    lang,
                },
                addr.as_deref(),
            )
            .await
        {
            Ok(sent) => {
                masked_phone = sent.masked_phone;
                let m = if page.en {
                    format!("A code was sent to the phone registered for you, {masked_phone}.")
                } else {
                    format!("验证码已发送至您登记的手机 {masked_phone}。")
                };
                (m, "ok", vec![])
            }
            Err(e) => (page.message(&e), "error", failed(e)),
        }
    };
    let title = page.t("网上办理", "Apply online").to_string();
    render(&StartPage {
        businesses: remote_businesses(&s, &page),
        page,
        title,
        msg,
        msg_kind: kind.into(),
        business,
        id_number,
        name,
        masked_phone,
        reasons,
    })
}

/// A reason as an error's details carry it.
#[derive(Deserialize)]
struct ReasonViewIn {
    code: String,
    zh: String,
    en: String,
}

impl From<ReasonViewIn> for ReasonView {
    fn from(r: ReasonViewIn) -> Self {
        ReasonView {
            code: r.code,
            zh: r.zh,
            en: r.en,
        }
    }
}

// --- The online application's page -----------------------------------------------------------

#[derive(Template)]
#[template(path = "portal_online.html")]
struct AppPage {
    page: PageContext,
    title: String,
    msg: String,
    msg_kind: String,
    v: RemoteView,
    /// The photo check's failures shown next to the upload.
    photo_errors: Vec<ReasonView>,
    photo_ok: bool,
    /// The application's state in the page's language, once submitted.
    state: String,
    /// The only thing in the way is a renewal not yet due: a reason for it fixes that.
    renewal_fixable: bool,
}

fn no_session() -> AppError {
    AppError::from(Code::OnlineApplicationNotFound)
}

fn app_page(page: PageContext, v: RemoteView, msg: String, msg_kind: &str) -> Response {
    let title = page.t("网上办理", "Apply online").to_string();
    let photo_errors = v.photo.clone().unwrap_or_default();
    let photo_ok = v.photo.as_ref().is_some_and(Vec::is_empty);
    let state = v
        .application_status
        .as_deref()
        .and_then(wujing_domain::application::State::parse)
        .map(|st| page.t(st.name_zh(), st.name_en()).to_string())
        .unwrap_or_default();
    let renewal_fixable =
        v.status == "draft" && v.reasons.iter().all(|r| r.code == "renewal_not_due");
    let mut r = render(&AppPage {
        page,
        title,
        msg,
        msg_kind: msg_kind.into(),
        v,
        photo_errors,
        photo_ok,
        state,
        renewal_fixable,
    });
    // The applicant's own data: never cached.
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub async fn app(
    State(s): State<AppState>,
    page: PageContext,
    headers: HeaderMap,
    PageQuery(q): PageQuery<crate::extract::Flash>,
) -> ApiResult<Response> {
    let (r, k) = session(&headers).ok_or_else(no_session)?;
    let v = s.app.remote_view(&r, &k).await?;
    let (msg, kind) = q.shown();
    let kind = if msg.is_empty() { "" } else { kind.as_str() };
    Ok(app_page(page, v, msg, kind))
}

/// Back to the application's page with the outcome.
fn back(page: &PageContext, r: Result<String, AppError>) -> Response {
    crate::pages::back("/online/app", r, page.en)
}

#[derive(Deserialize)]
pub struct AnswersForm {
    #[serde(default)]
    renewal_reason: String,
}

pub async fn answers(
    State(s): State<AppState>,
    page: PageContext,
    headers: HeaderMap,
    PageForm(f): PageForm<AnswersForm>,
) -> Response {
    let r = async {
        let (r, k) = session(&headers).ok_or_else(no_session)?;
        s.app
            .remote_answers(&r, &k, Some(f.renewal_reason.as_str()))
            .await?;
        Ok(page.t("已保存", "Saved").to_string())
    }
    .await;
    back(&page, r)
}

pub async fn photo(
    State(s): State<AppState>,
    page: PageContext,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let r = async {
        let (r, k) = session(&headers).ok_or_else(no_session)?;
        let mut m = multipart.map_err(|_| AppError::from(Code::PhotoMissing))?;
        let mut bytes = Vec::new();
        while let Some(field) = m.next_field().await.map_err(|_| too_large())? {
            if field.name() == Some("photo") {
                bytes = field.bytes().await.map_err(|_| too_large())?.to_vec();
            }
        }
        let failing = s.app.remote_photo(&r, &k, &bytes).await?;
        if failing.is_empty() {
            Ok(page.t("照片合格，已保存", "Photo accepted").to_string())
        } else {
            Err(AppError::from(Code::PhotoInvalid))
        }
    }
    .await;
    back(&page, r)
}

fn too_large() -> AppError {
    AppError::new(
        Code::PhotoInvalid,
        "照片文件过大或上传不完整，请选择20–80KB的JPEG照片",
        "the photo is too large or the upload was cut; choose a JPEG of 20–80 KB",
    )
}

pub async fn collection(
    State(s): State<AppState>,
    page: PageContext,
    headers: HeaderMap,
    PageForm(f): PageForm<RemoteCollectionForm>,
) -> Response {
    let r = async {
        let (r, k) = session(&headers).ok_or_else(no_session)?;
        s.app
            .remote_collection(
                &r,
                &k,
                &RemoteCollection {
                    method: f.method,
                    mail_address: Some(f.mail_address).filter(|a| !a.trim().is_empty()),
                },
            )
            .await?;
        Ok(page.t("领取方式已保存", "Collection saved").to_string())
    }
    .await;
    back(&page, r)
}

#[derive(Deserialize)]
pub struct RemoteCollectionForm {
    #[serde(default)]
    method: String,
    #[serde(default)]
    mail_address: String,
}

/// Pay: to the provider's checkout page.
pub async fn pay(State(s): State<AppState>, page: PageContext, headers: HeaderMap) -> Response {
    let r = async {
        let (r, k) = session(&headers).ok_or_else(no_session)?;
        s.app.remote_pay(&r, &k).await
    }
    .await;
    match r {
        Ok(p) => match p.checkout_url {
            Some(url) => Redirect::to(&url).into_response(),
            None => back(&page, Ok(String::new())),
        },
        Err(e) => back(&page, Err(e)),
    }
}

/// The return from the payment provider: reconciles (submits when paid) and shows the page.
pub async fn payment_return(
    State(s): State<AppState>,
    page: PageContext,
    headers: HeaderMap,
    ApiPath(reference): ApiPath<String>,
) -> ApiResult<Response> {
    let (r, k) = session(&headers)
        .filter(|(r, _)| *r == reference)
        .ok_or_else(no_session)?;
    let v = s.app.remote_reconcile(&r, &k).await?;
    let (msg, kind) = match (v.application_id, v.payment) {
        (Some(_), _) => (
            page.t(
                "缴费成功，申请已提交",
                "Paid: your application is submitted",
            ),
            "ok",
        ),
        (None, Some(wujing_app::PaymentStatus::Declined)) => (
            page.t(
                "支付未成功，请重新支付",
                "The payment did not go through; please pay again",
            ),
            "error",
        ),
        _ => (
            page.t(
                "正在确认支付结果，请稍后刷新本页",
                "Confirming the payment; refresh this page shortly",
            ),
            "ok",
        ),
    };
    Ok(app_page(page.clone(), v, msg.to_string(), kind))
}

/// The applicant's own photo (behind the cookie), never cached.
pub async fn own_photo(State(s): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let (r, k) = session(&headers).ok_or_else(no_session)?;
    let bytes = s.app.remote_own_photo(&r, &k).await?;
    Ok(jpeg(bytes))
}

fn jpeg(bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-store, private"),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// A remote application's photo for its reviewers (staff only, audited, never cached).
pub async fn staff_photo(
    State(s): State<AppState>,
    axum::Extension(p): axum::Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let bytes = s.app.application_photo(&p, addr.as_deref(), id).await?;
    Ok(jpeg(bytes))
}

// --- The status page behind a text's link ----------------------------------------------------

#[derive(Template)]
#[template(path = "portal_online_status.html")]
struct StatusPage {
    page: PageContext,
    title: String,
    msg: String,
    msg_kind: String,
    s: wujing_app::RemoteStatus,
    business: String,
    state: String,
    next: String,
    collection: String,
    history: Vec<(String, String, String)>,
    /// The fee paid online, in a line: the applicant's record of the payment.
    paid: Option<String>,
}

#[derive(Deserialize)]
pub struct Key {
    #[serde(default)]
    k: String,
}

pub async fn status(
    State(s): State<AppState>,
    page: PageContext,
    ApiPath(reference): ApiPath<String>,
    PageQuery(q): PageQuery<Key>,
) -> ApiResult<Response> {
    let st = s.app.remote_status(&reference, &q.k).await?;
    let title = page
        .t("网上申请进度", "Online application status")
        .to_string();
    let business = page.t(&st.business_zh, &st.business_en).to_string();
    let (state, next, collection, history) = match &st.application {
        Some(a) => (
            page.t(&a.status_zh, &a.status_en).to_string(),
            page.t(&a.next_step_zh, &a.next_step_en).to_string(),
            page.t(&a.collection_zh, &a.collection_en).to_string(),
            a.history
                .iter()
                .map(|h| {
                    (
                        h.state.clone(),
                        page.t(&h.name_zh, &h.name_en).to_string(),
                        h.at.format("%Y-%m-%d %H:%M").to_string(),
                    )
                })
                .collect(),
        ),
        None => (
            page.t("未提交", "Not submitted").to_string(),
            page.t(
                "申请尚未缴费提交。",
                "The application has not been paid and submitted.",
            )
            .to_string(),
            String::new(),
            vec![],
        ),
    };
    let paid = st.payment.as_ref().map(|p| {
        let at = p
            .paid_at
            .unwrap_or(p.created_at)
            .with_timezone(&wujing_domain::calendar::china_offset())
            .format("%Y-%m-%d %H:%M");
        let refund = match p.status {
            wujing_app::PaymentStatus::Refunded => page.t(" · 已退款", " · refunded"),
            wujing_app::PaymentStatus::RefundDue => page.t(" · 退款处理中", " · refund under way"),
            _ => "",
        };
        // The provider's order number: the payment's row number would tell how many payments
        // were made.
        format!(
            "{} {} · {} {at} · {} {}{refund}",
            p.amount_yuan,
            page.t("元", "yuan"),
            page.t("网上缴费于", "paid online on"),
            page.t("订单号", "order no."),
            p.order_no.as_deref().unwrap_or("—"),
        )
    });
    let mut r = render(&StatusPage {
        page,
        title,
        msg: String::new(),
        msg_kind: String::new(),
        paid,
        s: st,
        business,
        state,
        next,
        collection,
        history,
    });
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}
