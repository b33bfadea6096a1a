//! Extractors whose rejections are [`ApiError`]s, so that malformed input gets the same
//! envelope, code and language as every other error instead of axum's plain-text answers: for
//! the JSON API ([`ApiJson`], [`ApiQuery`], [`ApiPath`]) and for pages ([`PageForm`],
//! [`PageQuery`]), where the envelope middleware shows the error as the friendly error page.
//! [`PageContext`] is what every page needs to know about its request.

use crate::auth::cookie;
use crate::ApiError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use serde::de::{DeserializeOwned, Deserializer, Error as _};
use serde::Deserialize;
use std::fmt::Display;
use std::str::FromStr;
use std::sync::Arc;
use wujing_app::authority::Face;
use wujing_app::{AppError, Code, Principal};

pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError(AppError::new(
                Code::ContentTypeInvalid,
                "请求须为 JSON（Content-Type: application/json）",
                "the request body must be JSON (Content-Type: application/json)",
            )));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                // A streamed body that ran over the limit (a declared length over it is
                // refused before any handler runs).
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError(crate::payload_too_large())
                } else {
                    ApiError(AppError::from(Code::BodyInvalid))
                }
            })?;
        if let Some(c) = forbidden_in_json(&bytes) {
            return Err(ApiError(AppError::text_invalid(c)));
        }
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError(AppError::new(
                Code::BodyInvalid,
                format!("请求内容字段有误：{}", e.body_text()),
                format!("a field of the request body is wrong: {}", e.body_text()),
            ))),
            Err(e) => Err(ApiError(AppError::new(
                Code::JsonInvalid,
                format!("请求内容不是有效的 JSON：{}", e.body_text()),
                format!("the request body is not valid JSON: {}", e.body_text()),
            ))),
        }
    }
}

/// `application/json` or a `+json` type, as axum's own `Json` accepts.
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(ct) = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The first forbidden character in any string (or key) of a JSON body. JSON cannot carry a
/// raw control character inside a string, so one can only arrive escaped (`\u0000`) or, for
/// C1 controls and bidi overrides, as their UTF-8 bytes; bodies with neither, which is nearly
/// every body, are not parsed twice.
fn forbidden_in_json(bytes: &[u8]) -> Option<char> {
    let suspicious = bytes.windows(3).any(|w| {
        matches!(
            w,
            [b'\\', b'u', _]
                | [0xC2, 0x80..=0x9F, _]
                | [0xE2, 0x80, 0xAA..=0xAE]
                | [0xE2, 0x81, 0xA6..=0xA9]
        )
    });
    if !suspicious {
        return None;
    }
    fn walk(v: &serde_json::Value) -> Option<char> {
        match v {
            serde_json::Value::String(s) => wujing_domain::text::forbidden_char(s),
            serde_json::Value::Array(a) => a.iter().find_map(walk),
            serde_json::Value::Object(m) => m
                .iter()
                .find_map(|(k, x)| wujing_domain::text::forbidden_char(k).or_else(|| walk(x))),
            _ => None,
        }
    }
    // Unparseable JSON is left to the typed parse, which names the error.
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| walk(&v))
}

pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|e: QueryRejection| {
                ApiError(AppError::new(
                    Code::QueryInvalid,
                    format!("查询参数有误：{}", e.body_text()),
                    format!("a query parameter is wrong: {}", e.body_text()),
                ))
            })
    }
}

pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Self(p.0))
            .map_err(|e: PathRejection| {
                ApiError(AppError::new(
                    Code::PathInvalid,
                    format!("路径参数有误：{}", e.body_text()),
                    format!("a path parameter is wrong: {}", e.body_text()),
                ))
            })
    }
}

/// The client's address when the server knows it (not in in-process tests without
/// `X-Forwarded-For`), as decided by the envelope middleware.
pub struct ClientAddr(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<crate::ClientIp>()
                .and_then(|c| c.0.clone()),
        ))
    }
}

// --- Pages ----------------------------------------------------------------------------------------

