//! Waiting in a hall as a queue, and the capacity advisor built on it (issue 18 §3).
//!
//! The model is Erlang C (M/M/c: arrivals at random, service times spread exponentially, `c`
//! windows serving one queue), corrected for service times that are more or less variable than
//! exponential by the Allen–Cunneen approximation (M/G/c: the mean wait scales by
//! `(1 + cs²)/2`, `cs²` the squared coefficient of variation of the service time; arrivals stay
//! Poisson, `ca² = 1`). Within an hour the arrival rate is taken as constant and the queue as
//! settled (steady state); appointments arrive more evenly than at random, so the model errs on
//! the side of a longer wait. docs/CAPACITY.md states every assumption and how the
//! discrete-event simulation in [`crate::hallsim`] checks them.
//!
//! Every figure shown anywhere (the citizen's expected wait on the halls page, the leaders'
//! advice) comes from [`predict`], so the two cannot disagree.

/// The probability that an arrival has to wait, with `c` windows and an offered load of
/// `a` Erlangs (arrivals per minute × minutes per service); 1 when the load reaches the windows.
pub fn erlang_c(c: u32, a: f64) -> f64 {
    if c == 0 || a >= f64::from(c) {
        return 1.0;
    }
    if a <= 0.0 {
        return 0.0;
    }
    // Erlang B by its recursion (no factorials, stable for hundreds of windows), then C from B.
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (f64::from(k) + a * b);
    }
    let c = f64::from(c);
    c * b / (c - a * (1.0 - b))
}

/// The mean wait in minutes before a window calls, for `arrivals_per_minute` and
/// `service_minutes` per citizen (spread exponentially) at `c` windows; `None` when the queue
/// would grow without end.
pub fn mean_wait_minutes(c: u32, arrivals_per_minute: f64, service_minutes: f64) -> Option<f64> {
    predict(
        c,
        arrivals_per_minute,
        ServiceTime::exponential(service_minutes),
        Target::default().within_minutes,
    )
    .mean_wait_minutes
}

/// How long a service takes: its mean and its squared coefficient of variation
/// (variance / mean²; 1 for the exponential, 0 for a fixed duration).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServiceTime {
    pub mean_minutes: f64,
    pub cv2: f64,
}

impl ServiceTime {
    /// A service whose duration is spread exponentially (what plain Erlang C assumes).
    pub fn exponential(mean_minutes: f64) -> Self {
        ServiceTime {
            mean_minutes,
            cv2: 1.0,
        }
    }

    /// From observed durations summarised as count, sum and sum of squares (what one
    /// aggregate query returns); `None` without at least two positive observations.
    pub fn from_moments(count: u64, sum: f64, sum_of_squares: f64) -> Option<Self> {
        if count < 2 || sum <= 0.0 {
            return None;
        }
        let n = count as f64;
        let mean = sum / n;
        // The unbiased variance; rounding can make it a hair negative for equal durations.
        let var = ((sum_of_squares - n * mean * mean) / (n - 1.0)).max(0.0);
        Some(ServiceTime {
            mean_minutes: mean,
            cv2: var / (mean * mean),
        })
    }

    /// The service time of a mixed stream: each part weighted by its share of the arrivals.
    /// The mixture's second moment is the weighted sum of the parts' second moments, so a mix
    /// of a short and a long business is more variable than either. `None` when no part has
    /// weight.
    pub fn mix(parts: &[(f64, ServiceTime)]) -> Option<Self> {
        let total: f64 = parts.iter().map(|(w, _)| w.max(0.0)).sum();
        if total <= 0.0 {
            return None;
        }
        let (mut m1, mut m2) = (0.0, 0.0);
        for (w, s) in parts {
            let p = w.max(0.0) / total;
            m1 += p * s.mean_minutes;
            m2 += p * s.mean_minutes * s.mean_minutes * (1.0 + s.cv2);
        }
        if m1 <= 0.0 {
            return None;
        }
        Some(ServiceTime {
            mean_minutes: m1,
            cv2: (m2 / (m1 * m1) - 1.0).max(0.0),
        })
    }
}

