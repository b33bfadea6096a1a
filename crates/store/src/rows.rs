//! Row mapping written once: each adapter reads a column through [`Cols`] in its own storage
//! types (SQLite: instants as milliseconds, days and times as text, flags as integers;
//! PostgreSQL: `timestamptz`, `date`, `boolean`, 4- and 8-byte integers), and these functions
//! build the model from the columns in the order of the shared column lists in
//! [`crate::sql`].

use crate::model::*;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use wujing_domain::audit::AuditEntry;
use wujing_domain::Pool;

/// A result row as the shared mappings read it. `Err` is the adapter's own error type, so that
/// a mapping runs inside the adapter's row callbacks unchanged.
pub(crate) trait Cols {
    type Err;
    /// The error for a column whose stored text is not a valid value.
    fn corrupt(&self, i: usize, what: &str, value: String) -> Self::Err;
    fn int(&self, i: usize) -> Result<i64, Self::Err>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>, Self::Err>;
    fn text(&self, i: usize) -> Result<String, Self::Err>;
    fn opt_text(&self, i: usize) -> Result<Option<String>, Self::Err>;
    fn flag(&self, i: usize) -> Result<bool, Self::Err>;
    fn day(&self, i: usize) -> Result<NaiveDate, Self::Err>;
    fn opt_day(&self, i: usize) -> Result<Option<NaiveDate>, Self::Err>;
    fn at(&self, i: usize) -> Result<DateTime<Utc>, Self::Err>;
    fn opt_at(&self, i: usize) -> Result<Option<DateTime<Utc>>, Self::Err>;

