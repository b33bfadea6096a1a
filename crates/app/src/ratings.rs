//! Ratings at the window and the alerts they raise (M6): "unsatisfied" pages the hall's leaders
//! and the supervision office by text message at once; a leader acknowledges and records the
//! outcome; an alert nobody acknowledges is escalated organisation-wide.

use crate::admin::Actor;
use crate::authz::{Action, Principal};
use crate::notify::message;
use crate::Alert;
use crate::{App, AppError, AppResult, Code};
use chrono::TimeDelta;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use wujing_domain::staff::Role;
use wujing_store::{AdminChange, NewMessage, NewRating, StaffAccount, Ticket};

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingInput {
    /// `satisfied`, `basic` or `unsatisfied`.
    pub score: String,
    /// Optional reason codes, e.g. `slow`, `attitude`, `unclear`, `other`.
    #[serde(default)]
    pub reasons: Vec<String>,
}

pub const REASONS: &[(&str, &str, &str)] = &[
    ("slow", "等候或办理时间过长", "took too long"),
    ("attitude", "服务态度不好", "unfriendly service"),
    ("unclear", "告知不清楚", "unclear explanations"),
    ("other", "其他", "other"),
];

/// An alert as the leaders' page shows it.
pub struct AlertShown {
    pub alert: Alert,
    /// When it was raised, in the halls' time.
    pub at: String,
    /// The officer at the window, by name.
    pub officer: Option<String>,
    /// The hall, by name.
    pub hall: String,
    /// The citizen's reasons, in words.
    pub reasons: Vec<String>,
    /// Whom it was about: the ticket's business and its applicant, masked.
    pub about: TicketParty,
}

/// The business and applicant of a ticket, for leaders' pages: the applicant's name and
/// identity number masked (a booked ticket's; a walk-in's number is not kept in the clear, so
/// it has none), never in full.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketParty {
    /// The business in Chinese, or its code when the catalogue no longer has it.
    pub business: Option<String>,
    /// `陈*明`.
    pub name: Option<String>,
    /// `44**************39`.
    pub id_number: Option<String>,
}

/// Who is paged: for an alert, the leaders and supervisors of the hall (or of every hall); for
/// an escalation, everyone organisation-wide among leaders, supervisors and administrators.
/// Only accounts with a phone and not disabled.
pub(crate) fn pages_to(staff: &[StaffAccount], hall: &str, escalation: bool) -> Vec<(i64, String)> {
    staff
        .iter()
        .filter(|s| !s.disabled)
        .filter_map(|s| {
            let phone = s.phone.clone()?;
            let hit = s.roles.iter().any(|g| match (g.role, &g.hall, escalation) {
                (Role::Leader | Role::Supervisor, None, _) => true,
                (Role::Leader | Role::Supervisor, Some(h), false) => h == hall,
                (Role::Admin, _, true) => true,
                _ => false,
            });
            hit.then_some((s.id, phone))
        })
        .collect()
}

/// How long the rating terminal asks about a finished ticket before it returns to its idle
/// screen. A rating sent later (a slow press) is still taken for [`RATING_WINDOW`].
pub const RATING_PROMPT: TimeDelta = TimeDelta::minutes(2);
/// How long after it finished a ticket can be rated.
pub const RATING_WINDOW: TimeDelta = TimeDelta::minutes(10);

impl App {
    /// What a window's rating terminal shows: the label of the ticket it asks about and the
    /// seconds before it returns to its idle screen; `None` (idle) once that ticket is rated,
    /// or [`RATING_PROMPT`] after it finished, so the screen never waits on a citizen who has
    /// left, and the next citizen at the window is asked about their own service.
    pub async fn label_to_rate(
        &self,
        p: &Principal,
        hall: &str,
        window: u32,
    ) -> AppResult<Option<(String, i64)>> {
        let Some(t) = self.ticket_to_rate(p, hall, window).await? else {
            return Ok(None);
        };
        let left = t
            .finished_at
            .map(|f| (f + RATING_PROMPT - self.clock.now()).num_seconds())
            .unwrap_or(0);
        if left <= 0 || self.store.ticket_rated(t.id).await? {
            return Ok(None);
        }
        Ok(Some((t.label, left)))
    }

