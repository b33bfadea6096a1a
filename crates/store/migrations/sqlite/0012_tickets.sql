-- Hall operations (M5): tickets per hall, local day and queue, numbered without gaps; the
-- calling state machine; payments at the window with gap-free receipt numbers.

CREATE TABLE ticket_counters (
    hall_id TEXT NOT NULL REFERENCES halls(id),
    day     TEXT NOT NULL,
    queue   TEXT NOT NULL,
    last    INTEGER NOT NULL,
    PRIMARY KEY (hall_id, day, queue)
);

CREATE TABLE tickets (
    id            INTEGER PRIMARY KEY,
    hall_id       TEXT NOT NULL REFERENCES halls(id),
    day           TEXT NOT NULL,
    queue         TEXT NOT NULL,
    number        INTEGER NOT NULL,
    label         TEXT NOT NULL,
    booking_id    INTEGER REFERENCES bookings(id),
    business      TEXT NOT NULL,
    identity_key  TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('appointment', 'walk_in')),
    priority      INTEGER NOT NULL DEFAULT 0,
    -- The ordering key: the appointment time, or the arrival of a walk-in or a re-queued ticket.
    due_at        INTEGER NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('waiting', 'called', 'serving', 'parked', 'missed', 'done')),
    window_number INTEGER,
    officer_id    INTEGER REFERENCES staff(id),
    calls         INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    called_at     INTEGER,
    finished_at   INTEGER,
    UNIQUE (hall_id, day, queue, number)
);
-- One ticket per booking: a booking is used once.
CREATE UNIQUE INDEX tickets_one_per_booking ON tickets (booking_id) WHERE booking_id IS NOT NULL;
CREATE INDEX tickets_waiting ON tickets (hall_id, day, status, priority, due_at);

CREATE TABLE receipt_counters (
    hall_id TEXT NOT NULL REFERENCES halls(id),
    day     TEXT NOT NULL,
    last    INTEGER NOT NULL,
    PRIMARY KEY (hall_id, day)
);

CREATE TABLE payments (
    id             INTEGER PRIMARY KEY,
    ticket_id      INTEGER NOT NULL REFERENCES tickets(id),
    hall_id        TEXT NOT NULL REFERENCES halls(id),
    day            TEXT NOT NULL,
    receipt_no     TEXT NOT NULL UNIQUE,
    amount_yuan    INTEGER NOT NULL CHECK (amount_yuan >= 0),
    method         TEXT NOT NULL CHECK (method IN ('card', 'qr', 'cash')),
    reference      TEXT NOT NULL,
    window_number  INTEGER NOT NULL,
    officer_id     INTEGER NOT NULL REFERENCES staff(id),
    paid_at        INTEGER NOT NULL,
    refunded_at    INTEGER,
    refunded_by    INTEGER REFERENCES staff(id)
);
-- One payment per ticket.
CREATE UNIQUE INDEX payments_one_per_ticket ON payments (ticket_id);
