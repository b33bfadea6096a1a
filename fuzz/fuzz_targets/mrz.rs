//! A machine-readable zone as a reader or a pasted text gives it (lines split at newlines):
//! never a panic; a zone read as valid passed every enforced check.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wujing_domain::mrz;

fuzz_target!(|s: &str| {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let lines: Vec<&str> = s.lines().take(4).collect();
    if let Ok(m) = mrz::read(&lines, today) {
        assert!(!m.valid || m.checks.all_pass(), "{:?}", m.checks);
    }
});
