//! The pickup locker (issue 12): a compartment holds at most one document and a document is in
//! at most one compartment, however many arrivals race; a code opens once; an occupied
//! compartment is never removed; leaving `ready_for_collection` frees the compartment; the
//! sweeper's reads and its one reminder.

use crate::lifecycle::{accepted, audit, mv, officer};
use crate::{day, setup, t0};
use chrono::TimeDelta;
use std::collections::HashSet;
use wujing_domain::application::State;
use wujing_store::*;
use wujing_testkit::both_dialects;

fn text(key: &str, body: &str) -> NewMessage {
    NewMessage {
        idempotency_key: key.into(),
        channel: "sms".into(),
        recipient: "13800000000".into(),
        topic: "application".into(),
        body: body.into(),
        created_at: t0(),
    }
}

async fn set_locker(store: &DynStore, labels: &[&str]) -> Result<AdminOutcome> {
    store
        .apply_admin(
            &AdminChange::SetLocker {
                hall_id: "h1".into(),
                labels: labels.iter().map(|l| l.to_string()).collect(),
            },
            &audit("locker.set"),
        )
        .await
}

/// `n` applications moved up to `dispatched` (the next move is the arrival).
async fn dispatched(store: &DynStore, officer: i64, first: u32, n: u32) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in first..first + n {
        let a = accepted(store, officer, 100 + i, false, day(), false).await;
        let path = [
            State::Accepted,
            State::UnderReview,
            State::Approved,
            State::InProduction,
            State::Produced,
            State::Dispatched,
        ];
        for w in path.windows(2) {
            let mut m = mv(a.id, w[0], w[1]);
            if w[1].has_document() {
                m.document_number = Some(format!("E{:08}", a.id));
            }
            store
                .transition_application(&m, &audit("application.move"), &[])
                .await
                .unwrap();
        }
        ids.push(a.id);
    }
    ids
}

fn arrival(id: i64) -> ApplicationMove {
    ApplicationMove {
        locker: Some(LockerAssignment {
            code_mac: format!("mac-{id}"),
            messages: vec![text(&format!("locker:{id}"), "in the locker")],
        }),
        ..mv(id, State::Dispatched, State::ReadyForCollection)
    }
}

