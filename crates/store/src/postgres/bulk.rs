//! The PostgreSQL side of [`crate::BulkStore`]: `COPY … FROM STDIN` (text format) per table in
//! one transaction; afterwards the id sequences are moved past the rows written.

use super::{db_err, PgStore};
use crate::bulk::{BulkStart, BulkTable, Cell, TableRows};
use crate::{BulkStore, Result};
use async_trait::async_trait;
use chrono::NaiveDate;
use futures_util::SinkExt;
use std::collections::VecDeque;
use std::fmt::Write;

/// A value in COPY's text format: `\N` for NULL; backslash, tab and line breaks escaped.
fn push(out: &mut String, c: &Cell) {
    match c {
        Cell::Null => out.push_str("\\N"),
        Cell::Int(v) => {
            let _ = write!(out, "{v}");
        }
        Cell::Text(s) => {
            for ch in s.chars() {
                match ch {
                    '\\' => out.push_str("\\\\"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
        }
        Cell::Day(d) => {
            let _ = write!(out, "{}", d.format("%Y-%m-%d"));
        }
        Cell::At(t) => {
            let _ = write!(out, "{}", t.format("%Y-%m-%d %H:%M:%S%.3f+00"));
        }
        Cell::Flag(b) => out.push(if *b { 't' } else { 'f' }),
    }
}

#[async_trait]
impl BulkStore for PgStore {
    async fn bulk_start(&self, from: NaiveDate, to: NaiveDate) -> Result<BulkStart> {
        let c = self.client().await?;
        c.execute(crate::sql::RETENTION_MARK_RESET.pg, &[])
            .await
            .map_err(db_err)?;
        let mut next_ids = Vec::new();
        for t in BulkTable::ALL {
            let r = c
                .query_one(
                    &format!("SELECT COALESCE(MAX(id), 0)::bigint FROM {}", t.name()),
                    &[],
                )
                .await
                .map_err(db_err)?;
            next_ids.push((t, r.try_get::<_, i64>(0).map_err(db_err)? + 1));
        }
        let n: i64 = c
            .query_one(
                "SELECT COUNT(*) FROM slots WHERE day >= $1 AND day <= $2",
                &[&from, &to],
            )
            .await
            .map_err(db_err)?
            .try_get(0)
            .map_err(db_err)?;
        Ok(BulkStart {
            next_ids,
            slots_in_range: n.max(0) as u64,
        })
    }

    async fn bulk_insert(&self, batch: Vec<TableRows>) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        for t in &batch {
            if t.rows.is_empty() {
                continue;
            }
            let sql = format!(
                "COPY {} ({}) FROM STDIN",
                t.table.name(),
                t.table.columns().join(", ")
            );
            let sink = tx.copy_in(&sql).await.map_err(db_err)?;
            futures_util::pin_mut!(sink);
            let mut text = String::with_capacity(t.rows.len() * 160);
            for row in &t.rows {
                for (i, cell) in row.iter().enumerate() {
                    if i > 0 {
                        text.push('\t');
                    }
                    push(&mut text, cell);
                }
                text.push('\n');
            }
            sink.send(VecDeque::from(text.into_bytes()))
                .await
                .map_err(db_err)?;
            sink.finish().await.map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn bulk_finish(&self) -> Result<()> {
        let c = self.client().await?;
        for t in BulkTable::ALL {
            c.batch_execute(&format!(
                "SELECT setval(pg_get_serial_sequence('{0}', 'id'), GREATEST((SELECT MAX(id) FROM {0}), 1)); ANALYZE {0};",
                t.name()
            ))
            .await
            .map_err(db_err)?;
        }
        Ok(())
    }
}
