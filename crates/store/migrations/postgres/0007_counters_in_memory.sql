-- Nothing changes on PostgreSQL: several app servers share the rate-limit counters in the
-- rate_limits table. (SQLite dropped its copy in this version; see the SQLite migration.)
SELECT 1;
