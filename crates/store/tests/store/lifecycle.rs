//! The application's life after the counter (issue 12): every move is one conditional,
//! audited transaction; the database refuses what the move table does not allow.

use crate::staff::entry;
use crate::{day, setup, t0};
use chrono::{NaiveDate, TimeDelta};
use wujing_domain::application::{can_move, due_date, Processing, State, MOVES};
use wujing_store::*;
use wujing_testkit::{both_dialects, identity};

pub(crate) async fn officer(store: &DynStore) -> i64 {
    match store
        .apply_admin(
            &AdminChange::CreateStaff {
                username: "officer1".into(),
                display_name: "民警".into(),
                password_hash: "x".into(),
                roles: vec![],
                phone: None,
            },
            &entry(1, "staff.create"),
        )
        .await
        .unwrap()
    {
        AdminOutcome::Created(id) => id,
        o => panic!("{o:?}"),
    }
}

/// A walk-in served at window 1 and accepted (pending a supplement when `missing`).
pub(crate) async fn accepted(
    store: &DynStore,
    officer: i64,
    n: u32,
    expedited: bool,
    ready_by: NaiveDate,
    missing: bool,
) -> Application {
    let t = store
        .issue_ticket(&NewTicket {
            hall_id: "h1".into(),
            day: day(),
            queue: "A".into(),
            booking_id: None,
            booking_slot_id: None,
            business: "passport_first".into(),
            identity_key: format!("CHN:{}", identity(n)),
            kind: "walk_in".into(),
            channel: "counter".into(),
            priority: i32::from(expedited),
            due_at: t0(),
            now: t0(),
        })
        .await
        .unwrap();
    let called = store
        .call_next("h1", day(), &["A".into()], 1, officer, t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(called.id, t.id);
    store
        .move_ticket(t.id, 1, &TicketMove::Start, t0())
        .await
        .unwrap();
    let a = store
        .accept_application(
            &NewApplication {
                ticket_id: t.id,
                missing: if missing {
                    vec!["户口簿".into()]
                } else {
                    vec![]
                },
                supplement_due: missing.then(|| day() + TimeDelta::days(15)),
                ready_by,
                window_number: 1,
                officer_id: officer,
                now: t0(),
                collection_method: "counter".into(),
                mail_address: None,
                channel: "counter".into(),
            },
            &audit("application.accept"),
            &[],
        )
        .await
        .unwrap();
    store
        .move_ticket(t.id, 1, &TicketMove::Finish, t0())
        .await
        .unwrap();
    a
}

pub(crate) fn mv(a: i64, from: State, to: State) -> ApplicationMove {
    ApplicationMove {
        id: a,
        from: from.as_str().into(),
        to: to.as_str().into(),
        actor: "staff:1".into(),
        note: String::new(),
        refusal_reason: (to == State::Refused).then(|| "other".into()),
        document_number: None,
        locker: None,
        tracking_number: None,
        supplement: None,
    }
}

pub(crate) fn audit(action: &str) -> NewAudit {
    NewAudit {
        hall_id: Some("h1".into()),
        ..entry(3, action)
    }
}

/// A small deterministic generator (SplitMix64), so that a failing sequence can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Random move sequences through the store: a move is done exactly when the domain's table
/// allows it (the history's CHECK agrees with `MOVES`), a refused move changes nothing and
/// writes no event or audit entry, a stale caller is refused, and the stored state is always
/// the last event's target. Every move of the table is made at least once.
async fn random_moves(store: DynStore) {
    setup(&store, &["h1"]).await;
    let officer = officer(&store).await;
    let mut apps = Vec::new();
    for n in 0..6u32 {
        let a = accepted(&store, officer, n, false, day(), n % 2 == 1).await;
        apps.push((a.id, State::parse(&a.status).unwrap()));
    }
    let mut rng = Rng(0x5eed_0012);
    let mut made = std::collections::BTreeSet::new();
    let mut audit_len = store.audit_chain().await.unwrap().0.len();
    for step in 0..400u32 {
        let i = rng.below(apps.len());
        let (id, state) = apps[i];
        // Half the time a move the table allows (when there is one), else any state at all.
        let legal: Vec<State> = MOVES
            .iter()
            .filter(|(f, _)| *f == state)
            .map(|(_, t)| *t)
            .collect();
        let to = if !legal.is_empty() && rng.below(2) == 0 {
            legal[rng.below(legal.len())]
        } else {
            State::ALL[rng.below(State::ALL.len())]
        };
        // Now and then a caller that saw another state.
        let stale = rng.below(8) == 0;
        let from = if stale {
            State::ALL[rng.below(State::ALL.len())]
        } else {
            state
        };
        let mut m = mv(id, from, to);
        if to.has_document() {
            m.document_number = Some(format!("E{id:04}{step:04}"));
        }
        let r = store
            .transition_application(&m, &audit("application.move"), &[])
            .await;
        if from != state {
            assert_eq!(
                r.unwrap_err(),
                StoreError::Refused("application_state_changed"),
                "stale {from:?} (is {state:?})"
            );
        } else if can_move(state, to) {
            let a = r.unwrap_or_else(|e| panic!("{state:?} → {to:?}: {e:?}"));
            assert_eq!(a.status, to.as_str());
            apps[i].1 = to;
            made.insert((state, to));
            audit_len += 1;
        } else {
            assert_eq!(
                r.unwrap_err(),
                StoreError::Refused("application_move_illegal"),
                "{state:?} → {to:?}"
            );
        }
        let now = store.application(id).await.unwrap().unwrap();
        assert_eq!(now.status, apps[i].1.as_str());
        assert_eq!(store.audit_chain().await.unwrap().0.len(), audit_len);
    }
    for (id, state) in &apps {
        let events = store.application_events(*id).await.unwrap();
        assert!(events[0].from_state.is_none());
        assert!(State::parse(&events[0].to_state).unwrap().is_initial());
        for w in events.windows(2) {
            assert_eq!(w[1].from_state.as_deref(), Some(w[0].to_state.as_str()));
            let (f, t) = (
                State::parse(&w[1].from_state.clone().unwrap()).unwrap(),
                State::parse(&w[1].to_state).unwrap(),
            );
            assert!(can_move(f, t));
        }
        assert_eq!(events.last().unwrap().to_state, state.as_str());
    }
    // The walk is no formality: most moves of the table were made (the exhaustive test below
    // makes each of them).
    let missed: Vec<_> = MOVES.iter().filter(|m| !made.contains(m)).collect();
    assert!(
        missed.len() <= MOVES.len() / 3,
        "too few moves exercised: missed {missed:?}"
    );
}
both_dialects!(application_moves_follow_the_table, random_moves);

/// Every pair of states, tried on an application in `from` made by the table's own moves: the
/// database accepts exactly the moves of `MOVES`.
async fn every_pair(store: DynStore) {
    setup(&store, &["h1"]).await;
    let officer = officer(&store).await;
    // The shortest path of moves to each state.
    let path_to = |target: State| -> Vec<State> {
        let mut paths: Vec<Vec<State>> =
            vec![vec![State::Accepted], vec![State::PendingSupplement]];
        loop {
            if let Some(p) = paths.iter().find(|p| *p.last().unwrap() == target) {
                return p.clone();
            }
            let mut more = Vec::new();
            for p in &paths {
                for (f, t) in MOVES {
                    if f == p.last().unwrap() && !p.contains(t) {
                        let mut q = p.clone();
                        q.push(*t);
                        more.push(q);
                    }
                }
            }
            paths = more;
        }
    };
    let mut n = 100;
    for from in State::ALL {
        let path = path_to(from);
        for to in State::ALL {
            n += 1;
            let a = accepted(
                &store,
                officer,
                n,
                false,
                day(),
                path[0] == State::PendingSupplement,
            )
            .await;
            for w in path.windows(2) {
                let mut m = mv(a.id, w[0], w[1]);
                m.document_number = w[1].has_document().then(|| format!("D{n}"));
                store
                    .transition_application(&m, &audit("application.move"), &[])
                    .await
                    .unwrap();
            }
            let mut m = mv(a.id, from, to);
            m.document_number = to.has_document().then(|| format!("D{n}"));
            let r = store
                .transition_application(&m, &audit("application.move"), &[])
                .await;
            if can_move(from, to) {
                assert_eq!(r.unwrap().status, to.as_str());
            } else {
                assert_eq!(
                    r.unwrap_err(),
                    StoreError::Refused("application_move_illegal"),
                    "{from:?} → {to:?}"
                );
            }
        }
    }
}
both_dialects!(
    the_database_allows_exactly_the_moves_of_the_table,
    every_pair
);

/// Two conflicting moves at once (review starts while the applicant withdraws): exactly one
/// wins, the other is refused as stale, and the history has one event for it.
async fn conflicting_moves(store: DynStore) {
    setup(&store, &["h1"]).await;
    let officer = officer(&store).await;
    for n in 0..8u32 {
        let a = accepted(&store, officer, n, false, day(), false).await;
        let (s1, s2) = (store.clone(), store.clone());
        let t1 = tokio::spawn(async move {
            s1.transition_application(
                &mv(a.id, State::Accepted, State::UnderReview),
                &audit("application.review"),
                &[],
            )
            .await
        });
        let t2 = tokio::spawn(async move {
            s2.transition_application(
                &mv(a.id, State::Accepted, State::Withdrawn),
                &audit("application.withdraw"),
                &[],
            )
            .await
        });
        let (r1, r2) = (t1.await.unwrap(), t2.await.unwrap());
        let wins = [&r1, &r2].iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "{r1:?} {r2:?}");
        for r in [&r1, &r2] {
            if let Err(e) = r {
                assert_eq!(*e, StoreError::Refused("application_state_changed"));
            }
        }
        let events = store.application_events(a.id).await.unwrap();
        assert_eq!(events.len(), 2);
        let now = store.application(a.id).await.unwrap().unwrap();
        assert_eq!(now.status, events[1].to_state);
    }
    // Every refused move left no audit entry: 1 staff creation + 8 acceptances (each written
    // with its application) + 8 winners.
    assert_eq!(store.audit_chain().await.unwrap().0.len(), 1 + 8 + 8);
}
both_dialects!(of_two_concurrent_moves_exactly_one_wins, conflicting_moves);

