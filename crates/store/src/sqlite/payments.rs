//! The SQLite side of online payments: each change is one writer job running the shared
//! statements of [`crate::payments`] (they never wait, so the async code completes in one
//! poll), with its audit entry appended in the same job.

use super::staff::{append_audit, LiteTx};
use super::{db_err, ms, SqliteStore};
use crate::model::NewAudit;
use crate::payments::{self as p, *};
use crate::{Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use rusqlite::{params, Connection};

fn now<T>(f: impl std::future::Future<Output = T>) -> T {
    f.now_or_never().expect("SQLite statements never wait")
}

fn payments(c: &Connection, q: &str, args: impl rusqlite::Params) -> Result<Vec<OnlinePayment>> {
    let mut st = c.prepare_cached(q).map_err(db_err)?;
    let rows = st
        .query_map(args, |r| p::payment(r))
        .map_err(db_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err);
    rows
}

fn one(c: &Connection, id: i64) -> Result<OnlinePayment> {
    payments(c, p::PAYMENT_BY_ID.lite, [id])?
        .pop()
        .ok_or(StoreError::NotFound("online payment"))
}

#[async_trait]
impl PaymentStore for SqliteStore {
    async fn open_payment(&self, np: &NewOnlinePayment) -> Result<(OnlinePayment, bool)> {
        let np = np.clone();
        self.write(move |c| {
            let (id, new) = now(p::open(&mut LiteTx(c), &np))?;
            Ok((one(c, id)?, new))
        })
        .await
    }

    async fn set_payment_order(
        &self,
        id: i64,
        provider_ref: &str,
        checkout_url: &str,
    ) -> Result<OnlinePayment> {
        let (r, u) = (provider_ref.to_string(), checkout_url.to_string());
        self.write(move |c| {
            now(p::set_order(&mut LiteTx(c), id, &r, &u))?;
            one(c, id)
        })
        .await
    }

    async fn online_payment(&self, id: i64) -> Result<Option<OnlinePayment>> {
        self.lookup(move |c| Ok(payments(c, p::PAYMENT_BY_ID.lite, [id])?.pop()))
            .await
    }

    async fn online_payment_by_ref(
        &self,
        provider: &str,
        provider_ref: &str,
    ) -> Result<Option<OnlinePayment>> {
        let (a, b) = (provider.to_string(), provider_ref.to_string());
        self.lookup(move |c| Ok(payments(c, p::PAYMENT_BY_REF.lite, [a, b])?.pop()))
            .await
    }

    async fn latest_payment_for(&self, kind: &str, id: i64) -> Result<Option<OnlinePayment>> {
        let k = kind.to_string();
        self.lookup(move |c| Ok(payments(c, p::PAYMENT_LATEST.lite, params![k, id])?.pop()))
            .await
    }

    async fn apply_payment_event(
        &self,
        e: &NewPaymentEvent,
        audit: &NewAudit,
    ) -> Result<EventOutcome> {
        let (e, audit) = (e.clone(), audit.clone());
        let keys = self.keys.clone();
        self.write(move |c| {
            let (out, entry) = now(p::apply_event(&mut LiteTx(c), &e, &audit))?;
            if let Some(a) = entry {
                append_audit(c, &keys, &a)?;
            }
            Ok(out)
        })
        .await
    }

    async fn request_refund(
        &self,
        kind: &str,
        id: i64,
        reason: &str,
        audit: &NewAudit,
    ) -> Result<Option<i64>> {
        let (k, r, audit) = (kind.to_string(), reason.to_string(), audit.clone());
        let keys = self.keys.clone();
        self.write(move |c| {
            let Some((pid, entry)) = now(p::request_refund(&mut LiteTx(c), &k, id, &r, &audit))?
            else {
                return Ok(None);
            };
            append_audit(c, &keys, &entry)?;
            Ok(Some(pid))
        })
        .await
    }

    async fn complete_refund(&self, id: i64, refund_ref: &str, at: DateTime<Utc>) -> Result<bool> {
        let r = refund_ref.to_string();
        self.write(move |c| {
            let n = c
                .execute(p::COMPLETE_REFUND.lite, params![id, r, ms(at)])
                .map_err(db_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn refunds_due(&self, limit: u32) -> Result<Vec<OnlinePayment>> {
        self.read(move |c| payments(c, p::PAYMENTS_REFUND_DUE.lite, [i64::from(limit)]))
            .await
    }

    async fn payment_events(&self, payment_id: i64) -> Result<Vec<PaymentEvent>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(p::PAYMENT_EVENTS.lite).map_err(db_err)?;
            let rows = st
                .query_map([payment_id], |r| p::event(r))
                .map_err(db_err)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(db_err);
            rows
        })
        .await
    }
}
