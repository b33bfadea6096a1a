//! The SQLite side of [`crate::RegistryStore`].

use super::{date_s, db_err, enum_str, get_date, get_enum, ms, SqliteStore};
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
    })
}

fn person_by_id(c: &Connection, id: &str) -> Result<Option<PersonRecord>> {
    c.prepare_cached(
        "SELECT id_number, name, hukou_city, residence_permit_city, residence_permit_expires, status, state_functionary
         FROM persons WHERE id_number = ?1",
    )
    .map_err(db_err)?
    .query_row([id], person_row)
    .optional()
    .map_err(db_err)
}

fn documents_by_holder(c: &Connection, id: &str) -> Result<Vec<DocumentRecord>> {
    let mut st = c
        .prepare_cached(
            "SELECT id_number, kind, number, issued_on, expires_on, status FROM documents
             WHERE id_number = ?1 ORDER BY issued_on",
        )
        .map_err(db_err)?;
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
        let p = p.to_vec();
        self.write(move |c| {
            let mut st = c
                .prepare_cached(
                    "INSERT INTO persons (id_number, name, hukou_city, residence_permit_city, residence_permit_expires,
                       status, state_functionary, imported_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (id_number) DO UPDATE SET name = excluded.name, hukou_city = excluded.hukou_city,
                       residence_permit_city = excluded.residence_permit_city,
                       residence_permit_expires = excluded.residence_permit_expires, status = excluded.status,
                       state_functionary = excluded.state_functionary, imported_at = excluded.imported_at",
                )
                .map_err(db_err)?;
            for x in &p {
                st.execute(params![
                    x.id_number,
                    x.name,
                    x.hukou_city,
                    x.residence_permit_city,
                    x.residence_permit_expires.map(date_s),
                    enum_str(&x.status),
                    x.state_functionary,
                    ms(now)
                ])
                .map_err(db_err)?;
            }
            Ok(p.len() as u64)
        })
        .await
    }

    async fn upsert_documents(&self, d: &[DocumentRecord], now: DateTime<Utc>) -> Result<u64> {
        let d = d.to_vec();
        self.write(move |c| {
            let mut st = c
                .prepare_cached(
                    "INSERT INTO documents (id_number, kind, number, issued_on, expires_on, status, imported_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (kind, number) DO UPDATE SET id_number = excluded.id_number,
                       issued_on = excluded.issued_on, expires_on = excluded.expires_on,
                       status = excluded.status, imported_at = excluded.imported_at",
                )
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
        let id = id_number.to_string();
        self.lookup(move |c| person_by_id(c, &id)).await
    }

    async fn documents_of(&self, id_number: &str) -> Result<Vec<DocumentRecord>> {
        let id = id_number.to_string();
        self.lookup(move |c| documents_by_holder(c, &id)).await
    }

    async fn facts(&self, id_number: &str) -> Result<(Option<PersonRecord>, Vec<DocumentRecord>)> {
        let id = id_number.to_string();
        self.lookup(move |c| Ok((person_by_id(c, &id)?, documents_by_holder(c, &id)?)))
            .await
    }
}
