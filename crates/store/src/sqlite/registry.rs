//! The SQLite side of [`crate::RegistryStore`].

use super::{date_s, db_err, get_date, get_enum, ms, SqliteStore};
use crate::common::enum_str;
use crate::seal;
use crate::sql;
use crate::RegistryStore;
use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use wujing_domain::{DocumentKind, DocumentRecord, PersonRecord};

fn person_row(r: &Row) -> rusqlite::Result<PersonRecord> {
    Ok(PersonRecord {
        id_number: r.get(0)?,
        name: r.get(1)?,
        hukou_city: r.get(2)?,
        residence_permit_city: r.get(3)?,
        residence_permit_expires: match r.get::<_, Option<String>>(4)? {
            None => None,
            Some(_) => Some(get_date(r, 4)?),
        },
        status: get_enum(r, 5, |s| serde_json::from_value(s.into()).ok())?,
        state_functionary: r.get(6)?,
        fingerprints_on_file: r.get(7)?,
        military: r.get(8)?,
        phone: r.get(9)?,
    })
}

fn person_by_id(c: &Connection, id: &str) -> Result<Option<PersonRecord>> {
    c.prepare_cached(sql::PERSON_BY_ID.lite)
        .map_err(db_err)?
        .query_row([id], person_row)
        .optional()
        .map_err(db_err)
}

fn documents_by_holder(c: &Connection, id: &str) -> Result<Vec<DocumentRecord>> {
    let mut st = c.prepare_cached(sql::DOCUMENTS_OF.lite).map_err(db_err)?;
    let rows = st
        .query_map([id], |r| {
            Ok(DocumentRecord {
                id_number: r.get(0)?,
                kind: get_enum(r, 1, DocumentKind::parse)?,
                number: r.get(2)?,
                issued_on: get_date(r, 3)?,
                expires_on: get_date(r, 4)?,
                status: get_enum(r, 5, |s| serde_json::from_value(s.into()).ok())?,
            })
        })
        .map_err(db_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err);
    rows
}

#[async_trait]
impl RegistryStore for SqliteStore {
    async fn upsert_persons(&self, p: &[PersonRecord], now: DateTime<Utc>) -> Result<u64> {
        let p: Vec<PersonRecord> = p.iter().map(|x| seal::person(&self.keys, x)).collect();
        self.write(move |c| {
            let mut st = c.prepare_cached(sql::UPSERT_PERSON.lite).map_err(db_err)?;
            for x in &p {
                st.execute(params![
                    x.id_number,
                    x.name,
                    x.hukou_city,
                    x.residence_permit_city,
                    x.residence_permit_expires.map(date_s),
                    enum_str(&x.status),
                    x.state_functionary,
                    ms(now),
                    x.fingerprints_on_file,
                    x.military,
                    x.phone
                ])
                .map_err(db_err)?;
            }
            Ok(p.len() as u64)
        })
        .await
    }

    async fn upsert_documents(&self, d: &[DocumentRecord], now: DateTime<Utc>) -> Result<u64> {
        let d: Vec<DocumentRecord> = d.iter().map(|x| seal::document(&self.keys, x)).collect();
        self.write(move |c| {
            let mut st = c
                .prepare_cached(sql::UPSERT_DOCUMENT.lite)
                .map_err(db_err)?;
            for x in &d {
                st.execute(params![
                    x.id_number,
                    x.kind.as_str(),
                    x.number,
                    date_s(x.issued_on),
                    date_s(x.expires_on),
                    enum_str(&x.status),
                    ms(now)
                ])
                .map_err(db_err)?;
            }
            Ok(d.len() as u64)
        })
        .await
    }

    async fn person(&self, id_number: &str) -> Result<Option<PersonRecord>> {
        Ok(self.facts(id_number).await?.0)
    }

    async fn documents_of(&self, id_number: &str) -> Result<Vec<DocumentRecord>> {
        Ok(self.facts(id_number).await?.1)
    }

    async fn facts(&self, id_number: &str) -> Result<(Option<PersonRecord>, Vec<DocumentRecord>)> {
        let key = seal::registry_key(&self.keys, id_number);
        let (p, d) = self
            .lookup(move |c| Ok((person_by_id(c, &key)?, documents_by_holder(c, &key)?)))
            .await?;
        seal::open_facts(&self.keys, p, d, id_number)
    }
}
