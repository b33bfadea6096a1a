//! The PostgreSQL adapter: a connection pool, one transaction per state-changing method.
//!
//! READ COMMITTED is enough because every guard is a single conditional statement: the row lock
//! taken by `UPDATE … WHERE taken < capacity` makes a concurrent writer re-check the condition
//! against the committed row (NOTES.md §2). Where one transaction touches several rows of the
//! same kind (the sweeper), a deadlock with another instance's sweeper is possible, so those
//! transactions are retried.

use crate::migrations::{MigrationStatus, POSTGRES};
use crate::model::*;
use crate::postgres_staff as staff;
use crate::sqlite::{
    ABANDONED_SQL, ACTIVE_SQL, DUPLICATES_SQL, MISCOUNTED_SQL, PAIRS_SINCE_SQL,
    SHARED_ADDRESSES_SQL, SHARED_PHONES_SQL,
};
use crate::{Result, Store, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use deadpool_postgres::{GenericClient, Pool as PgPool, Runtime};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};
use wujing_domain::eligibility::{DocumentStatus, PersonStatus};
use wujing_domain::{
    DayKind, DeclaredDay, DocumentKind, DocumentRecord, Hours, PersonRecord, Pool,
};

pub struct PgStore {
    pool: PgPool,
    events: tokio::sync::broadcast::Sender<String>,
}

/// The channel hall events travel on between app servers.
const EVENTS_CHANNEL: &str = "wujing_hall_events";

/// Listens on a connection of its own and forwards notifications to `tx`; reconnects after a
/// second when the connection drops, so a database restart loses only the events in between.
fn listen(url: String, tx: tokio::sync::broadcast::Sender<String>) {
    tokio::spawn(async move {
        loop {
            match tokio_postgres::connect(&url, NoTls).await {
                Ok((client, mut conn)) => {
                    let (ntx, mut nrx) = tokio::sync::mpsc::unbounded_channel();
                    let driver = tokio::spawn(async move {
                        let mut messages =
                            futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
                        use futures_util::StreamExt;
                        while let Some(Ok(m)) = messages.next().await {
                            if let tokio_postgres::AsyncMessage::Notification(n) = m {
                                let _ = ntx.send(n.payload().to_string());
                            }
                        }
                    });
                    if client
                        .batch_execute(&format!("LISTEN {EVENTS_CHANNEL}"))
                        .await
                        .is_ok()
                    {
                        while let Some(p) = nrx.recv().await {
                            let _ = tx.send(p);
                        }
                    }
                    driver.abort();
                }
                Err(e) => tracing::warn!(error = %e, "hall events: cannot listen; retrying"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    });
}

fn db_err(e: tokio_postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        if *db.code() == SqlState::UNIQUE_VIOLATION {
            match db.constraint() {
                Some("bookings_one_active") => return StoreError::AlreadyBooked,
                Some("bookings_code_key") => return StoreError::CodeTaken,
                _ => {}
            }
        }
        return StoreError::Db(format!("{}: {}", db.code().code(), db.message()));
    }
    StoreError::Db(e.to_string())
}

/// Lets `?` turn a driver error into a store error inside the adapter.
impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        db_err(e)
    }
}

fn pool_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Db(format!("cannot get a PostgreSQL connection: {e}"))
}

fn is_retryable(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
    )
}

fn corrupt(what: &str, v: &str) -> StoreError {
    StoreError::Corrupt(format!("{what}: {v}"))
}

impl PgStore {
    pub async fn connect(url: &str) -> Result<Self> {
        let mut cfg = deadpool_postgres::Config::new();
        cfg.url = Some(url.to_string());
        cfg.pool = Some(deadpool_postgres::PoolConfig::new(16));
        let pool = cfg
            .create_pool(Some(Runtime::Tokio1), NoTls)
            .map_err(|e| StoreError::Db(format!("bad PostgreSQL URL: {e}")))?;
        let events = tokio::sync::broadcast::channel(256).0;
        listen(url.to_string(), events.clone());
        Ok(Self { pool, events })
    }

    async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(pool_err)
    }
}

const SLOT_COLS: &str =
    "s.id, s.hall_id, s.day, s.start_time, s.pool, s.starts_at, s.capacity, s.taken";

fn slot_at(r: &Row, o: usize) -> Result<Slot> {
    let start: String = r.get(o + 3);
    let pool: String = r.get(o + 4);
    Ok(Slot {
        id: r.get(o),
        hall_id: r.get(o + 1),
        day: r.get(o + 2),
        start: NaiveTime::parse_from_str(&start, "%H:%M").map_err(|_| corrupt("start", &start))?,
        pool: Pool::parse(&pool).ok_or_else(|| corrupt("pool", &pool))?,
        starts_at: r.get(o + 5),
        capacity: r.get::<_, i32>(o + 6) as u32,
        taken: r.get::<_, i32>(o + 7) as u32,
    })
}

const BOOKING_SELECT: &str =
    "SELECT b.id, b.code, b.business, b.option_code, b.identity_key, b.id_kind, \
     b.id_number, b.nationality, b.name, b.phone, b.answers, b.fee_yuan, b.channel, b.status, \
     b.created_at, b.cancelled_at, b.reschedule_count, \
     s.id, s.hall_id, s.day, s.start_time, s.pool, s.starts_at, s.capacity, s.taken, b.lang \
     FROM bookings b JOIN slots s ON s.id = b.slot_id";

fn booking_row(r: &Row) -> Result<Booking> {
    let kind: String = r.get(5);
    let status: String = r.get(13);
    Ok(Booking {
        id: r.get(0),
        code: r.get(1),
        business: r.get(2),
        option_code: r.get(3),
        identity_key: r.get(4),
        id_kind: IdKind::parse(&kind).ok_or_else(|| corrupt("id_kind", &kind))?,
        id_number: r.get(6),
        nationality: r.get(7),
        name: r.get(8),
        phone: r.get(9),
        answers_json: r.get(10),
        fee_yuan: r.get::<_, Option<i32>>(11).map(|v| v as u32),
        channel: r.get(12),
        status: BookingStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        created_at: r.get(14),
        cancelled_at: r.get(15),
        reschedule_count: r.get::<_, i32>(16) as u32,
        slot: slot_at(r, 17)?,
        lang: r.get(25),
    })
}

fn pair_row(r: &Row) -> CancelRebookPair {
    CancelRebookPair {
        cancelled_code: r.get(0),
        new_code: r.get(1),
        kind: r.get(2),
        gap_ms: r.get(3),
    }
}

async fn booking_by_id(c: &impl GenericClient, id: i64) -> Result<Option<Booking>> {
    c.query_opt(
        &c.prepare_cached(&format!("{BOOKING_SELECT} WHERE b.id = $1"))
            .await?,
        &[&id],
    )
    .await
    .map_err(db_err)?
    .map(|r| booking_row(&r))
    .transpose()
}

const ENTRY_SELECT: &str = "SELECT e.id, e.release_day, e.business, e.option_code, e.identity_key, e.id_kind, \
     e.id_number, e.nationality, e.name, e.phone, e.answers, e.hall_ids, e.channel, e.client_addr, \
     e.created_at, e.status, b.code FROM lottery_entries e LEFT JOIN bookings b ON b.id = e.booking_id";

fn entry_row(r: &Row) -> Result<LotteryEntry> {
    let kind: String = r.get(5);
    let status: String = r.get(15);
    let halls: String = r.get(11);
    Ok(LotteryEntry {
        id: r.get(0),
        entry: NewEntry {
            release_day: r.get(1),
            business: r.get(2),
            option_code: r.get(3),
            identity_key: r.get(4),
            id_kind: IdKind::parse(&kind).ok_or_else(|| corrupt("id_kind", &kind))?,
            id_number: r.get(6),
            nationality: r.get(7),
            name: r.get(8),
            phone: r.get(9),
            answers_json: r.get(10),
            hall_ids: halls
                .split(',')
                .filter(|h| !h.is_empty())
                .map(str::to_string)
                .collect(),
            channel: r.get(12),
            client_addr: r.get(13),
            now: r.get(14),
        },
        status: EntryStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        booking_code: r.get(16),
    })
}