/// The cookie that holds the language a citizen chose (`en` or `zh-CN`).
pub const LANG_COOKIE: &str = "wujing_lang";
/// The cookie that holds the text size a citizen chose (`large` or `normal`).
pub const TEXT_COOKIE: &str = "wujing_text";
/// The cookie that holds the contrast a citizen chose (`high` or `normal`).
pub const CONTRAST_COOKIE: &str = "wujing_contrast";
/// The cookie of the older-adult mode (适老化: `on` or `off`): large text, large targets and
/// fewer choices per screen.
pub const CARE_COOKIE: &str = "wujing_care";

/// Whether the caller prefers English by `Accept-Language` (`en…`); zh-CN otherwise. The JSON
/// API's language, and a page's when no language was chosen.
pub fn accepts_english(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("en"))
}

/// A page's language: the one chosen with `/lang` (the `wujing_lang` cookie), else
/// `Accept-Language`.
pub fn page_english(headers: &HeaderMap) -> bool {
    match cookie(headers, LANG_COOKIE) {
        Some(l) => l == "en",
        None => accepts_english(headers),
    }
}

/// The product's own face, for a page rendered without the request's (an error before
/// authentication).
fn default_face() -> Arc<Face> {
    static DEFAULT: std::sync::OnceLock<Arc<Face>> = std::sync::OnceLock::new();
    DEFAULT
        .get_or_init(|| {
            Arc::new(Face {
                authority: wujing_domain::authority::Authority::product_default(),
                emblem: None,
            })
        })
        .clone()
}

/// What every page needs to know about its request, extracted once: the language, the text
/// size, who is asking and, for a staff session, the CSRF token its forms echo. Templates
/// receive it as `page`.
#[derive(Clone)]
pub struct PageContext {
    pub en: bool,
    /// Large-text mode (`wujing_text=large`, or the older-adult mode).
    pub large: bool,
    /// High-contrast mode (`wujing_contrast=high`).
    pub contrast: bool,
    /// The older-adult mode (`wujing_care=on`).
    pub care: bool,
    /// Where the language and text-size switches come back to, percent-encoded for a query
    /// value: the request's path, or the step's own page for a form's answer
    /// ([`PageContext::returning_to`]).
    pub path: String,
    /// The session's CSRF token; empty without a staff session.
    pub csrf: String,
    pub principal: Principal,
    /// The authority the pages speak for (the product's default when none was configured).
    pub face: Arc<Face>,
}

impl PageContext {
    /// The context of a citizen's error page, made from the request's headers before the
    /// request ran (the authority's face comes from the app's cache).
    pub(crate) fn for_error(headers: &HeaderMap, en: bool, face: Option<Arc<Face>>) -> Self {
        Self {
            en,
            large: cookie(headers, TEXT_COOKIE) == Some("large")
                || cookie(headers, CARE_COOKIE) == Some("on"),
            contrast: cookie(headers, CONTRAST_COOKIE) == Some("high"),
            care: cookie(headers, CARE_COOKIE) == Some("on"),
            path: "%2F".into(),
            csrf: String::new(),
            principal: Principal::Anonymous,
            face: face.unwrap_or_else(default_face),
        }
    }

    fn from_parts(parts: &Parts) -> Self {
        let principal = parts
            .extensions
            .get::<Principal>()
            .cloned()
            .unwrap_or(Principal::Anonymous);
        let csrf = match &principal {
            Principal::Staff(s) => s.csrf_token.clone(),
            _ => String::new(),
        };
        let face = parts
            .extensions
            .get::<Arc<Face>>()
            .cloned()
            .unwrap_or_else(default_face);
        Self {
            en: page_english(&parts.headers),
            large: cookie(&parts.headers, TEXT_COOKIE) == Some("large")
                || cookie(&parts.headers, CARE_COOKIE) == Some("on"),
            contrast: cookie(&parts.headers, CONTRAST_COOKIE) == Some("high"),
            care: cookie(&parts.headers, CARE_COOKIE) == Some("on"),
            path: percent_encode_path(parts.uri.path()),
            csrf,
            principal,
            face,
        }
    }

