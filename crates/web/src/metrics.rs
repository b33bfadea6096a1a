//! HTTP request counters and latency histograms in the Prometheus text format.
//!
//! Hand-rolled rather than a metrics crate: a handful of series, one mutex taken once per
//! request, and no extra compile time.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Latency bucket bounds in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct RouteStats {
    /// (method, status) → count; a route sees a handful of pairs, so a list is fastest.
    requests: Vec<(String, u16, u64)>,
    latency: Histogram,
}

#[derive(Default)]
struct Inner {
    routes: BTreeMap<String, RouteStats>,
}

#[derive(Default)]
pub struct HttpMetrics {
    inner: Mutex<Inner>,
}

impl HttpMetrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let Ok(mut m) = self.inner.lock() else { return };
        // Allocate only the first time a route, method or status is seen.
        if !m.routes.contains_key(route) {
            m.routes.insert(route.to_string(), RouteStats::default());
        }
        let r = m.routes.get_mut(route).expect("inserted above");
        match r
            .requests
            .iter_mut()
            .find(|(m, s, _)| *s == status && m == method)
        {
            Some(e) => e.2 += 1,
            None => r.requests.push((method.to_string(), status, 1)),
        }
        let h = &mut r.latency;
        h.count += 1;
        h.sum += secs;
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                h.counts[i] += 1;
            }
        }
    }

    pub fn render(&self, out: &mut String) {
        let Ok(m) = self.inner.lock() else { return };
        out.push_str(
            "# HELP wujing_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE wujing_http_requests_total counter\n");
        for (route, r) in &m.routes {
            let mut rows: Vec<_> = r.requests.iter().collect();
            rows.sort();
            for (method, status, n) in rows {
                let _ = writeln!(
                    out,
                    "wujing_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str(
            "# HELP wujing_http_request_duration_seconds HTTP request latency by route.\n",
        );
        out.push_str("# TYPE wujing_http_request_duration_seconds histogram\n");
        for (route, h) in m.routes.iter().map(|(k, r)| (k, &r.latency)) {
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "wujing_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "wujing_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "wujing_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "wujing_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
    }
}
