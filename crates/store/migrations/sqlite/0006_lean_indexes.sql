-- Every index a booking or hold touches is a page written at each commit, so the hot tables
-- keep only what is searched: cancelled bookings by identity (cancel-rebook detection) and
-- live holds by expiry (the sweeper).
DROP INDEX bookings_by_identity;
CREATE INDEX bookings_cancelled_by_identity ON bookings (identity_key, business, cancelled_at)
    WHERE status = 'cancelled';
DROP INDEX holds_live;
CREATE INDEX holds_live ON holds (expires_at) WHERE state = 'held';
