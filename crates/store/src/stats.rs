//! The statistics' roll-ups (issue 18, migration 35), written once for both dialects over the
//! shared [`AdminTx`]: rolling one closed local day of one source table into the roll-up tables,
//! and the reads the dashboard, the exports and the appraisal make of them (never of raw rows,
//! but for one officer's unsatisfied cases).
//!
//! Rolling a day is one transaction: the source's watermark is moved from the day before to the
//! day by a conditional update (so of two jobs exactly one rolls it, and a job killed halfway
//! left neither rows nor watermark), the source's columns of that day are set to zero, then the
//! day's raw rows are read, counted here and written by upserts that *set* the source's columns.
//! A rerun of a day therefore writes the same values: nothing is ever added twice. Each source
//! owns its columns (`bookings` the booking counts, `tickets` the waits, …); a fact is counted on
//! the day it belongs to, once it is final (docs/STATISTICS.md, "Late changes").

use crate::admin::{AdminTx, Arg};
use crate::sql::{shared, to_lite, Sql};
use crate::{Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeDelta, Timelike, Utc};
use std::collections::BTreeMap;
use wujing_domain::stats::{bucket_of, BUCKETS};
pub use wujing_domain::stats::{
    DayHistogram, DeviceFigures, Figures, HourFigures, OfficerFigures, PoolFigures, UnsatisfiedCase,
};

include!("stats_figures.rs");

/// The source tables, in the order the job rolls them.
pub const SOURCES: &[&str] = &[
    "bookings",
    "slots",
    "tickets",
    "payments",
    "ratings",
    "alerts",
    "applications",
    "device_usage",
];

/// What the figures are narrowed to. Empty `business`/`channel`: all of them; `halls: None`:
/// the whole organisation, else only these sites (an empty list reads nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsFilter {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub halls: Option<Vec<String>>,
    pub business: String,
    pub channel: String,
}

/// How [`StatsStore::stats_figures`] groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsGroup {
    Day,
    Hall,
    Business,
    Channel,
}

/// The roll-ups: the job's steps and the reads of the figures.
#[async_trait]
pub trait StatsStore: Send + Sync + 'static {
    /// Each source's watermark: the last local day rolled up.
    async fn stats_watermarks(&self) -> Result<Vec<(String, NaiveDate)>>;

    /// The first local day `source` has a fact for, if any (where a job without a watermark
    /// starts).
    async fn stats_first_day(&self, source: &str) -> Result<Option<NaiveDate>>;

    /// Rolls up `day` of `source` in one transaction when the source's watermark is the day
    /// before (or absent, for its first day): `false` when another job did or the watermark is
    /// elsewhere.
    async fn stats_roll_day(
        &self,
        source: &str,
        day: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<bool>;

    /// Moves every watermark back to the day before `from` (for a database loaded in bulk
    /// behind the job's back): the next runs roll those days again, replacing what was there.
    async fn stats_rewind(&self, from: NaiveDate, now: DateTime<Utc>) -> Result<()>;

    /// `stats_day` summed per group; the key is the day (`YYYY-MM-DD`), site, business or
    /// channel.
    async fn stats_figures(
        &self,
        f: &StatsFilter,
        group: StatsGroup,
    ) -> Result<Vec<(String, Figures)>>;

    /// `stats_hour` summed per hour of the day.
    async fn stats_hours(&self, f: &StatsFilter) -> Result<Vec<HourFigures>>;

    /// Waiting and service histograms per day.
    async fn stats_histograms(&self, f: &StatsFilter) -> Result<Vec<DayHistogram>>;

    /// Seats per site and pool over the period (business and channel do not apply).
    async fn stats_pools(&self, f: &StatsFilter) -> Result<Vec<PoolFigures>>;

    /// Machine uses per kind and mode over the period (business and channel do not apply).
    async fn stats_devices(&self, f: &StatsFilter) -> Result<Vec<DeviceFigures>>;

    /// Officers' figures over the period in the filter's sites (business and channel do not
    /// apply), one row per officer; `officer` narrows to one.
    async fn stats_officers(
        &self,
        f: &StatsFilter,
        officer: Option<i64>,
    ) -> Result<Vec<OfficerFigures>>;

    /// An officer's unsatisfied cases raised in `[from, to)`, newest first (at most 200).
    async fn unsatisfied_cases(
        &self,
        officer: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<UnsatisfiedCase>>;
}

/// Halls' local time (Asia/Shanghai, a fixed UTC+8).
fn local() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8")
}

/// The instant a local day starts.
pub fn day_start(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN)
        .and_local_timezone(local())
        .single()
        .expect("a fixed offset has no gaps")
        .with_timezone(&Utc)
}

/// The local day of an instant.
pub fn local_day(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&local()).date_naive()
}

// The reads' filter: a period, the sites in scope (a JSON array, NULL for all), a business and
// a channel ('' for all). Only the sites' clause differs between the dialects.
//
// On PostgreSQL the JSON list becomes an array by turning its brackets into braces (site ids
// are slugs: `wujing_domain::site::valid_site_id`), not through `jsonb_array_elements_text`:
// a set-returning subquery's size is unknown to the planner, which then chose a parallel scan
// of a whole roll-up table (133 ms for one site's year of the day cube), where the array,
// folded when the statement is planned with its values, gives an estimate and a bitmap scan of
// the primary key (19 ms).
macro_rules! pg_sites {
    () => {
        "hall_id = ANY(CAST(translate(CAST($3 AS TEXT), '[]', '{}') AS TEXT[]))"
    };
}
macro_rules! pg_scope {
    () => {
        concat!(" AND (CAST($3 AS TEXT) IS NULL OR ", pg_sites!(), ")")
    };
}
macro_rules! lite_scope {
    () => {
        " AND ($3 IS NULL OR hall_id IN (SELECT value FROM json_each($3)))"
    };
}
macro_rules! scoped {
    ($($name:ident = $head:expr, $tail:expr;)*) => {$(
        pub(crate) const $name: Sql = {
            shared! {
                PG = concat!($head, pg_scope!(), $tail);
                LITE = concat!($head, lite_scope!(), $tail);
            }
            Sql { pg: PG.pg, lite: LITE.lite }
        };
    )*};
}

macro_rules! period {
    () => {
        " WHERE day >= $1 AND day <= $2"
    };
}
macro_rules! bc {
    () => {
        " AND ($4 = '' OR business = $4) AND ($5 = '' OR channel = $5)"
    };
}
// The unused-looking second and third parameters keep every read's numbering the same.
macro_rules! no_bc {
    () => {
        " AND CAST($4 AS TEXT) IS NOT NULL AND CAST($5 AS TEXT) IS NOT NULL"
    };
}

