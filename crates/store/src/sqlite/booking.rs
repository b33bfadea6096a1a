//! The SQLite side of [`crate::BookingStore`].

use super::{all, date_s, db_err, from_ms, get_enum, ms, SqliteStore};
use crate::keys::Keys;
use crate::model::*;
use crate::rows;
use crate::seal;
use crate::sql;
use crate::sql::{ABANDONED_SQL, PAIRS_SINCE_SQL, SHARED_ADDRESSES_SQL, SHARED_PHONES_SQL};
use crate::BookingStore;
use crate::{Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use rusqlite::{params, Connection, OptionalExtension};

pub(super) fn booking_by_id(c: &Connection, keys: &Keys, id: i64) -> Result<Booking> {
    let b = c
        .prepare_cached(sql::BOOKING_BY_ID.lite)
        .map_err(db_err)?
        .query_row([id], |r| rows::booking(r))
        .map_err(db_err)?;
    seal::open_booking(keys, b)
}

fn open_all(keys: &Keys, bookings: Vec<Booking>) -> Result<Vec<Booking>> {
    bookings
        .into_iter()
        .map(|b| seal::open_booking(keys, b))
        .collect()
}

pub(super) fn insert_booking(
    c: &Connection,
    keys: &Keys,
    slot_id: i64,
    hold_id: Option<&str>,
    b: &NewBooking,
) -> Result<i64> {
    let s = seal::applicant(keys, &b.id_number, &b.name, &b.phone);
    c.prepare_cached(
        "INSERT INTO bookings (code, slot_id, hold_id, business, option_code, identity_key, id_kind, id_number,
           nationality, name, phone, answers, fee_yuan, channel, status, created_at, reschedule_count, client_addr, lang,
           phone_index)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 'active', ?15, 0, ?16, ?17, ?18)",
    )
    .map_err(db_err)?
    .execute(params![
        b.code, slot_id, hold_id, b.business, b.option_code, b.identity_key, b.id_kind.as_str(),
        s.id_number, b.nationality, s.name, s.phone, b.answers_json, b.fee_yuan, b.channel, ms(b.now),
        b.client_addr, b.lang, s.phone_index
    ])
    .map_err(db_err)?;
    let id = c.last_insert_rowid();
    super::outbox::insert(c, keys, &b.notices)?;
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
/// Why a booking that is not active cannot be changed.
fn not_changeable(status: BookingStatus) -> StoreError {
    match status {
        BookingStatus::Used => StoreError::BookingUsed,
        _ => StoreError::BookingNotActive,
    }
}

pub(super) fn take_seat(c: &Connection, slot_id: i64) -> Result<()> {
    let n = c
        .prepare_cached(sql::TAKE_SEAT.lite)
        .map_err(db_err)?
        .execute([slot_id])
        .map_err(db_err)?;
    if n == 1 {
        return Ok(());
    }
    let exists: Option<i64> = c
        .query_row(sql::SLOT_EXISTS.lite, [slot_id], |r| r.get(0))
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
    c.prepare_cached(sql::INSERT_SEAT_RETURN.lite)
        .map_err(db_err)?
        .execute(params![
            slot_id,
            booking_id,
            reason,
            ms(return_at),
            returned
        ])
        .map_err(db_err)?;
    if returned.is_some() {
        c.prepare_cached(sql::RETURN_SEAT.lite)
            .map_err(db_err)?
            .execute([slot_id])
            .map_err(db_err)?;
    }
    Ok(())
}

