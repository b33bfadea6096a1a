//! `wujing simulate` on both databases (issue 18 §2): a small simulated year for the demo
//! organisation loads through the bulk port, its rows pass the invariant recount, the
//! seasonality shows (the four weeks before Spring Festival busier per open day than March),
//! personal data is sealed, the same seed gives the same year, and a second load over the same
//! days is refused.

use super::Harness;
use chrono::{NaiveDate, TimeDelta};
use wujing_app::simulate::SimulateInput;
use wujing_store::DynStore;
use wujing_testkit::both_dialects;

const APPLICATIONS: u64 = 20_000;

/// Tickets per open hall-day between `from` and `to`, over every hall.
async fn per_open_day(h: &Harness, from: NaiveDate, to: NaiveDate) -> f64 {
    let halls = h.store.halls().await.unwrap();
    let (mut tickets, mut open) = (0usize, 0usize);
    let mut day = from;
    while day <= to {
        for hall in &halls {
            let n = h.store.tickets_of_day(&hall.id, day).await.unwrap().len();
            if n > 0 {
                tickets += n;
                open += 1;
            }
        }
        day += TimeDelta::days(1);
    }
    tickets as f64 / open.max(1) as f64
}

async fn simulated_year(store: DynStore) {
    let h = Harness::new(store).await;
    let last_day = h.app.clock.today() - TimeDelta::days(1);
    let input = SimulateInput {
        applications: APPLICATIONS,
        seed: 7,
        last_day,
    };
    let r = h.app.simulate_year(&input, |_| {}).await.unwrap();
    // The year adds up to what was asked.
    assert_eq!(r.applications, APPLICATIONS, "{r:?}");
    assert_eq!(r.tickets, r.applications);
    assert!(
        r.walk_ins > 0 && r.no_shows > 0 && r.cancelled > 0 && r.alerts > 0,
        "{r:?}"
    );
    assert!(
        r.ratings > r.tickets / 2 && r.events > r.applications * 3,
        "{r:?}"
    );
    let inv = h.store.verify_invariants().await.unwrap();
    assert!(inv.is_clean(), "{inv:?}");
    assert!(inv.slots_checked >= r.slots, "{inv:?} {r:?}");

    // Seasonality: Spring Festival 2026 is 17 February.
    let before_festival = per_open_day(
        &h,
        NaiveDate::from_ymd_opt(2026, 1, 20).unwrap(),
        NaiveDate::from_ymd_opt(2026, 2, 16).unwrap(),
    )
    .await;
    let march = per_open_day(
        &h,
        NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
    )
    .await;
    assert!(
        before_festival > march * 1.5,
        "before the festival {before_festival:.1}, March {march:.1}"
    );

    // The tickets were served: called after they came, finished after the call.
    let halls = h.store.halls().await.unwrap();
    let day = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
    let tickets = h.store.tickets_of_day(&halls[0].id, day).await.unwrap();
    assert!(!tickets.is_empty());
    for t in &tickets {
        let (called, finished) = (t.called_at.unwrap(), t.finished_at.unwrap());
        assert!(t.created_at <= called && called <= finished, "{t:?}");
    }
    // A simulated booking reads back through the store's opening of sealed data: its
    // identity number is a valid one, so it was sealed as the app seals, not stored plain.
    let booking_id = tickets.iter().find_map(|t| t.booking_id).unwrap();
    let b = h.store.booking_by_id(booking_id).await.unwrap().unwrap();
    assert!(
        wujing_domain::ResidentId::parse(&b.id_number, last_day).is_ok(),
        "{}",
        b.id_number
    );

    // The capacity advisor now measures the simulated service times.
    let services = h
        .app
        .service_times(&h.app.hall(&halls[0].id).await.unwrap())
        .await
        .unwrap();
    assert!(services.iter().any(|s| s.from_history), "{services:?}");

    // The same days again are refused.
    let again = h.app.simulate_year(&input, |_| {}).await.unwrap_err();
    assert_eq!(again.code.as_str(), "simulation_overlaps");
}

both_dialects!(simulate_a_small_year, simulated_year);