scoped! {
    BY_DAY = concat!("SELECT CAST(day AS TEXT), ", sums!(), " FROM stats_day", period!()),
        concat!(bc!(), " GROUP BY day ORDER BY day");
    BY_HALL = concat!("SELECT hall_id, ", sums!(), " FROM stats_day", period!()),
        concat!(bc!(), " GROUP BY hall_id ORDER BY hall_id");
    BY_BUSINESS = concat!("SELECT business, ", sums!(), " FROM stats_day", period!()),
        concat!(bc!(), " GROUP BY business ORDER BY business");
    BY_CHANNEL = concat!("SELECT channel, ", sums!(), " FROM stats_day", period!()),
        concat!(bc!(), " GROUP BY channel ORDER BY channel");
    BY_HOUR = concat!("SELECT CAST(hour AS TEXT), CAST(SUM(bookings) AS TEXT), \
        CAST(SUM(tickets) AS TEXT), CAST(SUM(walk_ins) AS TEXT), CAST(SUM(served) AS TEXT), \
        CAST(SUM(wait_n) AS TEXT), CAST(SUM(wait_sum_s) AS TEXT) FROM stats_hour", period!()),
        concat!(bc!(), " GROUP BY hour ORDER BY hour");
    HISTOGRAMS = concat!("SELECT CAST(day AS TEXT), measure, CAST(bucket AS TEXT), \
        CAST(SUM(n) AS TEXT) FROM stats_times", period!()),
        concat!(bc!(), " GROUP BY day, measure, bucket ORDER BY day, measure, bucket");
    POOLS = concat!("SELECT hall_id, pool, CAST(SUM(capacity) AS TEXT), CAST(SUM(taken) AS TEXT) \
        FROM stats_slots", period!()),
        concat!(no_bc!(), " GROUP BY hall_id, pool ORDER BY hall_id, pool");
    DEVICES = concat!("SELECT kind, mode, CAST(SUM(uses) AS TEXT) FROM stats_devices", period!()),
        concat!(no_bc!(), " GROUP BY kind, mode ORDER BY kind, mode");
    OFFICERS = concat!("SELECT CAST(officer_id AS TEXT), CAST(SUM(served) AS TEXT), \
        CAST(SUM(service_sum_s) AS TEXT), CAST(SUM(acceptances) AS TEXT), \
        CAST(SUM(rated_satisfied) AS TEXT), CAST(SUM(rated_basic) AS TEXT), \
        CAST(SUM(rated_unsatisfied) AS TEXT) FROM stats_officers", period!()),
        concat!(no_bc!(), " AND (CAST($6 AS BIGINT) < 0 OR officer_id = $6) \
        GROUP BY officer_id ORDER BY officer_id");
}

// The reads of the coarser roll-ups (migration 39): one grain (`$6`), the sites always a JSON
// list (`["*"]` at a grain without sites), so that the sites narrow through the primary key.
macro_rules! cubed {
    ($($name:ident = $head:expr, $tail:expr;)*) => {$(
        pub(crate) const $name: Sql = {
            shared! {
                PG = concat!($head, " AND ", pg_sites!(), $tail);
                LITE = concat!($head, " AND hall_id IN (SELECT value FROM json_each($3))", $tail);
            }
            Sql { pg: PG.pg, lite: LITE.lite }
        };
    )*};
}
macro_rules! grain_period {
    () => {
        " WHERE grain = $6 AND day >= $1 AND day <= $2"
    };
}

cubed! {
    CUBE_BY_DAY = concat!("SELECT CAST(day AS TEXT), ", sums!(), " FROM stats_day_cube",
        grain_period!()), concat!(bc!(), " GROUP BY day ORDER BY day");
    CUBE_BY_HALL = concat!("SELECT hall_id, ", sums!(), " FROM stats_day_cube", grain_period!()),
        concat!(bc!(), " GROUP BY hall_id ORDER BY hall_id");
    CUBE_BY_BUSINESS = concat!("SELECT business, ", sums!(), " FROM stats_day_cube",
        grain_period!()), concat!(bc!(), " GROUP BY business ORDER BY business");
    CUBE_BY_CHANNEL = concat!("SELECT channel, ", sums!(), " FROM stats_day_cube",
        grain_period!()), concat!(bc!(), " GROUP BY channel ORDER BY channel");
    CUBE_BY_HOUR = concat!("SELECT CAST(hour AS TEXT), CAST(SUM(bookings) AS TEXT), \
        CAST(SUM(tickets) AS TEXT), CAST(SUM(walk_ins) AS TEXT), CAST(SUM(served) AS TEXT), \
        CAST(SUM(wait_n) AS TEXT), CAST(SUM(wait_sum_s) AS TEXT) FROM stats_hour_cube",
        grain_period!()), concat!(bc!(), " GROUP BY hour ORDER BY hour");
    CUBE_HISTOGRAMS = concat!("SELECT CAST(day AS TEXT), measure, CAST(bucket AS TEXT), \
        CAST(SUM(n) AS TEXT) FROM stats_times_cube", grain_period!()),
        concat!(bc!(), " GROUP BY day, measure, bucket ORDER BY day, measure, bucket");
}

// Rewriting a day of the coarser roll-ups from its base rows: `$2` the grain, `$3`..`$5` 1
// where the site, business and channel are kept (else they read '*').
macro_rules! kept {
    () => {
        "SELECT $2, CASE WHEN $3 = 1 THEN hall_id ELSE '*' END, \
         CASE WHEN $4 = 1 THEN business ELSE '*' END, CASE WHEN $5 = 1 THEN channel ELSE '*' END, day, "
    };
}

shared! {
    CUBE_CLEAR_DAY = "DELETE FROM stats_day_cube WHERE day = $1";
    CUBE_CLEAR_HOUR = "DELETE FROM stats_hour_cube WHERE day = $1";
    CUBE_CLEAR_TIMES = "DELETE FROM stats_times_cube WHERE day = $1";
    CUBE_PUT_DAY = concat!("INSERT INTO stats_day_cube (grain, hall_id, business, channel, day, ",
        columns!(), ") ", kept!(), plain_sums!(),
        " FROM stats_day WHERE day = $1 GROUP BY day, 2, 3, 4");
    CUBE_PUT_HOUR = concat!("INSERT INTO stats_hour_cube (grain, hall_id, business, channel, day, \
        hour, bookings, tickets, walk_ins, served, wait_n, wait_sum_s) ", kept!(), "hour, \
        SUM(bookings), SUM(tickets), SUM(walk_ins), SUM(served), SUM(wait_n), SUM(wait_sum_s) \
        FROM stats_hour WHERE day = $1 GROUP BY day, 2, 3, 4, hour");
    CUBE_PUT_TIMES = concat!("INSERT INTO stats_times_cube (grain, hall_id, business, channel, day, \
        measure, bucket, n) ", kept!(), "measure, bucket, SUM(n) \
        FROM stats_times WHERE day = $1 GROUP BY day, 2, 3, 4, measure, bucket");
    ALL_SITES = "SELECT id FROM halls ORDER BY id";
}

