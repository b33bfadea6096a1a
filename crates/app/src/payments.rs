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

pub mod simulated;

use crate::admin::Actor;
use crate::{App, AppError, AppResult, Code};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;
use wujing_store::{EventDisposition, NewAudit, NewOnlinePayment, NewPaymentEvent, OnlinePayment};

/// The actor of the provider's notifications in the audit trail (its name is the provider's).
pub const PAYMENTS_ACTOR: &str = "system:payments";

/// Largest amount one payment may ask for, in yuan (the dearest fee is a few hundred).
const MAX_AMOUNT_YUAN: i64 = 100_000;

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
    /// Where the citizen pays, while the payment is pending: the provider's page (the
    /// simulated provider's is a path of this site, `/pay/simulated/…`).
    pub checkout_url: Option<String>,
    /// The provider's order number, once it made the order: the number citizens are shown
    /// (their wallet or bank shows it too); `id` counts the payments and is never shown.
    pub order_no: Option<String>,
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

    /// A kiosk's terminal took the payment of the order `reference` (the bridge's
    /// `payment.charge`, docs/KIOSK.md §5) and the page reports the terminal's
    /// `transaction_id`. The page is not believed: a real adapter asks the acquirer for the
    /// order (its "query order" with the merchant order number), checks that the transaction
    /// and the amount are the order's, and answers the verified outcome (`Some`), applied as a
    /// notification would be; or answers `None` when the outcome comes through the callback
    /// route. A provider without terminals answers `Err`.
    async fn settle_terminal(
        &self,
        reference: &str,
        transaction_id: &str,
        amount_yuan: i64,
    ) -> Result<Option<VerifiedEvent>, String> {
        let _ = (reference, transaction_id, amount_yuan);
        Err("this provider takes no terminal payments".into())
    }
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

/// What the callback route answers for a verified notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CallbackAnswer {
    pub result: CallbackResult,
    pub payment_id: i64,
    pub status: PaymentStatus,
}

impl From<OnlinePayment> for PaymentView {
    fn from(p: OnlinePayment) -> Self {
        Self {
            id: p.id,
            purpose: PaymentPurpose {
                kind: p.purpose_kind,
                id: p.purpose_id,
            },
            amount_yuan: p.amount_yuan,
            // The CHECK on the table admits only the five.
            status: PaymentStatus::parse(&p.status).unwrap_or(PaymentStatus::Pending),
            provider: p.provider,
            checkout_url: p.checkout_url,
            order_no: p.provider_ref,
            created_at: p.created_at,
            paid_at: p.paid_at,
        }
    }
}

fn invalid(zh: &str, en: &str) -> AppError {
    AppError::new(Code::PaymentAmountInvalid, zh, en)
}

/// A line of text of 1 to 60 characters.
fn check_subject(s: &str) -> AppResult<()> {
    let n = s.chars().count();
    if let Some(c) = wujing_domain::text::forbidden_in_line(s) {
        return Err(AppError::text_invalid(c));
    }
    if n == 0 || n > 60 {
        return Err(invalid(
            "事项名称须为1到60个字",
            "the subject must be 1 to 60 characters",
        ));
    }
    Ok(())
}

/// A path of this site (the same rule as the web crate's `back` parameters).
fn check_return_to(r: &str) -> AppResult<()> {
    let b = r.as_bytes();
    let path_only = b.first() == Some(&b'/')
        && !matches!(b.get(1), Some(b'/' | b'\\'))
        && b.len() <= 200
        && b.iter().all(|c| c.is_ascii_graphic() && *c != b'\\');
    if path_only {
        Ok(())
    } else {
        Err(invalid(
            "返回地址须为本站路径",
            "the return address must be a path of this site",
        ))
    }
}

fn check_purpose(p: &PaymentPurpose) -> AppResult<()> {
    let ok = !p.kind.is_empty()
        && p.kind.len() <= 40
        && p.kind.bytes().all(|c| c.is_ascii_lowercase() || c == b'_');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "缴费事项类型须为1到40个小写字母或下划线",
            "the purpose kind must be 1 to 40 lower-case letters or underscores",
        ))
    }
}

