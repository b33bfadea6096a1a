//! Statistics for leaders (M12) and the officers' appraisal (M6), issue 18 part 1.
//!
//! - The **roll-up job** ([`App::roll_up`]): each source table's closed local days are rolled
//!   into the roll-up tables one day per store transaction, behind the source's watermark
//!   (`wujing_store::StatsStore`). A day is closed [`GRACE`] after its local midnight: what
//!   happens after that belongs to a later day (an acknowledgement, a refund, a collection are
//!   facts of the day they happen). Run by the server every minute and by `wujing rollup`.
//! - The **dashboard** ([`App::stats_dashboard`]): today live per site in the reader's scope, and
//!   the history read from the roll-ups only, with the period, site, business and channel filters.
//! - The **exports** of the same figures ([`App::stats_csv`], [`App::stats_xlsx`]).
//! - The **appraisal** ([`App::appraisal`]): one officer's figures over a period and their
//!   unsatisfied cases with the leader's outcome; the officer themself, or the leaders and
//!   supervisors of their halls; each view audited.

use crate::authz::{hall_scope, permits, Action, Principal};
use crate::{App, AppError, AppResult, Code};
use chrono::{NaiveDate, TimeDelta};
use serde::Deserialize;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use wujing_domain::staff::Role;
use wujing_domain::stats::percentile;
pub use wujing_domain::stats::{
    DayHistogram, DeviceFigures, Figures, HourFigures, OfficerFigures, PoolFigures, UnsatisfiedCase,
};
use wujing_store::{day_start, local_day, AdminChange, StatsFilter, StatsGroup, STATS_SOURCES};

/// Figures per day, site, business or channel.
type Grouped = Vec<(String, Figures)>;

/// How long after a local midnight the day counts as closed: writes stamped just before
/// midnight have committed by then.
pub const GRACE: TimeDelta = TimeDelta::minutes(10);
/// The longest period the dashboard and the exports read at once.
pub const MAX_PERIOD_DAYS: i64 = 400;

/// What one pass of the job did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollUpReport {
    /// Source days rolled.
    pub days: u64,
    /// Seconds behind after the pass ([`App::stats_lag_seconds`]).
    pub lag_seconds: i64,
}

/// The dashboard's and the exports' filters, as the query string gives them.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StatsQuery {
    /// First day, `YYYY-MM-DD` (default: 29 days before `to`).
    pub from: Option<String>,
    /// Last day (default: yesterday, the last closed day).
    pub to: Option<String>,
    /// One site (default: every site in scope).
    pub hall: Option<String>,
    pub business: Option<String>,
    pub channel: Option<String>,
}

/// A site as the filter lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsHall {
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
}

/// Today at one site, live.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveHall {
    pub hall: StatsHall,
    pub waiting: u32,
    /// Windows with a ticket called or being served now.
    pub windows_busy: u32,
    pub windows: u32,
    pub served_today: u32,
    pub tickets_today: u32,
    /// Minutes a newcomer waits: those waiting × today's mean service time / windows busy.
    pub expected_wait_minutes: Option<u32>,
    pub open_alerts: u32,
}

/// Waiting and service percentiles of one day, in minutes.
#[derive(Debug, Clone, PartialEq)]
pub struct DayTimes {
    pub day: NaiveDate,
    pub wait_p50: Option<f64>,
    pub wait_p90: Option<f64>,
    pub service_p50: Option<f64>,
    pub service_p90: Option<f64>,
}

