//! The 办证易 kiosk's endorsement re-issue (issue 17, RULES.md §6), written once for both
//! dialects over the shared [`AdminTx`]: the HK/Macao endorsements on record (imported with the
//! registry, or written by a kiosk) and the re-issues themselves, from the face match to the
//! card written.
//!
//! The database holds what must survive concurrency: one live re-issue per permit (a partial
//! unique index over `open` and `signed`, so two kiosks, or one kiosk twice, cannot re-issue the
//! same permit at once), and each move is one conditional statement on the row's state and
//! device (`open → signed → written`, or `→ failed`), applied with its audit entry through
//! `apply_admin` ([`crate::AdminChange::Reissue`]). The endorsements a re-issue records are
//! inserted with its move to `signed` and deleted with its move to `failed`: an endorsement
//! never written onto the card is not on record.

use crate::admin::{refuse_on, AdminTx, Arg, Violation};
use crate::keys::Keys;
use crate::model::AdminOutcome;
use crate::sql::{shared, to_lite, Sql};
use crate::{Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use wujing_domain::reissue::{Destination, EndorsementRecord};

/// One move of a re-issue, audited with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReissueStep {
    /// The face matched: a re-issue of `permit_number` opens at the device. An `open` one of
    /// the permit untouched since `stale_before` (a kiosk left mid-way, unpaid) is failed as
    /// `abandoned` first. `Created(id)`; `Refused("endorsement_reissue_in_progress")` while
    /// another is live.
    OpenReissue {
        device_id: i64,
        hall_id: String,
        id_number: String,
        permit_number: String,
        stale_before: DateTime<Utc>,
    },
    /// The citizen's choice and its price, once. `Refused("endorsement_reissue_state")`
    /// when the re-issue is not this device's, not open, or chosen already.
    Choose {
        id: i64,
        device_id: i64,
        kind: String,
        destinations: String,
        option: String,
        amount_yuan: i64,
    },
    /// Paid: the endorsements are recorded and the signed payload's hash kept.
    Sign {
        id: i64,
        device_id: i64,
        endorsements: Vec<EndorsementRecord>,
        payload_sha256: String,
    },
    /// The card read back what was written (its hash equals the payload's).
    Written {
        id: i64,
        device_id: i64,
        read_back_sha256: String,
    },
    /// Refused, declined, mismatched, a write that failed, or abandoned: the endorsements it
    /// recorded are deleted. `device_id` `None`: the sweeper's.
    Fail {
        id: i64,
        device_id: Option<i64>,
        failure: String,
    },
}

/// A re-issue as the use case reads it (the holder's key is not returned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reissue {
    pub id: i64,
    pub device_id: i64,
    pub hall_id: String,
    pub permit_number: String,
    /// `open`, `signed`, `written` or `failed`.
    pub status: String,
    pub kind: Option<String>,
    /// `hk`, `macau` or `hk,macau`.
    pub destinations: Option<String>,
    pub option: Option<String>,
    pub amount_yuan: Option<i64>,
    pub payload_sha256: Option<String>,
    pub read_back_sha256: Option<String>,
    pub failure: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Endorsements on record and re-issues.
#[async_trait]
pub trait ReissueStore: Send + Sync + 'static {
    /// Imports endorsements with the registry (repeatable: the same one twice is one row).
    async fn import_endorsements(&self, e: &[EndorsementRecord], now: DateTime<Utc>)
        -> Result<u64>;

    /// The holder's endorsements on record, oldest first.
    async fn endorsements_of(&self, id_number: &str) -> Result<Vec<EndorsementRecord>>;

    async fn reissue(&self, id: i64) -> Result<Option<Reissue>>;

    /// Live re-issues untouched since `before` (the sweeper fails and refunds them).
    async fn stale_reissues(&self, before: DateTime<Utc>) -> Result<Vec<Reissue>>;

    /// The online applications of `identity_key` (a blind identity key) awaiting payment:
    /// the fees a kiosk shows as due.
    async fn awaiting_payment_of(&self, identity_key: &str) -> Result<Vec<i64>>;
}

