//! The authority's face (issue 15): the privacy notice and accessibility statement pages, the
//! emblem image, and the administrators' API and page that set them. The portal's header and
//! footer read the face from [`crate::extract::PageContext`].

use crate::extract::{ApiJson, ClientAddr, Flash, PageContext, PageForm, PageQuery};
use crate::pages::render;
use crate::{ApiResult, AppState};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Multipart, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use wujing_app::{AppError, Code, Principal};
use wujing_domain::authority::Authority;

/// Where the administrators' page posts the emblem's file.
pub const EMBLEM_UPLOAD_PATH: &str = "/staff/authority/emblem";
/// Where the API takes the emblem as the body.
pub const EMBLEM_API_PATH: &str = "/api/v1/admin/authority/emblem";
/// The body limit of both emblem routes: twice the largest emblem
/// ([`wujing_domain::authority::MAX_EMBLEM_BYTES`]), so that an image a little too large (with
/// a form's framing around it) reaches the use case and is refused with its reason beside the
/// field rather than as a bare 413; the server's default limit (64 KB) would refuse an
/// emblem the API documents as allowed.
pub const EMBLEM_BODY_LIMIT: usize = 2 * wujing_domain::authority::MAX_EMBLEM_BYTES;

// --- Public pages ----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "portal_notice.html")]
struct NoticePage {
    page: PageContext,
    title: String,
    msg: String,
    msg_kind: String,
    paragraphs: Vec<String>,
}

fn notice(page: PageContext, title: String, text: String) -> Response {
    let paragraphs = Authority::paragraphs(&text)
        .into_iter()
        .map(str::to_string)
        .collect();
    render(&NoticePage {
        page,
        title,
        msg: String::new(),
        msg_kind: String::new(),
        paragraphs,
    })
}

/// The privacy notice, as the authority configured it.
pub async fn privacy(page: PageContext) -> Response {
    let a = &page.face.authority;
    let text = page.t(&a.privacy_zh, &a.privacy_en).to_string();
    let title = page.t("隐私声明", "Privacy notice").to_string();
    notice(page, title, text)
}

/// The accessibility statement, as the authority configured it.
pub async fn accessibility(page: PageContext) -> Response {
    let a = &page.face.authority;
    let text = page.t(&a.accessibility_zh, &a.accessibility_en).to_string();
    let title = page.t("无障碍声明", "Accessibility statement").to_string();
    notice(page, title, text)
}

/// The emblem the operator supplied (404 without one). Its address carries a digest of the
/// image, so browsers may keep it for a day.
pub async fn emblem(page: PageContext) -> Response {
    match &page.face.emblem {
        Some(e) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(e.kind.content_type()),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=86400"),
                ),
            ],
            e.bytes.as_ref().clone(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

// --- API -------------------------------------------------------------------------------------

/// The authority's face: names, the signature of text messages, the hotline, the privacy
/// notice and accessibility statement (paragraphs separated by a blank line) and the site
/// filing number. The same shape is read and written (and posted by the staff page's form,
/// whose CSRF field is the one extra).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuthorityBody {
    /// e.g. `广州市公安局出入境管理支队` (at most 60 characters, one line).
    pub name_zh: String,
    pub name_en: String,
    /// The signature of text messages, without brackets (at most 24 characters):
    /// texts begin `【sign_zh】` or `[sign_en]`.
    pub sign_zh: String,
    pub sign_en: String,
    /// A number a phone can dial, e.g. `12367`.
    pub hotline: String,
    pub privacy_zh: String,
    pub privacy_en: String,
    pub accessibility_zh: String,
    pub accessibility_en: String,
    /// The site filing number; empty shows none.
    #[serde(default)]
    pub filing_number: String,
}

impl From<Authority> for AuthorityBody {
    fn from(a: Authority) -> Self {
        Self {
            name_zh: a.name_zh,
            name_en: a.name_en,
            sign_zh: a.sign_zh,
            sign_en: a.sign_en,
            hotline: a.hotline,
            privacy_zh: a.privacy_zh,
            privacy_en: a.privacy_en,
            accessibility_zh: a.accessibility_zh,
            accessibility_en: a.accessibility_en,
            filing_number: a.filing_number,
        }
    }
}

impl From<AuthorityBody> for Authority {
    fn from(a: AuthorityBody) -> Self {
        Self {
            name_zh: a.name_zh,
            name_en: a.name_en,
            sign_zh: a.sign_zh,
            sign_en: a.sign_en,
            hotline: a.hotline,
            privacy_zh: a.privacy_zh,
            privacy_en: a.privacy_en,
            accessibility_zh: a.accessibility_zh,
            accessibility_en: a.accessibility_en,
            filing_number: a.filing_number,
        }
    }
}

