//! The one place a purpose reacts to its payment being paid.
//!
//! [`on_paid`] runs after the paid state is committed, at least once per paid payment: a
//! duplicate notification does not call it again, but a crash between the commit and the hook
//! loses the call, so every arm must be idempotent and the purpose's owner also reconciles on
//! the citizen's return ([`App::payment_for`]) and in its own sweep.

use crate::payments::PaymentPurpose;
use crate::{App, AppResult};

/// The purpose kind the test suite pays for: its arm only counts the calls, so that a test
/// can prove the hook runs once per paid payment. No real purpose has this kind.
#[doc(hidden)]
pub const PROBE_KIND: &str = "payment_probe";

/// Reacts to `purpose`'s payment `payment_id` having been paid (committed).
pub(crate) async fn on_paid(app: &App, purpose: &PaymentPurpose, payment_id: i64) -> AppResult<()> {
    match purpose.kind.as_str() {
        PROBE_KIND => {
            let _ = payment_id;
            probe::record(purpose.id);
            Ok(())
        }
        // Fully online business: the paid online application is submitted (idempotent: the
        // citizen's return may have done it, or a duplicate call finds it done).
        crate::remote::PURPOSE_KIND => {
            let _ = payment_id;
            app.submit_if_paid(purpose.id).await.map(|_| ())
        }
        // A kiosk's endorsement re-issue: paid after it ended is refunded (issue 17).
        crate::bzy::REISSUE_PURPOSE => {
            let _ = payment_id;
            app.reissue_paid_hook(purpose.id).await
        }
        _ => Ok(()),
    }
}

/// Calls of [`on_paid`] for [`PROBE_KIND`], per purpose id (tests give each probe purpose a
/// random id: payment ids repeat across the test databases of one process).
#[doc(hidden)]
pub mod probe {
    use std::collections::HashMap;
    use std::sync::Mutex;

    static CALLS: Mutex<Option<HashMap<i64, u32>>> = Mutex::new(None);

    pub(crate) fn record(purpose_id: i64) {
        let mut g = CALLS.lock().unwrap_or_else(|e| e.into_inner());
        *g.get_or_insert_with(HashMap::new)
            .entry(purpose_id)
            .or_default() += 1;
    }

    /// How many times the hook ran for the probe purpose `purpose_id` in this process.
    pub fn calls(purpose_id: i64) -> u32 {
        let g = CALLS.lock().unwrap_or_else(|e| e.into_inner());
        g.as_ref()
            .and_then(|m| m.get(&purpose_id).copied())
            .unwrap_or(0)
    }
}
