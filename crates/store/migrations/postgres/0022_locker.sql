-- Keep in step with ../sqlite/0022_locker.sql.
-- Issue 12: the pickup locker (取证机) of a collection site, and the sweeper's reminder.
--
-- A compartment holds at most one document (one `application_id` column), and a document is in
-- at most one compartment (`locker_one_per_application`; NULLs are distinct). It is assigned by
-- a conditional UPDATE in the transaction of the arrival (a free row taken with SKIP LOCKED, so
-- that concurrent arrivals take different compartments), and freed in the transaction that
-- moves the application out of `ready_for_collection`. The one-time pickup code is kept only as
-- a keyed MAC (bound to the applicant's identity key), never in clear; it goes with the
-- compartment's occupant, hence the CHECK: occupied, code and time all set, or none.
CREATE TABLE locker_compartments (
    id              BIGSERIAL PRIMARY KEY,
    hall_id         TEXT NOT NULL REFERENCES halls(id),
    -- What the door says, e.g. `A-07`: unique per hall.
    label           TEXT NOT NULL,
    application_id  BIGINT REFERENCES applications(id),
    code_mac        TEXT,
    assigned_at     TIMESTAMPTZ,
    UNIQUE (hall_id, label),
    CHECK ((application_id IS NULL) = (code_mac IS NULL)
       AND (application_id IS NULL) = (assigned_at IS NULL))
);
CREATE UNIQUE INDEX locker_one_per_application ON locker_compartments (application_id);

-- When the citizen was reminded that the document waits (once per application; the sweeper's
-- conditional UPDATE on NULL makes a second run send nothing).
ALTER TABLE applications ADD COLUMN reminded_at TIMESTAMPTZ;
