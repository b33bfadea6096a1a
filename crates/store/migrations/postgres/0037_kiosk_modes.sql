-- Keep in step with ../sqlite/0037_kiosk_modes.sql.
-- Issue 17 (the kiosk modes), 取证机: a compartment whose door did not open when a citizen's
-- code was right is jammed until staff clear it (docs/KIOSK.md §7.6). Its document stays where
-- it is, collectable at the counter; no new document is put in it while it is jammed.
ALTER TABLE locker_compartments ADD COLUMN jammed_at TIMESTAMPTZ;
-- `device:<id>`: the locker that reported the jam.
ALTER TABLE locker_compartments ADD COLUMN jammed_by TEXT;
ALTER TABLE locker_compartments ADD CONSTRAINT locker_jam_whole
    CHECK ((jammed_at IS NULL) = (jammed_by IS NULL));
