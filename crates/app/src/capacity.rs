//! The capacity advisor's use case (issue 18 §3): for a hall and each coming day and hour, the
//! load booked so far, the windows needed to meet the target against the windows planned, the
//! expected wait and visit, and what to change in the hall's capacity pools.
//!
//! The model is `wujing_domain::queueing` (Erlang C with the Allen–Cunneen correction;
//! docs/CAPACITY.md). Its inputs come from two bounded, indexed reads behind
//! [`wujing_store::CapacityStore`]: bookings per slot start and business, and service times per
//! business over the last [`HISTORY_DAYS`] days. The halls page's expected wait for citizens
//! comes from [`hall_estimate`], which asks the same `predict`.

use crate::authz::{permits, Action, Principal};
use crate::views::HallView;
use crate::{App, AppResult};
use chrono::{NaiveDate, TimeDelta, Timelike};
use serde::Serialize;
use std::collections::BTreeMap;
use wujing_domain::queueing::{self, HourPlan, ServiceTime, Target};
use wujing_domain::Pool;
use wujing_store::SlotQuery;

/// How far back service times are read: eight weeks, enough for every business of a hall to
/// have been served often, recent enough to reflect today's staff and forms.
pub const HISTORY_DAYS: i64 = 56;

/// A business needs this many finished tickets before its own service time is trusted; below
/// it the hall's planned service time stands in.
pub const MIN_HISTORY: u64 = 30;

/// How many days ahead the advisor looks (today included).
pub const DAYS_AHEAD: i64 = 7;

/// The share of the walk-in and expedite seats the estimate assumes will be used: the halls
/// page and the advisor both count arrivals so.
pub const RESERVED_SEATS_USED: f64 = 0.5;

/// The service time the hall's plan encodes: a window serves one citizen in the slot's length
/// × windows / seats per slot. Used where no history exists (a new hall, a new business).
pub fn planned_service(h: &HallView) -> ServiceTime {
    let c = &h.capacity;
    let seats = (c.online + c.on_site + c.expedite).max(1);
    ServiceTime::exponential(
        f64::from(h.slot_minutes.max(1)) * f64::from(h.window_count.max(1)) / f64::from(seats),
    )
}

/// The halls page's estimate of a hall's week: its load (busy share of the windows) and the
/// expected wait after check-in in whole minutes (`None` when the queue would grow without
/// end), from `taken` seats over `slots` slot starts. Arrivals are the booked seats plus
/// [`RESERVED_SEATS_USED`] of the seats kept for walk-ins and the expedite desk.
pub fn hall_estimate(h: &HallView, taken: u32, slots: u32) -> (f64, Option<u32>) {
    let c = &h.capacity;
    let minutes = f64::from(h.slot_minutes.max(1));
    let arrivals =
        f64::from(taken) + RESERVED_SEATS_USED * f64::from((c.on_site + c.expedite) * slots);
    let per_minute = arrivals / (f64::from(slots.max(1)) * minutes);
    let p = queueing::predict(
        h.window_count.max(1),
        per_minute,
        planned_service(h),
        Target::default().within_minutes,
    );
    (p.utilisation, p.mean_wait_minutes.map(|w| w.ceil() as u32))
}

/// A business's service time as the advisor uses it.
#[derive(Debug, Clone, Serialize)]
pub struct BusinessService {
    pub business: String,
    pub name_zh: String,
    pub name_en: String,
    /// Finished tickets it was measured on (0: the planned service time stands in).
    pub tickets: u64,
    pub mean_minutes: f64,
    /// Squared coefficient of variation.
    pub cv2: f64,
    pub from_history: bool,
}

/// One hour of one day.
#[derive(Debug, Clone, Serialize)]
pub struct CapacityHour {
    pub hour: u32,
    /// Active bookings for the hour.
    pub booked: u32,
    /// Arrivals expected: booked plus the walk-ins assumed.
    pub expected: f64,
    /// Seats the hall's pools offer in the hour (all pools).
    pub seats: u32,
    /// The arrivals the model expects if every seat of the hour is taken: the online seats
    /// and the share of the walk-in and expedite seats that is used (`RESERVED_SEATS_USED`),
    /// the load the pool advice sizes against the windows' capacity.
    pub arrivals_if_full: f64,
    pub service_minutes: f64,
    pub windows_planned: u32,
    pub windows_needed: u32,
    /// Windows short (positive) or spare (negative).
    pub shortfall: i64,
    /// With the planned windows: mean wait, share called in time, expected visit.
    pub wait_minutes: Option<f64>,
    pub called_within: f64,
    pub visit_minutes: Option<f64>,
    /// The arrivals the planned windows carry in the hour at the target.
    pub capacity_at_target: f64,
}

/// One coming day.
#[derive(Debug, Clone, Serialize)]
pub struct CapacityDay {
    pub day: NaiveDate,
    pub hours: Vec<CapacityHour>,
    /// Hours short of windows, and the most windows short in one of them.
    pub short_hours: u32,
    pub most_short: i64,
}