/// Everything the dashboard shows.
#[derive(Debug, Clone)]
pub struct StatsView {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub hall: String,
    pub business: String,
    pub channel: String,
    pub halls: Vec<StatsHall>,
    pub businesses: Vec<(String, String, String)>,
    pub today: Vec<LiveHall>,
    pub totals: Figures,
    pub by_day: Vec<(NaiveDate, Figures)>,
    pub by_hall: Vec<(String, Figures)>,
    pub by_business: Vec<(String, Figures)>,
    pub by_channel: Vec<(String, Figures)>,
    pub times: Vec<DayTimes>,
    /// Over the whole period, minutes.
    pub overall: DayTimes,
    pub hours: Vec<HourFigures>,
    pub pools: Vec<PoolFigures>,
    pub devices: Vec<DeviceFigures>,
    pub lag_seconds: i64,
}

/// One officer's appraisal.
#[derive(Debug, Clone)]
pub struct Appraisal {
    pub officer_id: i64,
    pub display_name: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub figures: OfficerFigures,
    pub cases: Vec<UnsatisfiedCase>,
    /// The officers the reader may appraise (empty for an officer reading their own).
    pub officers: Vec<(i64, String)>,
}

fn parse_day(s: &Option<String>) -> AppResult<Option<NaiveDate>> {
    match s.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| period_invalid()),
    }
}

fn period_invalid() -> AppError {
    AppError::new(
        Code::StatsPeriodInvalid,
        format!("统计期间须为不超过{MAX_PERIOD_DAYS}天的日期范围（YYYY-MM-DD），且起始日不晚于截止日"),
        format!("the period must be dates (YYYY-MM-DD), the first not after the last, spanning at most {MAX_PERIOD_DAYS} days"),
    )
}

fn filter_invalid(what: &str) -> AppError {
    AppError::new(
        Code::StatsFilterInvalid,
        format!(
            "没有这个{}",
            if what == "business" {
                "业务"
            } else {
                "渠道"
            }
        ),
        format!("no such {what}"),
    )
}

fn minutes(s: Option<f64>) -> Option<f64> {
    s.map(|x| (x / 60.0 * 10.0).round() / 10.0)
}

fn times_of(day: NaiveDate, wait: &[u64], service: &[u64]) -> DayTimes {
    DayTimes {
        day,
        wait_p50: minutes(percentile(wait, 0.5)),
        wait_p90: minutes(percentile(wait, 0.9)),
        service_p50: minutes(percentile(service, 0.5)),
        service_p90: minutes(percentile(service, 0.9)),
    }
}

impl App {
    /// One pass of the roll-up job: every source's closed days after its watermark, at most
    /// `max_days` per source (`None`: all of them, for `wujing rollup`).
    pub async fn roll_up(&self, max_days: Option<u64>) -> AppResult<RollUpReport> {
        let now = self.clock.now();
        let marks = self.store.stats_watermarks().await?;
        let mut days = 0;
        for source in STATS_SOURCES {
            let mut next = match marks.iter().find(|(s, _)| s == source) {
                Some((_, d)) => *d + TimeDelta::days(1),
                None => match self.store.stats_first_day(source).await? {
                    Some(d) => d,
                    None => continue,
                },
            };
            let mut done = 0;
            while now >= day_start(next + TimeDelta::days(1)) + GRACE
                && max_days.is_none_or(|m| done < m)
            {
                // `false`: another job rolled it; that job goes on from there.
                if !self.store.stats_roll_day(source, next, now).await? {
                    break;
                }
                done += 1;
                next += TimeDelta::days(1);
            }
            days += done;
        }
        Ok(RollUpReport {
            days,
            lag_seconds: self.stats_lag_seconds().await?,
        })
    }

    /// Rolls every day from `from` again (after a bulk load behind the job's back): the
    /// watermarks move back, the next passes replace those days' figures.
    pub async fn roll_up_again_from(&self, from: NaiveDate) -> AppResult<()> {
        self.store.stats_rewind(from, self.clock.now()).await?;
        Ok(())
    }

