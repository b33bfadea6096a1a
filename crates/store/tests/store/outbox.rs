//! The notification outbox.

use crate::{day, hm, hold, new_booking, setup, slot, t0};
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
