//! The SQLite side of staff accounts, sessions, devices, hall administration and the audit
//! chain. Every function runs on a connection the caller chose: writes on the writer thread
//! (inside its job savepoint), reads on a reader.

use super::{date_s, db_err, from_ms, get_date, ms, SqliteStore};
use crate::admin::{self, AdminTx, Arg, Fail, Violation};
use crate::keys::Keys;
use crate::model::*;
use crate::rows;
use crate::sql;
use crate::sql::Sql;
use crate::sql::{AUDIT_COLS, DEVICE_COLS, STAFF_COLS};
use crate::Result;
use crate::StaffStore;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::FutureExt;
use rusqlite::params_from_iter;
use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension};
use wujing_domain::audit::{link, AuditEntry};

/// Links `a` to the newest entry and appends it. Runs on the writer thread, which is the only
/// writer, so reading the head and appending cannot interleave with another append.
pub(crate) fn append_audit(c: &Connection, keys: &Keys, a: &NewAudit) -> Result<()> {
    let head: Option<(i64, String)> = c
        .query_row(sql::AUDIT_HEAD.lite, [], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(db_err)?;
    let e = link(keys.chain_key(), head, admin::entry(a));
    c.prepare_cached(sql::INSERT_AUDIT_ENTRY.lite)
        .and_then(|mut s| {
            s.execute(params![
                e.seq,
                e.at_ms,
                e.actor,
                e.actor_name,
                e.action,
                e.subject,
                e.citizen,
                e.detail,
                e.client_addr,
                e.station,
                e.prev_hash,
                e.hash,
                a.hall_id
            ])
        })
        .map_err(db_err)?;
    c.execute(sql::SET_AUDIT_HEAD.lite, params![e.seq, e.hash])
        .map_err(db_err)?;
    Ok(())
}

/// A staff change's statements on the writer's connection. They never wait, so the shared
/// (async) [`admin::apply`] completes in one poll.
pub(crate) struct LiteTx<'c>(pub(crate) &'c Connection);

fn bind(a: &Arg<'_>) -> Value {
    match a {
        Arg::Text(s) => Value::Text(s.to_string()),
        Arg::OptText(s) => s.map_or(Value::Null, |s| Value::Text(s.to_string())),
        Arg::Int(i) => Value::Integer(*i),
        Arg::Int4(i) => Value::Integer(i64::from(*i)),
        Arg::Bool(b) => Value::Integer(i64::from(*b)),
        Arg::OptBool(b) => b.map_or(Value::Null, |b| Value::Integer(i64::from(b))),
        Arg::OptFloat(f) => f.map_or(Value::Null, Value::Real),
        Arg::OptInt(i) => i.map_or(Value::Null, Value::Integer),
        Arg::OptDay(d) => d.map_or(Value::Null, |d| Value::Text(date_s(d))),
        Arg::Day(d) => Value::Text(date_s(*d)),
        Arg::At(t) => Value::Integer(ms(*t)),
    }
}

fn fail(e: rusqlite::Error) -> Fail {
    let violation = match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Some(
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_CHECK {
                    Violation::Check
                } else {
                    Violation::Unique
                },
            )
        }
        _ => None,
    };
    Fail {
        violation,
        error: db_err(e),
    }
}

