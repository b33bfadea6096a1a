//! Staff changes ([`AdminChange`]) written once for both dialects: what each change does, as
//! statements from [`crate::sql`] over an [`AdminTx`], the small part of a transaction both
//! adapters provide. The adapters keep what differs: the transaction itself (SQLite's writer
//! job, PostgreSQL's transaction) and how the audit entry is appended after the change.

use crate::model::{AdminChange, AdminOutcome, NewAudit, NewProductionBatch};
use crate::sql::{self, Sql};
use crate::{Result, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use wujing_domain::application::State;
use wujing_domain::audit::AuditEntry;

/// A parameter, bound by each adapter in its own types (SQLite: dates as text, instants as
/// milliseconds, booleans as integers; PostgreSQL: `date`, `timestamptz`, `boolean`).
#[derive(Debug, Clone)]
pub(crate) enum Arg<'a> {
    Text(&'a str),
    OptText(Option<&'a str>),
    /// A `BIGINT` (ids).
    Int(i64),
    /// An `INTEGER` (window numbers, seats).
    Int4(i32),
    Bool(bool),
    OptBool(Option<bool>),
    /// A nullable `REAL` / `DOUBLE PRECISION` (a site's coordinates).
    OptFloat(Option<f64>),
    /// A nullable `BIGINT` and `DATE` (accommodation registrations).
    OptInt(Option<i64>),
    OptDay(Option<NaiveDate>),
    Day(NaiveDate),
    At(DateTime<Utc>),
}

/// The constraint a failed statement violated, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Violation {
    Unique,
    Check,
}

/// A failed statement: the store error, and the constraint violation behind it, if any.
#[derive(Debug)]
pub(crate) struct Fail {
    pub(crate) violation: Option<Violation>,
    pub(crate) error: StoreError,
}

impl From<Fail> for StoreError {
    fn from(f: Fail) -> Self {
        f.error
    }
}

/// What a staff change needs of a transaction.
pub(crate) trait AdminTx {
    /// Runs a statement; the rows it changed.
    async fn exec(&mut self, sql: Sql, args: &[Arg<'_>]) -> Result<u64, Fail>;
    /// The first column of the first row (`RETURNING id`, a count), as a `BIGINT`.
    async fn first_i64(&mut self, sql: Sql, args: &[Arg<'_>]) -> Result<Option<i64>, Fail>;
    /// Every row, every column a text (nullable); the statement casts what is not text.
    async fn texts(&mut self, sql: Sql, args: &[Arg<'_>])
        -> Result<Vec<Vec<Option<String>>>, Fail>;
}

/// `Refused(code)` when the statement violated `violation`; its own error otherwise.
pub(crate) fn refuse_on(violation: Violation, code: &'static str) -> impl Fn(Fail) -> StoreError {
    move |f| {
        if f.violation == Some(violation) {
            StoreError::Refused(code)
        } else {
            f.error
        }
    }
}

fn roles_json(r: &[wujing_domain::staff::RoleGrant]) -> String {
    serde_json::to_string(r).expect("roles serialise")
}

async fn hall_exists(tx: &mut impl AdminTx, id: &str) -> Result<()> {
    tx.first_i64(sql::HALL_EXISTS, &[Arg::Text(id)])
        .await?
        .map(|_| ())
        .ok_or(StoreError::NotFound("hall"))
}

/// Writes a new site and everything it needs to be bookable but its seats (the use case
/// generates those right after, as for any hall).
async fn create_site(tx: &mut impl AdminTx, s: &crate::model::HallSetup) -> Result<()> {
    use Arg::*;
    let h = &s.hall;
    if tx
        .first_i64(sql::DISTRICT_EXISTS, &[Text(&h.district_id)])
        .await?
        .is_none()
    {
        return Err(StoreError::Refused("site_invalid"));
    }
    let weekdays = crate::common::weekdays_text(&h.weekdays);
    let sessions = wujing_domain::Hours::format_sessions(&h.sessions);
    tx.exec(
        sql::INSERT_SITE,
        &[
            Text(&h.id),
            Text(&h.district_id),
            Text(&h.name_zh),
            Text(&h.name_en),
            Text(&h.address_zh),
            Text(&h.address_en),
            Text(&weekdays),
            Text(&sessions),
            Int4(h.slot_minutes as i32),
            Bool(h.serves_foreigners),
            Text(h.kind.as_str()),
            OptFloat(h.location.map(|l| l.latitude())),
            OptFloat(h.location.map(|l| l.longitude())),
        ],
    )
    .await
    .map_err(refuse_on(Violation::Unique, "site_exists"))?;
    for w in &s.windows {
        tx.exec(
            sql::INSERT_WINDOW,
            &[Text(&h.id), Int4(w.number as i32), Text(&w.kind)],
        )
        .await
        .map_err(refuse_on(Violation::Unique, "window_exists"))?;
    }
    for (pool, seats) in &h.capacity {
        tx.exec(
            sql::UPSERT_POOL_CAPACITY,
            &[Text(&h.id), Text(pool.as_str()), Int4(*seats as i32)],
        )
        .await?;
    }
    set_site_businesses(tx, &h.id, &h.businesses).await
}

/// Replaces the businesses a site offers.
async fn set_site_businesses(tx: &mut impl AdminTx, id: &str, businesses: &[String]) -> Result<()> {
    tx.exec(sql::DELETE_SITE_BUSINESSES, &[Arg::Text(id)])
        .await?;
    for b in businesses {
        tx.exec(sql::INSERT_SITE_BUSINESS, &[Arg::Text(id), Arg::Text(b)])
            .await?;
    }
    Ok(())
}

/// `err` when no row changed.
fn changed(n: u64, err: StoreError) -> Result<AdminOutcome> {
    if n == 0 {
        Err(err)
    } else {
        Ok(AdminOutcome::Done)
    }
}

/// Applies a staff change inside the caller's transaction (the audit entry is the caller's).
pub(crate) async fn apply(
    tx: &mut impl AdminTx,
    keys: &crate::keys::Keys,
    change: &AdminChange,
    now: DateTime<Utc>,
) -> Result<AdminOutcome> {
    use Arg::*;
    Ok(match change {
        AdminChange::RecordOnly => AdminOutcome::Done,
        AdminChange::EndSession { token_hash } => {
            tx.exec(sql::END_SESSION, &[Text(token_hash)]).await?;
            AdminOutcome::Done
        }
        AdminChange::RequestUrgent {
            ticket_id,
            reason,
            note,
            staff_id,
        } => {
            let id = tx
                .first_i64(
                    sql::INSERT_URGENT_REQUEST,
                    &[
                        Int(*ticket_id),
                        Text(reason),
                        Text(note),
                        Int(*staff_id),
                        At(now),
                    ],
                )
                .await
                .map_err(refuse_on(Violation::Unique, "urgent_open"))?;
            AdminOutcome::Created(id.ok_or(StoreError::NotFound("ticket"))?)
        }
        AdminChange::CreateStaff {
            username,
            display_name,
            password_hash,
            roles,
            phone,
        } => {
            let roles = roles_json(roles);
            let id = tx
                .first_i64(
                    sql::INSERT_STAFF,
                    &[
                        Text(username),
                        Text(display_name),
                        Text(password_hash),
                        Text(&roles),
                        At(now),
                        OptText(phone.as_deref()),
                    ],
                )
                .await
                .map_err(refuse_on(Violation::Unique, "username_taken"))?;
            AdminOutcome::Created(id.ok_or(StoreError::Corrupt("no staff id".into()))?)
        }
        AdminChange::UpdateStaff {
            id,
            display_name,
            roles,
            disabled,
            password_hash,
            phone,
        } => {
            let roles = roles.as_deref().map(roles_json);
            let n = tx
                .exec(
                    sql::UPDATE_STAFF,
                    &[
                        Int(*id),
                        OptText(display_name.as_deref()),
                        OptText(roles.as_deref()),
                        OptBool(*disabled),
                        OptText(password_hash.as_deref()),
                        At(now),
                        OptText(phone.as_deref()),
                    ],
                )
                .await?;
            changed(n, StoreError::NotFound("staff account"))?;
            if *disabled == Some(true) || password_hash.is_some() {
                tx.exec(sql::END_SESSIONS_OF_STAFF, &[Int(*id)]).await?;
            }
            AdminOutcome::Done
        }
        AdminChange::CreateDevice {
            name,
            hall_id,
            token_hash,
            kind,
            window_number,
        } => {
            hall_exists(tx, hall_id).await?;
            if let Some(w) = window_number {
                // A window machine stands at a window the site has.
                tx.first_i64(sql::WINDOW_EXISTS, &[Text(hall_id), Int4(*w as i32)])
                    .await?
                    .ok_or(StoreError::NotFound("window"))?;
            }
            let id = tx
                .first_i64(
                    sql::INSERT_DEVICE,
                    &[
                        Text(name),
                        Text(hall_id),
                        Text(token_hash),
                        At(now),
                        Text(kind),
                        OptInt(window_number.map(i64::from)),
                    ],
                )
                .await?;
            AdminOutcome::Created(id.ok_or(StoreError::Corrupt("no device id".into()))?)
        }
        AdminChange::RevokeDevice { id } => {
            let n = tx.exec(sql::REVOKE_DEVICE, &[Int(*id), At(now)]).await?;
            changed(n, StoreError::NotFound("device"))?
        }
        AdminChange::CreateSystemClient {
            name,
            kind,
            token_hash,
        } => {
            let id = tx
                .first_i64(
                    sql::INSERT_SYSTEM_CLIENT,
                    &[Text(name), Text(kind), Text(token_hash), At(now)],
                )
                .await
                .map_err(|f| match f.violation {
                    Some(Violation::Unique) => StoreError::Refused("system_client_name_taken"),
                    Some(Violation::Check) => StoreError::Refused("system_client_kind_invalid"),
                    None => f.error,
                })?;
            AdminOutcome::Created(id.ok_or(StoreError::Corrupt("no system client id".into()))?)
        }
        AdminChange::RevokeSystemClient { id } => {
            let n = tx
                .exec(sql::REVOKE_SYSTEM_CLIENT, &[Int(*id), At(now)])
                .await?;
            changed(n, StoreError::NotFound("system client"))?
        }
        AdminChange::PutSetting { key, value } => {
            tx.exec(sql::PUT_SETTING, &[Text(key), Text(value)]).await?;
            AdminOutcome::Done
        }
        AdminChange::UnlockSignIn { key } => {
            // Nothing to lift is not an error: the entry still says who looked.
            tx.exec(sql::CLEAR_LOGIN_THROTTLE, &[Text(key)]).await?;
            AdminOutcome::Done
        }
        AdminChange::UpdateHall {
            id,
            name_zh,
            name_en,
            address_zh,
            address_en,
        } => {
            let n = tx
                .exec(
                    sql::UPDATE_HALL_NAMES,
                    &[
                        Text(id),
                        Text(name_zh),
                        Text(name_en),
                        Text(address_zh),
                        Text(address_en),
                    ],
                )
                .await?;
            changed(n, StoreError::NotFound("hall"))?
        }
        AdminChange::CreateSite(setup) => {
            create_site(tx, setup).await?;
            AdminOutcome::Done
        }
        AdminChange::UpdateSite(h) => {
            let weekdays = crate::common::weekdays_text(&h.weekdays);
            let sessions = wujing_domain::Hours::format_sessions(&h.sessions);
            let n = tx
                .exec(
                    sql::UPDATE_SITE,
                    &[
                        Text(&h.id),
                        Text(&h.name_zh),
                        Text(&h.name_en),
                        Text(&h.address_zh),
                        Text(&h.address_en),
                        Text(&weekdays),
                        Text(&sessions),
                        Int4(h.slot_minutes as i32),
                        Bool(h.serves_foreigners),
                        OptFloat(h.location.map(|l| l.latitude())),
                        OptFloat(h.location.map(|l| l.longitude())),
                    ],
                )
                .await?;
            changed(n, StoreError::NotFound("hall"))?;
            set_site_businesses(tx, &h.id, &h.businesses).await?;
            AdminOutcome::Done
        }
        AdminChange::AddWindow {
            hall_id,
            number,
            kind,
        } => {
            hall_exists(tx, hall_id).await?;
            tx.exec(
                sql::INSERT_WINDOW,
                &[Text(hall_id), Int4(*number as i32), Text(kind)],
            )
            .await
            .map_err(refuse_on(Violation::Unique, "window_exists"))?;
            AdminOutcome::Done
        }
        AdminChange::RemoveWindow { hall_id, number } => {
            let n = tx
                .exec(sql::DELETE_WINDOW, &[Text(hall_id), Int4(*number as i32)])
                .await?;
            changed(n, StoreError::NotFound("window"))?
        }
        AdminChange::SetCapacity {
            hall_id,
            pool,
            seats,
            from_day,
        } => {
            hall_exists(tx, hall_id).await?;
            let seats = *seats as i32;
            let pool = pool.as_str();
            tx.exec(
                sql::UPSERT_POOL_CAPACITY,
                &[Text(hall_id), Text(pool), Int4(seats)],
            )
            .await?;
            // The CHECK (taken <= capacity) refuses a capacity below the seats taken; the
            // pre-check only turns that into a clear answer.
            let args = [Text(hall_id), Text(pool), Day(*from_day), Int4(seats)];
            if tx
                .first_i64(sql::SLOT_OVER_CAPACITY, &args)
                .await?
                .is_some()
            {
                return Err(StoreError::Refused("capacity_below_taken"));
            }
            // Closed days keep their zero.
            let n = tx
                .exec(sql::SET_SLOT_CAPACITY, &args)
                .await
                .map_err(refuse_on(Violation::Check, "capacity_below_taken"))?;
            AdminOutcome::SlotsChanged(n)
        }
        AdminChange::Refund {
            ticket_id,
            staff_id,
        } => {
            let n = tx
                .exec(
                    sql::REFUND_PAYMENT,
                    &[Int(*ticket_id), At(now), Int(*staff_id)],
                )
                .await?;
            changed(n, StoreError::Refused("not_refundable"))?
        }
        AdminChange::DecideUrgent {
            id,
            staff_id,
            approved,
        } => {
            let Some(ticket) = tx
                .first_i64(
                    sql::DECIDE_URGENT,
                    &[Int(*id), At(now), Int(*staff_id), Bool(*approved)],
                )
                .await?
            else {
                return Err(StoreError::Refused("urgent_decided"));
            };
            if *approved {
                tx.exec(sql::EXPEDITE_TICKET, &[Int(ticket)]).await?;
                tx.exec(sql::EXPEDITE_APPLICATION, &[Int(ticket)]).await?;
            }
            AdminOutcome::Done
        }
        AdminChange::TransitionApplication(m) => match move_application(tx, m, now).await? {
            Some(label) => AdminOutcome::Compartment(label),
            None => AdminOutcome::Done,
        },
        AdminChange::SetLocker { hall_id, labels } => {
            hall_exists(tx, hall_id).await?;
            let have = tx.texts(sql::LOCKER_LABELS, &[Text(hall_id)]).await?;
            for old in have
                .into_iter()
                .filter_map(|r| r.into_iter().next().flatten())
            {
                if labels.contains(&old) {
                    continue;
                }
                // Conditional on being free: an occupied compartment holds a document.
                let n = tx
                    .exec(sql::DELETE_FREE_COMPARTMENT, &[Text(hall_id), Text(&old)])
                    .await?;
                if n == 0 {
                    return Err(StoreError::Refused("compartment_occupied"));
                }
            }
            for l in labels {
                tx.exec(sql::INSERT_COMPARTMENT, &[Text(hall_id), Text(l)])
                    .await?;
            }
            AdminOutcome::Done
        }
        AdminChange::CollectFromLocker {
            hall_id,
            application_id,
            code_mac,
            actor,
        } => {
            let taken = tx
                .texts(
                    sql::TAKE_FROM_COMPARTMENT,
                    &[Text(hall_id), Text(code_mac), Int(*application_id)],
                )
                .await?;
            let Some(label) = taken
                .into_iter()
                .next()
                .and_then(|r| r.into_iter().next().flatten())
            else {
                return Err(StoreError::Refused("pickup_code_invalid"));
            };
            let m = crate::model::ApplicationMove {
                id: *application_id,
                from: State::ReadyForCollection.as_str().into(),
                to: State::Collected.as_str().into(),
                actor: actor.clone(),
                note: format!("locker:{label}"),
                refusal_reason: None,
                document_number: None,
                tracking_number: None,
                locker: None,
                supplement: None,
            };
            move_application(tx, &m, now).await?;
            AdminOutcome::Compartment(label)
        }
        AdminChange::JamCompartment {
            hall_id,
            label,
            device_id,
        } => {
            let by = format!("device:{device_id}");
            let n = tx
                .exec(
                    sql::JAM_COMPARTMENT,
                    &[Text(hall_id), Text(label), At(now), Text(&by)],
                )
                .await?;
            if n == 0 {
                return Err(StoreError::Refused("not_found"));
            }
            let reason = format!("jam:{label}");
            AdminOutcome::SlotsChanged(
                tx.exec(
                    crate::devices::RAISE_ALERT,
                    &[
                        Int(*device_id),
                        Text(hall_id),
                        Text(&reason),
                        Text("jam"),
                        At(now),
                    ],
                )
                .await?,
            )
        }
        AdminChange::ClearJam {
            hall_id,
            label,
            by,
            note,
        } => {
            let n = tx
                .exec(sql::CLEAR_JAM, &[Text(hall_id), Text(label)])
                .await?;
            if n == 0 {
                return Err(StoreError::Refused("compartment_not_jammed"));
            }
            let reason = format!("jam:{label}");
            tx.exec(
                sql::CLEAR_JAM_ALERTS,
                &[Text(hall_id), Text(&reason), At(now), Text(by), Text(note)],
            )
            .await?;
            AdminOutcome::Done
        }
        AdminChange::RemindCollection { application_id } => {
            let n = tx
                .exec(sql::REMIND_COLLECTION, &[Int(*application_id), At(now)])
                .await?;
            changed(n, StoreError::Refused("already_reminded"))?
        }
        AdminChange::ChooseCollection {
            id,
            method,
            mail_address,
        } => {
            let sealed = mail_address.as_deref().map(|a| keys.seal(a));
            let n = tx
                .exec(
                    sql::CHOOSE_COLLECTION,
                    &[Int(*id), Text(method), OptText(sealed.as_deref()), At(now)],
                )
                .await?;
            if n == 0 {
                let exists = !tx
                    .texts(sql::APPLICATION_STATUS, &[Int(*id)])
                    .await?
                    .is_empty();
                return Err(if exists {
                    StoreError::Refused("collection_fixed")
                } else {
                    StoreError::NotFound("application")
                });
            }
            AdminOutcome::Done
        }
        AdminChange::Online(step) => crate::remote::apply(tx, keys, step, now).await?,
        AdminChange::Lodging(step) => crate::lodging::apply(tx, keys, step, now).await?,
        AdminChange::Device(step) => crate::devices::apply(tx, step, now).await?,
        AdminChange::Kiosk(step) => crate::kiosk::apply(tx, keys, step, now).await?,
        AdminChange::Reissue(step) => crate::reissue::apply(tx, keys, step, now).await?,
        AdminChange::LinkPassports(l) => crate::foreign::apply(tx, l, now).await?,
        AdminChange::AcknowledgeAlert {
            id,
            staff_id,
            outcome,
        } => {
            let n = tx
                .exec(
                    sql::ACKNOWLEDGE_ALERT,
                    &[Int(*id), At(now), Int(*staff_id), Text(outcome)],
                )
                .await?;
            changed(n, StoreError::Refused("alert_acknowledged"))?
        }
        AdminChange::SetHallDay {
            hall_id,
            day,
            closed,
            note,
        } => {
            hall_exists(tx, hall_id).await?;
            let args = [Text(hall_id), Day(*day)];
            let n = if *closed {
                // On PostgreSQL the day's seats are locked first, so that no booking slips in
                // between the check and the closure (SQLite has one writer).
                let taken = tx.first_i64(sql::TAKEN_ON_DAY_LOCKED, &args).await?;
                if taken.unwrap_or(0) > 0 {
                    return Err(StoreError::Refused("day_has_bookings"));
                }
                tx.exec(sql::CLOSE_HALL_DAY, &[Text(hall_id), Day(*day), Text(note)])
                    .await?;
                tx.exec(sql::ZERO_DAY_CAPACITY, &args).await?
            } else {
                tx.exec(sql::REOPEN_HALL_DAY, &args).await?;
                tx.exec(sql::RESTORE_DAY_CAPACITY, &args).await?
            };
            AdminOutcome::SlotsChanged(n)
        }
    })
}

/// Makes a production batch inside the caller's transaction: the batch row, then each
/// approved application (urgent first, then by due date, at most `b.limit`) moved to
/// `in_production` by a conditional update that also records the batch, with its history row.
/// Returns the batch's id and one audit entry per application moved, for the adapter to append
/// in the same transaction. Nothing approved (or every candidate taken by a concurrent batch):
/// `Refused("production_queue_empty")`, and the caller rolls back the batch row.
pub(crate) async fn create_batch(
    tx: &mut impl AdminTx,
    b: &NewProductionBatch,
) -> Result<(i64, Vec<NewAudit>)> {
    use Arg::*;
    let now = b.audit.at;
    let candidates = tx
        .texts(sql::BATCH_CANDIDATES, &[Int(i64::from(b.limit))])
        .await?;
    if candidates.is_empty() {
        return Err(StoreError::Refused("production_queue_empty"));
    }
    let batch = tx
        .first_i64(
            sql::INSERT_PRODUCTION_BATCH,
            &[At(now), Text(&b.audit.actor), Text(&b.audit.actor_name)],
        )
        .await?
        .ok_or(StoreError::Corrupt("no batch id".into()))?;
    let mut audits = Vec::with_capacity(candidates.len());
    for row in candidates {
        let [Some(id), Some(key), Some(hall)] = row.as_slice() else {
            return Err(StoreError::Corrupt("batch candidate".into()));
        };
        let id: i64 = id
            .parse()
            .map_err(|_| StoreError::Corrupt("application id".into()))?;
        let n = tx
            .exec(sql::BATCH_APPLICATION, &[Int(id), Int(batch), At(now)])
            .await?;
        if n == 0 {
            // Moved meanwhile (withdrawn, or taken by another batch on a database that did not
            // lock it): not this batch's.
            continue;
        }
        let from = State::Approved.as_str();
        let to = State::InProduction.as_str();
        tx.exec(
            sql::INSERT_APPLICATION_EVENT,
            &[
                Int(id),
                OptText(Some(from)),
                Text(to),
                At(now),
                Text(&b.audit.actor),
                // The batch, never personal data: the history is not sealed.
                Text(&format!("batch:{batch}")),
            ],
        )
        .await?;
        audits.push(NewAudit {
            subject: format!("application:{id}"),
            citizen: Some(key.clone()),
            hall_id: Some(hall.clone()),
            detail: serde_json::json!({ "from": from, "to": to, "batch": batch }),
            ..b.audit.clone()
        });
    }
    if audits.is_empty() {
        return Err(StoreError::Refused("production_queue_empty"));
    }
    Ok((batch, audits))
}

/// One application move inside the caller's transaction: the conditional update from the
/// state the caller saw, the history row, and the locker: a move out of
/// `ready_for_collection` frees the compartment the document was in; an arrival with a
/// [`crate::LockerAssignment`] takes a free compartment of the hall (its label answered), or
/// none when every one is occupied (the document then waits at the counter).
async fn move_application(
    tx: &mut impl AdminTx,
    m: &crate::model::ApplicationMove,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    use Arg::*;
    let n = tx
        .exec(
            sql::MOVE_APPLICATION,
            &[
                Int(m.id),
                Text(&m.from),
                Text(&m.to),
                At(now),
                OptText(m.refusal_reason.as_deref()),
                OptText(m.document_number.as_deref()),
                OptText(m.tracking_number.as_deref()),
            ],
        )
        .await
        .map_err(|f| match f.violation {
            Some(Violation::Unique) => StoreError::Refused("document_number_taken"),
            // A state the table does not know, or a refusal without its reason, a
            // document without its number.
            Some(Violation::Check) if State::parse(&m.to).is_none() => {
                StoreError::Refused("application_move_illegal")
            }
            Some(Violation::Check) => StoreError::Refused("application_incomplete"),
            None => f.error,
        })?;
    if n == 0 {
        let now_in = tx.texts(sql::APPLICATION_STATUS, &[Int(m.id)]).await?;
        return Err(if now_in.is_empty() {
            StoreError::NotFound("application")
        } else {
            StoreError::Refused("application_state_changed")
        });
    }
    if m.from == State::ReadyForCollection.as_str() {
        tx.exec(sql::FREE_COMPARTMENT_OF, &[Int(m.id)]).await?;
    }
    if let Some((missing, due)) = &m.supplement {
        let missing = serde_json::to_string(missing).expect("strings serialise");
        tx.exec(sql::SET_SUPPLEMENT, &[Int(m.id), Text(&missing), Day(*due)])
            .await?;
    }
    let compartment = match &m.locker {
        Some(l) if m.to == State::ReadyForCollection.as_str() => {
            let row = tx
                .texts(
                    sql::ASSIGN_COMPARTMENT,
                    &[Int(m.id), Text(&l.code_mac), At(now)],
                )
                .await
                .map_err(refuse_on(Violation::Unique, "application_state_changed"))?;
            row.into_iter()
                .next()
                .and_then(|r| r.into_iter().next().flatten())
        }
        _ => None,
    };
    // The history names the compartment, so that staff know where to put the document.
    let note = compartment
        .as_ref()
        .map_or_else(|| m.note.clone(), |label| format!("locker:{label}"));
    // The CHECK on the history refuses a move the table does not list; the whole
    // transaction (the update above with it) is then rolled back.
    tx.exec(
        sql::INSERT_APPLICATION_EVENT,
        &[
            Int(m.id),
            OptText(Some(&m.from)),
            Text(&m.to),
            At(now),
            Text(&m.actor),
            Text(&note),
        ],
    )
    .await
    .map_err(refuse_on(Violation::Check, "application_move_illegal"))?;
    Ok(compartment)
}

/// The messages a change's transaction queues: an arrival that found a locker compartment
/// queues the texts with the pickup code, any other change the caller's.
pub(crate) fn messages_for<'a>(
    change: &'a AdminChange,
    outcome: &AdminOutcome,
    otherwise: &'a [crate::model::NewMessage],
) -> &'a [crate::model::NewMessage] {
    match (change, outcome) {
        (AdminChange::TransitionApplication(m), AdminOutcome::Compartment(_)) => m
            .locker
            .as_ref()
            .map_or(otherwise, |l| l.messages.as_slice()),
        // A device's pages go out only when its step raised something (an alert already open
        // has paged already).
        (AdminChange::Device(_), out) if !crate::devices::changed_something(out) => &[],
        // A jam already reported has paged already.
        (AdminChange::JamCompartment { .. }, out) if !crate::devices::changed_something(out) => &[],
        _ => otherwise,
    }
}

/// The audit entry of `a`, to be linked into the chain by
/// [`wujing_domain::audit::link`].
pub(crate) fn entry(a: &NewAudit) -> AuditEntry {
    AuditEntry {
        seq: 0,
        at_ms: a.at.timestamp_millis(),
        actor: a.actor.clone(),
        actor_name: a.actor_name.clone(),
        action: a.action.clone(),
        subject: a.subject.clone(),
        citizen: a.citizen.clone(),
        detail: a.detail.to_string(),
        client_addr: a.client_addr.clone(),
        station: a.station.clone(),
        prev_hash: String::new(),
        hash: String::new(),
    }
}