    /// How far behind the roll-ups are: the seconds since the oldest closed day not yet rolled
    /// became rollable (0 when every source is up to date or has no data).
    pub async fn stats_lag_seconds(&self) -> AppResult<i64> {
        let now = self.clock.now();
        let marks = self.store.stats_watermarks().await?;
        // A source never rolled counts from the day before its first fact.
        let mut oldest = marks.iter().map(|(_, d)| *d).min();
        for source in STATS_SOURCES {
            if marks.iter().any(|(s, _)| s == source) {
                continue;
            }
            if let Some(first) = self.store.stats_first_day(source).await? {
                let before = first - TimeDelta::days(1);
                oldest = Some(oldest.map_or(before, |o| o.min(before)));
            }
        }
        Ok(match oldest {
            None => 0,
            Some(d) => (now - (day_start(d + TimeDelta::days(2)) + GRACE))
                .num_seconds()
                .max(0),
        })
    }

    /// The sites `p` may read statistics of (all sites for an organisation-wide reader).
    async fn stats_halls(&self, p: &Principal, action: Action) -> AppResult<Vec<StatsHall>> {
        let scope = hall_scope(p, action);
        let mut halls: Vec<StatsHall> = self
            .halls()
            .await?
            .into_iter()
            .filter(|h| scope.as_ref().is_none_or(|s| s.contains(&h.id)))
            .map(|h| StatsHall {
                id: h.id,
                name_zh: h.name_zh,
                name_en: h.name_en,
            })
            .collect();
        halls.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(halls)
    }

    /// The filter a query asks for, checked: dates, a site in scope, a known business and
    /// channel.
    async fn stats_filter(
        &self,
        p: &Principal,
        q: &StatsQuery,
    ) -> AppResult<(StatsFilter, Vec<StatsHall>)> {
        self.require(p, Action::ViewStats, None)?;
        let yesterday = local_day(self.clock.now()) - TimeDelta::days(1);
        let to = parse_day(&q.to)?.unwrap_or(yesterday);
        let from = parse_day(&q.from)?.unwrap_or(to - TimeDelta::days(29));
        if from > to || (to - from).num_days() >= MAX_PERIOD_DAYS {
            return Err(period_invalid());
        }
        let business = q.business.clone().unwrap_or_default();
        if !business.is_empty() && self.catalogue.business(&business).is_none() {
            return Err(filter_invalid("business"));
        }
        let channel = q.channel.clone().unwrap_or_default();
        if !channel.is_empty() && wujing_domain::channels::Channel::parse(&channel).is_none() {
            return Err(filter_invalid("channel"));
        }
        let halls = self.stats_halls(p, Action::ViewStats).await?;
        let hall = q.hall.clone().unwrap_or_default();
        let scope = if hall.is_empty() {
            hall_scope(p, Action::ViewStats).map(|_| halls.iter().map(|h| h.id.clone()).collect())
        } else {
            self.require(p, Action::ViewStats, Some(&hall))?;
            if !halls.iter().any(|h| h.id == hall) {
                return Err(AppError::new(
                    Code::HallNotFound,
                    "没有这个大厅",
                    "no such hall",
                ));
            }
            Some(vec![hall])
        };
        Ok((
            StatsFilter {
                from,
                to,
                halls: scope,
                business,
                channel,
            },
            halls,
        ))
    }

