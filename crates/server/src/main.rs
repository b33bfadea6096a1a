//! The `wujing` binary: serve the platform, migrate its database, diagnose a deployment, import
//! registry records, back the database up and restore it.
//!
//! Configuration is flags plus environment variables (each flag names its variable in
//! `--help`). With none, `wujing serve` runs on an embedded SQLite file in the working directory
//! and loads the demo organisation into an empty database.

mod bridge;

use chrono::TimeDelta;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use wujing_app::import::ImportOutcome;
use wujing_app::notify::Provider;
use wujing_app::{App, Clock, Config};
use wujing_store::keys::Keys;
use wujing_store::DynStore;

#[derive(Parser)]
#[command(
    name = "wujing",
    version,
    about = "Wujing (无境): the citizen service of an exit-entry administration"
)]
struct Cli {
    /// Database: `sqlite:PATH` (embedded, the default) or `postgres://USER@HOST:PORT/DB`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite:wujing.db",
        global = true
    )]
    database_url: String,

    /// Log format: `pretty` for development, `json` for production log collectors.
    #[arg(
        long,
        env = "WUJING_LOG_FORMAT",
        value_enum,
        default_value = "pretty",
        global = true
    )]
    log_format: LogFormat,

    /// Log filter, e.g. `info` or `wujing_web=debug,info`.
    #[arg(long, env = "WUJING_LOG", default_value = "info", global = true)]
    log: String,

    /// The key file: the keys that seal personal data, blind indexes, the audit chain and
    /// slip links. Kept outside the database and its backups (docs/OPERATIONS.md). Created
    /// with fresh keys by `serve`, `migrate`, `import` and `create-admin` when missing.
    #[arg(
        long,
        env = "WUJING_KEYS_FILE",
        default_value = "wujing.keys",
        global = true
    )]
    keys_file: std::path::PathBuf,

    #[command(flatten)]
    booking: BookingArgs,

    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Pretty,
    Json,
}

/// Who takes online payments (`--payment-provider`).
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PaymentProviderArg {
    /// The simulated provider with the demo organisation (so that a newcomer can pay in the
    /// demo), none otherwise: production never accepts free payments by default.
    Auto,
    /// The simulated provider (开发/测试用模拟支付): no money moves. Never in production.
    Simulated,
    /// No online payment: paying answers `payments_disabled`.
    None,
}

#[derive(Clone, Copy, ValueEnum)]
enum SmtpTlsArg {
    None,
    Starttls,
    Tls,
}

#[derive(Args, Clone)]
struct BookingArgs {
    /// Minutes a held seat waits for confirmation before it is released.
    #[arg(long, env = "WUJING_HOLD_MINUTES", default_value_t = 10, global = true)]
    hold_minutes: i64,

