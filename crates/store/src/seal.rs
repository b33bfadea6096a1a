//! Personal data sealed on its way into the database and opened on its way out, written once
//! for both adapters.
//!
//! The port speaks clear values: a use case hands a booking with its identity number, name and
//! phone, and reads them back. In the tables they are AES-256-GCM sealed ([`Keys::seal`]);
//! where the database must compare them — a phone's code limits, the shared-phone signal, the
//! registry's primary key, an outbox recipient — it compares a blind index
//! ([`Keys::index`]) kept beside the sealed value. Identity keys arrive already blind (the
//! use cases derive them with [`Keys::identity_key`]), so the one-active-booking unique index
//! works unchanged on opaque keys.

use crate::admin::{AdminTx, Arg};
use crate::keys::Keys;
use crate::model::{Booking, LotteryEntry, Message, NewEntry, NewMessage};
use crate::StoreError;
use wujing_domain::{DocumentRecord, PersonRecord};

/// The blind-index namespace of phones (bookings' shared-phone signal, phone codes).
const PHONE: &str = "phone";
/// The blind-index namespace of outbox recipients (phones and e-mail addresses).
const RECIPIENT: &str = "recipient";
/// The blind-index namespace of registry identity numbers.
const REGISTRY: &str = "registry";

fn damaged(what: &str) -> StoreError {
    StoreError::Corrupt(format!(
        "sealed {what} cannot be opened with the configured keys"
    ))
}

/// A stored text opened, or an error naming the column.
fn open(keys: &Keys, what: &str, sealed: &str) -> Result<String, StoreError> {
    keys.open(sealed).map_err(|_| damaged(what))
}

/// One sealed text opened (e.g. an application's mail address), or an error naming it.
pub(crate) fn open_text(keys: &Keys, what: &str, sealed: &str) -> Result<String, StoreError> {
    open(keys, what, sealed)
}

/// An applicant's identity number, name and phone as stored, and the phone's blind index.
pub(crate) struct Applicant {
    pub id_number: String,
    pub name: String,
    pub phone: String,
    pub phone_index: String,
}

pub(crate) fn applicant(keys: &Keys, id_number: &str, name: &str, phone: &str) -> Applicant {
    Applicant {
        id_number: keys.seal(id_number),
        name: keys.seal(name),
        phone: keys.seal(phone),
        phone_index: phone_index(keys, phone),
    }
}

/// The shared-phone signal's rows carry one sealed phone of the group: opened for the leader
/// who reads the signal (and masked by the use case).
pub(crate) fn open_shared_phones(
    keys: &Keys,
    mut rows: Vec<crate::model::SharedKey>,
) -> Result<Vec<crate::model::SharedKey>, StoreError> {
    for r in &mut rows {
        r.key = open(keys, "phone", &r.key)?;
    }
    Ok(rows)
}

pub(crate) fn phone_index(keys: &Keys, phone: &str) -> String {
    keys.index(PHONE, phone)
}

pub(crate) fn open_booking(keys: &Keys, mut b: Booking) -> Result<Booking, StoreError> {
    if b.id_number.is_empty() {
        // Anonymised after the retention period: nothing left to open.
        return Ok(b);
    }
    b.id_number = open(keys, "identity number", &b.id_number)?;
    b.name = open(keys, "name", &b.name)?;
    b.phone = open(keys, "phone", &b.phone)?;
    Ok(b)
}

pub(crate) fn open_entry(keys: &Keys, mut e: LotteryEntry) -> Result<LotteryEntry, StoreError> {
    if e.entry.id_number.is_empty() {
        return Ok(e);
    }
    e.entry.id_number = open(keys, "identity number", &e.entry.id_number)?;
    e.entry.name = open(keys, "name", &e.entry.name)?;
    e.entry.phone = open(keys, "phone", &e.entry.phone)?;
    Ok(e)
}

pub(crate) fn open_entries(
    keys: &Keys,
    entries: Vec<LotteryEntry>,
) -> Result<Vec<LotteryEntry>, StoreError> {
    entries.into_iter().map(|e| open_entry(keys, e)).collect()
}

