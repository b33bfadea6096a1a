//! Wujing's use cases: the one place that decides.
//!
//! Handlers in `wujing-web` translate HTTP to calls on [`App`] and back; everything they must
//! not decide (eligibility, which pool a citizen may book, who may cancel which booking, what a
//! seat costs) is decided here, on top of the pure rules of `wujing-domain` and the atomic
//! operations of the `wujing-store` port. Nothing here opens a transaction: each state change is
//! one store call, which is one transaction.

pub mod admin;
pub mod auth;
pub mod authority;
pub mod authz;
mod booking;
pub mod bzy;
mod cache;
pub mod capacity;
mod channels;
pub mod citizen;
pub mod crypto;
pub mod demo;
pub mod devices;
mod error;
pub mod foreign;
mod forms;
pub mod hall;
pub mod hotline;
pub mod import;
pub mod kiosk_qtt;
pub mod kiosk_sqy;
pub mod kiosk_tbj;
pub mod kiosk_yyj;
pub mod kiosk_zjt;
pub mod lifecycle;
pub mod locker;
pub mod lodging;
mod lottery;
pub mod mrz;
pub mod notify;
mod ops;
pub(crate) mod payment_hooks;
pub mod payments;
pub mod production;
mod progress;
pub mod ratings;
mod records;
mod reference;
pub mod remote;
mod signals;
pub mod simulate;
pub mod sites;
pub mod stats;
mod views;
pub mod wej;

pub use admin::*;
pub use auth::{AuthConfig, PasswordCost, SignedIn, StaffView};
pub use authz::{Action, Principal};
pub use booking::*;
pub use error::{AppError, AppResult, Code, ErrorKind, UNAVAILABLE_RETRY_SECS};
pub use lottery::*;
pub use ops::Readiness;
pub use payment_hooks::probe as payment_probe;
pub use payment_hooks::PROBE_KIND as PAYMENT_PROBE_KIND;
pub use payments::{PaymentPurpose, PaymentStatus, PaymentView};
pub use remote::{
    RemoteCodeSent, RemoteCollection, RemoteIdentity, RemoteSession, RemoteStatus, RemoteVerify,
    RemoteView,
};

/// The demo organisation's main hall (广州市出入境办证大厅): where online applications go
/// unless `--online-site` names another.
pub const DEFAULT_ONLINE_SITE: &str = "gz-city";
pub use production::*;
pub use records::*;
pub use signals::*;
pub use sites::*;
pub use views::*;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use wujing_domain::calendar::china_offset;
use wujing_domain::Catalogue;
use wujing_store::DynStore;

/// A returned seat taken by another identity this soon after its return looks handed over.
pub const HANDOFF_WINDOW: TimeDelta = TimeDelta::minutes(2);

/// Tunables of the booking rules. Every field has a flag and an environment variable in the
/// `wujing` binary.
#[derive(Debug, Clone)]
pub struct Config {
    /// How long a held seat waits for confirmation.
    pub hold_ttl: TimeDelta,
    /// How long a cancelled or vacated seat stays out of the public pool (anti-trading).
    pub return_delay: TimeDelta,
    /// How many days ahead seats are generated and can be booked.
    pub horizon_days: u32,
    /// How far back a cancellation counts as one half of a cancel→rebook pair.
    pub pair_window: TimeDelta,
    /// Per-minute request limits, counted in the database (shared by every app server).
    pub limits: RateLimits,
    /// When the online pool's seats of a day are released, and whether by lottery.
    pub release: ReleasePolicy,
    /// Staff sign-in: password cost, session lifetime, throttling.
    pub auth: AuthConfig,
    /// Where messages go when no provider is handed over (`App::with_sms_provider`).
    pub sms: notify::SmsConfig,
    /// Confirmations must carry a one-time code sent to the applicant's phone.
    pub require_phone_code: bool,
    /// Check-in window and calling rules of the halls.
    pub hall: hall::HallRules,
    /// The CJK font for PDF forms; the usual Debian paths are tried when unset.
    pub cjk_font: Option<std::path::PathBuf>,
    /// Days after a visit that its booking and ticket keep the citizen's identity, name and
    /// phone; then they are erased ([`App::apply_retention`]).
    pub retention_days: u32,
    /// Days a document waits for collection before the citizen is reminded, once
    /// ([`App::sweep_applications`]).
    pub pickup_reminder_days: u32,
    /// Days a document waits for collection before it goes back to the vault (its locker
    /// compartment freed; it is then collected at a counter).
    pub uncollected_days: u32,
    /// The address citizens reach the portal at (`https://…`, no trailing slash): the links
    /// in text messages point there.
    pub public_url: String,
    /// The site (hall id) that accepts fully online applications (全程网办): its reviewers
    /// review them and its pickup locker is the one offered. The demo's main hall by default.
    pub online_site: String,
    /// Days after check-in that an accommodation registration keeps the guest's and host's
    /// personal data; then the hourly sweep anonymises it ([`App::sweep_lodging`]).
    pub lodging_retention_days: u32,
    /// A device whose last heartbeat is older than this is silent: its alert is raised
    /// ([`App::watch_devices`]).
    pub device_silent_after: TimeDelta,
    /// Days a 申请易 application's biometrics (photo, fingerprints, signature) are kept at
    /// most, whatever became of the application; a produced document's are deleted by the
    /// next sweep ([`App::sweep_biometrics`]).
    pub biometrics_retention_days: u32,
}

