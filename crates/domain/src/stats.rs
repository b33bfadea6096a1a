//! Time distributions that can be summed (issue 18): waiting and service times are kept as
//! counts in fixed buckets, so the roll-ups of many hours, days, halls or businesses add up
//! bucket by bucket, and a percentile is read from the sum.
//!
//! Why fixed buckets: a percentile of a union cannot be computed from the parts' percentiles,
//! and keeping every duration is a scan of raw rows. Fixed edges make every roll-up row the same
//! shape, so a sum over rows is exact; only reading the percentile out of the summed histogram
//! is approximate. The edges are one minute apart up to 10 minutes (where the seed's promise of
//! a 30-minute visit and the leaders' "called within 10 minutes" live), then 2 minutes to 20,
//! 5 to 60, 15 to 120, then 120–180, 180–240 and "4 hours or more". Within a bucket the
//! percentile is interpolated linearly, so its error is at most the bucket's width: ≤ 1 minute
//! under 10 minutes, ≤ 2 under 20, ≤ 5 under 60 (docs/STATISTICS.md).

use chrono::{DateTime, NaiveDate, Utc};

/// The lower edge of each bucket, in seconds; the last bucket has no upper edge.
pub const EDGES_SECONDS: &[u32] = &[
    0, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 720, 840, 960, 1080, 1200, 1500, 1800,
    2100, 2400, 2700, 3000, 3300, 3600, 4500, 5400, 6300, 7200, 10800, 14400,
];

/// How many buckets a histogram has.
pub const BUCKETS: usize = EDGES_SECONDS.len();

/// The bucket a duration falls in (negative durations, from clocks set apart, count as zero).
pub fn bucket_of(seconds: i64) -> usize {
    let s = seconds.max(0);
    EDGES_SECONDS
        .iter()
        .rposition(|&e| i64::from(e) <= s)
        .unwrap_or(0)
}

/// The width of a bucket in seconds; the last one is read as if it were an hour wide.
pub fn width(bucket: usize) -> u32 {
    match (EDGES_SECONDS.get(bucket), EDGES_SECONDS.get(bucket + 1)) {
        (Some(lo), Some(hi)) => hi - lo,
        _ => 3600,
    }
}

/// The `p`-quantile (0 < p ≤ 1) of a histogram, in seconds, interpolated within its bucket;
/// `None` for an empty histogram.
pub fn percentile(counts: &[u64], p: f64) -> Option<f64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = p.clamp(0.0, 1.0) * total as f64;
    let mut below = 0u64;
    for (i, &n) in counts.iter().enumerate().take(BUCKETS) {
        if n == 0 {
            continue;
        }
        if (below + n) as f64 >= rank {
            let within = ((rank - below as f64) / n as f64).clamp(0.0, 1.0);
            return Some(f64::from(EDGES_SECONDS[i]) + within * f64::from(width(i)));
        }
        below += n;
    }
    Some(f64::from(EDGES_SECONDS[BUCKETS - 1]))
}

// The roll-ups' figures as plain data: the store reads them, the app and the pages show them.

/// The figures of `stats_day` for a set of rows (a day, a site, a business, a channel or a
/// period): counts, sums of seconds, money in fen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    pub bookings: i64,
    pub cancelled: i64,
    pub check_ins: i64,
    pub no_shows: i64,
    pub tickets: i64,
    pub walk_ins: i64,
    pub served: i64,
    pub missed: i64,
    pub wait_n: i64,
    pub wait_sum_s: i64,
    pub service_n: i64,
    pub service_sum_s: i64,
    pub acceptances: i64,
    pub supplements: i64,
    pub refusals: i64,
    pub collected: i64,
    pub to_ready_sum_s: i64,
    pub to_collect_sum_s: i64,
    pub overdue: i64,
    pub fees_fen: i64,
    pub refunds_fen: i64,
    pub rated_satisfied: i64,
    pub rated_basic: i64,
    pub rated_unsatisfied: i64,
    pub alerts: i64,
    pub alerts_acked: i64,
    pub ack_sum_s: i64,
}

