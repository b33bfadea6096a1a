//! Devices as first-class machines (issue 16), written once for both dialects over the shared
//! [`AdminTx`]: pairing a kiosk with a short code, heartbeats with each peripheral's state, the
//! alerts a fault or a silence raises (at most one open per device and reason, held by a partial
//! unique index), their escalation and clearing, and the usage counters per day, device and mode.
//!
//! A step is applied either with its audit entry (through `apply_admin`, as
//! `AdminChange::Device`: confirming a pairing, a heartbeat that raises or clears an alert, staff
//! clearing an alert) or without one ([`DeviceStore::device_step`]: what a kiosk does on its own
//! many times a day — asking for a code, polling for its token, a heartbeat that changes nothing,
//! a use counted — and what the sweeper does, as for rating alerts).

use crate::admin::{refuse_on, AdminTx, Arg, Violation};
use crate::model::{AdminOutcome, NewMessage};
use crate::sql::{shared, to_lite, Sql};
use crate::{Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

/// One change to devices' pairing, status, alerts or counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceStep {
    /// A kiosk asks for a pairing code (unaudited; throttled per address by the caller).
    StartPairing {
        code_hash: String,
        secret_hash: String,
        expires_at: DateTime<Utc>,
    },
    /// An administrator confirms the code shown on a kiosk for `device_id` (audited).
    /// `Refused("pairing_unknown")` when no live, unconfirmed pairing has this code.
    ConfirmPairing { code_hash: String, device_id: i64 },
    /// The kiosk, polling with its secret, takes a confirmed pairing: the device's token becomes
    /// `token_hash` and the pairing row is deleted, in one transaction. `Created(device_id)` when
    /// taken, `Done` while unconfirmed, `Refused("pairing_unknown")` for no such or an expired
    /// pairing, `Refused("device_revoked")` when the device was revoked meanwhile.
    ClaimPairing {
        secret_hash: String,
        token_hash: String,
    },
    /// A heartbeat: the status row is written; each `raise` (reason, state) opens an alert unless
    /// one is open; each of `clear` (reasons) is cleared by the device. `SlotsChanged(n)`: the
    /// alerts opened, so the caller's pages go out only when something was raised.
    Heartbeat {
        device_id: i64,
        hall_id: String,
        peripherals: String,
        software: Option<String>,
        raise: Vec<(String, String)>,
        clear: Vec<String>,
    },
    /// A device silent since before the threshold (the sweeper): opens its `silent` alert unless
    /// one is open. `SlotsChanged(1)` when opened.
    RaiseSilent { device_id: i64, hall_id: String },
    /// An alert nobody cleared in time is escalated once. `SlotsChanged(1)` when escalated.
    Escalate { alert_id: i64 },
    /// Staff clear an open alert with a note (audited). `Refused("device_alert_cleared")` when it
    /// is no longer open.
    Clear {
        alert_id: i64,
        by: String,
        note: String,
    },
    /// A device served a citizen in `mode`: the day's counter moves and the status row records
    /// the transaction's time.
    Usage {
        device_id: i64,
        day: NaiveDate,
        mode: String,
    },
}

/// A device with its last heartbeat, as the monitoring page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceStatus {
    pub device_id: i64,
    pub last_seen: Option<DateTime<Utc>>,
    /// JSON object {peripheral: state}.
    pub peripherals: String,
    pub software: Option<String>,
    pub last_transaction_at: Option<DateTime<Utc>>,
}

/// An alert raised by a device's fault or silence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAlert {
    pub id: i64,
    pub device_id: i64,
    pub hall_id: String,
    /// `silent` or `fault:<peripheral>`.
    pub reason: String,
    pub state: String,
    pub raised_at: DateTime<Utc>,
    pub escalated_at: Option<DateTime<Utc>>,
    pub cleared_at: Option<DateTime<Utc>>,
    pub cleared_by: Option<String>,
    pub note: Option<String>,
}

/// One counter: uses of a device in a mode on a local day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceUsage {
    pub day: NaiveDate,
    pub device_id: i64,
    pub mode: String,
    pub uses: u32,
}