    /// Today at each site in the list: the queues, windows, expected wait and open alerts, as
    /// the board and the alerts page count them.
    async fn live(&self, halls: &[StatsHall]) -> AppResult<Vec<LiveHall>> {
        let today = local_day(self.clock.now());
        // Open alerts of every site in one read (a read per site scanned the alerts once each).
        let mut open: BTreeMap<String, u32> = BTreeMap::new();
        for a in self.store.alerts(None, true).await? {
            *open.entry(a.hall_id).or_default() += 1;
        }
        let mut out = Vec::new();
        for h in halls {
            let view = self.hall(&h.id).await?;
            let tickets = self.store.tickets_of_day(&h.id, today).await?;
            let waiting = tickets.iter().filter(|t| t.status == "waiting").count() as u32;
            let busy: BTreeSet<u32> = tickets
                .iter()
                .filter(|t| matches!(t.status.as_str(), "called" | "serving"))
                .filter_map(|t| t.window_number)
                .collect();
            let served: Vec<i64> = tickets
                .iter()
                .filter(|t| t.status == "done")
                .filter_map(|t| Some((t.finished_at? - t.called_at?).num_seconds()))
                .collect();
            // Today's mean service time, else the plan the capacity encodes (a slot's length ×
            // windows / seats per slot, as the portal's estimate assumes).
            let c = &view.capacity;
            let seats = (c.online + c.on_site + c.expedite).max(1);
            let planned = f64::from(view.slot_minutes) * f64::from(view.window_count.max(1))
                / f64::from(seats);
            let service = if served.is_empty() {
                planned
            } else {
                served.iter().sum::<i64>() as f64 / served.len() as f64 / 60.0
            };
            let working = busy.len() as u32;
            let expected = (working > 0)
                .then(|| (f64::from(waiting) * service / f64::from(working)).ceil() as u32);
            let open_alerts = open.get(&h.id).copied().unwrap_or(0);
            out.push(LiveHall {
                hall: h.clone(),
                waiting,
                windows_busy: working,
                windows: view.window_count,
                served_today: served.len() as u32,
                tickets_today: tickets.len() as u32,
                expected_wait_minutes: expected,
                open_alerts,
            });
        }
        Ok(out)
    }

    /// The leaders' dashboard: today live, and the period's history from the roll-ups only.
    pub async fn stats_dashboard(&self, p: &Principal, q: &StatsQuery) -> AppResult<StatsView> {
        let (f, halls) = self.stats_filter(p, q).await?;
        let shown: Vec<StatsHall> = match &q.hall {
            Some(h) if !h.is_empty() => halls.iter().filter(|x| &x.id == h).cloned().collect(),
            _ => halls.clone(),
        };
        let today = self.live(&shown).await?;
        let by_day = self.store.stats_figures(&f, StatsGroup::Day).await?;
        let mut totals = Figures::default();
        for (_, x) in &by_day {
            totals.add(x);
        }
        let by_day = by_day
            .into_iter()
            .filter_map(|(d, x)| Some((NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()?, x)))
            .collect();
        let histograms = self.store.stats_histograms(&f).await?;
        let (times, overall) = day_times(&histograms, f.to);
        let mut businesses: Vec<(String, String, String)> = self
            .catalogue
            .businesses()
            .map(|b| (b.code.clone(), b.name_zh.clone(), b.name_en.clone()))
            .collect();
        businesses.sort();
        Ok(StatsView {
            from: f.from,
            to: f.to,
            hall: q.hall.clone().unwrap_or_default(),
            business: f.business.clone(),
            channel: f.channel.clone(),
            halls,
            businesses,
            today,
            totals,
            by_day,
            by_hall: self.store.stats_figures(&f, StatsGroup::Hall).await?,
            by_business: self.store.stats_figures(&f, StatsGroup::Business).await?,
            by_channel: self.store.stats_figures(&f, StatsGroup::Channel).await?,
            times,
            overall,
            hours: self.store.stats_hours(&f).await?,
            pools: self.store.stats_pools(&f).await?,
            devices: self.store.stats_devices(&f).await?,
            lag_seconds: self.stats_lag_seconds().await?,
        })
    }

    /// The history's figures of the filter as rows: a header (column keys), then one row per
    /// day, then the period's total. Shared by the CSV and the workbook.
    async fn export_rows(
        &self,
        p: &Principal,
        q: &StatsQuery,
    ) -> AppResult<(StatsFilter, Grouped, Vec<DayTimes>)> {
        let (f, _) = self.stats_filter(p, q).await?;
        let rows = self.store.stats_figures(&f, StatsGroup::Day).await?;
        let (times, _) = day_times(&self.store.stats_histograms(&f).await?, f.to);
        Ok((f, rows, times))
    }

