//! Online payments (issue 13), written once for both dialects: the rows, the statements and
//! what each change does over an [`AdminTx`]. The adapters (`sqlite/payments.rs`,
//! `postgres/payments.rs`) only open the transaction, run these and append the audit entry.
//!
//! The database holds the rules: at most one pending and one paid payment per purpose (partial
//! unique indexes), a provider's event recorded once (unique `(provider, provider_event_id)`),
//! and every move a conditional `UPDATE` from the state it leaves.

use crate::admin::{AdminTx, Arg, Violation};
use crate::model::NewAudit;
use crate::rows::Cols;
use crate::sql::{shared, to_lite, Sql};
use crate::{Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A payment row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnlinePayment {
    pub id: i64,
    pub purpose_kind: String,
    pub purpose_id: i64,
    pub amount_yuan: i64,
    pub subject_zh: String,
    pub subject_en: String,
    pub return_to: String,
    pub provider: String,
    pub provider_ref: Option<String>,
    pub checkout_url: Option<String>,
    /// `pending`, `paid`, `declined`, `refund_due` or `refunded`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub declined_at: Option<DateTime<Utc>>,
    pub refund_reason: Option<String>,
    pub refund_ref: Option<String>,
    pub refunded_at: Option<DateTime<Utc>>,
}

/// A payment to open for a purpose.
#[derive(Debug, Clone)]
pub struct NewOnlinePayment {
    pub purpose_kind: String,
    pub purpose_id: i64,
    pub amount_yuan: i64,
    pub subject_zh: String,
    pub subject_en: String,
    pub return_to: String,
    pub provider: String,
    pub at: DateTime<Utc>,
}

/// A verified provider notification.
#[derive(Debug, Clone)]
pub struct NewPaymentEvent {
    pub provider: String,
    pub provider_event_id: String,
    pub provider_ref: String,
    /// `paid` or `declined`.
    pub outcome: String,
    pub amount_yuan: i64,
    pub at: DateTime<Utc>,
}

/// A recorded notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentEvent {
    pub id: i64,
    pub provider: String,
    pub provider_event_id: String,
    pub payment_id: i64,
    pub outcome: String,
    pub amount_yuan: i64,
    pub disposition: String,
    pub received_at: DateTime<Utc>,
}

/// What a notification did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventDisposition {
    /// The payment moved from pending to paid or declined.
    Applied,
    /// Recorded; the payment had moved on already, nothing changed.
    Stale,
    /// Recorded and refused: the amount differs from the order's.
    AmountMismatch,
    /// Paid for a payment that cannot be accepted (declined, or its purpose paid by another):
    /// it is now `refund_due`.
    RefundDue,
    /// This provider event was recorded before: nothing was written.
    Duplicate,
}

impl EventDisposition {
    fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Stale => "stale",
            Self::AmountMismatch => "amount_mismatch",
            Self::RefundDue => "refund_due",
            Self::Duplicate => "duplicate",
        }
    }
}

/// The payment a notification was for, and what it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventOutcome {
    pub payment_id: i64,
    pub disposition: EventDisposition,
}

/// Online payments: the port's storage.
#[async_trait]
pub trait PaymentStore: Send + Sync + 'static {
    /// Opens a pending payment for the purpose, or answers its pending one (`false`: not new),
    /// in one transaction. `Refused("payment_already_paid")` when the purpose has a paid one.
    async fn open_payment(&self, p: &NewOnlinePayment) -> Result<(OnlinePayment, bool)>;

    /// Records the provider's order of a pending payment that has none yet; the payment as it
    /// is now (another caller's order wins if it came first).
    async fn set_payment_order(
        &self,
        id: i64,
        provider_ref: &str,
        checkout_url: &str,
    ) -> Result<OnlinePayment>;

    async fn online_payment(&self, id: i64) -> Result<Option<OnlinePayment>>;

    async fn online_payment_by_ref(
        &self,
        provider: &str,
        provider_ref: &str,
    ) -> Result<Option<OnlinePayment>>;

    /// The purpose's newest payment.
    async fn latest_payment_for(&self, kind: &str, id: i64) -> Result<Option<OnlinePayment>>;

    /// A notification, in one transaction: recorded once (a known event id: `Duplicate`,
    /// nothing written), then the conditional move it asks for, and an audit entry (from
    /// `audit`, its action and detail set here) for every disposition but `Stale`.
    /// `NotFound("online payment")` for an unknown reference (nothing written).
    async fn apply_payment_event(
        &self,
        e: &NewPaymentEvent,
        audit: &NewAudit,
    ) -> Result<EventOutcome>;

    /// Moves the purpose's paid payment to `refund_due` with its reason and audit entry, in
    /// one transaction; `None` (nothing written) when no payment of the purpose is paid.
    async fn request_refund(
        &self,
        kind: &str,
        id: i64,
        reason: &str,
        audit: &NewAudit,
    ) -> Result<Option<i64>>;

    /// `refund_due → refunded` with the provider's refund reference; `false` when it was not
    /// due (refunded meanwhile).
    async fn complete_refund(&self, id: i64, refund_ref: &str, at: DateTime<Utc>) -> Result<bool>;

    /// Payments whose money must go back, oldest first.
    async fn refunds_due(&self, limit: u32) -> Result<Vec<OnlinePayment>>;

    /// A payment's recorded notifications, oldest first.
    async fn payment_events(&self, payment_id: i64) -> Result<Vec<PaymentEvent>>;
}