    /// The officer a window's rating terminal names ("served by"): the one who called the
    /// window's latest ticket today — the officer now at the window, or the last one there.
    /// Only the window's own terminal asks.
    pub async fn window_officer(
        &self,
        p: &Principal,
        hall: &str,
        window: u32,
    ) -> AppResult<Option<String>> {
        self.require(p, Action::Rate, Some(hall))?;
        if !crate::authz::at_window(p, window) {
            return Err(crate::authz::denied(p));
        }
        let latest = self
            .store
            .tickets_of_day(hall, self.clock.today())
            .await?
            .into_iter()
            .filter(|t| t.window_number == Some(window) && t.officer_id.is_some())
            .max_by_key(|t| (t.called_at, t.id));
        let Some(officer) = latest.and_then(|t| t.officer_id) else {
            return Ok(None);
        };
        // The terminal faces the public: it names the officer by the name the account gives
        // for that (its display name), never by the log-in name, which is half of a credential
        // and means nothing to a citizen. An account whose display name is its log-in name
        // (as scripts and imports have made them) shows no name rather than the log-in name.
        Ok(self
            .store
            .staff_by_id(officer)
            .await?
            .and_then(|a| public_name(&a.username, a.display_name)))
    }

    /// The ticket a window's rating terminal asks about: the window's last finished ticket of
    /// the last ten minutes.
    pub(crate) async fn ticket_to_rate(
        &self,
        p: &Principal,
        hall: &str,
        window: u32,
    ) -> AppResult<Option<Ticket>> {
        self.require(p, Action::Rate, Some(hall))?;
        if !crate::authz::at_window(p, window) {
            return Err(crate::authz::denied(p));
        }
        let since = self.clock.now() - RATING_WINDOW;
        Ok(self
            .store
            .tickets_of_day(hall, self.clock.today())
            .await?
            .into_iter()
            .filter(|t| {
                t.window_number == Some(window)
                    && t.status == "done"
                    && t.finished_at.is_some_and(|f| f >= since)
            })
            .max_by_key(|t| t.finished_at))
    }

    /// Records the citizen's rating of the window's last ticket; "unsatisfied" pages the hall's
    /// leaders and supervisors (one text each, through the outbox) in the same transaction.
    pub async fn rate(
        &self,
        p: &Principal,
        hall: &str,
        window: u32,
        r: &RatingInput,
    ) -> AppResult<Option<Alert>> {
        let r = self.rate_once(p, hall, window, r).await?;
        self.count_use(p, "rate").await;
        Ok(r)
    }

    async fn rate_once(
        &self,
        p: &Principal,
        hall: &str,
        window: u32,
        r: &RatingInput,
    ) -> AppResult<Option<Alert>> {
        if !["satisfied", "basic", "unsatisfied"].contains(&r.score.as_str()) {
            return Err(AppError::new(
                Code::ScoreInvalid,
                "评价须为满意、基本满意或不满意",
                "the rating must be satisfied, basic or unsatisfied",
            ));
        }
        if r.reasons
            .iter()
            .any(|x| !REASONS.iter().any(|(c, _, _)| c == x))
        {
            return Err(AppError::new(
                Code::ReasonInvalid,
                "未知的评价原因",
                "unknown reason",
            ));
        }
        let t = self.ticket_to_rate(p, hall, window).await?.ok_or_else(|| {
            AppError::new(
                Code::NothingToRate,
                "该窗口暂无待评价的业务",
                "nothing to rate at this window",
            )
        })?;
        let now = self.clock.now();
        let mut pages: Vec<NewMessage> = Vec::new();
        if r.score == "unsatisfied" {
            let h = self.hall(hall).await?;
            let why: Vec<&str> = r
                .reasons
                .iter()
                .filter_map(|x| {
                    REASONS
                        .iter()
                        .find(|(c, _, _)| c == x)
                        .map(|(_, zh, _)| *zh)
                })
                .collect();
            let body = format!(
                "【无境】差评提醒：{} {}号窗口 {} 的市民评价“不满意”{}。请尽快到窗口处理，并在系统中确认。",
                h.name_zh,
                window,
                t.label,
                if why.is_empty() { String::new() } else { format!("（{}）", why.join("、")) }
            );
            for (id, phone) in pages_to(&self.store.staff_list().await?, hall, false) {
                pages.push(message(
                    format!("alert:{}:{id}", t.id),
                    &phone,
                    "alert",
                    body.clone(),
                    now,
                ));
            }
        }
        self.store
            .record_rating(
                &NewRating {
                    ticket_id: t.id,
                    score: r.score.clone(),
                    reasons: r.reasons.join(","),
                    now,
                },
                &pages,
            )
            .await
            .map_err(|e| match e {
                wujing_store::StoreError::Refused("already_rated") => AppError::new(
                    Code::AlreadyRated,
                    "已评价，谢谢",
                    "already rated, thank you",
                ),
                other => other.into(),
            })
            .map(|a| a.map(Into::into))
    }

