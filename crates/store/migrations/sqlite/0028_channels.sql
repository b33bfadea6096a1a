-- Keep in step with ../postgres/0028_channels.sql.
-- Issue 13: every booking, lottery entry, ticket and application records its acceptance
-- channel, derived from the caller (`wujing_domain::channels`), never stated by it.
--
-- The channel list is repeated here from `Channel::ALL` (a store test compares them): SQLite
-- cannot add a CHECK to an existing column, so triggers refuse an unknown channel on the
-- existing tables; the new column carries its CHECK.

-- Until now a booking's channel was a label any anonymous caller stated; every booking so far
-- came through the portal or the public API without credentials, which is the web channel.
UPDATE bookings SET channel = 'web';
UPDATE lottery_entries SET channel = 'web';
-- Tickets recorded who issued them: reception staff, a hall's kiosk, the citizen's own device.
UPDATE tickets SET channel = CASE channel
    WHEN 'reception' THEN 'counter'
    WHEN 'kiosk' THEN 'self_service'
    WHEN 'self' THEN 'web'
    ELSE channel END;

CREATE TRIGGER bookings_channel_insert BEFORE INSERT ON bookings
WHEN NEW.channel NOT IN ('counter', 'police_station', 'web', 'telephone', 'banzhengyi', 'wangejie', 'self_service', 'police_app', 'wechat', 'weibo')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: bookings_channel'); END;
CREATE TRIGGER bookings_channel_update BEFORE UPDATE OF channel ON bookings
WHEN NEW.channel NOT IN ('counter', 'police_station', 'web', 'telephone', 'banzhengyi', 'wangejie', 'self_service', 'police_app', 'wechat', 'weibo')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: bookings_channel'); END;
CREATE TRIGGER lottery_entries_channel_insert BEFORE INSERT ON lottery_entries
WHEN NEW.channel NOT IN ('counter', 'police_station', 'web', 'telephone', 'banzhengyi', 'wangejie', 'self_service', 'police_app', 'wechat', 'weibo')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: lottery_entries_channel'); END;
CREATE TRIGGER tickets_channel_insert BEFORE INSERT ON tickets
WHEN NEW.channel IS NULL OR NEW.channel NOT IN ('counter', 'police_station', 'web', 'telephone', 'banzhengyi', 'wangejie', 'self_service', 'police_app', 'wechat', 'weibo')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: tickets_channel'); END;
CREATE TRIGGER tickets_channel_update BEFORE UPDATE OF channel ON tickets
WHEN NEW.channel IS NULL OR NEW.channel NOT IN ('counter', 'police_station', 'web', 'telephone', 'banzhengyi', 'wangejie', 'self_service', 'police_app', 'wechat', 'weibo')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: tickets_channel'); END;

-- Applications accepted so far were accepted at a hall's counter; those submitted online
-- set `web` (migration 27's CHECK: a row without a ticket).
ALTER TABLE applications ADD COLUMN channel TEXT NOT NULL DEFAULT 'counter'
    CHECK (channel IN ('counter', 'police_station', 'web', 'telephone', 'banzhengyi', 'wangejie', 'self_service', 'police_app', 'wechat', 'weibo'));

-- A channel gateway (the police–citizen app's, WeChat's or Weibo's backend) is a system client
-- whose kind is the channel it relays for. SQLite cannot change a CHECK in place: the table is
-- rebuilt with its rows (nothing refers to it by key).
CREATE TABLE system_clients_new (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL CHECK (kind IN ('production_centre', 'police_app', 'wechat', 'weibo')),
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
INSERT INTO system_clients_new (id, name, kind, token_hash, created_at, revoked_at)
    SELECT id, name, kind, token_hash, created_at, revoked_at FROM system_clients;
DROP TABLE system_clients;
ALTER TABLE system_clients_new RENAME TO system_clients;