    /// The authority's name in the page's language.
    pub fn authority(&self) -> &str {
        let a = &self.face.authority;
        self.t(&a.name_zh, &a.name_en)
    }

    /// The service hotline.
    pub fn hotline(&self) -> &str {
        &self.face.authority.hotline
    }

    /// What to do instead when a rule refuses with `code`, in the page's language; empty when
    /// the rule has no better way than the hall's information desk or the hotline.
    pub fn advice(&self, code: &str) -> &'static str {
        wujing_domain::eligibility::advice(code)
            .map_or("", |(zh, en)| if self.en { en } else { zh })
    }

    /// The classes of a portal page's body: its display modes.
    pub fn body_class(&self) -> String {
        [
            (self.large, "large"),
            (self.contrast, "contrast"),
            (self.care, "care"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, c)| *c)
        .collect::<Vec<_>>()
        .join(" ")
    }

    /// The site filing number; empty when none is shown.
    pub fn filing_number(&self) -> &str {
        &self.face.authority.filing_number
    }

    /// The emblem's address (it changes with the image), if the operator supplied one.
    pub fn emblem_url(&self) -> Option<String> {
        self.face
            .emblem
            .as_ref()
            .map(|e| format!("/emblem?v={}", e.version))
    }

    /// The same page context, with the switches coming back to `path` (a form's answer cannot
    /// be fetched again: its step's page can).
    pub fn returning_to(mut self, path: &str) -> Self {
        self.path = percent_encode_path(path);
        self
    }

    /// The text in the page's language.
    pub fn t<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        if self.en {
            en
        } else {
            zh
        }
    }

    /// The page's language as a tag (`en`, `zh-CN`).
    pub fn lang(&self) -> &'static str {
        if self.en {
            "en"
        } else {
            "zh-CN"
        }
    }

    /// The signed-in staff member's display name; empty otherwise.
    pub fn who(&self) -> &str {
        match &self.principal {
            Principal::Staff(s) => &s.display_name,
            _ => "",
        }
    }

    /// Whether the staff nav offers the production page (producers and administrators).
    pub fn can_produce(&self) -> bool {
        matches!(self.principal, Principal::Staff(_))
            && wujing_app::authz::permits(&self.principal, wujing_app::Action::Produce, None)
    }

    /// Whether the staff nav offers the accommodation worklist (a police station's officers
    /// and leaders, administrators).
    pub fn can_lodging(&self) -> bool {
        matches!(self.principal, Principal::Staff(_))
            && wujing_app::authz::permits(&self.principal, wujing_app::Action::Lodging, None)
    }

    /// Whether the staff nav offers the station's hotels (its hall manager and leaders).
    pub fn can_manage_hotels(&self) -> bool {
        matches!(self.principal, Principal::Staff(_))
            && wujing_app::authz::permits(&self.principal, wujing_app::Action::ManageHotels, None)
    }

    /// An error's message in the page's language.
    pub fn message(&self, e: &AppError) -> String {
        e.message(self.en).to_string()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PageContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_parts(parts))
    }
}