shared! {
    EXPIRE_STALE = "UPDATE endorsement_reissues SET status = 'failed', failure = 'abandoned', \
        updated_at = $2 WHERE permit_number = $1 AND status = 'open' AND updated_at < $3";
    OPEN = "INSERT INTO endorsement_reissues (device_id, hall_id, holder_key, permit_number, \
        status, created_at, updated_at) VALUES ($1, $2, $3, $4, 'open', $5, $5) RETURNING id";
    CHOOSE = "UPDATE endorsement_reissues SET kind = $3, destinations = $4, option = $5, \
        amount_yuan = $6, updated_at = $7 \
        WHERE id = $1 AND device_id = $2 AND status = 'open' AND amount_yuan IS NULL";
    SIGN = "UPDATE endorsement_reissues SET status = 'signed', payload_sha256 = $3, updated_at = $4 \
        WHERE id = $1 AND device_id = $2 AND status = 'open' AND amount_yuan IS NOT NULL";
    RECORD = "INSERT INTO hkm_endorsements (holder_key, permit_number, destination, kind, option, \
        issued_on, valid_until, source, reissue_id, recorded_at) \
        SELECT holder_key, permit_number, $2, $3, $4, $5, $6, 'kiosk', id, $7 \
        FROM endorsement_reissues WHERE id = $1";
    WRITTEN = "UPDATE endorsement_reissues SET status = 'written', read_back_sha256 = $3, \
        updated_at = $4 WHERE id = $1 AND device_id = $2 AND status = 'signed' \
        AND payload_sha256 = $3";
    FAIL = "UPDATE endorsement_reissues SET status = 'failed', failure = $3, updated_at = $4 \
        WHERE id = $1 AND (device_id = $2 OR $5) AND status IN ('open', 'signed')";
    UNRECORD = "DELETE FROM hkm_endorsements WHERE reissue_id = $1";
    IMPORT = "INSERT INTO hkm_endorsements (holder_key, permit_number, destination, kind, option, \
        issued_on, valid_until, source, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'registry', $8) \
        ON CONFLICT (permit_number, destination, kind, issued_on) WHERE source = 'registry' \
        DO UPDATE SET holder_key = excluded.holder_key, option = excluded.option, \
        valid_until = excluded.valid_until, recorded_at = excluded.recorded_at";
    OF_HOLDER = "SELECT permit_number, destination, kind, option, CAST(issued_on AS TEXT), \
        CAST(valid_until AS TEXT) FROM hkm_endorsements WHERE holder_key = $1 ORDER BY issued_on, id";
    BY_ID = "SELECT CAST(id AS TEXT), CAST(device_id AS TEXT), hall_id, permit_number, status, kind, \
        destinations, option, CAST(amount_yuan AS TEXT), payload_sha256, read_back_sha256, failure, \
        CAST(created_at AS TEXT), CAST(updated_at AS TEXT) FROM endorsement_reissues WHERE id = $1";
    AWAITING_OF = "SELECT CAST(id AS TEXT) FROM online_applications \
        WHERE identity_key = $1 AND status = 'awaiting_payment' ORDER BY id LIMIT 20";
    STALE = "SELECT CAST(id AS TEXT) FROM endorsement_reissues \
        WHERE status IN ('open', 'signed') AND updated_at < $1 ORDER BY id LIMIT 100";
}

fn changed(n: u64) -> Result<AdminOutcome> {
    if n == 0 {
        Err(StoreError::Refused("endorsement_reissue_state"))
    } else {
        Ok(AdminOutcome::Done)
    }
}

/// Applies one move inside the caller's transaction (with its audit entry).
pub(crate) async fn apply(
    tx: &mut impl AdminTx,
    keys: &Keys,
    step: &ReissueStep,
    now: DateTime<Utc>,
) -> Result<AdminOutcome> {
    use Arg::*;
    match step {
        ReissueStep::OpenReissue {
            device_id,
            hall_id,
            id_number,
            permit_number,
            stale_before,
        } => {
            tx.exec(
                EXPIRE_STALE,
                &[Text(permit_number), At(now), At(*stale_before)],
            )
            .await?;
            let key = crate::seal::registry_key(keys, id_number);
            let id = tx
                .first_i64(
                    OPEN,
                    &[
                        Int(*device_id),
                        Text(hall_id),
                        Text(&key),
                        Text(permit_number),
                        At(now),
                    ],
                )
                .await
                .map_err(refuse_on(
                    Violation::Unique,
                    "endorsement_reissue_in_progress",
                ))?
                .ok_or_else(|| StoreError::Corrupt("re-issue without an id".into()))?;
            Ok(AdminOutcome::Created(id))
        }
        ReissueStep::Choose {
            id,
            device_id,
            kind,
            destinations,
            option,
            amount_yuan,
        } => changed(
            tx.exec(
                CHOOSE,
                &[
                    Int(*id),
                    Int(*device_id),
                    Text(kind),
                    Text(destinations),
                    Text(option),
                    Int(*amount_yuan),
                    At(now),
                ],
            )
            .await?,
        ),
        ReissueStep::Sign {
            id,
            device_id,
            endorsements,
            payload_sha256,
        } => {
            changed(
                tx.exec(
                    SIGN,
                    &[Int(*id), Int(*device_id), Text(payload_sha256), At(now)],
                )
                .await?,
            )?;
            for e in endorsements {
                tx.exec(
                    RECORD,
                    &[
                        Int(*id),
                        Text(e.destination.as_str()),
                        Text(&e.kind),
                        Text(&e.option),
                        Day(e.issued_on),
                        Day(e.valid_until),
                        At(now),
                    ],
                )
                .await?;
            }
            Ok(AdminOutcome::Done)
        }
        ReissueStep::Written {
            id,
            device_id,
            read_back_sha256,
        } => changed(
            tx.exec(
                WRITTEN,
                &[Int(*id), Int(*device_id), Text(read_back_sha256), At(now)],
            )
            .await?,
        ),
        ReissueStep::Fail {
            id,
            device_id,
            failure,
        } => {
            changed(
                tx.exec(
                    FAIL,
                    &[
                        Int(*id),
                        Int(device_id.unwrap_or(0)),
                        Text(failure),
                        At(now),
                        Bool(device_id.is_none()),
                    ],
                )
                .await?,
            )?;
            tx.exec(UNRECORD, &[Int(*id)]).await?;
            Ok(AdminOutcome::Done)
        }
    }
}

