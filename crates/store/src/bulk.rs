//! Bulk loading (issue 18 §2, `wujing simulate`): rows of several tables written in one
//! transaction, fast — SQLite through one prepared statement per table on the writer thread,
//! PostgreSQL through `COPY … FROM STDIN`. Rows carry their ids (the loader reserves them from
//! [`BulkStore::bulk_start`]), so a booking's ticket and a ticket's rating can refer to each
//! other inside one batch without reading anything back.
//!
//! The constraints, triggers and CHECKs of the schema stay on: a bulk row that breaks one
//! fails the batch like any other write. Personal data is sealed with [`seal_applicant`], the
//! function every booking goes through, under the store's own keys.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::Result;

/// One value of a bulk row, typed so that each dialect writes its own form (a time is
/// milliseconds on SQLite and a `TIMESTAMPTZ` on PostgreSQL; a flag 0/1 or a boolean).
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
    Day(NaiveDate),
    At(DateTime<Utc>),
    Flag(bool),
}

impl From<i64> for Cell {
    fn from(v: i64) -> Self {
        Cell::Int(v)
    }
}
impl From<u32> for Cell {
    fn from(v: u32) -> Self {
        Cell::Int(i64::from(v))
    }
}
impl From<&str> for Cell {
    fn from(v: &str) -> Self {
        Cell::Text(v.to_string())
    }
}
impl From<String> for Cell {
    fn from(v: String) -> Self {
        Cell::Text(v)
    }
}
impl From<NaiveDate> for Cell {
    fn from(v: NaiveDate) -> Self {
        Cell::Day(v)
    }
}
impl From<DateTime<Utc>> for Cell {
    fn from(v: DateTime<Utc>) -> Self {
        Cell::At(v)
    }
}
impl From<bool> for Cell {
    fn from(v: bool) -> Self {
        Cell::Flag(v)
    }
}
impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Self {
        v.map_or(Cell::Null, Into::into)
    }
}

/// The tables a bulk load may write, each with its columns in the order rows give them. Only
/// these: a name is never taken from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BulkTable {
    Slots,
    Bookings,
    Tickets,
    Ratings,
    Alerts,
    Applications,
    ApplicationEvents,
}

impl BulkTable {
    pub const ALL: [BulkTable; 7] = [
        BulkTable::Slots,
        BulkTable::Bookings,
        BulkTable::Tickets,
        BulkTable::Ratings,
        BulkTable::Alerts,
        BulkTable::Applications,
        BulkTable::ApplicationEvents,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BulkTable::Slots => "slots",
            BulkTable::Bookings => "bookings",
            BulkTable::Tickets => "tickets",
            BulkTable::Ratings => "ratings",
            BulkTable::Alerts => "alerts",
            BulkTable::Applications => "applications",
            BulkTable::ApplicationEvents => "application_events",
        }
    }

    pub fn columns(self) -> &'static [&'static str] {
        match self {
            BulkTable::Slots => &[
                "id",
                "hall_id",
                "day",
                "start_time",
                "pool",
                "starts_at",
                "capacity",
                "taken",
            ],
            BulkTable::Bookings => &[
                "id",
                "code",
                "slot_id",
                "business",
                "identity_key",
                "id_kind",
                "id_number",
                "name",
                "phone",
                "phone_index",
                "answers",
                "fee_yuan",
                "channel",
                "status",
                "created_at",
                "cancelled_at",
                "used_at",
                "lang",
            ],
            BulkTable::Tickets => &[
                "id",
                "hall_id",
                "day",
                "queue",
                "number",
                "label",
                "booking_id",
                "business",
                "identity_key",
                "kind",
                "priority",
                "due_at",
                "status",
                "window_number",
                "officer_id",
                "calls",
                "created_at",
                "called_at",
                "finished_at",
                "slot_id",
                "channel",
            ],
            BulkTable::Ratings => &[
                "id",
                "ticket_id",
                "hall_id",
                "window_number",
                "officer_id",
                "score",
                "reasons",
                "created_at",
            ],
            BulkTable::Alerts => &[
                "id",
                "hall_id",
                "rating_id",
                "ticket_label",
                "window_number",
                "officer_id",
                "created_at",
                "acknowledged_at",
                "acknowledged_by",
                "outcome",
            ],
            BulkTable::Applications => &[
                "id",
                "ticket_id",
                "booking_id",
                "hall_id",
                "business",
                "identity_key",
                "status",
                "missing",
                "supplement_due",
                "expedited",
                "ready_by",
                "window_number",
                "officer_id",
                "accepted_at",
                "refusal_reason",
                "document_number",
                "collection_method",
                "updated_at",
                "channel",
            ],
            BulkTable::ApplicationEvents => &[
                "id",
                "application_id",
                "from_state",
                "to_state",
                "at",
                "actor",
                "note",
            ],
        }
    }
}

/// Rows of one table; each row has the table's columns in order.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRows {
    pub table: BulkTable,
    pub rows: Vec<Vec<Cell>>,
}

/// Where a bulk load starts: the next free id of each table.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkStart {
    pub next_ids: Vec<(BulkTable, i64)>,
    /// Whether slots already exist in the days asked about (a second load over the same
    /// days would collide).
    pub slots_in_range: u64,
}

impl BulkStart {
    pub fn next_id(&self, t: BulkTable) -> i64 {
        self.next_ids
            .iter()
            .find(|(x, _)| *x == t)
            .map_or(1, |(_, v)| *v)
    }
}

/// An applicant's identity number, name and phone sealed as every booking seals them, and
/// the phone's blind index: (id_number, name, phone, phone_index).
pub fn seal_applicant(
    keys: &crate::keys::Keys,
    id_number: &str,
    name: &str,
    phone: &str,
) -> (String, String, String, String) {
    let s = crate::seal::applicant(keys, id_number, name, phone);
    (s.id_number, s.name, s.phone, s.phone_index)
}

#[async_trait]
pub trait BulkStore: Send + Sync + 'static {
    /// The next ids, and how many slots exist on days `from..=to`.
    async fn bulk_start(&self, from: NaiveDate, to: NaiveDate) -> Result<BulkStart>;

    /// Writes every table's rows, in the order given, in one transaction.
    async fn bulk_insert(&self, batch: Vec<TableRows>) -> Result<()>;

    /// After a load: the id sequences moved past the rows written (PostgreSQL), the planner's
    /// statistics refreshed.
    async fn bulk_finish(&self) -> Result<()>;
}
