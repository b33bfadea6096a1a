//! The SQLite side of the notification outbox.

use super::{db_err, from_ms, ms, SqliteStore};
use crate::common::phone_code_allowed;
use crate::keys::Keys;
use crate::model::*;
use crate::rows;
use crate::seal;
use crate::sql;
use crate::sql::MESSAGE_COLS as COLS;
use crate::OutboxStore;
use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{params, Connection};

pub(crate) fn insert(c: &Connection, keys: &Keys, messages: &[NewMessage]) -> Result<u64> {
    let mut st = c.prepare_cached(sql::INSERT_MESSAGE.lite).map_err(db_err)?;
    let mut n = 0;
    for m in messages {
        let s = seal::message(keys, m);
        n += st
            .execute(params![
                m.idempotency_key,
                m.channel,
                s.recipient,
                m.topic,
                s.body,
                ms(m.created_at),
                s.recipient_index
            ])
            .map_err(db_err)? as u64;
    }
    Ok(n)
}

pub(crate) fn claim(
    c: &Connection,
    keys: &Keys,
    now: DateTime<Utc>,
    lease: TimeDelta,
    limit: u32,
) -> Result<Vec<Message>> {
    let mut st = c
        .prepare_cached(&format!(
            "UPDATE outbox SET lease_until = ?2, attempts = attempts + 1
             WHERE id IN (SELECT id FROM outbox WHERE delivered_at IS NULL AND due_at <= ?1
                            AND (lease_until IS NULL OR lease_until <= ?1)
                          ORDER BY due_at, id LIMIT ?3)
             RETURNING {COLS}"
        ))
        .map_err(db_err)?;
    let mut rows = st
        .query_map(params![ms(now), ms(now + lease), limit], |r| {
            rows::message(r)
        })
        .map_err(db_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err)?;
    rows.sort_by_key(|m| (m.due_at, m.id));
    rows.into_iter()
        .map(|m| seal::open_message(keys, m))
        .collect()
}

pub(crate) fn delivered(c: &Connection, id: i64, now: DateTime<Utc>) -> Result<()> {
    c.execute(sql::MESSAGE_DELIVERED.lite, params![id, ms(now)])
        .map_err(db_err)?;
    Ok(())
}

pub(crate) fn failed(c: &Connection, id: i64, retry_at: DateTime<Utc>, error: &str) -> Result<()> {
    c.execute(sql::MESSAGE_FAILED.lite, params![id, ms(retry_at), error])
        .map_err(db_err)?;
    Ok(())
}

pub(crate) fn to(c: &Connection, keys: &Keys, recipient: &str, limit: u32) -> Result<Vec<Message>> {
    let mut st = c.prepare_cached(sql::MESSAGES_TO.lite).map_err(db_err)?;
    let index = seal::recipient_index(keys, recipient);
    let rows = st
        .query_map(params![index, limit], |r| rows::message(r))
        .map_err(db_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err)?;
    rows.into_iter()
        .map(|m| seal::open_message(keys, m))
        .collect()
}

