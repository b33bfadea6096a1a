//! Hall operations: tickets, calls, counters, payments and the reconciliation.

use crate::staff::entry;
use crate::{day, hm, hold, new_booking, setup, slot, t0};
use chrono::TimeDelta;
use std::collections::BTreeSet;
use wujing_store::*;
use wujing_testkit::{both_dialects, identity};

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
        booking_slot_id: None,
        business: "passport_first".into(),
        identity_key: format!("CHN:{}", identity(n)),
        kind: "walk_in".into(),
        channel: "counter".into(),
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
        booking_slot_id: Some(s.id),
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
