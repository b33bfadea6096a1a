//! The slip's machine-readable content: the QR payload `WUJING:<code>:<key>` that a kiosk's
//! scanner reads off a slip, and the booking code a citizen types instead. One place writes the
//! payload and one reads it, so that what a slip prints is what a kiosk understands; pure, so
//! that it is fuzzed (fuzz/, `scan_payload`).

/// What every slip's QR payload starts with.
pub const QR_PREFIX: &str = "WUJING:";

/// The QR payload of a slip: the booking code and the slip key.
pub fn qr_payload(code: &str, key: &str) -> String {
    format!("{QR_PREFIX}{code}:{key}")
}

/// The booking code in what a scanner or keypad gave: a slip's QR payload (its code; the key
/// is not needed to check in, the identity number is) or the code itself, trimmed and in upper
/// case. Empty when nothing was given (reception finds the booking by identity number).
pub fn code_from_scan(raw: &str) -> String {
    let raw = raw.trim();
    raw.strip_prefix(QR_PREFIX)
        .map_or(raw, |r| r.split(':').next().unwrap_or(r))
        .to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_reads_back_as_its_code_and_a_typed_code_as_itself() {
        assert_eq!(code_from_scan(&qr_payload("K7QF3M", "00ab12")), "K7QF3M");
        assert_eq!(code_from_scan(" k7qf3m "), "K7QF3M");
        assert_eq!(code_from_scan("WUJING:"), "");
        assert_eq!(code_from_scan(""), "");
    }
}
