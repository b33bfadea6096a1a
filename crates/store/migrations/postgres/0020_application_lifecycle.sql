-- The application's life after the counter (issue 12): review, production, collection.
--
-- `status` takes every state of `wujing_domain::application::State`; a refusal carries its
-- reason code and a produced document its number (unique: one number, one document). Every
-- move is one store transaction: a conditional UPDATE on the expected state, a row in
-- `application_events`, and the audit entry. The events table's CHECK lists the legal moves
-- (`application::MOVES`, compared by the store tests), so that the database refuses an illegal
-- move whoever asks; the first event of an application has no `from_state`.

ALTER TABLE applications DROP CONSTRAINT applications_status_check;
ALTER TABLE applications ADD CONSTRAINT applications_status_check CHECK (status IN (
        'accepted', 'pending_supplement', 'under_review', 'approved', 'refused',
        'in_production', 'produced', 'dispatched', 'ready_for_collection', 'collected',
        'withdrawn', 'lapsed', 'returned_to_vault'
));
ALTER TABLE applications ADD COLUMN refusal_reason TEXT;
ALTER TABLE applications ADD COLUMN document_number TEXT;
-- How the applicant collects: at a counter of the collection site, a pickup locker, by mail.
ALTER TABLE applications ADD COLUMN collection_method TEXT NOT NULL DEFAULT 'counter'
    CHECK (collection_method IN ('counter', 'locker', 'mail'));
ALTER TABLE applications ADD COLUMN updated_at TIMESTAMPTZ;
UPDATE applications SET updated_at = accepted_at;
ALTER TABLE applications ALTER COLUMN updated_at SET NOT NULL;
ALTER TABLE applications ADD CONSTRAINT applications_refusal_reason
    CHECK (status <> 'refused' OR refusal_reason IS NOT NULL);
ALTER TABLE applications ADD CONSTRAINT applications_document_number_set
    CHECK (status NOT IN ('produced', 'dispatched', 'ready_for_collection', 'collected', 'returned_to_vault') OR document_number IS NOT NULL);
CREATE UNIQUE INDEX applications_document_number ON applications (document_number);
-- The review queue: a state, a hall, urgent first, then the due date.
CREATE INDEX applications_queue ON applications (status, hall_id, expedited, ready_by);

CREATE TABLE application_events (
    id              BIGSERIAL PRIMARY KEY,
    application_id  BIGINT NOT NULL REFERENCES applications(id),
    from_state      TEXT,
    to_state        TEXT NOT NULL,
    at              TIMESTAMPTZ NOT NULL,
    -- Who moved it: `staff:<id>` (a system principal later), never a citizen's data.
    actor           TEXT NOT NULL,
    note            TEXT NOT NULL,
    CHECK ((from_state IS NULL AND to_state IN ('accepted', 'pending_supplement'))
        OR (from_state IS NOT NULL AND from_state || '>' || to_state IN (
        'accepted>pending_supplement', 'accepted>under_review', 'accepted>withdrawn',
        'pending_supplement>accepted', 'pending_supplement>lapsed',
        'pending_supplement>withdrawn', 'under_review>pending_supplement',
        'under_review>approved', 'under_review>refused', 'under_review>withdrawn',
        'approved>in_production', 'in_production>produced', 'produced>dispatched',
        'dispatched>ready_for_collection', 'ready_for_collection>collected',
        'ready_for_collection>returned_to_vault', 'returned_to_vault>collected'
        )))
);
CREATE INDEX application_events_of ON application_events (application_id, id);
-- Applications accepted before this version get their first event.
INSERT INTO application_events (application_id, from_state, to_state, at, actor, note)
SELECT id, NULL, status, accepted_at, 'staff:' || officer_id, '' FROM applications ORDER BY id;
