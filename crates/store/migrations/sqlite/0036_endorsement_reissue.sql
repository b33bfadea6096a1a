-- Keep in step with ../postgres/0036_endorsement_reissue.sql.
-- Issue 17: the 办证易 kiosk's self-service re-issue of HK/Macao tourist endorsements
-- (RULES.md §6, docs/KIOSK.md §7.1).

-- A re-issue at a kiosk, from the face match to the card written:
--   open    (face matched; the choice and its payment under way)
--   signed  (paid; the endorsements recorded and the payload signed; the card being written)
--   written (the card read back the payload)           -- done
--   failed  (refused, declined, mismatched, abandoned) -- done; a payment taken is refunded
-- One re-issue per permit at a time: a partial unique index over the live states.
CREATE TABLE endorsement_reissues (
    id             INTEGER PRIMARY KEY,
    device_id      INTEGER NOT NULL REFERENCES devices(id),
    hall_id        TEXT NOT NULL REFERENCES halls(id),
    holder_key     TEXT NOT NULL,
    permit_number  TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('open', 'signed', 'written', 'failed')),
    kind           TEXT CHECK (kind IS NULL OR kind IN ('G', 'L')),
    destinations   TEXT,
    option         TEXT,
    amount_yuan    INTEGER CHECK (amount_yuan IS NULL OR amount_yuan > 0),
    payload_sha256 TEXT,
    read_back_sha256 TEXT,
    failure        TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    CHECK ((status = 'failed') = (failure IS NOT NULL)),
    CHECK (status IN ('open', 'failed') OR payload_sha256 IS NOT NULL),
    CHECK (status <> 'written' OR read_back_sha256 = payload_sha256)
);
CREATE UNIQUE INDEX endorsement_reissues_one_live
    ON endorsement_reissues (permit_number) WHERE status IN ('open', 'signed');

-- The HK/Macao endorsements on record: imported with the registry (the permits' history the
-- kiosk rules read: a first endorsement goes to a counter) and those a kiosk wrote. Keyed like
-- the registry by the holder's blind index; the permit number is the document's, as in
-- `documents`.
CREATE TABLE hkm_endorsements (
    id            INTEGER PRIMARY KEY,
    holder_key    TEXT NOT NULL,
    permit_number TEXT NOT NULL,
    destination   TEXT NOT NULL CHECK (destination IN ('hk', 'macau')),
    kind          TEXT NOT NULL CHECK (kind IN ('T', 'S', 'L', 'G', 'Q', 'D')),
    option        TEXT NOT NULL,
    issued_on     TEXT NOT NULL,
    valid_until   TEXT NOT NULL,
    -- `registry` (imported) or `kiosk` (written by a re-issue, which it names).
    source        TEXT NOT NULL CHECK (source IN ('registry', 'kiosk')),
    reissue_id    INTEGER REFERENCES endorsement_reissues(id),
    recorded_at   INTEGER NOT NULL,
    CHECK ((source = 'kiosk') = (reissue_id IS NOT NULL))
);
CREATE INDEX hkm_endorsements_by_holder ON hkm_endorsements (holder_key);
-- An import is repeatable: the same endorsement imported twice is one row.
CREATE UNIQUE INDEX hkm_endorsements_imported
    ON hkm_endorsements (permit_number, destination, kind, issued_on) WHERE source = 'registry';