macro_rules! payment_cols {
    () => {
        "id, purpose_kind, purpose_id, amount_yuan, subject_zh, subject_en, return_to, provider, \
         provider_ref, checkout_url, status, created_at, paid_at, declined_at, refund_reason, \
         refund_ref, refunded_at"
    };
}

shared! {
    PAYMENT_BY_ID = concat!("SELECT ", payment_cols!(), " FROM online_payments WHERE id = $1");
    PAYMENT_BY_REF = concat!("SELECT ", payment_cols!(), " FROM online_payments WHERE provider = $1 AND provider_ref = $2");
    PAYMENT_LATEST = concat!("SELECT ", payment_cols!(), " FROM online_payments \
         WHERE purpose_kind = $1 AND purpose_id = $2 ORDER BY id DESC LIMIT 1");
    PAYMENTS_REFUND_DUE = concat!("SELECT ", payment_cols!(), " FROM online_payments \
         WHERE status = 'refund_due' ORDER BY id LIMIT $1");
    PAYMENT_EVENTS = "SELECT id, provider, provider_event_id, payment_id, outcome, amount_yuan, disposition, received_at \
         FROM payment_events WHERE payment_id = $1 ORDER BY id";
    PURPOSE_PAID = "SELECT id FROM online_payments WHERE purpose_kind = $1 AND purpose_id = $2 AND status = 'paid'";
    PURPOSE_PENDING = "SELECT id FROM online_payments WHERE purpose_kind = $1 AND purpose_id = $2 AND status = 'pending'";
    /// A second pending payment of the purpose is not inserted (its partial unique index).
    INSERT_PAYMENT = "INSERT INTO online_payments (purpose_kind, purpose_id, amount_yuan, subject_zh, \
         subject_en, return_to, provider, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8) \
         ON CONFLICT (purpose_kind, purpose_id) WHERE status = 'pending' DO NOTHING RETURNING id";
    SET_PAYMENT_ORDER = "UPDATE online_payments SET provider_ref = $2, checkout_url = $3 \
         WHERE id = $1 AND provider_ref IS NULL";
    /// `id, status, amount_yuan` as text.
    PAYMENT_FOR_EVENT = "SELECT CAST(id AS TEXT), status, CAST(amount_yuan AS TEXT), purpose_kind, CAST(purpose_id AS TEXT) \
         FROM online_payments WHERE provider = $1 AND provider_ref = $2";
    /// The event, once: a known `(provider, event id)` inserts nothing (and, on PostgreSQL,
    /// waits for the transaction that inserted it, so two concurrent copies are one).
    INSERT_PAYMENT_EVENT = "INSERT INTO payment_events (provider, provider_event_id, payment_id, outcome, \
         amount_yuan, disposition, received_at) VALUES ($1, $2, $3, $4, $5, 'stale', $6) \
         ON CONFLICT (provider, provider_event_id) DO NOTHING RETURNING id";
    SET_EVENT_DISPOSITION = "UPDATE payment_events SET disposition = $2 WHERE id = $1";
    /// Pending → paid, unless another payment of the purpose is paid (the partial unique index
    /// backs this up).
    MARK_PAID = "UPDATE online_payments SET status = 'paid', paid_at = $2 \
         WHERE id = $1 AND status = 'pending' AND NOT EXISTS ( \
           SELECT 1 FROM online_payments o WHERE o.purpose_kind = online_payments.purpose_kind \
           AND o.purpose_id = online_payments.purpose_id AND o.status = 'paid')";
    MARK_DECLINED = "UPDATE online_payments SET status = 'declined', declined_at = $2 \
         WHERE id = $1 AND status = 'pending'";
    /// Money taken for a payment that cannot be paid: it goes back.
    MARK_NOT_ACCEPTED = "UPDATE online_payments SET status = 'refund_due', refund_reason = 'not_accepted' \
         WHERE id = $1 AND status IN ('pending', 'declined')";
    REQUEST_REFUND = "UPDATE online_payments SET status = 'refund_due', refund_reason = $3 \
         WHERE purpose_kind = $1 AND purpose_id = $2 AND status = 'paid' RETURNING id";
    COMPLETE_REFUND = "UPDATE online_payments SET status = 'refunded', refund_ref = $2, refunded_at = $3 \
         WHERE id = $1 AND status = 'refund_due'";
}