/// The authority's face as configured (the product's default until an administrator sets
/// it). Administrators.
#[utoipa::path(get, path = "/api/v1/admin/authority", tag = "admin", security(("session" = [])),
    responses((status = 200, body = AuthorityBody),
              (status = 403, description = "`forbidden` (not an administrator)")))]
pub async fn get_authority(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
) -> ApiResult<Json<AuthorityBody>> {
    Ok(Json(s.app.authority_for_admin(&p).await?.into()))
}

/// Replaces the authority's face (audited `authority.update` with the names of the fields that
/// changed). Every app server shows it within 10 seconds; texts still queued are signed with
/// the new signature. Administrators.
#[utoipa::path(put, path = "/api/v1/admin/authority", tag = "admin", security(("session" = [], "csrf" = [])),
    request_body = AuthorityBody,
    responses((status = 200, body = AuthorityBody),
              (status = 400, description = "`authority_invalid`, with `details.fields` (each field's problem in Chinese and English)"),
              (status = 403, description = "`forbidden` (not an administrator)")))]
pub async fn put_authority(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(b): ApiJson<AuthorityBody>,
) -> ApiResult<Json<AuthorityBody>> {
    Ok(Json(
        s.app
            .set_authority(&p, addr.as_deref(), b.into())
            .await?
            .into(),
    ))
}

/// Replaces the emblem shown in the portal's header: the image itself as the body, PNG or
/// JPEG (recognised from its bytes; SVG is refused), at most 256 KB. Audited
/// `authority.emblem`. Administrators.
#[utoipa::path(put, path = "/api/v1/admin/authority/emblem", tag = "admin", security(("session" = [], "csrf" = [])),
    request_body(content = Vec<u8>, content_type = "image/png"),
    responses((status = 204, description = "Stored"),
              (status = 400, description = "`emblem_invalid` (not a PNG or JPEG image, or over 256 KB; `details.max_bytes`)"),
              (status = 403, description = "`forbidden` (not an administrator)")))]
pub async fn put_emblem(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    body: Bytes,
) -> ApiResult<StatusCode> {
    s.app.set_emblem(&p, addr.as_deref(), &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- The administrators' page ----------------------------------------------------------------

#[derive(Template)]
#[template(path = "authority.html")]
struct AuthorityPage {
    page: PageContext,
    msg: String,
    msg_kind: String,
    a: AuthorityBody,
    /// Each refused field with its problem in the page's language.
    errors: Vec<(String, String)>,
    /// Why the emblem's upload was refused, in the page's language (empty: it was not).
    emblem_error: String,
    /// The refusal's stable code, on the field for scripts and tests.
    emblem_code: &'static str,
}

/// A one-line field of the form: name, Chinese and English labels, value, longest length.
type LineField<'a> = (&'static str, &'static str, &'static str, &'a str, usize);
/// A notice of the form: name, Chinese and English labels, value.
type TextField<'a> = (&'static str, &'static str, &'static str, &'a str);

impl AuthorityPage {
    fn lines(&self) -> Vec<LineField<'_>> {
        use wujing_domain::authority::{MAX_NAME_CHARS as N, MAX_SIGN_CHARS as S};
        let a = &self.a;
        vec![
            (
                "name_zh",
                "机构名称（中文）",
                "Name (Chinese)",
                &a.name_zh,
                N,
            ),
            (
                "name_en",
                "机构名称（英文）",
                "Name (English)",
                &a.name_en,
                N,
            ),
            (
                "sign_zh",
                "短信签名（中文，不含括号）",
                "Text signature (Chinese, without brackets)",
                &a.sign_zh,
                S,
            ),
            (
                "sign_en",
                "短信签名（英文，不含括号）",
                "Text signature (English, without brackets)",
                &a.sign_en,
                S,
            ),
            ("hotline", "服务热线", "Hotline", &a.hotline, 20),
            (
                "filing_number",
                "网站备案号（可空）",
                "Site filing number (optional)",
                &a.filing_number,
                N,
            ),
        ]
    }

    fn texts(&self) -> Vec<TextField<'_>> {
        let a = &self.a;
        vec![
            (
                "privacy_zh",
                "隐私声明（中文）",
                "Privacy notice (Chinese)",
                &a.privacy_zh,
            ),
            (
                "privacy_en",
                "隐私声明（英文）",
                "Privacy notice (English)",
                &a.privacy_en,
            ),
            (
                "accessibility_zh",
                "无障碍声明（中文）",
                "Accessibility statement (Chinese)",
                &a.accessibility_zh,
            ),
            (
                "accessibility_en",
                "无障碍声明（英文）",
                "Accessibility statement (English)",
                &a.accessibility_en,
            ),
        ]
    }

    fn error(&self, field: &str) -> &str {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
            .unwrap_or("")
    }
}

