//! The SQLite side of [`crate::OrgStore`].

use super::staff;
use super::{all, conv_err, date_s, db_err, get_date, get_enum, ms, SqliteStore};
use crate::common::enum_str;
use crate::common::weekdays_text;
use crate::model::*;
use crate::rows;
use crate::sql;
use crate::OrgStore;
use crate::Result;
use async_trait::async_trait;
use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension, Row};
use wujing_domain::{DayKind, DeclaredDay, Hours, Pool, SiteKind};

fn hall_from_row(c: &Connection, r: &Row) -> rusqlite::Result<Hall> {
    let id: String = r.get(0)?;
    let weekdays: String = r.get(6)?;
    let sessions: String = r.get(7)?;
    let mut cap = c.prepare_cached(
        "SELECT pool, seats_per_slot FROM pool_capacity WHERE hall_id = ?1 ORDER BY pool",
    )?;
    let mut capacity = cap
        .query_map([&id], |r| Ok((get_enum(r, 0, Pool::parse)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    capacity.sort();
    let window_count: u32 = c.query_row(
        "SELECT COUNT(*) FROM windows WHERE hall_id = ?1",
        [&id],
        |r| r.get(0),
    )?;
    Ok(Hall {
        district_id: r.get(1)?,
        name_zh: r.get(2)?,
        name_en: r.get(3)?,
        address_zh: r.get(4)?,
        address_en: r.get(5)?,
        weekdays: weekdays
            .split(',')
            .filter_map(|d| d.trim().parse().ok())
            .collect(),
        sessions: Hours::parse_sessions(&sessions).ok_or_else(|| conv_err(7, sessions))?,
        slot_minutes: r.get(8)?,
        serves_foreigners: r.get(9)?,
        window_count,
        capacity,
        kind: get_enum(r, 10, SiteKind::parse)?,
        businesses: r
            .get::<_, Option<String>>(11)?
            .map(|b| b.split(',').map(str::to_string).collect())
            .unwrap_or_default(),
        location: location(r.get(12)?, r.get(13)?),
        id,
    })
}

const HALL_SELECT: &str = "SELECT id, district_id, name_zh, name_en, address_zh, address_en, weekdays, sessions, slot_minutes, serves_foreigners, kind, \
    (SELECT group_concat(business, ',') FROM (SELECT business FROM site_businesses o WHERE o.hall_id = halls.id ORDER BY business)), \
    latitude, longitude \
    FROM halls";

/// A site's stored coordinates (the database keeps them whole and in range).
fn location(latitude: Option<f64>, longitude: Option<f64>) -> Option<wujing_domain::GeoPoint> {
    wujing_domain::GeoPoint::new(latitude?, longitude?)
}

#[async_trait]
impl OrgStore for SqliteStore {
    async fn put_district(&self, d: &District) -> Result<()> {
        let d = d.clone();
        self.write(move |c| {
            c.execute(
                sql::UPSERT_DISTRICT.lite,
                params![d.id, d.name_zh, d.name_en],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn put_hall(&self, h: &HallSetup) -> Result<()> {
        let h = h.clone();
        self.write(move |c| {
            let x = &h.hall;
            let weekdays = weekdays_text(&x.weekdays);
            c.execute(
                sql::UPSERT_HALL.lite,
                params![
                    x.id,
                    x.district_id,
                    x.name_zh,
                    x.name_en,
                    x.address_zh,
                    x.address_en,
                    weekdays,
                    Hours::format_sessions(&x.sessions),
                    x.slot_minutes,
                    x.serves_foreigners,
                    x.kind.as_str(),
                    x.location.map(|l| l.latitude()),
                    x.location.map(|l| l.longitude())
                ],
            )
            .map_err(db_err)?;
            c.execute(sql::DELETE_SITE_BUSINESSES.lite, [&x.id])
                .map_err(db_err)?;
            for b in &x.businesses {
                c.execute(sql::INSERT_SITE_BUSINESS.lite, params![x.id, b])
                    .map_err(db_err)?;
            }
            c.execute(sql::DELETE_WINDOWS_OF_HALL.lite, [&x.id])
                .map_err(db_err)?;
            for w in &h.windows {
                c.execute(sql::INSERT_WINDOW.lite, params![x.id, w.number, w.kind])
                    .map_err(db_err)?;
            }
            for (pool, seats) in &x.capacity {
                c.execute(
                    sql::UPSERT_POOL_CAPACITY.lite,
                    params![x.id, pool.as_str(), seats],
                )
                .map_err(db_err)?;
            }
            Ok(())
        })
        .await
    }

    async fn districts(&self) -> Result<Vec<District>> {
        self.read(|c| {
            all(c, sql::DISTRICTS.lite, [], |r| {
                Ok(District {
                    id: r.get(0)?,
                    name_zh: r.get(1)?,
                    name_en: r.get(2)?,
                })
            })
        })
        .await
    }

    async fn halls(&self) -> Result<Vec<Hall>> {
        self.read(|c| {
            let mut st = c
                .prepare(&format!("{HALL_SELECT} ORDER BY id"))
                .map_err(db_err)?;
            let rows = st
                .query_map([], |r| hall_from_row(c, r))
                .map_err(db_err)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(db_err);
            rows
        })
        .await
    }

    async fn hall(&self, id: &str) -> Result<Option<Hall>> {
        let id = id.to_string();
        self.lookup(move |c| {
            c.query_row(&format!("{HALL_SELECT} WHERE id = ?1"), [&id], |r| {
                hall_from_row(c, r)
            })
            .optional()
            .map_err(db_err)
        })
        .await
    }

    async fn put_calendar_days(&self, days: &[DeclaredDay]) -> Result<()> {
        let days = days.to_vec();
        self.write(move |c| {
            for d in &days {
                c.execute(
                    sql::UPSERT_CALENDAR_DAY.lite,
                    params![date_s(d.date), enum_str(&d.kind), d.name],
                )
                .map_err(db_err)?;
            }
            Ok(())
        })
        .await
    }

    async fn calendar_days(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<DeclaredDay>> {
        self.read(move |c| {
            let mut st = c.prepare(sql::CALENDAR_DAYS.lite).map_err(db_err)?;
            let rows = st
                .query_map(params![date_s(from), date_s(to)], |r| {
                    Ok(DeclaredDay {
                        date: get_date(r, 0)?,
                        kind: get_enum(r, 1, |s| match s {
                            "holiday" => Some(DayKind::Holiday),
                            "workday" => Some(DayKind::Workday),
                            _ => None,
                        })?,
                        name: r.get(2)?,
                    })
                })
                .map_err(db_err)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(db_err);
            rows
        })
        .await
    }

    async fn ensure_slots(&self, slots: &[NewSlot]) -> Result<u64> {
        let slots = slots.to_vec();
        self.write(move |c| {
            let mut st = c
                .prepare_cached(sql::INSERT_SLOT_IF_NEW.lite)
                .map_err(db_err)?;
            let mut n = 0;
            for s in &slots {
                n += st
                    .execute(params![
                        s.hall_id,
                        date_s(s.day),
                        s.start.format("%H:%M").to_string(),
                        s.pool.as_str(),
                        ms(s.starts_at),
                        s.capacity
                    ])
                    .map_err(db_err)? as u64;
            }
            Ok(n)
        })
        .await
    }

    async fn slots(&self, q: &SlotQuery) -> Result<Vec<Slot>> {
        let q = q.clone();
        self.read(move |c| {
            let mut sql = sql::SLOTS_WHERE.lite.to_string();
            let mut args: Vec<rusqlite::types::Value> = Vec::new();
            let mut arg = |sql: &mut String, clause: &str, v: rusqlite::types::Value| {
                args.push(v);
                sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
            };
            if let Some(ids) = &q.hall_ids {
                sql.push_str(" AND s.hall_id IN (");
                for (i, id) in ids.iter().enumerate() {
                    if i > 0 {
                        sql.push(',');
                    }
                    arg(&mut sql, "?", id.clone().into());
                }
                if ids.is_empty() {
                    sql.push_str("NULL");
                }
                sql.push(')');
            }
            if let Some(d) = q.from {
                arg(&mut sql, " AND s.day >= ?", date_s(d).into());
            }
            if let Some(d) = q.to {
                arg(&mut sql, " AND s.day <= ?", date_s(d).into());
            }
            if let Some(t) = q.start {
                arg(
                    &mut sql,
                    " AND s.start_time = ?",
                    t.format("%H:%M").to_string().into(),
                );
            }
            if let Some(p) = q.pool {
                arg(&mut sql, " AND s.pool = ?", p.as_str().to_string().into());
            }
            if let Some(t) = q.starts_after {
                arg(&mut sql, " AND s.starts_at > ?", ms(t).into());
            }
            if q.only_free {
                sql.push_str(" AND s.taken < s.capacity");
            }
            sql.push_str(" ORDER BY s.day, s.start_time, s.hall_id, s.pool");
            if let Some(l) = q.limit {
                sql.push_str(&format!(" LIMIT {l}"));
            }
            let mut st = c.prepare_cached(&sql).map_err(db_err)?;
            let rows = st
                .query_map(rusqlite::params_from_iter(args), |r| rows::slot(r, 0))
                .map_err(db_err)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(db_err);
            rows
        })
        .await
    }

    async fn slot(&self, id: i64) -> Result<Option<Slot>> {
        self.lookup(move |c| {
            c.prepare_cached(sql::SLOT_BY_ID.lite)
                .map_err(db_err)?
                .query_row([id], |r| rows::slot(r, 0))
                .optional()
                .map_err(db_err)
        })
        .await
    }

    async fn windows(&self, hall_id: &str) -> Result<Vec<Window>> {
        let h = hall_id.to_string();
        self.read(move |c| staff::windows(c, &h)).await
    }

    async fn hall_closures(
        &self,
        hall_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<NaiveDate>> {
        let h = hall_id.to_string();
        self.read(move |c| staff::closures(c, &h, from, to)).await
    }
}