const DRAW_SELECT: &str =
    "SELECT release_day, seed, started_at, finished_at, entries, winners FROM lottery_draws";

fn draw_row(r: &Row) -> Draw {
    Draw {
        release_day: r.get(0),
        seed: r.get::<_, i64>(1) as u64,
        started_at: r.get(2),
        finished_at: r.get(3),
        entries: r.get::<_, i32>(4) as u64,
        winners: r.get::<_, i32>(5) as u64,
    }
}

/// Entering and starting a day's draw serialise on this lock, so that no entry slips in
/// between the draw reading the entries and the draw being recorded.
async fn lock_release_day(c: &impl GenericClient, day: NaiveDate) -> Result<()> {
    c.execute(
        &c.prepare_cached(
            "SELECT pg_advisory_xact_lock(7214002, (($1::date - DATE '2000-01-01'))::int)",
        )
        .await?,
        &[&day],
    )
    .await
    .map_err(db_err)?;
    Ok(())
}

async fn insert_booking(
    c: &impl GenericClient,
    slot_id: i64,
    hold_id: Option<&str>,
    b: &NewBooking,
) -> Result<i64> {
    let fee = b.fee_yuan.map(|f| f as i32);
    Ok(c.query_one(
        &c.prepare_cached("INSERT INTO bookings (code, slot_id, hold_id, business, option_code, identity_key, id_kind, id_number,
           nationality, name, phone, answers, fee_yuan, channel, status, created_at, reschedule_count, client_addr, lang)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'active', $15, 0, $16, $17) RETURNING id").await?,
        &[&b.code, &slot_id, &hold_id, &b.business, &b.option_code, &b.identity_key,
          &b.id_kind.as_str(), &b.id_number, &b.nationality, &b.name, &b.phone, &b.answers_json,
          &fee, &b.channel, &b.now, &b.client_addr, &b.lang],
    )
    .await
    .map_err(db_err)?
    .get(0))
}

/// The rate-limit part of the hold and confirmation statements, over parameters $7 (keys),
/// $8 (limits) and $9 (window start): every key counts one hit, and `ok` says whether all are
/// within their limits. A hit over the limit is still counted (the attempt was made); what is
/// refused is the seat. Keys are sorted, so two requests sharing keys lock the counter rows in
/// the same order.
const LIMITS_CTE: &str = "lim AS (SELECT * FROM unnest($7::text[], $8::int[]) AS l(k, lim)),
      rl AS (INSERT INTO rate_limits (key, window_start, hits) SELECT k, $9, 1 FROM lim
             ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_limits.hits + 1
             RETURNING key, hits),
      ok AS (SELECT COALESCE(bool_and(rl.hits <= lim.lim), true) AS ok
             FROM rl JOIN lim ON lim.k = rl.key)";

type LimitParams = (Vec<String>, Vec<i32>, DateTime<Utc>, i64);

fn limit_params(rules: &[RateRule], now: DateTime<Utc>) -> LimitParams {
    let (window, retry) = rate_window(now);
    let mut rules: Vec<&RateRule> = rules.iter().collect();
    rules.sort_by(|a, b| a.key.cmp(&b.key));
    (
        rules.iter().map(|r| r.key.clone()).collect(),
        rules
            .iter()
            .map(|r| r.limit.min(i32::MAX as u32) as i32)
            .collect(),
        window,
        retry,
    )
}

async fn take_seat(c: &impl GenericClient, slot_id: i64) -> Result<()> {
    let n = c
        .execute(
            &c.prepare_cached(
                "UPDATE slots SET taken = taken + 1 WHERE id = $1 AND taken < capacity",
            )
            .await?,
            &[&slot_id],
        )
        .await
        .map_err(db_err)?;
    if n == 1 {
        return Ok(());
    }
    let exists = c
        .query_opt(
            &c.prepare_cached("SELECT id FROM slots WHERE id = $1")
                .await?,
            &[&slot_id],
        )
        .await
        .map_err(db_err)?;
    Err(match exists {
        Some(_) => StoreError::SlotFull,
        None => StoreError::NotFound("slot"),
    })
}

async fn schedule_return(
    c: &impl GenericClient,
    slot_id: i64,
    booking_id: i64,
    reason: &str,
    now: DateTime<Utc>,
    return_at: DateTime<Utc>,
) -> Result<()> {
    let returned = (return_at <= now).then_some(now);
    // The slot's row lock comes before the insert: the insert's foreign-key check takes a
    // KEY SHARE lock on the slot, and two cancellations upgrading their shared locks to update
    // the same slot would deadlock.
    if returned.is_some() {
        c.execute(
            &c.prepare_cached("UPDATE slots SET taken = taken - 1 WHERE id = $1")
                .await?,
            &[&slot_id],
        )
        .await
        .map_err(db_err)?;
    }
    c.execute(
        &c.prepare_cached("INSERT INTO seat_returns (slot_id, booking_id, reason, return_at, returned_at) VALUES ($1, $2, $3, $4, $5)").await?,
        &[&slot_id, &booking_id, &reason, &return_at, &returned],
    )
    .await
    .map_err(db_err)?;
    Ok(())
}

const PERSON_SQL: &str = "SELECT id_number, name, hukou_city, residence_permit_city, \
    residence_permit_expires, status, state_functionary FROM persons WHERE id_number = $1";
const DOCUMENTS_SQL: &str = "SELECT id_number, kind, number, issued_on, expires_on, status \
    FROM documents WHERE id_number = $1 ORDER BY issued_on";

fn person_row(r: &Row) -> Result<PersonRecord> {
    Ok(PersonRecord {
        id_number: r.get(0),
        name: r.get(1),
        hukou_city: r.get(2),
        residence_permit_city: r.get(3),
        residence_permit_expires: r.get(4),
        status: enum_parse::<PersonStatus>("status", r.get(5))?,
        state_functionary: r.get(6),
    })
}

fn document_row(r: &Row) -> Result<DocumentRecord> {
    let kind: String = r.get(1);
    Ok(DocumentRecord {
        id_number: r.get(0),
        kind: DocumentKind::parse(&kind).ok_or_else(|| corrupt("kind", &kind))?,
        number: r.get(2),
        issued_on: r.get(3),
        expires_on: r.get(4),
        status: enum_parse::<DocumentStatus>("status", r.get(5))?,
    })
}

fn enum_str<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn enum_parse<T: serde::de::DeserializeOwned>(what: &str, s: String) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(s.clone())).map_err(|_| corrupt(what, &s))
}

const HALL_SELECT: &str =
    "SELECT h.id, h.district_id, h.name_zh, h.name_en, h.address_zh, h.address_en, \
    h.weekdays, h.sessions, h.slot_minutes, h.serves_foreigners, \
    (SELECT COUNT(*) FROM windows w WHERE w.hall_id = h.id) FROM halls h";

async fn hall_rows(c: &impl GenericClient, rows: Vec<Row>) -> Result<Vec<Hall>> {
    let caps = c
        .query(
            &c.prepare_cached(
                "SELECT hall_id, pool, seats_per_slot FROM pool_capacity ORDER BY hall_id, pool",
            )
            .await?,
            &[],
        )
        .await
        .map_err(db_err)?;
    rows.into_iter()
        .map(|r| {
            let id: String = r.get(0);
            let weekdays: String = r.get(6);
            let sessions: String = r.get(7);
            let capacity = caps
                .iter()
                .filter(|c| c.get::<_, String>(0) == id)
                .map(|c| {
                    let p: String = c.get(1);
                    Ok((
                        Pool::parse(&p).ok_or_else(|| corrupt("pool", &p))?,
                        c.get::<_, i32>(2) as u32,
                    ))
                })
                .collect::<Result<Vec<_>>>()?;
            let mut capacity = capacity;
            capacity.sort();
            Ok(Hall {
                district_id: r.get(1),
                name_zh: r.get(2),
                name_en: r.get(3),
                address_zh: r.get(4),
                address_en: r.get(5),
                weekdays: weekdays
                    .split(',')
                    .filter_map(|d| d.trim().parse().ok())
                    .collect(),
                sessions: Hours::parse_sessions(&sessions)
                    .ok_or_else(|| corrupt("sessions", &sessions))?,
                slot_minutes: r.get::<_, i32>(8) as u32,
                serves_foreigners: r.get(9),
                window_count: r.get::<_, i64>(10) as u32,
                capacity,
                id,
            })
        })
        .collect()
}

