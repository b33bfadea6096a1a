//! A realistic simulated year (issue 18 §2, `wujing simulate`): the demo organisation's halls
//! filled with a year of bookings, tickets, ratings, alerts and applications through their
//! lifecycle to collection, deterministic for a seed, written in bulk through
//! [`wujing_store::BulkStore`].
//!
//! What shapes it (docs/CAPACITY.md, "The simulated year"): a day's volume follows the season
//! (the four weeks before Spring Festival, the summer holidays, the fortnight before Golden
//! Week, a quiet March) and the weekday; a hall's share follows its windows; within the day
//! arrivals follow an hour-of-day profile over the hall's slots. A visit is an appointment
//! (booked days ahead through the channel mix) or a walk-in (an on-site seat); some bookings are
//! cancelled, some never come. Tickets queue in the discrete-event simulation of
//! `wujing_domain::hallsim`, with as many windows open per hour as the capacity advisor asks for
//! (never fewer than the hall's windows), so waits are what such a hall would see. Every served
//! ticket becomes an application: most are collected, some wait for a supplement, a few are
//! refused; recent ones are still on their way.
//!
//! Personal data is generated (valid identity-number checksums, made-up names and phones) and
//! sealed by the store's own sealing function under the configured keys, like every booking;
//! the sealed text differs between runs (random nonces), the content does not.

use crate::{App, AppError, AppResult, Code};
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, Timelike, Utc};
use std::collections::BTreeMap;
use wujing_domain::calendar::china_offset;
use wujing_domain::hallsim::{serve_given, Draws};
use wujing_domain::queueing::{self, ServiceTime, Target};
use wujing_domain::{HallCalendar, Hours, Pool};
use wujing_store::{BulkTable, Cell, Hall, TableRows};

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimulateInput {
    /// Applications (served tickets) in the year.
    pub applications: u64,
    pub seed: u64,
    /// The last simulated day (the year is the 365 days ending here).
    pub last_day: NaiveDate,
}

/// What was written.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SimulateReport {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub hall_days: u64,
    pub slots: u64,
    pub bookings: u64,
    pub cancelled: u64,
    pub no_shows: u64,
    pub walk_ins: u64,
    pub tickets: u64,
    pub applications: u64,
    pub ratings: u64,
    pub alerts: u64,
    pub events: u64,
}

/// A business's share of visits and its service time (minutes, cs²): passports and permits
/// take longest, endorsements on an existing permit are quick.
fn business_profile(code: &str) -> (f64, ServiceTime) {
    let (w, m, cv2) = match code {
        "passport_first" => (22.0, 10.0, 0.4),
        "passport_renewal" => (12.0, 8.0, 0.4),
        "passport_replacement" => (2.0, 12.0, 0.5),
        "hkm_permit" => (12.0, 8.0, 0.4),
        "hkm_endorsement_t" => (20.0, 4.0, 0.3),
        "hkm_endorsement_g" => (8.0, 4.0, 0.3),
        "tw_permit" => (5.0, 8.0, 0.4),
        c if c.starts_with("hkm_endorsement") => (2.0, 4.0, 0.3),
        c if c.starts_with("tw_endorsement") => (1.0, 4.0, 0.3),
        _ => (1.0, 8.0, 0.5),
    };
    (
        w,
        ServiceTime {
            mean_minutes: m,
            cv2,
        },
    )
}

/// Spring Festival (农历正月初一) of the years a simulation may cover.
fn spring_festival(year: i32) -> Option<NaiveDate> {
    let (m, d) = match year {
        2024 => (2, 10),
        2025 => (1, 29),
        2026 => (2, 17),
        2027 => (2, 6),
        2028 => (1, 26),
        _ => return None,
    };
    NaiveDate::from_ymd_opt(year, m, d)
}

