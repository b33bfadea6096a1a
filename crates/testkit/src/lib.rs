//! Test helpers shared by the crates' integration tests: throwaway databases of both dialects,
//! valid identities, and for the outbound adapters self-signed certificates ([`tls`]) and a
//! fake SMTP relay ([`smtp`]).
//!
//! PostgreSQL tests read `WUJING_TEST_DATABASE_URL` (an administrator URL of a throwaway
//! cluster, started by `scripts/test`) and create a fresh database per test, so tests run in
//! parallel without seeing each other.
//!
//! A test that cannot run (no PostgreSQL, no CJK font, no `pdftotext`) **fails** with what is
//! missing ([`missing`]): returning early would report it as passed. Such tests carry their
//! need in their name (`postgres`; `needs_pdf_tools`), so that a machine without the tool
//! selects them out and the runner reports them as skipped: `cargo nextest run --profile
//! no-pg`, `--profile no-pdf` or `--profile bare` (`.config/nextest.toml`; `scripts/test` chooses the profile from
//! what is installed, and under `CI=true` always runs everything). docs/RELIABILITY.md,
//! "Honest test reports".

use chrono::NaiveDate;
use rand::Rng;
use std::path::PathBuf;
use wujing_domain::idnum::compose;
use wujing_store::DynStore;

pub mod smtp;
pub mod tls;

pub const PG_ENV: &str = "WUJING_TEST_DATABASE_URL";

/// A SQLite database file in the temp directory, removed (with its WAL files) on drop.
pub struct TempSqlite {
    pub path: PathBuf,
}

impl TempSqlite {
    pub fn new() -> Self {
        let n: u64 = rand::thread_rng().gen();
        let path = std::env::temp_dir().join(format!("wujing-test-{n:016x}.db"));
        Self { path }
    }

    pub fn url(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }
}

impl Default for TempSqlite {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempSqlite {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Fails the test for want of `what`: a test that cannot run must not pass. Says how to
/// install it, and how to have such tests reported as skipped instead.
pub fn missing(what: &str, install: &str) -> ! {
    panic!(
        "this test needs {what} ({install}). To run without it, select such tests out so that \
         they are reported as skipped: cargo nextest run --profile no-pg (no PostgreSQL) or \
         --profile no-pdf (no CJK font or pdftotext) or --profile bare (neither); scripts/test picks the profile"
    )
}

/// The administrator URL of the test cluster. A test that calls it needs PostgreSQL, and its
/// name says so (`postgres`): without `WUJING_TEST_DATABASE_URL` it fails ([`missing`]).
/// Always `Some`; the `Option` lets callers write `let Some(url) = … else { return }`.
pub fn pg_admin_url() -> Option<String> {
    match std::env::var(PG_ENV) {
        Ok(u) if !u.is_empty() => Some(u),
        _ => missing(
            &format!("PostgreSQL ({PG_ENV}, an administrator URL)"),
            "scripts/test starts a throwaway cluster; Debian: apt-get install postgresql",
        ),
    }
}

/// Creates an empty database on the test cluster and returns its URL.
pub async fn fresh_pg_database() -> Option<String> {
    let admin = pg_admin_url()?;
    let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL at {admin}: {e}"));
    tokio::spawn(conn);
    let n: u64 = rand::thread_rng().gen();
    let name = format!("wujing_test_{n:016x}");
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    let base = admin
        .rsplit_once('/')
        .map(|(b, _)| b.to_string())
        .expect("URL has a database part");
    Some(format!("{base}/{name}"))
}

/// The keys every test store is opened with: fixed, so that a test may open one database
/// twice (two app servers) and read what the other sealed.
pub fn test_keys() -> std::sync::Arc<wujing_store::keys::Keys> {
    std::sync::Arc::new(wujing_store::keys::Keys::for_tests(7))
}

/// Opens the store at `url` with [`test_keys`].
pub async fn open(url: &str) -> wujing_store::Result<DynStore> {
    wujing_store::open(url, test_keys()).await
}

/// A migrated SQLite store (with its file guard).
pub async fn sqlite_store() -> (DynStore, TempSqlite) {
    let t = TempSqlite::new();
    let s = open(&t.url()).await.expect("open sqlite");
    s.migrate().await.expect("migrate sqlite");
    (s, t)
}

/// A migrated PostgreSQL store on a fresh database, or `None` when there is no test cluster.
pub async fn pg_store() -> Option<DynStore> {
    let url = fresh_pg_database().await?;
    let s = open(&url).await.expect("open postgres");
    s.migrate().await.expect("migrate postgres");
    Some(s)
}

/// The `n`-th of a family of distinct valid adult resident ID numbers (Guangzhou Tianhe).
pub fn identity(n: u32) -> String {
    let birth =
        NaiveDate::from_ymd_opt(1960, 1, 1).unwrap() + chrono::TimeDelta::days(i64::from(n / 1000));
    compose("440106", birth, (n % 1000) as u16)
}

/// Runs a test body on SQLite and then on PostgreSQL (when available), naming the dialect.
#[macro_export]
macro_rules! both_dialects {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let (store, _guard) = $crate::sqlite_store().await;
                super::$body(store).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(store) = $crate::pg_store().await {
                    super::$body(store).await;
                }
            }
        }
    };
}

