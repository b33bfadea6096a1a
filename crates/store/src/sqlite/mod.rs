//! The SQLite adapter: one writer thread with group commit, and a few reader connections.
//!
//! Why a writer thread: SQLite allows one writer at a time anyway, and a durable commit costs an
//! fsync (~231 µs on our machines, NOTES.md §3). So every write is a job sent to one thread that
//! owns the only writing connection; it drains whatever jobs are waiting, runs each inside its
//! own SAVEPOINT (a failing job rolls back alone), and commits them together with one fsync
//! before answering any of them. A job is answered only after its commit is durable.
//! Readers use separate connections; WAL lets them read while the writer writes.

mod booking;
mod bulk;
mod capacity;
mod devices;
mod foreign;
mod hall;
mod kiosk;
mod lodging;
mod lottery;
mod org;
mod outbox;
mod payments;
mod registry;
mod reissue;
mod remote;
mod staff;
mod stats;

use crate::migrations::{Migration, MigrationStatus, SQLITE};
use crate::model::*;
use crate::rows::Cols;
use crate::sql;
use crate::sql::{ACTIVE_SQL, DUPLICATES_SQL, MISCOUNTED_SQL};
use crate::SystemStore;
use crate::{Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, Connection, Row};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};

/// Most jobs one commit may carry; bounds the latency a job waits behind others.
const MAX_BATCH: usize = 512;

const READERS: usize = 4;

type Finish = Box<dyn FnOnce(Result<()>) + Send>;

type Job = Box<dyn FnOnce(&Connection) -> (bool, Finish) + Send>;

pub struct SqliteStore {
    events: tokio::sync::broadcast::Sender<String>,
    writer: mpsc::Sender<Job>,
    readers: Arc<Vec<Mutex<Connection>>>,
    next_reader: AtomicUsize,
    keys: Arc<crate::keys::Keys>,
}

pub(crate) fn db_err(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, _) = &e {
        // The disk failed or the file cannot be opened: the database is unavailable.
        if matches!(
            f.code,
            rusqlite::ErrorCode::SystemIoFailure | rusqlite::ErrorCode::CannotOpen
        ) {
            return StoreError::Unavailable(e.to_string());
        }
        // A file that cannot be written (read-only file or file system) or a full disk: no
        // write can succeed until an operator acts, but nothing is wrong with the request or
        // the data. The transaction was rolled back whole, so the file stays consistent; the
        // log says which of the two it is.
        if f.code == rusqlite::ErrorCode::ReadOnly {
            return StoreError::Unavailable(format!(
                "the SQLite database file is read-only (its permissions or file system): {e}"
            ));
        }
        if f.code == rusqlite::ErrorCode::DiskFull {
            return StoreError::Unavailable(format!(
                "the disk of the SQLite database is full: {e}"
            ));
        }
    }
    if let rusqlite::Error::SqliteFailure(f, Some(msg)) = &e {
        if f.code == rusqlite::ErrorCode::ConstraintViolation {
            if msg.contains("bookings.identity_key") {
                return StoreError::AlreadyBooked;
            }
            if msg.contains("bookings.code") {
                return StoreError::CodeTaken;
            }
            // The sites triggers (migration 25) abort with the API's code as their message.
            if msg == "business_not_offered" {
                return StoreError::Refused("business_not_offered");
            }
        }
    }
    StoreError::Db(e.to_string())
}

