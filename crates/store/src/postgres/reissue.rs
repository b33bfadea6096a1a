//! The PostgreSQL side of [`crate::ReissueStore`]: the shared statements of [`crate::reissue`], the
//! import in a transaction of its own, the reads on a pooled connection.

use super::staff::PgTx;
use super::{db_err, PgStore};
use crate::reissue::{self, Reissue};
use crate::{ReissueStore, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use wujing_domain::reissue::EndorsementRecord;

#[async_trait]
impl ReissueStore for PgStore {
    async fn import_endorsements(
        &self,
        e: &[EndorsementRecord],
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        let n = reissue::import(&mut PgTx(&tx), &self.keys, e, now).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(n)
    }

    async fn endorsements_of(&self, id_number: &str) -> Result<Vec<EndorsementRecord>> {
        let c = self.client().await?;
        reissue::of_holder(&mut PgTx(&c), &self.keys, id_number).await
    }

    async fn reissue(&self, id: i64) -> Result<Option<Reissue>> {
        let c = self.client().await?;
        reissue::by_id(&mut PgTx(&c), id).await
    }

    async fn stale_reissues(&self, before: DateTime<Utc>) -> Result<Vec<Reissue>> {
        let c = self.client().await?;
        reissue::stale(&mut PgTx(&c), before).await
    }

    async fn awaiting_payment_of(&self, identity_key: &str) -> Result<Vec<i64>> {
        let c = self.client().await?;
        reissue::awaiting_of(&mut PgTx(&c), identity_key).await
    }
}
