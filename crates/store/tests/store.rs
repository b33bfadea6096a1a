//! The storage port's conformance suite, run against SQLite and PostgreSQL alike, plus the
//! concurrency races and the schema-parity check.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use wujing_domain::eligibility::{DocumentStatus, PersonStatus};
use wujing_domain::{DocumentKind, DocumentRecord, Hours, PersonRecord, Pool};
use wujing_store::*;
use wujing_testkit::{both_dialects, identity};

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
    }
}

async fn clean(store: &DynStore) {
    let r = store.verify_invariants().await.unwrap();
    assert!(r.is_clean(), "{r:?}");
}

async fn organisation_round_trips(store: DynStore) {
    setup(&store, &["h1", "h2"]).await;
    let halls = store.halls().await.unwrap();
    assert_eq!(halls.len(), 2);
    let h = store.hall("h1").await.unwrap().unwrap();
    assert_eq!(h.window_count, 3);
    assert_eq!(h.capacity, vec![(Pool::Online, 4), (Pool::OnSite, 2)]);
    assert_eq!(h.sessions, Hours::parse_sessions("09:00-12:00").unwrap());
    assert!(store.hall("nope").await.unwrap().is_none());
    // Replacing a hall replaces its windows instead of adding to them.
    let mut setup2 = HallSetup {
        hall: h.clone(),
        windows: vec![Window {
            number: 9,
            kind: "expedite".into(),
        }],
    };
    setup2.hall.name_en = "Renamed".into();
    store.put_hall(&setup2).await.unwrap();
    let h = store.hall("h1").await.unwrap().unwrap();
    assert_eq!((h.window_count, h.name_en.as_str()), (1, "Renamed"));
    let days = wujing_domain::calendar::declared_days_2026();
    store.put_calendar_days(&days).await.unwrap();
    store.put_calendar_days(&days).await.unwrap();
    let feb = store
        .calendar_days(
            NaiveDate::from_ymd_opt(2026, 2, 1).unwrap(),
            NaiveDate::from_ymd_opt(2026, 2, 28).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(feb.len(), 11, "9 Spring Festival days and 2 make-up days");
    let status = store.migration_status().await.unwrap();
    assert!(status.is_current(), "{status:?}");
    assert!(store.migrate().await.unwrap().is_empty(), "idempotent");
}
both_dialects!(organisation, organisation_round_trips);

async fn slots_are_generated_incrementally(store: DynStore) {
    setup(&store, &["h1"]).await;
    let s = slot(&store, "h1", hm(9, 0), 3).await;
    hold(&store, s.id, "a", t0()).await.unwrap();
    // Generating again neither duplicates nor resets the counter.
    let again = slot(&store, "h1", hm(9, 0), 3).await;
    assert_eq!((again.id, again.taken), (s.id, 1));
    slot(&store, "h1", hm(9, 30), 0).await;
    let free = store
        .slots(&SlotQuery {
            only_free: true,
            from: Some(day()),
            to: Some(day()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        free.iter().map(|s| s.start).collect::<Vec<_>>(),
        vec![hm(9, 0)]
    );
    let none = store
        .slots(&SlotQuery {
            hall_ids: Some(vec![]),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty());
    clean(&store).await;
}
both_dialects!(slots, slots_are_generated_incrementally);

async fn hold_confirm_and_its_failures(store: DynStore) {
    setup(&store, &["h1"]).await;
    let s = slot(&store, "h1", hm(9, 0), 2).await;
    let h = hold(&store, s.id, "hold-1", t0()).await.unwrap();
    assert_eq!(h.state, HoldState::Held);
    let b = store
        .confirm_hold(&new_booking("hold-1", "AAAA1111", 1, t0()))
        .await
        .unwrap();
    assert_eq!(
        (b.status, b.slot.id, b.slot.taken),
        (BookingStatus::Active, s.id, 1)
    );
    assert_eq!(b.fee_yuan, Some(120));
    // A hold is used once.
    let again = store
        .confirm_hold(&new_booking("hold-1", "AAAA2222", 2, t0()))
        .await;
    assert_eq!(again.unwrap_err(), StoreError::HoldUsed);
    // Unknown hold.
    let unknown = store
        .confirm_hold(&new_booking("nope", "AAAA3333", 3, t0()))
        .await;
    assert_eq!(unknown.unwrap_err(), StoreError::NotFound("hold"));
    // Same identity, same business: refused by the unique index, and the hold survives.
    hold(&store, s.id, "hold-2", t0()).await.unwrap();
    let dup = store
        .confirm_hold(&new_booking("hold-2", "AAAA4444", 1, t0()))
        .await;
    assert_eq!(dup.unwrap_err(), StoreError::AlreadyBooked);
    assert_eq!(
        store.hold("hold-2").await.unwrap().unwrap().state,
        HoldState::Held
    );
    // Slot full now: 1 booking + 1 live hold.
    assert_eq!(
        hold(&store, s.id, "hold-3", t0()).await.unwrap_err(),
        StoreError::SlotFull
    );
    assert_eq!(
        hold(&store, 999_999, "hold-4", t0()).await.unwrap_err(),
        StoreError::NotFound("slot")
    );
    // A duplicate booking code is reported as such.
    let code = store
        .confirm_hold(&new_booking("hold-2", "AAAA1111", 5, t0()))
        .await;
    assert_eq!(code.unwrap_err(), StoreError::CodeTaken);
    // After expiry the hold cannot be confirmed, and the sweeper frees its seat.
    let late = t0() + TimeDelta::minutes(11);
    let expired = store
        .confirm_hold(&new_booking("hold-2", "AAAA5555", 5, late))
        .await;
    assert_eq!(expired.unwrap_err(), StoreError::HoldExpired);
    clean(&store).await;
    let r = store.sweep(late).await.unwrap();
    assert_eq!(
        r,
        SweepReport {
            expired_holds: 1,
            returned_seats: 0
        }
    );
    assert_eq!(store.slot(s.id).await.unwrap().unwrap().taken, 1);
    assert_eq!(
        store.hold("hold-2").await.unwrap().unwrap().state,
        HoldState::Expired
    );
    assert_eq!(store.sweep(late).await.unwrap(), SweepReport::default());
    let found = store.booking_by_code("AAAA1111").await.unwrap().unwrap();
    assert_eq!(found.id, b.id);
    assert_eq!(found.id_number, identity(1));
    assert!(
        !format!("{found:?}").contains(&identity(1)),
        "Debug masks the ID number"
    );
    clean(&store).await;
}
both_dialects!(hold_confirm, hold_confirm_and_its_failures);

async fn cancel_returns_the_seat_late_and_records_rebooking(store: DynStore) {
    setup(&store, &["h1"]).await;
    let s = slot(&store, "h1", hm(9, 0), 1).await;
    hold(&store, s.id, "h-a", t0()).await.unwrap();
    let a = store
        .confirm_hold(&new_booking("h-a", "CANCEL01", 1, t0()))
        .await
        .unwrap();
    let later = t0() + TimeDelta::minutes(1);
    let return_at = later + TimeDelta::minutes(30);
    let c = store.cancel_booking(a.id, later, return_at).await.unwrap();
    assert_eq!(c.status, BookingStatus::Cancelled);
    assert_eq!(c.cancelled_at, Some(later));
    assert_eq!(
        store
            .cancel_booking(a.id, later, return_at)
            .await
            .unwrap_err(),
        StoreError::BookingNotActive
    );
    assert_eq!(
        store
            .cancel_booking(424242, later, return_at)
            .await
            .unwrap_err(),
        StoreError::NotFound("booking")
    );
    // The seat is still counted until the return is due: nobody can grab it at once.
    assert_eq!(
        hold(&store, s.id, "h-b", later).await.unwrap_err(),
        StoreError::SlotFull
    );
    clean(&store).await;
    assert_eq!(
        store
            .sweep(return_at - TimeDelta::seconds(1))
            .await
            .unwrap()
            .returned_seats,
        0
    );
    assert_eq!(store.sweep(return_at).await.unwrap().returned_seats, 1);
    assert_eq!(store.slot(s.id).await.unwrap().unwrap().taken, 0);
    // Another identity takes the returned seat at once: a seat hand-off pair.
    let t = return_at + TimeDelta::seconds(5);
    hold(&store, s.id, "h-c", t).await.unwrap();
    let other = store
        .confirm_hold(&new_booking("h-c", "CANCEL02", 2, t))
        .await
        .unwrap();
    // The first identity rebooks the same business elsewhere: a same-identity pair.
    let s2 = slot(&store, "h1", hm(9, 30), 1).await;
    hold(&store, s2.id, "h-d", t).await.unwrap();
    store
        .confirm_hold(&new_booking("h-d", "CANCEL03", 1, t))
        .await
        .unwrap();
    // Pairs are found by the sweeper's scan, once; scanning again records nothing new.
    assert_eq!(
        store
            .detect_pairs(t, TimeDelta::hours(24), TimeDelta::minutes(10))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .detect_pairs(t, TimeDelta::hours(24), TimeDelta::minutes(10))
            .await
            .unwrap(),
        0
    );
    let pairs = store.cancel_rebook_pairs().await.unwrap();
    let kinds: BTreeMap<String, (String, String)> = pairs
        .iter()
        .map(|p| {
            (
                p.kind.clone(),
                (p.cancelled_code.clone(), p.new_code.clone()),
            )
        })
        .collect();
    assert_eq!(pairs.len(), 2, "{pairs:?}");
    assert_eq!(
        kinds["seat_handoff"],
        ("CANCEL01".into(), other.code.clone())
    );
    assert_eq!(
        kinds["same_identity"],
        ("CANCEL01".into(), "CANCEL03".into())
    );
    assert!(pairs.iter().all(|p| p.gap_ms > 0));
    // A zero delay returns the seat at once.
    store.cancel_booking(other.id, t, t).await.unwrap();
    assert_eq!(store.slot(s.id).await.unwrap().unwrap().taken, 0);
    clean(&store).await;
}
both_dialects!(cancel, cancel_returns_the_seat_late_and_records_rebooking);

async fn reschedule_takes_new_seat_before_releasing_old(store: DynStore) {
    setup(&store, &["h1"]).await;
    let a = slot(&store, "h1", hm(9, 0), 2).await;
    let b = slot(&store, "h1", hm(9, 30), 1).await;
    let full = slot(&store, "h1", hm(10, 0), 0).await;
    hold(&store, a.id, "r1", t0()).await.unwrap();
    let bk = store
        .confirm_hold(&new_booking("r1", "RESCH001", 1, t0()))
        .await
        .unwrap();
    // Into a full slot: refused and nothing changes.
    let e = store
        .reschedule_booking(bk.id, full.id, t0(), t0() + TimeDelta::minutes(30))
        .await
        .unwrap_err();
    assert_eq!(e, StoreError::SlotFull);
    assert_eq!(
        store
            .booking_by_code("RESCH001")
            .await
            .unwrap()
            .unwrap()
            .slot
            .id,
        a.id
    );
    let moved = store
        .reschedule_booking(bk.id, b.id, t0(), t0() + TimeDelta::minutes(30))
        .await
        .unwrap();
    assert_eq!((moved.slot.id, moved.reschedule_count), (b.id, 1));
    assert_eq!(
        store.slot(a.id).await.unwrap().unwrap().taken,
        1,
        "old seat returns later"
    );
    assert_eq!(store.slot(b.id).await.unwrap().unwrap().taken, 1);
    clean(&store).await;
    store.sweep(t0() + TimeDelta::minutes(30)).await.unwrap();
    assert_eq!(store.slot(a.id).await.unwrap().unwrap().taken, 0);
    store.cancel_booking(bk.id, t0(), t0()).await.unwrap();
    assert_eq!(
        store
            .reschedule_booking(bk.id, a.id, t0(), t0())
            .await
            .unwrap_err(),
        StoreError::BookingNotActive
    );
    clean(&store).await;
}
both_dialects!(reschedule, reschedule_takes_new_seat_before_releasing_old);

async fn registries_round_trip(store: DynStore) {
    let id = identity(7);
    let p = PersonRecord {
        id_number: id.clone(),
        name: "李华".into(),
        hukou_city: "广州".into(),
        residence_permit_city: Some("深圳".into()),
        residence_permit_expires: Some(NaiveDate::from_ymd_opt(2027, 6, 30).unwrap()),
        status: PersonStatus::Active,
        state_functionary: true,
    };
    store
        .upsert_persons(std::slice::from_ref(&p), t0())
        .await
        .unwrap();
    assert_eq!(store.person(&id).await.unwrap(), Some(p.clone()));
    let mut p2 = p.clone();
    p2.status = PersonStatus::Emigrated;
    store.upsert_persons(&[p2.clone()], t0()).await.unwrap();
    assert_eq!(store.person(&id).await.unwrap(), Some(p2));
    let d = DocumentRecord {
        id_number: id.clone(),
        kind: DocumentKind::HkmPermit,
        number: "CA1234567".into(),
        issued_on: NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
        expires_on: NaiveDate::from_ymd_opt(2030, 1, 1).unwrap(),
        status: DocumentStatus::Valid,
    };
    let mut lost = d.clone();
    lost.number = "E12345678".into();
    lost.kind = DocumentKind::Passport;
    lost.status = DocumentStatus::Lost;
    store
        .upsert_documents(&[d.clone(), lost.clone()], t0())
        .await
        .unwrap();
    store
        .upsert_documents(std::slice::from_ref(&d), t0())
        .await
        .unwrap();
    assert_eq!(store.documents_of(&id).await.unwrap().len(), 2);
    assert!(store.person("440106199001010000").await.unwrap().is_none());
}
both_dialects!(registries, registries_round_trip);

async fn rate_limits_count_in_the_transaction(store: DynStore) {
    setup(&store, &["h1"]).await;
    let s = slot(&store, "h1", hm(9, 0), 10).await;
    let limited = |id: &str, now| NewHold {
        id: id.into(),
        slot_id: s.id,
        business: "passport_first".into(),
        now,
        expires_at: now + TimeDelta::minutes(10),
        client_addr: None,
        limits: vec![RateRule {
            key: "addr:test".into(),
            limit: 2,
        }],
    };
    // Mid-minute, so that the window has 30 s left.
    let t = DateTime::parse_from_rfc3339("2026-12-01T01:00:30Z")
        .unwrap()
        .with_timezone(&Utc);
    store.create_hold(&limited("r1", t)).await.unwrap();
    store.create_hold(&limited("r2", t)).await.unwrap();
    let e = store.create_hold(&limited("r3", t)).await.unwrap_err();
    assert_eq!(
        e,
        StoreError::RateLimited {
            retry_after_secs: 30
        }
    );
    // The refused request took no seat.
    assert_eq!(store.slot(s.id).await.unwrap().unwrap().taken, 2);
    assert!(store.hold("r3").await.unwrap().is_none());
    // The next minute is a new window.
    store
        .create_hold(&limited("r4", t + TimeDelta::seconds(30)))
        .await
        .unwrap();
    // A confirmation counts its own rules.
    let mut b = new_booking("r1", "LIMIT001", 1, t);
    b.limits = vec![RateRule {
        key: "phone:x".into(),
        limit: 1,
    }];
    store.confirm_hold(&b).await.unwrap();
    let mut b2 = new_booking("r2", "LIMIT002", 2, t);
    b2.limits = b.limits.clone();
    assert!(matches!(
        store.confirm_hold(&b2).await,
        Err(StoreError::RateLimited { .. })
    ));
    assert_eq!(
        store.hold("r2").await.unwrap().unwrap().state,
        HoldState::Held
    );
    clean(&store).await;
}
both_dialects!(rate_limits, rate_limits_count_in_the_transaction);

// --- Concurrency -------------------------------------------------------------------------

/// 500 citizens race for 50 seats: exactly 50 bookings, and the counters stay exact.
async fn race_for_seats(store: DynStore) {
    setup(&store, &["h1"]).await;
    let s = slot(&store, "h1", hm(9, 0), 50).await;
    let mut tasks = Vec::new();
    for i in 0..500u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let hid = format!("race-{i}");
            hold(&store, s.id, &hid, t0()).await?;
            store
                .confirm_hold(&new_booking(&hid, &format!("R{i:07}"), i, t0()))
                .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::SlotFull) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(ok, 50);
    assert_eq!(store.slot(s.id).await.unwrap().unwrap().taken, 50);
    clean(&store).await;
}
both_dialects!(seats_race, race_for_seats);

/// 10 identities each try 20 times at once: exactly one active booking each.
async fn race_for_identity(store: DynStore) {
    setup(&store, &["h1", "h2"]).await;
    let a = slot(&store, "h1", hm(9, 0), 300).await;
    let b = slot(&store, "h2", hm(9, 0), 300).await;
    let mut tasks = Vec::new();
    for i in 0..200u32 {
        let store = store.clone();
        let slot_id = if i % 2 == 0 { a.id } else { b.id };
        tasks.push(tokio::spawn(async move {
            let hid = format!("id-{i}");
            hold(&store, slot_id, &hid, t0()).await?;
            store
                .confirm_hold(&new_booking(&hid, &format!("I{i:07}"), i % 10, t0()))
                .await
        }));
    }
    let mut ok = BTreeSet::new();
    let mut dup = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(b) => assert!(
                ok.insert(b.identity_key.clone()),
                "two bookings for one identity"
            ),
            Err(StoreError::AlreadyBooked) => dup += 1,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!((ok.len(), dup), (10, 190));
    clean(&store).await;
    // The 190 refused holds expire and free their seats.
    let r = store.sweep(t0() + TimeDelta::minutes(10)).await.unwrap();
    assert_eq!(r.expired_holds, 190);
    let taken = store.slot(a.id).await.unwrap().unwrap().taken
        + store.slot(b.id).await.unwrap().unwrap().taken;
    assert_eq!(taken, 10);
    clean(&store).await;
}
both_dialects!(identity_race, race_for_identity);

/// Cancels, reschedules and the sweeper race over the same bookings; the counts stay exact and
/// the small target slot is never oversold.
async fn race_cancel_and_reschedule(store: DynStore) {
    setup(&store, &["h1"]).await;
    let a = slot(&store, "h1", hm(9, 0), 60).await;
    let b = slot(&store, "h1", hm(9, 30), 25).await;
    let mut ids = Vec::new();
    for i in 0..60u32 {
        let hid = format!("cr-{i}");
        hold(&store, a.id, &hid, t0()).await.unwrap();
        let bk = store
            .confirm_hold(&new_booking(&hid, &format!("C{i:07}"), i, t0()))
            .await
            .unwrap();
        ids.push(bk.id);
    }
    let store2 = store.clone();
    let now = t0() + TimeDelta::minutes(1);
    let mut tasks = Vec::new();
    for (i, id) in ids.iter().copied().enumerate() {
        let s = store2.clone();
        let ret = if i % 3 == 0 {
            now
        } else {
            now + TimeDelta::minutes(5)
        };
        tasks.push(tokio::spawn(async move {
            s.reschedule_booking(id, b.id, now, ret).await.map(|_| ())
        }));
        let s = store2.clone();
        tasks.push(tokio::spawn(async move {
            s.cancel_booking(id, now, ret).await.map(|_| ())
        }));
        if i % 10 == 0 {
            let s = store2.clone();
            tasks.push(tokio::spawn(async move {
                s.sweep(now + TimeDelta::minutes(5)).await.map(|_| ())
            }));
        }
    }
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) | Err(StoreError::SlotFull) | Err(StoreError::BookingNotActive) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    let b_now = store.slot(b.id).await.unwrap().unwrap();
    assert!(b_now.taken <= 25);
    clean(&store).await;
    store.sweep(now + TimeDelta::minutes(5)).await.unwrap();
    // Every booking ended cancelled, so every seat is back.
    assert_eq!(store.slot(a.id).await.unwrap().unwrap().taken, 0);
    assert_eq!(store.slot(b.id).await.unwrap().unwrap().taken, 0);
    clean(&store).await;
}
both_dialects!(cancel_reschedule_race, race_cancel_and_reschedule);

// --- Schema parity ------------------------------------------------------------------------

#[derive(Debug, Default, PartialEq, Eq)]
struct Schema {
    columns: BTreeSet<(String, String, bool)>,
    primary_keys: BTreeSet<(String, Vec<String>)>,
    uniques: BTreeSet<(String, Vec<String>, bool)>,
    foreign_keys: BTreeSet<(String, Vec<String>, String, Vec<String>)>,
}

fn sqlite_schema(path: &std::path::Path) -> Schema {
    let c = rusqlite::Connection::open(path).unwrap();
    let mut s = Schema::default();
    let tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    for t in &tables {
        let mut pk: Vec<(i64, String)> = Vec::new();
        let mut st = c.prepare(&format!("PRAGMA table_info({t})")).unwrap();
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(1)?,
                    r.get::<_, bool>(3)?,
                    r.get::<_, i64>(5)?,
                ))
            })
            .unwrap();
        for row in rows {
            let (name, notnull, pkpos) = row.unwrap();
            // SQLite lets PRIMARY KEY columns be NULL unless declared otherwise; PostgreSQL never does.
            s.columns
                .insert((t.clone(), name.clone(), notnull || pkpos > 0));
            if pkpos > 0 {
                pk.push((pkpos, name));
            }
        }
        pk.sort();
        s.primary_keys
            .insert((t.clone(), pk.into_iter().map(|p| p.1).collect()));
        let mut st = c.prepare(&format!("PRAGMA index_list({t})")).unwrap();
        let idx: Vec<(String, bool, String, bool)> = st
            .query_map([], |r| Ok((r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        for (name, unique, origin, partial) in idx {
            if !unique || origin == "pk" {
                continue;
            }
            let cols: Vec<String> = c
                .prepare(&format!("PRAGMA index_info({name})"))
                .unwrap()
                .query_map([], |r| r.get(2))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            s.uniques.insert((t.clone(), cols, partial));
        }
        let mut st = c.prepare(&format!("PRAGMA foreign_key_list({t})")).unwrap();
        let fks: Vec<(i64, String, String, String)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let mut grouped: BTreeMap<i64, (String, Vec<String>, Vec<String>)> = BTreeMap::new();
        for (id, table, from, to) in fks {
            let e = grouped.entry(id).or_insert((table, vec![], vec![]));
            e.1.push(from);
            e.2.push(to);
        }
        for (_, (table, from, to)) in grouped {
            s.foreign_keys.insert((t.clone(), from, table, to));
        }
    }
    s
}

async fn pg_schema(url: &str) -> Schema {
    let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut s = Schema::default();
    for r in c
        .query(
            "SELECT table_name::text, column_name::text, is_nullable = 'NO' FROM information_schema.columns
             WHERE table_schema = 'public'",
            &[],
        )
        .await
        .unwrap()
    {
        s.columns.insert((r.get(0), r.get(1), r.get(2)));
    }
    let idx = c
        .query(
            "SELECT t.relname::text, i.indisprimary, i.indisunique, i.indpred IS NOT NULL,
                    array(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY k(n, o)
                          JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.n ORDER BY k.o)
             FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
             JOIN pg_namespace ns ON ns.oid = t.relnamespace WHERE ns.nspname = 'public'",
            &[],
        )
        .await
        .unwrap();
    for r in idx {
        let (t, primary, unique, partial, cols): (String, bool, bool, bool, Vec<String>) =
            (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
        if primary {
            s.primary_keys.insert((t, cols));
        } else if unique {
            s.uniques.insert((t, cols, partial));
        }
    }
    let fks = c
        .query(
            "SELECT src.relname::text, dst.relname::text,
                    array(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, o)
                          JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o),
                    array(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, o)
                          JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.o)
             FROM pg_constraint con JOIN pg_class src ON src.oid = con.conrelid
             JOIN pg_class dst ON dst.oid = con.confrelid
             JOIN pg_namespace ns ON ns.oid = src.relnamespace
             WHERE con.contype = 'f' AND ns.nspname = 'public'",
            &[],
        )
        .await
        .unwrap();
    for r in fks {
        s.foreign_keys
            .insert((r.get(0), r.get(2), r.get(1), r.get(3)));
    }
    s
}