/// What the hall promises: `share` of the citizens called within `within_minutes` of checking
/// in, and a visit (wait + service) of about `visit_minutes`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    pub within_minutes: f64,
    pub share: f64,
    pub visit_minutes: f64,
}

impl Default for Target {
    /// 80 % called within 10 minutes; the seed's promise of a visit of about 30 minutes.
    fn default() -> Self {
        Target {
            within_minutes: 10.0,
            share: 0.8,
            visit_minutes: 30.0,
        }
    }
}

/// What `c` windows give for a load: every figure the advisor and the halls page show.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    pub windows: u32,
    /// Offered load in Erlangs (busy windows on average).
    pub load: f64,
    /// Busy share of the windows (load / windows).
    pub utilisation: f64,
    /// The probability of having to wait at all.
    pub wait_probability: f64,
    /// The mean wait before the call; `None` when the queue grows without end.
    pub mean_wait_minutes: Option<f64>,
    /// The share called within the target's minutes (0 when the queue grows without end).
    pub called_within: f64,
    /// Mean wait plus mean service: the visit a citizen should expect.
    pub visit_minutes: Option<f64>,
}

/// The queue's figures with `c` windows, arrivals at `arrivals_per_minute` and `service`.
///
/// P(wait) is Erlang C. A waiting citizen's wait is taken as exponential with mean
/// `m/(c − a) · (1 + cs²)/2` (Allen–Cunneen), so P(wait > t) = P(wait) · e^(−t / that mean).
pub fn predict(
    c: u32,
    arrivals_per_minute: f64,
    service: ServiceTime,
    within_minutes: f64,
) -> Prediction {
    let m = service.mean_minutes.max(0.0);
    let a = arrivals_per_minute.max(0.0) * m;
    let utilisation = if c == 0 { 1.0 } else { a / f64::from(c) };
    let stable = c > 0 && a < f64::from(c);
    let pw = erlang_c(c, a);
    let (mean_wait, called_within) = if !stable {
        (None, 0.0)
    } else if a == 0.0 || m == 0.0 {
        (Some(0.0), 1.0)
    } else {
        let conditional = m / (f64::from(c) - a) * (1.0 + service.cv2) / 2.0;
        let within = if conditional > 0.0 {
            1.0 - pw * (-within_minutes.max(0.0) / conditional).exp()
        } else {
            1.0
        };
        (Some(pw * conditional), within)
    };
    Prediction {
        windows: c,
        load: a,
        utilisation,
        wait_probability: pw,
        mean_wait_minutes: mean_wait,
        called_within,
        visit_minutes: mean_wait.map(|w| w + m),
    }
}

/// The most windows the advisor will ever ask for: a hall with more is not a hall.
pub const MAX_WINDOWS: u32 = 200;

/// Whether a prediction meets the target: the share called in time, and the visit promise.
pub fn meets(p: &Prediction, target: &Target) -> bool {
    p.called_within >= target.share
        && p.visit_minutes
            .is_some_and(|v| v <= target.visit_minutes.max(0.0) || p.wait_probability == 0.0)
}

/// The fewest windows that meet the share-called-in-time target (the visit promise is
/// reported, not enforced: a service longer than the promise cannot meet it with any number
/// of windows). 0 without arrivals; [`MAX_WINDOWS`] at most.
pub fn windows_needed(arrivals_per_minute: f64, service: ServiceTime, target: &Target) -> u32 {
    if arrivals_per_minute <= 0.0 || service.mean_minutes <= 0.0 {
        return 0;
    }
    let a = arrivals_per_minute * service.mean_minutes;
    // Below the load no number of windows is stable; start just above it.
    let mut c = (a.floor() as u32).saturating_add(1).max(1);
    while c < MAX_WINDOWS {
        if predict(c, arrivals_per_minute, service, target.within_minutes).called_within
            >= target.share
        {
            return c;
        }
        c += 1;
    }
    MAX_WINDOWS
}

