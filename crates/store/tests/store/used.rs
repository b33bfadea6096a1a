//! Issue 12: a checked-in booking is used (no longer changeable, no longer counted as the
//! identity's active booking); walk-ins take an on-site seat under the booking rules, with
//! their audit entry in the same transaction.

use crate::staff::entry;
use crate::{clean, day, hm, hold, new_booking, setup, slot, t0};
use chrono::{DateTime, NaiveTime, TimeDelta, Utc};
use wujing_domain::Pool;
use wujing_store::*;
use wujing_testkit::{both_dialects, identity};

/// The instant of a local time on the test day.
fn local(t: NaiveTime) -> DateTime<Utc> {
    day().and_time(t).and_utc() - TimeDelta::hours(8)
}

/// A booking of identity `who` at a fresh 09:00 seat of `slot_id`.
async fn book(store: &DynStore, slot_id: i64, who: u32) -> Booking {
    let h = hold(store, slot_id, &format!("hold-{who}"), t0())
        .await
        .unwrap();
    store
        .confirm_hold(&new_booking(&h.id, &format!("CODE{who:06}"), who, t0()))
        .await
        .unwrap()
}

fn check_in(b: &Booking, slot_id: i64) -> NewTicket {
    NewTicket {
        hall_id: b.slot.hall_id.clone(),
        day: day(),
        queue: "A".into(),
        booking_id: Some(b.id),
        booking_slot_id: Some(slot_id),
        business: b.business.clone(),
        identity_key: b.identity_key.clone(),
        kind: "appointment".into(),
        channel: "self_service".into(),
        priority: 0,
        due_at: b.slot.starts_at,
        now: local(hm(8, 50)),
    }
}

/// A checked-in booking is used: cancel and reschedule are refused (`BookingUsed`) and change
/// nothing, the seat stays taken, and the identity may book the business again.
async fn used_booking_is_not_changeable(store: DynStore) {
    setup(&store, &["h1"]).await;
    let nine = slot(&store, "h1", hm(9, 0), 5).await;
    let ten = slot(&store, "h1", hm(10, 0), 5).await;
    let b = book(&store, nine.id, 1).await;
    let t = store.issue_ticket(&check_in(&b, nine.id)).await.unwrap();
    assert_eq!(t.channel.as_deref(), Some("self_service"));
    assert_eq!(t.slot_id, None, "an appointment's seat is its booking's");
    let used = store.booking_by_code(&b.code).await.unwrap().unwrap();
    assert_eq!(used.status, BookingStatus::Used);
    let now = local(hm(8, 55));
    assert_eq!(
        store.cancel_booking(b.id, now, now).await,
        Err(StoreError::BookingUsed)
    );
    assert_eq!(
        store.reschedule_booking(b.id, ten.id, now, now).await,
        Err(StoreError::BookingUsed)
    );
    // A second check-in of the used booking is refused as before.
    assert_eq!(
        store.issue_ticket(&check_in(&b, nine.id)).await,
        Err(StoreError::Refused("already_checked_in"))
    );
    let after = store.booking_by_code(&b.code).await.unwrap().unwrap();
    assert_eq!(
        (after.slot.id, after.status),
        (nine.id, BookingStatus::Used)
    );
    let slots = store
        .slots(&SlotQuery {
            hall_ids: Some(vec!["h1".into()]),
            pool: Some(Pool::Online),
            ..Default::default()
        })
        .await
        .unwrap();
    let taken: Vec<(i64, u32)> = slots.iter().map(|s| (s.id, s.taken)).collect();
    assert!(taken.contains(&(nine.id, 1)), "the used seat stays taken");
    assert!(
        taken.contains(&(ten.id, 0)),
        "no seat taken by the refused move"
    );
    // The used booking no longer counts as the identity's active booking of the business.
    let h = hold(&store, ten.id, "hold-again", t0()).await.unwrap();
    let again = store
        .confirm_hold(&new_booking(&h.id, "CODEAGAIN1", 1, t0()))
        .await
        .unwrap();
    assert_eq!(again.status, BookingStatus::Active);
    let active = store
        .active_bookings_of(&format!("CHN:{}", identity(1)))
        .await
        .unwrap();
    assert_eq!(
        active.iter().map(|b| b.code.as_str()).collect::<Vec<_>>(),
        vec!["CODEAGAIN1"],
        "only the new booking is active"
    );
    let current = store
        .current_bookings_of(&format!("CHN:{}", identity(1)))
        .await
        .unwrap();
    let mut seen: Vec<_> = current.iter().map(|b| (b.code.clone(), b.status)).collect();
    seen.sort_by(|x, y| x.0.cmp(&y.0));
    let mut want = vec![
        (b.code.clone(), BookingStatus::Used),
        ("CODEAGAIN1".to_string(), BookingStatus::Active),
    ];
    want.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(seen, want, "my bookings list the used one with its state");
    // A cancelled booking cannot be checked in.
    store.cancel_booking(again.id, now, now).await.unwrap();
    assert_eq!(
        store.issue_ticket(&check_in(&again, ten.id)).await,
        Err(StoreError::BookingNotActive)
    );
    clean(&store).await;
}
both_dialects!(
    a_checked_in_booking_cannot_be_cancelled_or_rescheduled,
    used_booking_is_not_changeable
);

