-- Keep in step with ../sqlite/0033_site_locations.sql.
-- Issue 15 §3: where each site is (WGS-84 degrees), so that the portal can order halls by
-- distance in the citizen's browser. Both coordinates or neither; each within its range.
ALTER TABLE halls
    ADD COLUMN latitude DOUBLE PRECISION CHECK (latitude BETWEEN -90 AND 90),
    ADD COLUMN longitude DOUBLE PRECISION CHECK (longitude BETWEEN -180 AND 180),
    ADD CONSTRAINT halls_location_whole CHECK ((longitude IS NULL) = (latitude IS NULL));
