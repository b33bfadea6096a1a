-- Keep in step with ../postgres/0037_kiosk_modes.sql.
-- Issue 17 (the kiosk modes), 取证机: a compartment whose door did not open when a citizen's
-- code was right is jammed until staff clear it (docs/KIOSK.md §7.6). Its document stays where
-- it is, collectable at the counter; no new document is put in it while it is jammed.
-- SQLite cannot add a CHECK to an existing table; the store writes both columns together.
ALTER TABLE locker_compartments ADD COLUMN jammed_at INTEGER;
-- `device:<id>`: the locker that reported the jam.
ALTER TABLE locker_compartments ADD COLUMN jammed_by TEXT;
