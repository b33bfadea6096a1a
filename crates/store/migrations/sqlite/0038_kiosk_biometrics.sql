-- Keep in step with ../postgres/0038_kiosk_biometrics.sql.
-- Issue 17: the 申请易 kiosk's applications and their biometrics, and the 前台通's card reads.

-- An application made at a 申请易 kiosk (no ticket, no window, no officer; channel
-- 'self_service'): the applicant as the card reader read them (sealed like a booking's), the
-- machine, the guardian's consent to fingerprints (under 16), and how the signature and the
-- fingerprints went. `biometrics_deleted_at`: when the photo, prints and signature were deleted
-- (the document produced, or the retention passed).
CREATE TABLE kiosk_applications (
    application_id        INTEGER PRIMARY KEY REFERENCES applications(id),
    device_id             INTEGER NOT NULL REFERENCES devices(id),
    id_number             TEXT NOT NULL,
    name                  TEXT NOT NULL,
    guardian_consent      INTEGER NOT NULL CHECK (guardian_consent IN (0, 1)),
    fingerprints          TEXT NOT NULL CHECK (fingerprints IN ('taken', 'not_taken')),
    signature             TEXT NOT NULL CHECK (signature IN ('signed', 'unable', 'not_asked')),
    created_at            INTEGER NOT NULL,
    biometrics_deleted_at INTEGER
);
CREATE INDEX kiosk_applications_to_delete ON kiosk_applications (created_at)
    WHERE biometrics_deleted_at IS NULL;

-- The biometrics themselves, one row per part: the photo, each finger's print, the signature.
-- `data` is the base64 of the image, sealed with the data key; `quality` a print's NFIQ 2 score.
CREATE TABLE application_biometrics (
    application_id INTEGER NOT NULL REFERENCES kiosk_applications(application_id),
    part           TEXT NOT NULL CHECK (part IN ('photo', 'signature',
        'right_thumb', 'right_index', 'right_middle', 'right_ring', 'right_little',
        'left_thumb', 'left_index', 'left_middle', 'left_ring', 'left_little')),
    quality        INTEGER CHECK (quality BETWEEN 0 AND 100),
    data           TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (application_id, part),
    CHECK ((part IN ('photo', 'signature')) = (quality IS NULL))
);

-- What a 前台通 read from the card at its window, for the ticket served there (sealed), until
-- the next read at that window or the ticket is no longer served: one row per window.
CREATE TABLE counter_card_reads (
    hall_id       TEXT NOT NULL REFERENCES halls(id),
    window_number INTEGER NOT NULL,
    ticket_id     INTEGER NOT NULL REFERENCES tickets(id),
    id_number     TEXT NOT NULL,
    name          TEXT NOT NULL,
    read_at       INTEGER NOT NULL,
    PRIMARY KEY (hall_id, window_number)
);