/// How busy a day is relative to an ordinary weekday (the hall must also be open).
pub fn day_weight(day: NaiveDate) -> f64 {
    let mut w = 1.0;
    // The four weeks before Spring Festival: travel home and abroad for the holiday.
    for y in [day.year(), day.year() + 1] {
        if let Some(sf) = spring_festival(y) {
            let before = (sf - day).num_days();
            if (1..=28).contains(&before) {
                w *= 1.7;
            }
        }
    }
    match (day.month(), day.day()) {
        // The summer holidays: students and families.
        (7, _) | (8, _) => w *= 1.35,
        // The fortnight before Golden Week.
        (9, d) if d >= 16 => w *= 1.3,
        (3, _) => w *= 0.85,
        _ => {}
    }
    w * match day.weekday().number_from_monday() {
        1 => 1.15,
        5 => 1.05,
        6 | 7 => 0.6,
        _ => 1.0,
    }
}

/// How busy a slot is by its hour: a morning peak, lunch, an afternoon peak.
fn hour_weight(h: u32) -> f64 {
    match h {
        0..=8 => 0.7,
        9 => 1.0,
        10 => 1.25,
        11 => 1.1,
        12 => 0.55,
        13 => 0.8,
        14 => 1.05,
        15 => 1.15,
        16 => 0.9,
        _ => 0.6,
    }
}

/// Picks an index by weight.
fn pick(d: &mut Draws, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = d.uniform() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len().saturating_sub(1)
}

const CHANNELS: [(&str, f64); 6] = [
    ("web", 45.0),
    ("wechat", 25.0),
    ("police_app", 12.0),
    ("self_service", 7.0),
    ("telephone", 6.0),
    ("counter", 5.0),
];
const SURNAMES: [&str; 12] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙",
];
const GIVEN: [&str; 12] = [
    "伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "勇", "军", "杰",
];
/// Guangzhou's districts' region codes, for made-up identity numbers.
const REGIONS: [&str; 6] = ["440103", "440104", "440105", "440106", "440111", "440112"];

