//! The bulk port's shape on SQLite: a load sets the plain indexes of the loaded tables aside
//! and builds them again at its finish; a load that died half-way leaves them recorded, and
//! the next load's start builds them again before it sets them aside once more.

use chrono::NaiveDate;

fn indexes(path: &std::path::Path) -> Vec<String> {
    let c = rusqlite::Connection::open(path).unwrap();
    let mut st = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name")
        .unwrap();
    let names = st
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    names
}

#[tokio::test]
async fn a_load_sets_plain_indexes_aside_and_builds_them_again_even_after_dying() {
    let (store, t) = wujing_testkit::sqlite_store().await;
    let all = indexes(&t.path);
    assert!(all.iter().any(|n| n == "application_events_of"), "{all:?}");
    let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
    store.bulk_start(day(1), day(31)).await.unwrap();
    let during = indexes(&t.path);
    // The plain ones are gone; the unique ones, which check constraints, stay.
    assert!(
        !during.iter().any(|n| n == "application_events_of"),
        "{during:?}"
    );
    assert!(
        during.iter().any(|n| n == "bookings_one_active"),
        "{during:?}"
    );
    assert!(during.len() < all.len());
    // The load dies: the next one's start builds them again (and sets them aside again).
    drop(store);
    let store = wujing_testkit::open(&t.url()).await.unwrap();
    store.bulk_start(day(1), day(31)).await.unwrap();
    assert_eq!(indexes(&t.path), during);
    store.bulk_finish().await.unwrap();
    assert_eq!(indexes(&t.path), all);
    // Nothing is left recorded: a second finish changes nothing.
    store.bulk_finish().await.unwrap();
    assert_eq!(indexes(&t.path), all);
}