pub(crate) async fn import(
    tx: &mut impl AdminTx,
    keys: &Keys,
    e: &[EndorsementRecord],
    now: DateTime<Utc>,
) -> Result<u64> {
    use Arg::*;
    for r in e {
        let key = crate::seal::registry_key(keys, &r.id_number);
        tx.exec(
            IMPORT,
            &[
                Text(&key),
                Text(&r.permit_number),
                Text(r.destination.as_str()),
                Text(&r.kind),
                Text(&r.option),
                Day(r.issued_on),
                Day(r.valid_until),
                At(now),
            ],
        )
        .await
        .map_err(refuse_on(Violation::Check, "endorsement_invalid"))?;
    }
    Ok(e.len() as u64)
}

type Row = Vec<Option<String>>;

fn col(r: &Row, i: usize) -> String {
    r.get(i).cloned().flatten().unwrap_or_default()
}

fn opt(r: &Row, i: usize) -> Option<String> {
    r.get(i).cloned().flatten()
}

fn day(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| StoreError::Corrupt(format!("date {s}")))
}

fn int(s: &str) -> Result<i64> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("number {s}")))
}

pub(crate) async fn of_holder(
    tx: &mut impl AdminTx,
    keys: &Keys,
    id_number: &str,
) -> Result<Vec<EndorsementRecord>> {
    let key = crate::seal::registry_key(keys, id_number);
    tx.texts(OF_HOLDER, &[Arg::Text(&key)])
        .await?
        .iter()
        .map(|r| {
            Ok(EndorsementRecord {
                id_number: id_number.to_string(),
                permit_number: col(r, 0),
                destination: Destination::parse(&col(r, 1))
                    .ok_or_else(|| StoreError::Corrupt("endorsement destination".into()))?,
                kind: col(r, 2),
                option: col(r, 3),
                issued_on: day(&col(r, 4))?,
                valid_until: day(&col(r, 5))?,
            })
        })
        .collect()
}

pub(crate) async fn by_id(tx: &mut impl AdminTx, id: i64) -> Result<Option<Reissue>> {
    let rows = tx.texts(BY_ID, &[Arg::Int(id)]).await?;
    let Some(r) = rows.first() else {
        return Ok(None);
    };
    Ok(Some(Reissue {
        id: int(&col(r, 0))?,
        device_id: int(&col(r, 1))?,
        hall_id: col(r, 2),
        permit_number: col(r, 3),
        status: col(r, 4),
        kind: opt(r, 5),
        destinations: opt(r, 6),
        option: opt(r, 7),
        amount_yuan: opt(r, 8).map(|s| int(&s)).transpose()?,
        payload_sha256: opt(r, 9),
        read_back_sha256: opt(r, 10),
        failure: opt(r, 11),
        created_at: crate::devices::instant(&col(r, 12))?,
        updated_at: crate::devices::instant(&col(r, 13))?,
    }))
}

pub(crate) async fn stale(tx: &mut impl AdminTx, before: DateTime<Utc>) -> Result<Vec<Reissue>> {
    let ids = tx.texts(STALE, &[Arg::At(before)]).await?;
    let mut out = Vec::new();
    for r in ids {
        if let Some(x) = by_id(tx, int(&col(&r, 0))?).await? {
            out.push(x);
        }
    }
    Ok(out)
}

pub(crate) async fn awaiting_of(tx: &mut impl AdminTx, identity_key: &str) -> Result<Vec<i64>> {
    tx.texts(AWAITING_OF, &[Arg::Text(identity_key)])
        .await?
        .iter()
        .map(|r| int(&col(r, 0)))
        .collect()
}
