//! Property tests of the domain rules that matter most: the identity-number checksum and the
//! hall calendar.

use chrono::{NaiveDate, TimeDelta};
use proptest::prelude::*;
use wujing_domain::calendar::declared_days_2026;
use wujing_domain::idnum::{compose, ResidentId};
use wujing_domain::{DayKind, HallCalendar, Hours};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
}

fn any_valid_number() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            "110105", "440106", "440524", "310104", "650102", "810000",
        ]),
        0i64..(365 * 120),
        0u16..1000,
    )
        .prop_map(|(region, days, seq)| {
            let birth = today() - TimeDelta::days(days);
            compose(region, birth, seq)
        })
}

proptest! {
    #[test]
    fn composed_numbers_round_trip(s in any_valid_number()) {
        let id = ResidentId::parse(&s, today()).unwrap();
        prop_assert_eq!(id.as_str(), s.as_str());
        prop_assert_eq!(ResidentId::parse(&s.to_lowercase(), today()).unwrap(), id);
    }

    /// MOD 11-2 detects every single-character substitution: any one-character change to a valid
    /// number must be rejected (by the checksum, or earlier by the date or region checks).
    #[test]
    fn every_single_character_change_is_detected(
        s in any_valid_number(),
        pos in 0usize..18,
        replacement in prop::sample::select(b"0123456789X".to_vec()),
    ) {
        let mut bytes = s.clone().into_bytes();
        prop_assume!(bytes[pos] != replacement);
        bytes[pos] = replacement;
        let changed = String::from_utf8(bytes).unwrap();
        prop_assert!(ResidentId::parse(&changed, today()).is_err(), "{} accepted", changed);
    }

    #[test]
    fn no_slot_is_ever_generated_on_a_holiday(
        offset in 0i64..365,
        weekdays in prop::sample::subsequence(vec![1u32, 2, 3, 4, 5, 6, 7], 0..=7),
        slot_minutes in prop::sample::select(vec![10u32, 15, 20, 30, 45, 60]),
    ) {
        let days = declared_days_2026();
        let cal = HallCalendar::new(
            Hours { weekdays, sessions: Hours::parse_sessions("08:30-12:00,13:00-18:00").unwrap(), slot_minutes },
            &days,
        );
        let date = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + TimeDelta::days(offset);
        let holiday = days.iter().any(|d| d.date == date && d.kind == DayKind::Holiday);
        if holiday {
            prop_assert!(cal.slots(date).is_empty());
        }
        let workday = days.iter().any(|d| d.date == date && d.kind == DayKind::Workday);
        if workday {
            prop_assert!(!cal.slots(date).is_empty(), "make-up working days open");
        }
    }
}
