-- Owner proofs (an identity number given to read, cancel or move a booking or a lottery entry)
-- per key and fixed one-hour window, shared by every app server that uses this database. An
-- attempt is counted before the number is compared and taken back when it matched, so what
-- stays counted are the failures; over the limit the key is refused until the window ends.
-- Keys are hashes of a booking code, an entry or a client address; the sweeper deletes rows
-- older than a day.
CREATE TABLE owner_proof_attempts (
    key          TEXT NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    hits         INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
);
