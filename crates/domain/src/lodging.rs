//! Temporary accommodation registration (境外人员住宿登记, RULES.md §8, issue 14 §3): what a
//! registration records, which of it is required, and the rules the police station's
//! worklist applies to it — lateness against the single 24-hour rule of Law art. 39 (with the
//! local "≤ 3 days late → warning only" discretion standard), overstay past the visa or permit,
//! duplicates (one passport at two addresses on one night) — all pure, over the dates and
//! instants the caller passes.
//!
//! Required, because the station cannot act without them: surname, sex, birth date,
//! nationality (an ICAO code known to [`crate::mrz::country_name`]), the travel document's
//! kind and number, the visa or permit kind and the date it allows the stay until, the
//! check-in instant. Everything else of §8 (given and Chinese names, the document's expiry and
//! place of issue, entry date and port, visa number, purpose, occupation, addresses, phone,
//! room, planned departure, arriving from / going to) is optional: a hotel's property-management
//! system rarely holds it all, and a missing optional field never refuses a registration. A
//! private host's registration also requires the host's name, resident ID (validated by
//! [`crate::idnum`]), phone and the address in China.

use crate::idnum::ResidentId;
use crate::mrz::{self, Mrz, Sex};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The hours within which a guest is registered on time (Law art. 39: 24 h of moving in).
pub const ON_TIME_HOURS: i64 = 24;
/// The local discretion standard: up to three days late is a warning only (RULES.md §8).
pub const WARNING_ONLY_DAYS: i64 = 3;

/// Kinds of visa or permit a guest stays on (RULES.md §8's form list; `residence` is a
/// residence permit, `visa_free` a visa-exempt stay, `other` what none of these is).
pub const VISA_KINDS: &[&str] = &[
    "F",
    "L",
    "G",
    "C",
    "J1",
    "J2",
    "Z",
    "X",
    "M",
    "Q1",
    "Q2",
    "S1",
    "S2",
    "R",
    "D",
    "residence",
    "stay_permit",
    "visa_free",
    "other",
];

/// Purposes of stay (the form's enumeration, simplified until GA/T 704.7 is bought).
pub const PURPOSES: &[&str] = &[
    "tourism", "business", "work", "study", "family", "visit", "transit", "other",
];

/// Travel document kinds: a passport, a permit card (CS/CD), or another travel document.
pub const DOCUMENT_KINDS: &[&str] = &["passport", "permit", "other"];

/// A foreign guest as registered. Personal data: the store seals it whole.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Guest {
    pub surname: String,
    #[serde(default)]
    pub given_names: String,
    #[serde(default)]
    pub chinese_name: String,
    /// `M`, `F` or `X`.
    pub sex: String,
    pub birth_date: Option<NaiveDate>,
    /// ICAO three-letter code (`D` is written `D<<` in a zone and `D` here is accepted too).
    pub nationality: String,
    pub document_kind: String,
    pub document_number: String,
    #[serde(default)]
    pub document_expiry: Option<NaiveDate>,
    #[serde(default)]
    pub document_place_of_issue: String,
    #[serde(default)]
    pub entry_date: Option<NaiveDate>,
    #[serde(default)]
    pub entry_port: String,
    pub visa_kind: String,
    #[serde(default)]
    pub visa_number: String,
    /// The last day the visa or permit allows the stay.
    pub stay_until: Option<NaiveDate>,
    #[serde(default)]
    pub purpose: String,
    #[serde(default)]
    pub occupation: String,
    #[serde(default)]
    pub address_abroad: String,
    #[serde(default)]
    pub phone: String,
}

impl std::fmt::Debug for Guest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Personal data never reaches a log through `{:?}`.
        f.debug_struct("Guest")
            .field("nationality", &self.nationality)
            .field("document", &mask_document(&self.document_number))
            .finish_non_exhaustive()
    }
}

/// The stay: when the guest arrived, where, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Stay {
    pub check_in: Option<DateTime<Utc>>,
    #[serde(default)]
    pub departure: Option<NaiveDate>,
    #[serde(default)]
    pub room: String,
    #[serde(default)]
    pub arriving_from: String,
    #[serde(default)]
    pub going_to: String,
}