/// A check-in and a reschedule of one booking at once: exactly one wins, and the booking, the
/// ticket and the seats agree with the winner.
async fn check_in_reschedule_race(store: DynStore) {
    setup(&store, &["h1"]).await;
    let nine = slot(&store, "h1", hm(9, 0), 40).await;
    let ten = slot(&store, "h1", hm(10, 0), 40).await;
    let (mut checked_in, mut moved) = (0, 0);
    for who in 0..30u32 {
        let b = book(&store, nine.id, who).await;
        let (s1, s2) = (store.clone(), store.clone());
        let t = check_in(&b, nine.id);
        let now = local(hm(8, 50));
        let a = tokio::spawn(async move { s1.issue_ticket(&t).await });
        let r = tokio::spawn(async move { s2.reschedule_booking(b.id, ten.id, now, now).await });
        let (a, r) = (a.await.unwrap(), r.await.unwrap());
        let after = store
            .booking_by_code(&format!("CODE{who:06}"))
            .await
            .unwrap()
            .unwrap();
        let ticket = store.ticket_of_booking(after.id).await.unwrap();
        match (a, r) {
            (Ok(t), Err(StoreError::BookingUsed)) => {
                checked_in += 1;
                assert_eq!(
                    (after.status, after.slot.id),
                    (BookingStatus::Used, nine.id)
                );
                assert_eq!(ticket.map(|x| x.id), Some(t.id));
            }
            (Err(StoreError::BookingNotActive), Ok(m)) => {
                moved += 1;
                assert_eq!((m.status, m.slot.id), (BookingStatus::Active, ten.id));
                assert_eq!(
                    (after.status, after.slot.id),
                    (BookingStatus::Active, ten.id)
                );
                assert_eq!(ticket, None, "no ticket for a moved booking");
            }
            other => panic!("both or neither won: {other:?}"),
        }
    }
    assert_eq!(checked_in + moved, 30);
    clean(&store).await;
}
both_dialects!(
    check_in_and_reschedule_race_exactly_one_wins,
    check_in_reschedule_race
);

/// An on-site slot of the test day.
async fn on_site(store: &DynStore, start: NaiveTime, capacity: u32) -> Slot {
    store
        .ensure_slots(&[NewSlot {
            hall_id: "h1".into(),
            day: day(),
            start,
            pool: Pool::OnSite,
            starts_at: local(start),
            capacity,
        }])
        .await
        .unwrap();
    store
        .slots(&SlotQuery {
            hall_ids: Some(vec!["h1".into()]),
            start: Some(start),
            pool: Some(Pool::OnSite),
            ..Default::default()
        })
        .await
        .unwrap()
        .pop()
        .unwrap()
}

