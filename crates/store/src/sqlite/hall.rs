//! The SQLite side of hall operations. Every function runs on the writer thread (or a reader
//! for reads), so a read-then-write inside one function is atomic.

use crate::model::*;
use crate::rows;
use crate::sql;
use crate::sql::ALERT_COLS;
use crate::{Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::{date_s, db_err, from_ms, ms, SqliteStore};
use crate::HallStore;

pub(crate) fn by_id(c: &Connection, id: i64) -> Result<Option<Ticket>> {
    c.prepare_cached(sql::TICKET_BY_ID.lite)
        .map_err(db_err)?
        .query_row([id], |r| rows::ticket(r))
        .optional()
        .map_err(db_err)
}

/// Uses the booking a ticket is issued for (see [`sql::USE_BOOKING`]); why not, when not.
fn use_booking(c: &Connection, t: &NewTicket) -> Result<()> {
    let Some(id) = t.booking_id else {
        return Ok(());
    };
    let n = c
        .prepare_cached(sql::USE_BOOKING.lite)
        .map_err(db_err)?
        .execute(params![id, ms(t.now), t.booking_slot_id])
        .map_err(db_err)?;
    if n == 1 {
        return Ok(());
    }
    let state: Option<(String, bool)> = c
        .query_row(sql::BOOKING_STATE.lite, [id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()
        .map_err(db_err)?;
    Err(match state {
        None => StoreError::NotFound("booking"),
        Some((_, true)) => StoreError::Refused("already_checked_in"),
        Some(_) => StoreError::BookingNotActive,
    })
}

pub(crate) fn issue(c: &Connection, t: &NewTicket) -> Result<Ticket> {
    issue_with_seat(c, t, None)
}

fn issue_with_seat(c: &Connection, t: &NewTicket, seat: Option<i64>) -> Result<Ticket> {
    use_booking(c, t)?;
    let number: u32 = c
        .query_row(
            "INSERT INTO ticket_counters (hall_id, day, queue, last) VALUES (?1, ?2, ?3, 1)
             ON CONFLICT (hall_id, day, queue) DO UPDATE SET last = last + 1 RETURNING last",
            params![t.hall_id, date_s(t.day), t.queue],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    let label = format!("{}{number:03}", t.queue);
    c.execute(
        "INSERT INTO tickets (hall_id, day, queue, number, label, booking_id, business, identity_key, kind, priority,
            due_at, status, calls, created_at, slot_id, channel)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'waiting', 0, ?12, ?13, ?14)",
        params![
            t.hall_id, date_s(t.day), t.queue, number, label, t.booking_id, t.business, t.identity_key, t.kind,
            t.priority, ms(t.due_at), ms(t.now), seat, t.channel
        ],
    )
    .map_err(|e| match &e {
        rusqlite::Error::SqliteFailure(f, Some(m)) if f.code == rusqlite::ErrorCode::ConstraintViolation && m.contains("booking_id") => {
            StoreError::Refused("already_checked_in")
        }
        _ => db_err(e),
    })?;
    by_id(c, c.last_insert_rowid())?.ok_or(StoreError::NotFound("ticket"))
}

/// A walk-in on the writer: the single writer makes the rules' reads and the writes one step.
fn walk_in(
    c: &Connection,
    keys: &crate::keys::Keys,
    w: &NewWalkIn,
    audit: &NewAudit,
) -> Result<Ticket> {
    let t = &w.ticket;
    let count = |q: sql::Sql, p: &[&dyn rusqlite::ToSql]| -> Result<i64> {
        c.prepare_cached(q.lite)
            .map_err(db_err)?
            .query_row(p, |r| r.get(0))
            .map_err(db_err)
    };
    if count(sql::WALK_IN_BOOKED, &[&t.identity_key, &t.business])? > 0 {
        return Err(StoreError::Refused("already_booked"));
    }
    if count(
        sql::WALK_IN_QUEUED,
        &[&t.identity_key, &t.business, &date_s(t.day)],
    )? > 0
    {
        return Err(StoreError::Refused("already_queued"));
    }
    let slot: Option<i64> = c
        .prepare_cached(sql::WALK_IN_SLOT.lite)
        .map_err(db_err)?
        .query_row(
            params![t.hall_id, date_s(t.day), ms(t.now), ms(w.slot_from)],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_err)?;
    let slot = slot.ok_or(StoreError::Refused("walk_in_closed"))?;
    super::booking::take_seat(c, slot).map_err(|e| match e {
        StoreError::SlotFull => StoreError::Refused("walk_ins_full"),
        other => other,
    })?;
    let mut ticket = issue_with_seat(c, t, Some(slot))?;
    if let Some(scope) = &w.hukou_scope {
        c.execute(sql::SET_HUKOU_SCOPE.lite, params![ticket.id, scope])
            .map_err(db_err)?;
        ticket.hukou_scope = Some(scope.clone());
    }
    let mut audit = audit.clone();
    audit.subject = format!("ticket:{}", ticket.label);
    super::staff::append_audit(c, keys, &audit)?;
    Ok(ticket)
}

pub(crate) fn call_next(
    c: &Connection,
    hall: &str,
    day: NaiveDate,
    queues: &[String],
    window: u32,
    officer: i64,
    now: DateTime<Utc>,
) -> Result<Option<Ticket>> {
    let qs = serde_json::to_string(queues).expect("strings serialise");
    let id: Option<i64> = c
        .query_row(
            "UPDATE tickets SET status = 'called', window_number = ?4, officer_id = ?5, calls = calls + 1, called_at = ?6
             WHERE id = (SELECT id FROM tickets WHERE hall_id = ?1 AND day = ?2 AND status = 'waiting'
                           AND queue IN (SELECT value FROM json_each(?3))
                         ORDER BY priority DESC, due_at, number LIMIT 1)
             RETURNING id",
            params![hall, date_s(day), qs, window, officer, ms(now)],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_err)?;
    id.map(|id| by_id(c, id)).transpose().map(Option::flatten)
}

pub(crate) fn move_ticket(
    c: &Connection,
    id: i64,
    window: u32,
    m: &TicketMove,
    now: DateTime<Utc>,
) -> Result<Ticket> {
    let t = ms(now);
    let n = match m {
        TicketMove::Recall { max_calls } => c.execute(
            "UPDATE tickets SET calls = calls + 1, called_at = ?3,
                status = CASE WHEN calls + 1 > ?4 THEN 'missed' ELSE 'called' END,
                window_number = CASE WHEN calls + 1 > ?4 THEN NULL ELSE window_number END
             WHERE id = ?1 AND status = 'called' AND window_number = ?2",
            params![id, window, t, max_calls],
        ),
        TicketMove::Start => c.execute(
            "UPDATE tickets SET status = 'serving' WHERE id = ?1 AND status = 'called' AND window_number = ?2",
            params![id, window],
        ),
        TicketMove::Finish => c.execute(
            "UPDATE tickets SET status = 'done', finished_at = ?3 WHERE id = ?1 AND status = 'serving' AND window_number = ?2",
            params![id, window, t],
        ),
        TicketMove::NoShow => c.execute(
            "UPDATE tickets SET status = 'missed', window_number = NULL WHERE id = ?1 AND status = 'called' AND window_number = ?2",
            params![id, window],
        ),
        TicketMove::Requeue => c.execute(
            "UPDATE tickets SET status = 'waiting', due_at = ?2, calls = 0, window_number = NULL, officer_id = NULL
             WHERE id = ?1 AND status = 'missed'",
            params![id, t],
        ),
        TicketMove::Park => c.execute(
            "UPDATE tickets SET status = 'parked' WHERE id = ?1 AND status IN ('called', 'serving') AND window_number = ?2",
            params![id, window],
        ),
        TicketMove::Unpark => c.execute(
            "UPDATE tickets SET status = 'called', calls = calls + 1, called_at = ?3 WHERE id = ?1 AND status = 'parked' AND window_number = ?2",
            params![id, window, t],
        ),
        TicketMove::Transfer { queue, first } => c.execute(
            "UPDATE tickets SET status = 'waiting', queue = ?3, window_number = NULL, officer_id = NULL, calls = 0,
                due_at = CASE WHEN ?4 THEN COALESCE((SELECT MIN(due_at) - 1 FROM tickets o
                    WHERE o.hall_id = tickets.hall_id AND o.day = tickets.day AND o.queue = ?3 AND o.status = 'waiting'), ?5) ELSE ?5 END,
                priority = CASE WHEN ?4 THEN MAX(priority, (SELECT COALESCE(MAX(priority), 0) FROM tickets o
                    WHERE o.hall_id = tickets.hall_id AND o.day = tickets.day AND o.queue = ?3 AND o.status = 'waiting')) ELSE priority END
             WHERE id = ?1 AND status IN ('called', 'serving') AND window_number = ?2",
            params![id, window, queue, first, t],
        ),
    }
    .map_err(db_err)?;
    if n == 0 {
        return Err(if by_id(c, id)?.is_none() {
            StoreError::NotFound("ticket")
        } else {
            StoreError::Refused("ticket_state")
        });
    }
    by_id(c, id)?.ok_or(StoreError::NotFound("ticket"))
}

pub(crate) fn of_day(c: &Connection, hall: &str, day: NaiveDate) -> Result<Vec<Ticket>> {
    let mut st = c.prepare_cached(sql::TICKETS_OF_DAY.lite).map_err(db_err)?;
    let rows = st
        .query_map(params![hall, date_s(day)], |r| rows::ticket(r))
        .map_err(db_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err);
    rows
}

pub(crate) fn pay(c: &Connection, p: &NewPayment) -> Result<Payment> {
    let t = by_id(c, p.ticket_id)?.ok_or(StoreError::NotFound("ticket"))?;
    let n: u32 = c
        .query_row(
            "INSERT INTO receipt_counters (hall_id, day, last) VALUES (?1, ?2, 1)
             ON CONFLICT (hall_id, day) DO UPDATE SET last = last + 1 RETURNING last",
            params![t.hall_id, date_s(t.day)],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    let receipt = format!("{}-{}-{n:05}", t.hall_id, t.day.format("%Y%m%d"));
    c.execute(
        "INSERT INTO payments (ticket_id, hall_id, day, receipt_no, amount_yuan, method, reference, window_number, officer_id, paid_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![p.ticket_id, t.hall_id, date_s(t.day), receipt, p.amount_yuan, p.method, p.reference, p.window_number, p.officer_id, ms(p.now)],
    )
    .map_err(|e| match &e {
        rusqlite::Error::SqliteFailure(f, Some(m)) if f.code == rusqlite::ErrorCode::ConstraintViolation && m.contains("ticket_id") => {
            StoreError::Refused("already_paid")
        }
        _ => db_err(e),
    })?;
    Ok(Payment {
        id: c.last_insert_rowid(),
        ticket_id: p.ticket_id,
        receipt_no: receipt,
        amount_yuan: p.amount_yuan,
        method: p.method.clone(),
        reference: p.reference.clone(),
        window_number: p.window_number,
        officer_id: p.officer_id,
        paid_at: p.now,
    })
}

pub(crate) fn reconciliation(c: &Connection, hall: &str, day: NaiveDate) -> Result<Vec<ReconLine>> {
    let mut st = c
        .prepare_cached(
            "SELECT window_number, method, COUNT(*), SUM(amount_yuan) FROM payments
             WHERE hall_id = ?1 AND day = ?2 AND refunded_at IS NULL GROUP BY window_number, method ORDER BY window_number, method",
        )
        .map_err(db_err)?;
    let rows = st
        .query_map(params![hall, date_s(day)], |r| {
            Ok(ReconLine {
                window_number: r.get(0)?,
                method: r.get(1)?,
                count: r.get(2)?,
                sum_yuan: r.get::<_, i64>(3)? as u64,
            })
        })
        .map_err(db_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err);
    rows
}

pub(crate) fn record_rating(
    c: &Connection,
    keys: &crate::keys::Keys,
    n: &NewRating,
    pages: &[NewMessage],
) -> Result<Option<Alert>> {
    let t = by_id(c, n.ticket_id)?.ok_or(StoreError::NotFound("ticket"))?;
    if t.status != "done" {
        return Err(StoreError::Refused("ticket_state"));
    }
    let window = t.window_number.unwrap_or_default();
    c.execute(
        "INSERT INTO ratings (ticket_id, hall_id, window_number, officer_id, score, reasons, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![t.id, t.hall_id, window, t.officer_id, n.score, n.reasons, ms(n.now)],
    )
    .map_err(|e| match &e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => StoreError::Refused("already_rated"),
        _ => db_err(e),
    })?;
    if n.score != "unsatisfied" {
        return Ok(None);
    }
    let rating = c.last_insert_rowid();
    c.execute(
        "INSERT INTO alerts (hall_id, rating_id, ticket_label, window_number, officer_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![t.hall_id, rating, t.label, window, t.officer_id, ms(n.now)],
    )
    .map_err(db_err)?;
    let id = c.last_insert_rowid();
    super::outbox::insert(c, keys, pages)?;
    Ok(alerts(c, None, false, Some(id))?.pop())
}

pub(crate) fn alerts(
    c: &Connection,
    hall: Option<&str>,
    open_only: bool,
    id: Option<i64>,
) -> Result<Vec<Alert>> {
    let mut st = c
        .prepare_cached(&format!(
            "SELECT {ALERT_COLS} FROM alerts a JOIN ratings r ON r.id = a.rating_id
             WHERE (?1 IS NULL OR a.hall_id = ?1) AND (?2 = 0 OR a.acknowledged_at IS NULL) AND (?3 IS NULL OR a.id = ?3)
             ORDER BY a.acknowledged_at IS NOT NULL, a.id DESC LIMIT 200"
        ))
        .map_err(db_err)?;
    let rows = st
        .query_map(params![hall, open_only, id], |r| rows::alert(r))
        .map_err(db_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err);
    rows
}

pub(crate) fn escalate(
    c: &Connection,
    keys: &crate::keys::Keys,
    id: i64,
    now: DateTime<Utc>,
    pages: &[NewMessage],
) -> Result<bool> {
    let n = c
        .execute(sql::ESCALATE_ALERT.lite, params![id, ms(now)])
        .map_err(db_err)?;
    if n == 1 {
        super::outbox::insert(c, keys, pages)?;
    }
    Ok(n == 1)
}

pub(crate) fn application_of(c: &Connection, ticket: i64) -> Result<Option<Application>> {
    c.query_row(sql::APPLICATION_OF.lite, [ticket], |r| rows::application(r))
        .optional()
        .map_err(db_err)
}

pub(crate) fn accept(
    c: &Connection,
    keys: &crate::keys::Keys,
    a: &NewApplication,
) -> Result<Application> {
    let t = by_id(c, a.ticket_id)?.ok_or(StoreError::NotFound("ticket"))?;
    if t.status != "serving" || t.window_number != Some(a.window_number) {
        return Err(StoreError::Refused("ticket_state"));
    }
    let approved: bool = c
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM urgent_requests WHERE ticket_id = ?1 AND approved = 1)",
            [t.id],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    c.execute(
        sql::INSERT_APPLICATION.lite,
        params![
            t.id,
            t.booking_id,
            t.hall_id,
            t.business,
            t.identity_key,
            if a.missing.is_empty() {
                "accepted"
            } else {
                "pending_supplement"
            },
            serde_json::to_string(&a.missing).expect("strings serialise"),
            a.supplement_due.map(date_s),
            approved || t.priority > 0,
            date_s(a.ready_by),
            a.window_number,
            a.officer_id,
            ms(a.now),
            a.collection_method,
            keys.seal_opt(a.mail_address.as_deref()),
            a.channel,
        ],
    )
    .map_err(|e| match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Refused("already_accepted")
        }
        _ => db_err(e),
    })?;
    c.execute(sql::INSERT_FIRST_APPLICATION_EVENT.lite, [t.id])
        .map_err(db_err)?;
    application_of(c, t.id)?.ok_or(StoreError::NotFound("application"))
}

