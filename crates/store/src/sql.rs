//! SQL written once for both dialects: the column lists and every statement that SQLite and
//! PostgreSQL both accept as the same text. A statement is written with PostgreSQL's `$n`
//! parameters; its SQLite text (`?n`) is made from it at compile time. What differs stays in
//! the adapters: SQLite's in-memory rate counters and single-writer jobs, PostgreSQL's
//! single-statement CTEs, row locks (`FOR UPDATE`, `SKIP LOCKED`), type casts and
//! `RETURNING` where SQLite reads the last row id.

/// One statement in both dialects' parameter syntax.
#[derive(Clone, Copy)]
pub(crate) struct Sql {
    /// PostgreSQL's text, with `$1`, `$2`, …
    pub(crate) pg: &'static str,
    /// SQLite's text, with `?1`, `?2`, …
    pub(crate) lite: &'static str,
}

/// `$n` → `?n`, byte for byte (both are as long), so that it can run at compile time.
pub(crate) const fn to_lite<const N: usize>(pg: &str) -> [u8; N] {
    let b = pg.as_bytes();
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = if b[i] == b'$' && i + 1 < N && b[i + 1].is_ascii_digit() {
            b'?'
        } else {
            b[i]
        };
        i += 1;
    }
    out
}

/// Declares [`Sql`] constants from their PostgreSQL text.
macro_rules! shared {
    ($($(#[$m:meta])* $name:ident = $text:expr;)*) => {$(
        $(#[$m])*
        pub(crate) const $name: Sql = Sql {
            pg: $text,
            lite: {
                const LITE: [u8; $text.len()] = to_lite($text);
                match std::str::from_utf8(&LITE) {
                    Ok(s) => s,
                    Err(_) => panic!("SQL is UTF-8"),
                }
            },
        };
    )*};
}
// Other modules declare their statements with it too (`payments.rs`).
pub(crate) use shared;

/// The attempt count after this one: one again once the key has been quiet for the window.
macro_rules! login_count {
    () => {
        "(CASE WHEN login_throttle.last_ms <= CAST($2 AS BIGINT) - CAST($5 AS BIGINT) \
         THEN 1 ELSE login_throttle.attempts + 1 END)"
    };
}

/// The delay (ms) owed after the attempt numbered `$n`.
macro_rules! login_delay {
    ($n:expr) => {
        concat!(
            "(CASE WHEN ",
            $n,
            " < CAST($3 AS BIGINT) THEN 0 \
             WHEN CAST($4 AS BIGINT) * (",
            $n,
            " - CAST($3 AS BIGINT) + 1) > CAST($6 AS BIGINT) \
             THEN CAST($6 AS BIGINT) \
             ELSE CAST($4 AS BIGINT) * (",
            $n,
            " - CAST($3 AS BIGINT) + 1) END)"
        )
    };
}

// --- Column lists (macros, so that statements can be put together at compile time) ---------

macro_rules! slot_cols {
    () => {
        "s.id, s.hall_id, s.day, s.start_time, s.pool, s.starts_at, s.capacity, s.taken"
    };
}
/// A booking's columns. A checked-in booking keeps `status = 'active'` in its row (it holds
/// its seat) and is read as `used` (migration 21).
macro_rules! booking_select {
    () => {
        "SELECT b.id, b.code, b.business, b.option_code, b.identity_key, b.id_kind, \
         b.id_number, b.nationality, b.name, b.phone, b.answers, b.fee_yuan, b.channel, \
         CASE WHEN b.used_at IS NULL THEN b.status ELSE 'used' END, \
         b.created_at, b.cancelled_at, b.reschedule_count, \
         s.id, s.hall_id, s.day, s.start_time, s.pool, s.starts_at, s.capacity, s.taken, b.lang \
         FROM bookings b JOIN slots s ON s.id = b.slot_id"
    };
}
macro_rules! entry_select {
    () => {
        "SELECT e.id, e.release_day, e.business, e.option_code, e.identity_key, e.id_kind, \
         e.id_number, e.nationality, e.name, e.phone, e.answers, e.hall_ids, e.channel, e.client_addr, \
         e.created_at, e.status, b.code FROM lottery_entries e LEFT JOIN bookings b ON b.id = e.booking_id"
    };
}
macro_rules! draw_select {
    () => {
        "SELECT release_day, seed, started_at, finished_at, entries, winners FROM lottery_draws"
    };
}
macro_rules! ticket_cols {
    () => {
        "id, hall_id, day, queue, number, label, booking_id, business, identity_key, kind, priority, \
         due_at, status, window_number, officer_id, calls, created_at, called_at, finished_at, slot_id, channel, \
         hukou_scope"
    };
}
macro_rules! alert_cols {
    () => {
        "a.id, a.hall_id, a.ticket_label, a.window_number, a.officer_id, r.score, r.reasons, a.created_at, \
     a.acknowledged_at, a.acknowledged_by, a.outcome, a.escalated_at"
    };
}
macro_rules! application_cols {
    () => {
        "id, ticket_id, business, status, missing, supplement_due, expedited, ready_by, accepted_at, \
         hall_id, identity_key, refusal_reason, document_number, collection_method, updated_at, booking_id, tracking_number, channel"
    };
}
macro_rules! locker_cols {
    () => {
        "id, hall_id, label, application_id, assigned_at, jammed_at"
    };
}
macro_rules! message_cols {
    () => {
        "id, idempotency_key, channel, recipient, topic, body, created_at, due_at, attempts, delivered_at, last_error"
    };
}
macro_rules! staff_cols {
    () => {
        "id, username, display_name, password_hash, roles, disabled, created_at, password_changed_at, phone"
    };
}
macro_rules! audit_cols {
    () => {
        "seq, at, actor, actor_name, action, subject, citizen, detail, client_addr, station, prev_hash, hash"
    };
}
pub(crate) const SLOT_COLS: &str = slot_cols!();
/// A ticket's columns, in the order both adapters' row mappings read them.
pub(crate) const TICKET_COLS: &str = ticket_cols!();
pub(crate) const ALERT_COLS: &str = alert_cols!();
pub(crate) const MESSAGE_COLS: &str = message_cols!();
pub(crate) const STAFF_COLS: &str = staff_cols!();
pub(crate) const AUDIT_COLS: &str = audit_cols!();
pub(crate) const DEVICE_COLS: &str =
    "id, name, hall_id, token_hash, created_at, revoked_at, kind, window_number, paired_at";

/// The invariant check: a slot's `taken` is its live holds, its bookings (active or used: a
/// used booking keeps `status = 'active'`), its pending seat returns and its walk-ins' seats.
/// One pass over each table, grouped, rather than a probe per slot: the check covers every
/// slot, and a pass per table reads each page once where a probe per slot would not.
pub(crate) const MISCOUNTED_SQL: &str = "SELECT s.id FROM slots s \
    LEFT JOIN (SELECT slot_id, COUNT(*) AS n FROM holds WHERE state = 'held' GROUP BY slot_id) h \
      ON h.slot_id = s.id \
    LEFT JOIN (SELECT slot_id, COUNT(*) AS n FROM bookings WHERE status = 'active' GROUP BY slot_id) b \
      ON b.slot_id = s.id \
    LEFT JOIN (SELECT slot_id, COUNT(*) AS n FROM seat_returns WHERE returned_at IS NULL GROUP BY slot_id) r \
      ON r.slot_id = s.id \
    LEFT JOIN (SELECT slot_id, COUNT(*) AS n FROM tickets WHERE slot_id IS NOT NULL GROUP BY slot_id) w \
      ON w.slot_id = s.id \
    WHERE s.taken <> COALESCE(h.n, 0) + COALESCE(b.n, 0) + COALESCE(r.n, 0) + COALESCE(w.n, 0) \
    ORDER BY s.id";

// The signal queries: parameters are `since` and a threshold, and for a hall-scoped reader
// the halls (SQLite: a JSON array, PostgreSQL: a text array). The organisation-wide queries
// read no slot; the scoped ones join each booking or hold to its slot's hall, in the query,
// so that limits and thresholds count only what the reader may see.
/// Bookings grouped by `$group`, showing `$shown` (for phones: one sealed phone of the group,
/// grouped by its blind index).
macro_rules! shared_sql {
    ($shown:literal, $group:literal, $extra:literal, $scope:expr) => {
        concat!(
            "SELECT ",
            $shown,
            ", COUNT(DISTINCT x.identity_key), COUNT(*) FROM bookings x ",
            $scope,
            " WHERE x.created_at >= $1 ",
            $extra,
            " GROUP BY ",
            $group,
            " HAVING COUNT(DISTINCT x.identity_key) >= $2 ORDER BY 2 DESC, 1 LIMIT 100"
        )
    };
}
macro_rules! abandoned_sql {
    ($scope:expr) => {
        concat!(
            "SELECT x.client_addr, COUNT(*) FROM holds x ",
            $scope,
            " WHERE x.created_at >= $1 AND x.state = 'expired' AND x.client_addr IS NOT NULL \
            GROUP BY x.client_addr HAVING COUNT(*) >= $2 ORDER BY 2 DESC, 1 LIMIT 100"
        )
    };
}
macro_rules! pairs_sql {
    ($scope:expr) => {
        concat!(
            "SELECT a.code, b.code, p.kind, p.gap_ms FROM cancel_rebook p \
            JOIN bookings a ON a.id = p.cancelled_booking_id JOIN bookings b ON b.id = p.new_booking_id ",
            $scope,
            " WHERE p.recorded_at >= $1 ORDER BY p.gap_ms, p.id LIMIT 100"
        )
    };
}
/// A booking or hold `x` at one of the halls `$3` (SQLite's JSON array).
macro_rules! lite_scope {
    () => {
        "JOIN slots xs ON xs.id = x.slot_id AND xs.hall_id IN (SELECT value FROM json_each($3))"
    };
}
/// A booking or hold `x` at one of the halls `$3` (PostgreSQL's text array).
macro_rules! pg_scope {
    () => {
        "JOIN slots xs ON xs.id = x.slot_id AND xs.hall_id = ANY($3::text[])"
    };
}
shared! {
    SHARED_PHONES_SQL = shared_sql!("MIN(x.phone)", "x.phone_index", "AND x.phone_index IS NOT NULL", "");
    SHARED_ADDRESSES_SQL = shared_sql!("x.client_addr", "x.client_addr", "AND x.client_addr IS NOT NULL", "");
    ABANDONED_SQL = abandoned_sql!("");
    PAIRS_SINCE_SQL = pairs_sql!("");
    /// Scoped to halls: use `.lite` only.
    SHARED_PHONES_LITE_HALLS = shared_sql!("MIN(x.phone)", "x.phone_index", "AND x.phone_index IS NOT NULL", lite_scope!());
    SHARED_ADDRESSES_LITE_HALLS = shared_sql!("x.client_addr", "x.client_addr", "AND x.client_addr IS NOT NULL", lite_scope!());
    ABANDONED_LITE_HALLS = abandoned_sql!(lite_scope!());
    /// A pair shows when both its bookings are at the halls: a hall's reader learns no code
    /// of a booking at another hall.
    /// Its halls are `$2` (it has no threshold).
    PAIRS_LITE_HALLS = pairs_sql!("JOIN slots sa ON sa.id = a.slot_id AND sa.hall_id IN (SELECT value FROM json_each($2)) \
        JOIN slots sb ON sb.id = b.slot_id AND sb.hall_id IN (SELECT value FROM json_each($2))");
    /// Scoped to halls: use `.pg` only.
    SHARED_PHONES_PG_HALLS = shared_sql!("MIN(x.phone)", "x.phone_index", "AND x.phone_index IS NOT NULL", pg_scope!());
    SHARED_ADDRESSES_PG_HALLS = shared_sql!("x.client_addr", "x.client_addr", "AND x.client_addr IS NOT NULL", pg_scope!());
    ABANDONED_PG_HALLS = abandoned_sql!(pg_scope!());
    /// Its halls are `$2` (it has no threshold).
    PAIRS_PG_HALLS = pairs_sql!("JOIN slots sa ON sa.id = a.slot_id AND sa.hall_id = ANY($2::text[]) \
        JOIN slots sb ON sb.id = b.slot_id AND sb.hall_id = ANY($2::text[])");
}

pub(crate) const ACTIVE_SQL: &str = "SELECT COUNT(*) FROM bookings WHERE status = 'active'";

pub(crate) const DUPLICATES_SQL: &str =
    "SELECT COUNT(*) FROM (SELECT identity_key, business FROM bookings \
    WHERE status = 'active' AND used_at IS NULL GROUP BY identity_key, business HAVING COUNT(*) > 1) d";

// --- booking ---

shared! {
    /// Counts one owner proof against a key in a window and answers the count.
    COUNT_OWNER_PROOF = "INSERT INTO owner_proof_attempts (key, window_start, hits) VALUES ($1, $2, 1) \
    ON CONFLICT (key, window_start) DO UPDATE SET hits = owner_proof_attempts.hits + 1 RETURNING hits";
    /// Takes back a counted proof that matched.
    FORGIVE_OWNER_PROOF = "UPDATE owner_proof_attempts SET hits = hits - 1 \
    WHERE key = $1 AND window_start = $2 AND hits > 0";
    /// Old windows, for the sweeper.
    PURGE_OWNER_PROOFS = "DELETE FROM owner_proof_attempts WHERE window_start < $1";
}

shared! {
    ACTIVE_BOOKINGS_OF = concat!(
        booking_select!(),
        " WHERE b.identity_key = $1 AND b.status = 'active' AND b.used_at IS NULL ORDER BY s.starts_at"
    );
    CURRENT_BOOKINGS_OF = concat!(
        booking_select!(),
        " WHERE b.identity_key = $1 ORDER BY s.starts_at DESC, b.id DESC LIMIT 50"
    );
    ACTIVE_BOOKINGS_ON = concat!(
        booking_select!(),
        " WHERE s.day = $1 AND b.status = 'active' AND b.used_at IS NULL ORDER BY b.id"
    );
    BOOKING_BY_CODE = concat!(
        booking_select!(),
        " WHERE b.code = $1"
    );
    BOOKING_BY_ID = concat!(
        booking_select!(),
        " WHERE b.id = $1"
    );
    CANCEL_REBOOK_MARK = "SELECT at FROM scan_marks WHERE name = 'cancel_rebook'";
    CANCEL_REBOOK_PAIRS = "SELECT a.code, b.code, p.kind, p.gap_ms FROM cancel_rebook p
                 JOIN bookings a ON a.id = p.cancelled_booking_id
                 JOIN bookings b ON b.id = p.new_booking_id ORDER BY p.id";
    HOLD_BY_ID = "SELECT id, slot_id, business, state, created_at, expires_at FROM holds WHERE id = $1";
    INSERT_SEAT_RETURN = "INSERT INTO seat_returns (slot_id, booking_id, reason, return_at, returned_at) VALUES ($1, $2, $3, $4, $5)";
    RETURN_SEAT = "UPDATE slots SET taken = taken - 1 WHERE id = $1";
    SLOT_EXISTS = "SELECT id FROM slots WHERE id = $1";
    TAKE_SEAT = "UPDATE slots SET taken = taken + 1 WHERE id = $1 AND taken < capacity";
}

// --- hall ---

shared! {
    /// Check-in uses the booking, on the row itself (see migration 21): only the active,
    /// unused booking at the slot the check-in was judged against. `$1` booking, `$2` now,
    /// `$3` its slot.
    USE_BOOKING = "UPDATE bookings SET used_at = $2 WHERE id = $1 AND slot_id = $3 \
        AND status = 'active' AND used_at IS NULL";
    /// Why a booking could not be used: its status and whether it is used already.
    BOOKING_STATE = "SELECT status, used_at IS NOT NULL FROM bookings WHERE id = $1";
    /// A walk-in's rules, `$1` identity key, `$2` business, `$3` day: an active booking of the
    /// business (check it in instead) …
    WALK_IN_BOOKED = "SELECT COUNT(*) FROM bookings WHERE identity_key = $1 AND business = $2 \
        AND status = 'active' AND used_at IS NULL";
    /// … or a ticket of the business that day not yet done (a missed one is requeued instead).
    WALK_IN_QUEUED = "SELECT COUNT(*) FROM tickets WHERE identity_key = $1 AND business = $2 \
        AND day = $3 AND status <> 'done'";
    /// The hall's on-site slot running at `$3` (started after `$4`, one slot length before).
    WALK_IN_SLOT = "SELECT id FROM slots WHERE hall_id = $1 AND day = $2 AND pool = 'on_site' \
        AND starts_at <= $3 AND starts_at > $4 ORDER BY starts_at DESC LIMIT 1";
    /// The ticket issued for a booking.
    TICKET_OF_BOOKING = concat!(
        "SELECT ",
        ticket_cols!(),
        " FROM tickets WHERE booking_id = $1"
    );
    APPLICATION_OF = concat!(
        "SELECT ",
        application_cols!(),
        " FROM applications WHERE ticket_id = $1"
    );
    ESCALATE_ALERT = "UPDATE alerts SET escalated_at = $2 WHERE id = $1 AND acknowledged_at IS NULL AND escalated_at IS NULL";
    INSERT_APPLICATION = "INSERT INTO applications (ticket_id, booking_id, hall_id, business, identity_key, status, missing, supplement_due, expedited,
            ready_by, window_number, officer_id, accepted_at, updated_at, collection_method, mail_address, channel)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14, $15, $16)";
    /// The first event of the application of ticket `$1`: its acceptance.
    INSERT_FIRST_APPLICATION_EVENT = "INSERT INTO application_events (application_id, from_state, to_state, at, actor, note)
         SELECT id, NULL, status, accepted_at, 'staff:' || CAST(officer_id AS TEXT), '' FROM applications WHERE ticket_id = $1";
    APPLICATION_BY_ID = concat!(
        "SELECT ",
        application_cols!(),
        " FROM applications WHERE id = $1"
    );
    /// Applications in state `$1`, of hall `$2` or every hall: urgent first, then by due date.
    APPLICATIONS_IN_STATE = concat!(
        "SELECT ",
        application_cols!(),
        " FROM applications WHERE status = $1 AND (CAST($2 AS TEXT) IS NULL OR hall_id = $2) \
         ORDER BY expedited DESC, ready_by, id LIMIT $3"
    );
    APPLICATION_EVENTS = "SELECT id, application_id, from_state, to_state, at, actor, note \
         FROM application_events WHERE application_id = $1 ORDER BY id";
    PAYMENT_OF = "SELECT id, ticket_id, receipt_no, amount_yuan, method, reference, window_number, officer_id, paid_at FROM payments WHERE ticket_id = $1";
    PAYMENTS_OF_DAY = "SELECT p.id, p.ticket_id, p.receipt_no, p.amount_yuan, p.method, p.reference, p.window_number, p.officer_id, p.paid_at, t.label, p.refunded_at FROM payments p JOIN tickets t ON t.id = p.ticket_id WHERE p.hall_id = $1 AND p.day = $2 ORDER BY p.paid_at, p.id";
    TICKETS_OF_DAY = concat!(
        "SELECT ",
        ticket_cols!(),
        " FROM tickets WHERE hall_id = $1 AND day = $2 ORDER BY queue, number"
    );
    TICKET_BY_ID = concat!(
        "SELECT ",
        ticket_cols!(),
        " FROM tickets WHERE id = $1"
    );
}

