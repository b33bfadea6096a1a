//! The kiosk modes' own data (issue 17, migration 38), written once for both dialects over the
//! shared [`AdminTx`]: the 申请易's applications with their biometrics (photo, fingerprints,
//! signature; sealed at rest with the data key, deleted after production), and what a 前台通
//! read from the card at its window.
//!
//! Every write is a [`KioskStep`] applied through `apply_admin` (`AdminChange::Kiosk`), so each
//! one — a submission that writes biometrics, their deletion, a card read — has its audit entry
//! in its own transaction. Reads (an officer's, the sweeper's) are [`KioskStore`]'s.

use crate::admin::{AdminTx, Arg};
use crate::keys::Keys;
use crate::model::{AdminOutcome, Private};
use crate::sql::{shared, to_lite, Sql};
use crate::{Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

/// One part of an application's biometrics: `photo`, `signature` or a finger
/// ([`wujing_domain::biometrics::Finger`] by name) with its quality.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BiometricPart {
    pub part: String,
    /// A print's NFIQ 2 score; none for the photo and the signature.
    pub quality: Option<i32>,
    /// The image, base64 (clear here, sealed by the store).
    pub data: Private,
}

/// An application made at a 申请易 kiosk, as submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqyApplication {
    pub hall_id: String,
    pub business: String,
    pub identity_key: String,
    pub id_number: Private,
    pub name: Private,
    pub ready_by: NaiveDate,
    pub device_id: i64,
    pub guardian_consent: bool,
    /// `taken` or `not_taken` (under 16 without the guardian's consent).
    pub fingerprints: String,
    /// `signed`, `unable` or `not_asked` (a pre-school child).
    pub signature: String,
    pub parts: Vec<BiometricPart>,
}

/// A change of the kiosk modes' data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KioskStep {
    /// 申请易: the application is created (no ticket, window or officer; channel
    /// `self_service`; `accepted`, its first history row by `device:<id>`), with its applicant
    /// and biometrics, in one transaction. Answers [`AdminOutcome::Created`] with its id.
    SqySubmit(SqyApplication),
    /// Deletes an application's biometrics and records when. `Refused("biometrics_deleted")`
    /// when they were deleted already (a concurrent sweep).
    DeleteBiometrics { application_id: i64 },
    /// 前台通: what the card reader read at a window, for the ticket served there; replaces
    /// the window's previous read.
    CardRead {
        hall_id: String,
        window_number: u32,
        ticket_id: i64,
        id_number: Private,
        name: Private,
    },
}

/// An application's kiosk record, opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KioskApplicant {
    pub application_id: i64,
    pub device_id: i64,
    pub id_number: String,
    pub name: String,
    pub guardian_consent: bool,
    pub fingerprints: String,
    pub signature: String,
    pub biometrics_deleted: bool,
}

/// One stored part, opened: the image's base64.
#[derive(Clone, PartialEq, Eq)]
pub struct Biometric {
    pub part: String,
    pub quality: Option<i32>,
    pub data: String,
}

impl std::fmt::Debug for Biometric {
    // Never the image: a debug print must not put a fingerprint in a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Biometric({}, {:?}, {} bytes)",
            self.part,
            self.quality,
            self.data.len()
        )
    }
}

/// The card read at a window, opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardRead {
    pub ticket_id: i64,
    pub id_number: String,
    pub name: String,
}

/// The kiosk modes' reads; the writes are [`KioskStep`]s through `apply_admin`.
#[async_trait]
pub trait KioskStore: Send + Sync + 'static {
    /// The kiosk record of an application made at a 申请易; `None` for any other.
    async fn kiosk_applicant(&self, application_id: i64) -> Result<Option<KioskApplicant>>;
    /// An application's biometrics (empty once deleted).
    async fn application_biometrics(&self, application_id: i64) -> Result<Vec<Biometric>>;
    /// Kiosk applications whose biometrics are due for deletion, at most `limit`: the document
    /// produced (or any later state), or made before `cutoff` (the retention).
    async fn biometrics_due(&self, cutoff: DateTime<Utc>, limit: u32) -> Result<Vec<i64>>;
    /// The card read at a window, if any.
    async fn counter_card_read(&self, hall_id: &str, window: u32) -> Result<Option<CardRead>>;
}

