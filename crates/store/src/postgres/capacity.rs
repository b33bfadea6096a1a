//! The PostgreSQL side of [`crate::CapacityStore`]: two aggregate reads on a pooled connection.

use super::{db_err, PgStore};
use crate::capacity::{BookedCount, ServiceMoments, LONGEST_SERVICE_MINUTES};
use crate::{CapacityStore, Result};
use async_trait::async_trait;
use chrono::NaiveDate;

#[async_trait]
impl CapacityStore for PgStore {
    async fn booked_counts(
        &self,
        hall_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<BookedCount>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT s.day, s.start_time, b.business, COUNT(*)
                 FROM slots s JOIN bookings b ON b.slot_id = s.id
                 WHERE s.hall_id = $1 AND s.day >= $2 AND s.day <= $3 AND b.status = 'active'
                 GROUP BY s.day, s.start_time, b.business
                 ORDER BY s.day, s.start_time, b.business",
                &[&hall_id, &from, &to],
            )
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(BookedCount {
                    day: r.try_get(0).map_err(db_err)?,
                    start: r.try_get(1).map_err(db_err)?,
                    business: r.try_get(2).map_err(db_err)?,
                    count: r.try_get::<_, i64>(3).map_err(db_err)?.max(0) as u64,
                })
            })
            .collect()
    }

    async fn service_moments(
        &self,
        hall_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<ServiceMoments>> {
        let c = self.client().await?;
        // `date_part` is float8; `EXTRACT` is numeric since PostgreSQL 14, and numeric arithmetic
        // over 140,000 rows took half of this read's time.
        let longest = LONGEST_SERVICE_MINUTES as f64;
        let rows = c
            .query(
                "SELECT business, COUNT(*), SUM(m)::float8, SUM(m * m)::float8 FROM (
                   SELECT business, date_part('epoch', finished_at - called_at) / 60.0 AS m
                   FROM tickets
                   WHERE hall_id = $1 AND day >= $2 AND day <= $3 AND status = 'done'
                     AND called_at IS NOT NULL AND finished_at >= called_at) t
                 WHERE m <= $4
                 GROUP BY business ORDER BY business",
                &[&hall_id, &from, &to, &longest],
            )
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(ServiceMoments {
                    business: r.try_get(0).map_err(db_err)?,
                    count: r.try_get::<_, i64>(1).map_err(db_err)?.max(0) as u64,
                    sum_minutes: r.try_get(2).map_err(db_err)?,
                    sum_of_squares: r.try_get(3).map_err(db_err)?,
                })
            })
            .collect()
    }
}
