//! The SQLite side of [`crate::BulkStore`]: one job on the writer thread per batch (one
//! transaction), one cached prepared statement per table.

use super::{date_s, db_err, ms, SqliteStore};
use crate::bulk::{BulkStart, BulkTable, Cell, TableRows};
use crate::{BulkStore, Result};
use async_trait::async_trait;
use chrono::NaiveDate;
use rusqlite::types::Value;

fn value(c: &Cell) -> Value {
    match c {
        Cell::Null => Value::Null,
        Cell::Int(v) => Value::Integer(*v),
        Cell::Text(v) => Value::Text(v.clone()),
        Cell::Day(d) => Value::Text(date_s(*d)),
        Cell::At(t) => Value::Integer(ms(*t)),
        Cell::Flag(b) => Value::Integer(i64::from(*b)),
    }
}

#[async_trait]
impl BulkStore for SqliteStore {
    async fn bulk_start(&self, from: NaiveDate, to: NaiveDate) -> Result<BulkStart> {
        // A year is tens of millions of rows. Two things make loading them several times
        // faster, both undone by `bulk_finish`:
        // - the plain (non-unique) indexes of the loaded tables are set aside and built again
        //   at the end, by one sort each, instead of taking tens of millions of random
        //   insertions; the unique ones stay, so that every constraint is still checked row by
        //   row. Their definitions are kept in `settings` in the same transaction that drops
        //   them, so a load that dies half-way leaves them to be put back by the next load;
        // - the writer's page cache grows to 1 GB, and the write-ahead log is folded back every
        //   256 MB instead of every 4, so that a page changed by several batches is written
        //   fewer times. (Both are connection settings, which may change inside the writer's
        //   transaction; `synchronous` may not, and stays: one sync per 200,000 rows is cheap.)
        self.write(|c| {
            restore_deferred_indexes(c)?;
            c.execute(crate::sql::RETENTION_MARK_RESET.lite, [])
                .map_err(db_err)?;
            let tables: Vec<String> = BulkTable::ALL
                .iter()
                .map(|t| format!("'{}'", t.name()))
                .collect();
            let deferred: Vec<(String, String)> = {
                let mut st = c
                    .prepare(&format!(
                        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
                         AND tbl_name IN ({}) AND upper(sql) NOT LIKE 'CREATE UNIQUE%' ORDER BY name",
                        tables.join(", ")
                    ))
                    .map_err(db_err)?;
                let rows = st
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(db_err)?;
                rows.collect::<rusqlite::Result<_>>().map_err(db_err)?
            };
            let ddl: Vec<&String> = deferred.iter().map(|(_, sql)| sql).collect();
            c.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)",
                rusqlite::params![DEFERRED_INDEXES, serde_json::to_string(&ddl).map_err(|e| crate::StoreError::Db(e.to_string()))?],
            )
            .map_err(db_err)?;
            for (name, _) in &deferred {
                c.execute_batch(&format!("DROP INDEX \"{name}\""))
                    .map_err(db_err)?;
            }
            c.execute_batch(
                "PRAGMA cache_size = -1048576;
                 PRAGMA wal_autocheckpoint = 65536;",
            )
            .map_err(db_err)
        })
        .await?;
        self.read(move |c| {
            let mut next_ids = Vec::new();
            for t in BulkTable::ALL {
                let max: i64 = c
                    .query_row(
                        &format!("SELECT COALESCE(MAX(id), 0) FROM {}", t.name()),
                        [],
                        |r| r.get(0),
                    )
                    .map_err(db_err)?;
                next_ids.push((t, max + 1));
            }
            let slots_in_range: i64 = c
                .query_row(
                    "SELECT COUNT(*) FROM slots WHERE day >= ?1 AND day <= ?2",
                    [date_s(from), date_s(to)],
                    |r| r.get(0),
                )
                .map_err(db_err)?;
            Ok(BulkStart {
                next_ids,
                slots_in_range: slots_in_range.max(0) as u64,
            })
        })
        .await
    }

    async fn bulk_insert(&self, batch: Vec<TableRows>) -> Result<()> {
        self.write(move |c| {
            for t in &batch {
                let cols = t.table.columns();
                let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
                let sql = format!(
                    "INSERT INTO {} ({}) VALUES ({})",
                    t.table.name(),
                    cols.join(", "),
                    marks.join(", ")
                );
                let mut st = c.prepare_cached(&sql).map_err(db_err)?;
                for row in &t.rows {
                    st.execute(rusqlite::params_from_iter(row.iter().map(value)))
                        .map_err(db_err)?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn bulk_finish(&self) -> Result<()> {
        self.write(|c| {
            restore_deferred_indexes(c)?;
            c.execute_batch(
                "PRAGMA wal_autocheckpoint = 1000;
                 PRAGMA cache_size = -16384;
                 ANALYZE;",
            )
            .map_err(db_err)
        })
        .await
    }
}

/// Where a bulk load keeps the definitions of the indexes it set aside until it builds them
/// again (a JSON array of `CREATE INDEX` statements).
const DEFERRED_INDEXES: &str = "bulk.deferred_indexes";

/// Builds again the indexes a bulk load set aside, if any (the end of a load, or the start of
/// the next after one that died), and forgets them.
fn restore_deferred_indexes(c: &rusqlite::Connection) -> Result<()> {
    use rusqlite::OptionalExtension as _;
    let kept: Option<String> = c
        .query_row(
            "SELECT value FROM settings WHERE key = ?1",
            [DEFERRED_INDEXES],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_err)?;
    let Some(kept) = kept else {
        return Ok(());
    };
    let ddl: Vec<String> =
        serde_json::from_str(&kept).map_err(|e| crate::StoreError::Db(e.to_string()))?;
    for sql in ddl {
        c.execute_batch(&sql).map_err(db_err)?;
    }
    c.execute("DELETE FROM settings WHERE key = ?1", [DEFERRED_INDEXES])
        .map_err(db_err)?;
    Ok(())
}
