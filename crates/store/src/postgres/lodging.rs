//! The PostgreSQL side of [`crate::LodgingStore`]: the shared reads of [`crate::lodging`] on a
//! pooled connection.

use super::staff::PgTx;
use super::PgStore;
use crate::lodging::{Hotel, HotelBy, Registration, RegistrationBy};
use crate::{LodgingStore, Result};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

#[async_trait]
impl LodgingStore for PgStore {
    async fn hotel(&self, by: HotelBy<'_>) -> Result<Option<Hotel>> {
        let c = self.client().await?;
        crate::lodging::hotel_where(&mut PgTx(&c), by).await
    }

    async fn hotels_of_site(&self, site_id: &str) -> Result<Vec<Hotel>> {
        let c = self.client().await?;
        crate::lodging::hotels_of(&mut PgTx(&c), site_id).await
    }

    async fn hotel_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(String, Hotel)>> {
        let c = self.client().await?;
        crate::lodging::session(&mut PgTx(&c), token_hash, now).await
    }

    async fn registration(&self, by: &RegistrationBy) -> Result<Option<Registration>> {
        let c = self.client().await?;
        crate::lodging::registration_where(&mut PgTx(&c), &self.keys, by).await
    }

    async fn lodging_worklist(
        &self,
        site_id: &str,
        since: DateTime<Utc>,
        tomorrow: NaiveDate,
    ) -> Result<Vec<Registration>> {
        let c = self.client().await?;
        crate::lodging::worklist(&mut PgTx(&c), &self.keys, site_id, since, tomorrow).await
    }
}