    /// The figures as CSV: UTF-8 with a byte-order mark (so that Excel reads the Chinese
    /// headers right), a header row in the language asked for, a row per day, the total.
    pub async fn stats_csv(&self, p: &Principal, q: &StatsQuery, en: bool) -> AppResult<Vec<u8>> {
        let (_, rows, times) = self.export_rows(p, q).await?;
        let mut out = String::from("\u{feff}");
        let header: Vec<String> = std::iter::once(if en { "day" } else { "日期" }.to_string())
            .chain(
                Figures::COLUMNS
                    .iter()
                    .map(|c| column_label(c, en).to_string()),
            )
            .chain(time_headers(en).iter().map(|s| s.to_string()))
            .collect();
        out.push_str(&header.join(","));
        out.push_str("\r\n");
        let mut total = Figures::default();
        for (day, f) in &rows {
            total.add(f);
            let t = times.iter().find(|t| t.day.to_string() == *day);
            out.push_str(&csv_line(day, f, t));
        }
        out.push_str(&csv_line(if en { "total" } else { "合计" }, &total, None));
        Ok(out.into_bytes())
    }

    /// The figures as an Excel workbook: a sheet of days (as the CSV) and one per site,
    /// business and channel.
    pub async fn stats_xlsx(&self, p: &Principal, q: &StatsQuery, en: bool) -> AppResult<Vec<u8>> {
        use rust_xlsxwriter::Workbook;
        let (f, rows, times) = self.export_rows(p, q).await?;
        let mut book = Workbook::new();
        let xl = |e: rust_xlsxwriter::XlsxError| {
            tracing::warn!(error = %e, "workbook");
            AppError::new(Code::InternalError, "导出失败", "the export failed")
        };
        let sheets: [(&str, &str, Grouped); 4] = [
            ("按日", "By day", rows),
            (
                "按大厅",
                "By site",
                self.store.stats_figures(&f, StatsGroup::Hall).await?,
            ),
            (
                "按业务",
                "By business",
                self.store.stats_figures(&f, StatsGroup::Business).await?,
            ),
            (
                "按渠道",
                "By channel",
                self.store.stats_figures(&f, StatsGroup::Channel).await?,
            ),
        ];
        for (i, (zh, name_en, rows)) in sheets.iter().enumerate() {
            let sheet = book.add_worksheet();
            sheet
                .set_name(if en { *name_en } else { *zh })
                .map_err(xl)?;
            let key = match (i, en) {
                (0, true) => "day",
                (0, false) => "日期",
                (1, true) => "site",
                (1, false) => "大厅",
                (2, true) => "business",
                (2, false) => "业务",
                (_, true) => "channel",
                (_, false) => "渠道",
            };
            sheet.write_string(0, 0, key).map_err(xl)?;
            for (c, name) in Figures::COLUMNS.iter().enumerate() {
                sheet
                    .write_string(0, c as u16 + 1, column_label(name, en))
                    .map_err(xl)?;
            }
            let extra = Figures::COLUMNS.len() as u16 + 1;
            if i == 0 {
                for (c, h) in time_headers(en).iter().enumerate() {
                    sheet.write_string(0, extra + c as u16, *h).map_err(xl)?;
                }
            }
            for (r, (k, fig)) in rows.iter().enumerate() {
                let r = r as u32 + 1;
                sheet.write_string(r, 0, k).map_err(xl)?;
                for (c, v) in fig.values().iter().enumerate() {
                    sheet.write_number(r, c as u16 + 1, *v as f64).map_err(xl)?;
                }
                if i == 0 {
                    if let Some(t) = times.iter().find(|t| t.day.to_string() == *k) {
                        let ts = [t.wait_p50, t.wait_p90, t.service_p50, t.service_p90];
                        for (c, v) in ts.iter().enumerate() {
                            if let Some(v) = v {
                                sheet.write_number(r, extra + c as u16, *v).map_err(xl)?;
                            }
                        }
                    }
                }
            }
        }
        book.save_to_buffer().map_err(xl)
    }

