//! HTTP tests through the router in process, on SQLite and PostgreSQL: the booking flow a
//! citizen goes through, the error envelope for bad input, the OpenAPI snapshot and the
//! operations endpoints.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use chrono::{DateTime, TimeDelta, Utc};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;
use wujing_app::{App, Clock, Config};
use wujing_store::DynStore;
use wujing_testkit::both_dialects;

/// Tuesday 2026-12-01, 09:00 in Guangzhou.
pub(crate) fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-01T01:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

pub(crate) const CHEN: &str = "440106198503030116"; // demo: Guangzhou hukou, valid HK/Macau permit
const ZHANG: &str = "653101199001010451"; // demo: Kashgar hukou, valid HK/Macau permit

/// Four days of seats and the cheapest password hashing (tests sign in hundreds of times).
pub(crate) fn test_config() -> Config {
    Config {
        horizon_days: 4,
        auth: wujing_app::AuthConfig {
            password_cost: wujing_app::PasswordCost::cheap(),
            ..Default::default()
        },
        ..Config::default()
    }
}

#[path = "http/audit_coverage.rs"]
mod audit_coverage;
#[path = "http/authority.rs"]
mod authority;
#[path = "http/bzy.rs"]
mod bzy;
#[path = "http/capacity.rs"]
mod capacity;
#[path = "http/channels.rs"]
mod channels;
#[path = "http/collection.rs"]
mod collection;
#[path = "http/devices.rs"]
mod devices;
#[path = "http/exposure.rs"]
mod exposure;
#[path = "http/foreign.rs"]
mod foreign;
#[path = "http/forms.rs"]
mod forms;
#[path = "http/hall.rs"]
mod hall;
#[path = "http/inputs.rs"]
mod inputs;
#[path = "http/kiosk_modes.rs"]
mod kiosk_modes;
#[path = "http/kiosk_qzj.rs"]
mod kiosk_qzj;
#[path = "http/kiosk_tbj.rs"]
mod kiosk_tbj;
#[path = "http/kiosk_yyj.rs"]
mod kiosk_yyj;
#[path = "http/kiosk_zjt.rs"]
mod kiosk_zjt;
#[path = "http/lifecycle.rs"]
mod lifecycle;
#[path = "http/locker.rs"]
mod locker;
#[path = "http/lodging.rs"]
mod lodging;
#[path = "http/mrz.rs"]
mod mrz;
#[path = "http/outage.rs"]
mod outage;
#[path = "http/outbox.rs"]
mod outbox;
#[path = "http/payments.rs"]
mod payments;
#[path = "http/plumbing.rs"]
mod plumbing;
#[path = "http/portal.rs"]
mod portal;
#[path = "http/privacy.rs"]
mod privacy;
#[path = "http/production.rs"]
mod production;
#[path = "http/remote.rs"]
mod remote;
#[path = "http/simulate.rs"]
mod simulate;
#[path = "http/sites.rs"]
mod sites;
#[path = "http/staff.rs"]
mod staff;
#[path = "http/stats.rs"]
mod stats;
#[path = "http/used.rs"]
mod used;

/// Keeps a second tracing dispatcher (one that records nothing) for the whole test process.
/// While only one dispatcher is registered, tracing-core takes a callsite's interest from the
/// thread that reaches it first (tokio-rs/tracing#3611): a test without a subscriber reaching a
/// log line first would silence it for a concurrent test that captures logs with its own
/// (`staff::logs_carry_no_personal_data`). With two registered, both are asked, and registering
/// this one also rebuilds what was decided before it.
fn keep_a_second_dispatcher() {
    static SECOND: std::sync::OnceLock<tracing::Dispatch> = std::sync::OnceLock::new();
    SECOND.get_or_init(|| tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default()));
}

struct Harness {
    router: Router,
    app: App,
    /// The store behind `app`, for reading what a test's requests left there: the web crate
    /// itself never reaches the store.
    store: DynStore,
}

impl Harness {
    async fn new(store: DynStore) -> Self {
        Self::with_config(store, test_config()).await
    }

    async fn with_config(store: DynStore, config: Config) -> Self {
        Self::with_options(store, config, wujing_web::WebOptions::default()).await
    }

    async fn with_options(store: DynStore, config: Config, opts: wujing_web::WebOptions) -> Self {
        keep_a_second_dispatcher();
        let app = App::new(store.clone(), config, Clock::manual(start()));
        app.load_demo().await.unwrap();
        Self {
            router: wujing_web::router_with(app.clone(), opts),
            app,
            store,
        }
    }

    async fn call(
        &self,
        method: &str,
        uri: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        assert!(res.headers().contains_key("x-request-id"));
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let v = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, v)
    }

    async fn get(&self, uri: &str) -> (StatusCode, Value) {
        self.call("GET", uri, None, &[]).await
    }

    async fn post(&self, uri: &str, body: Value) -> (StatusCode, Value) {
        self.call("POST", uri, Some(body), &[]).await
    }

    async fn slot_on(&self, hall: &str, day: &str) -> Value {
        let (s, v) = self
            .get(&format!(
                "/api/v1/availability?business=passport_first&halls={hall}&from={day}&to={day}"
            ))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["slots"][0].clone()
    }

    /// The first free online slot of `hall` on Wednesday 2026-12-02.
    async fn slot(&self, hall: &str, business: &str) -> Value {
        let (s, v) = self
            .get(&format!("/api/v1/availability?business={business}&halls={hall}&from=2026-12-02&to=2026-12-02"))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["slots"][0].clone()
    }
}

