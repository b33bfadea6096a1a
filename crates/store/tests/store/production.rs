//! The production centre (issue 12): batches take approved applications, each exactly once,
//! in one transaction with their history and audit entries; system clients are found by their
//! token's hash until revoked; a document number is one document's.

use crate::lifecycle::{accepted, audit, mv, officer};
use crate::staff::entry;
use crate::{day, setup};
use chrono::TimeDelta;
use std::collections::BTreeSet;
use wujing_domain::application::State;
use wujing_store::*;
use wujing_testkit::both_dialects;

/// `n` applications moved to `approved`; every third one expedited, due dates spread.
async fn approved(store: &DynStore, officer: i64, from: u32, n: u32) -> Vec<Application> {
    let mut out = Vec::new();
    for i in from..from + n {
        let due = day() + TimeDelta::days(i64::from(20 - i % 7));
        let a = accepted(store, officer, i, i % 3 == 0, due, false).await;
        for (f, t) in [
            (State::Accepted, State::UnderReview),
            (State::UnderReview, State::Approved),
        ] {
            store
                .transition_application(&mv(a.id, f, t), &audit("application.move"), &[])
                .await
                .unwrap();
        }
        out.push(store.application(a.id).await.unwrap().unwrap());
    }
    out
}

fn batch_request(limit: u32, actor: &str) -> NewProductionBatch {
    NewProductionBatch {
        limit,
        audit: NewAudit {
            action: "application.in_production".into(),
            actor: actor.into(),
            actor_name: "centre".into(),
            ..entry(5, "application.in_production")
        },
    }
}

/// A batch takes approved applications urgent first, then by due date, up to its limit; each
/// gets its history row (with the batch's actor) and its own audit entry naming the citizen
/// and the hall. Nothing approved: no batch at all.
async fn batches(store: DynStore) {
    setup(&store, &["h1"]).await;
    let officer = officer(&store).await;
    let apps = approved(&store, officer, 0, 7).await;
    let mut expected: Vec<&Application> = apps.iter().collect();
    expected.sort_by_key(|a| (!a.expedited, a.ready_by, a.id));
    let audit_before = store.audit_chain().await.unwrap().0.len();

    let b = store
        .create_production_batch(&batch_request(5, "system:1"))
        .await
        .unwrap();
    assert_eq!((b.size, b.actor.as_str()), (5, "system:1"));
    let items = store.batch_applications(b.id).await.unwrap();
    let ids: Vec<i64> = items.iter().map(|a| a.id).collect();
    let want: Vec<i64> = expected.iter().take(5).map(|a| a.id).collect();
    assert_eq!(ids, want);
    assert!(items.iter().all(|a| a.status == "in_production"));
    for a in &items {
        let ev = store.application_events(a.id).await.unwrap();
        let last = ev.last().unwrap();
        assert_eq!(
            (last.from_state.as_deref(), last.to_state.as_str()),
            (Some("approved"), "in_production")
        );
        assert_eq!(last.actor, "system:1");
        assert_eq!(last.note, format!("batch:{}", b.id));
    }
    let (chain, _) = store.audit_chain().await.unwrap();
    assert_eq!(chain.len(), audit_before + 5);
    let new: Vec<_> = chain[audit_before..].iter().collect();
    assert!(new.iter().all(|e| e.action == "application.in_production"));
    let subjects: BTreeSet<String> = new.iter().map(|e| e.subject.clone()).collect();
    let want: BTreeSet<String> = ids.iter().map(|i| format!("application:{i}")).collect();
    assert_eq!(subjects, want);
    assert!(new.iter().all(|e| e.citizen.is_some()));

    // The rest, then nothing left: refused, and no batch row written.
    let b2 = store
        .create_production_batch(&batch_request(200, "staff:9"))
        .await
        .unwrap();
    assert_eq!(b2.size, 2);
    assert_eq!(
        store
            .create_production_batch(&batch_request(200, "staff:9"))
            .await
            .unwrap_err(),
        StoreError::Refused("production_queue_empty")
    );
    let listed = store.production_batches(10).await.unwrap();
    assert_eq!(
        listed.iter().map(|b| b.id).collect::<Vec<_>>(),
        vec![b2.id, b.id]
    );
    assert_eq!(store.production_batch(b.id).await.unwrap(), Some(b));
    assert_eq!(store.production_batch(404).await.unwrap(), None);
    assert_eq!(
        store.count_applications_in_state("approved").await.unwrap(),
        0
    );
    assert_eq!(
        store
            .count_applications_in_state("in_production")
            .await
            .unwrap(),
        7
    );
}
both_dialects!(
    batches_take_approved_applications_urgent_first_with_history_and_audit,
    batches
);

