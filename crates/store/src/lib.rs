//! The storage port and its two adapters: embedded SQLite (the default) and PostgreSQL.
//!
//! [`Store`] is the one interface the use cases see. Every guarantee that must survive
//! concurrency lives *inside* an adapter method, as an atomic conditional statement or a
//! constraint, never as a read followed by a write in the caller:
//! - a seat is taken by `UPDATE slots SET taken = taken + 1 WHERE id = ? AND taken < capacity`,
//!   and the `CHECK (taken <= capacity)` constraint backs it up;
//! - one active booking per identity and business is a partial unique index;
//! - confirming a hold is `UPDATE holds SET state = 'confirmed' WHERE … AND state = 'held' AND
//!   expires_at > now`, so a hold is used at most once and never after it expired.
//!
//! Both adapters pass the same conformance suite (`tests/store/`, a module per area), and a parity test checks
//! that their migrations produce the same schema.

mod admin;
pub mod backup;
pub mod bulk;
mod capacity;
mod common;
mod devices;
mod foreign;
pub mod keys;
mod kiosk;
mod lodging;
mod migrations;
mod model;
mod payments;
pub mod postgres;
mod reissue;
mod remote;
mod rows;
mod seal;
mod sql;
pub mod sqlite;
mod stats;

pub use bulk::{BulkStart, BulkStore, BulkTable, Cell, TableRows};
pub use capacity::{BookedCount, CapacityStore, ServiceMoments, LONGEST_SERVICE_MINUTES};
pub use devices::{DeviceAlert, DeviceStatus, DeviceStep, DeviceStore, DeviceUsage};
pub use kiosk::{
    Biometric, BiometricPart, CardRead, KioskApplicant, KioskStep, KioskStore, SqyApplication,
};
pub use lodging::{
    Hotel, HotelBy, LodgingStep, NewHotel, NewRegistration, Registration, RegistrationBy,
};
pub use migrations::{Migration, MigrationStatus};
pub use model::*;
pub use payments::{
    EventDisposition, EventOutcome, NewOnlinePayment, NewPaymentEvent, OnlinePayment, PaymentEvent,
    PaymentStore,
};
pub use reissue::{Reissue, ReissueStep, ReissueStore};
pub use stats::{
    day_start, local_day, DayHistogram, DeviceFigures, Figures, HourFigures, OfficerFigures,
    PoolFigures, StatsFilter, StatsGroup, StatsStore, UnsatisfiedCase, SOURCES as STATS_SOURCES,
};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use std::sync::Arc;
use wujing_domain::{DeclaredDay, DocumentRecord, PersonRecord};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Errors an adapter reports. The booking outcomes are distinct variants because the use cases
/// turn each into its own answer to the citizen.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("the slot has no free seat")]
    SlotFull,
    #[error("the hold has expired")]
    HoldExpired,
    #[error("the hold was already used")]
    HoldUsed,
    #[error("this identity already has an active booking for this business")]
    AlreadyBooked,
    #[error("the booking code is already taken")]
    CodeTaken,
    #[error("the booking is not active")]
    BookingNotActive,
    /// Checked in at the hall: it cannot be cancelled or rescheduled any more.
    #[error("the booking has been used")]
    BookingUsed,
    #[error("this identity has already entered this release")]
    AlreadyEntered,
    /// The phone code that authorised the action was used meanwhile (a code is good for one
    /// use); nothing was written.
    #[error("the phone code was already used")]
    PhoneCodeUsed,
    #[error("rate limited; retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: i64 },
    /// A staff change that conflicts with what is stored; the code names the conflict
    /// (`username_taken`, `window_exists`, `capacity_below_taken`, `day_has_bookings`, …).
    #[error("refused: {0}")]
    Refused(&'static str),
    #[error("invalid stored data: {0}")]
    Corrupt(String),
    /// The database cannot be reached: a lost, refused or closed connection or a pool timeout
    /// (PostgreSQL), a disk I/O failure, a file that cannot be opened, a read-only file or a
    /// full disk (SQLite). Worth retrying shortly; the other errors are not.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Db(String),
}

