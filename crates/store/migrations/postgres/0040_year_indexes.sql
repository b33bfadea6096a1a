-- Reads that start from slots or from a period, over a year of rows.
--
-- Bookings by slot again (migration 8 dropped it for the release minute): the capacity
-- advisor's coming days and the daily roll-up of bookings scanned every booking without it,
-- 1-2 s per read at 4.5 million. The release minute's slots are the newest, so its bookings
-- land at the index's right end, in pages each commit writes anyway (docs/BENCHMARKS.md has
-- the before and after).
CREATE INDEX bookings_by_slot ON bookings (slot_id);

-- The hourly retention pass runs on SQLite's one writer: it must find the rows still holding
-- personal data without scanning a year of tickets, applications and holds (12 s at 5 million
-- applications, every hour, with every booking waiting behind it). Each partial index holds
-- only the rows not yet erased, so the pass reads just what it changes.
CREATE INDEX tickets_to_erase ON tickets (day) WHERE identity_key NOT LIKE 'anon:%';
CREATE INDEX applications_to_erase ON applications (updated_at)
    WHERE identity_key NOT LIKE 'anon:%' AND status IN ('collected', 'refused', 'withdrawn', 'lapsed');
CREATE INDEX holds_addressed ON holds (created_at) WHERE client_addr IS NOT NULL;
