//! Free text (names, addresses, notes, export cells): never a panic; what is forbidden
//! anywhere is forbidden in a single line too; a spreadsheet cell never starts a formula.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wujing_domain::text;

fuzz_target!(|s: &str| {
    let line = text::forbidden_in_line(s);
    let any = text::forbidden_char(s);
    assert!(any.is_none() || line.is_some());
    let cell = text::csv_cell(s);
    assert!(!cell.starts_with(['=', '+', '-', '@']));
});