pub(crate) fn application(c: &Connection, id: i64) -> Result<Option<Application>> {
    c.query_row(sql::APPLICATION_BY_ID.lite, [id], |r| rows::application(r))
        .optional()
        .map_err(db_err)
}

fn transition(
    c: &Connection,
    keys: &crate::keys::Keys,
    m: &ApplicationMove,
    audit: &NewAudit,
    messages: &[NewMessage],
) -> Result<Application> {
    notifying(
        c,
        keys,
        &AdminChange::TransitionApplication(m.clone()),
        audit,
        messages,
    )?;
    application(c, m.id)?.ok_or(StoreError::NotFound("application"))
}

fn batch(c: &Connection, id: i64) -> Result<Option<ProductionBatch>> {
    c.query_row(sql::PRODUCTION_BATCH.lite, [id], |r| {
        rows::production_batch(r)
    })
    .optional()
    .map_err(db_err)
}

fn notifying(
    c: &Connection,
    keys: &crate::keys::Keys,
    change: &AdminChange,
    audit: &NewAudit,
    messages: &[NewMessage],
) -> Result<AdminOutcome> {
    let out = super::staff::apply(c, keys, change, audit)?;
    super::outbox::insert(c, keys, crate::admin::messages_for(change, &out, messages))?;
    Ok(out)
}

