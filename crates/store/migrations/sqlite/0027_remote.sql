-- Keep in step with ../postgres/0027_remote.sql.
-- Issue 13: fully online business (全程网办) — the registry facts it needs, its phone code,
-- the online application (draft → awaiting_payment → submitted, or abandoned), and
-- applications that came without a ticket.

-- The registry: fingerprints on file, serving military, and the registered real-name phone
-- (sealed with the data key like the name; the remote applicant's code goes there).
ALTER TABLE persons ADD COLUMN fingerprints_on_file INTEGER NOT NULL DEFAULT 0
    CHECK (fingerprints_on_file IN (0, 1));
ALTER TABLE persons ADD COLUMN military INTEGER NOT NULL DEFAULT 0 CHECK (military IN (0, 1));
ALTER TABLE persons ADD COLUMN phone TEXT;

-- A phone code for a remote application ('remote'), sent to the registry's phone. SQLite
-- cannot change a CHECK in place: the table is rebuilt with its rows (nothing refers to it).
CREATE TABLE phone_codes_new (
    id          INTEGER PRIMARY KEY,
    phone       TEXT NOT NULL,
    purpose     TEXT NOT NULL CHECK (purpose IN ('book', 'lookup', 'remote')),
    code_hash   TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    client_addr TEXT,
    verified_at INTEGER,
    consumed_at INTEGER
);
INSERT INTO phone_codes_new (id, phone, purpose, code_hash, created_at, expires_at, attempts,
    client_addr, verified_at, consumed_at)
SELECT id, phone, purpose, code_hash, created_at, expires_at, attempts, client_addr,
    verified_at, consumed_at FROM phone_codes;
DROP TABLE phone_codes;
ALTER TABLE phone_codes_new RENAME TO phone_codes;
CREATE INDEX phone_codes_by_phone ON phone_codes (phone, purpose, created_at);
CREATE INDEX phone_codes_by_addr ON phone_codes (client_addr, created_at);

-- An application submitted online has no ticket, window or officer: those become nullable,
-- and a CHECK keeps every row whole: a ticket with its window and officer (accepted at a
-- counter), or none of the three (submitted online). Where it came from is the `channel`
-- column of migration 28 (issue 13's channels), which the online submission sets to 'web'.
--
-- SQLite cannot drop a NOT NULL in place, and `applications` is referenced by the history
-- and the locker: dropping it with rows referring to it would break the foreign keys. So the
-- referring tables are rebuilt too, against the new table, and the old ones dropped children
-- first; renaming `applications_new` then rewrites the new children's references.
CREATE TABLE applications_new (
    id              INTEGER PRIMARY KEY,
    ticket_id       INTEGER UNIQUE REFERENCES tickets(id),
    booking_id      INTEGER REFERENCES bookings(id),
    hall_id         TEXT NOT NULL REFERENCES halls(id),
    business        TEXT NOT NULL,
    identity_key    TEXT NOT NULL,
    status          TEXT NOT NULL,
    missing         TEXT NOT NULL,
    supplement_due  TEXT,
    expedited       INTEGER NOT NULL,
    ready_by        TEXT NOT NULL,
    window_number   INTEGER,
    officer_id      INTEGER REFERENCES staff(id),
    accepted_at     INTEGER NOT NULL,
    refusal_reason  TEXT,
    document_number TEXT,
    -- How the applicant collects: at a counter of the collection site, a pickup locker, by mail.
    collection_method TEXT NOT NULL DEFAULT 'counter' CHECK (collection_method IN ('counter', 'locker', 'mail')),
    updated_at      INTEGER NOT NULL,
    reminded_at     INTEGER,
    production_batch_id INTEGER REFERENCES production_batches(id),
    mail_address    TEXT,
    tracking_number TEXT,
    CHECK (status IN (
        'accepted', 'pending_supplement', 'under_review', 'approved', 'refused',
        'in_production', 'produced', 'dispatched', 'ready_for_collection', 'collected',
        'withdrawn', 'lapsed', 'returned_to_vault'
    )),
    CHECK (status <> 'refused' OR refusal_reason IS NOT NULL),
    CHECK (status NOT IN ('produced', 'dispatched', 'ready_for_collection', 'collected', 'returned_to_vault') OR document_number IS NOT NULL),
    CHECK ((ticket_id IS NOT NULL AND window_number IS NOT NULL AND officer_id IS NOT NULL)
        OR (ticket_id IS NULL AND window_number IS NULL AND officer_id IS NULL))
);
INSERT INTO applications_new (id, ticket_id, booking_id, hall_id, business, identity_key, status,
    missing, supplement_due, expedited, ready_by, window_number, officer_id, accepted_at,
    refusal_reason, document_number, collection_method, updated_at, reminded_at,
    production_batch_id, mail_address, tracking_number)
SELECT id, ticket_id, booking_id, hall_id, business, identity_key, status, missing,
    supplement_due, expedited, ready_by, window_number, officer_id, accepted_at, refusal_reason,
    document_number, collection_method, updated_at, reminded_at, production_batch_id,
    mail_address, tracking_number FROM applications;

CREATE TABLE application_events_new (
    id              INTEGER PRIMARY KEY,
    application_id  INTEGER NOT NULL REFERENCES applications_new(id),
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

CREATE TABLE locker_compartments_new (
    id              INTEGER PRIMARY KEY,
    hall_id         TEXT NOT NULL REFERENCES halls(id),
    -- What the door says, e.g. `A-07`: unique per hall.
    label           TEXT NOT NULL,
    application_id  INTEGER REFERENCES applications_new(id),
    code_mac        TEXT,
    assigned_at     INTEGER,
    UNIQUE (hall_id, label),
    CHECK ((application_id IS NULL) = (code_mac IS NULL)
       AND (application_id IS NULL) = (assigned_at IS NULL))
);
INSERT INTO locker_compartments_new (id, hall_id, label, application_id, code_mac, assigned_at)
SELECT id, hall_id, label, application_id, code_mac, assigned_at FROM locker_compartments;

DROP TABLE application_events;
DROP TABLE locker_compartments;
DROP TABLE applications;
ALTER TABLE applications_new RENAME TO applications;
ALTER TABLE application_events_new RENAME TO application_events;
ALTER TABLE locker_compartments_new RENAME TO locker_compartments;
CREATE UNIQUE INDEX applications_document_number ON applications (document_number);
CREATE INDEX applications_queue ON applications (status, hall_id, expedited, ready_by);
CREATE INDEX applications_batch ON applications (production_batch_id);
CREATE INDEX application_events_of ON application_events (application_id, id);
CREATE UNIQUE INDEX locker_one_per_application ON locker_compartments (application_id);

-- The online application: what the citizen gave, step by step, until it is paid and becomes
-- an application. The identity number, name, registry phone, the photo (a JPEG, base64) and
-- a mail address are sealed with the data key; `identity_key` is the blind key. The browser
-- holds a random secret of which only the SHA-256 is kept (`secret_hash`); `reference` is what
-- the citizen quotes. `photo_check` is the JSON list of the photo's failing limits (`[]`:
-- accepted). Submitted ⇔ an application exists (one, `application_id` unique).
CREATE TABLE online_applications (
    id                INTEGER PRIMARY KEY,
    reference         TEXT NOT NULL UNIQUE,
    secret_hash       TEXT NOT NULL,
    identity_key      TEXT NOT NULL,
    id_number         TEXT NOT NULL,
    name              TEXT NOT NULL,
    phone             TEXT NOT NULL,
    lang              TEXT NOT NULL,
    business          TEXT NOT NULL,
    answers           TEXT NOT NULL,
    photo             TEXT,
    photo_check       TEXT,
    collection_method TEXT CHECK (collection_method IN ('locker', 'mail')),
    mail_address      TEXT,
    fee_yuan          INTEGER,
    status            TEXT NOT NULL
        CHECK (status IN ('draft', 'awaiting_payment', 'submitted', 'abandoned')),
    application_id    INTEGER UNIQUE REFERENCES applications(id),
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    CHECK ((status = 'submitted') = (application_id IS NOT NULL)),
    CHECK (collection_method IS NULL OR collection_method <> 'mail' OR mail_address IS NOT NULL),
    CHECK (status IN ('draft', 'abandoned')
        OR (photo IS NOT NULL AND photo_check = '[]' AND collection_method IS NOT NULL
            AND fee_yuan IS NOT NULL))
);
-- One open online application per person and business.
CREATE UNIQUE INDEX online_applications_one_open ON online_applications (identity_key, business)
    WHERE status IN ('draft', 'awaiting_payment');
