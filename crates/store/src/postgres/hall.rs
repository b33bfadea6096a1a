//! The PostgreSQL side of hall operations. Ticket numbers come from a counter row updated in
//! the same transaction as the insert (its row lock serialises check-ins of one queue, and a
//! rollback returns the number); calling takes the first waiting ticket with
//! `FOR UPDATE SKIP LOCKED`, so windows calling at once take different tickets without waiting.

use crate::model::*;
use crate::rows;
use crate::sql;
use crate::sql::ALERT_COLS;
use crate::{Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::error::SqlState;

use super::{db_err, PgStore};
use crate::sql::TICKET_COLS as COLS;
use crate::HallStore;

pub(crate) async fn by_id(c: &impl GenericClient, id: i64) -> Result<Option<Ticket>> {
    c.query_opt(sql::TICKET_BY_ID.pg, &[&id])
        .await?
        .map(|r| rows::ticket(&r))
        .transpose()
}

fn unique_as(code: &'static str) -> impl Fn(tokio_postgres::Error) -> StoreError {
    move |e| {
        if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
            StoreError::Refused(code)
        } else {
            e.into()
        }
    }
}

/// Uses the booking a ticket is issued for (see [`sql::USE_BOOKING`]): the booking row is
/// locked first, as cancel and reschedule lock it, and a reschedule that moved it meanwhile
/// makes the conditional update match nothing.
async fn use_booking(c: &impl GenericClient, t: &NewTicket) -> Result<()> {
    let Some(id) = t.booking_id else {
        return Ok(());
    };
    let n = c
        .execute(sql::USE_BOOKING.pg, &[&id, &t.now, &t.booking_slot_id])
        .await?;
    if n == 1 {
        return Ok(());
    }
    Err(match c.query_opt(sql::BOOKING_STATE.pg, &[&id]).await? {
        None => StoreError::NotFound("booking"),
        Some(r) if r.get::<_, bool>(1) => StoreError::Refused("already_checked_in"),
        Some(_) => StoreError::BookingNotActive,
    })
}

pub(crate) async fn issue(c: &impl GenericClient, t: &NewTicket) -> Result<Ticket> {
    issue_with_seat(c, t, None).await
}

async fn issue_with_seat(
    c: &impl GenericClient,
    t: &NewTicket,
    seat: Option<i64>,
) -> Result<Ticket> {
    use_booking(c, t).await?;
    let number: i32 = c
        .query_one(
            "INSERT INTO ticket_counters (hall_id, day, queue, last) VALUES ($1, $2, $3, 1)
             ON CONFLICT (hall_id, day, queue) DO UPDATE SET last = ticket_counters.last + 1 RETURNING last",
            &[&t.hall_id, &t.day, &t.queue],
        )
        .await?
        .get(0);
    let label = format!("{}{number:03}", t.queue);
    let r = c
        .query_one(
            &format!(
                "INSERT INTO tickets (hall_id, day, queue, number, label, booking_id, business, identity_key, kind, priority,
                    due_at, status, calls, created_at, slot_id, channel)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'waiting', 0, $12, $13, $14) RETURNING {COLS}"
            ),
            &[
                &t.hall_id, &t.day, &t.queue, &number, &label, &t.booking_id, &t.business, &t.identity_key, &t.kind,
                &t.priority, &t.due_at, &t.now, &seat, &t.channel,
            ],
        )
        .await
        .map_err(unique_as("already_checked_in"))?;
    rows::ticket(&r)
}

