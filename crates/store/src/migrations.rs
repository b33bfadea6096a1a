//! Per-dialect migrations, embedded in the binary.
//!
//! Each dialect has its own SQL files with the same version numbers; a migration is applied in
//! one transaction together with its row in `schema_migrations`, so a crash never leaves a
//! half-applied version behind.

use serde::Serialize;

#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub(crate) const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/sqlite/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "seat_returns_by_slot",
        sql: include_str!("../migrations/sqlite/0002_seat_returns_by_slot.sql"),
    },
    Migration {
        version: 3,
        name: "fairness",
        sql: include_str!("../migrations/sqlite/0003_fairness.sql"),
    },
    Migration {
        version: 4,
        name: "lottery",
        sql: include_str!("../migrations/sqlite/0004_lottery.sql"),
    },
    Migration {
        version: 5,
        name: "pair_scan",
        sql: include_str!("../migrations/sqlite/0005_pair_scan.sql"),
    },
    Migration {
        version: 6,
        name: "lean_indexes",
        sql: include_str!("../migrations/sqlite/0006_lean_indexes.sql"),
    },
    Migration {
        version: 7,
        name: "counters_in_memory",
        sql: include_str!("../migrations/sqlite/0007_counters_in_memory.sql"),
    },
    Migration {
        version: 8,
        name: "no_booking_slot_index",
        sql: include_str!("../migrations/sqlite/0008_no_booking_slot_index.sql"),
    },
    Migration {
        version: 9,
        name: "staff_audit",
        sql: include_str!("../migrations/sqlite/0009_staff_audit.sql"),
    },
    Migration {
        version: 10,
        name: "outbox",
        sql: include_str!("../migrations/sqlite/0010_outbox.sql"),
    },
    Migration {
        version: 11,
        name: "phone_codes",
        sql: include_str!("../migrations/sqlite/0011_phone_codes.sql"),
    },
    Migration {
        version: 12,
        name: "tickets",
        sql: include_str!("../migrations/sqlite/0012_tickets.sql"),
    },
    Migration {
        version: 13,
        name: "ratings_alerts",
        sql: include_str!("../migrations/sqlite/0013_ratings_alerts.sql"),
    },
    Migration {
        version: 14,
        name: "applications",
        sql: include_str!("../migrations/sqlite/0014_applications.sql"),
    },
    Migration {
        version: 15,
        name: "lean_outbox",
        sql: include_str!("../migrations/sqlite/0015_lean_outbox.sql"),
    },
    Migration {
        version: 16,
        name: "owner_proofs",
        sql: include_str!("../migrations/sqlite/0016_owner_proofs.sql"),
    },
    Migration {
        version: 17,
        name: "login_throttle",
        sql: include_str!("../migrations/sqlite/0017_login_throttle.sql"),
    },
    Migration {
        version: 18,
        name: "audit_hall",
        sql: include_str!("../migrations/sqlite/0018_audit_hall.sql"),
    },
    Migration {
        version: 19,
        name: "sealed",
        sql: include_str!("../migrations/sqlite/0019_sealed.sql"),
    },
    Migration {
        version: 20,
        name: "application_lifecycle",
        sql: include_str!("../migrations/sqlite/0020_application_lifecycle.sql"),
    },
    Migration {
        version: 21,
        name: "used_bookings",
        sql: include_str!("../migrations/sqlite/0021_used_bookings.sql"),
    },
    // 22 is another branch's (issue 12, in parallel); versions need not be consecutive.
    Migration {
        version: 22,
        name: "locker",
        sql: include_str!("../migrations/sqlite/0022_locker.sql"),
    },
    Migration {
        version: 23,
        name: "production",
        sql: include_str!("../migrations/sqlite/0023_production.sql"),
    },
    Migration {
        version: 24,
        name: "collection_choice",
        sql: include_str!("../migrations/sqlite/0024_collection_choice.sql"),
    },
    Migration {
        version: 25,
        name: "sites",
        sql: include_str!("../migrations/sqlite/0025_sites.sql"),
    },
    Migration {
        version: 26,
        name: "payments",
        sql: include_str!("../migrations/sqlite/0026_payments.sql"),
    },
    Migration {
        version: 27,
        name: "remote",
        sql: include_str!("../migrations/sqlite/0027_remote.sql"),
    },
    Migration {
        version: 28,
        name: "channels",
        sql: include_str!("../migrations/sqlite/0028_channels.sql"),
    },
    Migration {
        version: 29,
        name: "foreigners",
        sql: include_str!("../migrations/sqlite/0029_foreigners.sql"),
    },
    Migration {
        version: 30,
        name: "lodging",
        sql: include_str!("../migrations/sqlite/0030_lodging.sql"),
    },
    Migration {
        version: 31,
        name: "settings",
        sql: include_str!("../migrations/sqlite/0031_settings.sql"),
    },
    Migration {
        version: 32,
        name: "devices",
        sql: include_str!("../migrations/sqlite/0032_devices.sql"),
    },
    Migration {
        version: 33,
        name: "site_locations",
        sql: include_str!("../migrations/sqlite/0033_site_locations.sql"),
    },
    Migration {
        version: 34,
        name: "device_paired_at",
        sql: include_str!("../migrations/sqlite/0034_device_paired_at.sql"),
    },
    Migration {
        version: 35,
        name: "stats",
        sql: include_str!("../migrations/sqlite/0035_stats.sql"),
    },
    // 36: issue 17's 办证易 (kiosk endorsement re-issue).
    Migration {
        version: 36,
        name: "endorsement_reissue",
        sql: include_str!("../migrations/sqlite/0036_endorsement_reissue.sql"),
    },
    // 37: issue 17's 预约机, 填表机, 取证机 (locker jams) and 证件通.
    Migration {
        version: 37,
        name: "kiosk_modes",
        sql: include_str!("../migrations/sqlite/0037_kiosk_modes.sql"),
    },
    // 38: issue 17's 申请易 and 前台通 (biometrics, card reads).
    Migration {
        version: 38,
        name: "kiosk_biometrics",
        sql: include_str!("../migrations/sqlite/0038_kiosk_biometrics.sql"),
    },
    // 39: issue 18's coarser roll-ups, so that the dashboard reads a year in a few thousand rows.
    Migration {
        version: 39,
        name: "stats_cube",
        sql: include_str!("../migrations/sqlite/0039_stats_cube.sql"),
    },
    // 40: a year of rows: bookings by slot (the capacity advisor, the roll-up), and the rows the
    // hourly retention pass has still to erase.
    Migration {
        version: 40,
        name: "year_indexes",
        sql: include_str!("../migrations/sqlite/0040_year_indexes.sql"),
    },
    // 41: the finished tickets with their business and times, for the capacity advisor.
    Migration {
        version: 41,
        name: "tickets_served",
        sql: include_str!("../migrations/sqlite/0041_tickets_served.sql"),
    },
    // 42: the documents awaiting collection, for the hourly sweep.
    Migration {
        version: 42,
        name: "applications_awaiting_collection",
        sql: include_str!("../migrations/sqlite/0042_applications_awaiting_collection.sql"),
    },
];

