//! Temporary accommodation registration (issue 14 §3), written once for both dialects over an
//! [`AdminTx`]: hotels and their page's sessions, registrations (sealed on the way in, opened on
//! the way out), check-out, the station's verification of a host's registration, and the
//! retention sweep's anonymisation. Every change here is an [`AdminChange::Lodging`] step, so it
//! is applied with its audit entry in one transaction by either adapter's `apply_admin`.
//!
//! Idempotency per guest stay is the database's: `UNIQUE (hotel_id, stay_id)` with
//! `ON CONFLICT DO NOTHING`. A second post of a stay (a retry, or two at once — on PostgreSQL the
//! second insert waits for the first to commit and then does nothing) inserts no row and is
//! refused with `lodging_stay_exists`, which rolls its audit entry back; the use case then
//! answers with the registration that exists.

use crate::admin::{refuse_on, AdminTx, Arg, Violation};
use crate::keys::Keys;
use crate::model::AdminOutcome;
use crate::sql::{shared, to_lite, Sql};
use crate::{Result, StoreError};
use chrono::{DateTime, NaiveDate, Utc};

/// A hotel to register (the token and password arrive hashed).
#[derive(Clone, PartialEq, Eq)]
pub struct NewHotel {
    pub code: String,
    pub name: String,
    pub address: String,
    pub site_id: String,
    pub password_hash: String,
    pub token_hash: String,
}

impl std::fmt::Debug for NewHotel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewHotel")
            .field("code", &self.code)
            .field("site_id", &self.site_id)
            .finish_non_exhaustive()
    }
}

/// A hotel as stored.
#[derive(Clone)]
pub struct Hotel {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub address: String,
    pub site_id: String,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    pub revoked: bool,
}

impl std::fmt::Debug for Hotel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hotel")
            .field("id", &self.id)
            .field("code", &self.code)
            .finish_non_exhaustive()
    }
}

/// A registration to write. `record` is the clear JSON (guest, stay details, host), which the
/// store seals; `passport_key` arrives blind already.
#[derive(Clone, PartialEq, Eq)]
pub struct NewRegistration {
    pub reference: String,
    /// `hotel` or `host`.
    pub source: String,
    pub hotel_id: Option<i64>,
    pub stay_id: Option<String>,
    pub request_hash: String,
    pub proof_hash: Option<String>,
    pub site_id: String,
    pub passport_key: String,
    pub nationality: String,
    pub record: String,
    pub check_in: DateTime<Utc>,
    pub first_night: NaiveDate,
    pub departure: Option<NaiveDate>,
    pub stay_until: NaiveDate,
    pub lateness: String,
}

impl std::fmt::Debug for NewRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewRegistration")
            .field("reference", &self.reference)
            .field("site_id", &self.site_id)
            .finish_non_exhaustive()
    }
}

/// A registration as stored, its record opened (empty once anonymised). `duplicates` is the
/// number of other registrations of the same passport sharing a night with it (worklist reads
/// only; 0 elsewhere).
#[derive(Clone)]
pub struct Registration {
    pub id: i64,
    pub reference: String,
    pub source: String,
    pub hotel_id: Option<i64>,
    pub stay_id: Option<String>,
    pub request_hash: String,
    pub proof_hash: Option<String>,
    pub site_id: String,
    pub nationality: String,
    pub record: String,
    pub check_in: DateTime<Utc>,
    pub first_night: NaiveDate,
    pub departure: Option<NaiveDate>,
    pub stay_until: NaiveDate,
    pub registered_at: DateTime<Utc>,
    pub lateness: String,
    pub checked_out_at: Option<DateTime<Utc>>,
    pub left_on: Option<NaiveDate>,
    pub verification: Option<String>,
    pub station_note: String,
    pub anonymised: bool,
    /// The passport's blind key (`anon:<id>` once anonymised): the audit entries' citizen.
    pub passport_key: String,
    pub duplicates: i64,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("id", &self.id)
            .field("reference", &self.reference)
            .finish_non_exhaustive()
    }
}

/// How a registration is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationBy {
    Id(i64),
    Reference(String),
    /// A hotel's own stay id: only that hotel's registration is found.
    Stay {
        hotel_id: i64,
        stay_id: String,
    },
}