shared! {
    WATERMARKS = "SELECT source, CAST(day AS TEXT) FROM stats_watermarks ORDER BY source";
    /// The claim: only from the day before, so a day is rolled once per pass of the watermark.
    ADVANCE = "UPDATE stats_watermarks SET day = $2, rolled_at = $4 WHERE source = $1 AND day = $3";
    START = "INSERT INTO stats_watermarks (source, day, rolled_at) VALUES ($1, $2, $3) \
        ON CONFLICT (source) DO NOTHING";
    REWIND = "UPDATE stats_watermarks SET day = $1, rolled_at = $2 WHERE day > $1";

    FIRST_BOOKING_DAY = "SELECT CAST(MIN(day) AS TEXT) FROM slots s \
        WHERE EXISTS (SELECT 1 FROM bookings b WHERE b.slot_id = s.id)";
    FIRST_SLOT_DAY = "SELECT CAST(MIN(day) AS TEXT) FROM slots";
    FIRST_TICKET_DAY = "SELECT CAST(MIN(day) AS TEXT) FROM tickets";
    FIRST_PAYMENT_DAY = "SELECT CAST(MIN(day) AS TEXT) FROM payments";
    FIRST_RATING = "SELECT CAST(MIN(created_at) AS TEXT) FROM ratings";
    FIRST_ALERT = "SELECT CAST(MIN(created_at) AS TEXT) FROM alerts";
    FIRST_APPLICATION = "SELECT CAST(MIN(accepted_at) AS TEXT) FROM applications";
    FIRST_DUE = "SELECT CAST(MIN(ready_by) AS TEXT) FROM applications";
    FIRST_USAGE_DAY = "SELECT CAST(MIN(day) AS TEXT) FROM device_usage";

    ZERO_BOOKINGS = "UPDATE stats_day SET bookings = 0, cancelled = 0, check_ins = 0, no_shows = 0 \
        WHERE day = $1";
    ZERO_HOUR_BOOKINGS = "UPDATE stats_hour SET bookings = 0 WHERE day = $1";
    BOOKINGS_OF_DAY = "SELECT s.hall_id, b.business, b.channel, s.start_time, b.status, \
        CASE WHEN b.used_at IS NULL THEN '0' ELSE '1' END \
        FROM slots s JOIN bookings b ON b.slot_id = s.id WHERE s.day = $1";
    PUT_BOOKINGS = "INSERT INTO stats_day (day, hall_id, business, channel, bookings, cancelled, \
        check_ins, no_shows) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
        ON CONFLICT (day, hall_id, business, channel) DO UPDATE SET bookings = excluded.bookings, \
        cancelled = excluded.cancelled, check_ins = excluded.check_ins, \
        no_shows = excluded.no_shows";
    PUT_HOUR_BOOKINGS = "INSERT INTO stats_hour (day, hour, hall_id, business, channel, bookings) \
        VALUES ($1, $2, $3, $4, $5, $6) \
        ON CONFLICT (day, hour, hall_id, business, channel) DO UPDATE SET \
        bookings = excluded.bookings";

    CLEAR_SLOTS = "DELETE FROM stats_slots WHERE day = $1";
    PUT_SLOTS = "INSERT INTO stats_slots (day, hall_id, pool, capacity, taken) \
        SELECT day, hall_id, pool, SUM(capacity), SUM(taken) FROM slots WHERE day = $1 \
        GROUP BY day, hall_id, pool";

    CLEAR_DEVICES = "DELETE FROM stats_devices WHERE day = $1";
    PUT_DEVICES = "INSERT INTO stats_devices (day, hall_id, kind, mode, uses) \
        SELECT u.day, d.hall_id, d.kind, u.mode, SUM(u.uses) FROM device_usage u \
        JOIN devices d ON d.id = u.device_id WHERE u.day = $1 GROUP BY u.day, d.hall_id, d.kind, u.mode";

    ZERO_TICKETS = "UPDATE stats_day SET tickets = 0, walk_ins = 0, served = 0, missed = 0, \
        wait_n = 0, wait_sum_s = 0, service_n = 0, service_sum_s = 0 WHERE day = $1";
    ZERO_HOUR_TICKETS = "UPDATE stats_hour SET tickets = 0, walk_ins = 0, served = 0, wait_n = 0, \
        wait_sum_s = 0 WHERE day = $1";
    ZERO_OFFICER_TICKETS = "UPDATE stats_officers SET served = 0, service_sum_s = 0 WHERE day = $1";
    CLEAR_TIMES = "DELETE FROM stats_times WHERE day = $1";
    TICKETS_OF_DAY = "SELECT hall_id, business, channel, kind, status, CAST(created_at AS TEXT), \
        CAST(called_at AS TEXT), CAST(finished_at AS TEXT), CAST(officer_id AS TEXT) \
        FROM tickets WHERE day = $1";
    PUT_TICKETS = "INSERT INTO stats_day (day, hall_id, business, channel, tickets, walk_ins, \
        served, missed, wait_n, wait_sum_s, service_n, service_sum_s) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
        ON CONFLICT (day, hall_id, business, channel) DO UPDATE SET tickets = excluded.tickets, \
        walk_ins = excluded.walk_ins, served = excluded.served, missed = excluded.missed, \
        wait_n = excluded.wait_n, wait_sum_s = excluded.wait_sum_s, \
        service_n = excluded.service_n, service_sum_s = excluded.service_sum_s";
    PUT_HOUR_TICKETS = "INSERT INTO stats_hour (day, hour, hall_id, business, channel, tickets, \
        walk_ins, served, wait_n, wait_sum_s) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
        ON CONFLICT (day, hour, hall_id, business, channel) DO UPDATE SET \
        tickets = excluded.tickets, walk_ins = excluded.walk_ins, served = excluded.served, \
        wait_n = excluded.wait_n, wait_sum_s = excluded.wait_sum_s";
    PUT_TIMES = "INSERT INTO stats_times (day, hall_id, business, channel, measure, bucket, n) \
        VALUES ($1, $2, $3, $4, $5, $6, $7)";
    PUT_OFFICER_TICKETS = "INSERT INTO stats_officers (day, officer_id, hall_id, served, \
        service_sum_s) VALUES ($1, $2, $3, $4, $5) \
        ON CONFLICT (officer_id, day, hall_id) DO UPDATE SET served = excluded.served, \
        service_sum_s = excluded.service_sum_s";

    ZERO_PAYMENTS = "UPDATE stats_day SET fees_fen = 0, refunds_fen = 0 WHERE day = $1";
    PAID_ON_DAY = "SELECT p.hall_id, t.business, t.channel, CAST(p.amount_yuan AS TEXT) \
        FROM payments p JOIN tickets t ON t.id = p.ticket_id WHERE p.day = $1";
    REFUNDED_IN = "SELECT p.hall_id, t.business, t.channel, CAST(p.amount_yuan AS TEXT) \
        FROM payments p JOIN tickets t ON t.id = p.ticket_id \
        WHERE p.refunded_at >= $1 AND p.refunded_at < $2";
    PUT_PAYMENTS = "INSERT INTO stats_day (day, hall_id, business, channel, fees_fen, refunds_fen) \
        VALUES ($1, $2, $3, $4, $5, $6) \
        ON CONFLICT (day, hall_id, business, channel) DO UPDATE SET fees_fen = excluded.fees_fen, \
        refunds_fen = excluded.refunds_fen";

    ZERO_RATINGS = "UPDATE stats_day SET rated_satisfied = 0, rated_basic = 0, \
        rated_unsatisfied = 0 WHERE day = $1";
    ZERO_OFFICER_RATINGS = "UPDATE stats_officers SET rated_satisfied = 0, rated_basic = 0, \
        rated_unsatisfied = 0 WHERE day = $1";
    RATINGS_IN = "SELECT r.hall_id, t.business, t.channel, r.score, CAST(r.officer_id AS TEXT) \
        FROM ratings r JOIN tickets t ON t.id = r.ticket_id \
        WHERE r.created_at >= $1 AND r.created_at < $2";
    PUT_RATINGS = "INSERT INTO stats_day (day, hall_id, business, channel, rated_satisfied, \
        rated_basic, rated_unsatisfied) VALUES ($1, $2, $3, $4, $5, $6, $7) \
        ON CONFLICT (day, hall_id, business, channel) DO UPDATE SET \
        rated_satisfied = excluded.rated_satisfied, rated_basic = excluded.rated_basic, \
        rated_unsatisfied = excluded.rated_unsatisfied";
    PUT_OFFICER_RATINGS = "INSERT INTO stats_officers (day, officer_id, hall_id, rated_satisfied, \
        rated_basic, rated_unsatisfied) VALUES ($1, $2, $3, $4, $5, $6) \
        ON CONFLICT (officer_id, day, hall_id) DO UPDATE SET \
        rated_satisfied = excluded.rated_satisfied, rated_basic = excluded.rated_basic, \
        rated_unsatisfied = excluded.rated_unsatisfied";

    ZERO_ALERTS = "UPDATE stats_day SET alerts = 0, alerts_acked = 0, ack_sum_s = 0 WHERE day = $1";
    ALERTS_RAISED_IN = "SELECT a.hall_id, t.business, t.channel, CAST(a.created_at AS TEXT), \
        CAST(a.created_at AS TEXT) FROM alerts a JOIN ratings r ON r.id = a.rating_id \
        JOIN tickets t ON t.id = r.ticket_id WHERE a.created_at >= $1 AND a.created_at < $2";
    ALERTS_ACKED_IN = "SELECT a.hall_id, t.business, t.channel, CAST(a.created_at AS TEXT), \
        CAST(a.acknowledged_at AS TEXT) FROM alerts a JOIN ratings r ON r.id = a.rating_id \
        JOIN tickets t ON t.id = r.ticket_id \
        WHERE a.acknowledged_at >= $1 AND a.acknowledged_at < $2";
    PUT_ALERTS = "INSERT INTO stats_day (day, hall_id, business, channel, alerts, alerts_acked, \
        ack_sum_s) VALUES ($1, $2, $3, $4, $5, $6, $7) \
        ON CONFLICT (day, hall_id, business, channel) DO UPDATE SET alerts = excluded.alerts, \
        alerts_acked = excluded.alerts_acked, ack_sum_s = excluded.ack_sum_s";

    ZERO_APPLICATIONS = "UPDATE stats_day SET acceptances = 0, supplements = 0, refusals = 0, \
        collected = 0, to_ready_sum_s = 0, to_collect_sum_s = 0, overdue = 0 WHERE day = $1";
    ZERO_OFFICER_APPLICATIONS = "UPDATE stats_officers SET acceptances = 0 WHERE day = $1";
    ACCEPTED_IN = "SELECT hall_id, business, channel, CAST(officer_id AS TEXT) FROM applications \
        WHERE accepted_at >= $1 AND accepted_at < $2";
    EVENTS_IN = "SELECT a.hall_id, a.business, a.channel, e.to_state, CAST(e.at AS TEXT), \
        CAST(a.accepted_at AS TEXT), \
        (SELECT CAST(MIN(r.at) AS TEXT) FROM application_events r \
            WHERE r.application_id = a.id AND r.to_state = 'ready_for_collection'), \
        (SELECT CAST(MIN(r.at) AS TEXT) FROM application_events r \
            WHERE r.application_id = a.id AND r.to_state = 'dispatched') \
        FROM application_events e JOIN applications a ON a.id = e.application_id \
        WHERE e.at >= $1 AND e.at < $2 \
        AND e.to_state IN ('pending_supplement', 'refused', 'collected')";
    DUE_ON = "SELECT a.hall_id, a.business, a.channel, \
        (SELECT CAST(MIN(r.at) AS TEXT) FROM application_events r \
            WHERE r.application_id = a.id AND r.to_state = 'ready_for_collection'), \
        (SELECT CAST(MIN(r.at) AS TEXT) FROM application_events r \
            WHERE r.application_id = a.id AND r.to_state = 'dispatched') \
        FROM applications a WHERE a.ready_by = $1 \
        AND a.status NOT IN ('refused', 'withdrawn', 'lapsed')";
    PUT_APPLICATIONS = "INSERT INTO stats_day (day, hall_id, business, channel, acceptances, \
        supplements, refusals, collected, to_ready_sum_s, to_collect_sum_s, overdue) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
        ON CONFLICT (day, hall_id, business, channel) DO UPDATE SET \
        acceptances = excluded.acceptances, supplements = excluded.supplements, \
        refusals = excluded.refusals, collected = excluded.collected, \
        to_ready_sum_s = excluded.to_ready_sum_s, to_collect_sum_s = excluded.to_collect_sum_s, \
        overdue = excluded.overdue";
    PUT_OFFICER_APPLICATIONS = "INSERT INTO stats_officers (day, officer_id, hall_id, acceptances) \
        VALUES ($1, $2, $3, $4) ON CONFLICT (officer_id, day, hall_id) DO UPDATE SET \
        acceptances = excluded.acceptances";

    CASES = "SELECT CAST(a.id AS TEXT), a.hall_id, a.ticket_label, CAST(a.window_number AS TEXT), \
        r.reasons, CAST(a.created_at AS TEXT), CAST(a.acknowledged_at AS TEXT), a.outcome \
        FROM alerts a JOIN ratings r ON r.id = a.rating_id \
        WHERE a.officer_id = $1 AND a.created_at >= $2 AND a.created_at < $3 \
        ORDER BY a.created_at DESC, a.id DESC LIMIT 200";
}