/// The form that edits the authority's face. Administrators.
pub async fn authority_page(
    State(s): State<AppState>,
    page: PageContext,
    PageQuery(q): PageQuery<Flash>,
) -> ApiResult<Response> {
    let a = s.app.authority_for_admin(&page.principal).await?.into();
    let (msg, msg_kind) = q.shown();
    Ok(render(&AuthorityPage {
        page,
        msg,
        msg_kind,
        a,
        errors: vec![],
        emblem_error: String::new(),
        emblem_code: "",
    }))
}

/// The form's answer: saved, or back filled in with each problem beside its field.
pub async fn authority_submit(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    PageForm(f): PageForm<AuthorityBody>,
) -> ApiResult<Response> {
    match s
        .app
        .set_authority(&page.principal, addr.as_deref(), f.clone().into())
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!(
            "/staff/authority?kind=ok&msg={}",
            crate::extract::percent_encode(page.t(
                "已保存，各页面和短信将使用新的信息",
                "Saved: pages and texts use it now"
            ))
        ))
        .into_response()),
        Err(e) if e.code != Code::AuthorityInvalid => Err(e.into()),
        Err(e) => {
            let errors = field_errors(&e, page.en);
            let msg = page
                .t("请修改下面标出的项目", "Correct the fields marked below")
                .to_string();
            let mut r = render(&AuthorityPage {
                page,
                msg,
                msg_kind: "error".into(),
                a: f,
                errors,
                emblem_error: String::new(),
                emblem_code: "",
            });
            *r.status_mut() = crate::status_of(e.kind);
            Ok(r)
        }
    }
}

/// The page's upload of the emblem (`multipart/form-data`, the file in the field `emblem`):
/// the same use case as `PUT /api/v1/admin/authority/emblem`, so the same checks (the type
/// read from the bytes, 256 KB), authorisation and audit entry. A refused file shows the page
/// again with the reason beside the field and a 400; nothing is stored.
pub async fn emblem_submit(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult<Response> {
    let stored = match emblem_file(multipart).await {
        Ok(bytes) => {
            s.app
                .set_emblem(&page.principal, addr.as_deref(), &bytes)
                .await
        }
        Err(e) => Err(e),
    };
    match stored {
        Ok(()) => Ok(Redirect::to(&format!(
            "/staff/authority?kind=ok&msg={}",
            crate::extract::percent_encode(page.t(
                "徽标已更新，门户页头即显示新徽标",
                "Emblem saved: the portal's header shows it now"
            ))
        ))
        .into_response()),
        Err(e) if e.code != Code::EmblemInvalid => Err(e.into()),
        Err(e) => {
            let a = s.app.authority_for_admin(&page.principal).await?.into();
            let msg = page
                .t(
                    "徽标未更新，原因见下方",
                    "The emblem was not changed: see below",
                )
                .to_string();
            let emblem_error = e.message(page.en).to_string();
            let mut r = render(&AuthorityPage {
                page,
                msg,
                msg_kind: "error".into(),
                a,
                errors: vec![],
                emblem_error,
                emblem_code: e.code.as_str(),
            });
            *r.status_mut() = crate::status_of(e.kind);
            Ok(r)
        }
    }
}

/// The bytes of the form's `emblem` file. No file chosen, a body that is not a form, and an
/// upload cut at the size limit are each `emblem_invalid` with what to do, never a 500.
async fn emblem_file(
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Vec<u8>, AppError> {
    let missing = || {
        AppError::new(
            Code::EmblemInvalid,
            "请选择徽标图片文件（PNG 或 JPEG，不超过 256 KB）",
            "choose the emblem's image file (PNG or JPEG, at most 256 KB)",
        )
    };
    let cut = || {
        AppError::new(
            Code::EmblemInvalid,
            "文件过大或上传不完整：徽标须为 PNG 或 JPEG 图片，不超过 256 KB",
            "the file is too large or the upload was cut: the emblem must be a PNG or JPEG image of at most 256 KB",
        )
    };
    let mut m = multipart.map_err(|_| missing())?;
    let mut bytes = Vec::new();
    while let Some(field) = m.next_field().await.map_err(|_| cut())? {
        if field.name() == Some("emblem") {
            bytes = field.bytes().await.map_err(|_| cut())?.to_vec();
        }
    }
    // A browser sends an empty part when no file was chosen.
    if bytes.is_empty() {
        return Err(missing());
    }
    Ok(bytes)
}

/// `(field, problem)` of each field `details.fields` names, in the page's language.
fn field_errors(e: &AppError, en: bool) -> Vec<(String, String)> {
    let Some(d) = e
        .details
        .as_ref()
        .and_then(|d| serde_json::from_str::<serde_json::Value>(d.get()).ok())
    else {
        return vec![];
    };
    let lang = if en { "en" } else { "zh" };
    d["fields"]
        .as_array()
        .map(|fields| {
            fields
                .iter()
                .map(|x| {
                    (
                        x["field"].as_str().unwrap_or_default().to_string(),
                        x[lang].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}