// --- lottery ---

shared! {
    DRAW_EXISTS = "SELECT 1 FROM lottery_draws WHERE release_day = $1";
    DRAW_OF_DAY = concat!(
        draw_select!(),
        " WHERE release_day = $1"
    );
    ENTRIES_LOST = "UPDATE lottery_entries SET status = 'lost' WHERE release_day = $1 AND status = 'entered'";
    ENTRIES_OF_DAY = concat!(
        entry_select!(),
        " WHERE e.release_day = $1 ORDER BY e.id"
    );
    ENTRIES_TO_DRAW = concat!(
        entry_select!(),
        " WHERE e.release_day = $1 AND e.status = 'entered' ORDER BY e.id"
    );
    ENTRY_BY_ID = concat!(
        entry_select!(),
        " WHERE e.id = $1"
    );
    ENTRY_WON = "UPDATE lottery_entries SET status = 'won', booking_id = $2 WHERE id = $1 AND status = 'entered'";
    FINISH_DRAW = "UPDATE lottery_draws SET finished_at = $2,
               winners = (SELECT COUNT(*) FROM lottery_entries WHERE release_day = $1 AND status = 'won')
             WHERE release_day = $1";
    START_DRAW = "INSERT INTO lottery_draws (release_day, seed, started_at, entries, winners)
                 VALUES ($1, $2, $3, (SELECT COUNT(*) FROM lottery_entries WHERE release_day = $1), 0)
                 ON CONFLICT (release_day) DO NOTHING";
}

