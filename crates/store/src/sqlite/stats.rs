//! The SQLite side of [`crate::StatsStore`]: a day is rolled in one writer job (its own
//! savepoint, so all or nothing), the reads on a reader connection.

use super::staff::LiteTx;
use super::SqliteStore;
use crate::stats::{
    self, DayHistogram, DeviceFigures, Figures, HourFigures, OfficerFigures, PoolFigures,
    StatsFilter, StatsGroup, UnsatisfiedCase,
};
use crate::{Result, StatsStore};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::FutureExt;

const NEVER_WAITS: &str = "SQLite statements never wait";

#[async_trait]
impl StatsStore for SqliteStore {
    async fn stats_watermarks(&self) -> Result<Vec<(String, NaiveDate)>> {
        self.read(move |c| {
            stats::watermarks(&mut LiteTx(c))
                .now_or_never()
                .expect(NEVER_WAITS)
        })
        .await
    }

    async fn stats_first_day(&self, source: &str) -> Result<Option<NaiveDate>> {
        let source = source.to_string();
        self.read(move |c| {
            stats::first_day(&mut LiteTx(c), &source)
                .now_or_never()
                .expect(NEVER_WAITS)
        })
        .await
    }

    async fn stats_roll_day(
        &self,
        source: &str,
        day: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let source = source.to_string();
        self.write(move |c| {
            stats::roll_day(&mut LiteTx(c), &source, day, now)
                .now_or_never()
                .expect(NEVER_WAITS)
        })
        .await
    }

    async fn stats_rewind(&self, from: NaiveDate, now: DateTime<Utc>) -> Result<()> {
        self.write(move |c| {
            stats::rewind(&mut LiteTx(c), from, now)
                .now_or_never()
                .expect(NEVER_WAITS)
        })
        .await
    }

    async fn stats_figures(
        &self,
        f: &StatsFilter,
        group: StatsGroup,
    ) -> Result<Vec<(String, Figures)>> {
        let f = f.clone();
        self.read(move |c| {
            stats::figures(&mut LiteTx(c), &f, group)
                .now_or_never()
                .expect(NEVER_WAITS)
        })
        .await
    }

    async fn stats_hours(&self, f: &StatsFilter) -> Result<Vec<HourFigures>> {
        let f = f.clone();
        self.read(move |c| {
            stats::hours(&mut LiteTx(c), &f)
                .now_or_never()
                .expect(NEVER_WAITS)
        })
        .await
    }

    async fn stats_histograms(&self, f: &StatsFilter) -> Result<Vec<DayHistogram>> {
        let f = f.clone();
        self.read(move |c| {
            stats::histograms(&mut LiteTx(c), &f)
                .now_or_never()
                .expect(NEVER_WAITS)
        })
        .await
    }

    async fn stats_pools(&self, f: &StatsFilter) -> Result<Vec<PoolFigures>> {
        let f = f.clone();
        self.read(move |c| {
            stats::pools(&mut LiteTx(c), &f)
                .now_or_never()
                .expect(NEVER_WAITS)
        })
        .await
    }

    async fn stats_devices(&self, f: &StatsFilter) -> Result<Vec<DeviceFigures>> {
        let f = f.clone();
        self.read(move |c| {
            stats::devices(&mut LiteTx(c), &f)
                .now_or_never()
                .expect(NEVER_WAITS)
        })
        .await
    }

    async fn stats_officers(
        &self,
        f: &StatsFilter,
        officer: Option<i64>,
    ) -> Result<Vec<OfficerFigures>> {
        let f = f.clone();
        self.read(move |c| {
            stats::officers(&mut LiteTx(c), &f, officer)
                .now_or_never()
                .expect(NEVER_WAITS)
        })
        .await
    }

    async fn unsatisfied_cases(
        &self,
        officer: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<UnsatisfiedCase>> {
        self.read(move |c| {
            stats::cases(&mut LiteTx(c), officer, from, to)
                .now_or_never()
                .expect(NEVER_WAITS)
        })
        .await
    }
}