/// `s` percent-encoded for a query value or a path segment: all but `A-Z a-z 0-9 - _ . ~`.
pub(crate) fn percent_encode(s: &str) -> String {
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

/// A path as a query value, its slashes left readable.
fn percent_encode_path(p: &str) -> String {
    percent_encode(p).replace("%2F", "/")
}

/// A urlencoded HTML form deserialised into `T`; a key repeated (a list of checkboxes) fills a
/// `Vec` field. A form that does not fit `T` (a field missing, a number that is not one, an
/// unknown `op`) is refused as `body_invalid` before the handler runs, so nothing is written;
/// the envelope shows it as the error page. A handler whose errors go back to its page as a
/// message takes `Result<PageForm<T>, ApiError>` and does that instead.
///
/// The content type is not checked, as browsers always send forms urlencoded: another body
/// only lacks the fields.
pub struct PageForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for PageForm<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        // The router's body limit bounds the read; running over it is its 413.
        let bytes = axum::body::to_bytes(req.into_body(), usize::MAX)
            .await
            .map_err(|e| {
                ApiError(if over_limit(&e) {
                    crate::payload_too_large()
                } else {
                    AppError::from(Code::BodyInvalid)
                })
            })?;
        let decoded = percent_encoding::percent_decode(&bytes).decode_utf8_lossy();
        if let Some(c) = wujing_domain::text::forbidden_char(&decoded) {
            return Err(ApiError(AppError::text_invalid(c)));
        }
        from_urlencoded(&bytes).map(Self).map_err(|detail| {
            ApiError(AppError::new(
                Code::BodyInvalid,
                format!("表单填写有误，请返回检查后重试（{detail}）"),
                format!("the form is not filled in correctly; go back, check it and try again ({detail})"),
            ))
        })
    }
}

/// Whether reading a body failed on the length limit (the router's, or a reader's own).
pub(crate) fn over_limit(e: &axum::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// A page's query string deserialised into `T`, with the same rules as [`PageForm`] (an empty
/// value of an optional number is absent); one that does not fit is refused as
/// `query_invalid`, shown as the error page.
pub struct PageQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for PageQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        from_urlencoded(parts.uri.query().unwrap_or("").as_bytes())
            .map(Self)
            .map_err(|detail| {
                ApiError(AppError::new(
                    Code::QueryInvalid,
                    format!("查询参数有误：{detail}"),
                    format!("a query parameter is wrong: {detail}"),
                ))
            })
    }
}

/// `T` from urlencoded text; the error names the field that did not fit.
pub(crate) fn from_urlencoded<T: DeserializeOwned>(text: &[u8]) -> Result<T, String> {
    serde_path_to_error::deserialize(serde_html_form::Deserializer::from_bytes(text)).map_err(|e| {
        match e.path().to_string() {
            p if p.is_empty() || p == "." => e.inner().to_string(),
            p => format!("{p}: {}", e.inner()),
        }
    })
}

/// For a form field parsed from its text (a number, `true`/`false`) inside an `op`-tagged or
/// flattened enum, where serde hands every value over as text:
/// `#[serde(deserialize_with = "parsed")]`.
pub(crate) fn parsed<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: Display,
{
    let text = String::deserialize(d)?;
    text.trim()
        .parse()
        .map_err(|e| D::Error::custom(format_args!("\"{text}\": {e}")))
}

/// For a list of checkboxes inside an `op`-tagged or flattened enum, where one box ticked
/// arrives as a single value and several as a sequence: `#[serde(default, deserialize_with =
/// "list")]`.
pub(crate) fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(v) => vec![v],
        OneOrMany::Many(v) => v,
    })
}

/// The post/redirect/get message a staff page shows once: `?kind=ok|error&msg=…`.
#[derive(Deserialize, Default)]
pub struct Flash {
    #[serde(default)]
    pub msg: String,
    #[serde(default)]
    pub kind: String,
}

impl Flash {
    /// `(message, kind)` for a template: the message cut to 300 characters, the kind `ok` or
    /// `error`.
    pub fn shown(&self) -> (String, String) {
        let kind = if self.kind == "ok" { "ok" } else { "error" };
        (self.msg.chars().take(300).collect(), kind.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug, PartialEq)]
    struct Boxes {
        #[serde(default)]
        reason: Vec<String>,
        score: String,
    }

    #[test]
    fn repeated_keys_fill_a_list_and_one_key_is_a_list_of_one() {
        let f: Boxes = from_urlencoded(b"reason=slow&score=unsatisfied&reason=rude").unwrap();
        assert_eq!(f.reason, ["slow", "rude"]);
        let f: Boxes = from_urlencoded(b"reason=slow&score=basic").unwrap();
        assert_eq!(f.reason, ["slow"]);
        let f: Boxes = from_urlencoded(b"score=basic").unwrap();
        assert!(f.reason.is_empty());
    }

