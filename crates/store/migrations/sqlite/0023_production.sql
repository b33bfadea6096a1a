-- Keep in step with ../postgres/0023_production.sql.
-- Issue 12: the production centre (制证中心) — its system as a principal, and batches.
--
-- A system client authenticates with a bearer token of which only the SHA-256 hash is kept
-- (as for devices); a revoked client's token is refused. `kind` names what the client is
-- allowed to be: only the production centre for now.
CREATE TABLE system_clients (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL CHECK (kind IN ('production_centre')),
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

-- A batch: approved applications taken into production together. `actor` is who asked
-- (`system:<id>` or `staff:<id>`), as in the history.
CREATE TABLE production_batches (
    id         INTEGER PRIMARY KEY,
    created_at INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    actor_name TEXT NOT NULL
);

-- The batch an application went into production with. One column, set by the same
-- conditional UPDATE that moves it from 'approved' (`WHERE status = 'approved'`): of two
-- concurrent batches only one can change the row, so no application is ever in two batches.
ALTER TABLE applications ADD COLUMN production_batch_id INTEGER REFERENCES production_batches(id);
CREATE INDEX applications_batch ON applications (production_batch_id);