#[async_trait]
impl Store for PgStore {
    fn dialect(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> Result<()> {
        self.client()
            .await?
            .query_one("SELECT 1", &[])
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn count_requests(&self, rules: &[RateRule], now: DateTime<Utc>) -> Result<()> {
        if rules.is_empty() {
            return Ok(());
        }
        let c = self.client().await?;
        let (keys, limits, window, retry) = limit_params(rules, now);
        // The hold's counting statement, alone: its parameters renumbered from $7–$9 to $1–$3.
        let cte = LIMITS_CTE
            .replace("$7", "$1")
            .replace("$8", "$2")
            .replace("$9", "$3");
        let st = c
            .prepare_cached(&format!("WITH {cte} SELECT ok FROM ok"))
            .await?;
        let ok: bool = c.query_one(&st, &[&keys, &limits, &window]).await?.get(0);
        if !ok {
            return Err(StoreError::RateLimited {
                retry_after_secs: retry,
            });
        }
        Ok(())
    }

    async fn migrate(&self) -> Result<Vec<i64>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        // Serialises concurrent `migrate` runs from several instances.
        tx.execute(
            &tx.prepare_cached("SELECT pg_advisory_xact_lock(7214001)")
                .await?,
            &[],
        )
        .await
        .map_err(db_err)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)",
        )
        .await
        .map_err(db_err)?;
        let applied: Vec<i64> = tx
            .query(
                &tx.prepare_cached("SELECT version FROM schema_migrations")
                    .await?,
                &[],
            )
            .await
            .map_err(db_err)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut done = Vec::new();
        for m in POSTGRES.iter().filter(|m| !applied.contains(&m.version)) {
            tx.batch_execute(m.sql).await.map_err(db_err)?;
            tx.execute(
                &tx.prepare_cached("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now())").await?,
                &[&m.version, &m.name],
            )
            .await
            .map_err(db_err)?;
            done.push(m.version);
        }
        tx.commit().await.map_err(db_err)?;
        Ok(done)
    }

    async fn migration_status(&self) -> Result<MigrationStatus> {
        let c = self.client().await?;
        let exists: bool = c
            .query_one(
                &c.prepare_cached("SELECT to_regclass('schema_migrations') IS NOT NULL")
                    .await?,
                &[],
            )
            .await
            .map_err(db_err)?
            .get(0);
        let applied = if exists {
            c.query(
                &c.prepare_cached("SELECT version FROM schema_migrations ORDER BY version")
                    .await?,
                &[],
            )
            .await
            .map_err(db_err)?
            .iter()
            .map(|r| r.get(0))
            .collect()
        } else {
            Vec::new()
        };
        Ok(MigrationStatus {
            applied,
            known: POSTGRES.iter().map(|m| m.version).collect(),
        })
    }

    async fn put_district(&self, d: &District) -> Result<()> {
        self.client()
            .await?
            .execute(
                "INSERT INTO districts (id, name_zh, name_en) VALUES ($1, $2, $3)
                 ON CONFLICT (id) DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en",
                &[&d.id, &d.name_zh, &d.name_en],
            )
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn put_hall(&self, h: &HallSetup) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        let x = &h.hall;
        let weekdays = x
            .weekdays
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        tx.execute(
            &tx.prepare_cached("INSERT INTO halls (id, district_id, name_zh, name_en, address_zh, address_en, weekdays, sessions, slot_minutes, serves_foreigners)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (id) DO UPDATE SET district_id = excluded.district_id, name_zh = excluded.name_zh,
               name_en = excluded.name_en, address_zh = excluded.address_zh, address_en = excluded.address_en,
               weekdays = excluded.weekdays, sessions = excluded.sessions, slot_minutes = excluded.slot_minutes,
               serves_foreigners = excluded.serves_foreigners").await?,
            &[&x.id, &x.district_id, &x.name_zh, &x.name_en, &x.address_zh, &x.address_en, &weekdays,
              &Hours::format_sessions(&x.sessions), &(x.slot_minutes as i32), &x.serves_foreigners],
        )
        .await
        .map_err(db_err)?;
        tx.execute(
            &tx.prepare_cached("DELETE FROM windows WHERE hall_id = $1")
                .await?,
            &[&x.id],
        )
        .await
        .map_err(db_err)?;
        for w in &h.windows {
            tx.execute(
                &tx.prepare_cached(
                    "INSERT INTO windows (hall_id, number, kind) VALUES ($1, $2, $3)",
                )
                .await?,
                &[&x.id, &(w.number as i32), &w.kind],
            )
            .await
            .map_err(db_err)?;
        }
        for (pool, seats) in &x.capacity {
            tx.execute(
                &tx.prepare_cached("INSERT INTO pool_capacity (hall_id, pool, seats_per_slot) VALUES ($1, $2, $3)
                 ON CONFLICT (hall_id, pool) DO UPDATE SET seats_per_slot = excluded.seats_per_slot").await?,
                &[&x.id, &pool.as_str(), &(*seats as i32)],
            )
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn districts(&self) -> Result<Vec<District>> {
        Ok(self
            .client()
            .await?
            .query(
                "SELECT id, name_zh, name_en FROM districts ORDER BY id",
                &[],
            )
            .await
            .map_err(db_err)?
            .iter()
            .map(|r| District {
                id: r.get(0),
                name_zh: r.get(1),
                name_en: r.get(2),
            })
            .collect())
    }

    async fn halls(&self) -> Result<Vec<Hall>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &c.prepare_cached(&format!("{HALL_SELECT} ORDER BY h.id"))
                    .await?,
                &[],
            )
            .await
            .map_err(db_err)?;
        hall_rows(&c, rows).await
    }

    async fn hall(&self, id: &str) -> Result<Option<Hall>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &c.prepare_cached(&format!("{HALL_SELECT} WHERE h.id = $1"))
                    .await?,
                &[&id],
            )
            .await
            .map_err(db_err)?;
        Ok(hall_rows(&c, rows).await?.pop())
    }

    async fn put_calendar_days(&self, days: &[DeclaredDay]) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        for d in days {
            tx.execute(
                &tx.prepare_cached(
                    "INSERT INTO calendar_days (day, kind, name) VALUES ($1, $2, $3)
                 ON CONFLICT (day) DO UPDATE SET kind = excluded.kind, name = excluded.name",
                )
                .await?,
                &[&d.date, &enum_str(&d.kind), &d.name],
            )
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn calendar_days(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<DeclaredDay>> {
        self.client()
            .await?
            .query(
                "SELECT day, kind, name FROM calendar_days WHERE day >= $1 AND day <= $2 ORDER BY day",
                &[&from, &to],
            )
            .await
            .map_err(db_err)?
            .into_iter()
            .map(|r| {
                Ok(DeclaredDay {
                    date: r.get(0),
                    kind: enum_parse::<DayKind>("kind", r.get(1))?,
                    name: r.get(2),
                })
            })
            .collect()
    }

    async fn ensure_slots(&self, slots: &[NewSlot]) -> Result<u64> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        let st = tx
            .prepare(
                "INSERT INTO slots (hall_id, day, start_time, pool, starts_at, capacity, taken)
                 VALUES ($1, $2, $3, $4, $5, $6, 0) ON CONFLICT DO NOTHING",
            )
            .await
            .map_err(db_err)?;
        let mut n = 0;
        for s in slots {
            n += tx
                .execute(
                    &st,
                    &[
                        &s.hall_id,
                        &s.day,
                        &s.start.format("%H:%M").to_string(),
                        &s.pool.as_str(),
                        &s.starts_at,
                        &(s.capacity as i32),
                    ],
                )
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(n)
    }

    async fn slots(&self, q: &SlotQuery) -> Result<Vec<Slot>> {
        let mut sql = format!("SELECT {SLOT_COLS} FROM slots s WHERE 1 = 1");
        let mut args: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
        let mut arg = |sql: &mut String, clause: &str, v: Box<dyn ToSql + Sync + Send>| {
            args.push(v);
            sql.push_str(&clause.replace('?', &format!("${}", args.len())));
        };
        if let Some(ids) = &q.hall_ids {
            arg(&mut sql, " AND s.hall_id = ANY(?)", Box::new(ids.clone()));
        }
        if let Some(d) = q.from {
            arg(&mut sql, " AND s.day >= ?", Box::new(d));
        }
        if let Some(d) = q.to {
            arg(&mut sql, " AND s.day <= ?", Box::new(d));
        }
        if let Some(t) = q.start {
            arg(
                &mut sql,
                " AND s.start_time = ?",
                Box::new(t.format("%H:%M").to_string()),
            );
        }
        if let Some(p) = q.pool {
            arg(
                &mut sql,
                " AND s.pool = ?",
                Box::new(p.as_str().to_string()),
            );
        }
        if let Some(t) = q.starts_after {
            arg(&mut sql, " AND s.starts_at > ?", Box::new(t));
        }
        if q.only_free {
            sql.push_str(" AND s.taken < s.capacity");
        }
        sql.push_str(" ORDER BY s.day, s.start_time, s.hall_id, s.pool");
        if let Some(l) = q.limit {
            sql.push_str(&format!(" LIMIT {l}"));
        }
        let refs: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| &**a as _).collect();
        self.client()
            .await?
            .query(&sql, &refs)
            .await
            .map_err(db_err)?
            .iter()
            .map(|r| slot_at(r, 0))
            .collect()
    }

    async fn slot(&self, id: i64) -> Result<Option<Slot>> {
        let c = self.client().await?;
        let st = c
            .prepare_cached(&format!("SELECT {SLOT_COLS} FROM slots s WHERE s.id = $1"))
            .await?;
        c.query_opt(&st, &[&id])
            .await?
            .map(|r| slot_at(&r, 0))
            .transpose()
    }

    async fn create_hold(&self, h: &NewHold) -> Result<Hold> {
        retry(|| self.create_hold_once(h)).await
    }

    async fn hold(&self, id: &str) -> Result<Option<Hold>> {
        self.client()
            .await?
            .query_opt(
                "SELECT id, slot_id, business, state, created_at, expires_at FROM holds WHERE id = $1",
                &[&id],
            )
            .await
            .map_err(db_err)?
            .map(|r| {
                let state: String = r.get(3);
                Ok(Hold {
                    id: r.get(0),
                    slot_id: r.get(1),
                    business: r.get(2),
                    state: HoldState::parse(&state).ok_or_else(|| corrupt("state", &state))?,
                    created_at: r.get(4),
                    expires_at: r.get(5),
                })
            })
            .transpose()
    }

    async fn confirm_hold(&self, b: &NewBooking) -> Result<Booking> {
        retry(|| self.confirm_hold_once(b)).await
    }

    async fn detect_pairs(
        &self,
        now: DateTime<Utc>,
        identity_window: TimeDelta,
        handoff_window: TimeDelta,
    ) -> Result<u64> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        // Only one scanner at a time, so that the mark never goes backwards.
        tx.execute("SELECT pg_advisory_xact_lock(7214003)", &[])
            .await?;
        let mark: Option<DateTime<Utc>> = tx
            .query_opt(
                "SELECT at FROM scan_marks WHERE name = 'cancel_rebook'",
                &[],
            )
            .await?
            .map(|r| r.get(0));
        // Overlap by a minute: app servers' clocks differ a little; pairs are deduplicated.
        let since = mark.map_or(now - identity_window, |m| m - TimeDelta::minutes(1));
        let same = tx
            .execute(
                "INSERT INTO cancel_rebook (cancelled_booking_id, new_booking_id, kind, gap_ms, recorded_at)
                 SELECT o.id, n.id, 'same_identity', (EXTRACT(EPOCH FROM (n.created_at - o.cancelled_at)) * 1000)::BIGINT, $1
                 FROM bookings n JOIN bookings o ON o.identity_key = n.identity_key AND o.business = n.business
                   AND o.id <> n.id AND o.status = 'cancelled'
                   AND o.cancelled_at <= n.created_at AND o.cancelled_at >= n.created_at - $3::bigint * interval '1 millisecond'
                 WHERE n.created_at > $2 AND n.created_at <= $1
                   AND NOT EXISTS (SELECT 1 FROM cancel_rebook p WHERE p.cancelled_booking_id = o.id AND p.new_booking_id = n.id)",
                &[&now, &since, &identity_window.num_milliseconds()],
            )
            .await?;
        let handoff = tx
            .execute(
                "INSERT INTO cancel_rebook (cancelled_booking_id, new_booking_id, kind, gap_ms, recorded_at)
                 SELECT r.booking_id, n.id, 'seat_handoff', (EXTRACT(EPOCH FROM (n.created_at - r.returned_at)) * 1000)::BIGINT, $1
                 FROM bookings n JOIN seat_returns r ON r.slot_id = n.slot_id AND r.returned_at IS NOT NULL
                   AND r.returned_at <= n.created_at AND r.returned_at >= n.created_at - $3::bigint * interval '1 millisecond'
                 JOIN bookings o ON o.id = r.booking_id AND o.identity_key <> n.identity_key
                 WHERE n.created_at > $2 AND n.created_at <= $1
                   AND NOT EXISTS (SELECT 1 FROM cancel_rebook p WHERE p.cancelled_booking_id = r.booking_id AND p.new_booking_id = n.id)",
                &[&now, &since, &handoff_window.num_milliseconds()],
            )
            .await?;
        tx.execute(
            "INSERT INTO scan_marks (name, at) VALUES ('cancel_rebook', $1)
             ON CONFLICT (name) DO UPDATE SET at = GREATEST(scan_marks.at, excluded.at)",
            &[&now],
        )
        .await?;
        tx.commit().await?;
        Ok(same + handoff)
    }

    async fn booking_by_id(&self, id: i64) -> Result<Option<Booking>> {
        let c = self.client().await?;
        booking_by_id(&c, id).await
    }

    async fn booking_by_code(&self, code: &str) -> Result<Option<Booking>> {
        self.client()
            .await?
            .query_opt(&format!("{BOOKING_SELECT} WHERE b.code = $1"), &[&code])
            .await
            .map_err(db_err)?
            .map(|r| booking_row(&r))
            .transpose()
    }

    async fn cancel_booking(
        &self,
        booking_id: i64,
        now: DateTime<Utc>,
        return_at: DateTime<Utc>,
    ) -> Result<Booking> {
        retry(|| self.cancel_booking_once(booking_id, now, return_at)).await
    }

    async fn reschedule_booking(
        &self,
        booking_id: i64,
        new_slot_id: i64,
        now: DateTime<Utc>,
        return_at: DateTime<Utc>,
    ) -> Result<Booking> {
        retry(|| self.reschedule_booking_once(booking_id, new_slot_id, now, return_at)).await
    }

    async fn sweep(&self, now: DateTime<Utc>) -> Result<SweepReport> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut c = self.client().await?;
            let r: std::result::Result<SweepReport, tokio_postgres::Error> = async {
                let tx = c.transaction().await?;
                // Lock the affected slots in id order first: reschedules lock their two slots in
                // the same order, so the two can never wait on each other in a cycle.
                tx.execute(
                    &tx.prepare_cached("SELECT id FROM slots WHERE id IN (
                        SELECT slot_id FROM holds WHERE state = 'held' AND expires_at <= $1
                        UNION SELECT slot_id FROM seat_returns WHERE returned_at IS NULL AND return_at <= $1)
                     ORDER BY id FOR UPDATE").await?,
                    &[&now],
                )
                .await?;
                let expired: i64 = tx
                    .query_one(
                        &tx.prepare_cached("WITH e AS (UPDATE holds SET state = 'expired' WHERE state = 'held' AND expires_at <= $1 RETURNING slot_id),
                              n AS (SELECT slot_id, COUNT(*) AS k FROM e GROUP BY slot_id),
                              u AS (UPDATE slots s SET taken = s.taken - n.k FROM n WHERE s.id = n.slot_id RETURNING n.k)
                         SELECT COALESCE(SUM(k), 0)::BIGINT FROM u").await?,
                        &[&now],
                    )
                    .await?
                    .get(0);
                let returned: i64 = tx
                    .query_one(
                        &tx.prepare_cached("WITH e AS (UPDATE seat_returns SET returned_at = $1 WHERE returned_at IS NULL AND return_at <= $1 RETURNING slot_id),
                              n AS (SELECT slot_id, COUNT(*) AS k FROM e GROUP BY slot_id),
                              u AS (UPDATE slots s SET taken = s.taken - n.k FROM n WHERE s.id = n.slot_id RETURNING n.k)
                         SELECT COALESCE(SUM(k), 0)::BIGINT FROM u").await?,
                        &[&now],
                    )
                    .await?
                    .get(0);
                                tx.execute(
                    &tx.prepare_cached("DELETE FROM rate_limits WHERE window_start < $1").await?,
                    &[&(now - TimeDelta::hours(1))],
                )
                .await?;
                tx.commit().await?;
                Ok(SweepReport {
                    expired_holds: expired as u64,
                    returned_seats: returned as u64,
                })
            }
            .await;
            match r {
                Ok(r) => return Ok(r),
                Err(e) if attempt < 4 && is_retryable(&e) => continue,
                Err(e) => return Err(db_err(e)),
            }
        }
    }

    async fn cancel_rebook_pairs(&self) -> Result<Vec<CancelRebookPair>> {
        Ok(self
            .client()
            .await?
            .query(
                "SELECT a.code, b.code, p.kind, p.gap_ms FROM cancel_rebook p
                 JOIN bookings a ON a.id = p.cancelled_booking_id
                 JOIN bookings b ON b.id = p.new_booking_id ORDER BY p.id",
                &[],
            )
            .await
            .map_err(db_err)?
            .iter()
            .map(pair_row)
            .collect())
    }

    async fn add_lottery_entry(&self, e: &NewEntry) -> Result<LotteryEntry> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        lock_release_day(&tx, e.release_day).await?;
        let drawn = tx
            .query_opt(
                &tx.prepare_cached("SELECT 1 FROM lottery_draws WHERE release_day = $1")
                    .await?,
                &[&e.release_day],
            )
            .await
            .map_err(db_err)?;
        if drawn.is_some() {
            return Err(StoreError::NotFound("open lottery"));
        }
        let r = tx
            .query_one(
                &tx.prepare_cached("INSERT INTO lottery_entries (release_day, business, option_code, identity_key, id_kind, id_number,
                   nationality, name, phone, answers, hall_ids, channel, client_addr, created_at, status)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'entered') RETURNING id").await?,
                &[&e.release_day, &e.business, &e.option_code, &e.identity_key, &e.id_kind.as_str(),
                  &e.id_number, &e.nationality, &e.name, &e.phone, &e.answers_json, &e.hall_ids.join(","),
                  &e.channel, &e.client_addr, &e.now],
            )
            .await;
        let id: i64 = match r {
            Ok(r) => r.get(0),
            Err(err) if err.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                return Err(StoreError::AlreadyEntered)
            }
            Err(err) => return Err(db_err(err)),
        };
        let row = tx
            .query_one(
                &tx.prepare_cached(&format!("{ENTRY_SELECT} WHERE e.id = $1"))
                    .await?,
                &[&id],
            )
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        entry_row(&row)
    }

    async fn lottery_entry(&self, id: i64) -> Result<Option<LotteryEntry>> {
        self.client()
            .await?
            .query_opt(&format!("{ENTRY_SELECT} WHERE e.id = $1"), &[&id])
            .await
            .map_err(db_err)?
            .map(|r| entry_row(&r))
            .transpose()
    }

    async fn lottery_entries(&self, day: NaiveDate) -> Result<Vec<LotteryEntry>> {
        self.client()
            .await?
            .query(
                &format!("{ENTRY_SELECT} WHERE e.release_day = $1 ORDER BY e.id"),
                &[&day],
            )
            .await?
            .iter()
            .map(entry_row)
            .collect()
    }

    async fn start_draw(
        &self,
        day: NaiveDate,
        seed: u64,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<LotteryEntry>>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        lock_release_day(&tx, day).await?;
        let n = tx
            .execute(
                &tx.prepare_cached("INSERT INTO lottery_draws (release_day, seed, started_at, entries, winners)
                 VALUES ($1, $2, $3, (SELECT COUNT(*) FROM lottery_entries WHERE release_day = $1), 0)
                 ON CONFLICT (release_day) DO NOTHING").await?,
                &[&day, &(seed as i64), &now],
            )
            .await
            .map_err(db_err)?;
        if n == 0 {
            return Ok(None);
        }
        let rows = tx
            .query(
                &tx.prepare_cached(&format!("{ENTRY_SELECT} WHERE e.release_day = $1 AND e.status = 'entered' ORDER BY e.id")).await?,
                &[&day],
            )
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        rows.iter()
            .map(entry_row)
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    async fn award_entry(&self, entry_id: i64, slot_id: i64, b: &NewBooking) -> Result<Booking> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        take_seat(&tx, slot_id).await?;
        let id = insert_booking(&tx, slot_id, None, b).await?;
        crate::postgres_outbox::insert(&tx, &b.notices).await?;
        let n = tx
            .execute(
                &tx.prepare_cached("UPDATE lottery_entries SET status = 'won', booking_id = $2 WHERE id = $1 AND status = 'entered'").await?,
                &[&entry_id, &id],
            )
            .await
            .map_err(db_err)?;
        if n == 0 {
            return Err(StoreError::NotFound("entry"));
        }
        let booking = booking_by_id(&tx, id)
            .await?
            .ok_or(StoreError::NotFound("booking"))?;
        tx.commit().await.map_err(db_err)?;
        Ok(booking)
    }

    async fn finish_draw(&self, day: NaiveDate, now: DateTime<Utc>) -> Result<Draw> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        tx.execute(
            &tx.prepare_cached("UPDATE lottery_entries SET status = 'lost' WHERE release_day = $1 AND status = 'entered'").await?,
            &[&day],
        )
        .await
        .map_err(db_err)?;
        tx.execute(
            &tx.prepare_cached("UPDATE lottery_draws SET finished_at = $2,
               winners = (SELECT COUNT(*) FROM lottery_entries WHERE release_day = $1 AND status = 'won')
             WHERE release_day = $1").await?,
            &[&day, &now],
        )
        .await
        .map_err(db_err)?;
        let row = tx
            .query_one(
                &tx.prepare_cached(&format!("{DRAW_SELECT} WHERE release_day = $1"))
                    .await?,
                &[&day],
            )
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(draw_row(&row))
    }

    async fn draw(&self, day: NaiveDate) -> Result<Option<Draw>> {
        Ok(self
            .client()
            .await?
            .query_opt(&format!("{DRAW_SELECT} WHERE release_day = $1"), &[&day])
            .await
            .map_err(db_err)?
            .map(|r| draw_row(&r)))
    }

    async fn signals(
        &self,
        since: DateTime<Utc>,
        min_identities: u32,
        min_abandoned: u32,
    ) -> Result<Signals> {
        let c = self.client().await?;
        let pg = |sql: &str| sql.replace("?1", "$1").replace("?2", "$2");
        let (mi, ma) = (i64::from(min_identities), i64::from(min_abandoned));
        let shared = |rows: Vec<Row>| {
            rows.iter()
                .map(|r| SharedKey {
                    key: r.get(0),
                    identities: r.get::<_, i64>(1) as u64,
                    bookings: r.get::<_, i64>(2) as u64,
                })
                .collect::<Vec<_>>()
        };
        let shared_phones = shared(
            c.query(
                &c.prepare_cached(&pg(SHARED_PHONES_SQL)).await?,
                &[&since, &mi],
            )
            .await
            .map_err(db_err)?,
        );
        let shared_addresses = shared(
            c.query(
                &c.prepare_cached(&pg(SHARED_ADDRESSES_SQL)).await?,
                &[&since, &mi],
            )
            .await
            .map_err(db_err)?,
        );
        let abandoned_holds = c
            .query(&c.prepare_cached(&pg(ABANDONED_SQL)).await?, &[&since, &ma])
            .await
            .map_err(db_err)?
            .iter()
            .map(|r| AbandonedHolds {
                client_addr: r.get(0),
                holds: r.get::<_, i64>(1) as u64,
            })
            .collect();
        let cancel_rebook = c
            .query(&c.prepare_cached(&pg(PAIRS_SINCE_SQL)).await?, &[&since])
            .await
            .map_err(db_err)?
            .iter()
            .map(pair_row)
            .collect();
        Ok(Signals {
            shared_phones,
            shared_addresses,
            abandoned_holds,
            cancel_rebook,
        })
    }

    async fn upsert_persons(&self, p: &[PersonRecord], now: DateTime<Utc>) -> Result<u64> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        for x in p {
            tx.execute(
                &tx.prepare_cached("INSERT INTO persons (id_number, name, hukou_city, residence_permit_city, residence_permit_expires,
                   status, state_functionary, imported_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (id_number) DO UPDATE SET name = excluded.name, hukou_city = excluded.hukou_city,
                   residence_permit_city = excluded.residence_permit_city,
                   residence_permit_expires = excluded.residence_permit_expires, status = excluded.status,
                   state_functionary = excluded.state_functionary, imported_at = excluded.imported_at").await?,
                &[&x.id_number, &x.name, &x.hukou_city, &x.residence_permit_city, &x.residence_permit_expires,
                  &enum_str(&x.status), &x.state_functionary, &now],
            )
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(p.len() as u64)
    }

    async fn upsert_documents(&self, d: &[DocumentRecord], now: DateTime<Utc>) -> Result<u64> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        for x in d {
            tx.execute(
                &tx.prepare_cached("INSERT INTO documents (id_number, kind, number, issued_on, expires_on, status, imported_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (kind, number) DO UPDATE SET id_number = excluded.id_number,
                   issued_on = excluded.issued_on, expires_on = excluded.expires_on,
                   status = excluded.status, imported_at = excluded.imported_at").await?,
                &[&x.id_number, &x.kind.as_str(), &x.number, &x.issued_on, &x.expires_on,
                  &enum_str(&x.status), &now],
            )
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(d.len() as u64)
    }

    async fn facts(&self, id_number: &str) -> Result<(Option<PersonRecord>, Vec<DocumentRecord>)> {
        let c = self.client().await?;
        let p = c.prepare_cached(PERSON_SQL).await?;
        let d = c.prepare_cached(DOCUMENTS_SQL).await?;
        // Polled together, the two queries are pipelined on the connection: one round trip.
        let params: [&(dyn ToSql + Sync); 1] = [&id_number];
        let (person, docs) = tokio::join!(c.query_opt(&p, &params), c.query(&d, &params));
        let person = person?.map(|r| person_row(&r)).transpose()?;
        let docs = docs?.iter().map(document_row).collect::<Result<Vec<_>>>()?;
        Ok((person, docs))
    }

    async fn person(&self, id_number: &str) -> Result<Option<PersonRecord>> {
        self.client()
            .await?
            .query_opt(PERSON_SQL, &[&id_number])
            .await
            .map_err(db_err)?
            .map(|r| person_row(&r))
            .transpose()
    }

    async fn documents_of(&self, id_number: &str) -> Result<Vec<DocumentRecord>> {
        self.client()
            .await?
            .query(DOCUMENTS_SQL, &[&id_number])
            .await
            .map_err(db_err)?
            .iter()
            .map(document_row)
            .collect()
    }

    async fn apply_admin(&self, change: &AdminChange, audit: &NewAudit) -> Result<AdminOutcome> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        let out = staff::apply(&tx, change, audit).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    async fn staff_by_username(&self, username: &str) -> Result<Option<StaffAccount>> {
        let c = self.client().await?;
        Ok(staff::staff_where(&c, "WHERE username = $1", &[&username])
            .await?
            .pop())
    }

    async fn staff_by_id(&self, id: i64) -> Result<Option<StaffAccount>> {
        let c = self.client().await?;
        Ok(staff::staff_where(&c, "WHERE id = $1", &[&id]).await?.pop())
    }

    async fn staff_list(&self) -> Result<Vec<StaffAccount>> {
        let c = self.client().await?;
        staff::staff_where(&c, "ORDER BY username", &[]).await
    }

    async fn create_session(&self, s: &StaffSession) -> Result<()> {
        let c = self.client().await?;
        staff::create_session(&c, s).await
    }

    async fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(StaffSession, StaffAccount)>> {
        let c = self.client().await?;
        staff::session(&c, token_hash, now).await
    }

    async fn end_session(&self, token_hash: &str) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "DELETE FROM staff_sessions WHERE token_hash = $1",
            &[&token_hash],
        )
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn record_login_failure(
        &self,
        keys: &[String],
        now: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> Result<Vec<u32>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        let out = staff::record_failure(&tx, keys, now, since).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    async fn login_failures(&self, keys: &[String], since: DateTime<Utc>) -> Result<Vec<u32>> {
        let c = self.client().await?;
        staff::failures(&c, keys, since).await
    }

    async fn clear_login_failures(&self, key: &str) -> Result<()> {
        let c = self.client().await?;
        c.execute("DELETE FROM login_failures WHERE key = $1", &[&key])
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn devices(&self) -> Result<Vec<Device>> {
        let c = self.client().await?;
        staff::devices(&c, "ORDER BY id", &[]).await
    }

    async fn device_by_token_hash(&self, token_hash: &str) -> Result<Option<Device>> {
        let c = self.client().await?;
        Ok(staff::devices(
            &c,
            "WHERE token_hash = $1 AND revoked_at IS NULL",
            &[&token_hash],
        )
        .await?
        .pop())
    }

    async fn windows(&self, hall_id: &str) -> Result<Vec<Window>> {
        let c = self.client().await?;
        staff::windows(&c, hall_id).await
    }

    async fn hall_closures(
        &self,
        hall_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<NaiveDate>> {
        let c = self.client().await?;
        staff::closures(&c, hall_id, from, to).await
    }

    async fn audit_search(&self, q: &AuditQuery) -> Result<Vec<wujing_domain::audit::AuditEntry>> {
        let c = self.client().await?;
        staff::audit_search(&c, q).await
    }

    async fn audit_chain(&self) -> Result<crate::AuditChain> {
        let c = self.client().await?;
        staff::audit_chain(&c).await
    }

    async fn enqueue(&self, messages: &[NewMessage]) -> Result<u64> {
        let c = self.client().await?;
        crate::postgres_outbox::insert(&c, messages).await
    }

    async fn claim_messages(
        &self,
        now: DateTime<Utc>,
        lease: TimeDelta,
        limit: u32,
    ) -> Result<Vec<Message>> {
        let c = self.client().await?;
        crate::postgres_outbox::claim(&c, now, lease, limit).await
    }

    async fn message_delivered(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        let c = self.client().await?;
        crate::postgres_outbox::delivered(&c, id, now).await
    }

    async fn message_failed(&self, id: i64, retry_at: DateTime<Utc>, error: &str) -> Result<()> {
        let c = self.client().await?;
        crate::postgres_outbox::failed(&c, id, retry_at, error).await
    }

    async fn messages_to(&self, recipient: &str, limit: u32) -> Result<Vec<Message>> {
        let c = self.client().await?;
        crate::postgres_outbox::to(&c, recipient, limit).await
    }

    async fn active_bookings_on(&self, day: NaiveDate) -> Result<Vec<Booking>> {
        self.client()
            .await?
            .query(
                &format!("{BOOKING_SELECT} WHERE s.day = $1 AND b.status = 'active' ORDER BY b.id"),
                &[&day],
            )
            .await
            .map_err(db_err)?
            .iter()
            .map(booking_row)
            .collect()
    }

    async fn issue_phone_code(
        &self,
        code: &NewPhoneCode,
        min_interval: TimeDelta,
        max_per_hour: u32,
        message: &NewMessage,
    ) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        crate::postgres_outbox::issue_code(&tx, code, min_interval, max_per_hour, message).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn verify_phone_code(
        &self,
        phone: &str,
        purpose: &str,
        code_hash: &str,
        now: DateTime<Utc>,
        max_attempts: u32,
    ) -> Result<PhoneCodeCheck> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        let r =
            crate::postgres_outbox::verify_code(&tx, phone, purpose, code_hash, now, max_attempts)
                .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(r)
    }

    async fn secret(&self, name: &str, candidate: &str) -> Result<String> {
        let c = self.client().await?;
        crate::postgres_outbox::secret(&c, name, candidate).await
    }

    async fn active_bookings_of(&self, identity_key: &str) -> Result<Vec<Booking>> {
        self.client()
            .await?
            .query(
                &format!("{BOOKING_SELECT} WHERE b.identity_key = $1 AND b.status = 'active' ORDER BY s.starts_at"),
                &[&identity_key],
            )
            .await
            .map_err(db_err)?
            .iter()
            .map(booking_row)
            .collect()
    }

    async fn issue_ticket(&self, t: &NewTicket) -> Result<Ticket> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        let r = crate::postgres_hall::issue(&tx, t).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(r)
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
        let c = self.client().await?;
        crate::postgres_hall::call_next(&c, hall_id, day, queues, window, officer_id, now).await
    }

    async fn move_ticket(
        &self,
        ticket_id: i64,
        window: u32,
        m: &TicketMove,
        now: DateTime<Utc>,
    ) -> Result<Ticket> {
        let c = self.client().await?;
        crate::postgres_hall::move_ticket(&c, ticket_id, window, m, now).await
    }

    async fn ticket(&self, id: i64) -> Result<Option<Ticket>> {
        let c = self.client().await?;
        crate::postgres_hall::by_id(&c, id).await
    }

    async fn tickets_of_day(&self, hall_id: &str, day: NaiveDate) -> Result<Vec<Ticket>> {
        let c = self.client().await?;
        crate::postgres_hall::of_day(&c, hall_id, day).await
    }

    async fn record_payment(&self, p: &NewPayment) -> Result<Payment> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        let r = crate::postgres_hall::pay(&tx, p).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(r)
    }

    async fn reconciliation(&self, hall_id: &str, day: NaiveDate) -> Result<Vec<ReconLine>> {
        let c = self.client().await?;
        crate::postgres_hall::reconciliation(&c, hall_id, day).await
    }

    async fn rate(&self, r: &NewRating, pages: &[NewMessage]) -> Result<Option<Alert>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        let out = crate::postgres_hall::rate(&tx, r, pages).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    async fn alert(&self, id: i64) -> Result<Option<Alert>> {
        let c = self.client().await?;
        Ok(crate::postgres_hall::alerts(&c, None, false, Some(id))
            .await?
            .pop())
    }

    async fn urgent_request(&self, id: i64) -> Result<Option<UrgentRequest>> {
        let c = self.client().await?;
        Ok(crate::postgres_hall::urgent(&c, false, Some(id))
            .await?
            .pop())
    }

    async fn alerts(&self, hall_id: Option<&str>, open_only: bool) -> Result<Vec<Alert>> {
        let c = self.client().await?;
        crate::postgres_hall::alerts(&c, hall_id, open_only, None).await
    }

    async fn escalate_alert(
        &self,
        id: i64,
        now: DateTime<Utc>,
        pages: &[NewMessage],
    ) -> Result<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        let out = crate::postgres_hall::escalate(&tx, id, now, pages).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    async fn publish(&self, payload: &str) -> Result<()> {
        let c = self.client().await?;
        c.execute("SELECT pg_notify($1, $2)", &[&EVENTS_CHANNEL, &payload])
            .await
            .map_err(db_err)?;
        Ok(())
    }

    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.events.subscribe()
    }

    async fn accept_application(&self, a: &NewApplication) -> Result<Application> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        let r = crate::postgres_hall::accept(&tx, a).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(r)
    }

    async fn application_of(&self, ticket_id: i64) -> Result<Option<Application>> {
        let c = self.client().await?;
        crate::postgres_hall::application_of(&c, ticket_id).await
    }

    async fn request_urgent(
        &self,
        ticket_id: i64,
        reason: &str,
        note: &str,
        staff_id: i64,
        now: DateTime<Utc>,
    ) -> Result<UrgentRequest> {
        let c = self.client().await?;
        crate::postgres_hall::request_urgent(&c, ticket_id, reason, note, staff_id, now).await
    }

    async fn urgent_requests(&self, open_only: bool) -> Result<Vec<UrgentRequest>> {
        let c = self.client().await?;
        crate::postgres_hall::urgent(&c, open_only, None).await
    }

    async fn payment_of(&self, ticket_id: i64) -> Result<Option<Payment>> {
        let c = self.client().await?;
        crate::postgres_hall::payment_of(&c, ticket_id).await
    }

    async fn verify_invariants(&self) -> Result<InvariantReport> {
        let mut c = self.client().await?;
        // REPEATABLE READ: the recount and the counters come from one snapshot.
        let tx = c
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(db_err)?;
        let ids = |rows: Vec<Row>| rows.iter().map(|r| r.get::<_, i64>(0)).collect::<Vec<_>>();
        let slots_checked: i64 = tx
            .query_one(&tx.prepare_cached("SELECT COUNT(*) FROM slots").await?, &[])
            .await
            .map_err(db_err)?
            .get(0);
        let oversold = ids(tx
            .query(
                &tx.prepare_cached("SELECT id FROM slots WHERE taken > capacity ORDER BY id")
                    .await?,
                &[],
            )
            .await
            .map_err(db_err)?);
        let miscounted = ids(tx.query(MISCOUNTED_SQL, &[]).await.map_err(db_err)?);
        let dups: i64 = tx
            .query_one(DUPLICATES_SQL, &[])
            .await
            .map_err(db_err)?
            .get(0);
        let active: i64 = tx.query_one(ACTIVE_SQL, &[]).await.map_err(db_err)?.get(0);
        tx.commit().await.map_err(db_err)?;
        Ok(InvariantReport {
            slots_checked: slots_checked as u64,
            oversold,
            miscounted,
            duplicate_identities: dups as u64,
            active_bookings: active as u64,
        })
    }
}

