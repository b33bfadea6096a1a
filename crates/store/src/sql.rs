//! SQL that both dialects accept, written once.

/// A ticket's columns, in the order both adapters' row mappings read them.
pub(crate) const TICKET_COLS: &str =
    "id, hall_id, day, queue, number, label, booking_id, business, identity_key, kind, priority, \
     due_at, status, window_number, officer_id, calls, created_at, called_at, finished_at";

/// Shared by both adapters: the statements are plain SQL that both dialects accept.
/// One pass over each table, grouped, rather than a probe per slot: bookings carry no index
/// on their slot (it would be one more page written per booking at the release minute).
pub(crate) const MISCOUNTED_SQL: &str = "SELECT s.id FROM slots s \
    LEFT JOIN (SELECT slot_id, COUNT(*) AS n FROM holds WHERE state = 'held' GROUP BY slot_id) h \
      ON h.slot_id = s.id \
    LEFT JOIN (SELECT slot_id, COUNT(*) AS n FROM bookings WHERE status = 'active' GROUP BY slot_id) b \
      ON b.slot_id = s.id \
    LEFT JOIN (SELECT slot_id, COUNT(*) AS n FROM seat_returns WHERE returned_at IS NULL GROUP BY slot_id) r \
      ON r.slot_id = s.id \
    WHERE s.taken <> COALESCE(h.n, 0) + COALESCE(b.n, 0) + COALESCE(r.n, 0) \
    ORDER BY s.id";

// The signal queries are plain SQL that both dialects accept; parameters are `since` and a
// threshold, written `?1`/`?2` here and rewritten to `$1`/`$2` for PostgreSQL.
pub(crate) const SHARED_PHONES_SQL: &str =
    "SELECT phone, COUNT(DISTINCT identity_key), COUNT(*) FROM bookings \
    WHERE created_at >= ?1 GROUP BY phone HAVING COUNT(DISTINCT identity_key) >= ?2 \
    ORDER BY 2 DESC, 1 LIMIT 100";
pub(crate) const SHARED_ADDRESSES_SQL: &str =
    "SELECT client_addr, COUNT(DISTINCT identity_key), COUNT(*) FROM bookings \
    WHERE created_at >= ?1 AND client_addr IS NOT NULL GROUP BY client_addr \
    HAVING COUNT(DISTINCT identity_key) >= ?2 ORDER BY 2 DESC, 1 LIMIT 100";
pub(crate) const ABANDONED_SQL: &str = "SELECT client_addr, COUNT(*) FROM holds \
    WHERE created_at >= ?1 AND state = 'expired' AND client_addr IS NOT NULL GROUP BY client_addr \
    HAVING COUNT(*) >= ?2 ORDER BY 2 DESC, 1 LIMIT 100";
pub(crate) const PAIRS_SINCE_SQL: &str =
    "SELECT a.code, b.code, p.kind, p.gap_ms FROM cancel_rebook p \
    JOIN bookings a ON a.id = p.cancelled_booking_id JOIN bookings b ON b.id = p.new_booking_id \
    WHERE p.recorded_at >= ?1 ORDER BY p.gap_ms, p.id LIMIT 100";

pub(crate) const ACTIVE_SQL: &str = "SELECT COUNT(*) FROM bookings WHERE status = 'active'";

pub(crate) const DUPLICATES_SQL: &str =
    "SELECT COUNT(*) FROM (SELECT identity_key, business FROM bookings \
    WHERE status = 'active' GROUP BY identity_key, business HAVING COUNT(*) > 1) d";