// --- mod ---

shared! {
    APPLIED_MIGRATIONS = "SELECT version FROM schema_migrations ORDER BY version";
    COUNT_SLOTS = "SELECT COUNT(*) FROM slots";
    OVERSOLD_SLOTS = "SELECT id FROM slots WHERE taken > capacity ORDER BY id";
    PING = "SELECT 1";
}

// --- org ---

shared! {
    CALENDAR_DAYS = "SELECT day, kind, name FROM calendar_days WHERE day >= $1 AND day <= $2 ORDER BY day";
    DELETE_WINDOWS_OF_HALL = "DELETE FROM windows WHERE hall_id = $1";
    DISTRICTS = "SELECT id, name_zh, name_en FROM districts ORDER BY id";
    INSERT_SLOT_IF_NEW = "INSERT INTO slots (hall_id, day, start_time, pool, starts_at, capacity, taken)
                 VALUES ($1, $2, $3, $4, $5, $6, 0) ON CONFLICT DO NOTHING";
    INSERT_WINDOW = "INSERT INTO windows (hall_id, number, kind) VALUES ($1, $2, $3)";
    SLOTS_WHERE = concat!(
        "SELECT ",
        slot_cols!(),
        " FROM slots s WHERE 1 = 1"
    );
    SLOT_BY_ID = concat!(
        "SELECT ",
        slot_cols!(),
        " FROM slots s WHERE s.id = $1"
    );
    UPSERT_CALENDAR_DAY = "INSERT INTO calendar_days (day, kind, name) VALUES ($1, $2, $3)
                 ON CONFLICT (day) DO UPDATE SET kind = excluded.kind, name = excluded.name";
    UPSERT_DISTRICT = "INSERT INTO districts (id, name_zh, name_en) VALUES ($1, $2, $3)
                 ON CONFLICT (id) DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en";
    UPSERT_HALL = "INSERT INTO halls (id, district_id, name_zh, name_en, address_zh, address_en, weekdays, sessions, slot_minutes, serves_foreigners, kind, latitude, longitude)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
             ON CONFLICT (id) DO UPDATE SET district_id = excluded.district_id, name_zh = excluded.name_zh,
               name_en = excluded.name_en, address_zh = excluded.address_zh, address_en = excluded.address_en,
               weekdays = excluded.weekdays, sessions = excluded.sessions, slot_minutes = excluded.slot_minutes,
               serves_foreigners = excluded.serves_foreigners, kind = excluded.kind,
               latitude = excluded.latitude, longitude = excluded.longitude";
    UPSERT_POOL_CAPACITY = "INSERT INTO pool_capacity (hall_id, pool, seats_per_slot) VALUES ($1, $2, $3)
                 ON CONFLICT (hall_id, pool) DO UPDATE SET seats_per_slot = excluded.seats_per_slot";
}

