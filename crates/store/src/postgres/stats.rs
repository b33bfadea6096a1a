//! The PostgreSQL side of [`crate::StatsStore`]: a day is rolled in a transaction of its own,
//! the reads on a pooled connection.

use super::staff::PgTx;
use super::{db_err, PgStore};
use crate::stats::{
    self, DayHistogram, DeviceFigures, Figures, HourFigures, OfficerFigures, PoolFigures,
    StatsFilter, StatsGroup, UnsatisfiedCase,
};
use crate::{Result, StatsStore};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

#[async_trait]
impl StatsStore for PgStore {
    async fn stats_watermarks(&self) -> Result<Vec<(String, NaiveDate)>> {
        let c = self.client().await?;
        stats::watermarks(&mut PgTx(&c)).await
    }

    async fn stats_first_day(&self, source: &str) -> Result<Option<NaiveDate>> {
        let c = self.client().await?;
        stats::first_day(&mut PgTx(&c), source).await
    }

    async fn stats_roll_day(
        &self,
        source: &str,
        day: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        let out = stats::roll_day(&mut PgTx(&tx), source, day, now).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    async fn stats_rewind(&self, from: NaiveDate, now: DateTime<Utc>) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        let out = stats::rewind(&mut PgTx(&tx), from, now).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    async fn stats_figures(
        &self,
        f: &StatsFilter,
        group: StatsGroup,
    ) -> Result<Vec<(String, Figures)>> {
        let c = self.client().await?;
        stats::figures(&mut PgTx(&c), f, group).await
    }

    async fn stats_hours(&self, f: &StatsFilter) -> Result<Vec<HourFigures>> {
        let c = self.client().await?;
        stats::hours(&mut PgTx(&c), f).await
    }

    async fn stats_histograms(&self, f: &StatsFilter) -> Result<Vec<DayHistogram>> {
        let c = self.client().await?;
        stats::histograms(&mut PgTx(&c), f).await
    }

    async fn stats_pools(&self, f: &StatsFilter) -> Result<Vec<PoolFigures>> {
        let c = self.client().await?;
        stats::pools(&mut PgTx(&c), f).await
    }

    async fn stats_devices(&self, f: &StatsFilter) -> Result<Vec<DeviceFigures>> {
        let c = self.client().await?;
        stats::devices(&mut PgTx(&c), f).await
    }

    async fn stats_officers(
        &self,
        f: &StatsFilter,
        officer: Option<i64>,
    ) -> Result<Vec<OfficerFigures>> {
        let c = self.client().await?;
        stats::officers(&mut PgTx(&c), f, officer).await
    }

    async fn unsatisfied_cases(
        &self,
        officer: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<UnsatisfiedCase>> {
        let c = self.client().await?;
        stats::cases(&mut PgTx(&c), officer, from, to).await
    }
}