fn walk_in(who: u32, at: DateTime<Utc>) -> NewWalkIn {
    NewWalkIn {
        ticket: NewTicket {
            hall_id: "h1".into(),
            day: day(),
            queue: "W".into(),
            booking_id: None,
            booking_slot_id: None,
            business: "passport_first".into(),
            identity_key: format!("CHN:{}", identity(who)),
            kind: "walk_in".into(),
            channel: "counter".into(),
            priority: 0,
            due_at: at,
            now: at,
        },
        slot_from: at - TimeDelta::minutes(30),
        hukou_scope: (who % 2 == 1).then(|| "cross_province".into()),
    }
}

fn walk_in_entry(who: u32) -> NewAudit {
    NewAudit {
        action: "ticket.walk_in".into(),
        subject: String::new(),
        hall_id: Some("h1".into()),
        citizen: Some(format!("CHN:{}", identity(who))),
        ..entry(who, "ticket.walk_in")
    }
}

/// Walk-ins take seats of the running on-site slot until it is full, one open ticket per
/// identity and business, none beside an active booking, none outside the slots; each ticket
/// is written with its audit entry, and a refused walk-in writes neither.
async fn walk_in_rules(store: DynStore) {
    setup(&store, &["h1"]).await;
    let nine = on_site(&store, hm(9, 0), 2).await;
    let online = slot(&store, "h1", hm(10, 0), 5).await;
    let at = local(hm(9, 10));
    let a = store
        .walk_in(&walk_in(1, at), &walk_in_entry(1))
        .await
        .unwrap();
    assert_eq!(
        (a.slot_id, a.channel.as_deref()),
        (Some(nine.id), Some("counter"))
    );
    // The 户籍 scope is kept with the ticket, for the due date at acceptance.
    assert_eq!(a.hukou_scope.as_deref(), Some("cross_province"));
    assert_eq!(
        store
            .ticket(a.id)
            .await
            .unwrap()
            .unwrap()
            .hukou_scope
            .as_deref(),
        Some("cross_province")
    );
    assert_eq!(
        store.walk_in(&walk_in(1, at), &walk_in_entry(1)).await,
        Err(StoreError::Refused("already_queued")),
        "one open ticket per identity and business"
    );
    let booked = book(&store, online.id, 3).await;
    assert_eq!(
        store.walk_in(&walk_in(3, at), &walk_in_entry(3)).await,
        Err(StoreError::Refused("already_booked")),
        "check the booking in instead"
    );
    let b = store
        .walk_in(&walk_in(2, at), &walk_in_entry(2))
        .await
        .unwrap();
    assert_eq!(
        store.walk_in(&walk_in(4, at), &walk_in_entry(4)).await,
        Err(StoreError::Refused("walk_ins_full"))
    );
    assert_eq!(
        store
            .walk_in(&walk_in(5, local(hm(13, 0))), &walk_in_entry(5))
            .await,
        Err(StoreError::Refused("walk_in_closed")),
        "no on-site slot runs then"
    );
    let (chain, _) = store.audit_chain().await.unwrap();
    let subjects: Vec<&str> = chain.iter().map(|e| e.subject.as_str()).collect();
    assert_eq!(
        subjects,
        vec![format!("ticket:{}", a.label), format!("ticket:{}", b.label)],
        "one entry per ticket, none for a refusal"
    );
    let seats = store
        .slots(&SlotQuery {
            hall_ids: Some(vec!["h1".into()]),
            pool: Some(Pool::OnSite),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(seats[0].taken, 2);
    // The booked identity checks its booking in instead.
    store
        .issue_ticket(&check_in(&booked, online.id))
        .await
        .unwrap();
    clean(&store).await;
}
both_dialects!(
    walk_ins_take_on_site_seats_under_the_booking_rules,
    walk_in_rules
);

/// Ten walk-ins of one identity at once: one ticket, one seat, one audit entry.
async fn walk_in_race(store: DynStore) {
    setup(&store, &["h1"]).await;
    on_site(&store, hm(9, 0), 20).await;
    let at = local(hm(9, 5));
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.walk_in(&walk_in(7, at), &walk_in_entry(7)).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e, StoreError::Refused("already_queued")),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(store.audit_chain().await.unwrap().0.len(), 1);
    clean(&store).await;
}
both_dialects!(
    concurrent_walk_ins_of_one_identity_get_one_ticket,
    walk_in_race
);
