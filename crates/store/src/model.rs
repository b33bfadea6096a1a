//! Rows as the use cases see them, independent of the dialect.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::Serialize;
use wujing_domain::{Pool, Session, SiteKind};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct District {
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hall {
    pub id: String,
    pub district_id: String,
    pub name_zh: String,
    pub name_en: String,
    pub address_zh: String,
    pub address_en: String,
    /// ISO weekdays the hall opens on ordinary weeks (1 = Monday).
    pub weekdays: Vec<u32>,
    pub sessions: Vec<Session>,
    pub slot_minutes: u32,
    pub serves_foreigners: bool,
    pub window_count: u32,
    /// Seats per slot for each pool.
    pub capacity: Vec<(Pool, u32)>,
    /// What sort of site this is (issue 13: halls, service points, police stations…).
    pub kind: SiteKind,
    /// The catalogue's business codes the site offers, sorted (`site_businesses`).
    pub businesses: Vec<String>,
    /// Where the site is, if the administrator has said (the portal orders by distance).
    pub location: Option<wujing_domain::GeoPoint>,
}

impl Hall {
    /// Whether the site offers `business`: the one question every booking, lottery entry,
    /// check-in, walk-in and acceptance asks (the database asks it again where a row is
    /// written).
    pub fn offers(&self, business: &str) -> bool {
        self.businesses.iter().any(|b| b == business)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Window {
    pub number: u32,
    /// `general`, `foreigners`, `expedite`, `collection`.
    pub kind: String,
}

/// Everything needed to create or replace a hall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HallSetup {
    pub hall: Hall,
    pub windows: Vec<Window>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSlot {
    pub hall_id: String,
    pub day: NaiveDate,
    pub start: NaiveTime,
    pub pool: Pool,
    pub starts_at: DateTime<Utc>,
    pub capacity: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Slot {
    pub id: i64,
    pub hall_id: String,
    pub day: NaiveDate,
    pub start: NaiveTime,
    pub pool: Pool,
    pub starts_at: DateTime<Utc>,
    pub capacity: u32,
    pub taken: u32,
}

impl Slot {
    pub fn free(&self) -> u32 {
        self.capacity.saturating_sub(self.taken)
    }
}

/// A slot search. `None` fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct SlotQuery {
    pub hall_ids: Option<Vec<String>>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub start: Option<NaiveTime>,
    pub pool: Option<Pool>,
    pub only_free: bool,
    pub starts_after: Option<DateTime<Utc>>,
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldState {
    Held,
    Confirmed,
    Expired,
}

impl HoldState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Held => "held",
            Self::Confirmed => "confirmed",
            Self::Expired => "expired",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "held" => Self::Held,
            "confirmed" => Self::Confirmed,
            "expired" => Self::Expired,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct NewHold {
    pub id: String,
    pub slot_id: i64,
    pub business: String,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub client_addr: Option<String>,
    /// Counted in the same transaction; any one over its limit refuses the hold.
    pub limits: Vec<RateRule>,
}

/// One rate limit to count a request against: at most `limit` hits per key and minute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateRule {
    /// An opaque key such as a hash of `addr:203.0.113.7`; never personal data in clear.
    pub key: String,
    pub limit: u32,
}

/// The one-minute window `now` falls in, and the seconds until it ends.
/// The one-hour window of owner proofs `now` falls in, and the seconds until it ends: long
/// enough that guessing an identity number at the allowed rate takes years.
pub fn proof_window(now: DateTime<Utc>) -> (DateTime<Utc>, i64) {
    let ms = now.timestamp_millis();
    let start = ms - ms.rem_euclid(3_600_000);
    let start_at = DateTime::from_timestamp_millis(start).unwrap_or(now);
    let retry = ((start + 3_600_000 - ms) + 999) / 1000;
    (start_at, retry.max(1))
}

pub fn rate_window(now: DateTime<Utc>) -> (DateTime<Utc>, i64) {
    let ms = now.timestamp_millis();
    let start = ms - ms.rem_euclid(60_000);
    let start_at = DateTime::from_timestamp_millis(start).unwrap_or(now);
    let retry = ((start + 60_000 - ms) + 999) / 1000;
    (start_at, retry.max(1))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hold {
    pub id: String,
    pub slot_id: i64,
    pub business: String,
    pub state: HoldState,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdKind {
    ResidentId,
    ForeignPassport,
}

impl IdKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ResidentId => "resident_id",
            Self::ForeignPassport => "foreign_passport",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "resident_id" => Self::ResidentId,
            "foreign_passport" => Self::ForeignPassport,
            _ => return None,
        })
    }
}

/// A booking to create from a hold. `business` must match the hold's. Its `Debug` masks the
/// personal data.
#[derive(Clone)]
pub struct NewBooking {
    pub code: String,
    pub hold_id: String,
    pub business: String,
    pub option_code: Option<String>,
    pub identity_key: String,
    pub id_kind: IdKind,
    pub id_number: String,
    pub nationality: Option<String>,
    pub name: String,
    pub phone: String,
    pub answers_json: String,
    pub fee_yuan: Option<u32>,
    pub channel: String,
    pub now: DateTime<Utc>,
    pub client_addr: Option<String>,
    pub limits: Vec<RateRule>,
    /// The confirmation messages (text, e-mail), written to the outbox with the booking.
    pub notices: Vec<NewMessage>,
    /// `zh-CN` or `en`.
    pub lang: String,
    /// The verified phone code that authorises this booking: consumed in the booking's own
    /// transaction (`StoreError::PhoneCodeUsed`, nothing written, when another use got there
    /// first), so a refused confirmation leaves the code usable for the retry.
    pub phone_code_id: Option<i64>,
}

impl std::fmt::Debug for NewBooking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewBooking")
            .field("code", &self.code)
            .field("business", &self.business)
            .field(
                "id_number",
                &wujing_domain::idnum::mask_id_number(&self.id_number),
            )
            .field("phone", &wujing_domain::idnum::mask_phone(&self.phone))
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    Active,
    Cancelled,
    /// Checked in at the hall: no longer active for its owner (it cannot be cancelled or
    /// rescheduled, and does not count against one active booking per business), though it
    /// keeps its seat.
    Used,
}

