-- Keep in step with ../sqlite/0027_remote.sql.
-- Issue 13: fully online business (全程网办) — the registry facts it needs, its phone code,
-- the online application (draft → awaiting_payment → submitted, or abandoned), and
-- applications that came without a ticket.

-- The registry: fingerprints on file, serving military, and the registered real-name phone
-- (sealed with the data key like the name; the remote applicant's code goes there).
ALTER TABLE persons ADD COLUMN fingerprints_on_file BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE persons ADD COLUMN military BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE persons ADD COLUMN phone TEXT;

-- A phone code for a remote application ('remote'), sent to the registry's phone.
ALTER TABLE phone_codes DROP CONSTRAINT phone_codes_purpose_check;
ALTER TABLE phone_codes ADD CONSTRAINT phone_codes_purpose_check
    CHECK (purpose IN ('book', 'lookup', 'remote'));

-- An application submitted online has no ticket, window or officer: those become nullable,
-- and a CHECK keeps every row whole: a ticket with its window and officer (accepted at a
-- counter), or none of the three (submitted online). Where it came from is the `channel`
-- column of migration 28 (issue 13's channels), which the online submission sets to 'web'.
ALTER TABLE applications ALTER COLUMN ticket_id DROP NOT NULL;
ALTER TABLE applications ALTER COLUMN window_number DROP NOT NULL;
ALTER TABLE applications ALTER COLUMN officer_id DROP NOT NULL;
ALTER TABLE applications ADD CONSTRAINT applications_ticket_or_remote
    CHECK ((ticket_id IS NOT NULL AND window_number IS NOT NULL AND officer_id IS NOT NULL)
        OR (ticket_id IS NULL AND window_number IS NULL AND officer_id IS NULL));

-- The online application: what the citizen gave, step by step, until it is paid and becomes
-- an application. The identity number, name, registry phone, the photo (a JPEG, base64) and
-- a mail address are sealed with the data key; `identity_key` is the blind key. The browser
-- holds a random secret of which only the SHA-256 is kept (`secret_hash`); `reference` is what
-- the citizen quotes. `photo_check` is the JSON list of the photo's failing limits (`[]`:
-- accepted). Submitted ⇔ an application exists (one, `application_id` unique).
CREATE TABLE online_applications (
    id                BIGSERIAL PRIMARY KEY,
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
    fee_yuan          BIGINT,
    status            TEXT NOT NULL
        CHECK (status IN ('draft', 'awaiting_payment', 'submitted', 'abandoned')),
    application_id    BIGINT UNIQUE REFERENCES applications(id),
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    CHECK ((status = 'submitted') = (application_id IS NOT NULL)),
    CHECK (collection_method IS NULL OR collection_method <> 'mail' OR mail_address IS NOT NULL),
    CHECK (status IN ('draft', 'abandoned')
        OR (photo IS NOT NULL AND photo_check = '[]' AND collection_method IS NOT NULL
            AND fee_yuan IS NOT NULL))
);
-- One open online application per person and business.
CREATE UNIQUE INDEX online_applications_one_open ON online_applications (identity_key, business)
    WHERE status IN ('draft', 'awaiting_payment');