shared! {
    INSERT_KIOSK_APPLICATION = "INSERT INTO applications (ticket_id, booking_id, hall_id, business, \
        identity_key, status, missing, supplement_due, expedited, ready_by, window_number, officer_id, \
        accepted_at, updated_at, collection_method, mail_address, channel) \
        VALUES (NULL, NULL, $1, $2, $3, 'accepted', '[]', NULL, $4, $5, NULL, NULL, $6, $6, 'counter', \
        NULL, 'self_service') RETURNING id";
    INSERT_KIOSK_FIRST_EVENT = "INSERT INTO application_events (application_id, from_state, to_state, \
        at, actor, note) VALUES ($1, NULL, 'accepted', $2, $3, 'self_service')";
    INSERT_KIOSK_APPLICANT = "INSERT INTO kiosk_applications (application_id, device_id, id_number, \
        name, guardian_consent, fingerprints, signature, created_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    INSERT_BIOMETRIC = "INSERT INTO application_biometrics (application_id, part, quality, data, \
        created_at) VALUES ($1, $2, $3, $4, $5)";
    DELETE_BIOMETRICS = "DELETE FROM application_biometrics WHERE application_id = $1";
    MARK_BIOMETRICS_DELETED = "UPDATE kiosk_applications SET biometrics_deleted_at = $2 \
        WHERE application_id = $1 AND biometrics_deleted_at IS NULL";
    UPSERT_CARD_READ = "INSERT INTO counter_card_reads (hall_id, window_number, ticket_id, id_number, \
        name, read_at) VALUES ($1, $2, $3, $4, $5, $6) \
        ON CONFLICT (hall_id, window_number) DO UPDATE SET ticket_id = excluded.ticket_id, \
        id_number = excluded.id_number, name = excluded.name, read_at = excluded.read_at";
    KIOSK_APPLICANT = "SELECT CAST(device_id AS TEXT), id_number, name, \
        CASE WHEN guardian_consent THEN 'y' ELSE 'n' END, fingerprints, signature, \
        CASE WHEN biometrics_deleted_at IS NULL THEN 'n' ELSE 'y' END \
        FROM kiosk_applications WHERE application_id = $1";
    BIOMETRICS_OF = "SELECT part, CAST(quality AS TEXT), data FROM application_biometrics \
        WHERE application_id = $1 ORDER BY part";
    /// Produced or later (the document exists: the biometrics have served), or past retention.
    BIOMETRICS_DUE = "SELECT CAST(k.application_id AS TEXT) FROM kiosk_applications k \
        JOIN applications a ON a.id = k.application_id \
        WHERE k.biometrics_deleted_at IS NULL AND (k.created_at < $1 OR a.status IN ('produced', \
        'dispatched', 'ready_for_collection', 'collected', 'returned_to_vault')) \
        ORDER BY k.application_id LIMIT $2";
    CARD_READ = "SELECT CAST(ticket_id AS TEXT), id_number, name FROM counter_card_reads \
        WHERE hall_id = $1 AND window_number = $2";
}

fn window(n: u32) -> Arg<'static> {
    Arg::Int4(i32::try_from(n).unwrap_or(i32::MAX))
}

