//! The SQLite side of [`crate::DeviceStore`]: the shared steps and reads of [`crate::devices`]
//! on the writer and on a reader connection.

use super::staff::LiteTx;
use super::SqliteStore;
use crate::devices::{self, DeviceAlert, DeviceStatus, DeviceStep, DeviceUsage};
use crate::model::{AdminOutcome, NewMessage};
use crate::{DeviceStore, Result};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::FutureExt;

const NEVER_WAITS: &str = "SQLite statements never wait";

#[async_trait]
impl DeviceStore for SqliteStore {
    async fn device_step(
        &self,
        step: &DeviceStep,
        now: DateTime<Utc>,
        messages: &[NewMessage],
    ) -> Result<AdminOutcome> {
        let (step, messages, keys) = (step.clone(), messages.to_vec(), self.keys.clone());
        self.write(move |c| {
            let out = devices::apply(&mut LiteTx(c), &step, now)
                .now_or_never()
                .expect(NEVER_WAITS)?;
            if devices::changed_something(&out) {
                super::outbox::insert(c, &keys, &messages)?;
            }
            Ok(out)
        })
        .await
    }

    async fn device_statuses(&self) -> Result<Vec<DeviceStatus>> {
        self.read(move |c| {
            devices::statuses(&mut LiteTx(c))
                .now_or_never()
                .expect(NEVER_WAITS)
        })
        .await
    }

    async fn device_alerts(
        &self,
        open_only: bool,
        since: DateTime<Utc>,
    ) -> Result<Vec<DeviceAlert>> {
        self.read(move |c| {
            devices::alerts(&mut LiteTx(c), open_only, since)
                .now_or_never()
                .expect(NEVER_WAITS)
        })
        .await
    }

    async fn device_alert(&self, id: i64) -> Result<Option<DeviceAlert>> {
        self.read(move |c| {
            devices::alert_by_id(&mut LiteTx(c), id)
                .now_or_never()
                .expect(NEVER_WAITS)
        })
        .await
    }

    async fn device_usage(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<DeviceUsage>> {
        self.read(move |c| {
            devices::usage(&mut LiteTx(c), from, to)
                .now_or_never()
                .expect(NEVER_WAITS)
        })
        .await
    }
}