#[tokio::test]
async fn both_migration_sets_produce_the_same_schema() {
    let (store, guard) = wujing_testkit::sqlite_store().await;
    drop(store);
    let lite = sqlite_schema(&guard.path);
    assert!(lite.columns.len() > 50, "the SQLite schema was read");
    assert!(lite.uniques.contains(&(
        "bookings".to_string(),
        vec!["identity_key".to_string(), "business".to_string()],
        true
    )));
    let Some(url) = wujing_testkit::fresh_pg_database().await else {
        return;
    };
    let pg = wujing_store::open(&url).await.unwrap();
    pg.migrate().await.unwrap();
    let mut pg = pg_schema(&url).await;
    // The one intended difference: SQLite keeps rate-limit counters in an in-memory database
    // attached to its writer (one app server per file); PostgreSQL shares them in a table.
    assert!(pg.columns.iter().any(|c| c.0 == "rate_limits"));
    pg.columns.retain(|c| c.0 != "rate_limits");
    pg.primary_keys.retain(|c| c.0 != "rate_limits");
    let diff = |a: &Schema, b: &Schema| {
        format!(
            "columns: {:?}\nprimary keys: {:?}\nuniques: {:?}\nforeign keys: {:?}",
            a.columns.difference(&b.columns).collect::<Vec<_>>(),
            a.primary_keys
                .difference(&b.primary_keys)
                .collect::<Vec<_>>(),
            a.uniques.difference(&b.uniques).collect::<Vec<_>>(),
            a.foreign_keys
                .difference(&b.foreign_keys)
                .collect::<Vec<_>>(),
        )
    };
    assert!(
        lite == pg,
        "only in SQLite:\n{}\nonly in PostgreSQL:\n{}",
        diff(&lite, &pg),
        diff(&pg, &lite)
    );
}

