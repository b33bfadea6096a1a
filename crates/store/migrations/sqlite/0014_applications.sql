-- Acceptance at the window (M5) and the leader post's urgent requests (M7).

CREATE TABLE applications (
    id              INTEGER PRIMARY KEY,
    ticket_id       INTEGER NOT NULL UNIQUE REFERENCES tickets(id),
    booking_id      INTEGER REFERENCES bookings(id),
    hall_id         TEXT NOT NULL REFERENCES halls(id),
    business        TEXT NOT NULL,
    identity_key    TEXT NOT NULL,
    -- accepted, or accepted pending a document brought later (M5).
    status          TEXT NOT NULL CHECK (status IN ('accepted', 'pending_supplement')),
    missing         TEXT NOT NULL,
    supplement_due  TEXT,
    expedited       INTEGER NOT NULL,
    ready_by        TEXT NOT NULL,
    window_number   INTEGER NOT NULL,
    officer_id      INTEGER NOT NULL REFERENCES staff(id),
    accepted_at     INTEGER NOT NULL
);

CREATE TABLE urgent_requests (
    id          INTEGER PRIMARY KEY,
    ticket_id   INTEGER NOT NULL REFERENCES tickets(id),
    hall_id     TEXT NOT NULL REFERENCES halls(id),
    reason      TEXT NOT NULL,
    note        TEXT NOT NULL,
    requested_by INTEGER NOT NULL REFERENCES staff(id),
    created_at  INTEGER NOT NULL,
    decided_at  INTEGER,
    decided_by  INTEGER REFERENCES staff(id),
    approved    INTEGER
);
-- One open request per ticket.
CREATE UNIQUE INDEX urgent_one_open ON urgent_requests (ticket_id) WHERE decided_at IS NULL;
