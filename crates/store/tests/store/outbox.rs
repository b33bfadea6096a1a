//! The notification outbox.

use crate::{clean, day, hm, hold, new_booking, setup, slot, t0};
use chrono::TimeDelta;
use wujing_store::*;
use wujing_testkit::both_dialects;

fn msg(key: &str, to: &str) -> NewMessage {
    NewMessage {
        idempotency_key: key.into(),
        channel: "sms".into(),
        recipient: to.into(),
        topic: "phone_code".into(),
        body: format!("code for {key}"),
        created_at: t0(),
    }
}

async fn outbox_delivers_with_leases_and_retries(store: DynStore) {
    setup(&store, &["h1"]).await;
    // The same key twice is one message.
    assert_eq!(
        store
            .enqueue(&[msg("a", "13800000001"), msg("b", "13800000002")])
            .await
            .unwrap(),
        2
    );
    assert_eq!(store.enqueue(&[msg("a", "13800000001")]).await.unwrap(), 0);
    let lease = TimeDelta::seconds(60);
    let first = store.claim_messages(t0(), lease, 10).await.unwrap();
    assert_eq!(
        first
            .iter()
            .map(|m| m.idempotency_key.as_str())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(first[0].attempts, 1);
    // Leased messages are not handed to a second dispatcher.
    assert!(store
        .claim_messages(t0(), lease, 10)
        .await
        .unwrap()
        .is_empty());
    store.message_delivered(first[0].id, t0()).await.unwrap();
    store
        .message_failed(
            first[1].id,
            t0() + TimeDelta::seconds(5),
            "gateway answered 503",
        )
        .await
        .unwrap();
    assert!(store
        .claim_messages(t0() + TimeDelta::seconds(4), lease, 10)
        .await
        .unwrap()
        .is_empty());
    let again = store
        .claim_messages(t0() + TimeDelta::seconds(5), lease, 10)
        .await
        .unwrap();
    assert_eq!(
        (
            again.len(),
            again[0].attempts,
            again[0].last_error.as_deref()
        ),
        (1, 2, Some("gateway answered 503"))
    );
    // An expired lease (a dispatcher died mid-send) makes the message due again.
    let later = store
        .claim_messages(t0() + TimeDelta::seconds(70), lease, 10)
        .await
        .unwrap();
    assert_eq!(later.len(), 1);
    store
        .message_delivered(later[0].id, t0() + TimeDelta::seconds(70))
        .await
        .unwrap();
    assert!(store
        .claim_messages(t0() + TimeDelta::hours(1), lease, 10)
        .await
        .unwrap()
        .is_empty());
    let a = store.messages_to("13800000001", 10).await.unwrap();
    assert_eq!((a.len(), a[0].delivered_at), (1, Some(t0())));

    // A confirmation message is written with its booking, and not without it.
    let s = slot(&store, "h1", hm(9, 0), 1).await;
    let h = hold(&store, s.id, "hold-1", t0()).await.unwrap();
    let mut b = new_booking(&h.id, "CODE0001", 1, t0());
    b.notices = vec![NewMessage {
        idempotency_key: "confirm:CODE0001".into(),
        topic: "confirmation".into(),
        ..msg("x", "13800000000")
    }];
    let booking = store.confirm_hold(&b).await.unwrap();
    assert_eq!(booking.lang, "zh-CN");
    let mut twice = b.clone();
    twice.code = "CODE0002".into();
    twice.notices[0].idempotency_key = "confirm:CODE0002".into();
    assert_eq!(store.confirm_hold(&twice).await, Err(StoreError::HoldUsed));
    let sent: Vec<String> = store
        .messages_to("13800000000", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.idempotency_key)
        .collect();
    assert_eq!(sent, ["confirm:CODE0001"]);
    let on_day = store.active_bookings_on(day()).await.unwrap();
    assert_eq!(
        on_day.iter().map(|b| b.code.as_str()).collect::<Vec<_>>(),
        ["CODE0001"]
    );
}
both_dialects!(outbox, outbox_delivers_with_leases_and_retries);

// --- One use per phone code (security finding 14) ------------------------------------------

const CODE_PHONE: &str = "13800000000";

/// Issues a `book` code with hash `hash` to the test bookings' phone at `at`.
async fn issue_code(store: &DynStore, hash: &str, at: chrono::DateTime<chrono::Utc>) {
    store
        .issue_phone_code(
            &NewPhoneCode {
                phone: CODE_PHONE.into(),
                purpose: "book".into(),
                code_hash: hash.into(),
                now: at,
                expires_at: at + TimeDelta::minutes(10),
                client_addr: None,
            },
            TimeDelta::zero(),
            100,
            &msg(&format!("code:{hash}"), CODE_PHONE),
        )
        .await
        .unwrap();
}

async fn check(store: &DynStore, hash: &str, at: chrono::DateTime<chrono::Utc>) -> PhoneCodeCheck {
    store
        .verify_phone_code(CODE_PHONE, "book", hash, at, 5)
        .await
        .unwrap()
}

/// Verifying does not use a code up (the pre-check, then the confirmation); consuming does,
/// once: a second use is refused, and a check of a used code says so.
async fn a_phone_code_is_good_for_one_use(store: DynStore) {
    setup(&store, &["h1"]).await;
    issue_code(&store, "hash-1", t0()).await;
    let PhoneCodeCheck::Valid { id } = check(&store, "hash-1", t0()).await else {
        panic!("a fresh code is valid");
    };
    assert_eq!(
        check(&store, "hash-1", t0()).await,
        PhoneCodeCheck::Valid { id },
        "checking twice is not a use"
    );
    assert!(store.consume_phone_code(id, t0()).await.unwrap());
    assert!(!store.consume_phone_code(id, t0()).await.unwrap());
    assert_eq!(check(&store, "hash-1", t0()).await, PhoneCodeCheck::Used);
    // A booking authorised by a used code is refused and writes nothing.
    let s = slot(&store, "h1", hm(9, 0), 4).await;
    hold(&store, s.id, "hold-used", t0()).await.unwrap();
    let mut b = new_booking("hold-used", "CODEUSED0001", 1, t0());
    b.phone_code_id = Some(id);
    assert!(matches!(
        store.confirm_hold(&b).await,
        Err(StoreError::PhoneCodeUsed)
    ));
    assert!(store
        .booking_by_code("CODEUSED0001")
        .await
        .unwrap()
        .is_none());
    // The hold is still live: confirmed with a fresh code it books.
    issue_code(&store, "hash-2", t0()).await;
    let PhoneCodeCheck::Valid { id: fresh } = check(&store, "hash-2", t0()).await else {
        panic!("a fresh code is valid");
    };
    b.phone_code_id = Some(fresh);
    store.confirm_hold(&b).await.unwrap();
    assert_eq!(check(&store, "hash-2", t0()).await, PhoneCodeCheck::Used);
    clean(&store).await;
}
both_dialects!(phone_code_one_use, a_phone_code_is_good_for_one_use);

/// Two confirmations (and, apart, many bare uses) racing with one code: exactly one wins; the
/// loser's hold is left live and nothing of it is written.
async fn of_concurrent_uses_of_one_phone_code_exactly_one_wins(store: DynStore) {
    setup(&store, &["h1"]).await;
    let s = slot(&store, "h1", hm(9, 0), 12).await;
    for round in 0..5 {
        let hash = format!("race-{round}");
        let at = t0() + TimeDelta::seconds(round);
        issue_code(&store, &hash, at).await;
        let PhoneCodeCheck::Valid { id } = check(&store, &hash, at).await else {
            panic!("a fresh code is valid");
        };
        let mut tasks = Vec::new();
        for who in 0..2u32 {
            let hold_id = format!("race-{round}-{who}");
            hold(&store, s.id, &hold_id, at).await.unwrap();
            let mut b = new_booking(
                &hold_id,
                &format!("RACE{round}{who}0000000"),
                10 * (round as u32) + who,
                at,
            );
            b.phone_code_id = Some(id);
            let st = store.clone();
            tasks.push(tokio::spawn(async move { st.confirm_hold(&b).await }));
        }
        let mut won = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => won += 1,
                Err(StoreError::PhoneCodeUsed) => {}
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!(won, 1, "round {round}");
        // Free the seats the losers hold for the next round.
        store.sweep(at + TimeDelta::minutes(11)).await.unwrap();
    }
    let at = t0() + TimeDelta::seconds(10);
    issue_code(&store, "bare", at).await;
    let PhoneCodeCheck::Valid { id } = check(&store, "bare", at).await else {
        panic!("a fresh code is valid");
    };
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let st = store.clone();
        tasks.push(tokio::spawn(
            async move { st.consume_phone_code(id, at).await },
        ));
    }
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap().unwrap());
    }
    assert_eq!(won, 1);
    clean(&store).await;
}
both_dialects!(
    phone_code_race,
    of_concurrent_uses_of_one_phone_code_exactly_one_wins
);

