//! Property tests of every parser of outside input in the domain (issue 19 §4, property-based
//! generation in place of coverage-guided fuzzing): identity numbers, phone numbers, passports
//! and nationalities, machine-readable zones, free text. For arbitrary input each one returns
//! (never panics), and what it accepts it accepts again unchanged: a parser that accepted a
//! value it cannot read back would store what it cannot find. 4 000 cases per property in the
//! suite (debug build: about 25 s of CPU in all); `PROPTEST_CASES=100000` for a deeper run.

use chrono::NaiveDate;
use proptest::prelude::*;
use wujing_domain::idnum::ResidentId;
use wujing_domain::{foreign, mrz, phone, text};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
}

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(4_000);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// Input as it comes: any characters, or ones close to what the parser expects.
fn near(alphabet: &'static str, max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(
            proptest::sample::select(alphabet.chars().collect::<Vec<_>>()),
            0..max
        )
        .prop_map(|v| v.into_iter().collect()),
    ]
}

/// The ICAO examples of Doc 9303 (as in `mrz/tests.rs`), to mutate.
const ZONES: [&[&str]; 3] = [
    &[
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
        "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
    ],
    &[
        "I<UTOD231458907<<<<<<<<<<<<<<<",
        "7408122F1204159UTO<<<<<<<<<<<6",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    ],
    &[
        "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
        "D231458907UTO7408122F1204159<<<<<<<6",
    ],
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn identity_numbers_never_panic_and_read_back(s in near("0123456789Xx -", 24)) {
        if let Ok(id) = ResidentId::parse(&s, today()) {
            prop_assert_eq!(id.as_str().len(), 18);
            let again = ResidentId::parse(id.as_str(), today()).expect("an accepted number reads back");
            prop_assert_eq!(again.as_str(), id.as_str());
        }
    }

    #[test]
    fn phone_numbers_never_panic_and_are_canonical(s in near("0123456789+-() ", 24)) {
        if let Ok(p) = phone::canonical(&s) {
            prop_assert_eq!(phone::canonical(&p), Ok(p.clone()));
        }
    }

    #[test]
    fn passports_and_nationalities_never_panic_and_read_back(
        n in near("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789< -", 14),
        c in near("ABCDEFGHIJKLMNOPQRSTUVWXYZ<", 4),
    ) {
        if let Ok(p) = foreign::passport_number(&n) {
            prop_assert_eq!(foreign::passport_number(&p), Ok(p.clone()));
        }
        if let Ok(c) = foreign::nationality(&c) {
            prop_assert_eq!(foreign::nationality(&c), Ok(c.clone()));
        }
    }

    #[test]
    fn arbitrary_zones_never_panic(lines in proptest::collection::vec(near("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<", 46), 0..4)) {
        if let Ok(m) = mrz::read(&lines, today()) {
            // A zone read as valid passed every enforced check.
            prop_assert!(!m.valid || m.checks.all_pass());
        }
    }

    /// Every one- or two-character change to a valid zone (an OCR misread) is either refused
    /// with a typed error, repaired so that every check passes, or reported with its failing
    /// check: never a panic, never "valid" with a failing check.
    #[test]
    fn misread_zones_are_refused_repaired_or_reported(
        which in 0usize..3,
        edits in proptest::collection::vec((0usize..90, proptest::sample::select("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<O0I1 ".chars().collect::<Vec<_>>())), 1..3),
    ) {
        let mut lines: Vec<Vec<char>> = ZONES[which].iter().map(|l| l.chars().collect()).collect();
        for (at, c) in edits {
            let line = at % lines.len();
            let len = lines[line].len();
            lines[line][at % len] = c;
        }
        let lines: Vec<String> = lines.into_iter().map(|l| l.into_iter().collect()).collect();
        if let Ok(m) = mrz::read(&lines, today()) {
            prop_assert!(!m.valid || m.checks.all_pass(), "{:?}", m.checks);
        }
    }

    #[test]
    fn text_checks_never_panic(s in any::<String>()) {
        let line = text::forbidden_in_line(&s);
        let any_text = text::forbidden_char(&s);
        // Whatever is forbidden anywhere is forbidden in a single line too.
        prop_assert!(any_text.is_none() || line.is_some());
        let cell = text::csv_cell(&s);
        // A spreadsheet never reads a cell as a formula.
        prop_assert!(!cell.starts_with(['=', '+', '-', '@']));
    }
}
