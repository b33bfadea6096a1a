//! The demo organisation: a Guangzhou-like administration loaded into an empty database, so that
//! `wujing serve` with no configuration shows a realistic system (data/demo/).

use crate::{App, AppResult};
use chrono::Utc;
use serde::Deserialize;
use std::collections::BTreeMap;
use wujing_domain::{Group, Hours, Pool, SiteKind};
use wujing_store::{District, Hall, HallSetup, Window};

#[derive(Deserialize)]
struct DemoOrg {
    districts: Vec<DemoDistrict>,
    halls: Vec<DemoHall>,
}

#[derive(Deserialize)]
struct DemoDistrict {
    id: String,
    name_zh: String,
    name_en: String,
}

#[derive(Deserialize)]
struct DemoHall {
    id: String,
    /// `hall` when absent: the article's 18 halls.
    #[serde(default = "demo_hall_kind")]
    kind: SiteKind,
    /// The businesses offered; absent: every business of the catalogue the site serves (the
    /// foreigners' only where `serves_foreigners`).
    #[serde(default)]
    businesses: Option<Vec<String>>,
    district_id: String,
    name_zh: String,
    name_en: String,
    address_zh: String,
    address_en: String,
    weekdays: Vec<u32>,
    sessions: String,
    slot_minutes: u32,
    serves_foreigners: bool,
    windows: Vec<DemoWindow>,
    capacity: BTreeMap<String, u32>,
}

fn demo_hall_kind() -> SiteKind {
    SiteKind::Hall
}

#[derive(Deserialize)]
struct DemoWindow {
    number: u32,
    kind: String,
}

pub const ORGANISATION: &str = include_str!("../../../data/demo/organisation.json");
pub const PERSONS: &str = include_str!("../../../data/demo/persons.jsonl");
pub const DOCUMENTS: &str = include_str!("../../../data/demo/documents.jsonl");

/// What loading the demo did. `halls` and `windows` count the sites of kind `hall` (the
/// article's 18 halls and 110 windows); `sites` and `site_windows` count every site.
#[derive(Debug, Default)]
pub struct DemoReport {
    pub districts: usize,
    pub halls: usize,
    pub windows: usize,
    pub sites: usize,
    pub site_windows: usize,
    pub persons: u64,
    pub documents: u64,
    pub slots: u64,
    /// Hotels registered for the demo police stations (`lodging::DEMO_HOTELS`).
    pub hotels: usize,
}

impl App {
    /// Whether the database holds no organisation yet.
    pub async fn is_empty(&self) -> AppResult<bool> {
        Ok(self.store.halls().await?.is_empty())
    }

    /// Loads the demo organisation, the 2026 calendar, the demo registry records, and generates
    /// seats up to the booking horizon.
    pub async fn load_demo(&self) -> AppResult<DemoReport> {
        self.load_demo_scaled(1).await
    }

    /// As [`App::load_demo`], with every pool's seats per slot multiplied by `scale`; the load
    /// generator uses it to stage a release larger than one real day.
    pub async fn load_demo_scaled(&self, scale: u32) -> AppResult<DemoReport> {
        let org: DemoOrg = serde_json::from_str(ORGANISATION).expect("shipped demo data parses");
        let mut report = DemoReport::default();
        for d in &org.districts {
            self.store
                .put_district(&District {
                    id: d.id.clone(),
                    name_zh: d.name_zh.clone(),
                    name_en: d.name_en.clone(),
                })
                .await?;
            report.districts += 1;
        }
        for h in &org.halls {
            let capacity = h
                .capacity
                .iter()
                .map(|(p, n)| {
                    (
                        Pool::parse(p).expect("demo pool names are valid"),
                        *n * scale,
                    )
                })
                .collect();
            let mut businesses: Vec<String> = match &h.businesses {
                Some(list) => {
                    for b in list {
                        assert!(
                            self.catalogue.business(b).is_some(),
                            "demo business {b} is in the catalogue"
                        );
                    }
                    list.clone()
                }
                None => self
                    .catalogue
                    .businesses()
                    .filter(|b| b.group == Group::Citizen || h.serves_foreigners)
                    .map(|b| b.code.clone())
                    .collect(),
            };
            businesses.sort();
            self.store
                .put_hall(&HallSetup {
                    hall: Hall {
                        id: h.id.clone(),
                        district_id: h.district_id.clone(),
                        name_zh: h.name_zh.clone(),
                        name_en: h.name_en.clone(),
                        address_zh: h.address_zh.clone(),
                        address_en: h.address_en.clone(),
                        weekdays: h.weekdays.clone(),
                        sessions: Hours::parse_sessions(&h.sessions).expect("demo sessions parse"),
                        slot_minutes: h.slot_minutes,
                        serves_foreigners: h.serves_foreigners,
                        window_count: h.windows.len() as u32,
                        capacity,
                        kind: h.kind,
                        businesses,
                    },
                    windows: h
                        .windows
                        .iter()
                        .map(|w| Window {
                            number: w.number,
                            kind: w.kind.clone(),
                        })
                        .collect(),
                })
                .await?;
            report.sites += 1;
            report.site_windows += h.windows.len();
            if h.kind == SiteKind::Hall {
                report.halls += 1;
                report.windows += h.windows.len();
            }
        }
        self.store
            .put_calendar_days(&wujing_domain::calendar::declared_days_2026())
            .await?;
        let now = Utc::now();
        let persons = crate::import::parse_persons(PERSONS).expect("demo persons parse");
        report.persons = self.store.upsert_persons(&persons, now).await?;
        let documents = crate::import::parse_documents(DOCUMENTS).expect("demo documents parse");
        report.documents = self.store.upsert_documents(&documents, now).await?;
        report.slots = self.generate_horizon().await?;
        report.hotels = self.load_demo_hotels().await?;
        Ok(report)
    }
}
