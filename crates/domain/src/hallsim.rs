//! A discrete-event simulation of a hall day (issue 18 §3): tickets arriving hour by hour,
//! windows opening and closing by the hour, service times drawn per business, one FIFO queue.
//!
//! It exists to check the capacity advisor ([`crate::queueing`]) against something that makes
//! none of its assumptions (no steady state, no Allen–Cunneen, real hour boundaries), and to
//! give the year simulator realistic check-in, call and finish times. It is deterministic for
//! a seed: SplitMix64 ([`crate::lottery::SplitMix64`]) drives every draw.
//!
//! Arrivals of each business are a Poisson process whose rate is constant within an hour
//! (exponential gaps; when the hour ends the next gap is drawn at the next hour's rate, exact by
//! memorylessness). Service times are exponential when `cs² = 1`, fixed when `cs² = 0`, and
//! lognormal with the given mean and `cs²` otherwise. A window takes the next ticket when it is
//! free and open: window `w` is open in hour `h` when `w < windows(h)`; after the last planned
//! hour the last hour's windows stay open until the queue is empty (a hall serves everyone who
//! checked in). Taking tickets in arrival order, each by the window free first, is exactly FIFO
//! with one queue and `c` windows.

use crate::lottery::SplitMix64;
use crate::queueing::ServiceTime;

/// Uniform draws, exponential, normal and lognormal variates over SplitMix64.
#[derive(Debug, Clone)]
pub struct Draws(SplitMix64);