/// A walk-in in the caller's transaction. Two walk-ins of one identity and business are
/// serialised by an advisory lock on them, so that the rules' reads and the ticket cannot
/// interleave (READ COMMITTED would let both pass the checks); the seat is the atomic take.
async fn walk_in(
    tx: &impl GenericClient,
    keys: &crate::keys::Keys,
    w: &NewWalkIn,
    audit: &NewAudit,
) -> Result<Ticket> {
    let t = &w.ticket;
    tx.execute(
        "SELECT pg_advisory_xact_lock(7214004, hashtext($1 || '|' || $2))",
        &[&t.identity_key, &t.business],
    )
    .await?;
    let count = |r: tokio_postgres::Row| r.get::<_, i64>(0);
    if count(
        tx.query_one(sql::WALK_IN_BOOKED.pg, &[&t.identity_key, &t.business])
            .await?,
    ) > 0
    {
        return Err(StoreError::Refused("already_booked"));
    }
    if count(
        tx.query_one(
            sql::WALK_IN_QUEUED.pg,
            &[&t.identity_key, &t.business, &t.day],
        )
        .await?,
    ) > 0
    {
        return Err(StoreError::Refused("already_queued"));
    }
    let slot: i64 = tx
        .query_opt(
            sql::WALK_IN_SLOT.pg,
            &[&t.hall_id, &t.day, &t.now, &w.slot_from],
        )
        .await?
        .ok_or(StoreError::Refused("walk_in_closed"))?
        .get(0);
    super::booking::take_seat(tx, slot)
        .await
        .map_err(|e| match e {
            StoreError::SlotFull => StoreError::Refused("walk_ins_full"),
            other => other,
        })?;
    let mut ticket = issue_with_seat(tx, t, Some(slot)).await?;
    if let Some(scope) = &w.hukou_scope {
        tx.execute(sql::SET_HUKOU_SCOPE.pg, &[&ticket.id, scope])
            .await?;
        ticket.hukou_scope = Some(scope.clone());
    }
    let mut audit = audit.clone();
    audit.subject = format!("ticket:{}", ticket.label);
    super::staff::append_audit(tx, keys, &audit).await?;
    Ok(ticket)
}

pub(crate) async fn call_next(
    c: &impl GenericClient,
    hall: &str,
    day: NaiveDate,
    queues: &[String],
    window: u32,
    officer: i64,
    now: DateTime<Utc>,
) -> Result<Option<Ticket>> {
    c
        .query_opt(
            &format!(
                "UPDATE tickets SET status = 'called', window_number = $4, officer_id = $5, calls = calls + 1, called_at = $6
                 WHERE id = (SELECT id FROM tickets WHERE hall_id = $1 AND day = $2 AND status = 'waiting' AND queue = ANY($3)
                             ORDER BY priority DESC, due_at, number LIMIT 1 FOR UPDATE SKIP LOCKED)
                 RETURNING {COLS}"
            ),
            &[&hall, &day, &queues, &(window as i32), &officer, &now],
        )
        .await?
        .map(|r| rows::ticket(&r)).transpose()
}

pub(crate) async fn move_ticket(
    c: &impl GenericClient,
    id: i64,
    window: u32,
    m: &TicketMove,
    now: DateTime<Utc>,
) -> Result<Ticket> {
    let w = window as i32;
    let r = match m {
        TicketMove::Recall { max_calls } => {
            c.query_opt(
                &format!(
                    "UPDATE tickets SET calls = calls + 1, called_at = $3,
                        status = CASE WHEN calls + 1 > $4 THEN 'missed' ELSE 'called' END,
                        window_number = CASE WHEN calls + 1 > $4 THEN NULL ELSE window_number END
                     WHERE id = $1 AND status = 'called' AND window_number = $2 RETURNING {COLS}"
                ),
                &[&id, &w, &now, &(*max_calls as i32)],
            )
            .await?
        }
        TicketMove::Start => {
            c.query_opt(&format!("UPDATE tickets SET status = 'serving' WHERE id = $1 AND status = 'called' AND window_number = $2 RETURNING {COLS}"), &[&id, &w])
                .await?
        }
        TicketMove::Finish => {
            c.query_opt(
                &format!("UPDATE tickets SET status = 'done', finished_at = $3 WHERE id = $1 AND status = 'serving' AND window_number = $2 RETURNING {COLS}"),
                &[&id, &w, &now],
            )
            .await?
        }
        TicketMove::NoShow => {
            c.query_opt(
                &format!("UPDATE tickets SET status = 'missed', window_number = NULL WHERE id = $1 AND status = 'called' AND window_number = $2 RETURNING {COLS}"),
                &[&id, &w],
            )
            .await?
        }
        TicketMove::Requeue => {
            c.query_opt(
                &format!(
                    "UPDATE tickets SET status = 'waiting', due_at = $2, calls = 0, window_number = NULL, officer_id = NULL
                     WHERE id = $1 AND status = 'missed' RETURNING {COLS}"
                ),
                &[&id, &now],
            )
            .await?
        }
        TicketMove::Park => {
            c.query_opt(
                &format!("UPDATE tickets SET status = 'parked' WHERE id = $1 AND status IN ('called', 'serving') AND window_number = $2 RETURNING {COLS}"),
                &[&id, &w],
            )
            .await?
        }
        TicketMove::Unpark => {
            c.query_opt(
                &format!(
                    "UPDATE tickets SET status = 'called', calls = calls + 1, called_at = $3 WHERE id = $1 AND status = 'parked' AND window_number = $2 RETURNING {COLS}"
                ),
                &[&id, &w, &now],
            )
            .await?
        }
        TicketMove::Transfer { queue, first } => {
            c.query_opt(
                &format!(
                    "UPDATE tickets t SET status = 'waiting', queue = $3, window_number = NULL, officer_id = NULL, calls = 0,
                        due_at = CASE WHEN $4 THEN COALESCE((SELECT MIN(o.due_at) - interval '1 millisecond' FROM tickets o
                            WHERE o.hall_id = t.hall_id AND o.day = t.day AND o.queue = $3 AND o.status = 'waiting'), $5) ELSE $5 END,
                        priority = CASE WHEN $4 THEN GREATEST(t.priority, (SELECT COALESCE(MAX(o.priority), 0) FROM tickets o
                            WHERE o.hall_id = t.hall_id AND o.day = t.day AND o.queue = $3 AND o.status = 'waiting')) ELSE t.priority END
                     WHERE t.id = $1 AND t.status IN ('called', 'serving') AND t.window_number = $2
                     RETURNING {}",
                    COLS.split(", ").map(|c| format!("t.{c}")).collect::<Vec<_>>().join(", ")
                ),
                &[&id, &w, queue, first, &now],
            )
            .await?
        }
    };
    match r {
        Some(r) => rows::ticket(&r),
        None if by_id(c, id).await?.is_none() => Err(StoreError::NotFound("ticket")),
        None => Err(StoreError::Refused("ticket_state")),
    }
}

