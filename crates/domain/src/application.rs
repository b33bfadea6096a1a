//! An application's life after the counter (issue 12): its states, the moves between them,
//! the reasons a refusal may give, and the date it is due.
//!
//! The move table here is the one the store's `application_events` CHECK constraint lists
//! (migration 0020): the database refuses an illegal move even from a caller that skipped
//! [`can_move`], and the store's property test drives both against each other.

use crate::calendar::{DeclaredDay, HallCalendar, Hours};
use chrono::{NaiveDate, TimeDelta};
use serde::{Deserialize, Serialize};

/// Where an application is. Stored as its snake_case name (`applications.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Accepted at a counter with every material; waiting for review.
    Accepted,
    /// Accepted, but a material is still to be brought by the supplement deadline.
    PendingSupplement,
    UnderReview,
    Approved,
    /// Refused by review, with a [`RefusalReason`]. Final.
    Refused,
    InProduction,
    /// The document exists and has its number.
    Produced,
    /// On its way to the collection site (or mailed).
    Dispatched,
    ReadyForCollection,
    /// In the applicant's hands. Final.
    Collected,
    /// Withdrawn by the applicant before a decision. Final.
    Withdrawn,
    /// The supplement deadline passed without the material. Final.
    Lapsed,
    /// Uncollected for too long, put back in the vault; it can still be collected at a counter.
    ReturnedToVault,
}

impl State {
    pub const ALL: [State; 13] = [
        State::Accepted,
        State::PendingSupplement,
        State::UnderReview,
        State::Approved,
        State::Refused,
        State::InProduction,
        State::Produced,
        State::Dispatched,
        State::ReadyForCollection,
        State::Collected,
        State::Withdrawn,
        State::Lapsed,
        State::ReturnedToVault,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Accepted => "accepted",
            State::PendingSupplement => "pending_supplement",
            State::UnderReview => "under_review",
            State::Approved => "approved",
            State::Refused => "refused",
            State::InProduction => "in_production",
            State::Produced => "produced",
            State::Dispatched => "dispatched",
            State::ReadyForCollection => "ready_for_collection",
            State::Collected => "collected",
            State::Withdrawn => "withdrawn",
            State::Lapsed => "lapsed",
            State::ReturnedToVault => "returned_to_vault",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The states an application can be created in (at acceptance).
    pub fn is_initial(self) -> bool {
        matches!(self, State::Accepted | State::PendingSupplement)
    }

    /// No move leaves a final state.
    pub fn is_final(self) -> bool {
        State::ALL.into_iter().all(|to| !can_move(self, to))
    }

    /// Whether the document exists, hence has a number (the store's CHECK requires one).
    pub fn has_document(self) -> bool {
        matches!(
            self,
            State::Produced
                | State::Dispatched
                | State::ReadyForCollection
                | State::Collected
                | State::ReturnedToVault
        )
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            State::Accepted => "已受理",
            State::PendingSupplement => "待补充材料",
            State::UnderReview => "审批中",
            State::Approved => "审批通过",
            State::Refused => "不予批准",
            State::InProduction => "制证中",
            State::Produced => "已制证",
            State::Dispatched => "已发出",
            State::ReadyForCollection => "可领取",
            State::Collected => "已领取",
            State::Withdrawn => "已撤回",
            State::Lapsed => "逾期未补充",
            State::ReturnedToVault => "逾期未领已退库",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            State::Accepted => "accepted",
            State::PendingSupplement => "waiting for a missing document",
            State::UnderReview => "under review",
            State::Approved => "approved",
            State::Refused => "refused",
            State::InProduction => "in production",
            State::Produced => "produced",
            State::Dispatched => "on its way",
            State::ReadyForCollection => "ready for collection",
            State::Collected => "collected",
            State::Withdrawn => "withdrawn",
            State::Lapsed => "lapsed (supplement not brought in time)",
            State::ReturnedToVault => "uncollected, back in the vault",
        }
    }
}