pub(crate) const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "seat_returns_by_slot",
        sql: include_str!("../migrations/postgres/0002_seat_returns_by_slot.sql"),
    },
    Migration {
        version: 3,
        name: "fairness",
        sql: include_str!("../migrations/postgres/0003_fairness.sql"),
    },
    Migration {
        version: 4,
        name: "lottery",
        sql: include_str!("../migrations/postgres/0004_lottery.sql"),
    },
    Migration {
        version: 5,
        name: "pair_scan",
        sql: include_str!("../migrations/postgres/0005_pair_scan.sql"),
    },
    Migration {
        version: 6,
        name: "lean_indexes",
        sql: include_str!("../migrations/postgres/0006_lean_indexes.sql"),
    },
    Migration {
        version: 7,
        name: "counters_in_memory",
        sql: include_str!("../migrations/postgres/0007_counters_in_memory.sql"),
    },
    Migration {
        version: 8,
        name: "no_booking_slot_index",
        sql: include_str!("../migrations/postgres/0008_no_booking_slot_index.sql"),
    },
    Migration {
        version: 9,
        name: "staff_audit",
        sql: include_str!("../migrations/postgres/0009_staff_audit.sql"),
    },
    Migration {
        version: 10,
        name: "outbox",
        sql: include_str!("../migrations/postgres/0010_outbox.sql"),
    },
    Migration {
        version: 11,
        name: "phone_codes",
        sql: include_str!("../migrations/postgres/0011_phone_codes.sql"),
    },
    Migration {
        version: 12,
        name: "tickets",
        sql: include_str!("../migrations/postgres/0012_tickets.sql"),
    },
    Migration {
        version: 13,
        name: "ratings_alerts",
        sql: include_str!("../migrations/postgres/0013_ratings_alerts.sql"),
    },
    Migration {
        version: 14,
        name: "applications",
        sql: include_str!("../migrations/postgres/0014_applications.sql"),
    },
    Migration {
        version: 15,
        name: "lean_outbox",
        sql: include_str!("../migrations/postgres/0015_lean_outbox.sql"),
    },
    Migration {
        version: 16,
        name: "owner_proofs",
        sql: include_str!("../migrations/postgres/0016_owner_proofs.sql"),
    },
    Migration {
        version: 17,
        name: "login_throttle",
        sql: include_str!("../migrations/postgres/0017_login_throttle.sql"),
    },
    Migration {
        version: 18,
        name: "audit_hall",
        sql: include_str!("../migrations/postgres/0018_audit_hall.sql"),
    },
    Migration {
        version: 19,
        name: "sealed",
        sql: include_str!("../migrations/postgres/0019_sealed.sql"),
    },
    Migration {
        version: 20,
        name: "application_lifecycle",
        sql: include_str!("../migrations/postgres/0020_application_lifecycle.sql"),
    },
    Migration {
        version: 21,
        name: "used_bookings",
        sql: include_str!("../migrations/postgres/0021_used_bookings.sql"),
    },
    // 22 is another branch's (issue 12, in parallel); versions need not be consecutive.
    Migration {
        version: 22,
        name: "locker",
        sql: include_str!("../migrations/postgres/0022_locker.sql"),
    },
    Migration {
        version: 23,
        name: "production",
        sql: include_str!("../migrations/postgres/0023_production.sql"),
    },
    Migration {
        version: 24,
        name: "collection_choice",
        sql: include_str!("../migrations/postgres/0024_collection_choice.sql"),
    },
    Migration {
        version: 25,
        name: "sites",
        sql: include_str!("../migrations/postgres/0025_sites.sql"),
    },
    Migration {
        version: 26,
        name: "payments",
        sql: include_str!("../migrations/postgres/0026_payments.sql"),
    },
    Migration {
        version: 27,
        name: "remote",
        sql: include_str!("../migrations/postgres/0027_remote.sql"),
    },
    Migration {
        version: 28,
        name: "channels",
        sql: include_str!("../migrations/postgres/0028_channels.sql"),
    },
    Migration {
        version: 29,
        name: "foreigners",
        sql: include_str!("../migrations/postgres/0029_foreigners.sql"),
    },
    Migration {
        version: 30,
        name: "lodging",
        sql: include_str!("../migrations/postgres/0030_lodging.sql"),
    },
    Migration {
        version: 31,
        name: "settings",
        sql: include_str!("../migrations/postgres/0031_settings.sql"),
    },
    Migration {
        version: 32,
        name: "devices",
        sql: include_str!("../migrations/postgres/0032_devices.sql"),
    },
    Migration {
        version: 33,
        name: "site_locations",
        sql: include_str!("../migrations/postgres/0033_site_locations.sql"),
    },
    Migration {
        version: 34,
        name: "device_paired_at",
        sql: include_str!("../migrations/postgres/0034_device_paired_at.sql"),
    },
    Migration {
        version: 35,
        name: "stats",
        sql: include_str!("../migrations/postgres/0035_stats.sql"),
    },
    // 36: issue 17's 办证易 (kiosk endorsement re-issue).
    Migration {
        version: 36,
        name: "endorsement_reissue",
        sql: include_str!("../migrations/postgres/0036_endorsement_reissue.sql"),
    },
    // 37: issue 17's 预约机, 填表机, 取证机 (locker jams) and 证件通.
    Migration {
        version: 37,
        name: "kiosk_modes",
        sql: include_str!("../migrations/postgres/0037_kiosk_modes.sql"),
    },
    // 38: issue 17's 申请易 and 前台通 (biometrics, card reads).
    Migration {
        version: 38,
        name: "kiosk_biometrics",
        sql: include_str!("../migrations/postgres/0038_kiosk_biometrics.sql"),
    },
    // 39: issue 18's coarser roll-ups, so that the dashboard reads a year in a few thousand rows.
    Migration {
        version: 39,
        name: "stats_cube",
        sql: include_str!("../migrations/postgres/0039_stats_cube.sql"),
    },
    // 40: a year of rows: bookings by slot (the capacity advisor, the roll-up), and the rows the
    // hourly retention pass has still to erase.
    Migration {
        version: 40,
        name: "year_indexes",
        sql: include_str!("../migrations/postgres/0040_year_indexes.sql"),
    },
    // 41: the finished tickets with their business and times, for the capacity advisor.
    Migration {
        version: 41,
        name: "tickets_served",
        sql: include_str!("../migrations/postgres/0041_tickets_served.sql"),
    },
    // 42: the documents awaiting collection, for the hourly sweep.
    Migration {
        version: 42,
        name: "applications_awaiting_collection",
        sql: include_str!("../migrations/postgres/0042_applications_awaiting_collection.sql"),
    },
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MigrationStatus {
    pub applied: Vec<i64>,
    pub known: Vec<i64>,
}