type Row = Vec<Option<String>>;

fn col(r: &Row, i: usize) -> String {
    r.get(i).cloned().flatten().unwrap_or_default()
}

fn opt(r: &Row, i: usize) -> Option<String> {
    r.get(i).cloned().flatten()
}

fn num(r: &Row, i: usize) -> Result<i64> {
    match opt(r, i) {
        None => Ok(0),
        Some(s) => s
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("statistics number {s}"))),
    }
}

fn day_of(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| StoreError::Corrupt(format!("day {s}")))
}

/// An instant as either dialect casts it to text: SQLite's milliseconds, PostgreSQL's
/// `timestamptz` text.
fn instant(s: &str) -> Result<DateTime<Utc>> {
    if let Ok(ms) = s.parse::<i64>() {
        return DateTime::from_timestamp_millis(ms)
            .ok_or_else(|| StoreError::Corrupt(format!("instant {s}")));
    }
    DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%#z")
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt(format!("instant {s}")))
}

fn opt_instant(r: &Row, i: usize) -> Result<Option<DateTime<Utc>>> {
    opt(r, i).map(|s| instant(&s)).transpose()
}

fn seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    (to - from).num_seconds().max(0)
}

pub(crate) async fn watermarks(tx: &mut impl AdminTx) -> Result<Vec<(String, NaiveDate)>> {
    tx.texts(WATERMARKS, &[])
        .await?
        .iter()
        .map(|r| Ok((col(r, 0), day_of(&col(r, 1))?)))
        .collect()
}