/// What happens to an application. Each event names one target state; [`next`] says from
/// which states it may happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// A material is found missing (by the counter or by review).
    RequireSupplement,
    /// The missing material was brought (at any site's counter).
    Supplement,
    StartReview,
    Approve,
    Refuse,
    StartProduction,
    Produce,
    Dispatch,
    /// The document reached the collection site (or the mail carrier took it).
    Arrive,
    Collect,
    Withdraw,
    /// The supplement deadline passed.
    Lapse,
    ReturnToVault,
}

impl Event {
    pub const ALL: [Event; 13] = [
        Event::RequireSupplement,
        Event::Supplement,
        Event::StartReview,
        Event::Approve,
        Event::Refuse,
        Event::StartProduction,
        Event::Produce,
        Event::Dispatch,
        Event::Arrive,
        Event::Collect,
        Event::Withdraw,
        Event::Lapse,
        Event::ReturnToVault,
    ];

    /// The state the event leads to, wherever it starts.
    pub fn target(self) -> State {
        match self {
            Event::RequireSupplement => State::PendingSupplement,
            Event::Supplement => State::Accepted,
            Event::StartReview => State::UnderReview,
            Event::Approve => State::Approved,
            Event::Refuse => State::Refused,
            Event::StartProduction => State::InProduction,
            Event::Produce => State::Produced,
            Event::Dispatch => State::Dispatched,
            Event::Arrive => State::ReadyForCollection,
            Event::Collect => State::Collected,
            Event::Withdraw => State::Withdrawn,
            Event::Lapse => State::Lapsed,
            Event::ReturnToVault => State::ReturnedToVault,
        }
    }
}

/// Every legal move `(from, to)`. The one table: [`can_move`] and [`next`] read it, and the
/// store's CHECK constraint on `application_events` lists the same pairs (a store test
/// compares them).
pub const MOVES: &[(State, State)] = &[
    (State::Accepted, State::PendingSupplement),
    (State::Accepted, State::UnderReview),
    (State::Accepted, State::Withdrawn),
    (State::PendingSupplement, State::Accepted),
    (State::PendingSupplement, State::Lapsed),
    (State::PendingSupplement, State::Withdrawn),
    // Review may find a material missing after all.
    (State::UnderReview, State::PendingSupplement),
    (State::UnderReview, State::Approved),
    (State::UnderReview, State::Refused),
    (State::UnderReview, State::Withdrawn),
    (State::Approved, State::InProduction),
    (State::InProduction, State::Produced),
    (State::Produced, State::Dispatched),
    (State::Dispatched, State::ReadyForCollection),
    // Delivered by mail (EMS): the carrier hands it over, there is no collection site.
    (State::Dispatched, State::Collected),
    (State::ReadyForCollection, State::Collected),
    (State::ReadyForCollection, State::ReturnedToVault),
    // A document in the vault is still the applicant's: collected at a counter.
    (State::ReturnedToVault, State::Collected),
];

pub fn can_move(from: State, to: State) -> bool {
    MOVES.contains(&(from, to))
}

/// A move the table does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IllegalMove {
    pub from: State,
    pub event: Event,
}

impl std::fmt::Display for IllegalMove {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} is not possible from {}",
            self.event,
            self.from.as_str()
        )
    }
}

impl std::error::Error for IllegalMove {}

/// The state `event` leads to from `from`, if the table allows it.
pub fn next(from: State, event: Event) -> Result<State, IllegalMove> {
    let to = event.target();
    if can_move(from, to) {
        Ok(to)
    } else {
        Err(IllegalMove { from, event })
    }
}

/// How the applicant receives the document (issue 12): at a counter of the collection site,
/// from a pickup locker there (取证机) with a one-time code, or by mail (EMS) to an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Collection {
    Counter,
    Locker,
    Mail,
}

impl Collection {
    pub const ALL: [Collection; 3] = [Collection::Counter, Collection::Locker, Collection::Mail];

