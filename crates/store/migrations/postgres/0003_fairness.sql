-- Request counters per key and fixed one-minute window, shared by every app server that uses
-- this database. Keys are hashes of an identity, a phone or a client address, never the
-- values themselves; rows older than an hour are deleted by the sweeper.
CREATE TABLE rate_limits (
    key          TEXT NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    hits         INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
);

-- Where a booking was confirmed from: many identities from one address is a scalping signal.
ALTER TABLE bookings ADD COLUMN client_addr TEXT;
