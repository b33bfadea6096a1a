-- On SQLite the rate-limit counters moved to an in-memory database attached to the writer
-- connection (see src/sqlite.rs): one app server per file, and no page writes for them.
DROP TABLE rate_limits;
