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

/// A site offers only its businesses, in the database too (migration 25's triggers): a hold,
/// a moved booking and a ticket of a business the site does not list are refused with
/// `business_not_offered`, and the refused hold took no seat.
async fn the_database_refuses_rows_for_a_business_a_site_does_not_offer(store: DynStore) {
    setup(&store, &["h1", "h2"]).await;
    let mut h2 = store.hall("h2").await.unwrap().unwrap();
    assert_eq!(h2.kind, wujing_domain::SiteKind::Hall);
    h2.kind = wujing_domain::SiteKind::PoliceStation;
    h2.businesses = vec!["hkm_permit".into()];
    let windows = store.windows("h2").await.unwrap();
    store
        .put_hall(&HallSetup {
            hall: h2.clone(),
            windows,
        })
        .await
        .unwrap();
    let back = store.hall("h2").await.unwrap().unwrap();
    assert_eq!(
        (back.kind, back.businesses.clone()),
        (
            wujing_domain::SiteKind::PoliceStation,
            vec!["hkm_permit".to_string()]
        )
    );
    assert!(back.offers("hkm_permit") && !back.offers("passport_first"));

    // The hold (passport_first, the helper's business) at the police station.
    let s2 = slot(&store, "h2", hm(9, 0), 3).await;
    let r = hold(&store, s2.id, "x", t0()).await;
    assert!(
        matches!(r, Err(StoreError::Refused("business_not_offered"))),
        "{r:?}"
    );
    assert_eq!(
        store.slot(s2.id).await.unwrap().unwrap().taken,
        0,
        "no seat taken"
    );

    // A booking at h1 moved to the police station's slot.
    let s1 = slot(&store, "h1", hm(9, 0), 3).await;
    hold(&store, s1.id, "a", t0()).await.unwrap();
    let b = store
        .confirm_hold(&crate::new_booking("a", "CODE000001", 1, t0()))
        .await
        .unwrap();
    let r = store
        .reschedule_booking(b.id, s2.id, t0(), t0() + chrono::TimeDelta::minutes(30))
        .await;
    assert!(
        matches!(r, Err(StoreError::Refused("business_not_offered"))),
        "{r:?}"
    );
    let still = store.booking_by_code("CODE000001").await.unwrap().unwrap();
    assert_eq!(still.slot.id, s1.id, "the booking stayed");
    assert_eq!(store.slot(s2.id).await.unwrap().unwrap().taken, 0);

    // A ticket (walk-in) of a business it does not offer.
    let ticket = |hall: &str| NewTicket {
        hall_id: hall.into(),
        day: day(),
        queue: "A".into(),
        booking_id: None,
        booking_slot_id: None,
        business: "passport_first".into(),
        identity_key: "CHN:x".into(),
        kind: "walk_in".into(),
        channel: "counter".into(),
        priority: 0,
        due_at: t0(),
        now: t0(),
    };
    let r = store.issue_ticket(&ticket("h2")).await;
    assert!(
        matches!(r, Err(StoreError::Refused("business_not_offered"))),
        "{r:?}"
    );
    store.issue_ticket(&ticket("h1")).await.unwrap();

    // A booking written without a hold of the site's list (a lottery award, a confirmation
    // after the business was taken off): the insert is refused too.
    let s1b = slot(&store, "h1", hm(9, 30), 3).await;
    hold(&store, s1b.id, "b", t0()).await.unwrap();
    let mut h1 = store.hall("h1").await.unwrap().unwrap();
    h1.businesses = vec!["hkm_permit".into()];
    let windows = store.windows("h1").await.unwrap();
    store
        .put_hall(&HallSetup { hall: h1, windows })
        .await
        .unwrap();
    let r = store
        .confirm_hold(&crate::new_booking("b", "CODE000002", 2, t0()))
        .await;
    assert!(
        matches!(r, Err(StoreError::Refused("business_not_offered"))),
        "{r:?}"
    );
    assert!(store.booking_by_code("CODE000002").await.unwrap().is_none());
}
both_dialects!(
    business_not_offered,
    the_database_refuses_rows_for_a_business_a_site_does_not_offer
);

fn new_site(id: &str) -> HallSetup {
    HallSetup {
        hall: Hall {
            id: id.into(),
            district_id: "tianhe".into(),
            name_zh: "派出所".into(),
            name_en: "Police station".into(),
            address_zh: "某镇".into(),
            address_en: "A town".into(),
            weekdays: vec![1, 2, 3, 4, 5],
            sessions: Hours::parse_sessions("09:00-12:00,14:00-17:00").unwrap(),
            slot_minutes: 30,
            serves_foreigners: false,
            window_count: 2,
            capacity: vec![(Pool::Online, 2), (Pool::OnSite, 1)],
            kind: wujing_domain::SiteKind::PoliceStation,
            businesses: vec!["hkm_permit".into(), "passport_first".into()],
            location: wujing_domain::GeoPoint::new(23.5480, 113.5900),
        },
        windows: (1..=2)
            .map(|n| Window {
                number: n,
                kind: "general".into(),
            })
            .collect(),
    }
}

/// Creating a site writes the site, its windows, capacity and businesses and its audit entry
/// together. Of two concurrent creations of one id exactly one succeeds and leaves one entry;
/// the other is `site_exists` and leaves nothing; a site in an unknown district is refused
/// whole.
async fn creating_a_site_is_one_transaction_and_one_wins_a_race(store: DynStore) {
    setup(&store, &[]).await;
    let mut tasks = Vec::new();
    for n in 0..6u32 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.apply_admin(
                &AdminChange::CreateSite(Box::new(new_site("ps-1"))),
                &crate::staff::entry(n, "site.create"),
            )
            .await
        }));
    }
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => won += 1,
            Err(StoreError::Refused("site_exists")) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(won, 1);
    let h = store.hall("ps-1").await.unwrap().unwrap();
    assert_eq!(
        (h.window_count, h.capacity.len(), h.businesses.len(), h.kind),
        (2, 2, 2, wujing_domain::SiteKind::PoliceStation)
    );
    // Its coordinates come back as written, and an edit can move or clear them.
    assert_eq!(h.location, new_site("ps-1").hall.location);
    for location in [wujing_domain::GeoPoint::new(-33.8568, 151.2153), None] {
        let mut edited = h.clone();
        edited.location = location;
        store
            .apply_admin(
                &AdminChange::UpdateSite(Box::new(edited)),
                &crate::staff::entry(100, "site.change"),
            )
            .await
            .unwrap();
        assert_eq!(
            store.hall("ps-1").await.unwrap().unwrap().location,
            location
        );
    }
    let entries = store
        .audit_search(&AuditQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        entries.iter().filter(|e| e.action == "site.create").count(),
        1
    );

    let mut lost = new_site("ps-2");
    lost.hall.district_id = "atlantis".into();
    let r = store
        .apply_admin(
            &AdminChange::CreateSite(Box::new(lost)),
            &crate::staff::entry(9, "site.create"),
        )
        .await;
    assert!(
        matches!(r, Err(StoreError::Refused("site_invalid"))),
        "{r:?}"
    );
    assert!(store.hall("ps-2").await.unwrap().is_none());
    assert!(store.windows("ps-2").await.unwrap().is_empty());
}
both_dialects!(
    site_creation,
    creating_a_site_is_one_transaction_and_one_wins_a_race
);