impl BookingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Cancelled => "cancelled",
            Self::Used => "used",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "active" => Self::Active,
            "cancelled" => Self::Cancelled,
            "used" => Self::Used,
            _ => return None,
        })
    }
}

/// A booking. It carries personal data: callers mask `id_number` and `phone` before showing
/// them; `Debug` is implemented by hand so that logs never get them in full.
#[derive(Clone, PartialEq, Eq)]
pub struct Booking {
    pub id: i64,
    pub code: String,
    pub slot: Slot,
    pub business: String,
    pub option_code: Option<String>,
    pub identity_key: String,
    pub id_kind: IdKind,
    pub id_number: String,
    pub nationality: Option<String>,
    pub name: String,
    pub phone: String,
    pub answers_json: String,
    pub fee_yuan: Option<u32>,
    pub channel: String,
    pub status: BookingStatus,
    pub created_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub reschedule_count: u32,
    /// `zh-CN` or `en`: the language of texts about the booking.
    pub lang: String,
}

impl std::fmt::Debug for Booking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Booking")
            .field("id", &self.id)
            .field("code", &self.code)
            .field("slot", &self.slot.id)
            .field("business", &self.business)
            .field(
                "id_number",
                &wujing_domain::idnum::mask_id_number(&self.id_number),
            )
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    pub expired_holds: u64,
    pub returned_seats: u64,
}

/// What a retention pass erased.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RetentionReport {
    pub bookings: u64,
    pub tickets: u64,
    pub lottery_entries: u64,
    /// Ended applications whose owner's key and mail address were erased.
    pub applications: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CancelRebookPair {
    pub cancelled_code: String,
    pub new_code: String,
    /// `same_identity` or `seat_handoff`.
    pub kind: String,
    pub gap_ms: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InvariantReport {
    pub slots_checked: u64,
    /// Slots whose `taken` exceeds `capacity` (impossible while the CHECK holds).
    pub oversold: Vec<i64>,
    /// Slots whose `taken` differs from live holds + active bookings + pending returns.
    pub miscounted: Vec<i64>,
    /// Identity keys holding two active bookings for one business.
    pub duplicate_identities: u64,
    /// Active bookings in all: a load test compares it with the confirmations it received.
    pub active_bookings: u64,
}

impl InvariantReport {
    pub fn is_clean(&self) -> bool {
        self.oversold.is_empty() && self.miscounted.is_empty() && self.duplicate_identities == 0
    }
}

/// An entry into a day's lottery release. Carries personal data like a booking; `Debug` masks.
#[derive(Clone, PartialEq, Eq)]
pub struct NewEntry {
    /// Chosen by the caller (random, so that ids are not a sequence); unique.
    pub id: i64,
    pub release_day: NaiveDate,
    pub business: String,
    pub option_code: Option<String>,
    pub identity_key: String,
    pub id_kind: IdKind,
    pub id_number: String,
    pub nationality: Option<String>,
    pub name: String,
    pub phone: String,
    pub answers_json: String,
    /// Preferred halls, most wanted first.
    pub hall_ids: Vec<String>,
    pub channel: String,
    pub client_addr: Option<String>,
    pub now: DateTime<Utc>,
    /// The verified phone code that authorises the entry: consumed in the entry's transaction,
    /// as for [`NewBooking::phone_code_id`].
    pub phone_code_id: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    Entered,
    Won,
    Lost,
}

impl EntryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Entered => "entered",
            Self::Won => "won",
            Self::Lost => "lost",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "entered" => Self::Entered,
            "won" => Self::Won,
            "lost" => Self::Lost,
            _ => return None,
        })
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct LotteryEntry {
    pub id: i64,
    pub entry: NewEntry,
    pub status: EntryStatus,
    pub booking_code: Option<String>,
}

