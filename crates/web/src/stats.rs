//! The leaders' statistics (issue 18): the dashboard `/staff/stats` with its charts drawn here as
//! SVG (no script, nothing fetched: the page's policy allows `'self'` only, and SVG attributes
//! are not styles), its exports `/staff/stats.csv` and `/staff/stats.xlsx`, and the officers'
//! appraisal `/staff/appraisal`. What is shown and to whom is decided in `wujing_app::stats`.

use crate::extract::{ClientAddr, PageContext, PageQuery};
use crate::pages::render;
use crate::{ApiResult, AppState};
use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::fmt::Write as _;
use wujing_app::stats::{Appraisal, Figures, StatsQuery, StatsView};

/// Escapes text for SVG and HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An axis value as written: whole numbers without decimals, a quarter of a round top (0.25,
/// 0.625, 62.5) exactly, never rounded to a value the grid line is not at.
fn tick(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A round number at or above `v`, for an axis's top.
fn nice_top(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * p >= v {
            return m * p;
        }
    }
    10.0 * p
}

const W: f64 = 640.0;
const H: f64 = 220.0;
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 12.0;

/// The frame of a chart: the value axis with four grid lines (quarters of a round top), and a label under some of the
/// categories (at most about eight, so they never overlap at 390 px).
fn frame(out: &mut String, title: &str, labels: &[String], top: f64) {
    let _ = write!(
        out,
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{t}\" \
         preserveAspectRatio=\"xMidYMid meet\"><title>{t}</title>",
        t = esc(title)
    );
    let plot_h = H - TOP - BOTTOM;
    for i in 0..=4 {
        let y = TOP + plot_h * (1.0 - f64::from(i) / 4.0);
        let v = top * f64::from(i) / 4.0;
        let _ = write!(
            out,
            "<line x1=\"{LEFT}\" x2=\"{W}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#d5dbe3\"/>\
             <text x=\"{x:.1}\" y=\"{ty:.1}\" font-size=\"13\" text-anchor=\"end\" fill=\"#4a5563\">{v}</text>",
            x = LEFT - 4.0,
            ty = y + 4.0,
            v = tick(v)
        );
    }
    let n = labels.len().max(1);
    let step = (n as f64 / 8.0).ceil() as usize;
    let slot = (W - LEFT) / n as f64;
    for (i, l) in labels
        .iter()
        .enumerate()
        .filter(|(i, _)| i % step.max(1) == 0)
    {
        let x = LEFT + slot * (i as f64 + 0.5);
        let _ = write!(
            out,
            "<text x=\"{x:.1}\" y=\"{y:.1}\" font-size=\"13\" text-anchor=\"middle\" fill=\"#4a5563\">{}</text>",
            esc(l),
            y = H - 8.0
        );
    }
}

