-- The application's life after the counter (issue 12): review, production, collection.
--
-- `status` takes every state of `wujing_domain::application::State`; a refusal carries its
-- reason code and a produced document its number (unique: one number, one document). Every
-- move is one store transaction: a conditional UPDATE on the expected state, a row in
-- `application_events`, and the audit entry. The events table's CHECK lists the legal moves
-- (`application::MOVES`, compared by the store tests), so that the database refuses an illegal
-- move whoever asks; the first event of an application has no `from_state`.
--
-- SQLite cannot change a CHECK in place: the table is rebuilt with its rows (nothing refers to
-- it yet).
CREATE TABLE applications_new (
    id              INTEGER PRIMARY KEY,
    ticket_id       INTEGER NOT NULL UNIQUE REFERENCES tickets(id),
    booking_id      INTEGER REFERENCES bookings(id),
    hall_id         TEXT NOT NULL REFERENCES halls(id),
    business        TEXT NOT NULL,
    identity_key    TEXT NOT NULL,
    status          TEXT NOT NULL,
    missing         TEXT NOT NULL,
    supplement_due  TEXT,
    expedited       INTEGER NOT NULL,
    ready_by        TEXT NOT NULL,
    window_number   INTEGER NOT NULL,
    officer_id      INTEGER NOT NULL REFERENCES staff(id),
    accepted_at     INTEGER NOT NULL,
    refusal_reason  TEXT,
    document_number TEXT,
    -- How the applicant collects: at a counter of the collection site, a pickup locker, by mail.
    collection_method TEXT NOT NULL DEFAULT 'counter' CHECK (collection_method IN ('counter', 'locker', 'mail')),
    updated_at      INTEGER NOT NULL,
    CHECK (status IN (
        'accepted', 'pending_supplement', 'under_review', 'approved', 'refused',
        'in_production', 'produced', 'dispatched', 'ready_for_collection', 'collected',
        'withdrawn', 'lapsed', 'returned_to_vault'
    )),
    CHECK (status <> 'refused' OR refusal_reason IS NOT NULL),
    CHECK (status NOT IN ('produced', 'dispatched', 'ready_for_collection', 'collected', 'returned_to_vault') OR document_number IS NOT NULL)
);
INSERT INTO applications_new (id, ticket_id, booking_id, hall_id, business, identity_key, status,
    missing, supplement_due, expedited, ready_by, window_number, officer_id, accepted_at, updated_at)
SELECT id, ticket_id, booking_id, hall_id, business, identity_key, status, missing, supplement_due,
    expedited, ready_by, window_number, officer_id, accepted_at, accepted_at FROM applications;
DROP TABLE applications;
ALTER TABLE applications_new RENAME TO applications;
CREATE UNIQUE INDEX applications_document_number ON applications (document_number);
-- The review queue: a state, a hall, urgent first, then the due date.
CREATE INDEX applications_queue ON applications (status, hall_id, expedited, ready_by);

CREATE TABLE application_events (
    id              INTEGER PRIMARY KEY,
    application_id  INTEGER NOT NULL REFERENCES applications(id),
    from_state      TEXT,
    to_state        TEXT NOT NULL,
    at              INTEGER NOT NULL,
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