/// A change of accommodation registration, applied with its audit entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LodgingStep {
    CreateHotel(NewHotel),
    /// Refused `hotel_revoked` when already revoked or not of that station.
    RevokeHotel {
        id: i64,
        site_id: String,
    },
    /// A hotel page's sign-in: its session (the token's SHA-256), until `expires_at`.
    StartSession {
        hotel_id: i64,
        token_hash: String,
        csrf_token: String,
        expires_at: DateTime<Utc>,
    },
    EndSession {
        token_hash: String,
    },
    /// `Created(id)`, or `Refused("lodging_stay_exists")` when the hotel already registered
    /// this stay id.
    Register(NewRegistration),
    /// A hotel's check-out of one of its stays; `Refused("lodging_checked_out")` when already
    /// out, `NotFound` when the hotel has no such stay.
    CheckOut {
        hotel_id: i64,
        stay_id: String,
        day: NaiveDate,
    },
    /// The station's decision on a host registration of its area: `accepted` or `queried`,
    /// from `pending` or `queried`; `Refused("lodging_not_pending")` otherwise.
    Verify {
        id: i64,
        site_id: String,
        decision: String,
        note: String,
        by: String,
    },
    /// The retention sweep: rows checked in before `before` lose their record and passport key;
    /// `SlotsChanged(n)` with the number anonymised, `Refused("lodging_nothing_due")` for none.
    Anonymise {
        before: DateTime<Utc>,
    },
}

macro_rules! reg_cols {
    () => {
        "CAST(r.id AS TEXT), r.reference, r.source, CAST(r.hotel_id AS TEXT), r.stay_id, r.request_hash, \
         r.proof_hash, r.site_id, r.nationality, r.record, CAST(r.check_in AS TEXT), \
         CAST(r.first_night AS TEXT), CAST(r.departure AS TEXT), CAST(r.stay_until AS TEXT), \
         CAST(r.registered_at AS TEXT), r.lateness, CAST(r.checked_out_at AS TEXT), \
         CAST(r.left_on AS TEXT), r.verification, r.station_note, \
         CAST(r.anonymised_at AS TEXT), r.passport_key"
    };
}

macro_rules! hotel_cols {
    () => {
        "CAST(h.id AS TEXT), h.code, h.name, h.address, h.site_id, h.password_hash, \
         CAST(h.created_at AS TEXT), CAST(h.revoked_at AS TEXT)"
    };
}

