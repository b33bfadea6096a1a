-- Lottery releases: entries collected before a day's seats are released, then drawn in an
-- order fixed by a recorded seed. One entry per identity and release day.
CREATE TABLE lottery_entries (
    id            INTEGER PRIMARY KEY,
    release_day   TEXT NOT NULL,
    business      TEXT NOT NULL,
    option_code   TEXT,
    identity_key  TEXT NOT NULL,
    id_kind       TEXT NOT NULL,
    id_number     TEXT NOT NULL,
    nationality   TEXT,
    name          TEXT NOT NULL,
    phone         TEXT NOT NULL,
    answers       TEXT NOT NULL,
    hall_ids      TEXT NOT NULL,
    channel       TEXT NOT NULL,
    client_addr   TEXT,
    created_at    INTEGER NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('entered', 'won', 'lost')),
    booking_id    INTEGER REFERENCES bookings(id),
    UNIQUE (release_day, identity_key)
);

CREATE TABLE lottery_draws (
    release_day TEXT PRIMARY KEY,
    seed        INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    entries     INTEGER NOT NULL,
    winners     INTEGER NOT NULL
);
