-- Bookings are found by code, identity or id, never by slot on a hot path; the recount groups
-- them in one pass instead. Dropping the index spares a page write per booking.
DROP INDEX bookings_by_slot;
