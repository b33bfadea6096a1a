//! The PostgreSQL side of [`crate::RegistryStore`].

use super::{corrupt, db_err, enum_parse, PgStore};
use crate::common::enum_str;
use crate::seal;
use crate::sql;
use crate::RegistryStore;
use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;
use wujing_domain::eligibility::{DocumentStatus, PersonStatus};
use wujing_domain::{DocumentKind, DocumentRecord, PersonRecord};

fn person_row(r: &Row) -> Result<PersonRecord> {
    Ok(PersonRecord {
        id_number: r.get(0),
        name: r.get(1),
        hukou_city: r.get(2),
        residence_permit_city: r.get(3),
        residence_permit_expires: r.get(4),
        status: enum_parse::<PersonStatus>("status", r.get(5))?,
        state_functionary: r.get(6),
        fingerprints_on_file: r.get(7),
        military: r.get(8),
        phone: r.get(9),
    })
}

fn document_row(r: &Row) -> Result<DocumentRecord> {
    let kind: String = r.get(1);
    Ok(DocumentRecord {
        id_number: r.get(0),
        kind: DocumentKind::parse(&kind).ok_or_else(|| corrupt("kind", &kind))?,
        number: r.get(2),
        issued_on: r.get(3),
        expires_on: r.get(4),
        status: enum_parse::<DocumentStatus>("status", r.get(5))?,
    })
}

#[async_trait]
impl RegistryStore for PgStore {
    async fn upsert_persons(&self, p: &[PersonRecord], now: DateTime<Utc>) -> Result<u64> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        for x in p {
            let x = &seal::person(&self.keys, x);
            tx.execute(
                &tx.prepare_cached(sql::UPSERT_PERSON.pg).await?,
                &[
                    &x.id_number,
                    &x.name,
                    &x.hukou_city,
                    &x.residence_permit_city,
                    &x.residence_permit_expires,
                    &enum_str(&x.status),
                    &x.state_functionary,
                    &now,
                    &x.fingerprints_on_file,
                    &x.military,
                    &x.phone,
                ],
            )
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(p.len() as u64)
    }

    async fn upsert_documents(&self, d: &[DocumentRecord], now: DateTime<Utc>) -> Result<u64> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        for x in d {
            let x = &seal::document(&self.keys, x);
            tx.execute(
                &tx.prepare_cached(sql::UPSERT_DOCUMENT.pg).await?,
                &[
                    &x.id_number,
                    &x.kind.as_str(),
                    &x.number,
                    &x.issued_on,
                    &x.expires_on,
                    &enum_str(&x.status),
                    &now,
                ],
            )
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(d.len() as u64)
    }

    async fn facts(&self, id_number: &str) -> Result<(Option<PersonRecord>, Vec<DocumentRecord>)> {
        let c = self.client().await?;
        let p = c.prepare_cached(sql::PERSON_BY_ID.pg).await?;
        let d = c.prepare_cached(sql::DOCUMENTS_OF.pg).await?;
        // Polled together, the two queries are pipelined on the connection: one round trip.
        let key = seal::registry_key(&self.keys, id_number);
        let params: [&(dyn ToSql + Sync); 1] = [&key];
        let (person, docs) = tokio::join!(c.query_opt(&p, &params), c.query(&d, &params));
        let person = person?.map(|r| person_row(&r)).transpose()?;
        let docs = docs?.iter().map(document_row).collect::<Result<Vec<_>>>()?;
        seal::open_facts(&self.keys, person, docs, id_number)
    }

    async fn person(&self, id_number: &str) -> Result<Option<PersonRecord>> {
        Ok(self.facts(id_number).await?.0)
    }

    async fn documents_of(&self, id_number: &str) -> Result<Vec<DocumentRecord>> {
        Ok(self.facts(id_number).await?.1)
    }
}