/// The private host (留宿人) of a registration made online, with the address in China.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Host {
    pub name: String,
    pub id_number: String,
    pub phone: String,
    #[serde(default)]
    pub relationship: String,
    pub address: String,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host").finish_non_exhaustive()
    }
}

/// One thing wrong with a registration: the field, a stable code and both messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub field: &'static str,
    pub code: &'static str,
    pub zh: String,
    pub en: String,
}

fn problem(field: &'static str, code: &'static str, zh: &str, en: &str) -> Problem {
    Problem {
        field,
        code,
        zh: zh.into(),
        en: en.into(),
    }
}

fn line_ok(s: &str, max: usize) -> bool {
    s.chars().count() <= max && crate::text::forbidden_in_line(s).is_none()
}

/// A nationality as stored: upper case, `D<<` → `D`.
pub fn normalise_nationality(s: &str) -> String {
    s.trim()
        .to_ascii_uppercase()
        .trim_end_matches('<')
        .to_string()
}

/// A document number as compared: upper case, without spaces, `<` or dashes.
pub fn normalise_document(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// The clear key of a travel document, as the booking side writes a foreigner's identity:
/// `P:<nationality>:<number>` (the store keeps only its blind index).
pub fn passport_key(nationality: &str, number: &str) -> String {
    format!(
        "P:{}:{}",
        normalise_nationality(nationality),
        normalise_document(number)
    )
}

/// Every problem of a guest and stay as of `now` (empty: valid). China's date is `today`.
pub fn validate(g: &Guest, s: &Stay, now: DateTime<Utc>, today: NaiveDate) -> Vec<Problem> {
    let mut p = Vec::new();
    if g.surname.trim().is_empty() {
        p.push(problem(
            "surname",
            "surname_missing",
            "请填写姓",
            "the surname is required",
        ));
    }
    for (field, v, max) in [
        ("surname", &g.surname, 80),
        ("given_names", &g.given_names, 80),
        ("chinese_name", &g.chinese_name, 20),
        ("document_place_of_issue", &g.document_place_of_issue, 80),
        ("entry_port", &g.entry_port, 80),
        ("visa_number", &g.visa_number, 40),
        ("occupation", &g.occupation, 80),
        ("address_abroad", &g.address_abroad, 200),
        ("phone", &g.phone, 30),
        ("room", &s.room, 20),
        ("arriving_from", &s.arriving_from, 80),
        ("going_to", &s.going_to, 80),
    ] {
        if !line_ok(v, max) {
            p.push(Problem {
                field,
                code: "text_too_long_or_invalid",
                zh: format!("“{field}”过长或含有不允许的字符（最多 {max} 个字符）"),
                en: format!("{field} is too long or contains forbidden characters (at most {max})"),
            });
        }
    }
    if !matches!(g.sex.as_str(), "M" | "F" | "X") {
        p.push(problem(
            "sex",
            "sex_invalid",
            "性别应为 M、F 或 X",
            "sex must be M, F or X",
        ));
    }
    match g.birth_date {
        None => p.push(problem(
            "birth_date",
            "birth_date_missing",
            "请填写出生日期",
            "the date of birth is required",
        )),
        Some(b) if b > today => p.push(problem(
            "birth_date",
            "birth_date_future",
            "出生日期不能晚于今天",
            "the date of birth cannot be in the future",
        )),
        Some(b) if b < today - Duration::days(130 * 366) => p.push(problem(
            "birth_date",
            "birth_date_invalid",
            "出生日期不合理",
            "the date of birth is not plausible",
        )),
        Some(_) => {}
    }
    let nat = normalise_nationality(&g.nationality);
    if mrz::country_name(&nat).is_none() {
        p.push(problem(
            "nationality",
            "nationality_unknown",
            "国籍应为国际民航组织（ICAO）三字母代码，如 USA、GBR、DEU",
            "the nationality must be an ICAO three-letter code such as USA, GBR, DEU",
        ));
    }
    if !DOCUMENT_KINDS.contains(&g.document_kind.as_str()) {
        p.push(problem(
            "document_kind",
            "document_kind_invalid",
            "证件种类应为 passport、permit 或 other",
            "the document kind must be passport, permit or other",
        ));
    }
    let number = normalise_document(&g.document_number);
    if number.len() < 5 || number.len() > 20 || g.document_number.chars().count() > 30 {
        p.push(problem(
            "document_number",
            "document_number_invalid",
            "证件号码应为 5 至 20 位字母或数字",
            "the document number must be 5 to 20 letters or digits",
        ));
    }
    if !VISA_KINDS.contains(&g.visa_kind.as_str()) {
        p.push(problem(
            "visa_kind",
            "visa_kind_invalid",
            "签证或居留许可种类无效",
            "the kind of visa or permit is not one of the list",
        ));
    }
    if g.stay_until.is_none() {
        p.push(problem(
            "stay_until",
            "stay_until_missing",
            "请填写签证或居留许可的有效期至（停留截止日期）",
            "the date the visa or permit allows the stay until is required",
        ));
    }
    if !g.purpose.is_empty() && !PURPOSES.contains(&g.purpose.as_str()) {
        p.push(problem(
            "purpose",
            "purpose_invalid",
            "来华事由无效",
            "the purpose of stay is not one of the list",
        ));
    }
    if let (Some(e), Some(b)) = (g.entry_date, g.birth_date) {
        if e < b || e > today {
            p.push(problem(
                "entry_date",
                "entry_date_invalid",
                "入境日期不合理",
                "the date of entry is not plausible",
            ));
        }
    }
    match s.check_in {
        None => p.push(problem(
            "check_in",
            "check_in_missing",
            "请填写入住时间",
            "the check-in time is required",
        )),
        // A clock a little ahead at the front desk is forgiven; a stay that has not begun is
        // not registered yet.
        Some(c) if c > now + Duration::minutes(15) => p.push(problem(
            "check_in",
            "check_in_future",
            "入住时间不能晚于现在",
            "the check-in time cannot be in the future",
        )),
        Some(c) if c < now - Duration::days(366) => p.push(problem(
            "check_in",
            "check_in_too_old",
            "入住时间早于一年前",
            "the check-in is more than a year ago",
        )),
        Some(c) => {
            if let Some(d) = s.departure {
                if d < crate::lodging::china_day(c) {
                    p.push(problem(
                        "departure",
                        "departure_before_check_in",
                        "离开日期早于入住日期",
                        "the departure is before the check-in",
                    ));
                }
            }
        }
    }
    p
}

/// Every problem of a private host as of `today`.
pub fn validate_host(h: &Host, today: NaiveDate) -> Vec<Problem> {
    let mut p = Vec::new();
    if h.name.trim().is_empty() || !line_ok(&h.name, 40) {
        p.push(problem(
            "host_name",
            "host_name_invalid",
            "请填写留宿人姓名",
            "the host's name is required",
        ));
    }
    if let Err(e) = ResidentId::parse(&h.id_number, today) {
        p.push(Problem {
            field: "host_id_number",
            code: "host_id_number_invalid",
            zh: e.message_zh(),
            en: e.message_en(),
        });
    }
    if crate::phone::canonical(&h.phone).is_err() {
        p.push(problem(
            "host_phone",
            "host_phone_invalid",
            "留宿人电话号码无效",
            "the host's phone number is not valid",
        ));
    }
    if h.address.trim().is_empty() || !line_ok(&h.address, 200) {
        p.push(problem(
            "address",
            "address_missing",
            "请填写在华住址",
            "the address in China is required",
        ));
    }
    if !line_ok(&h.relationship, 40) {
        p.push(problem(
            "relationship",
            "relationship_invalid",
            "关系过长",
            "the relationship is too long",
        ));
    }
    p
}

/// China's calendar day (UTC+8, no daylight saving) of an instant.
pub fn china_day(at: DateTime<Utc>) -> NaiveDate {
    (at + Duration::hours(8)).date_naive()
}

/// How late a registration came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lateness {
    /// Within 24 h of check-in.
    OnTime,
    /// Late by at most three days: a warning only (local discretion standard).
    WarningOnly,
    /// Later than that.
    Late,
}

