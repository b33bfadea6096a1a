//! Scalping signals (M3): who seems to hoard or trade seats. Listed for operators, with
//! phones and addresses masked; the staff side (roles, audit, full reveal) comes later and will
//! replace the operator token.

use crate::{App, AppError, AppResult, Code};
use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wujing_domain::idnum::mask_phone;

/// A phone or address used by several identities: the same hand booking for many.
pub const MIN_IDENTITIES: u32 = 3;
/// Holds left to expire from one address: seats grabbed and sat on.
pub const MIN_ABANDONED_HOLDS: u32 = 5;

#[derive(Debug, Clone, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignalsQuery {
    /// How far back to look, in hours (default 24, at most 720).
    pub hours: Option<u32>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SharedView {
    /// Masked phone number or address.
    pub key: String,
    pub identities: u64,
    pub bookings: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AbandonedView {
    pub client_addr: String,
    pub holds: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PairView {
    pub cancelled_code: String,
    pub new_code: String,
    /// `same_identity` (cancelled and booked again) or `seat_handoff` (another identity took
    /// the returned seat at once).
    pub kind: String,
    pub gap_seconds: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SignalsView {
    pub hours: u32,
    pub shared_phones: Vec<SharedView>,
    pub shared_addresses: Vec<SharedView>,
    pub abandoned_holds: Vec<AbandonedView>,
    pub cancel_rebook: Vec<PairView>,
}

/// `203.0.113.*` for IPv4, the first three groups for IPv6.
pub fn mask_addr(a: &str) -> String {
    if let Some((head, _)) = a.rsplit_once('.') {
        format!("{head}.*")
    } else {
        let groups: Vec<&str> = a.split(':').take(3).collect();
        format!("{}:*", groups.join(":"))
    }
}

impl App {
    pub async fn signals(&self, p: &crate::Principal, q: &SignalsQuery) -> AppResult<SignalsView> {
        self.require(p, crate::Action::ViewSignals, None)?;
        let hours = q.hours.unwrap_or(24);
        if !(1..=720).contains(&hours) {
            return Err(AppError::new(
                Code::HoursInvalid,
                "hours 须在1到720之间",
                "hours must be between 1 and 720",
            ));
        }
        let since = self.clock.now() - TimeDelta::hours(i64::from(hours));
        // A leader or supervisor of some halls sees the signals of bookings at those halls
        // only, counted in the store query (a phone shared at its halls, not elsewhere).
        let halls = crate::authz::hall_scope(p, crate::Action::ViewSignals);
        let s = self
            .store
            .signals(since, MIN_IDENTITIES, MIN_ABANDONED_HOLDS, halls.as_deref())
            .await?;
        let shared = |v: Vec<wujing_store::SharedKey>, mask: fn(&str) -> String| {
            v.into_iter()
                .map(|k| SharedView {
                    key: mask(&k.key),
                    identities: k.identities,
                    bookings: k.bookings,
                })
                .collect()
        };
        Ok(SignalsView {
            hours,
            shared_phones: shared(s.shared_phones, mask_phone),
            shared_addresses: shared(s.shared_addresses, mask_addr),
            abandoned_holds: s
                .abandoned_holds
                .into_iter()
                .map(|a| AbandonedView {
                    client_addr: mask_addr(&a.client_addr),
                    holds: a.holds,
                })
                .collect(),
            cancel_rebook: s
                .cancel_rebook
                .into_iter()
                .map(|p| PairView {
                    cancelled_code: p.cancelled_code,
                    new_code: p.new_code,
                    kind: p.kind,
                    gap_seconds: p.gap_ms as f64 / 1000.0,
                })
                .collect(),
        })
    }
}
