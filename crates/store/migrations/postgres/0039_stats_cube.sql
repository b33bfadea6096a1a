-- Keep in step with ../sqlite/0039_stats_cube.sql.
-- Issue 18: the dashboard over a year answers from coarser roll-ups. Each table here holds the
-- sums of its base roll-up (`stats_day`, `stats_hour`, `stats_times`) at seven coarser grains:
-- `grain` names the dimensions kept ('h' site, 'b' business, 'c' channel; '' none), and a
-- dimension not kept reads '*'. A read picks the one grain that holds what it groups by and
-- filters on, so a year of the whole organisation is 365 rows instead of half a million. The
-- roll-up job rewrites a day's rows here in the same transaction as the base rows they sum
-- (crates/store/src/stats.rs, `refresh_cubes`); this migration fills them for the days
-- already rolled.

CREATE TABLE stats_day_cube (
    grain              TEXT NOT NULL,
    hall_id            TEXT NOT NULL,
    business           TEXT NOT NULL,
    channel            TEXT NOT NULL,
    day                DATE NOT NULL,
    bookings           BIGINT NOT NULL DEFAULT 0,
    cancelled          BIGINT NOT NULL DEFAULT 0,
    check_ins          BIGINT NOT NULL DEFAULT 0,
    no_shows           BIGINT NOT NULL DEFAULT 0,
    tickets            BIGINT NOT NULL DEFAULT 0,
    walk_ins           BIGINT NOT NULL DEFAULT 0,
    served             BIGINT NOT NULL DEFAULT 0,
    missed             BIGINT NOT NULL DEFAULT 0,
    wait_n             BIGINT NOT NULL DEFAULT 0,
    wait_sum_s         BIGINT NOT NULL DEFAULT 0,
    service_n          BIGINT NOT NULL DEFAULT 0,
    service_sum_s      BIGINT NOT NULL DEFAULT 0,
    acceptances        BIGINT NOT NULL DEFAULT 0,
    supplements        BIGINT NOT NULL DEFAULT 0,
    refusals           BIGINT NOT NULL DEFAULT 0,
    collected          BIGINT NOT NULL DEFAULT 0,
    to_ready_sum_s     BIGINT NOT NULL DEFAULT 0,
    to_collect_sum_s   BIGINT NOT NULL DEFAULT 0,
    overdue            BIGINT NOT NULL DEFAULT 0,
    fees_fen           BIGINT NOT NULL DEFAULT 0,
    refunds_fen        BIGINT NOT NULL DEFAULT 0,
    rated_satisfied    BIGINT NOT NULL DEFAULT 0,
    rated_basic        BIGINT NOT NULL DEFAULT 0,
    rated_unsatisfied  BIGINT NOT NULL DEFAULT 0,
    alerts             BIGINT NOT NULL DEFAULT 0,
    alerts_acked       BIGINT NOT NULL DEFAULT 0,
    ack_sum_s          BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (grain, hall_id, business, channel, day)
);
CREATE INDEX stats_day_cube_by_day ON stats_day_cube (day);

CREATE TABLE stats_hour_cube (
    grain              TEXT NOT NULL,
    hall_id            TEXT NOT NULL,
    business           TEXT NOT NULL,
    channel            TEXT NOT NULL,
    day                DATE NOT NULL,
    hour               INTEGER NOT NULL,
    bookings           BIGINT NOT NULL DEFAULT 0,
    tickets            BIGINT NOT NULL DEFAULT 0,
    walk_ins           BIGINT NOT NULL DEFAULT 0,
    served             BIGINT NOT NULL DEFAULT 0,
    wait_n             BIGINT NOT NULL DEFAULT 0,
    wait_sum_s         BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (grain, hall_id, business, channel, day, hour)
);
CREATE INDEX stats_hour_cube_by_day ON stats_hour_cube (day);

CREATE TABLE stats_times_cube (
    grain              TEXT NOT NULL,
    hall_id            TEXT NOT NULL,
    business           TEXT NOT NULL,
    channel            TEXT NOT NULL,
    day                DATE NOT NULL,
    measure            TEXT NOT NULL,
    bucket             INTEGER NOT NULL,
    n                  BIGINT NOT NULL,
    PRIMARY KEY (grain, hall_id, business, channel, day, measure, bucket)
);
CREATE INDEX stats_times_cube_by_day ON stats_times_cube (day);

