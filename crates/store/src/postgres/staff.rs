//! The PostgreSQL side of staff accounts, sessions, devices, hall administration and the
//! audit chain. Audit appends are serialised by a transaction-scoped advisory lock, so that
//! two app servers never link two entries to the same predecessor.

use super::{db_err, PgStore};
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
use deadpool_postgres::GenericClient;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};
use wujing_domain::audit::{link, AuditEntry};

/// The advisory lock key of audit appends ("WJAUDIT" in ASCII).
const AUDIT_LOCK: i64 = 0x0057_4a41_5544_4954;

fn ms_instant(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).expect("instant in range")
}

/// Links `a` to the newest entry and appends it, under the advisory lock that serialises
/// appends across app servers.
pub(crate) async fn append_audit(tx: &impl GenericClient, keys: &Keys, a: &NewAudit) -> Result<()> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_LOCK])
        .await?;
    let head = tx
        .query_opt(sql::AUDIT_HEAD.pg, &[])
        .await?
        .map(|r| (r.get::<_, i64>(0), r.get::<_, String>(1)));
    let e = link(keys.chain_key(), head, admin::entry(a));
    tx.execute(
        sql::INSERT_AUDIT_ENTRY.pg,
        &[
            &e.seq,
            &ms_instant(e.at_ms),
            &e.actor,
            &e.actor_name,
            &e.action,
            &e.subject,
            &e.citizen,
            &e.detail,
            &e.client_addr,
            &e.station,
            &e.prev_hash,
            &e.hash,
            &a.hall_id,
        ],
    )
    .await?;
    tx.execute(sql::SET_AUDIT_HEAD.pg, &[&e.seq, &e.hash])
        .await?;
    Ok(())
}

/// A staff change's statements in the caller's transaction.
pub(crate) struct PgTx<'c, C>(pub(crate) &'c C);

fn bind<'b>(a: &'b Arg<'_>) -> &'b (dyn ToSql + Sync) {
    match a {
        Arg::Text(s) => s,
        Arg::OptText(s) => s,
        Arg::Int(i) => i,
        Arg::Int4(i) => i,
        Arg::Bool(b) => b,
        Arg::OptBool(b) => b,
        Arg::OptFloat(f) => f,
        Arg::OptInt(i) => i,
        Arg::OptDay(d) => d,
        Arg::Day(d) => d,
        Arg::At(t) => t,
    }
}

fn fail(e: tokio_postgres::Error) -> Fail {
    let violation = match e.code() {
        Some(c) if *c == SqlState::UNIQUE_VIOLATION => Some(Violation::Unique),
        Some(c) if *c == SqlState::CHECK_VIOLATION => Some(Violation::Check),
        _ => None,
    };
    Fail {
        violation,
        error: db_err(e),
    }
}

