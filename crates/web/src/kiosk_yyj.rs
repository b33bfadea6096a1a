//! 预约机 (yyj, issue 17): the appointment machine's mode page at `/kiosk/yyj` and its JSON
//! actions — this hall's free seats of a day, and the booking with its slip (docs/KIOSK.md
//! §7.8). The use cases (`wujing_app::kiosk_yyj`) decide everything; the booking is the
//! portal's, on the device's channel.

use crate::extract::{ApiJson, ApiQuery, ClientAddr, PageContext, PageQuery};
use crate::kiosk::{KioskQuery, Shell};
use crate::pages::render;
use crate::ApiResult;
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Json};
use wujing_app::kiosk_yyj::{KioskBookInput, KioskBooking, KioskSlots, KioskSlotsQuery};
use wujing_app::Principal;

/// This hall's free seats of one day (today to six days ahead) for a business.
#[utoipa::path(get, path = "/api/v1/kiosk/yyj/slots", tag = "kiosk", security(("device" = [])),
    params(KioskSlotsQuery),
    responses((status = 200, body = KioskSlots),
              (status = 400, description = "`date_range_invalid` (not within the seven days)"),
              (status = 422, description = "`unknown_business`")))]
pub async fn api_slots(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiQuery(q): ApiQuery<KioskSlotsQuery>,
) -> ApiResult<Json<KioskSlots>> {
    Ok(Json(s.app.kiosk_slots(&p, &q).await?))
}

/// Books a seat of this hall for the citizen whose card was read (the portal's hold and
/// confirmation, on the machine's channel); the answer carries the slip as a PDF.
#[utoipa::path(post, path = "/api/v1/kiosk/yyj/bookings", tag = "kiosk", security(("device" = [])),
    request_body = KioskBookInput,
    responses((status = 201, body = KioskBooking),
              (status = 404, description = "`slot_not_found`"),
              (status = 409, description = "`slot_full`, `already_booked`"),
              (status = 422, description = "`slot_not_at_site`, `not_eligible`, `phone_invalid`, `phone_code_required`, `unknown_business`"),
              (status = 429, description = "a booking limit")))]
pub async fn api_book(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ClientAddr(addr): ClientAddr,
    ApiJson(input): ApiJson<KioskBookInput>,
) -> ApiResult<(StatusCode, Json<KioskBooking>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.kiosk_book(&p, addr.as_deref(), &input).await?),
    ))
}

/// One business the machine offers.
pub struct Offered {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}

#[derive(askama::Template)]
#[template(path = "kiosk_yyj.html")]
struct YyjPage {
    shell: Shell,
    /// A device of another kind, or staff: the page says whose it is and offers nothing.
    mine: bool,
    businesses: Vec<Offered>,
    /// The days offered, `YYYY-MM-DD` and as shown (`12-02 周三`).
    days: Vec<(String, String)>,
    /// The server requires the code sent to the phone (as on the portal).
    phone_code: bool,
}

impl YyjPage {
    fn t(&self, zh: &str, en: &str) -> String {
        self.shell.t(zh, en)
    }
}

const WEEKDAYS: [(&str, &str); 7] = [
    ("周一", "Mon"),
    ("周二", "Tue"),
    ("周三", "Wed"),
    ("周四", "Thu"),
    ("周五", "Fri"),
    ("周六", "Sat"),
    ("周日", "Sun"),
];

/// The appointment machine's screen: card, business, day and time, phone, slip. The hall's
/// resident businesses with one fee and no options are offered (a business with an option
/// menu, an endorsement, is chosen at the portal or the counter, where its questions are
/// asked); foreigners book on the portal (the machine reads resident cards).
pub async fn page(
    State(s): State<AppState>,
    page: PageContext,
    headers: HeaderMap,
    PageQuery(q): PageQuery<KioskQuery>,
) -> Response {
    use chrono::Datelike;
    let p = &page.principal;
    let shell = Shell::new(&s, p, &q, &headers, "/kiosk/yyj").await;
    let hall = match p {
        Principal::Device(d) => s.app.hall(&d.hall_id).await.ok(),
        _ => None,
    };
    let businesses = hall.as_ref().map_or_else(Vec::new, |h| {
        s.app
            .businesses()
            .into_iter()
            .filter(|b| {
                h.businesses.contains(&b.code)
                    && b.group == "citizen"
                    && b.options.is_empty()
                    && !b.suspended
            })
            .map(|b| Offered {
                code: b.code,
                name_zh: b.name_zh,
                name_en: b.name_en,
            })
            .collect()
    });
    let days = s
        .app
        .kiosk_booking_days()
        .into_iter()
        .map(|d| {
            let (zh, en) = WEEKDAYS[d.weekday().num_days_from_monday() as usize];
            (
                d.to_string(),
                format!("{} {}", d.format("%m-%d"), shell.t(zh, en)),
            )
        })
        .collect();
    crate::with_kiosk_policy(render(&YyjPage {
        mine: hall.is_some(),
        shell,
        businesses,
        days,
        phone_code: s.app.config.require_phone_code,
    }))
}
