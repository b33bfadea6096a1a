//! The PostgreSQL side of [`crate::OrgStore`].

use super::staff;
use super::{corrupt, db_err, enum_parse, PgStore};
use crate::common::enum_str;
use crate::common::weekdays_text;
use crate::model::*;
use crate::rows;
use crate::sql;
use crate::OrgStore;
use crate::Result;
use async_trait::async_trait;
use chrono::NaiveDate;
use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;
use wujing_domain::{DayKind, DeclaredDay, Hours, Pool, SiteKind};

const HALL_SELECT: &str =
    "SELECT h.id, h.district_id, h.name_zh, h.name_en, h.address_zh, h.address_en, \
    h.weekdays, h.sessions, h.slot_minutes, h.serves_foreigners, \
    (SELECT COUNT(*) FROM windows w WHERE w.hall_id = h.id), h.kind, \
    (SELECT string_agg(o.business, ',' ORDER BY o.business) FROM site_businesses o WHERE o.hall_id = h.id), \
    h.latitude, h.longitude \
    FROM halls h";

async fn hall_rows(c: &impl GenericClient, rows: Vec<Row>) -> Result<Vec<Hall>> {
    let caps = c
        .query(
            &c.prepare_cached(
                "SELECT hall_id, pool, seats_per_slot FROM pool_capacity ORDER BY hall_id, pool",
            )
            .await?,
            &[],
        )
        .await
        .map_err(db_err)?;
    rows.into_iter()
        .map(|r| {
            let id: String = r.get(0);
            let weekdays: String = r.get(6);
            let sessions: String = r.get(7);
            let capacity = caps
                .iter()
                .filter(|c| c.get::<_, String>(0) == id)
                .map(|c| {
                    let p: String = c.get(1);
                    Ok((
                        Pool::parse(&p).ok_or_else(|| corrupt("pool", &p))?,
                        c.get::<_, i32>(2) as u32,
                    ))
                })
                .collect::<Result<Vec<_>>>()?;
            let mut capacity = capacity;
            capacity.sort();
            Ok(Hall {
                district_id: r.get(1),
                name_zh: r.get(2),
                name_en: r.get(3),
                address_zh: r.get(4),
                address_en: r.get(5),
                weekdays: weekdays
                    .split(',')
                    .filter_map(|d| d.trim().parse().ok())
                    .collect(),
                sessions: Hours::parse_sessions(&sessions)
                    .ok_or_else(|| corrupt("sessions", &sessions))?,
                slot_minutes: r.get::<_, i32>(8) as u32,
                serves_foreigners: r.get(9),
                window_count: r.get::<_, i64>(10) as u32,
                capacity,
                kind: {
                    let k: String = r.get(11);
                    SiteKind::parse(&k).ok_or_else(|| corrupt("site kind", &k))?
                },
                businesses: r
                    .get::<_, Option<String>>(12)
                    .map(|b| b.split(',').map(str::to_string).collect())
                    .unwrap_or_default(),
                location: r
                    .get::<_, Option<f64>>(13)
                    .zip(r.get::<_, Option<f64>>(14))
                    .and_then(|(lat, lon)| wujing_domain::GeoPoint::new(lat, lon)),
                id,
            })
        })
        .collect()
}

#[async_trait]
impl OrgStore for PgStore {
    async fn put_district(&self, d: &District) -> Result<()> {
        self.client()
            .await?
            .execute(sql::UPSERT_DISTRICT.pg, &[&d.id, &d.name_zh, &d.name_en])
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn put_hall(&self, h: &HallSetup) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        let x = &h.hall;
        let weekdays = weekdays_text(&x.weekdays);
        tx.execute(
            &tx.prepare_cached(sql::UPSERT_HALL.pg).await?,
            &[
                &x.id,
                &x.district_id,
                &x.name_zh,
                &x.name_en,
                &x.address_zh,
                &x.address_en,
                &weekdays,
                &Hours::format_sessions(&x.sessions),
                &(x.slot_minutes as i32),
                &x.serves_foreigners,
                &x.kind.as_str(),
                &x.location.map(|l| l.latitude()),
                &x.location.map(|l| l.longitude()),
            ],
        )
        .await
        .map_err(db_err)?;
        tx.execute(
            &tx.prepare_cached(sql::DELETE_SITE_BUSINESSES.pg).await?,
            &[&x.id],
        )
        .await
        .map_err(db_err)?;
        for b in &x.businesses {
            tx.execute(
                &tx.prepare_cached(sql::INSERT_SITE_BUSINESS.pg).await?,
                &[&x.id, b],
            )
            .await
            .map_err(db_err)?;
        }
        tx.execute(
            &tx.prepare_cached(sql::DELETE_WINDOWS_OF_HALL.pg).await?,
            &[&x.id],
        )
        .await
        .map_err(db_err)?;
        for w in &h.windows {
            tx.execute(
                &tx.prepare_cached(sql::INSERT_WINDOW.pg).await?,
                &[&x.id, &(w.number as i32), &w.kind],
            )
            .await
            .map_err(db_err)?;
        }
        for (pool, seats) in &x.capacity {
            tx.execute(
                &tx.prepare_cached(sql::UPSERT_POOL_CAPACITY.pg).await?,
                &[&x.id, &pool.as_str(), &(*seats as i32)],
            )
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn districts(&self) -> Result<Vec<District>> {
        Ok(self
            .client()
            .await?
            .query(sql::DISTRICTS.pg, &[])
            .await
            .map_err(db_err)?
            .iter()
            .map(|r| District {
                id: r.get(0),
                name_zh: r.get(1),
                name_en: r.get(2),
            })
            .collect())
    }

    async fn halls(&self) -> Result<Vec<Hall>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &c.prepare_cached(&format!("{HALL_SELECT} ORDER BY h.id"))
                    .await?,
                &[],
            )
            .await
            .map_err(db_err)?;
        hall_rows(&c, rows).await
    }

