//! Phone numbers in one canonical form, so that the limits on codes and confirmations count a
//! phone once however it was typed: `137 0013 7009`, `+86 137-0013-7009`, `0086 13700137009`
//! and `+008613700137009` are the same mainland mobile, and would otherwise be four phones to a
//! per-phone limit (and four times the text messages an attacker could send to one victim).
//!
//! Canonical forms: a mainland mobile is its 11 digits (what citizens read and type); any other
//! number is `+` and its country code and digits (E.164, at most 15 digits).

/// Why a phone number was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneError;

/// The canonical form of `input`, or an error when it is neither a mainland mobile nor an
/// international number. Spaces, dashes, dots and parentheses are ignored; the `00` and
/// `+00` international prefixes mean `+`; a mainland mobile written with `+86`/`0086` loses it.
pub fn canonical(input: &str) -> Result<String, PhoneError> {
    let kept: String = input
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{3000}'))
        .collect();
    let (international, digits) = if let Some(rest) = kept.strip_prefix("+00") {
        (true, rest)
    } else if let Some(rest) = kept.strip_prefix('+') {
        (true, rest)
    } else if let Some(rest) = kept.strip_prefix("00") {
        (true, rest)
    } else {
        (false, kept.as_str())
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PhoneError);
    }
    let national = if international {
        match digits.strip_prefix("86") {
            Some(n) if is_mainland_mobile(n) => n,
            // A mainland landline: 86, an area code and a number, 11 to 13 digits in all.
            Some(_) if !(11..=13).contains(&digits.len()) => return Err(PhoneError),
            // E.164: a country code and subscriber number, 8 to 15 digits in all.
            _ if (8..=15).contains(&digits.len()) && !digits.starts_with('0') => {
                return Ok(format!("+{digits}"))
            }
            _ => return Err(PhoneError),
        }
    } else {
        digits
    };
    if is_mainland_mobile(national) {
        Ok(national.to_string())
    } else {
        Err(PhoneError)
    }
}

fn is_mainland_mobile(n: &str) -> bool {
    n.len() == 11 && n.starts_with('1') && matches!(n.as_bytes()[1], b'3'..=b'9')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_mainland_mobile_however_it_is_written() {
        for written in [
            "13700137009",
            "137 0013 7009",
            "137-0013-7009",
            "+8613700137009",
            "+86 137 0013 7009",
            "008613700137009",
            "+008613700137009",
            "(+86) 137.0013.7009",
        ] {
            assert_eq!(
                canonical(written).as_deref(),
                Ok("13700137009"),
                "{written}"
            );
        }
    }

    #[test]
    fn international_numbers_keep_their_country_code() {
        assert_eq!(canonical("+852 9123 4567").as_deref(), Ok("+85291234567"));
        assert_eq!(canonical("00852 91234567").as_deref(), Ok("+85291234567"));
        assert_eq!(canonical("+0085291234567").as_deref(), Ok("+85291234567"));
        assert_eq!(
            canonical("+1 (415) 555-0100").as_deref(),
            Ok("+14155550100")
        );
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            "1370013700",
            "23700137009",
            "12700137009",
            "+86 1234",
            "+1234567890123456",
            "+0",
            "137001370O9",
            "+86１３７００１３７００９",
            "13700137009\u{0}",
        ] {
            assert_eq!(canonical(bad), Err(PhoneError), "{bad:?}");
        }
    }
}
