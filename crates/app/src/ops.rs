//! What operators ask of a running server: which database it runs on and whether it is ready
//! to serve (the database answers and its schema is the one this build expects).

use crate::{App, AppError, AppResult, Code};

/// A ready server's answer to the readiness probe.
#[derive(Debug, Clone)]
pub struct Readiness {
    /// `sqlite` or `postgres`.
    pub database: &'static str,
    pub migrations: Vec<i64>,
}

impl App {
    /// `sqlite` or `postgres`.
    pub fn database_kind(&self) -> &'static str {
        self.store.dialect()
    }

    /// Ready when the database answers and no migration is pending or unknown; otherwise the
    /// reason, as `not_ready`.
    pub async fn readiness(&self) -> AppResult<Readiness> {
        let not_ready = |zh: String, en: String| AppError::new(Code::NotReady, zh, en);
        self.store.ping().await.map_err(|e| {
            not_ready(
                format!("数据库不可用：{e}"),
                format!("database unreachable: {e}"),
            )
        })?;
        let m = self.store.migration_status().await.map_err(|e| {
            not_ready(
                format!("无法读取迁移状态：{e}"),
                format!("cannot read migrations: {e}"),
            )
        })?;
        if !m.is_current() {
            return Err(not_ready(
                format!(
                    "数据库结构版本不符：待执行 {:?}，未知 {:?}",
                    m.pending(),
                    m.unknown()
                ),
                format!(
                    "schema not current: pending {:?}, unknown {:?}",
                    m.pending(),
                    m.unknown()
                ),
            ));
        }
        Ok(Readiness {
            database: self.store.dialect(),
            migrations: m.applied,
        })
    }
}

impl App {
    /// Erases the personal data of visits older than the retention period
    /// ([`crate::Config::retention_days`]): run hourly by the server. What stays is what the
    /// statistics need — times, halls, businesses, outcomes — with no identity behind it.
    pub async fn apply_retention(&self) -> AppResult<wujing_store::RetentionReport> {
        let cutoff =
            self.clock.now() - chrono::TimeDelta::days(i64::from(self.config.retention_days));
        let day = cutoff
            .with_timezone(&wujing_domain::calendar::china_offset())
            .date_naive();
        let r = self.store.anonymise_before(cutoff, day).await?;
        if r.bookings + r.tickets + r.lottery_entries + r.applications > 0 {
            tracing::info!(
                bookings = r.bookings,
                tickets = r.tickets,
                lottery_entries = r.lottery_entries,
                applications = r.applications,
                "retention: personal data of old visits erased"
            );
        }
        Ok(r)
    }
}