#[async_trait]
impl BookingStore for SqliteStore {
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
            c.prepare_cached(sql::HOLD_BY_ID.lite)
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
        let keys = self.keys.clone();
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
            // The phone code is used up in this job, after the hold and before the booking:
            // a refusal anywhere rolls both back, so the citizen may retry with the same code.
            if let Some(code) = b.phone_code_id {
                if !super::outbox::consume_code(c, code, b.now)? {
                    return Err(StoreError::PhoneCodeUsed);
                }
            }
            let id = insert_booking(c, &keys, slot_id, Some(&b.hold_id), &b)?;
            let slot = c
                .prepare_cached(sql::SLOT_BY_ID.lite)
                .map_err(db_err)?
                .query_row([slot_id], |r| rows::slot(r, 0))
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
        let keys = self.keys.clone();
        self.lookup(move |c| match booking_by_id(c, &keys, id) {
            Ok(b) => Ok(Some(b)),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        })
        .await
    }

    async fn booking_by_code(&self, code: &str) -> Result<Option<Booking>> {
        let code = code.to_string();
        let keys = self.keys.clone();
        self.lookup(move |c| {
            c.prepare_cached(sql::BOOKING_BY_CODE.lite)
                .map_err(db_err)?
                .query_row([&code], |r| rows::booking(r))
                .optional()
                .map_err(db_err)?
                .map(|b| seal::open_booking(&keys, b))
                .transpose()
        })
        .await
    }

    async fn count_owner_proof(&self, rules: &[RateRule], now: DateTime<Utc>) -> Result<()> {
        let rules = rules.to_vec();
        self.write(move |c| {
            // The single writer and the job's savepoint make count-then-compare atomic: a
            // refused job rolls back, so a refusal does not count.
            let (window, retry) = proof_window(now);
            let mut st = c
                .prepare_cached(sql::COUNT_OWNER_PROOF.lite)
                .map_err(db_err)?;
            for r in &rules {
                let hits: i64 = st
                    .query_row(params![r.key, ms(window)], |row| row.get(0))
                    .map_err(db_err)?;
                if hits > i64::from(r.limit) {
                    return Err(StoreError::RateLimited {
                        retry_after_secs: retry,
                    });
                }
            }
            Ok(())
        })
        .await
    }

    async fn forgive_owner_proof(&self, rules: &[RateRule], now: DateTime<Utc>) -> Result<()> {
        let rules = rules.to_vec();
        self.write(move |c| {
            let (window, _) = proof_window(now);
            let mut st = c
                .prepare_cached(sql::FORGIVE_OWNER_PROOF.lite)
                .map_err(db_err)?;
            for r in &rules {
                st.execute(params![r.key, ms(window)]).map_err(db_err)?;
            }
            Ok(())
        })
        .await
    }

    async fn cancel_booking(
        &self,
        booking_id: i64,
        now: DateTime<Utc>,
        return_at: DateTime<Utc>,
    ) -> Result<Booking> {
        let keys = self.keys.clone();
        self.write(move |c| {
            let n = c
                .prepare_cached(
                    "UPDATE bookings SET status = 'cancelled', cancelled_at = ?2
                     WHERE id = ?1 AND status = 'active' AND used_at IS NULL",
                )
                .map_err(db_err)?
                .execute(params![booking_id, ms(now)])
                .map_err(db_err)?;
            if n == 0 {
                let b = booking_by_id(c, &keys, booking_id)
                    .map_err(|_| StoreError::NotFound("booking"))?;
                return Err(not_changeable(b.status));
            }
            let b = booking_by_id(c, &keys, booking_id)?;
            schedule_return(c, b.slot.id, booking_id, "cancel", now, return_at)?;
            booking_by_id(c, &keys, booking_id)
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
        let keys = self.keys.clone();
        self.write(move |c| {
            let old =
                booking_by_id(c, &keys, booking_id).map_err(|_| StoreError::NotFound("booking"))?;
            if old.status != BookingStatus::Active {
                return Err(not_changeable(old.status));
            }
            take_seat(c, new_slot_id)?;
            let n = c
                .prepare_cached(
                    "UPDATE bookings SET slot_id = ?2, reschedule_count = reschedule_count + 1
                     WHERE id = ?1 AND status = 'active' AND used_at IS NULL",
                )
                .map_err(db_err)?
                .execute(params![booking_id, new_slot_id])
                .map_err(db_err)?;
            if n == 0 {
                return Err(StoreError::BookingNotActive);
            }
            schedule_return(c, old.slot.id, booking_id, "reschedule", now, return_at)?;
            booking_by_id(c, &keys, booking_id)
        })
        .await
    }

    async fn anonymise_before(
        &self,
        cutoff: DateTime<Utc>,
        cutoff_day: NaiveDate,
    ) -> Result<RetentionReport> {
        self.write(move |c| {
            let (at, day) = (ms(cutoff), date_s(cutoff_day));
            let by_time = |q: &str| c.execute(q, [at]).map_err(db_err);
            let by_day = |q: &str| c.execute(q, [&day]).map_err(db_err);
            let mark: i64 = c
                .query_row(sql::RETENTION_MARK.lite, [], |r| r.get(0))
                .optional()
                .map_err(db_err)?
                .unwrap_or(i64::MIN);
            let bookings = c
                .execute(sql::ANONYMISE_BOOKINGS.lite, params![at, mark])
                .map_err(db_err)? as u64;
            // A longer retention moves the cutoff back: the mark never does.
            c.execute(sql::RETENTION_MARK_SET.lite, [at.max(mark)])
                .map_err(db_err)?;
            let r = RetentionReport {
                bookings,
                tickets: by_day(sql::ANONYMISE_TICKETS.lite)? as u64,
                lottery_entries: by_day(sql::ANONYMISE_ENTRIES.lite)? as u64,
                applications: by_time(sql::ANONYMISE_APPLICATIONS.lite)? as u64,
            };
            by_time(sql::FORGET_HOLD_ADDRESSES.lite)?;
            by_time(sql::FORGET_PHONE_CODES.lite)?;
            Ok(r)
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
            c.prepare_cached(sql::PURGE_OWNER_PROOFS.lite)
                .map_err(db_err)?
                .execute([now - 86_400_000])
                .map_err(db_err)?;
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
                .query_row(sql::CANCEL_REBOOK_MARK.lite, [], |r| r.get(0))
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
        self.read(|c| all(c, sql::CANCEL_REBOOK_PAIRS.lite, [], |r| rows::pair(r)))
            .await
    }

    async fn signals(
        &self,
        since: DateTime<Utc>,
        min_identities: u32,
        min_abandoned: u32,
        halls: Option<&[String]>,
    ) -> Result<Signals> {
        let keys = self.keys.clone();
        // The halls as a JSON array for `json_each`, or the organisation-wide queries.
        let halls = halls.map(|h| serde_json::to_string(h).expect("strings serialise"));
        self.read(move |c| {
            let (phones, addresses, abandoned, pairs) = match halls {
                None => (
                    SHARED_PHONES_SQL.lite,
                    SHARED_ADDRESSES_SQL.lite,
                    ABANDONED_SQL.lite,
                    PAIRS_SINCE_SQL.lite,
                ),
                Some(_) => (
                    sql::SHARED_PHONES_LITE_HALLS.lite,
                    sql::SHARED_ADDRESSES_LITE_HALLS.lite,
                    sql::ABANDONED_LITE_HALLS.lite,
                    sql::PAIRS_LITE_HALLS.lite,
                ),
            };
            // Scoped statements take the halls as their last parameter.
            let with_halls = |mut p: Vec<rusqlite::types::Value>| {
                if let Some(h) = &halls {
                    p.push(rusqlite::types::Value::Text(h.clone()));
                }
                p
            };
            let shared = |sql: &str| {
                all(
                    c,
                    sql,
                    rusqlite::params_from_iter(with_halls(vec![
                        ms(since).into(),
                        i64::from(min_identities).into(),
                    ])),
                    |r| {
                        Ok(SharedKey {
                            key: r.get(0)?,
                            identities: r.get(1)?,
                            bookings: r.get(2)?,
                        })
                    },
                )
            };
            let shared_phones = seal::open_shared_phones(&keys, shared(phones)?)?;
            let shared_addresses = shared(addresses)?;
            let abandoned_holds = all(
                c,
                abandoned,
                rusqlite::params_from_iter(with_halls(vec![
                    ms(since).into(),
                    i64::from(min_abandoned).into(),
                ])),
                |r| {
                    Ok(AbandonedHolds {
                        client_addr: r.get(0)?,
                        holds: r.get(1)?,
                    })
                },
            )?;
            let cancel_rebook = all(
                c,
                pairs,
                rusqlite::params_from_iter(with_halls(vec![ms(since).into()])),
                |r| rows::pair(r),
            )?;
            Ok(Signals {
                shared_phones,
                shared_addresses,
                abandoned_holds,
                cancel_rebook,
            })
        })
        .await
    }

    async fn active_bookings_on(&self, day: NaiveDate) -> Result<Vec<Booking>> {
        let keys = self.keys.clone();
        self.read(move |c| {
            let b = all(c, sql::ACTIVE_BOOKINGS_ON.lite, [date_s(day)], |r| {
                rows::booking(r)
            })?;
            open_all(&keys, b)
        })
        .await
    }

    async fn active_bookings_of(&self, identity_key: &str) -> Result<Vec<Booking>> {
        let k = identity_key.to_string();
        let keys = self.keys.clone();
        self.read(move |c| {
            open_all(
                &keys,
                all(c, sql::ACTIVE_BOOKINGS_OF.lite, [k], |r| rows::booking(r))?,
            )
        })
        .await
    }

    async fn current_bookings_of(&self, identity_key: &str) -> Result<Vec<Booking>> {
        let k = identity_key.to_string();
        let keys = self.keys.clone();
        self.read(move |c| {
            open_all(
                &keys,
                all(c, sql::CURRENT_BOOKINGS_OF.lite, [k], |r| rows::booking(r))?,
            )
        })
        .await
    }
}