impl<C: GenericClient> AdminTx for PgTx<'_, C> {
    async fn exec(&mut self, sql: Sql, args: &[Arg<'_>]) -> Result<u64, Fail> {
        let args: Vec<_> = args.iter().map(bind).collect();
        self.0.execute(sql.pg, &args).await.map_err(fail)
    }

    async fn first_i64(&mut self, sql: Sql, args: &[Arg<'_>]) -> Result<Option<i64>, Fail> {
        let args: Vec<_> = args.iter().map(bind).collect();
        let row = self.0.query_opt(sql.pg, &args).await.map_err(fail)?;
        Ok(row.map(|r| match *r.columns()[0].type_() {
            Type::INT4 => i64::from(r.get::<_, i32>(0)),
            _ => r.get(0),
        }))
    }

    async fn texts(
        &mut self,
        sql: Sql,
        args: &[Arg<'_>],
    ) -> Result<Vec<Vec<Option<String>>>, Fail> {
        let args: Vec<_> = args.iter().map(bind).collect();
        let rows = self.0.query(sql.pg, &args).await.map_err(fail)?;
        Ok(rows
            .iter()
            .map(|r| (0..r.len()).map(|i| r.get(i)).collect())
            .collect())
    }
}

/// Seals what a database from before migration 19 holds in clear, in the migrating
/// transaction.
pub(crate) async fn seal_legacy(tx: &impl GenericClient, keys: &Keys) -> Result<u64> {
    let n = crate::seal::seal_legacy(&mut PgTx(tx), keys).await?;
    crate::seal::check_keys(&mut PgTx(tx), keys).await?;
    Ok(n)
}

/// Applies a staff change and appends its audit entry, inside the caller's transaction.
pub(crate) async fn apply(
    tx: &impl GenericClient,
    keys: &Keys,
    change: &AdminChange,
    a: &NewAudit,
) -> Result<AdminOutcome> {
    let out = admin::apply(&mut PgTx(tx), keys, change, a.at).await?;
    append_audit(tx, keys, a).await?;
    Ok(out)
}

/// Makes a production batch ([`admin::create_batch`]) and appends each application's audit
/// entry, inside the caller's transaction.
pub(crate) async fn create_batch(
    tx: &impl GenericClient,
    keys: &Keys,
    b: &NewProductionBatch,
) -> Result<i64> {
    let (batch, audits) = admin::create_batch(&mut PgTx(tx), b).await?;
    for a in &audits {
        append_audit(tx, keys, a).await?;
    }
    Ok(batch)
}

pub(crate) async fn staff_where(
    c: &impl GenericClient,
    cond: &str,
    p: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<StaffAccount>> {
    c.query(&format!("SELECT {STAFF_COLS} FROM staff {cond}"), p)
        .await?
        .iter()
        .map(|r| rows::staff(r, 0))
        .collect()
}

pub(crate) async fn create_session(c: &impl GenericClient, s: &StaffSession) -> Result<()> {
    c.execute(
        sql::INSERT_SESSION.pg,
        &[
            &s.token_hash,
            &s.staff_id,
            &s.csrf_token,
            &s.created_at,
            &s.expires_at,
            &s.client_addr,
        ],
    )
    .await?;
    c.execute(sql::DELETE_EXPIRED_SESSIONS.pg, &[&s.created_at])
        .await?;
    Ok(())
}

pub(crate) async fn session(
    c: &impl GenericClient,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<(StaffSession, StaffAccount)>> {
    let Some(r) = c
        .query_opt(sql::SESSION_BY_TOKEN.pg, &[&token_hash, &now])
        .await?
    else {
        return Ok(None);
    };
    Ok(Some((
        StaffSession {
            token_hash: r.get(0),
            staff_id: r.get(1),
            csrf_token: r.get(2),
            created_at: r.get(3),
            expires_at: r.get(4),
            client_addr: r.get(5),
        },
        rows::staff(&r, 6)?,
    )))
}

/// Each gate's upsert locks its row until the transaction ends; gates come in the same
/// order for every attempt (address, then user name), so two attempts never wait on each
/// other in a cycle. The sweep of idle keys skips locked rows for the same reason.
pub(crate) async fn login_attempt(
    c: &impl GenericClient,
    gates: &[LoginGate],
    now: DateTime<Utc>,
) -> Result<LoginAttempt> {
    let now_ms = now.timestamp_millis();
    let longest = gates
        .iter()
        .map(|g| g.window.max(g.max_delay).num_milliseconds())
        .max()
        .unwrap_or(0);
    c.execute(
        "DELETE FROM login_throttle WHERE key IN (SELECT key FROM login_throttle \
         WHERE last_ms <= $1 AND next_ms <= $2 FOR UPDATE SKIP LOCKED)",
        &[&(now_ms - longest), &now_ms],
    )
    .await?;
    let mut attempts = Vec::with_capacity(gates.len());
    for g in gates {
        let row = c
            .query_opt(
                sql::LOGIN_ATTEMPT.pg,
                &[
                    &g.key,
                    &now_ms,
                    &i64::from(g.free.max(1)),
                    &g.step.num_milliseconds(),
                    &g.window.num_milliseconds(),
                    &g.max_delay.num_milliseconds(),
                ],
            )
            .await?;
        match row {
            Some(r) => attempts.push(r.get::<_, i64>(0).clamp(0, i64::from(u32::MAX)) as u32),
            None => {
                let next: i64 = c
                    .query_one(sql::LOGIN_THROTTLE_NEXT.pg, &[&g.key])
                    .await?
                    .get(0);
                return Ok(LoginAttempt::Refused {
                    key: g.key.clone(),
                    until: DateTime::from_timestamp_millis(next).unwrap_or(now),
                });
            }
        }
    }
    Ok(LoginAttempt::Allowed { attempts })
}

pub(crate) async fn devices(
    c: &impl GenericClient,
    cond: &str,
    p: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<Device>> {
    Ok(
        c.query(&format!("SELECT {DEVICE_COLS} FROM devices {cond}"), p)
            .await?
            .iter()
            .map(|r| Device {
                id: r.get(0),
                name: r.get(1),
                hall_id: r.get(2),
                token_hash: r.get(3),
                created_at: r.get(4),
                revoked_at: r.get(5),
                kind: r.get(6),
                window_number: r.get::<_, Option<i32>>(7).map(|w| w as u32),
                paired_at: r.get(8),
            })
            .collect(),
    )
}

pub(crate) async fn windows(c: &impl GenericClient, hall_id: &str) -> Result<Vec<Window>> {
    Ok(c.query(sql::WINDOWS_OF_HALL.pg, &[&hall_id])
        .await?
        .iter()
        .map(|r| Window {
            number: r.get::<_, i32>(0) as u32,
            kind: r.get(1),
        })
        .collect())
}

pub(crate) async fn closures(
    c: &impl GenericClient,
    hall_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<NaiveDate>> {
    Ok(c.query(sql::HALL_CLOSURES.pg, &[&hall_id, &from, &to])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

pub(crate) async fn audit_search(
    c: &impl GenericClient,
    q: &AuditQuery,
) -> Result<Vec<AuditEntry>> {
    let mut entries = c
        .query(
            &format!(
                "SELECT {AUDIT_COLS} FROM audit_log
                 WHERE ($1::text IS NULL OR citizen = $1) AND ($2::text IS NULL OR actor = $2)
                   AND ($3::timestamptz IS NULL OR at >= $3) AND ($4::timestamptz IS NULL OR at < $4)
                   AND ($6::text[] IS NULL OR hall_id = ANY($6::text[]))
                   AND ($7::bigint IS NULL OR seq < $7) AND ($8::bigint IS NULL OR seq > $8)
                 ORDER BY seq {} LIMIT $5",
                q.order()
            ),
            &[
                &q.citizen,
                &q.actor,
                &q.from,
                &q.to,
                &i64::from(q.limit.max(1)),
                &q.halls,
                &q.before,
                &q.after,
            ],
        )
        .await?
        .iter()
        .map(rows::audit)
        .collect::<Result<Vec<_>>>()?;
    if q.after.is_some() {
        entries.reverse();
    }
    Ok(entries)
}

pub(crate) async fn audit_chain(c: &impl GenericClient) -> Result<crate::AuditChain> {
    let rows = c
        .query(sql::AUDIT_CHAIN.pg, &[])
        .await?
        .iter()
        .map(rows::audit)
        .collect::<Result<_>>()?;
    let head = c
        .query_opt(sql::AUDIT_HEAD.pg, &[])
        .await?
        .map(|r| (r.get(0), r.get(1)));
    Ok((rows, head))
}

#[async_trait]
impl StaffStore for PgStore {
    async fn apply_admin(&self, change: &AdminChange, audit: &NewAudit) -> Result<AdminOutcome> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        let out = apply(&tx, &self.keys, change, audit).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    async fn staff_by_username(&self, username: &str) -> Result<Option<StaffAccount>> {
        let c = self.client().await?;
        Ok(staff_where(&c, "WHERE username = $1", &[&username])
            .await?
            .pop())
    }

    async fn staff_by_id(&self, id: i64) -> Result<Option<StaffAccount>> {
        let c = self.client().await?;
        Ok(staff_where(&c, "WHERE id = $1", &[&id]).await?.pop())
    }

    async fn staff_list(&self) -> Result<Vec<StaffAccount>> {
        let c = self.client().await?;
        staff_where(&c, "ORDER BY username", &[]).await
    }

    async fn create_session(&self, s: &StaffSession) -> Result<()> {
        let c = self.client().await?;
        create_session(&c, s).await
    }

    async fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(StaffSession, StaffAccount)>> {
        let c = self.client().await?;
        session(&c, token_hash, now).await
    }

    async fn end_session(&self, token_hash: &str) -> Result<()> {
        let c = self.client().await?;
        c.execute(sql::END_SESSION.pg, &[&token_hash])
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn login_attempt(&self, gates: &[LoginGate], now: DateTime<Utc>) -> Result<LoginAttempt> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        let out = login_attempt(&tx, gates, now).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    async fn login_succeeded(&self, clear: &str, relieve: &[String]) -> Result<()> {
        let c = self.client().await?;
        c.execute(sql::CLEAR_LOGIN_THROTTLE.pg, &[&clear])
            .await
            .map_err(db_err)?;
        for k in relieve {
            c.execute(sql::RELIEVE_LOGIN_THROTTLE.pg, &[k])
                .await
                .map_err(db_err)?;
        }
        Ok(())
    }

    async fn devices(&self) -> Result<Vec<Device>> {
        let c = self.client().await?;
        devices(&c, "ORDER BY id", &[]).await
    }

    async fn device_by_token_hash(&self, token_hash: &str) -> Result<Option<Device>> {
        let c = self.client().await?;
        Ok(devices(
            &c,
            "WHERE token_hash = $1 AND revoked_at IS NULL",
            &[&token_hash],
        )
        .await?
        .pop())
    }

    async fn system_clients(&self) -> Result<Vec<SystemClient>> {
        let c = self.client().await?;
        c.query(sql::SYSTEM_CLIENTS.pg, &[])
            .await?
            .iter()
            .map(rows::system_client)
            .collect()
    }

    async fn system_client_by_token_hash(&self, token_hash: &str) -> Result<Option<SystemClient>> {
        let c = self.client().await?;
        c.query_opt(sql::SYSTEM_CLIENT_BY_TOKEN.pg, &[&token_hash])
            .await?
            .map(|r| rows::system_client(&r))
            .transpose()
    }

    async fn audit_search(&self, q: &AuditQuery) -> Result<Vec<wujing_domain::audit::AuditEntry>> {
        let c = self.client().await?;
        audit_search(&c, q).await
    }

    async fn audit_chain(&self) -> Result<crate::AuditChain> {
        let c = self.client().await?;
        audit_chain(&c).await
    }
}
