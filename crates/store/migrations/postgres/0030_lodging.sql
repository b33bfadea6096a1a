-- Keep in step with ../sqlite/0030_lodging.sql.
-- Issue 14 §3: temporary accommodation registration (境外人员住宿登记) — hotels registered by
-- their police station, their page's sessions, and the registrations (by a hotel, or online by a
-- private host or the foreigner), which the station of the area works from its worklist.
-- Independent of migration 29.

-- A hotel: registered by the police station (a site of kind police_station) whose area it is
-- in. Its property-management system authenticates with a bearer token (`wjhotel_…`) and its
-- front desk signs in to the small-hotel page with `code` and a password; only the token's
-- SHA-256 and the password's argon2id hash are kept. A revoked hotel is refused both ways.
CREATE TABLE lodging_hotels (
    id            BIGSERIAL PRIMARY KEY,
    code          TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    address       TEXT NOT NULL,
    site_id       TEXT NOT NULL REFERENCES halls(id),
    password_hash TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    created_at    TIMESTAMPTZ NOT NULL,
    revoked_at    TIMESTAMPTZ
);
CREATE INDEX lodging_hotels_by_site ON lodging_hotels (site_id);

-- The small-hotel page's sessions (the token's SHA-256; the CSRF token echoed by its forms).
CREATE TABLE lodging_hotel_sessions (
    token_hash TEXT PRIMARY KEY,
    hotel_id   BIGINT NOT NULL REFERENCES lodging_hotels(id),
    csrf_token TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

-- A registration. `record` is the guest, the stay's details and the host, as JSON sealed with
-- the data key; `passport_key` is the blind index of `P:<nationality>:<number>`, the one thing
-- the database compares (duplicates). What the worklist filters on stays in clear columns:
-- the station (`site_id`), the check-in, the nights, the last day the visa or permit allows,
-- lateness, departure and verification — none of them names a person.
-- A hotel's registration is idempotent per guest stay: UNIQUE (hotel_id, stay_id), the
-- property-management system's own stay id; `request_hash` (SHA-256 of the normalised
-- registration) tells a replay (same answer) from a different registration under the same id.
-- A private host's (source 'host') is verified by the station: pending → accepted | queried;
-- its registrant proves ownership with the reference and a code of which `proof_hash` is the
-- SHA-256. After the retention period the sweep anonymises a row: `record` emptied,
-- `passport_key` replaced by `anon:<id>`, `anonymised_at` set.
CREATE TABLE lodging_registrations (
    id             BIGSERIAL PRIMARY KEY,
    reference      TEXT NOT NULL UNIQUE,
    source         TEXT NOT NULL CHECK (source IN ('hotel', 'host')),
    hotel_id       BIGINT REFERENCES lodging_hotels(id),
    stay_id        TEXT,
    request_hash   TEXT NOT NULL,
    proof_hash     TEXT,
    site_id        TEXT NOT NULL REFERENCES halls(id),
    passport_key   TEXT NOT NULL,
    nationality    TEXT NOT NULL,
    record         TEXT NOT NULL,
    check_in       TIMESTAMPTZ NOT NULL,
    first_night    DATE NOT NULL,
    departure      DATE,
    stay_until     DATE NOT NULL,
    registered_at  TIMESTAMPTZ NOT NULL,
    lateness       TEXT NOT NULL CHECK (lateness IN ('on_time', 'warning_only', 'late')),
    checked_out_at TIMESTAMPTZ,
    left_on        DATE,
    verification   TEXT CHECK (verification IN ('pending', 'accepted', 'queried')),
    station_note   TEXT NOT NULL DEFAULT '',
    verified_by    TEXT,
    anonymised_at  TIMESTAMPTZ,
    UNIQUE (hotel_id, stay_id),
    CHECK ((source = 'hotel') = (hotel_id IS NOT NULL AND stay_id IS NOT NULL)),
    CHECK ((source = 'host') = (verification IS NOT NULL AND proof_hash IS NOT NULL)),
    CHECK ((checked_out_at IS NULL) = (left_on IS NULL)),
    CHECK (left_on IS NULL OR left_on >= first_night),
    CHECK (anonymised_at IS NULL OR record = '')
);
CREATE INDEX lodging_by_site ON lodging_registrations (site_id, check_in);
CREATE INDEX lodging_by_passport ON lodging_registrations (passport_key);
CREATE INDEX lodging_by_check_in ON lodging_registrations (check_in);