pub(crate) async fn of_day(
    c: &impl GenericClient,
    hall: &str,
    day: NaiveDate,
) -> Result<Vec<Ticket>> {
    c.query(sql::TICKETS_OF_DAY.pg, &[&hall, &day])
        .await?
        .iter()
        .map(rows::ticket)
        .collect::<Result<_>>()
}

pub(crate) async fn pay(c: &impl GenericClient, p: &NewPayment) -> Result<Payment> {
    let t = by_id(c, p.ticket_id)
        .await?
        .ok_or(StoreError::NotFound("ticket"))?;
    let n: i32 = c
        .query_one(
            "INSERT INTO receipt_counters (hall_id, day, last) VALUES ($1, $2, 1)
             ON CONFLICT (hall_id, day) DO UPDATE SET last = receipt_counters.last + 1 RETURNING last",
            &[&t.hall_id, &t.day],
        )
        .await?
        .get(0);
    let receipt = format!("{}-{}-{n:05}", t.hall_id, t.day.format("%Y%m%d"));
    let id: i64 = c
        .query_one(
            "INSERT INTO payments (ticket_id, hall_id, day, receipt_no, amount_yuan, method, reference, window_number, officer_id, paid_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            &[
                &p.ticket_id, &t.hall_id, &t.day, &receipt, &(p.amount_yuan as i32), &p.method, &p.reference,
                &(p.window_number as i32), &p.officer_id, &p.now,
            ],
        )
        .await
        .map_err(unique_as("already_paid"))?
        .get(0);
    Ok(Payment {
        id,
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

pub(crate) async fn reconciliation(
    c: &impl GenericClient,
    hall: &str,
    day: NaiveDate,
) -> Result<Vec<ReconLine>> {
    Ok(c
        .query(
            "SELECT window_number, method, COUNT(*), SUM(amount_yuan)::bigint FROM payments
             WHERE hall_id = $1 AND day = $2 AND refunded_at IS NULL GROUP BY window_number, method ORDER BY window_number, method",
            &[&hall, &day],
        )
        .await?
        .iter()
        .map(|r| ReconLine {
            window_number: r.get::<_, i32>(0) as u32,
            method: r.get(1),
            count: r.get::<_, i64>(2) as u32,
            sum_yuan: r.get::<_, i64>(3) as u64,
        })
        .collect())
}

pub(crate) async fn record_rating(
    c: &impl GenericClient,
    keys: &crate::keys::Keys,
    n: &NewRating,
    pages: &[NewMessage],
) -> Result<Option<Alert>> {
    let t = by_id(c, n.ticket_id)
        .await?
        .ok_or(StoreError::NotFound("ticket"))?;
    if t.status != "done" {
        return Err(StoreError::Refused("ticket_state"));
    }
    let window = t.window_number.unwrap_or_default() as i32;
    let rating: i64 = c
        .query_one(
            "INSERT INTO ratings (ticket_id, hall_id, window_number, officer_id, score, reasons, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &[&t.id, &t.hall_id, &window, &t.officer_id, &n.score, &n.reasons, &n.now],
        )
        .await
        .map_err(unique_as("already_rated"))?
        .get(0);
    if n.score != "unsatisfied" {
        return Ok(None);
    }
    let id: i64 = c
        .query_one(
            "INSERT INTO alerts (hall_id, rating_id, ticket_label, window_number, officer_id, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[&t.hall_id, &rating, &t.label, &window, &t.officer_id, &n.now],
        )
        .await?
        .get(0);
    super::outbox::insert(c, keys, pages).await?;
    Ok(alerts(c, None, false, Some(id)).await?.pop())
}

pub(crate) async fn alerts(
    c: &impl GenericClient,
    hall: Option<&str>,
    open_only: bool,
    id: Option<i64>,
) -> Result<Vec<Alert>> {
    c
        .query(
            &format!(
                "SELECT {ALERT_COLS} FROM alerts a JOIN ratings r ON r.id = a.rating_id
                 WHERE ($1::text IS NULL OR a.hall_id = $1) AND (NOT $2 OR a.acknowledged_at IS NULL) AND ($3::bigint IS NULL OR a.id = $3)
                 ORDER BY a.acknowledged_at IS NOT NULL, a.id DESC LIMIT 200"
            ),
            &[&hall, &open_only, &id],
        )
        .await?
        .iter()
        .map(rows::alert)
        .collect::<Result<_>>()
}

pub(crate) async fn escalate(
    c: &impl GenericClient,
    keys: &crate::keys::Keys,
    id: i64,
    now: DateTime<Utc>,
    pages: &[NewMessage],
) -> Result<bool> {
    let n = c.execute(sql::ESCALATE_ALERT.pg, &[&id, &now]).await?;
    if n == 1 {
        super::outbox::insert(c, keys, pages).await?;
    }
    Ok(n == 1)
}

pub(crate) async fn application_of(
    c: &impl GenericClient,
    ticket: i64,
) -> Result<Option<Application>> {
    c.query_opt(sql::APPLICATION_OF.pg, &[&ticket])
        .await?
        .map(|r| rows::application(&r))
        .transpose()
}

pub(crate) async fn application(c: &impl GenericClient, id: i64) -> Result<Option<Application>> {
    c.query_opt(sql::APPLICATION_BY_ID.pg, &[&id])
        .await?
        .map(|r| rows::application(&r))
        .transpose()
}

async fn notifying(
    c: &impl GenericClient,
    keys: &crate::keys::Keys,
    change: &AdminChange,
    audit: &NewAudit,
    messages: &[NewMessage],
) -> Result<AdminOutcome> {
    let out = super::staff::apply(c, keys, change, audit).await?;
    super::outbox::insert(c, keys, crate::admin::messages_for(change, &out, messages)).await?;
    Ok(out)
}

pub(crate) async fn accept(
    c: &impl GenericClient,
    keys: &crate::keys::Keys,
    a: &NewApplication,
) -> Result<Application> {
    // The ticket's row lock keeps a concurrent action from moving it meanwhile.
    let t = c
        .query_opt(
            &format!("SELECT {COLS} FROM tickets WHERE id = $1 FOR UPDATE"),
            &[&a.ticket_id],
        )
        .await?
        .map(|r| rows::ticket(&r))
        .transpose()?
        .ok_or(StoreError::NotFound("ticket"))?;
    if t.status != "serving" || t.window_number != Some(a.window_number) {
        return Err(StoreError::Refused("ticket_state"));
    }
    let approved: bool = c
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM urgent_requests WHERE ticket_id = $1 AND approved)",
            &[&t.id],
        )
        .await?
        .get(0);
    c.execute(
        sql::INSERT_APPLICATION.pg,
        &[
            &t.id,
            &t.booking_id,
            &t.hall_id,
            &t.business,
            &t.identity_key,
            &if a.missing.is_empty() {
                "accepted"
            } else {
                "pending_supplement"
            },
            &serde_json::to_string(&a.missing).expect("strings serialise"),
            &a.supplement_due,
            &(approved || t.priority > 0),
            &a.ready_by,
            &(a.window_number as i32),
            &a.officer_id,
            &a.now,
            &a.collection_method,
            &keys.seal_opt(a.mail_address.as_deref()),
            &a.channel,
        ],
    )
    .await
    .map_err(unique_as("already_accepted"))?;
    c.execute(sql::INSERT_FIRST_APPLICATION_EVENT.pg, &[&t.id])
        .await?;
    application_of(c, t.id)
        .await?
        .ok_or(StoreError::NotFound("application"))
}

