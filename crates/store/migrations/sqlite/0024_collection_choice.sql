-- Keep in step with ../postgres/0024_collection_choice.sql.
-- Issue 12: how the applicant receives the document, chosen at acceptance or later online.
--
-- `mail_address` is sealed with the data key like a booking's name (the port speaks clear
-- text; the adapters seal it); NULL unless the method is mail. `tracking_number` is the
-- carrier's (EMS) number, set with the dispatch of a mailed document; not personal data.
ALTER TABLE applications ADD COLUMN mail_address TEXT;
ALTER TABLE applications ADD COLUMN tracking_number TEXT;

-- A walk-in's ticket keeps no identity number, so the registry's answer that matters for its
-- due date is kept at issue: 'cross_province' (户籍 outside the province, 20 days) or
-- 'home_province'; NULL for an appointment (its booking has the identity) and for a
-- foreigner.
ALTER TABLE tickets ADD COLUMN hukou_scope TEXT;

-- A mailed document is delivered by the carrier: dispatched → collected, with no collection
-- site in between. SQLite cannot change a CHECK in place: the history is rebuilt with its rows
-- (nothing refers to it).
CREATE TABLE application_events_new (
    id              INTEGER PRIMARY KEY,
    application_id  INTEGER NOT NULL REFERENCES applications(id),
    from_state      TEXT,
    to_state        TEXT NOT NULL,
    at              INTEGER NOT NULL,
    -- Who moved it: `staff:<id>`, `device:<id>` or `system:<name>`, never a citizen's data.
    actor           TEXT NOT NULL,
    note            TEXT NOT NULL,
    CHECK ((from_state IS NULL AND to_state IN ('accepted', 'pending_supplement'))
        OR (from_state IS NOT NULL AND from_state || '>' || to_state IN (
        'accepted>pending_supplement', 'accepted>under_review', 'accepted>withdrawn',
        'pending_supplement>accepted', 'pending_supplement>lapsed',
        'pending_supplement>withdrawn', 'under_review>pending_supplement',
        'under_review>approved', 'under_review>refused', 'under_review>withdrawn',
        'approved>in_production', 'in_production>produced', 'produced>dispatched',
        'dispatched>ready_for_collection', 'dispatched>collected',
        'ready_for_collection>collected',
        'ready_for_collection>returned_to_vault', 'returned_to_vault>collected'
        )))
);
INSERT INTO application_events_new (id, application_id, from_state, to_state, at, actor, note)
SELECT id, application_id, from_state, to_state, at, actor, note FROM application_events;
DROP TABLE application_events;
ALTER TABLE application_events_new RENAME TO application_events;
CREATE INDEX application_events_of ON application_events (application_id, id);