/// A confirmation refused for another reason (the identity already booked, the hold expired)
/// leaves its code unused, so the citizen retries with the same code.
async fn a_refused_confirmation_leaves_its_phone_code_unused(store: DynStore) {
    setup(&store, &["h1"]).await;
    let s = slot(&store, "h1", hm(9, 0), 4).await;
    hold(&store, s.id, "first", t0()).await.unwrap();
    store
        .confirm_hold(&new_booking("first", "FIRST0000001", 1, t0()))
        .await
        .unwrap();
    issue_code(&store, "keep", t0()).await;
    let PhoneCodeCheck::Valid { id } = check(&store, "keep", t0()).await else {
        panic!("a fresh code is valid");
    };
    hold(&store, s.id, "again", t0()).await.unwrap();
    let mut b = new_booking("again", "AGAIN0000001", 1, t0());
    b.phone_code_id = Some(id);
    assert!(matches!(
        store.confirm_hold(&b).await,
        Err(StoreError::AlreadyBooked)
    ));
    assert_eq!(
        check(&store, "keep", t0()).await,
        PhoneCodeCheck::Valid { id }
    );
    let late = t0() + TimeDelta::minutes(11);
    let mut b = new_booking("again", "AGAIN0000002", 2, late);
    b.phone_code_id = Some(id);
    assert!(matches!(
        store.confirm_hold(&b).await,
        Err(StoreError::HoldExpired)
    ));
    assert_eq!(
        check(&store, "keep", t0()).await,
        PhoneCodeCheck::Valid { id }
    );
    // The retry with a new hold and the same code books.
    hold(&store, s.id, "retry", t0()).await.unwrap();
    let mut b = new_booking("retry", "RETRY0000001", 2, t0());
    b.phone_code_id = Some(id);
    store.confirm_hold(&b).await.unwrap();
    assert_eq!(check(&store, "keep", t0()).await, PhoneCodeCheck::Used);
}
both_dialects!(
    phone_code_kept,
    a_refused_confirmation_leaves_its_phone_code_unused
);
