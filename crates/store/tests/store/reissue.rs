//! The 办证易 endorsement re-issue (issue 17): endorsements imported with the registry (a repeat
//! import is one row), one live re-issue per permit however many kiosks race, each move only
//! from its state and device, a failed re-issue's endorsements gone, an abandoned open one
//! expired by the next.

use crate::lifecycle::audit;
use crate::{setup, t0};
use chrono::{NaiveDate, TimeDelta};
use std::sync::Arc;
use wujing_domain::reissue::{Destination, EndorsementRecord};
use wujing_store::*;
use wujing_testkit::both_dialects;

const HOLDER: &str = "440106198503030116";
const PERMIT: &str = "CA3528174";

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn prior() -> EndorsementRecord {
    EndorsementRecord {
        id_number: HOLDER.into(),
        permit_number: PERMIT.into(),
        destination: Destination::Hk,
        kind: "G".into(),
        option: "3m1".into(),
        issued_on: d(2025, 1, 2),
        valid_until: d(2025, 4, 1),
    }
}

async fn device(store: &DynStore, n: u32) -> i64 {
    match store
        .apply_admin(
            &AdminChange::CreateDevice {
                name: format!("办证易 {n}"),
                hall_id: "h1".into(),
                token_hash: format!("token-{n}"),
                kind: "bzy".into(),
                window_number: None,
            },
            &audit("device.create"),
        )
        .await
        .unwrap()
    {
        AdminOutcome::Created(id) => id,
        o => panic!("{o:?}"),
    }
}

fn open(device_id: i64, stale_before: chrono::DateTime<chrono::Utc>) -> AdminChange {
    AdminChange::Reissue(ReissueStep::OpenReissue {
        device_id,
        hall_id: "h1".into(),
        id_number: HOLDER.into(),
        permit_number: PERMIT.into(),
        stale_before,
    })
}

async fn step(store: &DynStore, s: ReissueStep) -> Result<AdminOutcome> {
    store
        .apply_admin(&AdminChange::Reissue(s), &audit("endorsement_reissue.test"))
        .await
}

