//! The PostgreSQL side of the notification outbox. Claims use `FOR UPDATE SKIP LOCKED`, so
//! dispatchers on several app servers share the work without waiting on each other.

use super::{db_err, PgStore};
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
use deadpool_postgres::GenericClient;

pub(crate) async fn insert(
    c: &impl GenericClient,
    keys: &Keys,
    messages: &[NewMessage],
) -> Result<u64> {
    let st = c.prepare_cached(sql::INSERT_MESSAGE.pg).await?;
    let mut n = 0;
    for m in messages {
        let s = seal::message(keys, m);
        n += c
            .execute(
                &st,
                &[
                    &m.idempotency_key,
                    &m.channel,
                    &s.recipient,
                    &m.topic,
                    &s.body,
                    &m.created_at,
                    &s.recipient_index,
                ],
            )
            .await?;
    }
    Ok(n)
}

pub(crate) async fn claim(
    c: &impl GenericClient,
    keys: &Keys,
    now: DateTime<Utc>,
    lease: TimeDelta,
    limit: u32,
) -> Result<Vec<Message>> {
    let mut rows: Vec<Message> = c
        .query(
            &format!(
                "UPDATE outbox SET lease_until = $2, attempts = attempts + 1
                 WHERE id IN (SELECT id FROM outbox WHERE delivered_at IS NULL AND due_at <= $1
                                AND (lease_until IS NULL OR lease_until <= $1)
                              ORDER BY due_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
                 RETURNING {COLS}"
            ),
            &[&now, &(now + lease), &i64::from(limit)],
        )
        .await?
        .iter()
        .map(|r| rows::message(r).and_then(|m| seal::open_message(keys, m)))
        .collect::<Result<_>>()?;
    rows.sort_by_key(|m| (m.due_at, m.id));
    Ok(rows)
}

pub(crate) async fn delivered(c: &impl GenericClient, id: i64, now: DateTime<Utc>) -> Result<()> {
    c.execute(sql::MESSAGE_DELIVERED.pg, &[&id, &now]).await?;
    Ok(())
}

pub(crate) async fn failed(
    c: &impl GenericClient,
    id: i64,
    retry_at: DateTime<Utc>,
    error: &str,
) -> Result<()> {
    c.execute(sql::MESSAGE_FAILED.pg, &[&id, &retry_at, &error])
        .await?;
    Ok(())
}

pub(crate) async fn to(
    c: &impl GenericClient,
    keys: &Keys,
    recipient: &str,
    limit: u32,
) -> Result<Vec<Message>> {
    let index = seal::recipient_index(keys, recipient);
    c.query(sql::MESSAGES_TO.pg, &[&index, &i64::from(limit)])
        .await?
        .iter()
        .map(|r| rows::message(r).and_then(|m| seal::open_message(keys, m)))
        .collect::<Result<_>>()
}

pub(crate) async fn issue_code(
    c: &impl GenericClient,
    keys: &Keys,
    code: &NewPhoneCode,
    min_interval: TimeDelta,
    max_per_hour: u32,
    message: &NewMessage,
) -> Result<()> {
    // One sender per phone at a time: the checks below then see every earlier code.
    c.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&code.phone])
        .await?;
    let r = c
        .query_one(
            sql::PHONE_CODES_TO_PHONE.pg,
            &[&code.phone, &(code.now - TimeDelta::hours(1))],
        )
        .await?;
    let last: Option<DateTime<Utc>> = r.get(0);
    let count: i64 = r.get(1);
    let from_addr: i64 = match &code.client_addr {
        Some(a) => c
            .query_one(
                sql::PHONE_CODES_FROM_ADDRESS.pg,
                &[a, &(code.now - TimeDelta::hours(1))],
            )
            .await?
            .get(0),
        None => 0,
    };
    phone_code_allowed(code.now, last, min_interval, count, from_addr, max_per_hour)?;
    c.execute(
        sql::INSERT_PHONE_CODE.pg,
        &[
            &code.phone,
            &code.purpose,
            &code.code_hash,
            &code.now,
            &code.expires_at,
            &code.client_addr,
        ],
    )
    .await?;
    insert(c, keys, std::slice::from_ref(message)).await?;
    Ok(())
}

