//! The simulated provider (开发/测试用模拟支付): no money moves. Development, the demo and the
//! tests pay through it exactly as through a real provider: an order, a checkout page of the
//! "provider" (`/pay/simulated/{reference}`, clearly labelled), and a notification signed with
//! HMAC-SHA256 under a secret kept in the database (`payment_simulated_hmac`), sent over real
//! HTTP to our own callback route, so that the route's verification, idempotence and the
//! purpose's hook are the ones a real provider exercises.
//!
//! The provider's own memory is what a real provider keeps: which orders were decided and the
//! notification each sent (kept in memory: a restart forgets them, as a simulation may). A
//! decided order's notification can be sent again — the same body, the same event id — as
//! real providers retry, to show that a duplicate changes nothing.

use super::{
    back_to, CallbackRejected, Order, OrderRequest, PaymentOutcome, PaymentProvider, VerifiedEvent,
};
use crate::{App, AppError, AppResult, Code};
use async_trait::async_trait;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// The provider's name: stored with its payments, and the callback route's last segment.
pub const NAME: &str = "simulated";

/// The named secret (in the store) the notifications are signed with.
pub const SECRET_NAME: &str = "payment_simulated_hmac";

/// The named secret marking a database that holds the demo organisation (`yes`).
pub const DEMO_MARK: &str = "demo_organisation";

/// The header carrying `sha256=<hex HMAC-SHA256(secret, raw body)>`.
pub const SIGNATURE_HEADER: &str = "x-wujing-sim-signature";

/// Carries a notification to our callback route: an HTTP POST (`wujing-outbound`'s loopback
/// client in the server; the tests' own). `Ok` is the HTTP status answered.
#[async_trait]
pub trait CallbackSender: Send + Sync {
    async fn post(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<u16, String>;
}

/// The notification's body.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Notice {
    event_id: String,
    reference: String,
    outcome: PaymentOutcome,
    amount_yuan: i64,
}

/// `sha256=<hex HMAC-SHA256(secret, body)>`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(body);
    format!(
        "sha256={}",
        wujing_domain::audit::hex(&mac.finalize().into_bytes())
    )
}