impl Figures {
    /// The columns, in the order of [`Figures::values`] (also the exports' column keys).
    pub const COLUMNS: &'static [&'static str] = &[
        "bookings",
        "cancelled",
        "check_ins",
        "no_shows",
        "tickets",
        "walk_ins",
        "served",
        "missed",
        "wait_n",
        "wait_sum_s",
        "service_n",
        "service_sum_s",
        "acceptances",
        "supplements",
        "refusals",
        "collected",
        "to_ready_sum_s",
        "to_collect_sum_s",
        "overdue",
        "fees_fen",
        "refunds_fen",
        "rated_satisfied",
        "rated_basic",
        "rated_unsatisfied",
        "alerts",
        "alerts_acked",
        "ack_sum_s",
    ];

    pub fn values(&self) -> Vec<i64> {
        vec![
            self.bookings,
            self.cancelled,
            self.check_ins,
            self.no_shows,
            self.tickets,
            self.walk_ins,
            self.served,
            self.missed,
            self.wait_n,
            self.wait_sum_s,
            self.service_n,
            self.service_sum_s,
            self.acceptances,
            self.supplements,
            self.refusals,
            self.collected,
            self.to_ready_sum_s,
            self.to_collect_sum_s,
            self.overdue,
            self.fees_fen,
            self.refunds_fen,
            self.rated_satisfied,
            self.rated_basic,
            self.rated_unsatisfied,
            self.alerts,
            self.alerts_acked,
            self.ack_sum_s,
        ]
    }

    pub fn from_values(v: &[i64; 27]) -> Self {
        Figures {
            bookings: v[0],
            cancelled: v[1],
            check_ins: v[2],
            no_shows: v[3],
            tickets: v[4],
            walk_ins: v[5],
            served: v[6],
            missed: v[7],
            wait_n: v[8],
            wait_sum_s: v[9],
            service_n: v[10],
            service_sum_s: v[11],
            acceptances: v[12],
            supplements: v[13],
            refusals: v[14],
            collected: v[15],
            to_ready_sum_s: v[16],
            to_collect_sum_s: v[17],
            overdue: v[18],
            fees_fen: v[19],
            refunds_fen: v[20],
            rated_satisfied: v[21],
            rated_basic: v[22],
            rated_unsatisfied: v[23],
            alerts: v[24],
            alerts_acked: v[25],
            ack_sum_s: v[26],
        }
    }

    pub fn add(&mut self, o: &Figures) {
        self.bookings += o.bookings;
        self.cancelled += o.cancelled;
        self.check_ins += o.check_ins;
        self.no_shows += o.no_shows;
        self.tickets += o.tickets;
        self.walk_ins += o.walk_ins;
        self.served += o.served;
        self.missed += o.missed;
        self.wait_n += o.wait_n;
        self.wait_sum_s += o.wait_sum_s;
        self.service_n += o.service_n;
        self.service_sum_s += o.service_sum_s;
        self.acceptances += o.acceptances;
        self.supplements += o.supplements;
        self.refusals += o.refusals;
        self.collected += o.collected;
        self.to_ready_sum_s += o.to_ready_sum_s;
        self.to_collect_sum_s += o.to_collect_sum_s;
        self.overdue += o.overdue;
        self.fees_fen += o.fees_fen;
        self.refunds_fen += o.refunds_fen;
        self.rated_satisfied += o.rated_satisfied;
        self.rated_basic += o.rated_basic;
        self.rated_unsatisfied += o.rated_unsatisfied;
        self.alerts += o.alerts;
        self.alerts_acked += o.alerts_acked;
        self.ack_sum_s += o.ack_sum_s;
    }
}

/// The hour of the day's shape.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HourFigures {
    pub hour: u32,
    pub bookings: i64,
    pub tickets: i64,
    pub walk_ins: i64,
    pub served: i64,
    pub wait_n: i64,
    pub wait_sum_s: i64,
}

/// A histogram of one measure (`wait` or `service`) on one day, bucket counts in
/// `wujing_domain::stats` order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayHistogram {
    pub day: NaiveDate,
    pub measure: String,
    pub counts: Vec<u64>,
}

/// Seats of a pool over the period (one site, or all in scope).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolFigures {
    pub hall_id: String,
    pub pool: String,
    pub capacity: i64,
    pub taken: i64,
}

/// Machine uses of a kind in a mode over the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceFigures {
    pub kind: String,
    pub mode: String,
    pub uses: i64,
}

/// One officer's figures over a period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OfficerFigures {
    pub officer_id: i64,
    pub served: i64,
    pub service_sum_s: i64,
    pub acceptances: i64,
    pub rated_satisfied: i64,
    pub rated_basic: i64,
    pub rated_unsatisfied: i64,
}

/// An "unsatisfied" rating's alert with what the leader recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsatisfiedCase {
    pub alert_id: i64,
    pub hall_id: String,
    pub ticket_label: String,
    pub window_number: i32,
    /// JSON array of reason codes the citizen chose.
    pub reasons: String,
    pub raised_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_duration_in_order() {
        assert_eq!(bucket_of(-5), 0);
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(59), 0);
        assert_eq!(bucket_of(60), 1);
        assert_eq!(bucket_of(599), 9);
        assert_eq!(bucket_of(600), 10);
        assert_eq!(bucket_of(100_000), BUCKETS - 1);
        assert!(EDGES_SECONDS.windows(2).all(|w| w[0] < w[1]));
    }

    /// The percentile read from the histogram is within one bucket's width of the exact one.
    #[test]
    fn percentiles_are_within_a_bucket_of_the_exact_value() {
        let durations: Vec<i64> = (0..2000).map(|i| i * 37 % 5400).collect();
        let mut counts = vec![0u64; BUCKETS];
        for d in &durations {
            counts[bucket_of(*d)] += 1;
        }
        let mut sorted = durations.clone();
        sorted.sort_unstable();
        for p in [0.5, 0.9, 0.95] {
            let exact = sorted[((p * sorted.len() as f64).ceil() as usize).saturating_sub(1)];
            let got = percentile(&counts, p).unwrap();
            let w = width(bucket_of(exact));
            assert!(
                (got - exact as f64).abs() <= f64::from(w),
                "p{p}: {got} vs {exact} (width {w})"
            );
        }
        assert_eq!(percentile(&[0; BUCKETS], 0.5), None);
    }
}
