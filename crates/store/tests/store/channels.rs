//! Acceptance channels (issue 13): the databases refuse a channel that is not one of
//! `wujing_domain::Channel::ALL`, and their lists are that list.

use super::*;
use wujing_domain::Channel;
use wujing_testkit::both_dialects;

/// Each dialect's migration repeats the domain's list in every constraint it writes.
#[test]
fn each_dialects_channel_lists_are_the_domains() {
    let want: Vec<String> = Channel::ALL
        .iter()
        .map(|c| format!("'{}'", c.as_str()))
        .collect();
    let want = want.join(", ");
    for sql in [
        include_str!("../../migrations/sqlite/0028_channels.sql"),
        include_str!("../../migrations/postgres/0028_channels.sql"),
    ] {
        let lists: Vec<&str> = sql
            .match_indices("IN (")
            .map(|(i, m)| {
                let rest = &sql[i + m.len()..];
                &rest[..rest.find(')').unwrap()]
            })
            .filter(|l| l.contains("'web'"))
            .collect();
        assert!(lists.len() >= 4, "{lists:?}");
        for l in lists {
            assert_eq!(l, want);
        }
    }
}

/// A booking, a ticket or an application with a channel outside the list is refused by the
/// database itself, and leaves nothing behind; the listed ones are taken.
async fn unknown_channels_are_refused(store: DynStore) {
    setup(&store, &["h1"]).await;
    let s = slot(&store, "h1", hm(9, 0), 5).await;
    hold(&store, s.id, "hold-1", t0()).await.unwrap();
    let mut nb = new_booking("hold-1", "CHAN0001", 1, t0());
    nb.channel = "hotline".into();
    assert!(store.confirm_hold(&nb).await.is_err());
    assert!(store.booking_by_code("CHAN0001").await.unwrap().is_none());
    nb.channel = "telephone".into();
    let b = store.confirm_hold(&nb).await.unwrap();
    assert_eq!(b.channel, "telephone");

    let mut t = NewTicket {
        hall_id: "h1".into(),
        day: day(),
        queue: "A".into(),
        booking_id: Some(b.id),
        booking_slot_id: Some(s.id),
        business: b.business.clone(),
        identity_key: b.identity_key.clone(),
        kind: "appointment".into(),
        channel: "reception".into(),
        priority: 0,
        due_at: b.slot.starts_at,
        now: t0(),
    };
    assert!(store.issue_ticket(&t).await.is_err());
    t.channel = "counter".into();
    let ticket = store.issue_ticket(&t).await.unwrap();
    assert_eq!(ticket.channel.as_deref(), Some("counter"));
    clean(&store).await;
}
both_dialects!(
    a_channel_outside_the_list_is_refused_by_the_database,
    unknown_channels_are_refused
);
