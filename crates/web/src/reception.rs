//! The reception desk (咨询台) of a hall (issue 15 §12): checking a citizen in by the identity
//! number (with the booking code if they have it) and issuing walk-in numbers, on one page.
//! The answers are drawn on the page itself (a POST), so that no identity number sits in an
//! address or an access log; the use cases decide and audit everything.

use crate::extract::{ApiPath, ClientAddr, PageContext, PageForm};
use crate::pages::render;
use crate::{ApiError, ApiResult, AppState};
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use wujing_app::hall::{CheckInInput, TicketView, WalkInInput};
use wujing_app::AppError;

#[derive(Template)]
#[template(path = "reception.html")]
struct ReceptionPage {
    page: PageContext,
    msg: String,
    msg_kind: String,
    hall: String,
    hall_name: String,
    /// The businesses this site offers: code and Chinese name.
    businesses: Vec<(String, String)>,
    /// The ticket just issued, with its business's name.
    ticket: Option<(TicketView, String)>,
    /// Every reason a walk-in was refused, in Chinese.
    reasons: Vec<String>,
    /// The walk-in form as typed, when it comes back refused.
    form: ReceptionForm,
}

/// Both of the page's forms: `op` says which.
#[derive(Deserialize, Default, Clone)]
pub struct ReceptionForm {
    #[serde(default)]
    op: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    business: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    renewal_reason: String,
    #[serde(default)]
    option: String,
}

impl ReceptionPage {
    fn chosen(&self, code: &str) -> bool {
        self.form.business == code
    }
}

async fn page_for(
    s: &AppState,
    page: PageContext,
    hall: String,
    form: ReceptionForm,
) -> ApiResult<ReceptionPage> {
    let h = s.app.hall(&hall).await?;
    let businesses = s
        .app
        .catalogue
        .businesses()
        .filter(|b| h.businesses.iter().any(|x| x == &b.code))
        .map(|b| (b.code.clone(), b.name_zh.clone()))
        .collect();
    Ok(ReceptionPage {
        page,
        msg: String::new(),
        msg_kind: String::new(),
        hall,
        hall_name: h.name_zh,
        businesses,
        ticket: None,
        reasons: vec![],
        form,
    })
}

pub async fn reception_page(
    State(s): State<AppState>,
    page: PageContext,
    ApiPath(hall): ApiPath<String>,
) -> ApiResult<Response> {
    // A staff desk (a kiosk checks in on its own screen): the counter's right at this hall.
    if !wujing_app::authz::permits(&page.principal, wujing_app::Action::Counter, Some(&hall)) {
        return Err(AppError::from(wujing_app::Code::Forbidden).into());
    }
    Ok(render(
        &page_for(&s, page, hall, ReceptionForm::default()).await?,
    ))
}

pub async fn reception_submit(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    ApiPath(hall): ApiPath<String>,
    form: Result<PageForm<ReceptionForm>, ApiError>,
) -> ApiResult<Response> {
    let f = form.map(|PageForm(f)| f).unwrap_or_default();
    let p = page.principal.clone();
    let result = match f.op.as_str() {
        "walk_in" => {
            let mut answers = wujing_domain::Answers::default();
            if !f.renewal_reason.is_empty() {
                answers.renewal_reason = Some(f.renewal_reason.clone());
            }
            if !f.option.trim().is_empty() {
                answers.option = Some(f.option.trim().to_string());
            }
            s.app
                .walk_in(
                    &p,
                    &hall,
                    addr.as_deref(),
                    &WalkInInput {
                        business: f.business.clone(),
                        name: f.name.clone(),
                        id_type: None,
                        id_number: f.id_number.clone(),
                        nationality: None,
                        birth_date: None,
                        answers,
                    },
                )
                .await
        }
        _ => {
            s.app
                .check_in(
                    &p,
                    &hall,
                    addr.as_deref(),
                    &CheckInInput {
                        code: f.code.clone(),
                        id_number: f.id_number.clone(),
                    },
                )
                .await
        }
    };
    let walk_in = f.op == "walk_in";
    let mut shown = page_for(&s, page, hall, ReceptionForm::default()).await?;
    match result {
        Ok(t) => {
            let name = s
                .app
                .catalogue
                .business(&t.business)
                .map_or_else(|| t.business.clone(), |b| b.name_zh.clone());
            shown.msg = format!("已发号 {}", t.label);
            shown.msg_kind = "ok".into();
            shown.ticket = Some((t, name));
        }
        Err(e) => {
            shown.msg = shown.page.message(&e);
            shown.msg_kind = "error".into();
            shown.reasons = reasons_of(&e);
            if walk_in {
                // The walk-in form comes back as typed (but for the identity number, which the
                // officer types again rather than see echoed on a screen the citizen faces).
                shown.form = ReceptionForm {
                    id_number: String::new(),
                    ..f
                };
            }
        }
    }
    Ok(render(&shown).into_response())
}

/// The reasons of a `not_eligible` answer, in Chinese.
fn reasons_of(e: &AppError) -> Vec<String> {
    e.details
        .as_ref()
        .and_then(|d| serde_json::from_str::<serde_json::Value>(d.get()).ok())
        .and_then(|d| d["reasons"].as_array().cloned())
        .map(|rs| {
            rs.iter()
                .filter_map(|r| r["message_zh"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
