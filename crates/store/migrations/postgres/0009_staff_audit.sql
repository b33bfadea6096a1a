-- Staff, sessions, log-in throttling, devices, hall closures and the audit trail (M14).
-- Keep in step with ../sqlite/0009_staff_audit.sql.

CREATE TABLE staff (
    id                  BIGSERIAL PRIMARY KEY,
    username            TEXT NOT NULL UNIQUE,
    display_name        TEXT NOT NULL,
    password_hash       TEXT NOT NULL,
    roles               TEXT NOT NULL,
    disabled            BOOLEAN NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    password_changed_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE staff_sessions (
    token_hash  TEXT PRIMARY KEY,
    staff_id    BIGINT NOT NULL REFERENCES staff(id),
    csrf_token  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    client_addr TEXT
);
CREATE INDEX staff_sessions_by_staff ON staff_sessions (staff_id);

CREATE TABLE login_failures (
    id  BIGSERIAL PRIMARY KEY,
    key TEXT NOT NULL,
    at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX login_failures_by_key ON login_failures (key, at);

CREATE TABLE devices (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL,
    hall_id    TEXT NOT NULL REFERENCES halls(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);

CREATE TABLE hall_closures (
    hall_id TEXT NOT NULL REFERENCES halls(id),
    day     DATE NOT NULL,
    note    TEXT NOT NULL,
    PRIMARY KEY (hall_id, day)
);

CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
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
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
