//! The SQLite side of [`crate::LodgingStore`]: the shared reads of [`crate::lodging`] on a
//! reader connection.

use super::staff::LiteTx;
use super::SqliteStore;
use crate::lodging::{Hotel, HotelBy, Registration, RegistrationBy};
use crate::{LodgingStore, Result};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::FutureExt;

const NEVER_WAITS: &str = "SQLite statements never wait";

#[async_trait]
impl LodgingStore for SqliteStore {
    async fn hotel(&self, by: HotelBy<'_>) -> Result<Option<Hotel>> {
        // The borrowed key is copied, since the read runs on another thread.
        let owned = match by {
            HotelBy::Token(t) => (0, t.to_string(), 0),
            HotelBy::Code(c) => (1, c.to_string(), 0),
            HotelBy::Id(id) => (2, String::new(), id),
        };
        self.read(move |c| {
            let by = match owned.0 {
                0 => HotelBy::Token(&owned.1),
                1 => HotelBy::Code(&owned.1),
                _ => HotelBy::Id(owned.2),
            };
            crate::lodging::hotel_where(&mut LiteTx(c), by)
                .now_or_never()
                .expect(NEVER_WAITS)
        })
        .await
    }

    async fn hotels_of_site(&self, site_id: &str) -> Result<Vec<Hotel>> {
        let site = site_id.to_string();
        self.read(move |c| {
            crate::lodging::hotels_of(&mut LiteTx(c), &site)
                .now_or_never()
                .expect(NEVER_WAITS)
        })
        .await
    }

    async fn hotel_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(String, Hotel)>> {
        let h = token_hash.to_string();
        self.read(move |c| {
            crate::lodging::session(&mut LiteTx(c), &h, now)
                .now_or_never()
                .expect(NEVER_WAITS)
        })
        .await
    }

    async fn registration(&self, by: &RegistrationBy) -> Result<Option<Registration>> {
        let (keys, by) = (self.keys.clone(), by.clone());
        self.read(move |c| {
            crate::lodging::registration_where(&mut LiteTx(c), &keys, &by)
                .now_or_never()
                .expect(NEVER_WAITS)
        })
        .await
    }

    async fn lodging_worklist(
        &self,
        site_id: &str,
        since: DateTime<Utc>,
        tomorrow: NaiveDate,
    ) -> Result<Vec<Registration>> {
        let (keys, site) = (self.keys.clone(), site_id.to_string());
        self.read(move |c| {
            crate::lodging::worklist(&mut LiteTx(c), &keys, &site, since, tomorrow)
                .now_or_never()
                .expect(NEVER_WAITS)
        })
        .await
    }
}