/// `return_to` with `payment=ID` added to its query.
pub(crate) fn back_to(return_to: &str, payment_id: i64) -> String {
    let sep = if return_to.contains('?') { '&' } else { '?' };
    format!("{return_to}{sep}payment={payment_id}")
}

impl App {
    /// Online payments go through `p` (`wujing serve --payment-provider`); without one they
    /// answer `payments_disabled`.
    pub fn with_payment_provider(mut self, p: Arc<dyn PaymentProvider>) -> Self {
        self.payments = Some(p);
        self
    }

    /// The payment provider, if online payment is enabled.
    pub fn payment_provider_name(&self) -> Option<&'static str> {
        self.payments.as_ref().map(|p| p.name())
    }

    fn provider(&self) -> AppResult<&Arc<dyn PaymentProvider>> {
        self.payments
            .as_ref()
            .ok_or_else(|| AppError::from(Code::PaymentsDisabled))
    }

    /// Starts a payment for a purpose, or returns the purpose's open (pending) one: the URL the
    /// citizen's browser goes to. `return_to` is a path on our site the provider sends the
    /// browser back to.
    ///
    /// Two concurrent starts share one payment (one pending per purpose); each may create an
    /// order at the provider, and the first recorded wins (the other expires unpaid there).
    /// `payment_already_paid` once the purpose is paid.
    pub async fn start_payment(
        &self,
        purpose: &PaymentPurpose,
        amount_yuan: i64,
        subject_zh: &str,
        subject_en: &str,
        return_to: &str,
    ) -> AppResult<PaymentView> {
        let provider = self.provider()?.clone();
        check_purpose(purpose)?;
        if !(1..=MAX_AMOUNT_YUAN).contains(&amount_yuan) {
            return Err(invalid(
                "缴费金额须为1到100000元",
                "the amount must be 1 to 100000 yuan",
            ));
        }
        check_subject(subject_zh)?;
        check_subject(subject_en)?;
        check_return_to(return_to)?;
        let (row, _new) = self
            .store
            .open_payment(&NewOnlinePayment {
                purpose_kind: purpose.kind.clone(),
                purpose_id: purpose.id,
                amount_yuan,
                subject_zh: subject_zh.into(),
                subject_en: subject_en.into(),
                return_to: return_to.into(),
                provider: provider.name().into(),
                at: self.clock.now(),
            })
            .await?;
        if row.checkout_url.is_some() {
            return Ok(row.into());
        }
        // New, or an earlier order failed to be created: order it now.
        let order = provider
            .create_order(&OrderRequest {
                payment_id: row.id,
                amount_yuan: row.amount_yuan,
                subject_zh: row.subject_zh.clone(),
                subject_en: row.subject_en.clone(),
                return_url: format!(
                    "{}{}",
                    self.config.public_url,
                    back_to(&row.return_to, row.id)
                ),
            })
            .await
            .map_err(|e| {
                tracing::warn!(payment = row.id, error = %e, "payment order failed");
                AppError::from(Code::PaymentProviderFailed)
            })?;
        let row = self
            .store
            .set_payment_order(row.id, &order.reference, &order.checkout_url)
            .await?;
        Ok(row.into())
    }

    /// The purpose's latest payment, if any.
    pub async fn payment_for(&self, purpose: &PaymentPurpose) -> AppResult<Option<PaymentView>> {
        Ok(self
            .store
            .latest_payment_for(&purpose.kind, purpose.id)
            .await?
            .map(PaymentView::from))
    }

    /// A payment by its id.
    pub async fn payment(&self, id: i64) -> AppResult<Option<PaymentView>> {
        Ok(self.store.online_payment(id).await?.map(PaymentView::from))
    }

    /// Refunds the purpose's paid payment (no-op answer None when nothing was paid); audited
    /// with the actor. The move to `refund_due` and its audit entry are one transaction, so of
    /// two concurrent refunds one gets the payment and the other `None`; the provider is then
    /// asked (with the payment's refund id, so a retry is one refund there). A provider that
    /// fails leaves the payment `refund_due` for [`App::process_due_refunds`].
    pub async fn refund_for(
        &self,
        actor: &Actor,
        purpose: &PaymentPurpose,
        reason: &str,
    ) -> AppResult<Option<PaymentView>> {
        let n = reason.chars().count();
        if let Some(c) = wujing_domain::text::forbidden_in_line(reason) {
            return Err(AppError::text_invalid(c));
        }
        if n == 0 || n > 200 {
            return Err(AppError::new(
                Code::BodyInvalid,
                "退款理由须为1到200个字",
                "the refund reason must be 1 to 200 characters",
            ));
        }
        let audit = NewAudit {
            at: self.clock.now(),
            actor: actor.id.clone(),
            actor_name: actor.name.clone(),
            action: "online_payment.refund".into(),
            subject: String::new(),
            citizen: None,
            detail: serde_json::Value::Null,
            client_addr: actor.client_addr.clone(),
            station: actor.station.clone(),
            hall_id: actor.hall.clone(),
        };
        let Some(id) = self
            .store
            .request_refund(&purpose.kind, purpose.id, reason, &audit)
            .await?
        else {
            return Ok(None);
        };
        self.refund_now(id).await;
        Ok(self.store.online_payment(id).await?.map(PaymentView::from))
    }

    /// Asks the provider to refund a `refund_due` payment and records the refund; a failure
    /// is logged and left for the next pass. `true` when refunded now.
    async fn refund_now(&self, id: i64) -> bool {
        let Ok(provider) = self.provider() else {
            return false;
        };
        let payment = match self.store.online_payment(id).await {
            Ok(Some(p)) if p.status == "refund_due" => p,
            _ => return false,
        };
        let Some(reference) = payment.provider_ref.as_deref() else {
            return false;
        };
        if payment.provider != provider.name() {
            tracing::warn!(payment = id, provider = %payment.provider, "refund due at another provider");
            return false;
        }
        let refund_id = format!("wujing-refund-{id}");
        match provider
            .refund(reference, payment.amount_yuan, &refund_id)
            .await
        {
            Ok(refund_ref) => match self
                .store
                .complete_refund(id, &refund_ref, self.clock.now())
                .await
            {
                Ok(done) => done,
                Err(e) => {
                    tracing::warn!(payment = id, error = %e, "refund not recorded");
                    false
                }
            },
            Err(e) => {
                tracing::warn!(payment = id, error = %e, "refund failed; retried later");
                false
            }
        }
    }

    /// Refunds every payment still due one (a provider that failed before, a crash between
    /// the decision and the provider's answer). Run by the server's sweeper; answers how many
    /// were refunded.
    pub async fn process_due_refunds(&self) -> AppResult<u64> {
        if self.payments.is_none() {
            return Ok(0);
        }
        let mut n = 0;
        for p in self.store.refunds_due(50).await? {
            if self.refund_now(p.id).await {
                n += 1;
            }
        }
        Ok(n)
    }

    /// A provider's notification (the callback route), raw body and headers (names in lower
    /// case): verified by the provider's adapter, then recorded and applied in one store
    /// transaction. A payment that became paid runs its purpose's hook
    /// ([`crate::payment_hooks`]) after the commit; money taken for a payment that cannot be
    /// accepted is refunded at once.
    pub async fn payment_callback(
        &self,
        provider_name: &str,
        body: &[u8],
        headers: &[(String, String)],
    ) -> AppResult<CallbackAnswer> {
        let provider = self.provider()?.clone();
        if provider.name() != provider_name {
            return Err(AppError::from(Code::OnlinePaymentNotFound));
        }
        let event = provider
            .verify_callback(body, headers)
            .map_err(|r| match r {
                CallbackRejected::Signature => AppError::from(Code::PaymentSignatureInvalid),
                CallbackRejected::Malformed(why) => AppError::from(Code::PaymentCallbackInvalid)
                    .with_details(serde_json::json!({ "reason": why })),
            })?;
        self.apply_payment_event(provider.as_ref(), event).await
    }

    /// Records and applies a verified outcome (a notification, or a terminal payment's
    /// settlement) in one store transaction with its audit entry, then runs the purpose's hook
    /// or the refund as [`App::payment_callback`] describes.
    async fn apply_payment_event(
        &self,
        provider: &dyn PaymentProvider,
        event: VerifiedEvent,
    ) -> AppResult<CallbackAnswer> {
        let now = self.clock.now();
        let audit = NewAudit {
            at: now,
            actor: PAYMENTS_ACTOR.into(),
            actor_name: provider.name().into(),
            action: String::new(),
            subject: String::new(),
            citizen: None,
            detail: serde_json::Value::Null,
            client_addr: None,
            station: None,
            hall_id: None,
        };
        let out = self
            .store
            .apply_payment_event(
                &NewPaymentEvent {
                    provider: provider.name().into(),
                    provider_event_id: event.event_id.clone(),
                    provider_ref: event.reference.clone(),
                    outcome: event.outcome.as_str().into(),
                    amount_yuan: event.amount_yuan,
                    at: now,
                },
                &audit,
            )
            .await
            .map_err(|e| match e {
                wujing_store::StoreError::NotFound(_) => {
                    AppError::from(Code::OnlinePaymentNotFound)
                }
                e => e.into(),
            })?;
        let result = match out.disposition {
            EventDisposition::Applied => CallbackResult::Applied,
            EventDisposition::Duplicate => CallbackResult::AlreadyProcessed,
            EventDisposition::Stale => CallbackResult::Stale,
            EventDisposition::RefundDue => CallbackResult::Refunding,
            EventDisposition::AmountMismatch => {
                tracing::warn!(
                    payment = out.payment_id,
                    "payment notification with another amount refused"
                );
                return Err(AppError::from(Code::PaymentAmountMismatch)
                    .with_details(serde_json::json!({ "payment_id": out.payment_id })));
            }
        };
        let payment = self
            .store
            .online_payment(out.payment_id)
            .await?
            .ok_or_else(|| AppError::from(Code::OnlinePaymentNotFound))?;
        if result == CallbackResult::Applied && payment.status == "paid" {
            let purpose = PaymentPurpose::new(payment.purpose_kind.clone(), payment.purpose_id);
            // The paid state is committed; a failing hook is the owner's to reconcile.
            if let Err(e) = crate::payment_hooks::on_paid(self, &purpose, payment.id).await {
                tracing::warn!(payment = payment.id, error = %e, "payment hook failed");
            }
        }
        if result == CallbackResult::Refunding {
            self.refund_now(payment.id).await;
        }
        let view = self
            .store
            .online_payment(out.payment_id)
            .await?
            .map(PaymentView::from)
            .ok_or_else(|| AppError::from(Code::OnlinePaymentNotFound))?;
        Ok(CallbackAnswer {
            result,
            payment_id: view.id,
            status: view.status,
        })
    }

    /// A kiosk's terminal approved the payment `payment_id` (transaction `transaction_id`):
    /// the provider settles it ([`PaymentProvider::settle_terminal`]) and the payment's state
    /// is answered as the database has it: only a `paid` there is paid.
    pub async fn settle_terminal_payment(
        &self,
        payment_id: i64,
        transaction_id: &str,
    ) -> AppResult<PaymentView> {
        let provider = self.provider()?.clone();
        let tx = transaction_id.trim();
        if tx.is_empty()
            || tx.len() > 64
            || !tx
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        {
            return Err(AppError::new(
                Code::BodyInvalid,
                "交易号须为1到64个字母、数字或 -_.:",
                "the transaction id must be 1 to 64 letters, digits or -_.:",
            ));
        }
        let p = self
            .store
            .online_payment(payment_id)
            .await?
            .ok_or_else(|| AppError::from(Code::OnlinePaymentNotFound))?;
        if p.status == "pending" {
            let reference = p
                .provider_ref
                .clone()
                .ok_or_else(|| AppError::from(Code::KioskPaymentNotConfirmed))?;
            match provider
                .settle_terminal(&reference, tx, p.amount_yuan)
                .await
            {
                Ok(Some(event)) => {
                    self.apply_payment_event(provider.as_ref(), event).await?;
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(payment = payment_id, error = %e, "terminal payment not settled");
                    return Err(Code::KioskPaymentNotConfirmed.into());
                }
            }
        }
        self.store
            .online_payment(payment_id)
            .await?
            .map(PaymentView::from)
            .ok_or_else(|| AppError::from(Code::OnlinePaymentNotFound))
    }
}
