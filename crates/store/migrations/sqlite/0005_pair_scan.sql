-- Cancel-then-rebook pairs are detected by the sweeper in batches rather than inside every
-- confirmation (the release minute's hot path). It scans bookings created since its mark.
CREATE TABLE scan_marks (
    name TEXT PRIMARY KEY,
    at   INTEGER NOT NULL
);
CREATE INDEX bookings_by_created ON bookings (created_at);
