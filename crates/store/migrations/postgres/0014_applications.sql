-- Acceptance at the window (M5) and the leader post's urgent requests (M7).

CREATE TABLE applications (
    id              BIGSERIAL PRIMARY KEY,
    ticket_id       BIGINT NOT NULL UNIQUE REFERENCES tickets(id),
    booking_id      BIGINT REFERENCES bookings(id),
    hall_id         TEXT NOT NULL REFERENCES halls(id),
    business        TEXT NOT NULL,
    identity_key    TEXT NOT NULL,
    -- accepted, or accepted pending a document brought later (M5).
    status          TEXT NOT NULL CHECK (status IN ('accepted', 'pending_supplement')),
    missing         TEXT NOT NULL,
    supplement_due  DATE,
    expedited       BOOLEAN NOT NULL,
    ready_by        DATE NOT NULL,
    window_number   INTEGER NOT NULL,
    officer_id      BIGINT NOT NULL REFERENCES staff(id),
    accepted_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE urgent_requests (
    id          BIGSERIAL PRIMARY KEY,
    ticket_id   BIGINT NOT NULL REFERENCES tickets(id),
    hall_id     TEXT NOT NULL REFERENCES halls(id),
    reason      TEXT NOT NULL,
    note        TEXT NOT NULL,
    requested_by BIGINT NOT NULL REFERENCES staff(id),
    created_at  TIMESTAMPTZ NOT NULL,
    decided_at  TIMESTAMPTZ,
    decided_by  BIGINT REFERENCES staff(id),
    approved    BOOLEAN
);
-- One open request per ticket.
CREATE UNIQUE INDEX urgent_one_open ON urgent_requests (ticket_id) WHERE decided_at IS NULL;
