//! The SQLite side of [`crate::KioskStore`]: the shared reads of [`crate::kiosk`] on a reader
//! connection.

use super::staff::LiteTx;
use super::SqliteStore;
use crate::kiosk::{Biometric, CardRead, KioskApplicant};
use crate::{KioskStore, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::FutureExt;

#[async_trait]
impl KioskStore for SqliteStore {
    async fn kiosk_applicant(&self, application_id: i64) -> Result<Option<KioskApplicant>> {
        let keys = self.keys.clone();
        self.read(move |c| {
            crate::kiosk::applicant(&mut LiteTx(c), &keys, application_id)
                .now_or_never()
                .expect("SQLite statements never wait")
        })
        .await
    }

    async fn application_biometrics(&self, application_id: i64) -> Result<Vec<Biometric>> {
        let keys = self.keys.clone();
        self.read(move |c| {
            crate::kiosk::biometrics(&mut LiteTx(c), &keys, application_id)
                .now_or_never()
                .expect("SQLite statements never wait")
        })
        .await
    }

    async fn biometrics_due(&self, cutoff: DateTime<Utc>, limit: u32) -> Result<Vec<i64>> {
        self.read(move |c| {
            crate::kiosk::due(&mut LiteTx(c), cutoff, limit)
                .now_or_never()
                .expect("SQLite statements never wait")
        })
        .await
    }

    async fn counter_card_read(&self, hall_id: &str, window: u32) -> Result<Option<CardRead>> {
        let (keys, hall_id) = (self.keys.clone(), hall_id.to_string());
        self.read(move |c| {
            crate::kiosk::card_read(&mut LiteTx(c), &keys, &hall_id, window)
                .now_or_never()
                .expect("SQLite statements never wait")
        })
        .await
    }
}
