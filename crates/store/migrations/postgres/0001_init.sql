-- Wujing schema, PostgreSQL dialect. Keep in step with ../sqlite/0001_init.sql: the schema-parity
-- test compares tables, columns, nullability, keys and unique indexes of the two.
-- Dates are DATE; instants are TIMESTAMPTZ.

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
    serves_foreigners BOOLEAN NOT NULL
);

CREATE TABLE windows (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
    day  DATE PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('holiday', 'workday')),
    name TEXT NOT NULL
);

-- One row per hall x day x slot x pool: the seat counter. `taken` counts live holds, active
-- bookings and seats waiting to return after a cancellation. The CHECK makes overbooking
-- impossible even for a statement that forgets its guard.
CREATE TABLE slots (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hall_id    TEXT NOT NULL REFERENCES halls(id),
    day        DATE NOT NULL,
    start_time TEXT NOT NULL,
    pool       TEXT NOT NULL CHECK (pool IN ('online', 'on_site', 'expedite')),
    starts_at  TIMESTAMPTZ NOT NULL,
    capacity   INTEGER NOT NULL CHECK (capacity >= 0),
    taken      INTEGER NOT NULL DEFAULT 0 CHECK (taken >= 0 AND taken <= capacity),
    UNIQUE (hall_id, day, start_time, pool)
);
CREATE INDEX slots_by_day ON slots (day, pool);

CREATE TABLE holds (
    id          TEXT PRIMARY KEY,
    slot_id     BIGINT NOT NULL REFERENCES slots(id),
    business    TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('held', 'confirmed', 'expired')),
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    client_addr TEXT
);
CREATE INDEX holds_live ON holds (state, expires_at);

CREATE TABLE bookings (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code              TEXT NOT NULL UNIQUE,
    slot_id           BIGINT NOT NULL REFERENCES slots(id),
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
    created_at        TIMESTAMPTZ NOT NULL,
    cancelled_at      TIMESTAMPTZ,
    reschedule_count  INTEGER NOT NULL DEFAULT 0
);
-- M3: one active booking per identity and business, across all halls.
CREATE UNIQUE INDEX bookings_one_active ON bookings (identity_key, business) WHERE status = 'active';
CREATE INDEX bookings_by_slot ON bookings (slot_id);
CREATE INDEX bookings_by_identity ON bookings (identity_key, cancelled_at);

-- A cancelled or vacated seat returns to the pool only at return_at (anti-trading delay).
CREATE TABLE seat_returns (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slot_id     BIGINT NOT NULL REFERENCES slots(id),
    booking_id  BIGINT NOT NULL REFERENCES bookings(id),
    reason      TEXT NOT NULL CHECK (reason IN ('cancel', 'reschedule')),
    return_at   TIMESTAMPTZ NOT NULL,
    returned_at TIMESTAMPTZ
);
CREATE INDEX seat_returns_pending ON seat_returns (returned_at, return_at);

-- Cancel-then-rebook pairs: the signature of seat trading.
CREATE TABLE cancel_rebook (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cancelled_booking_id BIGINT NOT NULL REFERENCES bookings(id),
    new_booking_id       BIGINT NOT NULL REFERENCES bookings(id),
    kind                 TEXT NOT NULL CHECK (kind IN ('same_identity', 'seat_handoff')),
    gap_ms               BIGINT NOT NULL,
    recorded_at          TIMESTAMPTZ NOT NULL
);

-- Imported from the population register.
CREATE TABLE persons (
    id_number                TEXT PRIMARY KEY,
    name                     TEXT NOT NULL,
    hukou_city               TEXT NOT NULL,
    residence_permit_city    TEXT,
    residence_permit_expires DATE,
    status                   TEXT NOT NULL CHECK (status IN ('active', 'deceased', 'emigrated', 'cancelled')),
    state_functionary        BOOLEAN NOT NULL,
    imported_at              TIMESTAMPTZ NOT NULL
);

-- Imported from the document register, and later written by Wujing itself.
CREATE TABLE documents (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id_number   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    number      TEXT NOT NULL,
    issued_on   DATE NOT NULL,
    expires_on  DATE NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('valid', 'lost', 'cancelled')),
    imported_at TIMESTAMPTZ NOT NULL,
    UNIQUE (kind, number)
);
CREATE INDEX documents_by_holder ON documents (id_number);