impl std::fmt::Debug for LotteryEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LotteryEntry")
            .field("id", &self.id)
            .field("day", &self.entry.release_day)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for NewEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewEntry")
            .field("day", &self.release_day)
            .field("business", &self.business)
            .finish_non_exhaustive()
    }
}

/// A day's draw as recorded: the seed makes it reproducible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Draw {
    pub release_day: NaiveDate,
    pub seed: u64,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub entries: u64,
    pub winners: u64,
}

/// A phone or client address shared by several identities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SharedKey {
    pub key: String,
    pub identities: u64,
    pub bookings: u64,
}

/// A client address whose holds expired unconfirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AbandonedHolds {
    pub client_addr: String,
    pub holds: u64,
}

/// Patterns of seat hoarding and trading since some moment (M3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Signals {
    pub shared_phones: Vec<SharedKey>,
    pub shared_addresses: Vec<SharedKey>,
    pub abandoned_holds: Vec<AbandonedHolds>,
    pub cancel_rebook: Vec<CancelRebookPair>,
}

// --- Staff, sessions, devices, audit (M14) ----------------------------------------------------

/// A staff account. Deliberately not `Serialize`, and its `Debug` hides the password hash:
/// the hash must never reach an answer or a log.
#[derive(Clone, PartialEq, Eq)]
pub struct StaffAccount {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub roles: Vec<wujing_domain::staff::RoleGrant>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub password_changed_at: DateTime<Utc>,
    /// For alerts by text message (leaders, supervisors).
    pub phone: Option<String>,
}

impl std::fmt::Debug for StaffAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffAccount")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("roles", &self.roles)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

/// A log-in session. Only the SHA-256 of the cookie's token is stored, so a copy of the
/// database does not give anyone a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffSession {
    pub token_hash: String,
    pub staff_id: i64,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub client_addr: Option<String>,
}

/// How one throttle key (a user name or a client address) counts sign-in attempts: the
/// first `free` within a window go through at once; after that each attempt owes a delay of
/// `step × (n − free + 1)` before the next, at most `max_delay`. A key quiet for `window`
/// starts again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginGate {
    pub key: String,
    pub free: u32,
    pub step: chrono::TimeDelta,
    pub max_delay: chrono::TimeDelta,
    pub window: chrono::TimeDelta,
}

/// What the gate said about one sign-in attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginAttempt {
    /// Counted; the password may be checked. The attempt counts per gate, this one included.
    Allowed { attempts: Vec<u32> },
    /// The gate `key` is in its delay until `until`; nothing of this attempt was counted
    /// under it (gates before it did count it).
    Refused { key: String, until: DateTime<Utc> },
}

/// A kiosk or other device acting as its own principal with a revocable token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    pub id: i64,
    pub name: String,
    pub hall_id: String,
    #[serde(skip)]
    pub token_hash: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// What the machine is (`wujing_domain::DeviceKind::as_str`).
    pub kind: String,
    /// The window it stands at (前台通, rating terminals).
    pub window_number: Option<u32>,
    /// When a kiosk last took its token by pairing (none: never paired, or before migration 34).
    pub paired_at: Option<DateTime<Utc>>,
}

/// Another organisation's system acting as its own principal with a revocable bearer token:
/// the production centre (制证中心).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SystemClient {
    pub id: i64,
    pub name: String,
    /// `production_centre`.
    pub kind: String,
    #[serde(skip)]
    pub token_hash: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A production batch: approved applications taken into production together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductionBatch {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    /// `system:<id>` or `staff:<id>`.
    pub actor: String,
    pub actor_name: String,
    /// How many applications it took.
    pub size: u32,
}