    fn count(&self, i: usize) -> Result<u32, Self::Err> {
        Ok(self.int(i)? as u32)
    }
    fn opt_count(&self, i: usize) -> Result<Option<u32>, Self::Err> {
        Ok(self.opt_int(i)?.map(|v| v as u32))
    }
    /// A text column parsed by `parse`.
    fn parsed<T>(
        &self,
        i: usize,
        what: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<T, Self::Err> {
        let s = self.text(i)?;
        parse(&s).ok_or_else(|| self.corrupt(i, what, s))
    }
}

/// A slot from the columns of [`crate::sql::SLOT_COLS`] starting at `o`.
pub(crate) fn slot<R: Cols>(r: &R, o: usize) -> Result<Slot, R::Err> {
    Ok(Slot {
        id: r.int(o)?,
        hall_id: r.text(o + 1)?,
        day: r.day(o + 2)?,
        start: r.parsed(o + 3, "start", |s| {
            NaiveTime::parse_from_str(s, "%H:%M").ok()
        })?,
        pool: r.parsed(o + 4, "pool", Pool::parse)?,
        starts_at: r.at(o + 5)?,
        capacity: r.count(o + 6)?,
        taken: r.count(o + 7)?,
    })
}

/// A booking from `booking_select!()`.
pub(crate) fn booking<R: Cols>(r: &R) -> Result<Booking, R::Err> {
    Ok(Booking {
        id: r.int(0)?,
        code: r.text(1)?,
        business: r.text(2)?,
        option_code: r.opt_text(3)?,
        identity_key: r.text(4)?,
        id_kind: r.parsed(5, "id_kind", IdKind::parse)?,
        id_number: r.text(6)?,
        nationality: r.opt_text(7)?,
        name: r.text(8)?,
        phone: r.text(9)?,
        answers_json: r.text(10)?,
        fee_yuan: r.opt_count(11)?,
        channel: r.text(12)?,
        status: r.parsed(13, "status", BookingStatus::parse)?,
        created_at: r.at(14)?,
        cancelled_at: r.opt_at(15)?,
        reschedule_count: r.count(16)?,
        slot: slot(r, 17)?,
        lang: r.text(25)?,
    })
}

pub(crate) fn pair<R: Cols>(r: &R) -> Result<CancelRebookPair, R::Err> {
    Ok(CancelRebookPair {
        cancelled_code: r.text(0)?,
        new_code: r.text(1)?,
        kind: r.text(2)?,
        gap_ms: r.int(3)?,
    })
}

/// A lottery entry from `entry_select!()`.
pub(crate) fn entry<R: Cols>(r: &R) -> Result<LotteryEntry, R::Err> {
    Ok(LotteryEntry {
        id: r.int(0)?,
        entry: NewEntry {
            id: r.int(0)?,
            release_day: r.day(1)?,
            business: r.text(2)?,
            option_code: r.opt_text(3)?,
            identity_key: r.text(4)?,
            id_kind: r.parsed(5, "id_kind", IdKind::parse)?,
            id_number: r.text(6)?,
            nationality: r.opt_text(7)?,
            name: r.text(8)?,
            phone: r.text(9)?,
            answers_json: r.text(10)?,
            hall_ids: r
                .text(11)?
                .split(',')
                .filter(|h| !h.is_empty())
                .map(str::to_string)
                .collect(),
            channel: r.text(12)?,
            client_addr: r.opt_text(13)?,
            now: r.at(14)?,
            phone_code_id: None,
        },
        status: r.parsed(15, "status", EntryStatus::parse)?,
        booking_code: r.opt_text(16)?,
    })
}

/// A draw from `draw_select!()`.
pub(crate) fn draw<R: Cols>(r: &R) -> Result<Draw, R::Err> {
    Ok(Draw {
        release_day: r.day(0)?,
        seed: r.int(1)? as u64,
        started_at: r.at(2)?,
        finished_at: r.opt_at(3)?,
        entries: r.int(4)? as u64,
        winners: r.int(5)? as u64,
    })
}

/// A ticket from `ticket_cols!()`.
pub(crate) fn ticket<R: Cols>(r: &R) -> Result<Ticket, R::Err> {
    Ok(Ticket {
        id: r.int(0)?,
        hall_id: r.text(1)?,
        day: r.day(2)?,
        queue: r.text(3)?,
        number: r.count(4)?,
        label: r.text(5)?,
        booking_id: r.opt_int(6)?,
        business: r.text(7)?,
        identity_key: r.text(8)?,
        kind: r.text(9)?,
        priority: r.int(10)? as i32,
        due_at: r.at(11)?,
        status: r.text(12)?,
        window_number: r.opt_count(13)?,
        officer_id: r.opt_int(14)?,
        calls: r.count(15)?,
        created_at: r.at(16)?,
        called_at: r.opt_at(17)?,
        finished_at: r.opt_at(18)?,
        slot_id: r.opt_int(19)?,
        channel: r.opt_text(20)?,
        hukou_scope: r.opt_text(21)?,
    })
}

/// An alert from `alert_cols!()`.
pub(crate) fn alert<R: Cols>(r: &R) -> Result<Alert, R::Err> {
    Ok(Alert {
        id: r.int(0)?,
        hall_id: r.text(1)?,
        ticket_label: r.text(2)?,
        window_number: r.count(3)?,
        officer_id: r.opt_int(4)?,
        score: r.text(5)?,
        reasons: r.text(6)?,
        created_at: r.at(7)?,
        acknowledged_at: r.opt_at(8)?,
        acknowledged_by: r.opt_int(9)?,
        outcome: r.opt_text(10)?,
        escalated_at: r.opt_at(11)?,
    })
}

/// An application from `application_cols!()`.
pub(crate) fn application<R: Cols>(r: &R) -> Result<Application, R::Err> {
    Ok(Application {
        id: r.int(0)?,
        ticket_id: r.opt_int(1)?,
        business: r.text(2)?,
        status: r.text(3)?,
        missing: serde_json::from_str(&r.text(4)?).unwrap_or_default(),
        supplement_due: r.opt_day(5)?,
        expedited: r.flag(6)?,
        ready_by: r.day(7)?,
        accepted_at: r.at(8)?,
        hall_id: r.text(9)?,
        identity_key: r.text(10)?,
        refusal_reason: r.opt_text(11)?,
        document_number: r.opt_text(12)?,
        collection_method: r.text(13)?,
        updated_at: r.at(14)?,
        booking_id: r.opt_int(15)?,
        tracking_number: r.opt_text(16)?,
        channel: r.text(17)?,
    })
}

/// A history row from [`crate::sql::APPLICATION_EVENTS`].
pub(crate) fn application_event<R: Cols>(r: &R) -> Result<ApplicationEvent, R::Err> {
    Ok(ApplicationEvent {
        id: r.int(0)?,
        application_id: r.int(1)?,
        from_state: r.opt_text(2)?,
        to_state: r.text(3)?,
        at: r.at(4)?,
        actor: r.text(5)?,
        note: r.text(6)?,
    })
}

/// A locker compartment from `locker_cols!()`.
pub(crate) fn locker_compartment<R: Cols>(r: &R) -> Result<LockerCompartment, R::Err> {
    Ok(LockerCompartment {
        id: r.int(0)?,
        hall_id: r.text(1)?,
        label: r.text(2)?,
        application_id: r.opt_int(3)?,
        assigned_at: r.opt_at(4)?,
        jammed_at: r.opt_at(5)?,
    })
}

/// A message from `message_cols!()`.
pub(crate) fn message<R: Cols>(r: &R) -> Result<Message, R::Err> {
    Ok(Message {
        id: r.int(0)?,
        idempotency_key: r.text(1)?,
        channel: r.text(2)?,
        recipient: r.text(3)?,
        topic: r.text(4)?,
        body: r.text(5)?,
        created_at: r.at(6)?,
        due_at: r.at(7)?,
        attempts: r.count(8)?,
        delivered_at: r.opt_at(9)?,
        last_error: r.opt_text(10)?,
    })
}

/// A staff account from `staff_cols!()` starting at `o`.
pub(crate) fn staff<R: Cols>(r: &R, o: usize) -> Result<StaffAccount, R::Err> {
    let roles = r.text(o + 4)?;
    Ok(StaffAccount {
        id: r.int(o)?,
        username: r.text(o + 1)?,
        display_name: r.text(o + 2)?,
        password_hash: r.text(o + 3)?,
        roles: match serde_json::from_str(&roles) {
            Ok(v) => v,
            Err(_) => return Err(r.corrupt(o + 4, "staff roles", roles)),
        },
        disabled: r.flag(o + 5)?,
        created_at: r.at(o + 6)?,
        password_changed_at: r.at(o + 7)?,
        phone: r.opt_text(o + 8)?,
    })
}

/// An audit entry from `audit_cols!()`.
pub(crate) fn audit<R: Cols>(r: &R) -> Result<AuditEntry, R::Err> {
    Ok(AuditEntry {
        seq: r.int(0)?,
        at_ms: r.at(1)?.timestamp_millis(),
        actor: r.text(2)?,
        actor_name: r.text(3)?,
        action: r.text(4)?,
        subject: r.text(5)?,
        citizen: r.opt_text(6)?,
        detail: r.text(7)?,
        client_addr: r.opt_text(8)?,
        station: r.opt_text(9)?,
        prev_hash: r.text(10)?,
        hash: r.text(11)?,
    })
}

/// A device from [`crate::sql::DEVICE_COLS`].
pub(crate) fn device<R: Cols>(r: &R) -> Result<Device, R::Err> {
    Ok(Device {
        id: r.int(0)?,
        name: r.text(1)?,
        hall_id: r.text(2)?,
        token_hash: r.text(3)?,
        created_at: r.at(4)?,
        revoked_at: r.opt_at(5)?,
        kind: r.text(6)?,
        window_number: r.opt_count(7)?,
        paired_at: r.opt_at(8)?,
    })
}

pub(crate) fn system_client<R: Cols>(r: &R) -> Result<SystemClient, R::Err> {
    Ok(SystemClient {
        id: r.int(0)?,
        name: r.text(1)?,
        kind: r.text(2)?,
        token_hash: r.text(3)?,
        created_at: r.at(4)?,
        revoked_at: r.opt_at(5)?,
    })
}

pub(crate) fn production_batch<R: Cols>(r: &R) -> Result<ProductionBatch, R::Err> {
    Ok(ProductionBatch {
        id: r.int(0)?,
        created_at: r.at(1)?,
        actor: r.text(2)?,
        actor_name: r.text(3)?,
        size: r.count(4)?,
    })
}