impl AdminTx for LiteTx<'_> {
    async fn exec(&mut self, sql: Sql, args: &[Arg<'_>]) -> Result<u64, Fail> {
        let args = params_from_iter(args.iter().map(bind));
        self.0
            .prepare(sql.lite)
            .and_then(|mut s| s.execute(args))
            .map(|n| n as u64)
            .map_err(fail)
    }

    async fn first_i64(&mut self, sql: Sql, args: &[Arg<'_>]) -> Result<Option<i64>, Fail> {
        let args = params_from_iter(args.iter().map(bind));
        self.0
            .prepare(sql.lite)
            .and_then(|mut s| s.query_row(args, |r| r.get(0)).optional())
            .map_err(fail)
    }

    async fn texts(
        &mut self,
        sql: Sql,
        args: &[Arg<'_>],
    ) -> Result<Vec<Vec<Option<String>>>, Fail> {
        let args = params_from_iter(args.iter().map(bind));
        let mut st = self.0.prepare(sql.lite).map_err(fail)?;
        let n = st.column_count();
        let rows = st
            .query_map(args, |r| (0..n).map(|i| r.get(i)).collect())
            .map_err(fail)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(fail);
        rows
    }
}

/// Seals what a database from before migration 19 holds in clear, and checks that the keys
/// are this database's, in the migrating job.
pub(crate) fn seal_legacy(c: &Connection, keys: &Keys) -> Result<u64> {
    let n = crate::seal::seal_legacy(&mut LiteTx(c), keys)
        .now_or_never()
        .expect("SQLite statements never wait")?;
    crate::seal::check_keys(&mut LiteTx(c), keys)
        .now_or_never()
        .expect("SQLite statements never wait")?;
    Ok(n)
}

/// Applies a staff change and appends its audit entry, inside the writer's job.
pub(crate) fn apply(
    c: &Connection,
    keys: &Keys,
    change: &AdminChange,
    a: &NewAudit,
) -> Result<AdminOutcome> {
    let out = admin::apply(&mut LiteTx(c), keys, change, a.at)
        .now_or_never()
        .expect("SQLite statements never wait")?;
    append_audit(c, keys, a)?;
    Ok(out)
}

/// Makes a production batch ([`admin::create_batch`]) and appends each application's audit
/// entry, inside the writer's job (its savepoint undoes everything on a refusal).
pub(crate) fn create_batch(c: &Connection, keys: &Keys, b: &NewProductionBatch) -> Result<i64> {
    let (batch, audits) = admin::create_batch(&mut LiteTx(c), b)
        .now_or_never()
        .expect("SQLite statements never wait")?;
    for a in &audits {
        append_audit(c, keys, a)?;
    }
    Ok(batch)
}

pub(crate) fn system_clients(
    c: &Connection,
    sql: Sql,
    p: impl rusqlite::Params,
) -> Result<Vec<SystemClient>> {
    let mut st = c.prepare_cached(sql.lite).map_err(db_err)?;
    let rows = st
        .query_map(p, |r| rows::system_client(r))
        .map_err(db_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err);
    rows
}

pub(crate) fn staff_where(
    c: &Connection,
    cond: &str,
    p: impl rusqlite::Params,
) -> Result<Vec<StaffAccount>> {
    let mut st = c
        .prepare_cached(&format!("SELECT {STAFF_COLS} FROM staff {cond}"))
        .map_err(db_err)?;
    let rows = st
        .query_map(p, |r| rows::staff(r, 0))
        .map_err(db_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err);
    rows
}

pub(crate) fn create_session(c: &Connection, s: &StaffSession) -> Result<()> {
    c.execute(
        sql::INSERT_SESSION.lite,
        params![
            s.token_hash,
            s.staff_id,
            s.csrf_token,
            ms(s.created_at),
            ms(s.expires_at),
            s.client_addr
        ],
    )
    .map_err(db_err)?;
    // Expired sessions of anyone are swept on the way.
    c.execute(sql::DELETE_EXPIRED_SESSIONS.lite, [ms(s.created_at)])
        .map_err(db_err)?;
    Ok(())
}

pub(crate) fn session(
    c: &Connection,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<(StaffSession, StaffAccount)>> {
    c.prepare_cached(sql::SESSION_BY_TOKEN.lite)
        .map_err(db_err)?
        .query_row(params![token_hash, ms(now)], |r| {
            Ok((
                StaffSession {
                    token_hash: r.get(0)?,
                    staff_id: r.get(1)?,
                    csrf_token: r.get(2)?,
                    created_at: from_ms(r.get(3)?)?,
                    expires_at: from_ms(r.get(4)?)?,
                    client_addr: r.get(5)?,
                },
                rows::staff(r, 6)?,
            ))
        })
        .optional()
        .map_err(db_err)
}

pub(crate) fn login_attempt(
    c: &Connection,
    gates: &[LoginGate],
    now: DateTime<Utc>,
) -> Result<LoginAttempt> {
    let now_ms = ms(now);
    let longest = gates
        .iter()
        .map(|g| g.window.max(g.max_delay).num_milliseconds())
        .max()
        .unwrap_or(0);
    // Keys quiet for longer than any window and out of their delay mean nothing any more.
    c.execute(
        sql::DELETE_IDLE_LOGIN_THROTTLE.lite,
        params![now_ms - longest, now_ms],
    )
    .map_err(db_err)?;
    let mut attempts = Vec::with_capacity(gates.len());
    for g in gates {
        let n: Option<i64> = c
            .prepare_cached(sql::LOGIN_ATTEMPT.lite)
            .map_err(db_err)?
            .query_row(
                params![
                    g.key,
                    now_ms,
                    i64::from(g.free.max(1)),
                    g.step.num_milliseconds(),
                    g.window.num_milliseconds(),
                    g.max_delay.num_milliseconds()
                ],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err)?;
        match n {
            Some(n) => attempts.push(n.clamp(0, i64::from(u32::MAX)) as u32),
            None => {
                let next: i64 = c
                    .query_row(sql::LOGIN_THROTTLE_NEXT.lite, [&g.key], |r| r.get(0))
                    .map_err(db_err)?;
                return Ok(LoginAttempt::Refused {
                    key: g.key.clone(),
                    until: from_ms(next).map_err(db_err)?,
                });
            }
        }
    }
    Ok(LoginAttempt::Allowed { attempts })
}

pub(crate) fn devices(c: &Connection, cond: &str, p: impl rusqlite::Params) -> Result<Vec<Device>> {
    let mut st = c
        .prepare_cached(&format!("SELECT {DEVICE_COLS} FROM devices {cond}"))
        .map_err(db_err)?;
    let rows = st
        .query_map(p, |r| rows::device(r))
        .map_err(db_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err);
    rows
}

pub(crate) fn windows(c: &Connection, hall_id: &str) -> Result<Vec<Window>> {
    let mut st = c
        .prepare_cached(sql::WINDOWS_OF_HALL.lite)
        .map_err(db_err)?;
    let rows = st
        .query_map([hall_id], |r| {
            Ok(Window {
                number: r.get(0)?,
                kind: r.get(1)?,
            })
        })
        .map_err(db_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err);
    rows
}

pub(crate) fn closures(
    c: &Connection,
    hall_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<NaiveDate>> {
    let mut st = c.prepare_cached(sql::HALL_CLOSURES.lite).map_err(db_err)?;
    let rows = st
        .query_map(params![hall_id, date_s(from), date_s(to)], |r| {
            get_date(r, 0)
        })
        .map_err(db_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err);
    rows
}

pub(crate) fn audit_search(c: &Connection, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
    let mut st = c
        .prepare_cached(&format!(
            "SELECT {AUDIT_COLS} FROM audit_log
             WHERE (?1 IS NULL OR citizen = ?1) AND (?2 IS NULL OR actor = ?2)
               AND (?3 IS NULL OR at >= ?3) AND (?4 IS NULL OR at < ?4)
               AND (?6 IS NULL OR hall_id IN (SELECT value FROM json_each(?6)))
               AND (?7 IS NULL OR seq < ?7) AND (?8 IS NULL OR seq > ?8)
             ORDER BY seq {} LIMIT ?5",
            q.order()
        ))
        .map_err(db_err)?;
    // A hall-scoped reader's halls as a JSON array; entries of no hall never match it.
    let halls = q
        .halls
        .as_ref()
        .map(|h| serde_json::to_string(h).expect("strings serialise"));
    let rows = st
        .query_map(
            params![
                q.citizen,
                q.actor,
                q.from.map(ms),
                q.to.map(ms),
                q.limit.max(1),
                halls,
                q.before,
                q.after
            ],
            |r| rows::audit(r),
        )
        .map_err(db_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err);
    // A newer page is read upwards; listed newest first like every other.
    rows.map(|mut r| {
        if q.after.is_some() {
            r.reverse();
        }
        r
    })
}

pub(crate) fn audit_chain(c: &Connection) -> Result<crate::AuditChain> {
    let mut st = c.prepare(sql::AUDIT_CHAIN.lite).map_err(db_err)?;
    let rows = st
        .query_map([], |r| rows::audit(r))
        .map_err(db_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err)?;
    let head = c
        .query_row(sql::AUDIT_HEAD.lite, [], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(db_err)?;
    Ok((rows, head))
}

#[async_trait]
impl StaffStore for SqliteStore {
    async fn apply_admin(&self, change: &AdminChange, audit: &NewAudit) -> Result<AdminOutcome> {
        let (change, audit) = (change.clone(), audit.clone());
        let keys = self.keys.clone();
        self.write(move |c| apply(c, &keys, &change, &audit)).await
    }

    async fn staff_by_username(&self, username: &str) -> Result<Option<StaffAccount>> {
        let u = username.to_string();
        self.lookup(move |c| Ok(staff_where(c, "WHERE username = ?1", [u])?.pop()))
            .await
    }

    async fn staff_by_id(&self, id: i64) -> Result<Option<StaffAccount>> {
        self.lookup(move |c| Ok(staff_where(c, "WHERE id = ?1", [id])?.pop()))
            .await
    }

    async fn staff_list(&self) -> Result<Vec<StaffAccount>> {
        self.read(|c| staff_where(c, "ORDER BY username", [])).await
    }

    async fn create_session(&self, s: &StaffSession) -> Result<()> {
        let s = s.clone();
        self.write(move |c| create_session(c, &s)).await
    }

    async fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(StaffSession, StaffAccount)>> {
        let t = token_hash.to_string();
        self.lookup(move |c| session(c, &t, now)).await
    }

    async fn end_session(&self, token_hash: &str) -> Result<()> {
        let t = token_hash.to_string();
        self.write(move |c| {
            c.execute(sql::END_SESSION.lite, [t]).map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn login_attempt(&self, gates: &[LoginGate], now: DateTime<Utc>) -> Result<LoginAttempt> {
        let gates = gates.to_vec();
        // The single writer runs the upserts one attempt after another.
        self.write(move |c| login_attempt(c, &gates, now)).await
    }

    async fn login_succeeded(&self, clear: &str, relieve: &[String]) -> Result<()> {
        let clear = clear.to_string();
        let relieve = relieve.to_vec();
        self.write(move |c| {
            c.execute(sql::CLEAR_LOGIN_THROTTLE.lite, [clear])
                .map_err(db_err)?;
            for k in relieve {
                c.execute(sql::RELIEVE_LOGIN_THROTTLE.lite, [k])
                    .map_err(db_err)?;
            }
            Ok(())
        })
        .await
    }

    async fn devices(&self) -> Result<Vec<Device>> {
        self.read(|c| devices(c, "ORDER BY id", [])).await
    }

    async fn device_by_token_hash(&self, token_hash: &str) -> Result<Option<Device>> {
        let t = token_hash.to_string();
        self.lookup(move |c| {
            Ok(devices(c, "WHERE token_hash = ?1 AND revoked_at IS NULL", [t])?.pop())
        })
        .await
    }

    async fn system_clients(&self) -> Result<Vec<SystemClient>> {
        self.read(|c| system_clients(c, sql::SYSTEM_CLIENTS, []))
            .await
    }

    async fn system_client_by_token_hash(&self, token_hash: &str) -> Result<Option<SystemClient>> {
        let t = token_hash.to_string();
        self.lookup(move |c| Ok(system_clients(c, sql::SYSTEM_CLIENT_BY_TOKEN, [t])?.pop()))
            .await
    }

    async fn audit_search(&self, q: &AuditQuery) -> Result<Vec<wujing_domain::audit::AuditEntry>> {
        let q = q.clone();
        self.read(move |c| audit_search(c, &q)).await
    }

    async fn audit_chain(&self) -> Result<crate::AuditChain> {
        self.read(audit_chain).await
    }
}
