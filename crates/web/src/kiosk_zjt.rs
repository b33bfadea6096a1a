//! 证件通 (zjt, issue 17): the passport machine's mode page at `/kiosk/zjt` and its actions —
//! a zone read and checked, a foreigner's check-in by passport, and a private-home
//! accommodation registration (docs/KIOSK.md §7.4). The use cases (`wujing_app::kiosk_zjt`)
//! check and decide; the page drives the bridge's readers and printer.

use crate::extract::{ApiJson, ClientAddr, PageContext, PageQuery};
use crate::kiosk::{KioskQuery, Shell};
use crate::pages::render;
use crate::{ApiResult, AppState};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Json};
use wujing_app::kiosk_zjt::{
    ZjtCheckIn, ZjtCheckInInput, ZjtLodgingInput, ZjtRead, ZjtReadInput, ZjtReceipt,
};
use wujing_app::Principal;

/// Reads and checks a zone (the passport's photo page, or a visa in it) and answers it masked
/// for the screen. Nothing is stored.
#[utoipa::path(post, path = "/api/v1/kiosk/zjt/read", tag = "kiosk", security(("device" = [])),
    request_body = ZjtReadInput,
    responses((status = 200, body = ZjtRead),
              (status = 422, description = "`mrz_check_failed` (read the passport again), `mrz_wrong_page`, another `mrz_…`")))]
pub async fn api_read(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiJson(input): ApiJson<ZjtReadInput>,
) -> ApiResult<Json<ZjtRead>> {
    Ok(Json(s.app.zjt_read(&p, &input).await?))
}

/// Checks in today's booking at this hall of the foreigner whose passport was read (through
/// every passport linked to them), as the check-in kiosk does; the ticket comes with its PDF.
#[utoipa::path(post, path = "/api/v1/kiosk/zjt/checkins", tag = "kiosk", security(("device" = [])),
    request_body = ZjtCheckInInput,
    responses((status = 201, body = ZjtCheckIn),
              (status = 404, description = "`booking_not_found` (none today here: book on the portal's pages for foreigners, or ask at the information desk)"),
              (status = 409, description = "`already_checked_in`, `booking_not_active`, `checkin_too_early` (with the time it opens), `checkin_too_late`"),
              (status = 422, description = "`mrz_check_failed`, `mrz_wrong_page`, another `mrz_…`, a passport identity's code")))]
pub async fn api_check_in(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(input): ApiJson<ZjtCheckInInput>,
) -> ApiResult<(StatusCode, Json<ZjtCheckIn>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.zjt_check_in(&p, addr.as_deref(), &input).await?),
    ))
}

/// Registers a foreigner's stay at a private home: the guest from the passport (and visa)
/// zones, the host read or typed, through the online host registration's use case; answers
/// the reference and code (once) with a receipt PDF.
#[utoipa::path(post, path = "/api/v1/kiosk/zjt/lodging", tag = "kiosk", security(("device" = [])),
    request_body = ZjtLodgingInput,
    responses((status = 201, body = ZjtReceipt),
              (status = 422, description = "`lodging_invalid` with every problem (`details.problems`: field, code, zh, en), `lodging_site_invalid`, `mrz_check_failed`, `mrz_wrong_page`, another `mrz_…`"),
              (status = 429, description = "`rate_limited`")))]
pub async fn api_lodging(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(input): ApiJson<ZjtLodgingInput>,
) -> ApiResult<(StatusCode, Json<ZjtReceipt>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.zjt_register(&p, addr.as_deref(), &input).await?),
    ))
}

/// The kinds of visa or permit, as the screen's buttons name them (`lodging::VISA_KINDS`).
const VISA_KINDS: &[(&str, &str, &str)] = &[
    ("L", "L 旅游", "L tourism"),
    ("F", "F 交流访问", "F visit"),
    ("M", "M 商贸", "M business"),
    ("Z", "Z 工作", "Z work"),
    ("X", "X 学习", "X study"),
    ("Q1", "Q1 团聚", "Q1 family reunion"),
    ("Q2", "Q2 探亲", "Q2 family visit"),
    ("S1", "S1 私人事务（长期）", "S1 private affairs (long)"),
    ("S2", "S2 私人事务（短期）", "S2 private affairs (short)"),
    ("G", "G 过境", "G transit"),
    ("C", "C 乘务", "C crew"),
    ("J1", "J1 常驻记者", "J1 resident journalist"),
    ("J2", "J2 临时记者", "J2 journalist"),
    ("R", "R 人才", "R talent"),
    ("D", "D 永久居留", "D permanent residence"),
    ("residence", "居留许可", "Residence permit"),
    ("stay_permit", "停留证件", "Stay permit"),
    ("visa_free", "免签入境", "Visa-free entry"),
    ("other", "其他", "Other"),
];

#[derive(askama::Template)]
#[template(path = "kiosk_zjt.html")]
struct ZjtPage {
    shell: Shell,
    /// A device of another kind, or staff: the page says whose it is.
    mine: bool,
    /// The police stations (id, Chinese and English names).
    stations: Vec<(String, String, String)>,
    /// The kinds of visa or permit: (code, Chinese, English).
    visa_kinds: Vec<(String, String, String)>,
    /// The days offered as the check-in day, today first: (`YYYY-MM-DD`, as shown).
    days: Vec<(String, String)>,
}

impl ZjtPage {
    fn t(&self, zh: &str, en: &str) -> String {
        self.shell.t(zh, en)
    }
}

/// The passport machine's screen: check in with the passport, or register a stay at a
/// private home.
pub async fn page(
    State(s): State<AppState>,
    page: PageContext,
    headers: HeaderMap,
    PageQuery(q): PageQuery<KioskQuery>,
) -> Response {
    let p = &page.principal;
    let shell = Shell::new(&s, p, &q, &headers, "/kiosk/zjt").await;
    let stations = s.app.police_stations().await.unwrap_or_default();
    let today = s.app.clock.today();
    let days = (0..7)
        .map(|back| {
            let d = today - chrono::TimeDelta::days(back);
            let shown = match back {
                0 => shell.t("今天", "Today"),
                1 => shell.t("昨天", "Yesterday"),
                _ => d.format("%m-%d").to_string(),
            };
            (d.to_string(), shown)
        })
        .collect();
    crate::with_kiosk_policy(render(&ZjtPage {
        mine: matches!(p, Principal::Device(_)),
        shell,
        stations,
        visa_kinds: VISA_KINDS
            .iter()
            .map(|(c, zh, en)| (c.to_string(), zh.to_string(), en.to_string()))
            .collect(),
        days,
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_buttons_name_every_visa_kind_of_the_rules() {
        let shown: Vec<&str> = super::VISA_KINDS.iter().map(|(c, _, _)| *c).collect();
        for k in wujing_domain::lodging::VISA_KINDS {
            assert!(shown.contains(k), "{k} has no button");
        }
        assert_eq!(shown.len(), wujing_domain::lodging::VISA_KINDS.len());
    }
}