    pub fn as_str(self) -> &'static str {
        match self {
            Collection::Counter => "counter",
            Collection::Locker => "locker",
            Collection::Mail => "mail",
        }
    }

    pub fn parse(s: &str) -> Option<Collection> {
        Collection::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Collection::Counter => "窗口领取",
            Collection::Locker => "自助取证机领取",
            Collection::Mail => "邮寄（EMS）",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            Collection::Counter => "at a counter",
            Collection::Locker => "from a pickup locker",
            Collection::Mail => "by mail (EMS)",
        }
    }

    /// Whether the method may still be chosen or changed in `state`: until the document leaves
    /// for the collection site or the carrier (afterwards it is where it is), and never once the
    /// application has ended.
    pub fn can_choose_in(state: State) -> bool {
        matches!(
            state,
            State::Accepted
                | State::PendingSupplement
                | State::UnderReview
                | State::Approved
                | State::InProduction
                | State::Produced
        )
    }
}

/// A mail address as the applicant types it: one line (the address form of a parcel), 8 to 120
/// characters, no control characters. `None` when it is not usable.
pub fn mail_address(raw: &str) -> Option<String> {
    let a = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let n = a.chars().count();
    ((8..=120).contains(&n) && !a.chars().any(char::is_control)).then_some(a)
}

/// An EMS tracking number: 2 capital letters, 9 digits, 2 capital letters (the UPU S10 form,
/// e.g. `EA123456785CN`), or 13 digits (EMS domestic).
pub fn tracking_number(raw: &str) -> Option<String> {
    let t = raw.trim().to_ascii_uppercase();
    let b = t.as_bytes();
    let s10 = b.len() == 13
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..11].iter().all(u8::is_ascii_digit)
        && b[11..].iter().all(u8::is_ascii_uppercase);
    let digits = b.len() == 13 && b.iter().all(u8::is_ascii_digit);
    (s10 || digits).then_some(t)
}

/// Why review refused an application: shown to the citizen by its text, stored by its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalReason {
    /// The applicant's identity or nationality could not be confirmed (护照法 art. 13 (1)).
    IdentityUnverified,
    /// False or forged materials (护照法 art. 13; 出境入境管理法 art. 12).
    FalseMaterials,
    /// Barred from leaving the country by law (出境入境管理法 art. 12).
    ExitRestricted,
    /// The business's conditions are not met (e.g. a tourist endorsement outside an open city).
    NotEligible,
    Other,
}

impl RefusalReason {
    pub const ALL: [RefusalReason; 5] = [
        RefusalReason::IdentityUnverified,
        RefusalReason::FalseMaterials,
        RefusalReason::ExitRestricted,
        RefusalReason::NotEligible,
        RefusalReason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RefusalReason::IdentityUnverified => "identity_unverified",
            RefusalReason::FalseMaterials => "false_materials",
            RefusalReason::ExitRestricted => "exit_restricted",
            RefusalReason::NotEligible => "not_eligible",
            RefusalReason::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<RefusalReason> {
        RefusalReason::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn zh(self) -> &'static str {
        match self {
            RefusalReason::IdentityUnverified => "申请人身份无法核实",
            RefusalReason::FalseMaterials => "提交的材料不真实",
            RefusalReason::ExitRestricted => "依法不准出境",
            RefusalReason::NotEligible => "不符合该业务的办理条件",
            RefusalReason::Other => "其他原因，请咨询受理单位",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            RefusalReason::IdentityUnverified => "the applicant's identity could not be verified",
            RefusalReason::FalseMaterials => "the materials submitted are not genuine",
            RefusalReason::ExitRestricted => "the applicant may not leave the country by law",
            RefusalReason::NotEligible => "the conditions of this business are not met",
            RefusalReason::Other => "another reason; please ask the accepting office",
        }
    }
}

/// How long an application may take (RULES.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Processing {
    /// At the 户籍 location (or 全国通办 within the province): the catalogue's working days
    /// (7 since 2018-09-01).
    Ordinary { working_days: u32 },
    /// Urgent service (加急): 5 working days, never longer than the ordinary time.
    Expedited { working_days: u32 },
    /// Cross-province (跨省异地): 20 days.
    CrossProvince,
    /// A commitment in calendar days (a foreigner's visa extension or stay permit: "a decision
    /// within 15 days"), moved off a closed day like the cross-province time.
    CalendarDays { days: u32 },
}

/// Working days of an expedited application (RULES.md §5).
pub const EXPEDITED_WORKING_DAYS: u32 = 5;

