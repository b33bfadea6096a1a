//! The PostgreSQL side of [`crate::KioskStore`]: the shared reads of [`crate::kiosk`] on a
//! pooled connection.

use super::staff::PgTx;
use super::PgStore;
use crate::kiosk::{Biometric, CardRead, KioskApplicant};
use crate::{KioskStore, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[async_trait]
impl KioskStore for PgStore {
    async fn kiosk_applicant(&self, application_id: i64) -> Result<Option<KioskApplicant>> {
        let c = self.client().await?;
        crate::kiosk::applicant(&mut PgTx(&c), &self.keys, application_id).await
    }

    async fn application_biometrics(&self, application_id: i64) -> Result<Vec<Biometric>> {
        let c = self.client().await?;
        crate::kiosk::biometrics(&mut PgTx(&c), &self.keys, application_id).await
    }

    async fn biometrics_due(&self, cutoff: DateTime<Utc>, limit: u32) -> Result<Vec<i64>> {
        let c = self.client().await?;
        crate::kiosk::due(&mut PgTx(&c), cutoff, limit).await
    }

    async fn counter_card_read(&self, hall_id: &str, window: u32) -> Result<Option<CardRead>> {
        let c = self.client().await?;
        crate::kiosk::card_read(&mut PgTx(&c), &self.keys, hall_id, window).await
    }
}
