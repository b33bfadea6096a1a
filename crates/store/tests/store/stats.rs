//! The statistics' roll-ups (issue 18): a generated mix of days rolled up equals a direct count
//! over the raw rows; rolling again (after a kill, or a rewind) changes nothing; two jobs roll a
//! day once; the job under concurrent writes loses nothing.

use crate::staff::entry;
use crate::{day, hm, hold, new_booking, setup, slot};
use chrono::{NaiveDate, TimeDelta};
use std::sync::Arc;
use wujing_domain::stats::{bucket_of, BUCKETS};
use wujing_store::*;
use wujing_testkit::{both_dialects, identity};

async fn officer(store: &DynStore) -> i64 {
    match store
        .apply_admin(
            &AdminChange::CreateStaff {
                username: "officer7".into(),
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

fn ticket(d: NaiveDate, n: u32, business: &str, channel: &str) -> NewTicket {
    let at = day_start(d) + TimeDelta::hours(9) + TimeDelta::minutes(i64::from(n % 300));
    NewTicket {
        hall_id: "h1".into(),
        day: d,
        queue: "A".into(),
        booking_id: None,
        booking_slot_id: None,
        business: business.into(),
        identity_key: format!("CHN:{}", identity(n)),
        kind: if n.is_multiple_of(3) {
            "walk_in"
        } else {
            "appointment"
        }
        .into(),
        channel: channel.into(),
        priority: 0,
        due_at: at,
        now: at,
    }
}

/// A day of the mix: `n` tickets; most are called after a wait that grows with their number,
/// most of those served for a time that varies, some paid, rated (every fifth unsatisfied).
async fn make_day(store: &DynStore, officer: i64, d: NaiveDate, n: u32, seed: u32) {
    let businesses = ["passport_first", "hkm_permit"];
    let channels = ["counter", "self_service"];
    let mut issued = Vec::new();
    for i in 0..n {
        let k = seed * 1000 + i;
        let t = store
            .issue_ticket(&ticket(
                d,
                k,
                businesses[(k % 2) as usize],
                channels[(k / 2 % 2) as usize],
            ))
            .await
            .unwrap();
        issued.push((t, k));
    }
    // Called in order of issue, each at its own time so the waits spread over the buckets.
    for (t, k) in &issued {
        if k % 7 == 6 {
            continue; // never called: waiting at the close
        }
        let called_at = t.created_at + TimeDelta::seconds(i64::from(k * 97 % 3000));
        let c = store
            .call_next("h1", d, &["A".to_string()], 1, officer, called_at)
            .await
            .unwrap()
            .unwrap();
        if k % 5 == 4 {
            let recall = TicketMove::Recall { max_calls: 1 };
            store
                .move_ticket(c.id, 1, &recall, called_at)
                .await
                .unwrap();
            continue; // missed
        }
        store
            .move_ticket(c.id, 1, &TicketMove::Start, called_at)
            .await
            .unwrap();
        let done = called_at + TimeDelta::seconds(i64::from(120 + k * 31 % 1500));
        if k % 2 == 0 {
            store
                .record_payment(&NewPayment {
                    ticket_id: c.id,
                    amount_yuan: 120 + (k % 3) * 40,
                    method: "card".into(),
                    reference: format!("R{k}"),
                    window_number: 1,
                    officer_id: officer,
                    now: done,
                })
                .await
                .unwrap();
        }
        store
            .move_ticket(c.id, 1, &TicketMove::Finish, done)
            .await
            .unwrap();
        if k % 4 != 3 {
            let score = match k % 5 {
                0 => "unsatisfied",
                1 => "basic",
                _ => "satisfied",
            };
            store
                .record_rating(
                    &NewRating {
                        ticket_id: c.id,
                        score: score.into(),
                        reasons: "[]".into(),
                        now: done + TimeDelta::seconds(5),
                    },
                    &[],
                )
                .await
                .unwrap();
        }
    }
}

/// What the roll-up of `days` must hold, counted directly over the raw rows.
async fn direct(store: &DynStore, days: &[NaiveDate]) -> (Figures, Vec<u64>, Vec<u64>) {
    let mut f = Figures::default();
    let (mut wait, mut service) = (vec![0u64; BUCKETS], vec![0u64; BUCKETS]);
    for d in days {
        for t in store.tickets_of_day("h1", *d).await.unwrap() {
            f.tickets += 1;
            f.walk_ins += i64::from(t.kind == "walk_in");
            f.missed += i64::from(t.status == "missed");
            if let Some(c) = t.called_at {
                let w = (c - t.created_at).num_seconds();
                f.wait_n += 1;
                f.wait_sum_s += w;
                wait[bucket_of(w)] += 1;
                if let (Some(e), "done") = (t.finished_at, t.status.as_str()) {
                    let s = (e - c).num_seconds();
                    f.served += 1;
                    f.service_n += 1;
                    f.service_sum_s += s;
                    service[bucket_of(s)] += 1;
                }
            }
            if let Some(p) = store.payment_of(t.id).await.unwrap() {
                f.fees_fen += i64::from(p.amount_yuan) * 100;
            }
        }
        for a in store.alerts(Some("h1"), false).await.unwrap() {
            if local_day(a.created_at) == *d {
                f.alerts += 1;
            }
        }
    }
    (f, wait, service)
}

fn filter(from: NaiveDate, to: NaiveDate) -> StatsFilter {
    StatsFilter {
        from,
        to,
        halls: None,
        business: String::new(),
        channel: String::new(),
    }
}

async fn roll_all(store: &DynStore, through: NaiveDate, now: chrono::DateTime<chrono::Utc>) {
    for source in STATS_SOURCES {
        let marks = store.stats_watermarks().await.unwrap();
        let mut next = match marks.iter().find(|(s, _)| s == source) {
            Some((_, d)) => d.succ_opt().unwrap(),
            None => match store.stats_first_day(source).await.unwrap() {
                Some(d) => d,
                None => continue,
            },
        };
        while next <= through {
            store.stats_roll_day(source, next, now).await.unwrap();
            next = next.succ_opt().unwrap();
        }
    }
}

async fn totals(store: &DynStore, from: NaiveDate, to: NaiveDate) -> (Figures, Vec<u64>, Vec<u64>) {
    let mut f = Figures::default();
    for (_, x) in store
        .stats_figures(&filter(from, to), StatsGroup::Day)
        .await
        .unwrap()
    {
        f.add(&x);
    }
    let (mut wait, mut service) = (vec![0u64; BUCKETS], vec![0u64; BUCKETS]);
    for h in store.stats_histograms(&filter(from, to)).await.unwrap() {
        let into = if h.measure == "wait" {
            &mut wait
        } else {
            &mut service
        };
        for (i, n) in h.counts.iter().enumerate() {
            into[i] += n;
        }
    }
    (f, wait, service)
}

/// Only the ticket-, payment- and alert-derived figures are compared with the direct count
/// (the rest is zero in both, or checked apart below).
fn comparable(f: &Figures) -> Figures {
    Figures {
        tickets: f.tickets,
        walk_ins: f.walk_ins,
        served: f.served,
        missed: f.missed,
        wait_n: f.wait_n,
        wait_sum_s: f.wait_sum_s,
        service_n: f.service_n,
        service_sum_s: f.service_sum_s,
        fees_fen: f.fees_fen,
        alerts: f.alerts,
        ..Figures::default()
    }
}

async fn rollup_equals_direct_count(store: DynStore) {
    setup(&store, &["h1"]).await;
    let officer = officer(&store).await;
    let d0 = day();
    let days: Vec<NaiveDate> = (0..3).map(|i| d0 + TimeDelta::days(i)).collect();
    // Bookings of the first day: three made, one checked in, one cancelled.
    let s = slot(&store, "h1", hm(9, 0), 5).await;
    let mut bookings = Vec::new();
    for i in 0..3u32 {
        let now = day_start(d0) - TimeDelta::days(1);
        let h = hold(&store, s.id, &format!("hold-{i}"), now).await.unwrap();
        bookings.push(
            store
                .confirm_hold(&new_booking(&h.id, &format!("CODE{i}"), 500 + i, now))
                .await
                .unwrap(),
        );
    }
    store
        .issue_ticket(&NewTicket {
            booking_id: Some(bookings[0].id),
            booking_slot_id: Some(s.id),
            identity_key: bookings[0].identity_key.clone(),
            ..ticket(d0, 998, "passport_first", "web")
        })
        .await
        .unwrap();
    store
        .cancel_booking(
            bookings[2].id,
            day_start(d0) - TimeDelta::hours(20),
            day_start(d0) - TimeDelta::hours(19),
        )
        .await
        .unwrap();
    for (i, d) in days.iter().enumerate() {
        make_day(&store, officer, *d, 40 + i as u32 * 7, i as u32 + 1).await;
    }
    let after = day_start(days[2] + TimeDelta::days(1)) + TimeDelta::hours(1);
    roll_all(&store, days[2], after).await;

    let want = direct(&store, &days).await;
    let got = totals(&store, days[0], days[2]).await;
    assert_eq!(comparable(&got.0), want.0);
    assert_eq!(got.1, want.1, "wait histogram");
    assert_eq!(got.2, want.2, "service histogram");
    assert!(
        got.0.served > 50 && got.0.alerts > 5,
        "a real mix: {:?}",
        got.0
    );
    // Ratings per level, the bookings of the first day.
    let rated = got.0.rated_satisfied + got.0.rated_basic + got.0.rated_unsatisfied;
    assert!(rated > 0);
    assert_eq!(got.0.rated_unsatisfied, got.0.alerts);
    assert_eq!(
        (
            got.0.bookings,
            got.0.check_ins,
            got.0.no_shows,
            got.0.cancelled
        ),
        (2, 1, 1, 1)
    );
    // Per officer: every served ticket and rating is the officer's.
    let off = store
        .stats_officers(&filter(days[0], days[2]), Some(officer))
        .await
        .unwrap();
    assert_eq!(off.len(), 1);
    assert_eq!(off[0].served, got.0.served);
    assert_eq!(off[0].service_sum_s, got.0.service_sum_s);
    assert_eq!(off[0].rated_unsatisfied, got.0.rated_unsatisfied);
    // Seats of the day at its close.
    let pools = store.stats_pools(&filter(d0, d0)).await.unwrap();
    let now_taken: i64 = store
        .slots(&SlotQuery {
            hall_ids: Some(vec!["h1".into()]),
            ..Default::default()
        })
        .await
        .unwrap()
        .iter()
        .filter(|x| x.day == d0)
        .map(|x| i64::from(x.taken))
        .sum();
    assert_eq!(pools.iter().map(|p| p.taken).sum::<i64>(), now_taken);

    // A day already rolled is not rolled again; a rewind (what a restarted job after a bulk
    // load does) rolls every day again and changes nothing.
    assert!(!store
        .stats_roll_day("tickets", days[1], after)
        .await
        .unwrap());
    store.stats_rewind(days[0], after).await.unwrap();
    roll_all(&store, days[2], after).await;
    assert_eq!(totals(&store, days[0], days[2]).await, got);
    // Scoped to another site: nothing.
    let mut other = filter(days[0], days[2]);
    other.halls = Some(vec!["h2".into()]);
    assert!(store
        .stats_figures(&other, StatsGroup::Hall)
        .await
        .unwrap()
        .is_empty());
    // Narrowed to one business: a part of the whole.
    let mut one = filter(days[0], days[2]);
    one.business = "passport_first".into();
    let part: i64 = store
        .stats_figures(&one, StatsGroup::Business)
        .await
        .unwrap()
        .iter()
        .map(|(_, f)| f.tickets)
        .sum();
    assert!(part > 0 && part < got.0.tickets);
    every_grain_answers_as_the_base(&store, days[0], days[2]).await;
}

/// The coarser roll-ups (migration 39) answer every grouping and narrowing exactly as the base
/// roll-ups summed: the base is read one site, business and channel at a time (the one read
/// that still goes to `stats_day`, `stats_hour` and `stats_times`), summed here, and compared
/// with each read that the dashboard makes.
async fn every_grain_answers_as_the_base(store: &DynStore, from: NaiveDate, to: NaiveDate) {
    use std::collections::BTreeMap;
    let keys = |g: StatsGroup| async move {
        store
            .stats_figures(&filter(from, to), g)
            .await
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect::<Vec<_>>()
    };
    let (businesses, channels) = (
        keys(StatsGroup::Business).await,
        keys(StatsGroup::Channel).await,
    );
    assert!(
        businesses.len() >= 2 && channels.len() >= 2,
        "{businesses:?} {channels:?}"
    );
    // The base, cell by cell: (day, site, business, channel) → figures; hours and histograms.
    type Cell = (String, String, String);
    let mut base: Vec<(String, String, String, String, Figures)> = Vec::new();
    let mut hours: BTreeMap<(Cell, u32), (i64, i64, i64)> = BTreeMap::new();
    let mut hist: BTreeMap<(Cell, NaiveDate, String), Vec<u64>> = BTreeMap::new();
    for b in &businesses {
        for c in &channels {
            let mut f = filter(from, to);
            f.halls = Some(vec!["h1".into()]);
            f.business = b.clone();
            f.channel = c.clone();
            for (d, x) in store.stats_figures(&f, StatsGroup::Day).await.unwrap() {
                base.push((d, "h1".into(), b.clone(), c.clone(), x));
            }
            for h in store.stats_hours(&f).await.unwrap() {
                hours.insert(
                    (("h1".into(), b.clone(), c.clone()), h.hour),
                    (h.bookings, h.tickets, h.wait_sum_s),
                );
            }
            for h in store.stats_histograms(&f).await.unwrap() {
                hist.insert(
                    (("h1".into(), b.clone(), c.clone()), h.day, h.measure),
                    h.counts,
                );
            }
        }
    }
    assert!(base.iter().any(|r| r.4.tickets > 0) && !hours.is_empty() && !hist.is_empty());
    let scopes = [
        None,
        Some(vec!["h1".to_string()]),
        Some(vec!["h2".to_string()]),
    ];
    let mut narrow_b = vec![String::new()];
    narrow_b.extend(businesses.iter().cloned());
    let mut narrow_c = vec![String::new()];
    narrow_c.extend(channels.iter().cloned());
    for halls in &scopes {
        for b in &narrow_b {
            for c in &narrow_c {
                let f = StatsFilter {
                    from,
                    to,
                    halls: halls.clone(),
                    business: b.clone(),
                    channel: c.clone(),
                };
                let keep = |h: &str, bb: &str, cc: &str| {
                    halls.as_ref().is_none_or(|l| l.iter().any(|x| x == h))
                        && (b.is_empty() || b == bb)
                        && (c.is_empty() || c == cc)
                };
                for g in [
                    StatsGroup::Day,
                    StatsGroup::Hall,
                    StatsGroup::Business,
                    StatsGroup::Channel,
                ] {
                    let mut want: BTreeMap<String, Figures> = BTreeMap::new();
                    for (d, h, bb, cc, x) in &base {
                        if keep(h, bb, cc) {
                            let k = match g {
                                StatsGroup::Day => d,
                                StatsGroup::Hall => h,
                                StatsGroup::Business => bb,
                                StatsGroup::Channel => cc,
                            };
                            want.entry(k.clone()).or_default().add(x);
                        }
                    }
                    let got: BTreeMap<String, Figures> = store
                        .stats_figures(&f, g)
                        .await
                        .unwrap()
                        .into_iter()
                        .collect();
                    assert_eq!(got, want, "{g:?} {f:?}");
                }
                let mut want_hours: BTreeMap<u32, (i64, i64, i64)> = BTreeMap::new();
                for (((h, bb, cc), hour), v) in &hours {
                    if keep(h, bb, cc) {
                        let e = want_hours.entry(*hour).or_default();
                        *e = (e.0 + v.0, e.1 + v.1, e.2 + v.2);
                    }
                }
                let got_hours: BTreeMap<u32, (i64, i64, i64)> = store
                    .stats_hours(&f)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|h| (h.hour, (h.bookings, h.tickets, h.wait_sum_s)))
                    .collect();
                assert_eq!(got_hours, want_hours, "hours {f:?}");
                let mut want_hist: BTreeMap<(NaiveDate, String), Vec<u64>> = BTreeMap::new();
                for (((h, bb, cc), d, m), v) in &hist {
                    if keep(h, bb, cc) {
                        let e = want_hist
                            .entry((*d, m.clone()))
                            .or_insert_with(|| vec![0; BUCKETS]);
                        for (i, n) in v.iter().enumerate() {
                            e[i] += n;
                        }
                    }
                }
                let got_hist: BTreeMap<(NaiveDate, String), Vec<u64>> = store
                    .stats_histograms(&f)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|h| ((h.day, h.measure), h.counts))
                    .collect();
                assert_eq!(got_hist, want_hist, "histograms {f:?}");
            }
        }
    }
}
both_dialects!(
    rollup_equals_direct_count_over_raw_rows,
    rollup_equals_direct_count
);

/// Two jobs on one day: exactly one rolls it. Tickets issued while the job rolls the closed
/// days are all counted once their day is rolled.
async fn concurrent(store: DynStore) {
    setup(&store, &["h1"]).await;
    let officer = officer(&store).await;
    let d0 = day();
    make_day(&store, officer, d0, 20, 1).await;
    let d1 = d0 + TimeDelta::days(1);
    let now = day_start(d1) + TimeDelta::hours(1);
    let store = Arc::new(store);
    let writers: Vec<_> = (0..4u32)
        .map(|w| {
            let s = store.clone();
            tokio::spawn(async move {
                for i in 0..15 {
                    s.issue_ticket(&ticket(d1, 5000 + w * 100 + i, "passport_first", "counter"))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    let jobs: Vec<_> = (0..3)
        .map(|_| {
            let s = store.clone();
            tokio::spawn(async move {
                let mut rolled = 0;
                for source in STATS_SOURCES {
                    if s.stats_roll_day(source, d0, now).await.unwrap() {
                        rolled += 1;
                    }
                }
                rolled
            })
        })
        .collect();
    let mut rolled = 0;
    for j in jobs {
        rolled += j.await.unwrap();
    }
    for w in writers {
        w.await.unwrap();
    }
    assert_eq!(rolled, STATS_SOURCES.len(), "each source's day rolled once");
    let later = day_start(d1 + TimeDelta::days(1)) + TimeDelta::hours(1);
    for source in STATS_SOURCES {
        assert!(store.stats_roll_day(source, d1, later).await.unwrap());
    }
    let want = direct(&store, &[d0, d1]).await;
    let got = totals(&store, d0, d1).await;
    assert_eq!(comparable(&got.0), want.0);
    assert_eq!(got.0.tickets, 20 + 60);
}
both_dialects!(rollup_job_under_concurrent_writes_loses_nothing, concurrent);
