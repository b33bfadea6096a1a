//! Personal data at rest: a database written before sealing (migration 19) is sealed by the
//! next `migrate`, which has the keys; afterwards a copy shows nothing in clear and the store
//! reads everything back.

use super::*;

async fn rows_stored_in_clear_before_sealing_are_sealed_by_migrate(url: &str) {
    let pg = url.starts_with("postgres");
    let store = wujing_testkit::open(url).await.unwrap();
    store.migrate().await.unwrap();
    setup(&store, &["h1"]).await;
    let s = slot(&store, "h1", hm(9, 0), 2).await;
    hold(&store, s.id, "hold-1", t0()).await.unwrap();
    store
        .confirm_hold(&new_booking("hold-1", "LEGACY000001", 1, t0()))
        .await
        .unwrap();
    // Turn the rows back into what an older version wrote: everything in clear.
    let number = identity(1);
    let (instant, zero) = if pg {
        ("now()", "TIMESTAMPTZ '1970-01-01 00:00:00+00'")
    } else {
        ("0", "0")
    };
    wujing_testkit::raw_exec(
        url,
        &format!(
            "UPDATE bookings SET id_number = '{number}', name = '测试', phone = '13800000000',
               phone_index = NULL, identity_key = 'CHN:{number}' WHERE code = 'LEGACY000001';
             INSERT INTO persons (id_number, name, hukou_city, status, state_functionary, imported_at)
               VALUES ('{number}', '陈晓明', '广州', 'active', {f}, {instant});
             INSERT INTO documents (id_number, kind, number, issued_on, expires_on, status, imported_at)
               VALUES ('{number}', 'passport', 'E12345678', '2020-01-01', '2030-01-01', 'valid', {instant});
             INSERT INTO outbox (idempotency_key, channel, recipient, topic, body, created_at, due_at)
               VALUES ('legacy-1', 'sms', '13800000000', 'confirmation', '您的预约 LEGACY000001', {instant}, {instant});
             INSERT INTO scan_marks (name, at) VALUES ('seal_legacy', {zero});",
            f = if pg { "false" } else { "0" },
        ),
    )
    .await;
    assert!(wujing_testkit::raw_dump(url).await.contains(&number));

    // The next migrate (any start of the server) seals them, once.
    assert_eq!(store.migrate().await.unwrap(), Vec::<i64>::new());
    let dump = wujing_testkit::raw_dump(url).await;
    for clear in [number.as_str(), "测试", "陈晓明", "13800000000", "您的预约"] {
        assert!(!dump.contains(clear), "{clear} still in clear:\n{dump}");
    }
    // And reads everything back, found by the blind keys.
    let b = store
        .booking_by_code("LEGACY000001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (b.id_number.as_str(), b.name.as_str()),
        (number.as_str(), "测试")
    );
    let key = store.keys().identity_key(&format!("CHN:{number}"));
    assert_eq!(store.active_bookings_of(&key).await.unwrap().len(), 1);
    let (person, docs) = store.facts(&number).await.unwrap();
    assert_eq!(
        (person.unwrap().name, docs.len()),
        ("陈晓明".to_string(), 1)
    );
    let m = store.messages_to("13800000000", 5).await.unwrap();
    assert_eq!(m[0].body, "您的预约 LEGACY000001");
    // The one-active-booking index holds on the blind key.
    hold(&store, s.id, "hold-2", t0()).await.unwrap();
    let mut again = new_booking("hold-2", "LEGACY000002", 1, t0());
    again.identity_key = key;
    assert_eq!(
        store.confirm_hold(&again).await.unwrap_err(),
        StoreError::AlreadyBooked
    );
    clean(&store).await;
}

#[tokio::test]
async fn legacy_rows_are_sealed_on_sqlite() {
    let t = wujing_testkit::TempSqlite::new();
    rows_stored_in_clear_before_sealing_are_sealed_by_migrate(&t.url()).await;
}

#[tokio::test]
async fn legacy_rows_are_sealed_on_postgres() {
    let Some(url) = wujing_testkit::fresh_pg_database().await else {
        return;
    };
    rows_stored_in_clear_before_sealing_are_sealed_by_migrate(&url).await;
}
