-- The capacity advisor's service times (issue 18 §3): eight weeks of one hall's finished
-- tickets, per business. `tickets_waiting (hall_id, day, status, …)` finds them, but every one
-- is then read from the heap for its business and times: 140,000 rows for the busiest hall,
-- spread over the pages of every hall's tickets of those weeks (about 190 ms warm, 2.5 s
-- cold). This index holds just the finished tickets with what the read needs, so it is an
-- index-only scan once vacuum has marked the pages visible. A ticket enters it once, when it
-- is finished (not on the release minute's path).
CREATE INDEX tickets_served ON tickets (hall_id, day) INCLUDE (business, called_at, finished_at)
    WHERE status = 'done';
