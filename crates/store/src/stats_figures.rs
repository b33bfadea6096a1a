// Generated from the column list of `stats_day` (migration 35); keep in step with it.


/// Every figure of `stats_day` summed, as text, in [`Figures::COLUMNS`]' order.
macro_rules! sums {
    () => {
        "CAST(SUM(bookings) AS TEXT), CAST(SUM(cancelled) AS TEXT), CAST(SUM(check_ins) AS TEXT), CAST(SUM(no_shows) AS TEXT), CAST(SUM(tickets) AS TEXT), CAST(SUM(walk_ins) AS TEXT), CAST(SUM(served) AS TEXT), CAST(SUM(missed) AS TEXT), CAST(SUM(wait_n) AS TEXT), CAST(SUM(wait_sum_s) AS TEXT), CAST(SUM(service_n) AS TEXT), CAST(SUM(service_sum_s) AS TEXT), CAST(SUM(acceptances) AS TEXT), CAST(SUM(supplements) AS TEXT), CAST(SUM(refusals) AS TEXT), CAST(SUM(collected) AS TEXT), CAST(SUM(to_ready_sum_s) AS TEXT), CAST(SUM(to_collect_sum_s) AS TEXT), CAST(SUM(overdue) AS TEXT), CAST(SUM(fees_fen) AS TEXT), CAST(SUM(refunds_fen) AS TEXT), CAST(SUM(rated_satisfied) AS TEXT), CAST(SUM(rated_basic) AS TEXT), CAST(SUM(rated_unsatisfied) AS TEXT), CAST(SUM(alerts) AS TEXT), CAST(SUM(alerts_acked) AS TEXT), CAST(SUM(ack_sum_s) AS TEXT)"
    };
}
/// The same figures' column names, and their plain sums (the coarser roll-ups of migration 39).
macro_rules! columns {
    () => {
        "bookings, cancelled, check_ins, no_shows, tickets, walk_ins, served, missed, wait_n, wait_sum_s, service_n, service_sum_s, acceptances, supplements, refusals, collected, to_ready_sum_s, to_collect_sum_s, overdue, fees_fen, refunds_fen, rated_satisfied, rated_basic, rated_unsatisfied, alerts, alerts_acked, ack_sum_s"
    };
}
macro_rules! plain_sums {
    () => {
        "SUM(bookings), SUM(cancelled), SUM(check_ins), SUM(no_shows), SUM(tickets), SUM(walk_ins), SUM(served), SUM(missed), SUM(wait_n), SUM(wait_sum_s), SUM(service_n), SUM(service_sum_s), SUM(acceptances), SUM(supplements), SUM(refusals), SUM(collected), SUM(to_ready_sum_s), SUM(to_collect_sum_s), SUM(overdue), SUM(fees_fen), SUM(refunds_fen), SUM(rated_satisfied), SUM(rated_basic), SUM(rated_unsatisfied), SUM(alerts), SUM(alerts_acked), SUM(ack_sum_s)"
    };
}
pub(crate) const FIGURES: usize = 27;
