//! The SQLite side of [`crate::LotteryStore`].

use super::booking::{booking_by_id, insert_booking, take_seat};
use super::{all, date_s, db_err, ms, SqliteStore};
use crate::model::*;
use crate::rows;
use crate::seal;
use crate::sql;
use crate::LotteryStore;
use crate::{Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, OptionalExtension};

#[async_trait]
impl LotteryStore for SqliteStore {
    async fn add_lottery_entry(&self, e: &NewEntry) -> Result<LotteryEntry> {
        let e = seal::entry(&self.keys, e);
        let keys = self.keys.clone();
        self.write(move |c| {
            // The single writer makes "no draw has started" and the insert one atomic step.
            let drawn: Option<i64> = c
                .query_row(
                    sql::DRAW_EXISTS.lite,
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
                       nationality, name, phone, answers, hall_ids, channel, client_addr, created_at, status, id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 'entered', ?15)",
                )
                .map_err(db_err)?
                .execute(params![
                    date_s(e.release_day), e.business, e.option_code, e.identity_key, e.id_kind.as_str(),
                    e.id_number, e.nationality, e.name, e.phone, e.answers_json, e.hall_ids.join(","),
                    e.channel, e.client_addr, ms(e.now), e.id
                ]);
            match r {
                Err(rusqlite::Error::SqliteFailure(f, _)) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                    return Err(StoreError::AlreadyEntered)
                }
                Err(e) => return Err(db_err(e)),
                Ok(_) => {}
            }
            // Used up in the entry's job: a refused entry rolls it back with the entry.
            if let Some(code) = e.phone_code_id {
                if !super::outbox::consume_code(c, code, e.now)? {
                    return Err(StoreError::PhoneCodeUsed);
                }
            }
            let stored = c
                .query_row(sql::ENTRY_BY_ID.lite, [e.id], |r| rows::entry(r))
                .map_err(db_err)?;
            seal::open_entry(&keys, stored)
        })
        .await
    }

    async fn lottery_entry(&self, id: i64) -> Result<Option<LotteryEntry>> {
        let keys = self.keys.clone();
        self.lookup(move |c| {
            c.prepare_cached(sql::ENTRY_BY_ID.lite)
                .map_err(db_err)?
                .query_row([id], |r| rows::entry(r))
                .optional()
                .map_err(db_err)?
                .map(|e| seal::open_entry(&keys, e))
                .transpose()
        })
        .await
    }

    async fn lottery_entries(&self, day: NaiveDate) -> Result<Vec<LotteryEntry>> {
        let keys = self.keys.clone();
        self.read(move |c| {
            seal::open_entries(
                &keys,
                all(c, sql::ENTRIES_OF_DAY.lite, [date_s(day)], |r| {
                    rows::entry(r)
                })?,
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
        let keys = self.keys.clone();
        self.write(move |c| {
            let n = c
                .execute(
                    sql::START_DRAW.lite,
                    params![date_s(day), seed as i64, ms(now)],
                )
                .map_err(db_err)?;
            if n == 0 {
                return Ok(None);
            }
            let mut st = c.prepare(sql::ENTRIES_TO_DRAW.lite).map_err(db_err)?;
            let rows = st
                .query_map([date_s(day)], |r| rows::entry(r))
                .map_err(db_err)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(db_err)?;
            Ok(Some(seal::open_entries(&keys, rows)?))
        })
        .await
    }

    async fn award_entry(&self, entry_id: i64, slot_id: i64, b: &NewBooking) -> Result<Booking> {
        let b = b.clone();
        let keys = self.keys.clone();
        self.write(move |c| {
            take_seat(c, slot_id)?;
            let id = insert_booking(c, &keys, slot_id, None, &b)?;
            let n = c
                .execute(sql::ENTRY_WON.lite, params![entry_id, id])
                .map_err(db_err)?;
            if n == 0 {
                return Err(StoreError::NotFound("entry"));
            }
            booking_by_id(c, &keys, id)
        })
        .await
    }

    async fn finish_draw(&self, day: NaiveDate, now: DateTime<Utc>) -> Result<Draw> {
        self.write(move |c| {
            c.execute(sql::ENTRIES_LOST.lite, [date_s(day)])
                .map_err(db_err)?;
            c.execute(sql::FINISH_DRAW.lite, params![date_s(day), ms(now)])
                .map_err(db_err)?;
            c.query_row(sql::DRAW_OF_DAY.lite, [date_s(day)], |r| rows::draw(r))
                .map_err(db_err)
        })
        .await
    }

    async fn draw(&self, day: NaiveDate) -> Result<Option<Draw>> {
        self.lookup(move |c| {
            c.query_row(sql::DRAW_OF_DAY.lite, [date_s(day)], |r| rows::draw(r))
                .optional()
                .map_err(db_err)
        })
        .await
    }
}