/// The storage port: every area's methods. Methods that change booking state are each one
/// transaction. Callers bring the area traits they use into scope.
pub trait Store:
    SystemStore
    + OrgStore
    + BookingStore
    + LotteryStore
    + RegistryStore
    + StaffStore
    + OutboxStore
    + HallStore
    + PaymentStore
    + RemoteStore
    + LodgingStore
    + ForeignStore
    + DeviceStore
    + KioskStore
    + ReissueStore
    + StatsStore
    + CapacityStore
    + BulkStore
{
}

impl<T> Store for T where
    T: SystemStore
        + OrgStore
        + BookingStore
        + LotteryStore
        + RegistryStore
        + StaffStore
        + OutboxStore
        + HallStore
        + PaymentStore
        + RemoteStore
        + LodgingStore
        + ForeignStore
        + DeviceStore
        + KioskStore
        + ReissueStore
        + StatsStore
        + CapacityStore
        + BulkStore
        + ?Sized
{
}

/// The database itself: identity, migrations, live events, secrets and the invariant check.
#[async_trait]
pub trait SystemStore: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn dialect(&self) -> &'static str;

    /// The keys this store seals personal data with (given when it was opened): the use cases
    /// derive identity keys and link MACs from the same set.
    fn keys(&self) -> &Arc<keys::Keys>;

    async fn ping(&self) -> Result<()>;

    /// Applies pending migrations and returns the versions applied now.
    async fn migrate(&self) -> Result<Vec<i64>>;

    async fn migration_status(&self) -> Result<MigrationStatus>;

    /// A named secret, created with `candidate` if it does not exist yet.
    async fn secret(&self, name: &str, candidate: &str) -> Result<String>;

    /// One of the organisation's settings (JSON), if it was ever set
    /// ([`AdminChange::PutSetting`]).
    async fn setting(&self, key: &str) -> Result<Option<String>>;

    /// Publishes a hall event (a call, as JSON) to every app server on this database: in
    /// process on SQLite (one server per file), by `NOTIFY` on PostgreSQL.
    async fn publish(&self, payload: &str) -> Result<()>;

    /// Hall events from every app server, this one included.
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<String>;

    /// Recounts every slot from holds, bookings and pending returns and reports any
    /// disagreement with the counters, any oversold slot and any identity with two active
    /// bookings for one business. Used by tests, `wujing doctor` and the load generator.
    async fn verify_invariants(&self) -> Result<InvariantReport>;
}