/// A made-up resident identity number with a valid MOD 11-2 check digit, one per `person`
/// number: region, birth date (1950–2014) and sequence are digits of it, so two people of one
/// load never share a number (up to 142 million) and "one active booking per identity and
/// business" holds by construction.
fn identity_number(person: u64) -> String {
    const DAYS: u64 = 365 * 65;
    let region = REGIONS[(person % REGIONS.len() as u64) as usize];
    let rest = person / REGIONS.len() as u64;
    let birth =
        NaiveDate::from_ymd_opt(1950, 1, 1).unwrap() + TimeDelta::days((rest % DAYS) as i64);
    let body = format!(
        "{region}{}{:03}",
        birth.format("%Y%m%d"),
        (rest / DAYS) % 1000
    );
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .bytes()
        .zip(W)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

/// One hall's state across the load: ticket numbers restart each day.
struct HallPlan {
    hall: Hall,
    /// The simulated officers, one per window (`sim.<hall>.<n>`); a window the advisor added
    /// beyond the hall's is worked by them in turn.
    officers: Vec<i64>,
    calendar: HallCalendar,
    businesses: Vec<(String, f64, ServiceTime)>,
}

/// Next ids per table, reserved as rows are made.
struct Ids(BTreeMap<BulkTable, i64>, u64);

impl Ids {
    /// The next made-up person of this load.
    fn person(&mut self) -> u64 {
        self.1 += 1;
        self.1
    }

    fn take(&mut self, t: BulkTable) -> i64 {
        let v = self.0.entry(t).or_insert(1);
        let id = *v;
        *v += 1;
        id
    }
}

/// A local time of `day` as UTC.
fn at(day: NaiveDate, minutes_from_midnight: f64) -> DateTime<Utc> {
    let ms = (minutes_from_midnight * 60_000.0).round() as i64;
    day.and_hms_opt(0, 0, 0)
        .unwrap()
        .and_local_timezone(china_offset())
        .unwrap()
        .with_timezone(&Utc)
        + TimeDelta::milliseconds(ms)
}

fn minutes_of(t: NaiveTime) -> f64 {
    f64::from(t.num_seconds_from_midnight()) / 60.0
}

impl App {
    /// Fills the database with a simulated year (see the module's comment). Refuses
    /// (`simulation_overlaps`) when slots exist already in the year's days, so a second run
    /// cannot collide with the first or with live data.
    pub async fn simulate_year(
        &self,
        input: &SimulateInput,
        progress: impl FnMut(&SimulateReport),
    ) -> AppResult<SimulateReport> {
        let to = input.last_day;
        let from = to - TimeDelta::days(364);
        let start = self.store.bulk_start(from, to).await?;
        let loaded = self.load_year(input, from, to, start, progress).await;
        // Whatever happened, the store goes back to its serving shape (the indexes a load sets
        // aside are built again) before the answer.
        let finished = self.store.bulk_finish().await;
        let report = loaded?;
        finished?;
        self.after_seat_change();
        Ok(report)
    }

    /// The year itself, between the bulk port's start and finish.
    async fn load_year(
        &self,
        input: &SimulateInput,
        from: NaiveDate,
        to: NaiveDate,
        start: wujing_store::bulk::BulkStart,
        mut progress: impl FnMut(&SimulateReport),
    ) -> AppResult<SimulateReport> {
        if start.slots_in_range > 0 {
            return Err(AppError::new(
                Code::SimulationOverlaps,
                format!("{from} 至 {to} 已有号源，模拟数据不能与之重叠"),
                format!(
                    "slots exist between {from} and {to}: a simulated year cannot overlap them"
                ),
            ));
        }
        let mut ids = Ids(
            BulkTable::ALL
                .iter()
                .map(|t| (*t, start.next_id(*t)))
                .collect(),
            0,
        );
        let declared = self.store.calendar_days(from, to).await?;
        let mut halls: Vec<HallPlan> = self
            .store
            .halls()
            .await?
            .into_iter()
            .filter(|h| h.kind.has_windows() && h.window_count > 0)
            .filter_map(|h| {
                let businesses: Vec<(String, f64, ServiceTime)> = h
                    .businesses
                    .iter()
                    .filter(|b| {
                        self.catalogue
                            .business(b)
                            .is_some_and(|x| x.group == wujing_domain::Group::Citizen)
                    })
                    .map(|b| {
                        let (w, s) = business_profile(b);
                        (b.clone(), w, s)
                    })
                    .collect();
                (!businesses.is_empty()).then(|| HallPlan {
                    officers: Vec::new(),
                    calendar: HallCalendar::new(
                        Hours {
                            weekdays: h.weekdays.clone(),
                            sessions: h.sessions.clone(),
                            slot_minutes: h.slot_minutes,
                        },
                        &declared,
                    ),
                    hall: h,
                    businesses,
                })
            })
            .collect();
        for h in &mut halls {
            h.officers = self.sim_officers(&h.hall).await?;
        }
        // Every open hall-day's weight, so that the year adds up to the applications asked.
        let mut plan: Vec<(NaiveDate, usize, f64)> = Vec::new();
        let mut day = from;
        while day <= to {
            for (i, h) in halls.iter().enumerate() {
                if h.calendar.is_open(day) && !h.calendar.slots(day).is_empty() {
                    plan.push((day, i, day_weight(day) * f64::from(h.hall.window_count)));
                }
            }
            day += TimeDelta::days(1);
        }
        let total: f64 = plan.iter().map(|p| p.2).sum();
        let mut report = SimulateReport {
            from: Some(from),
            to: Some(to),
            ..Default::default()
        };
        if total <= 0.0 {
            return Ok(report);
        }
        let mut carry = 0.0;
        let mut batch = Batch::default();
        let mut pending: Option<tokio::task::JoinHandle<AppResult<()>>> = None;
        let keys = self.store.keys().clone();
        for (n, &(day, hi, w)) in plan.iter().enumerate() {
            let exact = input.applications as f64 * w / total + carry;
            // The last hall-day takes the fraction left, so the year adds up to what was asked.
            let count = if n + 1 == plan.len() {
                exact.round()
            } else {
                exact.floor()
            }
            .max(0.0) as u64;
            carry = exact - count as f64;
            let seed = input.seed
                ^ (day.num_days_from_ce() as u64).wrapping_mul(0x9E37_79B9)
                ^ ((hi as u64) << 48);
            self.simulate_hall_day(
                &halls[hi],
                day,
                to,
                count,
                seed,
                &keys,
                &mut ids,
                &mut batch,
                &mut report,
            );
            report.hall_days += 1;
            // A batch of about 200,000 rows per transaction; the next is made while the last
            // is written.
            if batch.rows() >= 200_000 || n + 1 == plan.len() {
                let full = std::mem::take(&mut batch).into_tables();
                if let Some(p) = pending.take() {
                    p.await.map_err(|e| {
                        AppError::new(Code::InternalError, "写入任务中断", e.to_string())
                    })??;
                }
                let store = self.store.clone();
                pending = Some(tokio::spawn(async move {
                    store.bulk_insert(full).await.map_err(AppError::from)
                }));
                progress(&report);
            }
        }
        if let Some(p) = pending.take() {
            p.await
                .map_err(|e| AppError::new(Code::InternalError, "写入任务中断", e.to_string()))??;
        }
        Ok(report)
    }

    #[allow(clippy::too_many_arguments)]
    fn simulate_hall_day(
        &self,
        h: &HallPlan,
        day: NaiveDate,
        last_day: NaiveDate,
        count: u64,
        seed: u64,
        keys: &wujing_store::keys::Keys,
        ids: &mut Ids,
        batch: &mut Batch,
        report: &mut SimulateReport,
    ) {
        let mut d = Draws::new(seed);
        let hall = &h.hall;
        let starts = h.calendar.slots(day);
        let slot_len = f64::from(hall.slot_minutes.max(1));
        let cap = |p: Pool| {
            hall.capacity
                .iter()
                .find(|(x, _)| *x == p)
                .map_or(0, |(_, c)| *c)
        };
        // Visits per slot start, by the hour profile.
        let weights: Vec<f64> = starts.iter().map(|t| hour_weight(t.hour())).collect();
        let wsum: f64 = weights.iter().sum();
        let mut per_slot = vec![0u64; starts.len()];
        let mut c2 = 0.0;
        for (i, w) in weights.iter().enumerate() {
            let exact = count as f64 * w / wsum + c2;
            per_slot[i] = exact.floor() as u64;
            c2 = exact - per_slot[i] as f64;
        }
        if let Some(last) = per_slot.last_mut() {
            *last += (c2.round()) as u64;
        }
        let bw: Vec<f64> = h.businesses.iter().map(|b| b.1).collect();
        let chw: Vec<f64> = CHANNELS.iter().map(|c| c.1).collect();
        // Visits: (slot index, business, walk-in?, arrival minute from the first slot).
        let first = starts.first().map_or(540.0, |t| minutes_of(*t));
        let hour0 = (first / 60.0).floor();
        let mut visits: Vec<(usize, usize, bool, f64)> = Vec::new();
        for (si, n) in per_slot.iter().enumerate() {
            let s0 = minutes_of(starts[si]) - hour0 * 60.0;
            for _ in 0..*n {
                let b = pick(&mut d, &bw);
                let walk_in = d.uniform() < 0.2;
                // Appointments come up to ten minutes early; walk-ins any time in the slot.
                let t = if walk_in {
                    s0 + d.uniform() * slot_len
                } else {
                    s0 - d.uniform() * 10.0
                };
                visits.push((si, b, walk_in, t));
            }
        }
        // Windows per hour: what the advisor asks for the hour's load, at least the hall's.
        let hours = starts
            .last()
            .map_or(1, |t| {
                ((minutes_of(*t) + slot_len) / 60.0).ceil() as usize - hour0 as usize
            })
            .max(1);
        let mut windows = vec![hall.window_count; hours];
        for (hi, w) in windows.iter_mut().enumerate() {
            let parts: Vec<(f64, ServiceTime)> = visits
                .iter()
                .filter(|v| (v.3.max(0.0) / 60.0) as usize == hi)
                .map(|v| (1.0, h.businesses[v.1].2))
                .collect();
            if let Some(mix) = ServiceTime::mix(&parts) {
                let need =
                    queueing::windows_needed(parts.len() as f64 / 60.0, mix, &Target::default());
                *w = (*w).max(need);
            }
        }
        let arrivals: Vec<(f64, ServiceTime)> =
            visits.iter().map(|v| (v.3, h.businesses[v.1].2)).collect();
        let served = serve_given(&windows, &arrivals, &mut d);
        // Slots: three pools per start; taken = active bookings + walk-ins' seats.
        let mut taken: BTreeMap<(usize, Pool), u32> = BTreeMap::new();
        let day_start = hour0 * 60.0;
        let mut slot_ids: BTreeMap<(usize, Pool), i64> = BTreeMap::new();
        for si in 0..starts.len() {
            for p in Pool::ALL {
                slot_ids.insert((si, p), ids.take(BulkTable::Slots));
            }
        }
        let mut number = 0u32;
        let served_sorted = served;
        for t in &served_sorted {
            let (si, b, walk_in, _) = visits[t.business];
            let business = &h.businesses[b].0;
            let arrive = at(day, day_start + t.arrival);
            let call = at(day, day_start + t.call);
            let finish = at(day, day_start + t.finish);
            let idn = identity_number(ids.person());
            let identity_key = keys.identity_key(&format!("CHN:{idn}"));
            let (booking_id, slot_id, channel) = if walk_in {
                *taken.entry((si, Pool::OnSite)).or_default() += 1;
                report.walk_ins += 1;
                (None, Some(slot_ids[&(si, Pool::OnSite)]), "counter")
            } else {
                *taken.entry((si, Pool::Online)).or_default() += 1;
                let id = self.sim_booking(
                    &mut d,
                    keys,
                    ids,
                    batch,
                    &idn,
                    &identity_key,
                    business,
                    slot_ids[&(si, Pool::Online)],
                    day,
                    Some(arrive),
                    &chw,
                );
                report.bookings += 1;
                (
                    Some(id),
                    None,
                    if d.uniform() < 0.6 {
                        "self_service"
                    } else {
                        "counter"
                    },
                )
            };
            number += 1;
            let ticket_id = ids.take(BulkTable::Tickets);
            let window = t.window + 1;
            let officer = h.officers[t.window as usize % h.officers.len()];
            let label = format!("A{number:03}");
            batch.push(
                BulkTable::Tickets,
                vec![
                    ticket_id.into(),
                    hall.id.as_str().into(),
                    day.into(),
                    "A".into(),
                    number.into(),
                    label.clone().into(),
                    booking_id.into(),
                    business.as_str().into(),
                    identity_key.clone().into(),
                    if walk_in { "walk_in" } else { "appointment" }.into(),
                    0i64.into(),
                    // Appointments are ordered by their slot's start, walk-ins by their arrival.
                    if walk_in {
                        arrive
                    } else {
                        at(day, minutes_of(starts[si]))
                    }
                    .into(),
                    "done".into(),
                    window.into(),
                    officer.into(),
                    1i64.into(),
                    arrive.into(),
                    call.into(),
                    finish.into(),
                    slot_id.into(),
                    channel.into(),
                ],
            );
            report.tickets += 1;
            // The rating at the window.
            if d.uniform() < 0.75 {
                let r = d.uniform();
                let score = if r < 0.92 {
                    "satisfied"
                } else if r < 0.98 {
                    "basic"
                } else {
                    "unsatisfied"
                };
                let rating_id = ids.take(BulkTable::Ratings);
                let rated = finish + TimeDelta::seconds(20 + d.below(60) as i64);
                let reasons = if score == "unsatisfied" {
                    ["slow", "attitude", "unclear", "other"][d.below(4) as usize]
                } else {
                    ""
                };
                batch.push(
                    BulkTable::Ratings,
                    vec![
                        rating_id.into(),
                        ticket_id.into(),
                        hall.id.as_str().into(),
                        window.into(),
                        officer.into(),
                        score.into(),
                        reasons.into(),
                        rated.into(),
                    ],
                );
                report.ratings += 1;
                if score == "unsatisfied" {
                    let ack = rated + TimeDelta::minutes(5 + d.below(115) as i64);
                    batch.push(
                        BulkTable::Alerts,
                        vec![
                            ids.take(BulkTable::Alerts).into(),
                            hall.id.as_str().into(),
                            rating_id.into(),
                            label.into(),
                            window.into(),
                            officer.into(),
                            rated.into(),
                            Cell::from((ack <= at(last_day, 24.0 * 60.0)).then_some(ack)),
                            Cell::from((ack <= at(last_day, 24.0 * 60.0)).then_some(officer)),
                            Cell::from(
                                (ack <= at(last_day, 24.0 * 60.0)).then_some("已回访 Called back"),
                            ),
                        ],
                    );
                    report.alerts += 1;
                }
            }
            // The application and its life.
            self.sim_application(
                &mut d,
                ids,
                batch,
                report,
                hall,
                business,
                ticket_id,
                booking_id,
                &identity_key,
                window,
                officer,
                finish,
                last_day,
            );
        }
        // Bookings that never came, and bookings cancelled (their seats back).
        let online = served_sorted
            .iter()
            .filter(|t| !visits[t.business].2)
            .count() as u64;
        let no_shows = (online as f64 * 0.07).round() as u64;
        let cancelled = (online as f64 * 0.05).round() as u64;
        for k in 0..(no_shows + cancelled) {
            let si = d.below(starts.len().max(1) as u64) as usize;
            let b = pick(&mut d, &bw);
            let idn = identity_number(ids.person());
            let identity_key = keys.identity_key(&format!("CHN:{idn}"));
            let is_cancel = k >= no_shows;
            let id = self.sim_booking(
                &mut d,
                keys,
                ids,
                batch,
                &idn,
                &identity_key,
                &h.businesses[b].0,
                slot_ids[&(si, Pool::Online)],
                day,
                None,
                &chw,
            );
            if is_cancel {
                batch.cancel_last(day);
                report.cancelled += 1;
            } else {
                *taken.entry((si, Pool::Online)).or_default() += 1;
                report.no_shows += 1;
            }
            report.bookings += 1;
            let _ = id;
        }
        for (si, t) in starts.iter().enumerate() {
            for p in Pool::ALL {
                let tk = taken.get(&(si, p)).copied().unwrap_or(0);
                batch.push(
                    BulkTable::Slots,
                    vec![
                        slot_ids[&(si, p)].into(),
                        hall.id.as_str().into(),
                        day.into(),
                        t.format("%H:%M").to_string().into(),
                        p.as_str().into(),
                        at(day, minutes_of(*t)).into(),
                        cap(p).max(tk).into(),
                        tk.into(),
                    ],
                );
                report.slots += 1;
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn sim_booking(
        &self,
        d: &mut Draws,
        keys: &wujing_store::keys::Keys,
        ids: &mut Ids,
        batch: &mut Batch,
        id_number: &str,
        identity_key: &str,
        business: &str,
        slot_id: i64,
        day: NaiveDate,
        used: Option<DateTime<Utc>>,
        channels: &[f64],
    ) -> i64 {
        let name = format!(
            "{}{}",
            SURNAMES[d.below(SURNAMES.len() as u64) as usize],
            GIVEN[d.below(GIVEN.len() as u64) as usize]
        );
        let phone = format!("13{:09}", d.below(1_000_000_000));
        let (sid, sname, sphone, pindex) =
            wujing_store::bulk::seal_applicant(keys, id_number, &name, &phone);
        let id = ids.take(BulkTable::Bookings);
        let created = at(day, 9.0 * 60.0) - TimeDelta::minutes(60 + d.below(14 * 24 * 60) as i64);
        let channel = CHANNELS[pick(d, channels)].0;
        let answers = if business == "passport_renewal" {
            r#"{"renewal_reason":"pages_full"}"#
        } else {
            "{}"
        };
        batch.push(
            BulkTable::Bookings,
            vec![
                id.into(),
                format!("S{id:09}").into(),
                slot_id.into(),
                business.into(),
                identity_key.into(),
                "resident_id".into(),
                sid.into(),
                sname.into(),
                sphone.into(),
                pindex.into(),
                answers.into(),
                Cell::Null,
                channel.into(),
                "active".into(),
                created.into(),
                Cell::Null,
                used.into(),
                "zh-CN".into(),
            ],
        );
        id
    }

    #[allow(clippy::too_many_arguments)]
    fn sim_application(
        &self,
        d: &mut Draws,
        ids: &mut Ids,
        batch: &mut Batch,
        report: &mut SimulateReport,
        hall: &Hall,
        business: &str,
        ticket_id: i64,
        booking_id: Option<i64>,
        identity_key: &str,
        window: u32,
        officer: i64,
        accepted: DateTime<Utc>,
        last_day: NaiveDate,
    ) {
        let app_id = ids.take(BulkTable::Applications);
        let end = at(last_day, 24.0 * 60.0);
        let staff = format!("staff:{officer}");
        let mut events: Vec<(Option<&str>, &str, DateTime<Utc>, String)> = Vec::new();
        let supplement = d.uniform() < 0.05;
        let refused = d.uniform() < 0.03;
        let mut now = accepted;
        let mut state = if supplement {
            "pending_supplement"
        } else {
            "accepted"
        };
        events.push((None, state, now, staff.clone()));
        let mut supplement_due = None;
        let step = |d: &mut Draws, now: DateTime<Utc>, lo: i64, hi: i64| {
            now + TimeDelta::hours(lo + d.below((hi - lo).max(1) as u64) as i64)
        };
        let mut refusal = None;
        let mut document = None;
        'life: {
            if supplement {
                supplement_due = Some((accepted + TimeDelta::days(30)).date_naive());
                let next = step(d, now, 24, 24 * 6);
                if next > end {
                    break 'life;
                }
                now = next;
                events.push((Some(state), "accepted", now, staff.clone()));
                state = "accepted";
            }
            let path: [(&str, i64, i64, &str); 7] = [
                ("under_review", 2, 24, "staff"),
                ("approved", 4, 48, "staff"),
                ("in_production", 2, 24, "system"),
                ("produced", 24, 72, "system"),
                ("dispatched", 4, 24, "system"),
                ("ready_for_collection", 12, 48, "staff"),
                ("collected", 24, 24 * 20, "staff"),
            ];
            for (to, lo, hi, who) in path {
                let to = if to == "approved" && refused {
                    "refused"
                } else {
                    to
                };
                let next = step(d, now, lo, hi);
                if next > end {
                    break 'life;
                }
                now = next;
                let actor = if who == "system" {
                    "system:production_centre".to_string()
                } else {
                    staff.clone()
                };
                events.push((Some(state), to, now, actor));
                state = to;
                if to == "refused" {
                    refusal = Some(
                        wujing_domain::application::RefusalReason::ALL[d.below(5) as usize]
                            .as_str(),
                    );
                    break 'life;
                }
                if to == "produced" {
                    document = Some(format!("E{app_id:09}"));
                }
            }
        }
        let ready_by = (accepted + TimeDelta::days(10)).date_naive();
        batch.push(
            BulkTable::Applications,
            vec![
                app_id.into(),
                ticket_id.into(),
                booking_id.into(),
                hall.id.as_str().into(),
                business.into(),
                identity_key.into(),
                state.into(),
                if supplement { r#"["photo"]"# } else { "[]" }.into(),
                supplement_due.into(),
                false.into(),
                ready_by.into(),
                window.into(),
                officer.into(),
                accepted.into(),
                refusal.into(),
                document.into(),
                "counter".into(),
                now.into(),
                "counter".into(),
            ],
        );
        report.applications += 1;
        for (from, to, t, actor) in events {
            batch.push(
                BulkTable::ApplicationEvents,
                vec![
                    ids.take(BulkTable::ApplicationEvents).into(),
                    app_id.into(),
                    from.into(),
                    to.into(),
                    t.into(),
                    actor.into(),
                    "".into(),
                ],
            );
            report.events += 1;
        }
    }
}

/// Rows being gathered for the next transaction.
#[derive(Default)]
struct Batch(BTreeMap<BulkTable, Vec<Vec<Cell>>>);

impl Batch {
    fn push(&mut self, t: BulkTable, row: Vec<Cell>) {
        self.0.entry(t).or_default().push(row);
    }

    fn rows(&self) -> usize {
        self.0.values().map(Vec::len).sum()
    }

    /// Marks the last booking cancelled the evening before its day.
    fn cancel_last(&mut self, day: NaiveDate) {
        if let Some(row) = self
            .0
            .get_mut(&BulkTable::Bookings)
            .and_then(|v| v.last_mut())
        {
            row[13] = "cancelled".into();
            row[15] = at(day, -4.0 * 60.0).into();
        }
    }

    /// In dependency order (slots before bookings before tickets…), as the foreign keys need.
    fn into_tables(self) -> Vec<TableRows> {
        let mut m = self.0;
        BulkTable::ALL
            .iter()
            .filter_map(|t| m.remove(t).map(|rows| TableRows { table: *t, rows }))
            .collect()
    }
}

impl App {
    /// The hall's simulated officers (`sim.<hall>.<window>`, role officer of the hall),
    /// created once with a password nobody knows and reused by a later run.
    async fn sim_officers(&self, hall: &Hall) -> AppResult<Vec<i64>> {
        use std::hash::{BuildHasher, Hasher};
        let mut out = Vec::new();
        for w in 1..=hall.window_count.max(1) {
            let username = format!("sim.{}.{w}", hall.id);
            if let Some(a) = self.store.staff_by_username(&username).await? {
                out.push(a.id);
                continue;
            }
            // A random password (the process's random hasher keys, twice): the account exists
            // for the records it signs, not to sign in.
            let password: String = (0..2)
                .map(|_| {
                    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
                    h.write_u32(w);
                    format!("{:016x}", h.finish())
                })
                .collect();
            let v = self
                .create_staff(
                    &crate::admin::Actor::cli(),
                    &crate::admin::NewStaffInput {
                        username,
                        display_name: format!("模拟{}号窗口", w),
                        password,
                        roles: vec![wujing_domain::staff::RoleGrant {
                            role: wujing_domain::staff::Role::Officer,
                            hall: Some(hall.id.clone()),
                        }],
                        phone: None,
                    },
                )
                .await?;
            out.push(v.id);
        }
        Ok(out)
    }

    /// The store's recount of every slot and booking (after a load: `wujing simulate --verify`).
    pub async fn verify_invariants(&self) -> AppResult<wujing_store::InvariantReport> {
        Ok(self.store.verify_invariants().await?)
    }
}
