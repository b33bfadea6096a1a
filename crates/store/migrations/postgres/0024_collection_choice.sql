-- Keep in step with ../sqlite/0024_collection_choice.sql.
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
-- site in between.
ALTER TABLE application_events DROP CONSTRAINT application_events_check;
ALTER TABLE application_events ADD CONSTRAINT application_events_check CHECK (
       (from_state IS NULL AND to_state IN ('accepted', 'pending_supplement'))
    OR (from_state IS NOT NULL AND from_state || '>' || to_state IN (
        'accepted>pending_supplement', 'accepted>under_review', 'accepted>withdrawn',
        'pending_supplement>accepted', 'pending_supplement>lapsed',
        'pending_supplement>withdrawn', 'under_review>pending_supplement',
        'under_review>approved', 'under_review>refused', 'under_review>withdrawn',
        'approved>in_production', 'in_production>produced', 'produced>dispatched',
        'dispatched>ready_for_collection', 'dispatched>collected',
        'ready_for_collection>collected',
        'ready_for_collection>returned_to_vault', 'returned_to_vault>collected'
        )));
