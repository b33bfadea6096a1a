-- Wujing schema, SQLite dialect. Keep in step with ../postgres/0001_init.sql: the schema-parity
-- test compares tables, columns, nullability, keys and unique indexes of the two.
-- Dates are TEXT 'YYYY-MM-DD'; instants are INTEGER milliseconds since the Unix epoch (UTC).

CREATE TABLE districts (
    id      TEXT PRIMARY KEY,
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL
);

CREATE TABLE halls (
    id                TEXT PRIMARY KEY,
    district_id       TEXT NOT NULL REFERENCES districts(id),
    name_zh           TEXT NOT NULL,
    name_en           TEXT NOT NULL,
    address_zh        TEXT NOT NULL,
    address_en        TEXT NOT NULL,
    weekdays          TEXT NOT NULL,
    sessions          TEXT NOT NULL,
    slot_minutes      INTEGER NOT NULL CHECK (slot_minutes > 0),
    serves_foreigners INTEGER NOT NULL CHECK (serves_foreigners IN (0, 1))
);

CREATE TABLE windows (
    id      INTEGER PRIMARY KEY,
    hall_id TEXT NOT NULL REFERENCES halls(id),
    number  INTEGER NOT NULL,
    kind    TEXT NOT NULL,
    UNIQUE (hall_id, number)
);

CREATE TABLE pool_capacity (
    hall_id        TEXT NOT NULL REFERENCES halls(id),
    pool           TEXT NOT NULL CHECK (pool IN ('online', 'on_site', 'expedite')),
    seats_per_slot INTEGER NOT NULL CHECK (seats_per_slot >= 0),
    PRIMARY KEY (hall_id, pool)
);

CREATE TABLE calendar_days (
    day  TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('holiday', 'workday')),
    name TEXT NOT NULL
);

-- One row per hall x day x slot x pool: the seat counter. `taken` counts live holds, active
-- bookings and seats waiting to return after a cancellation. The CHECK makes overbooking
-- impossible even for a statement that forgets its guard.
CREATE TABLE slots (
    id         INTEGER PRIMARY KEY,
    hall_id    TEXT NOT NULL REFERENCES halls(id),
    day        TEXT NOT NULL,
    start_time TEXT NOT NULL,
    pool       TEXT NOT NULL CHECK (pool IN ('online', 'on_site', 'expedite')),
    starts_at  INTEGER NOT NULL,
    capacity   INTEGER NOT NULL CHECK (capacity >= 0),
    taken      INTEGER NOT NULL DEFAULT 0 CHECK (taken >= 0 AND taken <= capacity),
    UNIQUE (hall_id, day, start_time, pool)
);
CREATE INDEX slots_by_day ON slots (day, pool);

CREATE TABLE holds (
    id          TEXT PRIMARY KEY,
    slot_id     INTEGER NOT NULL REFERENCES slots(id),
    business    TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('held', 'confirmed', 'expired')),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    client_addr TEXT
);
CREATE INDEX holds_live ON holds (state, expires_at);

CREATE TABLE bookings (
    id                INTEGER PRIMARY KEY,
    code              TEXT NOT NULL UNIQUE,
    slot_id           INTEGER NOT NULL REFERENCES slots(id),
    hold_id           TEXT REFERENCES holds(id),
    business          TEXT NOT NULL,
    option_code       TEXT,
    identity_key      TEXT NOT NULL,
    id_kind           TEXT NOT NULL CHECK (id_kind IN ('resident_id', 'foreign_passport')),
    id_number         TEXT NOT NULL,
    nationality       TEXT,
    name              TEXT NOT NULL,
    phone             TEXT NOT NULL,
    answers           TEXT NOT NULL,
    fee_yuan          INTEGER,
    channel           TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('active', 'cancelled')),
    created_at        INTEGER NOT NULL,
    cancelled_at      INTEGER,
    reschedule_count  INTEGER NOT NULL DEFAULT 0
);
-- M3: one active booking per identity and business, across all halls.
CREATE UNIQUE INDEX bookings_one_active ON bookings (identity_key, business) WHERE status = 'active';
CREATE INDEX bookings_by_slot ON bookings (slot_id);
CREATE INDEX bookings_by_identity ON bookings (identity_key, cancelled_at);

-- A cancelled or vacated seat returns to the pool only at return_at (anti-trading delay).
CREATE TABLE seat_returns (
    id          INTEGER PRIMARY KEY,
    slot_id     INTEGER NOT NULL REFERENCES slots(id),
    booking_id  INTEGER NOT NULL REFERENCES bookings(id),
    reason      TEXT NOT NULL CHECK (reason IN ('cancel', 'reschedule')),
    return_at   INTEGER NOT NULL,
    returned_at INTEGER
);
CREATE INDEX seat_returns_pending ON seat_returns (returned_at, return_at);

-- Cancel-then-rebook pairs: the signature of seat trading.
CREATE TABLE cancel_rebook (
    id                   INTEGER PRIMARY KEY,
    cancelled_booking_id INTEGER NOT NULL REFERENCES bookings(id),
    new_booking_id       INTEGER NOT NULL REFERENCES bookings(id),
    kind                 TEXT NOT NULL CHECK (kind IN ('same_identity', 'seat_handoff')),
    gap_ms               INTEGER NOT NULL,
    recorded_at          INTEGER NOT NULL
);

-- Imported from the population register.
CREATE TABLE persons (
    id_number                TEXT PRIMARY KEY,
    name                     TEXT NOT NULL,
    hukou_city               TEXT NOT NULL,
    residence_permit_city    TEXT,
    residence_permit_expires TEXT,
    status                   TEXT NOT NULL CHECK (status IN ('active', 'deceased', 'emigrated', 'cancelled')),
    state_functionary        INTEGER NOT NULL CHECK (state_functionary IN (0, 1)),
    imported_at              INTEGER NOT NULL
);

-- Imported from the document register, and later written by Wujing itself.
CREATE TABLE documents (
    id          INTEGER PRIMARY KEY,
    id_number   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    number      TEXT NOT NULL,
    issued_on   TEXT NOT NULL,
    expires_on  TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('valid', 'lost', 'cancelled')),
    imported_at INTEGER NOT NULL,
    UNIQUE (kind, number)
);
CREATE INDEX documents_by_holder ON documents (id_number);