#[tokio::test]
async fn a_database_from_a_newer_build_is_reported() {
    let (store, guard) = wujing_testkit::sqlite_store().await;
    let c = rusqlite::Connection::open(&guard.path).unwrap();
    c.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)",
        [],
    )
    .unwrap();
    let st = store.migration_status().await.unwrap();
    assert_eq!(st.unknown(), vec![999]);
    assert!(!st.is_current());
    let _ = Arc::clone(&store);
}

// --- Staff, sessions, audit chain (M14) ---------------------------------------------------------

fn entry(n: u32, action: &str) -> NewAudit {
    NewAudit {
        at: t0() + TimeDelta::seconds(i64::from(n)),
        actor: "cli".into(),
        actor_name: "cli:test".into(),
        action: action.into(),
        subject: format!("staff:{n}"),
        citizen: n.is_multiple_of(2).then(|| identity(n)),
        detail: serde_json::json!({ "n": n }),
        client_addr: Some("127.0.0.1".into()),
        station: None,
    }
}

fn grant(role: wujing_domain::staff::Role, hall: Option<&str>) -> wujing_domain::staff::RoleGrant {
    wujing_domain::staff::RoleGrant {
        role,
        hall: hall.map(str::to_string),
    }
}

async fn staff_sessions_and_changes(store: DynStore) {
    use wujing_domain::staff::Role;
    setup(&store, &["h1"]).await;
    let id = match store
        .apply_admin(
            &AdminChange::CreateStaff {
                username: "li".into(),
                display_name: "李".into(),
                password_hash: "$argon2id$fake".into(),
                roles: vec![grant(Role::Officer, Some("h1"))],
                phone: None,
            },
            &entry(1, "staff.create"),
        )
        .await
        .unwrap()
    {
        AdminOutcome::Created(id) => id,
        other => panic!("{other:?}"),
    };
    // A taken user name is refused and writes no audit entry.
    let dup = store
        .apply_admin(
            &AdminChange::CreateStaff {
                username: "li".into(),
                display_name: "x".into(),
                password_hash: "h".into(),
                roles: vec![],
                phone: None,
            },
            &entry(2, "staff.create"),
        )
        .await;
    assert_eq!(dup, Err(StoreError::Refused("username_taken")));
    let a = store.staff_by_username("li").await.unwrap().unwrap();
    assert_eq!(
        (a.id, a.roles.clone()),
        (id, vec![grant(Role::Officer, Some("h1"))])
    );
    assert!(!format!("{a:?}").contains("argon2"), "Debug hides the hash");

    let session = StaffSession {
        token_hash: "t1".into(),
        staff_id: id,
        csrf_token: "c1".into(),
        created_at: t0(),
        expires_at: t0() + TimeDelta::hours(1),
        client_addr: None,
    };
    store.create_session(&session).await.unwrap();
    assert_eq!(store.session("t1", t0()).await.unwrap().unwrap().0, session);
    assert!(store
        .session("t1", t0() + TimeDelta::hours(2))
        .await
        .unwrap()
        .is_none());
    // Disabling the account ends its sessions.
    store
        .apply_admin(
            &AdminChange::UpdateStaff {
                id,
                display_name: None,
                roles: None,
                disabled: Some(true),
                password_hash: None,
                phone: None,
            },
            &entry(3, "staff.change"),
        )
        .await
        .unwrap();
    assert!(store.session("t1", t0()).await.unwrap().is_none());
    assert!(store.staff_by_id(id).await.unwrap().unwrap().disabled);

    // Log-in failures count per key within the window.
    let keys = vec!["user:li".to_string(), "addr:1.2.3.4".to_string()];
    for i in 0..3 {
        let c = store
            .record_login_failure(
                &keys,
                t0() + TimeDelta::seconds(i),
                t0() - TimeDelta::minutes(15),
            )
            .await
            .unwrap();
        assert_eq!(c, vec![i as u32 + 1, i as u32 + 1]);
    }
    store.clear_login_failures("user:li").await.unwrap();
    assert_eq!(
        store
            .login_failures(&keys, t0() - TimeDelta::minutes(15))
            .await
            .unwrap(),
        vec![0, 3]
    );

    // Capacity changes in place and refuses to go below the seats taken.
    let slots = store
        .ensure_slots(&[NewSlot {
            hall_id: "h1".into(),
            day: day(),
            start: hm(9, 0),
            pool: Pool::Online,
            starts_at: t0(),
            capacity: 3,
        }])
        .await
        .unwrap();
    assert_eq!(slots, 1);
    let slot = store
        .slots(&SlotQuery {
            hall_ids: Some(vec!["h1".into()]),
            from: Some(day()),
            to: Some(day()),
            pool: Some(Pool::Online),
            ..Default::default()
        })
        .await
        .unwrap()[0]
        .clone();
    store
        .create_hold(&NewHold {
            id: "hold-a".into(),
            slot_id: slot.id,
            business: "passport_first".into(),
            now: t0(),
            expires_at: t0() + TimeDelta::minutes(10),
            client_addr: None,
            limits: vec![],
        })
        .await
        .unwrap();
    let set = |seats| AdminChange::SetCapacity {
        hall_id: "h1".into(),
        pool: Pool::Online,
        seats,
        from_day: day(),
    };
    assert_eq!(
        store
            .apply_admin(&set(0), &entry(4, "capacity.change"))
            .await,
        Err(StoreError::Refused("capacity_below_taken"))
    );
    assert_eq!(
        store
            .apply_admin(&set(5), &entry(4, "capacity.change"))
            .await,
        Ok(AdminOutcome::SlotsChanged(1))
    );
    let s = store.slot(slot.id).await.unwrap().unwrap();
    assert_eq!((s.capacity, s.taken), (5, 1), "the hold keeps its seat");
    let close = |closed| AdminChange::SetHallDay {
        hall_id: "h1".into(),
        day: day(),
        closed,
        note: "typhoon".into(),
    };
    assert_eq!(
        store
            .apply_admin(&close(true), &entry(5, "calendar.close"))
            .await,
        Err(StoreError::Refused("day_has_bookings"))
    );
    assert_eq!(
        store
            .sweep(t0() + TimeDelta::minutes(11))
            .await
            .unwrap()
            .expired_holds,
        1
    );
    store
        .apply_admin(&close(true), &entry(5, "calendar.close"))
        .await
        .unwrap();
    assert_eq!(store.slot(slot.id).await.unwrap().unwrap().capacity, 0);
    assert_eq!(
        store.hall_closures("h1", day(), day()).await.unwrap(),
        vec![day()]
    );
    store
        .apply_admin(&close(false), &entry(6, "calendar.open"))
        .await
        .unwrap();
    assert_eq!(store.slot(slot.id).await.unwrap().unwrap().capacity, 5);
    assert!(store
        .hall_closures("h1", day(), day())
        .await
        .unwrap()
        .is_empty());

    // Every successful change left exactly one entry, chained.
    let (chain, head) = store.audit_chain().await.unwrap();
    let actions: Vec<&str> = chain.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "staff.create",
            "staff.change",
            "capacity.change",
            "calendar.close",
            "calendar.open"
        ]
    );
    assert_eq!(
        wujing_domain::audit::verify_chain(&chain, head.as_ref().map(|(s, h)| (*s, h.as_str()))),
        Ok(5)
    );
    let found = store
        .audit_search(&AuditQuery {
            actor: Some("cli".into()),
            limit: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.iter().map(|e| e.seq).collect::<Vec<_>>(), [5, 4]);
}
both_dialects!(staff, staff_sessions_and_changes);