/// A payment from `payment_cols!()`.
pub(crate) fn payment<R: Cols>(r: &R) -> Result<OnlinePayment, R::Err> {
    Ok(OnlinePayment {
        id: r.int(0)?,
        purpose_kind: r.text(1)?,
        purpose_id: r.int(2)?,
        amount_yuan: r.int(3)?,
        subject_zh: r.text(4)?,
        subject_en: r.text(5)?,
        return_to: r.text(6)?,
        provider: r.text(7)?,
        provider_ref: r.opt_text(8)?,
        checkout_url: r.opt_text(9)?,
        status: r.text(10)?,
        created_at: r.at(11)?,
        paid_at: r.opt_at(12)?,
        declined_at: r.opt_at(13)?,
        refund_reason: r.opt_text(14)?,
        refund_ref: r.opt_text(15)?,
        refunded_at: r.opt_at(16)?,
    })
}

/// An event from [`PAYMENT_EVENTS`].
pub(crate) fn event<R: Cols>(r: &R) -> Result<PaymentEvent, R::Err> {
    Ok(PaymentEvent {
        id: r.int(0)?,
        provider: r.text(1)?,
        provider_event_id: r.text(2)?,
        payment_id: r.int(3)?,
        outcome: r.text(4)?,
        amount_yuan: r.int(5)?,
        disposition: r.text(6)?,
        received_at: r.at(7)?,
    })
}

/// Opens the purpose's payment inside the caller's transaction: its id, and whether it is new.
pub(crate) async fn open(tx: &mut impl AdminTx, p: &NewOnlinePayment) -> Result<(i64, bool)> {
    use Arg::*;
    let purpose = [Text(&p.purpose_kind), Int(p.purpose_id)];
    if tx.first_i64(PURPOSE_PAID, &purpose).await?.is_some() {
        return Err(StoreError::Refused("payment_already_paid"));
    }
    let new = tx
        .first_i64(
            INSERT_PAYMENT,
            &[
                Text(&p.purpose_kind),
                Int(p.purpose_id),
                Int(p.amount_yuan),
                Text(&p.subject_zh),
                Text(&p.subject_en),
                Text(&p.return_to),
                Text(&p.provider),
                At(p.at),
            ],
        )
        .await?;
    if let Some(id) = new {
        return Ok((id, true));
    }
    let open = tx.first_i64(PURPOSE_PENDING, &purpose).await?;
    // Gone between the two statements (paid or declined meanwhile): the caller asks again.
    open.map(|id| (id, false))
        .ok_or(StoreError::Refused("payment_decided"))
}

/// Records the provider's order of a pending payment.
pub(crate) async fn set_order(
    tx: &mut impl AdminTx,
    id: i64,
    provider_ref: &str,
    checkout_url: &str,
) -> Result<()> {
    tx.exec(
        SET_PAYMENT_ORDER,
        &[
            Arg::Int(id),
            Arg::Text(provider_ref),
            Arg::Text(checkout_url),
        ],
    )
    .await
    .map_err(|f| match f.violation {
        Some(Violation::Unique) => StoreError::Refused("payment_reference_taken"),
        _ => f.error,
    })?;
    Ok(())
}

