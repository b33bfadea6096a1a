//! The SQLite side of [`crate::ForeignStore`]: the shared reads of [`crate::foreign`] on a
//! reader connection.

use super::staff::LiteTx;
use super::SqliteStore;
use crate::{ForeignStore, Result};
use async_trait::async_trait;
use futures_util::FutureExt;

#[async_trait]
impl ForeignStore for SqliteStore {
    async fn foreign_person_key(&self, passport_key: &str) -> Result<Option<String>> {
        let key = passport_key.to_string();
        self.read(move |c| {
            crate::foreign::person_key(&mut LiteTx(c), &key)
                .now_or_never()
                .expect("SQLite statements never wait")
        })
        .await
    }

    async fn foreign_passport_keys(&self, person_key: &str) -> Result<Vec<String>> {
        let key = person_key.to_string();
        self.read(move |c| {
            crate::foreign::passport_keys(&mut LiteTx(c), &key)
                .now_or_never()
                .expect("SQLite statements never wait")
        })
        .await
    }
}
