//! Hall operations (M5): check-in, tickets, the counter's actions and the fee at the window.
//!
//! Every ticket number, call and payment is one atomic store call; this module decides who may
//! act where (an officer at a window of their hall, a kiosk of its hall), whether a booking may
//! check in now, which queues a window serves, and what a business costs.

use crate::admin::Actor;
use crate::authz::{Action, Principal};
use crate::{App, AppError, AppResult, ErrorKind};
use chrono::{NaiveDate, TimeDelta};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use wujing_domain::Pool;
use wujing_store::{AdminChange, NewPayment, NewTicket, Payment, ReconLine, Ticket, TicketMove};

/// Hall tunables.
#[derive(Debug, Clone, Copy)]
pub struct HallRules {
    /// Check-in opens this long before the appointment …
    pub checkin_early: TimeDelta,
    /// … and closes this long after it.
    pub checkin_late: TimeDelta,
    /// A called ticket is recalled at most this many times before it is marked missed.
    pub max_calls: u32,
}

impl Default for HallRules {
    fn default() -> Self {
        Self {
            checkin_early: TimeDelta::minutes(60),
            checkin_late: TimeDelta::minutes(30),
            max_calls: 3,
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckInInput {
    /// The booking code, or the slip's QR content `WUJING:<code>:<key>`.
    pub code: String,
    /// The applicant's identity number, checked against the booking (M3).
    pub id_number: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketView {
    pub id: i64,
    pub label: String,
    pub queue: String,
    pub status: String,
    pub business: String,
    pub window: Option<u32>,
    pub calls: u32,
    pub priority: i32,
    /// Tickets waiting ahead of this one in its queue.
    pub ahead: u32,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CounterAction {
    Recall,
    Start,
    Finish,
    NoShow,
    Requeue,
    Park,
    Unpark,
    TransferFirst { queue: String },
    TransferLast { queue: String },
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeeInput {
    /// `card`, `qr` or `cash`.
    pub method: String,
    /// The terminal's transaction reference (card slip or QR order number).
    pub reference: String,
}

fn queue_of(pool: Pool, foreigner: bool) -> (&'static str, i32) {
    match (pool, foreigner) {
        (Pool::Expedite, _) => ("E", 1),
        (_, true) => ("F", 0),
        _ => ("A", 0),
    }
}

/// The queues a window serves, by its kind.
pub fn queues_for(kind: &str) -> Vec<String> {
    match kind {
        "foreigners" => vec!["F".into()],
        "expedite" => vec!["E".into(), "A".into()],
        _ => vec!["E".into(), "A".into(), "W".into()],
    }
    .into_iter()
    .collect()
}

/// What a hall's display board opens with.
#[derive(Debug, Clone, Serialize)]
pub struct BoardState {
    pub hall_zh: String,
    pub hall_en: String,
    /// The latest calls, newest first: `(ticket, window)`.
    pub calls: Vec<(String, u32)>,
    /// Tickets waiting per queue.
    pub waiting: Vec<(String, usize)>,
}

fn state_error() -> AppError {
    AppError::new(
        ErrorKind::Conflict,
        "ticket_state",
        "该号当前状态不能执行此操作",
        "the ticket is not in a state that allows this",
    )
}

impl App {
    fn hall_day(&self) -> NaiveDate {
        self.clock.today()
    }

    /// The officer's window must exist in their hall.
    async fn window_kind(&self, p: &Principal, hall: &str, window: u32) -> AppResult<String> {
        self.require(p, Action::Counter, Some(hall))?;
        self.store
            .windows(hall)
            .await?
            .into_iter()
            .find(|w| w.number == window)
            .map(|w| w.kind)
            .ok_or_else(|| {
                AppError::not_found(
                    "window_not_found",
                    "该大厅没有这个窗口",
                    "no such window in this hall",
                )
            })
    }

    async fn ticket_view(&self, t: &Ticket) -> AppResult<TicketView> {
        let all = self.store.tickets_of_day(&t.hall_id, t.day).await?;
        let ahead = all
            .iter()
            .filter(|o| {
                o.queue == t.queue
                    && o.status == "waiting"
                    && (
                        o.priority,
                        std::cmp::Reverse(o.due_at),
                        std::cmp::Reverse(o.number),
                    ) > (
                        t.priority,
                        std::cmp::Reverse(t.due_at),
                        std::cmp::Reverse(t.number),
                    )
            })
            .count() as u32;
        Ok(TicketView {
            id: t.id,
            label: t.label.clone(),
            queue: t.queue.clone(),
            status: t.status.clone(),
            business: t.business.clone(),
            window: t.window_number,
            calls: t.calls,
            priority: t.priority,
            ahead,
        })
    }

    /// Checks a booking in at `hall`: only within the check-in window of its time, only with
    /// the identity it was booked for, and only once.
    pub async fn check_in(
        &self,
        p: &Principal,
        hall: &str,
        client_addr: Option<&str>,
        input: &CheckInInput,
    ) -> AppResult<TicketView> {
        self.require(p, Action::CheckIn, Some(hall))?;
        let raw = input.code.trim();
        let code = raw
            .strip_prefix("WUJING:")
            .map_or(raw, |r| r.split(':').next().unwrap_or(r))
            .to_ascii_uppercase();
        let not_found =
            || AppError::not_found("booking_not_found", "没有找到该预约", "no such booking");
        let b = self
            .store
            .booking_by_code(&code)
            .await?
            .ok_or_else(not_found)?;
        // A wrong identity looks like an unknown booking: the code alone reveals nothing.
        if !crate::auth::same_secret(&self.normalise_proof(&input.id_number), &b.id_number) {
            return Err(not_found());
        }
        if b.status.as_str() != "active" {
            return Err(AppError::new(
                ErrorKind::Conflict,
                "booking_not_active",
                "该预约已取消",
                "the booking is cancelled",
            ));
        }
        if b.slot.hall_id != hall {
            let h = self.hall(&b.slot.hall_id).await?;
            return Err(AppError::new(
                ErrorKind::Conflict,
                "wrong_hall",
                format!("该预约在{}办理", h.name_zh),
                format!("the booking is for {}", h.name_en),
            ));
        }
        let now = self.clock.now();
        let rules = self.config.hall;
        if now < b.slot.starts_at - rules.checkin_early {
            let opens = (b.slot.starts_at - rules.checkin_early)
                .with_timezone(&wujing_domain::calendar::china_offset());
            return Err(AppError::new(
                ErrorKind::Conflict,
                "checkin_too_early",
                format!("请于{}后签到", opens.format("%m-%d %H:%M")),
                format!("check-in opens at {}", opens.format("%m-%d %H:%M")),
            ));
        }
        if now > b.slot.starts_at + rules.checkin_late {
            return Err(AppError::new(
                ErrorKind::Conflict,
                "checkin_too_late",
                "已超过签到时间，请到咨询台改约或现场取号",
                "check-in has closed; reschedule or take a walk-in number at the information desk",
            ));
        }
        let foreigner = b.identity_key.starts_with("P:");
        let (queue, priority) = queue_of(b.slot.pool, foreigner);
        let t = self
            .store
            .issue_ticket(&NewTicket {
                hall_id: hall.into(),
                day: self.hall_day(),
                queue: queue.into(),
                booking_id: Some(b.id),
                business: b.business.clone(),
                identity_key: b.identity_key.clone(),
                kind: "appointment".into(),
                priority,
                due_at: b.slot.starts_at,
                now,
            })
            .await
            .map_err(|e| match e {
                wujing_store::StoreError::Refused(_) => AppError::new(
                    ErrorKind::Conflict,
                    "already_checked_in",
                    "该预约已签到，请留意叫号",
                    "this booking has checked in already; wait for your number",
                ),
                other => other.into(),
            })?;
        // Kiosk and reception check-ins are recorded against the citizen.
        if !matches!(p, Principal::Anonymous) {
            self.audit(
                &Actor::new(p, client_addr),
                AdminChange::None,
                "ticket.check_in",
                format!("booking:{}", b.code),
                Some(b.identity_key.clone()),
                json!({ "ticket": t.label }),
            )
            .await?;
        }
        self.ticket_view(&t).await
    }

    /// The next citizen for the officer's window.
    pub async fn call_next(
        &self,
        p: &Principal,
        hall: &str,
        window: u32,
    ) -> AppResult<Option<TicketView>> {
        let kind = self.window_kind(p, hall, window).await?;
        let Principal::Staff(s) = p else {
            return Err(crate::authz::denied(p));
        };
        match self
            .store
            .call_next(
                hall,
                self.hall_day(),
                &queues_for(&kind),
                window,
                s.id,
                self.clock.now(),
            )
            .await?
        {
            Some(t) => {
                self.announce(&t).await;
                Ok(Some(self.ticket_view(&t).await?))
            }
            None => Ok(None),
        }
    }

    /// Tells every board and console of the hall, on every app server, that a ticket is called.
    async fn announce(&self, t: &Ticket) {
        let e = json!({ "hall": t.hall_id, "label": t.label, "window": t.window_number, "calls": t.calls });
        if let Err(e) = self.store.publish(&e.to_string()).await {
            // A board misses one call; the call itself stands.
            tracing::warn!(error = %e, "call announcement failed");
        }
    }

    /// Calls of every hall, as they happen (JSON objects with `hall`, `label`, `window`).
    pub fn hall_events(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.store.subscribe()
    }

    /// The board's opening state: the latest calls and the number waiting per queue.
    pub async fn board(&self, hall: &str) -> AppResult<BoardState> {
        let h = self.hall(hall).await?;
        let tickets = self.store.tickets_of_day(hall, self.hall_day()).await?;
        let mut called: Vec<&Ticket> = tickets
            .iter()
            .filter(|t| t.called_at.is_some() && t.window_number.is_some())
            .collect();
        called.sort_by_key(|t| std::cmp::Reverse(t.called_at));
        let calls = called
            .iter()
            .take(8)
            .map(|t| (t.label.clone(), t.window_number.unwrap_or_default()))
            .collect();
        let mut waiting: std::collections::BTreeMap<String, usize> = Default::default();
        for t in tickets.iter().filter(|t| t.status == "waiting") {
            *waiting.entry(t.queue.clone()).or_default() += 1;
        }
        Ok(BoardState {
            hall_zh: h.name_zh,
            hall_en: h.name_en,
            calls,
            waiting: waiting.into_iter().collect(),
        })
    }

    pub async fn counter_action(
        &self,
        p: &Principal,
        hall: &str,
        window: u32,
        ticket_id: i64,
        a: &CounterAction,
    ) -> AppResult<TicketView> {
        self.window_kind(p, hall, window).await?;
        let t = self
            .store
            .ticket(ticket_id)
            .await?
            .filter(|t| t.hall_id == hall)
            .ok_or_else(|| {
                AppError::not_found("ticket_not_found", "没有这个号", "no such ticket")
            })?;
        let m = match a {
            CounterAction::Recall => TicketMove::Recall {
                max_calls: self.config.hall.max_calls,
            },
            CounterAction::Start => TicketMove::Start,
            CounterAction::Finish => TicketMove::Finish,
            CounterAction::NoShow => TicketMove::NoShow,
            CounterAction::Requeue => TicketMove::Requeue,
            CounterAction::Park => TicketMove::Park,
            CounterAction::Unpark => TicketMove::Unpark,
            CounterAction::TransferFirst { queue } | CounterAction::TransferLast { queue } => {
                if !["A", "E", "F", "W"].contains(&queue.as_str()) {
                    return Err(AppError::invalid(
                        "queue_invalid",
                        "队列须为 A、E、F 或 W",
                        "the queue must be A, E, F or W",
                    ));
                }
                TicketMove::Transfer {
                    queue: queue.clone(),
                    first: matches!(a, CounterAction::TransferFirst { .. }),
                }
            }
        };
        let moved = self
            .store
            .move_ticket(t.id, window, &m, self.clock.now())
            .await
            .map_err(|e| match e {
                wujing_store::StoreError::Refused(_) => state_error(),
                other => other.into(),
            })?;
        if moved.status == "called" {
            self.announce(&moved).await;
        }
        self.ticket_view(&moved).await
    }

    /// The fee of a ticket: what its booking recorded from the versioned schedule on the visit
    /// date, or for a walk-in the schedule's flat fee on the hall's day.
    pub async fn fee_of(&self, t: &Ticket) -> AppResult<u32> {
        let booked = match t.booking_id {
            Some(id) => self.store.booking_by_id(id).await?.and_then(|b| b.fee_yuan),
            None => None,
        };
        Ok(booked
            .or_else(|| {
                self.catalogue
                    .terms(&t.business, t.day)
                    .and_then(|x| x.fee_for(None))
            })
            .unwrap_or(0))
    }

    /// Takes the fee at the window: amount from the schedule, method and reference from the
    /// window's terminal, a numbered receipt; audited.
    pub async fn take_fee(
        &self,
        p: &Principal,
        hall: &str,
        window: u32,
        client_addr: Option<&str>,
        ticket_id: i64,
        f: &FeeInput,
    ) -> AppResult<Payment> {
        self.window_kind(p, hall, window).await?;
        let Principal::Staff(s) = p else {
            return Err(crate::authz::denied(p));
        };
        if !["card", "qr", "cash"].contains(&f.method.as_str()) {
            return Err(AppError::invalid(
                "method_invalid",
                "付款方式须为 card、qr 或 cash",
                "the method must be card, qr or cash",
            ));
        }
        let reference = f.reference.trim();
        if f.method != "cash" && (reference.is_empty() || reference.len() > 64) {
            return Err(AppError::invalid(
                "reference_required",
                "请填写终端交易参考号",
                "enter the terminal's transaction reference",
            ));
        }
        let t = self
            .store
            .ticket(ticket_id)
            .await?
            .filter(|t| {
                t.hall_id == hall && t.window_number == Some(window) && t.status == "serving"
            })
            .ok_or_else(state_error)?;
        let amount = self.fee_of(&t).await?;
        let pay = self
            .store
            .record_payment(&NewPayment {
                ticket_id,
                amount_yuan: amount,
                method: f.method.clone(),
                reference: reference.into(),
                window_number: window,
                officer_id: s.id,
                now: self.clock.now(),
            })
            .await
            .map_err(|e| match e {
                wujing_store::StoreError::Refused(_) => AppError::new(
                    ErrorKind::Conflict,
                    "already_paid",
                    "该号已缴费",
                    "this ticket has been paid",
                ),
                other => other.into(),
            })?;
        self.audit(
            &Actor {
                station: Some(format!("window:{window}")),
                ..Actor::new(p, client_addr)
            },
            AdminChange::None,
            "payment.record",
            format!("ticket:{}", t.label),
            Some(t.identity_key.clone()),
            json!({ "receipt": pay.receipt_no, "amount_yuan": amount, "method": f.method }),
        )
        .await?;
        Ok(pay)
    }

    /// The day's payments per window and method.
    pub async fn reconciliation(
        &self,
        p: &Principal,
        hall: &str,
        day: Option<NaiveDate>,
    ) -> AppResult<Vec<ReconLine>> {
        self.require(p, Action::Reconcile, Some(hall))?;
        Ok(self
            .store
            .reconciliation(hall, day.unwrap_or_else(|| self.hall_day()))
            .await?)
    }

    /// The hall's tickets of today, for consoles and boards.
    pub async fn hall_tickets(&self, p: &Principal, hall: &str) -> AppResult<Vec<TicketView>> {
        self.require(p, Action::Counter, Some(hall))?;
        let mut out = Vec::new();
        for t in self.store.tickets_of_day(hall, self.hall_day()).await? {
            out.push(self.ticket_view(&t).await?);
        }
        Ok(out)
    }
}