pub(crate) fn issue_code(
    c: &Connection,
    keys: &Keys,
    code: &NewPhoneCode,
    min_interval: TimeDelta,
    max_per_hour: u32,
    message: &NewMessage,
) -> Result<()> {
    let (last, count): (Option<i64>, i64) = c
        .query_row(
            sql::PHONE_CODES_TO_PHONE.lite,
            params![code.phone, ms(code.now - TimeDelta::hours(1))],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(db_err)?;
    let from_addr: i64 = match &code.client_addr {
        Some(a) => c
            .query_row(
                sql::PHONE_CODES_FROM_ADDRESS.lite,
                params![a, ms(code.now - TimeDelta::hours(1))],
                |r| r.get(0),
            )
            .map_err(db_err)?,
        None => 0,
    };
    let last = last.map(from_ms).transpose().map_err(db_err)?;
    phone_code_allowed(code.now, last, min_interval, count, from_addr, max_per_hour)?;
    c.execute(
        sql::INSERT_PHONE_CODE.lite,
        params![
            code.phone,
            code.purpose,
            code.code_hash,
            ms(code.now),
            ms(code.expires_at),
            code.client_addr
        ],
    )
    .map_err(db_err)?;
    insert(c, keys, std::slice::from_ref(message))?;
    Ok(())
}

pub(crate) fn verify_code(
    c: &Connection,
    phone: &str,
    purpose: &str,
    code_hash: &str,
    now: DateTime<Utc>,
    max_attempts: u32,
) -> Result<PhoneCodeCheck> {
    // id, hash, wrong tries, verified at, consumed at.
    type CodeRow = (i64, String, u32, Option<i64>, Option<i64>);
    let row: Option<CodeRow> = c
        .query_row(
            "SELECT id, code_hash, attempts, verified_at, consumed_at FROM phone_codes
             WHERE phone = ?1 AND purpose = ?2 AND expires_at > ?3 ORDER BY created_at DESC, id DESC LIMIT 1",
            params![phone, purpose, ms(now)],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional_row()?;
    let Some((id, hash, attempts, verified, consumed)) = row else {
        return Ok(PhoneCodeCheck::NoCode);
    };
    if hash == code_hash && (verified.is_some() || attempts < max_attempts) {
        if consumed.is_some() {
            return Ok(PhoneCodeCheck::Used);
        }
        c.execute(sql::PHONE_CODE_VERIFIED.lite, params![id, ms(now)])
            .map_err(db_err)?;
        return Ok(PhoneCodeCheck::Valid { id });
    }
    if attempts >= max_attempts {
        return Ok(PhoneCodeCheck::NoCode);
    }
    c.execute(sql::PHONE_CODE_ATTEMPT.lite, [id])
        .map_err(db_err)?;
    Ok(PhoneCodeCheck::Wrong {
        attempts_left: max_attempts - attempts - 1,
    })
}

/// Uses up the code `id` (see [`sql::CONSUME_PHONE_CODE`]); `false` when it was used already.
/// Called inside the job of the action it authorises, so that the action and the use are
/// written together or not at all.
pub(crate) fn consume_code(c: &Connection, id: i64, now: DateTime<Utc>) -> Result<bool> {
    let n = c
        .prepare_cached(sql::CONSUME_PHONE_CODE.lite)
        .and_then(|mut s| s.execute(params![id, ms(now)]))
        .map_err(db_err)?;
    Ok(n == 1)
}

trait OptionalRow<T> {
    fn optional_row(self) -> Result<Option<T>>;
}

impl<T> OptionalRow<T> for rusqlite::Result<T> {
    fn optional_row(self) -> Result<Option<T>> {
        use rusqlite::OptionalExtension;
        self.optional().map_err(db_err)
    }
}

pub(crate) fn secret(c: &Connection, name: &str, candidate: &str) -> Result<String> {
    c.execute(sql::INSERT_SECRET.lite, params![name, candidate])
        .map_err(db_err)?;
    c.query_row(sql::SECRET_BY_NAME.lite, [name], |r| r.get(0))
        .map_err(db_err)
}

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn enqueue(&self, messages: &[NewMessage]) -> Result<u64> {
        let m = messages.to_vec();
        let keys = self.keys.clone();
        self.write(move |c| insert(c, &keys, &m)).await
    }

    async fn claim_messages(
        &self,
        now: DateTime<Utc>,
        lease: TimeDelta,
        limit: u32,
    ) -> Result<Vec<Message>> {
        let keys = self.keys.clone();
        self.write(move |c| claim(c, &keys, now, lease, limit))
            .await
    }

    async fn message_delivered(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        self.write(move |c| delivered(c, id, now)).await
    }

    async fn message_failed(&self, id: i64, retry_at: DateTime<Utc>, error: &str) -> Result<()> {
        let e = error.to_string();
        self.write(move |c| failed(c, id, retry_at, &e)).await
    }

    async fn release_messages(&self, ids: &[i64]) -> Result<u64> {
        let ids = ids.to_vec();
        self.write(move |c| {
            let mut st = c
                .prepare_cached(sql::MESSAGE_RELEASED.lite)
                .map_err(db_err)?;
            let mut n = 0;
            for id in ids {
                n += st.execute(params![id]).map_err(db_err)? as u64;
            }
            Ok(n)
        })
        .await
    }

    async fn messages_to(&self, recipient: &str, limit: u32) -> Result<Vec<Message>> {
        let r = recipient.to_string();
        let keys = self.keys.clone();
        self.read(move |c| to(c, &keys, &r, limit)).await
    }

    async fn issue_phone_code(
        &self,
        code: &NewPhoneCode,
        min_interval: TimeDelta,
        max_per_hour: u32,
        message: &NewMessage,
    ) -> Result<()> {
        let (mut code, message) = (code.clone(), message.clone());
        // Phone codes are counted and found by the phone's blind index, never its number.
        code.phone = seal::phone_index(&self.keys, &code.phone);
        let keys = self.keys.clone();
        self.write(move |c| issue_code(c, &keys, &code, min_interval, max_per_hour, &message))
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
            seal::phone_index(&self.keys, phone),
            purpose.to_string(),
            code_hash.to_string(),
        );
        self.write(move |c| verify_code(c, &p, &u, &h, now, max_attempts))
            .await
    }

    async fn consume_phone_code(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        self.write(move |c| consume_code(c, id, now)).await
    }
}
