//! Fully online business (全程网办, issue 13): an online application's steps are conditional
//! updates with their audit entries; its submission creates exactly one ticketless application
//! however often (or however concurrently) it is asked; its personal data is sealed at rest.

use crate::staff::entry;
use crate::{day, setup};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use wujing_store::*;
use wujing_testkit::{both_dialects, identity};

static NEXT: AtomicU32 = AtomicU32::new(0);
const PHOTO_B64: &str = "UEhPVE9fQllURVNfQVJFX1NFQUxFRA==";
const ADDRESS: &str = "广州市天河区体育西路191号中石化大厦";

async fn step(store: &DynStore, s: OnlineStep) -> Result<AdminOutcome> {
    store
        .apply_admin_notifying(&AdminChange::Online(s), &entry(1, "online.step"), &[])
        .await
}

/// An online application with every step done, awaiting payment; its id.
async fn ready(store: &DynStore, n: u32) -> i64 {
    let AdminOutcome::Created(id) = step(
        store,
        OnlineStep::Start(NewOnlineApplication {
            reference: format!("W{n:04}{:04}", NEXT.fetch_add(1, Ordering::Relaxed)),
            secret_hash: "h".into(),
            identity_key: format!("key:{n}"),
            id_number: Private(identity(n)),
            name: Private("陈晓明".into()),
            phone: Private("13800001234".into()),
            lang: "zh-CN".into(),
            business: "passport_renewal".into(),
            answers: "{}".into(),
        }),
    )
    .await
    .unwrap() else {
        panic!("no id")
    };
    // Not payable yet: no photo, no collection.
    assert_eq!(
        step(store, OnlineStep::AwaitPayment { id, fee_yuan: 120 }).await,
        Err(StoreError::Refused("online_incomplete"))
    );
    step(
        store,
        OnlineStep::Photo {
            id,
            photo: Private(PHOTO_B64.into()),
            check: "[]".into(),
        },
    )
    .await
    .unwrap();
    step(
        store,
        OnlineStep::Collection {
            id,
            method: "mail".into(),
            mail_address: Some(Private(ADDRESS.into())),
        },
    )
    .await
    .unwrap();
    step(store, OnlineStep::AwaitPayment { id, fee_yuan: 120 })
        .await
        .unwrap();
    id
}

fn submit(id: i64) -> OnlineStep {
    OnlineStep::Submit {
        id,
        hall_id: "h1".into(),
        ready_by: day() + chrono::TimeDelta::days(9),
    }
}

async fn a_submission_creates_one_ticketless_application(store: DynStore) {
    setup(&store, &["h1"]).await;
    let id = ready(&store, 1).await;
    // A draft step after it left the draft is refused.
    assert_eq!(
        step(
            &store,
            OnlineStep::Answers {
                id,
                answers: "{}".into()
            }
        )
        .await,
        Err(StoreError::Refused("online_not_draft"))
    );
    let AdminOutcome::Created(app) = step(&store, submit(id)).await.unwrap() else {
        panic!()
    };
    // Again (a repeated callback): refused, nothing written.
    assert_eq!(
        step(&store, submit(id)).await,
        Err(StoreError::Refused("online_not_payable"))
    );
    let a = store.application(app).await.unwrap().unwrap();
    assert_eq!(a.ticket_id, None);
    assert_eq!(a.status, "accepted");
    assert_eq!(a.collection_method, "mail");
    assert_eq!(a.hall_id, "h1");
    assert_eq!(
        store
            .application_mail_address(app)
            .await
            .unwrap()
            .as_deref(),
        Some(ADDRESS)
    );
    let events = store.application_events(app).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor, "system:online");
    let o = store
        .online_application(&OnlineBy::Application(app))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(o.id, id);
    assert_eq!(o.status, "submitted");
    assert_eq!(o.photo_check, Some(vec![]));
    assert_eq!(o.mail_address.as_deref(), Some(ADDRESS));
    assert_eq!(o.id_number, identity(1));
    assert_eq!(
        store.online_photo(id).await.unwrap().unwrap(),
        b"PHOTO_BYTES_ARE_SEALED"
    );
    // The same person starts again: a new draft (the submitted one is closed).
    let again = ready(&store, 1).await;
    assert_ne!(again, id);
}
both_dialects!(
    a_submission_creates_one_ticketless_application,
    a_submission_creates_one_ticketless_application
);