/// Days of a cross-province application. RULES.md §5 says "20 days" (the Guangzhou guide:
/// "受理后20日内签发") where it says "working days" for the others, so these are calendar
/// days; a due date that falls on a closed day moves to the next working day, as a period
/// ending on a holiday does.
pub const CROSS_PROVINCE_DAYS: u32 = 20;

/// The prefecture-level cities of Guangdong, the province whose halls this deployment runs
/// (RULES.md §6 lists all 21 as open cities). An applicant whose 户籍 city is not one of them
/// applies cross-province (跨省异地).
pub const HOME_PROVINCE_CITIES: [&str; 21] = [
    "广州", "深圳", "珠海", "佛山", "中山", "江门", "东莞", "惠州", "肇庆", "汕头", "潮州", "梅州",
    "湛江", "清远", "茂名", "揭阳", "云浮", "阳江", "河源", "汕尾", "韶关",
];

/// Whether an applicant registered (户籍) in `hukou_city` applies cross-province here.
pub fn is_cross_province(hukou_city: &str) -> bool {
    let city = hukou_city.trim().trim_end_matches('市');
    !HOME_PROVINCE_CITIES.contains(&city)
}

impl Processing {
    /// The processing of an application: cross-province wins (urgent service does not shorten
    /// it here: RULES gives no urgent time for it), then urgent, else the catalogue's days.
    pub fn of(catalogue_working_days: u32, expedited: bool, cross_province: bool) -> Processing {
        if cross_province {
            Processing::CrossProvince
        } else if expedited {
            Processing::Expedited {
                working_days: EXPEDITED_WORKING_DAYS.min(catalogue_working_days),
            }
        } else {
            Processing::Ordinary {
                working_days: catalogue_working_days,
            }
        }
    }

    /// How far past acceptance the declared days must reach for [`due_date`] to be exact:
    /// generous, as a long holiday (9 days at Spring Festival) can sit in the way.
    pub fn horizon_days(self) -> i64 {
        match self {
            Processing::Ordinary { working_days } | Processing::Expedited { working_days } => {
                i64::from(working_days) * 3 + 30
            }
            Processing::CrossProvince => i64::from(CROSS_PROVINCE_DAYS) + 30,
            Processing::CalendarDays { days } => i64::from(days) + 30,
        }
    }
}

/// The working-day calendar of the back office: Monday to Friday, holidays closed, make-up
/// days (调休) open.
fn office(declared: &[DeclaredDay]) -> HallCalendar {
    HallCalendar::new(
        Hours {
            weekdays: vec![1, 2, 3, 4, 5],
            sessions: vec![],
            slot_minutes: 30,
        },
        declared,
    )
}

/// The date `n` working days after `from`: the day of acceptance does not count, the first
/// working day after it is day one.
pub fn working_days_after(from: NaiveDate, n: u32, declared: &[DeclaredDay]) -> NaiveDate {
    let cal = office(declared);
    let mut d = from;
    let mut left = n;
    while left > 0 {
        d += TimeDelta::days(1);
        if cal.is_open(d) {
            left -= 1;
        }
    }
    d
}