    async fn hall(&self, id: &str) -> Result<Option<Hall>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &c.prepare_cached(&format!("{HALL_SELECT} WHERE h.id = $1"))
                    .await?,
                &[&id],
            )
            .await
            .map_err(db_err)?;
        Ok(hall_rows(&c, rows).await?.pop())
    }

    async fn put_calendar_days(&self, days: &[DeclaredDay]) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        for d in days {
            tx.execute(
                &tx.prepare_cached(sql::UPSERT_CALENDAR_DAY.pg).await?,
                &[&d.date, &enum_str(&d.kind), &d.name],
            )
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn calendar_days(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<DeclaredDay>> {
        self.client()
            .await?
            .query(sql::CALENDAR_DAYS.pg, &[&from, &to])
            .await
            .map_err(db_err)?
            .into_iter()
            .map(|r| {
                Ok(DeclaredDay {
                    date: r.get(0),
                    kind: enum_parse::<DayKind>("kind", r.get(1))?,
                    name: r.get(2),
                })
            })
            .collect()
    }

    async fn ensure_slots(&self, slots: &[NewSlot]) -> Result<u64> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db_err)?;
        let st = tx
            .prepare(sql::INSERT_SLOT_IF_NEW.pg)
            .await
            .map_err(db_err)?;
        let mut n = 0;
        for s in slots {
            n += tx
                .execute(
                    &st,
                    &[
                        &s.hall_id,
                        &s.day,
                        &s.start.format("%H:%M").to_string(),
                        &s.pool.as_str(),
                        &s.starts_at,
                        &(s.capacity as i32),
                    ],
                )
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(n)
    }

    async fn slots(&self, q: &SlotQuery) -> Result<Vec<Slot>> {
        let mut sql = sql::SLOTS_WHERE.pg.to_string();
        let mut args: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
        let mut arg = |sql: &mut String, clause: &str, v: Box<dyn ToSql + Sync + Send>| {
            args.push(v);
            sql.push_str(&clause.replace('?', &format!("${}", args.len())));
        };
        if let Some(ids) = &q.hall_ids {
            arg(&mut sql, " AND s.hall_id = ANY(?)", Box::new(ids.clone()));
        }
        if let Some(d) = q.from {
            arg(&mut sql, " AND s.day >= ?", Box::new(d));
        }
        if let Some(d) = q.to {
            arg(&mut sql, " AND s.day <= ?", Box::new(d));
        }
        if let Some(t) = q.start {
            arg(
                &mut sql,
                " AND s.start_time = ?",
                Box::new(t.format("%H:%M").to_string()),
            );
        }
        if let Some(p) = q.pool {
            arg(
                &mut sql,
                " AND s.pool = ?",
                Box::new(p.as_str().to_string()),
            );
        }
        if let Some(t) = q.starts_after {
            arg(&mut sql, " AND s.starts_at > ?", Box::new(t));
        }
        if q.only_free {
            sql.push_str(" AND s.taken < s.capacity");
        }
        sql.push_str(" ORDER BY s.day, s.start_time, s.hall_id, s.pool");
        if let Some(l) = q.limit {
            sql.push_str(&format!(" LIMIT {l}"));
        }
        let refs: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| &**a as _).collect();
        self.client()
            .await?
            .query(&sql, &refs)
            .await
            .map_err(db_err)?
            .iter()
            .map(|r| rows::slot(r, 0))
            .collect()
    }

    async fn slot(&self, id: i64) -> Result<Option<Slot>> {
        let c = self.client().await?;
        let st = c.prepare_cached(sql::SLOT_BY_ID.pg).await?;
        c.query_opt(&st, &[&id])
            .await?
            .map(|r| rows::slot(&r, 0))
            .transpose()
    }

    async fn windows(&self, hall_id: &str) -> Result<Vec<Window>> {
        let c = self.client().await?;
        staff::windows(&c, hall_id).await
    }

    async fn hall_closures(
        &self,
        hall_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<NaiveDate>> {
        let c = self.client().await?;
        staff::closures(&c, hall_id, from, to).await
    }
}
