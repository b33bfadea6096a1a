//! Foreigners' passports linked into one person (issue 14 §2), written once for both dialects
//! over an [`AdminTx`]: recording that passport B replaces passport A (with the officer's audit
//! entry, in one transaction) and the reads the use cases resolve keys with.
//!
//! A person's bookings are stored under one **person key**, the identity key of their first
//! passport. A passport nobody linked has no row and is its own person: the resident-ID path
//! and an unlinked foreigner's never read this table's rows (the foreign path reads one key).
//! Recording a link writes the first passport's own row (if it is new), the new passport's row
//! pointing at the same person, and moves the new passport's active bookings to the person key
//! — refused (`passport_link_conflict`) when that would leave the person two active bookings of
//! one business, which `bookings_one_active` forbids, so nothing is half-written.

use crate::admin::{refuse_on, AdminTx, Arg, Violation};
use crate::model::{AdminOutcome, PassportLink};
use crate::sql::{shared, to_lite, Sql};
use crate::{Result, StoreError};
use chrono::{DateTime, Utc};

shared! {
    PERSON_OF = "SELECT person_key FROM foreign_passports WHERE passport_key = $1";
    PASSPORTS_OF = "SELECT passport_key FROM foreign_passports WHERE person_key = $1 \
        ORDER BY linked_at, passport_key";
    INSERT_FIRST = "INSERT INTO foreign_passports (passport_key, person_key, replaces_key, \
        linked_by, linked_at) VALUES ($1, $1, NULL, NULL, $2) ON CONFLICT (passport_key) DO NOTHING";
    INSERT_LINK = "INSERT INTO foreign_passports (passport_key, person_key, replaces_key, \
        linked_by, linked_at) VALUES ($1, $2, $3, $4, $5)";
    MOVE_ACTIVE_BOOKINGS = "UPDATE bookings SET identity_key = $2 \
        WHERE identity_key = $1 AND status = 'active' AND used_at IS NULL";
}

async fn person_of(tx: &mut impl AdminTx, passport_key: &str) -> Result<Option<String>> {
    Ok(tx
        .texts(PERSON_OF, &[Arg::Text(passport_key)])
        .await?
        .into_iter()
        .next()
        .and_then(|r| r.into_iter().next().flatten()))
}

/// Records the link inside the caller's transaction.
pub(crate) async fn apply(
    tx: &mut impl AdminTx,
    l: &PassportLink,
    now: DateTime<Utc>,
) -> Result<AdminOutcome> {
    use Arg::*;
    if l.old_key == l.new_key {
        return Err(StoreError::Refused("passport_link_same"));
    }
    if person_of(tx, &l.new_key).await?.is_some() {
        return Err(StoreError::Refused("passport_already_linked"));
    }
    let person = person_of(tx, &l.old_key)
        .await?
        .unwrap_or_else(|| l.old_key.clone());
    tx.exec(INSERT_FIRST, &[Text(&l.old_key), At(now)]).await?;
    // A second officer linking the same new passport, or another one to the same old
    // passport, at the same moment: the primary key or the one-successor index refuses it.
    tx.exec(
        INSERT_LINK,
        &[
            Text(&l.new_key),
            Text(&person),
            Text(&l.old_key),
            Int(l.staff_id),
            At(now),
        ],
    )
    .await
    .map_err(refuse_on(Violation::Unique, "passport_already_linked"))?;
    tx.exec(MOVE_ACTIVE_BOOKINGS, &[Text(&l.new_key), Text(&person)])
        .await
        .map_err(refuse_on(Violation::Unique, "passport_link_conflict"))?;
    Ok(AdminOutcome::Done)
}

/// The person key of a passport's identity key, when it was ever linked.
pub(crate) async fn person_key(
    tx: &mut impl AdminTx,
    passport_key: &str,
) -> Result<Option<String>> {
    person_of(tx, passport_key).await
}

/// Every passport key of a person (the first one included), oldest link first; empty for a
/// passport never linked.
pub(crate) async fn passport_keys(tx: &mut impl AdminTx, person_key: &str) -> Result<Vec<String>> {
    Ok(tx
        .texts(PASSPORTS_OF, &[Arg::Text(person_key)])
        .await?
        .into_iter()
        .filter_map(|r| r.into_iter().next().flatten())
        .collect())
}