/// Many arrivals at once for fewer compartments: each compartment takes one document, every
/// compartment is used, no document takes two, and the rest are ready at the counter with the
/// counter's text; then two collections with one code: exactly one opens the compartment.
async fn locker_race(store: DynStore) {
    setup(&store, &["h1"]).await;
    set_locker(&store, &["A-01", "A-02", "A-03"]).await.unwrap();
    let officer = officer(&store).await;
    let ids = dispatched(&store, officer, 0, 8).await;
    let mut tasks = Vec::new();
    for id in ids.clone() {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let counter = [text(&format!("counter:{id}"), "at the counter")];
            let m = arrival(id);
            store
                .apply_admin_notifying(
                    &AdminChange::TransitionApplication(m),
                    &audit("application.ready_for_collection"),
                    &counter,
                )
                .await
        }));
    }
    let mut in_locker = Vec::new();
    for (id, t) in ids.iter().zip(tasks) {
        match t.await.unwrap().unwrap() {
            AdminOutcome::Compartment(label) => in_locker.push((*id, label)),
            AdminOutcome::Done => {}
            o => panic!("{o:?}"),
        }
    }
    assert_eq!(in_locker.len(), 3, "every free compartment is used");
    let labels: HashSet<_> = in_locker.iter().map(|(_, l)| l.clone()).collect();
    assert_eq!(labels.len(), 3, "never two documents in one compartment");
    let cs = store.locker("h1").await.unwrap();
    let held: Vec<i64> = cs.iter().filter_map(|c| c.application_id).collect();
    assert_eq!(held.len(), 3);
    assert_eq!(
        held.iter().collect::<HashSet<_>>().len(),
        3,
        "one compartment per document"
    );
    for id in &ids {
        let a = store.application(*id).await.unwrap().unwrap();
        assert_eq!(a.status, "ready_for_collection");
        // The arrival's history names the compartment (staff put the document there).
        let arrival = store.application_events(*id).await.unwrap().pop().unwrap();
        let label = in_locker.iter().find(|(a, _)| a == id).map(|(_, l)| l);
        assert_eq!(
            arrival.note,
            label.map_or_else(String::new, |l| format!("locker:{l}"))
        );
    }
    // Each arrival queued exactly one text: the locker's or the counter's.
    let texts = store.messages_to("13800000000", 100).await.unwrap();
    for id in &ids {
        let locker = texts
            .iter()
            .filter(|m| m.idempotency_key == format!("locker:{id}"))
            .count();
        let counter = texts
            .iter()
            .filter(|m| m.idempotency_key == format!("counter:{id}"))
            .count();
        let assigned = in_locker.iter().any(|(a, _)| a == id);
        assert_eq!(
            (locker, counter),
            (usize::from(assigned), usize::from(!assigned))
        );
    }

    // Two collections with the same code: exactly one succeeds.
    let (id, label) = in_locker[0].clone();
    let mut tasks = Vec::new();
    for device in 1..=2 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .apply_admin(
                    &AdminChange::CollectFromLocker {
                        hall_id: "h1".into(),
                        application_id: id,
                        code_mac: format!("mac-{id}"),
                        actor: format!("device:{device}"),
                    },
                    &audit("application.collected"),
                )
                .await
        }));
    }
    let mut opened = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(AdminOutcome::Compartment(l)) => {
                assert_eq!(l, label);
                opened += 1;
            }
            Err(e) => assert_eq!(e, StoreError::Refused("pickup_code_invalid")),
            Ok(o) => panic!("{o:?}"),
        }
    }
    assert_eq!(opened, 1);
    let a = store.application(id).await.unwrap().unwrap();
    assert_eq!(a.status, "collected");
    let last = store.application_events(id).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.to_state.as_str(), last.note.as_str()),
        ("collected", format!("locker:{label}").as_str())
    );
    assert!(last.actor.starts_with("device:"));
    // The compartment is free and its code gone: the code works once.
    assert!(store
        .locker_by_code("h1", &format!("mac-{id}"))
        .await
        .unwrap()
        .is_none());
    let c = store.locker("h1").await.unwrap();
    let c = c.iter().find(|c| c.label == label).unwrap();
    assert_eq!((c.application_id, c.assigned_at), (None, None));
    assert_eq!(
        store
            .apply_admin(
                &AdminChange::CollectFromLocker {
                    hall_id: "h1".into(),
                    application_id: id,
                    code_mac: format!("mac-{id}"),
                    actor: "device:1".into(),
                },
                &audit("application.collected"),
            )
            .await
            .unwrap_err(),
        StoreError::Refused("pickup_code_invalid")
    );
    // The next arrival takes the freed compartment.
    let more = dispatched(&store, officer, 8, 1).await;
    let out = store
        .apply_admin_notifying(
            &AdminChange::TransitionApplication(arrival(more[0])),
            &audit("application.ready_for_collection"),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(out, AdminOutcome::Compartment(label));
}
both_dialects!(
    locker_compartment_race_one_document_per_compartment,
    locker_race
);