async fn reissue_lifecycle(store: DynStore) {
    setup(&store, &["h1"]).await;
    let dev = device(&store, 1).await;
    let other = device(&store, 2).await;
    // A repeated import is one row.
    store.import_endorsements(&[prior()], t0()).await.unwrap();
    store.import_endorsements(&[prior()], t0()).await.unwrap();
    assert_eq!(store.endorsements_of(HOLDER).await.unwrap(), vec![prior()]);
    assert!(store
        .endorsements_of("440104199208150221")
        .await
        .unwrap()
        .is_empty());

    let id = match store
        .apply_admin(&open(dev, t0()), &audit("x"))
        .await
        .unwrap()
    {
        AdminOutcome::Created(id) => id,
        o => panic!("{o:?}"),
    };
    // Live: a second opening of the same permit is refused, from any device.
    assert_eq!(
        store.apply_admin(&open(other, t0()), &audit("x")).await,
        Err(StoreError::Refused("endorsement_reissue_in_progress"))
    );
    // Signing before the choice, or another device's move, is refused.
    let sign = |device_id| ReissueStep::Sign {
        id,
        device_id,
        endorsements: vec![EndorsementRecord {
            option: "1y1".into(),
            issued_on: d(2026, 12, 1),
            valid_until: d(2027, 11, 30),
            ..prior()
        }],
        payload_sha256: "ab".repeat(32),
    };
    assert_eq!(
        step(&store, sign(dev)).await,
        Err(StoreError::Refused("endorsement_reissue_state"))
    );
    let choose = |device_id| ReissueStep::Choose {
        id,
        device_id,
        kind: "G".into(),
        destinations: "hk".into(),
        option: "1y1".into(),
        amount_yuan: 15,
    };
    assert_eq!(
        step(&store, choose(other)).await,
        Err(StoreError::Refused("endorsement_reissue_state"))
    );
    step(&store, choose(dev)).await.unwrap();
    // Once.
    assert!(step(&store, choose(dev)).await.is_err());
    step(&store, sign(dev)).await.unwrap();
    let r = store.reissue(id).await.unwrap().unwrap();
    assert_eq!(
        (r.status.as_str(), r.amount_yuan, r.kind.as_deref()),
        ("signed", Some(15), Some("G"))
    );
    assert_eq!(store.endorsements_of(HOLDER).await.unwrap().len(), 2);
    // The read-back must be the payload's hash.
    assert_eq!(
        step(
            &store,
            ReissueStep::Written {
                id,
                device_id: dev,
                read_back_sha256: "cd".repeat(32),
            }
        )
        .await,
        Err(StoreError::Refused("endorsement_reissue_state"))
    );
    step(
        &store,
        ReissueStep::Written {
            id,
            device_id: dev,
            read_back_sha256: "ab".repeat(32),
        },
    )
    .await
    .unwrap();
    assert_eq!(store.reissue(id).await.unwrap().unwrap().status, "written");
    // Done: the permit may be re-issued again; a failed one loses what it recorded.
    let id2 = match store
        .apply_admin(&open(dev, t0()), &audit("x"))
        .await
        .unwrap()
    {
        AdminOutcome::Created(id) => id,
        o => panic!("{o:?}"),
    };
    step(
        &store,
        ReissueStep::Choose {
            id: id2,
            device_id: dev,
            kind: "L".into(),
            destinations: "hk,macau".into(),
            option: "3m1".into(),
            amount_yuan: 30,
        },
    )
    .await
    .unwrap();
    step(
        &store,
        ReissueStep::Sign {
            id: id2,
            device_id: dev,
            endorsements: vec![EndorsementRecord {
                kind: "L".into(),
                issued_on: d(2026, 12, 2),
                ..prior()
            }],
            payload_sha256: "ef".repeat(32),
        },
    )
    .await
    .unwrap();
    assert_eq!(store.endorsements_of(HOLDER).await.unwrap().len(), 3);
    step(
        &store,
        ReissueStep::Fail {
            id: id2,
            device_id: Some(dev),
            failure: "write_failed".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(store.endorsements_of(HOLDER).await.unwrap().len(), 2);
    let r = store.reissue(id2).await.unwrap().unwrap();
    assert_eq!(
        (r.status.as_str(), r.failure.as_deref()),
        ("failed", Some("write_failed"))
    );
    // A failed one cannot fail again.
    assert!(step(
        &store,
        ReissueStep::Fail {
            id: id2,
            device_id: None,
            failure: "abandoned".into(),
        }
    )
    .await
    .is_err());
    // An open one left behind is expired by the next opening once stale, not before.
    let id3 = match store
        .apply_admin(&open(dev, t0()), &audit("x"))
        .await
        .unwrap()
    {
        AdminOutcome::Created(id) => id,
        o => panic!("{o:?}"),
    };
    assert!(store
        .apply_admin(&open(other, t0()), &audit("x"))
        .await
        .is_err());
    assert_eq!(store.stale_reissues(t0()).await.unwrap(), vec![]);
    let later = chrono::Utc::now() + TimeDelta::minutes(1);
    assert_eq!(store.stale_reissues(later).await.unwrap().len(), 1);
    store
        .apply_admin(&open(other, later), &audit("x"))
        .await
        .unwrap();
    let r = store.reissue(id3).await.unwrap().unwrap();
    assert_eq!(
        (r.status.as_str(), r.failure.as_deref()),
        ("failed", Some("abandoned"))
    );
}
both_dialects!(endorsement_reissue_lifecycle, reissue_lifecycle);

/// Eight kiosks open a re-issue of one permit at once: exactly one gets it.
async fn reissue_race(store: DynStore) {
    setup(&store, &["h1"]).await;
    let mut devices = Vec::new();
    for n in 0..8 {
        devices.push(device(&store, n).await);
    }
    let store = Arc::new(store);
    let mut tasks = Vec::new();
    for dev in devices {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.apply_admin(&open(dev, t0()), &audit("x")).await
        }));
    }
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(AdminOutcome::Created(_)) => created += 1,
            Err(StoreError::Refused("endorsement_reissue_in_progress")) => {}
            o => panic!("{o:?}"),
        }
    }
    assert_eq!(created, 1);
}
both_dialects!(endorsement_reissue_race_one_per_permit, reissue_race);
