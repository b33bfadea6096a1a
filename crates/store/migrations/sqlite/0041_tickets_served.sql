-- The capacity advisor's service times (issue 18 §3): eight weeks of one hall's finished
-- tickets, per business. `tickets_waiting (hall_id, day, status, …)` finds them, but every one
-- is then read from the table for its business and times: 140,000 rows for the busiest hall,
-- spread over the pages of every hall's tickets of those weeks. This index holds just the
-- finished tickets with what the read needs, so it is answered from the index alone. A
-- ticket enters it once, when it is finished (not on the release minute's path). `status` is
-- a column too: without it SQLite still reads the table to test the read's `status = 'done'`.
CREATE INDEX tickets_served ON tickets (hall_id, day, business, called_at, finished_at, status)
    WHERE status = 'done';