/// A connection to the PostgreSQL database at `url`, for SQL behind the store's back.
async fn pg_client(url: &str) -> tokio_postgres::Client {
    let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to the test PostgreSQL");
    tokio::spawn(conn);
    c
}

/// The file of a `sqlite:` URL.
fn sqlite_path(url: &str) -> String {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
        .to_string()
}

/// Every value of every table of the database at `url`, as text, one row per line: what a
/// copy of the database (a backup, a stolen disk) shows to whoever has it without the keys.
pub async fn raw_dump(url: &str) -> String {
    if url.starts_with("postgres") {
        let c = pg_client(url).await;
        let tables: Vec<String> = c
            .query(
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
                &[],
            )
            .await
            .expect("list tables")
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut out = String::new();
        for t in tables {
            for r in c
                .query(&format!("SELECT t::text FROM \"{t}\" t"), &[])
                .await
                .expect("read table")
            {
                out.push_str(&t);
                out.push(' ');
                out.push_str(r.get::<_, &str>(0));
                out.push('\n');
            }
        }
        out
    } else {
        let path = sqlite_path(url);
        tokio::task::spawn_blocking(move || {
            let c = rusqlite::Connection::open(path).expect("open for the dump");
            let tables: Vec<String> = c
                .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")
                .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
                .expect("list tables");
            let mut out = String::new();
            for t in tables {
                let mut st = c.prepare(&format!("SELECT * FROM \"{t}\"")).expect("read");
                let n = st.column_count();
                let mut rows = st.query([]).expect("rows");
                while let Some(r) = rows.next().expect("row") {
                    out.push_str(&t);
                    for i in 0..n {
                        let v: rusqlite::types::Value = r.get(i).expect("value");
                        out.push(' ');
                        out.push_str(&match v {
                            rusqlite::types::Value::Text(s) => s,
                            rusqlite::types::Value::Integer(i) => i.to_string(),
                            rusqlite::types::Value::Real(f) => f.to_string(),
                            rusqlite::types::Value::Blob(b) => String::from_utf8_lossy(&b).into(),
                            rusqlite::types::Value::Null => "NULL".into(),
                        });
                    }
                    out.push('\n');
                }
            }
            out
        })
        .await
        .expect("dump task")
    }
}

/// SQLite's own check of the file at a `sqlite:` URL (`PRAGMA integrity_check`): `ok` when
/// the file is whole, else the problems it found.
pub fn sqlite_integrity(url: &str) -> String {
    let c = rusqlite::Connection::open(sqlite_path(url)).expect("open for the integrity check");
    let lines: Vec<String> = c
        .prepare("PRAGMA integrity_check")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("integrity check");
    lines.join("\n")
}

/// Runs SQL on the database at `url` behind the store's back (a database owner's edit, or a
/// database written by an older version).
pub async fn raw_exec(url: &str, sql: &str) {
    if url.starts_with("postgres") {
        pg_client(url)
            .await
            .batch_execute(sql)
            .await
            .expect("raw SQL");
    } else {
        let path = sqlite_path(url);
        let sql = sql.to_string();
        tokio::task::spawn_blocking(move || {
            rusqlite::Connection::open(path)
                .expect("open")
                .execute_batch(&sql)
                .expect("raw SQL")
        })
        .await
        .expect("raw task");
    }
}

/// A JPEG "passport photo" made deterministically for the photo checks' tests: a plain
/// `background`, and a noisy "head and shoulders" block in the middle (x 25–75 %, y 20–100 %)
/// whose pseudo-random texture (a fixed LCG) gives the file its size; `quality` (1–100) moves
/// the size. No file, no network: the same arguments make the same bytes.
pub fn photo_jpeg(width: u16, height: u16, background: [u8; 3], quality: u8) -> Vec<u8> {
    let (w, h) = (usize::from(width), usize::from(height));
    let mut rgb = Vec::with_capacity(w * h * 3);
    let mut state: u32 = 0x2545_F491;
    for y in 0..h {
        for x in 0..w {
            let head = x * 4 >= w && x * 4 < w * 3 && y * 5 >= h;
            if head {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let n = (state >> 24) as u8;
                rgb.extend_from_slice(&[n / 2 + 60, n / 3 + 40, n / 4 + 30]);
            } else {
                rgb.extend_from_slice(&background);
            }
        }
    }
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, quality)
        .encode(&rgb, width, height, jpeg_encoder::ColorType::Rgb)
        .expect("encode a JPEG in memory");
    out
}

#[cfg(test)]
mod photo_fixtures {
    /// The browser journey's photos (tests/browser/fixtures) are this function's output: a
    /// change of the encoder or of the function shows here. `WRITE_FIXTURES=1` rewrites them.
    #[test]
    fn the_browser_fixtures_are_made_by_photo_jpeg() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser/fixtures");
        for (file, quality) in [("photo-good.jpg", 75), ("photo-too-small.jpg", 20)] {
            let made = super::photo_jpeg(354, 472, [250, 250, 250], quality);
            let path = dir.join(file);
            if std::env::var_os("WRITE_FIXTURES").is_some() {
                std::fs::write(&path, &made).unwrap();
            }
            assert_eq!(std::fs::read(&path).unwrap(), made, "{file}");
        }
    }
}
