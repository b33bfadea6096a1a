//! Sites (issue 13 §2): halls, service points, police stations and (later) self-service
//! points, created and edited by administrators. A site is a row of `halls` with a kind and the
//! list of catalogue businesses it offers; everything that books or serves at a site asks
//! [`wujing_store::Hall::offers`] (and the database asks again where a row is written).
//!
//! Creating a site is organisation-level ([`Action::ManageSites`], administrators); editing one
//! is also open to the hall manager of that site ([`Action::ManageHalls`] for it). A site and
//! its windows, capacity, businesses and audit entry are one transaction; its seats are
//! generated right after, in the same request, so that it is bookable at once.

use crate::admin::Actor;
use crate::authz::{Action, Principal};
use crate::views::{CapacityView, DistrictView};
use crate::{App, AppError, AppResult, Code};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use wujing_domain::{Group, Hours, Pool, SiteKind};
use wujing_store::{AdminChange, Hall, HallSetup, Window};

/// A window of a new site.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct SiteWindowInput {
    pub number: u32,
    /// `general`, `foreigners`, `expedite` or `collection`.
    pub kind: String,
}

/// Seats per slot of each pool.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct SiteCapacityInput {
    #[serde(default)]
    pub online: u32,
    #[serde(default)]
    pub on_site: u32,
    #[serde(default)]
    pub expedite: u32,
}

/// A new site.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewSiteInput {
    /// A slug: 2 to 40 lower-case letters, digits and inner hyphens, e.g. `conghua-taiping-ps`.
    pub id: String,
    /// A district id, e.g. `conghua`.
    pub district: String,
    /// `hall`, `service_point`, `police_station` or `self_service`.
    pub kind: String,
    #[serde(flatten)]
    pub details: SiteDetailsInput,
    /// The windows, numbered 1 to 999, at least one.
    pub windows: Vec<SiteWindowInput>,
    pub capacity: SiteCapacityInput,
}

/// What an edit of a site replaces (and a new site sets): names, address, opening hours and
/// businesses.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct SiteDetailsInput {
    pub name_zh: String,
    pub name_en: String,
    pub address_zh: String,
    pub address_en: String,
    /// ISO weekdays of ordinary opening (1 = Monday).
    pub weekdays: Vec<u32>,
    /// Opening sessions, e.g. `09:00-12:00,14:00-17:00`.
    pub sessions: String,
    /// Minutes per slot (10 to 120).
    pub slot_minutes: u32,
    /// The catalogue's business codes offered, at least one.
    pub businesses: Vec<String>,
    /// Where the site is (WGS-84 degrees, as a phone's location): both or neither. The portal
    /// offers "nearest first" from them.
    #[serde(default)]
    pub latitude: Option<f64>,
    #[serde(default)]
    pub longitude: Option<f64>,
}

/// A site as administrators see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SiteView {
    pub id: String,
    pub district: DistrictView,
    /// `hall`, `service_point`, `police_station` or `self_service`.
    pub kind: String,
    pub kind_zh: String,
    pub kind_en: String,
    pub name_zh: String,
    pub name_en: String,
    pub address_zh: String,
    pub address_en: String,
    pub weekdays: Vec<u32>,
    /// `09:00-12:00,14:00-17:00`.
    pub sessions: String,
    pub slot_minutes: u32,
    pub businesses: Vec<String>,
    pub windows: Vec<crate::Window>,
    pub capacity: CapacityView,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

/// A site's coordinates: both or neither, each in range.
fn check_location(d: &SiteDetailsInput, e: &mut FieldErrors) -> Option<wujing_domain::GeoPoint> {
    match (d.latitude, d.longitude) {
        (None, None) => None,
        (Some(lat), Some(lon)) => {
            let p = wujing_domain::GeoPoint::new(lat, lon);
            if p.is_none() {
                e.add(
                    "location",
                    "纬度须在 -90 到 90 之间，经度须在 -180 到 180 之间（十进制度数）",
                    "the latitude is between -90 and 90 and the longitude between -180 and 180 (decimal degrees)",
                );
            }
            p
        }
        _ => {
            e.add(
                "location",
                "纬度和经度须同时填写，或都不填",
                "give both the latitude and the longitude, or neither",
            );
            None
        }
    }
}

