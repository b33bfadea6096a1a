//! What a kiosk's scanner or keypad gives for a booking: never a panic; the code found has no
//! separator left in it and is in upper case; a slip's own payload reads back as its code.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wujing_domain::slip;

fuzz_target!(|s: &str| {
    let code = slip::code_from_scan(s);
    if s.trim().starts_with(slip::QR_PREFIX) {
        assert!(!code.contains(':'));
    }
    assert_eq!(code, code.to_ascii_uppercase());
    // Any code the scanner could meet on a slip reads back from its payload.
    let typed: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(12)
        .collect();
    let typed = typed.to_ascii_uppercase();
    assert_eq!(
        slip::code_from_scan(&slip::qr_payload(&typed, "0a1b2c")),
        typed
    );
});