/// A lottery entry as stored: identity number, name and phone sealed.
pub(crate) fn entry(keys: &Keys, e: &NewEntry) -> NewEntry {
    NewEntry {
        id_number: keys.seal(&e.id_number),
        name: keys.seal(&e.name),
        phone: keys.seal(&e.phone),
        ..e.clone()
    }
}

/// A message's recipient and text as stored, and the recipient's blind index.
pub(crate) struct SealedMessage {
    pub recipient: String,
    pub recipient_index: String,
    pub body: String,
}

pub(crate) fn message(keys: &Keys, m: &NewMessage) -> SealedMessage {
    SealedMessage {
        recipient: keys.seal(&m.recipient),
        recipient_index: recipient_index(keys, &m.recipient),
        body: keys.seal(&m.body),
    }
}

pub(crate) fn recipient_index(keys: &Keys, recipient: &str) -> String {
    keys.index(RECIPIENT, recipient)
}

/// A stored message opened. A delivered message's text was purged: its body stays empty.
pub(crate) fn open_message(keys: &Keys, mut m: Message) -> Result<Message, StoreError> {
    m.recipient = open(keys, "recipient", &m.recipient)?;
    if !m.body.is_empty() {
        m.body = open(keys, "message", &m.body)?;
    }
    Ok(m)
}

/// The registry's key for an identity number: its blind index (the number itself is not
/// stored; a lookup always starts from the number the caller holds).
pub(crate) fn registry_key(keys: &Keys, id_number: &str) -> String {
    keys.index(REGISTRY, id_number)
}

/// A registry record as stored: keyed by its blind index, the name sealed.
pub(crate) fn person(keys: &Keys, p: &PersonRecord) -> PersonRecord {
    PersonRecord {
        id_number: registry_key(keys, &p.id_number),
        name: keys.seal(&p.name),
        phone: keys.seal_opt(p.phone.as_deref()),
        ..p.clone()
    }
}

/// A stored registry record opened: the number is the one it was looked up by.
pub(crate) fn open_person(
    keys: &Keys,
    mut p: PersonRecord,
    id_number: &str,
) -> Result<PersonRecord, StoreError> {
    p.id_number = id_number.to_string();
    p.name = open(keys, "name", &p.name)?;
    p.phone = p.phone.map(|ph| open(keys, "phone", &ph)).transpose()?;
    Ok(p)
}

pub(crate) fn document(keys: &Keys, d: &DocumentRecord) -> DocumentRecord {
    DocumentRecord {
        id_number: registry_key(keys, &d.id_number),
        ..d.clone()
    }
}

/// A person's stored registry facts opened: the number is the one they were looked up by.
pub(crate) fn open_facts(
    keys: &Keys,
    person: Option<PersonRecord>,
    mut docs: Vec<DocumentRecord>,
    id_number: &str,
) -> Result<(Option<PersonRecord>, Vec<DocumentRecord>), StoreError> {
    for d in &mut docs {
        d.id_number = id_number.to_string();
    }
    Ok((
        person
            .map(|p| open_person(keys, p, id_number))
            .transpose()?,
        docs,
    ))
}