    /// Open alerts (and the recent acknowledged ones) of the halls the caller watches.
    pub async fn alerts(&self, p: &Principal) -> AppResult<Vec<Alert>> {
        self.require(p, Action::Alerts, None)?;
        Ok(self
            .store
            .alerts(None, false)
            .await?
            .into_iter()
            .filter(|a| crate::authz::permits(p, Action::Alerts, Some(&a.hall_id)))
            .map(Into::into)
            .collect())
    }

    /// The alerts as the leaders' page shows them: with the officer's and the hall's names and
    /// the reasons in words.
    pub async fn alerts_shown(&self, p: &Principal) -> AppResult<Vec<AlertShown>> {
        let alerts = self.alerts(p).await?;
        let staff = self.store.staff_list().await?;
        let halls = self.halls().await?;
        // An alert names its ticket by label, unique in its hall's day: one read of each day.
        let mut days: std::collections::HashMap<
            (String, chrono::NaiveDate),
            Vec<wujing_store::Ticket>,
        > = Default::default();
        let mut about = Vec::with_capacity(alerts.len());
        for a in &alerts {
            let day = a
                .created_at
                .with_timezone(&wujing_domain::calendar::china_offset())
                .date_naive();
            let key = (a.hall_id.clone(), day);
            if !days.contains_key(&key) {
                let tickets = self.store.tickets_of_day(&a.hall_id, day).await?;
                days.insert(key.clone(), tickets);
            }
            let ticket = days[&key].iter().find(|t| t.label == a.ticket_label);
            about.push(match ticket {
                Some(t) => self.ticket_party(t).await?,
                None => TicketParty::default(),
            });
        }
        Ok(alerts
            .into_iter()
            .zip(about)
            .map(|(a, about)| {
                let officer = a
                    .officer_id
                    .and_then(|id| staff.iter().find(|s| s.id == id))
                    .map(|s| s.display_name.clone());
                let hall = halls
                    .iter()
                    .find(|h| h.id == a.hall_id)
                    .map_or_else(|| a.hall_id.clone(), |h| h.name_zh.clone());
                let reasons = a
                    .reasons
                    .split(',')
                    .filter(|r| !r.is_empty())
                    .map(|r| {
                        REASONS
                            .iter()
                            .find(|(c, _, _)| *c == r)
                            .map_or_else(|| r.to_string(), |(_, zh, _)| (*zh).to_string())
                    })
                    .collect();
                AlertShown {
                    at: a
                        .created_at
                        .with_timezone(&wujing_domain::calendar::china_offset())
                        .format("%m-%d %H:%M")
                        .to_string(),
                    officer,
                    hall,
                    reasons,
                    about,
                    alert: a,
                }
            })
            .collect())
    }

