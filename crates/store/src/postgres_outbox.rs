//! The PostgreSQL side of the notification outbox. Claims use `FOR UPDATE SKIP LOCKED`, so
//! dispatchers on several app servers share the work without waiting on each other.

use crate::model::*;
use crate::Result;
use chrono::{DateTime, TimeDelta, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

pub(crate) async fn insert(c: &impl GenericClient, messages: &[NewMessage]) -> Result<u64> {
    let st = c
        .prepare_cached(
            "INSERT INTO outbox (idempotency_key, channel, recipient, topic, body, created_at, due_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .await?;
    let mut n = 0;
    for m in messages {
        n += c
            .execute(
                &st,
                &[
                    &m.idempotency_key,
                    &m.channel,
                    &m.recipient,
                    &m.topic,
                    &m.body,
                    &m.created_at,
                ],
            )
            .await?;
    }
    Ok(n)
}

const COLS: &str =
    "id, idempotency_key, channel, recipient, topic, body, created_at, due_at, attempts, delivered_at, last_error";

fn row(r: &Row) -> Message {
    Message {
        id: r.get(0),
        idempotency_key: r.get(1),
        channel: r.get(2),
        recipient: r.get(3),
        topic: r.get(4),
        body: r.get(5),
        created_at: r.get(6),
        due_at: r.get(7),
        attempts: r.get::<_, i32>(8) as u32,
        delivered_at: r.get(9),
        last_error: r.get(10),
    }
}

pub(crate) async fn claim(
    c: &impl GenericClient,
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
        .map(row)
        .collect();
    rows.sort_by_key(|m| (m.due_at, m.id));
    Ok(rows)
}

pub(crate) async fn delivered(c: &impl GenericClient, id: i64, now: DateTime<Utc>) -> Result<()> {
    c.execute(
        "UPDATE outbox SET delivered_at = $2, lease_until = NULL, last_error = NULL WHERE id = $1",
        &[&id, &now],
    )
    .await?;
    Ok(())
}

pub(crate) async fn failed(
    c: &impl GenericClient,
    id: i64,
    retry_at: DateTime<Utc>,
    error: &str,
) -> Result<()> {
    c.execute(
        "UPDATE outbox SET due_at = $2, lease_until = NULL, last_error = $3 WHERE id = $1 AND delivered_at IS NULL",
        &[&id, &retry_at, &error],
    )
    .await?;
    Ok(())
}

pub(crate) async fn to(
    c: &impl GenericClient,
    recipient: &str,
    limit: u32,
) -> Result<Vec<Message>> {
    Ok(c.query(
        &format!("SELECT {COLS} FROM outbox WHERE recipient = $1 ORDER BY id DESC LIMIT $2"),
        &[&recipient, &i64::from(limit)],
    )
    .await?
    .iter()
    .map(row)
    .collect())
}