impl Draws {
    pub fn new(seed: u64) -> Self {
        Draws(SplitMix64::new(seed))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in (0, 1]: never 0, so a logarithm of it is finite.
    pub fn uniform(&mut self) -> f64 {
        ((self.0.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0.below(n)
    }

    pub fn exponential(&mut self, mean: f64) -> f64 {
        -mean * self.uniform().ln()
    }

    /// A standard normal variate (Box–Muller; the second of the pair is dropped, which keeps
    /// the sequence simple to recompute).
    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// A Poisson count with the given mean (Knuth's product for small means, a rounded normal
    /// above 30, where the difference does not matter for a simulated year).
    pub fn poisson(&mut self, mean: f64) -> u64 {
        if mean <= 0.0 {
            return 0;
        }
        if mean > 30.0 {
            return (mean + mean.sqrt() * self.normal()).round().max(0.0) as u64;
        }
        let limit = (-mean).exp();
        let (mut k, mut p) = (0u64, 1.0);
        loop {
            p *= self.uniform();
            if p <= limit {
                return k;
            }
            k += 1;
        }
    }

    /// A service duration with the given mean and squared coefficient of variation.
    pub fn service(&mut self, s: ServiceTime) -> f64 {
        let m = s.mean_minutes.max(0.0);
        if s.cv2 <= 0.0 {
            m
        } else if (s.cv2 - 1.0).abs() < 1e-12 {
            self.exponential(m)
        } else {
            // Lognormal: σ² = ln(1 + cs²), μ = ln m − σ²/2 gives mean m and variance cs²·m².
            let s2 = (1.0 + s.cv2).ln();
            (m.ln() - s2 / 2.0 + s2.sqrt() * self.normal()).exp()
        }
    }
}

/// One hour of the simulated day.
#[derive(Debug, Clone, PartialEq)]
pub struct SimHour {
    /// Arrivals per hour of each business and its service time (index = business).
    pub arrivals: Vec<(f64, ServiceTime)>,
    /// Windows open during the hour.
    pub windows: u32,
}

/// One simulated ticket; times in minutes from the start of the first hour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimTicket {
    pub business: usize,
    pub arrival: f64,
    pub call: f64,
    pub finish: f64,
    pub window: u32,
}

impl SimTicket {
    pub fn wait(&self) -> f64 {
        self.call - self.arrival
    }
}

/// The earliest moment at or after `t` at which window `w` is open, or `None` if it never
/// opens again.
fn open_from(hours: &[SimHour], w: u32, t: f64) -> Option<f64> {
    let last = hours.len().checked_sub(1)?;
    let mut h = ((t / 60.0).floor().max(0.0) as usize).min(last);
    if t >= 60.0 * hours.len() as f64 {
        // Past the planned day: the last hour's windows serve the rest.
        return (w < hours[last].windows).then_some(t);
    }
    loop {
        if w < hours[h].windows {
            return Some(t.max(60.0 * h as f64));
        }
        if h == last {
            return None;
        }
        h += 1;
    }
}

/// Simulates the day: every ticket with its call and finish, in arrival order.
pub fn simulate_day(hours: &[SimHour], seed: u64) -> Vec<SimTicket> {
    let mut d = Draws::new(seed);
    let mut arrivals: Vec<(f64, usize)> = Vec::new();
    for (h, hour) in hours.iter().enumerate() {
        let (start, end) = (60.0 * h as f64, 60.0 * (h + 1) as f64);
        for (b, (rate, _)) in hour.arrivals.iter().enumerate() {
            if *rate <= 0.0 {
                continue;
            }
            let mut t = start + d.exponential(60.0 / rate);
            while t < end {
                arrivals.push((t, b));
                t += d.exponential(60.0 / rate);
            }
        }
    }
    serve(hours, arrivals, &mut d)
}

/// Serves given arrivals `(minute, business)` with the windows of `hours` (the queue part of
/// [`simulate_day`]); a business's service time is that of the hour the ticket arrives in.
pub fn serve(hours: &[SimHour], arrivals: Vec<(f64, usize)>, d: &mut Draws) -> Vec<SimTicket> {
    if hours.is_empty() {
        return Vec::new();
    }
    let windows: Vec<u32> = hours.iter().map(|h| h.windows).collect();
    let given: Vec<(f64, ServiceTime)> = arrivals
        .iter()
        .map(|&(t, b)| {
            let h = ((t.max(0.0) / 60.0) as usize).min(hours.len() - 1);
            (t, hours[h].arrivals[b].1)
        })
        .collect();
    let mut out = serve_given(&windows, &given, d);
    for t in &mut out {
        t.business = arrivals[t.business].1;
    }
    out
}

/// Serves arrivals `(minute, service time)` with `windows[h]` windows open in hour `h`, FIFO,
/// each by the window free first; the tickets come back in arrival order with `business` set
/// to the arrival's index in `arrivals` (so a caller that drew its own arrivals — the year
/// simulator — finds its records). Arrivals before minute 0 wait for the first hour.
pub fn serve_given(
    windows: &[u32],
    arrivals: &[(f64, ServiceTime)],
    d: &mut Draws,
) -> Vec<SimTicket> {
    let hours: Vec<SimHour> = windows
        .iter()
        .map(|&w| SimHour {
            arrivals: Vec::new(),
            windows: w,
        })
        .collect();
    if hours.is_empty() {
        return Vec::new();
    }
    let mut order: Vec<usize> = (0..arrivals.len()).collect();
    order.sort_by(|&x, &y| arrivals[x].0.total_cmp(&arrivals[y].0).then(x.cmp(&y)));
    let most = windows.iter().copied().max().unwrap_or(0);
    let mut free = vec![0.0f64; most as usize];
    let mut out = Vec::with_capacity(arrivals.len());
    for i in order {
        let (t, service) = arrivals[i];
        // The window that can call first; ties go to the lowest number.
        let best = (0..most)
            .filter_map(|w| open_from(&hours, w, t.max(free[w as usize])).map(|at| (at, w)))
            .min_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
        let Some((call, w)) = best else {
            // No window ever opens: the ticket is never called (a day planned with none).
            continue;
        };
        let finish = call + d.service(service);
        free[w as usize] = finish;
        out.push(SimTicket {
            business: i,
            arrival: t,
            call,
            finish,
            window: w,
        });
    }
    out
}

/// What a set of tickets saw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub tickets: usize,
    /// The share that waited at all (called later than they arrived).
    pub waited: f64,
    pub mean_wait: f64,
    /// The share called within the given minutes.
    pub called_within: f64,
    pub mean_visit: f64,
}

/// Summarises tickets; `within` minutes for the called-in-time share.
pub fn summarise<'a>(tickets: impl IntoIterator<Item = &'a SimTicket>, within: f64) -> Summary {
    let (mut n, mut waited, mut wait, mut ok, mut visit) = (0usize, 0usize, 0.0, 0usize, 0.0);
    for t in tickets {
        n += 1;
        let w = t.wait();
        if w > 1e-9 {
            waited += 1;
        }
        if w <= within {
            ok += 1;
        }
        wait += w;
        visit += t.finish - t.arrival;
    }
    let d = n.max(1) as f64;
    Summary {
        tickets: n,
        waited: waited as f64 / d,
        mean_wait: wait / d,
        called_within: ok as f64 / d,
        mean_visit: visit / d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_day_and_fifo_holds() {
        let hours = vec![
            SimHour {
                arrivals: vec![(30.0, ServiceTime::exponential(8.0))],
                windows: 4,
            };
            3
        ];
        let a = simulate_day(&hours, 7);
        assert_eq!(a, simulate_day(&hours, 7));
        assert_ne!(a, simulate_day(&hours, 8));
        // One queue, first come first called.
        assert!(a.windows(2).all(|p| p[0].call <= p[1].call + 1e-9));
        assert!(a.iter().all(|t| t.call >= t.arrival && t.finish >= t.call));
    }

    #[test]
    fn closed_windows_call_nobody() {
        let s = ServiceTime {
            mean_minutes: 10.0,
            cv2: 0.0,
        };
        let hours = vec![
            SimHour {
                arrivals: vec![(20.0, s)],
                windows: 0,
            },
            SimHour {
                arrivals: vec![(0.0, s)],
                windows: 2,
            },
        ];
        let day = simulate_day(&hours, 1);
        assert!(!day.is_empty());
        assert!(
            day.iter().all(|t| t.call >= 60.0 && t.window < 2),
            "{day:?}"
        );
    }

    #[test]
    fn draws_have_the_asked_moments() {
        let mut d = Draws::new(3);
        let s = ServiceTime {
            mean_minutes: 12.0,
            cv2: 0.5,
        };
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| d.service(s)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!((mean - 12.0).abs() < 0.1, "{mean}");
        assert!(
            (var / (mean * mean) - 0.5).abs() < 0.03,
            "{}",
            var / (mean * mean)
        );
        let p: u64 = (0..20_000).map(|_| d.poisson(4.0)).sum();
        assert!((p as f64 / 20_000.0 - 4.0).abs() < 0.05);
    }
}
