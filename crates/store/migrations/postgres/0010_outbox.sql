-- The notification outbox: a message is stored in the same transaction as the change that
-- causes it and delivered afterwards, at least once, with retries and backoff.
CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    channel         TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    recipient       TEXT NOT NULL,
    topic           TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    due_at          TIMESTAMPTZ NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    lease_until     TIMESTAMPTZ,
    delivered_at    TIMESTAMPTZ,
    last_error      TEXT
);
CREATE INDEX outbox_due ON outbox (due_at) WHERE delivered_at IS NULL;
CREATE INDEX outbox_by_recipient ON outbox (recipient, id);

-- The citizen's language for texts about the booking.
ALTER TABLE bookings ADD COLUMN lang TEXT NOT NULL DEFAULT 'zh-CN';
