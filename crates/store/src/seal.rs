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