/// The one-attempt bodies of the state-changing methods; [`retry`] runs them again when
/// PostgreSQL aborts one to break a deadlock or a serialisation conflict, which a transaction
/// that locks several rows can meet under load.
impl PgStore {
    async fn create_hold_once(&self, h: &NewHold) -> Result<Hold> {
        let c = self.client().await?;
        let (keys, limits, window, retry) = limit_params(&h.limits, h.now);
        // One statement, so one round trip and one commit: count the rate limits, and only if
        // every one is within its limit take the seat and record the hold.
        let st = c
            .prepare_cached(&format!(
                "WITH {LIMITS_CTE},
                      s AS (UPDATE slots SET taken = taken + 1
                            WHERE id = $2 AND taken < capacity AND (SELECT ok FROM ok) RETURNING id),
                      h AS (INSERT INTO holds (id, slot_id, business, state, created_at, expires_at, client_addr)
                            SELECT $1, s.id, $3, 'held', $4, $5, $6 FROM s RETURNING slot_id)
                 SELECT (SELECT ok FROM ok), (SELECT COUNT(*) FROM h)"
            ))
            .await?;
        let row = c
            .query_one(
                &st,
                &[
                    &h.id,
                    &h.slot_id,
                    &h.business,
                    &h.now,
                    &h.expires_at,
                    &h.client_addr,
                    &keys,
                    &limits,
                    &window,
                ],
            )
            .await?;
        let (ok, held): (bool, i64) = (row.get(0), row.get(1));
        if !ok {
            return Err(StoreError::RateLimited {
                retry_after_secs: retry,
            });
        }
        if held == 0 {
            let exists = c
                .query_opt(
                    &c.prepare_cached("SELECT id FROM slots WHERE id = $1")
                        .await?,
                    &[&h.slot_id],
                )
                .await?;
            return Err(match exists {
                Some(_) => StoreError::SlotFull,
                None => StoreError::NotFound("slot"),
            });
        }
        Ok(Hold {
            id: h.id.clone(),
            slot_id: h.slot_id,
            business: h.business.clone(),
            state: HoldState::Held,
            created_at: h.now,
            expires_at: h.expires_at,
        })
    }