    /// Minutes a cancelled or vacated seat stays out of the public pool (anti-trading delay).
    #[arg(
        long,
        env = "WUJING_RETURN_DELAY_MINUTES",
        default_value_t = 30,
        global = true
    )]
    return_delay_minutes: i64,

    /// Days ahead that seats are generated and can be booked.
    #[arg(long, env = "WUJING_HORIZON_DAYS", default_value_t = 14, global = true)]
    horizon_days: u32,

    /// Seats one client address may hold per minute (0: no limit).
    #[arg(
        long,
        env = "WUJING_LIMIT_HOLDS_PER_ADDRESS",
        default_value_t = 60,
        global = true
    )]
    limit_holds_per_address: u32,

    /// Confirmations per identity per minute (0: no limit).
    #[arg(
        long,
        env = "WUJING_LIMIT_CONFIRMS_PER_IDENTITY",
        default_value_t = 5,
        global = true
    )]
    limit_confirms_per_identity: u32,

    /// Confirmations per phone number per minute (0: no limit).
    #[arg(
        long,
        env = "WUJING_LIMIT_CONFIRMS_PER_PHONE",
        default_value_t = 10,
        global = true
    )]
    limit_confirms_per_phone: u32,

    /// Confirmations per client address per minute (0: no limit).
    #[arg(
        long,
        env = "WUJING_LIMIT_CONFIRMS_PER_ADDRESS",
        default_value_t = 30,
        global = true
    )]
    limit_confirms_per_address: u32,

    /// Eligibility pre-checks per identity number per minute (0: no limit).
    #[arg(
        long,
        env = "WUJING_LIMIT_CHECKS_PER_IDENTITY",
        default_value_t = 10,
        global = true
    )]
    limit_checks_per_identity: u32,

    /// Eligibility pre-checks per client address per minute, and MRZ reads counted apart under
    /// the same number (0: no limit).
    #[arg(
        long,
        env = "WUJING_LIMIT_CHECKS_PER_ADDRESS",
        default_value_t = 60,
        global = true
    )]
    limit_checks_per_address: u32,
    /// Failed owner proofs (wrong identity numbers) per booking code or lottery entry per hour
    /// (0: no limit).
    #[arg(
        long,
        env = "WUJING_LIMIT_PROOFS_PER_CODE",
        default_value_t = 5,
        global = true
    )]
    limit_proofs_per_code: u32,

    /// Failed owner proofs per client address per hour, across codes (0: no limit).
    #[arg(
        long,
        env = "WUJING_LIMIT_PROOFS_PER_ADDRESS",
        default_value_t = 20,
        global = true
    )]
    limit_proofs_per_address: u32,

    /// Online seats of a day are released this many days before it…
    #[arg(
        long,
        env = "WUJING_RELEASE_DAYS_AHEAD",
        default_value_t = 14,
        global = true
    )]
    release_days_ahead: u32,

    /// …at this hour (0-23, hall time).
    #[arg(long, env = "WUJING_RELEASE_HOUR", default_value_t = 0, global = true)]
    release_hour: u32,

    /// Hours before a release during which citizens enter a lottery instead of racing for
    /// seats; 0 releases first come, first served.
    #[arg(
        long,
        env = "WUJING_LOTTERY_WINDOW_HOURS",
        default_value_t = 0,
        global = true
    )]
    lottery_window_hours: u32,

    /// More data keys, in front of the key file's: `id:base64,…`, the first one seals
    /// (key rotation, docs/OPERATIONS.md; `wujing keys generate` makes one).
    #[arg(
        long,
        env = "WUJING_DATA_KEYS",
        global = true,
        hide_env_values = true,
        default_value = ""
    )]
    data_keys: String,

    /// Deliver text messages to this SMS gateway (`https://host/path`, or `http://` for a relay
    /// on the local network; JSON POST signed with HMAC-SHA256 in `X-Wujing-Signature`).
    /// Unset: messages are printed to the console.
    #[arg(long, env = "WUJING_SMS_GATEWAY_URL", global = true)]
    sms_gateway_url: Option<String>,

    /// The gateway's shared HMAC secret.
    #[arg(
        long,
        env = "WUJING_SMS_SECRET",
        global = true,
        hide_env_values = true,
        default_value = ""
    )]
    sms_secret: String,

    /// Also trust the CA certificates in this PEM file for the SMS gateway (a private CA);
    /// the system's trust store is used in any case.
    #[arg(long, env = "WUJING_SMS_CA_FILE", global = true)]
    sms_ca_file: Option<std::path::PathBuf>,

    /// Send e-mail through this SMTP relay (`host:port`; without a port, 25, 587 or 465 after
    /// --smtp-tls). Unset: e-mails are printed to the console.
    #[arg(long, env = "WUJING_SMTP_SERVER", global = true)]
    smtp_server: Option<String>,

    /// How the connection to the relay is protected: `none` (plain SMTP to a relay on the
    /// local network), `starttls` (required: no mail without it) or `tls` (implicit TLS, the
    /// submissions port).
    #[arg(
        long,
        env = "WUJING_SMTP_TLS",
        value_enum,
        default_value = "none",
        global = true
    )]
    smtp_tls: SmtpTlsArg,

    /// Authenticate to the relay as this user, with the password in the environment variable
    /// WUJING_SMTP_PASSWORD (never a flag). Needs --smtp-tls starttls or tls.
    #[arg(long, env = "WUJING_SMTP_USER", global = true)]
    smtp_user: Option<String>,

    /// Also trust the CA certificates in this PEM file for the SMTP relay (a private CA); the
    /// system's trust store is used in any case.
    #[arg(long, env = "WUJING_SMTP_CA_FILE", global = true)]
    smtp_ca_file: Option<std::path::PathBuf>,

    /// The sender address of e-mails.
    #[arg(
        long,
        env = "WUJING_MAIL_FROM",
        global = true,
        default_value = "noreply@wujing.invalid"
    )]
    mail_from: String,

    /// Also append console messages to this file.
    #[arg(long, env = "WUJING_OUTBOX_FILE", global = true)]
    outbox_file: Option<std::path::PathBuf>,

    /// The CJK font for PDF forms (default: the usual Debian paths of fonts-wqy-microhei and
    /// fonts-noto-cjk).
    #[arg(long, env = "WUJING_CJK_FONT", global = true)]
    cjk_font: Option<std::path::PathBuf>,

    /// Staff sessions last this many hours.
    #[arg(
        long,
        env = "WUJING_SESSION_HOURS",
        default_value_t = 12,
        global = true
    )]
    session_hours: i64,

    /// Check-in opens this many minutes before an appointment.
    #[arg(
        long,
        env = "WUJING_CHECKIN_EARLY_MINUTES",
        default_value_t = 60,
        global = true
    )]
    checkin_early_minutes: i64,

    /// Check-in closes this many minutes after an appointment.
    #[arg(
        long,
        env = "WUJING_CHECKIN_LATE_MINUTES",
        default_value_t = 30,
        global = true
    )]
    checkin_late_minutes: i64,

    /// An "unsatisfied" alert nobody acknowledges within this many minutes is escalated.
    #[arg(
        long,
        env = "WUJING_ALERT_ESCALATION_MINUTES",
        default_value_t = 10,
        global = true
    )]
    alert_escalation_minutes: i64,

    /// A device with no heartbeat for this many minutes is silent: its alert pages the site's
    /// leaders (and is escalated like an "unsatisfied" alert).
    #[arg(
        long,
        env = "WUJING_DEVICE_SILENT_MINUTES",
        default_value_t = 5,
        global = true
    )]
    device_silent_minutes: i64,

    /// A called ticket is recalled at most this many times, then marked missed.
    #[arg(long, env = "WUJING_MAX_CALLS", default_value_t = 3, global = true)]
    max_calls: u32,

    /// Days after a visit that its booking and ticket keep the citizen's identity, name and
    /// phone; an hourly pass then erases them (docs/OPERATIONS.md).
    #[arg(
        long,
        env = "WUJING_RETENTION_DAYS",
        default_value_t = 90,
        global = true
    )]
    retention_days: u32,

    /// Days after check-in that an accommodation registration (issue 14 §3) keeps the guest's
    /// and host's personal data; the hourly pass then anonymises it. One year by default: the
    /// station's checks of late, overstaying and duplicate stays look back weeks, and a
    /// year covers a residence permit's renewal cycle (docs/OPERATIONS.md).
    #[arg(
        long,
        env = "WUJING_LODGING_RETENTION_DAYS",
        default_value_t = 365,
        global = true
    )]
    lodging_retention_days: u32,

    /// Days a document waits for collection before the citizen gets one reminder text (the
    /// hourly application sweep; RULES.md names no figure).
    #[arg(
        long,
        env = "WUJING_PICKUP_REMINDER_DAYS",
        default_value_t = 3,
        global = true
    )]
    pickup_reminder_days: u32,

    /// Days a document waits for collection before it goes back to the vault (its locker
    /// compartment freed; collected at a counter from then on).
    #[arg(
        long,
        env = "WUJING_UNCOLLECTED_DAYS",
        default_value_t = 30,
        global = true
    )]
    uncollected_days: u32,

    /// Days a 申请易 application's biometrics (photo, fingerprints, signature) are kept at most,
    /// whatever became of the application; a produced document's are deleted by the next
    /// hourly sweep (docs/KIOSK.md §7.7).
    #[arg(
        long,
        env = "WUJING_BIOMETRICS_RETENTION_DAYS",
        default_value_t = 60,
        global = true
    )]
    biometrics_retention_days: u32,

    /// Where citizens reach the portal (scheme and host, e.g. `https://crj.example.gov.cn`):
    /// the links in text messages point there.
    #[arg(
        long,
        env = "WUJING_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    public_url: String,

    /// The site (hall id) that accepts fully online applications (全程网办): its reviewers see
    /// them and its pickup locker is offered. The demo's main hall by default.
    #[arg(
        long,
        env = "WUJING_ONLINE_SITE",
        default_value = wujing_app::DEFAULT_ONLINE_SITE,
        global = true
    )]
    online_site: String,

    /// Who takes online payments: `simulated` (no real money: development and tests), `none`,
    /// or `auto`: simulated with the demo organisation, none otherwise (docs/OPERATIONS.md).
    #[arg(
        long,
        env = "WUJING_PAYMENT_PROVIDER",
        value_enum,
        default_value = "auto",
        global = true
    )]
    payment_provider: PaymentProviderArg,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database, load the demo organisation if it is empty, and serve HTTP.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "WUJING_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Seconds between sweeps that free expired holds and due seat returns.
        #[arg(long, env = "WUJING_SWEEP_SECONDS", default_value_t = 15)]
        sweep_seconds: u64,
        /// Do not load the demo organisation into an empty database.
        #[arg(long, env = "WUJING_NO_DEMO")]
        no_demo: bool,
        /// Take client addresses from X-Forwarded-For (only behind a proxy that sets it).
        #[arg(long, env = "WUJING_TRUST_FORWARDED_FOR")]
        trust_forwarded_for: bool,
        /// Run the clock as if it were this instant now (RFC 3339), for a training hall or a
        /// demonstration at opening time; never in production.
        #[arg(long, env = "WUJING_CLOCK_AT", hide = true)]
        clock_at: Option<chrono::DateTime<chrono::FixedOffset>>,
        /// Confirm bookings without a one-time code to the applicant's phone (load tests,
        /// deployments where every channel verifies identity otherwise).
        #[arg(long, env = "WUJING_NO_PHONE_CODE")]
        no_phone_code: bool,
        /// Mark cookies Secure (set when Wujing is reached over HTTPS).
        #[arg(long, env = "WUJING_SECURE_COOKIES")]
        secure_cookies: bool,
        /// Seconds a client has to send a request's line and headers (also the longest wait
        /// for the next request on a kept-alive connection); then the connection is closed.
        #[arg(long, env = "WUJING_HEADER_TIMEOUT_SECONDS", default_value_t = 10)]
        header_timeout_seconds: u64,
        /// Seconds a connection may go without a byte read or written before it is closed.
        #[arg(long, env = "WUJING_IDLE_TIMEOUT_SECONDS", default_value_t = 60)]
        idle_timeout_seconds: u64,
        /// The most connections served at once; more wait in the listen backlog.
        #[arg(long, env = "WUJING_MAX_CONNECTIONS", default_value_t = 2000)]
        max_connections: usize,
        /// Seconds a shutdown (SIGTERM, Ctrl-C) waits for in-flight requests and the message
        /// dispatcher's current send before exiting anyway.
        #[arg(long, env = "WUJING_SHUTDOWN_GRACE_SECONDS", default_value_t = 20)]
        shutdown_grace_seconds: u64,
        /// The most live listeners (/board/<hall>/events) of one board; more answer 503.
        #[arg(long, env = "WUJING_BOARD_LISTENERS_PER_BOARD", default_value_t = 200)]
        board_listeners_per_board: usize,
        /// The most live listeners of all boards together; more answer 503.
        #[arg(long, env = "WUJING_BOARD_LISTENERS", default_value_t = 2000)]
        board_listeners: usize,
        /// A bearer token that lets a metrics scraper read /metrics (that route only). Without
        /// it, /metrics is for signed-in administrators only.
        #[arg(long, env = "WUJING_METRICS_TOKEN", hide_env_values = true)]
        metrics_token: Option<String>,
        /// Append a signed checkpoint of the audit trail to this file at start and hourly
        /// (best on storage the database's owner cannot rewrite; docs/OPERATIONS.md).
        #[arg(long, env = "WUJING_AUDIT_CHECKPOINT_FILE")]
        audit_checkpoint_file: Option<std::path::PathBuf>,
    },
    /// Create a staff administrator (the first one, or another). The password is read from
    /// WUJING_ADMIN_PASSWORD or, if unset, from the first line of standard input.
    CreateAdmin {
        #[arg(long)]
        username: String,
        #[arg(long, default_value = "Administrator")]
        display_name: String,
    },
    /// The production centre's system clients (bearer tokens for its API).
    ProductionClient {
        #[command(subcommand)]
        command: ProductionClientCommand,
    },
    /// Channel gateways: the backends of the police–citizen app, WeChat and Weibo, which
    /// relay citizens' bookings with a bearer token; their bookings record that channel.
    GatewayClient {
        #[command(subcommand)]
        command: GatewayClientCommand,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Keys for sealing personal data at rest.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Write a consistent copy of the database to a new file while the server keeps serving
    /// (SQLite: `VACUUM INTO`; PostgreSQL: `pg_dump` custom format). Without the key file a
    /// backup's personal data cannot be read: keep the key file apart (docs/OPERATIONS.md).
    Backup {
        /// The new backup file (never replaced if it exists).
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Replace the database with a backup (stop the server first), then recount the seat
    /// counters and walk the audit chain; exit 1 if either fails.
    Restore {
        /// The backup file, as `wujing backup` wrote it.
        #[arg(long)]
        from: std::path::PathBuf,
    },
    /// Run an emulator of a kiosk's peripheral agent (docs/KIOSK.md §5) on a loopback address,
    /// answering from a script, for development, demos and tests. Needs no database.
    BridgeEmulator {
        /// Loopback address to listen on.
        #[arg(long, default_value = "127.0.0.1:47800")]
        listen: SocketAddr,
        /// A JSON script (`peripherals`, `answers` per operation, `origin`); the demo script
        /// when absent.
        #[arg(long)]
        script: Option<std::path::PathBuf>,
        /// Where `print` writes its PDFs (none: the machine has no printer).
        #[arg(long)]
        print_dir: Option<std::path::PathBuf>,
        /// The only page origin accepted (e.g. `http://127.0.0.1:8080`).
        #[arg(long)]
        origin: Option<String>,
    },
    /// Fill the database with a simulated year for the demo organisation (issue 18 §2): the
    /// demo organisation is loaded first if the database is empty; the year is the 365 days
    /// ending yesterday (or `--last-day`), deterministic for `--seed`.
    Simulate {
        /// Applications (served tickets) in the year.
        #[arg(long, default_value_t = 5_000_000)]
        applications: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The last simulated day (YYYY-MM-DD); yesterday by default.
        #[arg(long)]
        last_day: Option<chrono::NaiveDate>,
        /// Recount every slot and booking afterwards (`wujing doctor`'s invariant check).
        #[arg(long)]
        verify: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Roll every closed day not yet rolled into the statistics' roll-ups (the server does it
    /// every minute; run this after loading a database in bulk). Restartable: a day is rolled
    /// in one transaction with its watermark, so a killed run is resumed by the next.
    Rollup {
        /// Roll every day from this one (YYYY-MM-DD) again, replacing its figures: for rows
        /// written behind the job's back for days it had already rolled.
        #[arg(long)]
        from: Option<chrono::NaiveDate>,
    },
    /// Check the database, its migrations and the configuration, and say what is wrong.
    Doctor,
    /// Import registry records from a JSON-lines file (format: docs/IMPORT.md).
    Import {
        #[arg(value_enum)]
        kind: ImportKind,
        /// The JSON-lines file; `-` reads standard input.
        file: String,
    },
}

#[derive(Subcommand)]
enum ProductionClientCommand {
    /// Create a client and print its token once (only its hash is kept; audited).
    Create {
        /// 1 to 60 letters, digits, `.`, `-` or `_`.
        name: String,
    },
    /// Revoke a client by name: its token is refused from the next request on (audited).
    Revoke { name: String },
}

#[derive(Subcommand)]
enum GatewayClientCommand {
    /// Create a gateway's client and print its token once (only its hash is kept; audited).
    Create {
        /// The channel it relays for: `police_app`, `wechat` or `weibo`.
        #[arg(long)]
        channel: String,
        /// 1 to 60 letters, digits, `.`, `-` or `_`.
        name: String,
    },
    /// Revoke a client by name: its token is refused from the next request on (audited).
    Revoke { name: String },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk the hash chain and report the first edited, deleted or relinked entry (exit 1).
    Verify {
        /// Also check the chain against the checkpoints in this file (one JSON object per
        /// line, as `audit checkpoint` prints them): catches a trail cut back or rebuilt.
        #[arg(long)]
        checkpoints: Option<std::path::PathBuf>,
    },
    /// Print a signed checkpoint of the newest entry (one JSON line) to keep off the
    /// database, e.g. `wujing audit checkpoint >> /mnt/elsewhere/wujing-checkpoints`.
    Checkpoint,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Print a new random key entry `id:base64` to add to WUJING_DATA_KEYS or to the key
    /// file's `data` line (rotation).
    Generate {
        #[arg(long, default_value = "k1")]
        id: String,
    },
    /// Write a new key file with fresh keys at --keys-file (refuses to replace one).
    Init,
}

#[derive(Clone, Copy, ValueEnum)]
enum ImportKind {
    /// Population-register records (one person per line).
    Persons,
    /// Document-register records (one issued document per line).
    Documents,
    /// HK/Macao endorsements on record (one per line), read by 办证易's re-issue rules.
    Endorsements,
    /// A public-holiday schedule: `{"days": [{"date", "kind": "holiday"|"workday", "name"}]}`,
    /// the format of crates/domain/data/holidays-2026.json.
    Holidays,
}

impl BookingArgs {
    fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if !(1..=120).contains(&self.hold_minutes) {
            p.push(format!(
                "--hold-minutes is {}; it must be between 1 and 120 minutes",
                self.hold_minutes
            ));
        }
        if !(0..=7 * 24 * 60).contains(&self.return_delay_minutes) {
            p.push(format!(
                "--return-delay-minutes is {}; it must be between 0 and 10080 (a week)",
                self.return_delay_minutes
            ));
        }
        if self.release_hour > 23 {
            p.push(format!(
                "--release-hour is {}; it must be 0 to 23",
                self.release_hour
            ));
        }
        if self.lottery_window_hours > 24 * 30 {
            p.push(format!(
                "--lottery-window-hours is {}; at most 720 (30 days)",
                self.lottery_window_hours
            ));
        }
        if let Err(e) = wujing_app::crypto::Keyring::parse(&self.data_keys) {
            p.push(format!("WUJING_DATA_KEYS: {e}"));
        }
        if !(1..=3650).contains(&self.retention_days) {
            p.push(format!(
                "--retention-days is {}; it must be 1 to 3650",
                self.retention_days
            ));
        }
        if !(30..=3650).contains(&self.lodging_retention_days) {
            p.push(format!(
                "--lodging-retention-days is {}; it must be 30 to 3650",
                self.lodging_retention_days
            ));
        }
        if !(1..=365).contains(&self.biometrics_retention_days) {
            p.push(format!(
                "--biometrics-retention-days is {}; it must be 1 to 365",
                self.biometrics_retention_days
            ));
        }
        if !(1..=365).contains(&self.uncollected_days) {
            p.push(format!(
                "--uncollected-days is {}; it must be 1 to 365",
                self.uncollected_days
            ));
        }
        if !(1..self.uncollected_days.max(2)).contains(&self.pickup_reminder_days) {
            p.push(format!(
                "--pickup-reminder-days is {}; it must be at least 1 and less than --uncollected-days ({})",
                self.pickup_reminder_days, self.uncollected_days
            ));
        }
        let url = self.public_url.trim_end_matches('/');
        let host = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .unwrap_or("");
        if host.is_empty() || host.contains(['/', '?', '#', ' ']) {
            p.push(format!(
                "--public-url is {:?}; it must be http(s)://host[:port] without a path",
                self.public_url
            ));
        }
        if self.sms_gateway().is_some() && self.sms_secret.len() < 16 {
            p.push("WUJING_SMS_SECRET must be at least 16 characters when a gateway is set".into());
        }
        if self.smtp_user.is_some() && smtp_password().is_none() {
            p.push("--smtp-user is set but WUJING_SMTP_PASSWORD is not".into());
        }
        if let Err(e) = self.providers() {
            p.push(e);
        }
        if !(0..=24 * 60).contains(&self.checkin_early_minutes)
            || !(0..=24 * 60).contains(&self.checkin_late_minutes)
        {
            p.push(
                "--checkin-early-minutes and --checkin-late-minutes must be between 0 and 1440"
                    .into(),
            );
        }
        if !(1..=10).contains(&self.max_calls) {
            p.push(format!(
                "--max-calls is {}; it must be between 1 and 10",
                self.max_calls
            ));
        }
        if !(1..=24 * 30).contains(&self.session_hours) {
            p.push(format!(
                "--session-hours is {}; it must be between 1 and 720",
                self.session_hours
            ));
        }
        if !(1..=90).contains(&self.horizon_days) {
            p.push(format!(
                "--horizon-days is {}; it must be between 1 and 90",
                self.horizon_days
            ));
        }
        p
    }

    fn config(&self) -> Config {
        Config {
            hold_ttl: TimeDelta::minutes(self.hold_minutes),
            return_delay: TimeDelta::minutes(self.return_delay_minutes),
            horizon_days: self.horizon_days,
            limits: wujing_app::RateLimits {
                holds_per_address: self.limit_holds_per_address,
                confirms_per_identity: self.limit_confirms_per_identity,
                confirms_per_phone: self.limit_confirms_per_phone,
                confirms_per_address: self.limit_confirms_per_address,
                checks_per_identity: self.limit_checks_per_identity,
                checks_per_address: self.limit_checks_per_address,
                proofs_per_code: self.limit_proofs_per_code,
                proofs_per_address: self.limit_proofs_per_address,
            },
            release: wujing_app::ReleasePolicy {
                days_ahead: self.release_days_ahead,
                hour: self.release_hour,
                lottery_window_hours: self.lottery_window_hours,
            },
            auth: wujing_app::AuthConfig {
                session_ttl: TimeDelta::hours(self.session_hours),
                ..Default::default()
            },
            sms: match (self.sms_gateway(), &self.outbox_file) {
                (None, Some(f)) => wujing_app::notify::SmsConfig::ConsoleFile(f.clone()),
                _ => wujing_app::notify::SmsConfig::Console,
            },
            cjk_font: self.cjk_font.clone(),
            retention_days: self.retention_days,
            lodging_retention_days: self.lodging_retention_days,
            pickup_reminder_days: self.pickup_reminder_days,
            uncollected_days: self.uncollected_days,
            biometrics_retention_days: self.biometrics_retention_days,
            public_url: self.public_url.trim_end_matches('/').to_string(),
            online_site: self.online_site.clone(),
            device_silent_after: TimeDelta::minutes(self.device_silent_minutes.max(1)),
            hall: wujing_app::hall::HallRules {
                checkin_early: TimeDelta::minutes(self.checkin_early_minutes),
                checkin_late: TimeDelta::minutes(self.checkin_late_minutes),
                max_calls: self.max_calls,
                escalate_after: TimeDelta::minutes(self.alert_escalation_minutes.max(1)),
            },
            ..Config::default()
        }
    }
}

/// The SMTP password: from the environment only, so that it shows in no process list.
fn smtp_password() -> Option<String> {
    std::env::var("WUJING_SMTP_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
}

impl BookingArgs {
    fn sms_gateway(&self) -> Option<wujing_outbound::SmsGatewayConfig> {
        let url = self.sms_gateway_url.as_deref().filter(|u| !u.is_empty())?;
        Some(wujing_outbound::SmsGatewayConfig {
            url: url.to_string(),
            secret: self.sms_secret.clone(),
            ca_file: self.sms_ca_file.clone(),
        })
    }

    fn smtp_relay(&self) -> Option<wujing_outbound::SmtpConfig> {
        let server = self.smtp_server.as_deref().filter(|s| !s.is_empty())?;
        Some(wujing_outbound::SmtpConfig {
            server: server.to_string(),
            from: self.mail_from.clone(),
            tls: match self.smtp_tls {
                SmtpTlsArg::None => wujing_outbound::SmtpTls::None,
                SmtpTlsArg::Starttls => wujing_outbound::SmtpTls::StartTls,
                SmtpTlsArg::Tls => wujing_outbound::SmtpTls::Tls,
            },
            credentials: self
                .smtp_user
                .clone()
                .filter(|u| !u.is_empty())
                .map(|u| (u, smtp_password().unwrap_or_default())),
            ca_file: self.smtp_ca_file.clone(),
        })
    }

    /// The SMS and e-mail providers the flags name; `None`: the console.
    fn providers(&self) -> Result<Providers, String> {
        let mut p = Providers::default();
        if let Some(cfg) = self.sms_gateway() {
            let gateway = wujing_outbound::SmsGateway::new(&cfg)
                .map_err(|e| format!("text messages: {e}"))?;
            p.sms = Some(Arc::new(gateway));
        }
        if let Some(cfg) = self.smtp_relay() {
            let relay =
                wujing_outbound::SmtpRelay::new(&cfg).map_err(|e| format!("e-mail: {e}"))?;
            p.mail = Some(Arc::new(relay));
        }
        Ok(p)
    }

    /// The app over `store`, its messages wired to the configured providers.
    fn app(&self, store: DynStore, config: Config, clock: Clock) -> Result<App, String> {
        let providers = self.providers()?;
        let mut app = App::new(store, config, clock);
        if let Some(p) = providers.sms {
            app = app.with_sms_provider(p);
        }
        if let Some(p) = providers.mail {
            app = app.with_mail_provider(p);
        }
        Ok(app)
    }
}

/// The outbound adapters (crates/outbound) the flags configure.
#[derive(Default)]
struct Providers {
    sms: Option<Arc<dyn Provider>>,
    mail: Option<Arc<dyn Provider>>,
}

fn init_tracing(format: LogFormat, filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Pretty => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// The database URL with any password hidden, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

async fn open_with(url: &str, keys: Keys) -> Result<DynStore, String> {
    wujing_store::open(url, Arc::new(keys))
        .await
        .map_err(|e| format!("cannot open the database {}: {e}", redact(url)))
}

/// Whether a missing key file is made (commands that write) or is an error (commands that
/// only read: a fresh key could not open anything sealed before).
#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyFile {
    CreateIfMissing,
    MustExist,
}

/// The deployment's keys: the key file, with `WUJING_DATA_KEYS` in front.
async fn load_keys(cli: &Cli, mode: KeyFile) -> Result<Keys, String> {
    let path = &cli.keys_file;
    let keys = if path.exists() || mode == KeyFile::MustExist {
        Keys::read_file(path)?
    } else {
        // Entries already in the trail (a database from before the chain was keyed) keep
        // their plain hashes; the key file records where the keyed chain begins, outside the
        // reach of whoever owns the database.
        let probe = open_with(&cli.database_url, Keys::generate(0)).await?;
        let head = match probe.audit_chain().await {
            Ok((_, head)) => head.map_or(0, |(seq, _)| seq),
            Err(_) => 0,
        };
        drop(probe);
        let keys = Keys::generate(head);
        keys.write_new_file(path)?;
        tracing::warn!(
            file = %path.display(),
            "created a new key file: keep it outside the database and its backups; without it sealed data cannot be read"
        );
        keys
    };
    let extra = wujing_app::crypto::Keyring::parse(&cli.booking.data_keys)
        .map_err(|e| format!("WUJING_DATA_KEYS: {e}"))?;
    Ok(if extra.is_empty() {
        keys
    } else {
        keys.with_data_keys_first(&extra)
    })
}

async fn open_store(cli: &Cli, mode: KeyFile) -> Result<DynStore, String> {
    let keys = load_keys(cli, mode).await?;
    open_with(&cli.database_url, keys).await
}

/// `wujing bridge-emulator`: the script read (or the demo's), then served until interrupted.
async fn bridge_emulator(
    listen: SocketAddr,
    script: Option<&std::path::Path>,
    print_dir: &Option<std::path::PathBuf>,
    origin: &Option<String>,
) -> Result<(), String> {
    let mut s = match script {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            serde_json::from_str::<bridge::Script>(&text)
                .map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => bridge::Script::demo(),
    };
    s.print_dir = print_dir.clone();
    if origin.is_some() {
        s.origin = origin.clone();
    }
    bridge::run(listen, s).await
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format, &cli.log);
    let problems = cli.booking.problems();
    if !problems.is_empty() && !matches!(cli.command, Command::Doctor) {
        for p in problems {
            eprintln!("error: {p}");
        }
        return ExitCode::from(2);
    }
    let result = match &cli.command {
        Command::Serve {
            listen,
            sweep_seconds,
            no_demo,
            trust_forwarded_for,
            secure_cookies,
            no_phone_code,
            clock_at,
            header_timeout_seconds,
            idle_timeout_seconds,
            max_connections,
            shutdown_grace_seconds,
            board_listeners_per_board,
            board_listeners,
            metrics_token,
            audit_checkpoint_file,
        } => {
            let web = wujing_web::WebOptions {
                trust_forwarded_for: *trust_forwarded_for,
                secure_cookies: *secure_cookies,
                board_listeners_per_board: *board_listeners_per_board,
                board_listeners: *board_listeners,
                metrics_token: metrics_token.clone().filter(|t| !t.is_empty()),
                ..Default::default()
            };
            let bounds = wujing_web::ServeOptions {
                header_read_timeout: Duration::from_secs((*header_timeout_seconds).max(1)),
                idle_timeout: Duration::from_secs((*idle_timeout_seconds).max(1)),
                max_connections: *max_connections,
                shutdown_grace: Duration::from_secs(*shutdown_grace_seconds),
            };
            let clock = match clock_at {
                Some(at) => {
                    eprintln!("warning: the clock runs from {at} (--clock-at): not for production");
                    Clock::starting_at(at.to_utc())
                }
                None => Clock::system(),
            };
            serve(
                &cli,
                *listen,
                Upkeep {
                    sweep_seconds: *sweep_seconds,
                    audit_checkpoint_file: audit_checkpoint_file.clone(),
                },
                *no_demo,
                *no_phone_code,
                clock,
                Http { web, bounds },
            )
            .await
        }
        Command::Backup { to } => backup(&cli, to).await,
        Command::Restore { from } => return restore(&cli, from).await,
        Command::BridgeEmulator {
            listen,
            script,
            print_dir,
            origin,
        } => bridge_emulator(*listen, script.as_deref(), print_dir, origin).await,
        Command::Simulate {
            applications,
            seed,
            last_day,
            verify,
        } => simulate(&cli, *applications, *seed, *last_day, *verify).await,
        Command::Migrate => migrate(&cli).await,
        Command::Rollup { from } => rollup(&cli, *from).await,
        Command::Doctor => return doctor(&cli).await,
        Command::Import { kind, file } => import(&cli, *kind, file).await,
        Command::CreateAdmin {
            username,
            display_name,
        } => create_admin(&cli, username, display_name).await,
        Command::ProductionClient { command } => production_client(&cli, command).await,
        Command::GatewayClient { command } => gateway_client(&cli, command).await,
        Command::Audit {
            command: AuditCommand::Verify { checkpoints },
        } => return audit_verify(&cli, checkpoints.as_deref()).await,
        Command::Audit {
            command: AuditCommand::Checkpoint,
        } => audit_checkpoint(&cli).await,
        Command::Keys {
            command: KeysCommand::Generate { id },
        } => {
            println!("{}", wujing_app::crypto::Keyring::generate_entry(id));
            Ok(())
        }
        Command::Keys {
            command: KeysCommand::Init,
        } => load_keys(&cli, KeyFile::CreateIfMissing)
            .await
            .map(|_| println!("key file: {}", cli.keys_file.display())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `wujing simulate`: the demo organisation if the database is empty, then the year, with
/// progress on standard error and the totals and time at the end.
async fn simulate(
    cli: &Cli,
    applications: u64,
    seed: u64,
    last_day: Option<chrono::NaiveDate>,
    verify: bool,
) -> Result<(), String> {
    let app = migrated_app(cli, KeyFile::CreateIfMissing).await?;
    if app.is_empty().await.map_err(|e| e.to_string())? {
        app.load_demo().await.map_err(|e| e.to_string())?;
        app.mark_demo_organisation()
            .await
            .map_err(|e| e.to_string())?;
        app.set_demo_authority().await.map_err(|e| e.to_string())?;
    }
    let last_day = last_day.unwrap_or_else(|| app.clock.today() - chrono::TimeDelta::days(1));
    let started = std::time::Instant::now();
    let input = wujing_app::simulate::SimulateInput {
        applications,
        seed,
        last_day,
    };
    let r = app
        .simulate_year(&input, |r| {
            eprintln!(
                "… {} hall-days, {} tickets, {} bookings ({:.0} s)",
                r.hall_days,
                r.tickets,
                r.bookings,
                started.elapsed().as_secs_f64()
            );
        })
        .await
        .map_err(|e| e.message(true).to_string())?;
    println!(
        "Simulated {} to {} in {:.1} s: {} hall-days, {} slots, {} bookings ({} cancelled, {} no-shows), {} walk-ins, {} tickets, {} applications with {} lifecycle events, {} ratings, {} alerts.",
        r.from.map(|d| d.to_string()).unwrap_or_default(),
        r.to.map(|d| d.to_string()).unwrap_or_default(),
        started.elapsed().as_secs_f64(),
        r.hall_days, r.slots, r.bookings, r.cancelled, r.no_shows, r.walk_ins, r.tickets,
        r.applications, r.events, r.ratings, r.alerts
    );
    if verify {
        let report = app
            .verify_invariants()
            .await
            .map_err(|e| e.message(true).to_string())?;
        if !report.is_clean() {
            return Err(format!("invariants broken: {report:?}"));
        }
        println!("Invariants hold.");
    }
    Ok(())
}

async fn migrated_app(cli: &Cli, keys: KeyFile) -> Result<App, String> {
    let store = open_store(cli, keys).await?;
    store
        .migrate()
        .await
        .map_err(|e| format!("migration failed: {e}"))?;
    cli.booking
        .app(store, cli.booking.config(), Clock::system())
}

async fn create_admin(cli: &Cli, username: &str, display_name: &str) -> Result<(), String> {
    let password = match std::env::var("WUJING_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => p,
        _ => {
            eprintln!(
                "Password for {username} (at least {} characters), then Enter:",
                wujing_app::auth::MIN_PASSWORD_CHARS
            );
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|e| format!("cannot read the password: {e}"))?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    let app = migrated_app(cli, KeyFile::CreateIfMissing).await?;
    let input = wujing_app::NewStaffInput {
        username: username.to_string(),
        display_name: display_name.to_string(),
        password,
        roles: vec![wujing_domain::staff::RoleGrant {
            role: wujing_domain::staff::Role::Admin,
            hall: None,
        }],
        phone: None,
    };
    let v = app
        .create_staff(&wujing_app::Actor::cli(), &input)
        .await
        .map_err(|e| format!("{} ({})", e.message(true), e.code))?;
    println!(
        "Created administrator {} (id {}). Sign in at /staff/login.",
        v.username, v.id
    );
    Ok(())
}

async fn production_client(cli: &Cli, command: &ProductionClientCommand) -> Result<(), String> {
    let app = migrated_app(cli, KeyFile::CreateIfMissing).await?;
    let fail = |e: wujing_app::AppError| format!("{} ({})", e.message(true), e.code);
    match command {
        ProductionClientCommand::Create { name } => {
            let c = app
                .create_system_client_as(
                    &wujing_app::Actor::cli(),
                    name,
                    wujing_app::system_client_kind(None).map_err(fail)?,
                )
                .await
                .map_err(fail)?;
            // The token goes to standard output only, once: nothing logs it.
            eprintln!(
                "Created production centre client {} (id {}). Its token, shown only now:",
                c.name, c.id
            );
            println!("{}", c.token.unwrap_or_default());
        }
        ProductionClientCommand::Revoke { name } => {
            let id = app
                .system_client_id(name)
                .await
                .map_err(fail)?
                .ok_or_else(|| format!("no system client named {name}"))?;
            app.revoke_system_client_as(&wujing_app::Actor::cli(), id)
                .await
                .map_err(fail)?;
            println!("Revoked {name} (id {id}).");
        }
    }
    Ok(())
}

async fn gateway_client(cli: &Cli, command: &GatewayClientCommand) -> Result<(), String> {
    match command {
        GatewayClientCommand::Create { channel, name } => {
            let app = migrated_app(cli, KeyFile::CreateIfMissing).await?;
            let fail = |e: wujing_app::AppError| format!("{} ({})", e.message(true), e.code);
            let kind = wujing_app::system_client_kind(Some(channel)).map_err(fail)?;
            if kind == wujing_app::authz::PRODUCTION_CENTRE {
                return Err("a gateway's channel is police_app, wechat or weibo".into());
            }
            let c = app
                .create_system_client_as(&wujing_app::Actor::cli(), name, kind)
                .await
                .map_err(fail)?;
            eprintln!(
                "Created {kind} gateway client {} (id {}). Its token, shown only now:",
                c.name, c.id
            );
            println!("{}", c.token.unwrap_or_default());
            Ok(())
        }
        GatewayClientCommand::Revoke { name } => {
            production_client(cli, &ProductionClientCommand::Revoke { name: name.clone() }).await
        }
    }
}

/// Reads a checkpoint file: one JSON object per line, blank lines and `#` comments skipped.
fn read_checkpoints(path: &std::path::Path) -> Result<Vec<wujing_app::Checkpoint>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the checkpoints {}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| format!("{} line {}: not a checkpoint: {e}", path.display(), i + 1))
        })
        .collect()
}

/// Appends one checkpoint line to `file` (created when missing).
async fn append_checkpoint(app: &App, file: &std::path::Path) -> Result<(), String> {
    use std::io::Write;
    let cp = app
        .audit_checkpoint()
        .await
        .map_err(|e| e.message(true).to_string())?;
    let line = serde_json::to_string(&cp).map_err(|e| e.to_string())? + "\n";
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .and_then(|mut f| f.write_all(line.as_bytes()).and_then(|()| f.sync_all()))
        .map_err(|e| e.to_string())
}

async fn audit_checkpoint(cli: &Cli) -> Result<(), String> {
    let app = migrated_app(cli, KeyFile::MustExist).await?;
    let cp = app
        .audit_checkpoint()
        .await
        .map_err(|e| e.message(true).to_string())?;
    println!("{}", serde_json::to_string(&cp).map_err(|e| e.to_string())?);
    Ok(())
}

async fn audit_verify(cli: &Cli, checkpoints: Option<&std::path::Path>) -> ExitCode {
    let run = async {
        let cps = match checkpoints {
            Some(p) => read_checkpoints(p)?,
            None => vec![],
        };
        let app = migrated_app(cli, KeyFile::MustExist).await?;
        Ok::<_, String>((app, cps))
    };
    let (app, cps) = match run.await {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match app.audit_verify_with(&cps).await {
        Ok(Ok(n)) if cps.is_empty() => {
            println!("audit chain intact: {n} entries");
            ExitCode::SUCCESS
        }
        Ok(Ok(n)) => {
            println!(
                "audit chain intact: {n} entries; {} checkpoints match",
                cps.len()
            );
            ExitCode::SUCCESS
        }
        Ok(Err(b)) => {
            println!("audit chain BROKEN: {b}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {}", e.message(true));
            ExitCode::FAILURE
        }
    }
}

async fn backup(cli: &Cli, to: &std::path::Path) -> Result<(), String> {
    let (url, dest) = (cli.database_url.clone(), to.to_path_buf());
    let started = std::time::Instant::now();
    let bytes = tokio::task::spawn_blocking(move || wujing_store::backup::backup(&url, &dest))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    println!(
        "backup written: {} ({bytes} bytes, {:.1} s); restore it with the same key file ({})",
        to.display(),
        started.elapsed().as_secs_f64(),
        cli.keys_file.display()
    );
    Ok(())
}

/// Restores, then checks what was restored: the schema is one this build knows, every seat
/// counter equals its live holds, active bookings and pending returns, nobody holds two active
/// bookings, and the audit chain verifies under the key file's audit key.
async fn restore(cli: &Cli, from: &std::path::Path) -> ExitCode {
    let (url, src) = (cli.database_url.clone(), from.to_path_buf());
    let restored = tokio::task::spawn_blocking(move || wujing_store::backup::restore(&url, &src))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()));
    if let Err(e) = restored {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    println!(
        "restored {} into {}",
        from.display(),
        redact(&cli.database_url)
    );
    let app = match migrated_app(cli, KeyFile::MustExist).await {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut ok = true;
    match open_store(cli, KeyFile::MustExist).await {
        Ok(store) => match store.verify_invariants().await {
            Ok(r) if r.is_clean() => println!(
                "seat counters: {} slots recounted, none oversold or miscounted, no identity booked twice; {} active bookings",
                r.slots_checked, r.active_bookings
            ),
            Ok(r) => {
                ok = false;
                println!("seat counters WRONG: {r:?}");
            }
            Err(e) => {
                ok = false;
                println!("seat counters: cannot recount: {e}");
            }
        },
        Err(e) => {
            ok = false;
            println!("cannot open the restored database: {e}");
        }
    }
    match app.audit_verify().await {
        Ok(Ok(n)) => println!("audit chain intact: {n} entries"),
        Ok(Err(b)) => {
            ok = false;
            println!("audit chain BROKEN: {b}");
        }
        Err(e) => {
            ok = false;
            println!("audit chain: cannot verify: {}", e.message(true));
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

async fn migrate(cli: &Cli) -> Result<(), String> {
    let store = open_store(cli, KeyFile::CreateIfMissing).await?;
    let done = store
        .migrate()
        .await
        .map_err(|e| format!("migration failed: {e}"))?;
    if done.is_empty() {
        println!("{}: the schema is current", store.dialect());
    } else {
        println!("{}: applied migrations {done:?}", store.dialect());
    }
    Ok(())
}

/// `wujing rollup`: the statistics' roll-up job run to the end, once.
async fn rollup(cli: &Cli, from: Option<chrono::NaiveDate>) -> Result<(), String> {
    let store = open_store(cli, KeyFile::CreateIfMissing).await?;
    let status = store.migration_status().await.map_err(|e| e.to_string())?;
    if !status.is_current() {
        return Err("the database schema is not current: run `wujing migrate` first".into());
    }
    let app = cli
        .booking
        .app(store, cli.booking.config(), Clock::system())?;
    if let Some(from) = from {
        app.roll_up_again_from(from)
            .await
            .map_err(|e| e.to_string())?;
    }
    let started = std::time::Instant::now();
    let r = app.roll_up(None).await.map_err(|e| e.to_string())?;
    println!(
        "rolled {} source days in {:.1}s; {} s behind",
        r.days,
        started.elapsed().as_secs_f64(),
        r.lag_seconds
    );
    Ok(())
}

/// The payment provider `--payment-provider` names, wired into `app`. The simulated one
/// posts its notifications to this server's own listener `addr`, on a loopback address.
async fn with_payments(cli: &Cli, app: App, addr: SocketAddr) -> Result<App, String> {
    let simulated = match cli.booking.payment_provider {
        PaymentProviderArg::None => false,
        PaymentProviderArg::Simulated => true,
        PaymentProviderArg::Auto => app
            .is_demo_organisation()
            .await
            .map_err(|e| e.to_string())?,
    };
    if !simulated {
        return Ok(app);
    }
    let ip: std::net::IpAddr = match addr.ip() {
        std::net::IpAddr::V4(a) if a.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(a) if a.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    if !ip.is_loopback() {
        return Err(format!(
            "the simulated payment provider posts to this server on a loopback address, but it listens on {addr} only; listen on 127.0.0.1 or 0.0.0.0, or set --payment-provider none"
        ));
    }
    let base = format!("http://{}", SocketAddr::new(ip, addr.port()));
    let poster = wujing_outbound::loopback::LoopbackPoster::new()?;
    let app = app
        .enable_simulated_payments(&base, Arc::new(poster))
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "Online payment: the SIMULATED provider (模拟支付, no real money){}; --payment-provider none turns it off.",
        if cli.booking.payment_provider == PaymentProviderArg::Auto {
            ", because this is the demo organisation"
        } else {
            ""
        }
    );
    tracing::warn!("online payment goes through the simulated provider: never in production");
    Ok(app)
}

/// How HTTP is served: the router's options and the server loop's bounds.
struct Http {
    web: wujing_web::WebOptions,
    bounds: wujing_web::ServeOptions,
}

/// The background work of a server besides HTTP.
struct Upkeep {
    /// Seconds between sweeps.
    sweep_seconds: u64,
    /// Where hourly audit checkpoints go, if anywhere.
    audit_checkpoint_file: Option<std::path::PathBuf>,
}

async fn serve(
    cli: &Cli,
    listen: SocketAddr,
    upkeep: Upkeep,
    no_demo: bool,
    no_phone_code: bool,
    clock: Clock,
    http: Http,
) -> Result<(), String> {
    let Http { web, bounds } = http;
    // Signalled on SIGTERM: the background loops stop, the board's streams end.
    let closing = web.closing.clone();
    let Upkeep {
        sweep_seconds,
        audit_checkpoint_file,
    } = upkeep;
    let store = open_store(cli, KeyFile::CreateIfMissing).await?;
    let applied = store
        .migrate()
        .await
        .map_err(|e| format!("migration failed: {e}"))?;
    if !applied.is_empty() {
        tracing::info!(?applied, "migrations applied");
    }
    let status = store.migration_status().await.map_err(|e| e.to_string())?;
    if !status.unknown().is_empty() {
        return Err(format!(
            "the database has migrations {:?} that this build does not know: it was migrated by a newer Wujing; run that version (or upgrade this one)",
            status.unknown()
        ));
    }
    let config = Config {
        require_phone_code: !no_phone_code,
        ..cli.booking.config()
    };
    let app = cli.booking.app(store, config, clock)?;
    if !no_demo && app.is_empty().await.map_err(|e| e.to_string())? {
        let r = app.load_demo().await.map_err(|e| e.to_string())?;
        app.mark_demo_organisation()
            .await
            .map_err(|e| e.to_string())?;
        app.set_demo_authority().await.map_err(|e| e.to_string())?;
        println!(
            "Loaded the demo organisation: {} districts, {} halls, {} windows ({} sites, {} windows in all), {} registry persons, {} documents, {} seats, {} self-service machines.",
            r.districts, r.halls, r.windows, r.sites, r.site_windows, r.persons, r.documents, r.slots, r.devices
        );
        print_demo_hotels(r.hotels);
    }
    if !app.has_staff().await.map_err(|e| e.to_string())? {
        // No default password exists anywhere: the operator creates the first account.
        println!(
            "No staff account exists yet. Create the first administrator with\n  wujing create-admin --username admin\n(add the same --database-url / DATABASE_URL), then sign in at http://{listen}/staff/login"
        );
    }
    let created = app.generate_horizon().await.map_err(|e| e.to_string())?;
    tracing::info!(created, "seats generated up to the horizon");

    // Bound before the background work starts: the simulated payment provider posts its
    // notifications to this listener, on a loopback address.
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let app = with_payments(cli, app, addr).await?;

    // The sweeper frees expired holds and due seat returns; seats are generated ahead hourly.
    let sweeper = app.clone();
    let stop = closing.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(sweep_seconds.max(1)));
        let mut last_generation = std::time::Instant::now();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = stop.closed() => break,
            }
            match sweeper.sweep().await {
                Ok(r) if r.expired_holds + r.returned_seats > 0 => {
                    tracing::info!(
                        expired = r.expired_holds,
                        returned = r.returned_seats,
                        "sweep"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "sweep failed"),
            }
            if let Err(e) = sweeper.escalate_alerts().await {
                tracing::warn!(error = %e, "alert escalation failed");
            }
            if let Err(e) = sweeper.emulate_demo_machines().await {
                tracing::warn!(error = %e, "demo machines' heartbeats failed");
            }
            match sweeper.watch_devices().await {
                Ok(r) if r.silent + r.escalated > 0 => {
                    tracing::info!(silent = r.silent, escalated = r.escalated, "device watch")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "device watch failed"),
            }
            if let Err(e) = sweeper.run_due_draws().await {
                tracing::warn!(error = %e, "lottery draw failed");
            }
            // 办证易 re-issues left live by their kiosk: failed and their fees refunded (before
            // the refund pass, which retries a refund the provider failed).
            if let Err(e) = sweeper.sweep_reissues().await {
                tracing::warn!(error = %e, "re-issue sweep failed");
            }
            if let Err(e) = sweeper.process_due_refunds().await {
                tracing::warn!(error = %e, "refund pass failed");
            }
            if last_generation.elapsed() > Duration::from_secs(3600) {
                last_generation = std::time::Instant::now();
                if let Err(e) = sweeper.generate_horizon().await {
                    tracing::warn!(error = %e, "seat generation failed");
                }
                if let Err(e) = sweeper.enqueue_reminders().await {
                    tracing::warn!(error = %e, "reminders failed");
                }
            }
        }
    });

    // Hourly, from the start: erase the personal data of old visits, sweep the applications
    // (lapse, remind, return to the vault), and export a signed checkpoint of the audit trail
    // when asked to.
    let keeper = app.clone();
    let stop = closing.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = stop.closed() => break,
            }
            if let Err(e) = keeper.apply_retention().await {
                tracing::warn!(error = %e, "retention pass failed");
            }
            if let Err(e) = keeper.sweep_lodging().await {
                tracing::warn!(error = %e, "accommodation retention pass failed");
            }
            if let Err(e) = keeper.sweep_applications().await {
                tracing::warn!(error = %e, "application sweep failed");
            }
            if let Err(e) = keeper.sweep_online_applications().await {
                tracing::warn!(error = %e, "online application sweep failed");
            }
            if let Err(e) = keeper.sweep_biometrics().await {
                tracing::warn!(error = %e, "biometrics deletion pass failed");
            }
            if let Some(f) = &audit_checkpoint_file {
                if let Err(e) = append_checkpoint(&keeper, f).await {
                    tracing::warn!(error = %e, file = %f.display(), "audit checkpoint failed");
                }
            }
        }
    });

    // The statistics' roll-ups (docs/STATISTICS.md): every minute, the closed days not yet
    // rolled, a month of days per source at most per pass so that a pass stays short.
    let roller = app.clone();
    let stop = closing.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = stop.closed() => break,
            }
            match roller.roll_up(Some(31)).await {
                Ok(r) if r.days > 0 => {
                    tracing::info!(
                        days = r.days,
                        lag_seconds = r.lag_seconds,
                        "statistics rolled up"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "statistics roll-up failed"),
            }
        }
    });

    // The outbox dispatcher: every second, deliver what is due (retries wait their backoff).
    // On shutdown it stops between two messages and gives back the lease of the rest of its
    // batch, so that another app server sends them at once.
    let dispatcher = app.clone();
    let stop = closing.clone();
    let dispatching = tokio::spawn(async move {
        if let Err(e) = dispatcher.enqueue_reminders().await {
            tracing::warn!(error = %e, "reminders failed");
        }
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = stop.closed() => break,
            }
            match dispatcher.deliver_due_until(|| stop.is_closed()).await {
                Ok(r) if r.released > 0 => {
                    tracing::info!(
                        released = r.released,
                        "shutdown: undelivered messages given back"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "delivery pass failed"),
            }
        }
    });

    let database = match app.database_kind() {
        "sqlite" => format!(
            "SQLite file {}",
            cli.database_url
                .trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:")
        ),
        _ => format!("PostgreSQL {}", redact(&cli.database_url)),
    };
    println!("Wujing is serving on http://{addr} ({database})");
    println!("  Book: http://{addr}/   Staff: http://{addr}/staff/login   Board: http://{addr}/board/<hall>");
    println!("  API: http://{addr}/api/v1/halls   OpenAPI: http://{addr}/api/openapi.json");
    let router = wujing_web::router_with(app, web);
    let signal = closing.clone();
    let stopping = async move {
        shutdown().await;
        signal.close();
    };
    wujing_web::serve(listener, router, bounds, stopping)
        .await
        .map_err(|e| e.to_string())?;
    // Requests are done (or dropped after the grace); the dispatcher's send in flight too.
    if tokio::time::timeout(bounds.shutdown_grace, dispatching)
        .await
        .is_err()
    {
        tracing::warn!("shutdown: the message dispatcher did not stop within the grace period");
    }
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: no new connections; finishing requests in flight");
}

