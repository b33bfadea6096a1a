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
}

/// Who is paged: for an alert, the leaders and supervisors of the hall (or of every hall); for
/// an escalation, everyone organisation-wide among leaders, supervisors and administrators.
/// Only accounts with a phone and not disabled.
fn pages_to(staff: &[StaffAccount], hall: &str, escalation: bool) -> Vec<(i64, String)> {
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

    /// The ticket a window's rating terminal asks about: the window's last finished ticket of
    /// the last ten minutes.
    pub(crate) async fn ticket_to_rate(
        &self,
        p: &Principal,
        hall: &str,
        window: u32,
    ) -> AppResult<Option<Ticket>> {
        self.require(p, Action::Rate, Some(hall))?;
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
        Ok(alerts
            .into_iter()
            .map(|a| {
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
                    alert: a,
                }
            })
            .collect())
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