pub(crate) async fn urgent(
    c: &impl GenericClient,
    open_only: bool,
    id: Option<i64>,
) -> Result<Vec<UrgentRequest>> {
    Ok(c
        .query(
            "SELECT u.id, u.ticket_id, t.label, u.hall_id, u.reason, u.note, u.created_at, u.decided_at, u.approved
             FROM urgent_requests u JOIN tickets t ON t.id = u.ticket_id
             WHERE (NOT $1 OR u.decided_at IS NULL) AND ($2::bigint IS NULL OR u.id = $2) ORDER BY u.decided_at IS NOT NULL, u.id DESC LIMIT 200",
            &[&open_only, &id],
        )
        .await?
        .iter()
        .map(|r| UrgentRequest {
            id: r.get(0),
            ticket_id: r.get(1),
            ticket_label: r.get(2),
            hall_id: r.get(3),
            reason: r.get(4),
            note: r.get(5),
            created_at: r.get(6),
            decided_at: r.get(7),
            approved: r.get(8),
        })
        .collect())
}

pub(crate) async fn payments_of_day(
    c: &impl GenericClient,
    hall: &str,
    day: NaiveDate,
) -> Result<Vec<DayPayment>> {
    Ok(c.query(sql::PAYMENTS_OF_DAY.pg, &[&hall, &day])
        .await?
        .iter()
        .map(|r| DayPayment {
            payment: payment_row(r),
            ticket_label: r.get(9),
            refunded_at: r.get(10),
        })
        .collect())
}