/// An occupied compartment is never removed (and the refused setup changes nothing); free ones
/// are; another hall's device finds nothing; a move out of `ready_for_collection` frees the
/// compartment.
async fn locker_setup_and_freeing(store: DynStore) {
    setup(&store, &["h1", "h2"]).await;
    set_locker(&store, &["A-01", "A-02"]).await.unwrap();
    let officer = officer(&store).await;
    let ids = dispatched(&store, officer, 0, 2).await;
    let out = store
        .transition_application(
            &arrival(ids[0]),
            &audit("application.ready_for_collection"),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(out.status, "ready_for_collection");
    let held = |cs: Vec<LockerCompartment>| -> Vec<(String, Option<i64>)> {
        cs.into_iter()
            .map(|c| (c.label, c.application_id))
            .collect()
    };
    let before = held(store.locker("h1").await.unwrap());
    assert_eq!(
        before,
        vec![("A-01".into(), Some(ids[0])), ("A-02".into(), None)]
    );
    assert_eq!(
        set_locker(&store, &["A-02", "B-01"]).await.unwrap_err(),
        StoreError::Refused("compartment_occupied")
    );
    assert_eq!(held(store.locker("h1").await.unwrap()), before);
    set_locker(&store, &["A-01", "B-01"]).await.unwrap();
    assert_eq!(
        held(store.locker("h1").await.unwrap()),
        vec![("A-01".into(), Some(ids[0])), ("B-01".into(), None)]
    );
    // The code is found only in the document's hall.
    assert!(store
        .locker_by_code("h2", &format!("mac-{}", ids[0]))
        .await
        .unwrap()
        .is_none());
    assert!(store
        .locker_by_code("h1", &format!("mac-{}", ids[0]))
        .await
        .unwrap()
        .is_some());
    // Back to the vault: the compartment is freed with its code.
    store
        .transition_application(
            &mv(ids[0], State::ReadyForCollection, State::ReturnedToVault),
            &audit("application.returned_to_vault"),
            &[],
        )
        .await
        .unwrap();
    assert!(store
        .locker("h1")
        .await
        .unwrap()
        .iter()
        .all(|c| c.application_id.is_none()));
    assert!(store
        .locker_by_code("h1", &format!("mac-{}", ids[0]))
        .await
        .unwrap()
        .is_none());
    // An arrival without a locker assignment (counter collection) takes no compartment.
    let out = store
        .apply_admin_notifying(
            &AdminChange::TransitionApplication(mv(
                ids[1],
                State::Dispatched,
                State::ReadyForCollection,
            )),
            &audit("application.ready_for_collection"),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(out, AdminOutcome::Done);
    assert!(store
        .locker("h1")
        .await
        .unwrap()
        .iter()
        .all(|c| c.application_id.is_none()));
}
both_dialects!(
    occupied_compartments_stay_and_leaving_frees_them,
    locker_setup_and_freeing
);

/// The sweeper's reads: supplements overdue by the day, documents waiting since before an
/// instant (all, or not yet reminded), and the one reminder.
async fn sweeper_reads(store: DynStore) {
    setup(&store, &["h1"]).await;
    let officer = officer(&store).await;
    // Pending a supplement due day() + 15.
    let pending = accepted(&store, officer, 200, false, day(), true).await;
    let due = pending.supplement_due.unwrap();
    assert!(store
        .lapsing_applications(due, 10)
        .await
        .unwrap()
        .is_empty());
    let lapsing = store
        .lapsing_applications(due + TimeDelta::days(1), 10)
        .await
        .unwrap();
    assert_eq!(
        lapsing.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![pending.id]
    );

    let ids = dispatched(&store, officer, 0, 1).await;
    store
        .transition_application(
            &mv(ids[0], State::Dispatched, State::ReadyForCollection),
            &audit("application.ready_for_collection"),
            &[],
        )
        .await
        .unwrap();
    let arrived = store
        .application_events(ids[0])
        .await
        .unwrap()
        .pop()
        .unwrap()
        .at;
    let waiting = |before, unreminded| {
        let store = store.clone();
        async move {
            store
                .uncollected_applications(before, unreminded, 10)
                .await
                .unwrap()
                .into_iter()
                .map(|a| a.id)
                .collect::<Vec<_>>()
        }
    };
    assert!(waiting(arrived, false).await.is_empty());
    let later = arrived + TimeDelta::seconds(1);
    assert_eq!(waiting(later, false).await, vec![ids[0]]);
    assert_eq!(waiting(later, true).await, vec![ids[0]]);
    let remind = AdminChange::RemindCollection {
        application_id: ids[0],
    };
    store
        .apply_admin_notifying(
            &remind,
            &audit("application.reminded"),
            &[text("r", "reminder")],
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .apply_admin_notifying(
                &remind,
                &audit("application.reminded"),
                &[text("r2", "again")]
            )
            .await
            .unwrap_err(),
        StoreError::Refused("already_reminded")
    );
    // The refused second reminder queued nothing.
    let texts = store.messages_to("13800000000", 10).await.unwrap();
    assert_eq!(
        texts
            .iter()
            .filter(|m| m.idempotency_key.starts_with('r'))
            .count(),
        1
    );
    assert!(waiting(later, true).await.is_empty());
    assert_eq!(waiting(later, false).await, vec![ids[0]]);
}
both_dialects!(
    sweeper_finds_lapsing_and_waiting_applications_and_reminds_once,
    sweeper_reads
);
