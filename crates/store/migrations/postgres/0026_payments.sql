-- Keep in step with ../sqlite/0026_payments.sql.
-- Issue 13: online payment (网上缴费) through a payment provider.
--
-- Named `online_payments` because `payments` holds the fees taken at a counter window (0012).
-- Amounts are whole yuan, like the fee schedule and the counter's payments. A payment belongs
-- to a purpose (`purpose_kind`, `purpose_id`: e.g. an online application); the partial unique
-- indexes hold the two rules of the port: a purpose has at most one pending payment (a second
-- start answers the open one) and at most one paid payment (a second one is refunded).
-- `provider_ref` is the provider's order reference, set once the order is created.
CREATE TABLE online_payments (
    id              BIGSERIAL PRIMARY KEY,
    purpose_kind    TEXT NOT NULL,
    purpose_id      BIGINT NOT NULL,
    amount_yuan     BIGINT NOT NULL CHECK (amount_yuan > 0),
    subject_zh      TEXT NOT NULL,
    subject_en      TEXT NOT NULL,
    -- A path of this site the provider sends the browser back to.
    return_to       TEXT NOT NULL,
    provider        TEXT NOT NULL,
    provider_ref    TEXT,
    checkout_url    TEXT,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'declined', 'refund_due', 'refunded')),
    created_at      TIMESTAMPTZ NOT NULL,
    paid_at         TIMESTAMPTZ,
    declined_at     TIMESTAMPTZ,
    -- Why the money goes back: a staff member's reason, or `not_accepted` for a payment that
    -- could not become paid.
    refund_reason   TEXT,
    refund_ref      TEXT,
    refunded_at     TIMESTAMPTZ,
    CHECK (status <> 'paid' OR paid_at IS NOT NULL),
    CHECK (status NOT IN ('refund_due', 'refunded') OR refund_reason IS NOT NULL),
    CHECK (status <> 'refunded' OR (refund_ref IS NOT NULL AND refunded_at IS NOT NULL))
);
CREATE UNIQUE INDEX online_payments_one_pending ON online_payments (purpose_kind, purpose_id)
    WHERE status = 'pending';
CREATE UNIQUE INDEX online_payments_one_paid ON online_payments (purpose_kind, purpose_id)
    WHERE status = 'paid';
CREATE UNIQUE INDEX online_payments_reference ON online_payments (provider, provider_ref);
CREATE INDEX online_payments_refund_due ON online_payments (status) WHERE status = 'refund_due';

-- Every verified notification, once: the provider's event id is unique per provider, so a
-- retried or duplicated notification finds its row and changes nothing. `disposition` says
-- what it did: `applied` (the payment moved), `stale` (it had moved on already),
-- `amount_mismatch` (refused: the amount differs from the order's), `refund_due` (paid for a
-- payment that cannot be accepted).
CREATE TABLE payment_events (
    id                 BIGSERIAL PRIMARY KEY,
    provider           TEXT NOT NULL,
    provider_event_id  TEXT NOT NULL,
    payment_id         BIGINT NOT NULL REFERENCES online_payments(id),
    outcome            TEXT NOT NULL CHECK (outcome IN ('paid', 'declined')),
    amount_yuan        BIGINT NOT NULL,
    disposition        TEXT NOT NULL CHECK (disposition IN ('applied', 'stale', 'amount_mismatch', 'refund_due')),
    received_at        TIMESTAMPTZ NOT NULL,
    UNIQUE (provider, provider_event_id)
);
CREATE INDEX payment_events_of ON payment_events (payment_id);