async fn import(cli: &Cli, kind: ImportKind, file: &str) -> Result<(), String> {
    let text = if file == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| format!("cannot read standard input: {e}"))?
    } else {
        std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?
    };
    let store = open_store(cli, KeyFile::CreateIfMissing).await?;
    let status = store.migration_status().await.map_err(|e| e.to_string())?;
    if !status.is_current() {
        return Err("the database schema is not current: run `wujing migrate` first".into());
    }
    let app = cli
        .booking
        .app(store, cli.booking.config(), Clock::system())?;
    let outcome = match kind {
        ImportKind::Persons => app.import_persons(&text).await,
        ImportKind::Documents => app.import_documents(&text).await,
        ImportKind::Endorsements => app.import_endorsements(&text).await,
        ImportKind::Holidays => app.import_holidays(&text).await,
    }
    .map_err(|e| e.to_string())?;
    match outcome {
        ImportOutcome::Imported(n) => {
            println!("imported {n} records from {file}");
            Ok(())
        }
        ImportOutcome::Rejected(errors) => {
            for e in &errors {
                eprintln!("{file}: {e}");
            }
            Err(format!(
                "{} bad lines in {file}; nothing was imported",
                errors.len()
            ))
        }
    }
}

/// Prints one line per check and returns failure if any check failed.
async fn doctor(cli: &Cli) -> ExitCode {
    let mut failed = false;
    let mut report = |ok: bool, what: &str, detail: String| {
        println!("[{}] {what}: {detail}", if ok { " ok " } else { "FAIL" });
        failed |= !ok;
    };
    let problems = cli.booking.problems();
    report(
        problems.is_empty(),
        "configuration",
        if problems.is_empty() {
            format!(
                "holds last {} min, cancelled seats return after {} min, booking horizon {} days",
                cli.booking.hold_minutes,
                cli.booking.return_delay_minutes,
                cli.booking.horizon_days
            )
        } else {
            problems.join("; ")
        },
    );
    let url = &cli.database_url;
    let is_pg = url.starts_with("postgres://") || url.starts_with("postgresql://");
    if !is_pg {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if !std::path::Path::new(path).exists() {
            report(
                false,
                "database",
                format!("the SQLite file {path} does not exist; `wujing serve` or `wujing migrate` creates it (or set DATABASE_URL)"),
            );
            return ExitCode::FAILURE;
        }
    }
    let store = match open_store(cli, KeyFile::MustExist).await {
        Ok(s) => s,
        Err(e) => {
            report(false, "database", e);
            return ExitCode::FAILURE;
        }
    };
    match store.ping().await {
        Ok(()) => report(
            true,
            "database",
            format!("{} at {} answers", store.dialect(), redact(url)),
        ),
        Err(e) => {
            let hint = if is_pg {
                " — is PostgreSQL running, and are the host, port, user and database in DATABASE_URL right?"
            } else {
                ""
            };
            report(
                false,
                "database",
                format!("{} does not answer: {e}{hint}", redact(url)),
            );
            return ExitCode::FAILURE;
        }
    }
    match store.migration_status().await {
        Ok(m) if m.is_current() => report(true, "migrations", format!("current (applied {:?})", m.applied)),
        Ok(m) if !m.unknown().is_empty() => report(
            false,
            "migrations",
            format!("the database has migrations {:?} that this build does not know: it was migrated by a newer Wujing; upgrade this binary", m.unknown()),
        ),
        Ok(m) => report(
            false,
            "migrations",
            format!("pending {:?}: run `wujing migrate`", m.pending()),
        ),
        Err(e) => report(false, "migrations", format!("cannot read them: {e}")),
    }
    match store.halls().await {
        Ok(h) if h.is_empty() => report(
            false,
            "organisation",
            "no halls yet: `wujing serve` loads the demo organisation into an empty database"
                .into(),
        ),
        Ok(h) => report(
            true,
            "organisation",
            format!(
                "{} halls, {} windows",
                h.len(),
                h.iter().map(|x| x.window_count).sum::<u32>()
            ),
        ),
        Err(e) => report(false, "organisation", format!("cannot read halls: {e}")),
    }
    // Slots are generated from the declared holidays; a year without a schedule would open
    // halls on its public holidays.
    let today = chrono::Utc::now()
        .with_timezone(&wujing_domain::calendar::china_offset())
        .date_naive();
    let last = today + TimeDelta::days(i64::from(cli.booking.horizon_days));
    for year in chrono::Datelike::year(&today)..=chrono::Datelike::year(&last) {
        let (from, to) = (
            chrono::NaiveDate::from_ymd_opt(year, 1, 1).expect("valid date"),
            chrono::NaiveDate::from_ymd_opt(year, 12, 31).expect("valid date"),
        );
        match store.calendar_days(from, to).await {
            Ok(d) if d.is_empty() => report(
                false,
                "holidays",
                format!("no public-holiday schedule for {year}: halls would open on its holidays; load it with `wujing import holidays FILE`"),
            ),
            Ok(d) => report(true, "holidays", format!("{year}: {} declared days", d.len())),
            Err(e) => report(false, "holidays", format!("cannot read them: {e}")),
        }
    }
    // The key file must be the one this database was sealed with.
    let keys = store.keys();
    match store.secret("key_check", &keys.check_value()).await {
        Ok(v) if v == keys.check_value() => report(
            true,
            "keys",
            format!(
                "{} (data key {}) match this database",
                cli.keys_file.display(),
                keys.data.active_id().unwrap_or("?")
            ),
        ),
        Ok(_) => report(
            false,
            "keys",
            format!(
                "{} does not match this database: it was sealed with other keys",
                cli.keys_file.display()
            ),
        ),
        Err(e) => report(false, "keys", format!("cannot check them: {e}")),
    }
    // The audit trail must be intact: a break means someone edited the database by hand.
    match store.audit_chain().await {
        Ok((rows, head)) => match wujing_domain::audit::verify_chain(
            store.keys().chain_key(),
            &rows,
            head.as_ref().map(|(s, h)| (*s, h.as_str())),
        ) {
            Ok(n) => report(true, "audit trail", format!("{n} entries, chain intact")),
            Err(b) => report(false, "audit trail", format!("BROKEN: {b}")),
        },
        Err(e) => report(false, "audit trail", format!("cannot read it: {e}")),
    }
    // Online payment: the simulated provider accepts "payments" that move no money.
    let simulated = match cli.booking.payment_provider {
        PaymentProviderArg::Simulated => Some("--payment-provider simulated"),
        PaymentProviderArg::Auto => match store
            .secret(wujing_app::payments::simulated::DEMO_MARK, "no")
            .await
        {
            Ok(v) if v == "yes" => Some("--payment-provider auto with the demo organisation"),
            _ => None,
        },
        PaymentProviderArg::None => None,
    };
    match simulated {
        Some(why) => println!(
            "[warn] online payment: the SIMULATED provider is on ({why}): payments move no money; set --payment-provider none in production"
        ),
        None => report(true, "online payment", "no simulated provider".into()),
    }
    match wujing_forms::FormFont::load(cli.booking.cjk_font.as_deref()) {
        Ok(_) => report(true, "PDF forms", "a CJK font is installed".into()),
        // Not fatal: bookings and slips work without it.
        Err(e) => println!("[warn] PDF forms: {e}: slips work, the form link answers 503"),
    }
    match store.verify_invariants().await {
        Ok(r) if r.is_clean() => report(
            true,
            "seat counters",
            format!(
                "{} slots recounted, none oversold, no identity booked twice",
                r.slots_checked
            ),
        ),
        Ok(r) => report(false, "seat counters", format!("{r:?}")),
        Err(e) => report(false, "seat counters", format!("cannot recount: {e}")),
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The demo hotels' credentials (accommodation registration, docs/HOTELS.md): the small-hotel
/// page's code and password, and the API token of its property-management system.
fn print_demo_hotels(n: usize) {
    if n == 0 {
        return;
    }
    println!("Demo hotels (page /hotel: code and password; API: Authorization: Bearer <token>):");
    for (station, code, _, _, token, password) in wujing_app::lodging::DEMO_HOTELS {
        println!("  {code} @ {station}: password \"{password}\", token {token}");
    }
}
