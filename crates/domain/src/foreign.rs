//! Foreigners as applicants (issue 14 §2; RULES.md §1, §4, §7): the passport identity in one
//! normal form, the nationality checked against ICAO's code table, and the rules of the four
//! stay-and-residence businesses, each failing reason with its own code.
//!
//! The identity key `P:{nationality}:{number}` is what "one active booking per identity" is
//! enforced on, so two spellings of one passport must give one key: the number loses spaces and
//! fillers and is upper-cased, and a nationality with two codes in ICAO's table (Germany's `D`
//! in an MRZ, `DEU` typed) becomes one code.

use crate::eligibility::{reason_of as reason, Answers, Facts, Reason};
use chrono::{NaiveDate, TimeDelta};

/// Why a passport identity was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForeignIdError {
    /// Not a code in ICAO Doc 9303 Part 3's table, or `XXX` (see [`nationality`]).
    Nationality,
    PassportNumber,
    BirthDateRequired,
    BirthDateInFuture,
}

/// The nationality codes refused although ICAO lists them: `XXX` ("unspecified") names no
/// state, so a key made with it could not tell two issuers' numbers apart, and `UTO` is ICAO's
/// specimen state, which issues nobody a real passport. Stateless persons (`XXA`) and refugees
/// (`XXB`, `XXC`) hold real travel documents and apply for residence, so they are accepted.
pub const REFUSED_NATIONALITIES: [&str; 2] = ["XXX", "UTO"];

/// A nationality in its one stored form: trimmed, upper case, fillers dropped, and the first
/// code ICAO's table gives for the state (`D` → `DEU`), refused when unknown or refused.
pub fn nationality(s: &str) -> Result<String, ForeignIdError> {
    let c = s.trim().trim_end_matches('<').to_ascii_uppercase();
    if c.is_empty() || c.len() > 3 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(ForeignIdError::Nationality);
    }
    let name = crate::mrz::country_name(&c).ok_or(ForeignIdError::Nationality)?;
    let canonical = mrz::code_for_name(name)
        .filter(|k| crate::mrz::country_name(k) == Some(name))
        .unwrap_or(&c)
        .to_string();
    if REFUSED_NATIONALITIES.contains(&canonical.as_str()) {
        return Err(ForeignIdError::Nationality);
    }
    Ok(canonical)
}

/// A passport number in its one stored form: upper case without spaces, hyphens or MRZ
/// fillers; 5 to 20 letters or digits (TD3 numbers are 9, TD1 cards continue longer ones).
pub fn passport_number(s: &str) -> Result<String, ForeignIdError> {
    let n: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '<')
        .collect::<String>()
        .to_ascii_uppercase();
    if !(5..=20).contains(&n.len()) || !n.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ForeignIdError::PassportNumber);
    }
    Ok(n)
}

/// The birth date a foreign identity now needs (it tells one holder of a number from another
/// and is what the renewal link compares), never after `today`.
pub fn birth_date(d: Option<NaiveDate>, today: NaiveDate) -> Result<NaiveDate, ForeignIdError> {
    match d {
        None => Err(ForeignIdError::BirthDateRequired),
        Some(d) if d > today => Err(ForeignIdError::BirthDateInFuture),
        Some(d) => Ok(d),
    }
}

/// The nationalities a form offers: each state once under its stored code, by English name.
pub fn nationalities() -> Vec<(&'static str, &'static str)> {
    let mut v: Vec<(&'static str, &'static str)> = mrz::codes()
        .iter()
        .filter(|(c, name)| {
            c.len() == 3
                && !REFUSED_NATIONALITIES.contains(c)
                && mrz::code_for_name(name).is_none_or(|k| k == *c)
        })
        .map(|(c, n)| (*c, *n))
        .collect();
    v.sort_by(|a, b| a.1.cmp(b.1));
    v.dedup_by(|a, b| a.0 == b.0);
    v
}

/// The residence-permit categories of RULES.md §1: 工作, 学习, 记者, 团聚, 私人事务.
pub const RESIDENCE_CATEGORIES: [(&str, &str, &str); 5] = [
    ("work", "工作", "work"),
    ("study", "学习", "study"),
    ("journalist", "记者", "journalist"),
    ("family_reunion", "团聚", "family reunion"),
    ("private_affairs", "私人事务", "private affairs"),
];

