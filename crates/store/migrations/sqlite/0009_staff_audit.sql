-- Staff, sessions, log-in throttling, devices, hall closures and the audit trail (M14).

CREATE TABLE staff (
    id                  INTEGER PRIMARY KEY,
    username            TEXT NOT NULL UNIQUE,
    display_name        TEXT NOT NULL,
    password_hash       TEXT NOT NULL,
    -- JSON array of {"role": …, "hall": …}: read whole with the account, never queried into.
    roles               TEXT NOT NULL,
    disabled            INTEGER NOT NULL CHECK (disabled IN (0, 1)),
    created_at          INTEGER NOT NULL,
    password_changed_at INTEGER NOT NULL
);

-- Sessions live in the database so that several app servers share them.
CREATE TABLE staff_sessions (
    token_hash  TEXT PRIMARY KEY,
    staff_id    INTEGER NOT NULL REFERENCES staff(id),
    csrf_token  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    client_addr TEXT
);
CREATE INDEX staff_sessions_by_staff ON staff_sessions (staff_id);

CREATE TABLE login_failures (
    id  INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    at  INTEGER NOT NULL
);
CREATE INDEX login_failures_by_key ON login_failures (key, at);

CREATE TABLE devices (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    hall_id    TEXT NOT NULL REFERENCES halls(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE hall_closures (
    hall_id TEXT NOT NULL REFERENCES halls(id),
    day     TEXT NOT NULL,
    note    TEXT NOT NULL,
    PRIMARY KEY (hall_id, day)
);

-- Append-only and hash-chained: see wujing_domain::audit. `seq` is assigned by the appender
-- (previous + 1) so that a deleted row leaves a gap; `audit_head` records the newest entry so
-- that deleting the newest rows is seen too.
CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    actor_name  TEXT NOT NULL,
    action      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    citizen     TEXT,
    detail      TEXT NOT NULL,
    client_addr TEXT,
    station     TEXT,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_by_citizen ON audit_log (citizen, at);
CREATE INDEX audit_by_actor ON audit_log (actor, at);
CREATE INDEX audit_by_time ON audit_log (at);

CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
