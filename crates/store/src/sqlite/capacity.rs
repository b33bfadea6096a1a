//! The SQLite side of [`crate::CapacityStore`]: two aggregate reads on a reader connection.

use super::{date_s, db_err, get_date, SqliteStore};
use crate::capacity::{BookedCount, ServiceMoments, LONGEST_SERVICE_MINUTES};
use crate::{CapacityStore, Result};
use async_trait::async_trait;
use chrono::NaiveDate;
use rusqlite::params;

#[async_trait]
impl CapacityStore for SqliteStore {
    async fn booked_counts(
        &self,
        hall_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<BookedCount>> {
        let hall = hall_id.to_string();
        self.read(move |c| {
            let mut st = c
                .prepare_cached(
                    "SELECT s.day, s.start_time, b.business, COUNT(*)
                     FROM slots s JOIN bookings b ON b.slot_id = s.id
                     WHERE s.hall_id = ?1 AND s.day >= ?2 AND s.day <= ?3 AND b.status = 'active'
                     GROUP BY s.day, s.start_time, b.business
                     ORDER BY s.day, s.start_time, b.business",
                )
                .map_err(db_err)?;
            let rows = st
                .query_map(params![hall, date_s(from), date_s(to)], |r| {
                    Ok(BookedCount {
                        day: get_date(r, 0)?,
                        start: r.get(1)?,
                        business: r.get(2)?,
                        count: r.get::<_, i64>(3)?.max(0) as u64,
                    })
                })
                .map_err(db_err)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
        })
        .await
    }

    async fn service_moments(
        &self,
        hall_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<ServiceMoments>> {
        let hall = hall_id.to_string();
        self.read(move |c| {
            let mut st = c
                .prepare_cached(
                    "SELECT business, COUNT(*), SUM(m), SUM(m * m) FROM (
                       SELECT business, (finished_at - called_at) / 60000.0 AS m
                       FROM tickets
                       WHERE hall_id = ?1 AND day >= ?2 AND day <= ?3 AND status = 'done'
                         AND called_at IS NOT NULL AND finished_at >= called_at
                         AND finished_at - called_at <= ?4)
                     GROUP BY business ORDER BY business",
                )
                .map_err(db_err)?;
            let rows = st
                .query_map(
                    params![
                        hall,
                        date_s(from),
                        date_s(to),
                        LONGEST_SERVICE_MINUTES * 60_000
                    ],
                    |r| {
                        Ok(ServiceMoments {
                            business: r.get(0)?,
                            count: r.get::<_, i64>(1)?.max(0) as u64,
                            sum_minutes: r.get(2)?,
                            sum_of_squares: r.get(3)?,
                        })
                    },
                )
                .map_err(db_err)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
        })
        .await
    }
}
