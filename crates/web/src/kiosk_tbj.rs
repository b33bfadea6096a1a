//! 填表机 (tbj, issue 17): the form machine's mode page at `/kiosk/tbj` and its action, the
//! application form filled from the card or passport read (docs/KIOSK.md §7.5). The use case
//! (`wujing_app::kiosk_tbj`) checks and renders; the page sends the PDF to the bridge's printer.

use crate::extract::{ApiJson, PageContext, PageQuery};
use crate::kiosk::{KioskQuery, Shell};
use crate::kiosk_yyj::Offered;
use crate::pages::render;
use crate::{ApiResult, AppState};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::{Extension, Json};
use wujing_app::kiosk_tbj::{KioskForm, KioskFormInput};
use wujing_app::Principal;

/// The application form filled from the ID card (name, number) or the passport's zone (checked
/// here), with the phone typed; answered as a PDF for the printer. Nothing is stored.
#[utoipa::path(post, path = "/api/v1/kiosk/tbj/forms", tag = "kiosk", security(("device" = [])),
    request_body = KioskFormInput,
    responses((status = 200, body = KioskForm),
              (status = 400, description = "`body_invalid` (neither or both of the card and the zone), `phone_invalid`, an identity number's code"),
              (status = 422, description = "`mrz_check_failed` (read the passport again), another `mrz_…`, `unknown_business`"),
              (status = 503, description = "`form_unavailable`")))]
pub async fn api_form(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiJson(input): ApiJson<KioskFormInput>,
) -> ApiResult<Json<KioskForm>> {
    Ok(Json(s.app.kiosk_form(&p, &input).await?))
}

#[derive(askama::Template)]
#[template(path = "kiosk_tbj.html")]
struct TbjPage {
    shell: Shell,
    /// The hall's businesses, with their group (`citizen` for a card, `foreigner` for a
    /// passport).
    businesses: Vec<(Offered, String)>,
}

impl TbjPage {
    fn t(&self, zh: &str, en: &str) -> String {
        self.shell.t(zh, en)
    }
}

/// The form machine's screen: the document, the business, the phone, the printed form.
pub async fn page(
    State(s): State<AppState>,
    page: PageContext,
    headers: HeaderMap,
    PageQuery(q): PageQuery<KioskQuery>,
) -> Response {
    let p = &page.principal;
    let shell = Shell::new(&s, p, &q, &headers, "/kiosk/tbj").await;
    let hall = match p {
        Principal::Device(d) => s.app.hall(&d.hall_id).await.ok(),
        _ => None,
    };
    let businesses = hall.as_ref().map_or_else(Vec::new, |h| {
        s.app
            .businesses()
            .into_iter()
            .filter(|b| h.businesses.contains(&b.code) && !b.suspended)
            .map(|b| {
                (
                    Offered {
                        code: b.code,
                        name_zh: b.name_zh,
                        name_en: b.name_en,
                    },
                    b.group,
                )
            })
            .collect()
    });
    crate::with_kiosk_policy(render(&TbjPage { shell, businesses }))
}
