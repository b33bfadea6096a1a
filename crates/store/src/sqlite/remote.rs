//! The SQLite side of [`crate::RemoteStore`]: the shared reads of [`crate::remote`] on a
//! reader connection.

use super::staff::LiteTx;
use super::SqliteStore;
use crate::model::{OnlineApplication, OnlineBy};
use crate::{RemoteStore, Result};
use async_trait::async_trait;
use futures_util::FutureExt;

#[async_trait]
impl RemoteStore for SqliteStore {
    async fn online_application(&self, by: &OnlineBy) -> Result<Option<OnlineApplication>> {
        let (keys, by) = (self.keys.clone(), by.clone());
        self.read(move |c| {
            crate::remote::read(&mut LiteTx(c), &keys, &by)
                .now_or_never()
                .expect("SQLite statements never wait")
        })
        .await
    }

    async fn online_photo(&self, id: i64) -> Result<Option<Vec<u8>>> {
        let keys = self.keys.clone();
        self.read(move |c| {
            crate::remote::photo(&mut LiteTx(c), &keys, id)
                .now_or_never()
                .expect("SQLite statements never wait")
        })
        .await
    }

    async fn online_awaiting_payment(&self, limit: u32) -> Result<Vec<i64>> {
        self.read(move |c| {
            crate::remote::awaiting_payment(&mut LiteTx(c), i64::from(limit))
                .now_or_never()
                .expect("SQLite statements never wait")
        })
        .await
    }
}