    /// A ticket's business and applicant, masked, for the leaders' pages.
    pub(crate) async fn ticket_party(&self, t: &wujing_store::Ticket) -> AppResult<TicketParty> {
        let business = Some(
            self.catalogue
                .business(&t.business)
                .map_or_else(|| t.business.clone(), |b| b.name_zh.clone()),
        );
        let booking = match t.booking_id {
            Some(id) => self.store.booking_by_id(id).await?,
            None => None,
        };
        Ok(TicketParty {
            business,
            name: booking
                .as_ref()
                .map(|b| wujing_domain::text::mask_person_name(&b.name)),
            id_number: booking
                .as_ref()
                .map(|b| wujing_domain::idnum::mask_id_number(&b.id_number)),
        })
    }

    /// A leader acknowledges an alert and records what was done; audited.
    pub async fn acknowledge_alert(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        id: i64,
        outcome: &str,
    ) -> AppResult<()> {
        let a =
            self.store.alert(id).await?.ok_or_else(|| {
                AppError::new(Code::AlertNotFound, "没有这条提醒", "no such alert")
            })?;
        self.require(p, Action::Alerts, Some(&a.hall_id))?;
        let Principal::Staff(s) = p else {
            return Err(crate::authz::denied(p));
        };
        let outcome = outcome.trim();
        if outcome.is_empty() || outcome.chars().count() > 500 {
            return Err(AppError::new(
                Code::OutcomeRequired,
                "请填写处理结果（500字以内）",
                "record what was done (up to 500 characters)",
            ));
        }
        self.audit(
            &Actor::new(p, client_addr).in_hall(&a.hall_id),
            AdminChange::AcknowledgeAlert {
                id,
                staff_id: s.id,
                outcome: outcome.into(),
            },
            "alert.acknowledge",
            format!("alert:{id}"),
            None,
            json!({ "ticket": a.ticket_label, "window": a.window_number, "outcome": outcome }),
        )
        .await
        .map_err(|e| {
            if e.code == Code::AlertAcknowledged {
                AppError::new(
                    Code::AlertAcknowledged,
                    "该提醒已有人确认",
                    "someone has acknowledged this alert",
                )
            } else {
                e
            }
        })?;
        Ok(())
    }

    /// Escalates alerts nobody acknowledged in time to the organisation-wide supervisors and
    /// administrators; run by the sweeper. Returns how many were escalated.
    pub async fn escalate_alerts(&self) -> AppResult<u32> {
        let now = self.clock.now();
        let staff = self.store.staff_list().await?;
        let mut n = 0;
        for a in self.store.alerts(None, true).await? {
            if a.escalated_at.is_some() || a.created_at > now - self.config.hall.escalate_after {
                continue;
            }
            let body = format!(
                "【无境】升级提醒：{} {}号窗口 {} 的“不满意”评价已{}分钟无人确认。",
                a.hall_id,
                a.window_number,
                a.ticket_label,
                (now - a.created_at).num_minutes()
            );
            let pages: Vec<NewMessage> = pages_to(&staff, &a.hall_id, true)
                .into_iter()
                .map(|(id, phone)| {
                    message(
                        format!("escalate:{}:{id}", a.id),
                        &phone,
                        "alert",
                        body.clone(),
                        now,
                    )
                })
                .collect();
            if self.store.escalate_alert(a.id, now, &pages).await? {
                n += 1;
            }
        }
        Ok(n)
    }
}

/// The name a citizen-facing screen may show for an officer: the display name, unless it is
/// empty or only the log-in name again (compared without case or surrounding spaces).
fn public_name(username: &str, display_name: String) -> Option<String> {
    let shown = display_name.trim();
    (!shown.is_empty() && !shown.eq_ignore_ascii_case(username.trim())).then(|| shown.to_string())
}

#[cfg(test)]
mod public_name_tests {
    use super::public_name;

    #[test]
    fn a_citizen_never_sees_the_log_in_name() {
        assert_eq!(
            public_name("wang.li", "王丽".into()).as_deref(),
            Some("王丽")
        );
        assert_eq!(public_name("officer1", "officer1".into()), None);
        assert_eq!(public_name("officer1", " Officer1 ".into()), None);
        assert_eq!(public_name("officer1", "".into()), None);
    }
}
