//! Staff accounts, sessions, the audit chain and its tamper evidence (M14).

use crate::{day, hm, setup, t0};
use chrono::TimeDelta;
use wujing_domain::Pool;
use wujing_store::*;
use wujing_testkit::{both_dialects, identity};

pub(crate) fn entry(n: u32, action: &str) -> NewAudit {
    NewAudit {
        at: t0() + TimeDelta::seconds(i64::from(n)),
        actor: "cli".into(),
        actor_name: "cli:test".into(),
        action: action.into(),
        subject: format!("staff:{n}"),
        citizen: n.is_multiple_of(2).then(|| identity(n)),
        detail: serde_json::json!({ "n": n }),
        client_addr: Some("127.0.0.1".into()),
        station: None,
        hall_id: None,
    }
}

pub(crate) fn grant(
    role: wujing_domain::staff::Role,
    hall: Option<&str>,
) -> wujing_domain::staff::RoleGrant {
    wujing_domain::staff::RoleGrant {
        role,
        hall: hall.map(str::to_string),
    }
}

async fn staff_sessions_and_changes(store: DynStore) {
    use wujing_domain::staff::Role;
    setup(&store, &["h1"]).await;
    let id = match store
        .apply_admin(
            &AdminChange::CreateStaff {
                username: "li".into(),
                display_name: "李".into(),
                password_hash: "$argon2id$fake".into(),
                roles: vec![grant(Role::Officer, Some("h1"))],
                phone: None,
            },
            &entry(1, "staff.create"),
        )
        .await
        .unwrap()
    {
        AdminOutcome::Created(id) => id,
        other => panic!("{other:?}"),
    };
    // A taken user name is refused and writes no audit entry.
    let dup = store
        .apply_admin(
            &AdminChange::CreateStaff {
                username: "li".into(),
                display_name: "x".into(),
                password_hash: "h".into(),
                roles: vec![],
                phone: None,
            },
            &entry(2, "staff.create"),
        )
        .await;
    assert_eq!(dup, Err(StoreError::Refused("username_taken")));
    let a = store.staff_by_username("li").await.unwrap().unwrap();
    assert_eq!(
        (a.id, a.roles.clone()),
        (id, vec![grant(Role::Officer, Some("h1"))])
    );
    assert!(!format!("{a:?}").contains("argon2"), "Debug hides the hash");

    let session = StaffSession {
        token_hash: "t1".into(),
        staff_id: id,
        csrf_token: "c1".into(),
        created_at: t0(),
        expires_at: t0() + TimeDelta::hours(1),
        client_addr: None,
    };
    store.create_session(&session).await.unwrap();
    assert_eq!(store.session("t1", t0()).await.unwrap().unwrap().0, session);
    assert!(store
        .session("t1", t0() + TimeDelta::hours(2))
        .await
        .unwrap()
        .is_none());
    // Disabling the account ends its sessions.
    store
        .apply_admin(
            &AdminChange::UpdateStaff {
                id,
                display_name: None,
                roles: None,
                disabled: Some(true),
                password_hash: None,
                phone: None,
            },
            &entry(3, "staff.change"),
        )
        .await
        .unwrap();
    assert!(store.session("t1", t0()).await.unwrap().is_none());
    assert!(store.staff_by_id(id).await.unwrap().unwrap().disabled);

    // Sign-in attempts count per key before the password is checked; after the free ones
    // each owes a growing delay, during which the key counts nothing.
    let gate = |key: &str, free| LoginGate {
        key: key.into(),
        free,
        step: TimeDelta::seconds(30),
        max_delay: TimeDelta::minutes(5),
        window: TimeDelta::minutes(15),
    };
    let gates = vec![gate("addr:1.2.3.4", 30), gate("user:li", 3)];
    for i in 0..3 {
        let a = store
            .login_attempt(&gates, t0() + TimeDelta::seconds(i))
            .await
            .unwrap();
        assert_eq!(
            a,
            LoginAttempt::Allowed {
                attempts: vec![i as u32 + 1, i as u32 + 1]
            }
        );
    }
    // The third attempt set a 30 s delay for the user name.
    let a = store
        .login_attempt(&gates, t0() + TimeDelta::seconds(10))
        .await
        .unwrap();
    assert_eq!(
        a,
        LoginAttempt::Refused {
            key: "user:li".into(),
            until: t0() + TimeDelta::seconds(32)
        }
    );
    let a = store
        .login_attempt(&gates, t0() + TimeDelta::seconds(32))
        .await
        .unwrap();
    assert_eq!(
        a,
        LoginAttempt::Allowed {
            attempts: vec![5, 4]
        }
    );
    // Now 60 s.
    assert_eq!(
        store
            .login_attempt(&gates, t0() + TimeDelta::seconds(91))
            .await
            .unwrap(),
        LoginAttempt::Refused {
            key: "user:li".into(),
            until: t0() + TimeDelta::seconds(92)
        }
    );
    store
        .login_succeeded("user:li", &["addr:1.2.3.4".to_string()])
        .await
        .unwrap();
    assert_eq!(
        store
            .login_attempt(&gates, t0() + TimeDelta::seconds(93))
            .await
            .unwrap(),
        LoginAttempt::Allowed {
            attempts: vec![6, 1]
        }
    );
    // A key quiet for its window starts again.
    assert_eq!(
        store
            .login_attempt(&gates, t0() + TimeDelta::minutes(30))
            .await
            .unwrap(),
        LoginAttempt::Allowed {
            attempts: vec![1, 1]
        }
    );

    // Capacity changes in place and refuses to go below the seats taken.
    let slots = store
        .ensure_slots(&[NewSlot {
            hall_id: "h1".into(),
            day: day(),
            start: hm(9, 0),
            pool: Pool::Online,
            starts_at: t0(),
            capacity: 3,
        }])
        .await
        .unwrap();
    assert_eq!(slots, 1);
    let slot = store
        .slots(&SlotQuery {
            hall_ids: Some(vec!["h1".into()]),
            from: Some(day()),
            to: Some(day()),
            pool: Some(Pool::Online),
            ..Default::default()
        })
        .await
        .unwrap()[0]
        .clone();
    store
        .create_hold(&NewHold {
            id: "hold-a".into(),
            slot_id: slot.id,
            business: "passport_first".into(),
            now: t0(),
            expires_at: t0() + TimeDelta::minutes(10),
            client_addr: None,
            limits: vec![],
        })
        .await
        .unwrap();
    let set = |seats| AdminChange::SetCapacity {
        hall_id: "h1".into(),
        pool: Pool::Online,
        seats,
        from_day: day(),
    };
    assert_eq!(
        store
            .apply_admin(&set(0), &entry(4, "capacity.change"))
            .await,
        Err(StoreError::Refused("capacity_below_taken"))
    );
    assert_eq!(
        store
            .apply_admin(&set(5), &entry(4, "capacity.change"))
            .await,
        Ok(AdminOutcome::SlotsChanged(1))
    );
    let s = store.slot(slot.id).await.unwrap().unwrap();
    assert_eq!((s.capacity, s.taken), (5, 1), "the hold keeps its seat");
    let close = |closed| AdminChange::SetHallDay {
        hall_id: "h1".into(),
        day: day(),
        closed,
        note: "typhoon".into(),
    };
    assert_eq!(
        store
            .apply_admin(&close(true), &entry(5, "calendar.close"))
            .await,
        Err(StoreError::Refused("day_has_bookings"))
    );
    assert_eq!(
        store
            .sweep(t0() + TimeDelta::minutes(11))
            .await
            .unwrap()
            .expired_holds,
        1
    );
    store
        .apply_admin(&close(true), &entry(5, "calendar.close"))
        .await
        .unwrap();
    assert_eq!(store.slot(slot.id).await.unwrap().unwrap().capacity, 0);
    assert_eq!(
        store.hall_closures("h1", day(), day()).await.unwrap(),
        vec![day()]
    );
    store
        .apply_admin(&close(false), &entry(6, "calendar.open"))
        .await
        .unwrap();
    assert_eq!(store.slot(slot.id).await.unwrap().unwrap().capacity, 5);
    assert!(store
        .hall_closures("h1", day(), day())
        .await
        .unwrap()
        .is_empty());

    // Every successful change left exactly one entry, chained.
    let (chain, head) = store.audit_chain().await.unwrap();
    let actions: Vec<&str> = chain.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "staff.create",
            "staff.change",
            "capacity.change",
            "calendar.close",
            "calendar.open"
        ]
    );
    assert_eq!(
        wujing_domain::audit::verify_chain(
            store.keys().chain_key(),
            &chain,
            head.as_ref().map(|(s, h)| (*s, h.as_str()))
        ),
        Ok(5)
    );
    let found = store
        .audit_search(&AuditQuery {
            actor: Some("cli".into()),
            limit: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.iter().map(|e| e.seq).collect::<Vec<_>>(), [5, 4]);
    // Keyset pages on the sequence number: older than an entry, and just newer than one
    // (still newest first).
    let page = |before: Option<i64>, after: Option<i64>, limit: u32| {
        let store = &store;
        async move {
            store
                .audit_search(&AuditQuery {
                    before,
                    after,
                    limit,
                    ..Default::default()
                })
                .await
                .unwrap()
                .iter()
                .map(|e| e.seq)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(page(Some(5), None, 2).await, [4, 3]);
    assert_eq!(page(None, Some(2), 2).await, [4, 3]);
    assert_eq!(page(None, Some(3), 100).await, [5, 4]);
    assert_eq!(page(Some(1), None, 10).await, Vec::<i64>::new());
}
both_dialects!(staff, staff_sessions_and_changes);

/// Concurrent appends from many tasks still form one unbroken chain.
async fn audit_appends_race(store: DynStore) {
    let mut tasks = Vec::new();
    for n in 0..40u32 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.apply_admin(&AdminChange::RecordOnly, &entry(n, "identity.reveal"))
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let (chain, head) = store.audit_chain().await.unwrap();
    assert_eq!(
        wujing_domain::audit::verify_chain(
            store.keys().chain_key(),
            &chain,
            head.as_ref().map(|(s, h)| (*s, h.as_str()))
        ),
        Ok(40)
    );
}
both_dialects!(audit_race, audit_appends_race);

/// Tampering behind the application's back: a raw connection edits and deletes rows (after
/// dropping the append-only triggers, as a database owner could), and the verifier names the
/// exact entry.
async fn tamper_and_verify(
    store: &DynStore,
    exec: &(dyn Fn(&str) -> futures_lite_boxed::Fut + Sync),
) {
    use wujing_domain::audit::{verify_chain, ChainBreak};
    for n in 1..=6 {
        store
            .apply_admin(&AdminChange::RecordOnly, &entry(n, "identity.reveal"))
            .await
            .unwrap();
    }
    let verify = || async {
        let (chain, head) = store.audit_chain().await.unwrap();
        verify_chain(
            store.keys().chain_key(),
            &chain,
            head.as_ref().map(|(s, h)| (*s, h.as_str())),
        )
    };
    assert_eq!(verify().await, Ok(6));
    // The triggers refuse edits made without dropping them.
    assert!(exec("UPDATE audit_log SET detail = '{}' WHERE seq = 3")
        .await
        .is_err());
    exec("DROP TRIGGER IF EXISTS audit_log_no_update")
        .await
        .ok();
    exec("DROP TRIGGER IF EXISTS audit_log_no_delete")
        .await
        .ok();
    exec("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
        .await
        .ok();
    exec("UPDATE audit_log SET detail = '{\"n\":99}' WHERE seq = 3")
        .await
        .unwrap();
    assert_eq!(verify().await, Err(ChainBreak::Edited { seq: 3 }));
    exec("DELETE FROM audit_log WHERE seq = 3").await.unwrap();
    assert_eq!(verify().await, Err(ChainBreak::Missing { from: 3, to: 3 }));
    exec("DELETE FROM audit_log WHERE seq >= 3").await.unwrap();
    assert_eq!(
        verify().await,
        Err(ChainBreak::TailMissing {
            head_seq: 6,
            last_seq: 2
        })
    );
}

mod futures_lite_boxed {
    pub type Fut = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send>>;
}

#[tokio::test]
async fn audit_tampering_is_located_on_sqlite() {
    let t = wujing_testkit::TempSqlite::new();
    let store = wujing_testkit::open(&t.url()).await.unwrap();
    store.migrate().await.unwrap();
    let path = t.path.clone();
    let exec = move |sql: &str| -> futures_lite_boxed::Fut {
        let (path, sql) = (path.clone(), sql.to_string());
        Box::pin(async move {
            let c = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
            c.execute_batch(&sql).map_err(|e| e.to_string())
        })
    };
    tamper_and_verify(&store, &exec).await;
}

#[tokio::test]
async fn audit_tampering_is_located_on_postgres() {
    let Some(url) = wujing_testkit::fresh_pg_database().await else {
        return;
    };
    let store = wujing_testkit::open(&url).await.unwrap();
    store.migrate().await.unwrap();
    let exec = move |sql: &str| -> futures_lite_boxed::Fut {
        let (url, sql) = (url.clone(), sql.to_string());
        Box::pin(async move {
            let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(conn);
            c.batch_execute(&sql).await.map_err(|e| e.to_string())
        })
    };
    tamper_and_verify(&store, &exec).await;
}

/// The audit search narrowed to halls (a hall-scoped reader): entries of those halls only,
/// never an entry of no hall; the limit counts only matching entries; no narrowing reads all.
async fn audit_search_narrowed_to_halls_reads_only_their_entries(store: DynStore) {
    for (n, hall) in [(1, Some("h1")), (2, Some("h2")), (3, None), (4, Some("h1"))] {
        let mut e = entry(n, "ticket.check_in");
        e.hall_id = hall.map(str::to_string);
        store
            .apply_admin(&AdminChange::RecordOnly, &e)
            .await
            .unwrap();
    }
    let seqs = |halls: Option<&[&str]>, limit: u32| {
        let store = store.clone();
        let q = AuditQuery {
            halls: halls.map(|h| h.iter().map(|s| s.to_string()).collect()),
            limit,
            ..Default::default()
        };
        async move {
            store
                .audit_search(&q)
                .await
                .unwrap()
                .iter()
                .map(|e| e.seq)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(seqs(Some(&["h1"]), 10).await, [4, 1]);
    assert_eq!(seqs(Some(&["h1"]), 1).await, [4]);
    assert_eq!(seqs(Some(&["h2", "h1"]), 10).await, [4, 2, 1]);
    assert_eq!(seqs(Some(&[]), 10).await, Vec::<i64>::new());
    assert_eq!(seqs(None, 10).await, [4, 3, 2, 1]);
    // The hall is beside the chain: the chain still verifies.
    let (chain, head) = store.audit_chain().await.unwrap();
    assert_eq!(
        wujing_domain::audit::verify_chain(
            store.keys().chain_key(),
            &chain,
            head.as_ref().map(|(s, h)| (*s, h.as_str()))
        ),
        Ok(4)
    );
}
both_dialects!(
    audit_halls,
    audit_search_narrowed_to_halls_reads_only_their_entries
);