/// A payment from the first nine columns of `PAYMENT_OF`'s shape.
fn payment_row(r: &tokio_postgres::Row) -> Payment {
    Payment {
        id: r.get(0),
        ticket_id: r.get(1),
        receipt_no: r.get(2),
        amount_yuan: r.get::<_, i32>(3) as u32,
        method: r.get(4),
        reference: r.get(5),
        window_number: r.get::<_, i32>(6) as u32,
        officer_id: r.get(7),
        paid_at: r.get(8),
    }
}

pub(crate) async fn payment_of(c: &impl GenericClient, ticket: i64) -> Result<Option<Payment>> {
    Ok(c.query_opt(sql::PAYMENT_OF.pg, &[&ticket])
        .await?
        .map(|r| payment_row(&r)))
}

#[async_trait]
impl HallStore for PgStore {
    async fn issue_ticket(&self, t: &NewTicket) -> Result<Ticket> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        let r = issue(&tx, t).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(r)
    }

    async fn walk_in(&self, w: &NewWalkIn, audit: &NewAudit) -> Result<Ticket> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        let r = walk_in(&tx, &self.keys, w, audit).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(r)
    }

    async fn ticket_of_booking(&self, booking_id: i64) -> Result<Option<Ticket>> {
        let c = self.client().await?;
        c.query_opt(sql::TICKET_OF_BOOKING.pg, &[&booking_id])
            .await?
            .map(|r| rows::ticket(&r))
            .transpose()
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
        let c = self.client().await?;
        call_next(&c, hall_id, day, queues, window, officer_id, now).await
    }

    async fn move_ticket(
        &self,
        ticket_id: i64,
        window: u32,
        m: &TicketMove,
        now: DateTime<Utc>,
    ) -> Result<Ticket> {
        let c = self.client().await?;
        move_ticket(&c, ticket_id, window, m, now).await
    }

    async fn ticket(&self, id: i64) -> Result<Option<Ticket>> {
        let c = self.client().await?;
        by_id(&c, id).await
    }

    async fn tickets_of_day(&self, hall_id: &str, day: NaiveDate) -> Result<Vec<Ticket>> {
        let c = self.client().await?;
        of_day(&c, hall_id, day).await
    }

    async fn record_payment(&self, p: &NewPayment) -> Result<Payment> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        let r = pay(&tx, p).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(r)
    }

    async fn reconciliation(&self, hall_id: &str, day: NaiveDate) -> Result<Vec<ReconLine>> {
        let c = self.client().await?;
        reconciliation(&c, hall_id, day).await
    }

    async fn record_rating(&self, r: &NewRating, pages: &[NewMessage]) -> Result<Option<Alert>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        let out = record_rating(&tx, &self.keys, r, pages).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    async fn ticket_rated(&self, ticket_id: i64) -> Result<bool> {
        let c = self.client().await?;
        let n: i64 = c
            .query_one(sql::TICKET_RATED.pg, &[&ticket_id])
            .await
            .map_err(db_err)?
            .get(0);
        Ok(n > 0)
    }

    async fn alert(&self, id: i64) -> Result<Option<Alert>> {
        let c = self.client().await?;
        Ok(alerts(&c, None, false, Some(id)).await?.pop())
    }

    async fn urgent_request(&self, id: i64) -> Result<Option<UrgentRequest>> {
        let c = self.client().await?;
        Ok(urgent(&c, false, Some(id)).await?.pop())
    }

    async fn alerts(&self, hall_id: Option<&str>, open_only: bool) -> Result<Vec<Alert>> {
        let c = self.client().await?;
        alerts(&c, hall_id, open_only, None).await
    }

    async fn escalate_alert(
        &self,
        id: i64,
        now: DateTime<Utc>,
        pages: &[NewMessage],
    ) -> Result<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        let out = escalate(&tx, &self.keys, id, now, pages).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    async fn accept_application(
        &self,
        a: &NewApplication,
        audit: &NewAudit,
        messages: &[NewMessage],
    ) -> Result<Application> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        let r = accept(&tx, &self.keys, a).await?;
        super::staff::apply(&tx, &self.keys, &AdminChange::RecordOnly, audit).await?;
        super::outbox::insert(&tx, &self.keys, messages).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(r)
    }

    async fn applications_of(&self, identity_key: &str) -> Result<Vec<Application>> {
        let c = self.client().await?;
        c.query(sql::APPLICATIONS_OF_IDENTITY.pg, &[&identity_key])
            .await?
            .iter()
            .map(rows::application)
            .collect()
    }

    async fn application_mail_address(&self, id: i64) -> Result<Option<String>> {
        let c = self.client().await?;
        let sealed: Option<String> = c
            .query_opt(sql::APPLICATION_MAIL_ADDRESS.pg, &[&id])
            .await?
            .and_then(|r| r.get(0));
        sealed
            .map(|s| crate::seal::open_text(&self.keys, "mail address", &s))
            .transpose()
    }

    async fn overdue_applications(
        &self,
        today: NaiveDate,
        hall: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Application>> {
        let c = self.client().await?;
        c.query(
            sql::OVERDUE_APPLICATIONS.pg,
            &[&today, &hall, &i64::from(limit)],
        )
        .await?
        .iter()
        .map(rows::application)
        .collect()
    }

    async fn application_of(&self, ticket_id: i64) -> Result<Option<Application>> {
        let c = self.client().await?;
        application_of(&c, ticket_id).await
    }

    async fn application(&self, id: i64) -> Result<Option<Application>> {
        let c = self.client().await?;
        application(&c, id).await
    }

    async fn transition_application(
        &self,
        m: &ApplicationMove,
        audit: &NewAudit,
        messages: &[NewMessage],
    ) -> Result<Application> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        notifying(
            &tx,
            &self.keys,
            &AdminChange::TransitionApplication(m.clone()),
            audit,
            messages,
        )
        .await?;
        let a = application(&tx, m.id)
            .await?
            .ok_or(StoreError::NotFound("application"))?;
        tx.commit().await.map_err(db_err)?;
        Ok(a)
    }

    async fn apply_admin_notifying(
        &self,
        change: &AdminChange,
        audit: &NewAudit,
        messages: &[NewMessage],
    ) -> Result<AdminOutcome> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        let out = notifying(&tx, &self.keys, change, audit, messages).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    async fn locker(&self, hall_id: &str) -> Result<Vec<LockerCompartment>> {
        let c = self.client().await?;
        c.query(sql::LOCKER_OF_HALL.pg, &[&hall_id])
            .await?
            .iter()
            .map(rows::locker_compartment)
            .collect()
    }

    async fn locker_by_code(
        &self,
        hall_id: &str,
        code_mac: &str,
    ) -> Result<Option<LockerCompartment>> {
        let c = self.client().await?;
        c.query_opt(sql::LOCKER_BY_CODE.pg, &[&hall_id, &code_mac])
            .await?
            .map(|r| rows::locker_compartment(&r))
            .transpose()
    }

    async fn lapsing_applications(&self, day: NaiveDate, limit: u32) -> Result<Vec<Application>> {
        let c = self.client().await?;
        c.query(sql::APPLICATIONS_LAPSING.pg, &[&day, &i64::from(limit)])
            .await?
            .iter()
            .map(rows::application)
            .collect()
    }

    async fn uncollected_applications(
        &self,
        arrived_before: DateTime<Utc>,
        unreminded: bool,
        limit: u32,
    ) -> Result<Vec<Application>> {
        let q = if unreminded {
            sql::APPLICATIONS_UNREMINDED.pg
        } else {
            sql::APPLICATIONS_UNCOLLECTED.pg
        };
        let c = self.client().await?;
        c.query(q, &[&arrived_before, &i64::from(limit)])
            .await?
            .iter()
            .map(rows::application)
            .collect()
    }

    async fn applications_in_state(
        &self,
        state: &str,
        hall: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Application>> {
        let c = self.client().await?;
        c.query(
            sql::APPLICATIONS_IN_STATE.pg,
            &[&state, &hall, &i64::from(limit)],
        )
        .await?
        .iter()
        .map(rows::application)
        .collect()
    }

    async fn application_events(&self, id: i64) -> Result<Vec<ApplicationEvent>> {
        let c = self.client().await?;
        c.query(sql::APPLICATION_EVENTS.pg, &[&id])
            .await?
            .iter()
            .map(rows::application_event)
            .collect()
    }

    async fn urgent_requests(&self, open_only: bool) -> Result<Vec<UrgentRequest>> {
        let c = self.client().await?;
        urgent(&c, open_only, None).await
    }

    async fn create_production_batch(&self, b: &NewProductionBatch) -> Result<ProductionBatch> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        let id = super::staff::create_batch(&tx, &self.keys, b).await?;
        let batch = tx
            .query_opt(sql::PRODUCTION_BATCH.pg, &[&id])
            .await?
            .map(|r| rows::production_batch(&r))
            .transpose()?
            .ok_or(StoreError::NotFound("production batch"))?;
        tx.commit().await.map_err(db_err)?;
        Ok(batch)
    }

    async fn production_batches(&self, limit: u32) -> Result<Vec<ProductionBatch>> {
        let c = self.client().await?;
        c.query(sql::PRODUCTION_BATCHES.pg, &[&i64::from(limit)])
            .await?
            .iter()
            .map(rows::production_batch)
            .collect()
    }

    async fn production_batch(&self, id: i64) -> Result<Option<ProductionBatch>> {
        let c = self.client().await?;
        c.query_opt(sql::PRODUCTION_BATCH.pg, &[&id])
            .await?
            .map(|r| rows::production_batch(&r))
            .transpose()
    }

    async fn batch_applications(&self, batch_id: i64) -> Result<Vec<Application>> {
        let c = self.client().await?;
        c.query(sql::BATCH_APPLICATIONS.pg, &[&batch_id])
            .await?
            .iter()
            .map(rows::application)
            .collect()
    }

    async fn count_applications_in_state(&self, state: &str) -> Result<u64> {
        let c = self.client().await?;
        let n: i64 = c
            .query_one(sql::COUNT_APPLICATIONS_IN_STATE.pg, &[&state])
            .await?
            .get(0);
        Ok(n as u64)
    }

    async fn payments_of_day(&self, hall_id: &str, day: NaiveDate) -> Result<Vec<DayPayment>> {
        let c = self.client().await?;
        payments_of_day(&c, hall_id, day).await
    }

    async fn payment_of(&self, ticket_id: i64) -> Result<Option<Payment>> {
        let c = self.client().await?;
        payment_of(&c, ticket_id).await
    }
}
