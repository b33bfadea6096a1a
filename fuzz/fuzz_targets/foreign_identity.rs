//! A phone number, a passport number and a nationality (the first, second and rest of the
//! input split at `|`): never a panic; what is accepted is canonical (accepted again unchanged).
#![no_main]
use libfuzzer_sys::fuzz_target;
use wujing_domain::{foreign, phone};

fuzz_target!(|s: &str| {
    let mut parts = s.splitn(3, '|');
    let (a, b, c) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    if let Ok(p) = phone::canonical(a) {
        assert_eq!(phone::canonical(&p), Ok(p.clone()));
    }
    if let Ok(n) = foreign::passport_number(b) {
        assert_eq!(foreign::passport_number(&n), Ok(n.clone()));
    }
    if let Ok(n) = foreign::nationality(c) {
        assert_eq!(foreign::nationality(&n), Ok(n.clone()));
    }
});
