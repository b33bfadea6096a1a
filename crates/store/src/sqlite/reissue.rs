//! The SQLite side of [`crate::ReissueStore`]: the shared statements of [`crate::reissue`] on the
//! writer and on a reader connection.

use super::staff::LiteTx;
use super::SqliteStore;
use crate::reissue::{self, Reissue};
use crate::{ReissueStore, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use wujing_domain::reissue::EndorsementRecord;

const NEVER_WAITS: &str = "SQLite statements never wait";

#[async_trait]
impl ReissueStore for SqliteStore {
    async fn import_endorsements(
        &self,
        e: &[EndorsementRecord],
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let (e, keys) = (e.to_vec(), self.keys.clone());
        self.write(move |c| {
            // The writer's job is one transaction.
            reissue::import(&mut LiteTx(c), &keys, &e, now)
                .now_or_never()
                .expect(NEVER_WAITS)
        })
        .await
    }

    async fn endorsements_of(&self, id_number: &str) -> Result<Vec<EndorsementRecord>> {
        let (id, keys) = (id_number.to_string(), self.keys.clone());
        self.read(move |c| {
            reissue::of_holder(&mut LiteTx(c), &keys, &id)
                .now_or_never()
                .expect(NEVER_WAITS)
        })
        .await
    }

    async fn reissue(&self, id: i64) -> Result<Option<Reissue>> {
        self.read(move |c| {
            reissue::by_id(&mut LiteTx(c), id)
                .now_or_never()
                .expect(NEVER_WAITS)
        })
        .await
    }

    async fn stale_reissues(&self, before: DateTime<Utc>) -> Result<Vec<Reissue>> {
        self.read(move |c| {
            reissue::stale(&mut LiteTx(c), before)
                .now_or_never()
                .expect(NEVER_WAITS)
        })
        .await
    }

    async fn awaiting_payment_of(&self, identity_key: &str) -> Result<Vec<i64>> {
        let key = identity_key.to_string();
        self.read(move |c| {
            reissue::awaiting_of(&mut LiteTx(c), &key)
                .now_or_never()
                .expect(NEVER_WAITS)
        })
        .await
    }
}