shared! {
    INSERT_HOTEL = "INSERT INTO lodging_hotels (code, name, address, site_id, password_hash, \
        token_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";
    REVOKE_HOTEL = "UPDATE lodging_hotels SET revoked_at = $3 \
        WHERE id = $1 AND site_id = $2 AND revoked_at IS NULL";
    INSERT_SESSION = "INSERT INTO lodging_hotel_sessions (token_hash, hotel_id, csrf_token, \
        expires_at) VALUES ($1, $2, $3, $4)";
    END_SESSION = "DELETE FROM lodging_hotel_sessions WHERE token_hash = $1";
    DELETE_EXPIRED_SESSIONS = "DELETE FROM lodging_hotel_sessions WHERE expires_at <= $1";
    INSERT_REGISTRATION = "INSERT INTO lodging_registrations (reference, source, hotel_id, \
        stay_id, request_hash, proof_hash, site_id, passport_key, nationality, record, check_in, \
        first_night, departure, stay_until, registered_at, lateness, verification) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
        CASE WHEN $2 = 'host' THEN 'pending' END) \
        ON CONFLICT (hotel_id, stay_id) DO NOTHING RETURNING id";
    CHECK_OUT = "UPDATE lodging_registrations SET checked_out_at = $3, left_on = $4 \
        WHERE hotel_id = $1 AND stay_id = $2 AND checked_out_at IS NULL";
    STAY_EXISTS = "SELECT id FROM lodging_registrations WHERE hotel_id = $1 AND stay_id = $2";
    VERIFY = "UPDATE lodging_registrations SET verification = $3, station_note = $4, \
        verified_by = $5 WHERE id = $1 AND site_id = $2 \
        AND verification IN ('pending', 'queried') AND anonymised_at IS NULL";
    ANONYMISE = "UPDATE lodging_registrations SET record = '', \
        passport_key = 'anon:' || CAST(id AS TEXT), anonymised_at = $2 \
        WHERE anonymised_at IS NULL AND check_in < $1";
    HOTEL_BY_TOKEN = concat!("SELECT ", hotel_cols!(), " FROM lodging_hotels h \
        WHERE h.token_hash = $1 AND h.revoked_at IS NULL");
    HOTEL_BY_CODE = concat!("SELECT ", hotel_cols!(), " FROM lodging_hotels h WHERE h.code = $1");
    HOTEL_BY_ID = concat!("SELECT ", hotel_cols!(), " FROM lodging_hotels h WHERE h.id = $1");
    HOTELS_OF_SITE = concat!("SELECT ", hotel_cols!(), " FROM lodging_hotels h \
        WHERE h.site_id = $1 ORDER BY h.code");
    HOTEL_SESSION = concat!("SELECT s.csrf_token, ", hotel_cols!(),
        " FROM lodging_hotel_sessions s JOIN lodging_hotels h ON h.id = s.hotel_id \
        WHERE s.token_hash = $1 AND s.expires_at > $2 AND h.revoked_at IS NULL");
    REG_BY_ID = concat!("SELECT ", reg_cols!(), " FROM lodging_registrations r WHERE r.id = $1");
    REG_BY_REFERENCE = concat!("SELECT ", reg_cols!(),
        " FROM lodging_registrations r WHERE r.reference = $1");
    REG_BY_STAY = concat!("SELECT ", reg_cols!(),
        " FROM lodging_registrations r WHERE r.hotel_id = $1 AND r.stay_id = $2");
    /// A station's registrations checked in from `$2`, newest first, each with the number of
    /// other registrations of its passport sharing a night (`$3`: tomorrow, the end of a stay
    /// still running without a planned departure — `domain::lodging::nights`). The other
    /// registration may be in any station's area: a duplicate is organisation-wide.
    WORKLIST = concat!("SELECT ", reg_cols!(), ", CAST((SELECT COUNT(*) FROM lodging_registrations o \
        WHERE o.passport_key = r.passport_key AND o.id <> r.id AND o.anonymised_at IS NULL \
        AND o.first_night < COALESCE(r.left_on, r.departure, $3) \
        AND r.first_night < COALESCE(o.left_on, o.departure, $3)) AS TEXT) \
        FROM lodging_registrations r WHERE r.site_id = $1 AND r.check_in >= $2 \
        ORDER BY r.check_in DESC, r.id DESC LIMIT 2000");
}

