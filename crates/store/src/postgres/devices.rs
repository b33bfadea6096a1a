//! The PostgreSQL side of [`crate::DeviceStore`]: the shared steps of [`crate::devices`] in a
//! transaction of their own, the reads on a pooled connection.

use super::staff::PgTx;
use super::{db_err, PgStore};
use crate::devices::{self, DeviceAlert, DeviceStatus, DeviceStep, DeviceUsage};
use crate::model::{AdminOutcome, NewMessage};
use crate::{DeviceStore, Result};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

#[async_trait]
impl DeviceStore for PgStore {
    async fn device_step(
        &self,
        step: &DeviceStep,
        now: DateTime<Utc>,
        messages: &[NewMessage],
    ) -> Result<AdminOutcome> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        let out = devices::apply(&mut PgTx(&tx), step, now).await?;
        if devices::changed_something(&out) {
            super::outbox::insert(&tx, &self.keys, messages).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    async fn device_statuses(&self) -> Result<Vec<DeviceStatus>> {
        let c = self.client().await?;
        devices::statuses(&mut PgTx(&c)).await
    }

    async fn device_alerts(
        &self,
        open_only: bool,
        since: DateTime<Utc>,
    ) -> Result<Vec<DeviceAlert>> {
        let c = self.client().await?;
        devices::alerts(&mut PgTx(&c), open_only, since).await
    }

    async fn device_alert(&self, id: i64) -> Result<Option<DeviceAlert>> {
        let c = self.client().await?;
        devices::alert_by_id(&mut PgTx(&c), id).await
    }

    async fn device_usage(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<DeviceUsage>> {
        let c = self.client().await?;
        devices::usage(&mut PgTx(&c), from, to).await
    }
}