/// Four batches made at once over 30 approved applications, 10 each at most: no application
/// is in two batches, every one is in one, and each has exactly one move into production.
async fn concurrent_batches(store: DynStore) {
    setup(&store, &["h1"]).await;
    let officer = officer(&store).await;
    let apps = approved(&store, officer, 0, 30).await;
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let s = store.clone();
            tokio::spawn(async move {
                s.create_production_batch(&batch_request(10, &format!("system:{i}")))
                    .await
            })
        })
        .collect();
    let mut seen = BTreeSet::new();
    let mut total = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(b) => {
                let items = store.batch_applications(b.id).await.unwrap();
                assert_eq!(items.len() as u32, b.size);
                for a in items {
                    assert!(seen.insert(a.id), "application {} in two batches", a.id);
                }
                total += b.size;
            }
            Err(e) => assert_eq!(e, StoreError::Refused("production_queue_empty")),
        }
    }
    assert_eq!(total, 30);
    assert_eq!(seen.len(), apps.len());
    for a in &apps {
        let into: Vec<_> = store
            .application_events(a.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.to_state == "in_production")
            .collect();
        assert_eq!(into.len(), 1);
    }
}
both_dialects!(
    concurrent_batches_never_share_an_application,
    concurrent_batches
);

/// Two documents produced at once with the same number: one gets it, the other is refused
/// with nothing written (it stays in production, no event, no audit entry).
async fn racing_numbers(store: DynStore) {
    setup(&store, &["h1"]).await;
    let officer = officer(&store).await;
    approved(&store, officer, 0, 2).await;
    let b = store
        .create_production_batch(&batch_request(2, "system:1"))
        .await
        .unwrap();
    let ids: Vec<i64> = store
        .batch_applications(b.id)
        .await
        .unwrap()
        .iter()
        .map(|a| a.id)
        .collect();
    let audit_before = store.audit_chain().await.unwrap().0.len();
    let tasks: Vec<_> = ids
        .iter()
        .map(|&id| {
            let s = store.clone();
            tokio::spawn(async move {
                let m = ApplicationMove {
                    document_number: Some("E55555555".into()),
                    ..mv(id, State::InProduction, State::Produced)
                };
                s.transition_application(&m, &audit("application.produced"), &[])
                    .await
            })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    let lost = results
        .iter()
        .position(|r| r.is_err())
        .expect("one is refused");
    assert_eq!(
        results[lost].clone().unwrap_err(),
        StoreError::Refused("document_number_taken")
    );
    let loser = store.application(ids[lost]).await.unwrap().unwrap();
    assert_eq!(
        (loser.status.as_str(), loser.document_number),
        ("in_production", None)
    );
    assert_eq!(store.application_events(ids[lost]).await.unwrap().len(), 4);
    assert_eq!(store.audit_chain().await.unwrap().0.len(), audit_before + 1);
}
both_dialects!(
    a_document_number_raced_for_by_two_documents_goes_to_one,
    racing_numbers
);

/// A system client is found by its token's hash until it is revoked; names are unique.
async fn system_clients(store: DynStore) {
    let create = |name: &str, hash: &str| AdminChange::CreateSystemClient {
        name: name.into(),
        kind: "production_centre".into(),
        token_hash: hash.into(),
    };
    let AdminOutcome::Created(id) = store
        .apply_admin(
            &create("centre-gz", "h-1"),
            &entry(1, "system_client.create"),
        )
        .await
        .unwrap()
    else {
        panic!("created")
    };
    assert_eq!(
        store
            .apply_admin(
                &create("centre-gz", "h-2"),
                &entry(2, "system_client.create")
            )
            .await
            .unwrap_err(),
        StoreError::Refused("system_client_name_taken")
    );
    let found = store
        .system_client_by_token_hash("h-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.id, found.name.as_str()), (id, "centre-gz"));
    assert_eq!(
        store.system_client_by_token_hash("h-2").await.unwrap(),
        None
    );
    store
        .apply_admin(
            &AdminChange::RevokeSystemClient { id },
            &entry(3, "system_client.revoke"),
        )
        .await
        .unwrap();
    assert_eq!(
        store.system_client_by_token_hash("h-1").await.unwrap(),
        None
    );
    assert!(store.system_clients().await.unwrap()[0]
        .revoked_at
        .is_some());
    assert_eq!(
        store
            .apply_admin(
                &AdminChange::RevokeSystemClient { id },
                &entry(4, "system_client.revoke"),
            )
            .await
            .unwrap_err(),
        StoreError::NotFound("system client")
    );
    // Created, refused (nothing), revoked, refused (nothing).
    assert_eq!(store.audit_chain().await.unwrap().0.len(), 2);
}
both_dialects!(
    system_clients_are_found_by_token_until_revoked,
    system_clients
);
