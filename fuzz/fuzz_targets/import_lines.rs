//! A registry import file (docs/IMPORT.md: JSON lines of persons or documents): never a panic;
//! a file is either read whole or refused with every bad line named by a number inside it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wujing_app::import::{parse_documents, parse_persons};

fuzz_target!(|s: &str| {
    let lines = s.lines().count();
    for errors in [parse_persons(s).err(), parse_documents(s).err()]
        .into_iter()
        .flatten()
    {
        assert!(!errors.is_empty());
        for e in errors {
            assert!(e.line >= 1 && e.line <= lines, "line {} of {lines}", e.line);
        }
    }
});
