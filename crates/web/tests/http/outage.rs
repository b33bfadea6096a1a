//! A lost database: PostgreSQL stops under a serving app, the booking request answers `503
//! unavailable` with `Retry-After`, the server stays up, and once PostgreSQL is back the next
//! requests succeed by themselves. The test starts a PostgreSQL of its own (the shared test
//! cluster must not stop), so it runs where the other PostgreSQL tests run.

use super::{applicant, code_of, Harness, CHEN};
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;
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

    fn start() -> (Self, String) {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let n = nanos ^ std::process::id();
        let port = 41000 + (n % 9000) as u16;
        let dir = std::env::temp_dir().join(format!("wujing-outage-{n:08x}"));
        let out = Command::new(Self::repo().join("scripts/pg-throwaway"))
            .arg(&dir)
            .arg(port.to_string())
            .output()
            .expect("run scripts/pg-throwaway");
        assert!(
            out.status.success(),
            "pg-throwaway failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let admin = String::from_utf8(out.stdout).unwrap().trim().to_string();
        (Self { dir, port }, admin)
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