pub(crate) async fn first_day(tx: &mut impl AdminTx, source: &str) -> Result<Option<NaiveDate>> {
    let (by_day, by_instant): (&[Sql], &[Sql]) = match source {
        "bookings" => (&[FIRST_BOOKING_DAY], &[]),
        "slots" => (&[FIRST_SLOT_DAY], &[]),
        "tickets" => (&[FIRST_TICKET_DAY], &[]),
        "payments" => (&[FIRST_PAYMENT_DAY], &[]),
        "ratings" => (&[], &[FIRST_RATING]),
        "alerts" => (&[], &[FIRST_ALERT]),
        "applications" => (&[FIRST_DUE], &[FIRST_APPLICATION]),
        "device_usage" => (&[FIRST_USAGE_DAY], &[]),
        _ => return Err(StoreError::NotFound("statistics source")),
    };
    let mut first: Option<NaiveDate> = None;
    for sql in by_day {
        if let Some(s) = tx.texts(*sql, &[]).await?.first().and_then(|r| opt(r, 0)) {
            let d = day_of(&s)?;
            first = Some(first.map_or(d, |f| f.min(d)));
        }
    }
    for sql in by_instant {
        if let Some(s) = tx.texts(*sql, &[]).await?.first().and_then(|r| opt(r, 0)) {
            let d = local_day(instant(&s)?);
            first = Some(first.map_or(d, |f| f.min(d)));
        }
    }
    Ok(first)
}

pub(crate) async fn rewind(
    tx: &mut impl AdminTx,
    from: NaiveDate,
    now: DateTime<Utc>,
) -> Result<()> {
    let before = from.pred_opt().unwrap_or(from);
    tx.exec(REWIND, &[Arg::Day(before), Arg::At(now)]).await?;
    Ok(())
}

/// Site, business, channel.
type Key = (String, String, String);

fn key(r: &Row) -> Key {
    (col(r, 0), col(r, 1), col(r, 2))
}

