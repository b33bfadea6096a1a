-- Keep in step with ../postgres/0021_used_bookings.sql.
-- Issue 12: a booking checked in at the hall is used; walk-ins take an on-site seat.
--
-- `used_at` is set by the check-in, in the transaction that issues the ticket, with a
-- conditional UPDATE of the booking row (`WHERE status = 'active' AND used_at IS NULL AND
-- slot_id = <the slot the check-in was judged against>`). Cancel and reschedule change the
-- booking only `WHERE status = 'active' AND used_at IS NULL`. The mark is on the booking row
-- rather than found by `NOT EXISTS (SELECT 1 FROM tickets …)` because both sides then write
-- the same row: on PostgreSQL (READ COMMITTED) the second writer waits for the first and
-- re-checks its WHERE against the committed row, whereas a NOT EXISTS over another table is
-- read from the statement's snapshot and would let a reschedule and a check-in both succeed.
-- The status column keeps 'active' (no table rebuild on SQLite, whose CHECK allows only
-- 'active' and 'cancelled'): a used booking still holds its seat, so the seat recount is
-- unchanged; readers see 'used' (`booking_select!`).
ALTER TABLE bookings ADD COLUMN used_at INTEGER;

-- A used booking is not active any more: the one-active-booking rule releases it at check-in,
-- so that the citizen can book the next business (the visit itself is covered by the hall's
-- rule of one open ticket per identity, business and day, checked by the walk-in).
DROP INDEX bookings_one_active;
CREATE UNIQUE INDEX bookings_one_active ON bookings (identity_key, business)
    WHERE status = 'active' AND used_at IS NULL;

-- A walk-in's seat: the on-site slot it was taken from (NULL for appointments, whose seat is
-- their booking's). `taken` counts these too (the invariant recount).
ALTER TABLE tickets ADD COLUMN slot_id INTEGER REFERENCES slots (id);
-- Where the ticket was issued: 'reception' (staff), 'kiosk' (a hall device) or 'self' (the
-- citizen's own check-in). NULL for tickets from before this migration.
ALTER TABLE tickets ADD COLUMN channel TEXT;
