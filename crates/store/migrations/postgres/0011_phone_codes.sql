-- One-time codes that prove a citizen holds a phone (booking, finding one's bookings). Only a
-- hash of the code is kept; attempts and sends are limited.
CREATE TABLE phone_codes (
    id          BIGSERIAL PRIMARY KEY,
    phone       TEXT NOT NULL,
    purpose     TEXT NOT NULL CHECK (purpose IN ('book', 'lookup')),
    code_hash   TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    client_addr TEXT,
    verified_at TIMESTAMPTZ
);
CREATE INDEX phone_codes_by_phone ON phone_codes (phone, purpose, created_at);
CREATE INDEX phone_codes_by_addr ON phone_codes (client_addr, created_at);

-- Server-wide secrets generated on first use (e.g. the key of citizens' booking links), so
-- that every app server on the database agrees on them.
CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
