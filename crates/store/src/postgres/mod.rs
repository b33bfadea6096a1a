//! The PostgreSQL adapter: a connection pool, one transaction per state-changing method.
//!
//! READ COMMITTED is enough because every guard is a single conditional statement: the row lock
//! taken by `UPDATE … WHERE taken < capacity` makes a concurrent writer re-check the condition
//! against the committed row (NOTES.md §2). Where one transaction touches several rows of the
//! same kind (the sweeper), a deadlock with another instance's sweeper is possible, so those
//! transactions are retried.

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

use crate::migrations::{MigrationStatus, POSTGRES};
use crate::model::*;
use crate::rows::Cols;
use crate::sql;
use crate::sql::{ACTIVE_SQL, DUPLICATES_SQL, MISCOUNTED_SQL};
use crate::SystemStore;
use crate::{Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::{GenericClient, Pool as PgPool, Runtime};
use std::sync::Arc;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;
use tokio_postgres::{NoTls, Row};

pub struct PgStore {
    pool: PgPool,
    events: tokio::sync::broadcast::Sender<String>,
    keys: Arc<crate::keys::Keys>,
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
    if is_lost(&e) {
        return StoreError::Unavailable(format!("PostgreSQL connection: {e}"));
    }
    if let Some(db) = e.as_db_error() {
        if *db.code() == SqlState::UNIQUE_VIOLATION {
            match db.constraint() {
                Some("bookings_one_active") => return StoreError::AlreadyBooked,
                Some("bookings_code_key") => return StoreError::CodeTaken,
                _ => {}
            }
        }
        // The sites triggers (migration 25) raise the API's code as their message.
        if *db.code() == SqlState::CHECK_VIOLATION && db.message() == "business_not_offered" {
            return StoreError::Refused("business_not_offered");
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

/// A connection that was lost, refused or closed, or a server shutting down or starting up:
/// the database is unavailable rather than the statement wrong.
fn is_lost(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        return code.code().starts_with("08")
            || *code == SqlState::ADMIN_SHUTDOWN
            || *code == SqlState::CRASH_SHUTDOWN
            || *code == SqlState::CANNOT_CONNECT_NOW;
    }
    std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
}

/// Every failure to get a pooled connection (refused, timed out, pool closed) means the
/// database is unavailable.
fn pool_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("cannot get a PostgreSQL connection: {e}"))
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

/// A column in the Rust type asked for; a type the schema does not give is corrupt data.
fn column<'a, T: tokio_postgres::types::FromSql<'a>>(r: &'a Row, i: usize) -> Result<T> {
    r.try_get(i)
        .map_err(|e| StoreError::Corrupt(format!("column {i}: {e}")))
}

impl Cols for Row {
    type Err = StoreError;
    fn corrupt(&self, _i: usize, what: &str, value: String) -> StoreError {
        corrupt(what, &value)
    }
    fn int(&self, i: usize) -> Result<i64> {
        self.opt_int(i)?
            .ok_or_else(|| StoreError::Corrupt(format!("column {i}: NULL")))
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        match *self.columns()[i].type_() {
            Type::INT2 => Ok(column::<Option<i16>>(self, i)?.map(i64::from)),
            Type::INT4 => Ok(column::<Option<i32>>(self, i)?.map(i64::from)),
            _ => column(self, i),
        }
    }
    fn text(&self, i: usize) -> Result<String> {
        column(self, i)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        column(self, i)
    }
    fn flag(&self, i: usize) -> Result<bool> {
        column(self, i)
    }
    fn day(&self, i: usize) -> Result<NaiveDate> {
        column(self, i)
    }
    fn opt_day(&self, i: usize) -> Result<Option<NaiveDate>> {
        column(self, i)
    }
    fn at(&self, i: usize) -> Result<DateTime<Utc>> {
        column(self, i)
    }
    fn opt_at(&self, i: usize) -> Result<Option<DateTime<Utc>>> {
        column(self, i)
    }
}

impl PgStore {
    pub async fn connect(url: &str, keys: Arc<crate::keys::Keys>) -> Result<Self> {
        let mut cfg = deadpool_postgres::Config::new();
        cfg.url = Some(url.to_string());
        cfg.pool = Some(deadpool_postgres::PoolConfig::new(16));
        let pool = cfg
            .create_pool(Some(Runtime::Tokio1), NoTls)
            .map_err(|e| StoreError::Db(format!("bad PostgreSQL URL: {e}")))?;
        let events = tokio::sync::broadcast::channel(256).0;
        listen(url.to_string(), events.clone());
        Ok(Self { pool, events, keys })
    }

    async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(pool_err)
    }
}

fn enum_parse<T: serde::de::DeserializeOwned>(what: &str, s: String) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(s.clone())).map_err(|_| corrupt(what, &s))
}

#[async_trait]
impl SystemStore for PgStore {
    fn keys(&self) -> &Arc<crate::keys::Keys> {
        &self.keys
    }

    fn dialect(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> Result<()> {
        self.client()
            .await?
            .query_one(sql::PING.pg, &[])
            .await
            .map_err(db_err)?;
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
        staff::seal_legacy(&tx, &self.keys).await?;
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
            c.query(&c.prepare_cached(sql::APPLIED_MIGRATIONS.pg).await?, &[])
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

    async fn secret(&self, name: &str, candidate: &str) -> Result<String> {
        let c = self.client().await?;
        outbox::secret(&c, name, candidate).await
    }

    async fn setting(&self, key: &str) -> Result<Option<String>> {
        let c = self.client().await?;
        Ok(c.query_opt(sql::SETTING.pg, &[&key])
            .await
            .map_err(db_err)?
            .map(|r| r.get(0)))
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
            .query_one(&tx.prepare_cached(sql::COUNT_SLOTS.pg).await?, &[])
            .await
            .map_err(db_err)?
            .get(0);
        let oversold = ids(tx
            .query(&tx.prepare_cached(sql::OVERSOLD_SLOTS.pg).await?, &[])
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
