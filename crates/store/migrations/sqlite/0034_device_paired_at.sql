-- Keep in step with ../postgres/0034_device_paired_at.sql.
-- Issue 16: a device that never sent a heartbeat is watched too (docs/KIOSK.md, "Alerts"): it
-- is silent from when it was paired (its token handed to the kiosk), or, never paired, from when
-- it was registered. Devices paired before this migration count from their registration.
ALTER TABLE devices ADD COLUMN paired_at INTEGER;
