//! The PostgreSQL side of [`crate::LotteryStore`].

use super::booking::{booking_by_id, insert_booking, take_seat};
use super::{db_err, PgStore};
use crate::model::*;
use crate::rows;
use crate::seal;
use crate::sql;
use crate::LotteryStore;
use crate::{Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::error::SqlState;

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

#[async_trait]
impl LotteryStore for PgStore {
    async fn add_lottery_entry(&self, e: &NewEntry) -> Result<LotteryEntry> {
        let e = &seal::entry(&self.keys, e);
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        lock_release_day(&tx, e.release_day).await?;
        let drawn = tx
            .query_opt(
                &tx.prepare_cached(sql::DRAW_EXISTS.pg).await?,
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
                   nationality, name, phone, answers, hall_ids, channel, client_addr, created_at, status, id)
                 OVERRIDING SYSTEM VALUE
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'entered', $15) RETURNING id").await?,
                &[&e.release_day, &e.business, &e.option_code, &e.identity_key, &e.id_kind.as_str(),
                  &e.id_number, &e.nationality, &e.name, &e.phone, &e.answers_json, &e.hall_ids.join(","),
                  &e.channel, &e.client_addr, &e.now, &e.id],
            )
            .await;
        let id: i64 = match r {
            Ok(r) => r.get(0),
            Err(err) if err.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                return Err(StoreError::AlreadyEntered)
            }
            Err(err) => return Err(db_err(err)),
        };
        // Used up in the entry's transaction: a refused entry rolls it back with the entry.
        if let Some(code) = e.phone_code_id {
            if !super::outbox::consume_code(&tx, code, e.now).await? {
                return Err(StoreError::PhoneCodeUsed);
            }
        }
        let row = tx
            .query_one(&tx.prepare_cached(sql::ENTRY_BY_ID.pg).await?, &[&id])
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        seal::open_entry(&self.keys, rows::entry(&row)?)
    }

    async fn lottery_entry(&self, id: i64) -> Result<Option<LotteryEntry>> {
        self.client()
            .await?
            .query_opt(sql::ENTRY_BY_ID.pg, &[&id])
            .await
            .map_err(db_err)?
            .map(|r| rows::entry(&r).and_then(|e| seal::open_entry(&self.keys, e)))
            .transpose()
    }

    async fn lottery_entries(&self, day: NaiveDate) -> Result<Vec<LotteryEntry>> {
        self.client()
            .await?
            .query(sql::ENTRIES_OF_DAY.pg, &[&day])
            .await?
            .iter()
            .map(|r| rows::entry(r).and_then(|e| seal::open_entry(&self.keys, e)))
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
                &tx.prepare_cached(sql::START_DRAW.pg).await?,
                &[&day, &(seed as i64), &now],
            )
            .await
            .map_err(db_err)?;
        if n == 0 {
            return Ok(None);
        }
        let rows = tx
            .query(&tx.prepare_cached(sql::ENTRIES_TO_DRAW.pg).await?, &[&day])
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        rows.iter()
            .map(|r| rows::entry(r).and_then(|e| seal::open_entry(&self.keys, e)))
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    async fn award_entry(&self, entry_id: i64, slot_id: i64, b: &NewBooking) -> Result<Booking> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        take_seat(&tx, slot_id).await?;
        let id = insert_booking(&tx, &self.keys, slot_id, None, b).await?;
        super::outbox::insert(&tx, &self.keys, &b.notices).await?;
        let n = tx
            .execute(
                &tx.prepare_cached(sql::ENTRY_WON.pg).await?,
                &[&entry_id, &id],
            )
            .await
            .map_err(db_err)?;
        if n == 0 {
            return Err(StoreError::NotFound("entry"));
        }
        let booking = booking_by_id(&tx, &self.keys, id)
            .await?
            .ok_or(StoreError::NotFound("booking"))?;
        tx.commit().await.map_err(db_err)?;
        Ok(booking)
    }

    async fn finish_draw(&self, day: NaiveDate, now: DateTime<Utc>) -> Result<Draw> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        tx.execute(&tx.prepare_cached(sql::ENTRIES_LOST.pg).await?, &[&day])
            .await
            .map_err(db_err)?;
        tx.execute(
            &tx.prepare_cached(sql::FINISH_DRAW.pg).await?,
            &[&day, &now],
        )
        .await
        .map_err(db_err)?;
        let row = tx
            .query_one(&tx.prepare_cached(sql::DRAW_OF_DAY.pg).await?, &[&day])
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        rows::draw(&row)
    }

    async fn draw(&self, day: NaiveDate) -> Result<Option<Draw>> {
        Ok(self
            .client()
            .await?
            .query_opt(sql::DRAW_OF_DAY.pg, &[&day])
            .await
            .map_err(db_err)?
            .map(|r| rows::draw(&r))
            .transpose()?)
    }
}
