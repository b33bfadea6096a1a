//! Read-side use cases and the views they return: halls, the catalogue, availability.

use crate::{App, AppError, AppResult, Code};
use chrono::{NaiveDate, NaiveTime, TimeDelta};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use wujing_domain::{Group, Hours, Pool};
use wujing_store::{Hall, Slot, SlotQuery};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DistrictView {
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CapacityView {
    /// Seats per slot bookable online.
    pub online: u32,
    /// Seats per slot kept for walk-ins.
    pub on_site: u32,
    /// Seats per slot kept for the expedite desk.
    pub expedite: u32,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HallView {
    pub id: String,
    pub district: DistrictView,
    pub name_zh: String,
    pub name_en: String,
    pub address_zh: String,
    pub address_en: String,
    /// ISO weekdays of ordinary opening (1 = Monday); holidays and make-up days override them.
    pub weekdays: Vec<u32>,
    /// Opening sessions such as `09:00-12:00`.
    pub sessions: Vec<String>,
    pub slot_minutes: u32,
    pub serves_foreigners: bool,
    pub window_count: u32,
    pub capacity: CapacityView,
    /// The site's kind (issue 13 §2): `hall`, `service_point`, `police_station` or
    /// `self_service`, with its names.
    pub kind: String,
    pub kind_zh: String,
    pub kind_en: String,
    /// The catalogue's business codes the site offers.
    pub businesses: Vec<String>,
    /// Where the site is (WGS-84 degrees), when the administrator has said: public, like its
    /// address; the portal orders halls by distance from it in the citizen's browser.
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OptionView {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub fee_yuan: u32,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BusinessView {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    /// `citizen` or `foreigner`.
    pub group: String,
    pub document: String,
    pub endorsement: Option<String>,
    /// Flat fee; `null` when the fee depends on the chosen option.
    pub fee_yuan: Option<u32>,
    pub options: Vec<OptionView>,
    pub processing_working_days: u32,
    /// A commitment in calendar days instead of working days (a foreigner's visa extension or
    /// stay permit: a decision within 15 days); `null` when the working days apply.
    pub processing_calendar_days: Option<u32>,
    pub in_person: bool,
    pub suspended: bool,
    /// The date from which these terms apply.
    pub effective_from: NaiveDate,
    /// The instrument or source the terms come from.
    pub source: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SlotView {
    pub slot_id: i64,
    pub hall_id: String,
    pub date: NaiveDate,
    /// Local start time (Asia/Shanghai), `HH:MM`.
    pub start: String,
    pub end: String,
    pub pool: String,
    pub capacity: u32,
    pub free: u32,
}

#[derive(Debug, Clone, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AvailabilityQuery {
    /// Business code, e.g. `passport_first`.
    pub business: String,
    /// Comma-separated hall ids; all halls serving the business when absent.
    pub halls: Option<String>,
    /// First date (default: tomorrow).
    pub from: Option<NaiveDate>,
    /// Last date (default: `from` + 6 days); at most 31 days after `from`.
    pub to: Option<NaiveDate>,
    /// Only slots with a free seat (default true).
    pub only_free: Option<bool>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AvailabilityView {
    pub business: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub slots: Vec<SlotView>,
}

pub(crate) fn hall_view(h: &Hall, districts: &BTreeMap<String, DistrictView>) -> HallView {
    let cap = |p: Pool| {
        h.capacity
            .iter()
            .find(|(q, _)| *q == p)
            .map_or(0, |(_, n)| *n)
    };
    HallView {
        id: h.id.clone(),
        district: districts
            .get(&h.district_id)
            .cloned()
            .unwrap_or_else(|| DistrictView {
                id: h.district_id.clone(),
                name_zh: h.district_id.clone(),
                name_en: h.district_id.clone(),
            }),
        name_zh: h.name_zh.clone(),
        name_en: h.name_en.clone(),
        address_zh: h.address_zh.clone(),
        address_en: h.address_en.clone(),
        weekdays: h.weekdays.clone(),
        sessions: Hours::format_sessions(&h.sessions)
            .split(',')
            .map(str::to_string)
            .collect(),
        slot_minutes: h.slot_minutes,
        serves_foreigners: h.serves_foreigners,
        window_count: h.window_count,
        capacity: CapacityView {
            online: cap(Pool::Online),
            on_site: cap(Pool::OnSite),
            expedite: cap(Pool::Expedite),
        },
        kind: h.kind.as_str().into(),
        kind_zh: h.kind.name_zh().into(),
        kind_en: h.kind.name_en().into(),
        businesses: h.businesses.clone(),
        latitude: h.location.map(|l| l.latitude()),
        longitude: h.location.map(|l| l.longitude()),
    }
}

pub(crate) fn slot_view(s: &Slot, slot_minutes: u32) -> SlotView {
    let end = s.start + TimeDelta::minutes(i64::from(slot_minutes));
    SlotView {
        slot_id: s.id,
        hall_id: s.hall_id.clone(),
        date: s.day,
        start: s.start.format("%H:%M").to_string(),
        end: end.format("%H:%M").to_string(),
        pool: s.pool.as_str().to_string(),
        capacity: s.capacity,
        free: s.free(),
    }
}

/// A site asked for a business it does not offer (issue 13 §2): the one answer of every path
/// that books, enters a lottery, checks in, takes a walk-in or accepts.
pub(crate) fn not_offered(h: &Hall, business: &str) -> AppError {
    AppError::new(
        Code::BusinessNotOffered,
        format!("{}不办理这项业务（{business}）", h.name_zh),
        format!("{} does not offer this business ({business})", h.name_en),
    )
    .with_details(serde_json::json!({ "site": h.id, "business": business }))
}

impl App {
    async fn district_map(&self) -> AppResult<BTreeMap<String, DistrictView>> {
        Ok(self
            .store
            .districts()
            .await?
            .into_iter()
            .map(|d| {
                (
                    d.id.clone(),
                    DistrictView {
                        id: d.id,
                        name_zh: d.name_zh,
                        name_en: d.name_en,
                    },
                )
            })
            .collect())
    }

    /// Every site, halls first, then service points, police stations and self-service points
    /// (each kind by id).
    pub async fn halls(&self) -> AppResult<Vec<HallView>> {
        self.sites_offering(None).await
    }

    /// The sites offering `business` (all when `None`), grouped by kind as [`App::halls`];
    /// `unknown_business` for a code not in the catalogue.
    pub async fn sites_offering(&self, business: Option<&str>) -> AppResult<Vec<HallView>> {
        if let Some(b) = business {
            self.catalogue
                .business(b)
                .ok_or_else(|| unknown_business(b))?;
        }
        let districts = self.district_map().await?;
        let mut halls: Vec<_> = self
            .hall_index()
            .await?
            .values()
            // A round-the-clock point has no seats: it is listed, never offered for booking.
            .filter(|h| business.is_none_or(|b| h.offers(b) && h.kind.has_windows()))
            .cloned()
            .collect();
        halls.sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
        Ok(halls.iter().map(|h| hall_view(h, &districts)).collect())
    }

    pub async fn hall(&self, id: &str) -> AppResult<HallView> {
        let h = self.hall_by_id(id).await?;
        Ok(hall_view(&h, &self.district_map().await?))
    }

    /// All halls by id, from a cache refreshed every few seconds.
    pub(crate) async fn hall_index(&self) -> AppResult<crate::cache::HallIndex> {
        if let Some(h) = self.caches.halls() {
            return Ok(h);
        }
        let index: crate::cache::HallIndex = std::sync::Arc::new(
            self.store
                .halls()
                .await?
                .into_iter()
                .map(|h| (h.id.clone(), std::sync::Arc::new(h)))
                .collect(),
        );
        self.caches.set_halls(index.clone());
        Ok(index)
    }

    pub(crate) async fn hall_by_id(&self, id: &str) -> AppResult<std::sync::Arc<Hall>> {
        self.hall_index()
            .await?
            .get(id)
            .cloned()
            .ok_or_else(|| unknown_hall(id))
    }

    /// A slot's static fields (hall, day, time, pool, capacity), cached: they do not change
    /// while its counter does.
    pub(crate) async fn slot_meta(&self, id: i64) -> AppResult<Option<Slot>> {
        if let Some(s) = self.caches.slot(id) {
            return Ok(Some(s));
        }
        let s = self.store.slot(id).await?;
        if let Some(s) = &s {
            self.caches.set_slot(s);
        }
        Ok(s)
    }

    pub fn businesses(&self) -> Vec<BusinessView> {
        let today = self.clock.today();
        self.catalogue
            .businesses()
            .filter_map(|b| self.business_view(&b.code, today))
            .collect()
    }

    pub fn business(&self, code: &str) -> AppResult<BusinessView> {
        self.business_view(code, self.clock.today())
            .ok_or_else(|| unknown_business(code))
    }

    fn business_view(&self, code: &str, on: NaiveDate) -> Option<BusinessView> {
        let t = self.catalogue.terms(code, on)?;
        let b = t.business;
        Some(BusinessView {
            code: b.code.clone(),
            name_zh: b.name_zh.clone(),
            name_en: b.name_en.clone(),
            group: match b.group {
                Group::Citizen => "citizen".into(),
                Group::Foreigner => "foreigner".into(),
            },
            document: b.document.as_str().into(),
            endorsement: b.endorsement.clone(),
            fee_yuan: t.version.fee_yuan,
            options: t
                .option_fees
                .iter()
                .map(|(o, fee)| {
                    let (zh, en) = self.catalogue.option_name(o).unwrap_or((o, o));
                    OptionView {
                        code: o.clone(),
                        name_zh: zh.into(),
                        name_en: en.into(),
                        fee_yuan: *fee,
                    }
                })
                .collect(),
            processing_working_days: t.version.processing_working_days,
            processing_calendar_days: t.version.processing_calendar_days,
            in_person: t.version.in_person,
            suspended: t.version.suspended,
            effective_from: t.version.effective_from,
            source: t.version.source.clone(),
        })
    }

    /// Bookable online seats by business, halls and dates, from the live counters.
    pub async fn availability(&self, q: &AvailabilityQuery) -> AppResult<AvailabilityView> {
        let business = self
            .catalogue
            .business(&q.business)
            .ok_or_else(|| unknown_business(&q.business))?;
        let today = self.clock.today();
        let from = q.from.unwrap_or(today + TimeDelta::days(1));
        let to = q.to.unwrap_or(from + TimeDelta::days(6));
        if from < today {
            return Err(AppError::new(
                Code::DateInPast,
                format!("开始日期{from}已过去"),
                format!("the start date {from} is in the past"),
            ));
        }
        if to < from || (to - from).num_days() > 31 {
            return Err(AppError::new(
                Code::DateRangeInvalid,
                "结束日期须在开始日期之后，且相差不超过31天",
                "the end date must follow the start date by at most 31 days",
            ));
        }
        let index = self.hall_index().await?;
        let mut halls: Vec<&Hall> = index.values().map(|h| &**h).collect();
        halls.sort_by(|a, b| a.id.cmp(&b.id));
        let wanted: Option<Vec<String>> = q.halls.as_ref().map(|s| {
            s.split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect()
        });
        if let Some(w) = &wanted {
            if let Some(missing) = w.iter().find(|id| !halls.iter().any(|h| &h.id == *id)) {
                return Err(unknown_hall(missing));
            }
        }
        let serving: Vec<&Hall> = halls
            .into_iter()
            .filter(|h| h.offers(&business.code))
            .filter(|h| wanted.as_ref().is_none_or(|w| w.contains(&h.id)))
            .collect();
        let minutes: BTreeMap<&str, u32> = serving
            .iter()
            .map(|h| (h.id.as_str(), h.slot_minutes))
            .collect();
        let slots = self
            .store
            .slots(&SlotQuery {
                hall_ids: Some(serving.iter().map(|h| h.id.clone()).collect()),
                from: Some(from),
                to: Some(to),
                pool: Some(Pool::Online),
                only_free: q.only_free.unwrap_or(true),
                starts_after: Some(self.clock.now()),
                ..Default::default()
            })
            .await?;
        // Days not yet released (or still in their lottery) are not offered.
        let days: std::collections::BTreeSet<NaiveDate> = slots.iter().map(|s| s.day).collect();
        let mut open_days = BTreeMap::new();
        for day in days {
            open_days.insert(day, self.is_open_for_booking(day).await);
        }
        Ok(AvailabilityView {
            business: business.code.clone(),
            from,
            to,
            slots: slots
                .iter()
                .filter(|s| open_days.get(&s.day).copied().unwrap_or(false))
                .map(|s| slot_view(s, minutes.get(s.hall_id.as_str()).copied().unwrap_or(30)))
                .collect(),
        })
    }

    /// Creates the seats of `from..=to` that do not exist yet, for every hall, from its
    /// calendar and pool capacities. Existing seats and their counts are never touched.
    pub async fn generate_slots(&self, from: NaiveDate, to: NaiveDate) -> AppResult<u64> {
        let declared = self.store.calendar_days(from, to).await?;
        let mut created = 0;
        for h in self.store.halls().await? {
            let cal = wujing_domain::HallCalendar::new(
                Hours {
                    weekdays: h.weekdays.clone(),
                    sessions: h.sessions.clone(),
                    slot_minutes: h.slot_minutes,
                },
                &declared,
            );
            let closed = self.store.hall_closures(&h.id, from, to).await?;
            let mut new = Vec::new();
            let mut day = from;
            while day <= to {
                if closed.contains(&day) {
                    day += TimeDelta::days(1);
                    continue;
                }
                for start in cal.slots(day) {
                    let starts_at = local_instant(day, start);
                    for (pool, seats) in &h.capacity {
                        if *seats > 0 {
                            new.push(wujing_store::NewSlot {
                                hall_id: h.id.clone(),
                                day,
                                start,
                                pool: *pool,
                                starts_at,
                                capacity: *seats,
                            });
                        }
                    }
                }
                day += TimeDelta::days(1);
            }
            created += self.store.ensure_slots(&new).await?;
        }
        Ok(created)
    }

    /// Generates seats from today to the booking horizon.
    pub async fn generate_horizon(&self) -> AppResult<u64> {
        let today = self.clock.today();
        self.generate_slots(
            today,
            today + TimeDelta::days(i64::from(self.config.horizon_days)),
        )
        .await
    }
}

/// The UTC instant of a hall-local date and time.
pub fn local_instant(day: NaiveDate, t: NaiveTime) -> chrono::DateTime<chrono::Utc> {
    day.and_time(t)
        .and_local_timezone(wujing_domain::calendar::china_offset())
        .single()
        .expect("fixed offsets are unambiguous")
        .to_utc()
}

pub(crate) fn unknown_business(code: &str) -> AppError {
    AppError::new(
        Code::UnknownBusiness,
        format!("没有“{code}”这项业务"),
        format!("there is no business \"{code}\""),
    )
}

pub(crate) fn unknown_hall(id: &str) -> AppError {
    AppError::new(
        Code::HallNotFound,
        format!("没有编号为“{id}”的办证大厅"),
        format!("there is no hall \"{id}\""),
    )
}
