//! The capacity advisor's reads (issue 18 §3): the seats booked per hour and business for the
//! coming days, and the service times per business over a bounded past. Both are one
//! aggregate query each. The service times are answered from `tickets_served` alone
//! (migration 41: the finished tickets by hall and day, with business and times). The booked
//! seats join `slots` to `bookings` through `bookings_by_slot` (migration 40): without it this
//! read scanned a loaded year's 4.5 million bookings, about 1.1 s on SQLite (docs/BENCHMARKS.md,
//! "The simulated year").

use async_trait::async_trait;
use chrono::NaiveDate;

use crate::Result;

/// Active bookings of one business in one slot start of one day (all pools together).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookedCount {
    pub day: NaiveDate,
    /// The slot's start, `HH:MM`.
    pub start: String,
    pub business: String,
    pub count: u64,
}

/// Service times (call → finish, minutes) of one business's finished tickets: what a mean and a
/// variance are made from.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceMoments {
    pub business: String,
    pub count: u64,
    pub sum_minutes: f64,
    pub sum_of_squares: f64,
}

/// A service longer than this is a ticket left open, not a service: it is not counted.
pub const LONGEST_SERVICE_MINUTES: i64 = 240;

#[async_trait]
pub trait CapacityStore: Send + Sync + 'static {
    /// Active bookings in `hall_id` on days `from..=to`, per day, slot start and business.
    async fn booked_counts(
        &self,
        hall_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<BookedCount>>;

    /// Service times of tickets finished in `hall_id` on days `from..=to`, per business.
    async fn service_moments(
        &self,
        hall_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<ServiceMoments>>;
}