/// A suggested change of one capacity pool (seats per slot).
#[derive(Debug, Clone, Serialize)]
pub struct PoolChange {
    pub pool: String,
    pub seats_now: u32,
    pub seats_suggested: u32,
}

/// The advice for one hall.
#[derive(Debug, Clone, Serialize)]
pub struct HallCapacity {
    pub hall_id: String,
    pub name_zh: String,
    pub name_en: String,
    pub windows: u32,
    pub slot_minutes: u32,
    pub services: Vec<BusinessService>,
    pub days: Vec<CapacityDay>,
    /// Seats per slot the windows carry at the target with the measured service times.
    pub seats_at_target: u32,
    /// Seats per slot the pools offer now.
    pub seats_now: u32,
    /// Pool changes that bring the seats to what the windows carry (empty when they do).
    pub pool_changes: Vec<PoolChange>,
}

/// What the page and the API show.
#[derive(Debug, Clone, Serialize)]
pub struct CapacityReport {
    pub within_minutes: f64,
    pub share: f64,
    pub visit_minutes: f64,
    /// The halls the caller may choose from: (id, zh name, en name).
    pub halls: Vec<(String, String, String)>,
    /// The chosen hall's advice (`None` when the caller watches no hall with windows).
    pub hall: Option<HallCapacity>,
}

impl App {
    /// The capacity advice for `hall` (the caller's first hall when `None`), for today and the
    /// next days. Leaders, supervisors and hall managers of the hall; `forbidden` for another
    /// hall, `hall_not_found` for an unknown one.
    pub async fn capacity(&self, p: &Principal, hall: Option<&str>) -> AppResult<CapacityReport> {
        self.require(p, Action::Capacity, hall)?;
        let target = Target::default();
        let halls: Vec<HallView> = self
            .halls()
            .await?
            .into_iter()
            .filter(|h| h.window_count > 0 && permits(p, Action::Capacity, Some(&h.id)))
            .collect();
        let chosen = match hall {
            Some(id) => Some(self.hall(id).await?),
            None => halls.first().cloned(),
        };
        let hall = match chosen {
            Some(h) => Some(self.hall_capacity(&h, &target).await?),
            None => None,
        };
        Ok(CapacityReport {
            within_minutes: target.within_minutes,
            share: target.share,
            visit_minutes: target.visit_minutes,
            halls: halls
                .into_iter()
                .map(|h| (h.id, h.name_zh, h.name_en))
                .collect(),
            hall,
        })
    }

    /// Service times per business of `h` over the last [`HISTORY_DAYS`] days: measured where
    /// there are at least [`MIN_HISTORY`] tickets, else the planned service time. This is the
    /// one function the statistics roll-ups may answer instead of the raw tickets.
    pub async fn service_times(&self, h: &HallView) -> AppResult<Vec<BusinessService>> {
        let today = self.clock.today();
        let measured: BTreeMap<String, wujing_store::ServiceMoments> = self
            .store
            .service_moments(&h.id, today - TimeDelta::days(HISTORY_DAYS), today)
            .await?
            .into_iter()
            .map(|m| (m.business.clone(), m))
            .collect();
        let planned = planned_service(h);
        let mut codes: Vec<String> = h.businesses.clone();
        for b in measured.keys() {
            if !codes.contains(b) {
                codes.push(b.clone());
            }
        }
        Ok(codes
            .into_iter()
            .map(|code| {
                let m = measured.get(&code);
                let s = m.filter(|m| m.count >= MIN_HISTORY).and_then(|m| {
                    ServiceTime::from_moments(m.count, m.sum_minutes, m.sum_of_squares)
                });
                let (zh, en) = self
                    .catalogue
                    .business(&code)
                    .map_or((code.clone(), code.clone()), |b| {
                        (b.name_zh.clone(), b.name_en.clone())
                    });
                let st = s.unwrap_or(planned);
                BusinessService {
                    business: code,
                    name_zh: zh,
                    name_en: en,
                    tickets: m.map_or(0, |m| m.count),
                    mean_minutes: st.mean_minutes,
                    cv2: st.cv2,
                    from_history: s.is_some(),
                }
            })
            .collect())
    }