/// The organisation: districts, halls with their windows and closures, the calendar and the slots.
#[async_trait]
pub trait OrgStore: Send + Sync + 'static {
    async fn put_district(&self, d: &District) -> Result<()>;

    /// Creates or replaces a hall with its windows and pool capacities.
    async fn put_hall(&self, h: &HallSetup) -> Result<()>;

    async fn districts(&self) -> Result<Vec<District>>;

    async fn halls(&self) -> Result<Vec<Hall>>;

    async fn hall(&self, id: &str) -> Result<Option<Hall>>;

    async fn put_calendar_days(&self, days: &[DeclaredDay]) -> Result<()>;

    async fn calendar_days(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<DeclaredDay>>;

    /// Inserts the slots that do not exist yet; existing ones (and their counts) are untouched,
    /// so generating ahead is incremental and idempotent. Returns how many were new.
    async fn ensure_slots(&self, slots: &[NewSlot]) -> Result<u64>;

    async fn slots(&self, q: &SlotQuery) -> Result<Vec<Slot>>;

    async fn slot(&self, id: i64) -> Result<Option<Slot>>;

    async fn windows(&self, hall_id: &str) -> Result<Vec<Window>>;

    /// Days `from..=to` on which staff closed the hall.
    async fn hall_closures(
        &self,
        hall_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<NaiveDate>>;
}

/// Holds and bookings: taking, confirming, cancelling and moving seats, the sweeper, and
/// the scalping signals computed from bookings.
#[async_trait]
pub trait BookingStore: Send + Sync + 'static {
    /// Takes a seat in `slot_id` atomically and records a hold; `SlotFull` when none is free.
    async fn create_hold(&self, h: &NewHold) -> Result<Hold>;

    async fn hold(&self, id: &str) -> Result<Option<Hold>>;

    /// Counts one request against every rule, as a hold or confirmation counts its own;
    /// `RateLimited` when one is over its limit. For requests that change nothing else
    /// (eligibility pre-checks).
    async fn count_requests(&self, rules: &[RateRule], now: DateTime<Utc>) -> Result<()>;

    /// Turns a live hold into a booking in one transaction.
    async fn confirm_hold(&self, b: &NewBooking) -> Result<Booking>;

    async fn booking_by_code(&self, code: &str) -> Result<Option<Booking>>;

    /// Counts one owner proof (an identity number given to read, cancel or move a booking or a
    /// lottery entry) against every rule, in the hour window of `now` ([`proof_window`]), before
    /// the number is compared, so that parallel guesses cannot all be evaluated. `RateLimited`
    /// when a key is over its limit; nothing is counted then. A proof that matched is taken back
    /// with [`BookingStore::forgive_owner_proof`], so what stays counted are the failures.
    async fn count_owner_proof(&self, rules: &[RateRule], now: DateTime<Utc>) -> Result<()>;

    /// Takes back an owner proof counted by [`BookingStore::count_owner_proof`] that matched.
    async fn forgive_owner_proof(&self, rules: &[RateRule], now: DateTime<Utc>) -> Result<()>;

    async fn booking_by_id(&self, id: i64) -> Result<Option<Booking>>;

    /// Cancels an active booking; its seat returns at `return_at` (immediately if not later
    /// than `now`).
    async fn cancel_booking(
        &self,
        booking_id: i64,
        now: DateTime<Utc>,
        return_at: DateTime<Utc>,
    ) -> Result<Booking>;

    /// Moves an active booking to `new_slot_id`: the new seat is taken first, then the old one
    /// is scheduled to return at `return_at`, all in one transaction.
    async fn reschedule_booking(
        &self,
        booking_id: i64,
        new_slot_id: i64,
        now: DateTime<Utc>,
        return_at: DateTime<Utc>,
    ) -> Result<Booking>;

    /// Frees the seats of expired holds and of returns that are due.
    async fn sweep(&self, now: DateTime<Utc>) -> Result<SweepReport>;

    /// Erases the personal data of bookings whose visit was before `cutoff`, of tickets and
    /// lottery entries of days before `cutoff_day` (the halls' local day of `cutoff`), client
    /// addresses of older holds and expired phone codes; in one transaction.
    async fn anonymise_before(
        &self,
        cutoff: DateTime<Utc>,
        cutoff_day: NaiveDate,
    ) -> Result<RetentionReport>;

    async fn cancel_rebook_pairs(&self) -> Result<Vec<CancelRebookPair>>;

    /// Records cancel→rebook pairs among bookings created since the last scan: the same
    /// identity rebooking a business it cancelled within `identity_window`, and another
    /// identity taking a returned seat within `handoff_window` of its return. Run by the
    /// sweeper, off the booking hot path; returns the pairs recorded.
    async fn detect_pairs(
        &self,
        now: DateTime<Utc>,
        identity_window: chrono::TimeDelta,
        handoff_window: chrono::TimeDelta,
    ) -> Result<u64>;

    /// Scalping signals since `since`: phones and addresses used by at least `min_identities`
    /// identities, addresses with at least `min_abandoned` expired holds, and cancel→rebook
    /// pairs; at most 100 rows of each, worst first.
    /// `halls`: only bookings and holds at these halls, and pairs whose two bookings are both
    /// at these halls (a hall-scoped reader); `None`: the whole organisation.
    async fn signals(
        &self,
        since: DateTime<Utc>,
        min_identities: u32,
        min_abandoned: u32,
        halls: Option<&[String]>,
    ) -> Result<Signals>;

    /// The active bookings of an identity (not used: check-in at reception finds them).
    async fn active_bookings_of(&self, identity_key: &str) -> Result<Vec<Booking>>;

    /// An identity's bookings, the latest 50, latest visit first: active, used (checked in;
    /// their slips show the visit and the application) and cancelled. "My bookings".
    async fn current_bookings_of(&self, identity_key: &str) -> Result<Vec<Booking>>;

    /// Active bookings whose visit is on `day` (reminders).
    async fn active_bookings_on(&self, day: NaiveDate) -> Result<Vec<Booking>>;
}

