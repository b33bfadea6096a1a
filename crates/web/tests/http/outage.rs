//! A lost database: PostgreSQL stops under a serving app in the middle of a booking storm,
//! the requests answer `503 unavailable` with `Retry-After` (never 500), the server stays up,
//! once PostgreSQL is back the next requests succeed by themselves, and every booking the
//! clients were answered 201 for is there. The test starts a PostgreSQL of its own (the shared
//! test cluster must not stop), so it runs where the other PostgreSQL tests run.
//!
//! SQLite: a database file that cannot be written (read-only) answers `503 unavailable`, the
//! server stays up, and the file is whole afterwards (integrity check, counters recounted).

use super::{applicant, code_of, Harness, CHEN};
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tower::ServiceExt;

/// A throwaway cluster started with `scripts/pg-throwaway` on a port of its own; stopped and
/// removed on drop.
struct OwnPostgres {
    dir: PathBuf,
    port: u16,
}

impl OwnPostgres {
    fn repo() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    /// `pg_ctl` as the cluster's owner (`postgres` when running as root, as the script does).
    fn pg_ctl(&self, args: &[&str]) -> std::process::Output {
        let script = r#"for d in /usr/lib/postgresql/*/bin; do [ -d "$d" ] && PATH="$d:$PATH"; done
               if [ "$(id -u)" = 0 ]; then exec runuser -u postgres -- pg_ctl "$@"; else exec pg_ctl "$@"; fi"#;
        Command::new("bash")
            .arg("-c")
            .arg(script)
            .arg("pg_ctl")
            .args(args)
            .output()
            .expect("run pg_ctl")
    }