pub(crate) fn applicant(id: &str, name: &str) -> Value {
    json!({ "name": name, "id_number": id, "phone": "13800138000" })
}

pub(crate) fn code_of(v: &Value) -> &str {
    v["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error envelope: {v}"))
}

async fn book_cancel_reschedule(store: DynStore) {
    let h = Harness::new(store).await;
    // The catalogue and halls.
    let (s, halls) = h.get("/api/v1/halls").await;
    assert_eq!(s, StatusCode::OK);
    // The article's 18 halls and 110 windows are the sites of kind `hall`; the demo's police
    // stations come after them.
    let of_kind = |k: &str| -> Vec<Value> {
        halls
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["kind"] == k)
            .cloned()
            .collect()
    };
    assert_eq!(of_kind("hall").len(), 18);
    let windows: u64 = of_kind("hall")
        .iter()
        .map(|h| h["window_count"].as_u64().unwrap())
        .sum();
    assert_eq!(windows, 110);
    assert_eq!(of_kind("police_station").len(), 2);
    let (s, hall) = h.get("/api/v1/halls/tianhe").await;
    assert_eq!(
        (s, hall["district"]["name_zh"].as_str()),
        (StatusCode::OK, Some("天河区"))
    );
    let (_, g) = h.get("/api/v1/businesses/hkm_endorsement_g").await;
    assert_eq!(g["options"][0]["fee_yuan"], 15);

    // Eligibility pre-check: G needs an open-city residence; Zhang's hukou is Kashgar. Without
    // the phone code the records are not consulted; with it (and his registered name) they are.
    let (s, e) = h
        .post(
            "/api/v1/eligibility",
            json!({"business": "hkm_endorsement_g", "applicant": applicant(ZHANG, "张伟"),
                   "answers": {"option": "3m1", "destination": "hk"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (&e["eligible"], &e["records_checked"]),
        (&json!(true), &json!(false))
    );
    let (s, _) = h
        .post("/api/v1/phone-codes", json!({"phone": "13800138000"}))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let phone_code: String = h.store.messages_to("13800138000", 1).await.unwrap()[0]
        .body
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect();
    let (s, e) = h
        .post(
            "/api/v1/eligibility",
            json!({"business": "hkm_endorsement_g", "applicant": applicant(ZHANG, "张伟"),
                   "answers": {"option": "3m1", "destination": "hk"}, "phone_code": phone_code}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(e["eligible"], false);
    assert_eq!(e["reasons"][0]["code"], "not_resident_of_open_city");

    // Hold and confirm.
    let slot = h.slot("tianhe", "hkm_endorsement_g").await;
    let (s, hold) = h
        .post(
            "/api/v1/holds",
            json!({"slot_id": slot["slot_id"], "business": "hkm_endorsement_g"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{hold}");
    let hold_id = hold["hold_id"].as_str().unwrap().to_string();
    // Zhang is refused at confirmation with every reason (he gave the code), and the hold
    // stays usable.
    let (s, refused) = h
        .post(
            "/api/v1/bookings",
            json!({"hold_id": hold_id, "applicant": applicant(ZHANG, "张伟"), "answers": {"option": "3m1", "destination": "hk"}, "phone_code": phone_code}),
        )
        .await;
    assert_eq!(
        (s, code_of(&refused)),
        (StatusCode::UNPROCESSABLE_ENTITY, "not_eligible")
    );
    assert_eq!(
        refused["error"]["details"]["reasons"][0]["code"],
        "not_resident_of_open_city"
    );
    let (s, booking) = h
        .post(
            "/api/v1/bookings",
            json!({"hold_id": hold_id, "applicant": applicant(CHEN, "陈晓明"), "answers": {"option": "1y2", "destination": "hk"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{booking}");
    let code = booking["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 12);
    assert_eq!(booking["fee_yuan"], 30);
    assert_eq!(booking["applicant"]["id_number"], "44**************16");
    assert_eq!(booking["applicant"]["phone"], "138****8000");
    assert!(
        !booking.to_string().contains(CHEN),
        "the full ID number is never returned"
    );

    // One active booking per identity and business (M3), whatever the hall.
    let other = h.slot("baiyun", "hkm_endorsement_g").await;
    let (_, hold2) = h
        .post(
            "/api/v1/holds",
            json!({"slot_id": other["slot_id"], "business": "hkm_endorsement_g"}),
        )
        .await;
    let (s, dup) = h
        .post(
            "/api/v1/bookings",
            json!({"hold_id": hold2["hold_id"], "applicant": applicant(CHEN, "陈晓明"), "answers": {"option": "3m1", "destination": "hk"}}),
        )
        .await;
    assert_eq!((s, code_of(&dup)), (StatusCode::CONFLICT, "already_booked"));

    // The owner reads the booking; a wrong identity number cannot.
    let uri = format!("/api/v1/bookings/{code}");
    let (s, got) = h.call("GET", &uri, None, &[("x-id-number", CHEN)]).await;
    assert_eq!(
        (s, got["code"].as_str()),
        (StatusCode::OK, Some(code.as_str()))
    );
    let (s, nope) = h.call("GET", &uri, None, &[("x-id-number", ZHANG)]).await;
    assert_eq!(
        (s, code_of(&nope)),
        (StatusCode::NOT_FOUND, "booking_not_found")
    );
    let (s, nope) = h.get(&uri).await;
    assert_eq!(
        (s, code_of(&nope)),
        (StatusCode::BAD_REQUEST, "id_number_required")
    );

    // Reschedule to the next slot of the day: the new seat is taken first.
    let (_, avail) = h
        .get("/api/v1/availability?business=hkm_endorsement_g&halls=tianhe&from=2026-12-02&to=2026-12-02")
        .await;
    let next = &avail["slots"][1];
    let (s, moved) = h
        .post(
            &format!("{uri}/reschedule"),
            json!({"id_number": CHEN, "slot_id": next["slot_id"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{moved}");
    assert_eq!(
        (moved["start"].clone(), moved["reschedule_count"].clone()),
        (next["start"].clone(), json!(1))
    );
    let (s, same) = h
        .post(
            &format!("{uri}/reschedule"),
            json!({"id_number": CHEN, "slot_id": next["slot_id"]}),
        )
        .await;
    assert_eq!((s, code_of(&same)), (StatusCode::CONFLICT, "same_slot"));

    // Cancel, then cancelling again is refused.
    let (s, c) = h
        .post(&format!("{uri}/cancel"), json!({"id_number": CHEN}))
        .await;
    assert_eq!(
        (s, c["status"].as_str()),
        (StatusCode::OK, Some("cancelled"))
    );
    let (s, again) = h
        .post(&format!("{uri}/cancel"), json!({"id_number": CHEN}))
        .await;
    assert_eq!(
        (s, code_of(&again)),
        (StatusCode::CONFLICT, "booking_not_active")
    );

    // Holds expire: confirming after the TTL answers 410, and the sweeper frees the seat.
    h.app.clock.advance(TimeDelta::minutes(11));
    let (s, late) = h
        .post(
            "/api/v1/bookings",
            json!({"hold_id": hold2["hold_id"], "applicant": applicant(CHEN, "陈晓明"), "answers": {"option": "3m1", "destination": "hk"}}),
        )
        .await;
    assert_eq!((s, code_of(&late)), (StatusCode::GONE, "hold_expired"));
    let r = h.app.sweep().await.unwrap();
    assert_eq!(r.expired_holds, 1);
    let report = h.store.verify_invariants().await.unwrap();
    assert!(report.is_clean(), "{report:?}");

    // Metrics saw it all.
    let admin = h.sign_in_as("admin").await;
    let (s, m) = h
        .call("GET", "/metrics", None, &[("cookie", &admin.cookie)])
        .await;
    assert_eq!(s, StatusCode::OK);
    let m = m.as_str().unwrap();
    assert!(m.contains("wujing_bookings_confirmed_total 1"), "{m}");
    assert!(m.contains("wujing_bookings_cancelled_total 1"));
    assert!(m.contains("route=\"/api/v1/holds\",status=\"201\""));
}
both_dialects!(flow, book_cancel_reschedule);

async fn full_slot_offers_alternatives(store: DynStore) {
    let h = Harness::new(store).await;
    let slot = h.slot("tianhe-zhujiang", "passport_first").await;
    let cap = slot["capacity"].as_u64().unwrap();
    for _ in 0..cap {
        let (s, _) = h
            .post(
                "/api/v1/holds",
                json!({"slot_id": slot["slot_id"], "business": "passport_first"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (s, full) = h
        .call(
            "POST",
            "/api/v1/holds",
            Some(json!({"slot_id": slot["slot_id"], "business": "passport_first"})),
            &[("accept-language", "en-US,en;q=0.9")],
        )
        .await;
    assert_eq!((s, code_of(&full)), (StatusCode::CONFLICT, "slot_full"));
    assert!(full["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("this slot is full"));
    let alt = &full["error"]["details"]["alternatives"];
    let same = alt["same_hall"].as_array().unwrap();
    assert!(!same.is_empty());
    assert!(same
        .iter()
        .all(|a| a["slot"]["hall_id"] == "tianhe-zhujiang"));
    assert_eq!(
        same[0]["slot"]["start"], "09:30",
        "the nearest slot comes first"
    );
    let others = alt["other_halls"].as_array().unwrap();
    assert!(!others.is_empty());
    assert_eq!(
        others[0]["slot"]["hall_id"], "tianhe",
        "same district first"
    );
    assert!(others.iter().all(|a| a["slot"]["start"] == slot["start"]));
    // The slot is no longer listed as available.
    let (_, avail) = h
        .get("/api/v1/availability?business=passport_first&halls=tianhe-zhujiang&from=2026-12-02&to=2026-12-02")
        .await;
    assert_ne!(avail["slots"][0]["slot_id"], slot["slot_id"]);
    // "Full" is now answered from the cache, yet seats freed by expired holds are bookable at
    // once after the sweep, not a cache period later.
    let (s, _) = h
        .post(
            "/api/v1/holds",
            json!({"slot_id": slot["slot_id"], "business": "passport_first"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    h.app.clock.advance(TimeDelta::minutes(11));
    assert_eq!(h.app.sweep().await.unwrap().expired_holds, cap);
    let (s, v) = h
        .post(
            "/api/v1/holds",
            json!({"slot_id": slot["slot_id"], "business": "passport_first"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}
both_dialects!(alternatives, full_slot_offers_alternatives);

/// Seats of day D open two days ahead at 08:00; entries are taken during the 24 h before.
pub(crate) fn lottery_config() -> Config {
    Config {
        horizon_days: 4,
        release: wujing_app::ReleasePolicy {
            days_ahead: 2,
            hour: 8,
            lottery_window_hours: 24,
        },
        ..Config::default()
    }
}

/// Lottery release: entries during the window, a draw at the release, winners only among the
/// entries and each identity at most once, and the order reproducible from the recorded seed.
async fn lottery_release(store: DynStore) {
    let h = Harness::with_config(store, lottery_config()).await;
    // Friday; released Wednesday 2026-12-02 08:00; now is Tuesday 09:00.
    let day = "2026-12-04";
    // Before the release nobody can hold a seat of that day, however fast.
    let (_, listed) = h
        .get(&format!(
            "/api/v1/availability?business=passport_first&halls=huadu&from={day}&to={day}"
        ))
        .await;
    assert_eq!(
        listed["slots"].as_array().unwrap().len(),
        0,
        "unreleased days are not listed"
    );
    let slot = h
        .store
        .slots(&wujing_store::SlotQuery {
            hall_ids: Some(vec!["huadu".into()]),
            from: Some(day.parse().unwrap()),
            to: Some(day.parse().unwrap()),
            pool: Some(wujing_domain::Pool::Online),
            ..Default::default()
        })
        .await
        .unwrap();
    let seats: u32 = slot.iter().map(|s| s.capacity).sum();
    let (s, early) = h
        .post(
            "/api/v1/holds",
            json!({"slot_id": slot[0].id, "business": "passport_first"}),
        )
        .await;
    assert_eq!(
        (s, code_of(&early)),
        (StatusCode::UNPROCESSABLE_ENTITY, "not_yet_released")
    );

    // More entrants than seats, all wanting Huadu; one also tries to enter twice.
    let entrants = seats as usize + 25;
    let mut ids = Vec::new();
    for i in 0..entrants {
        let id = wujing_testkit::identity(5000 + i as u32);
        let (s, e) = h
            .post(
                "/api/v1/lottery/entries",
                json!({"day": day, "business": "passport_first", "halls": ["huadu"],
                       "applicant": {"name": format!("市民{i}"), "id_number": id, "phone": format!("137{i:08}")}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{e}");
        assert_eq!(e["status"], "entered");
        ids.push((e["entry_id"].as_i64().unwrap(), id));
    }
    let (s, again) = h
        .post(
            "/api/v1/lottery/entries",
            json!({"day": day, "business": "passport_first", "halls": ["conghua"],
                   "applicant": {"name": "市民0", "id_number": ids[0].1, "phone": "13700000000"}}),
        )
        .await;
    assert_eq!(
        (s, code_of(&again)),
        (StatusCode::CONFLICT, "already_entered")
    );

    // At the release moment the draw runs (once, however many times it is asked).
    h.app.clock.advance(TimeDelta::hours(23));
    let (s, pending) = h
        .post(
            "/api/v1/holds",
            json!({"slot_id": slot[0].id, "business": "passport_first"}),
        )
        .await;
    assert_eq!(
        (s, code_of(&pending)),
        (StatusCode::UNPROCESSABLE_ENTITY, "lottery_pending")
    );
    let draws = h.app.run_due_draws().await.unwrap();
    assert!(h.app.run_due_draws().await.unwrap().is_empty());
    let draw = draws
        .iter()
        .find(|d| d.day.to_string() == day)
        .expect("day drawn");
    assert_eq!(
        (draw.entries, draw.winners),
        (entrants as u64, u64::from(seats))
    );
    let (s, late) = h
        .post(
            "/api/v1/lottery/entries",
            json!({"day": day, "business": "passport_first", "halls": ["huadu"],
                   "applicant": {"name": "迟到", "id_number": wujing_testkit::identity(9999), "phone": "13700009999"}}),
        )
        .await;
    assert_eq!(
        (s, code_of(&late)),
        (StatusCode::UNPROCESSABLE_ENTITY, "lottery_closed")
    );

    // Winners are exactly entrants, each at most once; losers are offered what is left.
    let mut won = std::collections::BTreeSet::new();
    for (entry_id, id) in &ids {
        let (s, e) = h
            .call(
                "GET",
                &format!("/api/v1/lottery/entries/{entry_id}"),
                None,
                &[("x-id-number", id)],
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        match e["status"].as_str().unwrap() {
            "won" => {
                let code = e["booking_code"].as_str().unwrap();
                let (s, b) = h
                    .call(
                        "GET",
                        &format!("/api/v1/bookings/{code}"),
                        None,
                        &[("x-id-number", id)],
                    )
                    .await;
                assert_eq!(
                    (s, b["hall"]["id"].as_str(), b["date"].as_str()),
                    (StatusCode::OK, Some("huadu"), Some(day))
                );
                won.insert(*entry_id);
            }
            "lost" => assert!(
                !e["alternatives"].as_array().unwrap().is_empty(),
                "losers get alternatives"
            ),
            other => panic!("entry still {other}"),
        }
    }
    assert_eq!(won.len(), seats as usize);
    let report = h.store.verify_invariants().await.unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(
        report.active_bookings,
        u64::from(seats),
        "no booking outside the entries"
    );

    // Reproducible: the published seed and the entries in id order give the same winners.
    let (s, published) = h.get(&format!("/api/v1/lottery/draws/{day}")).await;
    assert_eq!(s, StatusCode::OK);
    let seed: u64 = published["seed"].as_str().unwrap().parse().unwrap();
    let mut entry_ids: Vec<i64> = ids.iter().map(|(e, _)| *e).collect();
    entry_ids.sort();
    let order = wujing_domain::lottery::draw_order(&entry_ids, seed);
    let expected: std::collections::BTreeSet<i64> =
        order.into_iter().take(seats as usize).collect();
    assert_eq!(won, expected);

    // After the draw the rest of the day is open to everyone.
    let (s, v) = h
        .post(
            "/api/v1/holds",
            json!({"slot_id": slot[0].id, "business": "passport_first"}),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "slot_full"),
        "Huadu went to the winners"
    );
    let other = h.slot_on("conghua", day).await;
    let (s, _) = h
        .post(
            "/api/v1/holds",
            json!({"slot_id": other["slot_id"], "business": "passport_first"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
}
both_dialects!(lottery, lottery_release);

/// A drawer that dies after recording its seed: after a while another run finishes the draw
/// with the recorded seed, so the outcome is the one that seed fixes.
async fn lottery_draw_resumes(store: DynStore) {
    let h = Harness::with_config(store, lottery_config()).await;
    let day: chrono::NaiveDate = "2026-12-04".parse().unwrap();
    let seats: u32 = h
        .store
        .slots(&wujing_store::SlotQuery {
            hall_ids: Some(vec!["nansha".into()]),
            from: Some(day),
            to: Some(day),
            pool: Some(wujing_domain::Pool::Online),
            ..Default::default()
        })
        .await
        .unwrap()
        .iter()
        .map(|s| s.capacity)
        .sum();
    let mut ids = Vec::new();
    for i in 0..seats + 10 {
        let (s, e) = h
            .post(
                "/api/v1/lottery/entries",
                json!({"day": day, "business": "passport_first", "halls": ["nansha"],
                       "applicant": {"name": format!("市民{i}"), "id_number": wujing_testkit::identity(7000 + i), "phone": format!("136{i:08}")}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{e}");
        ids.push(e["entry_id"].as_i64().unwrap());
    }
    h.app.clock.advance(TimeDelta::hours(23));
    // The "crashed" drawer: the seed is recorded, nothing is served.
    let started = h
        .store
        .start_draw(day, 4242, h.app.clock.now())
        .await
        .unwrap();
    assert_eq!(started.unwrap().len(), ids.len());
    // Other released days may be drawn now (empty); ours is not taken over yet.
    let early = h.app.run_due_draws().await.unwrap();
    assert!(early.iter().all(|d| d.day != day), "not stale yet");
    h.app.clock.advance(TimeDelta::minutes(6));
    let draws = h.app.run_due_draws().await.unwrap();
    let d = draws.iter().find(|d| d.day == day).expect("resumed");
    assert_eq!((d.seed.as_str(), d.winners), ("4242", u64::from(seats)));
    let mut won = Vec::new();
    for e in h.store.lottery_entries(day).await.unwrap() {
        if e.status == wujing_store::EntryStatus::Won {
            won.push(e.id);
        }
    }
    won.sort();
    // The draw takes the entry ids in ascending order (they are random, not by entry time).
    ids.sort();
    let mut expected: Vec<i64> = wujing_domain::lottery::draw_order(&ids, 4242)
        .into_iter()
        .take(seats as usize)
        .collect();
    expected.sort();
    assert_eq!(won, expected);
    assert!(h.store.verify_invariants().await.unwrap().is_clean());
}
both_dialects!(lottery_resume, lottery_draw_resumes);

/// Scalping signals: one phone and one address behind several identities, holds left to
/// expire, and a cancel→rebook pair, listed masked for the operator token only.
async fn scalping_signals(store: DynStore) {
    let h = Harness::with_options(
        store,
        test_config(),
        wujing_web::WebOptions {
            trust_forwarded_for: true,
            ..Default::default()
        },
    )
    .await;
    let from = |addr: &'static str| [("x-forwarded-for", addr)];
    let slot = h.slot("gz-city", "passport_first").await;
    let hold = |addr: &'static str| {
        let h = &h;
        let slot = slot.clone();
        async move {
            let (s, v) = h
                .call(
                    "POST",
                    "/api/v1/holds",
                    Some(json!({"slot_id": slot["slot_id"], "business": "passport_first"})),
                    &from(addr),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            v["hold_id"].as_str().unwrap().to_string()
        }
    };
    let people = [
        ("郑华", "440112200001010139"),
        ("王强", "43010219881111033X"),
        ("张伟", "653101199001010451"),
    ];
    let mut codes = Vec::new();
    for (name, id) in people {
        let hid = hold("198.51.100.23").await;
        let (s, b) = h
            .call(
                "POST",
                "/api/v1/bookings",
                Some(json!({"hold_id": hid, "applicant": {"name": name, "id_number": id, "phone": "13900001111"}})),
                &from("198.51.100.23"),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        codes.push(b["code"].as_str().unwrap().to_string());
    }
    // Cancel and book again at once: a same-identity pair.
    let (s, _) = h
        .post(
            &format!("/api/v1/bookings/{}/cancel", codes[0]),
            json!({"id_number": people[0].1}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let hid = hold("198.51.100.23").await;
    let (s, _) = h
        .post("/api/v1/bookings", json!({"hold_id": hid, "applicant": {"name": people[0].0, "id_number": people[0].1, "phone": "13900001111"}}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    // Five holds grabbed and left to expire.
    for _ in 0..5 {
        hold("203.0.113.50").await;
    }
    h.app.clock.advance(TimeDelta::minutes(11));
    assert_eq!(h.app.sweep().await.unwrap().expired_holds, 5);

    let (s, v) = h.get("/api/v1/ops/signals").await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNAUTHORIZED, "sign_in_required")
    );
    let officer = h.sign_in_as("officer@gz-city").await;
    let (s, v) = h
        .call("GET", "/api/v1/ops/signals", None, &officer.headers())
        .await;
    assert_eq!((s, code_of(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let leader = h.sign_in_as("leader").await;
    let (s, v) = h
        .call("GET", "/api/v1/ops/signals", None, &leader.headers())
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["shared_phones"][0]["key"], "139****1111");
    assert_eq!(v["shared_phones"][0]["identities"], 3);
    assert_eq!(v["shared_phones"][0]["bookings"], 4);
    assert_eq!(v["shared_addresses"][0]["key"], "198.51.100.*");
    assert_eq!(v["abandoned_holds"][0]["client_addr"], "203.0.113.*");
    assert_eq!(v["abandoned_holds"][0]["holds"], 5);
    assert_eq!(v["cancel_rebook"][0]["kind"], "same_identity");
    assert!(!v.to_string().contains("13900001111"), "phones are masked");

    // The same reading as a page, in words, for the same people only.
    let page = |who: &staff::Session| {
        let req = Request::get("/staff/signals?hours=24")
            .header("cookie", &who.cookie)
            .body(Body::empty())
            .unwrap();
        let h = &h;
        async move {
            let res = h.raw(req).await;
            let status = res.status();
            let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
            (status, String::from_utf8(body).unwrap())
        }
    };
    assert_eq!(page(&officer).await.0, StatusCode::FORBIDDEN);
    let (s, html) = page(&leader).await;
    assert_eq!(s, StatusCode::OK);
    for shown in [
        "139****1111",
        "198.51.100.*",
        "203.0.113.*",
        "同一身份退号后重新预约",
        "北京时间",
    ] {
        assert!(html.contains(shown), "{shown}");
    }
    for hidden in ["13900001111", "same_identity", "UTC"] {
        assert!(!html.contains(hidden), "{hidden}");
    }
    // The leader's home links to the page rather than to the JSON.
    let res = h
        .raw(
            Request::get("/staff")
                .header("cookie", &leader.cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let home =
        String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(home.contains("href=\"/staff/signals\""), "{home}");
}
both_dialects!(signals, scalping_signals);

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let (store, _g) = wujing_testkit::sqlite_store().await;
    let h = Harness::new(store).await;
    let slot = h.slot("yuexiu", "passport_first").await;
    let (_, hold) = h
        .post(
            "/api/v1/holds",
            json!({"slot_id": slot["slot_id"], "business": "passport_first"}),
        )
        .await;
    let confirm = |id: &str| json!({"hold_id": hold["hold_id"], "applicant": {"name": "郑华", "id_number": id, "phone": "13800138000"}});
    let cases: Vec<(&str, Value, StatusCode, &str)> = vec![
        (
            "/api/v1/bookings",
            confirm("440112200001010138"),
            StatusCode::BAD_REQUEST,
            "id_number_checksum",
        ),
        (
            "/api/v1/bookings",
            confirm("44011220000101013"),
            StatusCode::BAD_REQUEST,
            "id_number_length",
        ),
        (
            "/api/v1/bookings",
            confirm("440112200002300139"),
            StatusCode::BAD_REQUEST,
            "id_number_birth_date",
        ),
        (
            "/api/v1/bookings",
            json!({"hold_id": hold["hold_id"], "applicant": {"name": "郑华", "id_number": "440112200001010139", "phone": "12345"}}),
            StatusCode::BAD_REQUEST,
            "phone_invalid",
        ),
        (
            "/api/v1/bookings",
            json!({"hold_id": "h_nope", "applicant": {"name": "郑华", "id_number": "440112200001010139", "phone": "13800138000"}}),
            StatusCode::NOT_FOUND,
            "hold_not_found",
        ),
        (
            "/api/v1/bookings",
            json!({"hold_id": 5}),
            StatusCode::BAD_REQUEST,
            "body_invalid",
        ),
        (
            "/api/v1/bookings",
            json!({"hold_id": "x", "applicant": {}, "surprise": 1}),
            StatusCode::BAD_REQUEST,
            "body_invalid",
        ),
        (
            "/api/v1/holds",
            json!({"slot_id": 99999999, "business": "passport_first"}),
            StatusCode::NOT_FOUND,
            "slot_not_found",
        ),
        (
            "/api/v1/holds",
            json!({"slot_id": slot["slot_id"], "business": "spaceship"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_business",
        ),
        (
            "/api/v1/holds",
            json!({"slot_id": slot["slot_id"], "business": "foreign_visa_extension"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "business_not_offered",
        ),
    ];
    for (uri, body, status, code) in cases {
        let (s, v) = h.post(uri, body.clone()).await;
        assert_eq!((s, code_of(&v)), (status, code), "{uri} {body}: {v}");
        assert!(v["error"]["request_id"]
            .as_str()
            .is_some_and(|r| !r.is_empty()));
        assert!(!v["error"]["message"].as_str().unwrap().is_empty());
    }
    let gets = [
        (
            "/api/v1/halls/atlantis",
            StatusCode::NOT_FOUND,
            "hall_not_found",
        ),
        (
            "/api/v1/availability?business=passport_first&from=2026-11-01",
            StatusCode::BAD_REQUEST,
            "date_in_past",
        ),
        (
            "/api/v1/availability?business=passport_first&from=2026-12-05&to=2026-12-02",
            StatusCode::BAD_REQUEST,
            "date_range_invalid",
        ),
        (
            "/api/v1/availability?business=passport_first&halls=atlantis",
            StatusCode::NOT_FOUND,
            "hall_not_found",
        ),
        (
            "/api/v1/availability?business=passport_first&from=yesterday",
            StatusCode::BAD_REQUEST,
            "query_invalid",
        ),
        (
            "/api/v1/availability",
            StatusCode::BAD_REQUEST,
            "query_invalid",
        ),
        (
            "/api/v1/nothing-here",
            StatusCode::NOT_FOUND,
            "route_not_found",
        ),
    ];
    for (uri, status, code) in gets {
        let (s, v) = h.get(uri).await;
        assert_eq!((s, code_of(&v)), (status, code), "{uri}: {v}");
    }
    // Not JSON at all.
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/holds")
        .header("content-type", "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    let res = h.router.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/holds")
        .body(Body::from("x"))
        .unwrap();
    let res = h.router.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let (s, v) = h.call("DELETE", "/api/v1/halls", None, &[]).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::BAD_REQUEST, "method_not_allowed")
    );
    // The default language is Chinese; the request id is echoed when sane.
    let (_, v) = h
        .call(
            "GET",
            "/api/v1/halls/atlantis",
            None,
            &[("x-request-id", "trace-12345678")],
        )
        .await;
    assert_eq!(v["error"]["request_id"], "trace-12345678");
    assert!(v["error"]["message"].as_str().unwrap().contains("大厅"));
    // Only the one successful hold changed anything.
    let (_, avail) = h
        .get("/api/v1/availability?business=passport_first&halls=yuexiu&from=2026-12-02&to=2026-12-02")
        .await;
    assert_eq!(
        avail["slots"][0]["free"].as_u64().unwrap() + 1,
        avail["slots"][0]["capacity"].as_u64().unwrap()
    );
    let report = h.store.verify_invariants().await.unwrap();
    assert!(report.is_clean());
}

/// Two app servers share one PostgreSQL: the per-phone and per-address limits hold across
/// both, and the refusal says when to come back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rate_limits_hold_across_two_instances_on_postgres() {
    let Some(url) = wujing_testkit::fresh_pg_database().await else {
        return;
    };
    let config = Config {
        horizon_days: 4,
        limits: wujing_app::RateLimits {
            holds_per_address: 6,
            confirms_per_identity: 5,
            confirms_per_phone: 2,
            confirms_per_address: 100,
            ..Default::default()
        },
        ..Config::default()
    };
    let first = wujing_testkit::open(&url).await.unwrap();
    first.migrate().await.unwrap();
    let a = App::new(first.clone(), config.clone(), Clock::manual(start()));
    a.load_demo().await.unwrap();
    let b = App::new(
        wujing_testkit::open(&url).await.unwrap(),
        config,
        Clock::manual(start()),
    );
    let opts = wujing_web::WebOptions {
        trust_forwarded_for: true,
        ..Default::default()
    };
    let servers = [
        wujing_web::router_with(a.clone(), opts.clone()),
        wujing_web::router_with(b.clone(), opts),
    ];
    let send = |n: usize, uri: &str, body: Value, addr: &str| {
        let req = Request::builder()
            .method("POST")
            .uri(uri)
            .header("content-type", "application/json")
            .header("x-forwarded-for", addr)
            .body(Body::from(body.to_string()))
            .unwrap();
        servers[n % 2].clone().oneshot(req)
    };
    let h = Harness {
        router: servers[0].clone(),
        app: a.clone(),
        store: first,
    };
    let slot = h.slot("tianhe", "passport_first").await;
    // Six holds from one address, alternating between the instances, then a refusal.
    let mut holds = Vec::new();
    for n in 0..6 {
        let res = send(
            n,
            "/api/v1/holds",
            json!({"slot_id": slot["slot_id"], "business": "passport_first"}),
            "203.0.113.7",
        )
        .await
        .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let v: Value =
            serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
        holds.push(v["hold_id"].as_str().unwrap().to_string());
    }
    let res = send(
        6,
        "/api/v1/holds",
        json!({"slot_id": slot["slot_id"], "business": "passport_first"}),
        "203.0.113.7",
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    let v: Value =
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(code_of(&v), "rate_limited");
    // Another address is not affected.
    let res = send(
        1,
        "/api/v1/holds",
        json!({"slot_id": slot["slot_id"], "business": "passport_first"}),
        "198.51.100.9",
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    // One phone confirms for two family members through different instances; the third
    // confirmation with that phone is refused whichever instance takes it.
    // Demo persons without a passport, so eligible for a first one.
    let family = [
        "440112200001010139",
        "43010219881111033X",
        "653101199001010451",
    ];
    let names = ["郑华", "王强", "张伟"];
    for n in 0..3 {
        let res = send(
            n,
            "/api/v1/bookings",
            json!({"hold_id": holds[n], "applicant": {"name": names[n], "id_number": family[n], "phone": "13900001111"}}),
            "203.0.113.7",
        )
        .await
        .unwrap();
        let expected = if n < 2 {
            StatusCode::CREATED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(res.status(), expected, "confirmation {n}");
    }
    // The window passes (one minute later on both clocks): the phone may confirm again.
    a.clock.advance(TimeDelta::seconds(61));
    b.clock.advance(TimeDelta::seconds(61));
    let res = send(
        1,
        "/api/v1/bookings",
        json!({"hold_id": holds[2], "applicant": {"name": names[2], "id_number": family[2], "phone": "13900001111"}}),
        "203.0.113.7",
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn operations_endpoints() {
    let (store, _g) = wujing_testkit::sqlite_store().await;
    let h = Harness::new(store).await;
    let (s, v) = h.get("/healthz").await;
    assert_eq!((s, v.as_str()), (StatusCode::OK, Some("ok")));
    let (s, v) = h.get("/readyz").await;
    assert_eq!(
        (s, v["status"].as_str(), v["database"].as_str()),
        (StatusCode::OK, Some("ready"), Some("sqlite"))
    );
}

#[tokio::test]
async fn readyz_reports_an_unmigrated_database() {
    let t = wujing_testkit::TempSqlite::new();
    let store = wujing_testkit::open(&t.url()).await.unwrap();
    let app = App::new(store, Config::default(), Clock::manual(start()));
    let router = wujing_web::router(app);
    let res = router
        .oneshot(
            Request::builder()
                .uri("/readyz")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let v: Value =
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(v["error"]["code"], "not_ready");
}

/// The OpenAPI document is part of the contract: any change shows up in review as a change to
/// the committed snapshot. Refresh with `UPDATE_SNAPSHOTS=1`.
#[tokio::test]
async fn openapi_snapshot() {
    let (store, _g) = wujing_testkit::sqlite_store().await;
    let app = App::new(store, Config::default(), Clock::manual(start()));
    let res = wujing_web::router(app)
        .oneshot(
            Request::builder()
                .uri("/api/openapi.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let v: Value =
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert!(v["openapi"].as_str().unwrap().starts_with("3.1"));
    let text = serde_json::to_string_pretty(&v).unwrap() + "\n";
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/openapi.json");
    if std::env::var("UPDATE_SNAPSHOTS").is_ok() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
    }
    let committed =
        std::fs::read_to_string(&path).expect("snapshot exists (UPDATE_SNAPSHOTS=1 writes it)");
    assert!(
        committed == text,
        "the OpenAPI document changed; review it and refresh with UPDATE_SNAPSHOTS=1"
    );
}

/// Every `/api` route of the route table is in the OpenAPI document, with its method; and the
/// document has nothing that is not a route.
#[test]
fn openapi_covers_every_api_route() {
    use utoipa::OpenApi;
    let doc = serde_json::to_value(wujing_web::ApiDoc::openapi()).unwrap();
    let documented: std::collections::BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|k| ["get", "put", "post", "delete", "patch"].contains(&k.as_str()))
                .map(move |m| (m.to_ascii_uppercase(), path.clone()))
        })
        .collect();
    let routes: std::collections::BTreeSet<(String, String)> = wujing_web::route_table()
        .into_iter()
        .filter(|(_, path, _)| path.starts_with("/api/"))
        .map(|(m, path, _)| (m.to_string(), path.to_string()))
        .collect();
    let missing: Vec<String> = routes
        .difference(&documented)
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    assert!(
        missing.is_empty(),
        "/api routes missing from ApiDoc (annotate the handler with #[utoipa::path] and list it \
         in ApiDoc's paths): {missing:#?}"
    );
    let stale: Vec<String> = documented
        .difference(&routes)
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    assert!(
        stale.is_empty(),
        "ApiDoc documents operations the route table does not have: {stale:#?}"
    );
    // Every operation says who may call it: staff or device routes name their security.
    for (method, path, action) in wujing_web::route_table() {
        if !path.starts_with("/api/") {
            continue;
        }
        let op = &doc["paths"][path][method.as_str().to_ascii_lowercase()];
        let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
        assert_eq!(
            secured,
            action != wujing_app::Action::Public,
            "{method} {path}: the document's security does not match the route's action {action:?}"
        );
    }
}

/// Answers built by hand in a handler (not serialised from the documented type) have the
/// properties their schema in the document says.
#[tokio::test]
async fn hand_built_answers_match_their_schemas() {
    use utoipa::OpenApi;
    let doc = serde_json::to_value(wujing_web::ApiDoc::openapi()).unwrap();
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let (store, _g) = wujing_testkit::sqlite_store().await;
    let h = Harness::new(store).await;
    let admin = h.sign_in_as("admin").await;
    for (uri, schema) in [
        ("/api/v1/staff/me", "StaffMe"),
        ("/api/v1/admin/halls/tianhe/calendar", "HallCalendar"),
    ] {
        let (s, v) = h.call("GET", uri, None, &admin.headers()).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(
            keys(&v),
            keys(&doc["components"]["schemas"][schema]["properties"]),
            "{uri} against {schema}"
        );
    }
}

/// Every error code the OpenAPI document names in a response is a registered code: the
/// document cannot promise a code that no call site can answer with.
#[test]
fn openapi_names_only_registered_error_codes() {
    fn walk(v: &Value, in_responses: bool, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    if in_responses && k.starts_with('2') {
                        continue; // success answers name fields, not codes
                    }
                    let inside = in_responses || k == "responses";
                    if inside && k == "description" {
                        if let Value::String(s) = x {
                            out.extend(s.split('`').skip(1).step_by(2).map(String::from));
                        }
                    }
                    walk(x, inside, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, in_responses, out)),
            _ => {}
        }
    }
    let doc = serde_json::to_value(<wujing_web::ApiDoc as utoipa::OpenApi>::openapi()).unwrap();
    let mut named = Vec::new();
    walk(&doc, false, &mut named);
    let snake = |s: &str| {
        s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    let named: Vec<_> = named.into_iter().filter(|s| snake(s)).collect();
    assert!(
        named.len() > 100,
        "the document names the codes of its routes"
    );
    let unknown: Vec<_> = named
        .iter()
        .filter(|c| wujing_app::Code::parse(c).is_none())
        .collect();
    assert!(
        unknown.is_empty(),
        "unregistered codes in OpenAPI: {unknown:?}"
    );
}