impl Lateness {
    pub fn as_str(self) -> &'static str {
        match self {
            Lateness::OnTime => "on_time",
            Lateness::WarningOnly => "warning_only",
            Lateness::Late => "late",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Lateness::OnTime, Lateness::WarningOnly, Lateness::Late]
            .into_iter()
            .find(|l| l.as_str() == s)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Lateness::OnTime => "按时",
            Lateness::WarningOnly => "逾期（仅警告）",
            Lateness::Late => "逾期",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            Lateness::OnTime => "on time",
            Lateness::WarningOnly => "late (warning only)",
            Lateness::Late => "late",
        }
    }
}

/// Lateness of a registration made at `registered` for a check-in at `check_in`: on time
/// within 24 h; beyond that, "late", and a warning only while the delay past the 24 h is at
/// most three days.
pub fn lateness(check_in: DateTime<Utc>, registered: DateTime<Utc>) -> Lateness {
    let after = registered - check_in;
    if after <= Duration::hours(ON_TIME_HOURS) {
        Lateness::OnTime
    } else if after <= Duration::hours(ON_TIME_HOURS) + Duration::days(WARNING_ONLY_DAYS) {
        Lateness::WarningOnly
    } else {
        Lateness::Late
    }
}

/// The nights of a stay as days `[first, end)`: from the check-in's day to the day of leaving
/// (checked out, else the planned departure, else tomorrow for a stay still running: tonight
/// counts). The store's duplicate query computes the same bounds.
pub fn nights(
    check_in: DateTime<Utc>,
    left: Option<NaiveDate>,
    planned: Option<NaiveDate>,
    today: NaiveDate,
) -> (NaiveDate, NaiveDate) {
    let first = china_day(check_in);
    let end = left.or(planned).unwrap_or(today + Duration::days(1));
    (first, end)
}

