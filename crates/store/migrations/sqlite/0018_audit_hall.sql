-- Security findings 10 and 14.
--
-- The hall an audit entry concerns (counter actions, check-in, hall settings, refunds, urgent
-- decisions, alerts, lookups of a booking at a hall), so that a leader or supervisor scoped to
-- halls reads only the entries of those halls. NULL for organisation-wide actions (staff
-- accounts, sign-ins, …), which only organisation-wide roles read. Not covered by the entry's
-- hash (the chain's inputs are unchanged): it decides who may read an entry, not what the entry
-- records. Whoever edits it in the database can hide an entry from a hall's reader or show it
-- to another hall's, but not change or remove what the chain proves.
-- ADD COLUMN is not an UPDATE: the append-only triggers stay as they are.
ALTER TABLE audit_log ADD COLUMN hall_id TEXT;
CREATE INDEX audit_by_hall ON audit_log (hall_id, seq);

-- A phone code is good for one use: the action it authorises (a booking, a lottery entry,
-- finding one's bookings) sets `consumed_at` with a conditional UPDATE (`WHERE consumed_at IS
-- NULL`) in that action's transaction, so two uses cannot both succeed.
ALTER TABLE phone_codes ADD COLUMN consumed_at INTEGER;