/// Applies one step inside the caller's transaction.
pub(crate) async fn apply(
    tx: &mut impl AdminTx,
    keys: &Keys,
    step: &LodgingStep,
    now: DateTime<Utc>,
) -> Result<AdminOutcome> {
    use Arg::*;
    match step {
        LodgingStep::CreateHotel(h) => {
            let id = tx
                .first_i64(
                    INSERT_HOTEL,
                    &[
                        Text(&h.code),
                        Text(&h.name),
                        Text(&h.address),
                        Text(&h.site_id),
                        Text(&h.password_hash),
                        Text(&h.token_hash),
                        At(now),
                    ],
                )
                .await
                .map_err(refuse_on(Violation::Unique, "hotel_code_taken"))?
                .ok_or(StoreError::Corrupt("no hotel id".into()))?;
            Ok(AdminOutcome::Created(id))
        }
        LodgingStep::RevokeHotel { id, site_id } => {
            let n = tx
                .exec(REVOKE_HOTEL, &[Int(*id), Text(site_id), At(now)])
                .await?;
            if n == 0 {
                return Err(StoreError::Refused("hotel_revoked"));
            }
            Ok(AdminOutcome::Done)
        }
        LodgingStep::StartSession {
            hotel_id,
            token_hash,
            csrf_token,
            expires_at,
        } => {
            tx.exec(DELETE_EXPIRED_SESSIONS, &[At(now)]).await?;
            tx.exec(
                INSERT_SESSION,
                &[
                    Text(token_hash),
                    Int(*hotel_id),
                    Text(csrf_token),
                    At(*expires_at),
                ],
            )
            .await?;
            Ok(AdminOutcome::Done)
        }
        LodgingStep::EndSession { token_hash } => {
            tx.exec(END_SESSION, &[Text(token_hash)]).await?;
            Ok(AdminOutcome::Done)
        }
        LodgingStep::Register(r) => {
            let sealed = keys.seal(&r.record);
            let id = tx
                .first_i64(
                    INSERT_REGISTRATION,
                    &[
                        Text(&r.reference),
                        Text(&r.source),
                        OptInt(r.hotel_id),
                        OptText(r.stay_id.as_deref()),
                        Text(&r.request_hash),
                        OptText(r.proof_hash.as_deref()),
                        Text(&r.site_id),
                        Text(&r.passport_key),
                        Text(&r.nationality),
                        Text(&sealed),
                        At(r.check_in),
                        Day(r.first_night),
                        OptDay(r.departure),
                        Day(r.stay_until),
                        At(now),
                        Text(&r.lateness),
                    ],
                )
                .await
                .map_err(|f| match f.violation {
                    Some(Violation::Check) => StoreError::Refused("lodging_invalid"),
                    _ => f.error,
                })?;
            match id {
                Some(id) => Ok(AdminOutcome::Created(id)),
                None => Err(StoreError::Refused("lodging_stay_exists")),
            }
        }
        LodgingStep::CheckOut {
            hotel_id,
            stay_id,
            day,
        } => {
            let n = tx
                .exec(
                    CHECK_OUT,
                    &[Int(*hotel_id), Text(stay_id), At(now), Day(*day)],
                )
                .await
                .map_err(refuse_on(Violation::Check, "check_out_invalid"))?;
            if n == 0 {
                let exists = tx
                    .first_i64(STAY_EXISTS, &[Int(*hotel_id), Text(stay_id)])
                    .await?
                    .is_some();
                return Err(if exists {
                    StoreError::Refused("lodging_checked_out")
                } else {
                    StoreError::NotFound("registration")
                });
            }
            Ok(AdminOutcome::Done)
        }
        LodgingStep::Verify {
            id,
            site_id,
            decision,
            note,
            by,
        } => {
            let n = tx
                .exec(
                    VERIFY,
                    &[
                        Int(*id),
                        Text(site_id),
                        Text(decision),
                        Text(note),
                        Text(by),
                    ],
                )
                .await
                .map_err(refuse_on(Violation::Check, "lodging_decision_invalid"))?;
            if n == 0 {
                return Err(StoreError::Refused("lodging_not_pending"));
            }
            Ok(AdminOutcome::Done)
        }
        LodgingStep::Anonymise { before } => {
            let n = tx.exec(ANONYMISE, &[At(*before), At(now)]).await?;
            if n == 0 {
                // Nothing due: refused, so that the sweep's audit entry is not written.
                return Err(StoreError::Refused("lodging_nothing_due"));
            }
            Ok(AdminOutcome::SlotsChanged(n))
        }
    }
}

/// An instant as either dialect casts it to text: SQLite's milliseconds, PostgreSQL's
/// `timestamptz` text.
fn instant(s: &str) -> Result<DateTime<Utc>> {
    if let Ok(ms) = s.parse::<i64>() {
        return DateTime::from_timestamp_millis(ms)
            .ok_or_else(|| StoreError::Corrupt(format!("instant {s}")));
    }
    DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%#z")
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt(format!("instant {s}")))
}

fn day(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| StoreError::Corrupt(format!("day {s}")))
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
        .map_err(|_| StoreError::Corrupt("lodging id".into()))
}

fn hotel(r: &Row, o: usize) -> Result<Hotel> {
    Ok(Hotel {
        id: int(r, o)?,
        code: col(r, o + 1),
        name: col(r, o + 2),
        address: col(r, o + 3),
        site_id: col(r, o + 4),
        password_hash: col(r, o + 5),
        created_at: instant(&col(r, o + 6))?,
        revoked: opt(r, o + 7).is_some(),
    })
}