/// Devices' pairing, status, alerts and counters.
#[async_trait]
pub trait DeviceStore: Send + Sync + 'static {
    /// Applies an unaudited step in a transaction of its own, queuing `messages` in it when the
    /// step changed something (`Created`, `SlotsChanged(n > 0)`).
    async fn device_step(
        &self,
        step: &DeviceStep,
        now: DateTime<Utc>,
        messages: &[NewMessage],
    ) -> Result<AdminOutcome>;

    /// Every device's status row (devices that never sent a heartbeat have none).
    async fn device_statuses(&self) -> Result<Vec<DeviceStatus>>;

    /// Open alerts, or every alert raised since `since`, newest first.
    async fn device_alerts(
        &self,
        open_only: bool,
        since: DateTime<Utc>,
    ) -> Result<Vec<DeviceAlert>>;

    async fn device_alert(&self, id: i64) -> Result<Option<DeviceAlert>>;

    /// The counters of the days `from..=to`.
    async fn device_usage(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<DeviceUsage>>;
}

/// Whether a step's outcome changed something, so that its messages go out.
pub(crate) fn changed_something(out: &AdminOutcome) -> bool {
    matches!(out, AdminOutcome::Created(_))
        || matches!(out, AdminOutcome::SlotsChanged(n) if *n > 0)
}

macro_rules! alert_cols {
    () => {
        "CAST(id AS TEXT), CAST(device_id AS TEXT), hall_id, reason, state, CAST(raised_at AS TEXT), \
         CAST(escalated_at AS TEXT), CAST(cleared_at AS TEXT), cleared_by, note"
    };
}

shared! {
    INSERT_PAIRING = "INSERT INTO device_pairings (code_hash, secret_hash, created_at, expires_at) \
        VALUES ($1, $2, $3, $4)";
    /// Pairings expired for a day are swept on the way; a kiosk whose code lapsed asks again.
    SWEEP_PAIRINGS = "DELETE FROM device_pairings WHERE expires_at < $1";
    CONFIRM_PAIRING = "UPDATE device_pairings SET device_id = $2, confirmed_at = $3 \
        WHERE code_hash = $1 AND device_id IS NULL AND expires_at > $3 \
        AND EXISTS (SELECT 1 FROM devices d WHERE d.id = $2 AND d.revoked_at IS NULL)";
    PAIRING_STATE = "SELECT CAST(device_id AS TEXT), CAST(expires_at AS TEXT) FROM device_pairings \
        WHERE secret_hash = $1 AND expires_at > $2";
    /// The atomic take: of two polls with the same secret only one deletes the row.
    TAKE_PAIRING = "DELETE FROM device_pairings WHERE secret_hash = $1 AND device_id IS NOT NULL \
        AND expires_at > $2 RETURNING device_id";
    ROTATE_TOKEN = "UPDATE devices SET token_hash = $2, paired_at = $3 \
        WHERE id = $1 AND revoked_at IS NULL";
    UPSERT_STATUS = "INSERT INTO device_status (device_id, last_seen, peripherals, software) \
        VALUES ($1, $2, $3, $4) ON CONFLICT (device_id) DO UPDATE SET \
        last_seen = excluded.last_seen, peripherals = excluded.peripherals, \
        software = excluded.software";
    RAISE_ALERT = "INSERT INTO device_alerts (device_id, hall_id, reason, state, raised_at) \
        VALUES ($1, $2, $3, $4, $5) \
        ON CONFLICT (device_id, reason) WHERE cleared_at IS NULL DO NOTHING";
    CLEAR_BY_REASON = "UPDATE device_alerts SET cleared_at = $3, cleared_by = $4 \
        WHERE device_id = $1 AND reason = $2 AND cleared_at IS NULL";
    CLEAR_BY_ID = "UPDATE device_alerts SET cleared_at = $2, cleared_by = $3, note = $4 \
        WHERE id = $1 AND cleared_at IS NULL";
    ESCALATE = "UPDATE device_alerts SET escalated_at = $2 \
        WHERE id = $1 AND cleared_at IS NULL AND escalated_at IS NULL";
    COUNT_USE = "INSERT INTO device_usage (day, device_id, mode, uses) VALUES ($1, $2, $3, 1) \
        ON CONFLICT (day, device_id, mode) DO UPDATE SET uses = device_usage.uses + 1";
    TOUCH_TRANSACTION = "INSERT INTO device_status (device_id, last_transaction_at) VALUES ($1, $2) \
        ON CONFLICT (device_id) DO UPDATE SET last_transaction_at = excluded.last_transaction_at";
    STATUSES = "SELECT CAST(device_id AS TEXT), CAST(last_seen AS TEXT), peripherals, software, \
        CAST(last_transaction_at AS TEXT) FROM device_status ORDER BY device_id";
    OPEN_ALERTS = concat!("SELECT ", alert_cols!(), " FROM device_alerts \
        WHERE cleared_at IS NULL ORDER BY raised_at DESC, id DESC");
    ALERTS_SINCE = concat!("SELECT ", alert_cols!(), " FROM device_alerts \
        WHERE cleared_at IS NULL OR raised_at >= $1 ORDER BY raised_at DESC, id DESC LIMIT 500");
    ALERT_BY_ID = concat!("SELECT ", alert_cols!(), " FROM device_alerts WHERE id = $1");
    USAGE = "SELECT CAST(day AS TEXT), CAST(device_id AS TEXT), mode, CAST(uses AS TEXT) \
        FROM device_usage WHERE day >= $1 AND day <= $2 ORDER BY day, device_id, mode";
}

