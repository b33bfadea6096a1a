//! A resident identity number (GB 11643) typed, read off a card, or sent in a body: never a
//! panic; a number accepted is 18 characters and reads back as itself.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wujing_domain::idnum::ResidentId;

fuzz_target!(|s: &str| {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    if let Ok(id) = ResidentId::parse(s, today) {
        assert_eq!(id.as_str().len(), 18);
        let again = ResidentId::parse(id.as_str(), today).expect("an accepted number reads back");
        assert_eq!(again.as_str(), id.as_str());
    }
});