/// A batch to make ([`crate::HallStore::create_production_batch`]): up to `limit` approved
/// applications, urgent first, then by due date, each moved to `in_production` with its
/// history row and its audit entry, made from `audit` (who, when, from where) per application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProductionBatch {
    pub limit: u32,
    pub audit: NewAudit,
}

/// An audit entry before the store gives it its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAudit {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub actor_name: String,
    pub action: String,
    pub subject: String,
    pub citizen: Option<String>,
    pub detail: serde_json::Value,
    pub client_addr: Option<String>,
    pub station: Option<String>,
    /// The hall the entry concerns (`None` for organisation-wide actions): a leader or
    /// supervisor scoped to halls reads only the entries of its halls. Stored beside the chain,
    /// not covered by the entry's hash (see migration 0018).
    pub hall_id: Option<String>,
}

/// A change made by staff (or the command line), applied together with its audit entry in one
/// transaction: either both are written or neither.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminChange {
    /// Nothing changes in the administration data; only the audit entry is recorded: a sign-in
    /// or a failed one, a reveal of a full identity number, a masked booking lookup, a read of
    /// the trail, a check-in, a call or move of a ticket, an acceptance or a payment at a
    /// counter.
    RecordOnly,
    /// Sign-out: ends one session (by the SHA-256 of its token). Ending a session that is
    /// already gone is not an error: the entry still says who signed out.
    EndSession {
        token_hash: String,
    },
    /// An officer sends a ticket's case to the leader post; refused (`urgent_open`) while one
    /// is waiting for a decision. `Created` carries the request's id.
    RequestUrgent {
        ticket_id: i64,
        reason: String,
        note: String,
        staff_id: i64,
    },
    CreateStaff {
        username: String,
        display_name: String,
        password_hash: String,
        roles: Vec<wujing_domain::staff::RoleGrant>,
        phone: Option<String>,
    },
    /// Disabling an account or changing its password ends its sessions.
    UpdateStaff {
        id: i64,
        display_name: Option<String>,
        roles: Option<Vec<wujing_domain::staff::RoleGrant>>,
        disabled: Option<bool>,
        password_hash: Option<String>,
        phone: Option<String>,
    },
    CreateDevice {
        name: String,
        hall_id: String,
        token_hash: String,
        kind: String,
        window_number: Option<u32>,
    },
    RevokeDevice {
        id: i64,
    },
    /// Registers a system client (the production centre's system) by its token's hash.
    CreateSystemClient {
        name: String,
        /// `production_centre`.
        kind: String,
        token_hash: String,
    },
    RevokeSystemClient {
        id: i64,
    },
    /// Lifts the sign-in delay of a user name at once (its throttle key, `user:<name>`).
    UnlockSignIn {
        key: String,
    },
    /// Sets one of the organisation's settings (a JSON value under its key; issue 15).
    PutSetting {
        key: String,
        value: String,
    },
    UpdateHall {
        id: String,
        name_zh: String,
        name_en: String,
        address_zh: String,
        address_en: String,
    },
    /// A new site with its windows, pool capacities and businesses (issue 13 §2): all of it or
    /// nothing. `Refused("site_exists")` for a taken id.
    CreateSite(Box<HallSetup>),
    /// A site's names, address, hours and businesses (`hall.window_count`, `capacity` and
    /// `kind` are not read: windows and capacity change through their own changes, and the
    /// kind stays).
    UpdateSite(Box<Hall>),
    AddWindow {
        hall_id: String,
        number: u32,
        kind: String,
    },
    RemoveWindow {
        hall_id: String,
        number: u32,
    },
    /// Sets a pool's seats per slot from `from_day` on: the pool's setting and every existing
    /// slot of that hall and pool from that day, in place (never by regenerating seats). Refused
    /// when a slot already has more seats taken than the new capacity.
    SetCapacity {
        hall_id: String,
        pool: Pool,
        seats: u32,
        from_day: NaiveDate,
    },
    /// Closes a hall for one day (its seats drop to zero; refused while any is taken) or
    /// reopens it (seats back to the pools' capacities).
    SetHallDay {
        hall_id: String,
        day: NaiveDate,
        closed: bool,
        note: String,
    },
    /// A leader refunds a payment; refused when already refunded.
    Refund {
        ticket_id: i64,
        staff_id: i64,
    },
    /// A leader decides an urgent request; approval raises the ticket's priority and marks its
    /// application (when accepted already) expedited.
    DecideUrgent {
        id: i64,
        staff_id: i64,
        approved: bool,
    },
    /// Moves an application (review, production, collection): a conditional update on the
    /// expected state and a history row, refused as `Refused("application_state_changed")` when the
    /// application is no longer in `from`, `Refused("application_move_illegal")` when the move table (the
    /// history's CHECK) does not allow it, `Refused("document_number_taken")` for a number
    /// another document has. Use [`crate::HallStore::transition_application`], which also
    /// answers the moved application and queues the citizen's texts.
    TransitionApplication(ApplicationMove),
    /// A hall's locker compartments become `labels`: new labels are added, missing free ones
    /// removed; `Refused("compartment_occupied")` when a missing one holds a document.
    SetLocker {
        hall_id: String,
        labels: Vec<String>,
    },
    /// A collection at the hall's locker: the compartment holding `application_id` under
    /// `code_mac` is freed (the code goes with it: one use) and the application moves
    /// `ready_for_collection` → `collected` with its history row (`actor`); answers
    /// [`AdminOutcome::Compartment`]. `Refused("pickup_code_invalid")` when no compartment of
    /// the hall matches (a wrong code, or a concurrent collection got there first).
    CollectFromLocker {
        hall_id: String,
        application_id: i64,
        code_mac: String,
        actor: String,
    },
    /// A locker (`device_id`, of `hall_id`) reports that compartment `label`'s door did not
    /// open (issue 17, 取证机): the compartment is marked jammed (its document stays, still
    /// `ready_for_collection`) and the device's alert `jam:<label>` opens unless one is open.
    /// `SlotsChanged(n)`: the alerts opened, so the pages go out once.
    /// `Refused("not_found")` when the hall has no such compartment.
    JamCompartment {
        hall_id: String,
        label: String,
        device_id: i64,
    },
    /// Staff clear a jammed compartment (`by`: `staff:<id>`, with a note): the jam is lifted and
    /// the open `jam:<label>` alerts of the hall's devices are cleared with the note.
    /// `Refused("compartment_not_jammed")` when it is not jammed.
    ClearJam {
        hall_id: String,
        label: String,
        by: String,
        note: String,
    },
    /// Records the one reminder that a document waits (`applications.reminded_at`);
    /// `Refused("already_reminded")` when it was sent already or the document was collected.
    RemindCollection {
        application_id: i64,
    },
    /// How the applicant receives the document: `counter`, `locker` or `mail` with the address
    /// (clear here, sealed by the store). Refused as `Refused("collection_fixed")` once the
    /// document has left for the collection site or the carrier, or the application has ended
    /// (a conditional update on the states that still allow a choice).
    ChooseCollection {
        id: i64,
        method: String,
        mail_address: Option<String>,
    },
    /// A leader's acknowledgement of an alert, with what was done; refused when already
    /// acknowledged.
    AcknowledgeAlert {
        id: i64,
        staff_id: i64,
        outcome: String,
    },
    /// Fully online business (issue 13): one step of an online application
    /// ([`OnlineStep`]), a conditional update on the state the step needs.
    Online(OnlineStep),
    /// A step of accommodation registration (issue 14 §3, [`crate::LodgingStep`]).
    Lodging(crate::lodging::LodgingStep),
    /// An audited step of a device's pairing or alerts (issue 16, [`crate::DeviceStep`]).
    Device(crate::devices::DeviceStep),
    /// A step of the kiosk modes' data (issue 17, [`crate::KioskStep`]): a 申请易 submission
    /// with its biometrics, their deletion, a 前台通's card read.
    Kiosk(crate::kiosk::KioskStep),
    /// A 办证易 endorsement re-issue's move (issue 17).
    Reissue(crate::reissue::ReissueStep),
    /// Foreigners (issue 14 §2): an officer records that one passport replaces another
    /// ([`PassportLink`]); refused `passport_link_same`, `passport_already_linked`,
    /// `passport_link_conflict`.
    LinkPassports(PassportLink),
}