/// Rolls `day` of `source` inside the caller's transaction (see the module's comment).
pub(crate) async fn roll_day(
    tx: &mut impl AdminTx,
    source: &str,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> Result<bool> {
    use Arg::*;
    if !SOURCES.contains(&source) {
        return Err(StoreError::NotFound("statistics source"));
    }
    let before = day.pred_opt().unwrap_or(day);
    let claimed = tx
        .exec(ADVANCE, &[Text(source), Day(day), Day(before), At(now)])
        .await?
        > 0
        || tx.exec(START, &[Text(source), Day(day), At(now)]).await? > 0;
    if !claimed {
        return Ok(false);
    }
    let (start, end) = (day_start(day), day_start(day + TimeDelta::days(1)));
    match source {
        "bookings" => roll_bookings(tx, day).await?,
        "slots" => {
            tx.exec(CLEAR_SLOTS, &[Day(day)]).await?;
            tx.exec(PUT_SLOTS, &[Day(day)]).await?;
        }
        "tickets" => roll_tickets(tx, day).await?,
        "payments" => {
            tx.exec(ZERO_PAYMENTS, &[Day(day)]).await?;
            let mut m: BTreeMap<Key, [i64; 2]> = BTreeMap::new();
            for r in tx.texts(PAID_ON_DAY, &[Day(day)]).await? {
                m.entry(key(&r)).or_default()[0] += num(&r, 3)? * 100;
            }
            for r in tx.texts(REFUNDED_IN, &[At(start), At(end)]).await? {
                m.entry(key(&r)).or_default()[1] += num(&r, 3)? * 100;
            }
            for ((h, b, c), v) in &m {
                tx.exec(
                    PUT_PAYMENTS,
                    &[Day(day), Text(h), Text(b), Text(c), Int(v[0]), Int(v[1])],
                )
                .await?;
            }
        }
        "ratings" => {
            tx.exec(ZERO_RATINGS, &[Day(day)]).await?;
            tx.exec(ZERO_OFFICER_RATINGS, &[Day(day)]).await?;
            let mut m: BTreeMap<Key, [i64; 3]> = BTreeMap::new();
            let mut o: BTreeMap<(i64, String), [i64; 3]> = BTreeMap::new();
            for r in tx.texts(RATINGS_IN, &[At(start), At(end)]).await? {
                let i = match col(&r, 3).as_str() {
                    "satisfied" => 0,
                    "basic" => 1,
                    _ => 2,
                };
                m.entry(key(&r)).or_default()[i] += 1;
                if opt(&r, 4).is_some() {
                    o.entry((num(&r, 4)?, col(&r, 0))).or_default()[i] += 1;
                }
            }
            for ((h, b, c), v) in &m {
                tx.exec(
                    PUT_RATINGS,
                    &[
                        Day(day),
                        Text(h),
                        Text(b),
                        Text(c),
                        Int(v[0]),
                        Int(v[1]),
                        Int(v[2]),
                    ],
                )
                .await?;
            }
            for ((id, h), v) in &o {
                tx.exec(
                    PUT_OFFICER_RATINGS,
                    &[Day(day), Int(*id), Text(h), Int(v[0]), Int(v[1]), Int(v[2])],
                )
                .await?;
            }
        }
        "alerts" => {
            tx.exec(ZERO_ALERTS, &[Day(day)]).await?;
            let mut m: BTreeMap<Key, [i64; 3]> = BTreeMap::new();
            for r in tx.texts(ALERTS_RAISED_IN, &[At(start), At(end)]).await? {
                m.entry(key(&r)).or_default()[0] += 1;
            }
            // An acknowledgement is a fact of the day it was made (it may come days after the
            // alert): the mean time to acknowledge of a period is over the acknowledgements in it.
            for r in tx.texts(ALERTS_ACKED_IN, &[At(start), At(end)]).await? {
                let (raised, acked) = (instant(&col(&r, 3))?, instant(&col(&r, 4))?);
                let v = m.entry(key(&r)).or_default();
                v[1] += 1;
                v[2] += seconds(raised, acked);
            }
            for ((h, b, c), v) in &m {
                tx.exec(
                    PUT_ALERTS,
                    &[
                        Day(day),
                        Text(h),
                        Text(b),
                        Text(c),
                        Int(v[0]),
                        Int(v[1]),
                        Int(v[2]),
                    ],
                )
                .await?;
            }
        }
        "applications" => roll_applications(tx, day, start, end).await?,
        "device_usage" => {
            tx.exec(CLEAR_DEVICES, &[Day(day)]).await?;
            tx.exec(PUT_DEVICES, &[Day(day)]).await?;
        }
        _ => unreachable!("checked above"),
    }
    refresh_cubes(tx, source, day).await?;
    Ok(true)
}

/// The coarser grains the cubes keep: which of site, business and channel each keeps.
const GRAINS: [(&str, bool, bool, bool); 7] = [
    ("", false, false, false),
    ("h", true, false, false),
    ("b", false, true, false),
    ("c", false, false, true),
    ("hb", true, true, false),
    ("hc", true, false, true),
    ("bc", false, true, true),
];

/// Rewrites `day` of the coarser roll-ups the source's base rows feed, inside the roll's
/// transaction: they are sums of the base rows, so rewriting them after any source's roll
/// leaves them equal to the base whatever order the sources run in.
async fn refresh_cubes(tx: &mut impl AdminTx, source: &str, day: NaiveDate) -> Result<()> {
    use Arg::*;
    let (base_day, hour, times) = match source {
        "bookings" => (true, true, false),
        "tickets" => (true, true, true),
        "payments" | "ratings" | "alerts" | "applications" => (true, false, false),
        _ => (false, false, false),
    };
    let tables = [
        (base_day, CUBE_CLEAR_DAY, CUBE_PUT_DAY),
        (hour, CUBE_CLEAR_HOUR, CUBE_PUT_HOUR),
        (times, CUBE_CLEAR_TIMES, CUBE_PUT_TIMES),
    ];
    for (wanted, clear, put) in tables {
        if !wanted {
            continue;
        }
        tx.exec(clear, &[Day(day)]).await?;
        for (grain, h, b, c) in GRAINS {
            let flag = |k: bool| Int4(i32::from(k));
            tx.exec(put, &[Day(day), Text(grain), flag(h), flag(b), flag(c)])
                .await?;
        }
    }
    Ok(())
}

/// The grain a read answers from: the dimensions it groups by or narrows to, `None` when it
/// needs all three (the base roll-ups then).
fn grain_of(f: &StatsFilter, by_hall: bool, by_business: bool, by_channel: bool) -> Option<String> {
    let h = by_hall || f.halls.is_some();
    let b = by_business || !f.business.is_empty();
    let c = by_channel || !f.channel.is_empty();
    if h && b && c {
        return None;
    }
    let mut g = String::new();
    for (k, on) in [('h', h), ('b', b), ('c', c)] {
        if on {
            g.push(k);
        }
    }
    Some(g)
}

/// The sites' JSON list a read of the cubes takes: the scope's, every site at a grain that
/// keeps sites without a scope, `["*"]` at a grain that does not keep them.
async fn cube_sites(tx: &mut impl AdminTx, f: &StatsFilter, grain: &str) -> Result<String> {
    if !grain.contains('h') {
        return Ok(r#"["*"]"#.into());
    }
    let list = match &f.halls {
        Some(h) => h.clone(),
        None => tx
            .texts(ALL_SITES, &[])
            .await?
            .iter()
            .map(|r| col(r, 0))
            .collect(),
    };
    Ok(serde_json::to_string(&list).expect("site ids serialise"))
}

/// A read at `grain` from the cubes, or from the base roll-ups when no coarser grain holds it.
async fn read_grain(
    tx: &mut impl AdminTx,
    f: &StatsFilter,
    grain: Option<String>,
    cube: Sql,
    base: Sql,
) -> Result<Vec<Row>> {
    match grain {
        Some(g) => {
            let sites = cube_sites(tx, f, &g).await?;
            Ok(tx.texts(cube, &cube_args(f, &sites, &g)).await?)
        }
        None => {
            let halls = halls_json(f);
            Ok(tx.texts(base, &filter_args(f, &halls, true)).await?)
        }
    }
}

/// The six arguments of a read of the cubes.
fn cube_args<'a>(f: &'a StatsFilter, sites: &'a str, grain: &'a str) -> [Arg<'a>; 6] {
    [
        Arg::Day(f.from),
        Arg::Day(f.to),
        Arg::OptText(Some(sites)),
        Arg::Text(f.business.as_str()),
        Arg::Text(f.channel.as_str()),
        Arg::Text(grain),
    ]
}

async fn roll_bookings(tx: &mut impl AdminTx, day: NaiveDate) -> Result<()> {
    use Arg::*;
    tx.exec(ZERO_BOOKINGS, &[Day(day)]).await?;
    tx.exec(ZERO_HOUR_BOOKINGS, &[Day(day)]).await?;
    // bookings (not cancelled), cancelled, checked in, no-shows
    let mut m: BTreeMap<Key, [i64; 4]> = BTreeMap::new();
    let mut hours: BTreeMap<(i32, Key), i64> = BTreeMap::new();
    for r in tx.texts(BOOKINGS_OF_DAY, &[Day(day)]).await? {
        let v = m.entry(key(&r)).or_default();
        if col(&r, 4) == "cancelled" {
            v[1] += 1;
            continue;
        }
        v[0] += 1;
        // The day is closed: an active booking never checked in is a no-show.
        if col(&r, 5) == "1" {
            v[2] += 1;
        } else {
            v[3] += 1;
        }
        let hour = col(&r, 3)
            .split(':')
            .next()
            .and_then(|h| h.parse::<i32>().ok())
            .filter(|h| (0..24).contains(h))
            .unwrap_or(0);
        *hours.entry((hour, key(&r))).or_default() += 1;
    }
    for ((h, b, c), v) in &m {
        tx.exec(
            PUT_BOOKINGS,
            &[
                Day(day),
                Text(h),
                Text(b),
                Text(c),
                Int(v[0]),
                Int(v[1]),
                Int(v[2]),
                Int(v[3]),
            ],
        )
        .await?;
    }
    for ((hour, (h, b, c)), n) in &hours {
        tx.exec(
            PUT_HOUR_BOOKINGS,
            &[Day(day), Int4(*hour), Text(h), Text(b), Text(c), Int(*n)],
        )
        .await?;
    }
    Ok(())
}

async fn roll_tickets(tx: &mut impl AdminTx, day: NaiveDate) -> Result<()> {
    use Arg::*;
    tx.exec(ZERO_TICKETS, &[Day(day)]).await?;
    tx.exec(ZERO_HOUR_TICKETS, &[Day(day)]).await?;
    tx.exec(ZERO_OFFICER_TICKETS, &[Day(day)]).await?;
    tx.exec(CLEAR_TIMES, &[Day(day)]).await?;
    // tickets, walk-ins, served, missed, wait n, wait sum, service n, service sum
    let mut m: BTreeMap<Key, [i64; 8]> = BTreeMap::new();
    // tickets, walk-ins, served, wait n, wait sum
    let mut hours: BTreeMap<(i32, Key), [i64; 5]> = BTreeMap::new();
    let mut times: BTreeMap<(Key, &'static str), [i64; BUCKETS]> = BTreeMap::new();
    let mut officers: BTreeMap<(i64, String), [i64; 2]> = BTreeMap::new();
    for r in tx.texts(TICKETS_OF_DAY, &[Day(day)]).await? {
        let k = key(&r);
        let created = instant(&col(&r, 5))?;
        let (called, finished) = (opt_instant(&r, 6)?, opt_instant(&r, 7)?);
        let hour = created.with_timezone(&local()).hour() as i32;
        let (walk_in, status) = (col(&r, 3) == "walk_in", col(&r, 4));
        let v = m.entry(k.clone()).or_default();
        let hv = hours.entry((hour, k.clone())).or_default();
        v[0] += 1;
        hv[0] += 1;
        if walk_in {
            v[1] += 1;
            hv[1] += 1;
        }
        if status == "missed" {
            v[3] += 1;
        }
        if let Some(c) = called {
            let w = seconds(created, c);
            v[4] += 1;
            v[5] += w;
            hv[3] += 1;
            hv[4] += w;
            times.entry((k.clone(), "wait")).or_insert([0; BUCKETS])[bucket_of(w)] += 1;
            if let (Some(f), "done") = (finished, status.as_str()) {
                let s = seconds(c, f);
                v[2] += 1;
                hv[2] += 1;
                v[6] += 1;
                v[7] += s;
                times.entry((k.clone(), "service")).or_insert([0; BUCKETS])[bucket_of(s)] += 1;
                if opt(&r, 8).is_some() {
                    let o = officers.entry((num(&r, 8)?, k.0.clone())).or_default();
                    o[0] += 1;
                    o[1] += s;
                }
            }
        }
    }
    for ((h, b, c), v) in &m {
        let mut args = vec![Day(day), Text(h), Text(b), Text(c)];
        args.extend(v.iter().map(|x| Int(*x)));
        tx.exec(PUT_TICKETS, &args).await?;
    }
    for ((hour, (h, b, c)), v) in &hours {
        let mut args = vec![Day(day), Int4(*hour), Text(h), Text(b), Text(c)];
        args.extend(v.iter().map(|x| Int(*x)));
        tx.exec(PUT_HOUR_TICKETS, &args).await?;
    }
    for (((h, b, c), measure), counts) in &times {
        for (bucket, n) in counts.iter().enumerate().filter(|(_, n)| **n > 0) {
            tx.exec(
                PUT_TIMES,
                &[
                    Day(day),
                    Text(h),
                    Text(b),
                    Text(c),
                    Text(measure),
                    Int4(bucket as i32),
                    Int(*n),
                ],
            )
            .await?;
        }
    }
    for ((id, h), v) in &officers {
        tx.exec(
            PUT_OFFICER_TICKETS,
            &[Day(day), Int(*id), Text(h), Int(v[0]), Int(v[1])],
        )
        .await?;
    }
    Ok(())
}

async fn roll_applications(
    tx: &mut impl AdminTx,
    day: NaiveDate,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<()> {
    use Arg::*;
    tx.exec(ZERO_APPLICATIONS, &[Day(day)]).await?;
    tx.exec(ZERO_OFFICER_APPLICATIONS, &[Day(day)]).await?;
    // acceptances, supplements, refusals, collected, to ready, to collect, overdue
    let mut m: BTreeMap<Key, [i64; 7]> = BTreeMap::new();
    let mut officers: BTreeMap<(i64, String), i64> = BTreeMap::new();
    for r in tx.texts(ACCEPTED_IN, &[At(start), At(end)]).await? {
        m.entry(key(&r)).or_default()[0] += 1;
        if opt(&r, 3).is_some() {
            *officers.entry((num(&r, 3)?, col(&r, 0))).or_default() += 1;
        }
    }
    for r in tx.texts(EVENTS_IN, &[At(start), At(end)]).await? {
        let v = m.entry(key(&r)).or_default();
        match col(&r, 3).as_str() {
            "pending_supplement" => v[1] += 1,
            "refused" => v[2] += 1,
            _ => {
                // Collected: the lifecycle is final; its durations count on this day. "Ready"
                // is the arrival at the collection site, or the dispatch of a mailed document.
                let (at, accepted) = (instant(&col(&r, 4))?, instant(&col(&r, 5))?);
                let ready = opt_instant(&r, 6)?.or(opt_instant(&r, 7)?).unwrap_or(at);
                v[3] += 1;
                v[4] += seconds(accepted, ready);
                v[5] += seconds(ready, at);
            }
        }
    }
    // Due this day and not ready by its end: overdue, whatever happens later.
    for r in tx.texts(DUE_ON, &[Day(day)]).await? {
        let ready = opt_instant(&r, 3)?.or(opt_instant(&r, 4)?);
        if ready.is_none_or(|t| t >= end) {
            m.entry(key(&r)).or_default()[6] += 1;
        }
    }
    for ((h, b, c), v) in &m {
        let mut args = vec![Day(day), Text(h), Text(b), Text(c)];
        args.extend(v.iter().map(|x| Int(*x)));
        tx.exec(PUT_APPLICATIONS, &args).await?;
    }
    for ((id, h), n) in &officers {
        tx.exec(
            PUT_OFFICER_APPLICATIONS,
            &[Day(day), Int(*id), Text(h), Int(*n)],
        )
        .await?;
    }
    Ok(())
}

/// The sites of a filter as the reads take them: a JSON array, or none for every site.
fn halls_json(f: &StatsFilter) -> Option<String> {
    f.halls
        .as_ref()
        .map(|h| serde_json::to_string(h).expect("site ids serialise"))
}

/// The five arguments every read of the roll-ups takes: the period, the sites, and the
/// business and channel (empty: all) where `narrowed`; the reads by pool, device and officer
/// are not kept per business and channel.
fn filter_args<'a>(f: &'a StatsFilter, halls: &'a Option<String>, narrowed: bool) -> [Arg<'a>; 5] {
    let (business, channel) = if narrowed {
        (f.business.as_str(), f.channel.as_str())
    } else {
        ("", "")
    };
    [
        Arg::Day(f.from),
        Arg::Day(f.to),
        Arg::OptText(halls.as_deref()),
        Arg::Text(business),
        Arg::Text(channel),
    ]
}

pub(crate) async fn figures(
    tx: &mut impl AdminTx,
    f: &StatsFilter,
    group: StatsGroup,
) -> Result<Vec<(String, Figures)>> {
    let grain = grain_of(
        f,
        group == StatsGroup::Hall,
        group == StatsGroup::Business,
        group == StatsGroup::Channel,
    );
    let (cube, base) = match group {
        StatsGroup::Day => (CUBE_BY_DAY, BY_DAY),
        StatsGroup::Hall => (CUBE_BY_HALL, BY_HALL),
        StatsGroup::Business => (CUBE_BY_BUSINESS, BY_BUSINESS),
        StatsGroup::Channel => (CUBE_BY_CHANNEL, BY_CHANNEL),
    };
    let rows = read_grain(tx, f, grain, cube, base).await?;
    rows.iter()
        .map(|r| {
            let mut v = [0i64; FIGURES];
            for (i, x) in v.iter_mut().enumerate() {
                *x = num(r, i + 1)?;
            }
            Ok((col(r, 0), Figures::from_values(&v)))
        })
        .collect()
}

pub(crate) async fn hours(tx: &mut impl AdminTx, f: &StatsFilter) -> Result<Vec<HourFigures>> {
    let rows = read_grain(
        tx,
        f,
        grain_of(f, false, false, false),
        CUBE_BY_HOUR,
        BY_HOUR,
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok(HourFigures {
                hour: num(r, 0)? as u32,
                bookings: num(r, 1)?,
                tickets: num(r, 2)?,
                walk_ins: num(r, 3)?,
                served: num(r, 4)?,
                wait_n: num(r, 5)?,
                wait_sum_s: num(r, 6)?,
            })
        })
        .collect()
}

pub(crate) async fn histograms(
    tx: &mut impl AdminTx,
    f: &StatsFilter,
) -> Result<Vec<DayHistogram>> {
    let rows = read_grain(
        tx,
        f,
        grain_of(f, false, false, false),
        CUBE_HISTOGRAMS,
        HISTOGRAMS,
    )
    .await?;
    let mut out: Vec<DayHistogram> = Vec::new();
    for r in rows {
        let (day, measure, bucket, n) =
            (day_of(&col(&r, 0))?, col(&r, 1), num(&r, 2)?, num(&r, 3)?);
        if out
            .last()
            .is_none_or(|h| h.day != day || h.measure != measure)
        {
            out.push(DayHistogram {
                day,
                measure,
                counts: vec![0; BUCKETS],
            });
        }
        if let Some(c) = out
            .last_mut()
            .and_then(|h| h.counts.get_mut(bucket as usize))
        {
            *c += n.max(0) as u64;
        }
    }
    Ok(out)
}

pub(crate) async fn pools(tx: &mut impl AdminTx, f: &StatsFilter) -> Result<Vec<PoolFigures>> {
    let halls = halls_json(f);
    let args = filter_args(f, &halls, false);
    tx.texts(POOLS, &args)
        .await?
        .iter()
        .map(|r| {
            Ok(PoolFigures {
                hall_id: col(r, 0),
                pool: col(r, 1),
                capacity: num(r, 2)?,
                taken: num(r, 3)?,
            })
        })
        .collect()
}

pub(crate) async fn devices(tx: &mut impl AdminTx, f: &StatsFilter) -> Result<Vec<DeviceFigures>> {
    let halls = halls_json(f);
    let args = filter_args(f, &halls, false);
    tx.texts(DEVICES, &args)
        .await?
        .iter()
        .map(|r| {
            Ok(DeviceFigures {
                kind: col(r, 0),
                mode: col(r, 1),
                uses: num(r, 2)?,
            })
        })
        .collect()
}

pub(crate) async fn officers(
    tx: &mut impl AdminTx,
    f: &StatsFilter,
    officer: Option<i64>,
) -> Result<Vec<OfficerFigures>> {
    let halls = halls_json(f);
    let [from, to, sites, business, channel] = filter_args(f, &halls, false);
    let args = [
        from,
        to,
        sites,
        business,
        channel,
        Arg::Int(officer.unwrap_or(-1)),
    ];
    tx.texts(OFFICERS, &args)
        .await?
        .iter()
        .map(|r| {
            Ok(OfficerFigures {
                officer_id: num(r, 0)?,
                served: num(r, 1)?,
                service_sum_s: num(r, 2)?,
                acceptances: num(r, 3)?,
                rated_satisfied: num(r, 4)?,
                rated_basic: num(r, 5)?,
                rated_unsatisfied: num(r, 6)?,
            })
        })
        .collect()
}

pub(crate) async fn cases(
    tx: &mut impl AdminTx,
    officer: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<UnsatisfiedCase>> {
    tx.texts(CASES, &[Arg::Int(officer), Arg::At(from), Arg::At(to)])
        .await?
        .iter()
        .map(|r| {
            Ok(UnsatisfiedCase {
                alert_id: num(r, 0)?,
                hall_id: col(r, 1),
                ticket_label: col(r, 2),
                window_number: num(r, 3)? as i32,
                reasons: col(r, 4),
                raised_at: instant(&col(r, 5))?,
                acknowledged_at: opt_instant(r, 6)?,
                outcome: opt(r, 7),
            })
        })
        .collect()
}