// --- sites (issue 13 §2) ---

shared! {
    /// A new site; its id is the primary key, so a taken id is a unique violation.
    INSERT_SITE = "INSERT INTO halls (id, district_id, name_zh, name_en, address_zh, address_en, weekdays, sessions, slot_minutes, serves_foreigners, kind, latitude, longitude)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
    /// A site's names, address and hours (the kind stays what it was created as).
    UPDATE_SITE = "UPDATE halls SET name_zh = $2, name_en = $3, address_zh = $4, address_en = $5,
             weekdays = $6, sessions = $7, slot_minutes = $8, serves_foreigners = $9,
             latitude = $10, longitude = $11 WHERE id = $1";
    DISTRICT_EXISTS = "SELECT 1 FROM districts WHERE id = $1";
    DELETE_SITE_BUSINESSES = "DELETE FROM site_businesses WHERE hall_id = $1";
    INSERT_SITE_BUSINESS = "INSERT INTO site_businesses (hall_id, business) VALUES ($1, $2) ON CONFLICT DO NOTHING";
}

// --- outbox ---

shared! {
    INSERT_MESSAGE = "INSERT INTO outbox (idempotency_key, channel, recipient, topic, body, created_at, due_at, recipient_index)
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7) ON CONFLICT (idempotency_key) DO NOTHING";
    INSERT_PHONE_CODE = "INSERT INTO phone_codes (phone, purpose, code_hash, created_at, expires_at, client_addr) VALUES ($1, $2, $3, $4, $5, $6)";
    INSERT_SECRET = "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING";
    MESSAGES_TO = concat!(
        "SELECT ",
        message_cols!(),
        " FROM outbox WHERE recipient_index = $1 ORDER BY id DESC LIMIT $2"
    );
    // A delivered message keeps its envelope (sealed recipient, topic, times) for the record;
    // its text (a phone code, a booking's details) is purged.
    MESSAGE_DELIVERED = "UPDATE outbox SET delivered_at = $2, lease_until = NULL, last_error = NULL, body = '' WHERE id = $1";
    MESSAGE_FAILED = "UPDATE outbox SET due_at = $2, lease_until = NULL, last_error = $3 WHERE id = $1 AND delivered_at IS NULL";
    MESSAGE_RELEASED = "UPDATE outbox SET lease_until = NULL, attempts = attempts - 1 WHERE id = $1 AND delivered_at IS NULL AND lease_until IS NOT NULL AND attempts > 0";
    PHONE_CODES_FROM_ADDRESS = "SELECT COUNT(*) FROM phone_codes WHERE client_addr = $1 AND created_at > $2";
    PHONE_CODES_TO_PHONE = "SELECT MAX(created_at), COUNT(*) FROM phone_codes WHERE phone = $1 AND created_at > $2";
    PHONE_CODE_ATTEMPT = "UPDATE phone_codes SET attempts = attempts + 1 WHERE id = $1";
    PHONE_CODE_VERIFIED = "UPDATE phone_codes SET verified_at = COALESCE(verified_at, $2) WHERE id = $1";
    /// Uses up a code: conditional, so that of two uses exactly one changes the row.
    CONSUME_PHONE_CODE = "UPDATE phone_codes SET consumed_at = $2, verified_at = COALESCE(verified_at, $2) \
    WHERE id = $1 AND consumed_at IS NULL";
    SECRET_BY_NAME = "SELECT value FROM secrets WHERE name = $1";
    SETTING = "SELECT value FROM settings WHERE key = $1";
    TICKET_RATED = "SELECT COUNT(*) FROM ratings WHERE ticket_id = $1";
    PUT_SETTING = "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
}

// --- registry ---

shared! {
    PERSON_BY_ID = "SELECT id_number, name, hukou_city, residence_permit_city, \
        residence_permit_expires, status, state_functionary, fingerprints_on_file, military, phone \
        FROM persons WHERE id_number = $1";
    DOCUMENTS_OF = "SELECT id_number, kind, number, issued_on, expires_on, status \
        FROM documents WHERE id_number = $1 ORDER BY issued_on";
    UPSERT_DOCUMENT = "INSERT INTO documents (id_number, kind, number, issued_on, expires_on, status, imported_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (kind, number) DO UPDATE SET id_number = excluded.id_number,
                   issued_on = excluded.issued_on, expires_on = excluded.expires_on,
                   status = excluded.status, imported_at = excluded.imported_at";
    UPSERT_PERSON = "INSERT INTO persons (id_number, name, hukou_city, residence_permit_city, residence_permit_expires,
                   status, state_functionary, imported_at, fingerprints_on_file, military, phone)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                 ON CONFLICT (id_number) DO UPDATE SET name = excluded.name, hukou_city = excluded.hukou_city,
                   residence_permit_city = excluded.residence_permit_city,
                   residence_permit_expires = excluded.residence_permit_expires, status = excluded.status,
                   state_functionary = excluded.state_functionary, imported_at = excluded.imported_at,
                   fingerprints_on_file = excluded.fingerprints_on_file, military = excluded.military,
                   phone = excluded.phone";
}

// --- staff ---