/// Applies one step inside the caller's transaction.
pub(crate) async fn apply(
    tx: &mut impl AdminTx,
    step: &DeviceStep,
    now: DateTime<Utc>,
) -> Result<AdminOutcome> {
    use Arg::*;
    Ok(match step {
        DeviceStep::StartPairing {
            code_hash,
            secret_hash,
            expires_at,
        } => {
            tx.exec(SWEEP_PAIRINGS, &[At(now - chrono::TimeDelta::days(1))])
                .await?;
            // Two live codes alike are 1 in 25^8; the unique index refuses the second, and the
            // kiosk asks again.
            tx.exec(
                INSERT_PAIRING,
                &[Text(code_hash), Text(secret_hash), At(now), At(*expires_at)],
            )
            .await
            .map_err(refuse_on(Violation::Unique, "pairing_collision"))?;
            AdminOutcome::Done
        }
        DeviceStep::ConfirmPairing {
            code_hash,
            device_id,
        } => {
            let n = tx
                .exec(
                    CONFIRM_PAIRING,
                    &[Text(code_hash), Int(*device_id), At(now)],
                )
                .await?;
            if n == 0 {
                return Err(StoreError::Refused("pairing_unknown"));
            }
            AdminOutcome::Done
        }
        DeviceStep::ClaimPairing {
            secret_hash,
            token_hash,
        } => {
            let rows = tx
                .texts(PAIRING_STATE, &[Text(secret_hash), At(now)])
                .await?;
            let Some(row) = rows.first() else {
                return Err(StoreError::Refused("pairing_unknown"));
            };
            if row.first().cloned().flatten().is_none() {
                return Ok(AdminOutcome::Done);
            }
            let Some(id) = tx
                .first_i64(TAKE_PAIRING, &[Text(secret_hash), At(now)])
                .await?
            else {
                // Another poll with the same secret took it first.
                return Err(StoreError::Refused("pairing_unknown"));
            };
            if tx
                .exec(ROTATE_TOKEN, &[Int(id), Text(token_hash), At(now)])
                .await?
                == 0
            {
                return Err(StoreError::Refused("device_revoked"));
            }
            AdminOutcome::Created(id)
        }
        DeviceStep::Heartbeat {
            device_id,
            hall_id,
            peripherals,
            software,
            raise,
            clear,
        } => {
            tx.exec(
                UPSERT_STATUS,
                &[
                    Int(*device_id),
                    At(now),
                    Text(peripherals),
                    OptText(software.as_deref()),
                ],
            )
            .await?;
            let by = format!("device:{device_id}");
            for reason in clear {
                tx.exec(
                    CLEAR_BY_REASON,
                    &[Int(*device_id), Text(reason), At(now), Text(&by)],
                )
                .await?;
            }
            let mut raised = 0;
            for (reason, state) in raise {
                raised += tx
                    .exec(
                        RAISE_ALERT,
                        &[
                            Int(*device_id),
                            Text(hall_id),
                            Text(reason),
                            Text(state),
                            At(now),
                        ],
                    )
                    .await?;
            }
            AdminOutcome::SlotsChanged(raised)
        }
        DeviceStep::RaiseSilent { device_id, hall_id } => AdminOutcome::SlotsChanged(
            tx.exec(
                RAISE_ALERT,
                &[
                    Int(*device_id),
                    Text(hall_id),
                    Text("silent"),
                    Text("silent"),
                    At(now),
                ],
            )
            .await?,
        ),
        DeviceStep::Escalate { alert_id } => {
            AdminOutcome::SlotsChanged(tx.exec(ESCALATE, &[Int(*alert_id), At(now)]).await?)
        }
        DeviceStep::Clear { alert_id, by, note } => {
            let n = tx
                .exec(
                    CLEAR_BY_ID,
                    &[Int(*alert_id), At(now), Text(by), Text(note)],
                )
                .await?;
            if n == 0 {
                return Err(StoreError::Refused("device_alert_cleared"));
            }
            AdminOutcome::Done
        }
        DeviceStep::Usage {
            device_id,
            day,
            mode,
        } => {
            tx.exec(COUNT_USE, &[Day(*day), Int(*device_id), Text(mode)])
                .await?;
            tx.exec(TOUCH_TRANSACTION, &[Int(*device_id), At(now)])
                .await?;
            AdminOutcome::Done
        }
    })
}

