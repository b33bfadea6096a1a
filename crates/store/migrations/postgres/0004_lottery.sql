-- Lottery releases: entries collected before a day's seats are released, then drawn in an
-- order fixed by a recorded seed. One entry per identity and release day.
CREATE TABLE lottery_entries (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    release_day   DATE NOT NULL,
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
    created_at    TIMESTAMPTZ NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('entered', 'won', 'lost')),
    booking_id    BIGINT REFERENCES bookings(id),
    UNIQUE (release_day, identity_key)
);

CREATE TABLE lottery_draws (
    release_day DATE PRIMARY KEY,
    seed        BIGINT NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    entries     INTEGER NOT NULL,
    winners     INTEGER NOT NULL
);
