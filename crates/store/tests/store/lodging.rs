//! Accommodation registration (issue 14 §3): a hotel's guest stay is registered once however
//! concurrently it is posted (`UNIQUE (hotel_id, stay_id)`), a check-out and a station's
//! decision are conditional, the CHECKs refuse a half-made row, the worklist counts duplicates
//! across areas, and the retention's anonymisation empties the record. On both databases.

use crate::staff::entry;
use crate::{setup, t0};
use chrono::{NaiveDate, TimeDelta};
use std::sync::Arc;
use wujing_store::*;
use wujing_testkit::both_dialects;

async fn step(store: &DynStore, s: LodgingStep) -> Result<AdminOutcome> {
    store
        .apply_admin(&AdminChange::Lodging(s), &entry(1, "lodging.step"))
        .await
}

async fn hotel(store: &DynStore, code: &str, site: &str) -> i64 {
    let AdminOutcome::Created(id) = step(
        store,
        LodgingStep::CreateHotel(NewHotel {
            code: code.into(),
            name: format!("{code} hotel"),
            address: "1 Road".into(),
            site_id: site.into(),
            password_hash: "x".into(),
            token_hash: format!("token:{code}"),
        }),
    )
    .await
    .unwrap() else {
        panic!("no id")
    };
    id
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
}

fn registration(hotel: Option<i64>, stay: &str, passport: &str, site: &str) -> NewRegistration {
    NewRegistration {
        reference: format!("LR{stay}{}", hotel.unwrap_or(0)),
        source: if hotel.is_some() { "hotel" } else { "host" }.into(),
        hotel_id: hotel,
        stay_id: hotel.map(|_| stay.to_string()),
        request_hash: "h".into(),
        proof_hash: hotel.is_none().then(|| "p".to_string()),
        site_id: site.into(),
        passport_key: passport.into(),
        nationality: "SWE".into(),
        record: r#"{"guest":"ERIKSSON"}"#.into(),
        check_in: t0(),
        first_night: day(1),
        departure: None,
        stay_until: day(20),
        lateness: "on_time".into(),
    }
}

async fn once(store: DynStore) {
    setup(&store, &["ps-a", "ps-b"]).await;
    let a = hotel(&store, "a-inn", "ps-a").await;
    let b = hotel(&store, "b-inn", "ps-b").await;
    assert_eq!(
        step(
            &store,
            LodgingStep::CreateHotel(NewHotel {
                code: "a-inn".into(),
                name: "again".into(),
                address: "x".into(),
                site_id: "ps-a".into(),
                password_hash: "x".into(),
                token_hash: "token:other".into(),
            })
        )
        .await,
        Err(StoreError::Refused("hotel_code_taken"))
    );
    // Eight concurrent posts of one stay: one row, the others refused and rolled back.
    let store = Arc::new(store);
    let mut tasks = Vec::new();
    for n in 0..8 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut r = registration(Some(a), "S1", "key:1", "ps-a");
            r.reference = format!("LRRACE{n}");
            step(&s, LodgingStep::Register(r)).await
        }));
    }
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(AdminOutcome::Created(_)) => created += 1,
            Err(StoreError::Refused("lodging_stay_exists")) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(created, 1);
    let store: DynStore = Arc::try_unwrap(store).ok().unwrap();
    let by = RegistrationBy::Stay {
        hotel_id: a,
        stay_id: "S1".into(),
    };
    let r = store.registration(&by).await.unwrap().unwrap();
    assert_eq!(r.record, r#"{"guest":"ERIKSSON"}"#, "opened on the way out");
    // Another hotel's stay id is its own; the same passport there on the same night is a
    // duplicate seen from both areas.
    step(
        &store,
        LodgingStep::Register(registration(Some(b), "S1", "key:1", "ps-b")),
    )
    .await
    .unwrap();
    let tomorrow = day(2);
    let w = store
        .lodging_worklist("ps-a", t0() - TimeDelta::days(1), tomorrow)
        .await
        .unwrap();
    assert_eq!((w.len(), w[0].duplicates), (1, 1));
    // A host's registration without its proof, or a hotel's without its stay id: refused.
    let mut half = registration(None, "H1", "key:2", "ps-a");
    half.proof_hash = None;
    assert_eq!(
        step(&store, LodgingStep::Register(half)).await,
        Err(StoreError::Refused("lodging_invalid"))
    );
    // Check-out once, and only by its hotel.
    let out = |hotel_id| LodgingStep::CheckOut {
        hotel_id,
        stay_id: "S1".into(),
        day: day(3),
    };
    assert_eq!(step(&store, out(a)).await, Ok(AdminOutcome::Done));
    assert_eq!(
        step(&store, out(a)).await,
        Err(StoreError::Refused("lodging_checked_out"))
    );
    let w = store
        .lodging_worklist("ps-a", t0() - TimeDelta::days(1), tomorrow)
        .await
        .unwrap();
    assert_eq!(w[0].left_on, Some(day(3)));
    // A host's registration: decided by its station only, from pending or queried.
    let AdminOutcome::Created(h) = step(
        &store,
        LodgingStep::Register(registration(None, "H2", "key:3", "ps-a")),
    )
    .await
    .unwrap() else {
        panic!()
    };
    let decide = |site: &str, decision: &str| LodgingStep::Verify {
        id: h,
        site_id: site.into(),
        decision: decision.into(),
        note: String::new(),
        by: "staff:1".into(),
    };
    assert_eq!(
        step(&store, decide("ps-b", "accepted")).await,
        Err(StoreError::Refused("lodging_not_pending"))
    );
    assert_eq!(
        step(&store, decide("ps-a", "maybe")).await,
        Err(StoreError::Refused("lodging_decision_invalid"))
    );
    assert_eq!(
        step(&store, decide("ps-a", "accepted")).await,
        Ok(AdminOutcome::Done)
    );
    assert_eq!(
        step(&store, decide("ps-a", "queried")).await,
        Err(StoreError::Refused("lodging_not_pending"))
    );
    // The retention pass: everything checked in before the cut loses its record.
    assert_eq!(
        step(&store, LodgingStep::Anonymise { before: t0() }).await,
        Err(StoreError::Refused("lodging_nothing_due"))
    );
    assert_eq!(
        step(
            &store,
            LodgingStep::Anonymise {
                before: t0() + TimeDelta::seconds(1)
            }
        )
        .await,
        Ok(AdminOutcome::SlotsChanged(3))
    );
    let r = store.registration(&by).await.unwrap().unwrap();
    assert!(r.anonymised && r.record.is_empty());
    assert!(r.passport_key.starts_with("anon:"));
}

both_dialects!(
    a_guest_stay_is_registered_once_and_its_changes_are_conditional,
    once
);