/// Law art. 29: an extension is applied for at least 7 days before the stay ends.
pub const VISA_EXTENSION_LEAD_DAYS: i64 = 7;
/// Law art. 30: a residence permit within 30 days of entry.
pub const RESIDENCE_PERMIT_WINDOW_DAYS: i64 = 30;
/// Law art. 32: a residence extension at least 30 days before the permit expires.
pub const RESIDENCE_EXTENSION_LEAD_DAYS: i64 = 30;
/// Law art. 34: a stay permit is for at most 180 days.
pub const STAY_PERMIT_MAX_DAYS: u32 = 180;
/// Law art. 30: work residence 90 days to 5 years, any other 180 days to 5 years. Five years
/// in days: 5 × 365 and the leap day any five years contain at most once.
pub const WORK_RESIDENCE_MIN_DAYS: u32 = 90;
pub const OTHER_RESIDENCE_MIN_DAYS: u32 = 180;
pub const RESIDENCE_MAX_DAYS: u32 = 5 * 365 + 1;

/// The fee option of a residence permit of `days` (RULES.md §4: under 1 year 400, 1 to under 3
/// years 800, 3 to 5 years 1000): the duration decides the price, so the option is derived.
pub fn residence_option(days: u32) -> &'static str {
    if days < 365 {
        "lt1y"
    } else if days < 3 * 365 {
        "1to3y"
    } else {
        "3to5y"
    }
}

/// Whether `business` prices a residence permit by its duration.
pub fn is_residence(business: &str) -> bool {
    matches!(
        business,
        "foreign_residence_permit" | "foreign_residence_extension"
    )
}

/// Fills what follows from the other answers: a residence permit's fee option from the
/// duration asked for. An option already given is kept (the rules then compare them).
pub fn complete_answers(business: &str, a: &mut Answers) {
    if is_residence(business) && a.option.is_none() {
        a.option = a.requested_days.map(|d| residence_option(d).to_string());
    }
}

/// When a refusal is about timing, which side of the window the applicant is on: the page's
/// headline and next step differ ("not yet: from this date" against "too late: the counter or
/// the hotline"), which the refusals' words alone did not make plain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// Cannot apply yet; the reason names the date from which they can.
    TooEarly,
    /// The time to apply has passed; only a counter can help.
    TooLate,
}

/// The timing of a refusal `code`, if it is about timing.
pub fn timing(code: &str) -> Option<Timing> {
    match code {
        "entry_date_in_future" => Some(Timing::TooEarly),
        "extension_too_late"
        | "stay_expired"
        | "residence_application_late"
        | "residence_permit_expired"
        | "residence_extension_too_late" => Some(Timing::TooLate),
        _ => None,
    }
}