    /// One officer's appraisal over a period (default: the last 30 closed days): the officer
    /// themself, or a leader or supervisor of one of the officer's halls (or organisation-wide).
    /// Audited `appraisal.view`.
    pub async fn appraisal(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        officer: Option<i64>,
        q: &StatsQuery,
    ) -> AppResult<Appraisal> {
        self.require(p, Action::Appraisal, None)?;
        let Principal::Staff(me) = p else {
            return Err(crate::authz::denied(p));
        };
        let yesterday = local_day(self.clock.now()) - TimeDelta::days(1);
        let to = parse_day(&q.to)?.unwrap_or(yesterday);
        let from = parse_day(&q.from)?.unwrap_or(to - TimeDelta::days(29));
        if from > to || (to - from).num_days() >= MAX_PERIOD_DAYS {
            return Err(period_invalid());
        }
        let leads = permits(p, Action::AppraiseOthers, None);
        let officers = if leads {
            let mut v: Vec<(i64, String)> = self
                .store
                .staff_list()
                .await?
                .into_iter()
                .filter(|a| a.roles.iter().any(|g| g.role == Role::Officer))
                .filter(|a| a.id == me.id || may_appraise(p, &a.roles))
                .map(|a| (a.id, a.display_name))
                .collect();
            v.sort();
            v
        } else {
            Vec::new()
        };
        // Without a choice: oneself if an officer, else the first officer one may appraise (a
        // leader's page opens on somebody rather than on an error).
        let me_officer = me.roles.iter().any(|g| g.role == Role::Officer);
        let officer_id = officer
            .or(me_officer.then_some(me.id))
            .or(officers.first().map(|o| o.0))
            .ok_or_else(|| AppError::from(Code::OfficerNotFound))?;
        let account = self
            .store
            .staff_by_id(officer_id)
            .await?
            .filter(|a| a.roles.iter().any(|g| g.role == Role::Officer))
            .ok_or_else(|| AppError::from(Code::OfficerNotFound))?;
        if officer_id != me.id && !may_appraise(p, &account.roles) {
            return Err(crate::authz::denied(p));
        }
        let f = StatsFilter {
            from,
            to,
            halls: None,
            business: String::new(),
            channel: String::new(),
        };
        let figures = self
            .store
            .stats_officers(&f, Some(officer_id))
            .await?
            .pop()
            .unwrap_or(OfficerFigures {
                officer_id,
                ..OfficerFigures::default()
            });
        let cases = self
            .store
            .unsatisfied_cases(
                officer_id,
                day_start(from),
                day_start(to + TimeDelta::days(1)),
            )
            .await?;
        self.audit(
            &crate::admin::Actor::new(p, client_addr),
            AdminChange::RecordOnly,
            "appraisal.view",
            format!("staff:{officer_id}"),
            None,
            json!({ "from": from.to_string(), "to": to.to_string(), "cases": cases.len() }),
        )
        .await?;
        Ok(Appraisal {
            officer_id,
            display_name: account.display_name,
            from,
            to,
            figures,
            cases,
            officers,
        })
    }
}

/// Whether `p` leads or supervises an officer granted `roles`: a grant of theirs for one of the
/// officer's halls, or an organisation-wide one (an officer granted organisation-wide is only
/// organisation-wide readers').
fn may_appraise(p: &Principal, roles: &[wujing_domain::staff::RoleGrant]) -> bool {
    match hall_scope(p, Action::AppraiseOthers) {
        None => permits(p, Action::AppraiseOthers, None),
        Some(mine) => roles
            .iter()
            .filter(|g| g.role == Role::Officer)
            .any(|g| g.hall.as_ref().is_some_and(|h| mine.contains(h))),
    }
}