-- The days already rolled, at every coarser grain.
INSERT INTO stats_day_cube (grain, hall_id, business, channel, day, bookings, cancelled, check_ins, no_shows, tickets, walk_ins, served, missed, wait_n, wait_sum_s, service_n, service_sum_s, acceptances, supplements, refusals, collected, to_ready_sum_s, to_collect_sum_s, overdue, fees_fen, refunds_fen, rated_satisfied, rated_basic, rated_unsatisfied, alerts, alerts_acked, ack_sum_s)
    SELECT '', '*', '*', '*', day, SUM(bookings), SUM(cancelled), SUM(check_ins), SUM(no_shows), SUM(tickets), SUM(walk_ins), SUM(served), SUM(missed), SUM(wait_n), SUM(wait_sum_s), SUM(service_n), SUM(service_sum_s), SUM(acceptances), SUM(supplements), SUM(refusals), SUM(collected), SUM(to_ready_sum_s), SUM(to_collect_sum_s), SUM(overdue), SUM(fees_fen), SUM(refunds_fen), SUM(rated_satisfied), SUM(rated_basic), SUM(rated_unsatisfied), SUM(alerts), SUM(alerts_acked), SUM(ack_sum_s)
    FROM stats_day GROUP BY day;
INSERT INTO stats_day_cube (grain, hall_id, business, channel, day, bookings, cancelled, check_ins, no_shows, tickets, walk_ins, served, missed, wait_n, wait_sum_s, service_n, service_sum_s, acceptances, supplements, refusals, collected, to_ready_sum_s, to_collect_sum_s, overdue, fees_fen, refunds_fen, rated_satisfied, rated_basic, rated_unsatisfied, alerts, alerts_acked, ack_sum_s)
    SELECT 'h', hall_id, '*', '*', day, SUM(bookings), SUM(cancelled), SUM(check_ins), SUM(no_shows), SUM(tickets), SUM(walk_ins), SUM(served), SUM(missed), SUM(wait_n), SUM(wait_sum_s), SUM(service_n), SUM(service_sum_s), SUM(acceptances), SUM(supplements), SUM(refusals), SUM(collected), SUM(to_ready_sum_s), SUM(to_collect_sum_s), SUM(overdue), SUM(fees_fen), SUM(refunds_fen), SUM(rated_satisfied), SUM(rated_basic), SUM(rated_unsatisfied), SUM(alerts), SUM(alerts_acked), SUM(ack_sum_s)
    FROM stats_day GROUP BY day, hall_id;
INSERT INTO stats_day_cube (grain, hall_id, business, channel, day, bookings, cancelled, check_ins, no_shows, tickets, walk_ins, served, missed, wait_n, wait_sum_s, service_n, service_sum_s, acceptances, supplements, refusals, collected, to_ready_sum_s, to_collect_sum_s, overdue, fees_fen, refunds_fen, rated_satisfied, rated_basic, rated_unsatisfied, alerts, alerts_acked, ack_sum_s)
    SELECT 'b', '*', business, '*', day, SUM(bookings), SUM(cancelled), SUM(check_ins), SUM(no_shows), SUM(tickets), SUM(walk_ins), SUM(served), SUM(missed), SUM(wait_n), SUM(wait_sum_s), SUM(service_n), SUM(service_sum_s), SUM(acceptances), SUM(supplements), SUM(refusals), SUM(collected), SUM(to_ready_sum_s), SUM(to_collect_sum_s), SUM(overdue), SUM(fees_fen), SUM(refunds_fen), SUM(rated_satisfied), SUM(rated_basic), SUM(rated_unsatisfied), SUM(alerts), SUM(alerts_acked), SUM(ack_sum_s)
    FROM stats_day GROUP BY day, business;
INSERT INTO stats_day_cube (grain, hall_id, business, channel, day, bookings, cancelled, check_ins, no_shows, tickets, walk_ins, served, missed, wait_n, wait_sum_s, service_n, service_sum_s, acceptances, supplements, refusals, collected, to_ready_sum_s, to_collect_sum_s, overdue, fees_fen, refunds_fen, rated_satisfied, rated_basic, rated_unsatisfied, alerts, alerts_acked, ack_sum_s)
    SELECT 'c', '*', '*', channel, day, SUM(bookings), SUM(cancelled), SUM(check_ins), SUM(no_shows), SUM(tickets), SUM(walk_ins), SUM(served), SUM(missed), SUM(wait_n), SUM(wait_sum_s), SUM(service_n), SUM(service_sum_s), SUM(acceptances), SUM(supplements), SUM(refusals), SUM(collected), SUM(to_ready_sum_s), SUM(to_collect_sum_s), SUM(overdue), SUM(fees_fen), SUM(refunds_fen), SUM(rated_satisfied), SUM(rated_basic), SUM(rated_unsatisfied), SUM(alerts), SUM(alerts_acked), SUM(ack_sum_s)
    FROM stats_day GROUP BY day, channel;