/// Lottery releases: entries, the draw and its awards.
#[async_trait]
pub trait LotteryStore: Send + Sync + 'static {
    async fn add_lottery_entry(&self, e: &NewEntry) -> Result<LotteryEntry>;

    async fn lottery_entry(&self, id: i64) -> Result<Option<LotteryEntry>>;

    /// Every entry of a day, in id order (the canonical order a draw shuffles).
    async fn lottery_entries(&self, day: NaiveDate) -> Result<Vec<LotteryEntry>>;

    /// Records the draw of `day` with `seed` if nobody has started it, and returns the day's
    /// entries in id order; `None` when another instance already drew (or is drawing) it.
    async fn start_draw(
        &self,
        day: NaiveDate,
        seed: u64,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<LotteryEntry>>>;

    /// Takes a seat in `slot_id` for the entry and books it, in one transaction.
    async fn award_entry(&self, entry_id: i64, slot_id: i64, b: &NewBooking) -> Result<Booking>;

    /// Marks the day's remaining entries lost and the draw finished.
    async fn finish_draw(&self, day: NaiveDate, now: DateTime<Utc>) -> Result<Draw>;

    async fn draw(&self, day: NaiveDate) -> Result<Option<Draw>>;
}

/// The imported person and document registries that eligibility reads.
#[async_trait]
pub trait RegistryStore: Send + Sync + 'static {
    async fn upsert_persons(&self, p: &[PersonRecord], now: DateTime<Utc>) -> Result<u64>;

    async fn upsert_documents(&self, d: &[DocumentRecord], now: DateTime<Utc>) -> Result<u64>;

    async fn person(&self, id_number: &str) -> Result<Option<PersonRecord>>;

    async fn documents_of(&self, id_number: &str) -> Result<Vec<DocumentRecord>>;

    /// Both registries' records of one person, as eligibility needs them.
    async fn facts(&self, id_number: &str) -> Result<(Option<PersonRecord>, Vec<DocumentRecord>)> {
        Ok((
            self.person(id_number).await?,
            self.documents_of(id_number).await?,
        ))
    }
}

