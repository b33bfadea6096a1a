// Generated from the column list of `stats_day` (migration 35); keep in step with it.


/// Every figure of `stats_day` summed, as text, in [`Figures::COLUMNS`]' order.
macro_rules! sums {
    () => {
        "CAST(SUM(bookings) AS TEXT), CAST(SUM(cancelled) AS TEXT), CAST(SUM(check_ins) AS TEXT), CAST(SUM(no_shows) AS TEXT), CAST(SUM(tickets) AS TEXT), CAST(SUM(walk_ins) AS TEXT), CAST(SUM(served) AS TEXT), CAST(SUM(missed) AS TEXT), CAST(SUM(wait_n) AS TEXT), CAST(SUM(wait_sum_s) AS TEXT), CAST(SUM(service_n) AS TEXT), CAST(SUM(service_sum_s) AS TEXT), CAST(SUM(acceptances) AS TEXT), CAST(SUM(supplements) AS TEXT), CAST(SUM(refusals) AS TEXT), CAST(SUM(collected) AS TEXT), CAST(SUM(to_ready_sum_s) AS TEXT), CAST(SUM(to_collect_sum_s) AS TEXT), CAST(SUM(overdue) AS TEXT), CAST(SUM(fees_fen) AS TEXT), CAST(SUM(refunds_fen) AS TEXT), CAST(SUM(rated_satisfied) AS TEXT), CAST(SUM(rated_basic) AS TEXT), CAST(SUM(rated_unsatisfied) AS TEXT), CAST(SUM(alerts) AS TEXT), CAST(SUM(alerts_acked) AS TEXT), CAST(SUM(ack_sum_s) AS TEXT)"
    };
}
pub(crate) const FIGURES: usize = 27;
