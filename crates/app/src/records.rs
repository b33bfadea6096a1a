//! What the hall and staff use cases answer with: the application's own types, not the
//! store's rows. A column added to a table is then not an API change by accident, and the web
//! crate never sees a storage type (it does not depend on the store at all).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// Copies a store row into the app type of the same shape, field by field: the two are kept
/// apart on purpose (see the module doc), and a missing field is a compile error here.
macro_rules! from_row {
    ($ty:ident { $($field:ident),* $(,)? }) => {
        impl From<wujing_store::$ty> for $ty {
            fn from(r: wujing_store::$ty) -> Self {
                Self { $($field: r.$field),* }
            }
        }
    };
}

/// An unsatisfied rating's alert to the hall's leaders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Alert {
    pub id: i64,
    pub hall_id: String,
    pub ticket_label: String,
    pub window_number: u32,
    pub officer_id: Option<i64>,
    pub score: String,
    pub reasons: String,
    pub created_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<i64>,
    pub outcome: Option<String>,
    pub escalated_at: Option<DateTime<Utc>>,
}
from_row!(Alert {
    id,
    hall_id,
    ticket_label,
    window_number,
    officer_id,
    score,
    reasons,
    created_at,
    acknowledged_at,
    acknowledged_by,
    outcome,
    escalated_at,
});

/// A fee taken at a window, with its receipt number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Payment {
    pub id: i64,
    pub ticket_id: i64,
    pub receipt_no: String,
    pub amount_yuan: u32,
    pub method: String,
    pub reference: String,
    pub window_number: u32,
    pub officer_id: i64,
    pub paid_at: DateTime<Utc>,
}
from_row!(Payment {
    id,
    ticket_id,
    receipt_no,
    amount_yuan,
    method,
    reference,
    window_number,
    officer_id,
    paid_at,
});

/// One line of a day's reconciliation: a window and a payment method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ReconLine {
    pub window_number: u32,
    pub method: String,
    pub count: u32,
    pub sum_yuan: u64,
}
from_row!(ReconLine {
    window_number,
    method,
    count,
    sum_yuan,
});

/// An application accepted at a window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Application {
    pub id: i64,
    /// `None` for an application submitted online (全程网办).
    pub ticket_id: Option<i64>,
    pub business: String,
    pub status: String,
    pub missing: Vec<String>,
    pub supplement_due: Option<NaiveDate>,
    pub expedited: bool,
    pub ready_by: NaiveDate,
    pub accepted_at: DateTime<Utc>,
    /// The accepting hall.
    pub hall_id: String,
    /// A refusal's reason code (`identity_unverified`, `false_materials`, `exit_restricted`,
    /// `not_eligible`, `other`).
    pub refusal_reason: Option<String>,
    /// The document's number, once produced.
    pub document_number: Option<String>,
    /// `counter`, `locker` or `mail`.
    pub collection_method: String,
    /// The carrier's (EMS) tracking number of a mailed document, once dispatched.
    pub tracking_number: Option<String>,
    pub updated_at: DateTime<Utc>,
    /// The acceptance channel (M4): `counter`, `police_station`, `web`, … — derived from who
    /// accepted it, never stated.
    pub channel: String,
}
from_row!(Application {
    id,
    ticket_id,
    business,
    status,
    missing,
    supplement_due,
    expedited,
    ready_by,
    accepted_at,
    hall_id,
    refusal_reason,
    document_number,
    collection_method,
    tracking_number,
    updated_at,
    channel,
});

/// One step of an application's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ApplicationEvent {
    /// `None` for the acceptance.
    pub from_state: Option<String>,
    pub to_state: String,
    pub at: DateTime<Utc>,
    /// `staff:<id>`: who made the step (at a counter: who handed the document over).
    pub actor: String,
    pub note: String,
}
from_row!(ApplicationEvent {
    from_state,
    to_state,
    at,
    actor,
    note,
});

/// A case sent to the leader post for urgent handling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct UrgentRequest {
    pub id: i64,
    pub ticket_id: i64,
    pub ticket_label: String,
    pub hall_id: String,
    pub reason: String,
    pub note: String,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub approved: Option<bool>,
}
from_row!(UrgentRequest {
    id,
    ticket_id,
    ticket_label,
    hall_id,
    reason,
    note,
    created_at,
    decided_at,
    approved,
});

/// A service window of a hall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Window {
    pub number: u32,
    /// `general`, `foreigners`, `expedite`, `collection`.
    pub kind: String,
}
from_row!(Window { number, kind });

/// A hall's settings as its manager edits them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct HallSettings {
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    pub address_zh: String,
    pub address_en: String,
    pub window_count: u32,
    /// Seats per slot for each pool (`online`, `onsite`, `expedite`).
    pub capacity: Vec<(String, u32)>,
}

impl From<&wujing_store::Hall> for HallSettings {
    fn from(h: &wujing_store::Hall) -> Self {
        Self {
            id: h.id.clone(),
            name_zh: h.name_zh.clone(),
            name_en: h.name_en.clone(),
            address_zh: h.address_zh.clone(),
            address_en: h.address_en.clone(),
            window_count: h.window_count,
            capacity: h
                .capacity
                .iter()
                .map(|(p, n)| (p.as_str().to_string(), *n))
                .collect(),
        }
    }
}