pub(crate) async fn verify_code(
    c: &impl GenericClient,
    phone: &str,
    purpose: &str,
    code_hash: &str,
    now: DateTime<Utc>,
    max_attempts: u32,
) -> Result<PhoneCodeCheck> {
    let Some(r) = c
        .query_opt(
            "SELECT id, code_hash, attempts, verified_at, consumed_at FROM phone_codes
             WHERE phone = $1 AND purpose = $2 AND expires_at > $3 ORDER BY created_at DESC, id DESC LIMIT 1
             FOR UPDATE",
            &[&phone, &purpose, &now],
        )
        .await?
    else {
        return Ok(PhoneCodeCheck::NoCode);
    };
    let (id, hash, attempts, verified, consumed): (
        i64,
        String,
        i32,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
    ) = (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
    let attempts = attempts as u32;
    if hash == code_hash && (verified.is_some() || attempts < max_attempts) {
        if consumed.is_some() {
            return Ok(PhoneCodeCheck::Used);
        }
        c.execute(sql::PHONE_CODE_VERIFIED.pg, &[&id, &now]).await?;
        return Ok(PhoneCodeCheck::Valid { id });
    }
    if attempts >= max_attempts {
        return Ok(PhoneCodeCheck::NoCode);
    }
    c.execute(sql::PHONE_CODE_ATTEMPT.pg, &[&id]).await?;
    Ok(PhoneCodeCheck::Wrong {
        attempts_left: max_attempts - attempts - 1,
    })
}

/// Uses up the code `id` (see [`sql::CONSUME_PHONE_CODE`]); `false` when it was used already.
/// The conditional update waits for a concurrent one on the same row and then finds the code
/// used, so of two uses exactly one gets `true`. Called inside the transaction of the action it
/// authorises, so that the action and the use commit together or not at all.
pub(crate) async fn consume_code(
    c: &impl GenericClient,
    id: i64,
    now: DateTime<Utc>,
) -> Result<bool> {
    let st = c.prepare_cached(sql::CONSUME_PHONE_CODE.pg).await?;
    Ok(c.execute(&st, &[&id, &now]).await? == 1)
}

pub(crate) async fn secret(c: &impl GenericClient, name: &str, candidate: &str) -> Result<String> {
    c.execute(sql::INSERT_SECRET.pg, &[&name, &candidate])
        .await?;
    Ok(c.query_one(sql::SECRET_BY_NAME.pg, &[&name]).await?.get(0))
}

#[async_trait]
impl OutboxStore for PgStore {
    async fn enqueue(&self, messages: &[NewMessage]) -> Result<u64> {
        let c = self.client().await?;
        insert(&c, &self.keys, messages).await
    }

    async fn claim_messages(
        &self,
        now: DateTime<Utc>,
        lease: TimeDelta,
        limit: u32,
    ) -> Result<Vec<Message>> {
        let c = self.client().await?;
        claim(&c, &self.keys, now, lease, limit).await
    }

    async fn message_delivered(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        let c = self.client().await?;
        delivered(&c, id, now).await
    }

    async fn message_failed(&self, id: i64, retry_at: DateTime<Utc>, error: &str) -> Result<()> {
        let c = self.client().await?;
        failed(&c, id, retry_at, error).await
    }

    async fn release_messages(&self, ids: &[i64]) -> Result<u64> {
        let c = self.client().await?;
        let st = c.prepare_cached(sql::MESSAGE_RELEASED.pg).await?;
        let mut n = 0;
        for id in ids {
            n += c.execute(&st, &[id]).await?;
        }
        Ok(n)
    }

    async fn messages_to(&self, recipient: &str, limit: u32) -> Result<Vec<Message>> {
        let c = self.client().await?;
        to(&c, &self.keys, recipient, limit).await
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
        // Phone codes are counted and found by the phone's blind index, never its number.
        let code = NewPhoneCode {
            phone: seal::phone_index(&self.keys, &code.phone),
            ..code.clone()
        };
        issue_code(&tx, &self.keys, &code, min_interval, max_per_hour, message).await?;
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
        let phone = seal::phone_index(&self.keys, phone);
        let r = verify_code(&tx, &phone, purpose, code_hash, now, max_attempts).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(r)
    }

    async fn consume_phone_code(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        let c = self.client().await?;
        consume_code(&c, id, now).await
    }
}