/// What an [`AdminChange`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminOutcome {
    Done,
    /// The locker compartment (its label) a document was put in or taken from.
    Compartment(String),
    Created(i64),
    SlotsChanged(u64),
}

/// Search of the audit trail; every field narrows it.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub citizen: Option<String>,
    pub actor: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Only entries about these halls (a hall-scoped reader); `None`: every entry, those of no
    /// hall included (an organisation-wide reader). `Some(vec![])` matches nothing.
    pub halls: Option<Vec<String>>,
    /// Keyset paging on the entry's sequence number: only entries older than this one.
    pub before: Option<i64>,
    /// Only entries newer than this one: the `limit` entries just after it (a "newer" page),
    /// still listed newest first.
    pub after: Option<i64>,
    pub limit: u32,
}

impl AuditQuery {
    /// The walk's direction: from the newest down, or up from `after` (the page just newer
    /// than it; the adapters turn its entries back to newest first). Either way the primary
    /// key gives the order, so a page reads `limit` rows however long the trail.
    pub(crate) fn order(&self) -> &'static str {
        if self.after.is_some() {
            "ASC"
        } else {
            "DESC"
        }
    }
}

// --- Notification outbox (M1–M4) ----------------------------------------------------------------

/// A message to send, stored in the same transaction as the change that causes it.
#[derive(Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// Unique: enqueuing the same key twice stores one message, and providers pass it on so
    /// that a gateway can drop a redelivery.
    pub idempotency_key: String,
    /// `sms` or `email`.
    pub channel: String,
    pub recipient: String,
    /// `phone_code`, `confirmation`, `cancellation`, `reschedule`, `reminder`.
    pub topic: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for NewMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewMessage")
            .field("idempotency_key", &self.idempotency_key)
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

