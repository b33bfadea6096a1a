//! The capacity advisor's page (`/staff/capacity`, issue 18 §3): for one hall the caller
//! watches, each coming day's hours with the booked load, windows needed against planned, the
//! expected wait and visit, the measured service times and the suggested pool change. The
//! figures come from `App::capacity`; this module only formats them.

use crate::extract::{PageContext, PageQuery};
use crate::pages::render;
use crate::ApiResult;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use wujing_app::capacity::{BusinessService, PoolChange};

#[derive(Deserialize)]
pub struct CapacityQuery {
    #[serde(default)]
    hall: String,
}

/// One hour as the page writes it.
struct HourRow {
    hour: String,
    booked: u32,
    expected: String,
    seats: u32,
    service: String,
    planned: u32,
    needed: u32,
    /// The windows against those needed, in words: "缺 2 short 2", "富余 1 spare 1", "持平".
    windows_words: String,
    short: bool,
    wait: String,
    within: String,
    visit: String,
    over_promise: bool,
    carry: String,
    /// The arrivals expected if every seat is taken (the reserved seats counted at the share
    /// the model assumes used).
    if_full: String,
    /// What the windows carry less the arrivals if every seat is taken, signed: "−7" (the
    /// windows would not keep up), "+3", "0".
    margin: String,
    over_seats: bool,
}

struct DayBlock {
    day: String,
    weekday_zh: &'static str,
    weekday_en: String,
    short_hours: u32,
    most_short: i64,
    /// Hours whose seats, all taken, bring more than the windows carry at the target.
    over_seat_hours: usize,
    hours: Vec<HourRow>,
}

#[derive(Template)]
#[template(path = "capacity.html")]
struct CapacityPage {
    page: PageContext,
    msg: String,
    msg_kind: String,
    within: String,
    share: String,
    promise: String,
    halls: Vec<(String, String, String)>,
    chosen: String,
    name_zh: String,
    name_en: String,
    windows: u32,
    slot_minutes: u32,
    services: Vec<(BusinessService, String, String)>,
    seats_now: u32,
    seats_at_target: u32,
    pool_changes: Vec<PoolChange>,
    days: Vec<DayBlock>,
    has_hall: bool,
    /// The share of walk-in and expedite seats the model assumes used, in percent.
    reserved_pct: String,
}

impl CapacityPage {
    /// A pool's code in words.
    fn words(&self, code: &str) -> String {
        crate::labels::staff_words(code, self.page.en)
    }
}

fn minutes(v: Option<f64>) -> String {
    v.map_or_else(|| "∞".to_string(), |m| format!("{m:.1}"))
}

const WEEKDAYS_ZH: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];

pub async fn page(
    State(s): State<AppState>,
    page: PageContext,
    PageQuery(q): PageQuery<CapacityQuery>,
) -> ApiResult<Response> {
    let hall = Some(q.hall.trim()).filter(|h| !h.is_empty());
    let r = s.app.capacity(&page.principal, hall).await?;
    let promise = r.visit_minutes;
    let (chosen, name_zh, name_en, windows, slot_minutes) =
        r.hall.as_ref().map_or_else(Default::default, |h| {
            (
                h.hall_id.clone(),
                h.name_zh.clone(),
                h.name_en.clone(),
                h.windows,
                h.slot_minutes,
            )
        });
    let h = r.hall;
    Ok(render(&CapacityPage {
        page,
        msg: String::new(),
        msg_kind: String::new(),
        within: format!("{:.0}", r.within_minutes),
        share: format!("{:.0}", r.share * 100.0),
        promise: format!("{promise:.0}"),
        halls: r.halls,
        chosen,
        name_zh,
        name_en,
        windows,
        slot_minutes,
        has_hall: h.is_some(),
        reserved_pct: format!("{:.0}", wujing_app::capacity::RESERVED_SEATS_USED * 100.0),
        services: h.as_ref().map_or_else(Vec::new, |h| {
            h.services
                .iter()
                .map(|b| {
                    (
                        b.clone(),
                        format!("{:.1}", b.mean_minutes),
                        format!("{:.2}", b.cv2),
                    )
                })
                .collect()
        }),
        seats_now: h.as_ref().map_or(0, |h| h.seats_now),
        seats_at_target: h.as_ref().map_or(0, |h| h.seats_at_target),
        pool_changes: h.as_ref().map_or_else(Vec::new, |h| h.pool_changes.clone()),
        days: h.map_or_else(Vec::new, |h| {
            h.days
                .into_iter()
                .map(|d| {
                    use chrono::Datelike;
                    let wd = d.day.weekday();
                    DayBlock {
                        day: d.day.format("%Y-%m-%d").to_string(),
                        weekday_zh: WEEKDAYS_ZH[wd.num_days_from_monday() as usize],
                        weekday_en: wd.to_string(),
                        short_hours: d.short_hours,
                        most_short: d.most_short,
                        over_seat_hours: d
                            .hours
                            .iter()
                            .filter(|x| x.arrivals_if_full.round() > x.capacity_at_target.floor())
                            .count(),
                        hours: d
                            .hours
                            .iter()
                            .map(|x| {
                                let carry = x.capacity_at_target.floor();
                                let if_full = x.arrivals_if_full.round();
                                let margin = (carry - if_full) as i64;
                                HourRow {
                                    hour: format!("{:02}:00", x.hour),
                                    booked: x.booked,
                                    expected: format!("{:.1}", x.expected),
                                    seats: x.seats,
                                    if_full: format!("{if_full:.0}"),
                                    service: format!("{:.1}", x.service_minutes),
                                    planned: x.windows_planned,
                                    needed: x.windows_needed,
                                    windows_words: match x.shortfall {
                                        0 => "持平 even".into(),
                                        n if n > 0 => format!("缺 {n} short {n}"),
                                        n => format!("富余 {} spare {}", -n, -n),
                                    },
                                    short: x.shortfall > 0,
                                    wait: minutes(x.wait_minutes),
                                    within: format!("{:.0}%", x.called_within * 100.0),
                                    visit: minutes(x.visit_minutes),
                                    over_promise: x.visit_minutes.is_none_or(|v| v > promise),
                                    carry: format!("{carry:.0}"),
                                    margin: match margin {
                                        0 => "0".into(),
                                        n if n > 0 => format!("+{n}"),
                                        n => format!("−{}", -n),
                                    },
                                    over_seats: margin < 0,
                                }
                            })
                            .collect(),
                    }
                })
                .collect()
        }),
    }))
}