/// Seals what a database migrated from before version 19 holds in clear, once, in the
/// migrating transaction: bookings and lottery entries (numbers, names, phones, identity keys),
/// tickets' and applications' identity keys, the registry (re-keyed by blind index, names
/// sealed), and queued messages (a delivered one loses its text). Audit entries cannot be
/// rewritten (append-only, and their hashes cover them): those about a citizen keep the clear
/// identity key they were written with. The number of rows sealed.
pub(crate) async fn seal_legacy(tx: &mut impl AdminTx, keys: &Keys) -> Result<u64, StoreError> {
    use crate::sql;
    if tx.first_i64(sql::LEGACY_PENDING, &[]).await?.unwrap_or(0) == 0 {
        return Ok(0);
    }
    let col = |r: &[Option<String>], i: usize| r.get(i).cloned().flatten().unwrap_or_default();
    let id_of = |r: &[Option<String>]| -> Result<i64, StoreError> {
        col(r, 0)
            .parse()
            .map_err(|_| StoreError::Corrupt("a row id is not a number".into()))
    };
    let key = |k: &str| {
        if k.starts_with("anon:") {
            k.to_string()
        } else {
            keys.identity_key(k)
        }
    };
    let mut n = 0;
    for (select, update) in [
        (sql::LEGACY_BOOKINGS, sql::LEGACY_SEAL_BOOKING),
        (sql::LEGACY_ENTRIES, sql::LEGACY_SEAL_ENTRY),
    ] {
        for r in tx.texts(select, &[]).await? {
            let (id, k, number, name, phone) =
                (id_of(&r)?, col(&r, 1), col(&r, 2), col(&r, 3), col(&r, 4));
            let s = applicant(keys, &number, &name, &phone);
            let k = key(&k);
            let mut args = vec![
                Arg::Int(id),
                Arg::Text(&k),
                Arg::Text(&s.id_number),
                Arg::Text(&s.name),
                Arg::Text(&s.phone),
            ];
            if update.pg == sql::LEGACY_SEAL_BOOKING.pg {
                args.push(Arg::Text(&s.phone_index));
            }
            n += tx.exec(update, &args).await?;
        }
    }
    for (select, update) in [
        (sql::LEGACY_TICKETS, sql::LEGACY_KEY_TICKET),
        (sql::LEGACY_APPLICATIONS, sql::LEGACY_KEY_APPLICATION),
    ] {
        for r in tx.texts(select, &[]).await? {
            let (id, k) = (id_of(&r)?, key(&col(&r, 1)));
            n += tx.exec(update, &[Arg::Int(id), Arg::Text(&k)]).await?;
        }
    }
    for r in tx.texts(sql::LEGACY_PERSONS, &[]).await? {
        let (number, name) = (col(&r, 0), col(&r, 1));
        let (k, sealed) = (registry_key(keys, &number), keys.seal(&name));
        n += tx
            .exec(
                sql::LEGACY_SEAL_PERSON,
                &[Arg::Text(&number), Arg::Text(&k), Arg::Text(&sealed)],
            )
            .await?;
    }
    for r in tx.texts(sql::LEGACY_DOCUMENTS, &[]).await? {
        let (id, k) = (id_of(&r)?, registry_key(keys, &col(&r, 1)));
        n += tx
            .exec(sql::LEGACY_KEY_DOCUMENT, &[Arg::Int(id), Arg::Text(&k)])
            .await?;
    }
    for r in tx.texts(sql::LEGACY_MESSAGES, &[]).await? {
        let (id, to, body) = (id_of(&r)?, col(&r, 1), col(&r, 2));
        let (sealed_to, index, sealed_body) =
            (keys.seal(&to), recipient_index(keys, &to), keys.seal(&body));
        n += tx
            .exec(
                sql::LEGACY_SEAL_MESSAGE,
                &[
                    Arg::Int(id),
                    Arg::Text(&sealed_to),
                    Arg::Text(&index),
                    Arg::Text(&sealed_body),
                ],
            )
            .await?;
    }
    tx.exec(sql::LEGACY_DONE, &[]).await?;
    if n > 0 {
        tracing::info!(rows = n, "sealed the personal data stored before sealing");
    }
    Ok(n)
}

/// Records which keys this database is sealed with (their check value), or refuses keys that
/// are not those: run at the end of every `migrate`, before anything is written with them.
pub(crate) async fn check_keys(tx: &mut impl AdminTx, keys: &Keys) -> Result<(), StoreError> {
    use crate::sql;
    let mine = keys.check_value();
    match tx.texts(sql::KEY_CHECK, &[]).await?.first() {
        None => {
            tx.exec(sql::KEY_CHECK_SET, &[Arg::Text(&mine)]).await?;
            Ok(())
        }
        Some(row) if row.first().cloned().flatten().as_deref() == Some(mine.as_str()) => Ok(()),
        Some(_) => Err(StoreError::Corrupt(
            "the key file does not match this database: it was sealed with other keys; \
             give this server the deployment's key file (docs/OPERATIONS.md, Keys)"
                .into(),
        )),
    }
}