fn applications(c: &Connection, q: &str, p: impl rusqlite::Params) -> Result<Vec<Application>> {
    let mut st = c.prepare_cached(q).map_err(db_err)?;
    let rows = st
        .query_map(p, |r| rows::application(r))
        .map_err(db_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err);
    rows
}

fn compartments(
    c: &Connection,
    q: &str,
    p: impl rusqlite::Params,
) -> Result<Vec<LockerCompartment>> {
    let mut st = c.prepare_cached(q).map_err(db_err)?;
    let rows = st
        .query_map(p, |r| rows::locker_compartment(r))
        .map_err(db_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err);
    rows
}

fn in_state(
    c: &Connection,
    state: &str,
    hall: Option<&str>,
    limit: u32,
) -> Result<Vec<Application>> {
    let mut st = c
        .prepare_cached(sql::APPLICATIONS_IN_STATE.lite)
        .map_err(db_err)?;
    let rows = st
        .query_map(params![state, hall, limit], |r| rows::application(r))
        .map_err(db_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err);
    rows
}

fn apps_where(c: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<Vec<Application>> {
    let mut st = c.prepare_cached(sql).map_err(db_err)?;
    let rows = st
        .query_map(p, |r| rows::application(r))
        .map_err(db_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err);
    rows
}

fn events(c: &Connection, id: i64) -> Result<Vec<ApplicationEvent>> {
    let mut st = c
        .prepare_cached(sql::APPLICATION_EVENTS.lite)
        .map_err(db_err)?;
    let rows = st
        .query_map([id], |r| rows::application_event(r))
        .map_err(db_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err);
    rows
}

pub(crate) fn urgent(
    c: &Connection,
    open_only: bool,
    id: Option<i64>,
) -> Result<Vec<UrgentRequest>> {
    let mut st = c
        .prepare_cached(
            "SELECT u.id, u.ticket_id, t.label, u.hall_id, u.reason, u.note, u.created_at, u.decided_at, u.approved
             FROM urgent_requests u JOIN tickets t ON t.id = u.ticket_id
             WHERE (?1 = 0 OR u.decided_at IS NULL) AND (?2 IS NULL OR u.id = ?2) ORDER BY u.decided_at IS NOT NULL, u.id DESC LIMIT 200",
        )
        .map_err(db_err)?;
    let rows = st
        .query_map(params![open_only, id], |r| {
            Ok(UrgentRequest {
                id: r.get(0)?,
                ticket_id: r.get(1)?,
                ticket_label: r.get(2)?,
                hall_id: r.get(3)?,
                reason: r.get(4)?,
                note: r.get(5)?,
                created_at: from_ms(r.get(6)?)?,
                decided_at: r.get::<_, Option<i64>>(7)?.map(from_ms).transpose()?,
                approved: r.get(8)?,
            })
        })
        .map_err(db_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err);
    rows
}

pub(crate) fn payments_of_day(
    c: &Connection,
    hall: &str,
    day: NaiveDate,
) -> Result<Vec<DayPayment>> {
    let mut st = c
        .prepare_cached(sql::PAYMENTS_OF_DAY.lite)
        .map_err(db_err)?;
    let rows = st
        .query_map(params![hall, date_s(day)], |r| {
            Ok(DayPayment {
                payment: payment_row(r)?,
                ticket_label: r.get(9)?,
                refunded_at: r.get::<_, Option<i64>>(10)?.map(from_ms).transpose()?,
            })
        })
        .map_err(db_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err);
    rows
}

/// A payment from the first nine columns of `PAYMENT_OF`'s shape.
fn payment_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Payment> {
    Ok(Payment {
        id: r.get(0)?,
        ticket_id: r.get(1)?,
        receipt_no: r.get(2)?,
        amount_yuan: r.get(3)?,
        method: r.get(4)?,
        reference: r.get(5)?,
        window_number: r.get(6)?,
        officer_id: r.get(7)?,
        paid_at: from_ms(r.get(8)?)?,
    })
}

pub(crate) fn payment_of(c: &Connection, ticket: i64) -> Result<Option<Payment>> {
    c.query_row(sql::PAYMENT_OF.lite, [ticket], payment_row)
        .optional()
        .map_err(db_err)
}

#[async_trait]
impl HallStore for SqliteStore {
    async fn issue_ticket(&self, t: &NewTicket) -> Result<Ticket> {
        let t = t.clone();
        self.write(move |c| issue(c, &t)).await
    }

    async fn walk_in(&self, w: &NewWalkIn, audit: &NewAudit) -> Result<Ticket> {
        let (w, audit) = (w.clone(), audit.clone());
        let keys = self.keys.clone();
        self.write(move |c| walk_in(c, &keys, &w, &audit)).await
    }

    async fn ticket_of_booking(&self, booking_id: i64) -> Result<Option<Ticket>> {
        self.lookup(move |c| {
            c.prepare_cached(sql::TICKET_OF_BOOKING.lite)
                .map_err(db_err)?
                .query_row([booking_id], |r| rows::ticket(r))
                .optional()
                .map_err(db_err)
        })
        .await
    }

    async fn call_next(
        &self,
        hall_id: &str,
        day: NaiveDate,
        queues: &[String],
        window: u32,
        officer_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<Ticket>> {
        let (h, q) = (hall_id.to_string(), queues.to_vec());
        self.write(move |c| call_next(c, &h, day, &q, window, officer_id, now))
            .await
    }

    async fn move_ticket(
        &self,
        ticket_id: i64,
        window: u32,
        m: &TicketMove,
        now: DateTime<Utc>,
    ) -> Result<Ticket> {
        let m = m.clone();
        self.write(move |c| move_ticket(c, ticket_id, window, &m, now))
            .await
    }

    async fn ticket(&self, id: i64) -> Result<Option<Ticket>> {
        self.lookup(move |c| by_id(c, id)).await
    }

    async fn tickets_of_day(&self, hall_id: &str, day: NaiveDate) -> Result<Vec<Ticket>> {
        let h = hall_id.to_string();
        self.read(move |c| of_day(c, &h, day)).await
    }

    async fn record_payment(&self, p: &NewPayment) -> Result<Payment> {
        let p = p.clone();
        self.write(move |c| pay(c, &p)).await
    }

    async fn reconciliation(&self, hall_id: &str, day: NaiveDate) -> Result<Vec<ReconLine>> {
        let h = hall_id.to_string();
        self.read(move |c| reconciliation(c, &h, day)).await
    }

    async fn record_rating(&self, r: &NewRating, pages: &[NewMessage]) -> Result<Option<Alert>> {
        let (r, pages) = (r.clone(), pages.to_vec());
        let keys = self.keys.clone();
        self.write(move |c| record_rating(c, &keys, &r, &pages))
            .await
    }

    async fn ticket_rated(&self, ticket_id: i64) -> Result<bool> {
        self.read(move |c| {
            c.query_row(sql::TICKET_RATED.lite, [ticket_id], |r| r.get::<_, i64>(0))
                .map(|n| n > 0)
                .map_err(db_err)
        })
        .await
    }

    async fn alert(&self, id: i64) -> Result<Option<Alert>> {
        self.read(move |c| Ok(alerts(c, None, false, Some(id))?.pop()))
            .await
    }

    async fn urgent_request(&self, id: i64) -> Result<Option<UrgentRequest>> {
        self.read(move |c| Ok(urgent(c, false, Some(id))?.pop()))
            .await
    }

    async fn alerts(&self, hall_id: Option<&str>, open_only: bool) -> Result<Vec<Alert>> {
        let h = hall_id.map(str::to_string);
        self.read(move |c| alerts(c, h.as_deref(), open_only, None))
            .await
    }

    async fn escalate_alert(
        &self,
        id: i64,
        now: DateTime<Utc>,
        pages: &[NewMessage],
    ) -> Result<bool> {
        let pages = pages.to_vec();
        let keys = self.keys.clone();
        self.write(move |c| escalate(c, &keys, id, now, &pages))
            .await
    }

    async fn accept_application(
        &self,
        a: &NewApplication,
        audit: &NewAudit,
        messages: &[NewMessage],
    ) -> Result<Application> {
        let (a, audit, messages) = (a.clone(), audit.clone(), messages.to_vec());
        let keys = self.keys.clone();
        self.write(move |c| {
            let app = accept(c, &keys, &a)?;
            super::staff::apply(c, &keys, &AdminChange::RecordOnly, &audit)?;
            super::outbox::insert(c, &keys, &messages)?;
            Ok(app)
        })
        .await
    }

    async fn applications_of(&self, identity_key: &str) -> Result<Vec<Application>> {
        let key = identity_key.to_string();
        self.read(move |c| apps_where(c, sql::APPLICATIONS_OF_IDENTITY.lite, params![key]))
            .await
    }

    async fn application_mail_address(&self, id: i64) -> Result<Option<String>> {
        let keys = self.keys.clone();
        self.lookup(move |c| {
            let sealed: Option<Option<String>> = c
                .query_row(sql::APPLICATION_MAIL_ADDRESS.lite, [id], |r| r.get(0))
                .optional()
                .map_err(db_err)?;
            sealed
                .flatten()
                .map(|s| crate::seal::open_text(&keys, "mail address", &s))
                .transpose()
        })
        .await
    }

    async fn overdue_applications(
        &self,
        today: NaiveDate,
        hall: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Application>> {
        let hall = hall.map(str::to_string);
        self.read(move |c| {
            apps_where(
                c,
                sql::OVERDUE_APPLICATIONS.lite,
                params![date_s(today), hall, limit],
            )
        })
        .await
    }

    async fn application_of(&self, ticket_id: i64) -> Result<Option<Application>> {
        self.lookup(move |c| application_of(c, ticket_id)).await
    }

    async fn application(&self, id: i64) -> Result<Option<Application>> {
        self.lookup(move |c| application(c, id)).await
    }

    async fn transition_application(
        &self,
        m: &ApplicationMove,
        audit: &NewAudit,
        messages: &[NewMessage],
    ) -> Result<Application> {
        let (m, audit, messages) = (m.clone(), audit.clone(), messages.to_vec());
        let keys = self.keys.clone();
        self.write(move |c| transition(c, &keys, &m, &audit, &messages))
            .await
    }

    async fn apply_admin_notifying(
        &self,
        change: &AdminChange,
        audit: &NewAudit,
        messages: &[NewMessage],
    ) -> Result<AdminOutcome> {
        let (change, audit, messages) = (change.clone(), audit.clone(), messages.to_vec());
        let keys = self.keys.clone();
        self.write(move |c| notifying(c, &keys, &change, &audit, &messages))
            .await
    }

    async fn locker(&self, hall_id: &str) -> Result<Vec<LockerCompartment>> {
        let h = hall_id.to_string();
        self.read(move |c| compartments(c, sql::LOCKER_OF_HALL.lite, [h]))
            .await
    }

    async fn locker_by_code(
        &self,
        hall_id: &str,
        code_mac: &str,
    ) -> Result<Option<LockerCompartment>> {
        let (h, m) = (hall_id.to_string(), code_mac.to_string());
        self.lookup(move |c| Ok(compartments(c, sql::LOCKER_BY_CODE.lite, [h, m])?.pop()))
            .await
    }

    async fn lapsing_applications(&self, day: NaiveDate, limit: u32) -> Result<Vec<Application>> {
        self.read(move |c| {
            applications(
                c,
                sql::APPLICATIONS_LAPSING.lite,
                params![date_s(day), limit],
            )
        })
        .await
    }

    async fn uncollected_applications(
        &self,
        arrived_before: DateTime<Utc>,
        unreminded: bool,
        limit: u32,
    ) -> Result<Vec<Application>> {
        let q = if unreminded {
            sql::APPLICATIONS_UNREMINDED.lite
        } else {
            sql::APPLICATIONS_UNCOLLECTED.lite
        };
        self.read(move |c| applications(c, q, params![ms(arrived_before), limit]))
            .await
    }

    async fn applications_in_state(
        &self,
        state: &str,
        hall: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Application>> {
        let (state, hall) = (state.to_string(), hall.map(str::to_string));
        self.read(move |c| in_state(c, &state, hall.as_deref(), limit))
            .await
    }

    async fn application_events(&self, id: i64) -> Result<Vec<ApplicationEvent>> {
        self.read(move |c| events(c, id)).await
    }

    async fn urgent_requests(&self, open_only: bool) -> Result<Vec<UrgentRequest>> {
        self.read(move |c| urgent(c, open_only, None)).await
    }

    async fn create_production_batch(&self, b: &NewProductionBatch) -> Result<ProductionBatch> {
        let b = b.clone();
        let keys = self.keys.clone();
        self.write(move |c| {
            let id = super::staff::create_batch(c, &keys, &b)?;
            batch(c, id)?.ok_or(StoreError::NotFound("production batch"))
        })
        .await
    }

    async fn production_batches(&self, limit: u32) -> Result<Vec<ProductionBatch>> {
        self.read(move |c| {
            let mut st = c
                .prepare_cached(sql::PRODUCTION_BATCHES.lite)
                .map_err(db_err)?;
            let rows = st
                .query_map([limit], |r| rows::production_batch(r))
                .map_err(db_err)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(db_err);
            rows
        })
        .await
    }

    async fn production_batch(&self, id: i64) -> Result<Option<ProductionBatch>> {
        self.lookup(move |c| batch(c, id)).await
    }

    async fn batch_applications(&self, batch_id: i64) -> Result<Vec<Application>> {
        self.read(move |c| {
            let mut st = c
                .prepare_cached(sql::BATCH_APPLICATIONS.lite)
                .map_err(db_err)?;
            let rows = st
                .query_map([batch_id], |r| rows::application(r))
                .map_err(db_err)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(db_err);
            rows
        })
        .await
    }

    async fn count_applications_in_state(&self, state: &str) -> Result<u64> {
        let state = state.to_string();
        self.lookup(move |c| {
            c.query_row(sql::COUNT_APPLICATIONS_IN_STATE.lite, [state], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n as u64)
            .map_err(db_err)
        })
        .await
    }

    async fn payments_of_day(&self, hall_id: &str, day: NaiveDate) -> Result<Vec<DayPayment>> {
        let h = hall_id.to_string();
        self.read(move |c| payments_of_day(c, &h, day)).await
    }

    async fn payment_of(&self, ticket_id: i64) -> Result<Option<Payment>> {
        self.lookup(move |c| payment_of(c, ticket_id)).await
    }
}
