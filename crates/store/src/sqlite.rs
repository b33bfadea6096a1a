//! The SQLite adapter: one writer thread with group commit, and a few reader connections.
//!
//! Why a writer thread: SQLite allows one writer at a time anyway, and a durable commit costs an
//! fsync (~231 µs on our machines, NOTES.md §3). So every write is a job sent to one thread that
//! owns the only writing connection; it drains whatever jobs are waiting, runs each inside its
//! own SAVEPOINT (a failing job rolls back alone), and commits them together with one fsync
//! before answering any of them. A job is answered only after its commit is durable.
//! Readers use separate connections; WAL lets them read while the writer writes.

use crate::migrations::{Migration, MigrationStatus, SQLITE};
use crate::model::*;
use crate::sqlite_staff as staff;
use crate::{Result, Store, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use wujing_domain::{
    DayKind, DeclaredDay, DocumentKind, DocumentRecord, Hours, PersonRecord, Pool,
};

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
}

pub(crate) fn db_err(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, Some(msg)) = &e {
        if f.code == rusqlite::ErrorCode::ConstraintViolation {
            if msg.contains("bookings.identity_key") {
                return StoreError::AlreadyBooked;
            }
            if msg.contains("bookings.code") {
                return StoreError::CodeTaken;
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
    pub fn open(path: &str) -> Result<Self> {
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
fn get_time(r: &Row, i: usize) -> rusqlite::Result<NaiveTime> {
    let s: String = r.get(i)?;
    NaiveTime::parse_from_str(&s, "%H:%M").map_err(|_| conv_err(i, s))
}
fn get_enum<T>(r: &Row, i: usize, parse: impl Fn(&str) -> Option<T>) -> rusqlite::Result<T> {
    let s: String = r.get(i)?;
    parse(&s).ok_or_else(|| conv_err(i, s))
}

const SLOT_COLS: &str =
    "s.id, s.hall_id, s.day, s.start_time, s.pool, s.starts_at, s.capacity, s.taken";

fn slot_at(r: &Row, o: usize) -> rusqlite::Result<Slot> {
    Ok(Slot {
        id: r.get(o)?,
        hall_id: r.get(o + 1)?,
        day: get_date(r, o + 2)?,
        start: get_time(r, o + 3)?,
        pool: get_enum(r, o + 4, Pool::parse)?,
        starts_at: from_ms(r.get(o + 5)?)?,
        capacity: r.get(o + 6)?,
        taken: r.get(o + 7)?,
    })
}

const BOOKING_SELECT: &str =
    "SELECT b.id, b.code, b.business, b.option_code, b.identity_key, b.id_kind, \
     b.id_number, b.nationality, b.name, b.phone, b.answers, b.fee_yuan, b.channel, b.status, \
     b.created_at, b.cancelled_at, b.reschedule_count, \
     s.id, s.hall_id, s.day, s.start_time, s.pool, s.starts_at, s.capacity, s.taken, b.lang \
     FROM bookings b JOIN slots s ON s.id = b.slot_id";

fn booking_row(r: &Row) -> rusqlite::Result<Booking> {
    Ok(Booking {
        id: r.get(0)?,
        code: r.get(1)?,
        business: r.get(2)?,
        option_code: r.get(3)?,
        identity_key: r.get(4)?,
        id_kind: get_enum(r, 5, IdKind::parse)?,
        id_number: r.get(6)?,
        nationality: r.get(7)?,
        name: r.get(8)?,
        phone: r.get(9)?,
        answers_json: r.get(10)?,
        fee_yuan: r.get(11)?,
        channel: r.get(12)?,
        status: get_enum(r, 13, BookingStatus::parse)?,
        created_at: from_ms(r.get(14)?)?,
        cancelled_at: r.get::<_, Option<i64>>(15)?.map(from_ms).transpose()?,
        reschedule_count: r.get(16)?,
        slot: slot_at(r, 17)?,
        lang: r.get(25)?,
    })
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

fn pair_row(r: &Row) -> rusqlite::Result<CancelRebookPair> {
    Ok(CancelRebookPair {
        cancelled_code: r.get(0)?,
        new_code: r.get(1)?,
        kind: r.get(2)?,
        gap_ms: r.get(3)?,
    })
}

fn booking_by_id(c: &Connection, id: i64) -> Result<Booking> {
    c.prepare_cached(&format!("{BOOKING_SELECT} WHERE b.id = ?1"))
        .map_err(db_err)?
        .query_row([id], booking_row)
        .map_err(db_err)
}

const ENTRY_SELECT: &str = "SELECT e.id, e.release_day, e.business, e.option_code, e.identity_key, e.id_kind, \
     e.id_number, e.nationality, e.name, e.phone, e.answers, e.hall_ids, e.channel, e.client_addr, \
     e.created_at, e.status, b.code FROM lottery_entries e LEFT JOIN bookings b ON b.id = e.booking_id";

fn entry_row(r: &Row) -> rusqlite::Result<LotteryEntry> {
    let halls: String = r.get(11)?;
    Ok(LotteryEntry {
        id: r.get(0)?,
        entry: NewEntry {
            release_day: get_date(r, 1)?,
            business: r.get(2)?,
            option_code: r.get(3)?,
            identity_key: r.get(4)?,
            id_kind: get_enum(r, 5, IdKind::parse)?,
            id_number: r.get(6)?,
            nationality: r.get(7)?,
            name: r.get(8)?,
            phone: r.get(9)?,
            answers_json: r.get(10)?,
            hall_ids: halls
                .split(',')
                .filter(|h| !h.is_empty())
                .map(str::to_string)
                .collect(),
            channel: r.get(12)?,
            client_addr: r.get(13)?,
            now: from_ms(r.get(14)?)?,
        },
        status: get_enum(r, 15, EntryStatus::parse)?,
        booking_code: r.get(16)?,
    })
}

fn draw_row(r: &Row) -> rusqlite::Result<Draw> {
    Ok(Draw {
        release_day: get_date(r, 0)?,
        seed: r.get::<_, i64>(1)? as u64,
        started_at: from_ms(r.get(2)?)?,
        finished_at: r.get::<_, Option<i64>>(3)?.map(from_ms).transpose()?,
        entries: r.get(4)?,
        winners: r.get(5)?,
    })
}

const DRAW_SELECT: &str =
    "SELECT release_day, seed, started_at, finished_at, entries, winners FROM lottery_draws";

fn insert_booking(
    c: &Connection,
    slot_id: i64,
    hold_id: Option<&str>,
    b: &NewBooking,
) -> Result<i64> {
    c.prepare_cached(
        "INSERT INTO bookings (code, slot_id, hold_id, business, option_code, identity_key, id_kind, id_number,
           nationality, name, phone, answers, fee_yuan, channel, status, created_at, reschedule_count, client_addr, lang)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 'active', ?15, 0, ?16, ?17)",
    )
    .map_err(db_err)?
    .execute(params![
        b.code, slot_id, hold_id, b.business, b.option_code, b.identity_key, b.id_kind.as_str(),
        b.id_number, b.nationality, b.name, b.phone, b.answers_json, b.fee_yuan, b.channel, ms(b.now),
        b.client_addr, b.lang
    ])
    .map_err(db_err)?;
    let id = c.last_insert_rowid();
    crate::sqlite_outbox::insert(c, &b.notices)?;
    Ok(id)
}

/// Counts one hit against every rule; the first over its limit refuses the whole job (its
/// savepoint rolls back, so a refused request does not use up the window).
fn count_hits(c: &Connection, rules: &[RateRule], now: DateTime<Utc>) -> Result<()> {
    if rules.is_empty() {
        return Ok(());
    }
    let (window, retry) = rate_window(now);
    // One statement for all rules (a use case has at most four).
    const SQL: [&str; 4] = [
        "INSERT INTO mem.rate_limits (key, window_start, hits) VALUES (?2, ?1, 1)
         ON CONFLICT (key, window_start) DO UPDATE SET hits = hits + 1 RETURNING key, hits",
        "INSERT INTO mem.rate_limits (key, window_start, hits) VALUES (?2, ?1, 1), (?3, ?1, 1)
         ON CONFLICT (key, window_start) DO UPDATE SET hits = hits + 1 RETURNING key, hits",
        "INSERT INTO mem.rate_limits (key, window_start, hits) VALUES (?2, ?1, 1), (?3, ?1, 1), (?4, ?1, 1)
         ON CONFLICT (key, window_start) DO UPDATE SET hits = hits + 1 RETURNING key, hits",
        "INSERT INTO mem.rate_limits (key, window_start, hits) VALUES (?2, ?1, 1), (?3, ?1, 1), (?4, ?1, 1), (?5, ?1, 1)
         ON CONFLICT (key, window_start) DO UPDATE SET hits = hits + 1 RETURNING key, hits",
    ];
    let sql = SQL
        .get(rules.len() - 1)
        .ok_or_else(|| StoreError::Db(format!("{} rate rules; at most 4", rules.len())))?;
    let mut st = c.prepare_cached(sql).map_err(db_err)?;
    let mut args: Vec<rusqlite::types::Value> = vec![ms(window).into()];
    args.extend(rules.iter().map(|r| r.key.clone().into()));
    let mut rows = st.query(rusqlite::params_from_iter(args)).map_err(db_err)?;
    while let Some(row) = rows.next().map_err(db_err)? {
        let key: String = row.get(0).map_err(db_err)?;
        let hits: i64 = row.get(1).map_err(db_err)?;
        if rules
            .iter()
            .any(|r| r.key == key && hits > i64::from(r.limit))
        {
            return Err(StoreError::RateLimited {
                retry_after_secs: retry,
            });
        }
    }
    Ok(())
}

/// The atomic seat take: succeeds only while a seat is free.
fn take_seat(c: &Connection, slot_id: i64) -> Result<()> {
    let n = c
        .prepare_cached("UPDATE slots SET taken = taken + 1 WHERE id = ?1 AND taken < capacity")
        .map_err(db_err)?
        .execute([slot_id])
        .map_err(db_err)?;
    if n == 1 {
        return Ok(());
    }
    let exists: Option<i64> = c
        .query_row("SELECT id FROM slots WHERE id = ?1", [slot_id], |r| {
            r.get(0)
        })
        .optional()
        .map_err(db_err)?;
    Err(match exists {
        Some(_) => StoreError::SlotFull,
        None => StoreError::NotFound("slot"),
    })
}

/// Schedules the seat of `slot_id` to return at `return_at`, or returns it now if due.
fn schedule_return(
    c: &Connection,
    slot_id: i64,
    booking_id: i64,
    reason: &str,
    now: DateTime<Utc>,
    return_at: DateTime<Utc>,
) -> Result<()> {
    let returned = (return_at <= now).then_some(ms(now));
    c.prepare_cached(
        "INSERT INTO seat_returns (slot_id, booking_id, reason, return_at, returned_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .map_err(db_err)?
    .execute(params![slot_id, booking_id, reason, ms(return_at), returned])
    .map_err(db_err)?;
    if returned.is_some() {
        c.prepare_cached("UPDATE slots SET taken = taken - 1 WHERE id = ?1")
            .map_err(db_err)?
            .execute([slot_id])
            .map_err(db_err)?;
    }
    Ok(())
}

fn migration_status(c: &Connection, known: &[Migration]) -> Result<MigrationStatus> {
    c.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
    )
    .map_err(db_err)?;
    let mut st = c
        .prepare("SELECT version FROM schema_migrations ORDER BY version")
        .map_err(db_err)?;
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

fn hall_from_row(c: &Connection, r: &Row) -> rusqlite::Result<Hall> {
    let id: String = r.get(0)?;
    let weekdays: String = r.get(6)?;
    let sessions: String = r.get(7)?;
    let mut cap = c.prepare_cached(
        "SELECT pool, seats_per_slot FROM pool_capacity WHERE hall_id = ?1 ORDER BY pool",
    )?;
    let mut capacity = cap
        .query_map([&id], |r| Ok((get_enum(r, 0, Pool::parse)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    capacity.sort();
    let window_count: u32 = c.query_row(
        "SELECT COUNT(*) FROM windows WHERE hall_id = ?1",
        [&id],
        |r| r.get(0),
    )?;
    Ok(Hall {
        district_id: r.get(1)?,
        name_zh: r.get(2)?,
        name_en: r.get(3)?,
        address_zh: r.get(4)?,
        address_en: r.get(5)?,
        weekdays: weekdays
            .split(',')
            .filter_map(|d| d.trim().parse().ok())
            .collect(),
        sessions: Hours::parse_sessions(&sessions).ok_or_else(|| conv_err(7, sessions))?,
        slot_minutes: r.get(8)?,
        serves_foreigners: r.get(9)?,
        window_count,
        capacity,
        id,
    })
}

const HALL_SELECT: &str = "SELECT id, district_id, name_zh, name_en, address_zh, address_en, weekdays, sessions, slot_minutes, serves_foreigners FROM halls";

fn person_row(r: &Row) -> rusqlite::Result<PersonRecord> {
    Ok(PersonRecord {
        id_number: r.get(0)?,
        name: r.get(1)?,
        hukou_city: r.get(2)?,
        residence_permit_city: r.get(3)?,
        residence_permit_expires: match r.get::<_, Option<String>>(4)? {
            None => None,
            Some(_) => Some(get_date(r, 4)?),
        },
        status: get_enum(r, 5, |s| serde_json::from_value(s.into()).ok())?,
        state_functionary: r.get(6)?,
    })
}

fn person_by_id(c: &Connection, id: &str) -> Result<Option<PersonRecord>> {
    c.prepare_cached(
        "SELECT id_number, name, hukou_city, residence_permit_city, residence_permit_expires, status, state_functionary
         FROM persons WHERE id_number = ?1",
    )
    .map_err(db_err)?
    .query_row([id], person_row)
    .optional()
    .map_err(db_err)
}

fn documents_by_holder(c: &Connection, id: &str) -> Result<Vec<DocumentRecord>> {
    let mut st = c
        .prepare_cached(
            "SELECT id_number, kind, number, issued_on, expires_on, status FROM documents
             WHERE id_number = ?1 ORDER BY issued_on",
        )
        .map_err(db_err)?;
    let rows = st
        .query_map([id], |r| {
            Ok(DocumentRecord {
                id_number: r.get(0)?,
                kind: get_enum(r, 1, DocumentKind::parse)?,
                number: r.get(2)?,
                issued_on: get_date(r, 3)?,
                expires_on: get_date(r, 4)?,
                status: get_enum(r, 5, |s| serde_json::from_value(s.into()).ok())?,
            })
        })
        .map_err(db_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err);
    rows
}

pub(crate) fn enum_str<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn dialect(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<()> {
        self.read(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(db_err))
            .await
    }

    async fn migrate(&self) -> Result<Vec<i64>> {
        self.write(|c| {
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
            Ok(done)
        })
        .await
    }

    async fn migration_status(&self) -> Result<MigrationStatus> {
        self.read(|c| migration_status(c, SQLITE)).await
    }

    async fn put_district(&self, d: &District) -> Result<()> {
        let d = d.clone();
        self.write(move |c| {
            c.execute(
                "INSERT INTO districts (id, name_zh, name_en) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en",
                params![d.id, d.name_zh, d.name_en],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn put_hall(&self, h: &HallSetup) -> Result<()> {
        let h = h.clone();
        self.write(move |c| {
            let x = &h.hall;
            let weekdays = x.weekdays.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
            c.execute(
                "INSERT INTO halls (id, district_id, name_zh, name_en, address_zh, address_en, weekdays, sessions, slot_minutes, serves_foreigners)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (id) DO UPDATE SET district_id = excluded.district_id, name_zh = excluded.name_zh,
                   name_en = excluded.name_en, address_zh = excluded.address_zh, address_en = excluded.address_en,
                   weekdays = excluded.weekdays, sessions = excluded.sessions, slot_minutes = excluded.slot_minutes,
                   serves_foreigners = excluded.serves_foreigners",
                params![x.id, x.district_id, x.name_zh, x.name_en, x.address_zh, x.address_en, weekdays,
                        Hours::format_sessions(&x.sessions), x.slot_minutes, x.serves_foreigners],
            )
            .map_err(db_err)?;
            c.execute("DELETE FROM windows WHERE hall_id = ?1", [&x.id]).map_err(db_err)?;
            for w in &h.windows {
                c.execute(
                    "INSERT INTO windows (hall_id, number, kind) VALUES (?1, ?2, ?3)",
                    params![x.id, w.number, w.kind],
                )
                .map_err(db_err)?;
            }
            for (pool, seats) in &x.capacity {
                c.execute(
                    "INSERT INTO pool_capacity (hall_id, pool, seats_per_slot) VALUES (?1, ?2, ?3)
                     ON CONFLICT (hall_id, pool) DO UPDATE SET seats_per_slot = excluded.seats_per_slot",
                    params![x.id, pool.as_str(), seats],
                )
                .map_err(db_err)?;
            }
            Ok(())
        })
        .await
    }

    async fn districts(&self) -> Result<Vec<District>> {
        self.read(|c| {
            all(
                c,
                "SELECT id, name_zh, name_en FROM districts ORDER BY id",
                [],
                |r| {
                    Ok(District {
                        id: r.get(0)?,
                        name_zh: r.get(1)?,
                        name_en: r.get(2)?,
                    })
                },
            )
        })
        .await
    }

    async fn halls(&self) -> Result<Vec<Hall>> {
        self.read(|c| {
            let mut st = c
                .prepare(&format!("{HALL_SELECT} ORDER BY id"))
                .map_err(db_err)?;
            let rows = st
                .query_map([], |r| hall_from_row(c, r))
                .map_err(db_err)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(db_err);
            rows
        })
        .await
    }

    async fn hall(&self, id: &str) -> Result<Option<Hall>> {
        let id = id.to_string();
        self.lookup(move |c| {
            c.query_row(&format!("{HALL_SELECT} WHERE id = ?1"), [&id], |r| {
                hall_from_row(c, r)
            })
            .optional()
            .map_err(db_err)
        })
        .await
    }

    async fn put_calendar_days(&self, days: &[DeclaredDay]) -> Result<()> {
        let days = days.to_vec();
        self.write(move |c| {
            for d in &days {
                c.execute(
                    "INSERT INTO calendar_days (day, kind, name) VALUES (?1, ?2, ?3)
                     ON CONFLICT (day) DO UPDATE SET kind = excluded.kind, name = excluded.name",
                    params![date_s(d.date), enum_str(&d.kind), d.name],
                )
                .map_err(db_err)?;
            }
            Ok(())
        })
        .await
    }

    async fn calendar_days(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<DeclaredDay>> {
        self.read(move |c| {
            let mut st = c
                .prepare("SELECT day, kind, name FROM calendar_days WHERE day >= ?1 AND day <= ?2 ORDER BY day")
                .map_err(db_err)?;
            let rows = st
                .query_map(params![date_s(from), date_s(to)], |r| {
                    Ok(DeclaredDay {
                        date: get_date(r, 0)?,
                        kind: get_enum(r, 1, |s| match s {
                            "holiday" => Some(DayKind::Holiday),
                            "workday" => Some(DayKind::Workday),
                            _ => None,
                        })?,
                        name: r.get(2)?,
                    })
                })
                .map_err(db_err)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(db_err);
            rows
        })
        .await
    }

    async fn ensure_slots(&self, slots: &[NewSlot]) -> Result<u64> {
        let slots = slots.to_vec();
        self.write(move |c| {
            let mut st = c
                .prepare_cached(
                    "INSERT INTO slots (hall_id, day, start_time, pool, starts_at, capacity, taken)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0) ON CONFLICT DO NOTHING",
                )
                .map_err(db_err)?;
            let mut n = 0;
            for s in &slots {
                n += st
                    .execute(params![
                        s.hall_id,
                        date_s(s.day),
                        s.start.format("%H:%M").to_string(),
                        s.pool.as_str(),
                        ms(s.starts_at),
                        s.capacity
                    ])
                    .map_err(db_err)? as u64;
            }
            Ok(n)
        })
        .await
    }

    async fn slots(&self, q: &SlotQuery) -> Result<Vec<Slot>> {
        let q = q.clone();
        self.read(move |c| {
            let mut sql = format!("SELECT {SLOT_COLS} FROM slots s WHERE 1 = 1");
            let mut args: Vec<rusqlite::types::Value> = Vec::new();
            let mut arg = |sql: &mut String, clause: &str, v: rusqlite::types::Value| {
                args.push(v);
                sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
            };
            if let Some(ids) = &q.hall_ids {
                sql.push_str(" AND s.hall_id IN (");
                for (i, id) in ids.iter().enumerate() {
                    if i > 0 {
                        sql.push(',');
                    }
                    arg(&mut sql, "?", id.clone().into());
                }
                if ids.is_empty() {
                    sql.push_str("NULL");
                }
                sql.push(')');
            }
            if let Some(d) = q.from {
                arg(&mut sql, " AND s.day >= ?", date_s(d).into());
            }
            if let Some(d) = q.to {
                arg(&mut sql, " AND s.day <= ?", date_s(d).into());
            }
            if let Some(t) = q.start {
                arg(
                    &mut sql,
                    " AND s.start_time = ?",
                    t.format("%H:%M").to_string().into(),
                );
            }
            if let Some(p) = q.pool {
                arg(&mut sql, " AND s.pool = ?", p.as_str().to_string().into());
            }
            if let Some(t) = q.starts_after {
                arg(&mut sql, " AND s.starts_at > ?", ms(t).into());
            }
            if q.only_free {
                sql.push_str(" AND s.taken < s.capacity");
            }
            sql.push_str(" ORDER BY s.day, s.start_time, s.hall_id, s.pool");
            if let Some(l) = q.limit {
                sql.push_str(&format!(" LIMIT {l}"));
            }
            let mut st = c.prepare_cached(&sql).map_err(db_err)?;
            let rows = st
                .query_map(rusqlite::params_from_iter(args), |r| slot_at(r, 0))
                .map_err(db_err)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(db_err);
            rows
        })
        .await
    }

    async fn slot(&self, id: i64) -> Result<Option<Slot>> {
        self.lookup(move |c| {
            c.prepare_cached(&format!("SELECT {SLOT_COLS} FROM slots s WHERE s.id = ?1"))
                .map_err(db_err)?
                .query_row([id], |r| slot_at(r, 0))
                .optional()
                .map_err(db_err)
        })
        .await
    }

    async fn count_requests(&self, rules: &[RateRule], now: DateTime<Utc>) -> Result<()> {
        if rules.is_empty() {
            return Ok(());
        }
        let rules = rules.to_vec();
        self.write(move |c| count_hits(c, &rules, now)).await
    }

    async fn create_hold(&self, h: &NewHold) -> Result<Hold> {
        let h = h.clone();
        self.write(move |c| {
            count_hits(c, &h.limits, h.now)?;
            take_seat(c, h.slot_id)?;
            c.prepare_cached(
                "INSERT INTO holds (id, slot_id, business, state, created_at, expires_at, client_addr)
                 VALUES (?1, ?2, ?3, 'held', ?4, ?5, ?6)",
            )
            .map_err(db_err)?
            .execute(params![h.id, h.slot_id, h.business, ms(h.now), ms(h.expires_at), h.client_addr])
            .map_err(db_err)?;
            Ok(Hold {
                id: h.id,
                slot_id: h.slot_id,
                business: h.business,
                state: HoldState::Held,
                created_at: h.now,
                expires_at: h.expires_at,
            })
        })
        .await
    }

    async fn hold(&self, id: &str) -> Result<Option<Hold>> {
        let id = id.to_string();
        self.lookup(move |c| {
            c.prepare_cached(
                "SELECT id, slot_id, business, state, created_at, expires_at FROM holds WHERE id = ?1",
            )
            .map_err(db_err)?
            .query_row([&id], |r| {
                Ok(Hold {
                    id: r.get(0)?,
                    slot_id: r.get(1)?,
                    business: r.get(2)?,
                    state: get_enum(r, 3, HoldState::parse)?,
                    created_at: from_ms(r.get(4)?)?,
                    expires_at: from_ms(r.get(5)?)?,
                })
            })
            .optional()
            .map_err(db_err)
        })
        .await
    }

    async fn confirm_hold(&self, b: &NewBooking) -> Result<Booking> {
        let b = b.clone();
        self.write(move |c| {
            count_hits(c, &b.limits, b.now)?;
            let now = ms(b.now);
            let used: Option<i64> = c
                .prepare_cached(
                    "UPDATE holds SET state = 'confirmed' WHERE id = ?1 AND business = ?2 AND state = 'held' AND expires_at > ?3
                     RETURNING slot_id",
                )
                .map_err(db_err)?
                .query_row(params![b.hold_id, b.business, now], |r| r.get(0))
                .optional()
                .map_err(db_err)?;
            let Some(slot_id) = used else {
                let row: Option<(String, i64, String)> = c
                    .query_row(
                        "SELECT state, expires_at, business FROM holds WHERE id = ?1",
                        [&b.hold_id],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )
                    .optional()
                    .map_err(db_err)?;
                return Err(match row {
                    None => StoreError::NotFound("hold"),
                    Some((_, _, business)) if business != b.business => StoreError::NotFound("hold"),
                    Some((s, _, _)) if s == "confirmed" => StoreError::HoldUsed,
                    Some(_) => StoreError::HoldExpired,
                });
            };
                        let id = insert_booking(c, slot_id, Some(&b.hold_id), &b)?;
            let slot = c
                .prepare_cached(&format!("SELECT {SLOT_COLS} FROM slots s WHERE s.id = ?1"))
                .map_err(db_err)?
                .query_row([slot_id], |r| slot_at(r, 0))
                .map_err(db_err)?;
            Ok(Booking {
                id,
                code: b.code,
                slot,
                business: b.business,
                option_code: b.option_code,
                identity_key: b.identity_key,
                id_kind: b.id_kind,
                id_number: b.id_number,
                nationality: b.nationality,
                name: b.name,
                phone: b.phone,
                answers_json: b.answers_json,
                fee_yuan: b.fee_yuan,
                channel: b.channel,
                status: BookingStatus::Active,
                created_at: DateTime::from_timestamp_millis(now).unwrap_or(b.now),
                cancelled_at: None,
                reschedule_count: 0,
                lang: b.lang.clone(),
            })
        })
        .await
    }

    async fn booking_by_id(&self, id: i64) -> Result<Option<Booking>> {
        self.lookup(move |c| match booking_by_id(c, id) {
            Ok(b) => Ok(Some(b)),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        })
        .await
    }

    async fn booking_by_code(&self, code: &str) -> Result<Option<Booking>> {
        let code = code.to_string();
        self.lookup(move |c| {
            c.prepare_cached(&format!("{BOOKING_SELECT} WHERE b.code = ?1"))
                .map_err(db_err)?
                .query_row([&code], booking_row)
                .optional()
                .map_err(db_err)
        })
        .await
    }

    async fn cancel_booking(
        &self,
        booking_id: i64,
        now: DateTime<Utc>,
        return_at: DateTime<Utc>,
    ) -> Result<Booking> {
        self.write(move |c| {
            let n = c
                .prepare_cached(
                    "UPDATE bookings SET status = 'cancelled', cancelled_at = ?2 WHERE id = ?1 AND status = 'active'",
                )
                .map_err(db_err)?
                .execute(params![booking_id, ms(now)])
                .map_err(db_err)?;
            if n == 0 {
                booking_by_id(c, booking_id).map_err(|_| StoreError::NotFound("booking"))?;
                return Err(StoreError::BookingNotActive);
            }
            let b = booking_by_id(c, booking_id)?;
            schedule_return(c, b.slot.id, booking_id, "cancel", now, return_at)?;
            booking_by_id(c, booking_id)
        })
        .await
    }

    async fn reschedule_booking(
        &self,
        booking_id: i64,
        new_slot_id: i64,
        now: DateTime<Utc>,
        return_at: DateTime<Utc>,
    ) -> Result<Booking> {
        self.write(move |c| {
            let old = booking_by_id(c, booking_id).map_err(|_| StoreError::NotFound("booking"))?;
            if old.status != BookingStatus::Active {
                return Err(StoreError::BookingNotActive);
            }
            take_seat(c, new_slot_id)?;
            let n = c
                .prepare_cached(
                    "UPDATE bookings SET slot_id = ?2, reschedule_count = reschedule_count + 1 WHERE id = ?1 AND status = 'active'",
                )
                .map_err(db_err)?
                .execute(params![booking_id, new_slot_id])
                .map_err(db_err)?;
            if n == 0 {
                return Err(StoreError::BookingNotActive);
            }
            schedule_return(c, old.slot.id, booking_id, "reschedule", now, return_at)?;
            booking_by_id(c, booking_id)
        })
        .await
    }

    async fn sweep(&self, now: DateTime<Utc>) -> Result<SweepReport> {
        self.write(move |c| {
            let now = ms(now);
            c.prepare_cached(
                "UPDATE slots SET taken = taken - (SELECT COUNT(*) FROM holds h
                    WHERE h.slot_id = slots.id AND h.state = 'held' AND h.expires_at <= ?1)
                 WHERE id IN (SELECT slot_id FROM holds WHERE state = 'held' AND expires_at <= ?1)",
            )
            .map_err(db_err)?
            .execute([now])
            .map_err(db_err)?;
            let expired_holds = c
                .prepare_cached("UPDATE holds SET state = 'expired' WHERE state = 'held' AND expires_at <= ?1")
                .map_err(db_err)?
                .execute([now])
                .map_err(db_err)? as u64;
            c.prepare_cached(
                "UPDATE slots SET taken = taken - (SELECT COUNT(*) FROM seat_returns r
                    WHERE r.slot_id = slots.id AND r.returned_at IS NULL AND r.return_at <= ?1)
                 WHERE id IN (SELECT slot_id FROM seat_returns WHERE returned_at IS NULL AND return_at <= ?1)",
            )
            .map_err(db_err)?
            .execute([now])
            .map_err(db_err)?;
            let returned_seats = c
                .prepare_cached(
                    "UPDATE seat_returns SET returned_at = ?1 WHERE returned_at IS NULL AND return_at <= ?1",
                )
                .map_err(db_err)?
                .execute([now])
                .map_err(db_err)? as u64;
                        c.prepare_cached("DELETE FROM mem.rate_limits WHERE window_start < ?1")
                .map_err(db_err)?
                .execute([now - 3_600_000])
                .map_err(db_err)?;
            Ok(SweepReport {
                expired_holds,
                returned_seats,
            })
        })
        .await
    }

    async fn detect_pairs(
        &self,
        now: DateTime<Utc>,
        identity_window: TimeDelta,
        handoff_window: TimeDelta,
    ) -> Result<u64> {
        self.write(move |c| {
            let now = ms(now);
            let mark: Option<i64> = c
                .query_row("SELECT at FROM scan_marks WHERE name = 'cancel_rebook'", [], |r| r.get(0))
                .optional()
                .map_err(db_err)?;
            // Overlap by a minute: app servers' clocks differ a little; pairs are deduplicated.
            let since = mark.map_or(now - identity_window.num_milliseconds(), |m| m - 60_000);
            let same = c
                .prepare_cached(
                    "INSERT INTO cancel_rebook (cancelled_booking_id, new_booking_id, kind, gap_ms, recorded_at)
                     SELECT o.id, n.id, 'same_identity', n.created_at - o.cancelled_at, ?1
                     FROM bookings n JOIN bookings o ON o.identity_key = n.identity_key AND o.business = n.business
                       AND o.id <> n.id AND o.status = 'cancelled'
                       AND o.cancelled_at <= n.created_at AND o.cancelled_at >= n.created_at - ?3
                     WHERE n.created_at > ?2 AND n.created_at <= ?1
                       AND NOT EXISTS (SELECT 1 FROM cancel_rebook p
                                       WHERE p.cancelled_booking_id = o.id AND p.new_booking_id = n.id)",
                )
                .map_err(db_err)?
                .execute(params![now, since, identity_window.num_milliseconds()])
                .map_err(db_err)?;
            let handoff = c
                .prepare_cached(
                    "INSERT INTO cancel_rebook (cancelled_booking_id, new_booking_id, kind, gap_ms, recorded_at)
                     SELECT r.booking_id, n.id, 'seat_handoff', n.created_at - r.returned_at, ?1
                     FROM bookings n JOIN seat_returns r ON r.slot_id = n.slot_id AND r.returned_at IS NOT NULL
                       AND r.returned_at <= n.created_at AND r.returned_at >= n.created_at - ?3
                     JOIN bookings o ON o.id = r.booking_id AND o.identity_key <> n.identity_key
                     WHERE n.created_at > ?2 AND n.created_at <= ?1
                       AND NOT EXISTS (SELECT 1 FROM cancel_rebook p
                                       WHERE p.cancelled_booking_id = r.booking_id AND p.new_booking_id = n.id)",
                )
                .map_err(db_err)?
                .execute(params![now, since, handoff_window.num_milliseconds()])
                .map_err(db_err)?;
            c.execute(
                "INSERT INTO scan_marks (name, at) VALUES ('cancel_rebook', ?1)
                 ON CONFLICT (name) DO UPDATE SET at = MAX(at, excluded.at)",
                [now],
            )
            .map_err(db_err)?;
            Ok((same + handoff) as u64)
        })
        .await
    }

    async fn cancel_rebook_pairs(&self) -> Result<Vec<CancelRebookPair>> {
        self.read(|c| {
            all(
                c,
                "SELECT a.code, b.code, p.kind, p.gap_ms FROM cancel_rebook p
                 JOIN bookings a ON a.id = p.cancelled_booking_id
                 JOIN bookings b ON b.id = p.new_booking_id ORDER BY p.id",
                [],
                pair_row,
            )
        })
        .await
    }

    async fn add_lottery_entry(&self, e: &NewEntry) -> Result<LotteryEntry> {
        let e = e.clone();
        self.write(move |c| {
            // The single writer makes "no draw has started" and the insert one atomic step.
            let drawn: Option<i64> = c
                .query_row(
                    "SELECT 1 FROM lottery_draws WHERE release_day = ?1",
                    [date_s(e.release_day)],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db_err)?;
            if drawn.is_some() {
                return Err(StoreError::NotFound("open lottery"));
            }
            let r = c
                .prepare_cached(
                    "INSERT INTO lottery_entries (release_day, business, option_code, identity_key, id_kind, id_number,
                       nationality, name, phone, answers, hall_ids, channel, client_addr, created_at, status)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 'entered')",
                )
                .map_err(db_err)?
                .execute(params![
                    date_s(e.release_day), e.business, e.option_code, e.identity_key, e.id_kind.as_str(),
                    e.id_number, e.nationality, e.name, e.phone, e.answers_json, e.hall_ids.join(","),
                    e.channel, e.client_addr, ms(e.now)
                ]);
            match r {
                Err(rusqlite::Error::SqliteFailure(f, _)) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                    return Err(StoreError::AlreadyEntered)
                }
                Err(e) => return Err(db_err(e)),
                Ok(_) => {}
            }
            let id = c.last_insert_rowid();
            c.query_row(&format!("{ENTRY_SELECT} WHERE e.id = ?1"), [id], entry_row)
                .map_err(db_err)
        })
        .await
    }

    async fn lottery_entry(&self, id: i64) -> Result<Option<LotteryEntry>> {
        self.lookup(move |c| {
            c.prepare_cached(&format!("{ENTRY_SELECT} WHERE e.id = ?1"))
                .map_err(db_err)?
                .query_row([id], entry_row)
                .optional()
                .map_err(db_err)
        })
        .await
    }

    async fn lottery_entries(&self, day: NaiveDate) -> Result<Vec<LotteryEntry>> {
        self.read(move |c| {
            all(
                c,
                &format!("{ENTRY_SELECT} WHERE e.release_day = ?1 ORDER BY e.id"),
                [date_s(day)],
                entry_row,
            )
        })
        .await
    }

    async fn start_draw(
        &self,
        day: NaiveDate,
        seed: u64,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<LotteryEntry>>> {
        self.write(move |c| {
            let n = c
                .execute(
                    "INSERT INTO lottery_draws (release_day, seed, started_at, entries, winners)
                     VALUES (?1, ?2, ?3, (SELECT COUNT(*) FROM lottery_entries WHERE release_day = ?1), 0)
                     ON CONFLICT (release_day) DO NOTHING",
                    params![date_s(day), seed as i64, ms(now)],
                )
                .map_err(db_err)?;
            if n == 0 {
                return Ok(None);
            }
            let mut st = c
                .prepare(&format!("{ENTRY_SELECT} WHERE e.release_day = ?1 AND e.status = 'entered' ORDER BY e.id"))
                .map_err(db_err)?;
            let rows = st
                .query_map([date_s(day)], entry_row)
                .map_err(db_err)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(db_err)?;
            Ok(Some(rows))
        })
        .await
    }

    async fn award_entry(&self, entry_id: i64, slot_id: i64, b: &NewBooking) -> Result<Booking> {
        let b = b.clone();
        self.write(move |c| {
            take_seat(c, slot_id)?;
            let id = insert_booking(c, slot_id, None, &b)?;
            let n = c
                .execute(
                    "UPDATE lottery_entries SET status = 'won', booking_id = ?2 WHERE id = ?1 AND status = 'entered'",
                    params![entry_id, id],
                )
                .map_err(db_err)?;
            if n == 0 {
                return Err(StoreError::NotFound("entry"));
            }
            booking_by_id(c, id)
        })
        .await
    }

    async fn finish_draw(&self, day: NaiveDate, now: DateTime<Utc>) -> Result<Draw> {
        self.write(move |c| {
            c.execute(
                "UPDATE lottery_entries SET status = 'lost' WHERE release_day = ?1 AND status = 'entered'",
                [date_s(day)],
            )
            .map_err(db_err)?;
            c.execute(
                "UPDATE lottery_draws SET finished_at = ?2,
                   winners = (SELECT COUNT(*) FROM lottery_entries WHERE release_day = ?1 AND status = 'won')
                 WHERE release_day = ?1",
                params![date_s(day), ms(now)],
            )
            .map_err(db_err)?;
            c.query_row(&format!("{DRAW_SELECT} WHERE release_day = ?1"), [date_s(day)], draw_row)
                .map_err(db_err)
        })
        .await
    }

    async fn draw(&self, day: NaiveDate) -> Result<Option<Draw>> {
        self.lookup(move |c| {
            c.query_row(
                &format!("{DRAW_SELECT} WHERE release_day = ?1"),
                [date_s(day)],
                draw_row,
            )
            .optional()
            .map_err(db_err)
        })
        .await
    }

    async fn signals(
        &self,
        since: DateTime<Utc>,
        min_identities: u32,
        min_abandoned: u32,
    ) -> Result<Signals> {
        self.read(move |c| {
            let shared = |sql: &str| {
                all(c, sql, params![ms(since), min_identities], |r| {
                    Ok(SharedKey {
                        key: r.get(0)?,
                        identities: r.get(1)?,
                        bookings: r.get(2)?,
                    })
                })
            };
            let shared_phones = shared(SHARED_PHONES_SQL)?;
            let shared_addresses = shared(SHARED_ADDRESSES_SQL)?;
            let abandoned_holds = all(c, ABANDONED_SQL, params![ms(since), min_abandoned], |r| {
                Ok(AbandonedHolds {
                    client_addr: r.get(0)?,
                    holds: r.get(1)?,
                })
            })?;
            let cancel_rebook = all(c, PAIRS_SINCE_SQL, [ms(since)], pair_row)?;
            Ok(Signals {
                shared_phones,
                shared_addresses,
                abandoned_holds,
                cancel_rebook,
            })
        })
        .await
    }

    async fn upsert_persons(&self, p: &[PersonRecord], now: DateTime<Utc>) -> Result<u64> {
        let p = p.to_vec();
        self.write(move |c| {
            let mut st = c
                .prepare_cached(
                    "INSERT INTO persons (id_number, name, hukou_city, residence_permit_city, residence_permit_expires,
                       status, state_functionary, imported_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (id_number) DO UPDATE SET name = excluded.name, hukou_city = excluded.hukou_city,
                       residence_permit_city = excluded.residence_permit_city,
                       residence_permit_expires = excluded.residence_permit_expires, status = excluded.status,
                       state_functionary = excluded.state_functionary, imported_at = excluded.imported_at",
                )
                .map_err(db_err)?;
            for x in &p {
                st.execute(params![
                    x.id_number,
                    x.name,
                    x.hukou_city,
                    x.residence_permit_city,
                    x.residence_permit_expires.map(date_s),
                    enum_str(&x.status),
                    x.state_functionary,
                    ms(now)
                ])
                .map_err(db_err)?;
            }
            Ok(p.len() as u64)
        })
        .await
    }

    async fn upsert_documents(&self, d: &[DocumentRecord], now: DateTime<Utc>) -> Result<u64> {
        let d = d.to_vec();
        self.write(move |c| {
            let mut st = c
                .prepare_cached(
                    "INSERT INTO documents (id_number, kind, number, issued_on, expires_on, status, imported_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (kind, number) DO UPDATE SET id_number = excluded.id_number,
                       issued_on = excluded.issued_on, expires_on = excluded.expires_on,
                       status = excluded.status, imported_at = excluded.imported_at",
                )
                .map_err(db_err)?;
            for x in &d {
                st.execute(params![
                    x.id_number,
                    x.kind.as_str(),
                    x.number,
                    date_s(x.issued_on),
                    date_s(x.expires_on),
                    enum_str(&x.status),
                    ms(now)
                ])
                .map_err(db_err)?;
            }
            Ok(d.len() as u64)
        })
        .await
    }

    async fn person(&self, id_number: &str) -> Result<Option<PersonRecord>> {
        let id = id_number.to_string();
        self.lookup(move |c| person_by_id(c, &id)).await
    }

    async fn documents_of(&self, id_number: &str) -> Result<Vec<DocumentRecord>> {
        let id = id_number.to_string();
        self.lookup(move |c| documents_by_holder(c, &id)).await
    }

    async fn facts(&self, id_number: &str) -> Result<(Option<PersonRecord>, Vec<DocumentRecord>)> {
        let id = id_number.to_string();
        self.lookup(move |c| Ok((person_by_id(c, &id)?, documents_by_holder(c, &id)?)))
            .await
    }

    async fn apply_admin(&self, change: &AdminChange, audit: &NewAudit) -> Result<AdminOutcome> {
        let (change, audit) = (change.clone(), audit.clone());
        self.write(move |c| staff::apply(c, &change, &audit)).await
    }

    async fn staff_by_username(&self, username: &str) -> Result<Option<StaffAccount>> {
        let u = username.to_string();
        self.lookup(move |c| Ok(staff::staff_where(c, "WHERE username = ?1", [u])?.pop()))
            .await
    }

    async fn staff_by_id(&self, id: i64) -> Result<Option<StaffAccount>> {
        self.lookup(move |c| Ok(staff::staff_where(c, "WHERE id = ?1", [id])?.pop()))
            .await
    }

    async fn staff_list(&self) -> Result<Vec<StaffAccount>> {
        self.read(|c| staff::staff_where(c, "ORDER BY username", []))
            .await
    }

    async fn create_session(&self, s: &StaffSession) -> Result<()> {
        let s = s.clone();
        self.write(move |c| staff::create_session(c, &s)).await
    }

    async fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(StaffSession, StaffAccount)>> {
        let t = token_hash.to_string();
        self.lookup(move |c| staff::session(c, &t, now)).await
    }

    async fn end_session(&self, token_hash: &str) -> Result<()> {
        let t = token_hash.to_string();
        self.write(move |c| {
            c.execute("DELETE FROM staff_sessions WHERE token_hash = ?1", [t])
                .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn record_login_failure(
        &self,
        keys: &[String],
        now: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> Result<Vec<u32>> {
        let keys = keys.to_vec();
        self.write(move |c| staff::record_failure(c, &keys, now, since))
            .await
    }

    async fn login_failures(&self, keys: &[String], since: DateTime<Utc>) -> Result<Vec<u32>> {
        let keys = keys.to_vec();
        self.lookup(move |c| staff::failures(c, &keys, since)).await
    }

    async fn clear_login_failures(&self, key: &str) -> Result<()> {
        let k = key.to_string();
        self.write(move |c| {
            c.execute("DELETE FROM login_failures WHERE key = ?1", [k])
                .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn devices(&self) -> Result<Vec<Device>> {
        self.read(|c| staff::devices(c, "ORDER BY id", [])).await
    }

    async fn device_by_token_hash(&self, token_hash: &str) -> Result<Option<Device>> {
        let t = token_hash.to_string();
        self.lookup(move |c| {
            Ok(staff::devices(c, "WHERE token_hash = ?1 AND revoked_at IS NULL", [t])?.pop())
        })
        .await
    }

    async fn windows(&self, hall_id: &str) -> Result<Vec<Window>> {
        let h = hall_id.to_string();
        self.read(move |c| staff::windows(c, &h)).await
    }

    async fn hall_closures(
        &self,
        hall_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<NaiveDate>> {
        let h = hall_id.to_string();
        self.read(move |c| staff::closures(c, &h, from, to)).await
    }

    async fn audit_search(&self, q: &AuditQuery) -> Result<Vec<wujing_domain::audit::AuditEntry>> {
        let q = q.clone();
        self.read(move |c| staff::audit_search(c, &q)).await
    }

    async fn audit_chain(&self) -> Result<crate::AuditChain> {
        self.read(staff::audit_chain).await
    }

    async fn enqueue(&self, messages: &[NewMessage]) -> Result<u64> {
        let m = messages.to_vec();
        self.write(move |c| crate::sqlite_outbox::insert(c, &m))
            .await
    }

    async fn claim_messages(
        &self,
        now: DateTime<Utc>,
        lease: TimeDelta,
        limit: u32,
    ) -> Result<Vec<Message>> {
        self.write(move |c| crate::sqlite_outbox::claim(c, now, lease, limit))
            .await
    }

    async fn message_delivered(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        self.write(move |c| crate::sqlite_outbox::delivered(c, id, now))
            .await
    }

    async fn message_failed(&self, id: i64, retry_at: DateTime<Utc>, error: &str) -> Result<()> {
        let e = error.to_string();
        self.write(move |c| crate::sqlite_outbox::failed(c, id, retry_at, &e))
            .await
    }

    async fn messages_to(&self, recipient: &str, limit: u32) -> Result<Vec<Message>> {
        let r = recipient.to_string();
        self.read(move |c| crate::sqlite_outbox::to(c, &r, limit))
            .await
    }

    async fn active_bookings_on(&self, day: NaiveDate) -> Result<Vec<Booking>> {
        self.read(move |c| {
            all(
                c,
                &format!("{BOOKING_SELECT} WHERE s.day = ?1 AND b.status = 'active' ORDER BY b.id"),
                [date_s(day)],
                booking_row,
            )
        })
        .await
    }

    async fn issue_phone_code(
        &self,
        code: &NewPhoneCode,
        min_interval: TimeDelta,
        max_per_hour: u32,
        message: &NewMessage,
    ) -> Result<()> {
        let (code, message) = (code.clone(), message.clone());
        self.write(move |c| {
            crate::sqlite_outbox::issue_code(c, &code, min_interval, max_per_hour, &message)
        })
        .await
    }

    async fn verify_phone_code(
        &self,
        phone: &str,
        purpose: &str,
        code_hash: &str,
        now: DateTime<Utc>,
        max_attempts: u32,
    ) -> Result<PhoneCodeCheck> {
        let (p, u, h) = (
            phone.to_string(),
            purpose.to_string(),
            code_hash.to_string(),
        );
        self.write(move |c| crate::sqlite_outbox::verify_code(c, &p, &u, &h, now, max_attempts))
            .await
    }

    async fn secret(&self, name: &str, candidate: &str) -> Result<String> {
        let (n, v) = (name.to_string(), candidate.to_string());
        self.write(move |c| crate::sqlite_outbox::secret(c, &n, &v))
            .await
    }

    async fn active_bookings_of(&self, identity_key: &str) -> Result<Vec<Booking>> {
        let k = identity_key.to_string();
        self.read(move |c| {
            all(
                c,
                &format!("{BOOKING_SELECT} WHERE b.identity_key = ?1 AND b.status = 'active' ORDER BY s.starts_at"),
                [k],
                booking_row,
            )
        })
        .await
    }

    async fn issue_ticket(&self, t: &NewTicket) -> Result<Ticket> {
        let t = t.clone();
        self.write(move |c| crate::sqlite_hall::issue(c, &t)).await
    }

    async fn call_next(
        &self,
        hall_id: &str,
        day: NaiveDate,
        queues: &[String],
        window: u32,
        officer_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<Ticket>> {
        let (h, q) = (hall_id.to_string(), queues.to_vec());
        self.write(move |c| crate::sqlite_hall::call_next(c, &h, day, &q, window, officer_id, now))
            .await
    }

    async fn move_ticket(
        &self,
        ticket_id: i64,
        window: u32,
        m: &TicketMove,
        now: DateTime<Utc>,
    ) -> Result<Ticket> {
        let m = m.clone();
        self.write(move |c| crate::sqlite_hall::move_ticket(c, ticket_id, window, &m, now))
            .await
    }

    async fn ticket(&self, id: i64) -> Result<Option<Ticket>> {
        self.lookup(move |c| crate::sqlite_hall::by_id(c, id)).await
    }

    async fn tickets_of_day(&self, hall_id: &str, day: NaiveDate) -> Result<Vec<Ticket>> {
        let h = hall_id.to_string();
        self.read(move |c| crate::sqlite_hall::of_day(c, &h, day))
            .await
    }

    async fn record_payment(&self, p: &NewPayment) -> Result<Payment> {
        let p = p.clone();
        self.write(move |c| crate::sqlite_hall::pay(c, &p)).await
    }

    async fn reconciliation(&self, hall_id: &str, day: NaiveDate) -> Result<Vec<ReconLine>> {
        let h = hall_id.to_string();
        self.read(move |c| crate::sqlite_hall::reconciliation(c, &h, day))
            .await
    }

    async fn rate(&self, r: &NewRating, pages: &[NewMessage]) -> Result<Option<Alert>> {
        let (r, pages) = (r.clone(), pages.to_vec());
        self.write(move |c| crate::sqlite_hall::rate(c, &r, &pages))
            .await
    }

    async fn alert(&self, id: i64) -> Result<Option<Alert>> {
        self.read(move |c| Ok(crate::sqlite_hall::alerts(c, None, false, Some(id))?.pop()))
            .await
    }

    async fn urgent_request(&self, id: i64) -> Result<Option<UrgentRequest>> {
        self.read(move |c| Ok(crate::sqlite_hall::urgent(c, false, Some(id))?.pop()))
            .await
    }

    async fn alerts(&self, hall_id: Option<&str>, open_only: bool) -> Result<Vec<Alert>> {
        let h = hall_id.map(str::to_string);
        self.read(move |c| crate::sqlite_hall::alerts(c, h.as_deref(), open_only, None))
            .await
    }

    async fn escalate_alert(
        &self,
        id: i64,
        now: DateTime<Utc>,
        pages: &[NewMessage],
    ) -> Result<bool> {
        let pages = pages.to_vec();
        self.write(move |c| crate::sqlite_hall::escalate(c, id, now, &pages))
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

    async fn accept_application(&self, a: &NewApplication) -> Result<Application> {
        let a = a.clone();
        self.write(move |c| crate::sqlite_hall::accept(c, &a)).await
    }

    async fn application_of(&self, ticket_id: i64) -> Result<Option<Application>> {
        self.lookup(move |c| crate::sqlite_hall::application_of(c, ticket_id))
            .await
    }

    async fn request_urgent(
        &self,
        ticket_id: i64,
        reason: &str,
        note: &str,
        staff_id: i64,
        now: DateTime<Utc>,
    ) -> Result<UrgentRequest> {
        let (r, n) = (reason.to_string(), note.to_string());
        self.write(move |c| crate::sqlite_hall::request_urgent(c, ticket_id, &r, &n, staff_id, now))
            .await
    }

    async fn urgent_requests(&self, open_only: bool) -> Result<Vec<UrgentRequest>> {
        self.read(move |c| crate::sqlite_hall::urgent(c, open_only, None))
            .await
    }

    async fn payment_of(&self, ticket_id: i64) -> Result<Option<Payment>> {
        self.lookup(move |c| crate::sqlite_hall::payment_of(c, ticket_id))
            .await
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
                    .query_row("SELECT COUNT(*) FROM slots", [], |r| r.get(0))
                    .map_err(db_err)?;
                let oversold = ids("SELECT id FROM slots WHERE taken > capacity ORDER BY id")?;
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

/// Shared by both adapters: the statements are plain SQL that both dialects accept.
/// One pass over each table, grouped, rather than a probe per slot: bookings carry no index
/// on their slot (it would be one more page written per booking at the release minute).
pub(crate) const MISCOUNTED_SQL: &str = "SELECT s.id FROM slots s \
    LEFT JOIN (SELECT slot_id, COUNT(*) AS n FROM holds WHERE state = 'held' GROUP BY slot_id) h \
      ON h.slot_id = s.id \
    LEFT JOIN (SELECT slot_id, COUNT(*) AS n FROM bookings WHERE status = 'active' GROUP BY slot_id) b \
      ON b.slot_id = s.id \
    LEFT JOIN (SELECT slot_id, COUNT(*) AS n FROM seat_returns WHERE returned_at IS NULL GROUP BY slot_id) r \
      ON r.slot_id = s.id \
    WHERE s.taken <> COALESCE(h.n, 0) + COALESCE(b.n, 0) + COALESCE(r.n, 0) \
    ORDER BY s.id";

// The signal queries are plain SQL that both dialects accept; parameters are `since` and a
// threshold, written `?1`/`?2` here and rewritten to `$1`/`$2` for PostgreSQL.
pub(crate) const SHARED_PHONES_SQL: &str =
    "SELECT phone, COUNT(DISTINCT identity_key), COUNT(*) FROM bookings \
    WHERE created_at >= ?1 GROUP BY phone HAVING COUNT(DISTINCT identity_key) >= ?2 \
    ORDER BY 2 DESC, 1 LIMIT 100";
pub(crate) const SHARED_ADDRESSES_SQL: &str =
    "SELECT client_addr, COUNT(DISTINCT identity_key), COUNT(*) FROM bookings \
    WHERE created_at >= ?1 AND client_addr IS NOT NULL GROUP BY client_addr \
    HAVING COUNT(DISTINCT identity_key) >= ?2 ORDER BY 2 DESC, 1 LIMIT 100";
pub(crate) const ABANDONED_SQL: &str = "SELECT client_addr, COUNT(*) FROM holds \
    WHERE created_at >= ?1 AND state = 'expired' AND client_addr IS NOT NULL GROUP BY client_addr \
    HAVING COUNT(*) >= ?2 ORDER BY 2 DESC, 1 LIMIT 100";
pub(crate) const PAIRS_SINCE_SQL: &str =
    "SELECT a.code, b.code, p.kind, p.gap_ms FROM cancel_rebook p \
    JOIN bookings a ON a.id = p.cancelled_booking_id JOIN bookings b ON b.id = p.new_booking_id \
    WHERE p.recorded_at >= ?1 ORDER BY p.gap_ms, p.id LIMIT 100";

pub(crate) const ACTIVE_SQL: &str = "SELECT COUNT(*) FROM bookings WHERE status = 'active'";

pub(crate) const DUPLICATES_SQL: &str =
    "SELECT COUNT(*) FROM (SELECT identity_key, business FROM bookings \
    WHERE status = 'active' GROUP BY identity_key, business HAVING COUNT(*) > 1) d";