async fn a_second_start_takes_over_the_open_draft(store: DynStore) {
    setup(&store, &["h1"]).await;
    let id = ready(&store, 2).await;
    let o = store
        .online_application(&OnlineBy::Id(id))
        .await
        .unwrap()
        .unwrap();
    let AdminOutcome::Created(again) = step(
        &store,
        OnlineStep::Start(NewOnlineApplication {
            reference: "W-other".into(),
            secret_hash: "h2".into(),
            identity_key: o.identity_key.clone(),
            id_number: Private(identity(2)),
            name: Private("陈晓明".into()),
            phone: Private("13800001234".into()),
            lang: "en".into(),
            business: "passport_renewal".into(),
            answers: "{}".into(),
        }),
    )
    .await
    .unwrap() else {
        panic!()
    };
    assert_eq!(again, id);
    let o = store
        .online_application(&OnlineBy::Reference(o.reference))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((o.secret_hash.as_str(), o.lang.as_str()), ("h2", "en"));
    assert_eq!(o.status, "awaiting_payment", "a payment in flight is kept");
}
both_dialects!(
    a_second_start_takes_over_the_open_draft,
    a_second_start_takes_over_the_open_draft
);

async fn concurrent_submissions_create_one_application(store: DynStore) {
    setup(&store, &["h1"]).await;
    for n in 10..14 {
        let id = ready(&store, n).await;
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let s = Arc::clone(&store);
                tokio::spawn(async move { step(&s, submit(id)).await })
            })
            .collect();
        let mut created = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(AdminOutcome::Created(_)) => created += 1,
                Err(StoreError::Refused("online_not_payable")) => {}
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(created, 1);
    }
    assert_eq!(
        store.count_applications_in_state("accepted").await.unwrap(),
        4
    );
}
both_dialects!(
    concurrent_submissions_create_one_application,
    concurrent_submissions_create_one_application
);

async fn photo_address_and_phone_are_sealed_at_rest(url: &str) {
    let store = wujing_testkit::open(url).await.unwrap();
    store.migrate().await.unwrap();
    setup(&store, &["h1"]).await;
    let id = ready(&store, 3).await;
    step(&store, submit(id)).await.unwrap();
    store
        .upsert_persons(
            &[wujing_domain::PersonRecord {
                id_number: identity(3),
                name: "陈晓明".into(),
                hukou_city: "广州".into(),
                residence_permit_city: None,
                residence_permit_expires: None,
                status: wujing_domain::eligibility::PersonStatus::Active,
                state_functionary: false,
                fingerprints_on_file: true,
                military: false,
                phone: Some("13912345678".into()),
            }],
            crate::t0(),
        )
        .await
        .unwrap();
    let p = store.person(&identity(3)).await.unwrap().unwrap();
    assert_eq!(p.phone.as_deref(), Some("13912345678"));
    assert!(p.fingerprints_on_file);
    let dump = wujing_testkit::raw_dump(url).await;
    for clear in [
        PHOTO_B64,
        ADDRESS,
        "13800001234",
        "13912345678",
        identity(3).as_str(),
        "陈晓明",
    ] {
        assert!(!dump.contains(clear), "{clear} in clear");
    }
}

#[tokio::test]
async fn photo_address_and_phone_are_sealed_at_rest_on_sqlite() {
    let t = wujing_testkit::TempSqlite::new();
    photo_address_and_phone_are_sealed_at_rest(&t.url()).await;
}

#[tokio::test]
async fn photo_address_and_phone_are_sealed_at_rest_on_postgres() {
    let Some(url) = wujing_testkit::fresh_pg_database().await else {
        return;
    };
    photo_address_and_phone_are_sealed_at_rest(&url).await;
}