    async fn confirm_hold_once(&self, b: &NewBooking) -> Result<Booking> {
        let c = self.client().await?;
        let (keys, limits, window, retry) = limit_params(&b.limits, b.now);
        // One statement: the rate limits, the hold used, the booking created (a unique
        // violation, identity already booked or code taken, aborts all of it).
        let st = c
            .prepare_cached(&format!(
                "WITH {LIMITS_CTE},
                      h AS (UPDATE holds SET state = 'confirmed'
                            WHERE id = $1 AND business = $2 AND state = 'held' AND expires_at > $3
                              AND (SELECT ok FROM ok)
                            RETURNING slot_id),
                      b AS (INSERT INTO bookings (code, slot_id, hold_id, business, option_code, identity_key,
                              id_kind, id_number, nationality, name, phone, answers, fee_yuan, channel, status,
                              created_at, reschedule_count, client_addr, lang)
                            SELECT $4, h.slot_id, $1, $2, $5, $6, $10, $11, $12, $13, $14, $15, $16, $17, 'active',
                              $3, 0, $18, $24 FROM h
                            RETURNING id, slot_id),
                      m AS (INSERT INTO outbox (idempotency_key, channel, recipient, topic, body, created_at, due_at)
                            SELECT n.k, n.c, n.r, n.t, n.body, $3, $3
                            FROM b, unnest($19::text[], $20::text[], $21::text[], $22::text[], $23::text[]) AS n(k, c, r, t, body)
                            ON CONFLICT (idempotency_key) DO NOTHING)
                 SELECT (SELECT ok FROM ok), b.id, {SLOT_COLS}
                 FROM (SELECT 1) one LEFT JOIN b ON true LEFT JOIN slots s ON s.id = b.slot_id"
            ))
            .await?;
        let fee = b.fee_yuan.map(|f| f as i32);
        let row = c
            .query_one(
                &st,
                &[
                    &b.hold_id,
                    &b.business,
                    &b.now,
                    &b.code,
                    &b.option_code,
                    &b.identity_key,
                    &keys,
                    &limits,
                    &window,
                    &b.id_kind.as_str(),
                    &b.id_number,
                    &b.nationality,
                    &b.name,
                    &b.phone,
                    &b.answers_json,
                    &fee,
                    &b.channel,
                    &b.client_addr,
                    &b.notices
                        .iter()
                        .map(|m| m.idempotency_key.as_str())
                        .collect::<Vec<_>>(),
                    &b.notices
                        .iter()
                        .map(|m| m.channel.as_str())
                        .collect::<Vec<_>>(),
                    &b.notices
                        .iter()
                        .map(|m| m.recipient.as_str())
                        .collect::<Vec<_>>(),
                    &b.notices
                        .iter()
                        .map(|m| m.topic.as_str())
                        .collect::<Vec<_>>(),
                    &b.notices
                        .iter()
                        .map(|m| m.body.as_str())
                        .collect::<Vec<_>>(),
                    &b.lang,
                ],
            )
            .await?;
        if !row.get::<_, bool>(0) {
            return Err(StoreError::RateLimited {
                retry_after_secs: retry,
            });
        }
        let Some(id) = row.get::<_, Option<i64>>(1) else {
            let row = c
                .query_opt(
                    &c.prepare_cached("SELECT state, business FROM holds WHERE id = $1")
                        .await?,
                    &[&b.hold_id],
                )
                .await?;
            return Err(match row {
                None => StoreError::NotFound("hold"),
                Some(r) if r.get::<_, String>(1) != b.business => StoreError::NotFound("hold"),
                Some(r) if r.get::<_, String>(0) == "confirmed" => StoreError::HoldUsed,
                Some(_) => StoreError::HoldExpired,
            });
        };
        Ok(Booking {
            id,
            code: b.code.clone(),
            slot: slot_at(&row, 2)?,
            business: b.business.clone(),
            option_code: b.option_code.clone(),
            identity_key: b.identity_key.clone(),
            id_kind: b.id_kind,
            id_number: b.id_number.clone(),
            nationality: b.nationality.clone(),
            name: b.name.clone(),
            phone: b.phone.clone(),
            answers_json: b.answers_json.clone(),
            fee_yuan: b.fee_yuan,
            channel: b.channel.clone(),
            status: BookingStatus::Active,
            created_at: b.now,
            cancelled_at: None,
            reschedule_count: 0,
            lang: b.lang.clone(),
        })
    }

