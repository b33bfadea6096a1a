//! The PostgreSQL side of [`crate::RemoteStore`]: the shared reads of [`crate::remote`] on a
//! pooled connection.

use super::staff::PgTx;
use super::PgStore;
use crate::model::{OnlineApplication, OnlineBy};
use crate::{RemoteStore, Result};
use async_trait::async_trait;

#[async_trait]
impl RemoteStore for PgStore {
    async fn online_application(&self, by: &OnlineBy) -> Result<Option<OnlineApplication>> {
        let c = self.client().await?;
        crate::remote::read(&mut PgTx(&c), &self.keys, by).await
    }

    async fn online_photo(&self, id: i64) -> Result<Option<Vec<u8>>> {
        let c = self.client().await?;
        crate::remote::photo(&mut PgTx(&c), &self.keys, id).await
    }

    async fn online_awaiting_payment(&self, limit: u32) -> Result<Vec<i64>> {
        let c = self.client().await?;
        crate::remote::awaiting_payment(&mut PgTx(&c), i64::from(limit)).await
    }
}
