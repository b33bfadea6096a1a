//! The SQLite side of the notification outbox.

use crate::model::*;
use crate::sqlite::{db_err, from_ms, ms};
use crate::Result;
use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{params, Connection, Row};

pub(crate) fn insert(c: &Connection, messages: &[NewMessage]) -> Result<u64> {
    let mut st = c
        .prepare_cached(
            "INSERT INTO outbox (idempotency_key, channel, recipient, topic, body, created_at, due_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .map_err(db_err)?;
    let mut n = 0;
    for m in messages {
        n += st
            .execute(params![
                m.idempotency_key,
                m.channel,
                m.recipient,
                m.topic,
                m.body,
                ms(m.created_at)
            ])
            .map_err(db_err)? as u64;
    }
    Ok(n)
}

const COLS: &str =
    "id, idempotency_key, channel, recipient, topic, body, created_at, due_at, attempts, delivered_at, last_error";

fn row(r: &Row) -> rusqlite::Result<Message> {
    Ok(Message {
        id: r.get(0)?,
        idempotency_key: r.get(1)?,
        channel: r.get(2)?,
        recipient: r.get(3)?,
        topic: r.get(4)?,
        body: r.get(5)?,
        created_at: from_ms(r.get(6)?)?,
        due_at: from_ms(r.get(7)?)?,
        attempts: r.get(8)?,
        delivered_at: r.get::<_, Option<i64>>(9)?.map(from_ms).transpose()?,
        last_error: r.get(10)?,
    })
}

pub(crate) fn claim(
    c: &Connection,
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
        .query_map(params![ms(now), ms(now + lease), limit], row)
        .map_err(db_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err)?;
    rows.sort_by_key(|m| (m.due_at, m.id));
    Ok(rows)
}

pub(crate) fn delivered(c: &Connection, id: i64, now: DateTime<Utc>) -> Result<()> {
    c.execute(
        "UPDATE outbox SET delivered_at = ?2, lease_until = NULL, last_error = NULL WHERE id = ?1",
        params![id, ms(now)],
    )
    .map_err(db_err)?;
    Ok(())
}

pub(crate) fn failed(c: &Connection, id: i64, retry_at: DateTime<Utc>, error: &str) -> Result<()> {
    c.execute(
        "UPDATE outbox SET due_at = ?2, lease_until = NULL, last_error = ?3 WHERE id = ?1 AND delivered_at IS NULL",
        params![id, ms(retry_at), error],
    )
    .map_err(db_err)?;
    Ok(())
}

pub(crate) fn to(c: &Connection, recipient: &str, limit: u32) -> Result<Vec<Message>> {
    let mut st = c
        .prepare_cached(&format!(
            "SELECT {COLS} FROM outbox WHERE recipient = ?1 ORDER BY id DESC LIMIT ?2"
        ))
        .map_err(db_err)?;
    let rows = st
        .query_map(params![recipient, limit], row)
        .map_err(db_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err);
    rows
}
