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