/// A stored message and its delivery state.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    pub id: i64,
    pub idempotency_key: String,
    pub channel: String,
    pub recipient: String,
    pub topic: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub attempts: u32,
    pub delivered_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("id", &self.id)
            .field("idempotency_key", &self.idempotency_key)
            .field("topic", &self.topic)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// A one-time code to record (only its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPhoneCode {
    pub phone: String,
    /// `book` or `lookup`.
    pub purpose: String,
    pub code_hash: String,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub client_addr: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneCodeCheck {
    /// The code is right and unused: `id` names it, for the action that consumes it
    /// ([`NewBooking::phone_code_id`], [`NewEntry::phone_code_id`],
    /// [`crate::OutboxStore::consume_phone_code`]).
    Valid {
        id: i64,
    },
    /// The code is right but was already used: a code is good for one use.
    Used,
    Wrong {
        attempts_left: u32,
    },
    /// No live code: none sent, expired, or too many wrong tries.
    NoCode,
}

// --- Hall operations (M5) -----------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicket {
    pub hall_id: String,
    /// The hall's local day.
    pub day: NaiveDate,
    /// Queue code, also the label's prefix (`A` → `A001`).
    pub queue: String,
    pub booking_id: Option<i64>,
    /// The booking's slot the check-in was judged against: the booking is used only if it is
    /// still there (a concurrent reschedule makes the check-in fail instead).
    pub booking_slot_id: Option<i64>,
    pub business: String,
    pub identity_key: String,
    /// `appointment` or `walk_in`.
    pub kind: String,
    /// Where it was issued: `reception`, `kiosk` or `self`.
    pub channel: String,
    /// Higher is called first (1: expedited).
    pub priority: i32,
    pub due_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ticket {
    pub id: i64,
    pub hall_id: String,
    pub day: NaiveDate,
    pub queue: String,
    pub number: u32,
    pub label: String,
    pub booking_id: Option<i64>,
    pub business: String,
    #[serde(skip)]
    pub identity_key: String,
    pub kind: String,
    pub priority: i32,
    pub due_at: DateTime<Utc>,
    /// `waiting`, `called`, `serving`, `parked`, `missed`, `done`.
    pub status: String,
    pub window_number: Option<u32>,
    pub officer_id: Option<i64>,
    pub calls: u32,
    pub created_at: DateTime<Utc>,
    pub called_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// A walk-in's on-site seat.
    pub slot_id: Option<i64>,
    /// The acceptance channel of whoever issued it (`counter` at reception, `self_service` at a
    /// kiosk, `web` for the citizen's own check-in; `wujing_domain::channels`); none for tickets
    /// from before migration 21.
    pub channel: Option<String>,
    /// A walk-in's 户籍 scope kept at issue: `cross_province` or `home_province`.
    pub hukou_scope: Option<String>,
}

/// A walk-in (`HallStore::walk_in`): its ticket, whose seat comes from the hall's on-site slot
/// running at `ticket.now` (started after `slot_from`).
#[derive(Debug, Clone)]
pub struct NewWalkIn {
    pub ticket: NewTicket,
    pub slot_from: DateTime<Utc>,
    /// `cross_province` or `home_province` by the registry, for a resident; kept on the ticket
    /// for the due date at acceptance.
    pub hukou_scope: Option<String>,
}

