//! Foreigners at the counter (issue 14 §2): the passport renewal link an officer records, as
//! the staff API `POST /api/v1/halls/{id}/passport-links` and the small page
//! `/staff/halls/{id}/passports` (a plain form; the counter console links to it). The portal's
//! foreigner pages are in `portal/foreign.rs`.

use crate::extract::{ApiJson, ApiPath, ClientAddr, PageContext, PageForm};
use crate::pages::render;
use crate::{ApiError, ApiResult, AppState};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Extension, Json};
use serde::Deserialize;
use wujing_app::foreign::{PassportLinkInput, PassportLinkView};
use wujing_app::Principal;

/// Records that a foreigner's new passport replaces the old one (same nationality and birth
/// date); from then on one active booking per business holds across both, and the history is
/// read through both. Audited (`foreign.passport_link`).
#[utoipa::path(post, path = "/api/v1/halls/{id}/passport-links", tag = "foreigners", security(("session" = [], "csrf" = [])),
    params(("id" = String, Path, description = "The counter's hall")),
    request_body = PassportLinkInput,
    responses((status = 201, body = PassportLinkView),
              (status = 400, description = "`nationality_invalid`, `passport_number_invalid`, `birth_date_invalid`, `passport_link_same`"),
              (status = 403, description = "`forbidden`: not a counter of this hall"),
              (status = 409, description = "`passport_already_linked` (the new passport is in a link already), `passport_link_conflict` (both passports have an active booking of one business)")))]
pub async fn api_link(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiPath(hall): ApiPath<String>,
    ApiJson(i): ApiJson<PassportLinkInput>,
) -> ApiResult<(StatusCode, Json<PassportLinkView>)> {
    let v = s.app.link_passports(&p, &hall, addr.as_deref(), &i).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

#[derive(Deserialize, Default, Clone)]
pub struct LinkForm {
    #[serde(default)]
    nationality: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    old_passport_number: String,
    #[serde(default)]
    new_passport_number: String,
}

#[derive(Template)]
#[template(path = "foreign_link.html")]
struct LinkPage {
    page: PageContext,
    hall: String,
    msg: String,
    msg_kind: &'static str,
    f: LinkForm,
    done: Option<PassportLinkView>,
    nationalities: Vec<(&'static str, &'static str)>,
}

fn link_page(
    page: PageContext,
    hall: String,
    f: LinkForm,
    msg: String,
    msg_kind: &'static str,
    done: Option<PassportLinkView>,
) -> Response {
    render(&LinkPage {
        page,
        hall,
        msg,
        msg_kind,
        f,
        done,
        nationalities: wujing_domain::foreign::nationalities(),
    })
}

pub async fn page(
    State(s): State<AppState>,
    page: PageContext,
    Path(hall): Path<String>,
) -> ApiResult<Response> {
    s.app
        .require(&page.principal, wujing_app::Action::Counter, Some(&hall))?;
    Ok(link_page(
        page,
        hall,
        LinkForm::default(),
        String::new(),
        "",
        None,
    ))
}

pub async fn submit(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    Path(hall): Path<String>,
    form: Result<PageForm<LinkForm>, ApiError>,
) -> ApiResult<Response> {
    let f = match form {
        Ok(PageForm(f)) => f,
        Err(e) => {
            let msg = page.message(&e.0);
            return Ok(link_page(
                page,
                hall,
                LinkForm::default(),
                msg,
                "error",
                None,
            ));
        }
    };
    let Ok(birth_date) = chrono::NaiveDate::parse_from_str(f.birth_date.trim(), "%Y-%m-%d") else {
        let msg = page.message(&wujing_app::Code::BirthDateRequired.into());
        return Ok(link_page(page, hall, f, msg, "error", None));
    };
    let input = PassportLinkInput {
        nationality: f.nationality.clone(),
        birth_date,
        old_passport_number: f.old_passport_number.clone(),
        new_passport_number: f.new_passport_number.clone(),
    };
    match s
        .app
        .link_passports(&page.principal, &hall, addr.as_deref(), &input)
        .await
    {
        Ok(v) => {
            let msg = format!(
                "已登记：{} 换发为 {}。Recorded: {} replaces {}.",
                v.new_passport_number,
                v.old_passport_number,
                v.new_passport_number,
                v.old_passport_number
            );
            Ok(link_page(
                page,
                hall,
                LinkForm::default(),
                msg,
                "ok",
                Some(v),
            ))
        }
        Err(e) if e.kind == wujing_app::ErrorKind::Internal => Err(e.into()),
        Err(e) if e.kind == wujing_app::ErrorKind::Forbidden => Err(e.into()),
        Err(e) => {
            let msg = e.message(false).to_string() + " · " + e.message(true);
            Ok(link_page(page, hall, f, msg, "error", None))
        }
    }
}
