//! Holds, bookings, cancels and reschedules, the rate limits counted with them, and the races
//! for seats and identities.

use crate::{clean, hm, hold, new_booking, setup, slot, t0};
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::{BTreeMap, BTreeSet};
use wujing_store::*;
use wujing_testkit::{both_dialects, identity};

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