    async fn cancel_booking_once(
        &self,
        booking_id: i64,
        now: DateTime<Utc>,
        return_at: DateTime<Utc>,
    ) -> Result<Booking> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        let row = tx
            .query_opt(
                &tx.prepare_cached("UPDATE bookings SET status = 'cancelled', cancelled_at = $2 WHERE id = $1 AND status = 'active'
                 RETURNING slot_id").await?,
                &[&booking_id, &now],
            )
            .await
            .map_err(db_err)?;
        let Some(row) = row else {
            return Err(match booking_by_id(&tx, booking_id).await? {
                None => StoreError::NotFound("booking"),
                Some(_) => StoreError::BookingNotActive,
            });
        };
        schedule_return(&tx, row.get(0), booking_id, "cancel", now, return_at).await?;
        let b = booking_by_id(&tx, booking_id)
            .await?
            .ok_or(StoreError::NotFound("booking"))?;
        tx.commit().await.map_err(db_err)?;
        Ok(b)
    }

    async fn reschedule_booking_once(
        &self,
        booking_id: i64,
        new_slot_id: i64,
        now: DateTime<Utc>,
        return_at: DateTime<Utc>,
    ) -> Result<Booking> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        // Lock the booking first (the same order as cancel), so that a concurrent cancel and
        // reschedule of one booking serialise instead of both succeeding.
        let row = tx
            .query_opt(
                &tx.prepare_cached("SELECT slot_id, status FROM bookings WHERE id = $1 FOR UPDATE")
                    .await?,
                &[&booking_id],
            )
            .await
            .map_err(db_err)?
            .ok_or(StoreError::NotFound("booking"))?;
        if row.get::<_, String>(1) != "active" {
            return Err(StoreError::BookingNotActive);
        }
        let old_slot: i64 = row.get(0);
        tx.execute(
            &tx.prepare_cached("SELECT id FROM slots WHERE id = ANY($1) ORDER BY id FOR UPDATE")
                .await?,
            &[&vec![old_slot, new_slot_id]],
        )
        .await
        .map_err(db_err)?;
        take_seat(&tx, new_slot_id).await?;
        tx.execute(
            &tx.prepare_cached("UPDATE bookings SET slot_id = $2, reschedule_count = reschedule_count + 1 WHERE id = $1").await?,
            &[&booking_id, &new_slot_id],
        )
        .await
        .map_err(db_err)?;
        schedule_return(&tx, old_slot, booking_id, "reschedule", now, return_at).await?;
        let b = booking_by_id(&tx, booking_id)
            .await?
            .ok_or(StoreError::NotFound("booking"))?;
        tx.commit().await.map_err(db_err)?;
        Ok(b)
    }
}

async fn retry<T, F, Fut>(mut f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match f().await {
            Err(StoreError::Db(m))
                if attempt < 4 && (m.starts_with("40P01") || m.starts_with("40001")) =>
            {
                tracing::debug!(attempt, "retrying after {m}");
            }
            other => return other,
        }
    }
}