/// Field errors, each in both languages, gathered so that a form shows all of them at once.
#[derive(Default)]
struct FieldErrors(BTreeMap<&'static str, (String, String)>);

impl FieldErrors {
    fn add(&mut self, field: &'static str, zh: impl Into<String>, en: impl Into<String>) {
        self.0.entry(field).or_insert((zh.into(), en.into()));
    }

    /// `site_invalid` naming the first field (`details.field`) and every field's messages
    /// (`details.errors.FIELD.zh|en`); `Ok` when there are none.
    fn into_result(self) -> AppResult<()> {
        let Some((first, (zh, en))) = self.0.iter().next() else {
            return Ok(());
        };
        let errors: Map<String, Value> = self
            .0
            .iter()
            .map(|(f, (zh, en))| (f.to_string(), json!({ "zh": zh, "en": en })))
            .collect();
        Err(AppError::new(
            Code::SiteInvalid,
            format!("{first}：{zh}"),
            format!("{first}: {en}"),
        )
        .with_details(json!({ "field": first, "errors": errors })))
    }
}

/// Every day, the whole day: a round-the-clock point's hours.
fn round_the_clock_hours() -> (Vec<u32>, Vec<wujing_domain::Session>) {
    (
        (1..=7).collect(),
        Hours::parse_sessions(wujing_domain::site::ROUND_THE_CLOCK).expect("a valid session"),
    )
}

const WINDOW_KINDS: [&str; 4] = ["general", "foreigners", "expedite", "collection"];

impl App {
    /// Checks a site's names, address, hours and businesses; the businesses sorted and
    /// deduplicated, the weekdays likewise, the sessions parsed.
    fn check_site_details(
        &self,
        d: &SiteDetailsInput,
        e: &mut FieldErrors,
    ) -> (Vec<u32>, Vec<wujing_domain::Session>, Vec<String>) {
        for (v, field) in [
            (&d.name_zh, "name_zh"),
            (&d.name_en, "name_en"),
            (&d.address_zh, "address_zh"),
            (&d.address_en, "address_en"),
        ] {
            // Names and addresses go on one line of slips, calendar files and boards.
            if v.trim().is_empty() || v.chars().count() > 200 {
                e.add(field, "须为1到200个字符", "must be 1 to 200 characters");
            } else if wujing_domain::text::forbidden_in_line(v).is_some() {
                e.add(
                    field,
                    "含有不允许的字符",
                    "contains a character not allowed",
                );
            }
        }
        let mut weekdays = d.weekdays.clone();
        weekdays.sort_unstable();
        weekdays.dedup();
        if weekdays.is_empty() || weekdays.iter().any(|w| !(1..=7).contains(w)) {
            e.add(
                "weekdays",
                "请选择至少一个工作日（1至7）",
                "choose at least one weekday (1 to 7)",
            );
        }
        let sessions = Hours::parse_sessions(&d.sessions)
            .filter(|s| !s.is_empty() && s.windows(2).all(|w| w[0].end <= w[1].start));
        let sessions = match sessions {
            Some(s) => s,
            None => {
                e.add(
                    "sessions",
                    "办公时间格式如 09:00-12:00,14:00-17:00，按时间先后且不重叠",
                    "opening hours look like 09:00-12:00,14:00-17:00, in order and not overlapping",
                );
                Vec::new()
            }
        };
        if !(10..=120).contains(&d.slot_minutes) {
            e.add(
                "slot_minutes",
                "每个时段须为10到120分钟",
                "a slot is 10 to 120 minutes",
            );
        }
        let mut businesses: Vec<String> =
            d.businesses.iter().map(|b| b.trim().to_string()).collect();
        businesses.sort();
        businesses.dedup();
        if businesses.is_empty() {
            e.add(
                "businesses",
                "请选择至少一项业务",
                "choose at least one business",
            );
        } else if let Some(unknown) = businesses
            .iter()
            .find(|b| self.catalogue.business(b).is_none())
        {
            e.add(
                "businesses",
                format!("没有“{unknown}”这项业务"),
                format!("there is no business \"{unknown}\""),
            );
        }
        (weekdays, sessions, businesses)
    }

    fn serves_foreigners(&self, businesses: &[String]) -> bool {
        businesses.iter().any(|b| {
            self.catalogue
                .business(b)
                .is_some_and(|x| x.group == Group::Foreigner)
        })
    }

    /// Creates a site with its windows, capacity and businesses, audited (`site.create`), and
    /// generates its seats to the horizon so that it is bookable at once.
    pub async fn create_site(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        i: &NewSiteInput,
    ) -> AppResult<SiteView> {
        self.require(p, Action::ManageSites, None)?;
        let mut e = FieldErrors::default();
        let id = i.id.trim().to_string();
        if !wujing_domain::site::valid_site_id(&id) {
            e.add(
                "id",
                "编号须为2到40位小写字母、数字或中间的连字符，如 conghua-taiping-ps",
                "the id is 2 to 40 lower-case letters, digits or inner hyphens, e.g. conghua-taiping-ps",
            );
        }
        let districts = self.store.districts().await?;
        if !districts.iter().any(|d| d.id == i.district.trim()) {
            e.add("district", "没有这个区", "no such district");
        }
        let kind = SiteKind::parse(i.kind.trim());
        if kind.is_none() {
            e.add(
                "kind",
                "类型须为 hall、service_point、police_station 或 self_service",
                "the kind is hall, service_point, police_station or self_service",
            );
        }
        let (weekdays, sessions, businesses) = self.check_site_details(&i.details, &mut e);
        let location = check_location(&i.details, &mut e);
        // A round-the-clock point (M11) has machines, not counters: no windows and no seats;
        // its hours are the whole day, every day, whatever the form said.
        let round_the_clock = kind == Some(SiteKind::SelfService);
        let (weekdays, sessions) = if round_the_clock {
            round_the_clock_hours()
        } else {
            (weekdays, sessions)
        };
        let mut numbers: Vec<u32> = i.windows.iter().map(|w| w.number).collect();
        numbers.sort_unstable();
        numbers.dedup();
        if round_the_clock {
            if !i.windows.is_empty() {
                e.add(
                    "windows",
                    "24小时自助办证点没有窗口",
                    "a 24-hour self-service point has no windows",
                );
            }
        } else if i.windows.is_empty()
            || i.windows.len() > 60
            || numbers.len() != i.windows.len()
            || i.windows
                .iter()
                .any(|w| !(1..=999).contains(&w.number) || !WINDOW_KINDS.contains(&w.kind.as_str()))
        {
            e.add(
                "windows",
                "须有1到60个窗口，窗口号1到999且不重复，类型为 general、foreigners、expedite 或 collection",
                "1 to 60 windows, numbered 1 to 999 without repeats, of kind general, foreigners, expedite or collection",
            );
        }
        let c = &i.capacity;
        if [c.online, c.on_site, c.expedite].iter().any(|n| *n > 500) {
            e.add(
                "capacity",
                "每个时段最多500个号",
                "at most 500 seats per slot",
            );
        } else if round_the_clock && c.online + c.on_site + c.expedite > 0 {
            e.add(
                "capacity",
                "24小时自助办证点不设预约号源",
                "a 24-hour self-service point has no seats to book",
            );
        } else if !round_the_clock && c.online + c.on_site + c.expedite == 0 {
            e.add(
                "capacity",
                "至少一个号源池须有号",
                "at least one pool needs seats",
            );
        }
        if self.hall_index().await?.contains_key(&id) {
            e.add(
                "id",
                "已有同一编号的办证点",
                "a site with this id exists already",
            );
        }
        e.into_result()?;
        let kind = kind.expect("checked above");
        let d = &i.details;
        let hall = Hall {
            id: id.clone(),
            district_id: i.district.trim().into(),
            name_zh: d.name_zh.trim().into(),
            name_en: d.name_en.trim().into(),
            address_zh: d.address_zh.trim().into(),
            address_en: d.address_en.trim().into(),
            weekdays,
            sessions,
            slot_minutes: d.slot_minutes,
            serves_foreigners: self.serves_foreigners(&businesses),
            window_count: i.windows.len() as u32,
            capacity: vec![
                (Pool::Online, c.online),
                (Pool::OnSite, c.on_site),
                (Pool::Expedite, c.expedite),
            ],
            kind,
            businesses,
            location,
        };
        let windows: Vec<Window> = i
            .windows
            .iter()
            .map(|w| Window {
                number: w.number,
                kind: w.kind.clone(),
            })
            .collect();
        let detail = json!({
            "kind": kind.as_str(),
            "district": hall.district_id,
            "name_zh": hall.name_zh,
            "name_en": hall.name_en,
            "sessions": Hours::format_sessions(&hall.sessions),
            "location": hall.location,
            "weekdays": hall.weekdays,
            "slot_minutes": hall.slot_minutes,
            "businesses": hall.businesses,
            "windows": i.windows,
            "capacity": { "online": c.online, "on_site": c.on_site, "expedite": c.expedite },
        });
        self.audit(
            &Actor::new(p, client_addr).in_hall(&id),
            AdminChange::CreateSite(Box::new(HallSetup { hall, windows })),
            "site.create",
            format!("hall:{id}"),
            None,
            detail,
        )
        .await?;
        self.after_seat_change();
        // Bookable at once: the new site's seats to the horizon, like every hall's.
        self.generate_horizon().await?;
        self.site(p, &id).await
    }

    /// Replaces a site's names, address, hours and businesses, audited (`site.change`, with
    /// before and after). New hours shape the seats generated from now on: seats already
    /// generated, and the bookings on them, stay as they are.
    pub async fn update_site(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        id: &str,
        d: &SiteDetailsInput,
    ) -> AppResult<SiteView> {
        self.require(p, Action::ManageHalls, Some(id))?;
        let before = self
            .store
            .hall(id)
            .await?
            .ok_or_else(|| crate::views::unknown_hall(id))?;
        let mut e = FieldErrors::default();
        let (weekdays, sessions, businesses) = self.check_site_details(d, &mut e);
        let location = check_location(d, &mut e);
        e.into_result()?;
        let (weekdays, sessions) = if before.kind == SiteKind::SelfService {
            round_the_clock_hours()
        } else {
            (weekdays, sessions)
        };
        let after = Hall {
            name_zh: d.name_zh.trim().into(),
            name_en: d.name_en.trim().into(),
            address_zh: d.address_zh.trim().into(),
            address_en: d.address_en.trim().into(),
            weekdays,
            sessions,
            slot_minutes: d.slot_minutes,
            serves_foreigners: self.serves_foreigners(&businesses),
            businesses,
            location,
            ..before.clone()
        };
        let summary = |h: &Hall| {
            json!({
                "name_zh": h.name_zh, "name_en": h.name_en,
                "address_zh": h.address_zh, "address_en": h.address_en,
                "weekdays": h.weekdays, "sessions": Hours::format_sessions(&h.sessions),
                "slot_minutes": h.slot_minutes, "businesses": h.businesses,
                "location": h.location,
            })
        };
        let detail = json!({ "before": summary(&before), "after": summary(&after) });
        self.audit(
            &Actor::new(p, client_addr).in_hall(id),
            AdminChange::UpdateSite(Box::new(after)),
            "site.change",
            format!("hall:{id}"),
            None,
            detail,
        )
        .await?;
        self.after_seat_change();
        self.generate_horizon().await?;
        self.site(p, id).await
    }

    /// One site as its administrators see it.
    pub async fn site(&self, p: &Principal, id: &str) -> AppResult<SiteView> {
        self.require(p, Action::ManageHalls, Some(id))?;
        let h = self
            .store
            .hall(id)
            .await?
            .ok_or_else(|| crate::views::unknown_hall(id))?;
        let districts = self.store.districts().await?;
        let windows = self.store.windows(id).await?;
        Ok(site_view(&h, &districts, windows))
    }

    /// Every site, for administrators: grouped by kind, then by district and id.
    pub async fn sites(&self, p: &Principal) -> AppResult<Vec<SiteView>> {
        self.require(p, Action::ManageSites, None)?;
        let districts = self.store.districts().await?;
        let mut halls = self.store.halls().await?;
        halls.sort_by(|a, b| (a.kind, &a.district_id, &a.id).cmp(&(b.kind, &b.district_id, &b.id)));
        let mut out = Vec::with_capacity(halls.len());
        for h in &halls {
            let windows = self.store.windows(&h.id).await?;
            out.push(site_view(h, &districts, windows));
        }
        Ok(out)
    }

    /// The districts a site may be created in.
    pub async fn districts(&self) -> AppResult<Vec<DistrictView>> {
        Ok(self
            .store
            .districts()
            .await?
            .into_iter()
            .map(|d| DistrictView {
                id: d.id,
                name_zh: d.name_zh,
                name_en: d.name_en,
            })
            .collect())
    }
}

fn site_view(h: &Hall, districts: &[wujing_store::District], windows: Vec<Window>) -> SiteView {
    let cap = |p: Pool| {
        h.capacity
            .iter()
            .find(|(q, _)| *q == p)
            .map_or(0, |(_, n)| *n)
    };
    let district = districts
        .iter()
        .find(|d| d.id == h.district_id)
        .map_or_else(
            || DistrictView {
                id: h.district_id.clone(),
                name_zh: h.district_id.clone(),
                name_en: h.district_id.clone(),
            },
            |d| DistrictView {
                id: d.id.clone(),
                name_zh: d.name_zh.clone(),
                name_en: d.name_en.clone(),
            },
        );
    SiteView {
        id: h.id.clone(),
        district,
        kind: h.kind.as_str().into(),
        kind_zh: h.kind.name_zh().into(),
        kind_en: h.kind.name_en().into(),
        name_zh: h.name_zh.clone(),
        name_en: h.name_en.clone(),
        address_zh: h.address_zh.clone(),
        address_en: h.address_en.clone(),
        weekdays: h.weekdays.clone(),
        sessions: Hours::format_sessions(&h.sessions),
        slot_minutes: h.slot_minutes,
        businesses: h.businesses.clone(),
        windows: windows.into_iter().map(Into::into).collect(),
        capacity: CapacityView {
            online: cap(Pool::Online),
            on_site: cap(Pool::OnSite),
            expedite: cap(Pool::Expedite),
        },
        latitude: h.location.map(|l| l.latitude()),
        longitude: h.location.map(|l| l.longitude()),
    }
}
