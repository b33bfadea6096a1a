//! Online payments: one pending and one paid payment per purpose, each provider event applied
//! once (also when two copies race), amount mismatches recorded and refused, refunds once.

use super::*;
use wujing_testkit::both_dialects;

fn new_payment(purpose_id: i64, amount: i64) -> NewOnlinePayment {
    NewOnlinePayment {
        purpose_kind: "online_application".into(),
        purpose_id,
        amount_yuan: amount,
        subject_zh: "护照换发".into(),
        subject_en: "Passport renewal".into(),
        return_to: "/remote/1".into(),
        provider: "simulated".into(),
        at: t0(),
    }
}

fn system_audit() -> NewAudit {
    NewAudit {
        at: t0(),
        actor: "system:payments".into(),
        actor_name: "simulated".into(),
        action: String::new(),
        subject: String::new(),
        citizen: None,
        detail: serde_json::Value::Null,
        client_addr: None,
        station: None,
        hall_id: None,
    }
}

fn event(id: &str, reference: &str, outcome: &str, amount: i64) -> NewPaymentEvent {
    NewPaymentEvent {
        provider: "simulated".into(),
        provider_event_id: id.into(),
        provider_ref: reference.into(),
        outcome: outcome.into(),
        amount_yuan: amount,
        at: t0(),
    }
}

/// A pending payment with its order `reference`.
async fn ordered(store: &DynStore, purpose_id: i64, reference: &str) -> OnlinePayment {
    let (p, new) = store
        .open_payment(&new_payment(purpose_id, 160))
        .await
        .unwrap();
    assert!(new);
    store
        .set_payment_order(
            p.id,
            reference,
            &format!("http://x/pay/simulated/{reference}"),
        )
        .await
        .unwrap()
}

async fn audit_len(store: &DynStore) -> usize {
    store.audit_chain().await.unwrap().0.len()
}

/// A second start answers the pending payment; two concurrent starts share one.
async fn one_pending(store: DynStore) {
    let (a, new) = store.open_payment(&new_payment(1, 160)).await.unwrap();
    assert!(new);
    assert_eq!(a.status, "pending");
    let (b, new) = store.open_payment(&new_payment(1, 160)).await.unwrap();
    assert!(!new);
    assert_eq!(a.id, b.id);
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let s = store.clone();
            tokio::spawn(async move { s.open_payment(&new_payment(2, 160)).await.unwrap() })
        })
        .collect();
    let mut ids = Vec::new();
    let mut news = 0;
    for t in tasks {
        let (p, new) = t.await.unwrap();
        ids.push(p.id);
        news += usize::from(new);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one pending payment per purpose");
    assert_eq!(news, 1);
}
both_dialects!(
    a_purpose_has_one_pending_payment_even_when_started_concurrently,
    one_pending
);

/// paid once: the event recorded, the move applied, one audit entry; the same event again
/// changes nothing; a paid purpose cannot be started again.
async fn paid_once(store: DynStore) {
    let p = ordered(&store, 3, "sim_a").await;
    let before = audit_len(&store).await;
    let out = store
        .apply_payment_event(&event("e1", "sim_a", "paid", 160), &system_audit())
        .await
        .unwrap();
    assert_eq!(out.disposition, EventDisposition::Applied);
    assert_eq!(out.payment_id, p.id);
    let now = store.online_payment(p.id).await.unwrap().unwrap();
    assert_eq!(now.status, "paid");
    assert_eq!(now.paid_at, Some(t0()));
    assert_eq!(audit_len(&store).await, before + 1);
    let (chain, _) = store.audit_chain().await.unwrap();
    let last = chain.last().unwrap();
    assert_eq!(last.action, "online_payment.paid");
    assert_eq!(last.actor, "system:payments");
    assert_eq!(last.subject, format!("online_payment:{}", p.id));

    let again = store
        .apply_payment_event(&event("e1", "sim_a", "paid", 160), &system_audit())
        .await
        .unwrap();
    assert_eq!(again.disposition, EventDisposition::Duplicate);
    assert_eq!(store.payment_events(p.id).await.unwrap().len(), 1);
    assert_eq!(audit_len(&store).await, before + 1);
    assert_eq!(
        store.open_payment(&new_payment(3, 160)).await.unwrap_err(),
        StoreError::Refused("payment_already_paid")
    );
    // Unknown reference: nothing written.
    assert_eq!(
        store
            .apply_payment_event(&event("e9", "sim_nope", "paid", 160), &system_audit())
            .await
            .unwrap_err(),
        StoreError::NotFound("online payment")
    );
}
both_dialects!(a_notification_is_applied_once_and_audited, paid_once);