/// Whether two stays share a night: the same passport at two addresses then is a duplicate.
pub fn share_a_night(a: (NaiveDate, NaiveDate), b: (NaiveDate, NaiveDate)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// Whether a stay runs past the visa or permit: the guest left, is still there, or plans to
/// be there on a day after `stay_until` (a stay not checked out is present today at least).
pub fn overstays(
    stay_until: NaiveDate,
    left: Option<NaiveDate>,
    planned: Option<NaiveDate>,
    today: NaiveDate,
) -> bool {
    let last = left.unwrap_or_else(|| planned.unwrap_or(today).max(today));
    last > stay_until
}

/// A document number masked for lists: first two and last two characters.
pub fn mask_document(number: &str) -> String {
    let c: Vec<char> = number.chars().collect();
    if c.len() <= 4 {
        return "*".repeat(c.len());
    }
    let mut s: String = c[..2].iter().collect();
    s.push_str(&"*".repeat(c.len() - 4));
    s.extend(&c[c.len() - 2..]);
    s
}

/// A name masked for lists: the first character, then `*`.
pub fn mask_name(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(f) => format!("{f}{}", "*".repeat(c.count().clamp(1, 6))),
        None => String::new(),
    }
}

/// What a machine-readable zone fills in: names, sex, birth date, nationality, the document
/// and (for a visa or permit card) what it allows the stay until.
pub fn prefill(m: &Mrz) -> Guest {
    let kind = match m.format {
        mrz::Format::Cs | mrz::Format::Cd => "permit",
        _ if m.document_code.starts_with('P') => "passport",
        _ => "other",
    };
    let visa = matches!(m.format, mrz::Format::MrvA | mrz::Format::MrvB);
    Guest {
        surname: m.surname.clone(),
        given_names: m.given_names.clone(),
        sex: match m.sex {
            Some(Sex::Male) => "M",
            Some(Sex::Female) => "F",
            Some(Sex::Unspecified) => "X",
            None => "",
        }
        .into(),
        birth_date: m.birth_date,
        nationality: normalise_nationality(&m.nationality),
        document_kind: if visa { "passport".into() } else { kind.into() },
        // A visa's zone carries the passport's number.
        document_number: m.document_number.clone(),
        document_expiry: if visa { None } else { m.expiry_date },
        stay_until: if visa || kind == "permit" {
            m.expiry_date
        } else {
            None
        },
        ..Guest::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap()
    }
    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    fn guest() -> Guest {
        Guest {
            surname: "ERIKSSON".into(),
            given_names: "ANNA MARIA".into(),
            sex: "F".into(),
            birth_date: Some(NaiveDate::from_ymd_opt(1990, 8, 12).unwrap()),
            nationality: "SWE".into(),
            document_kind: "passport".into(),
            document_number: "L898902C3".into(),
            visa_kind: "L".into(),
            stay_until: Some(day(28)),
            ..Guest::default()
        }
    }

    #[test]
    fn lateness_is_on_time_within_24_hours_then_warning_only_for_three_days_then_late() {
        assert_eq!(lateness(at(1, 0), at(2, 0)), Lateness::OnTime);
        assert_eq!(lateness(at(1, 0), at(2, 1)), Lateness::WarningOnly);
        assert_eq!(lateness(at(1, 0), at(5, 0)), Lateness::WarningOnly);
        assert_eq!(lateness(at(1, 0), at(5, 1)), Lateness::Late);
    }

    #[test]
    fn a_valid_guest_has_no_problem_and_an_empty_one_has_every_required_reason() {
        let s = Stay {
            check_in: Some(at(10, 2)),
            ..Stay::default()
        };
        assert!(validate(&guest(), &s, at(10, 3), day(10)).is_empty());
        let codes: Vec<_> = validate(&Guest::default(), &Stay::default(), at(10, 3), day(10))
            .into_iter()
            .map(|p| p.code)
            .collect();
        for c in [
            "surname_missing",
            "sex_invalid",
            "birth_date_missing",
            "nationality_unknown",
            "document_kind_invalid",
            "document_number_invalid",
            "visa_kind_invalid",
            "stay_until_missing",
            "check_in_missing",
        ] {
            assert!(codes.contains(&c), "{c} in {codes:?}");
        }
    }

    #[test]
    fn nationality_must_be_an_icao_code() {
        let s = Stay {
            check_in: Some(at(10, 2)),
            ..Stay::default()
        };
        for (nat, ok) in [("XXX", true), ("D<<", true), ("ZZZ", false), ("usa", true)] {
            let g = Guest {
                nationality: nat.into(),
                ..guest()
            };
            assert_eq!(validate(&g, &s, at(10, 3), day(10)).is_empty(), ok, "{nat}");
        }
    }

    #[test]
    fn a_future_check_in_is_refused() {
        let s = Stay {
            check_in: Some(at(11, 2)),
            ..Stay::default()
        };
        let p = validate(&guest(), &s, at(10, 3), day(10));
        assert_eq!(p[0].code, "check_in_future");
    }

    #[test]
    fn the_same_passport_on_the_same_night_is_a_duplicate_and_back_to_back_stays_are_not() {
        let a = nights(at(1, 4), Some(day(3)), None, day(20));
        let b = nights(at(2, 4), None, Some(day(4)), day(20));
        let c = nights(at(3, 4), None, None, day(20));
        assert!(share_a_night(a, b));
        assert!(!share_a_night(a, c));
        assert_eq!(passport_key("swe", "l898-902c3"), "P:SWE:L898902C3");
    }

    #[test]
    fn a_stay_past_the_permit_overstays() {
        assert!(!overstays(day(5), Some(day(5)), None, day(20)));
        assert!(overstays(day(5), None, None, day(6)));
        assert!(overstays(day(5), None, Some(day(7)), day(2)));
        assert!(!overstays(day(5), None, Some(day(4)), day(2)));
    }

    #[test]
    fn host_needs_a_valid_resident_id() {
        let h = Host {
            name: "张三".into(),
            id_number: "11010519491231002X".into(),
            phone: "13800138000".into(),
            address: "从化区街口街 1 号".into(),
            relationship: String::new(),
        };
        assert!(validate_host(&h, day(10)).is_empty());
        let bad = Host {
            id_number: "110105194912310021".into(),
            ..h
        };
        assert_eq!(
            validate_host(&bad, day(10))[0].code,
            "host_id_number_invalid"
        );
    }

    #[test]
    fn masks_show_only_the_ends() {
        assert_eq!(mask_document("L898902C3"), "L8*****C3");
        assert_eq!(mask_name("ERIKSSON"), "E******");
    }

    #[test]
    fn a_passport_zone_prefills_the_guest() {
        let m = crate::mrz::read(
            &[
                "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
                "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
            ],
            day(10),
        )
        .unwrap();
        let g = prefill(&m);
        assert_eq!(g.surname, "ERIKSSON");
        assert_eq!(g.nationality, "UTO");
        assert_eq!(g.document_kind, "passport");
        assert_eq!(g.document_number, "L898902C3");
        assert_eq!(g.sex, "F");
    }
}