/// A document number belongs to one document; a produced document needs one and a refusal its
/// reason. A refused move writes nothing, its texts included.
async fn document_numbers(store: DynStore) {
    setup(&store, &["h1"]).await;
    let officer = officer(&store).await;
    let mut ids = Vec::new();
    for n in 0..2u32 {
        let a = accepted(&store, officer, n, false, day(), false).await;
        for (f, t) in [
            (State::Accepted, State::UnderReview),
            (State::UnderReview, State::Approved),
            (State::Approved, State::InProduction),
        ] {
            store
                .transition_application(&mv(a.id, f, t), &audit("application.move"), &[])
                .await
                .unwrap();
        }
        ids.push(a.id);
    }
    let produce = |id: i64, number: Option<&str>| ApplicationMove {
        document_number: number.map(str::to_string),
        ..mv(id, State::InProduction, State::Produced)
    };
    let text = NewMessage {
        idempotency_key: format!("produced:{}", ids[1]),
        channel: "sms".into(),
        recipient: "13800000000".into(),
        topic: "application".into(),
        body: "produced".into(),
        created_at: t0(),
    };
    assert_eq!(
        store
            .transition_application(&produce(ids[0], None), &audit("application.produce"), &[])
            .await
            .unwrap_err(),
        StoreError::Refused("application_incomplete")
    );
    let a = store
        .transition_application(
            &produce(ids[0], Some("E12345678")),
            &audit("application.produce"),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(a.document_number.as_deref(), Some("E12345678"));
    assert_eq!(
        store
            .transition_application(
                &produce(ids[1], Some("E12345678")),
                &audit("application.produce"),
                std::slice::from_ref(&text),
            )
            .await
            .unwrap_err(),
        StoreError::Refused("document_number_taken")
    );
    let b = store.application(ids[1]).await.unwrap().unwrap();
    assert_eq!(b.status, "in_production");
    assert_eq!(b.document_number, None);
    assert_eq!(store.application_events(ids[1]).await.unwrap().len(), 4);
    assert!(store
        .messages_to("13800000000", 10)
        .await
        .unwrap()
        .is_empty());
    // With its own number it goes through, and its text is queued with it.
    store
        .transition_application(
            &produce(ids[1], Some("E12345679")),
            &audit("application.produce"),
            std::slice::from_ref(&text),
        )
        .await
        .unwrap();
    assert_eq!(store.messages_to("13800000000", 10).await.unwrap().len(), 1);

    // A refusal needs its reason.
    let c = accepted(&store, officer, 9, false, day(), false).await;
    store
        .transition_application(
            &mv(c.id, State::Accepted, State::UnderReview),
            &audit("application.review"),
            &[],
        )
        .await
        .unwrap();
    let mut refuse = mv(c.id, State::UnderReview, State::Refused);
    refuse.refusal_reason = None;
    assert_eq!(
        store
            .transition_application(&refuse, &audit("application.refuse"), &[])
            .await
            .unwrap_err(),
        StoreError::Refused("application_incomplete")
    );
    refuse.refusal_reason = Some("false_materials".into());
    let c = store
        .transition_application(&refuse, &audit("application.refuse"), &[])
        .await
        .unwrap();
    assert_eq!(c.refusal_reason.as_deref(), Some("false_materials"));
    assert_eq!(
        store
            .transition_application(
                &mv(404_404, State::Accepted, State::UnderReview),
                &audit("application.review"),
                &[]
            )
            .await
            .unwrap_err(),
        StoreError::NotFound("application")
    );
}
both_dialects!(document_numbers_are_unique_and_required, document_numbers);

/// Due dates computed on the calendar the store keeps (holidays closed, make-up days open) are
/// stored with the application, and the review queue puts urgent cases first, then the
/// earliest due date.
async fn due_dates_and_queue(store: DynStore) {
    setup(&store, &["h1"]).await;
    store
        .put_calendar_days(&wujing_domain::calendar::declared_days_2026())
        .await
        .unwrap();
    let officer = officer(&store).await;
    let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
    let accepted_on = d(9, 30);
    // National Day (Oct 1–7 closed) and the make-up Saturday Oct 10 (open), read back from
    // the store.
    let declared = store
        .calendar_days(accepted_on, accepted_on + TimeDelta::days(60))
        .await
        .unwrap();
    let ordinary = due_date(accepted_on, Processing::of(7, false, false), &declared);
    let urgent = due_date(accepted_on, Processing::of(7, true, false), &declared);
    assert_eq!(ordinary, d(10, 15));
    assert_eq!(urgent, d(10, 13));
    // Without the declared days the same count would end a week earlier: the calendar matters.
    assert!(due_date(accepted_on, Processing::of(7, false, false), &[]) < ordinary);

    let late = accepted(&store, officer, 1, false, ordinary, false).await;
    let early = accepted(&store, officer, 2, false, d(10, 9), false).await;
    let rushed = accepted(&store, officer, 3, true, urgent, false).await;
    let waiting = accepted(&store, officer, 4, false, d(10, 1), true).await;
    assert_eq!(late.ready_by, d(10, 15));
    assert_eq!(rushed.ready_by, d(10, 13));
    assert!(rushed.expedited);
    assert_eq!(waiting.status, "pending_supplement");
    let queue: Vec<i64> = store
        .applications_in_state("accepted", Some("h1"), 10)
        .await
        .unwrap()
        .iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(queue, vec![rushed.id, early.id, late.id]);
    assert!(store
        .applications_in_state("accepted", Some("h2"), 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .applications_in_state("accepted", None, 2)
            .await
            .unwrap()
            .len(),
        2
    );
    let events = store.application_events(waiting.id).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].to_state, "pending_supplement");
    assert_eq!(events[0].actor, format!("staff:{officer}"));
}
both_dialects!(
    due_dates_follow_holidays_and_make_up_days,
    due_dates_and_queue
);