/// The date an application accepted on `accepted_on` is due. `declared` must cover at least
/// [`Processing::horizon_days`] after it.
pub fn due_date(accepted_on: NaiveDate, p: Processing, declared: &[DeclaredDay]) -> NaiveDate {
    match p {
        Processing::Ordinary { working_days } | Processing::Expedited { working_days } => {
            working_days_after(accepted_on, working_days, declared)
        }
        Processing::CrossProvince | Processing::CalendarDays { .. } => {
            let days = match p {
                Processing::CalendarDays { days } => days,
                _ => CROSS_PROVINCE_DAYS,
            };
            let cal = office(declared);
            let mut d = accepted_on + TimeDelta::days(i64::from(days));
            while !cal.is_open(d) {
                d += TimeDelta::days(1);
            }
            d
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::declared_days_2026;
    use proptest::prelude::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    #[test]
    fn mail_addresses_are_one_sane_line_and_tracking_numbers_are_ems_forms() {
        assert_eq!(
            mail_address("  广州市天河区 天河路 100 号\n").as_deref(),
            Some("广州市天河区 天河路 100 号")
        );
        assert_eq!(mail_address("短地址"), None);
        assert_eq!(mail_address(&"路".repeat(121)), None);
        assert_eq!(mail_address("广州市天河区\u{7}天河路100号"), None);
        assert_eq!(
            tracking_number(" ea123456785cn ").as_deref(),
            Some("EA123456785CN")
        );
        assert_eq!(
            tracking_number("1234567890123").as_deref(),
            Some("1234567890123")
        );
        assert_eq!(tracking_number("EA12345678CN"), None);
        assert_eq!(tracking_number("E1123456785CN"), None);
    }

    #[test]
    fn the_method_can_be_chosen_until_the_document_leaves() {
        for s in State::ALL {
            let before_dispatch = !s.is_final() && !s.has_document() || s == State::Produced;
            assert_eq!(
                Collection::can_choose_in(s),
                before_dispatch,
                "{}",
                s.as_str()
            );
        }
        for c in Collection::ALL {
            assert_eq!(Collection::parse(c.as_str()), Some(c));
        }
    }

    #[test]
    fn state_names_round_trip_and_are_snake_case() {
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()), Some(s));
            assert!(s
                .as_str()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_'));
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::json!(s.as_str())
            );
        }
        for r in RefusalReason::ALL {
            assert_eq!(RefusalReason::parse(r.as_str()), Some(r));
            assert!(!r.zh().is_empty() && !r.en().is_empty());
        }
        assert_eq!(State::parse("approved "), None);
    }

    #[test]
    fn the_happy_path_reaches_collected_and_nothing_leaves_a_final_state() {
        let path = [
            Event::StartReview,
            Event::Approve,
            Event::StartProduction,
            Event::Produce,
            Event::Dispatch,
            Event::Arrive,
            Event::Collect,
        ];
        let mut s = State::Accepted;
        for e in path {
            s = next(s, e).unwrap();
        }
        assert_eq!(s, State::Collected);
        for f in [
            State::Collected,
            State::Refused,
            State::Withdrawn,
            State::Lapsed,
        ] {
            assert!(f.is_final(), "{f:?}");
            for e in Event::ALL {
                assert!(next(f, e).is_err());
            }
        }
        assert!(!State::ReturnedToVault.is_final());
    }

    #[test]
    fn a_supplement_goes_back_and_forth_and_a_decision_needs_review() {
        assert_eq!(
            next(State::Accepted, Event::RequireSupplement),
            Ok(State::PendingSupplement)
        );
        assert_eq!(
            next(State::PendingSupplement, Event::Supplement),
            Ok(State::Accepted)
        );
        assert_eq!(
            next(State::PendingSupplement, Event::Lapse),
            Ok(State::Lapsed)
        );
        assert!(next(State::Accepted, Event::Approve).is_err());
        assert!(next(State::PendingSupplement, Event::StartReview).is_err());
        assert!(next(State::Approved, Event::Withdraw).is_err());
        assert!(next(State::Accepted, Event::Lapse).is_err());
    }

    #[test]
    fn every_state_is_reachable_from_acceptance() {
        let mut seen = vec![State::Accepted, State::PendingSupplement];
        let mut i = 0;
        while i < seen.len() {
            for &(f, t) in MOVES {
                if f == seen[i] && !seen.contains(&t) {
                    seen.push(t);
                }
            }
            i += 1;
        }
        assert_eq!(seen.len(), State::ALL.len());
        // No move stays where it is: a move is always a change the history can show.
        assert!(MOVES.iter().all(|&(f, t)| f != t));
    }

    #[test]
    fn documents_exist_only_after_production() {
        for &(f, t) in MOVES {
            if t.has_document() && !f.has_document() {
                assert_eq!((f, t), (State::InProduction, State::Produced));
            }
        }
    }

    #[test]
    fn seven_working_days_skip_the_weekend() {
        let none: Vec<DeclaredDay> = vec![];
        // Friday 2026-11-27: Mon 30, Tue 1, Wed 2, Thu 3, Fri 4, Mon 7, Tue 8.
        assert_eq!(working_days_after(d(11, 27), 7, &none), d(12, 8));
        let p = Processing::of(7, false, false);
        assert_eq!(due_date(d(11, 27), p, &none), d(12, 8));
        let p = Processing::of(7, true, false);
        assert_eq!(p, Processing::Expedited { working_days: 5 });
        assert_eq!(due_date(d(11, 27), p, &none), d(12, 4));
    }

    #[test]
    fn due_dates_skip_holidays_and_count_make_up_days() {
        let cal = declared_days_2026();
        // National Day 2026: Oct 1–7 off, Sat Oct 10 a make-up working day.
        // Accepted Wed Sep 30: Thu 8, Fri 9, Sat 10 (make-up), Mon 12, Tue 13, Wed 14, Thu 15.
        assert_eq!(
            due_date(d(9, 30), Processing::of(7, false, false), &cal),
            d(10, 15)
        );
        // Expedited: Thu 8, Fri 9, Sat 10, Mon 12, Tue 13.
        assert_eq!(
            due_date(d(9, 30), Processing::of(7, true, false), &cal),
            d(10, 13)
        );
        // Spring Festival: Feb 15–23 off, Sat Feb 14 and Sat Feb 28 make-up days.
        // Accepted Fri Feb 13: Sat 14, Tue 24, Wed 25, Thu 26, Fri 27, Sat 28, Mon Mar 2.
        assert_eq!(
            due_date(d(2, 13), Processing::of(7, false, false), &cal),
            d(3, 2)
        );
    }

    #[test]
    fn applicants_registered_outside_guangdong_are_cross_province() {
        assert!(!is_cross_province("广州"));
        assert!(!is_cross_province("深圳市"));
        assert!(is_cross_province("喀什"));
        assert!(is_cross_province("长沙"));
    }

    #[test]
    fn cross_province_is_twenty_days_moved_off_a_closed_day() {
        let cal = declared_days_2026();
        let p = Processing::of(7, true, true);
        assert_eq!(p, Processing::CrossProvince);
        // Tue Nov 3 + 20 = Mon Nov 23, a working day.
        assert_eq!(due_date(d(11, 3), p, &cal), d(11, 23));
        // Sat Sep 12 + 20 = Fri Oct 2, National Day: the next working day is Thu Oct 8.
        assert_eq!(due_date(d(9, 12), p, &cal), d(10, 8));
        // Sep 20 (Sun) + 20 = Oct 10, a make-up Saturday: open, so it stays.
        assert_eq!(due_date(d(9, 20), p, &cal), d(10, 10));
    }

    fn any_event() -> impl Strategy<Value = Event> {
        (0..Event::ALL.len()).prop_map(|i| Event::ALL[i])
    }

    proptest! {
        /// Random event sequences from either initial state: every accepted event is a move of
        /// the table, every refused one is not, and a final state is never left.
        #[test]
        fn random_event_sequences_only_make_moves_of_the_table(
            supplement in any::<bool>(),
            events in proptest::collection::vec(any_event(), 0..60),
        ) {
            let mut s = if supplement { State::PendingSupplement } else { State::Accepted };
            for e in events {
                match next(s, e) {
                    Ok(t) => {
                        prop_assert!(MOVES.contains(&(s, t)));
                        prop_assert!(!s.is_final());
                        s = t;
                    }
                    Err(IllegalMove { from, event }) => {
                        prop_assert_eq!(from, s);
                        prop_assert_eq!(event, e);
                        prop_assert!(!can_move(s, e.target()));
                    }
                }
            }
            prop_assert!(State::ALL.contains(&s));
        }

        /// A due date is never before the acceptance, always a working day, and the urgent one
        /// never later than the ordinary one.
        #[test]
        fn due_dates_are_working_days_and_urgent_is_never_later(
            offset in 0i64..365,
            days in 1u32..20,
            cross in any::<bool>(),
        ) {
            let cal = declared_days_2026();
            let from = d(1, 1) + TimeDelta::days(offset);
            let ordinary = due_date(from, Processing::of(days, false, cross), &cal);
            let urgent = due_date(from, Processing::of(days, true, cross), &cal);
            prop_assert!(ordinary > from);
            prop_assert!(urgent <= ordinary);
            prop_assert!(office(&cal).is_open(ordinary));
            prop_assert!(office(&cal).is_open(urgent));
        }
    }
}
