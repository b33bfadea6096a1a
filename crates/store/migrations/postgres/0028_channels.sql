-- Keep in step with ../sqlite/0028_channels.sql.
-- Issue 13: every booking, lottery entry, ticket and application records its acceptance
-- channel, derived from the caller (`wujing_domain::channels`), never stated by it.
--
-- The channel list is repeated here from `Channel::ALL` (a store test compares them).

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

ALTER TABLE bookings ADD CONSTRAINT bookings_channel CHECK (channel IN ('counter', 'police_station', 'web', 'telephone', 'banzhengyi', 'wangejie', 'self_service', 'police_app', 'wechat', 'weibo'));
ALTER TABLE lottery_entries ADD CONSTRAINT lottery_entries_channel CHECK (channel IN ('counter', 'police_station', 'web', 'telephone', 'banzhengyi', 'wangejie', 'self_service', 'police_app', 'wechat', 'weibo'));
ALTER TABLE tickets ADD CONSTRAINT tickets_channel CHECK (channel IS NOT NULL AND channel IN ('counter', 'police_station', 'web', 'telephone', 'banzhengyi', 'wangejie', 'self_service', 'police_app', 'wechat', 'weibo'));

-- Applications accepted so far were accepted at a hall's counter; those submitted online
-- set `web` (migration 27's CHECK: a row without a ticket).
ALTER TABLE applications ADD COLUMN channel TEXT NOT NULL DEFAULT 'counter'
    CHECK (channel IN ('counter', 'police_station', 'web', 'telephone', 'banzhengyi', 'wangejie', 'self_service', 'police_app', 'wechat', 'weibo'));

-- A channel gateway (the police–citizen app's, WeChat's or Weibo's backend) is a system client
-- whose kind is the channel it relays for.
ALTER TABLE system_clients DROP CONSTRAINT system_clients_kind_check;
ALTER TABLE system_clients ADD CONSTRAINT system_clients_kind_check
    CHECK (kind IN ('production_centre', 'police_app', 'wechat', 'weibo'));
