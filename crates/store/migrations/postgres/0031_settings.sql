-- Keep in step with ../sqlite/0031_settings.sql.
-- Issue 15: the organisation's settings that operators change while the service runs — first
-- the authority's face (name, signature of texts, hotline, notices, filing number, emblem),
-- stored as JSON under a key, so that every app server on the database shows the same face.
-- Each change is written with its audit entry in one transaction.
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
