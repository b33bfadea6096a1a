//! Resident identity numbers (公民身份号码), GB 11643-1999.
//!
//! Layout (RULES.md §9): 6-digit address code at first registration, 8-digit birth date,
//! 3-digit sequence (odd = male), 1 check character computed with ISO 7064 MOD 11-2.
//! We validate the province prefix only: address codes are retired over time (the standard's own
//! example `440524` is absent from the 2016 GB/T 2260 list), and a person keeps their number.

use chrono::{Datelike, NaiveDate};
use std::fmt;

/// Weights for positions 1..17, equal to `2^(18-i) mod 11` (RULES.md §9, verified).
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: &[u8; 11] = b"10X98765432";

/// Province-level prefixes in use since 1980, plus 71/81/82/83 for Taiwan, Hong Kong and Macau
/// (used by residence-permit numbers for those residents).
const PROVINCE_PREFIXES: &[u8] = &[
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sex {
    Male,
    Female,
}

/// What is wrong with an identity number. Each variant names the part at fault so that a
/// citizen can correct it without guessing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdNumberError {
    /// Neither 18 (current) nor 15 (1989 standard) characters.
    Length { found: usize },
    /// A character that is not a digit (or, in the last place, `X`). Position is 1-based.
    Character { position: usize },
    /// The first two digits are not a province code.
    Region { code: String },
    /// The eight birth-date digits are not a real calendar date.
    BirthDate { digits: String },
    /// The birth date lies after the reference date.
    BirthDateInFuture { date: NaiveDate },
    /// The check character does not match the first 17 digits.
    Checksum { expected: char, found: char },
}

impl IdNumberError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Length { .. } => "id_number_length",
            Self::Character { .. } => "id_number_character",
            Self::Region { .. } => "id_number_region",
            Self::BirthDate { .. } => "id_number_birth_date",
            Self::BirthDateInFuture { .. } => "id_number_birth_date_future",
            Self::Checksum { .. } => "id_number_checksum",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            Self::Length { found } => format!("身份号码应为18位，实际为{found}位"),
            Self::Character { position } => format!("身份号码第{position}位不是有效字符"),
            Self::Region { code } => format!("身份号码前两位“{code}”不是有效的省级行政区划代码"),
            Self::BirthDate { digits } => format!("身份号码中的出生日期“{digits}”不是有效日期"),
            Self::BirthDateInFuture { date } => format!("身份号码中的出生日期{date}晚于今天"),
            Self::Checksum { expected, found } => {
                // The check character cannot tell which digit is wrong: saying the last one is
                // would mislead whoever mistyped another.
                let _ = (expected, found);
                "身份号码未通过校验，可能有一位输错，请逐位核对（包括最后一位）".to_string()
            }
        }
    }

    pub fn message_en(&self) -> String {
        match self {
            Self::Length { found } => {
                format!("an identity number has 18 characters; this one has {found}")
            }
            Self::Character { position } => {
                format!("character {position} of the identity number is not valid")
            }
            Self::Region { code } => {
                format!("the identity number starts with \"{code}\", which is not a province code")
            }
            Self::BirthDate { digits } => {
                format!("the birth date \"{digits}\" in the identity number is not a real date")
            }
            Self::BirthDateInFuture { date } => {
                format!("the birth date {date} in the identity number is in the future")
            }
            Self::Checksum { .. } => {
                "the number does not check: a character is probably mistyped; look at each one, the last included".to_string()
            }
        }
    }
}

impl fmt::Display for IdNumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message_en())
    }
}

impl std::error::Error for IdNumberError {}

/// A validated 18-character resident identity number.
///
/// `Debug` and `Display` print the masked form: the full number is personal information and must
/// not reach logs by accident. Use [`ResidentId::as_str`] where the full number is required.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResidentId(String);

