-- Keep in step with ../sqlite/0035_stats.sql.
-- Issue 18: the statistics' roll-ups (docs/STATISTICS.md). The dashboard, the exports and the
-- appraisal read only these tables; a periodic job (`App::roll_up`, `wujing rollup`) fills them
-- from the raw rows one closed local day at a time, with a watermark per source advanced in the
-- transaction that writes the day, and each source setting (never adding to) its own columns,
-- so that a rerun changes nothing.

-- The last local day rolled up from each source (bookings, slots, tickets, payments, ratings,
-- alerts, applications, device_usage).
CREATE TABLE stats_watermarks (
    source    TEXT PRIMARY KEY,
    day       DATE NOT NULL,
    rolled_at TIMESTAMPTZ NOT NULL
);

-- Day × site × business × channel. A fact counts on the day it belongs to (docs/STATISTICS.md).
CREATE TABLE stats_day (
    day                DATE NOT NULL,
    hall_id            TEXT NOT NULL,
    business           TEXT NOT NULL,
    channel            TEXT NOT NULL,
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
    PRIMARY KEY (day, hall_id, business, channel)
);
-- The dashboard's filters: a period, optionally a site.
CREATE INDEX stats_day_by_hall ON stats_day (hall_id, day);

-- Hour of the local day × site × business × channel: the day's shape.
CREATE TABLE stats_hour (
    day                DATE NOT NULL,
    hour               INTEGER NOT NULL CHECK (hour >= 0 AND hour < 24),
    hall_id            TEXT NOT NULL,
    business           TEXT NOT NULL,
    channel            TEXT NOT NULL,
    bookings           BIGINT NOT NULL DEFAULT 0,
    tickets            BIGINT NOT NULL DEFAULT 0,
    walk_ins           BIGINT NOT NULL DEFAULT 0,
    served             BIGINT NOT NULL DEFAULT 0,
    wait_n             BIGINT NOT NULL DEFAULT 0,
    wait_sum_s         BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, hour, hall_id, business, channel)
);

-- Waiting (check-in → call) and service (call → finish) times as counts in fixed buckets
-- (`wujing_domain::stats::EDGES_SECONDS`), so that percentiles can be read after summing.
CREATE TABLE stats_times (
    day       DATE NOT NULL,
    hall_id   TEXT NOT NULL,
    business  TEXT NOT NULL,
    channel   TEXT NOT NULL,
    measure   TEXT NOT NULL CHECK (measure IN ('wait', 'service')),
    bucket    INTEGER NOT NULL CHECK (bucket >= 0),
    n         BIGINT NOT NULL CHECK (n > 0),
    PRIMARY KEY (day, hall_id, business, channel, measure, bucket)
);

-- Seats per site and pool at the day's close.
CREATE TABLE stats_slots (
    day       DATE NOT NULL,
    hall_id   TEXT NOT NULL,
    pool      TEXT NOT NULL,
    capacity  BIGINT NOT NULL,
    taken     BIGINT NOT NULL,
    PRIMARY KEY (day, hall_id, pool)
);

-- Machine use per site, device kind and mode.
CREATE TABLE stats_devices (
    day       DATE NOT NULL,
    hall_id   TEXT NOT NULL,
    kind      TEXT NOT NULL,
    mode      TEXT NOT NULL,
    uses      BIGINT NOT NULL,
    PRIMARY KEY (day, hall_id, kind, mode)
);

-- Per officer (the appraisal): tickets served and their service time, acceptances, ratings.
CREATE TABLE stats_officers (
    day                DATE NOT NULL,
    officer_id         BIGINT NOT NULL,
    hall_id            TEXT NOT NULL,
    served             BIGINT NOT NULL DEFAULT 0,
    service_sum_s      BIGINT NOT NULL DEFAULT 0,
    acceptances        BIGINT NOT NULL DEFAULT 0,
    rated_satisfied    BIGINT NOT NULL DEFAULT 0,
    rated_basic        BIGINT NOT NULL DEFAULT 0,
    rated_unsatisfied  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (officer_id, day, hall_id)
);

-- What the job reads of one day, so that a day costs that day's rows and no more.
CREATE INDEX tickets_by_day ON tickets (day);
CREATE INDEX payments_by_day ON payments (day);
CREATE INDEX payments_by_refund ON payments (refunded_at) WHERE refunded_at IS NOT NULL;
CREATE INDEX ratings_by_time ON ratings (created_at);
CREATE INDEX alerts_by_time ON alerts (created_at);
CREATE INDEX alerts_by_ack ON alerts (acknowledged_at) WHERE acknowledged_at IS NOT NULL;
-- The appraisal's unsatisfied cases of one officer.
CREATE INDEX alerts_by_officer ON alerts (officer_id, created_at);
CREATE INDEX applications_by_acceptance ON applications (accepted_at);
CREATE INDEX applications_by_due ON applications (ready_by);
CREATE INDEX application_events_by_time ON application_events (at);