fn open_conn(path: &str) -> Result<Connection> {
    let conn = Connection::open(path).map_err(db_err)?;
    // synchronous=FULL: a booking answered as confirmed survives a power cut. A 16 MB page
    // cache per connection keeps the hot index pages of a release day in memory.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;
         PRAGMA cache_size = -16384;",
    )
    .map_err(db_err)?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`.
    pub fn open(path: &str, keys: Arc<crate::keys::Keys>) -> Result<Self> {
        let conn = open_conn(path)?;
        // Rate-limit counters live in an in-memory database attached to the writer: they are
        // counted in the same transaction as the hold or confirmation they limit, but cost no
        // page writes (they were 40% of the writer's work in the release benchmark). An
        // embedded SQLite file has one app server, so there is nobody to share them with;
        // several app servers share counters through PostgreSQL. Losing a minute's counts on
        // restart is harmless.
        conn.execute_batch(
            "ATTACH DATABASE ':memory:' AS mem;
             CREATE TABLE mem.rate_limits (
                 key          TEXT NOT NULL,
                 window_start INTEGER NOT NULL,
                 hits         INTEGER NOT NULL,
                 PRIMARY KEY (key, window_start)
             ) WITHOUT ROWID;",
        )
        .map_err(db_err)?;
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("wujing-sqlite-writer".into())
            .spawn(move || writer_loop(conn, rx))
            .map_err(|e| StoreError::Db(e.to_string()))?;
        let readers = (0..READERS)
            .map(|_| open_conn(path).map(Mutex::new))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            events: tokio::sync::broadcast::channel(256).0,
            writer: tx,
            readers: Arc::new(readers),
            next_reader: AtomicUsize::new(0),
            keys,
        })
    }

    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let r = f(conn);
            let ok = r.is_ok();
            let finish: Finish = Box::new(move |commit| {
                let _ = tx.send(commit.and(r));
            });
            (ok, finish)
        });
        self.writer
            .send(job)
            .map_err(|_| StoreError::Db("the writer thread has stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Db("a write job failed without an answer".into()))?
    }

    /// A point lookup by key: a few microseconds, so it runs on the calling thread when a
    /// reader connection is free, saving two thread hand-offs per request. Scans use
    /// [`Self::read`], which never blocks an async worker.
    async fn lookup<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        for i in 0..self.readers.len() {
            if let Ok(c) = self.readers[(start + i) % self.readers.len()].try_lock() {
                return f(&c);
            }
        }
        self.read(f).await
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let readers = self.readers.clone();
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        tokio::task::spawn_blocking(move || {
            // Prefer an idle connection; wait on the round-robin one only if all are busy.
            for i in 0..readers.len() {
                if let Ok(c) = readers[(start + i) % readers.len()].try_lock() {
                    return f(&c);
                }
            }
            let c = readers[start % readers.len()]
                .lock()
                .map_err(|_| StoreError::Db("reader poisoned".into()))?;
            f(&c)
        })
        .await
        .map_err(|e| StoreError::Db(e.to_string()))?
    }
}

fn writer_loop(conn: Connection, rx: mpsc::Receiver<Job>) {
    let run = |sql: &str| conn.prepare_cached(sql).and_then(|mut s| s.execute([]));
    while let Ok(first) = rx.recv() {
        if let Err(e) = run("BEGIN IMMEDIATE") {
            // Dropping the job unanswered makes its caller see a failed write.
            tracing::error!(error = %e, "cannot begin a write transaction");
            drop(first);
            continue;
        }
        let mut finishes = Vec::with_capacity(64);
        // Jobs that arrive while this transaction runs join it: the commit (WAL write and
        // fsync) is the writer's largest cost, and the fuller each commit, the less it costs
        // per booking.
        let mut next = Some(first);
        while let Some(job) = next.take() {
            if let Some(finish) = run_job(&conn, job) {
                finishes.push(finish);
            }
            if finishes.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        match run("COMMIT") {
            Ok(_) => finishes.into_iter().for_each(|f| f(Ok(()))),
            Err(e) => {
                let _ = run("ROLLBACK");
                let err = db_err(e);
                finishes.into_iter().for_each(|f| f(Err(err.clone())));
            }
        }
    }
}

/// Runs one job inside its own savepoint. Returns its answer, to be given after the commit;
/// `None` when the job could not run (its caller then sees a failed write).
fn run_job(conn: &Connection, job: Job) -> Option<Finish> {
    let run = |sql: &str| conn.prepare_cached(sql).and_then(|mut s| s.execute([]));
    run("SAVEPOINT job").ok()?;
    match std::panic::catch_unwind(AssertUnwindSafe(|| job(conn))) {
        Ok((ok, finish)) => {
            let end = if ok {
                run("RELEASE job")
            } else {
                run("ROLLBACK TO job").and_then(|_| run("RELEASE job"))
            };
            match end {
                Ok(_) => Some(finish),
                Err(e) => {
                    finish(Err(db_err(e)));
                    None
                }
            }
        }
        Err(_) => {
            // The job's answer channel was dropped with it; the caller sees an error.
            let _ = run("ROLLBACK TO job").and_then(|_| run("RELEASE job"));
            None
        }
    }
}

// --- Conversions ---------------------------------------------------------------------------

pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_ms(v: i64) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(v).ok_or(rusqlite::Error::IntegralValueOutOfRange(0, v))
}

pub(crate) fn date_s(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn conv_err(col: usize, msg: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        col,
        rusqlite::types::Type::Text,
        Box::new(StoreError::Corrupt(msg)),
    )
}

pub(crate) fn get_date(r: &Row, i: usize) -> rusqlite::Result<NaiveDate> {
    let s: String = r.get(i)?;
    NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(|_| conv_err(i, s))
}

fn get_enum<T>(r: &Row, i: usize, parse: impl Fn(&str) -> Option<T>) -> rusqlite::Result<T> {
    let s: String = r.get(i)?;
    parse(&s).ok_or_else(|| conv_err(i, s))
}

impl Cols for Row<'_> {
    type Err = rusqlite::Error;
    fn corrupt(&self, i: usize, _what: &str, value: String) -> rusqlite::Error {
        conv_err(i, value)
    }
    fn int(&self, i: usize) -> rusqlite::Result<i64> {
        self.get(i)
    }
    fn opt_int(&self, i: usize) -> rusqlite::Result<Option<i64>> {
        self.get(i)
    }
    fn count(&self, i: usize) -> rusqlite::Result<u32> {
        self.get(i)
    }
    fn opt_count(&self, i: usize) -> rusqlite::Result<Option<u32>> {
        self.get(i)
    }
    fn text(&self, i: usize) -> rusqlite::Result<String> {
        self.get(i)
    }
    fn opt_text(&self, i: usize) -> rusqlite::Result<Option<String>> {
        self.get(i)
    }
    fn flag(&self, i: usize) -> rusqlite::Result<bool> {
        self.get(i)
    }
    fn day(&self, i: usize) -> rusqlite::Result<NaiveDate> {
        get_date(self, i)
    }
    fn opt_day(&self, i: usize) -> rusqlite::Result<Option<NaiveDate>> {
        match self.get::<_, Option<String>>(i)? {
            None => Ok(None),
            Some(_) => get_date(self, i).map(Some),
        }
    }
    fn at(&self, i: usize) -> rusqlite::Result<DateTime<Utc>> {
        from_ms(self.get(i)?)
    }
    fn opt_at(&self, i: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
        self.get::<_, Option<i64>>(i)?.map(from_ms).transpose()
    }
}

/// Every row of a query, mapped.
fn all<T>(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl FnMut(&Row) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let mut st = c.prepare_cached(sql).map_err(db_err)?;
    let rows = st
        .query_map(params, f)
        .map_err(db_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err);
    rows
}

fn migration_status(c: &Connection, known: &[Migration]) -> Result<MigrationStatus> {
    c.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
    )
    .map_err(db_err)?;
    let mut st = c.prepare(sql::APPLIED_MIGRATIONS.lite).map_err(db_err)?;
    let applied = st
        .query_map([], |r| r.get(0))
        .map_err(db_err)?
        .collect::<rusqlite::Result<Vec<i64>>>()
        .map_err(db_err)?;
    Ok(MigrationStatus {
        applied,
        known: known.iter().map(|m| m.version).collect(),
    })
}

#[async_trait]
impl SystemStore for SqliteStore {
    fn keys(&self) -> &Arc<crate::keys::Keys> {
        &self.keys
    }

    fn dialect(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<()> {
        self.read(|c| c.query_row(sql::PING.lite, [], |_| Ok(())).map_err(db_err))
            .await
    }

    async fn migrate(&self) -> Result<Vec<i64>> {
        let keys = self.keys.clone();
        self.write(move |c| {
            let status = migration_status(c, SQLITE)?;
            let mut done = Vec::new();
            for m in SQLITE
                .iter()
                .filter(|m| !status.applied.contains(&m.version))
            {
                c.execute_batch(m.sql).map_err(db_err)?;
                c.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                    params![m.version, m.name, ms(Utc::now())],
                )
                .map_err(db_err)?;
                done.push(m.version);
            }
            staff::seal_legacy(c, &keys)?;
            Ok(done)
        })
        .await
    }

    async fn migration_status(&self) -> Result<MigrationStatus> {
        self.read(|c| migration_status(c, SQLITE)).await
    }

    async fn secret(&self, name: &str, candidate: &str) -> Result<String> {
        let (n, v) = (name.to_string(), candidate.to_string());
        self.write(move |c| outbox::secret(c, &n, &v)).await
    }

    async fn setting(&self, key: &str) -> Result<Option<String>> {
        let k = key.to_string();
        self.read(move |c| {
            use rusqlite::OptionalExtension;
            c.query_row(sql::SETTING.lite, [&k], |r| r.get(0))
                .optional()
                .map_err(db_err)
        })
        .await
    }

    async fn publish(&self, payload: &str) -> Result<()> {
        // Nobody listening is fine.
        let _ = self.events.send(payload.to_string());
        Ok(())
    }

    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.events.subscribe()
    }

    async fn verify_invariants(&self) -> Result<InvariantReport> {
        self.read(|c| {
            let ids = |sql: &str| -> Result<Vec<i64>> {
                let mut st = c.prepare(sql).map_err(db_err)?;
                let rows = st
                    .query_map([], |r| r.get(0))
                    .map_err(db_err)?
                    .collect::<rusqlite::Result<Vec<i64>>>()
                    .map_err(db_err);
                rows
            };
            // One read transaction so that the recount sees one snapshot.
            c.execute_batch("BEGIN").map_err(db_err)?;
            let r = (|| {
                let slots_checked: u64 = c
                    .query_row(sql::COUNT_SLOTS.lite, [], |r| r.get(0))
                    .map_err(db_err)?;
                let oversold = ids(sql::OVERSOLD_SLOTS.lite)?;
                let miscounted = ids(MISCOUNTED_SQL)?;
                let duplicate_identities: u64 = c
                    .query_row(DUPLICATES_SQL, [], |r| r.get(0))
                    .map_err(db_err)?;
                let active_bookings: u64 =
                    c.query_row(ACTIVE_SQL, [], |r| r.get(0)).map_err(db_err)?;
                Ok(InvariantReport {
                    slots_checked,
                    oversold,
                    miscounted,
                    duplicate_identities,
                    active_bookings,
                })
            })();
            let _ = c.execute_batch("COMMIT");
            r
        })
        .await
    }
}