/// Two identical notifications at once (and a few more): exactly one state change, one event
/// row, one audit entry.
async fn racing_duplicates(store: DynStore) {
    let p = ordered(&store, 4, "sim_b").await;
    let before = audit_len(&store).await;
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let s = store.clone();
            tokio::spawn(async move {
                s.apply_payment_event(&event("e-race", "sim_b", "paid", 160), &system_audit())
                    .await
                    .unwrap()
                    .disposition
            })
        })
        .collect();
    let mut applied = 0;
    for t in tasks {
        match t.await.unwrap() {
            EventDisposition::Applied => applied += 1,
            EventDisposition::Duplicate => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(applied, 1);
    assert_eq!(store.payment_events(p.id).await.unwrap().len(), 1);
    assert_eq!(audit_len(&store).await, before + 1);
    assert_eq!(
        store.online_payment(p.id).await.unwrap().unwrap().status,
        "paid"
    );
}
both_dialects!(
    concurrent_copies_of_one_notification_change_the_payment_once,
    racing_duplicates
);

/// Declined, then a new attempt paid; a late "paid" for the declined one cannot make the
/// purpose paid twice: it is due a refund. Another notification of a paid order under a new
/// event id is recorded as stale.
async fn declined_then_paid(store: DynStore) {
    let a = ordered(&store, 5, "sim_c1").await;
    let out = store
        .apply_payment_event(&event("c1", "sim_c1", "declined", 160), &system_audit())
        .await
        .unwrap();
    assert_eq!(out.disposition, EventDisposition::Applied);
    assert_eq!(
        store.online_payment(a.id).await.unwrap().unwrap().status,
        "declined"
    );
    let b = ordered(&store, 5, "sim_c2").await;
    assert_ne!(a.id, b.id);
    // Both "paid" at once: the pending one becomes paid, the declined one is refunded.
    let s1 = store.clone();
    let s2 = store.clone();
    let (r1, r2) = tokio::join!(
        tokio::spawn(async move {
            s1.apply_payment_event(&event("c2", "sim_c1", "paid", 160), &system_audit())
                .await
        }),
        tokio::spawn(async move {
            s2.apply_payment_event(&event("c3", "sim_c2", "paid", 160), &system_audit())
                .await
        })
    );
    assert_eq!(
        r1.unwrap().unwrap().disposition,
        EventDisposition::RefundDue
    );
    assert_eq!(r2.unwrap().unwrap().disposition, EventDisposition::Applied);
    let a = store.online_payment(a.id).await.unwrap().unwrap();
    assert_eq!(a.status, "refund_due");
    assert_eq!(a.refund_reason.as_deref(), Some("not_accepted"));
    assert_eq!(
        store.online_payment(b.id).await.unwrap().unwrap().status,
        "paid"
    );
    assert_eq!(
        store
            .latest_payment_for("online_application", 5)
            .await
            .unwrap()
            .unwrap()
            .id,
        b.id
    );
    let due = store.refunds_due(10).await.unwrap();
    assert_eq!(due.iter().map(|p| p.id).collect::<Vec<_>>(), vec![a.id]);
    let stale = store
        .apply_payment_event(&event("c4", "sim_c2", "paid", 160), &system_audit())
        .await
        .unwrap();
    assert_eq!(stale.disposition, EventDisposition::Stale);
    assert_eq!(store.payment_events(b.id).await.unwrap().len(), 2);
}
both_dialects!(
    a_purpose_is_paid_once_and_a_second_payment_is_due_a_refund,
    declined_then_paid
);

/// An amount that differs from the order's: recorded and audited, the payment stays pending.
async fn mismatch(store: DynStore) {
    let p = ordered(&store, 6, "sim_d").await;
    let before = audit_len(&store).await;
    let out = store
        .apply_payment_event(&event("d1", "sim_d", "paid", 1), &system_audit())
        .await
        .unwrap();
    assert_eq!(out.disposition, EventDisposition::AmountMismatch);
    assert_eq!(
        store.online_payment(p.id).await.unwrap().unwrap().status,
        "pending"
    );
    let events = store.payment_events(p.id).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].disposition, "amount_mismatch");
    assert_eq!(events[0].amount_yuan, 1);
    assert_eq!(audit_len(&store).await, before + 1);
    let (chain, _) = store.audit_chain().await.unwrap();
    assert_eq!(
        chain.last().unwrap().action,
        "online_payment.amount_mismatch"
    );
}
both_dialects!(an_amount_mismatch_is_recorded_and_never_paid, mismatch);

/// A refund asked for twice at once: one moves the payment (with its audit entry), the other
/// finds nothing paid; the refund completes once.
async fn refund_once(store: DynStore) {
    let p = ordered(&store, 7, "sim_e").await;
    store
        .apply_payment_event(&event("f1", "sim_e", "paid", 160), &system_audit())
        .await
        .unwrap();
    let before = audit_len(&store).await;
    let staff = NewAudit {
        actor: "staff:1".into(),
        actor_name: "admin".into(),
        action: "online_payment.refund".into(),
        ..system_audit()
    };
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let s = store.clone();
            let a = staff.clone();
            tokio::spawn(async move {
                s.request_refund("online_application", 7, "applicant withdrew", &a)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut got = Vec::new();
    for t in tasks {
        if let Some(id) = t.await.unwrap() {
            got.push(id);
        }
    }
    assert_eq!(got, vec![p.id]);
    assert_eq!(audit_len(&store).await, before + 1);
    let row = store.online_payment(p.id).await.unwrap().unwrap();
    assert_eq!(row.status, "refund_due");
    assert_eq!(row.refund_reason.as_deref(), Some("applicant withdrew"));
    assert!(store
        .complete_refund(p.id, "sim_refund_1", t0())
        .await
        .unwrap());
    assert!(!store
        .complete_refund(p.id, "sim_refund_2", t0())
        .await
        .unwrap());
    let row = store.online_payment(p.id).await.unwrap().unwrap();
    assert_eq!(row.status, "refunded");
    assert_eq!(row.refund_ref.as_deref(), Some("sim_refund_1"));
    assert!(store.refunds_due(10).await.unwrap().is_empty());
    // Nothing paid any more: nothing to refund.
    assert_eq!(
        store
            .request_refund("online_application", 7, "again", &staff)
            .await
            .unwrap(),
        None
    );
    // Refunded: the purpose may be paid again.
    let (again, new) = store.open_payment(&new_payment(7, 160)).await.unwrap();
    assert!(new);
    assert_ne!(again.id, p.id);
}
both_dialects!(
    a_paid_payment_is_refunded_once_even_when_asked_twice_at_once,
    refund_once
);
