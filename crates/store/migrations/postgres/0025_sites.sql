-- Keep in step with ../sqlite/0025_sites.sql.
-- Issue 13 §2: sites. A hall is one kind of site; service points, police stations (派出所受理点)
-- and, later, 24-hour self-service points book, queue and accept alike. The table keeps its
-- name (every hall_id refers to it); the API and pages call its rows sites.

-- Every existing site is a hall (the default).
ALTER TABLE halls ADD COLUMN kind TEXT NOT NULL DEFAULT 'hall'
    CONSTRAINT halls_kind_check CHECK (kind IN ('hall', 'service_point', 'police_station', 'self_service'));

-- The catalogue's businesses a site offers. Codes are checked against the catalogue by the use
-- case (the catalogue is data shipped with the binary, not a table).
CREATE TABLE site_businesses (
    hall_id  TEXT NOT NULL REFERENCES halls(id),
    business TEXT NOT NULL,
    PRIMARY KEY (hall_id, business)
);

-- Existing halls offer what they offered before sites had a list: every business of the
-- catalogue at this version, the foreigners' ones only where the hall serves foreigners.
-- Businesses added to the catalogue later are offered where an administrator adds them.
INSERT INTO site_businesses (hall_id, business)
SELECT h.id, c.code
  FROM halls h
  CROSS JOIN (VALUES
    ('passport_first', FALSE),
    ('passport_renewal', FALSE),
    ('passport_replacement', FALSE),
    ('hkm_permit', FALSE),
    ('hkm_endorsement_t', FALSE),
    ('hkm_endorsement_s', FALSE),
    ('hkm_endorsement_l', FALSE),
    ('hkm_endorsement_g', FALSE),
    ('hkm_endorsement_q', FALSE),
    ('hkm_endorsement_d', FALSE),
    ('tw_permit', FALSE),
    ('tw_endorsement_l', FALSE),
    ('tw_endorsement_g', FALSE),
    ('tw_endorsement_t', FALSE),
    ('tw_endorsement_d', FALSE),
    ('tw_endorsement_y', FALSE),
    ('tw_endorsement_f', FALSE),
    ('tw_endorsement_x', FALSE),
    ('tw_endorsement_c', FALSE),
    ('tw_endorsement_q', FALSE),
    ('foreign_visa_extension', TRUE),
    ('foreign_residence_permit', TRUE)
  ) AS c(code, foreign_only)
 WHERE NOT c.foreign_only OR h.serves_foreigners;

-- A site offers only its businesses, in the database as well as in the use case: a seat held,
-- a booking made (a lottery award has no hold) or moved, and a ticket issued (a check-in, a
-- walk-in) for a business the site does not offer are refused with the error's code as message (the adapters map it to the API's
-- `business_not_offered`).
CREATE FUNCTION business_offered_at_slot() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM slots s JOIN site_businesses o ON o.hall_id = s.hall_id
                    WHERE s.id = NEW.slot_id AND o.business = NEW.business) THEN
        RAISE EXCEPTION 'business_not_offered' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE FUNCTION business_offered_at_hall() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM site_businesses o
                    WHERE o.hall_id = NEW.hall_id AND o.business = NEW.business) THEN
        RAISE EXCEPTION 'business_not_offered' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER holds_business_offered BEFORE INSERT ON holds
    FOR EACH ROW EXECUTE FUNCTION business_offered_at_slot();
CREATE TRIGGER bookings_business_offered_insert BEFORE INSERT ON bookings
    FOR EACH ROW EXECUTE FUNCTION business_offered_at_slot();
CREATE TRIGGER bookings_business_offered BEFORE UPDATE OF slot_id ON bookings
    FOR EACH ROW EXECUTE FUNCTION business_offered_at_slot();
CREATE TRIGGER tickets_business_offered BEFORE INSERT ON tickets
    FOR EACH ROW EXECUTE FUNCTION business_offered_at_hall();