/// How the online pool is released (issue: fairness at release time).
///
/// The seats of day D open at `hour`:00 local time, `days_ahead` days before D (a rolling
/// window). With a lottery window, citizens enter during the `lottery_window_hours` before
/// that moment instead of racing for seats; at the release the entries are drawn in a random
/// order fixed by a recorded seed, and only then is the rest of the day open to everyone.
#[derive(Debug, Clone, Copy)]
pub struct ReleasePolicy {
    pub days_ahead: u32,
    pub hour: u32,
    /// 0: no lottery, first come first served from the release moment.
    pub lottery_window_hours: u32,
}

impl Default for ReleasePolicy {
    fn default() -> Self {
        Self {
            days_ahead: 14,
            hour: 0,
            lottery_window_hours: 0,
        }
    }
}

impl ReleasePolicy {
    pub fn is_lottery(&self) -> bool {
        self.lottery_window_hours > 0
    }

    /// The moment day `day`'s online seats are released.
    pub fn release_at(&self, day: NaiveDate) -> DateTime<Utc> {
        let open_day = day - TimeDelta::days(i64::from(self.days_ahead));
        let t = chrono::NaiveTime::from_hms_opt(self.hour.min(23), 0, 0).expect("valid hour");
        views::local_instant(open_day, t)
    }

    /// The moment the lottery for `day` starts taking entries.
    pub fn entries_open_at(&self, day: NaiveDate) -> DateTime<Utc> {
        self.release_at(day) - TimeDelta::hours(i64::from(self.lottery_window_hours))
    }
}

/// Requests per minute; 0 turns a limit off.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    /// Seats held from one client address (generous: offices and schools share addresses).
    pub holds_per_address: u32,
    /// Confirmations for one identity.
    pub confirms_per_identity: u32,
    /// Confirmations with one phone number (a family books for several members).
    pub confirms_per_phone: u32,
    /// Confirmations from one client address.
    pub confirms_per_address: u32,
    /// Eligibility pre-checks of one identity number (a citizen tries a few businesses; a
    /// prober walks through names for one number).
    pub checks_per_identity: u32,
    /// Eligibility pre-checks from one client address (a prober walks through numbers); MRZ
    /// reads (`POST /api/v1/mrz`) from one address are counted apart under the same limit.
    pub checks_per_address: u32,
    /// Failed owner proofs (a wrong identity number for a booking code or lottery entry) per
    /// code or entry and **hour**: a few typing mistakes, not a search of identity numbers.
    pub proofs_per_code: u32,
    /// Failed owner proofs from one client address per hour, across codes and entries.
    pub proofs_per_address: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            holds_per_address: 60,
            confirms_per_identity: 5,
            confirms_per_phone: 10,
            confirms_per_address: 30,
            checks_per_identity: 10,
            checks_per_address: 60,
            proofs_per_code: 5,
            proofs_per_address: 20,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            hold_ttl: TimeDelta::minutes(10),
            return_delay: TimeDelta::minutes(30),
            horizon_days: 14,
            pair_window: TimeDelta::hours(24),
            limits: RateLimits::default(),
            release: ReleasePolicy::default(),
            auth: AuthConfig::default(),
            sms: notify::SmsConfig::default(),
            require_phone_code: false,
            cjk_font: None,
            hall: hall::HallRules::default(),
            retention_days: 90,
            pickup_reminder_days: 3,
            uncollected_days: 30,
            public_url: "http://127.0.0.1:8080".into(),
            online_site: DEFAULT_ONLINE_SITE.into(),
            lodging_retention_days: 365,
            device_silent_after: TimeDelta::minutes(5),
            biometrics_retention_days: 60,
        }
    }
}

/// The time source. Tests move a manual clock forward to expire holds without sleeping.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// Offset added to the system time, in milliseconds.
    offset_ms: Arc<AtomicI64>,
    fixed_ms: Option<Arc<AtomicI64>>,
}

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }

    /// The system clock shifted so that it reads `at` now, and runs on from there: for a
    /// training hall or a demonstration at a set time of day.
    pub fn starting_at(at: DateTime<Utc>) -> Self {
        let c = Self::default();
        c.offset_ms.store(
            at.timestamp_millis() - Utc::now().timestamp_millis(),
            Ordering::SeqCst,
        );
        c
    }

    /// A clock frozen at `at` until advanced.
    pub fn manual(at: DateTime<Utc>) -> Self {
        Self {
            offset_ms: Arc::default(),
            fixed_ms: Some(Arc::new(AtomicI64::new(at.timestamp_millis()))),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        let ms = match &self.fixed_ms {
            Some(f) => f.load(Ordering::SeqCst),
            None => Utc::now().timestamp_millis() + self.offset_ms.load(Ordering::SeqCst),
        };
        DateTime::from_timestamp_millis(ms).expect("clock within range")
    }

    pub fn advance(&self, by: TimeDelta) {
        let target = self.fixed_ms.as_deref().unwrap_or(&self.offset_ms);
        target.fetch_add(by.num_milliseconds(), Ordering::SeqCst);
    }

    /// Today in the halls' time zone.
    pub fn today(&self) -> NaiveDate {
        self.now().with_timezone(&china_offset()).date_naive()
    }
}

