-- Personal data sealed at rest (issue 11, finding 8). Identity numbers, names and phones are
-- stored AES-256-GCM sealed with keys kept outside the database; where the database must
-- compare them it compares a keyed blind index instead: a booking's phone (the shared-phone
-- signal) and an outbox recipient (a citizen's messages). Rows written before this version
-- are sealed by the binary on its first start with keys (`seal_legacy`), which fills these
-- columns; until then they are NULL.
ALTER TABLE bookings ADD COLUMN phone_index TEXT;
ALTER TABLE outbox ADD COLUMN recipient_index TEXT;
-- Unexpired phone codes were counted by clear phone: they expire within minutes anyway.
DELETE FROM phone_codes;
-- The slip-link secret moves to the key file: a copy of the database must not forge links.
DELETE FROM secrets WHERE name = 'slip_links';
-- Rows already stored are sealed by the binary right after this migration, in the same run
-- (it has the keys; SQL does not): this mark says it is still to do.
INSERT INTO scan_marks (name, at) VALUES ('seal_legacy', TIMESTAMPTZ '1970-01-01 00:00:00+00');
