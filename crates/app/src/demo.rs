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
    /// `[latitude, longitude]`, WGS-84 degrees.
    #[serde(default)]
    location: Option<[f64; 2]>,
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
/// The permits' endorsement history: one record per branch of the 办证易 re-issue rules
/// (docs/KIOSK.md §7.1 lists who is who).
pub const ENDORSEMENTS: &str = include_str!("../../../data/demo/endorsements.jsonl");

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
    /// HK/Macao endorsements on record ([`ENDORSEMENTS`]).
    pub endorsements: u64,
    pub slots: u64,
    /// Hotels registered for the demo police stations (`lodging::DEMO_HOTELS`).
    pub hotels: usize,
    /// Machines registered at the round-the-clock points ([`DEMO_DEVICES`]).
    pub devices: usize,
}

/// The demo's machines at its round-the-clock points (M11) and its Tianhe hall (issue 17):
/// site, kind, name. Their tokens are random and shown nowhere: a demo kiosk (or the bridge
/// emulator's browser) is paired with one from the devices page (docs/KIOSK.md, "Pairing").
pub const DEMO_DEVICES: &[(&str, &str, &str)] = &[
    ("tianhe-tiyu-24h", "bzy", "体育西路 办证易 1"),
    ("tianhe-tiyu-24h", "qzj", "体育西路 取证机 1"),
    ("yuexiu-beijinglu-24h", "bzy", "北京路 办证易 1"),
    ("yuexiu-beijinglu-24h", "qzj", "北京路 取证机 1"),
    ("panyu-shiqiao-24h", "bzy", "市桥 办证易 1"),
    ("panyu-shiqiao-24h", "wej", "市桥 网e捷 1"),
    // Issue 17: a 办证易 and a 网e捷 in a hall too, beside its counters.
    ("tianhe", "bzy", "天河大厅 办证易 1"),
    ("tianhe", "wej", "天河大厅 网e捷 1"),
    // And the hall's 预约机, 取证机, 填表机 and 证件通.
    ("tianhe", "yyj", "天河大厅 预约机 1"),
    ("tianhe", "qzj", "天河大厅 取证机 1"),
    ("tianhe", "tbj", "天河大厅 填表机 1"),
    ("tianhe", "zjt", "天河大厅 证件通 1"),
];

/// The demo's kiosk-mode machines in a hall (issue 17): site, kind, name, and the window for a
/// window machine. Registered like [`DEMO_DEVICES`].
pub const DEMO_HALL_DEVICES: &[(&str, &str, &str, Option<u32>)] = &[
    ("tianhe", "sqy", "天河 申请易 1", None),
    ("tianhe", "qtt", "天河 1号窗口 前台通", Some(1)),
];

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
                        location: h.location.map(|[lat, lon]| {
                            wujing_domain::GeoPoint::new(lat, lon)
                                .expect("demo coordinates in range")
                        }),
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
        let endorsements =
            crate::import::parse_endorsements(ENDORSEMENTS).expect("demo endorsements parse");
        report.endorsements = self.store.import_endorsements(&endorsements, now).await?;
        report.slots = self.generate_horizon().await?;
        report.hotels = self.load_demo_hotels().await?;
        report.devices = self.load_demo_devices().await?;
        Ok(report)
    }

    /// Registers [`DEMO_DEVICES`] and [`DEMO_HALL_DEVICES`] (audited as the command line's, like the demo's hotels), once.
    async fn load_demo_devices(&self) -> AppResult<usize> {
        let existing = self.store.devices().await?;
        let mut n = 0;
        let all = DEMO_DEVICES
            .iter()
            .map(|(s, k, n)| (*s, *k, *n, None))
            .chain(DEMO_HALL_DEVICES.iter().copied());
        for (site, kind, name, window) in all {
            if self.store.hall(site).await?.is_none()
                || existing.iter().any(|d| d.name == name && d.hall_id == site)
            {
                continue;
            }
            let token = crate::auth::random_token();
            self.audit(
                &crate::admin::Actor::cli().in_hall(site),
                wujing_store::AdminChange::CreateDevice {
                    name: name.into(),
                    hall_id: site.into(),
                    token_hash: crate::auth::token_hash(&token),
                    kind: kind.into(),
                    window_number: window,
                },
                "device.create",
                format!("hall:{site}"),
                None,
                serde_json::json!({ "name": name, "hall": site, "kind": kind, "window": window }),
            )
            .await?;
            n += 1;
        }
        Ok(n)
    }

    /// The demo's round-the-clock points run emulated machines (issue 16 §3): every sweep, each
    /// of [`DEMO_DEVICES`] at a self-service point that no kiosk has paired with sends the
    /// heartbeat its agent would, every peripheral of its kind working, so that the demo's
    /// monitoring shows live points rather than silent ones. A machine a kiosk has paired with
    /// (a demo run on real screens, or the bridge emulator's browser) reports for itself, and a
    /// database that is not the demo organisation's is never touched. Answers how many beat.
    pub async fn emulate_demo_machines(&self) -> AppResult<u32> {
        if !self.is_demo_organisation().await? {
            return Ok(0);
        }
        let mut n = 0;
        for d in self.store.devices().await? {
            if d.revoked_at.is_some() || d.paired_at.is_some() {
                continue;
            }
            let demo = DEMO_DEVICES
                .iter()
                .any(|(site, kind, name)| *site == d.hall_id && *kind == d.kind && *name == d.name);
            let point = self
                .store
                .hall(&d.hall_id)
                .await?
                .is_some_and(|h| h.kind == SiteKind::SelfService);
            let Some(kind) = wujing_domain::DeviceKind::parse(&d.kind) else {
                continue;
            };
            if !demo || !point {
                continue;
            }
            let peripherals: &[&str] = match kind {
                wujing_domain::DeviceKind::Banzhengyi => &[
                    "id_reader",
                    "camera",
                    "printer",
                    "payment",
                    "card_writer",
                    "network",
                ],
                wujing_domain::DeviceKind::Quzhengji => &["id_reader", "locker", "network"],
                _ => &["id_reader", "printer", "payment", "network"],
            };
            let p = crate::Principal::Device(crate::authz::DevicePrincipal {
                id: d.id,
                name: d.name.clone(),
                hall_id: d.hall_id.clone(),
                kind,
                window_number: d.window_number,
            });
            let input = crate::devices::HeartbeatInput {
                peripherals: peripherals
                    .iter()
                    .map(|x| (x.to_string(), "ok".to_string()))
                    .collect(),
                software: Some("demo emulator".into()),
            };
            self.heartbeat(&p, None, &input).await?;
            n += 1;
        }
        Ok(n)
    }
}