/// The rules of the foreigners' businesses (RULES.md §7), every failing reason.
pub fn rules(code: &str, answers: &Answers, facts: Facts<'_>, out: &mut Vec<Reason>) {
    let today = facts.visit_date;
    match code {
        // Law art. 29.
        "foreign_visa_extension" => {
            match answers.stay_expires_on {
                None => out.push(reason(
                    "stay_expiry_required",
                    "请填写签证准予停留的截止日期",
                    "give the date your permitted stay ends",
                )),
                Some(e) if e < today => out.push(reason(
                    "stay_expired",
                    format!("为时已晚：停留期已于 {e} 届满，不能再申请延期"),
                    format!("Too late: the permitted stay ended on {e}; an extension is no longer possible"),
                )),
                Some(e) if e < today + TimeDelta::days(VISA_EXTENSION_LEAD_DAYS) => {
                    let last = e - TimeDelta::days(VISA_EXTENSION_LEAD_DAYS);
                    out.push(reason(
                        "extension_too_late",
                        format!("为时已晚：签证延期须在停留期届满7日前提出，最迟 {last}"),
                        format!("Too late: an extension must be applied for at least 7 days before the stay ends, by {last} at the latest"),
                    ))
                }
                Some(_) => {}
            }
            let orig = answers.original_stay_days;
            if orig.is_none() {
                out.push(reason(
                    "original_stay_required",
                    "请填写签证注明的停留天数",
                    "give the number of days of stay your visa grants",
                ));
            }
            requested_days_given(answers, out);
            if let (Some(orig), Some(req)) = (orig, answers.requested_days) {
                if answers.extended_days.unwrap_or(0) + req > orig {
                    out.push(reason(
                        "extension_exceeds_original_stay",
                        "延长的停留期累计不得超过原签证注明的停留期",
                        "extensions together may not exceed the stay originally granted",
                    ));
                }
            }
        }
        // Law art. 34.
        "foreign_stay_permit" => {
            if let Some(d) = requested_days_given(answers, out) {
                if d > STAY_PERMIT_MAX_DAYS {
                    out.push(reason(
                        "stay_permit_too_long",
                        "停留证件的停留期最长为180日",
                        "a stay permit is for at most 180 days",
                    ));
                }
            }
        }
        // Law art. 30.
        "foreign_residence_permit" => {
            if answers.visa_requires_residence != Some(false) {
                match answers.entry_date {
                    None => out.push(reason(
                        "entry_date_required",
                        "请填写入境日期",
                        "give your date of entry",
                    )),
                    // Not yet rather than wrong: the permit is applied for after entry, from the
                    // day of entry on (a typing slip reads the same and is corrected the same).
                    Some(e) if e > today => out.push(reason(
                        "entry_date_in_future",
                        format!("还不能申请：居留许可须在入境后申请，入境日期 {e} 还未到；最早可于 {e} 申请"),
                        format!("Not yet: a residence permit is applied for after entry, and the date of entry {e} is still to come; you can apply from {e}"),
                    )),
                    Some(e) if e + TimeDelta::days(RESIDENCE_PERMIT_WINDOW_DAYS) < today => {
                        let last = e + TimeDelta::days(RESIDENCE_PERMIT_WINDOW_DAYS);
                        out.push(reason(
                            "residence_application_late",
                            format!("为时已晚：居留许可须在入境后30日内申请，最迟 {last}"),
                            format!("Too late: a residence permit must be applied for within 30 days of entry, by {last} at the latest"),
                        ))
                    }
                    Some(_) => {}
                }
            }
            residence_duration(answers, out);
        }
        // Law art. 32.
        "foreign_residence_extension" => {
            match answers.permit_expires_on {
                None => out.push(reason(
                    "permit_expiry_required",
                    "请填写居留许可的有效期截止日期",
                    "give the date your residence permit expires",
                )),
                Some(e) if e < today => out.push(reason(
                    "residence_permit_expired",
                    format!("为时已晚：居留许可已于 {e} 过期，不能再申请延期"),
                    format!("Too late: the residence permit expired on {e}; it can no longer be extended"),
                )),
                Some(e) if e < today + TimeDelta::days(RESIDENCE_EXTENSION_LEAD_DAYS) => {
                    let last = e - TimeDelta::days(RESIDENCE_EXTENSION_LEAD_DAYS);
                    out.push(reason(
                        "residence_extension_too_late",
                        format!("为时已晚：居留许可延期须在有效期届满30日前提出，最迟 {last}"),
                        format!("Too late: a residence extension must be applied for at least 30 days before the permit expires, by {last} at the latest"),
                    ))
                }
                Some(_) => {}
            }
            residence_duration(answers, out);
        }
        _ => {}
    }
}

fn requested_days_given(answers: &Answers, out: &mut Vec<Reason>) -> Option<u32> {
    match answers.requested_days {
        None | Some(0) => {
            out.push(reason(
                "requested_days_required",
                "请填写申请的停留或居留天数",
                "give the number of days you apply for",
            ));
            None
        }
        Some(d) => Some(d),
    }
}

