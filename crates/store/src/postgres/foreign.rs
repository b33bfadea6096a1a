//! The PostgreSQL side of [`crate::ForeignStore`]: the shared reads of [`crate::foreign`] on a
//! pooled connection.

use super::staff::PgTx;
use super::PgStore;
use crate::{ForeignStore, Result};
use async_trait::async_trait;

#[async_trait]
impl ForeignStore for PgStore {
    async fn foreign_person_key(&self, passport_key: &str) -> Result<Option<String>> {
        let c = self.client().await?;
        crate::foreign::person_key(&mut PgTx(&c), passport_key).await
    }

    async fn foreign_passport_keys(&self, person_key: &str) -> Result<Vec<String>> {
        let c = self.client().await?;
        crate::foreign::passport_keys(&mut PgTx(&c), person_key).await
    }
}