/// Concurrent appends from many tasks still form one unbroken chain.
async fn audit_appends_race(store: DynStore) {
    let mut tasks = Vec::new();
    for n in 0..40u32 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.apply_admin(&AdminChange::None, &entry(n, "identity.reveal"))
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let (chain, head) = store.audit_chain().await.unwrap();
    assert_eq!(
        wujing_domain::audit::verify_chain(&chain, head.as_ref().map(|(s, h)| (*s, h.as_str()))),
        Ok(40)
    );
}
both_dialects!(audit_race, audit_appends_race);

/// Tampering behind the application's back: a raw connection edits and deletes rows (after
/// dropping the append-only triggers, as a database owner could), and the verifier names the
/// exact entry.
async fn tamper_and_verify(
    store: &DynStore,
    exec: &(dyn Fn(&str) -> futures_lite_boxed::Fut + Sync),
) {
    use wujing_domain::audit::{verify_chain, ChainBreak};
    for n in 1..=6 {
        store
            .apply_admin(&AdminChange::None, &entry(n, "identity.reveal"))
            .await
            .unwrap();
    }
    let verify = || async {
        let (chain, head) = store.audit_chain().await.unwrap();
        verify_chain(&chain, head.as_ref().map(|(s, h)| (*s, h.as_str())))
    };
    assert_eq!(verify().await, Ok(6));
    // The triggers refuse edits made without dropping them.
    assert!(exec("UPDATE audit_log SET detail = '{}' WHERE seq = 3")
        .await
        .is_err());
    exec("DROP TRIGGER IF EXISTS audit_log_no_update")
        .await
        .ok();
    exec("DROP TRIGGER IF EXISTS audit_log_no_delete")
        .await
        .ok();
    exec("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
        .await
        .ok();
    exec("UPDATE audit_log SET detail = '{\"n\":99}' WHERE seq = 3")
        .await
        .unwrap();
    assert_eq!(verify().await, Err(ChainBreak::Edited { seq: 3 }));
    exec("DELETE FROM audit_log WHERE seq = 3").await.unwrap();
    assert_eq!(verify().await, Err(ChainBreak::Missing { from: 3, to: 3 }));
    exec("DELETE FROM audit_log WHERE seq >= 3").await.unwrap();
    assert_eq!(
        verify().await,
        Err(ChainBreak::TailMissing {
            head_seq: 6,
            last_seq: 2
        })
    );
}

mod futures_lite_boxed {
    pub type Fut = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send>>;
}

#[tokio::test]
async fn audit_tampering_is_located_on_sqlite() {
    let t = wujing_testkit::TempSqlite::new();
    let store = wujing_store::open(&t.url()).await.unwrap();
    store.migrate().await.unwrap();
    let path = t.path.clone();
    let exec = move |sql: &str| -> futures_lite_boxed::Fut {
        let (path, sql) = (path.clone(), sql.to_string());
        Box::pin(async move {
            let c = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
            c.execute_batch(&sql).map_err(|e| e.to_string())
        })
    };
    tamper_and_verify(&store, &exec).await;
}

#[tokio::test]
async fn audit_tampering_is_located_on_postgres() {
    let Some(url) = wujing_testkit::fresh_pg_database().await else {
        return;
    };
    let store = wujing_store::open(&url).await.unwrap();
    store.migrate().await.unwrap();
    let exec = move |sql: &str| -> futures_lite_boxed::Fut {
        let (url, sql) = (url.clone(), sql.to_string());
        Box::pin(async move {
            let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(conn);
            c.batch_execute(&sql).await.map_err(|e| e.to_string())
        })
    };
    tamper_and_verify(&store, &exec).await;
}

// --- Notification outbox ------------------------------------------------------------------------

fn msg(key: &str, to: &str) -> NewMessage {
    NewMessage {
        idempotency_key: key.into(),
        channel: "sms".into(),
        recipient: to.into(),
        topic: "phone_code".into(),
        body: format!("code for {key}"),
        created_at: t0(),
    }
}

async fn outbox_delivers_with_leases_and_retries(store: DynStore) {
    setup(&store, &["h1"]).await;
    // The same key twice is one message.
    assert_eq!(
        store
            .enqueue(&[msg("a", "13800000001"), msg("b", "13800000002")])
            .await
            .unwrap(),
        2
    );
    assert_eq!(store.enqueue(&[msg("a", "13800000001")]).await.unwrap(), 0);
    let lease = TimeDelta::seconds(60);
    let first = store.claim_messages(t0(), lease, 10).await.unwrap();
    assert_eq!(
        first
            .iter()
            .map(|m| m.idempotency_key.as_str())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(first[0].attempts, 1);
    // Leased messages are not handed to a second dispatcher.
    assert!(store
        .claim_messages(t0(), lease, 10)
        .await
        .unwrap()
        .is_empty());
    store.message_delivered(first[0].id, t0()).await.unwrap();
    store
        .message_failed(
            first[1].id,
            t0() + TimeDelta::seconds(5),
            "gateway answered 503",
        )
        .await
        .unwrap();
    assert!(store
        .claim_messages(t0() + TimeDelta::seconds(4), lease, 10)
        .await
        .unwrap()
        .is_empty());
    let again = store
        .claim_messages(t0() + TimeDelta::seconds(5), lease, 10)
        .await
        .unwrap();
    assert_eq!(
        (
            again.len(),
            again[0].attempts,
            again[0].last_error.as_deref()
        ),
        (1, 2, Some("gateway answered 503"))
    );
    // An expired lease (a dispatcher died mid-send) makes the message due again.
    let later = store
        .claim_messages(t0() + TimeDelta::seconds(70), lease, 10)
        .await
        .unwrap();
    assert_eq!(later.len(), 1);
    store
        .message_delivered(later[0].id, t0() + TimeDelta::seconds(70))
        .await
        .unwrap();
    assert!(store
        .claim_messages(t0() + TimeDelta::hours(1), lease, 10)
        .await
        .unwrap()
        .is_empty());
    let a = store.messages_to("13800000001", 10).await.unwrap();
    assert_eq!((a.len(), a[0].delivered_at), (1, Some(t0())));

    // A confirmation message is written with its booking, and not without it.
    let s = slot(&store, "h1", hm(9, 0), 1).await;
    let h = hold(&store, s.id, "hold-1", t0()).await.unwrap();
    let mut b = new_booking(&h.id, "CODE0001", 1, t0());
    b.notices = vec![NewMessage {
        idempotency_key: "confirm:CODE0001".into(),
        topic: "confirmation".into(),
        ..msg("x", "13800000000")
    }];
    let booking = store.confirm_hold(&b).await.unwrap();
    assert_eq!(booking.lang, "zh-CN");
    let mut twice = b.clone();
    twice.code = "CODE0002".into();
    twice.notices[0].idempotency_key = "confirm:CODE0002".into();
    assert_eq!(store.confirm_hold(&twice).await, Err(StoreError::HoldUsed));
    let sent: Vec<String> = store
        .messages_to("13800000000", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.idempotency_key)
        .collect();
    assert_eq!(sent, ["confirm:CODE0001"]);
    let on_day = store.active_bookings_on(day()).await.unwrap();
    assert_eq!(
        on_day.iter().map(|b| b.code.as_str()).collect::<Vec<_>>(),
        ["CODE0001"]
    );
}
both_dialects!(outbox, outbox_delivers_with_leases_and_retries);

// --- Hall operations ---------------------------------------------------------------------------

async fn staff_member(store: &DynStore) -> i64 {
    match store
        .apply_admin(
            &AdminChange::CreateStaff {
                username: "officer1".into(),
                display_name: "民警".into(),
                password_hash: "x".into(),
                roles: vec![],
                phone: None,
            },
            &entry(1, "staff.create"),
        )
        .await
        .unwrap()
    {
        AdminOutcome::Created(id) => id,
        o => panic!("{o:?}"),
    }
}

fn walk_in(n: u32, queue: &str) -> NewTicket {
    NewTicket {
        hall_id: "h1".into(),
        day: day(),
        queue: queue.into(),
        booking_id: None,
        business: "passport_first".into(),
        identity_key: format!("CHN:{}", identity(n)),
        kind: "walk_in".into(),
        priority: 0,
        due_at: t0() + TimeDelta::seconds(i64::from(n)),
        now: t0(),
    }
}

/// Concurrent check-ins number tickets without gaps or repeats; concurrent windows calling
/// next never get the same ticket.
async fn tickets_race(store: DynStore) {
    setup(&store, &["h1"]).await;
    let officer = staff_member(&store).await;
    let mut tasks = Vec::new();
    for n in 0..60u32 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.issue_ticket(&walk_in(n, if n % 3 == 0 { "B" } else { "A" }))
                .await
        }));
    }
    let mut labels = BTreeSet::new();
    for t in tasks {
        labels.insert(t.await.unwrap().unwrap().label);
    }
    let expect: BTreeSet<String> = (1..=40)
        .map(|n| format!("A{n:03}"))
        .chain((1..=20).map(|n| format!("B{n:03}")))
        .collect();
    assert_eq!(labels, expect, "gap-free and unique per queue");

    let mut tasks = Vec::new();
    for w in 0..70u32 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.call_next("h1", day(), &["A".into(), "B".into()], w + 1, officer, t0())
                .await
        }));
    }
    let mut called = BTreeSet::new();
    let mut none = 0;
    for t in tasks {
        match t.await.unwrap().unwrap() {
            Some(t) => assert!(called.insert(t.id), "ticket {} called twice", t.label),
            None => none += 1,
        }
    }
    assert_eq!((called.len(), none), (60, 10));
}
both_dialects!(tickets_concurrency, tickets_race);