/// A notification inside the caller's transaction ([`PaymentStore::apply_payment_event`]):
/// the outcome, and the audit entry to append (none for a duplicate or a stale one).
pub(crate) async fn apply_event(
    tx: &mut impl AdminTx,
    e: &NewPaymentEvent,
    audit: &NewAudit,
) -> Result<(EventOutcome, Option<NewAudit>)> {
    use Arg::*;
    let row = tx
        .texts(
            PAYMENT_FOR_EVENT,
            &[Text(&e.provider), Text(&e.provider_ref)],
        )
        .await?;
    let Some([Some(id), Some(_status), Some(amount), Some(kind), Some(purpose_id)]) =
        row.first().map(Vec::as_slice)
    else {
        return Err(StoreError::NotFound("online payment"));
    };
    let corrupt = |what: &str| StoreError::Corrupt(format!("online payment {what}"));
    let payment_id: i64 = id.parse().map_err(|_| corrupt("id"))?;
    let amount: i64 = amount.parse().map_err(|_| corrupt("amount"))?;
    let Some(event_id) = tx
        .first_i64(
            INSERT_PAYMENT_EVENT,
            &[
                Text(&e.provider),
                Text(&e.provider_event_id),
                Int(payment_id),
                Text(&e.outcome),
                Int(e.amount_yuan),
                At(e.at),
            ],
        )
        .await
        .map_err(|f| match f.violation {
            Some(Violation::Check) => StoreError::Refused("payment_callback_invalid"),
            _ => f.error,
        })?
    else {
        return Ok((
            EventOutcome {
                payment_id,
                disposition: EventDisposition::Duplicate,
            },
            None,
        ));
    };
    let disposition = if e.amount_yuan != amount {
        EventDisposition::AmountMismatch
    } else if e.outcome == "paid" {
        let n = tx
            .exec(MARK_PAID, &[Int(payment_id), At(e.at)])
            .await
            // Only two pending payments of one purpose paid at once would reach the index,
            // and one pending per purpose is another index: refused, the provider retries.
            .map_err(|f| match f.violation {
                Some(Violation::Unique) => StoreError::Refused("payment_already_paid"),
                _ => f.error,
            })?;
        if n == 1 {
            EventDisposition::Applied
        } else if tx.exec(MARK_NOT_ACCEPTED, &[Int(payment_id)]).await? == 1 {
            EventDisposition::RefundDue
        } else {
            EventDisposition::Stale
        }
    } else if tx.exec(MARK_DECLINED, &[Int(payment_id), At(e.at)]).await? == 1 {
        EventDisposition::Applied
    } else {
        EventDisposition::Stale
    };
    tx.exec(
        SET_EVENT_DISPOSITION,
        &[Int(event_id), Text(disposition.as_str())],
    )
    .await?;
    let action = match disposition {
        EventDisposition::Applied => format!("online_payment.{}", e.outcome),
        EventDisposition::AmountMismatch => "online_payment.amount_mismatch".into(),
        EventDisposition::RefundDue => "online_payment.not_accepted".into(),
        EventDisposition::Stale | EventDisposition::Duplicate => String::new(),
    };
    let entry = (!action.is_empty()).then(|| NewAudit {
        action,
        subject: format!("online_payment:{payment_id}"),
        detail: serde_json::json!({
            "purpose": format!("{kind}:{purpose_id}"),
            "provider": e.provider,
            "event": e.provider_event_id,
            "outcome": e.outcome,
            "amount_yuan": e.amount_yuan,
            "order_amount_yuan": amount,
        }),
        ..audit.clone()
    });
    Ok((
        EventOutcome {
            payment_id,
            disposition,
        },
        entry,
    ))
}

/// Asks for the refund of the purpose's paid payment inside the caller's transaction: its id
/// and the audit entry to append, or `None`.
pub(crate) async fn request_refund(
    tx: &mut impl AdminTx,
    kind: &str,
    id: i64,
    reason: &str,
    audit: &NewAudit,
) -> Result<Option<(i64, NewAudit)>> {
    use Arg::*;
    let Some(payment_id) = tx
        .first_i64(REQUEST_REFUND, &[Text(kind), Int(id), Text(reason)])
        .await?
    else {
        return Ok(None);
    };
    let mut entry = audit.clone();
    entry.subject = format!("online_payment:{payment_id}");
    entry.detail = serde_json::json!({ "purpose": format!("{kind}:{id}"), "reason": reason });
    Ok(Some((payment_id, entry)))
}