/// An instant as either dialect casts it to text: SQLite's milliseconds, PostgreSQL's
/// `timestamptz` text.
pub(crate) fn instant(s: &str) -> Result<DateTime<Utc>> {
    if let Ok(ms) = s.parse::<i64>() {
        return DateTime::from_timestamp_millis(ms)
            .ok_or_else(|| StoreError::Corrupt(format!("instant {s}")));
    }
    DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%#z")
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt(format!("instant {s}")))
}

type Row = Vec<Option<String>>;

fn col(r: &Row, i: usize) -> String {
    r.get(i).cloned().flatten().unwrap_or_default()
}

fn opt(r: &Row, i: usize) -> Option<String> {
    r.get(i).cloned().flatten()
}

fn int(r: &Row, i: usize) -> Result<i64> {
    col(r, i)
        .parse()
        .map_err(|_| StoreError::Corrupt("device number".into()))
}

fn opt_instant(r: &Row, i: usize) -> Result<Option<DateTime<Utc>>> {
    opt(r, i).map(|s| instant(&s)).transpose()
}

fn alert(r: &Row) -> Result<DeviceAlert> {
    Ok(DeviceAlert {
        id: int(r, 0)?,
        device_id: int(r, 1)?,
        hall_id: col(r, 2),
        reason: col(r, 3),
        state: col(r, 4),
        raised_at: instant(&col(r, 5))?,
        escalated_at: opt_instant(r, 6)?,
        cleared_at: opt_instant(r, 7)?,
        cleared_by: opt(r, 8),
        note: opt(r, 9),
    })
}

pub(crate) async fn statuses(tx: &mut impl AdminTx) -> Result<Vec<DeviceStatus>> {
    tx.texts(STATUSES, &[])
        .await?
        .iter()
        .map(|r| {
            Ok(DeviceStatus {
                device_id: int(r, 0)?,
                last_seen: opt_instant(r, 1)?,
                peripherals: col(r, 2),
                software: opt(r, 3),
                last_transaction_at: opt_instant(r, 4)?,
            })
        })
        .collect()
}

pub(crate) async fn alerts(
    tx: &mut impl AdminTx,
    open_only: bool,
    since: DateTime<Utc>,
) -> Result<Vec<DeviceAlert>> {
    let rows = if open_only {
        tx.texts(OPEN_ALERTS, &[]).await?
    } else {
        tx.texts(ALERTS_SINCE, &[Arg::At(since)]).await?
    };
    rows.iter().map(alert).collect()
}

pub(crate) async fn alert_by_id(tx: &mut impl AdminTx, id: i64) -> Result<Option<DeviceAlert>> {
    tx.texts(ALERT_BY_ID, &[Arg::Int(id)])
        .await?
        .first()
        .map(alert)
        .transpose()
}

pub(crate) async fn usage(
    tx: &mut impl AdminTx,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<DeviceUsage>> {
    tx.texts(USAGE, &[Arg::Day(from), Arg::Day(to)])
        .await?
        .iter()
        .map(|r| {
            Ok(DeviceUsage {
                day: NaiveDate::parse_from_str(&col(r, 0), "%Y-%m-%d")
                    .map_err(|_| StoreError::Corrupt("usage day".into()))?,
                device_id: int(r, 1)?,
                mode: col(r, 2),
                uses: int(r, 3)? as u32,
            })
        })
        .collect()
}
