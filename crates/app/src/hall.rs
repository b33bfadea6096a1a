//! Hall operations (M5): check-in, tickets, the counter's actions and the fee at the window.
//!
//! Every ticket number, call and payment is one atomic store call; this module decides who may
//! act where (an officer at a window of their hall, a kiosk of its hall), whether a booking may
//! check in now, which queues a window serves, and what a business costs.

use crate::admin::Actor;
use crate::authz::{Action, Principal};
use crate::{App, AppError, AppResult, Code};
use crate::{Application, Payment, ReconLine, UrgentRequest};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use wujing_domain::Pool;
use wujing_store::{AdminChange, BookingStatus, NewPayment, NewTicket, Ticket, TicketMove};

/// Hall tunables.
#[derive(Debug, Clone, Copy)]
pub struct HallRules {
    /// Check-in opens this long before the appointment …
    pub checkin_early: TimeDelta,
    /// … and closes this long after it.
    pub checkin_late: TimeDelta,
    /// A called ticket is recalled at most this many times before it is marked missed.
    pub max_calls: u32,
    /// An alert nobody acknowledged within this long is escalated organisation-wide.
    pub escalate_after: TimeDelta,
}

impl Default for HallRules {
    fn default() -> Self {
        Self {
            checkin_early: TimeDelta::minutes(60),
            checkin_late: TimeDelta::minutes(30),
            max_calls: 3,
            escalate_after: TimeDelta::minutes(10),
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckInInput {
    /// The booking code, or the slip's QR content `WUJING:<code>:<key>`; absent at reception,
    /// where today's booking at this hall is found by the identity number.
    #[serde(default)]
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
    /// Tickets waiting in each queue the hall's windows serve, with what its letter means.
    pub waiting: Vec<Waiting>,
    /// Now, for the board's clock (which keeps hall time whatever the display PC's own clock
    /// and zone say).
    pub now: DateTime<Utc>,
}

/// One queue on the board: its letter, its meaning and how many wait in it.
#[derive(Debug, Clone, Serialize)]
pub struct Waiting {
    pub queue: String,
    pub zh: &'static str,
    pub en: &'static str,
    pub count: usize,
}

/// One payment of a day, as the reconciliation shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DayPaymentView {
    pub receipt_no: String,
    pub ticket: String,
    pub window: u32,
    /// The officer who took it, by name.
    pub officer: String,
    /// `card`, `qr` or `cash`.
    pub method: String,
    pub reference: String,
    pub amount_yuan: u32,
    /// Hall time, `HH:MM:SS`.
    pub paid_at: String,
    pub refunded_at: Option<String>,
}

/// A ticket's state in words (Chinese, English), for every screen that shows one.
pub fn ticket_status_words(status: &str) -> (&'static str, &'static str) {
    match status {
        "waiting" => ("等候中", "waiting"),
        "called" => ("已叫号", "called"),
        "serving" => ("受理中", "serving"),
        "done" => ("已办结", "done"),
        "parked" => ("暂挂", "parked"),
        "missed" => ("过号", "missed"),
        _ => ("其他", "other"),
    }
}

/// What a queue letter means, for the board's legend.
pub fn queue_meaning(queue: &str) -> (&'static str, &'static str) {
    match queue {
        "A" => ("预约", "Appointments"),
        "E" => ("加急", "Expedited"),
        "F" => ("外国人", "Foreigners"),
        "W" => ("现场取号", "Walk-ins"),
        _ => ("其他", "Other"),
    }
}

/// A ticket as consoles and kiosks show it, with the tickets waiting ahead of it in its queue
/// (the calling order: priority, then due time, then number).
fn view_in(t: &Ticket, day: &[Ticket]) -> TicketView {
    let key = |x: &Ticket| (std::cmp::Reverse(x.priority), x.due_at, x.number);
    let ahead = day
        .iter()
        .filter(|o| o.queue == t.queue && o.status == "waiting" && key(o) < key(t))
        .count() as u32;
    TicketView {
        id: t.id,
        label: t.label.clone(),
        queue: t.queue.clone(),
        status: t.status.clone(),
        business: t.business.clone(),
        window: t.window_number,
        calls: t.calls,
        priority: t.priority,
        ahead,
    }
}

fn already_checked_in() -> AppError {
    AppError::new(
        Code::AlreadyCheckedIn,
        "该预约已签到，请留意叫号",
        "this booking has checked in already; wait for your number",
    )
}

impl App {
    /// The channel of a ticket issued or an application accepted at `hall`: its staff (the
    /// counter, or the police station's own channel at a police-station site), its kiosk, or
    /// the citizen's own device.
    async fn site_channel(&self, p: &Principal, hall: &str) -> AppResult<&'static str> {
        let police_station =
            self.hall_by_id(hall).await?.kind == wujing_domain::SiteKind::PoliceStation;
        Ok(crate::channels::of_site_request(p, police_station).as_str())
    }
}

fn state_error() -> AppError {
    AppError::new(
        Code::TicketState,
        "该号当前状态不能执行此操作",
        "the ticket is not in a state that allows this",
    )
}

impl App {
    pub(crate) fn hall_day(&self) -> NaiveDate {
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
                AppError::new(
                    Code::WindowNotFound,
                    "该大厅没有这个窗口",
                    "no such window in this hall",
                )
            })
    }

    async fn ticket_view(&self, t: &Ticket) -> AppResult<TicketView> {
        let day = self.store.tickets_of_day(&t.hall_id, t.day).await?;
        Ok(view_in(t, &day))
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
        let r = self.check_in_once(p, hall, client_addr, input).await?;
        self.count_use(p, "check_in").await;
        Ok(r)
    }

    /// The number ticket a kiosk just issued, as a PDF for the bridge's printer (docs/KIOSK.md
    /// §5, `print`): the hall, the number, the business and when it was issued, nothing about
    /// the citizen. Only on the ticket's day, and only for whoever may check in at its hall: a
    /// kiosk prints its own hall's tickets, never another hall's or yesterday's.
    pub async fn kiosk_ticket_pdf(&self, p: &Principal, id: i64) -> AppResult<Vec<u8>> {
        // Who may check in at a hall may print its tickets: its kiosks, and reception.
        self.require(p, Action::CheckIn, None)?;
        let t = self
            .store
            .ticket(id)
            .await?
            .filter(|t| t.day == self.hall_day())
            .ok_or_else(|| AppError::from(Code::TicketNotFound))?;
        self.require(p, Action::CheckIn, Some(&t.hall_id))?;
        self.ticket_pdf(&t).await
    }

    /// The ticket's PDF, for whoever was already allowed it (the check-in kiosk above, the
    /// 证件通 for the ticket it just issued).
    pub(crate) async fn ticket_pdf(&self, t: &Ticket) -> AppResult<Vec<u8>> {
        let h = self.hall(&t.hall_id).await?;
        let business = self
            .catalogue
            .business(&t.business)
            .map_or(t.business.clone(), |b| {
                format!("{} {}", b.name_zh, b.name_en)
            });
        let issued = t
            .created_at
            .with_timezone(&wujing_domain::calendar::china_offset());
        let form = wujing_forms::Form {
            title: format!("排队号 {}", t.label),
            subtitle: format!("Ticket {} · {}", t.label, h.name_en),
            rows: vec![
                ("号 Number".into(), t.label.clone()),
                ("大厅 Hall".into(), h.name_zh.clone()),
                ("业务 Business".into(), business),
                (
                    "取号时间 Issued".into(),
                    issued.format("%Y-%m-%d %H:%M").to_string(),
                ),
            ],
            notes: vec![
                "请在等候区休息，留意叫号屏和广播。".into(),
                "Please take a seat and watch the board.".into(),
            ],
            language: "zh-CN".into(),
        };
        self.render_form(form).await
    }

    async fn check_in_once(
        &self,
        p: &Principal,
        hall: &str,
        client_addr: Option<&str>,
        input: &CheckInInput,
    ) -> AppResult<TicketView> {
        self.require(p, Action::CheckIn, Some(hall))?;
        let b = self.booking_to_check_in(hall, input).await?;
        self.check_in_booking(p, hall, client_addr, b).await
    }

    /// The booking a check-in names: by its code (and the identity it was booked for), or at
    /// reception today's booking here of the identity card read.
    async fn booking_to_check_in(
        &self,
        hall: &str,
        input: &CheckInInput,
    ) -> AppResult<wujing_store::Booking> {
        let code = wujing_domain::slip::code_from_scan(&input.code);
        let not_found =
            || AppError::new(Code::BookingNotFound, "没有找到该预约", "no such booking");
        let b = if code.is_empty() {
            // At reception: the identity card is read and today's booking here is found.
            let id = self.parse_resident_id(&input.id_number)?;
            let today = self.hall_day();
            self.store
                .active_bookings_of(&self.identity_key(&wujing_domain::Identity::Resident(id)))
                .await?
                .into_iter()
                .find(|b| b.slot.hall_id == hall && b.slot.day == today)
                .ok_or_else(not_found)?
        } else {
            self.store
                .booking_by_code(&code)
                .await?
                .ok_or_else(not_found)?
        };
        // A wrong identity looks like an unknown booking: the code alone reveals nothing.
        if !crate::auth::same_secret(&self.normalise_proof(&input.id_number), &b.id_number) {
            return Err(not_found());
        }
        Ok(b)
    }

    /// Checks the booking `b` in at `hall` for `p`, who was already allowed to (a check-in
    /// kiosk or reception by [`Action::CheckIn`], a 证件通 by its own right): whatever found
    /// the booking, the same rules — active, this hall, a business the site still offers, the
    /// check-in window of its time — the same queue, ticket, audit entry and board update.
    pub(crate) async fn check_in_booking(
        &self,
        p: &Principal,
        hall: &str,
        client_addr: Option<&str>,
        b: wujing_store::Booking,
    ) -> AppResult<TicketView> {
        match b.status {
            BookingStatus::Active => {}
            BookingStatus::Used => return Err(already_checked_in()),
            BookingStatus::Cancelled => {
                return Err(AppError::new(
                    Code::BookingNotActive,
                    "该预约已取消",
                    "the booking is cancelled",
                ))
            }
        }
        if b.slot.hall_id != hall {
            let h = self.hall(&b.slot.hall_id).await?;
            return Err(AppError::new(
                Code::WrongHall,
                format!("该预约在{}办理", h.name_zh),
                format!("the booking is for {}", h.name_en),
            ));
        }
        // A site that stopped offering the business since the booking cannot serve it (the
        // ticket's insert is refused by the database as well).
        let site = self.hall_by_id(hall).await?;
        if !site.offers(&b.business) {
            return Err(crate::views::not_offered(&site, &b.business));
        }
        let now = self.clock.now();
        let rules = self.config.hall;
        if now < b.slot.starts_at - rules.checkin_early {
            let opens = (b.slot.starts_at - rules.checkin_early)
                .with_timezone(&wujing_domain::calendar::china_offset());
            return Err(AppError::new(
                Code::CheckinTooEarly,
                format!("请于{}后签到", opens.format("%m-%d %H:%M")),
                format!("check-in opens at {}", opens.format("%m-%d %H:%M")),
            ));
        }
        if now > b.slot.starts_at + rules.checkin_late {
            return Err(AppError::new(
                Code::CheckinTooLate,
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
                // The booking is used only if it is still at the slot judged above: a
                // reschedule meanwhile makes this check-in fail rather than use the new time.
                booking_slot_id: Some(b.slot.id),
                business: b.business.clone(),
                identity_key: b.identity_key.clone(),
                kind: "appointment".into(),
                channel: self.site_channel(p, hall).await?.into(),
                priority,
                due_at: b.slot.starts_at,
                now,
            })
            .await
            .map_err(|e| match e {
                wujing_store::StoreError::Refused(_) => already_checked_in(),
                wujing_store::StoreError::BookingNotActive => AppError::new(
                    Code::BookingNotActive,
                    "该预约已改约或取消，请以新的预约凭证为准",
                    "the booking was moved or cancelled meanwhile; use its current slip",
                ),
                other => other.into(),
            })?;
        // Kiosk and reception check-ins are recorded against the citizen.
        if !matches!(p, Principal::Anonymous) {
            self.audit(
                &Actor::new(p, client_addr).in_hall(&t.hall_id),
                AdminChange::RecordOnly,
                "ticket.check_in",
                format!("booking:{}", b.code),
                Some(b.identity_key.clone()),
                json!({ "ticket": t.label }),
            )
            .await?;
        }
        self.announce_waiting(hall).await;
        self.ticket_view(&t).await
    }

    /// The next citizen for the officer's window (audited: `ticket.call`).
    ///
    /// Calls and the counter's moves are audited right after they succeed, in a transaction of
    /// their own, as check-ins, acceptances and payments are: each is one dialect-specific
    /// conditional statement (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the writer on SQLite)
    /// outside the shared `AdminChange` statements, and which ticket (hence which citizen) a
    /// call takes is known only from its result, while `apply_admin` takes its entry ready-made.
    /// A failure to record answers an error although the move stands; the officer sees it.
    pub async fn call_next(
        &self,
        p: &Principal,
        hall: &str,
        window: u32,
        client_addr: Option<&str>,
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
                // The call stands whatever happens next, so the boards hear of it first.
                self.announce(&t).await;
                self.audit(
                    &Actor::at_window(p, client_addr, window).in_hall(&t.hall_id),
                    AdminChange::RecordOnly,
                    "ticket.call",
                    format!("ticket:{}", t.label),
                    Some(t.identity_key.clone()),
                    json!({ "queue": t.queue }),
                )
                .await?;
                Ok(Some(self.ticket_view(&t).await?))
            }
            None => Ok(None),
        }
    }

    /// Tells every board and console of the hall, on every app server, that a ticket is called.
    /// The event carries the queues' new counts too, so a board's waiting numbers move with
    /// its calls.
    async fn announce(&self, t: &Ticket) {
        let waiting = self.waiting_counts(&t.hall_id).await.unwrap_or_default();
        let e = json!({ "hall": t.hall_id, "label": t.label, "window": t.window_number, "calls": t.calls, "waiting": waiting });
        if let Err(e) = self.store.publish(&e.to_string()).await {
            // A board misses one call; the call itself stands.
            tracing::warn!(error = %e, "call announcement failed");
        }
    }

    /// Tells the hall's boards that a queue grew (a check-in or a walk-in): an event with the
    /// queues' counts and no call.
    async fn announce_waiting(&self, hall: &str) {
        let Ok(waiting) = self.waiting_counts(hall).await else {
            return;
        };
        let e = json!({ "hall": hall, "waiting": waiting });
        if let Err(e) = self.store.publish(&e.to_string()).await {
            tracing::warn!(error = %e, "queue announcement failed");
        }
    }

    /// The tickets waiting in each of the hall's queues (appointments, expedited, walk-ins,
    /// and foreigners where the hall serves them; empty ones included, in letter order).
    async fn waiting_counts(&self, hall: &str) -> AppResult<Vec<Waiting>> {
        let h = self.hall_by_id(hall).await?;
        let tickets = self.store.tickets_of_day(hall, self.hall_day()).await?;
        let mut counts: std::collections::BTreeMap<String, usize> = ["A", "E", "W"]
            .into_iter()
            .chain(h.serves_foreigners.then_some("F"))
            .map(|q| (q.to_string(), 0))
            .collect();
        for t in tickets.iter().filter(|t| t.status == "waiting") {
            *counts.entry(t.queue.clone()).or_default() += 1;
        }
        Ok(counts
            .into_iter()
            .map(|(queue, count)| {
                let (zh, en) = queue_meaning(&queue);
                Waiting {
                    queue,
                    zh,
                    en,
                    count,
                }
            })
            .collect())
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
        Ok(BoardState {
            hall_zh: h.name_zh,
            hall_en: h.name_en,
            calls,
            waiting: self.waiting_counts(hall).await?,
            now: self.clock.now(),
        })
    }

    /// Moves a ticket at the officer's window; audited as `ticket.<move>` right after it
    /// succeeds (see [`App::call_next`] for why not in the same transaction).
    pub async fn counter_action(
        &self,
        p: &Principal,
        hall: &str,
        window: u32,
        client_addr: Option<&str>,
        ticket_id: i64,
        a: &CounterAction,
    ) -> AppResult<TicketView> {
        self.window_kind(p, hall, window).await?;
        let t = self
            .store
            .ticket(ticket_id)
            .await?
            .filter(|t| t.hall_id == hall)
            .ok_or_else(|| AppError::new(Code::TicketNotFound, "没有这个号", "no such ticket"))?;
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
                    return Err(AppError::new(
                        Code::QueueInvalid,
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
        let (action, mut detail) = match a {
            CounterAction::Recall => ("ticket.recall", json!({})),
            CounterAction::Start => ("ticket.start", json!({})),
            CounterAction::Finish => ("ticket.finish", json!({})),
            CounterAction::NoShow => ("ticket.no_show", json!({})),
            CounterAction::Requeue => ("ticket.requeue", json!({})),
            CounterAction::Park => ("ticket.park", json!({})),
            CounterAction::Unpark => ("ticket.unpark", json!({})),
            CounterAction::TransferFirst { queue } | CounterAction::TransferLast { queue } => (
                "ticket.transfer",
                json!({ "from": t.queue, "to": queue,
                        "first": matches!(a, CounterAction::TransferFirst { .. }) }),
            ),
        };
        // The move stands whatever happens next, so the boards hear of a call first.
        if moved.status == "called" {
            self.announce(&moved).await;
        }
        // A recall beyond the limit turns into a miss: the entry says what came of the move.
        detail["status"] = json!(moved.status);
        self.audit(
            &Actor::at_window(p, client_addr, window).in_hall(&moved.hall_id),
            AdminChange::RecordOnly,
            action,
            format!("ticket:{}", moved.label),
            Some(moved.identity_key.clone()),
            detail,
        )
        .await?;
        self.ticket_view(&moved).await
    }

    /// The fee of a ticket: what its booking recorded from the versioned schedule on the visit
    /// date, or for a walk-in the schedule's flat fee on the hall's day.
    pub(crate) async fn fee_of(&self, t: &Ticket) -> AppResult<u32> {
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
            return Err(AppError::new(
                Code::MethodInvalid,
                "付款方式须为 card、qr 或 cash",
                "the method must be card, qr or cash",
            ));
        }
        let reference = f.reference.trim();
        if f.method != "cash" && (reference.is_empty() || reference.len() > 64) {
            return Err(AppError::new(
                Code::ReferenceRequired,
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
                wujing_store::StoreError::Refused(_) => {
                    AppError::new(Code::AlreadyPaid, "该号已缴费", "this ticket has been paid")
                }
                other => other.into(),
            })?;
        self.audit(
            &Actor::at_window(p, client_addr, window).in_hall(&t.hall_id),
            AdminChange::RecordOnly,
            "payment.record",
            format!("ticket:{}", t.label),
            Some(t.identity_key.clone()),
            json!({ "receipt": pay.receipt_no, "amount_yuan": amount, "method": f.method }),
        )
        .await?;
        Ok(pay.into())
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
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Every payment of a hall's day, refunded ones included, with the officer's name and the
    /// times in hall time: the reconciliation's transactions.
    pub async fn day_payments(
        &self,
        p: &Principal,
        hall: &str,
        day: NaiveDate,
    ) -> AppResult<Vec<DayPaymentView>> {
        self.require(p, Action::Reconcile, Some(hall))?;
        self.hall_by_id(hall).await?;
        let staff = self.store.staff_list().await?;
        let local = |t: DateTime<Utc>| {
            t.with_timezone(&wujing_domain::calendar::china_offset())
                .format("%H:%M:%S")
                .to_string()
        };
        Ok(self
            .store
            .payments_of_day(hall, day)
            .await?
            .into_iter()
            .map(|d| DayPaymentView {
                receipt_no: d.payment.receipt_no,
                ticket: d.ticket_label,
                window: d.payment.window_number,
                officer: staff
                    .iter()
                    .find(|s| s.id == d.payment.officer_id)
                    .map_or_else(String::new, |s| s.display_name.clone()),
                method: d.payment.method,
                reference: d.payment.reference,
                amount_yuan: d.payment.amount_yuan,
                paid_at: local(d.payment.paid_at),
                refunded_at: d.refunded_at.map(local),
            })
            .collect())
    }

    /// The day's transactions as CSV (UTF-8 with a byte-order mark, so that a spreadsheet
    /// opens the Chinese headings right). The export is audited: it leaves the system.
    pub async fn day_payments_csv(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        hall: &str,
        day: NaiveDate,
    ) -> AppResult<String> {
        let rows = self.day_payments(p, hall, day).await?;
        let mut out = String::from(
            "\u{feff}收据号 receipt,号 ticket,窗口 window,工作人员 officer,方式 method,交易参考号 reference,金额（元）amount,时间 paid at,退款时间 refunded at\r\n",
        );
        for r in &rows {
            let cells = [
                r.receipt_no.clone(),
                r.ticket.clone(),
                r.window.to_string(),
                r.officer.clone(),
                r.method.clone(),
                r.reference.clone(),
                r.amount_yuan.to_string(),
                r.paid_at.clone(),
                r.refunded_at.clone().unwrap_or_default(),
            ];
            let line: Vec<String> = cells
                .iter()
                .map(|c| wujing_domain::text::csv_cell(c))
                .collect();
            out.push_str(&line.join(","));
            out.push_str("\r\n");
        }
        self.audit(
            &Actor::new(p, client_addr).in_hall(hall),
            AdminChange::RecordOnly,
            "reconciliation.export",
            format!("hall:{hall}:{day}"),
            None,
            json!({ "rows": rows.len() }),
        )
        .await?;
        Ok(out)
    }

    /// Everything the counter console shows about the ticket being served: who booked (masked),
    /// the fee due, the materials to check, the application if accepted, whether it is paid.
    ///
    /// Not audited itself: it shows the case of the ticket this window called (its officer's
    /// `ticket.call` is in the trail) each time the console is drawn, and an entry per redraw
    /// would bury the trail without saying more.
    pub async fn counter_case(
        &self,
        p: &Principal,
        hall: &str,
        ticket_id: i64,
    ) -> AppResult<CounterCase> {
        self.require(p, Action::Counter, Some(hall))?;
        let ticket = self
            .store
            .ticket(ticket_id)
            .await?
            .filter(|t| t.hall_id == hall)
            .ok_or_else(|| AppError::from(Code::TicketNotFound))?;
        let applicant = match ticket.booking_id {
            Some(id) => match self.store.booking_by_id(id).await? {
                Some(b) => Some(self.booking_view(&b).await?),
                None => None,
            },
            None => None,
        };
        Ok(CounterCase {
            applicant,
            fee: self.fee_of(&ticket).await?,
            materials: self.materials_of(&ticket.business),
            application: self.store.application_of(ticket_id).await?.map(Into::into),
            paid: self.store.payment_of(ticket_id).await?.is_some(),
        })
    }

    /// The documents a business asks the applicant to bring, as the officer checks them.
    fn materials_of(&self, business: &str) -> Vec<&'static str> {
        self.catalogue
            .business(business)
            .map(wujing_domain::documents::to_bring)
            .unwrap_or_default()
            .into_iter()
            .map(|i| i.zh)
            .collect()
    }

    /// Accepts the application with the materials the officer ticked as presented: whatever
    /// the business asks for and was not ticked is missing, and the application waits for it.
    pub async fn accept_presented(
        &self,
        p: &Principal,
        hall: &str,
        window: u32,
        client_addr: Option<&str>,
        ticket_id: i64,
        presented: &Presented,
    ) -> AppResult<Application> {
        let ticket = self
            .store
            .ticket(ticket_id)
            .await?
            .ok_or_else(|| AppError::from(Code::TicketNotFound))?;
        let missing = self
            .materials_of(&ticket.business)
            .into_iter()
            .filter(|m| !presented.present.iter().any(|x| x == m))
            .map(String::from)
            .collect();
        self.accept_application(
            p,
            hall,
            window,
            client_addr,
            ticket_id,
            &AcceptInput {
                missing,
                collection: presented.collection.clone(),
            },
        )
        .await
    }

    /// The hall's tickets of today, for consoles and boards.
    pub async fn hall_tickets(&self, p: &Principal, hall: &str) -> AppResult<Vec<TicketView>> {
        self.require(p, Action::Counter, Some(hall))?;
        // One read of the day serves every ticket's place in line.
        let day = self.store.tickets_of_day(hall, self.hall_day()).await?;
        Ok(day.iter().map(|t| view_in(t, &day)).collect())
    }
}

/// Reasons the leader post accepts for an urgent case (RULES.md §5).
pub const URGENT_REASONS: &[(&str, &str, &str)] = &[
    ("funeral", "奔丧", "funeral"),
    (
        "critically_ill_relative",
        "探望危重病人",
        "critically ill relative",
    ),
    (
        "permit_expiring",
        "签证或入境许可即将到期",
        "visa or entry permit about to expire",
    ),
    (
        "urgent_business",
        "紧急商务（会议、谈判、签约）",
        "urgent meeting, negotiation or contract",
    ),
    ("study_start", "开学在即", "study start date near"),
    (
        "lost_before_departure",
        "出境前证件遗失",
        "documents lost just before departure",
    ),
    ("other", "其他经认可的理由", "other accepted reason"),
];

use wujing_domain::application::Processing;
pub use wujing_domain::application::EXPEDITED_WORKING_DAYS;
/// Calendar days to bring a missing document.
pub const SUPPLEMENT_DAYS: i64 = 15;

/// What the counter console's acceptance form says: the materials ticked as brought, and how
/// the document is to reach the applicant.
#[derive(Debug, Clone, Default)]
pub struct Presented {
    pub present: Vec<String>,
    pub collection: Option<crate::lifecycle::CollectionInput>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInput {
    /// Materials still to bring (by their names on the checklist); empty: complete.
    #[serde(default)]
    pub missing: Vec<String>,
    /// How the applicant will receive the document; default: at a counter of this hall. The
    /// citizen can still change it online until the document leaves.
    #[serde(default)]
    pub collection: Option<crate::lifecycle::CollectionInput>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UrgentInput {
    pub reason: String,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WalkInInput {
    pub business: String,
    pub name: String,
    /// `resident_id` (default) or `foreign_passport`.
    #[serde(default)]
    pub id_type: Option<String>,
    /// Resident ID number, or the passport number for foreigners.
    pub id_number: String,
    /// Foreigners: nationality as an ISO 3166-1 alpha-3 code.
    #[serde(default)]
    pub nationality: Option<String>,
    /// Foreigners: date of birth.
    #[serde(default)]
    pub birth_date: Option<NaiveDate>,
    /// The business's questions, as in a booking (e.g. `option` for an endorsement,
    /// `renewal_reason` for a renewal): the same rules decide a walk-in as a booking.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub answers: wujing_domain::Answers,
}

impl App {
    /// The date an application accepted on `from` is due: working days on the calendar the
    /// store keeps (holidays closed, make-up days open), RULES.md §5.
    async fn due_date(&self, from: NaiveDate, p: Processing) -> AppResult<NaiveDate> {
        let declared = self
            .store
            .calendar_days(from, from + TimeDelta::days(p.horizon_days()))
            .await?;
        Ok(wujing_domain::application::due_date(from, p, &declared))
    }

    /// Whether the ticket's applicant is registered (户籍) outside the province, by the
    /// registry's record of the booked identity, or for a walk-in by the scope kept on its
    /// ticket at issue (the ticket keeps no identity number). An identity without a record is
    /// taken as local: the ordinary time.
    async fn cross_province(&self, t: &wujing_store::Ticket) -> AppResult<bool> {
        let Some(id) = t.booking_id else {
            return Ok(t.hukou_scope.as_deref() == Some("cross_province"));
        };
        let Some(b) = self.store.booking_by_id(id).await? else {
            return Ok(false);
        };
        if b.id_kind != wujing_store::IdKind::ResidentId {
            return Ok(false);
        }
        Ok(self
            .store
            .person(&b.id_number)
            .await?
            .is_some_and(|p| wujing_domain::application::is_cross_province(&p.hukou_city)))
    }

    /// Accepts the application of the ticket being served: complete, or pending a supplement
    /// with a deadline when `missing` lists materials (M5). Audited.
    pub async fn accept_application(
        &self,
        p: &Principal,
        hall: &str,
        window: u32,
        client_addr: Option<&str>,
        ticket_id: i64,
        a: &AcceptInput,
    ) -> AppResult<Application> {
        self.window_kind(p, hall, window).await?;
        let Principal::Staff(s) = p else {
            return Err(crate::authz::denied(p));
        };
        let t = self
            .store
            .ticket(ticket_id)
            .await?
            .filter(|t| t.hall_id == hall)
            .ok_or_else(state_error)?;
        let site = self.hall_by_id(hall).await?;
        if !site.offers(&t.business) {
            return Err(crate::views::not_offered(&site, &t.business));
        }
        let today = self.hall_day();
        let expedited = t.priority > 0;
        let cross = self.cross_province(&t).await?;
        // The catalogue's commitment: working days, or calendar days for a foreigner's visa
        // extension or stay permit (issue 14 §2).
        let processing = self
            .catalogue
            .terms(&t.business, today)
            .map_or(Processing::of(7, expedited, cross), |x| {
                x.processing(expedited, cross)
            });
        let missing: Vec<String> = a
            .missing
            .iter()
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .collect();
        for m in &missing {
            if let Some(c) = wujing_domain::text::forbidden_in_line(m) {
                return Err(AppError::text_invalid(c));
            }
        }
        let (method, mail_address) = match &a.collection {
            Some(c) => c.parse()?,
            None => (wujing_domain::application::Collection::Counter, None),
        };
        let supplement_due =
            (!missing.is_empty()).then(|| today + TimeDelta::days(SUPPLEMENT_DAYS));
        // Processing cannot finish before the missing material is in: the date promised counts
        // from the supplement deadline, so it is never earlier than the deadline itself.
        let ready_by = self
            .due_date(supplement_due.unwrap_or(today), processing)
            .await?;
        let actor = Actor::at_window(p, client_addr, window).in_hall(&t.hall_id);
        let now = self.clock.now();
        let audit = wujing_store::NewAudit {
            at: now,
            actor: actor.id.clone(),
            actor_name: actor.name.clone(),
            action: "application.accept".into(),
            subject: format!("ticket:{}", t.label),
            citizen: Some(t.identity_key.clone()),
            detail: json!({
                "status": if missing.is_empty() { "accepted" } else { "pending_supplement" },
                "missing": missing,
                "ready_by": ready_by,
                "collection": method.as_str(),
            }),
            client_addr: actor.client_addr.clone(),
            station: actor.station.clone(),
            hall_id: actor.hall.clone(),
        };
        let texts = self
            .acceptance_texts(&t, &missing, supplement_due, ready_by)
            .await?;
        let app = self
            .store
            .accept_application(
                &wujing_store::NewApplication {
                    ticket_id,
                    supplement_due,
                    missing: missing.clone(),
                    ready_by,
                    window_number: window,
                    officer_id: s.id,
                    now,
                    collection_method: method.as_str().into(),
                    mail_address,
                    channel: self.site_channel(p, hall).await?.into(),
                },
                &audit,
                &texts,
            )
            .await
            .map_err(|e| match e {
                wujing_store::StoreError::Refused("already_accepted") => {
                    AppError::new(Code::AlreadyAccepted, "该号已受理", "already accepted")
                }
                wujing_store::StoreError::Refused(_) => state_error(),
                other => other.into(),
            })?;
        Ok(app.into())
    }

    /// The applicant's text at acceptance (booked visits: the booking has the phone): what is
    /// missing and by when, or the expected date; with the link to the status. Written in the
    /// acceptance's transaction.
    async fn acceptance_texts(
        &self,
        t: &wujing_store::Ticket,
        missing: &[String],
        supplement_due: Option<NaiveDate>,
        ready_by: NaiveDate,
    ) -> AppResult<Vec<wujing_store::NewMessage>> {
        let Some(booking_id) = t.booking_id else {
            return Ok(Vec::new());
        };
        let Some(b) = self.store.booking_by_id(booking_id).await? else {
            return Ok(Vec::new());
        };
        let link = self.status_link(&b).await?;
        let en = b.lang.starts_with("en");
        let due = supplement_due.map(|d| d.to_string()).unwrap_or_default();
        let body = match (missing.is_empty(), en) {
            (true, false) => format!("【无境】您的申请已受理，预计{ready_by}前办结。进度：{link}"),
            (true, true) => format!(
                "[Wujing] Your application was accepted; expected ready by {ready_by}. Status: {link}"
            ),
            (false, false) => format!(
                "【无境】您的申请已受理，尚缺：{}。请于{due}前到任一出入境窗口补交，逾期申请终止。进度：{link}",
                missing.join("、")
            ),
            (false, true) => format!(
                "[Wujing] Your application was accepted but needs: {}. Bring it to any exit-entry counter by {due}, or the application lapses. Status: {link}",
                missing.join(", ")
            ),
        };
        Ok(vec![crate::notify::message(
            format!("ticket:{}:accepted", t.id),
            &b.phone,
            "application",
            body,
            self.clock.now(),
        )])
    }

    /// A refund by a leader (audited); the day's reconciliation leaves it out.
    pub async fn refund(
        &self,
        p: &Principal,
        hall: &str,
        client_addr: Option<&str>,
        ticket_id: i64,
    ) -> AppResult<()> {
        self.require(p, Action::Refund, Some(hall))?;
        let Principal::Staff(s) = p else {
            return Err(crate::authz::denied(p));
        };
        let t = self
            .store
            .ticket(ticket_id)
            .await?
            .filter(|t| t.hall_id == hall)
            .ok_or_else(|| AppError::new(Code::TicketNotFound, "没有这个号", "no such ticket"))?;
        self.audit(
            &Actor::new(p, client_addr).in_hall(&t.hall_id),
            AdminChange::Refund {
                ticket_id,
                staff_id: s.id,
            },
            "payment.refund",
            format!("ticket:{}", t.label),
            Some(t.identity_key),
            json!({}),
        )
        .await
        .map_err(|e| {
            if e.code == Code::NotRefundable {
                AppError::new(Code::NotRefundable, "没有可退的款项", "nothing to refund")
            } else {
                e
            }
        })?;
        Ok(())
    }

    /// The officer sends the case to the leader post: the request and its audit entry
    /// (`urgent.request`) are one transaction (`AdminChange::RequestUrgent`).
    pub async fn request_urgent(
        &self,
        p: &Principal,
        hall: &str,
        window: u32,
        client_addr: Option<&str>,
        ticket_id: i64,
        u: &UrgentInput,
    ) -> AppResult<UrgentRequest> {
        self.window_kind(p, hall, window).await?;
        let Principal::Staff(s) = p else {
            return Err(crate::authz::denied(p));
        };
        if !URGENT_REASONS.iter().any(|(c, _, _)| *c == u.reason) {
            return Err(AppError::new(
                Code::ReasonInvalid,
                "请选择加急事由",
                "choose a reason for urgency",
            ));
        }
        let t = self
            .store
            .ticket(ticket_id)
            .await?
            .filter(|t| t.hall_id == hall)
            .ok_or_else(state_error)?;
        let note = u.note.trim();
        let out = self
            .audit(
                &Actor::at_window(p, client_addr, window).in_hall(&t.hall_id),
                AdminChange::RequestUrgent {
                    ticket_id,
                    reason: u.reason.clone(),
                    note: note.into(),
                    staff_id: s.id,
                },
                "urgent.request",
                format!("ticket:{}", t.label),
                Some(t.identity_key.clone()),
                json!({ "reason": u.reason, "note": note }),
            )
            .await?;
        let wujing_store::AdminOutcome::Created(id) = out else {
            unreachable!("a request returns its id")
        };
        self.store
            .urgent_request(id)
            .await?
            .map(Into::into)
            .ok_or_else(|| AppError::from(Code::UrgentNotFound))
    }

    pub async fn urgent_requests(&self, p: &Principal) -> AppResult<Vec<UrgentRequest>> {
        self.require(p, Action::Urgent, None)?;
        Ok(self
            .store
            .urgent_requests(false)
            .await?
            .into_iter()
            .filter(|u| crate::authz::permits(p, Action::Urgent, Some(&u.hall_id)))
            .map(Into::into)
            .collect())
    }

    /// The open requests as the leader post shows them: each with its ticket's business and
    /// applicant, masked (the same people as [`App::urgent_requests`]).
    pub async fn urgent_requests_shown(
        &self,
        p: &Principal,
    ) -> AppResult<Vec<(UrgentRequest, crate::ratings::TicketParty)>> {
        let requests = self.urgent_requests(p).await?;
        let mut out = Vec::with_capacity(requests.len());
        for u in requests {
            let about = match self.store.ticket(u.ticket_id).await? {
                Some(t) => self.ticket_party(&t).await?,
                None => Default::default(),
            };
            out.push((u, about));
        }
        Ok(out)
    }

    /// The leader's decision (audited): approval puts the ticket first and expedites it.
    pub async fn decide_urgent(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        id: i64,
        approved: bool,
    ) -> AppResult<()> {
        let u = self.store.urgent_request(id).await?.ok_or_else(|| {
            AppError::new(
                Code::UrgentNotFound,
                "没有这个加急申请",
                "no such urgent request",
            )
        })?;
        self.require(p, Action::Urgent, Some(&u.hall_id))?;
        let Principal::Staff(s) = p else {
            return Err(crate::authz::denied(p));
        };
        // The decision is found in the trail by the citizen, like the request.
        let citizen = self
            .store
            .ticket(u.ticket_id)
            .await?
            .map(|t| t.identity_key);
        self.audit(
            &Actor::new(p, client_addr).in_hall(&u.hall_id),
            AdminChange::DecideUrgent {
                id,
                staff_id: s.id,
                approved,
            },
            if approved {
                "urgent.approve"
            } else {
                "urgent.reject"
            },
            format!("ticket:{}", u.ticket_label),
            citizen,
            json!({ "reason": u.reason, "note": u.note }),
        )
        .await
        .map_err(|e| {
            if e.code == Code::UrgentDecided {
                AppError::new(Code::UrgentDecided, "该申请已审批", "already decided")
            } else {
                e
            }
        })?;
        Ok(())
    }

    /// A walk-in number at reception, for halls that keep seats for walk-ins (the on-site
    /// pool); eligibility is checked as for a booking.
    pub async fn walk_in(
        &self,
        p: &Principal,
        hall: &str,
        client_addr: Option<&str>,
        w: &WalkInInput,
    ) -> AppResult<TicketView> {
        self.require(p, Action::CheckIn, Some(hall))?;
        let h = self.hall_by_id(hall).await?;
        let channel = self.site_channel(p, hall).await?;
        if !h
            .capacity
            .iter()
            .any(|(pool, n)| *pool == Pool::OnSite && *n > 0)
        {
            return Err(AppError::new(
                Code::NoWalkIns,
                "本大厅不设现场号",
                "this hall takes appointments only",
            ));
        }
        // Reception has no phone to take: the applicant's own is not needed for a number
        // given on the spot, so a placeholder passes the phone check.
        let applicant = self.parse_applicant(&crate::ApplicantInput {
            name: w.name.clone(),
            id_type: w.id_type.clone(),
            id_number: w.id_number.clone(),
            nationality: w.nationality.clone(),
            birth_date: w.birth_date,
            phone: "13000000000".into(),
        })?;
        let Some(business) = self.catalogue.business(&w.business) else {
            return Err(crate::views::unknown_business(&w.business));
        };
        // Before the rules: a site that does not offer the business has nothing to assess.
        if !h.offers(&business.code) {
            return Err(crate::views::not_offered(&h, &business.code));
        }
        let (reasons, named) = self
            .assess(&w.business, &applicant, &w.answers, self.clock.today())
            .await?;
        if !reasons.is_empty() {
            // Reception staff check the identity card in person and may see the records'
            // reasons; a kiosk has no one to check it, so it is answered like a stranger.
            let control = match p {
                Principal::Staff(_) => crate::booking::Control::InPerson,
                _ => crate::booking::Control::None,
            };
            return Err(crate::booking::not_eligible(reasons, control, named));
        }
        let foreigner = matches!(applicant.identity, wujing_domain::Identity::Foreign { .. });
        // The registry's 户籍 city decides a resident's due date at acceptance (20 days
        // cross-province); the ticket keeps only the answer.
        let hukou_scope = match &applicant.identity {
            wujing_domain::Identity::Resident(id) => {
                self.store.person(id.as_str()).await?.map(|p| {
                    if wujing_domain::application::is_cross_province(&p.hukou_city) {
                        "cross_province"
                    } else {
                        "home_province"
                    }
                    .to_string()
                })
            }
            _ => None,
        };
        let (queue, _) = queue_of(Pool::OnSite, foreigner);
        let now = self.clock.now();
        let actor = Actor::new(p, client_addr).in_hall(hall);
        let identity_key = self.booking_key(&applicant.identity).await?;
        // The ticket, its on-site seat and its audit entry are one transaction; the store
        // names the entry after the ticket it issues.
        let t = self
            .store
            .walk_in(
                &wujing_store::NewWalkIn {
                    ticket: NewTicket {
                        hall_id: hall.into(),
                        day: self.hall_day(),
                        // Residents queue as walk-ins; foreigners at the foreigners' windows.
                        queue: if foreigner { queue.into() } else { "W".into() },
                        booking_id: None,
                        booking_slot_id: None,
                        business: w.business.clone(),
                        identity_key: identity_key.clone(),
                        kind: "walk_in".into(),
                        channel: channel.into(),
                        priority: 0,
                        due_at: now,
                        now,
                    },
                    slot_from: now - TimeDelta::minutes(i64::from(h.slot_minutes)),
                    hukou_scope,
                },
                &wujing_store::NewAudit {
                    at: now,
                    actor: actor.id.clone(),
                    actor_name: actor.name.clone(),
                    action: "ticket.walk_in".into(),
                    subject: String::new(),
                    citizen: Some(identity_key),
                    detail: json!({ "business": w.business, "channel": channel }),
                    client_addr: actor.client_addr.clone(),
                    station: actor.station.clone(),
                    hall_id: actor.hall.clone(),
                },
            )
            .await
            .map_err(|e| match e {
                wujing_store::StoreError::Refused("already_booked") => AppError::new(
                    Code::AlreadyBooked,
                    "该证件号码已有此项业务的有效预约，请用预约签到",
                    "this identity has an active booking for this business; check it in instead",
                ),
                other => other.into(),
            })?;
        self.announce_waiting(hall).await;
        self.ticket_view(&t).await
    }

    /// The receipt of a ticket's payment as a PDF.
    pub async fn receipt_pdf(
        &self,
        p: &Principal,
        hall: &str,
        ticket_id: i64,
    ) -> AppResult<Vec<u8>> {
        self.require(p, Action::Receipts, Some(hall))?;
        let t = self
            .store
            .ticket(ticket_id)
            .await?
            .filter(|t| t.hall_id == hall)
            .ok_or_else(|| AppError::new(Code::TicketNotFound, "没有这个号", "no such ticket"))?;
        let pay = self.store.payment_of(ticket_id).await?.ok_or_else(|| {
            AppError::new(
                Code::PaymentNotFound,
                "该号没有缴费记录",
                "no payment for this ticket",
            )
        })?;
        self.render_receipt(&t, &pay, None).await
    }

    /// A payment's receipt as a PDF, for the officer (above) and for the citizen from their
    /// slip (`receipt_by_slip`): the same document, signed with the authority's name, marked
    /// when the fee was refunded.
    pub(crate) async fn render_receipt(
        &self,
        t: &wujing_store::Ticket,
        pay: &wujing_store::Payment,
        refunded_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> AppResult<Vec<u8>> {
        let hall = t.hall_id.as_str();
        let h = self.hall(hall).await?;
        let business = self
            .catalogue
            .business(&t.business)
            .map_or(t.business.clone(), |b| {
                format!("{} {}", b.name_zh, b.name_en)
            });
        let method = match pay.method.as_str() {
            "card" => "银行卡 Bank card",
            "qr" => "扫码 QR payment",
            _ => "现金 Cash",
        };
        let paid = pay
            .paid_at
            .with_timezone(&wujing_domain::calendar::china_offset());
        let face = self.face().await?;
        let mut rows = vec![
            ("收据号 Receipt no.".into(), pay.receipt_no.clone()),
            ("大厅 Hall".into(), h.name_zh.clone()),
            ("窗口 Window".into(), pay.window_number.to_string()),
            ("号 Ticket".into(), t.label.clone()),
            ("业务 Business".into(), business),
            ("金额 Amount".into(), format!("{} 元 yuan", pay.amount_yuan)),
            ("方式 Method".into(), method.into()),
            ("交易参考 Reference".into(), pay.reference.clone()),
            (
                "时间 Time".into(),
                paid.format("%Y-%m-%d %H:%M").to_string(),
            ),
        ];
        if let Some(r) = refunded_at {
            let r = r.with_timezone(&wujing_domain::calendar::china_offset());
            rows.push((
                "已退款 Refunded".into(),
                r.format("%Y-%m-%d %H:%M").to_string(),
            ));
        }
        let a = &face.authority;
        let form = wujing_forms::Form {
            title: "出入境证件费收据".into(),
            subtitle: format!("Receipt · {} · {}", a.name_en, pay.receipt_no),
            rows,
            notes: vec![
                format!("{}。凭收据号可在任一窗口查询该笔缴费。", a.name_zh),
                format!(
                    "{}. The receipt number identifies the payment at any window.",
                    a.name_en
                ),
            ],
            language: "zh-CN".into(),
        };
        self.render_form(form).await
    }
}

/// What the counter console shows about the ticket being served.
#[derive(Debug, Clone)]
pub struct CounterCase {
    pub applicant: Option<crate::BookingView>,
    pub fee: u32,
    pub materials: Vec<&'static str>,
    pub application: Option<Application>,
    pub paid: bool,
}