/// A counter's action on its current ticket. Each is one conditional statement on the ticket's
/// status (and window): a stale console cannot move a ticket another window has taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketMove {
    /// Call again; beyond `max_calls` the ticket is marked missed.
    Recall {
        max_calls: u32,
    },
    Start,
    Finish,
    /// Not there: missed (it can be re-queued the same day).
    NoShow,
    /// A missed ticket back in line, as if it arrived now.
    Requeue,
    Park,
    /// A parked ticket called back to the same window.
    Unpark,
    /// To another queue, first or last in line.
    Transfer {
        queue: String,
        first: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPayment {
    pub ticket_id: i64,
    pub amount_yuan: u32,
    /// `card`, `qr` or `cash`.
    pub method: String,
    pub reference: String,
    pub window_number: u32,
    pub officer_id: i64,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

/// One payment of a hall's day, as the reconciliation lists it: with its ticket and, if it was
/// refunded, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayPayment {
    pub payment: Payment,
    pub ticket_label: String,
    pub refunded_at: Option<DateTime<Utc>>,
}

/// One line of a day's reconciliation: a window and a payment method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReconLine {
    pub window_number: u32,
    pub method: String,
    pub count: u32,
    pub sum_yuan: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRating {
    pub ticket_id: i64,
    /// `satisfied`, `basic` or `unsatisfied`.
    pub score: String,
    pub reasons: String,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApplication {
    pub ticket_id: i64,
    /// Materials still to bring; empty: fully accepted.
    pub missing: Vec<String>,
    pub supplement_due: Option<NaiveDate>,
    pub ready_by: NaiveDate,
    pub window_number: u32,
    pub officer_id: i64,
    pub now: DateTime<Utc>,
    /// `counter`, `locker` or `mail` (with `mail_address`, clear here, sealed by the store).
    pub collection_method: String,
    pub mail_address: Option<String>,
    /// The acceptance channel, derived from the accepting caller (a [`wujing_domain::Channel`]
    /// by name; the database refuses any other).
    pub channel: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Application {
    pub id: i64,
    /// The ticket it was accepted under; `None` for one submitted online (全程网办).
    pub ticket_id: Option<i64>,
    pub business: String,
    /// A [`wujing_domain::application::State`] by name.
    pub status: String,
    pub missing: Vec<String>,
    pub supplement_due: Option<NaiveDate>,
    pub expedited: bool,
    /// The due date, on the working-day calendar ([`wujing_domain::application::due_date`]).
    pub ready_by: NaiveDate,
    pub accepted_at: DateTime<Utc>,
    /// The accepting hall.
    pub hall_id: String,
    /// The applicant's blind identity key (for the audit trail); never shown.
    #[serde(skip)]
    pub identity_key: String,
    /// A [`wujing_domain::application::RefusalReason`] code, once refused.
    pub refusal_reason: Option<String>,
    /// The document's number, once produced (unique).
    pub document_number: Option<String>,
    /// `counter`, `locker` or `mail`.
    pub collection_method: String,
    pub updated_at: DateTime<Utc>,
    /// The booking it came from (`None` for a walk-in): where the citizen's phone is.
    pub booking_id: Option<i64>,
    /// The carrier's number of a mailed document, once dispatched.
    pub tracking_number: Option<String>,
    /// The acceptance channel (a [`wujing_domain::Channel`] by name).
    pub channel: String,
}

/// A move of an application from the state its caller saw to another, with what the move
/// records ([`crate::HallStore::transition_application`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationMove {
    pub id: i64,
    /// The state the caller saw: a stale caller (the application moved meanwhile) is refused.
    pub from: String,
    pub to: String,
    /// Who moves it: `staff:<id>`, or `system:<id>` for the production centre's system.
    pub actor: String,
    /// A note from the system (stored unsealed: never personal data, never staff's free text).
    /// An arrival that took a locker compartment is noted `locker:<label>`.
    pub note: String,
    /// Required (by a CHECK) when `to` is `refused`.
    pub refusal_reason: Option<String>,
    /// Required (by a CHECK) from `produced` on; unique.
    pub document_number: Option<String>,
    /// The carrier's number of a mailed document, with its dispatch.
    pub tracking_number: Option<String>,
    /// On an arrival (`to` = `ready_for_collection`) of a document to be collected from the
    /// pickup locker: the compartment is assigned in the move's transaction. Without a free
    /// compartment the move still happens (the document waits at the counter) and the
    /// transaction queues the caller's other messages instead of these.
    pub locker: Option<LockerAssignment>,
    /// With a move to `pending_supplement` (review found a material missing): the missing
    /// materials and the deadline, recorded in the move's transaction.
    pub supplement: Option<(Vec<String>, NaiveDate)>,
}

/// What an arrival puts in a locker compartment besides the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockerAssignment {
    /// The keyed MAC of the one-time pickup code (bound to the applicant's identity key); the
    /// code itself is never stored.
    pub code_mac: String,
    /// The citizen's texts when a compartment was assigned (they carry the code).
    pub messages: Vec<NewMessage>,
}

/// A compartment of a hall's pickup locker (取证机).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockerCompartment {
    pub id: i64,
    pub hall_id: String,
    /// What the door says, e.g. `A-07`; unique per hall.
    pub label: String,
    /// The application whose document it holds; `None` when free.
    pub application_id: Option<i64>,
    pub assigned_at: Option<DateTime<Utc>>,
    /// Since when its door is jammed (migration 37): its document stays in it, collectable at
    /// the counter, and no arrival is put in it until staff clear the jam.
    pub jammed_at: Option<DateTime<Utc>>,
}