/// Business counters exported on /metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    pub holds_created: AtomicU64,
    pub holds_refused_full: AtomicU64,
    pub bookings_confirmed: AtomicU64,
    pub bookings_cancelled: AtomicU64,
    pub bookings_rescheduled: AtomicU64,
    pub eligibility_refusals: AtomicU64,
    pub holds_expired: AtomicU64,
    pub seats_returned: AtomicU64,
}

impl Metrics {
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// `(name, help, value)` of every counter.
    pub fn snapshot(&self) -> Vec<(&'static str, &'static str, u64)> {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        vec![
            (
                "wujing_holds_created_total",
                "Seats held.",
                g(&self.holds_created),
            ),
            (
                "wujing_holds_refused_full_total",
                "Hold requests for a full slot.",
                g(&self.holds_refused_full),
            ),
            (
                "wujing_bookings_confirmed_total",
                "Bookings confirmed.",
                g(&self.bookings_confirmed),
            ),
            (
                "wujing_bookings_cancelled_total",
                "Bookings cancelled.",
                g(&self.bookings_cancelled),
            ),
            (
                "wujing_bookings_rescheduled_total",
                "Bookings moved to another slot.",
                g(&self.bookings_rescheduled),
            ),
            (
                "wujing_eligibility_refusals_total",
                "Confirmations refused by eligibility rules.",
                g(&self.eligibility_refusals),
            ),
            (
                "wujing_holds_expired_total",
                "Holds expired by the sweeper.",
                g(&self.holds_expired),
            ),
            (
                "wujing_seats_returned_total",
                "Cancelled seats returned to the pool.",
                g(&self.seats_returned),
            ),
        ]
    }
}

/// The application: the store, the reference data and the rules' tunables.
#[derive(Clone)]
pub struct App {
    pub(crate) store: DynStore,
    pub catalogue: Arc<Catalogue>,
    pub config: Arc<Config>,
    pub clock: Clock,
    pub metrics: Arc<Metrics>,
    caches: Arc<cache::Caches>,
    notifier: Arc<dyn notify::Provider>,
    mailer: Arc<dyn notify::Provider>,
    /// Online payment's provider (`None`: `payments_disabled`), and the simulated one's
    /// checkout when that is the provider.
    payments: Option<Arc<dyn payments::PaymentProvider>>,
    simulated: Option<Arc<payments::simulated::SimulatedProvider>>,
}

impl App {
    pub fn new(store: DynStore, config: Config, clock: Clock) -> Self {
        let notifier = notify::provider(&config.sms);
        let mailer = notifier.clone();
        Self {
            store,
            catalogue: Arc::new(Catalogue::builtin()),
            config: Arc::new(config),
            clock,
            metrics: Arc::default(),
            caches: Arc::default(),
            notifier,
            mailer,
            payments: None,
            simulated: None,
        }
    }

    /// The stored form of an identity's key: a blind index under the deployment's index key
    /// (bookings, tickets, applications, lottery entries and audit entries hold only this).
    pub(crate) fn identity_key(&self, identity: &wujing_domain::Identity) -> String {
        self.store.keys().identity_key(&identity.key())
    }

    /// Halls were edited: the next request rereads them.
    pub(crate) fn invalidate_halls(&self) {
        self.caches.clear_halls();
    }

    /// Capacity or a calendar changed: "full" verdicts and suggestions may be stale.
    pub(crate) fn after_seat_change(&self) {
        self.caches.clear_halls();
        self.caches.seats_freed();
    }

    /// Frees expired holds and due seat returns; run periodically by the server.
    pub async fn sweep(&self) -> AppResult<wujing_store::SweepReport> {
        let now = self.clock.now();
        let r = self.store.sweep(now).await?;
        if r.expired_holds + r.returned_seats > 0 {
            self.caches.seats_freed();
        }
        let pairs = self
            .store
            .detect_pairs(now, self.config.pair_window, HANDOFF_WINDOW)
            .await?;
        if pairs > 0 {
            tracing::info!(pairs, "cancel-rebook pairs recorded");
        }
        self.metrics
            .holds_expired
            .fetch_add(r.expired_holds, Ordering::Relaxed);
        self.metrics
            .seats_returned
            .fetch_add(r.returned_seats, Ordering::Relaxed);
        Ok(r)
    }
}