fn verify(secret: &str, body: &[u8], signature: &str) -> bool {
    use hmac::{Hmac, KeyInit, Mac};
    let Some(hex) = signature.strip_prefix("sha256=") else {
        return false;
    };
    let Some(given) = unhex(hex) else {
        return false;
    };
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(body);
    // Constant time.
    mac.verify_slice(&given).is_ok()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn random_id(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    let tail: String = (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}{tail}")
}

/// A decided order: the notification it sent (body and signature, re-sent as they are).
#[derive(Debug, Clone)]
struct Decided {
    outcome: PaymentOutcome,
    body: Vec<u8>,
    signature: String,
}

/// The simulated provider. Built by [`SimulatedProvider::new`] with the secret from the store
/// ([`App::enable_simulated_payments`]).
pub struct SimulatedProvider {
    secret: String,
    /// Where the notifications go: our own callback route on a loopback address.
    callback_url: String,
    sender: Arc<dyn CallbackSender>,
    decided: Mutex<HashMap<String, Decided>>,
    /// Refund ids done, per order reference: a retried refund is one refund.
    refunds: Mutex<HashMap<String, HashSet<String>>>,
}

impl SimulatedProvider {
    /// `callback_base`: this server on a loopback address (`http://127.0.0.1:8080`).
    pub fn new(secret: String, callback_base: &str, sender: Arc<dyn CallbackSender>) -> Self {
        Self {
            secret,
            callback_url: format!(
                "{}/api/v1/payments/callback/{NAME}",
                callback_base.trim_end_matches('/')
            ),
            sender,
            decided: Mutex::default(),
            refunds: Mutex::default(),
        }
    }

    /// How many distinct refunds of the order `reference` were made (tests).
    pub fn refunds_of(&self, reference: &str) -> usize {
        self.refunds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(reference)
            .map_or(0, HashSet::len)
    }

    fn decision(&self, reference: &str) -> Option<Decided> {
        self.decided
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(reference)
            .cloned()
    }

    /// Decides the order once: the notification to send, or `None` when it was decided.
    fn decide(
        &self,
        reference: &str,
        outcome: PaymentOutcome,
        amount_yuan: i64,
    ) -> Option<Decided> {
        let mut g = self.decided.lock().unwrap_or_else(|e| e.into_inner());
        if g.contains_key(reference) {
            return None;
        }
        let body = serde_json::to_vec(&Notice {
            event_id: random_id("sim_evt_"),
            reference: reference.to_string(),
            outcome,
            amount_yuan,
        })
        .expect("a notice serialises");
        let d = Decided {
            outcome,
            signature: sign(&self.secret, &body),
            body,
        };
        g.insert(reference.to_string(), d.clone());
        Some(d)
    }

    async fn send(&self, d: &Decided) -> AppResult<()> {
        let headers = vec![
            ("content-type".to_string(), "application/json".to_string()),
            (SIGNATURE_HEADER.to_string(), d.signature.clone()),
        ];
        match self
            .sender
            .post(&self.callback_url, &headers, d.body.clone())
            .await
        {
            Ok(status) if (200..300).contains(&status) => Ok(()),
            Ok(status) => {
                tracing::warn!(status, "simulated payment notification refused");
                Err(AppError::from(Code::PaymentProviderFailed))
            }
            Err(e) => {
                tracing::warn!(error = %e, "simulated payment notification not delivered");
                Err(AppError::from(Code::PaymentProviderFailed))
            }
        }
    }
}

#[async_trait]
impl PaymentProvider for SimulatedProvider {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn create_order(&self, _order: &OrderRequest) -> Result<Order, String> {
        let reference = random_id("sim_");
        Ok(Order {
            // A path of this site: the page is ours, so it works on whatever address the
            // citizen reached us at (a proxy, a test server's port).
            checkout_url: format!("/pay/{NAME}/{reference}"),
            reference,
        })
    }

    fn verify_callback(
        &self,
        body: &[u8],
        headers: &[(String, String)],
    ) -> Result<VerifiedEvent, CallbackRejected> {
        let signature = headers
            .iter()
            .find(|(k, _)| k == SIGNATURE_HEADER)
            .map(|(_, v)| v.as_str())
            .ok_or(CallbackRejected::Signature)?;
        if !verify(&self.secret, body, signature) {
            return Err(CallbackRejected::Signature);
        }
        let n: Notice =
            serde_json::from_slice(body).map_err(|e| CallbackRejected::Malformed(e.to_string()))?;
        if n.event_id.is_empty() || n.event_id.len() > 64 || n.reference.len() > 64 {
            return Err(CallbackRejected::Malformed("event id or reference".into()));
        }
        Ok(VerifiedEvent {
            event_id: n.event_id,
            reference: n.reference,
            outcome: n.outcome,
            amount_yuan: n.amount_yuan,
        })
    }

    async fn refund(
        &self,
        reference: &str,
        _amount_yuan: i64,
        refund_id: &str,
    ) -> Result<String, String> {
        // Immediate: the money "goes back" as it is asked for.
        self.refunds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(reference.to_string())
            .or_default()
            .insert(refund_id.to_string());
        Ok(format!("sim_refund_{refund_id}"))
    }

    /// The simulated acquirer takes the terminal's word (there is no bank behind the bridge
    /// emulator's terminal): the order is decided paid, once, and its signed notification goes
    /// through the callback route as the checkout page's does, so that the route's
    /// verification and the purpose's hook run as for a real notification.
    async fn settle_terminal(
        &self,
        reference: &str,
        _transaction_id: &str,
        amount_yuan: i64,
    ) -> Result<Option<VerifiedEvent>, String> {
        let d = match self.decide(reference, PaymentOutcome::Paid, amount_yuan) {
            Some(d) => d,
            // Decided before (a retried confirmation): its notification again.
            None => self
                .decision(reference)
                .ok_or_else(|| "no decision".to_string())?,
        };
        self.send(&d).await.map_err(|e| e.to_string())?;
        Ok(None)
    }
}

/// The simulated checkout page's content.
#[derive(Debug, Clone, Serialize)]
pub struct SimulatedCheckout {
    pub reference: String,
    pub payment_id: i64,
    pub amount_yuan: i64,
    pub subject_zh: String,
    pub subject_en: String,
    /// Wujing's status of the payment.
    pub status: super::PaymentStatus,
    /// What the simulated provider decided, if it did (`paid`, `declined`).
    pub decided: Option<PaymentOutcome>,
    /// Where the browser goes back to.
    pub back: String,
}

impl App {
    /// Turns on the simulated provider: its secret is the store's named secret (made on first
    /// use), its notifications go through `sender` to `callback_base` (this server on a
    /// loopback address).
    pub async fn enable_simulated_payments(
        self,
        callback_base: &str,
        sender: Arc<dyn CallbackSender>,
    ) -> AppResult<Self> {
        let candidate = crate::auth::random_token();
        let secret = self.store.secret(SECRET_NAME, &candidate).await?;
        let p = Arc::new(SimulatedProvider::new(secret, callback_base, sender));
        let mut app = self.with_payment_provider(p.clone());
        app.simulated = Some(p);
        Ok(app)
    }

    /// Records that this database holds the demo organisation (`wujing serve` loaded it), so
    /// that later starts know the simulated provider is the default here. A named secret
    /// serves as the mark: no table for one flag.
    pub async fn mark_demo_organisation(&self) -> AppResult<()> {
        self.store.secret(DEMO_MARK, "yes").await?;
        Ok(())
    }

    /// Whether `wujing serve` loaded the demo organisation into this database.
    pub async fn is_demo_organisation(&self) -> AppResult<bool> {
        Ok(self.store.secret(DEMO_MARK, "no").await? == "yes")
    }

    /// The simulated provider, when it is the one enabled.
    pub fn simulated_provider(&self) -> Option<&Arc<SimulatedProvider>> {
        self.simulated.as_ref()
    }

    fn simulated(&self) -> AppResult<&Arc<SimulatedProvider>> {
        self.simulated
            .as_ref()
            .ok_or_else(|| AppError::from(Code::OnlinePaymentNotFound))
    }

    async fn simulated_order(
        &self,
        reference: &str,
    ) -> AppResult<(Arc<SimulatedProvider>, wujing_store::OnlinePayment)> {
        let sim = self.simulated()?.clone();
        let p = self
            .store
            .online_payment_by_ref(NAME, reference)
            .await?
            .ok_or_else(|| AppError::from(Code::OnlinePaymentNotFound))?;
        Ok((sim, p))
    }

    /// The simulated provider's checkout page for the order `reference`.
    pub async fn simulated_checkout(&self, reference: &str) -> AppResult<SimulatedCheckout> {
        let (sim, p) = self.simulated_order(reference).await?;
        let decided = sim.decision(reference).map(|d| d.outcome);
        Ok(SimulatedCheckout {
            reference: reference.to_string(),
            payment_id: p.id,
            amount_yuan: p.amount_yuan,
            back: back_to(&p.return_to, p.id),
            status: super::PaymentStatus::parse(&p.status).unwrap_or(super::PaymentStatus::Pending),
            subject_zh: p.subject_zh,
            subject_en: p.subject_en,
            decided,
        })
    }

    /// The citizen pays (`pay`) or declines on the simulated checkout page: decided once,
    /// then the signed notification is sent to our callback route. Answers where the browser
    /// goes back to. `payment_decided` for an order decided already (or no longer pending);
    /// `payment_provider_failed` when the notification could not be delivered (it can be
    /// sent again from the page).
    pub async fn simulated_decide(&self, reference: &str, pay: bool) -> AppResult<String> {
        let (sim, p) = self.simulated_order(reference).await?;
        if p.status != "pending" {
            return Err(AppError::from(Code::PaymentDecided));
        }
        let outcome = if pay {
            PaymentOutcome::Paid
        } else {
            PaymentOutcome::Declined
        };
        let d = sim
            .decide(reference, outcome, p.amount_yuan)
            .ok_or_else(|| AppError::from(Code::PaymentDecided))?;
        sim.send(&d).await?;
        Ok(back_to(&p.return_to, p.id))
    }

    /// Sends a decided order's notification again, unchanged (same event id): what a real
    /// provider's retry does. Answers where the browser goes back to.
    pub async fn simulated_resend(&self, reference: &str) -> AppResult<String> {
        let (sim, p) = self.simulated_order(reference).await?;
        let d = sim
            .decision(reference)
            .ok_or_else(|| AppError::from(Code::PaymentNotDecided))?;
        sim.send(&d).await?;
        Ok(back_to(&p.return_to, p.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_its_body_under_its_secret() {
        let body = br#"{"event_id":"e","reference":"r","outcome":"paid","amount_yuan":160}"#;
        let s = sign("secret", body);
        assert!(verify("secret", body, &s));
        assert!(!verify("other", body, &s));
        let mut tampered = body.to_vec();
        tampered[60] = b'9';
        assert!(!verify("secret", &tampered, &s));
        assert!(!verify("secret", body, s.trim_start_matches("sha256=")));
        assert!(!verify("secret", body, "sha256=zz"));
    }
}