    #[test]
    fn a_missing_or_malformed_field_is_named() {
        let e = from_urlencoded::<Boxes>(b"reason=slow").unwrap_err();
        assert!(e.contains("score"), "{e}");
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct Hold {
            slot_id: i64,
        }
        let e = from_urlencoded::<Hold>(b"slot_id=abc").unwrap_err();
        assert!(e.starts_with("slot_id: "), "{e}");
    }

    #[derive(Deserialize, Debug, PartialEq)]
    struct Console {
        #[serde(default)]
        ticket: i64,
        #[serde(flatten)]
        op: Op,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(tag = "op", rename_all = "snake_case")]
    enum Op {
        Next,
        Accept {
            #[serde(default, deserialize_with = "list")]
            present: Vec<String>,
        },
        Window {
            #[serde(deserialize_with = "parsed")]
            number: u32,
            #[serde(default, deserialize_with = "parsed")]
            closed: bool,
        },
    }

    #[test]
    fn op_tagged_forms_take_lists_numbers_and_ignore_the_csrf_field() {
        let f: Console = from_urlencoded(b"csrf=t&op=next").unwrap();
        assert_eq!(
            f,
            Console {
                ticket: 0,
                op: Op::Next
            }
        );
        let f: Console = from_urlencoded(
            "csrf=t&ticket=7&op=accept&present=%E7%85%A7%E7%89%87&present=b".as_bytes(),
        )
        .unwrap();
        assert_eq!(
            f.op,
            Op::Accept {
                present: vec!["照片".into(), "b".into()]
            }
        );
        assert_eq!(f.ticket, 7);
        let f: Console = from_urlencoded(b"ticket=7&op=accept&present=b").unwrap();
        assert_eq!(
            f.op,
            Op::Accept {
                present: vec!["b".into()]
            }
        );
        let f: Console = from_urlencoded(b"ticket=7&op=accept").unwrap();
        assert_eq!(f.op, Op::Accept { present: vec![] });
        let f: Console = from_urlencoded(b"op=window&number=+12+&closed=true").unwrap();
        assert_eq!(
            f.op,
            Op::Window {
                number: 12,
                closed: true
            }
        );
        assert!(from_urlencoded::<Console>(b"op=window&number=x").is_err());
        assert!(from_urlencoded::<Console>(b"op=window").is_err());
        assert!(from_urlencoded::<Console>(b"op=launch").is_err());
        assert!(from_urlencoded::<Console>(b"ticket=1").is_err());
    }

    #[test]
    fn an_empty_optional_date_is_absent() {
        #[derive(Deserialize)]
        struct Q {
            #[serde(default, deserialize_with = "serde_html_form::de::empty_as_none")]
            day: Option<chrono::NaiveDate>,
            #[serde(flatten)]
            flash: Flash,
        }
        let q: Q = from_urlencoded(b"day=&msg=%E5%B7%B2%E4%BF%9D%E5%AD%98&kind=ok").unwrap();
        assert_eq!(q.day, None);
        assert_eq!(q.flash.shown(), ("已保存".to_string(), "ok".to_string()));
        let q: Q = from_urlencoded(b"day=2026-12-02").unwrap();
        assert_eq!(q.day, chrono::NaiveDate::from_ymd_opt(2026, 12, 2));
        assert_eq!(q.flash.shown().1, "error");
        assert!(from_urlencoded::<Q>(b"day=tomorrow").is_err());
    }

    #[test]
    fn the_page_path_is_a_readable_query_value() {
        assert_eq!(
            percent_encode_path("/book/passport_first"),
            "/book/passport_first"
        );
        assert_eq!(
            percent_encode_path("/slip/AB12?k=x&y"),
            "/slip/AB12%3Fk%3Dx%26y"
        );
        assert_eq!(percent_encode("a/b c"), "a%2Fb%20c");
    }
}
