-- Ratings at the window (M6) and the alerts an "unsatisfied" raises for the hall's leaders.

-- Leaders and supervisors are paged by text message.
ALTER TABLE staff ADD COLUMN phone TEXT;

CREATE TABLE ratings (
    id            INTEGER PRIMARY KEY,
    ticket_id     INTEGER NOT NULL UNIQUE REFERENCES tickets(id),
    hall_id       TEXT NOT NULL REFERENCES halls(id),
    window_number INTEGER NOT NULL,
    officer_id    INTEGER REFERENCES staff(id),
    score         TEXT NOT NULL CHECK (score IN ('satisfied', 'basic', 'unsatisfied')),
    reasons       TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE alerts (
    id              INTEGER PRIMARY KEY,
    hall_id         TEXT NOT NULL REFERENCES halls(id),
    rating_id       INTEGER NOT NULL UNIQUE REFERENCES ratings(id),
    ticket_label    TEXT NOT NULL,
    window_number   INTEGER NOT NULL,
    officer_id      INTEGER REFERENCES staff(id),
    created_at      INTEGER NOT NULL,
    acknowledged_at INTEGER,
    acknowledged_by INTEGER REFERENCES staff(id),
    outcome         TEXT,
    escalated_at    INTEGER
);
CREATE INDEX alerts_open ON alerts (hall_id, acknowledged_at);
