//! The PostgreSQL side of online payments: each change is one transaction running the shared
//! statements of [`crate::payments`], with its audit entry appended under the audit lock.
//! Two copies of one notification serialise on the event's unique key (the second waits for
//! the first to commit, then inserts nothing); a payment's moves are conditional updates.

use super::staff::{append_audit, PgTx};
use super::{db_err, PgStore};
use crate::model::NewAudit;
use crate::payments::{self as p, *};
use crate::{Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;

async fn payments(
    c: &impl GenericClient,
    q: &str,
    args: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<OnlinePayment>> {
    c.query(q, args).await?.iter().map(p::payment).collect()
}

async fn one(c: &impl GenericClient, id: i64) -> Result<OnlinePayment> {
    payments(c, p::PAYMENT_BY_ID.pg, &[&id])
        .await?
        .pop()
        .ok_or(StoreError::NotFound("online payment"))
}

#[async_trait]
impl PaymentStore for PgStore {
    async fn open_payment(&self, np: &NewOnlinePayment) -> Result<(OnlinePayment, bool)> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        let (id, new) = p::open(&mut PgTx(&tx), np).await?;
        let row = one(&tx, id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok((row, new))
    }

    async fn set_payment_order(
        &self,
        id: i64,
        provider_ref: &str,
        checkout_url: &str,
    ) -> Result<OnlinePayment> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        p::set_order(&mut PgTx(&tx), id, provider_ref, checkout_url).await?;
        let row = one(&tx, id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(row)
    }

    async fn online_payment(&self, id: i64) -> Result<Option<OnlinePayment>> {
        let c = self.client().await?;
        Ok(payments(&c, p::PAYMENT_BY_ID.pg, &[&id]).await?.pop())
    }

    async fn online_payment_by_ref(
        &self,
        provider: &str,
        provider_ref: &str,
    ) -> Result<Option<OnlinePayment>> {
        let c = self.client().await?;
        Ok(
            payments(&c, p::PAYMENT_BY_REF.pg, &[&provider, &provider_ref])
                .await?
                .pop(),
        )
    }

    async fn latest_payment_for(&self, kind: &str, id: i64) -> Result<Option<OnlinePayment>> {
        let c = self.client().await?;
        Ok(payments(&c, p::PAYMENT_LATEST.pg, &[&kind, &id])
            .await?
            .pop())
    }

    async fn apply_payment_event(
        &self,
        e: &NewPaymentEvent,
        audit: &NewAudit,
    ) -> Result<EventOutcome> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        let (out, entry) = p::apply_event(&mut PgTx(&tx), e, audit).await?;
        if let Some(a) = entry {
            append_audit(&tx, &self.keys, &a).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    async fn request_refund(
        &self,
        kind: &str,
        id: i64,
        reason: &str,
        audit: &NewAudit,
    ) -> Result<Option<i64>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        let Some((pid, entry)) = p::request_refund(&mut PgTx(&tx), kind, id, reason, audit).await?
        else {
            return Ok(None);
        };
        append_audit(&tx, &self.keys, &entry).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(Some(pid))
    }

    async fn complete_refund(&self, id: i64, refund_ref: &str, at: DateTime<Utc>) -> Result<bool> {
        let c = self.client().await?;
        let n = c
            .execute(p::COMPLETE_REFUND.pg, &[&id, &refund_ref, &at])
            .await?;
        Ok(n == 1)
    }

    async fn refunds_due(&self, limit: u32) -> Result<Vec<OnlinePayment>> {
        let c = self.client().await?;
        payments(&c, p::PAYMENTS_REFUND_DUE.pg, &[&i64::from(limit)]).await
    }

    async fn payment_events(&self, payment_id: i64) -> Result<Vec<PaymentEvent>> {
        let c = self.client().await?;
        c.query(p::PAYMENT_EVENTS.pg, &[&payment_id])
            .await?
            .iter()
            .map(p::event)
            .collect()
    }
}