impl MigrationStatus {
    pub fn pending(&self) -> Vec<i64> {
        self.known
            .iter()
            .copied()
            .filter(|v| !self.applied.contains(v))
            .collect()
    }

    /// Versions in the database that this build does not know: the database was migrated by a
    /// newer Wujing, and running this one against it could corrupt data.
    pub fn unknown(&self) -> Vec<i64> {
        self.applied
            .iter()
            .copied()
            .filter(|v| !self.known.contains(v))
            .collect()
    }

    pub fn is_current(&self) -> bool {
        self.pending().is_empty() && self.unknown().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::SQLITE;

    /// Migration 20 rebuilds SQLite's `applications` (a CHECK cannot change in place): the rows
    /// accepted before it keep every value, get `updated_at` and a first event, and the new
    /// constraints hold for them and for what comes after.
    #[test]
    fn applications_accepted_before_the_lifecycle_keep_their_rows_and_get_a_first_event() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        let (before, from_20) = SQLITE.split_at(19);
        assert_eq!(from_20[0].version, 20);
        for m in before {
            c.execute_batch(m.sql).unwrap();
        }
        // Two applications as version 19 wrote them (the referenced rows do not matter here).
        c.execute_batch(
            "PRAGMA foreign_keys = OFF;
             INSERT INTO applications (id, ticket_id, booking_id, hall_id, business, identity_key,
               status, missing, supplement_due, expedited, ready_by, window_number, officer_id,
               accepted_at)
             VALUES (7, 70, NULL, 'tianhe', 'passport_first', 'k7', 'accepted', '[]', NULL, 0,
               '2026-12-10', 1, 3, 1000),
                    (8, 80, 5, 'tianhe', 'passport_first', 'k8', 'pending_supplement',
               '[\"户口簿\"]', '2026-12-16', 1, '2026-12-08', 2, 4, 2000);",
        )
        .unwrap();
        c.execute_batch(from_20[0].sql).unwrap();
        // id, status, missing, expedited, updated_at, collection_method, booking_id
        type Row = (i64, String, String, i64, i64, String, Option<i64>);
        let rows: Vec<Row> = c
            .prepare(
                "SELECT id, status, missing, expedited, updated_at, collection_method, booking_id
                 FROM applications ORDER BY id",
            )
            .unwrap()
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            rows,
            vec![
                (
                    7,
                    "accepted".into(),
                    "[]".into(),
                    0,
                    1000,
                    "counter".into(),
                    None
                ),
                (
                    8,
                    "pending_supplement".into(),
                    "[\"户口簿\"]".into(),
                    1,
                    2000,
                    "counter".into(),
                    Some(5)
                ),
            ]
        );
        let events: Vec<(i64, Option<String>, String, String)> = c
            .prepare(
                "SELECT application_id, from_state, to_state, actor FROM application_events
                 ORDER BY id",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            events,
            vec![
                (7, None, "accepted".into(), "staff:3".into()),
                (8, None, "pending_supplement".into(), "staff:4".into()),
            ]
        );
        // The new CHECKs: no unknown state, no illegal move in the history, no refusal
        // without its reason.
        for bad in [
            "UPDATE applications SET status = 'lost' WHERE id = 7",
            "UPDATE applications SET status = 'refused' WHERE id = 7",
            "INSERT INTO application_events (application_id, from_state, to_state, at, actor, note)
             VALUES (7, 'accepted', 'approved', 3000, 'staff:1', '')",
            "INSERT INTO application_events (application_id, from_state, to_state, at, actor, note)
             VALUES (7, NULL, 'collected', 3000, 'staff:1', '')",
        ] {
            assert!(c.execute(bad, []).is_err(), "{bad}");
        }
        c.execute(
            "INSERT INTO application_events (application_id, from_state, to_state, at, actor, note)
             VALUES (7, 'accepted', 'under_review', 3000, 'staff:1', '')",
            [],
        )
        .unwrap();
    }

    /// A row in `table` with the given columns and a filler in every other NOT NULL column
    /// (CHECKs off): parents for the foreign keys of the rows under test.
    fn filler_row(c: &rusqlite::Connection, table: &str, given: &[(&str, rusqlite::types::Value)]) {
        let cols: Vec<(String, String, bool, bool)> = c
            .prepare(&format!("PRAGMA table_info({table})"))
            .unwrap()
            .query_map([], |r| {
                Ok((
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get::<_, i64>(5)? > 0 || r.get::<_, Option<String>>(4)?.is_some(),
                ))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let mut names = Vec::new();
        let mut values: Vec<rusqlite::types::Value> = Vec::new();
        for (name, ty, not_null, has_default) in cols {
            if let Some((_, v)) = given.iter().find(|(n, _)| *n == name) {
                names.push(name);
                values.push(v.clone());
            } else if not_null && !has_default {
                names.push(name);
                values.push(if ty.to_ascii_uppercase().contains("INT") {
                    rusqlite::types::Value::Integer(1)
                } else {
                    rusqlite::types::Value::Text("x".into())
                });
            }
        }
        let marks = vec!["?"; names.len()].join(", ");
        c.execute(
            &format!(
                "INSERT INTO {table} ({}) VALUES ({marks})",
                names.join(", ")
            ),
            rusqlite::params_from_iter(values),
        )
        .unwrap();
    }

    /// Migration 27 rebuilds SQLite's `applications` (a NOT NULL cannot be dropped in place)
    /// with the tables that refer to it, with foreign keys enforced as the server runs: the
    /// rows keep their values and references, the indexes are back, and the new CHECK lets a
    /// row in with a ticket, a window and an officer, or with none of them (remote).
    #[test]
    fn applications_rebuilt_for_remote_keep_their_rows_and_references() {
        use rusqlite::types::Value::{Integer, Text};
        let c = rusqlite::Connection::open_in_memory().unwrap();
        let at = SQLITE.iter().position(|m| m.version == 27).unwrap();
        for m in &SQLITE[..at] {
            c.execute_batch(m.sql).unwrap();
        }
        c.execute_batch("PRAGMA ignore_check_constraints = ON")
            .unwrap();
        filler_row(&c, "districts", &[("id", Text("d".into()))]);
        filler_row(
            &c,
            "halls",
            &[("id", Text("h".into())), ("district_id", Text("d".into()))],
        );
        filler_row(
            &c,
            "staff",
            &[("id", Integer(3)), ("username", Text("o".into()))],
        );
        // Migration 25: a ticket is only of a business its site offers (the filler's `x`).
        filler_row(
            &c,
            "site_businesses",
            &[
                ("hall_id", Text("h".into())),
                ("business", Text("x".into())),
            ],
        );
        filler_row(
            &c,
            "tickets",
            &[("id", Integer(70)), ("hall_id", Text("h".into()))],
        );
        c.execute_batch("PRAGMA ignore_check_constraints = OFF; PRAGMA foreign_keys = ON;")
            .unwrap();
        c.execute_batch(
            "INSERT INTO applications (id, ticket_id, booking_id, hall_id, business, identity_key,
               status, missing, supplement_due, expedited, ready_by, window_number, officer_id,
               accepted_at, updated_at, mail_address)
             VALUES (7, 70, NULL, 'h', 'passport_first', 'k7', 'accepted', '[]', NULL, 0,
               '2026-12-10', 1, 3, 1000, 1000, 'sealed');
             INSERT INTO application_events (application_id, from_state, to_state, at, actor, note)
             VALUES (7, NULL, 'accepted', 1000, 'staff:3', '');
             INSERT INTO locker_compartments (hall_id, label, application_id, code_mac, assigned_at)
             VALUES ('h', 'A-01', 7, 'mac', 5);",
        )
        .unwrap();
        // As the server runs it: foreign keys on, inside a transaction.
        c.execute_batch(&format!("BEGIN; {} COMMIT;", SQLITE[at].sql))
            .unwrap();
        let fk: Vec<String> = c
            .prepare("PRAGMA foreign_key_check")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(fk.is_empty(), "{fk:?}");
        let row: (i64, Option<i64>, String, i64) = c
            .query_row(
                "SELECT a.id, a.ticket_id, a.mail_address,
                   (SELECT COUNT(*) FROM application_events e WHERE e.application_id = a.id)
                   + (SELECT COUNT(*) FROM locker_compartments l WHERE l.application_id = a.id)
                 FROM applications a",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(row, (7, Some(70), "sealed".into(), 2));
        for index in [
            "applications_document_number",
            "applications_queue",
            "applications_batch",
            "application_events_of",
            "locker_one_per_application",
        ] {
            let n: i64 = c
                .query_row(
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = ?1",
                    [index],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(n, 1, "{index}");
        }
        let insert = |window: Option<i64>| {
            c.execute(
                "INSERT INTO applications (ticket_id, hall_id, business, identity_key, status,
                   missing, expedited, ready_by, window_number, accepted_at, updated_at)
                 VALUES (NULL, 'h', 'passport_renewal', 'k8', 'accepted', '[]', 0, '2026-12-10',
                   ?1, 2000, 2000)",
                [window],
            )
        };
        assert!(
            insert(Some(1)).is_err(),
            "a window without a ticket is half a row"
        );
        insert(None).unwrap();
        // The history still refuses an illegal move, against the renamed table.
        assert!(c
            .execute(
                "INSERT INTO application_events (application_id, from_state, to_state, at, actor, note)
                 VALUES (7, 'accepted', 'collected', 3000, 'staff:3', '')",
                [],
            )
            .is_err());
        assert!(c
            .execute(
                "INSERT INTO application_events (application_id, from_state, to_state, at, actor, note)
                 VALUES (99, NULL, 'accepted', 3000, 'staff:3', '')",
                [],
            )
            .is_err(), "the history's foreign key points at the new table");
    }
}