    async fn hall_capacity(&self, h: &HallView, target: &Target) -> AppResult<HallCapacity> {
        let today = self.clock.today();
        let last = today + TimeDelta::days(DAYS_AHEAD - 1);
        let services = self.service_times(h).await?;
        let service_of: BTreeMap<&str, ServiceTime> = services
            .iter()
            .map(|s| {
                (
                    s.business.as_str(),
                    ServiceTime {
                        mean_minutes: s.mean_minutes,
                        cv2: s.cv2,
                    },
                )
            })
            .collect();
        let planned = planned_service(h);
        let slots = self
            .store
            .slots(&SlotQuery {
                hall_ids: Some(vec![h.id.clone()]),
                from: Some(today),
                to: Some(last),
                start: None,
                pool: None,
                only_free: false,
                starts_after: None,
                limit: None,
            })
            .await?;
        let booked = self.store.booked_counts(&h.id, today, last).await?;
        // Per (day, hour): slot starts, seats, free walk-in seats, bookings per business.
        #[derive(Default)]
        struct Acc {
            starts: std::collections::BTreeSet<String>,
            seats: u32,
            reserved_seats: u32,
            free_reserved: u32,
            booked: BTreeMap<String, u64>,
        }
        let mut acc: BTreeMap<(NaiveDate, u32), Acc> = BTreeMap::new();
        for s in &slots {
            let a = acc.entry((s.day, s.start.hour())).or_default();
            a.starts.insert(s.start.format("%H:%M").to_string());
            a.seats += s.capacity;
            if matches!(s.pool, Pool::OnSite | Pool::Expedite) {
                a.free_reserved += s.free();
                a.reserved_seats += s.capacity;
            }
        }
        for b in &booked {
            let hour = b.start.get(..2).and_then(|x| x.parse().ok()).unwrap_or(0);
            if let Some(a) = acc.get_mut(&(b.day, hour)) {
                *a.booked.entry(b.business.clone()).or_default() += b.count;
            }
        }
        let mut days: BTreeMap<NaiveDate, Vec<CapacityHour>> = BTreeMap::new();
        for ((day, hour), a) in acc {
            let booked_n: u64 = a.booked.values().sum();
            let walk_ins = RESERVED_SEATS_USED * f64::from(a.free_reserved);
            let mut parts: Vec<(f64, ServiceTime)> = a
                .booked
                .iter()
                .map(|(b, n)| {
                    (
                        *n as f64,
                        service_of.get(b.as_str()).copied().unwrap_or(planned),
                    )
                })
                .collect();
            // Walk-ins come for what the booked come for; with nothing booked, for the plan.
            let booked_mix = ServiceTime::mix(&parts).unwrap_or(planned);
            parts.push((walk_ins, booked_mix));
            let service = ServiceTime::mix(&parts).unwrap_or(planned);
            let expected = booked_n as f64 + walk_ins;
            // The hour may be open only in part (a session ending at 11:30): the rate is per
            // open minute.
            let open = (a.starts.len() as u32 * h.slot_minutes).clamp(1, 60);
            let per_hour = expected * 60.0 / f64::from(open);
            let adv = queueing::advise(
                &[HourPlan {
                    hour,
                    arrivals: per_hour,
                    service,
                    windows_planned: h.window_count,
                }],
                target,
            )
            .remove(0);
            days.entry(day).or_default().push(CapacityHour {
                hour,
                booked: booked_n as u32,
                expected,
                seats: a.seats,
                arrivals_if_full: f64::from(a.seats - a.reserved_seats)
                    + RESERVED_SEATS_USED * f64::from(a.reserved_seats),
                service_minutes: service.mean_minutes,
                windows_planned: adv.windows_planned,
                windows_needed: adv.windows_needed,
                shortfall: adv.shortfall(),
                wait_minutes: adv.planned.mean_wait_minutes,
                called_within: adv.planned.called_within,
                visit_minutes: adv.planned.visit_minutes,
                capacity_at_target: adv.capacity_at_target * f64::from(open) / 60.0,
            });
        }
        // The pools: what the windows carry per slot at the target, with the service mix the
        // history shows (weighted by tickets; the plan where there is none).
        let weights: Vec<(f64, ServiceTime)> = services
            .iter()
            .filter(|s| s.from_history)
            .map(|s| {
                (
                    s.tickets as f64,
                    ServiceTime {
                        mean_minutes: s.mean_minutes,
                        cv2: s.cv2,
                    },
                )
            })
            .collect();
        let mix = ServiceTime::mix(&weights).unwrap_or(planned);
        let per_slot = queueing::hourly_capacity(h.window_count, mix, target)
            * f64::from(h.slot_minutes)
            / 60.0;
        let c = &h.capacity;
        let seats_now = c.online + c.on_site + c.expedite;
        // Arrivals counted per slot are the booked online seats plus half the reserved ones.
        let reserved = f64::from(c.on_site + c.expedite) * RESERVED_SEATS_USED;
        let online_fits = (per_slot - reserved).floor().max(0.0) as u32;
        let seats_at_target = online_fits + c.on_site + c.expedite;
        let pool_changes = if online_fits != c.online {
            vec![PoolChange {
                pool: Pool::Online.as_str().to_string(),
                seats_now: c.online,
                seats_suggested: online_fits,
            }]
        } else {
            Vec::new()
        };
        Ok(HallCapacity {
            hall_id: h.id.clone(),
            name_zh: h.name_zh.clone(),
            name_en: h.name_en.clone(),
            windows: h.window_count,
            slot_minutes: h.slot_minutes,
            services,
            days: days
                .into_iter()
                .map(|(day, hours)| CapacityDay {
                    day,
                    short_hours: hours.iter().filter(|x| x.shortfall > 0).count() as u32,
                    most_short: hours.iter().map(|x| x.shortfall).max().unwrap_or(0),
                    hours,
                })
                .collect(),
            seats_at_target,
            seats_now,
            pool_changes,
        })
    }
}