/// Staff accounts, sessions, log-in throttling, devices and the audit chain (M14).
#[async_trait]
pub trait StaffStore: Send + Sync + 'static {
    /// Applies a staff change and appends its audit entry to the hash chain, in one
    /// transaction. Appends are serialised so that each entry links to the one before it.
    async fn apply_admin(&self, change: &AdminChange, audit: &NewAudit) -> Result<AdminOutcome>;

    async fn staff_by_username(&self, username: &str) -> Result<Option<StaffAccount>>;

    async fn staff_by_id(&self, id: i64) -> Result<Option<StaffAccount>>;

    async fn staff_list(&self) -> Result<Vec<StaffAccount>>;

    async fn create_session(&self, s: &StaffSession) -> Result<()>;

    /// The live session with this token hash and its (enabled) account.
    async fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(StaffSession, StaffAccount)>>;

    async fn end_session(&self, token_hash: &str) -> Result<()>;

    /// Counts a sign-in attempt under each gate in turn, *before* the password is checked,
    /// each with one atomic upsert, and stops at the first gate still in its delay (later
    /// gates then count nothing). Keys quiet for their window are swept on the way.
    async fn login_attempt(&self, gates: &[LoginGate], now: DateTime<Utc>) -> Result<LoginAttempt>;

    /// A sign-in succeeded: `clear` (the user name) starts again from nothing, and each of
    /// `relieve` (the address) gets this attempt back.
    async fn login_succeeded(&self, clear: &str, relieve: &[String]) -> Result<()>;

    async fn devices(&self) -> Result<Vec<Device>>;

    /// The unrevoked device with this token hash.
    async fn device_by_token_hash(&self, token_hash: &str) -> Result<Option<Device>>;

    /// System clients (created and revoked through [`StaffStore::apply_admin`]), oldest first.
    async fn system_clients(&self) -> Result<Vec<SystemClient>>;

    /// The unrevoked system client with this token hash.
    async fn system_client_by_token_hash(&self, token_hash: &str) -> Result<Option<SystemClient>>;

    /// Newest first.
    async fn audit_search(&self, q: &AuditQuery) -> Result<Vec<wujing_domain::audit::AuditEntry>>;

    /// The whole chain in sequence order, and the recorded head `(seq, hash)`.
    async fn audit_chain(&self) -> Result<crate::AuditChain>;
}

/// The notification outbox and the one-time phone codes it carries.
#[async_trait]
pub trait OutboxStore: Send + Sync + 'static {
    /// Stores messages; a key already stored is skipped. Returns how many were new.
    async fn enqueue(&self, messages: &[NewMessage]) -> Result<u64>;

    /// Leases up to `limit` undelivered messages due at `now` for `lease`: another dispatcher
    /// (another app server) does not see them until the lease runs out.
    async fn claim_messages(
        &self,
        now: DateTime<Utc>,
        lease: chrono::TimeDelta,
        limit: u32,
    ) -> Result<Vec<Message>>;

    async fn message_delivered(&self, id: i64, now: DateTime<Utc>) -> Result<()>;

    /// Records a failed attempt; the message is due again at `retry_at`.
    async fn message_failed(&self, id: i64, retry_at: DateTime<Utc>, error: &str) -> Result<()>;

    /// Gives back the lease of claimed messages that were not tried (a dispatcher stopping):
    /// due at once for any dispatcher, their attempt not counted. Returns how many.
    async fn release_messages(&self, ids: &[i64]) -> Result<u64>;

    /// Messages to one recipient, newest first (for the console and tests).
    async fn messages_to(&self, recipient: &str, limit: u32) -> Result<Vec<Message>>;

    /// Records a one-time code for `phone` and queues its text, in one transaction. Refused
    /// (`RateLimited`) within `min_interval` of the previous code to the phone, or beyond
    /// `max_per_hour` codes to the phone or from the client address.
    async fn issue_phone_code(
        &self,
        code: &NewPhoneCode,
        min_interval: chrono::TimeDelta,
        max_per_hour: u32,
        message: &NewMessage,
    ) -> Result<()>;

    /// Checks a code against the newest unexpired one for the phone and purpose, without
    /// using it up (the eligibility pre-check verifies the code that the confirmation then
    /// consumes). Every wrong try counts; after `max_attempts` the code is dead; a right code
    /// already consumed is [`PhoneCodeCheck::Used`].
    async fn verify_phone_code(
        &self,
        phone: &str,
        purpose: &str,
        code_hash: &str,
        now: DateTime<Utc>,
        max_attempts: u32,
    ) -> Result<PhoneCodeCheck>;

    /// Uses up a verified code (its id from [`PhoneCodeCheck::Valid`]) with one conditional
    /// update: `false` when it was already used, so that of two concurrent uses exactly one
    /// gets `true`. For actions that write nothing else (finding one's bookings); a booking and
    /// a lottery entry consume their code in their own transaction instead.
    async fn consume_phone_code(&self, id: i64, now: DateTime<Utc>) -> Result<bool>;
}

