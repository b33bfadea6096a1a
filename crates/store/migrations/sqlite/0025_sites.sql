-- Keep in step with ../postgres/0025_sites.sql.
-- Issue 13 §2: sites. A hall is one kind of site; service points, police stations (派出所受理点)
-- and, later, 24-hour self-service points book, queue and accept alike. The table keeps its
-- name (every hall_id refers to it); the API and pages call its rows sites.

-- Every existing site is a hall (the default).
ALTER TABLE halls ADD COLUMN kind TEXT NOT NULL DEFAULT 'hall'
    CHECK (kind IN ('hall', 'service_point', 'police_station', 'self_service'));

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
SELECT h.id, c.column1
  FROM halls h
  CROSS JOIN (VALUES
    ('passport_first', 0),
    ('passport_renewal', 0),
    ('passport_replacement', 0),
    ('hkm_permit', 0),
    ('hkm_endorsement_t', 0),
    ('hkm_endorsement_s', 0),
    ('hkm_endorsement_l', 0),
    ('hkm_endorsement_g', 0),
    ('hkm_endorsement_q', 0),
    ('hkm_endorsement_d', 0),
    ('tw_permit', 0),
    ('tw_endorsement_l', 0),
    ('tw_endorsement_g', 0),
    ('tw_endorsement_t', 0),
    ('tw_endorsement_d', 0),
    ('tw_endorsement_y', 0),
    ('tw_endorsement_f', 0),
    ('tw_endorsement_x', 0),
    ('tw_endorsement_c', 0),
    ('tw_endorsement_q', 0),
    ('foreign_visa_extension', 1),
    ('foreign_residence_permit', 1)
  ) AS c
 WHERE NOT c.column2 OR h.serves_foreigners;

-- A site offers only its businesses, in the database as well as in the use case: a seat held,
-- a booking made (a lottery award has no hold) or moved, and a ticket issued (a check-in, a
-- walk-in) for a business the site does not offer are refused with the error's code as message (the adapters map it to the API's
-- `business_not_offered`).
CREATE TRIGGER holds_business_offered BEFORE INSERT ON holds
WHEN NOT EXISTS (SELECT 1 FROM slots s JOIN site_businesses o ON o.hall_id = s.hall_id
                  WHERE s.id = NEW.slot_id AND o.business = NEW.business)
BEGIN
    SELECT RAISE(ABORT, 'business_not_offered');
END;

CREATE TRIGGER bookings_business_offered_insert BEFORE INSERT ON bookings
WHEN NOT EXISTS (SELECT 1 FROM slots s JOIN site_businesses o ON o.hall_id = s.hall_id
                  WHERE s.id = NEW.slot_id AND o.business = NEW.business)
BEGIN
    SELECT RAISE(ABORT, 'business_not_offered');
END;

CREATE TRIGGER bookings_business_offered BEFORE UPDATE OF slot_id ON bookings
WHEN NOT EXISTS (SELECT 1 FROM slots s JOIN site_businesses o ON o.hall_id = s.hall_id
                  WHERE s.id = NEW.slot_id AND o.business = NEW.business)
BEGIN
    SELECT RAISE(ABORT, 'business_not_offered');
END;

CREATE TRIGGER tickets_business_offered BEFORE INSERT ON tickets
WHEN NOT EXISTS (SELECT 1 FROM site_businesses o
                  WHERE o.hall_id = NEW.hall_id AND o.business = NEW.business)
BEGIN
    SELECT RAISE(ABORT, 'business_not_offered');
END;