/// One row of an application's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplicationEvent {
    pub id: i64,
    pub application_id: i64,
    /// `None` for the first event (the acceptance).
    pub from_state: Option<String>,
    pub to_state: String,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

// --- Fully online business (全程网办, issue 13) ------------------------------------------------

/// Text that must never reach a log: its `Debug` says only how long it is (a photo, an
/// address).
#[derive(Clone, PartialEq, Eq)]
pub struct Private(pub String);

impl std::fmt::Debug for Private {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Private({} bytes)", self.0.len())
    }
}

/// A step of an online application, applied with its audit entry ([`AdminChange::Online`]).
/// Personal data is clear here and sealed by the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnlineStep {
    /// Starts an online application after the phone code, or, when the person has an open one
    /// of the business, takes it over with the new secret (the old browser loses it). Answers
    /// [`AdminOutcome::Created`] with its id.
    Start(NewOnlineApplication),
    /// The answers (JSON of [`wujing_domain::Answers`]); a draft only.
    Answers { id: i64, answers: String },
    /// The photo (base64 of the JPEG) and its check (JSON list of failing codes); a draft only.
    Photo {
        id: i64,
        photo: Private,
        check: String,
    },
    /// `locker` or `mail` (with the address); a draft only.
    Collection {
        id: i64,
        method: String,
        mail_address: Option<Private>,
    },
    /// Draft → awaiting payment with the fee; `Refused("online_incomplete")` when the photo is
    /// missing or failed, or no collection was chosen (the table's CHECK).
    AwaitPayment { id: i64, fee_yuan: i64 },
    /// Awaiting payment → submitted: the application is created (no ticket, channel `web`,
    /// `accepted`, its first history row by `system:online`) in the same transaction. Answers
    /// [`AdminOutcome::Created`] with the application's id; `Refused("online_not_payable")`
    /// when the online application is not awaiting payment (submitted already, by a
    /// concurrent caller or before).
    Submit {
        id: i64,
        hall_id: String,
        ready_by: NaiveDate,
    },
    /// A draft or one awaiting payment is given up.
    Abandon { id: i64 },
}

/// A new online application: who (proved by the code to the registry's phone), in which
/// language, for which business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOnlineApplication {
    pub reference: String,
    pub secret_hash: String,
    pub identity_key: String,
    pub id_number: Private,
    pub name: Private,
    pub phone: Private,
    pub lang: String,
    pub business: String,
    pub answers: String,
}

/// An online application as the use cases read it (opened; the photo is read apart).
#[derive(Clone, PartialEq, Eq)]
pub struct OnlineApplication {
    pub id: i64,
    pub reference: String,
    pub secret_hash: String,
    pub identity_key: String,
    pub id_number: String,
    pub name: String,
    pub phone: String,
    pub lang: String,
    pub business: String,
    pub answers: String,
    /// `None`: no photo yet; `Some([])`: accepted; else the failing limits' codes.
    pub photo_check: Option<Vec<String>>,
    pub collection_method: Option<String>,
    pub mail_address: Option<String>,
    pub fee_yuan: Option<i64>,
    /// `draft`, `awaiting_payment`, `submitted`, `abandoned`.
    pub status: String,
    pub application_id: Option<i64>,
}

impl std::fmt::Debug for OnlineApplication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnlineApplication")
            .field("id", &self.id)
            .field("reference", &self.reference)
            .field("business", &self.business)
            .field("status", &self.status)
            .field("application_id", &self.application_id)
            .finish_non_exhaustive()
    }
}

/// Which online application to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnlineBy {
    Id(i64),
    Reference(String),
    /// The one that became this application.
    Application(i64),
}

/// That the passport of `new_key` replaces the passport of `old_key` (both blind identity keys,
/// `P:…`), recorded by the officer `staff_id` ([`AdminChange::LinkPassports`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassportLink {
    pub old_key: String,
    pub new_key: String,
    pub staff_id: i64,
}