fn registration(keys: &Keys, r: &Row) -> Result<Registration> {
    let anonymised = opt(r, 20).is_some();
    let record = if anonymised {
        String::new()
    } else {
        crate::seal::open_text(keys, "lodging record", &col(r, 9))?
    };
    Ok(Registration {
        id: int(r, 0)?,
        reference: col(r, 1),
        source: col(r, 2),
        hotel_id: opt(r, 3).and_then(|s| s.parse().ok()),
        stay_id: opt(r, 4),
        request_hash: col(r, 5),
        proof_hash: opt(r, 6),
        site_id: col(r, 7),
        nationality: col(r, 8),
        record,
        check_in: instant(&col(r, 10))?,
        first_night: day(&col(r, 11))?,
        departure: opt(r, 12).map(|s| day(&s)).transpose()?,
        stay_until: day(&col(r, 13))?,
        registered_at: instant(&col(r, 14))?,
        lateness: col(r, 15),
        checked_out_at: opt(r, 16).map(|s| instant(&s)).transpose()?,
        left_on: opt(r, 17).map(|s| day(&s)).transpose()?,
        verification: opt(r, 18),
        station_note: col(r, 19),
        anonymised,
        passport_key: col(r, 21),
        duplicates: opt(r, 22).and_then(|s| s.parse().ok()).unwrap_or(0),
    })
}

/// A hotel by its token's hash (not revoked), its code, or its id.
pub(crate) async fn hotel_where(tx: &mut impl AdminTx, by: HotelBy<'_>) -> Result<Option<Hotel>> {
    let rows = match by {
        HotelBy::Token(h) => tx.texts(HOTEL_BY_TOKEN, &[Arg::Text(h)]).await?,
        HotelBy::Code(c) => tx.texts(HOTEL_BY_CODE, &[Arg::Text(c)]).await?,
        HotelBy::Id(id) => tx.texts(HOTEL_BY_ID, &[Arg::Int(id)]).await?,
    };
    rows.first().map(|r| hotel(r, 0)).transpose()
}

/// How a hotel is found.
#[derive(Debug, Clone, Copy)]
pub enum HotelBy<'a> {
    Token(&'a str),
    Code(&'a str),
    Id(i64),
}

pub(crate) async fn hotels_of(tx: &mut impl AdminTx, site_id: &str) -> Result<Vec<Hotel>> {
    tx.texts(HOTELS_OF_SITE, &[Arg::Text(site_id)])
        .await?
        .iter()
        .map(|r| hotel(r, 0))
        .collect()
}

/// A hotel page's session: its CSRF token and the hotel.
pub(crate) async fn session(
    tx: &mut impl AdminTx,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<(String, Hotel)>> {
    let rows = tx
        .texts(HOTEL_SESSION, &[Arg::Text(token_hash), Arg::At(now)])
        .await?;
    rows.first()
        .map(|r| Ok((col(r, 0), hotel(r, 1)?)))
        .transpose()
}

pub(crate) async fn registration_where(
    tx: &mut impl AdminTx,
    keys: &Keys,
    by: &RegistrationBy,
) -> Result<Option<Registration>> {
    let rows = match by {
        RegistrationBy::Id(id) => tx.texts(REG_BY_ID, &[Arg::Int(*id)]).await?,
        RegistrationBy::Reference(r) => tx.texts(REG_BY_REFERENCE, &[Arg::Text(r)]).await?,
        RegistrationBy::Stay { hotel_id, stay_id } => {
            tx.texts(REG_BY_STAY, &[Arg::Int(*hotel_id), Arg::Text(stay_id)])
                .await?
        }
    };
    rows.first().map(|r| registration(keys, r)).transpose()
}

pub(crate) async fn worklist(
    tx: &mut impl AdminTx,
    keys: &Keys,
    site_id: &str,
    since: DateTime<Utc>,
    tomorrow: NaiveDate,
) -> Result<Vec<Registration>> {
    tx.texts(
        WORKLIST,
        &[Arg::Text(site_id), Arg::At(since), Arg::Day(tomorrow)],
    )
    .await?
    .iter()
    .map(|r| registration(keys, r))
    .collect()
}