/// Hall operations (M5): tickets, counters, payments, ratings, alerts, applications and
/// urgent requests.
#[async_trait]
pub trait HallStore: Send + Sync + 'static {
    /// Issues the next number of the hall's day and queue with the ticket, in one transaction:
    /// numbers are unique and without gaps. A booking's ticket uses the booking in the same
    /// transaction (`used_at`, conditional on its being active, unused and still at
    /// `booking_slot_id`): `Refused("already_checked_in")` for a used booking,
    /// `BookingNotActive` for a cancelled or moved one.
    async fn issue_ticket(&self, t: &NewTicket) -> Result<Ticket>;

    /// A walk-in, in one transaction with its audit entry (whose subject becomes the ticket's
    /// label): refused when the identity has an active booking of the business
    /// (`Refused("already_booked")`) or a ticket of it that day not yet done
    /// (`Refused("already_queued")`), when no on-site slot is running
    /// (`Refused("walk_in_closed")`), or when it is full (`Refused("walk_ins_full")`); else
    /// a seat of that slot is taken and the ticket issued with it.
    async fn walk_in(&self, w: &NewWalkIn, audit: &NewAudit) -> Result<Ticket>;

    /// The ticket issued for a booking (at most one).
    async fn ticket_of_booking(&self, booking_id: i64) -> Result<Option<Ticket>>;

    /// Gives the first waiting ticket of `queues` (priority, then due time, then number) to the
    /// window, atomically: two windows never get the same ticket.
    async fn call_next(
        &self,
        hall_id: &str,
        day: NaiveDate,
        queues: &[String],
        window: u32,
        officer_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<Ticket>>;

    /// Applies a counter action to a ticket held by `window` (or, for re-queueing, a missed
    /// one); `Refused("ticket_state")` when the ticket is not in a state that allows it.
    async fn move_ticket(
        &self,
        ticket_id: i64,
        window: u32,
        m: &TicketMove,
        now: DateTime<Utc>,
    ) -> Result<Ticket>;

    async fn ticket(&self, id: i64) -> Result<Option<Ticket>>;

    async fn tickets_of_day(&self, hall_id: &str, day: NaiveDate) -> Result<Vec<Ticket>>;

    /// Records a payment with the hall's next receipt number of the day.
    /// `Refused("already_paid")` for a second payment of a ticket.
    async fn record_payment(&self, p: &NewPayment) -> Result<Payment>;

    async fn payment_of(&self, ticket_id: i64) -> Result<Option<Payment>>;

    /// Every payment of a hall's day, refunded ones included, in the order taken.
    async fn payments_of_day(&self, hall_id: &str, day: NaiveDate) -> Result<Vec<DayPayment>>;

    /// Count and sum of the day's unrefunded payments per window and method.
    async fn reconciliation(&self, hall_id: &str, day: NaiveDate) -> Result<Vec<ReconLine>>;

    /// Records a rating of a finished ticket (one per ticket: `Refused("already_rated")`);
    /// an `unsatisfied` one also raises an alert and queues `pages` (texts to the leaders), all
    /// in one transaction. Returns the alert when one was raised.
    async fn record_rating(&self, r: &NewRating, pages: &[NewMessage]) -> Result<Option<Alert>>;

    /// Whether the ticket has been rated (the rating terminal then shows its idle screen).
    async fn ticket_rated(&self, ticket_id: i64) -> Result<bool>;

    async fn alert(&self, id: i64) -> Result<Option<Alert>>;

    async fn urgent_request(&self, id: i64) -> Result<Option<UrgentRequest>>;

    /// Alerts of a hall (all halls when `None`), open ones first, newest first (at most 200).
    async fn alerts(&self, hall_id: Option<&str>, open_only: bool) -> Result<Vec<Alert>>;

    /// Marks an alert escalated if it is still unacknowledged and not escalated, and queues
    /// `pages` in the same transaction; `false` when someone got there first.
    async fn escalate_alert(
        &self,
        id: i64,
        now: DateTime<Utc>,
        pages: &[NewMessage],
    ) -> Result<bool>;

    /// Records the acceptance of a ticket's application (one per ticket:
    /// `Refused("already_accepted")`; the ticket must be being served) with its audit entry and
    /// the citizen's texts, in one transaction.
    async fn accept_application(
        &self,
        a: &NewApplication,
        audit: &NewAudit,
        messages: &[NewMessage],
    ) -> Result<Application>;

    /// A person's applications by blind identity key, newest first (at most 50).
    async fn applications_of(&self, identity_key: &str) -> Result<Vec<Application>>;

    /// The mail address of an application (opened), if it is to be mailed.
    async fn application_mail_address(&self, id: i64) -> Result<Option<String>>;

    /// Applications past their due date (`ready_by < today`) and not yet ready, of one hall or
    /// all, oldest due first.
    async fn overdue_applications(
        &self,
        today: NaiveDate,
        hall: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Application>>;

    async fn application_of(&self, ticket_id: i64) -> Result<Option<Application>>;

    async fn application(&self, id: i64) -> Result<Option<Application>>;

    /// Moves an application ([`AdminChange::TransitionApplication`]), appends its audit entry
    /// and queues `messages` (the citizen's texts), in one transaction; answers the moved
    /// application. A refused move writes nothing.
    async fn transition_application(
        &self,
        m: &ApplicationMove,
        audit: &NewAudit,
        messages: &[NewMessage],
    ) -> Result<Application>;

    /// A staff or system change with its audit entry ([`StaffStore::apply_admin`]) and the
    /// citizen's `messages`, in one transaction (an arrival that found a locker compartment
    /// queues its [`LockerAssignment::messages`] instead). A refused change writes nothing.
    async fn apply_admin_notifying(
        &self,
        change: &AdminChange,
        audit: &NewAudit,
        messages: &[NewMessage],
    ) -> Result<AdminOutcome>;

    /// A hall's locker compartments, by label.
    async fn locker(&self, hall_id: &str) -> Result<Vec<LockerCompartment>>;

    /// The compartment of a hall holding a document under the pickup code's MAC `code_mac`.
    async fn locker_by_code(
        &self,
        hall_id: &str,
        code_mac: &str,
    ) -> Result<Option<LockerCompartment>>;

    /// Applications pending a supplement due before `day` (the sweeper lapses them), by id.
    async fn lapsing_applications(&self, day: NaiveDate, limit: u32) -> Result<Vec<Application>>;

    /// Applications ready for collection since before `arrived_before` (by their arrival's
    /// history row), by id; with `unreminded`, only those not reminded yet.
    async fn uncollected_applications(
        &self,
        arrived_before: DateTime<Utc>,
        unreminded: bool,
        limit: u32,
    ) -> Result<Vec<Application>>;

    /// Applications in `state`, of one hall or all: urgent first, then by due date, then id.
    async fn applications_in_state(
        &self,
        state: &str,
        hall: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Application>>;

    /// An application's history, oldest first.
    async fn application_events(&self, id: i64) -> Result<Vec<ApplicationEvent>>;

    /// Urgent requests are filed through [`StaffStore::apply_admin`]
    /// ([`AdminChange::RequestUrgent`]), so that each is written with its audit entry.
    async fn urgent_requests(&self, open_only: bool) -> Result<Vec<UrgentRequest>>;

    /// Makes a production batch in one transaction ([`NewProductionBatch`]): the batch, each
    /// application's move to `in_production` with its history row and audit entry. No
    /// application is ever in two batches; nothing approved: `Refused("production_queue_empty")`
    /// and nothing written.
    async fn create_production_batch(&self, b: &NewProductionBatch) -> Result<ProductionBatch>;

    /// The newest batches first.
    async fn production_batches(&self, limit: u32) -> Result<Vec<ProductionBatch>>;

    async fn production_batch(&self, id: i64) -> Result<Option<ProductionBatch>>;

    /// A batch's applications, urgent first, then by due date.
    async fn batch_applications(&self, batch_id: i64) -> Result<Vec<Application>>;

    /// How many applications are in `state` (the production page's waiting count).
    async fn count_applications_in_state(&self, state: &str) -> Result<u64>;
}

/// Fully online business (全程网办, issue 13): online applications. Their steps are written
/// with their audit entries through [`HallStore::apply_admin_notifying`]
/// ([`AdminChange::Online`]); these are the reads.
#[async_trait]
pub trait RemoteStore: Send + Sync + 'static {
    /// An online application, opened (without its photo).
    async fn online_application(&self, by: &OnlineBy) -> Result<Option<OnlineApplication>>;

    /// The photo of an online application (the JPEG), opened.
    async fn online_photo(&self, id: i64) -> Result<Option<Vec<u8>>>;

    /// The ids of online applications awaiting payment, oldest first, at most `limit`.
    async fn online_awaiting_payment(&self, limit: u32) -> Result<Vec<i64>>;
}

/// Temporary accommodation registration (issue 14 §3): hotels, their page's sessions and the
/// registrations. Every change is an [`AdminChange::Lodging`] step through
/// [`StaffStore::apply_admin`]; these are the reads.
#[async_trait]
pub trait LodgingStore: Send + Sync + 'static {
    async fn hotel(&self, by: HotelBy<'_>) -> Result<Option<Hotel>>;
    /// The hotels of a police station's area, by code.
    async fn hotels_of_site(&self, site_id: &str) -> Result<Vec<Hotel>>;
    /// A hotel page's live session: its CSRF token and the hotel (not revoked).
    async fn hotel_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(String, Hotel)>>;
    /// A registration, its record opened.
    async fn registration(&self, by: &RegistrationBy) -> Result<Option<Registration>>;
    /// A station's registrations checked in since `since`, newest first, each with its
    /// duplicates counted (`tomorrow`: the end of a running stay's nights).
    async fn lodging_worklist(
        &self,
        site_id: &str,
        since: DateTime<Utc>,
        tomorrow: NaiveDate,
    ) -> Result<Vec<Registration>>;
}

/// Foreigners' passports linked into one person (issue 14 §2). Links are recorded with their
/// audit entries through [`StaffStore::apply_admin`] ([`AdminChange::LinkPassports`]); these
/// are the reads.
#[async_trait]
pub trait ForeignStore: Send + Sync + 'static {
    /// The person key a passport's (blind) identity key belongs to, when it was ever linked.
    async fn foreign_person_key(&self, passport_key: &str) -> Result<Option<String>>;

    /// Every passport key of a person, the first one included; empty when never linked.
    async fn foreign_passport_keys(&self, person_key: &str) -> Result<Vec<String>>;
}

pub type DynStore = Arc<dyn Store>;

/// The audit trail in sequence order, and its recorded head `(seq, hash)`.
pub type AuditChain = (Vec<wujing_domain::audit::AuditEntry>, Option<(i64, String)>);

/// Opens the store a URL names: `postgres://…` or `postgresql://…` for PostgreSQL, `sqlite:PATH`
/// or a plain path for SQLite.
pub async fn open(url: &str, keys: Arc<keys::Keys>) -> Result<DynStore> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::connect(url, keys).await?))
    } else {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        Ok(Arc::new(sqlite::SqliteStore::open(path, keys)?))
    }
}