/// A residence permit's category and duration (art. 30), and the fee option agreeing with the
/// duration when the caller named one.
fn residence_duration(answers: &Answers, out: &mut Vec<Reason>) {
    let category = answers.residence_category.as_deref();
    let known = category.filter(|c| RESIDENCE_CATEGORIES.iter().any(|(k, _, _)| k == c));
    match (category, known) {
        (None, _) => out.push(reason(
            "residence_category_required",
            "请选择居留事由（工作、学习、记者、团聚或私人事务）",
            "choose the purpose of residence (work, study, journalist, family reunion or private affairs)",
        )),
        (Some(c), None) => out.push(reason(
            "residence_category_unknown",
            format!("没有“{c}”这种居留事由"),
            format!("\"{c}\" is not a purpose of residence"),
        )),
        _ => {}
    }
    let Some(days) = requested_days_given(answers, out) else {
        return;
    };
    if let Some(c) = known {
        let min = if c == "work" {
            WORK_RESIDENCE_MIN_DAYS
        } else {
            OTHER_RESIDENCE_MIN_DAYS
        };
        if !(min..=RESIDENCE_MAX_DAYS).contains(&days) {
            out.push(if c == "work" {
                reason(
                    "residence_duration_out_of_range",
                    "工作类居留许可的有效期为90日至5年",
                    "a work residence permit is for 90 days to 5 years",
                )
            } else {
                reason(
                    "residence_duration_out_of_range",
                    "非工作类居留许可的有效期为180日至5年",
                    "a residence permit other than for work is for 180 days to 5 years",
                )
            });
        }
    }
    if let Some(o) = answers.option.as_deref() {
        if o != residence_option(days) {
            out.push(reason(
                "option_duration_mismatch",
                "所选收费档次与申请的居留期限不符",
                "the fee band chosen does not match the duration applied for",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Catalogue;
    use crate::eligibility::{check, Identity};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn today() -> NaiveDate {
        d(2026, 12, 1)
    }
    fn ident() -> Identity {
        Identity::Foreign {
            nationality: "DEU".into(),
            passport_number: "C01X00T47".into(),
            birth_date: Some(d(1990, 5, 1)),
        }
    }
    fn refusals(business: &str, a: &Answers) -> Vec<Reason> {
        check(
            &Catalogue::builtin(),
            business,
            "Anna Müller",
            &ident(),
            a,
            Facts {
                visit_date: today(),
                person: None,
                documents: &[],
            },
        )
    }
    fn codes(business: &str, a: &Answers) -> Vec<&'static str> {
        refusals(business, a).iter().map(|r| r.code).collect()
    }
    fn days(n: i64) -> Option<NaiveDate> {
        Some(today() + TimeDelta::days(n))
    }

    #[test]
    fn nationalities_are_icao_codes_in_one_form() {
        assert_eq!(nationality(" deu ").as_deref(), Ok("DEU"));
        assert_eq!(
            nationality("D<<").as_deref(),
            Ok("DEU"),
            "the MRZ's Germany"
        );
        assert_eq!(nationality("D").as_deref(), Ok("DEU"));
        assert_eq!(nationality("GBR").as_deref(), Ok("GBR"));
        assert_eq!(nationality("XXA").as_deref(), Ok("XXA"), "stateless");
        assert_eq!(nationality("XXB").as_deref(), Ok("XXB"), "refugee");
        for bad in ["XXX", "UTO", "ZZZ", "QQ", "", "DE1", "ABCD", "德国"] {
            assert_eq!(nationality(bad), Err(ForeignIdError::Nationality), "{bad}");
        }
    }

    #[test]
    fn passport_numbers_lose_spaces_and_case() {
        assert_eq!(passport_number(" c01x 00t47 ").as_deref(), Ok("C01X00T47"));
        assert_eq!(passport_number("L898902C3<").as_deref(), Ok("L898902C3"));
        assert_eq!(passport_number("ab-12-345").as_deref(), Ok("AB12345"));
        for bad in ["1234", "A".repeat(21).as_str(), "C01X00T4É", "C01/00T47"] {
            assert_eq!(passport_number(bad), Err(ForeignIdError::PassportNumber));
        }
    }

    #[test]
    fn a_foreign_birth_date_is_required_and_not_in_the_future() {
        assert_eq!(
            birth_date(None, today()),
            Err(ForeignIdError::BirthDateRequired)
        );
        assert_eq!(
            birth_date(Some(today() + TimeDelta::days(1)), today()),
            Err(ForeignIdError::BirthDateInFuture)
        );
        assert_eq!(birth_date(Some(today()), today()), Ok(today()));
    }

    #[test]
    fn the_nationality_list_has_each_state_once_and_no_refused_code() {
        let v = nationalities();
        assert!(v.iter().any(|(c, _)| *c == "DEU"));
        assert!(!v
            .iter()
            .any(|(c, _)| *c == "XXX" || *c == "UTO" || *c == "D"));
        for (c, _) in &v {
            assert_eq!(
                nationality(c).as_deref(),
                Ok(*c),
                "{c} is its own stored form"
            );
        }
    }

    fn extension(expires_in: i64) -> Answers {
        Answers {
            stay_expires_on: days(expires_in),
            original_stay_days: Some(30),
            extended_days: Some(0),
            requested_days: Some(30),
            ..Default::default()
        }
    }

    #[test]
    fn a_visa_extension_is_applied_for_seven_days_before_the_stay_ends() {
        assert_eq!(
            codes("foreign_visa_extension", &extension(7)),
            Vec::<&str>::new()
        );
        assert_eq!(
            codes("foreign_visa_extension", &extension(6)),
            vec!["extension_too_late"]
        );
        assert_eq!(
            codes("foreign_visa_extension", &extension(0)),
            vec!["extension_too_late"]
        );
        assert_eq!(
            codes("foreign_visa_extension", &extension(-1)),
            vec!["stay_expired"]
        );
    }

    #[test]
    fn visa_extensions_together_stay_within_the_original_stay() {
        let mut a = extension(20);
        a.extended_days = Some(10);
        a.requested_days = Some(20);
        assert!(
            codes("foreign_visa_extension", &a).is_empty(),
            "10 + 20 = 30"
        );
        a.requested_days = Some(21);
        assert_eq!(
            codes("foreign_visa_extension", &a),
            vec!["extension_exceeds_original_stay"]
        );
        let all_missing = codes("foreign_visa_extension", &Answers::default());
        assert_eq!(
            all_missing,
            vec![
                "stay_expiry_required",
                "original_stay_required",
                "requested_days_required"
            ],
            "every missing answer is named at once"
        );
    }

    #[test]
    fn a_stay_permit_is_for_at_most_180_days() {
        let a = |n| Answers {
            requested_days: Some(n),
            ..Default::default()
        };
        assert!(codes("foreign_stay_permit", &a(180)).is_empty());
        assert_eq!(
            codes("foreign_stay_permit", &a(181)),
            vec!["stay_permit_too_long"]
        );
        assert_eq!(
            codes("foreign_stay_permit", &a(0)),
            vec!["requested_days_required"]
        );
    }

    fn residence(category: &str, entered: i64, n: u32) -> Answers {
        let mut a = Answers {
            entry_date: days(-entered),
            residence_category: Some(category.into()),
            requested_days: Some(n),
            ..Default::default()
        };
        complete_answers("foreign_residence_permit", &mut a);
        a
    }

    #[test]
    fn a_residence_permit_is_applied_for_within_30_days_of_entry() {
        assert!(codes("foreign_residence_permit", &residence("work", 30, 365)).is_empty());
        assert_eq!(
            codes("foreign_residence_permit", &residence("work", 31, 365)),
            vec!["residence_application_late"]
        );
        let mut no_visa_rule = residence("work", 90, 365);
        no_visa_rule.visa_requires_residence = Some(false);
        assert!(codes("foreign_residence_permit", &no_visa_rule).is_empty());
        assert_eq!(
            codes("foreign_residence_permit", &residence("study", -1, 365)),
            vec!["entry_date_in_future"]
        );
    }

    #[test]
    fn a_refusal_says_whether_it_is_too_early_or_too_late_and_the_date() {
        let out = refusals("foreign_residence_permit", &residence("study", -3, 365));
        let early = &out[0];
        assert_eq!(timing(early.code), Some(Timing::TooEarly));
        let from = (today() + TimeDelta::days(3)).to_string();
        assert!(
            early.en.starts_with("Not yet") && early.en.contains(&from),
            "{}",
            early.en
        );
        assert!(
            early.zh.starts_with("还不能申请") && early.zh.contains(&from),
            "{}",
            early.zh
        );
        let out = refusals("foreign_visa_extension", &extension(3));
        let late = &out[0];
        assert_eq!(timing(late.code), Some(Timing::TooLate));
        let last = (today() + TimeDelta::days(3) - TimeDelta::days(7)).to_string();
        assert!(
            late.en.starts_with("Too late") && late.en.contains(&last),
            "{}",
            late.en
        );
        assert!(
            late.zh.starts_with("为时已晚") && late.zh.contains(&last),
            "{}",
            late.zh
        );
        assert_eq!(timing("requested_days_required"), None);
    }

    #[test]
    fn residence_durations_follow_the_category() {
        let r = |c, n| codes("foreign_residence_permit", &residence(c, 1, n));
        assert!(r("work", 90).is_empty());
        assert_eq!(r("work", 89), vec!["residence_duration_out_of_range"]);
        assert!(r("study", 180).is_empty());
        assert_eq!(r("study", 179), vec!["residence_duration_out_of_range"]);
        assert_eq!(
            r("family_reunion", 90),
            vec!["residence_duration_out_of_range"]
        );
        assert!(r("journalist", RESIDENCE_MAX_DAYS).is_empty());
        assert_eq!(
            r("private_affairs", RESIDENCE_MAX_DAYS + 1),
            vec!["residence_duration_out_of_range"]
        );
        assert_eq!(r("tourism", 365), vec!["residence_category_unknown"]);
        let mut none = residence("work", 1, 365);
        none.residence_category = None;
        assert_eq!(
            codes("foreign_residence_permit", &none),
            vec!["residence_category_required"]
        );
    }

    #[test]
    fn residence_fees_follow_the_duration() {
        let c = Catalogue::builtin();
        let t = c.terms("foreign_residence_permit", today()).unwrap();
        for (n, fee) in [
            (180, 400),
            (364, 400),
            (365, 800),
            (1094, 800),
            (1095, 1000),
        ] {
            assert_eq!(t.fee_for(Some(residence_option(n))), Some(fee), "{n} days");
        }
        let mut wrong = residence("work", 1, 400);
        wrong.option = Some("lt1y".into());
        assert_eq!(
            codes("foreign_residence_permit", &wrong),
            vec!["option_duration_mismatch"]
        );
    }

    #[test]
    fn a_residence_extension_is_applied_for_30_days_before_expiry() {
        let a = |n| Answers {
            permit_expires_on: days(n),
            residence_category: Some("work".into()),
            requested_days: Some(365),
            option: Some("1to3y".into()),
            ..Default::default()
        };
        assert!(codes("foreign_residence_extension", &a(30)).is_empty());
        assert_eq!(
            codes("foreign_residence_extension", &a(29)),
            vec!["residence_extension_too_late"]
        );
        assert_eq!(
            codes("foreign_residence_extension", &a(-1)),
            vec!["residence_permit_expired"]
        );
    }

    #[test]
    fn foreigners_commitments_feed_the_due_date() {
        use crate::application::{due_date, Processing};
        use crate::calendar::declared_days_2026;
        let c = Catalogue::builtin();
        let cal = declared_days_2026();
        let on = d(2026, 11, 3);
        for b in ["foreign_visa_extension", "foreign_stay_permit"] {
            let p = c.terms(b, on).unwrap().processing(true, false);
            assert_eq!(
                p,
                Processing::CalendarDays { days: 15 },
                "{b}: urgent changes nothing"
            );
            // Tue Nov 3 + 15 = Wed Nov 18, a working day.
            assert_eq!(due_date(on, p, &cal), d(2026, 11, 18));
        }
        // Sat Sep 19 + 15 = Sun Oct 4, inside National Day: the next working day is Oct 8.
        let p = c
            .terms("foreign_stay_permit", on)
            .unwrap()
            .processing(false, false);
        assert_eq!(due_date(d(2026, 9, 19), p, &cal), d(2026, 10, 8));
        for b in ["foreign_residence_permit", "foreign_residence_extension"] {
            let p = c.terms(b, on).unwrap().processing(false, false);
            assert_eq!(p, Processing::Ordinary { working_days: 7 }, "{b}");
            // Guangdong's 7 working days: Tue Nov 3 → Thu Nov 12.
            assert_eq!(due_date(on, p, &cal), d(2026, 11, 12));
        }
    }
}
