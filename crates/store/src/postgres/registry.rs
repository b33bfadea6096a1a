//! The PostgreSQL side of [`crate::RegistryStore`].

use super::{corrupt, db_err, enum_parse, enum_str, PgStore};
use crate::RegistryStore;
use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;
use wujing_domain::eligibility::{DocumentStatus, PersonStatus};
use wujing_domain::{DocumentKind, DocumentRecord, PersonRecord};

const PERSON_SQL: &str = "SELECT id_number, name, hukou_city, residence_permit_city, \
    residence_permit_expires, status, state_functionary FROM persons WHERE id_number = $1";

const DOCUMENTS_SQL: &str = "SELECT id_number, kind, number, issued_on, expires_on, status \
    FROM documents WHERE id_number = $1 ORDER BY issued_on";

fn person_row(r: &Row) -> Result<PersonRecord> {
    Ok(PersonRecord {
        id_number: r.get(0),
        name: r.get(1),
        hukou_city: r.get(2),
        residence_permit_city: r.get(3),
        residence_permit_expires: r.get(4),
        status: enum_parse::<PersonStatus>("status", r.get(5))?,
        state_functionary: r.get(6),
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
            tx.execute(
                &tx.prepare_cached("INSERT INTO persons (id_number, name, hukou_city, residence_permit_city, residence_permit_expires,
                   status, state_functionary, imported_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (id_number) DO UPDATE SET name = excluded.name, hukou_city = excluded.hukou_city,
                   residence_permit_city = excluded.residence_permit_city,
                   residence_permit_expires = excluded.residence_permit_expires, status = excluded.status,
                   state_functionary = excluded.state_functionary, imported_at = excluded.imported_at").await?,
                &[&x.id_number, &x.name, &x.hukou_city, &x.residence_permit_city, &x.residence_permit_expires,
                  &enum_str(&x.status), &x.state_functionary, &now],
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
            tx.execute(
                &tx.prepare_cached("INSERT INTO documents (id_number, kind, number, issued_on, expires_on, status, imported_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (kind, number) DO UPDATE SET id_number = excluded.id_number,
                   issued_on = excluded.issued_on, expires_on = excluded.expires_on,
                   status = excluded.status, imported_at = excluded.imported_at").await?,
                &[&x.id_number, &x.kind.as_str(), &x.number, &x.issued_on, &x.expires_on,
                  &enum_str(&x.status), &now],
            )
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(d.len() as u64)
    }

    async fn facts(&self, id_number: &str) -> Result<(Option<PersonRecord>, Vec<DocumentRecord>)> {
        let c = self.client().await?;
        let p = c.prepare_cached(PERSON_SQL).await?;
        let d = c.prepare_cached(DOCUMENTS_SQL).await?;
        // Polled together, the two queries are pipelined on the connection: one round trip.
        let params: [&(dyn ToSql + Sync); 1] = [&id_number];
        let (person, docs) = tokio::join!(c.query_opt(&p, &params), c.query(&d, &params));
        let person = person?.map(|r| person_row(&r)).transpose()?;
        let docs = docs?.iter().map(document_row).collect::<Result<Vec<_>>>()?;
        Ok((person, docs))
    }

    async fn person(&self, id_number: &str) -> Result<Option<PersonRecord>> {
        self.client()
            .await?
            .query_opt(PERSON_SQL, &[&id_number])
            .await
            .map_err(db_err)?
            .map(|r| person_row(&r))
            .transpose()
    }

    async fn documents_of(&self, id_number: &str) -> Result<Vec<DocumentRecord>> {
        self.client()
            .await?
            .query(DOCUMENTS_SQL, &[&id_number])
            .await
            .map_err(db_err)?
            .iter()
            .map(document_row)
            .collect()
    }
}