    /// Starts on a port the kernel just handed out (so no other socket holds it) and tries
    /// again on a fresh one if the start fails anyway: another process may take the port
    /// between our look and PostgreSQL's bind. A final failure carries the server's log.
    fn start() -> (Self, String) {
        let mut failures = Vec::new();
        for attempt in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free loopback port")
                .port();
            let dir = std::env::temp_dir().join(format!(
                "wujing-outage-{}-{port}-{attempt}",
                std::process::id()
            ));
            let out = Command::new(Self::repo().join("scripts/pg-throwaway"))
                .arg(&dir)
                .arg(port.to_string())
                .output()
                .expect("run scripts/pg-throwaway");
            let own = Self { dir, port };
            if out.status.success() {
                let admin = String::from_utf8(out.stdout).unwrap().trim().to_string();
                return (own, admin);
            }
            let log = std::fs::read_to_string(own.dir.join("server.log")).unwrap_or_default();
            failures.push(format!(
                "port {port}: {}\n{log}",
                String::from_utf8_lossy(&out.stderr)
            ));
            // `own` drops here: whatever half-started is stopped and removed.
        }
        panic!("pg-throwaway failed three times:\n{}", failures.join("\n"));
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn stop(&self) {
        let out = self.pg_ctl(&["-D", &self.data(), "-m", "fast", "-w", "stop"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn restart(&self) {
        let opts = format!(
            "-h 127.0.0.1 -p {} -k {} -c fsync=on -c max_connections=300",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log").display().to_string();
        let out = self.pg_ctl(&["-D", &self.data(), "-l", &log, "-w", "-o", &opts, "start"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["-D", &self.data(), "-m", "immediate", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn call(h: &Harness, uri: &str, body: Value) -> (StatusCode, HeaderMap, Value) {
    let req = Request::builder()
        .method("POST")
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let res = h.router.clone().oneshot(req).await.unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lost_postgres_answers_503_and_recovers_by_itself() {
    // Only where the PostgreSQL tests run at all (scripts/test sets the variable).
    if wujing_testkit::pg_admin_url().is_none() {
        return;
    }
    let (pg, admin) = OwnPostgres::start();
    let store = wujing_testkit::open(&admin).await.expect("open postgres");
    store.migrate().await.expect("migrate");
    let h = Harness::new(store).await;

    // Serving: a hold and its booking.
    let slot = h.slot("tianhe", "hkm_endorsement_g").await;
    let hold = json!({"slot_id": slot["slot_id"], "business": "hkm_endorsement_g"});
    let (s, _, v) = call(&h, "/api/v1/holds", hold.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, _, v) = call(
        &h,
        "/api/v1/bookings",
        json!({"hold_id": v["hold_id"], "applicant": applicant(CHEN, "陈晓明"), "answers": {"option": "1y2", "destination": "hk"}}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // The database goes away: 503 `unavailable` with Retry-After, and the server keeps
    // answering (twice, and its health check).
    pg.stop();
    for _ in 0..2 {
        let (s, headers, v) = call(&h, "/api/v1/holds", hold.clone()).await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
        assert_eq!(code_of(&v), "unavailable");
        assert_eq!(
            headers.get("retry-after").and_then(|v| v.to_str().ok()),
            Some("5")
        );
    }
    let (s, _) = h.get("/healthz").await;
    assert_eq!(s, StatusCode::OK);

    // It comes back: the next requests succeed without anyone restarting the server.
    pg.restart();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (s, _, v) = call(&h, "/api/v1/holds", hold.clone()).await;
        if s == StatusCode::CREATED {
            break;
        }
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
        assert!(
            Instant::now() < deadline,
            "still unavailable after 30 s: {v}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (s, _, v) = call(&h, "/api/v1/holds", hold).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}

/// What the storm's clients saw.
#[derive(Default)]
struct Seen {
    /// Booking codes answered 201.
    booked: Mutex<Vec<String>>,
    /// Answers `503 unavailable` (with Retry-After).
    unavailable: AtomicUsize,
    /// Anything else but 201, 409 (the slot filled meanwhile) and 503 `unavailable`.
    unexpected: Mutex<Vec<String>>,
}

impl Seen {
    fn judge(&self, s: StatusCode, headers: &HeaderMap, v: &Value) -> bool {
        match s {
            StatusCode::CREATED => true,
            StatusCode::CONFLICT => false,
            StatusCode::SERVICE_UNAVAILABLE
                if v["error"]["code"] == "unavailable" && headers.contains_key("retry-after") =>
            {
                self.unavailable.fetch_add(1, Ordering::Relaxed);
                false
            }
            _ => {
                self.unexpected.lock().unwrap().push(format!("{s} {v}"));
                false
            }
        }
    }
}

/// Booking clients: each takes the next identity, holds a seat of `slots` and confirms it,
/// until `stop`.
fn storm(
    h: &Arc<Harness>,
    slots: &Arc<Vec<i64>>,
    seen: &Arc<Seen>,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let next = Arc::new(AtomicUsize::new(0));
    (0..6)
        .map(|_| {
            let (h, slots, seen, stop, next) =
                (h.clone(), slots.clone(), seen.clone(), stop.clone(), next.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let slot = slots[i % slots.len()];
                    let (s, hd, v) = call(&h, "/api/v1/holds", json!({"slot_id": slot, "business": "passport_first"})).await;
                    if !seen.judge(s, &hd, &v) {
                        if s == StatusCode::SERVICE_UNAVAILABLE {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        continue;
                    }
                    let who = json!({"name": format!("市民{i}"), "id_number": wujing_testkit::identity(i as u32), "phone": format!("139{i:08}")});
                    let (s, hd, v) = call(&h, "/api/v1/bookings", json!({"hold_id": v["hold_id"], "applicant": who})).await;
                    if seen.judge(s, &hd, &v) {
                        seen.booked.lock().unwrap().push(v["code"].as_str().unwrap().to_string());
                    }
                }
            })
        })
        .collect()
}

/// Waits (at most 30 s) until the storm has `n` more bookings than `from`.
async fn until_booked(seen: &Seen, from: usize, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.booked.lock().unwrap().len() < from + n {
        assert!(Instant::now() < deadline, "the storm booked too little");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_lost_mid_storm_answers_503_and_loses_nothing_acknowledged() {
    if wujing_testkit::pg_admin_url().is_none() {
        return;
    }
    let (pg, admin) = OwnPostgres::start();
    let store = wujing_testkit::open(&admin).await.expect("open postgres");
    store.migrate().await.expect("migrate");
    let h = Arc::new(Harness::new(store).await);
    let (s, v) = h
        .get("/api/v1/availability?business=passport_first&halls=tianhe,baiyun&from=2026-12-02&to=2026-12-03")
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let slots: Arc<Vec<i64>> = Arc::new(
        v["slots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["slot_id"].as_i64().unwrap())
            .collect(),
    );
    assert!(slots.len() > 10);
    let (seen, stop) = (Arc::new(Seen::default()), Arc::new(AtomicBool::new(false)));
    let clients = storm(&h, &slots, &seen, &stop);

    // Mid-storm, the database goes away for a while; the storm goes on.
    until_booked(&seen, 0, 30).await;
    pg.stop();
    let before = seen.unavailable.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        seen.unavailable.load(Ordering::Relaxed) > before,
        "no 503 while the database was away"
    );
    let (s, _) = h.get("/healthz").await;
    assert_eq!(s, StatusCode::OK, "the server stays up");

    // It comes back and the storm books again, without anyone restarting the server.
    pg.restart();
    let after = seen.booked.lock().unwrap().len();
    until_booked(&seen, after, 30).await;
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }

    let unexpected = seen.unexpected.lock().unwrap().clone();
    assert!(
        unexpected.is_empty(),
        "answers other than 201, 409 and 503 unavailable: {unexpected:?}"
    );
    // Every acknowledged booking is there and active; the counters add up.
    let booked = seen.booked.lock().unwrap().clone();
    for code in &booked {
        let b = h.store.booking_by_code(code).await.unwrap();
        let b = b.unwrap_or_else(|| panic!("acknowledged booking {code} lost"));
        assert_eq!(b.status, wujing_store::BookingStatus::Active, "{code}");
    }
    let report = h.store.verify_invariants().await.unwrap();
    assert!(report.is_clean(), "{report:?}");
    // A confirmation cut off by the outage may have committed unanswered, never the reverse.
    assert!(report.active_bookings >= booked.len() as u64, "{report:?}");
}

/// The file cannot be written: a read-only file (`chmod a-w`; as root, who writes through file
/// permissions, SQLite's own read-only open, which is what it falls back to for such a file).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_read_only_sqlite_file_answers_503_and_stays_whole() {
    let t = wujing_testkit::TempSqlite::new();
    let code = {
        let store = wujing_testkit::open(&t.url()).await.unwrap();
        store.migrate().await.unwrap();
        let h = Harness::new(store).await;
        let slot = h.slot("tianhe", "passport_first").await;
        let (s, _, hold) = call(
            &h,
            "/api/v1/holds",
            json!({"slot_id": slot["slot_id"], "business": "passport_first"}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{hold}");
        let (s, _, b) = call(
            &h,
            "/api/v1/bookings",
            json!({"hold_id": hold["hold_id"], "applicant": {"name": "市民", "id_number": wujing_testkit::identity(1), "phone": "13900000001"}}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        b["code"].as_str().unwrap().to_string()
    };
    // The store is closed (its last connection checkpointed the WAL); now make it read-only.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let root = uid_is_root();
    let url = if root {
        format!("sqlite:file:{}?mode=ro", t.path.display())
    } else {
        let mut p = std::fs::metadata(&t.path).unwrap().permissions();
        p.set_readonly(true);
        std::fs::set_permissions(&t.path, p).unwrap();
        t.url()
    };
    {
        let store = wujing_testkit::open(&url)
            .await
            .expect("a read-only file opens for reading");
        let app = wujing_app::App::new(
            store.clone(),
            super::test_config(),
            wujing_app::Clock::manual(super::start()),
        );
        let router = wujing_web::router_with(app.clone(), wujing_web::WebOptions::default());
        let h = Harness { router, app, store };
        // Reads still work; every write answers 503 `unavailable` with Retry-After.
        let (s, _) = h.get("/api/v1/halls").await;
        assert_eq!(s, StatusCode::OK);
        let slot = h.slot("tianhe", "passport_first").await;
        for _ in 0..2 {
            let (s, headers, v) = call(
                &h,
                "/api/v1/holds",
                json!({"slot_id": slot["slot_id"], "business": "passport_first"}),
            )
            .await;
            assert_eq!(
                (s, code_of(&v)),
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
                "{v}"
            );
            assert!(headers.contains_key("retry-after"));
        }
        let (s, _) = h.get("/healthz").await;
        assert_eq!(s, StatusCode::OK);
    }
    if !root {
        let mut p = std::fs::metadata(&t.path).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        p.set_readonly(false);
        std::fs::set_permissions(&t.path, p).unwrap();
    }
    // Writable again: the file is whole, the booking is there, the counters add up.
    let store = wujing_testkit::open(&t.url()).await.unwrap();
    assert_eq!(wujing_testkit::sqlite_integrity(&t.url()), "ok");
    let b = store
        .booking_by_code(&code)
        .await
        .unwrap()
        .expect("booking kept");
    assert_eq!(b.status, wujing_store::BookingStatus::Active);
    let report = store.verify_invariants().await.unwrap();
    assert!(
        report.is_clean() && report.active_bookings == 1,
        "{report:?}"
    );
}

/// Whether this process runs as root (file permissions do not stop root's writes).
fn uid_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}
