//! Plain Rust both adapters share: decisions taken on what a statement read, and values
//! written the same way in both dialects.

use crate::{Result, StoreError};
use chrono::{DateTime, TimeDelta, Utc};

/// Whether another one-time code may go to a phone now, given the newest code to the phone
/// (`last`) and the codes of the past hour to the phone and from the client address: refused
/// within `min_interval` of the last one, and beyond `max_per_hour` to the phone or four times
/// that from the address.
pub(crate) fn phone_code_allowed(
    now: DateTime<Utc>,
    last: Option<DateTime<Utc>>,
    min_interval: TimeDelta,
    to_phone: i64,
    from_addr: i64,
    max_per_hour: u32,
) -> Result<()> {
    if let Some(last) = last {
        let wait = (last + min_interval - now).num_milliseconds();
        if wait > 0 {
            return Err(StoreError::RateLimited {
                retry_after_secs: (wait + 999) / 1000,
            });
        }
    }
    if to_phone >= i64::from(max_per_hour) || from_addr >= i64::from(max_per_hour) * 4 {
        return Err(StoreError::RateLimited {
            retry_after_secs: 3600,
        });
    }
    Ok(())
}

/// A hall's weekdays as stored: `1,2,3,4,5`.
pub(crate) fn weekdays_text(days: &[u32]) -> String {
    days.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// A unit enum's serde name (`holiday`, `valid`, …), as both dialects store it.
pub(crate) fn enum_str<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}
