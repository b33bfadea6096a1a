//! The PostgreSQL side of [`crate::BookingStore`].

use super::{corrupt, db_err, is_retryable, PgStore};
use crate::keys::Keys;
use crate::model::*;
use crate::rows;
use crate::seal;
use crate::sql;
use crate::sql::SLOT_COLS;
use crate::sql::{ABANDONED_SQL, PAIRS_SINCE_SQL, SHARED_ADDRESSES_SQL, SHARED_PHONES_SQL};
use crate::BookingStore;
use crate::{Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

pub(super) async fn booking_by_id(
    c: &impl GenericClient,
    keys: &Keys,
    id: i64,
) -> Result<Option<Booking>> {
    c.query_opt(&c.prepare_cached(sql::BOOKING_BY_ID.pg).await?, &[&id])
        .await
        .map_err(db_err)?
        .map(|r| rows::booking(&r).and_then(|b| seal::open_booking(keys, b)))
        .transpose()
}

impl PgStore {
    /// The bookings a `booking_select!()` statement finds, opened.
    async fn bookings(
        &self,
        q: sql::Sql,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<Booking>> {
        let rows = self
            .client()
            .await?
            .query(q.pg, params)
            .await
            .map_err(db_err)?;
        open_rows(&self.keys, rows)
    }
}

fn open_rows(keys: &Keys, rows: Vec<Row>) -> Result<Vec<Booking>> {
    rows.iter()
        .map(|r| rows::booking(r).and_then(|b| seal::open_booking(keys, b)))
        .collect()
}

pub(super) async fn insert_booking(
    c: &impl GenericClient,
    keys: &Keys,
    slot_id: i64,
    hold_id: Option<&str>,
    b: &NewBooking,
) -> Result<i64> {
    let fee = b.fee_yuan.map(|f| f as i32);
    let s = seal::applicant(keys, &b.id_number, &b.name, &b.phone);
    Ok(c.query_one(
        &c.prepare_cached("INSERT INTO bookings (code, slot_id, hold_id, business, option_code, identity_key, id_kind, id_number,
           nationality, name, phone, answers, fee_yuan, channel, status, created_at, reschedule_count, client_addr, lang,
           phone_index)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'active', $15, 0, $16, $17, $18) RETURNING id").await?,
        &[&b.code, &slot_id, &hold_id, &b.business, &b.option_code, &b.identity_key,
          &b.id_kind.as_str(), &s.id_number, &b.nationality, &s.name, &s.phone, &b.answers_json,
          &fee, &b.channel, &b.now, &b.client_addr, &b.lang, &s.phone_index],
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

pub(super) async fn take_seat(c: &impl GenericClient, slot_id: i64) -> Result<()> {
    let n = c
        .execute(&c.prepare_cached(sql::TAKE_SEAT.pg).await?, &[&slot_id])
        .await
        .map_err(db_err)?;
    if n == 1 {
        return Ok(());
    }
    let exists = c
        .query_opt(&c.prepare_cached(sql::SLOT_EXISTS.pg).await?, &[&slot_id])
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
        c.execute(&c.prepare_cached(sql::RETURN_SEAT.pg).await?, &[&slot_id])
            .await
            .map_err(db_err)?;
    }
    c.execute(
        &c.prepare_cached(sql::INSERT_SEAT_RETURN.pg).await?,
        &[&slot_id, &booking_id, &reason, &return_at, &returned],
    )
    .await
    .map_err(db_err)?;
    Ok(())
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
                .query_opt(&c.prepare_cached(sql::SLOT_EXISTS.pg).await?, &[&h.slot_id])
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
        // One statement: the rate limits, the phone code used up, the hold used, the booking
        // created (a unique violation, identity already booked or code taken, aborts all of
        // it, the code's use included, so the citizen may retry with the same code). The code
        // is taken only for a live hold, and the hold only with the code: a concurrent use of
        // the same code waits for the row and then finds it used (`pc` empty, nothing written).
        let st = c
            .prepare_cached(&format!(
                "WITH {LIMITS_CTE},
                      pc AS (UPDATE phone_codes SET consumed_at = $3, verified_at = COALESCE(verified_at, $3)
                             WHERE id = $27 AND consumed_at IS NULL AND (SELECT ok FROM ok)
                               AND EXISTS (SELECT 1 FROM holds WHERE id = $1 AND business = $2
                                           AND state = 'held' AND expires_at > $3)
                             RETURNING id),
                      h AS (UPDATE holds SET state = 'confirmed'
                            WHERE id = $1 AND business = $2 AND state = 'held' AND expires_at > $3
                              AND (SELECT ok FROM ok)
                              AND ($27::bigint IS NULL OR EXISTS (SELECT 1 FROM pc))
                            RETURNING slot_id),
                      b AS (INSERT INTO bookings (code, slot_id, hold_id, business, option_code, identity_key,
                              id_kind, id_number, nationality, name, phone, answers, fee_yuan, channel, status,
                              created_at, reschedule_count, client_addr, lang, phone_index)
                            SELECT $4, h.slot_id, $1, $2, $5, $6, $10, $11, $12, $13, $14, $15, $16, $17, 'active',
                              $3, 0, $18, $24, $25 FROM h
                            RETURNING id, slot_id),
                      m AS (INSERT INTO outbox (idempotency_key, channel, recipient, topic, body, created_at, due_at,
                              recipient_index)
                            SELECT n.k, n.c, n.r, n.t, n.body, $3, $3, n.ri
                            FROM b, unnest($19::text[], $20::text[], $21::text[], $22::text[], $23::text[], $26::text[])
                              AS n(k, c, r, t, body, ri)
                            ON CONFLICT (idempotency_key) DO NOTHING)
                 SELECT (SELECT ok FROM ok), b.id, {SLOT_COLS}
                 FROM (SELECT 1) one LEFT JOIN b ON true LEFT JOIN slots s ON s.id = b.slot_id"
            ))
            .await?;
        let fee = b.fee_yuan.map(|f| f as i32);
        let s = seal::applicant(&self.keys, &b.id_number, &b.name, &b.phone);
        let notices: Vec<seal::SealedMessage> = b
            .notices
            .iter()
            .map(|m| seal::message(&self.keys, m))
            .collect();
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
                    &s.id_number,
                    &b.nationality,
                    &s.name,
                    &s.phone,
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
                    &notices
                        .iter()
                        .map(|m| m.recipient.as_str())
                        .collect::<Vec<_>>(),
                    &b.notices
                        .iter()
                        .map(|m| m.topic.as_str())
                        .collect::<Vec<_>>(),
                    &notices.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
                    &b.lang,
                    &s.phone_index,
                    &notices
                        .iter()
                        .map(|m| m.recipient_index.as_str())
                        .collect::<Vec<_>>(),
                    &b.phone_code_id,
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
                    &c.prepare_cached(
                        "SELECT state, business, expires_at > $2 FROM holds WHERE id = $1",
                    )
                    .await?,
                    &[&b.hold_id, &b.now],
                )
                .await?;
            return Err(match row {
                None => StoreError::NotFound("hold"),
                Some(r) if r.get::<_, String>(1) != b.business => StoreError::NotFound("hold"),
                Some(r) if r.get::<_, String>(0) == "confirmed" => StoreError::HoldUsed,
                // A live hold left alone: only the phone code can have stopped it.
                Some(r)
                    if b.phone_code_id.is_some()
                        && r.get::<_, String>(0) == "held"
                        && r.get::<_, bool>(2) =>
                {
                    StoreError::PhoneCodeUsed
                }
                Some(_) => StoreError::HoldExpired,
            });
        };
        Ok(Booking {
            id,
            code: b.code.clone(),
            slot: rows::slot(&row, 2)?,
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
                &tx.prepare_cached(
                    "UPDATE bookings SET status = 'cancelled', cancelled_at = $2
                 WHERE id = $1 AND status = 'active' AND used_at IS NULL RETURNING slot_id",
                )
                .await?,
                &[&booking_id, &now],
            )
            .await
            .map_err(db_err)?;
        let Some(row) = row else {
            return Err(match booking_by_id(&tx, &self.keys, booking_id).await? {
                None => StoreError::NotFound("booking"),
                Some(b) if b.status == BookingStatus::Used => StoreError::BookingUsed,
                Some(_) => StoreError::BookingNotActive,
            });
        };
        schedule_return(&tx, row.get(0), booking_id, "cancel", now, return_at).await?;
        let b = booking_by_id(&tx, &self.keys, booking_id)
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
                &tx.prepare_cached("SELECT slot_id, status, used_at IS NOT NULL FROM bookings WHERE id = $1 FOR UPDATE")
                    .await?,
                &[&booking_id],
            )
            .await
            .map_err(db_err)?
            .ok_or(StoreError::NotFound("booking"))?;
        // A check-in waiting on this lock finds the booking moved and fails; one that came
        // first has set `used_at`, which this lock's read sees.
        if row.get::<_, bool>(2) {
            return Err(StoreError::BookingUsed);
        }
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
        let b = booking_by_id(&tx, &self.keys, booking_id)
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

#[async_trait]
impl BookingStore for PgStore {
    async fn create_hold(&self, h: &NewHold) -> Result<Hold> {
        retry(|| self.create_hold_once(h)).await
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

    async fn hold(&self, id: &str) -> Result<Option<Hold>> {
        self.client()
            .await?
            .query_opt(sql::HOLD_BY_ID.pg, &[&id])
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
            .query_opt(sql::CANCEL_REBOOK_MARK.pg, &[])
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
        booking_by_id(&c, &self.keys, id).await
    }

    async fn booking_by_code(&self, code: &str) -> Result<Option<Booking>> {
        self.client()
            .await?
            .query_opt(sql::BOOKING_BY_CODE.pg, &[&code])
            .await
            .map_err(db_err)?
            .map(|r| rows::booking(&r).and_then(|b| seal::open_booking(&self.keys, b)))
            .transpose()
    }

    async fn count_owner_proof(&self, rules: &[RateRule], now: DateTime<Utc>) -> Result<()> {
        let (window, retry) = proof_window(now);
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        let st = tx.prepare_cached(sql::COUNT_OWNER_PROOF.pg).await?;
        // The upsert locks each key's row until commit, so parallel proofs on one key are
        // counted one after the other; a refusal rolls back and does not count.
        for r in rules {
            let hits: i32 = tx
                .query_one(&st, &[&r.key, &window])
                .await
                .map_err(db_err)?
                .get(0);
            if i64::from(hits) > i64::from(r.limit) {
                return Err(StoreError::RateLimited {
                    retry_after_secs: retry,
                });
            }
        }
        tx.commit().await.map_err(db_err)
    }

    async fn forgive_owner_proof(&self, rules: &[RateRule], now: DateTime<Utc>) -> Result<()> {
        let (window, _) = proof_window(now);
        let c = self.client().await?;
        let st = c.prepare_cached(sql::FORGIVE_OWNER_PROOF.pg).await?;
        for r in rules {
            c.execute(&st, &[&r.key, &window]).await.map_err(db_err)?;
        }
        Ok(())
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

    async fn anonymise_before(
        &self,
        cutoff: DateTime<Utc>,
        cutoff_day: NaiveDate,
    ) -> Result<RetentionReport> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        // The mark is read and moved under the row lock of its key: two app servers' passes
        // take turns instead of each skipping the other's window.
        tx.execute(
            "INSERT INTO scan_marks (name, at) VALUES ('retention', TIMESTAMPTZ '1970-01-01Z') \
             ON CONFLICT (name) DO NOTHING",
            &[],
        )
        .await?;
        let mark: DateTime<Utc> = tx
            .query_one(
                "SELECT at FROM scan_marks WHERE name = 'retention' FOR UPDATE",
                &[],
            )
            .await?
            .get(0);
        let bookings = tx
            .execute(sql::ANONYMISE_BOOKINGS.pg, &[&cutoff, &mark])
            .await?;
        // A longer retention moves the cutoff back: the mark never does.
        tx.execute(sql::RETENTION_MARK_SET.pg, &[&cutoff.max(mark)])
            .await?;
        let r = RetentionReport {
            bookings,
            tickets: tx
                .execute(sql::ANONYMISE_TICKETS.pg, &[&cutoff_day])
                .await?,
            lottery_entries: tx
                .execute(sql::ANONYMISE_ENTRIES.pg, &[&cutoff_day])
                .await?,
            applications: tx
                .execute(sql::ANONYMISE_APPLICATIONS.pg, &[&cutoff])
                .await?,
        };
        tx.execute(sql::FORGET_HOLD_ADDRESSES.pg, &[&cutoff])
            .await?;
        tx.execute(sql::FORGET_PHONE_CODES.pg, &[&cutoff]).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(r)
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
                tx.execute(
                    &tx.prepare_cached(sql::PURGE_OWNER_PROOFS.pg).await?,
                    &[&(now - TimeDelta::days(1))],
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
            .query(sql::CANCEL_REBOOK_PAIRS.pg, &[])
            .await
            .map_err(db_err)?
            .iter()
            .map(rows::pair)
            .collect::<Result<_>>()?)
    }

    async fn signals(
        &self,
        since: DateTime<Utc>,
        min_identities: u32,
        min_abandoned: u32,
        halls: Option<&[String]>,
    ) -> Result<Signals> {
        let c = self.client().await?;
        let (mi, ma) = (i64::from(min_identities), i64::from(min_abandoned));
        // Hall-scoped statements take the halls as their last parameter.
        let (phones, addresses, abandoned, pairs) = match halls {
            None => (
                SHARED_PHONES_SQL.pg,
                SHARED_ADDRESSES_SQL.pg,
                ABANDONED_SQL.pg,
                PAIRS_SINCE_SQL.pg,
            ),
            Some(_) => (
                sql::SHARED_PHONES_PG_HALLS.pg,
                sql::SHARED_ADDRESSES_PG_HALLS.pg,
                sql::ABANDONED_PG_HALLS.pg,
                sql::PAIRS_PG_HALLS.pg,
            ),
        };
        type Arg<'a> = &'a (dyn tokio_postgres::types::ToSql + Sync);
        fn with_halls<'a>(p: &[Arg<'a>], halls: Option<&'a Vec<String>>) -> Vec<Arg<'a>> {
            let mut v = p.to_vec();
            if let Some(h) = halls {
                v.push(h);
            }
            v
        }
        let hall_list: Option<Vec<String>> = halls.map(<[String]>::to_vec);
        let shared = |rows: Vec<Row>| {
            rows.iter()
                .map(|r| SharedKey {
                    key: r.get(0),
                    identities: r.get::<_, i64>(1) as u64,
                    bookings: r.get::<_, i64>(2) as u64,
                })
                .collect::<Vec<_>>()
        };
        let shared_phones = seal::open_shared_phones(
            &self.keys,
            shared(
                c.query(
                    &c.prepare_cached(phones).await?,
                    &with_halls(&[&since, &mi], hall_list.as_ref()),
                )
                .await
                .map_err(db_err)?,
            ),
        )?;
        let shared_addresses = shared(
            c.query(
                &c.prepare_cached(addresses).await?,
                &with_halls(&[&since, &mi], hall_list.as_ref()),
            )
            .await
            .map_err(db_err)?,
        );
        let abandoned_holds = c
            .query(
                &c.prepare_cached(abandoned).await?,
                &with_halls(&[&since, &ma], hall_list.as_ref()),
            )
            .await
            .map_err(db_err)?
            .iter()
            .map(|r| AbandonedHolds {
                client_addr: r.get(0),
                holds: r.get::<_, i64>(1) as u64,
            })
            .collect();
        let cancel_rebook = c
            .query(
                &c.prepare_cached(pairs).await?,
                &with_halls(&[&since], hall_list.as_ref()),
            )
            .await
            .map_err(db_err)?
            .iter()
            .map(rows::pair)
            .collect::<Result<_>>()?;
        Ok(Signals {
            shared_phones,
            shared_addresses,
            abandoned_holds,
            cancel_rebook,
        })
    }

    async fn active_bookings_on(&self, day: NaiveDate) -> Result<Vec<Booking>> {
        self.bookings(sql::ACTIVE_BOOKINGS_ON, &[&day]).await
    }

    async fn active_bookings_of(&self, identity_key: &str) -> Result<Vec<Booking>> {
        self.bookings(sql::ACTIVE_BOOKINGS_OF, &[&identity_key])
            .await
    }

    async fn current_bookings_of(&self, identity_key: &str) -> Result<Vec<Booking>> {
        self.bookings(sql::CURRENT_BOOKINGS_OF, &[&identity_key])
            .await
    }
}