INSERT INTO stats_day_cube (grain, hall_id, business, channel, day, bookings, cancelled, check_ins, no_shows, tickets, walk_ins, served, missed, wait_n, wait_sum_s, service_n, service_sum_s, acceptances, supplements, refusals, collected, to_ready_sum_s, to_collect_sum_s, overdue, fees_fen, refunds_fen, rated_satisfied, rated_basic, rated_unsatisfied, alerts, alerts_acked, ack_sum_s)
    SELECT 'hb', hall_id, business, '*', day, SUM(bookings), SUM(cancelled), SUM(check_ins), SUM(no_shows), SUM(tickets), SUM(walk_ins), SUM(served), SUM(missed), SUM(wait_n), SUM(wait_sum_s), SUM(service_n), SUM(service_sum_s), SUM(acceptances), SUM(supplements), SUM(refusals), SUM(collected), SUM(to_ready_sum_s), SUM(to_collect_sum_s), SUM(overdue), SUM(fees_fen), SUM(refunds_fen), SUM(rated_satisfied), SUM(rated_basic), SUM(rated_unsatisfied), SUM(alerts), SUM(alerts_acked), SUM(ack_sum_s)
    FROM stats_day GROUP BY day, hall_id, business;
INSERT INTO stats_day_cube (grain, hall_id, business, channel, day, bookings, cancelled, check_ins, no_shows, tickets, walk_ins, served, missed, wait_n, wait_sum_s, service_n, service_sum_s, acceptances, supplements, refusals, collected, to_ready_sum_s, to_collect_sum_s, overdue, fees_fen, refunds_fen, rated_satisfied, rated_basic, rated_unsatisfied, alerts, alerts_acked, ack_sum_s)
    SELECT 'hc', hall_id, '*', channel, day, SUM(bookings), SUM(cancelled), SUM(check_ins), SUM(no_shows), SUM(tickets), SUM(walk_ins), SUM(served), SUM(missed), SUM(wait_n), SUM(wait_sum_s), SUM(service_n), SUM(service_sum_s), SUM(acceptances), SUM(supplements), SUM(refusals), SUM(collected), SUM(to_ready_sum_s), SUM(to_collect_sum_s), SUM(overdue), SUM(fees_fen), SUM(refunds_fen), SUM(rated_satisfied), SUM(rated_basic), SUM(rated_unsatisfied), SUM(alerts), SUM(alerts_acked), SUM(ack_sum_s)
    FROM stats_day GROUP BY day, hall_id, channel;
INSERT INTO stats_day_cube (grain, hall_id, business, channel, day, bookings, cancelled, check_ins, no_shows, tickets, walk_ins, served, missed, wait_n, wait_sum_s, service_n, service_sum_s, acceptances, supplements, refusals, collected, to_ready_sum_s, to_collect_sum_s, overdue, fees_fen, refunds_fen, rated_satisfied, rated_basic, rated_unsatisfied, alerts, alerts_acked, ack_sum_s)
    SELECT 'bc', '*', business, channel, day, SUM(bookings), SUM(cancelled), SUM(check_ins), SUM(no_shows), SUM(tickets), SUM(walk_ins), SUM(served), SUM(missed), SUM(wait_n), SUM(wait_sum_s), SUM(service_n), SUM(service_sum_s), SUM(acceptances), SUM(supplements), SUM(refusals), SUM(collected), SUM(to_ready_sum_s), SUM(to_collect_sum_s), SUM(overdue), SUM(fees_fen), SUM(refunds_fen), SUM(rated_satisfied), SUM(rated_basic), SUM(rated_unsatisfied), SUM(alerts), SUM(alerts_acked), SUM(ack_sum_s)
    FROM stats_day GROUP BY day, business, channel;
INSERT INTO stats_hour_cube (grain, hall_id, business, channel, day, hour, bookings, tickets, walk_ins, served, wait_n, wait_sum_s)
    SELECT '', '*', '*', '*', day, hour, SUM(bookings), SUM(tickets), SUM(walk_ins), SUM(served), SUM(wait_n), SUM(wait_sum_s)
    FROM stats_hour GROUP BY day, hour;
