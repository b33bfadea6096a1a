-- Keep in step with ../postgres/0033_site_locations.sql.
-- Issue 15 §3: where each site is (WGS-84 degrees), so that the portal can order halls by
-- distance in the citizen's browser. Both coordinates or neither; each within its range.
ALTER TABLE halls ADD COLUMN latitude REAL CHECK (latitude BETWEEN -90 AND 90);
ALTER TABLE halls ADD COLUMN longitude REAL
    CHECK ((longitude IS NULL) = (latitude IS NULL) AND longitude BETWEEN -180 AND 180);
