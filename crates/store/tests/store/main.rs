//! The storage port's conformance suite, run against SQLite and PostgreSQL alike (each area's
//! tests in a module of their own), plus the concurrency races and the schema-parity check.

mod booking;
mod bulk;
mod channels;
mod hall;
mod kiosk;
mod lifecycle;
mod locker;
mod lodging;
mod org;
mod outbox;
mod payments;
mod production;
mod registry;
mod reissue;
mod remote;
mod schema;
mod sealing;
mod staff;
mod stats;
mod used;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use wujing_domain::{Hours, Pool};
use wujing_store::*;
use wujing_testkit::identity;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-01T01:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}
fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 3).unwrap()
}
fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

fn every_business() -> Vec<String> {
    let mut all: Vec<String> = wujing_domain::Catalogue::builtin()
        .businesses()
        .map(|b| b.code.clone())
        .collect();
    all.sort();
    all
}

async fn setup(store: &DynStore, halls: &[&str]) {
    store
        .put_district(&District {
            id: "tianhe".into(),
            name_zh: "天河区".into(),
            name_en: "Tianhe".into(),
        })
        .await
        .unwrap();
    for id in halls {
        store
            .put_hall(&HallSetup {
                hall: Hall {
                    id: id.to_string(),
                    district_id: "tianhe".into(),
                    name_zh: format!("{id}大厅"),
                    name_en: format!("{id} hall"),
                    address_zh: "天河路1号".into(),
                    address_en: "1 Tianhe Road".into(),
                    weekdays: vec![1, 2, 3, 4, 5],
                    sessions: Hours::parse_sessions("09:00-12:00").unwrap(),
                    slot_minutes: 30,
                    serves_foreigners: false,
                    window_count: 0,
                    capacity: vec![(Pool::Online, 4), (Pool::OnSite, 2)],
                    kind: wujing_domain::SiteKind::Hall,
                    // Every business: the conformance suite books whatever it needs.
                    businesses: every_business(),
                    location: None,
                },
                windows: (1..=3)
                    .map(|n| Window {
                        number: n,
                        kind: "general".into(),
                    })
                    .collect(),
            })
            .await
            .unwrap();
    }
}

async fn slot(store: &DynStore, hall: &str, start: NaiveTime, capacity: u32) -> Slot {
    let starts_at = day()
        .and_time(start)
        .and_utc()
        .checked_sub_signed(TimeDelta::hours(8))
        .unwrap();
    store
        .ensure_slots(&[NewSlot {
            hall_id: hall.into(),
            day: day(),
            start,
            pool: Pool::Online,
            starts_at,
            capacity,
        }])
        .await
        .unwrap();
    store
        .slots(&SlotQuery {
            hall_ids: Some(vec![hall.into()]),
            start: Some(start),
            pool: Some(Pool::Online),
            ..Default::default()
        })
        .await
        .unwrap()
        .pop()
        .unwrap()
}

async fn hold(store: &DynStore, slot_id: i64, id: &str, now: DateTime<Utc>) -> Result<Hold> {
    store
        .create_hold(&NewHold {
            id: id.into(),
            slot_id,
            business: "passport_first".into(),
            now,
            expires_at: now + TimeDelta::minutes(10),
            client_addr: Some("127.0.0.1".into()),
            limits: vec![],
        })
        .await
}

fn new_booking(hold_id: &str, code: &str, who: u32, now: DateTime<Utc>) -> NewBooking {
    let id = identity(who);
    NewBooking {
        code: code.into(),
        hold_id: hold_id.into(),
        business: "passport_first".into(),
        option_code: None,
        identity_key: format!("CHN:{id}"),
        id_kind: IdKind::ResidentId,
        id_number: id,
        nationality: None,
        name: "测试".into(),
        phone: "13800000000".into(),
        answers_json: "{}".into(),
        fee_yuan: Some(120),
        channel: "web".into(),
        now,
        client_addr: None,
        limits: vec![],
        notices: vec![],
        lang: "zh-CN".into(),
        phone_code_id: None,
    }
}

async fn clean(store: &DynStore) {
    let r = store.verify_invariants().await.unwrap();
    assert!(r.is_clean(), "{r:?}");
}

/// A database that cannot be reached is `Unavailable`, not a statement error: a SQLite file
/// that cannot be opened, a PostgreSQL that refuses the connection.
#[tokio::test]
async fn an_unreachable_database_is_unavailable() {
    let e = wujing_testkit::open("sqlite:/nonexistent-dir/wujing.db")
        .await
        .err()
        .expect("cannot open");
    assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
    // Port 1 on loopback: nothing listens there.
    let pg = wujing_testkit::open("postgres://postgres@127.0.0.1:1/wujing")
        .await
        .unwrap();
    let e = pg.ping().await.unwrap_err();
    assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
}