/// Bars per category, the series side by side.
pub fn bars(title: &str, labels: &[String], series: &[(&str, &str, Vec<f64>)]) -> String {
    let max = series
        .iter()
        .flat_map(|s| s.2.iter().copied())
        .fold(0.0, f64::max);
    let top = nice_top(max);
    let mut out = String::new();
    frame(&mut out, title, labels, top);
    let slot = (W - LEFT) / labels.len().max(1) as f64;
    let bar = (slot * 0.8 / series.len().max(1) as f64).max(0.5);
    let plot_h = H - TOP - BOTTOM;
    for (si, (name, color, values)) in series.iter().enumerate() {
        for (i, v) in values.iter().enumerate() {
            let h = plot_h * v / top;
            let x = LEFT + slot * i as f64 + slot * 0.1 + bar * si as f64;
            let _ = write!(
                out,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar:.1}\" height=\"{h:.1}\" fill=\"{color}\">\
                 <title>{l} {n}: {v}</title></rect>",
                y = TOP + plot_h - h,
                l = esc(&labels[i]),
                n = esc(name)
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// Lines per series over the categories; a missing value breaks the line.
pub fn lines(title: &str, labels: &[String], series: &[(&str, &str, Vec<Option<f64>>)]) -> String {
    let max = series
        .iter()
        .flat_map(|s| s.2.iter().flatten().copied())
        .fold(0.0, f64::max);
    let top = nice_top(max);
    let mut out = String::new();
    // The unit is in the chart's caption ("minutes"), not a mark on each value.
    frame(&mut out, title, labels, top);
    let slot = (W - LEFT) / labels.len().max(1) as f64;
    let plot_h = H - TOP - BOTTOM;
    for (name, color, values) in series {
        let mut d = String::new();
        let mut pen = false;
        for (i, v) in values.iter().enumerate() {
            match v {
                Some(v) => {
                    let x = LEFT + slot * (i as f64 + 0.5);
                    let y = TOP + plot_h * (1.0 - v / top);
                    let _ = write!(d, "{}{x:.1} {y:.1} ", if pen { "L" } else { "M" });
                    let _ = write!(
                        out,
                        "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"2.5\" fill=\"{color}\"><title>{l} {n}: {v}</title></circle>",
                        l = esc(&labels[i]),
                        n = esc(name)
                    );
                    pen = true;
                }
                None => pen = false,
            }
        }
        if !d.is_empty() {
            let _ = write!(
                out,
                "<path d=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"/>",
                d.trim_end()
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// One horizontal bar per row, its parts stacked as shares of the row's total.
pub fn stacked(title: &str, rows: &[(String, Vec<f64>)], parts: &[(&str, &str)]) -> String {
    // Each row's label above its bar, so that the bar has the whole width even on a phone.
    let row_h = 42.0;
    let h = row_h * rows.len().max(1) as f64 + 8.0;
    let mut out = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {W} {h}\" role=\"img\" aria-label=\"{t}\"><title>{t}</title>",
        t = esc(title)
    );
    for (r, (label, values)) in rows.iter().enumerate() {
        let y = 4.0 + row_h * r as f64;
        let total: f64 = values.iter().sum();
        let _ = write!(
            out,
            "<text x=\"0\" y=\"{ty:.1}\" font-size=\"14\" fill=\"#1f2933\">{}</text>",
            esc(label),
            ty = y + 13.0
        );
        let mut x = 0.0;
        for (i, v) in values.iter().enumerate() {
            if total <= 0.0 {
                break;
            }
            let w = W * v / total;
            let (name, color) = parts.get(i).copied().unwrap_or(("", "#999"));
            let _ = write!(
                out,
                "<rect x=\"{x:.1}\" y=\"{by:.1}\" width=\"{w:.1}\" height=\"{bh:.1}\" fill=\"{color}\">\
                 <title>{l} {n}: {v} ({p:.0}%)</title></rect>",
                by = y + 18.0,
                bh = row_h - 24.0,
                l = esc(label),
                n = esc(name),
                p = v / total * 100.0
            );
            x += w;
        }
    }
    out.push_str("</svg>");
    out
}

/// A table row: a key, its figures as the table shows them.
pub struct Row {
    pub key: String,
    pub bookings: i64,
    pub check_ins: i64,
    pub no_shows: i64,
    pub tickets: i64,
    pub walk_ins: i64,
    pub served: i64,
    pub acceptances: i64,
    pub fees_yuan: String,
    pub wait_mean: String,
    pub service_mean: String,
    pub satisfied_share: String,
    pub unsatisfied: i64,
}

fn mean_minutes(sum: i64, n: i64) -> String {
    if n == 0 {
        "–".into()
    } else {
        format!("{:.1}", sum as f64 / n as f64 / 60.0)
    }
}

fn row(key: String, f: &Figures) -> Row {
    let rated = f.rated_satisfied + f.rated_basic + f.rated_unsatisfied;
    Row {
        key,
        bookings: f.bookings,
        check_ins: f.check_ins,
        no_shows: f.no_shows,
        tickets: f.tickets,
        walk_ins: f.walk_ins,
        served: f.served,
        acceptances: f.acceptances,
        fees_yuan: format!("{:.2}", (f.fees_fen - f.refunds_fen) as f64 / 100.0),
        wait_mean: mean_minutes(f.wait_sum_s, f.wait_n),
        service_mean: mean_minutes(f.service_sum_s, f.service_n),
        satisfied_share: if rated == 0 {
            "–".into()
        } else {
            format!("{:.0}%", f.rated_satisfied as f64 / rated as f64 * 100.0)
        },
        unsatisfied: f.rated_unsatisfied,
    }
}

#[derive(Template)]
#[template(path = "stats.html")]
struct StatsPage {
    page: PageContext,
    msg: String,
    msg_kind: String,
    v: StatsView,
    /// The query string of the filters, for the export links.
    query: String,
    volume_chart: String,
    wait_chart: String,
    rating_chart: String,
    /// The tables by site, business, channel and day, each with its title.
    tables: Vec<(&'static str, Vec<Row>)>,
    /// Whether there is any day rolled up in the period.
    has_days: bool,
    /// Why the period's table has weeks or months rather than days (empty for days).
    grain_note: &'static str,
    /// Whether a business is chosen: the seats' table says it does not apply there.
    business_filtered: bool,
    total: Row,
    /// Lifecycle: mean days acceptance → ready, ready → collected; overdue; supplements, refusals.
    lifecycle: Vec<(&'static str, String)>,
    pools: Vec<(String, String, i64, i64, String)>,
    devices: Vec<(String, String, i64)>,
    hours: Vec<(u32, i64, i64, String)>,
    channels: Vec<(&'static str, &'static str, &'static str)>,
    lag: String,
    /// Whether the capacity advisor's page is in this build's route table.
    capacity_link: bool,
    wait_p: String,
    service_p: String,
}

fn hall_name(v: &StatsView, id: &str, en: bool) -> String {
    v.halls
        .iter()
        .find(|h| h.id == id)
        .map(|h| {
            if en {
                h.name_en.clone()
            } else {
                h.name_zh.clone()
            }
        })
        .unwrap_or_else(|| id.to_string())
}

fn opt_min(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.1}")).unwrap_or_else(|| "–".into())
}

fn query_string(q: &StatsQuery) -> String {
    let mut parts = Vec::new();
    for (k, v) in [
        ("from", &q.from),
        ("to", &q.to),
        ("hall", &q.hall),
        ("business", &q.business),
        ("channel", &q.channel),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            let enc: String = url_escape(v);
            parts.push(format!("{k}={enc}"));
        }
    }
    parts.join("&")
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub async fn page(
    State(s): State<AppState>,
    page: PageContext,
    PageQuery(q): PageQuery<StatsQuery>,
) -> ApiResult<Response> {
    let v = s.app.stats_dashboard(&page.principal, &q).await?;
    let en = page.en;
    let labels: Vec<String> = v
        .by_day
        .iter()
        .map(|(d, _)| d.format("%m-%d").to_string())
        .collect();
    let volume_chart = bars(
        if en {
            "Bookings and tickets by day"
        } else {
            "每日预约与取号"
        },
        &labels,
        &[
            (
                if en { "bookings" } else { "预约" },
                "#0b3d6e",
                v.by_day.iter().map(|(_, f)| f.bookings as f64).collect(),
            ),
            (
                if en { "tickets" } else { "取号" },
                "#f0b400",
                v.by_day.iter().map(|(_, f)| f.tickets as f64).collect(),
            ),
        ],
    );
    let wait_labels: Vec<String> = v
        .times
        .iter()
        .map(|t| t.day.format("%m-%d").to_string())
        .collect();
    let wait_chart = lines(
        if en {
            "Waiting time by day, minutes (median and 90th percentile)"
        } else {
            "每日等候时间（分钟，中位数与90分位）"
        },
        &wait_labels,
        &[
            (
                if en { "median" } else { "中位数" },
                "#0b3d6e",
                v.times.iter().map(|t| t.wait_p50).collect(),
            ),
            (
                if en { "90th percentile" } else { "90分位" },
                "#c0392b",
                v.times.iter().map(|t| t.wait_p90).collect(),
            ),
        ],
    );
    let parts = if en {
        [
            ("satisfied", "#2e7d32"),
            ("fairly satisfied", "#f0b400"),
            ("unsatisfied", "#c0392b"),
        ]
    } else {
        [
            ("满意", "#2e7d32"),
            ("基本满意", "#f0b400"),
            ("不满意", "#c0392b"),
        ]
    };
    let mut rating_rows: Vec<(String, Vec<f64>)> = vec![(
        if en { "All".into() } else { "全部".into() },
        vec![
            v.totals.rated_satisfied as f64,
            v.totals.rated_basic as f64,
            v.totals.rated_unsatisfied as f64,
        ],
    )];
    rating_rows.extend(v.by_hall.iter().map(|(h, f)| {
        (
            hall_name(&v, h, en),
            vec![
                f.rated_satisfied as f64,
                f.rated_basic as f64,
                f.rated_unsatisfied as f64,
            ],
        )
    }));
    let rating_chart = stacked(
        if en {
            "Ratings by level"
        } else {
            "评价构成"
        },
        &rating_rows,
        &parts,
    );
    let t = &v.totals;
    let days = |sum: i64, n: i64| {
        if n == 0 {
            "–".to_string()
        } else {
            format!("{:.1}", sum as f64 / n as f64 / 86400.0)
        }
    };
    let lifecycle = vec![
        ("受理 Acceptances", t.acceptances.to_string()),
        ("补件 Supplements asked", t.supplements.to_string()),
        ("不予批准 Refusals", t.refusals.to_string()),
        ("领证 Collected", t.collected.to_string()),
        (
            "受理至待领（天）Acceptance → ready (days)",
            days(t.to_ready_sum_s, t.collected),
        ),
        (
            "待领至领取（天）Ready → collected (days)",
            days(t.to_collect_sum_s, t.collected),
        ),
        ("超期 Overdue", t.overdue.to_string()),
        ("提醒 Alerts", t.alerts.to_string()),
        (
            "平均处理用时（分）Mean time to acknowledge (min)",
            mean_minutes(t.ack_sum_s, t.alerts_acked),
        ),
    ];
    let pools = v
        .pools
        .iter()
        .map(|p| {
            (
                hall_name(&v, &p.hall_id, en),
                crate::labels::staff_words(&p.pool, en),
                p.taken,
                p.capacity,
                if p.capacity == 0 {
                    "–".into()
                } else {
                    format!("{:.0}%", p.taken as f64 / p.capacity as f64 * 100.0)
                },
            )
        })
        .collect();
    let devices = v
        .devices
        .iter()
        .map(|d| {
            (
                crate::labels::staff_words(&d.kind, en),
                crate::labels::device_mode_words(&d.mode, en),
                d.uses,
            )
        })
        .collect();
    let hours = v
        .hours
        .iter()
        .map(|h| {
            (
                h.hour,
                h.bookings,
                h.tickets,
                mean_minutes(h.wait_sum_s, h.wait_n),
            )
        })
        .collect();
    let by = |rows: &[(String, Figures)], name: &dyn Fn(&str) -> String| {
        rows.iter()
            .map(|(k, f)| row(name(k), f))
            .collect::<Vec<_>>()
    };
    let catalogue = &s.app.catalogue;
    let by_business = by(&v.by_business, &|k| {
        catalogue
            .business(k)
            .map(|b| {
                if en {
                    b.name_en.clone()
                } else {
                    b.name_zh.clone()
                }
            })
            .unwrap_or_else(|| k.to_string())
    });
    let by_channel = by(&v.by_channel, &|k| {
        wujing_domain::channels::Channel::parse(k)
            .map(|c| {
                if en {
                    c.name_en().to_string()
                } else {
                    c.name_zh().to_string()
                }
            })
            .unwrap_or_else(|| k.to_string())
    });
    let by_hall = by(&v.by_hall, &|k| hall_name(&v, k, en));
    let grain = Grain::of(v.from, v.to);
    let by_day: Vec<Row> = periods(&v.by_day, grain, en)
        .into_iter()
        .map(|(k, f)| row(k, &f))
        .collect();
    let total = row(if en { "Total".into() } else { "合计".into() }, &v.totals);
    let channels = wujing_domain::channels::Channel::ALL
        .iter()
        .map(|c| (c.as_str(), c.name_zh(), c.name_en()))
        .collect();
    let lag = if v.lag_seconds == 0 {
        String::new()
    } else {
        format!("{:.1}", v.lag_seconds as f64 / 3600.0)
    };
    let wait_p = format!(
        "{} / {}",
        opt_min(v.overall.wait_p50),
        opt_min(v.overall.wait_p90)
    );
    let service_p = format!(
        "{} / {}",
        opt_min(v.overall.service_p50),
        opt_min(v.overall.service_p90)
    );
    Ok(render(&StatsPage {
        msg: String::new(),
        msg_kind: String::new(),
        query: query_string(&q),
        volume_chart,
        wait_chart,
        rating_chart,
        has_days: !by_day.is_empty(),
        tables: vec![
            (if en { "By site" } else { "按大厅" }, by_hall),
            (if en { "By business" } else { "按业务" }, by_business),
            (if en { "By channel" } else { "按渠道" }, by_channel),
            (grain.title(en), by_day),
        ],
        grain_note: grain.note(en),
        business_filtered: q.business.as_deref().is_some_and(|b| !b.is_empty()),
        total,
        lifecycle,
        pools,
        devices,
        hours,
        channels,
        lag,
        capacity_link: route_exists("/staff/capacity"),
        wait_p,
        service_p,
        page,
        v,
    }))
}

/// The rows of the period's table: a row a day for a month or less; longer, a row a week up to
/// 16 weeks, then a row a month, so that a year reads as 12 rows rather than 365. The charts
/// and the exports keep every day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grain {
    Day,
    Week,
    Month,
}

impl Grain {
    /// The grain of the period asked for (not of the days that have figures, so that the
    /// same period always reads the same way).
    fn of(from: chrono::NaiveDate, to: chrono::NaiveDate) -> Self {
        match (to - from).num_days() + 1 {
            i64::MIN..=0 => Grain::Day,
            1..=31 => Grain::Day,
            32..=112 => Grain::Week,
            _ => Grain::Month,
        }
    }

    fn title(self, en: bool) -> &'static str {
        match (self, en) {
            (Grain::Day, false) => "按日",
            (Grain::Day, true) => "By day",
            (Grain::Week, false) => "按周",
            (Grain::Week, true) => "By week",
            (Grain::Month, false) => "按月",
            (Grain::Month, true) => "By month",
        }
    }

    fn note(self, en: bool) -> &'static str {
        match (self, en) {
            (Grain::Day, _) => "",
            (Grain::Week, false) => "期间超过31天，按周（周一至周日）汇总；图表和导出文件仍为逐日。",
            (Grain::Week, true) => "Over 31 days: a row a week (Monday to Sunday); the charts and the exports keep every day.",
            (Grain::Month, false) => "期间超过16周，按月汇总；图表和导出文件仍为逐日。",
            (Grain::Month, true) => "Over 16 weeks: a row a month; the charts and the exports keep every day.",
        }
    }
}

/// The days' figures summed by `grain`, each row named by the days it holds (a week or a month
/// cut by the period's ends names only its days in the period).
fn periods(
    days: &[(chrono::NaiveDate, Figures)],
    grain: Grain,
    en: bool,
) -> Vec<(String, Figures)> {
    use chrono::Datelike;
    let mut out: Vec<((i32, u32), chrono::NaiveDate, chrono::NaiveDate, Figures)> = vec![];
    for (d, f) in days {
        let key = match grain {
            Grain::Day => (d.year(), d.ordinal()),
            Grain::Week => (d.iso_week().year(), d.iso_week().week()),
            Grain::Month => (d.year(), d.month()),
        };
        match out.last_mut() {
            Some((k, _, last, sum)) if *k == key => {
                *last = *d;
                sum.add(f);
            }
            _ => out.push((key, *d, *d, f.clone())),
        }
    }
    out.into_iter()
        .map(|((_, n), first, last, f)| {
            let name = match grain {
                Grain::Day => first.to_string(),
                Grain::Week if en => format!(
                    "Week {n}: {} – {}",
                    first.format("%Y-%m-%d"),
                    last.format("%m-%d")
                ),
                Grain::Week => format!(
                    "第{n}周 {} – {}",
                    first.format("%Y-%m-%d"),
                    last.format("%m-%d")
                ),
                Grain::Month => first.format("%Y-%m").to_string(),
            };
            (name, f)
        })
        .collect()
}

#[cfg(test)]
mod grain_tests {
    use super::*;
    use chrono::NaiveDate;

    fn days(from: NaiveDate, n: i64) -> Vec<(NaiveDate, Figures)> {
        (0..n)
            .map(|i| {
                (
                    from + chrono::TimeDelta::days(i),
                    Figures {
                        tickets: 1,
                        ..Default::default()
                    },
                )
            })
            .collect()
    }

    #[test]
    fn axis_values_are_where_their_grid_lines_are() {
        // A top of 1 minute: the quarters read 0.25 and 0.75, not 0.2 and 0.8.
        let svg = lines("t", &["a".into()], &[("m", "#000", vec![Some(0.9)])]);
        for v in [">0<", ">0.25<", ">0.5<", ">0.75<", ">1<"] {
            assert!(svg.contains(v), "{v} in {svg}");
        }
        assert!(!svg.contains('′'));
        let svg = bars("t", &["a".into()], &[("n", "#000", vec![24.0])]);
        for v in [">6.25<", ">12.5<", ">18.75<", ">25<"] {
            assert!(svg.contains(v), "{v} in {svg}");
        }
    }

    #[test]
    fn a_year_reads_as_months_and_a_quarter_as_weeks() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let month = days(d(2026, 11, 1), 30);
        assert_eq!(Grain::of(d(2026, 11, 1), d(2026, 11, 30)), Grain::Day);
        assert_eq!(periods(&month, Grain::Day, false).len(), 30);

        let year = days(d(2025, 12, 1), 365);
        assert_eq!(Grain::of(d(2025, 12, 1), d(2026, 11, 30)), Grain::Month);
        let rows = periods(&year, Grain::Month, false);
        assert_eq!(rows.len(), 12);
        assert_eq!(rows[0].0, "2025-12");
        assert_eq!(rows[0].1.tickets, 31);
        let total: i64 = rows.iter().map(|(_, f)| f.tickets).sum();
        assert_eq!(total, 365, "nothing lost or counted twice");

        // 2026-09-01 is a Tuesday: the first week is cut at the period's start.
        let quarter = days(d(2026, 9, 1), 91);
        assert_eq!(Grain::of(d(2026, 9, 1), d(2026, 11, 30)), Grain::Week);
        let rows = periods(&quarter, Grain::Week, false);
        assert_eq!(rows[0].0, "第36周 2026-09-01 – 09-06");
        assert_eq!(rows[0].1.tickets, 6);
        assert_eq!(rows[1].1.tickets, 7);
        assert_eq!(rows.iter().map(|(_, f)| f.tickets).sum::<i64>(), 91);
    }
}

fn attachment(body: Vec<u8>, kind: &str, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

pub async fn csv(
    State(s): State<AppState>,
    page: PageContext,
    PageQuery(q): PageQuery<StatsQuery>,
) -> ApiResult<Response> {
    let body = s.app.stats_csv(&page.principal, &q, page.en).await?;
    Ok(attachment(
        body,
        "text/csv; charset=utf-8",
        "wujing-stats.csv",
    ))
}

pub async fn xlsx(
    State(s): State<AppState>,
    page: PageContext,
    PageQuery(q): PageQuery<StatsQuery>,
) -> ApiResult<Response> {
    let body = s.app.stats_xlsx(&page.principal, &q, page.en).await?;
    Ok(attachment(
        body,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "wujing-stats.xlsx",
    ))
}

#[derive(Debug, Deserialize)]
pub struct AppraisalQuery {
    pub officer: Option<i64>,
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Template)]
#[template(path = "appraisal_none.html")]
struct NoOfficerPage {
    page: PageContext,
    msg: String,
    msg_kind: String,
}

#[derive(Template)]
#[template(path = "appraisal.html")]
struct AppraisalPage {
    page: PageContext,
    msg: String,
    msg_kind: String,
    a: Appraisal,
    service_mean: String,
    cases: Vec<(String, String, String, String, String)>,
}

pub async fn appraisal(
    State(s): State<AppState>,
    page: PageContext,
    ClientAddr(addr): ClientAddr,
    PageQuery(q): PageQuery<AppraisalQuery>,
) -> ApiResult<Response> {
    let sq = StatsQuery {
        from: q.from.clone(),
        to: q.to.clone(),
        ..StatsQuery::default()
    };
    let a = match s
        .app
        .appraisal(&page.principal, addr.as_deref(), q.officer, &sq)
        .await
    {
        Ok(a) => a,
        // Nobody to appraise yet (no officer account in the caller's halls): an empty state,
        // not an error page.
        Err(e) if e.code == wujing_app::Code::OfficerNotFound && q.officer.is_none() => {
            return Ok(render(&NoOfficerPage {
                page,
                msg: String::new(),
                msg_kind: String::new(),
            }));
        }
        Err(e) => return Err(e.into()),
    };
    let en = page.en;
    let local = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&wujing_domain::calendar::china_offset())
            .format("%Y-%m-%d %H:%M")
            .to_string()
    };
    let cases = a
        .cases
        .iter()
        .map(|c| {
            let reasons: Vec<String> = serde_json::from_str::<Vec<String>>(&c.reasons)
                .unwrap_or_default()
                .iter()
                .map(|r| crate::labels::staff_words(r, en))
                .collect();
            (
                local(c.raised_at),
                if en {
                    format!("{} · window {}", c.ticket_label, c.window_number)
                } else {
                    format!("{} · {} 号窗口", c.ticket_label, c.window_number)
                },
                // A rating without a reason chosen says so, not an empty cell.
                if reasons.is_empty() {
                    if en { "none given" } else { "未选择" }.to_string()
                } else {
                    reasons.join("、")
                },
                c.acknowledged_at.map(local).unwrap_or_else(|| {
                    if en {
                        "not yet".into()
                    } else {
                        "尚未处理".into()
                    }
                }),
                c.outcome.clone().unwrap_or_else(|| "—".into()),
            )
        })
        .collect();
    let service_mean = mean_minutes(a.figures.service_sum_s, a.figures.served);
    Ok(render(&AppraisalPage {
        msg: String::new(),
        msg_kind: String::new(),
        service_mean,
        cases,
        a,
        page,
    }))
}

/// Whether this build serves `path` (GET): the capacity advisor's page is another part of
/// issue 18, linked only once it is in the route table.
pub fn route_exists(path: &str) -> bool {
    static CAPACITY: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let known = |p: &str| {
        crate::route_table()
            .iter()
            .any(|(m, r, _)| *m == axum::http::Method::GET && *r == p)
    };
    if path == "/staff/capacity" {
        *CAPACITY.get_or_init(|| known(path))
    } else {
        known(path)
    }
}
