//! The kiosk modes' data (issue 17, migration 38) on both dialects: a 申请易 submission creates
//! its application with its biometrics sealed at rest, in one transaction; the deletion removes
//! them once (a second is refused); the applications due for deletion are those produced or
//! past the retention; a 前台通's card read is one row per window, replaced by the next.

use crate::staff::entry;
use crate::{setup, t0};
use chrono::TimeDelta;
use wujing_store::*;
use wujing_testkit::identity;

const PHOTO_B64: &str = "UE9SVFJBSVRfQllURVNfU0VBTEVE";
const PRINT_B64: &str = "RklOR0VSUFJJTlRfQllURVNfU0VBTEVE";
const SIGN_B64: &str = "U0lHTkFUVVJFX0JZVEVTX1NFQUxFRA==";

async fn device(store: &DynStore) -> i64 {
    let AdminOutcome::Created(id) = store
        .apply_admin(
            &AdminChange::CreateDevice {
                name: "申请易 1".into(),
                hall_id: "h1".into(),
                token_hash: "t".into(),
                kind: "sqy".into(),
                window_number: None,
            },
            &entry(1, "device.create"),
        )
        .await
        .unwrap()
    else {
        panic!("no device id")
    };
    id
}

fn submission(device_id: i64, n: u32) -> AdminChange {
    AdminChange::Kiosk(KioskStep::SqySubmit(SqyApplication {
        hall_id: "h1".into(),
        business: "passport_renewal".into(),
        identity_key: format!("key:{n}"),
        id_number: Private(identity(n)),
        name: Private("陈晓明".into()),
        ready_by: crate::day(),
        device_id,
        guardian_consent: false,
        fingerprints: "taken".into(),
        signature: "signed".into(),
        parts: vec![
            BiometricPart {
                part: "photo".into(),
                quality: None,
                data: Private(PHOTO_B64.into()),
            },
            BiometricPart {
                part: "right_thumb".into(),
                quality: Some(80),
                data: Private(PRINT_B64.into()),
            },
            BiometricPart {
                part: "left_thumb".into(),
                quality: Some(75),
                data: Private(PRINT_B64.into()),
            },
            BiometricPart {
                part: "signature".into(),
                quality: None,
                data: Private(SIGN_B64.into()),
            },
        ],
    }))
}

async fn kiosk_data(url: &str) {
    let store = wujing_testkit::open(url).await.unwrap();
    store.migrate().await.unwrap();
    setup(&store, &["h1"]).await;
    let dev = device(&store).await;
    let AdminOutcome::Created(app) = store
        .apply_admin(&submission(dev, 5), &entry(2, "biometrics.write"))
        .await
        .unwrap()
    else {
        panic!("no application id")
    };
    let a = store.application(app).await.unwrap().unwrap();
    assert_eq!(
        (a.status.as_str(), a.channel.as_str(), a.ticket_id),
        ("accepted", "self_service", None)
    );
    assert_eq!(store.application_events(app).await.unwrap().len(), 1);
    let k = store.kiosk_applicant(app).await.unwrap().unwrap();
    assert_eq!(
        (k.name.as_str(), k.id_number.clone()),
        ("陈晓明", identity(5))
    );
    assert!(!k.biometrics_deleted);
    let parts = store.application_biometrics(app).await.unwrap();
    assert_eq!(parts.len(), 4);
    assert!(parts
        .iter()
        .any(|b| b.part == "photo" && b.data == PHOTO_B64));

    // Sealed at rest: none of it in clear anywhere in the database.
    let dump = wujing_testkit::raw_dump(url).await;
    for clear in [
        PHOTO_B64,
        PRINT_B64,
        SIGN_B64,
        identity(5).as_str(),
        "陈晓明",
    ] {
        assert!(!dump.contains(clear), "{clear} in clear");
    }

    // Not due while under way; due after the retention; deleted once.
    assert!(store.biometrics_due(t0(), 10).await.unwrap().is_empty());
    let later = t0() + TimeDelta::days(61);
    assert_eq!(store.biometrics_due(later, 10).await.unwrap(), vec![app]);
    let delete = AdminChange::Kiosk(KioskStep::DeleteBiometrics {
        application_id: app,
    });
    store
        .apply_admin(&delete, &entry(3, "biometrics.delete"))
        .await
        .unwrap();
    assert!(store.application_biometrics(app).await.unwrap().is_empty());
    assert!(
        store
            .kiosk_applicant(app)
            .await
            .unwrap()
            .unwrap()
            .biometrics_deleted
    );
    assert_eq!(
        store
            .apply_admin(&delete, &entry(4, "biometrics.delete"))
            .await,
        Err(StoreError::Refused("biometrics_deleted"))
    );
    assert!(store.biometrics_due(later, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn kiosk_applications_and_biometrics_on_sqlite() {
    let t = wujing_testkit::TempSqlite::new();
    kiosk_data(&t.url()).await;
}

#[tokio::test]
async fn kiosk_applications_and_biometrics_on_postgres() {
    let Some(url) = wujing_testkit::fresh_pg_database().await else {
        return;
    };
    kiosk_data(&url).await;
}
