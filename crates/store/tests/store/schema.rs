//! Schema parity between the two migration sets, and a database from a newer build.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

#[derive(Debug, Default, PartialEq, Eq)]
struct Schema {
    columns: BTreeSet<(String, String, bool)>,
    primary_keys: BTreeSet<(String, Vec<String>)>,
    uniques: BTreeSet<(String, Vec<String>, bool)>,
    foreign_keys: BTreeSet<(String, Vec<String>, String, Vec<String>)>,
}

fn sqlite_schema(path: &std::path::Path) -> Schema {
    let c = rusqlite::Connection::open(path).unwrap();
    let mut s = Schema::default();
    let tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    for t in &tables {
        let mut pk: Vec<(i64, String)> = Vec::new();
        let mut st = c.prepare(&format!("PRAGMA table_info({t})")).unwrap();
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(1)?,
                    r.get::<_, bool>(3)?,
                    r.get::<_, i64>(5)?,
                ))
            })
            .unwrap();
        for row in rows {
            let (name, notnull, pkpos) = row.unwrap();
            // SQLite lets PRIMARY KEY columns be NULL unless declared otherwise; PostgreSQL never does.
            s.columns
                .insert((t.clone(), name.clone(), notnull || pkpos > 0));
            if pkpos > 0 {
                pk.push((pkpos, name));
            }
        }
        pk.sort();
        s.primary_keys
            .insert((t.clone(), pk.into_iter().map(|p| p.1).collect()));
        let mut st = c.prepare(&format!("PRAGMA index_list({t})")).unwrap();
        let idx: Vec<(String, bool, String, bool)> = st
            .query_map([], |r| Ok((r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        for (name, unique, origin, partial) in idx {
            if !unique || origin == "pk" {
                continue;
            }
            let cols: Vec<String> = c
                .prepare(&format!("PRAGMA index_info({name})"))
                .unwrap()
                .query_map([], |r| r.get(2))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            s.uniques.insert((t.clone(), cols, partial));
        }
        let mut st = c.prepare(&format!("PRAGMA foreign_key_list({t})")).unwrap();
        let fks: Vec<(i64, String, String, String)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let mut grouped: BTreeMap<i64, (String, Vec<String>, Vec<String>)> = BTreeMap::new();
        for (id, table, from, to) in fks {
            let e = grouped.entry(id).or_insert((table, vec![], vec![]));
            e.1.push(from);
            e.2.push(to);
        }
        for (_, (table, from, to)) in grouped {
            s.foreign_keys.insert((t.clone(), from, table, to));
        }
    }
    s
}

async fn pg_schema(url: &str) -> Schema {
    let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut s = Schema::default();
    for r in c
        .query(
            "SELECT table_name::text, column_name::text, is_nullable = 'NO' FROM information_schema.columns
             WHERE table_schema = 'public'",
            &[],
        )
        .await
        .unwrap()
    {
        s.columns.insert((r.get(0), r.get(1), r.get(2)));
    }
    let idx = c
        .query(
            "SELECT t.relname::text, i.indisprimary, i.indisunique, i.indpred IS NOT NULL,
                    array(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY k(n, o)
                          JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.n ORDER BY k.o)
             FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
             JOIN pg_namespace ns ON ns.oid = t.relnamespace WHERE ns.nspname = 'public'",
            &[],
        )
        .await
        .unwrap();
    for r in idx {
        let (t, primary, unique, partial, cols): (String, bool, bool, bool, Vec<String>) =
            (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
        if primary {
            s.primary_keys.insert((t, cols));
        } else if unique {
            s.uniques.insert((t, cols, partial));
        }
    }
    let fks = c
        .query(
            "SELECT src.relname::text, dst.relname::text,
                    array(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, o)
                          JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o),
                    array(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, o)
                          JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.o)
             FROM pg_constraint con JOIN pg_class src ON src.oid = con.conrelid
             JOIN pg_class dst ON dst.oid = con.confrelid
             JOIN pg_namespace ns ON ns.oid = src.relnamespace
             WHERE con.contype = 'f' AND ns.nspname = 'public'",
            &[],
        )
        .await
        .unwrap();
    for r in fks {
        s.foreign_keys
            .insert((r.get(0), r.get(2), r.get(1), r.get(3)));
    }
    s
}

#[tokio::test]
async fn both_migration_sets_produce_the_same_schema_on_postgres() {
    let (store, guard) = wujing_testkit::sqlite_store().await;
    drop(store);
    let lite = sqlite_schema(&guard.path);
    assert!(lite.columns.len() > 50, "the SQLite schema was read");
    assert!(lite.uniques.contains(&(
        "bookings".to_string(),
        vec!["identity_key".to_string(), "business".to_string()],
        true
    )));
    let Some(url) = wujing_testkit::fresh_pg_database().await else {
        return;
    };
    let pg = wujing_testkit::open(&url).await.unwrap();
    pg.migrate().await.unwrap();
    let mut pg = pg_schema(&url).await;
    // The one intended difference: SQLite keeps rate-limit counters in an in-memory database
    // attached to its writer (one app server per file); PostgreSQL shares them in a table.
    assert!(pg.columns.iter().any(|c| c.0 == "rate_limits"));
    pg.columns.retain(|c| c.0 != "rate_limits");
    pg.primary_keys.retain(|c| c.0 != "rate_limits");
    let diff = |a: &Schema, b: &Schema| {
        format!(
            "columns: {:?}\nprimary keys: {:?}\nuniques: {:?}\nforeign keys: {:?}",
            a.columns.difference(&b.columns).collect::<Vec<_>>(),
            a.primary_keys
                .difference(&b.primary_keys)
                .collect::<Vec<_>>(),
            a.uniques.difference(&b.uniques).collect::<Vec<_>>(),
            a.foreign_keys
                .difference(&b.foreign_keys)
                .collect::<Vec<_>>(),
        )
    };
    assert!(
        lite == pg,
        "only in SQLite:\n{}\nonly in PostgreSQL:\n{}",
        diff(&lite, &pg),
        diff(&pg, &lite)
    );
}

#[tokio::test]
async fn a_database_from_a_newer_build_is_reported() {
    let (store, guard) = wujing_testkit::sqlite_store().await;
    let c = rusqlite::Connection::open(&guard.path).unwrap();
    c.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)",
        [],
    )
    .unwrap();
    let st = store.migration_status().await.unwrap();
    assert_eq!(st.unknown(), vec![999]);
    assert!(!st.is_current());
    let _ = Arc::clone(&store);
}