/// The most arrivals per hour `c` windows carry while meeting the target's share (by
/// bisection on the monotone service level).
pub fn hourly_capacity(c: u32, service: ServiceTime, target: &Target) -> f64 {
    if c == 0 || service.mean_minutes <= 0.0 {
        return 0.0;
    }
    let ok = |per_hour: f64| {
        predict(c, per_hour / 60.0, service, target.within_minutes).called_within >= target.share
    };
    let (mut lo, mut hi) = (0.0, f64::from(c) * 60.0 / service.mean_minutes);
    for _ in 0..60 {
        let mid = (lo + hi) / 2.0;
        if ok(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// One hour of a hall's day as planned: the arrivals booked (plus those expected to walk in),
/// their service time and the windows the schedule opens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HourPlan {
    /// The hour of the local day (9 for 09:00–10:00).
    pub hour: u32,
    pub arrivals: f64,
    pub service: ServiceTime,
    pub windows_planned: u32,
}

/// The advice for one hour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HourAdvice {
    pub hour: u32,
    pub arrivals: f64,
    pub service: ServiceTime,
    pub windows_planned: u32,
    pub windows_needed: u32,
    /// What the planned windows give.
    pub planned: Prediction,
    /// What the needed windows give.
    pub needed: Prediction,
    /// The arrivals per hour the planned windows carry at the target: what the capacity pools
    /// of that hour should add up to if no window is added.
    pub capacity_at_target: f64,
}

impl HourAdvice {
    /// Windows short (positive) or over (negative).
    pub fn shortfall(&self) -> i64 {
        i64::from(self.windows_needed) - i64::from(self.windows_planned)
    }
}

/// The advice for each planned hour of a day.
pub fn advise(hours: &[HourPlan], target: &Target) -> Vec<HourAdvice> {
    hours
        .iter()
        .map(|h| {
            let per_minute = h.arrivals.max(0.0) / 60.0;
            let needed = windows_needed(per_minute, h.service, target);
            HourAdvice {
                hour: h.hour,
                arrivals: h.arrivals,
                service: h.service,
                windows_planned: h.windows_planned,
                windows_needed: needed,
                planned: predict(
                    h.windows_planned,
                    per_minute,
                    h.service,
                    target.within_minutes,
                ),
                needed: predict(needed, per_minute, h.service, target.within_minutes),
                capacity_at_target: hourly_capacity(h.windows_planned, h.service, target),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_window_is_the_single_server_queue() {
        // M/M/1: P(wait) = ρ, Wq = ρ/(μ − λ).
        assert!((erlang_c(1, 0.5) - 0.5).abs() < 1e-12);
        let w = mean_wait_minutes(1, 0.05, 10.0).unwrap();
        assert!((w - 10.0).abs() < 1e-9, "{w}");
    }

    #[test]
    fn a_textbook_case() {
        // 10 agents, 8 Erlangs: P(wait) ≈ 0.409 (standard Erlang C tables).
        assert!(
            (erlang_c(10, 8.0) - 0.4092).abs() < 1e-3,
            "{}",
            erlang_c(10, 8.0)
        );
    }

    #[test]
    fn an_overloaded_hall_has_no_finite_wait_and_more_windows_wait_less() {
        assert_eq!(mean_wait_minutes(4, 1.0, 5.0), None);
        let few = mean_wait_minutes(5, 0.8, 5.0).unwrap();
        let more = mean_wait_minutes(8, 0.8, 5.0).unwrap();
        assert!(more < few, "{more} {few}");
        assert_eq!(mean_wait_minutes(3, 0.0, 5.0), Some(0.0));
    }

    #[test]
    fn the_service_level_matches_the_call_centre_textbook() {
        // 10 Erlangs (λ = 10/3 per minute, 3-minute services) at 12 windows: Erlang C tables
        // give P(wait) ≈ 0.449; the share answered within 20 s is 1 − C·e^(−(c−a)t/m) ≈ 0.640.
        let p = predict(12, 10.0 / 3.0, ServiceTime::exponential(3.0), 1.0 / 3.0);
        assert!((p.wait_probability - 0.4493).abs() < 2e-3, "{p:?}");
        assert!((p.called_within - 0.6402).abs() < 1e-3, "{p:?}");
    }

    #[test]
    fn a_fixed_duration_halves_the_wait_and_variability_lengthens_it() {
        let exp = predict(3, 0.5, ServiceTime::exponential(5.0), 10.0);
        let fixed = predict(
            3,
            0.5,
            ServiceTime {
                mean_minutes: 5.0,
                cv2: 0.0,
            },
            10.0,
        );
        let wild = predict(
            3,
            0.5,
            ServiceTime {
                mean_minutes: 5.0,
                cv2: 2.0,
            },
            10.0,
        );
        let (e, f, w) = (
            exp.mean_wait_minutes.unwrap(),
            fixed.mean_wait_minutes.unwrap(),
            wild.mean_wait_minutes.unwrap(),
        );
        assert!((f - e / 2.0).abs() < 1e-9 && w > e, "{e} {f} {w}");
        assert!(fixed.called_within > exp.called_within);
    }

    #[test]
    fn moments_and_mixtures() {
        // Durations 4, 6: mean 5, sample variance 2 → cs² = 0.08.
        let s = ServiceTime::from_moments(2, 10.0, 52.0).unwrap();
        assert!((s.mean_minutes - 5.0).abs() < 1e-12 && (s.cv2 - 0.08).abs() < 1e-12);
        assert_eq!(ServiceTime::from_moments(1, 5.0, 25.0), None);
        // Two fixed durations, 2 and 10 minutes, half each: mean 6, E[S²] = 52, cs² = 52/36 − 1.
        let fixed = |m| ServiceTime {
            mean_minutes: m,
            cv2: 0.0,
        };
        let mixed = ServiceTime::mix(&[(1.0, fixed(2.0)), (1.0, fixed(10.0))]).unwrap();
        assert!((mixed.mean_minutes - 6.0).abs() < 1e-12);
        assert!((mixed.cv2 - (52.0 / 36.0 - 1.0)).abs() < 1e-12);
        assert_eq!(ServiceTime::mix(&[(0.0, fixed(2.0))]), None);
    }

    #[test]
    fn the_windows_needed_are_the_fewest_that_meet_the_target() {
        let t = Target::default();
        let s = ServiceTime::exponential(12.0);
        for per_hour in [0.0, 5.0, 30.0, 60.0, 200.0, 600.0] {
            let per_minute = per_hour / 60.0;
            let c = windows_needed(per_minute, s, &t);
            if per_hour == 0.0 {
                assert_eq!(c, 0);
                continue;
            }
            assert!(predict(c, per_minute, s, 10.0).called_within >= t.share);
            assert!(predict(c - 1, per_minute, s, 10.0).called_within < t.share);
        }
        // The capacity at the target is what those windows carry and no more.
        let cap = hourly_capacity(6, s, &t);
        assert_eq!(windows_needed(cap * 0.999 / 60.0, s, &t), 6);
        assert_eq!(windows_needed(cap * 1.01 / 60.0, s, &t), 7);
    }

    #[test]
    fn advice_says_which_hours_are_short_and_which_over() {
        let s = ServiceTime::exponential(10.0);
        let plan = [
            HourPlan {
                hour: 9,
                arrivals: 60.0,
                service: s,
                windows_planned: 6,
            },
            HourPlan {
                hour: 10,
                arrivals: 12.0,
                service: s,
                windows_planned: 6,
            },
        ];
        let advice = advise(&plan, &Target::default());
        assert!(advice[0].shortfall() > 0, "{:?}", advice[0]);
        assert!(advice[0].capacity_at_target < 60.0);
        assert!(advice[1].shortfall() < 0, "{:?}", advice[1]);
        assert!(advice[1].capacity_at_target > 12.0);
        assert!(meets(&advice[1].planned, &Target::default()));
    }
}