/// The collection method is chosen with the application or later, until the document leaves;
/// a mail address is kept (and read back) with it, a mailed document goes from dispatched to
/// collected with its tracking number, a person's applications are found by their key, and the
/// overdue list holds what the office is late with, not what waits for the citizen.
async fn collection_choice(store: DynStore) {
    setup(&store, &["h1"]).await;
    let officer = officer(&store).await;
    let past = day() - TimeDelta::days(3);
    let a = accepted(&store, officer, 1, false, past, false).await;
    let waiting = accepted(&store, officer, 2, false, past, true).await;
    assert_eq!(a.collection_method, "counter");
    assert_eq!(store.application_mail_address(a.id).await.unwrap(), None);
    let choose = |method: &str, addr: Option<&str>| AdminChange::ChooseCollection {
        id: a.id,
        method: method.into(),
        mail_address: addr.map(str::to_string),
    };
    store
        .apply_admin(
            &choose("mail", Some("广州市天河区天河路100号")),
            &audit("application.collection"),
        )
        .await
        .unwrap();
    let now = store.application(a.id).await.unwrap().unwrap();
    assert_eq!(now.collection_method, "mail");
    assert_eq!(
        store
            .application_mail_address(a.id)
            .await
            .unwrap()
            .as_deref(),
        Some("广州市天河区天河路100号")
    );
    // The office is late with `a` (due three days ago, waiting for review); `waiting` waits
    // for the citizen's supplement and is not the office's delay.
    let overdue: Vec<i64> = store
        .overdue_applications(day(), Some("h1"), 10)
        .await
        .unwrap()
        .iter()
        .map(|x| x.id)
        .collect();
    assert_eq!(overdue, vec![a.id]);
    assert!(store
        .overdue_applications(past, None, 10)
        .await
        .unwrap()
        .is_empty());

    for (from, to) in [
        (State::Accepted, State::UnderReview),
        (State::UnderReview, State::Approved),
        (State::Approved, State::InProduction),
    ] {
        store
            .transition_application(&mv(a.id, from, to), &audit("application.move"), &[])
            .await
            .unwrap();
    }
    store
        .transition_application(
            &ApplicationMove {
                document_number: Some("E90000001".into()),
                ..mv(a.id, State::InProduction, State::Produced)
            },
            &audit("application.produced"),
            &[],
        )
        .await
        .unwrap();
    let sent = store
        .transition_application(
            &ApplicationMove {
                tracking_number: Some("EA123456785CN".into()),
                ..mv(a.id, State::Produced, State::Dispatched)
            },
            &audit("application.dispatched"),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(sent.tracking_number.as_deref(), Some("EA123456785CN"));
    // Gone to the carrier: the method is fixed, and nothing changes.
    let err = store
        .apply_admin(&choose("counter", None), &audit("application.collection"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Refused("collection_fixed")),
        "{err:?}"
    );
    assert_eq!(
        store
            .application(a.id)
            .await
            .unwrap()
            .unwrap()
            .collection_method,
        "mail"
    );
    let delivered = store
        .transition_application(
            &mv(a.id, State::Dispatched, State::Collected),
            &audit("application.collected"),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(delivered.status, "collected");
    let err = store
        .apply_admin(
            &AdminChange::ChooseCollection {
                id: 999_999,
                method: "counter".into(),
                mail_address: None,
            },
            &audit("application.collection"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");

    let mine: Vec<i64> = store
        .applications_of(&format!("CHN:{}", identity(1)))
        .await
        .unwrap()
        .iter()
        .map(|x| x.id)
        .collect();
    assert_eq!(mine, vec![a.id]);
    assert_eq!(
        store
            .applications_of(&format!("CHN:{}", identity(2)))
            .await
            .unwrap()[0]
            .id,
        waiting.id
    );

    // Retention: the ended application loses its owner's key and address; the one still
    // waiting for its supplement keeps them.
    let report = store
        .anonymise_before(t0() + TimeDelta::days(1), day())
        .await
        .unwrap();
    assert_eq!(report.applications, 1);
    let ended = store.application(a.id).await.unwrap().unwrap();
    assert_eq!(ended.identity_key, format!("anon:{}", a.id));
    assert_eq!(store.application_mail_address(a.id).await.unwrap(), None);
    assert_eq!(ended.status, "collected");
    assert_eq!(
        store
            .application(waiting.id)
            .await
            .unwrap()
            .unwrap()
            .identity_key,
        waiting.identity_key
    );
}
both_dialects!(
    collection_is_chosen_until_the_document_leaves,
    collection_choice
);
