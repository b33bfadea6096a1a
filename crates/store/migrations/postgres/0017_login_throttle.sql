-- Sign-in throttling counts each attempt *before* the password is checked, in one row per
-- key (user name or client address) that a single upsert bumps under its row lock, so that
-- parallel guesses cannot all read the same count. Times are Unix milliseconds in both
-- dialects, so that the gate is one statement text for both.
DROP TABLE login_failures;

CREATE TABLE login_throttle (
    key      TEXT PRIMARY KEY,
    attempts BIGINT NOT NULL,
    last_ms  BIGINT NOT NULL,
    next_ms  BIGINT NOT NULL
);