/// Applies one step inside the caller's transaction.
pub(crate) async fn apply(
    tx: &mut impl AdminTx,
    keys: &Keys,
    step: &KioskStep,
    now: DateTime<Utc>,
) -> Result<AdminOutcome> {
    use Arg::*;
    match step {
        KioskStep::SqySubmit(a) => {
            let id = tx
                .first_i64(
                    INSERT_KIOSK_APPLICATION,
                    &[
                        Text(&a.hall_id),
                        Text(&a.business),
                        Text(&a.identity_key),
                        Bool(false),
                        Day(a.ready_by),
                        At(now),
                    ],
                )
                .await?
                .ok_or(StoreError::Corrupt("no application id".into()))?;
            let actor = format!("device:{}", a.device_id);
            tx.exec(INSERT_KIOSK_FIRST_EVENT, &[Int(id), At(now), Text(&actor)])
                .await?;
            let (id_number, name) = (keys.seal(&a.id_number.0), keys.seal(&a.name.0));
            tx.exec(
                INSERT_KIOSK_APPLICANT,
                &[
                    Int(id),
                    Int(a.device_id),
                    Text(&id_number),
                    Text(&name),
                    Bool(a.guardian_consent),
                    Text(&a.fingerprints),
                    Text(&a.signature),
                    At(now),
                ],
            )
            .await?;
            for p in &a.parts {
                let sealed = keys.seal(&p.data.0);
                tx.exec(
                    INSERT_BIOMETRIC,
                    &[
                        Int(id),
                        Text(&p.part),
                        OptInt(p.quality.map(i64::from)),
                        Text(&sealed),
                        At(now),
                    ],
                )
                .await?;
            }
            Ok(AdminOutcome::Created(id))
        }
        KioskStep::DeleteBiometrics { application_id } => {
            tx.exec(DELETE_BIOMETRICS, &[Int(*application_id)]).await?;
            let n = tx
                .exec(MARK_BIOMETRICS_DELETED, &[Int(*application_id), At(now)])
                .await?;
            if n == 0 {
                return Err(StoreError::Refused("biometrics_deleted"));
            }
            Ok(AdminOutcome::Done)
        }
        KioskStep::CardRead {
            hall_id,
            window_number,
            ticket_id,
            id_number,
            name,
        } => {
            let (id_number, name) = (keys.seal(&id_number.0), keys.seal(&name.0));
            tx.exec(
                UPSERT_CARD_READ,
                &[
                    Text(hall_id),
                    window(*window_number),
                    Int(*ticket_id),
                    Text(&id_number),
                    Text(&name),
                    At(now),
                ],
            )
            .await?;
            Ok(AdminOutcome::Done)
        }
    }
}

fn text(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

fn open(keys: &Keys, what: &str, v: &Option<String>) -> Result<String> {
    crate::seal::open_text(keys, what, v.as_deref().unwrap_or_default())
}

pub(crate) async fn applicant(
    tx: &mut impl AdminTx,
    keys: &Keys,
    application_id: i64,
) -> Result<Option<KioskApplicant>> {
    let rows = tx
        .texts(KIOSK_APPLICANT, &[Arg::Int(application_id)])
        .await?;
    let Some(r) = rows.into_iter().next() else {
        return Ok(None);
    };
    Ok(Some(KioskApplicant {
        application_id,
        device_id: text(&r[0])
            .parse()
            .map_err(|_| StoreError::Corrupt("kiosk application device".into()))?,
        id_number: open(keys, "id_number", &r[1])?,
        name: open(keys, "name", &r[2])?,
        guardian_consent: r[3].as_deref() == Some("y"),
        fingerprints: text(&r[4]),
        signature: text(&r[5]),
        biometrics_deleted: r[6].as_deref() == Some("y"),
    }))
}

pub(crate) async fn biometrics(
    tx: &mut impl AdminTx,
    keys: &Keys,
    application_id: i64,
) -> Result<Vec<Biometric>> {
    let rows = tx.texts(BIOMETRICS_OF, &[Arg::Int(application_id)]).await?;
    rows.into_iter()
        .map(|r| {
            Ok(Biometric {
                part: text(&r[0]),
                quality: r[1].as_deref().and_then(|q| q.parse().ok()),
                data: open(keys, "biometric", &r[2])?,
            })
        })
        .collect()
}

pub(crate) async fn due(
    tx: &mut impl AdminTx,
    cutoff: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<i64>> {
    let rows = tx
        .texts(
            BIOMETRICS_DUE,
            &[Arg::At(cutoff), Arg::Int(i64::from(limit))],
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| r[0].as_deref().and_then(|v| v.parse().ok()))
        .collect())
}

pub(crate) async fn card_read(
    tx: &mut impl AdminTx,
    keys: &Keys,
    hall_id: &str,
    window_number: u32,
) -> Result<Option<CardRead>> {
    let rows = tx
        .texts(CARD_READ, &[Arg::Text(hall_id), window(window_number)])
        .await?;
    let Some(r) = rows.into_iter().next() else {
        return Ok(None);
    };
    Ok(Some(CardRead {
        ticket_id: text(&r[0])
            .parse()
            .map_err(|_| StoreError::Corrupt("card read ticket".into()))?,
        id_number: open(keys, "id_number", &r[1])?,
        name: open(keys, "name", &r[2])?,
    }))
}