/// The period's percentiles per day and over the whole, from the summed histograms.
fn day_times(h: &[DayHistogram], last: NaiveDate) -> (Vec<DayTimes>, DayTimes) {
    let n = wujing_domain::stats::BUCKETS;
    let days: BTreeSet<NaiveDate> = h.iter().map(|x| x.day).collect();
    let (mut all_wait, mut all_service) = (vec![0u64; n], vec![0u64; n]);
    let mut out = Vec::new();
    for d in days {
        let (mut w, mut s) = (vec![0u64; n], vec![0u64; n]);
        for x in h.iter().filter(|x| x.day == d) {
            let (into, all) = if x.measure == "wait" {
                (&mut w, &mut all_wait)
            } else {
                (&mut s, &mut all_service)
            };
            for (i, c) in x.counts.iter().enumerate() {
                into[i] += c;
                all[i] += c;
            }
        }
        out.push(times_of(d, &w, &s));
    }
    (out, times_of(last, &all_wait, &all_service))
}

/// A column's header in the exports and the tables.
pub fn column_label(key: &str, en: bool) -> &'static str {
    let (zh, e) = match key {
        "bookings" => ("预约", "bookings"),
        "cancelled" => ("取消", "cancelled"),
        "check_ins" => ("签到", "check-ins"),
        "no_shows" => ("爽约", "no-shows"),
        "tickets" => ("取号", "tickets"),
        "walk_ins" => ("现场取号", "walk-ins"),
        "served" => ("办结", "served"),
        "missed" => ("过号", "missed"),
        "wait_n" => ("叫号数", "calls"),
        "wait_sum_s" => ("等候合计(秒)", "waiting total (s)"),
        "service_n" => ("办理数", "services"),
        "service_sum_s" => ("办理合计(秒)", "service total (s)"),
        "acceptances" => ("受理", "acceptances"),
        "supplements" => ("补件", "supplements"),
        "refusals" => ("不予批准", "refusals"),
        "collected" => ("领证", "collected"),
        "to_ready_sum_s" => ("受理至待领合计(秒)", "acceptance to ready total (s)"),
        "to_collect_sum_s" => ("待领至领取合计(秒)", "ready to collected total (s)"),
        "overdue" => ("超期", "overdue"),
        "fees_fen" => ("收费(分)", "fees (fen)"),
        "refunds_fen" => ("退费(分)", "refunds (fen)"),
        "rated_satisfied" => ("满意", "satisfied"),
        "rated_basic" => ("基本满意", "fairly satisfied"),
        "rated_unsatisfied" => ("不满意", "unsatisfied"),
        "alerts" => ("提醒", "alerts"),
        "alerts_acked" => ("已处理提醒", "alerts acknowledged"),
        "ack_sum_s" => ("处理用时合计(秒)", "acknowledgement total (s)"),
        _ => ("", ""),
    };
    if en {
        e
    } else {
        zh
    }
}

fn time_headers(en: bool) -> [&'static str; 4] {
    if en {
        [
            "waiting p50 (min)",
            "waiting p90 (min)",
            "service p50 (min)",
            "service p90 (min)",
        ]
    } else {
        [
            "等候中位数(分)",
            "等候90分位(分)",
            "办理中位数(分)",
            "办理90分位(分)",
        ]
    }
}

fn csv_line(key: &str, f: &Figures, t: Option<&DayTimes>) -> String {
    let mut cells: Vec<String> = vec![key.to_string()];
    cells.extend(f.values().iter().map(|v| v.to_string()));
    let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    match t {
        Some(t) => cells.extend([
            opt(t.wait_p50),
            opt(t.wait_p90),
            opt(t.service_p50),
            opt(t.service_p90),
        ]),
        None => cells.extend(std::iter::repeat_n(String::new(), 4)),
    }
    cells.join(",") + "\r\n"
}