/// A hall day: arrivals, calls in order with expedited first, recalls into missed and back,
/// transfers, parking; every ticket ends in exactly one final state, and the reconciliation is
/// the sum of the payments.
async fn hall_day(store: DynStore) {
    setup(&store, &["h1"]).await;
    let officer = staff_member(&store).await;
    let mut ids = Vec::new();
    for n in 0..8u32 {
        let mut t = walk_in(n, "A");
        if n == 5 {
            t.priority = 1; // expedited
        }
        ids.push(store.issue_ticket(&t).await.unwrap());
    }
    // A booking is used once.
    let s = slot(&store, "h1", hm(9, 0), 5).await;
    let h = hold(&store, s.id, "hold-h", t0()).await.unwrap();
    let b = store
        .confirm_hold(&new_booking(&h.id, "CODEHALL", 90, t0()))
        .await
        .unwrap();
    let with_booking = NewTicket {
        booking_id: Some(b.id),
        queue: "B".into(),
        ..walk_in(90, "B")
    };
    store.issue_ticket(&with_booking).await.unwrap();
    assert_eq!(
        store.issue_ticket(&with_booking).await,
        Err(StoreError::Refused("already_checked_in"))
    );

    let q = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let first = store
        .call_next("h1", day(), &q(&["A"]), 1, officer, t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.label, "A006", "expedited first");
    let second = store
        .call_next("h1", day(), &q(&["A"]), 2, officer, t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.label, "A001", "then by due time");
    // Window 2 cannot move window 1's ticket.
    assert_eq!(
        store
            .move_ticket(first.id, 2, &TicketMove::Start, t0())
            .await,
        Err(StoreError::Refused("ticket_state"))
    );
    store
        .move_ticket(first.id, 1, &TicketMove::Start, t0())
        .await
        .unwrap();
    let paid = store
        .record_payment(&NewPayment {
            ticket_id: first.id,
            amount_yuan: 120,
            method: "card".into(),
            reference: "T1".into(),
            window_number: 1,
            officer_id: officer,
            now: t0(),
        })
        .await
        .unwrap();
    assert!(paid.receipt_no.ends_with("-00001"), "{}", paid.receipt_no);
    let again = NewPayment {
        ticket_id: first.id,
        amount_yuan: 120,
        method: "card".into(),
        reference: "T1".into(),
        window_number: 1,
        officer_id: officer,
        now: t0(),
    };
    assert_eq!(
        store.record_payment(&again).await,
        Err(StoreError::Refused("already_paid"))
    );
    store
        .move_ticket(first.id, 1, &TicketMove::Finish, t0())
        .await
        .unwrap();
    // Recalled beyond the limit: missed; re-queued: waiting again, at the back.
    let recall = TicketMove::Recall { max_calls: 2 };
    assert_eq!(
        store
            .move_ticket(second.id, 2, &recall, t0())
            .await
            .unwrap()
            .status,
        "called"
    );
    assert_eq!(
        store
            .move_ticket(second.id, 2, &recall, t0())
            .await
            .unwrap()
            .status,
        "missed"
    );
    assert_eq!(
        store.ticket(second.id).await.unwrap().unwrap().status,
        "missed"
    );
    let re = store
        .move_ticket(
            second.id,
            0,
            &TicketMove::Requeue,
            t0() + TimeDelta::hours(1),
        )
        .await
        .unwrap();
    assert_eq!(re.status, "waiting");
    // Transfer to queue B, first in line; park and unpark.
    let third = store
        .call_next("h1", day(), &q(&["A"]), 3, officer, t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(third.label, "A002");
    store
        .move_ticket(
            third.id,
            3,
            &TicketMove::Transfer {
                queue: "B".into(),
                first: true,
            },
            t0(),
        )
        .await
        .unwrap();
    let b_first = store
        .call_next("h1", day(), &q(&["B"]), 4, officer, t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b_first.id, third.id, "transferred first in line");
    store
        .move_ticket(third.id, 4, &TicketMove::Park, t0())
        .await
        .unwrap();
    store
        .move_ticket(third.id, 4, &TicketMove::Unpark, t0())
        .await
        .unwrap();
    store
        .move_ticket(third.id, 4, &TicketMove::Start, t0())
        .await
        .unwrap();
    store
        .record_payment(&NewPayment {
            ticket_id: third.id,
            amount_yuan: 80,
            method: "qr".into(),
            reference: "Q9".into(),
            window_number: 4,
            officer_id: officer,
            now: t0(),
        })
        .await
        .unwrap();
    store
        .move_ticket(third.id, 4, &TicketMove::Finish, t0())
        .await
        .unwrap();
    // Everyone else: called, no-show, or served.
    let mut w = 10;
    while let Some(t) = store
        .call_next("h1", day(), &q(&["A", "B"]), w, officer, t0())
        .await
        .unwrap()
    {
        if t.id % 2 == 0 {
            store
                .move_ticket(t.id, w, &TicketMove::NoShow, t0())
                .await
                .unwrap();
        } else {
            store
                .move_ticket(t.id, w, &TicketMove::Start, t0())
                .await
                .unwrap();
            store
                .move_ticket(t.id, w, &TicketMove::Finish, t0())
                .await
                .unwrap();
        }
        w += 1;
    }
    let all = store.tickets_of_day("h1", day()).await.unwrap();
    assert_eq!(all.len(), 9);
    assert!(
        all.iter()
            .all(|t| t.status == "done" || t.status == "missed"),
        "{all:?}"
    );
    let recon = store.reconciliation("h1", day()).await.unwrap();
    assert_eq!(
        recon,
        vec![
            ReconLine {
                window_number: 1,
                method: "card".into(),
                count: 1,
                sum_yuan: 120
            },
            ReconLine {
                window_number: 4,
                method: "qr".into(),
                count: 1,
                sum_yuan: 80
            },
        ]
    );
}
both_dialects!(hall_scenario, hall_day);