impl ResidentId {
    /// Parses an 18- or 15-character number, checking it against `today` for a future birth date.
    /// Lowercase `x` is accepted and normalised; surrounding whitespace is ignored.
    pub fn parse(input: &str, today: NaiveDate) -> Result<Self, IdNumberError> {
        let s = input.trim().to_ascii_uppercase();
        let s = match s.len() {
            18 => s,
            15 => {
                check_digits(&s, 15)?;
                upgrade_15(&s)
            }
            n => return Err(IdNumberError::Length { found: n }),
        };
        check_digits(&s, 17)?;
        let last = s.as_bytes()[17];
        if !(last.is_ascii_digit() || last == b'X') {
            return Err(IdNumberError::Character { position: 18 });
        }
        let prefix: u8 = s[0..2].parse().expect("digits");
        if !PROVINCE_PREFIXES.contains(&prefix) {
            return Err(IdNumberError::Region {
                code: s[0..2].to_string(),
            });
        }
        let date = NaiveDate::parse_from_str(&s[6..14], "%Y%m%d").map_err(|_| {
            IdNumberError::BirthDate {
                digits: s[6..14].to_string(),
            }
        })?;
        if date.year() < 1850 {
            return Err(IdNumberError::BirthDate {
                digits: s[6..14].to_string(),
            });
        }
        if date > today {
            return Err(IdNumberError::BirthDateInFuture { date });
        }
        let expected = check_char(&s.as_bytes()[..17]);
        if expected != last as char {
            return Err(IdNumberError::Checksum {
                expected,
                found: last as char,
            });
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn birth_date(&self) -> NaiveDate {
        NaiveDate::parse_from_str(&self.0[6..14], "%Y%m%d").expect("validated at parse")
    }

    pub fn sex(&self) -> Sex {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// The six-digit address code at first registration.
    pub fn region_code(&self) -> &str {
        &self.0[0..6]
    }

    /// Age in whole years on `on`.
    pub fn age_on(&self, on: NaiveDate) -> u32 {
        age_on(self.birth_date(), on)
    }

    /// `44**************14`: see [`mask_id_number`].
    pub fn masked(&self) -> String {
        mask_id_number(&self.0)
    }
}

impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResidentId({})", self.masked())
    }
}

impl fmt::Display for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// Whole years between `birth` and `on`.
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> u32 {
    let mut years = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    years.max(0) as u32
}

/// Masks any identity or document number: the first two and last two characters stay visible
/// for numbers long enough to hide something, shorter ones keep only the last two. Two and two
/// leave an 18-character number's region, birth date and most of its sequence hidden (about
/// 10¹⁰ candidates), so that a masked number beside its booking code is no list to search; six
/// and four left only the birth date, a few thousand guesses.
pub fn mask_id_number(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    if n >= 14 {
        let mut out: String = chars[..2].iter().collect();
        out.extend(std::iter::repeat_n('*', n - 4));
        out.extend(&chars[n - 2..]);
        out
    } else if n > 2 {
        let mut out: String = std::iter::repeat_n('*', n - 2).collect();
        out.extend(&chars[n - 2..]);
        out
    } else {
        "*".repeat(n)
    }
}

/// `138****5678`.
pub fn mask_phone(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    if n >= 7 {
        let mut out: String = chars[..3].iter().collect();
        out.extend(std::iter::repeat_n('*', n - 7));
        out.extend(&chars[n - 4..]);
        out
    } else {
        "*".repeat(n)
    }
}

/// The ISO 7064 MOD 11-2 check character for 17 digits.
pub fn check_char(digits17: &[u8]) -> char {
    let sum: u32 = digits17
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    CHECK_CHARS[(sum % 11) as usize] as char
}

fn check_digits(s: &str, n: usize) -> Result<(), IdNumberError> {
    match s.bytes().take(n).position(|b| !b.is_ascii_digit()) {
        Some(i) => Err(IdNumberError::Character { position: i + 1 }),
        None => Ok(()),
    }
}

/// GB 11643-1989 numbers carry a two-digit year and no check character: insert `19` and append
/// the check character (RULES.md §9: `110105491231002` → `11010519491231002X`).
fn upgrade_15(s: &str) -> String {
    let mut body = String::with_capacity(18);
    body.push_str(&s[..6]);
    body.push_str("19");
    body.push_str(&s[6..15]);
    let c = check_char(body.as_bytes());
    body.push(c);
    body
}

/// Builds a valid number from its parts; used by tests, demo data and the load generator.
pub fn compose(region: &str, birth: NaiveDate, sequence: u16) -> String {
    let mut body = format!("{region}{}{:03}", birth.format("%Y%m%d"), sequence % 1000);
    let c = check_char(body.as_bytes());
    body.push(c);
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
    }

    #[test]
    fn standard_vectors() {
        let a = ResidentId::parse("11010519491231002X", today()).unwrap();
        assert_eq!(a.sex(), Sex::Female);
        assert_eq!(
            a.birth_date(),
            NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
        );
        let b = ResidentId::parse("440524188001010014", today()).unwrap();
        assert_eq!(b.sex(), Sex::Male);
        assert_eq!(
            b.region_code(),
            "440524",
            "retired region codes are accepted"
        );
        let c = ResidentId::parse("110101202311012176", today()).unwrap();
        assert_eq!(c.age_on(today()), 3);
        assert_eq!(
            ResidentId::parse("110101202311012171", today()),
            Err(IdNumberError::Checksum {
                expected: '6',
                found: '1'
            })
        );
    }

    #[test]
    fn lowercase_x_and_fifteen_digits() {
        let a = ResidentId::parse(" 11010519491231002x ", today()).unwrap();
        assert_eq!(a.as_str(), "11010519491231002X");
        let b = ResidentId::parse("110105491231002", today()).unwrap();
        assert_eq!(b.as_str(), "11010519491231002X");
    }

    #[test]
    fn errors_name_the_part() {
        assert_eq!(
            ResidentId::parse("1234", today()),
            Err(IdNumberError::Length { found: 4 })
        );
        assert_eq!(
            ResidentId::parse("1101051949123A002X", today()),
            Err(IdNumberError::Character { position: 14 })
        );
        assert!(matches!(
            ResidentId::parse("990105194912310021", today()),
            Err(IdNumberError::Region { .. })
        ));
        assert!(matches!(
            ResidentId::parse(&compose_raw("110105", "19490231", "002"), today()),
            Err(IdNumberError::BirthDate { .. })
        ));
        let future = compose("110105", NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(), 2);
        assert!(matches!(
            ResidentId::parse(&future, today()),
            Err(IdNumberError::BirthDateInFuture { .. })
        ));
    }

    fn compose_raw(region: &str, date: &str, seq: &str) -> String {
        let mut body = format!("{region}{date}{seq}");
        let c = check_char(body.as_bytes());
        body.push(c);
        body
    }

    #[test]
    fn masked_numbers_reveal_at_most_two_leading_and_two_trailing_characters() {
        let a = ResidentId::parse("440524188001010014", today()).unwrap();
        assert_eq!(a.masked(), "44**************14");
        assert_eq!(format!("{a:?}"), "ResidentId(44**************14)");
        for s in ["440524188001010014", "440524800101001", "E12345678", "AB"] {
            let m = mask_id_number(s);
            assert_eq!(m.chars().count(), s.chars().count(), "{s}");
            let shown = m.chars().filter(|&c| c != '*').count();
            assert!(shown <= 4, "{s} → {m}");
        }
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_id_number("E12345678"), "*******78");
    }
}
