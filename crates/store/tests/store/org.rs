//! Districts, halls, the calendar and slots.

use crate::{clean, day, hm, hold, setup, slot, t0};
use chrono::NaiveDate;
use wujing_domain::{Hours, Pool};
use wujing_store::*;
use wujing_testkit::both_dialects;

async fn organisation_round_trips(store: DynStore) {
    setup(&store, &["h1", "h2"]).await;
    let halls = store.halls().await.unwrap();
    assert_eq!(halls.len(), 2);
    let h = store.hall("h1").await.unwrap().unwrap();
    assert_eq!(h.window_count, 3);
    assert_eq!(h.capacity, vec![(Pool::Online, 4), (Pool::OnSite, 2)]);
    assert_eq!(h.sessions, Hours::parse_sessions("09:00-12:00").unwrap());
    assert!(store.hall("nope").await.unwrap().is_none());
    // Replacing a hall replaces its windows instead of adding to them.
    let mut setup2 = HallSetup {
        hall: h.clone(),
        windows: vec![Window {
            number: 9,
            kind: "expedite".into(),
        }],
    };
    setup2.hall.name_en = "Renamed".into();
    store.put_hall(&setup2).await.unwrap();
    let h = store.hall("h1").await.unwrap().unwrap();
    assert_eq!((h.window_count, h.name_en.as_str()), (1, "Renamed"));
    let days = wujing_domain::calendar::declared_days_2026();
    store.put_calendar_days(&days).await.unwrap();
    store.put_calendar_days(&days).await.unwrap();
    let feb = store
        .calendar_days(
            NaiveDate::from_ymd_opt(2026, 2, 1).unwrap(),
            NaiveDate::from_ymd_opt(2026, 2, 28).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(feb.len(), 11, "9 Spring Festival days and 2 make-up days");
    let status = store.migration_status().await.unwrap();
    assert!(status.is_current(), "{status:?}");
    assert!(store.migrate().await.unwrap().is_empty(), "idempotent");
}
both_dialects!(organisation, organisation_round_trips);

async fn slots_are_generated_incrementally(store: DynStore) {
    setup(&store, &["h1"]).await;
    let s = slot(&store, "h1", hm(9, 0), 3).await;
    hold(&store, s.id, "a", t0()).await.unwrap();
    // Generating again neither duplicates nor resets the counter.
    let again = slot(&store, "h1", hm(9, 0), 3).await;
    assert_eq!((again.id, again.taken), (s.id, 1));
    slot(&store, "h1", hm(9, 30), 0).await;
    let free = store
        .slots(&SlotQuery {
            only_free: true,
            from: Some(day()),
            to: Some(day()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        free.iter().map(|s| s.start).collect::<Vec<_>>(),
        vec![hm(9, 0)]
    );
    let none = store
        .slots(&SlotQuery {
            hall_ids: Some(vec![]),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty());
    clean(&store).await;
}
both_dialects!(slots, slots_are_generated_incrementally);
