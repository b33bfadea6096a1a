-- Keep in step with ../postgres/0029_foreigners.sql.
-- Issue 14 §2: a foreigner who renews their passport stays one person. An officer records that
-- passport B replaces passport A; from then on the person's bookings are kept under one person
-- key (the first passport's identity key), so the partial unique index bookings_one_active
-- holds across both passports, and the history is found through every passport of the person.
--
-- Keys are the blind identity keys (`P:` + a keyed index), never a passport number.
CREATE TABLE foreign_passports (
    passport_key TEXT PRIMARY KEY,
    -- The key the person's bookings are stored under: the first passport's.
    person_key   TEXT NOT NULL,
    -- The passport this one replaced; NULL for the person's first passport.
    replaces_key TEXT,
    -- The officer who recorded the link (NULL on the first passport's own row).
    linked_by    INTEGER REFERENCES staff (id),
    linked_at    INTEGER NOT NULL,
    CHECK (passport_key LIKE 'P:%' AND person_key LIKE 'P:%'),
    CHECK (replaces_key IS NULL OR (replaces_key <> passport_key AND linked_by IS NOT NULL))
);
CREATE INDEX foreign_passports_person ON foreign_passports (person_key);
-- A passport is replaced by one passport at most.
CREATE UNIQUE INDEX foreign_passports_one_successor ON foreign_passports (replaces_key)
    WHERE replaces_key IS NOT NULL;
