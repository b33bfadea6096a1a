//! Hall calendars: which days a hall opens, and the slots of an open day.
//!
//! China moves weekends around public holidays (调休): a Saturday can be a working day and a
//! Wednesday a holiday. So a day's status is decided in this order: a declared holiday closes, a
//! declared make-up working day opens, otherwise the hall's weekday pattern decides.
//! Every time here is the hall's local time (Asia/Shanghai, UTC+8, no daylight saving).

use chrono::{Datelike, FixedOffset, NaiveDate, NaiveTime, TimeDelta};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The halls' time zone. China has one offset all year, so a fixed offset is exact.
pub fn china_offset() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

/// Capacity pools. A seat belongs to exactly one pool so that walk-ins and urgent cases keep
/// their share when online demand is high.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pool {
    Online,
    OnSite,
    Expedite,
}

impl Pool {
    pub const ALL: [Pool; 3] = [Pool::Online, Pool::OnSite, Pool::Expedite];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::OnSite => "on_site",
            Self::Expedite => "expedite",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// A public holiday: closed whatever the weekday.
    Holiday,
    /// A make-up working day (调休上班): open even on a weekend.
    Workday,
}

/// A declared day from the State Council schedule (versioned by its own date).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclaredDay {
    pub date: NaiveDate,
    pub kind: DayKind,
    pub name: String,
}

/// An opening session, e.g. 09:00–12:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

/// How a hall opens. `weekdays` uses ISO numbering (1 = Monday … 7 = Sunday).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hours {
    pub weekdays: Vec<u32>,
    pub sessions: Vec<Session>,
    pub slot_minutes: u32,
}

impl Hours {
    /// Parses `"09:00-12:00,13:30-17:00"`.
    pub fn parse_sessions(s: &str) -> Option<Vec<Session>> {
        s.split(',')
            .map(|part| {
                let (a, b) = part.trim().split_once('-')?;
                let start = NaiveTime::parse_from_str(a.trim(), "%H:%M").ok()?;
                let end = NaiveTime::parse_from_str(b.trim(), "%H:%M").ok()?;
                (start < end).then_some(Session { start, end })
            })
            .collect()
    }

    pub fn format_sessions(sessions: &[Session]) -> String {
        sessions
            .iter()
            .map(|s| format!("{}-{}", s.start.format("%H:%M"), s.end.format("%H:%M")))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A hall's calendar: its hours plus the declared days that apply to it.
#[derive(Debug, Clone)]
pub struct HallCalendar {
    pub hours: Hours,
    declared: BTreeMap<NaiveDate, DayKind>,
}

impl HallCalendar {
    pub fn new(hours: Hours, declared: &[DeclaredDay]) -> Self {
        Self {
            hours,
            declared: declared.iter().map(|d| (d.date, d.kind)).collect(),
        }
    }

    pub fn is_open(&self, date: NaiveDate) -> bool {
        match self.declared.get(&date) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::Workday) => true,
            None => self
                .hours
                .weekdays
                .contains(&date.weekday().number_from_monday()),
        }
    }

    /// Slot start times of `date`; a slot that would run past its session's end is not offered.
    pub fn slots(&self, date: NaiveDate) -> Vec<NaiveTime> {
        if !self.is_open(date) || self.hours.slot_minutes == 0 {
            return Vec::new();
        }
        let step = TimeDelta::minutes(i64::from(self.hours.slot_minutes));
        let mut out = Vec::new();
        for s in &self.hours.sessions {
            let mut t = s.start;
            while t + step <= s.end && t + step > t {
                out.push(t);
                t += step;
            }
        }
        out
    }
}

/// The declared days of a year as published (data/holidays-YYYY.json).
pub fn parse_declared_days(json: &str) -> Result<Vec<DeclaredDay>, serde_json::Error> {
    #[derive(Deserialize)]
    struct File {
        days: Vec<DeclaredDay>,
    }
    serde_json::from_str::<File>(json).map(|f| f.days)
}

/// The 2026 schedule (State Council notice of 2025-11-04, RULES.md §11).
pub fn declared_days_2026() -> Vec<DeclaredDay> {
    parse_declared_days(include_str!("../data/holidays-2026.json")).expect("shipped data parses")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    fn weekday_hall() -> HallCalendar {
        HallCalendar::new(
            Hours {
                weekdays: vec![1, 2, 3, 4, 5],
                sessions: Hours::parse_sessions("09:00-12:00,13:30-17:00").unwrap(),
                slot_minutes: 30,
            },
            &declared_days_2026(),
        )
    }

    #[test]
    fn the_2026_schedule_is_complete() {
        let days = declared_days_2026();
        let holidays = days.iter().filter(|d| d.kind == DayKind::Holiday).count();
        let workdays: Vec<_> = days
            .iter()
            .filter(|d| d.kind == DayKind::Workday)
            .map(|d| d.date)
            .collect();
        // 3 + 9 + 3 + 5 + 3 + 3 + 7 days off.
        assert_eq!(holidays, 33);
        assert_eq!(
            workdays,
            vec![d(1, 4), d(2, 14), d(2, 28), d(5, 9), d(9, 20), d(10, 10)]
        );
    }

    #[test]
    fn holidays_close_and_makeup_days_open() {
        let c = weekday_hall();
        assert!(!c.is_open(d(2, 16)), "Spring Festival Monday");
        assert!(
            !c.is_open(d(2, 23)),
            "last day of the 9-day Spring Festival"
        );
        assert!(c.is_open(d(2, 14)), "make-up Saturday");
        assert!(c.is_open(d(10, 10)), "make-up Saturday after National Day");
        assert!(!c.is_open(d(11, 28)), "an ordinary Saturday");
        assert!(c.is_open(d(11, 27)), "an ordinary Friday");
    }

    #[test]
    fn slots_fill_sessions_without_overrunning() {
        let c = weekday_hall();
        let slots = c.slots(d(11, 27));
        assert_eq!(slots.len(), 6 + 7);
        assert_eq!(slots[0], NaiveTime::from_hms_opt(9, 0, 0).unwrap());
        assert_eq!(slots[6], NaiveTime::from_hms_opt(13, 30, 0).unwrap());
        assert_eq!(slots[12], NaiveTime::from_hms_opt(16, 30, 0).unwrap());
        assert!(c.slots(d(10, 1)).is_empty());
    }
}
