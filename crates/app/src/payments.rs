//! Online payment (网上缴费): the payment port, its use cases and the simulated provider.
//!
//! A purpose (an online application's fee, later a kiosk's) is paid through a
//! [`PaymentProvider`]: Wujing creates an order at the provider and sends the citizen's browser
//! to the provider's checkout page; the provider tells Wujing the outcome in a signed
//! notification (the callback route), which is verified, recorded once (its event id is
//! unique) and applied by one conditional move `pending → paid | declined`, in one store
//! transaction with its audit entry. No card or account data ever reaches Wujing: the citizen
//! pays on the provider's page.
//!
//! Invariants, held by the database: a purpose has at most one pending and at most one paid
//! payment (partial unique indexes); a provider event is processed once (a unique key on
//! `(provider, event id)`); an amount that differs from the order's is refused and recorded,
//! never marked paid. Money the provider took for a payment that cannot become paid (declined
//! meanwhile, or its purpose paid by another) is refunded (`refund_due`, then `refunded`).

use crate::admin::Actor;
use crate::{App, AppError, AppResult, Code};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a payment pays for: a kind named by the purpose's owner and its id, e.g.
/// `("online_application", 42)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct PaymentPurpose {
    pub kind: String,
    pub id: i64,
}

impl PaymentPurpose {
    pub fn new(kind: impl Into<String>, id: i64) -> Self {
        Self {
            kind: kind.into(),
            id,
        }
    }
}

/// Where a payment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Ordered at the provider; the citizen has not paid yet.
    Pending,
    Paid,
    /// The provider reported the payment declined (or abandoned); a new attempt is a new
    /// payment.
    Declined,
    /// Refunded at the provider.
    Refunded,
    /// Money taken that must go back: a refund asked for, or a payment that could not be
    /// accepted (its purpose paid by another payment); refunded by the next refund pass.
    RefundDue,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Paid => "paid",
            Self::Declined => "declined",
            Self::Refunded => "refunded",
            Self::RefundDue => "refund_due",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "paid" => Self::Paid,
            "declined" => Self::Declined,
            "refunded" => Self::Refunded,
            "refund_due" => Self::RefundDue,
            _ => return None,
        })
    }
}

/// A payment as the purpose's owner sees it. Amounts are whole yuan, like the fee schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PaymentView {
    pub id: i64,
    pub purpose: PaymentPurpose,
    pub amount_yuan: i64,
    pub status: PaymentStatus,
    /// The provider's name (`simulated`, …).
    pub provider: String,
    /// Where the citizen pays, while the payment is pending.
    pub checkout_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
}

/// An order as Wujing asks a provider for it.
#[derive(Debug, Clone)]
pub struct OrderRequest {
    /// Wujing's payment id: the merchant order number a real provider is given, so that its
    /// notifications and refunds can be matched even before its own reference is known.
    pub payment_id: i64,
    pub amount_yuan: i64,
    pub subject_zh: String,
    pub subject_en: String,
    /// Absolute URL on this site the provider sends the browser back to.
    pub return_url: String,
}

/// A provider's answer to an order.
#[derive(Debug, Clone)]
pub struct Order {
    /// The provider's reference of the order (its transaction or order number).
    pub reference: String,
    /// Where the citizen's browser goes to pay.
    pub checkout_url: String,
}

/// What a notification said, once its signature is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEvent {
    /// The provider's id of this notification: a retried notification carries the same one.
    pub event_id: String,
    /// The order's reference ([`Order::reference`]).
    pub reference: String,
    pub outcome: PaymentOutcome,
    /// What the provider says was paid, in yuan.
    pub amount_yuan: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentOutcome {
    Paid,
    Declined,
}

impl PaymentOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Paid => "paid",
            Self::Declined => "declined",
        }
    }
}

/// Why a notification was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackRejected {
    /// Missing or wrong signature: not from the provider, or altered on the way.
    Signature,
    /// Signed, but not a notification this adapter understands.
    Malformed(String),
}