shared! {
    SESSION_BY_TOKEN = "SELECT s.token_hash, s.staff_id, s.csrf_token, s.created_at, s.expires_at, s.client_addr, \
        a.id, a.username, a.display_name, a.password_hash, a.roles, a.disabled, a.created_at, \
        a.password_changed_at, a.phone \
        FROM staff_sessions s JOIN staff a ON a.id = s.staff_id \
        WHERE s.token_hash = $1 AND s.expires_at > $2 AND NOT a.disabled";
    INSERT_STAFF = "INSERT INTO staff (username, display_name, password_hash, roles, disabled, created_at, password_changed_at, phone)
                     VALUES ($1, $2, $3, $4, false, $5, $5, $6) RETURNING id";
    UPDATE_STAFF = "UPDATE staff SET display_name = COALESCE($2, display_name),
                        roles = COALESCE($3, roles), disabled = COALESCE($4, disabled),
                        password_hash = COALESCE($5, password_hash),
                        password_changed_at = CASE WHEN CAST($5 AS TEXT) IS NULL THEN password_changed_at ELSE $6 END,
                        phone = COALESCE($7, phone)
                     WHERE id = $1";
    /// The hall is the ticket's; no row (no id) when the ticket does not exist.
    INSERT_URGENT_REQUEST = "INSERT INTO urgent_requests (ticket_id, hall_id, reason, note, requested_by, created_at)
                             SELECT id, hall_id, $2, $3, $4, $5 FROM tickets WHERE id = $1 RETURNING id";
    INSERT_DEVICE = "INSERT INTO devices (name, hall_id, token_hash, created_at, kind, window_number) VALUES ($1, $2, $3, $4, $5, CAST(CAST($6 AS BIGINT) AS INTEGER)) RETURNING id";
    EXPEDITE_APPLICATION = "UPDATE applications SET expedited = true WHERE ticket_id = $1";
    /// A move, conditional on the state the caller saw: of two concurrent moves from one state,
    /// one changes the row and the other none. The reason and number are kept once set.
    MOVE_APPLICATION = "UPDATE applications SET status = $3, updated_at = $4, \
         refusal_reason = COALESCE($5, refusal_reason), document_number = COALESCE($6, document_number), \
         tracking_number = COALESCE($7, tracking_number) \
         WHERE id = $1 AND status = $2";
    /// The choice of collection, while the states allow it
    /// ([`wujing_domain::application::Collection::can_choose_in`]).
    CHOOSE_COLLECTION = "UPDATE applications SET collection_method = $2, mail_address = $3, updated_at = $4 \
         WHERE id = $1 AND status IN ('accepted', 'pending_supplement', 'under_review', 'approved', 'in_production', 'produced')";
    APPLICATION_MAIL_ADDRESS = "SELECT mail_address FROM applications WHERE id = $1";
    /// A person's applications by their blind identity key, newest first.
    APPLICATIONS_OF_IDENTITY = concat!(
        "SELECT ",
        application_cols!(),
        " FROM applications WHERE identity_key = $1 ORDER BY accepted_at DESC, id DESC LIMIT 50"
    );
    /// Applications past their due date and not yet ready: the office's clock runs (a pending
    /// supplement waits for the citizen and is left out), oldest due first.
    OVERDUE_APPLICATIONS = concat!(
        "SELECT ",
        application_cols!(),
        " FROM applications WHERE status IN ('accepted', 'under_review', 'approved', 'in_production', 'produced', 'dispatched') \
         AND ready_by < $1 AND (CAST($2 AS TEXT) IS NULL OR hall_id = $2) ORDER BY ready_by, id LIMIT $3"
    );
    APPLICATION_STATUS = "SELECT status FROM applications WHERE id = $1";
    /// Review found a material missing: what, and by when (with the move to
    /// `pending_supplement`).
    SET_SUPPLEMENT = "UPDATE applications SET missing = $2, supplement_due = $3 WHERE id = $1";
    /// A walk-in's 户籍 scope, kept at issue (see migration 24).
    SET_HUKOU_SCOPE = "UPDATE tickets SET hukou_scope = $2 WHERE id = $1";
    /// The move's history row; its CHECK refuses a move the table does not list.
    INSERT_APPLICATION_EVENT = "INSERT INTO application_events (application_id, from_state, to_state, at, actor, note) \
         VALUES ($1, $2, $3, $4, $5, $6)";
    // --- The pickup locker (migration 22) ---
    LOCKER_OF_HALL = concat!("SELECT ", locker_cols!(), " FROM locker_compartments WHERE hall_id = $1 ORDER BY label");
    /// The compartment of hall `$1` whose code MAC is `$2` (the MAC binds the identity key).
    LOCKER_BY_CODE = concat!("SELECT ", locker_cols!(), " FROM locker_compartments WHERE hall_id = $1 AND code_mac = $2");
    INSERT_COMPARTMENT = "INSERT INTO locker_compartments (hall_id, label) VALUES ($1, $2) \
         ON CONFLICT (hall_id, label) DO NOTHING";
    LOCKER_LABELS = "SELECT label FROM locker_compartments WHERE hall_id = $1";
    /// Only a free compartment is removed: an occupied one holds a citizen's document.
    DELETE_FREE_COMPARTMENT = "DELETE FROM locker_compartments WHERE hall_id = $1 AND label = $2 AND application_id IS NULL";
    /// Whatever compartment the application holds is freed with its code (a move out of
    /// `ready_for_collection`: collected at a counter, returned to the vault).
    FREE_COMPARTMENT_OF = "UPDATE locker_compartments SET application_id = NULL, code_mac = NULL, assigned_at = NULL \
         WHERE application_id = $1";
    /// The collection at the locker: conditional on the code and the occupant, so that of two
    /// collections with one code exactly one frees the compartment.
    TAKE_FROM_COMPARTMENT = "UPDATE locker_compartments SET application_id = NULL, code_mac = NULL, assigned_at = NULL \
         WHERE hall_id = $1 AND code_mac = $2 AND application_id = $3 RETURNING label";
    /// A door that did not open (migration 37): the first report's time and device stay.
    JAM_COMPARTMENT = "UPDATE locker_compartments SET jammed_at = COALESCE(jammed_at, $3), \
         jammed_by = COALESCE(jammed_by, $4) WHERE hall_id = $1 AND label = $2";
    /// Conditional on being jammed, so that a second clearing is told so.
    CLEAR_JAM = "UPDATE locker_compartments SET jammed_at = NULL, jammed_by = NULL \
         WHERE hall_id = $1 AND label = $2 AND jammed_at IS NOT NULL";
    /// The jam's alerts of every device of the hall (a locker may have been replaced).
    CLEAR_JAM_ALERTS = "UPDATE device_alerts SET cleared_at = $3, cleared_by = $4, note = $5 \
         WHERE hall_id = $1 AND reason = $2 AND cleared_at IS NULL";
    REMIND_COLLECTION = "UPDATE applications SET reminded_at = $2 \
         WHERE id = $1 AND status = 'ready_for_collection' AND reminded_at IS NULL";
    /// Pending a supplement whose deadline (`$1`, a day) has passed.
    APPLICATIONS_LAPSING = concat!(
        "SELECT ",
        application_cols!(),
        " FROM applications WHERE status = 'pending_supplement' AND supplement_due < $1 ORDER BY id LIMIT $2"
    );
    /// Ready for collection since before `$1` (the arrival's history row).
    APPLICATIONS_UNCOLLECTED = concat!(
        "SELECT ",
        application_cols!(),
        " FROM applications WHERE status = 'ready_for_collection' AND (SELECT MAX(e.at) FROM application_events e \
         WHERE e.application_id = applications.id AND e.to_state = 'ready_for_collection') < $1 ORDER BY id LIMIT $2"
    );
    /// The same, not yet reminded.
    APPLICATIONS_UNREMINDED = concat!(
        "SELECT ",
        application_cols!(),
        " FROM applications WHERE status = 'ready_for_collection' AND reminded_at IS NULL AND (SELECT MAX(e.at) \
         FROM application_events e WHERE e.application_id = applications.id AND e.to_state = 'ready_for_collection') < $1 \
         ORDER BY id LIMIT $2"
    );
    ACKNOWLEDGE_ALERT = "UPDATE alerts SET acknowledged_at = $2, acknowledged_by = $3, outcome = $4 WHERE id = $1 AND acknowledged_at IS NULL";
    AUDIT_CHAIN = concat!(
        "SELECT ",
        audit_cols!(),
        " FROM audit_log ORDER BY seq"
    );
    AUDIT_HEAD = "SELECT seq, hash FROM audit_head WHERE id = 1";
    CLEAR_LOGIN_THROTTLE = "DELETE FROM login_throttle WHERE key = $1";
    CLOSE_HALL_DAY = "INSERT INTO hall_closures (hall_id, day, note) VALUES ($1, $2, $3)
                     ON CONFLICT (hall_id, day) DO UPDATE SET note = excluded.note";
    DECIDE_URGENT = "UPDATE urgent_requests SET decided_at = $2, decided_by = $3, approved = $4 WHERE id = $1 AND decided_at IS NULL RETURNING ticket_id";
    DELETE_EXPIRED_SESSIONS = "DELETE FROM staff_sessions WHERE expires_at <= $1";
    DELETE_IDLE_LOGIN_THROTTLE = "DELETE FROM login_throttle WHERE last_ms <= $1 AND next_ms <= $2";
    DELETE_WINDOW = "DELETE FROM windows WHERE hall_id = $1 AND number = $2";
    WINDOW_EXISTS = "SELECT CAST(number AS BIGINT) FROM windows WHERE hall_id = $1 AND number = $2";
    END_SESSION = "DELETE FROM staff_sessions WHERE token_hash = $1";
    END_SESSIONS_OF_STAFF = "DELETE FROM staff_sessions WHERE staff_id = $1";
    EXPEDITE_TICKET = "UPDATE tickets SET priority = 1 WHERE id = $1";
    HALL_CLOSURES = "SELECT day FROM hall_closures WHERE hall_id = $1 AND day >= $2 AND day <= $3 ORDER BY day";
    HALL_EXISTS = "SELECT 1 FROM halls WHERE id = $1";
    INSERT_AUDIT_ENTRY = concat!(
        "INSERT INTO audit_log (",
        audit_cols!(),
        ", hall_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    );
    LOGIN_THROTTLE_NEXT = "SELECT next_ms FROM login_throttle WHERE key = $1";
    /// Counts one sign-in attempt under a key and sets when the next may come, in one upsert:
    /// the conflicting row is locked (PostgreSQL) or the writer is single (SQLite), so that
    /// parallel attempts count one after the other. Returns no row when the key is still in
    /// its delay (`next_ms` after now), leaving it untouched. `$1` key, `$2` now (ms), `$3`
    /// attempts free of delay, `$4` delay step (ms), `$5` window (ms): a key quiet for that
    /// long starts again at one; `$6` longest delay (ms). The delay after the `n`th attempt is
    /// `step × (n − free + 1)` once `n ≥ free`, at most the longest.
    LOGIN_ATTEMPT = concat!(
        "INSERT INTO login_throttle (key, attempts, last_ms, next_ms) \
         VALUES ($1, 1, CAST($2 AS BIGINT), CAST($2 AS BIGINT) + ",
        login_delay!("1"),
        ") ON CONFLICT (key) DO UPDATE SET attempts = ",
        login_count!(),
        ", last_ms = CAST($2 AS BIGINT), next_ms = CAST($2 AS BIGINT) + ",
        login_delay!(login_count!()),
        " WHERE login_throttle.next_ms <= CAST($2 AS BIGINT) RETURNING attempts"
    );
    /// A sign-in succeeded: the address's attempt does not count against it.
    RELIEVE_LOGIN_THROTTLE = "UPDATE login_throttle SET attempts = attempts - 1 WHERE key = $1 AND attempts > 0";
    INSERT_SESSION = "INSERT INTO staff_sessions (token_hash, staff_id, csrf_token, created_at, expires_at, client_addr)
         VALUES ($1, $2, $3, $4, $5, $6)";
    REFUND_PAYMENT = "UPDATE payments SET refunded_at = $2, refunded_by = $3 WHERE ticket_id = $1 AND refunded_at IS NULL";
    REOPEN_HALL_DAY = "DELETE FROM hall_closures WHERE hall_id = $1 AND day = $2";
    REVOKE_DEVICE = "UPDATE devices SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";
    SET_AUDIT_HEAD = "INSERT INTO audit_head (id, seq, hash) VALUES (1, $1, $2)
         ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash";
    SET_SLOT_CAPACITY = "UPDATE slots SET capacity = $4 WHERE hall_id = $1 AND pool = $2 AND day >= $3
                       AND day NOT IN (SELECT day FROM hall_closures WHERE hall_id = $1)";
    SLOT_OVER_CAPACITY = "SELECT id FROM slots WHERE hall_id = $1 AND pool = $2 AND day >= $3 AND taken > $4 LIMIT 1";
    UPDATE_HALL_NAMES = "UPDATE halls SET name_zh = $2, name_en = $3, address_zh = $4, address_en = $5 WHERE id = $1";
    WINDOWS_OF_HALL = "SELECT number, kind FROM windows WHERE hall_id = $1 ORDER BY number";
    ZERO_DAY_CAPACITY = "UPDATE slots SET capacity = 0 WHERE hall_id = $1 AND day = $2";
}

// --- Staff changes whose text differs -------------------------------------------------------

/// The seats taken on a hall's day; PostgreSQL locks the day's slots first, so that no booking
/// slips in between the check and a closure (SQLite has one writer).
pub(crate) const TAKEN_ON_DAY_LOCKED: Sql = Sql {
    pg: "SELECT COALESCE(SUM(taken), 0)::bigint FROM \
         (SELECT taken FROM slots WHERE hall_id = $1 AND day = $2 FOR UPDATE) s",
    lite: "SELECT COALESCE(SUM(taken), 0) FROM slots WHERE hall_id = ?1 AND day = ?2",
};

/// A reopened day's slots get their pool's capacity back: a join on PostgreSQL, a correlated
/// subquery on SQLite (which has no `UPDATE … FROM` before 3.33).
pub(crate) const RESTORE_DAY_CAPACITY: Sql = Sql {
    pg: "UPDATE slots SET capacity = p.seats_per_slot FROM pool_capacity p \
         WHERE p.hall_id = slots.hall_id AND p.pool = slots.pool \
           AND slots.hall_id = $1 AND slots.day = $2",
    lite: "UPDATE slots SET capacity = (SELECT seats_per_slot FROM pool_capacity p \
             WHERE p.hall_id = slots.hall_id AND p.pool = slots.pool) \
           WHERE hall_id = ?1 AND day = ?2",
};

// Retention (issue 11, finding 8): personal data of visits older than the retention period is
// erased, the rows kept for the counts. `$1` is the cutoff instant, or its day. An
// anonymised booking's identity key becomes `anon:<id>`, unique, so the one-active-booking
// index still holds for a never-cancelled past booking.
//
// The pass must not scan a year (on SQLite it holds the one writer): tickets, applications and
// holds go through partial indexes of the rows not yet erased (migration 40), and bookings
// through the slots that started since the previous pass's cutoff (`$2`, the `retention`
// mark, moved in the same transaction) and `bookings_by_slot`.
shared! {
    ANONYMISE_BOOKINGS = "UPDATE bookings SET id_number = '', name = '', phone = '', phone_index = NULL, \
        answers = '{}', client_addr = NULL, identity_key = 'anon:' || CAST(id AS TEXT) \
        WHERE id_number <> '' \
        AND slot_id IN (SELECT id FROM slots WHERE starts_at < $1 AND starts_at >= $2)";
    RETENTION_MARK = "SELECT at FROM scan_marks WHERE name = 'retention'";
    RETENTION_MARK_SET = "INSERT INTO scan_marks (name, at) VALUES ('retention', $1) \
        ON CONFLICT (name) DO UPDATE SET at = excluded.at";
    /// A bulk load writes past bookings behind the mark: the next pass looks at every slot.
    RETENTION_MARK_RESET = "DELETE FROM scan_marks WHERE name = 'retention'";
    ANONYMISE_ENTRIES = "UPDATE lottery_entries SET id_number = '', name = '', phone = '', \
        answers = '{}', client_addr = NULL, identity_key = 'anon:' || CAST(id AS TEXT) \
        WHERE release_day < $1 AND id_number <> ''";
    FORGET_HOLD_ADDRESSES = "UPDATE holds SET client_addr = NULL WHERE created_at < $1 AND client_addr IS NOT NULL";
    FORGET_PHONE_CODES = "DELETE FROM phone_codes WHERE expires_at < $1";
}

/// An application that ended (collected, refused, withdrawn, lapsed) before the cutoff keeps
/// its business, hall, dates and states for the statistics; its owner's key and mail address
/// go. SQLite is told the index: without it the planner takes `applications_queue` by status
/// and walks every collected application of the year.
/// Tickets likewise: `tickets_by_day` serves the same range but holds every ticket.
pub(crate) const ANONYMISE_TICKETS: Sql = Sql {
    pg: "UPDATE tickets SET identity_key = 'anon:' || CAST(id AS TEXT) \
        WHERE day < $1 AND identity_key NOT LIKE 'anon:%'",
    lite:
        "UPDATE tickets INDEXED BY tickets_to_erase SET identity_key = 'anon:' || CAST(id AS TEXT) \
        WHERE day < ?1 AND identity_key NOT LIKE 'anon:%'",
};

pub(crate) const ANONYMISE_APPLICATIONS: Sql = Sql {
    pg: "UPDATE applications SET identity_key = 'anon:' || CAST(id AS TEXT), mail_address = NULL \
        WHERE identity_key NOT LIKE 'anon:%' AND status IN ('collected', 'refused', 'withdrawn', 'lapsed') \
        AND updated_at < $1",
    lite: "UPDATE applications INDEXED BY applications_to_erase \
        SET identity_key = 'anon:' || CAST(id AS TEXT), mail_address = NULL \
        WHERE identity_key NOT LIKE 'anon:%' AND status IN ('collected', 'refused', 'withdrawn', 'lapsed') \
        AND updated_at < ?1",
};

// Sealing what a database from before migration 19 holds in clear (`seal::seal_legacy`), run
// once in the migrating transaction while the `seal_legacy` mark is there. Ids are read as
// text so that one row reader serves every table.
shared! {
    LEGACY_PENDING = "SELECT COUNT(*) FROM scan_marks WHERE name = 'seal_legacy'";
    KEY_CHECK = "SELECT value FROM secrets WHERE name = 'key_check'";
    KEY_CHECK_SET = "INSERT INTO secrets (name, value) VALUES ('key_check', $1)";
    LEGACY_DONE = "DELETE FROM scan_marks WHERE name = 'seal_legacy'";
    LEGACY_BOOKINGS = "SELECT CAST(id AS TEXT), identity_key, id_number, name, phone FROM bookings \
        WHERE phone_index IS NULL AND id_number <> ''";
    LEGACY_SEAL_BOOKING = "UPDATE bookings SET identity_key = $2, id_number = $3, name = $4, phone = $5, \
        phone_index = $6 WHERE id = $1";
    LEGACY_ENTRIES = "SELECT CAST(id AS TEXT), identity_key, id_number, name, phone FROM lottery_entries \
        WHERE id_number <> ''";
    LEGACY_SEAL_ENTRY = "UPDATE lottery_entries SET identity_key = $2, id_number = $3, name = $4, phone = $5 \
        WHERE id = $1";
    LEGACY_TICKETS = "SELECT CAST(id AS TEXT), identity_key FROM tickets WHERE identity_key NOT LIKE 'anon:%'";
    LEGACY_KEY_TICKET = "UPDATE tickets SET identity_key = $2 WHERE id = $1";
    LEGACY_APPLICATIONS = "SELECT CAST(id AS TEXT), identity_key FROM applications";
    LEGACY_KEY_APPLICATION = "UPDATE applications SET identity_key = $2 WHERE id = $1";
    LEGACY_PERSONS = "SELECT id_number, name FROM persons";
    LEGACY_SEAL_PERSON = "UPDATE persons SET id_number = $2, name = $3 WHERE id_number = $1";
    LEGACY_DOCUMENTS = "SELECT CAST(id AS TEXT), id_number FROM documents";
    LEGACY_KEY_DOCUMENT = "UPDATE documents SET id_number = $2 WHERE id = $1";
    LEGACY_MESSAGES = "SELECT CAST(id AS TEXT), recipient, body FROM outbox WHERE recipient_index IS NULL";
    LEGACY_SEAL_MESSAGE = "UPDATE outbox SET recipient = $2, recipient_index = $3, \
        body = CASE WHEN delivered_at IS NULL THEN $4 ELSE '' END WHERE id = $1";
}

// The production centre (issue 12, migration 23): system clients and batches.
shared! {
    INSERT_SYSTEM_CLIENT = "INSERT INTO system_clients (name, kind, token_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id";
    REVOKE_SYSTEM_CLIENT = "UPDATE system_clients SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";
    SYSTEM_CLIENTS = "SELECT id, name, kind, token_hash, created_at, revoked_at FROM system_clients ORDER BY id";
    SYSTEM_CLIENT_BY_TOKEN = "SELECT id, name, kind, token_hash, created_at, revoked_at FROM system_clients \
         WHERE token_hash = $1 AND revoked_at IS NULL";
    INSERT_PRODUCTION_BATCH = "INSERT INTO production_batches (created_at, actor, actor_name) VALUES ($1, $2, $3) RETURNING id";
    /// Into a batch: conditional on `approved`, so that of two batches racing for one
    /// application only one moves it (and sets its batch).
    BATCH_APPLICATION = "UPDATE applications SET status = 'in_production', updated_at = $3, \
         production_batch_id = $2 WHERE id = $1 AND status = 'approved'";
    PRODUCTION_BATCHES = "SELECT b.id, b.created_at, b.actor, b.actor_name, \
         (SELECT COUNT(*) FROM applications a WHERE a.production_batch_id = b.id) \
         FROM production_batches b ORDER BY b.id DESC LIMIT $1";
    PRODUCTION_BATCH = "SELECT b.id, b.created_at, b.actor, b.actor_name, \
         (SELECT COUNT(*) FROM applications a WHERE a.production_batch_id = b.id) \
         FROM production_batches b WHERE b.id = $1";
    BATCH_APPLICATIONS = concat!(
        "SELECT ",
        application_cols!(),
        " FROM applications WHERE production_batch_id = $1 ORDER BY expedited DESC, ready_by, id"
    );
    COUNT_APPLICATIONS_IN_STATE = "SELECT COUNT(*) FROM applications WHERE status = $1";
}

/// The approved applications a batch takes, urgent first, then by due date. PostgreSQL locks
/// them and skips those another batch is taking, so that two batches made at once take
/// different applications instead of one waiting for the other (the conditional move is what
/// keeps them disjoint; SQLite has one writer).
pub(crate) const BATCH_CANDIDATES: Sql = Sql {
    pg: "SELECT CAST(id AS TEXT), identity_key, hall_id FROM applications WHERE status = 'approved' \
         ORDER BY expedited DESC, ready_by, id LIMIT $1 FOR UPDATE SKIP LOCKED",
    lite: "SELECT CAST(id AS TEXT), identity_key, hall_id FROM applications WHERE status = 'approved' \
         ORDER BY expedited DESC, ready_by, id LIMIT ?1",
};

/// A free compartment of the arriving application's hall (`$1`) takes it, with the code's MAC
/// (`$2`): conditional on still being free, so that no compartment ever holds two documents.
/// The dialects differ: on PostgreSQL the free row is taken `FOR UPDATE SKIP LOCKED`, so that
/// concurrent arrivals take different compartments instead of queueing behind one and then
/// finding it taken (under READ COMMITTED the loser would re-check `application_id IS NULL`
/// and change nothing, though other compartments were free); SQLite's single writer runs one
/// arrival at a time.
pub(crate) const ASSIGN_COMPARTMENT: Sql = Sql {
    pg: "UPDATE locker_compartments SET application_id = $1, code_mac = $2, assigned_at = $3 \
         WHERE id = (SELECT id FROM locker_compartments \
           WHERE hall_id = (SELECT hall_id FROM applications WHERE id = $1) AND application_id IS NULL \
           AND jammed_at IS NULL ORDER BY label LIMIT 1 FOR UPDATE SKIP LOCKED) \
         AND application_id IS NULL RETURNING label",
    lite: "UPDATE locker_compartments SET application_id = ?1, code_mac = ?2, assigned_at = ?3 \
         WHERE id = (SELECT id FROM locker_compartments \
           WHERE hall_id = (SELECT hall_id FROM applications WHERE id = ?1) AND application_id IS NULL \
           AND jammed_at IS NULL ORDER BY label LIMIT 1) \
         AND application_id IS NULL RETURNING label",
};

// --- Fully online business (全程网办, issue 13) ------------------------------------------------

macro_rules! online_cols {
    () => {
        "CAST(id AS TEXT), reference, secret_hash, identity_key, id_number, name, phone, lang, \
         business, answers, photo_check, collection_method, mail_address, CAST(fee_yuan AS TEXT), \
         status, CAST(application_id AS TEXT)"
    };
}

shared! {
    /// A new online application, or the person's open one of the business taken over with a
    /// new secret (and the language and phone of this visit); its id.
    START_ONLINE = "INSERT INTO online_applications (reference, secret_hash, identity_key, id_number, \
        name, phone, lang, business, answers, status, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'draft', $10, $10) \
        ON CONFLICT (identity_key, business) WHERE status IN ('draft', 'awaiting_payment') \
        DO UPDATE SET secret_hash = excluded.secret_hash, lang = excluded.lang, \
          phone = excluded.phone, name = excluded.name, updated_at = excluded.updated_at \
        RETURNING id";
    ONLINE_SET_ANSWERS = "UPDATE online_applications SET answers = $2, updated_at = $3 \
        WHERE id = $1 AND status = 'draft'";
    ONLINE_SET_PHOTO = "UPDATE online_applications SET photo = $2, photo_check = $3, updated_at = $4 \
        WHERE id = $1 AND status = 'draft'";
    ONLINE_SET_COLLECTION = "UPDATE online_applications SET collection_method = $2, \
        mail_address = $3, updated_at = $4 WHERE id = $1 AND status = 'draft'";
    ONLINE_AWAIT_PAYMENT = "UPDATE online_applications SET status = 'awaiting_payment', \
        fee_yuan = $2, updated_at = $3 WHERE id = $1 AND status = 'draft'";
    /// The guard of a submission: only one awaiting payment, and on PostgreSQL the row is
    /// locked, so that of two concurrent submissions the second re-reads `submitted` and
    /// changes nothing.
    ONLINE_CLAIM_SUBMIT = "UPDATE online_applications SET updated_at = $2 \
        WHERE id = $1 AND status = 'awaiting_payment'";
    /// The application of a submission, copied from the online row (its sealed address
    /// unopened): no ticket, window or officer, channel `web`. `$1` online id, `$2` hall,
    /// `$3` due date, `$4` now, `$5` false (not expedited).
    INSERT_REMOTE_APPLICATION = "INSERT INTO applications (ticket_id, booking_id, hall_id, business, \
        identity_key, status, missing, supplement_due, expedited, ready_by, window_number, officer_id, \
        accepted_at, updated_at, collection_method, mail_address, channel) \
        SELECT NULL, NULL, $2, business, identity_key, 'accepted', '[]', NULL, $5, $3, NULL, NULL, \
          $4, $4, collection_method, mail_address, 'web' FROM online_applications WHERE id = $1 \
        RETURNING id";
    ONLINE_SUBMITTED = "UPDATE online_applications SET status = 'submitted', application_id = $2, \
        updated_at = $3 WHERE id = $1 AND status = 'awaiting_payment'";
    INSERT_REMOTE_FIRST_EVENT = "INSERT INTO application_events (application_id, from_state, to_state, \
        at, actor, note) VALUES ($1, NULL, 'accepted', $2, 'system:online', 'web')";
    ONLINE_ABANDON = "UPDATE online_applications SET status = 'abandoned', updated_at = $2 \
        WHERE id = $1 AND status IN ('draft', 'awaiting_payment')";
    ONLINE_BY_ID = concat!("SELECT ", online_cols!(), " FROM online_applications WHERE id = $1");
    ONLINE_BY_REFERENCE = concat!("SELECT ", online_cols!(), " FROM online_applications WHERE reference = $1");
    ONLINE_OF_APPLICATION = concat!("SELECT ", online_cols!(), " FROM online_applications WHERE application_id = $1");
    ONLINE_PHOTO = "SELECT photo FROM online_applications WHERE id = $1";
    /// Online applications awaiting payment, oldest first (the sweep reconciles them).
    ONLINE_AWAITING_PAYMENT = "SELECT CAST(id AS TEXT) FROM online_applications \
        WHERE status = 'awaiting_payment' ORDER BY id LIMIT $1";
}