INSERT INTO stats_hour_cube (grain, hall_id, business, channel, day, hour, bookings, tickets, walk_ins, served, wait_n, wait_sum_s)
    SELECT 'h', hall_id, '*', '*', day, hour, SUM(bookings), SUM(tickets), SUM(walk_ins), SUM(served), SUM(wait_n), SUM(wait_sum_s)
    FROM stats_hour GROUP BY day, hall_id, hour;
INSERT INTO stats_hour_cube (grain, hall_id, business, channel, day, hour, bookings, tickets, walk_ins, served, wait_n, wait_sum_s)
    SELECT 'b', '*', business, '*', day, hour, SUM(bookings), SUM(tickets), SUM(walk_ins), SUM(served), SUM(wait_n), SUM(wait_sum_s)
    FROM stats_hour GROUP BY day, business, hour;
INSERT INTO stats_hour_cube (grain, hall_id, business, channel, day, hour, bookings, tickets, walk_ins, served, wait_n, wait_sum_s)
    SELECT 'c', '*', '*', channel, day, hour, SUM(bookings), SUM(tickets), SUM(walk_ins), SUM(served), SUM(wait_n), SUM(wait_sum_s)
    FROM stats_hour GROUP BY day, channel, hour;
INSERT INTO stats_hour_cube (grain, hall_id, business, channel, day, hour, bookings, tickets, walk_ins, served, wait_n, wait_sum_s)
    SELECT 'hb', hall_id, business, '*', day, hour, SUM(bookings), SUM(tickets), SUM(walk_ins), SUM(served), SUM(wait_n), SUM(wait_sum_s)
    FROM stats_hour GROUP BY day, hall_id, business, hour;
INSERT INTO stats_hour_cube (grain, hall_id, business, channel, day, hour, bookings, tickets, walk_ins, served, wait_n, wait_sum_s)
    SELECT 'hc', hall_id, '*', channel, day, hour, SUM(bookings), SUM(tickets), SUM(walk_ins), SUM(served), SUM(wait_n), SUM(wait_sum_s)
    FROM stats_hour GROUP BY day, hall_id, channel, hour;
INSERT INTO stats_hour_cube (grain, hall_id, business, channel, day, hour, bookings, tickets, walk_ins, served, wait_n, wait_sum_s)
    SELECT 'bc', '*', business, channel, day, hour, SUM(bookings), SUM(tickets), SUM(walk_ins), SUM(served), SUM(wait_n), SUM(wait_sum_s)
    FROM stats_hour GROUP BY day, business, channel, hour;
INSERT INTO stats_times_cube (grain, hall_id, business, channel, day, measure, bucket, n)
    SELECT '', '*', '*', '*', day, measure, bucket, SUM(n)
    FROM stats_times GROUP BY day, measure, bucket;
INSERT INTO stats_times_cube (grain, hall_id, business, channel, day, measure, bucket, n)
    SELECT 'h', hall_id, '*', '*', day, measure, bucket, SUM(n)
    FROM stats_times GROUP BY day, hall_id, measure, bucket;
INSERT INTO stats_times_cube (grain, hall_id, business, channel, day, measure, bucket, n)
    SELECT 'b', '*', business, '*', day, measure, bucket, SUM(n)
    FROM stats_times GROUP BY day, business, measure, bucket;
INSERT INTO stats_times_cube (grain, hall_id, business, channel, day, measure, bucket, n)
    SELECT 'c', '*', '*', channel, day, measure, bucket, SUM(n)
    FROM stats_times GROUP BY day, channel, measure, bucket;
INSERT INTO stats_times_cube (grain, hall_id, business, channel, day, measure, bucket, n)
    SELECT 'hb', hall_id, business, '*', day, measure, bucket, SUM(n)
    FROM stats_times GROUP BY day, hall_id, business, measure, bucket;
INSERT INTO stats_times_cube (grain, hall_id, business, channel, day, measure, bucket, n)
    SELECT 'hc', hall_id, '*', channel, day, measure, bucket, SUM(n)
    FROM stats_times GROUP BY day, hall_id, channel, measure, bucket;
INSERT INTO stats_times_cube (grain, hall_id, business, channel, day, measure, bucket, n)
    SELECT 'bc', '*', business, channel, day, measure, bucket, SUM(n)
    FROM stats_times GROUP BY day, business, channel, measure, bucket;