/// The payment port: what Wujing needs of a payment provider. The use cases speak only
/// this; the simulated provider ([`simulated::SimulatedProvider`]) implements it for
/// development and tests.
///
/// A real adapter (a bank's acquiring gateway, a wallet's API) must:
/// - **create_order**: call the provider's "unified order" (or equivalent) with
///   `OrderRequest::payment_id` as the merchant order number, the amount converted to the
///   provider's unit (usually fen), the subject, and our callback URL
///   (`{public_url}/api/v1/payments/callback/{name}`) and return URL; answer the provider's
///   order reference and the checkout URL (or the QR payload wrapped in a page of ours);
/// - **verify_callback**: check the notification's signature over the raw body with the
///   provider's public key or shared secret (certificate serial, timestamp and nonce where
///   the provider signs them; refuse a stale timestamp), decrypt the resource if the provider
///   encrypts it, and map it to a [`VerifiedEvent`]; never trust an unsigned field, and never
///   call back the provider to "confirm" with data from the request;
/// - **refund**: call the provider's refund with `refund_id` as the merchant refund number
///   (so a retried refund is one refund at the provider) and answer its refund reference;
/// - be safe to call concurrently, time out (a few seconds), and report failures as `Err`
///   (the use cases answer `payment_provider_failed` and retry refunds later).
///
/// The callback route answers `200 {"status": …}`; a provider that wants a particular
/// acknowledgement body gets it from its own route wrapper.
#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// The provider's name: stored with each payment and part of the callback route.
    fn name(&self) -> &'static str;

    async fn create_order(&self, order: &OrderRequest) -> Result<Order, String>;

    /// Verifies a notification: the raw body exactly as received and its headers (names in
    /// lower case).
    fn verify_callback(
        &self,
        body: &[u8],
        headers: &[(String, String)],
    ) -> Result<VerifiedEvent, CallbackRejected>;

    /// Refunds `amount_yuan` of the order `reference`; `refund_id` is Wujing's idempotency key
    /// for the refund. Answers the provider's refund reference.
    async fn refund(
        &self,
        reference: &str,
        amount_yuan: i64,
        refund_id: &str,
    ) -> Result<String, String>;
}

/// What the callback route answers for a verified notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallbackResult {
    /// The payment moved (to paid or declined).
    Applied,
    /// This notification was processed before; nothing changed.
    AlreadyProcessed,
    /// Recorded, but the payment had moved on already (e.g. a second notification of a paid
    /// order under another event id); nothing changed.
    Stale,
    /// Paid at the provider for a payment that cannot be accepted: it is being refunded.
    Refunding,
}

impl App {
    fn payments_off() -> AppError {
        AppError::from(Code::PaymentsDisabled)
    }

    /// Starts a payment for a purpose, or returns the purpose's open (pending) one: the URL the
    /// citizen's browser goes to. `return_to` is a path on our site the provider sends the
    /// browser back to.
    pub async fn start_payment(
        &self,
        purpose: &PaymentPurpose,
        amount_yuan: i64,
        subject_zh: &str,
        subject_en: &str,
        return_to: &str,
    ) -> AppResult<PaymentView> {
        let _ = (purpose, amount_yuan, subject_zh, subject_en, return_to);
        Err(Self::payments_off())
    }

    /// The purpose's latest payment, if any.
    pub async fn payment_for(&self, purpose: &PaymentPurpose) -> AppResult<Option<PaymentView>> {
        let _ = purpose;
        Ok(None)
    }

    /// Refunds the purpose's paid payment (no-op answer None when nothing was paid); audited with the actor.
    pub async fn refund_for(
        &self,
        actor: &Actor,
        purpose: &PaymentPurpose,
        reason: &str,
    ) -> AppResult<Option<PaymentView>> {
        let _ = (actor, purpose, reason);
        Ok(None)
    }
}
