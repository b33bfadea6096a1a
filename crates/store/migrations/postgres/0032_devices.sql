-- Keep in step with ../sqlite/0032_devices.sql.
-- Issue 16: machines as first-class devices (M8, M11). See docs/KIOSK.md.

-- What a device is. Until now a device could do what any other did; every existing one was
-- registered for the hall's check-in screen (`/kiosk`), the first device page there was, so it
-- becomes a check-in kiosk. Rating terminals and pickup lockers registered before are
-- registered again with their kind (a rating terminal needs its window, which was never
-- recorded).
ALTER TABLE devices ADD COLUMN kind TEXT NOT NULL DEFAULT 'check_in'
    CHECK (kind IN ('bzy', 'qtt', 'wej', 'zjt', 'tbj', 'qzj', 'sqy', 'yyj', 'check_in', 'rating_terminal', 'display_board'));
-- The window a 前台通 or a rating terminal stands at; no other kind has one.
ALTER TABLE devices ADD COLUMN window_number INTEGER
    CHECK (window_number IS NULL OR window_number BETWEEN 1 AND 999);
ALTER TABLE devices ADD CONSTRAINT devices_window
    CHECK ((kind IN ('qtt', 'rating_terminal')) = (window_number IS NOT NULL));

-- Pairing (docs/KIOSK.md, "Pairing"): a kiosk asks for a code and shows it; an administrator
-- confirms it for a device; the kiosk, polling with its secret, then receives a fresh token.
-- Only hashes are kept; a row lives ten minutes, and is deleted when the kiosk takes its token.
CREATE TABLE device_pairings (
    id           BIGSERIAL PRIMARY KEY,
    code_hash    TEXT NOT NULL UNIQUE,
    secret_hash  TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    device_id    BIGINT REFERENCES devices(id),
    confirmed_at TIMESTAMPTZ,
    CHECK ((device_id IS NULL) = (confirmed_at IS NULL))
);

-- The last heartbeat of each device, with the state of each peripheral (JSON object
-- {peripheral: state}), and when the device last served a citizen.
CREATE TABLE device_status (
    device_id           BIGINT PRIMARY KEY REFERENCES devices(id),
    last_seen           TIMESTAMPTZ,
    peripherals         TEXT NOT NULL DEFAULT '{}',
    software            TEXT,
    last_transaction_at TIMESTAMPTZ
);

-- A device's alerts: `silent` (no heartbeat past the threshold) or `fault:<peripheral>`. At
-- most one open alert per device and reason: raising is an insert that does nothing when one is
-- open, so a fault reported by every heartbeat pages once.
CREATE TABLE device_alerts (
    id           BIGSERIAL PRIMARY KEY,
    device_id    BIGINT NOT NULL REFERENCES devices(id),
    hall_id      TEXT NOT NULL REFERENCES halls(id),
    reason       TEXT NOT NULL,
    state        TEXT NOT NULL,
    raised_at    TIMESTAMPTZ NOT NULL,
    escalated_at TIMESTAMPTZ,
    cleared_at   TIMESTAMPTZ,
    -- `device:<id>` (its heartbeat reported it working again) or `staff:<id>`.
    cleared_by   TEXT,
    note         TEXT,
    CHECK ((cleared_at IS NULL) = (cleared_by IS NULL))
);
CREATE UNIQUE INDEX device_alerts_one_open ON device_alerts (device_id, reason) WHERE cleared_at IS NULL;
CREATE INDEX device_alerts_by_hall ON device_alerts (hall_id, raised_at);

-- Uses per local day, device and mode (check_in, rate, locker, …), for the statistics issue:
-- one counter row, moved by an atomic upsert.
CREATE TABLE device_usage (
    day       DATE NOT NULL,
    device_id BIGINT NOT NULL REFERENCES devices(id),
    mode      TEXT NOT NULL,
    uses      INTEGER NOT NULL CHECK (uses > 0),
    PRIMARY KEY (day, device_id, mode)
);
