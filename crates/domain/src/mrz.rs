//! Machine-readable zones (MRZ) of travel documents: ICAO Doc 9303 TD1, TD2, TD3 and the
//! machine-readable visas MRV-A and MRV-B, and China's non-ICAO `CS` (往来港澳通行证) and `CD`
//! (往来台湾通行证) cards (RULES.md §10).
//!
//! The layouts are tables of fields (line, columns, character type) and of check digits (the
//! columns each one covers), so one reader serves every format and the OCR repair knows which
//! columns may only hold digits or only letters. The `mrz` crate (RULES.md §12, pinned to 0.9.x)
//! supplies the 7-3-1 check digit (Doc 9303 Part 3 §4.9) and the ICAO code table of states and
//! organisations (Part 3 §5, with `D`, `XXA`…`XXX`, `UNO`/`UNA`/`UNK` and the specimen `UTO`);
//! its own readers are not used, because their two-digit years pivot on a constant compiled into
//! the crate where we decide by role against the date the caller passes, and because they parse a
//! `CS` card as a TD1 whose every check fails. Nothing here reads a clock or logs: an MRZ is
//! personal data.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

/// The document formats read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// ICAO 9303 Part 5: identity cards, 3 lines of 30.
    Td1,
    /// ICAO 9303 Part 6: 2 lines of 36.
    Td2,
    /// ICAO 9303 Part 4: passport books, 2 lines of 44.
    Td3,
    /// ICAO 9303 Part 7: visa, full size, 2 lines of 44.
    MrvA,
    /// ICAO 9303 Part 7: visa, small size, 2 lines of 36.
    MrvB,
    /// 往来港澳通行证 card (GA/T 704.16, 3 lines of 30, not ICAO).
    Cs,
    /// 往来台湾通行证 card (GA/T 704.16, 3 lines of 30, not ICAO).
    Cd,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Td1 => "td1",
            Format::Td2 => "td2",
            Format::Td3 => "td3",
            Format::MrvA => "mrv_a",
            Format::MrvB => "mrv_b",
            Format::Cs => "cs",
            Format::Cd => "cd",
        }
    }
}

/// Why lines are not an MRZ at all (as opposed to an MRZ whose checks fail, which is read and
/// answered with `valid: false`). Lines are numbered from 1 and positions from 0, as in the
/// layout tables of RULES.md §10.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MrzError {
    /// Not two or three lines, or a count that does not fit the line length (a TD1 has three
    /// lines of 30; the 36- and 44-character formats have two).
    LineCount { got: usize },
    /// A line that is not 30, 36 or 44 characters long, or not as long as the first line.
    LineLength { line: usize, got: usize },
    /// A character outside `A`–`Z`, `0`–`9` and `<`.
    Characters { line: usize, position: usize },
    /// Well-formed lines whose document code names no format read here.
    FormatUnknown,
}

/// A field of the zone, as named in the answer's `repairs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    DocumentCode,
    IssuingState,
    DocumentNumber,
    DocumentNumberCheck,
    Nationality,
    BirthDate,
    BirthDateCheck,
    Sex,
    ExpiryDate,
    ExpiryDateCheck,
    OptionalData,
    OptionalDataCheck,
    Composite,
    Name,
    /// The CS/CD card's name in GBK letters (each nibble as `A`–`P`).
    NativeName,
    /// Filler and fields not interpreted (the CS/CD card's third line).
    Other,
}

/// The holder's sex as printed: `M`, `F`, or `X` (also for `<`, unspecified).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Sex {
    #[serde(rename = "M")]
    Male,
    #[serde(rename = "F")]
    Female,
    #[serde(rename = "X")]
    Unspecified,
}

/// Each check of the zone: `Some(true)` passed, `Some(false)` failed, `None` not applicable to
/// the format or not checkable (the CS/CD composite, whose algorithm is unknown; a date with
/// unknown parts printed as `<`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Checks {
    pub document_number: Option<bool>,
    pub birth_date: Option<bool>,
    pub expiry_date: Option<bool>,
    /// TD3's personal number (the optional data of line 2) has its own check digit.
    pub optional_data: Option<bool>,
    pub composite: Option<bool>,
    /// Both dates are calendar dates.
    pub dates: Option<bool>,
}

impl Checks {
    /// Every enforced check passes: none is false. The CS/CD composite is always `None`, so it
    /// is reported and never enforced (RULES.md §10, §13 item 1).
    pub fn all_pass(&self) -> bool {
        [
            self.document_number,
            self.birth_date,
            self.expiry_date,
            self.optional_data,
            self.composite,
            self.dates,
        ]
        .iter()
        .all(|c| *c != Some(false))
    }
}

/// One OCR confusion put right: in `field`, at `line` (from 1) and `position` (from 0),
/// `from` was read and `to` is meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Repair {
    pub field: Field,
    pub line: usize,
    pub position: usize,
    pub from: char,
    pub to: char,
}

/// A read zone. `valid` is whether every enforced check passes; the fields are given either
/// way, so that a form can be pre-filled from a zone that the holder then corrects.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Mrz {
    pub format: Format,
    pub valid: bool,
    pub checks: Checks,
    pub repairs: Vec<Repair>,
    /// `P`, `I`, `V`, `CS`… without filler.
    pub document_code: String,
    /// The ICAO code without filler (`D` for Germany's `D<<`); `CHN` for CS/CD cards.
    pub issuing_state: String,
    /// The whole number, with the part continued in the optional data of a TD1 or TD2 whose
    /// number is longer than nine characters (Doc 9303 Parts 5 and 6: the note on document numbers over nine characters).
    pub document_number: String,
    pub nationality: String,
    pub birth_date: Option<NaiveDate>,
    pub expiry_date: Option<NaiveDate>,
    pub sex: Option<Sex>,
    /// The primary identifier (before `<<`), `<` read as a space.
    pub surname: String,
    /// The secondary identifier (after `<<`), `<` read as a space.
    pub given_names: String,
    /// The optional data without filler; a TD1's two parts are joined by a space.
    pub optional_data: String,
}

// A zone is personal data: `{:?}` shows the format and the checks, the document number masked,
// and neither names nor dates.
impl std::fmt::Debug for Mrz {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mrz")
            .field("format", &self.format)
            .field("valid", &self.valid)
            .field("checks", &self.checks)
            .field("repairs", &self.repairs.len())
            .field("document_code", &self.document_code)
            .field(
                "document_number",
                &crate::idnum::mask_id_number(&self.document_number),
            )
            .finish_non_exhaustive()
    }
}

/// The character value of Doc 9303 Part 3 §4.9: `0`–`9` → 0–9, `A`–`Z` → 10–35, `<` → 0.
/// The check digit is the sum of values weighted 7, 3, 1 from the left, mod 10.
pub fn check_digit(field: &str) -> Option<u32> {
    mrz::check_digit(field).ok()
}

/// The English name of an ICAO state or organisation code (Part 3 §5), filler ignored: `D<<`
/// and `D` are Germany. ICAO-only codes (`XXA`, `UNO`, `UTO`…) are data here, not errors.
pub fn country_name(code: &str) -> Option<&'static str> {
    mrz::country_name(code.trim_end_matches('<'))
}

/// The OCR confusions repaired (RULES.md §10; issue 14 §1): each pair is a digit and the
/// letter it is misread as or for. Only in fields whose type decides which one is meant.
const CONFUSIONS: [(u8, u8); 5] = [
    (b'0', b'O'),
    (b'1', b'I'),
    (b'8', b'B'),
    (b'5', b'S'),
    (b'2', b'Z'),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Digits only (dates, check digits): a confusable letter is a misread digit.
    Digits,
    /// Letters and filler only (codes, names): a confusable digit is a misread letter.
    Alpha,
    /// Letters and digits both possible (document numbers, optional data): never repaired.
    Any,
}

#[derive(Debug, Clone, Copy)]
struct Spec {
    field: Field,
    line: usize,
    start: usize,
    end: usize,
    kind: Kind,
}

const fn f(field: Field, line: usize, start: usize, end: usize, kind: Kind) -> Spec {
    Spec {
        field,
        line,
        start,
        end,
        kind,
    }
}

/// A check digit at `digit` (line, column) over the concatenation of the spans in `over`.
#[derive(Debug, Clone, Copy)]
struct CheckSpec {
    check: CheckName,
    over: &'static [(usize, usize, usize)],
    digit: (usize, usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CheckName {
    DocumentNumber,
    BirthDate,
    ExpiryDate,
    OptionalData,
    Composite,
}

struct Layout {
    format: Format,
    fields: &'static [Spec],
    checks: &'static [CheckSpec],
}

use Field as F;
use Kind::{Alpha as A, Any as N, Digits as D};

const fn c(
    check: CheckName,
    over: &'static [(usize, usize, usize)],
    digit: (usize, usize),
) -> CheckSpec {
    CheckSpec { check, over, digit }
}

// The sex is never repaired: no check digit covers it and no digit stands for M, F or X.

/// TD3, Part 4 §4.2.2: the composite covers `L2[0..10] + L2[13..20] + L2[21..43]`.
static TD3: Layout = Layout {
    format: Format::Td3,
    fields: &[
        f(F::DocumentCode, 0, 0, 2, A),
        f(F::IssuingState, 0, 2, 5, A),
        f(F::Name, 0, 5, 44, A),
        f(F::DocumentNumber, 1, 0, 9, N),
        f(F::DocumentNumberCheck, 1, 9, 10, D),
        f(F::Nationality, 1, 10, 13, A),
        f(F::BirthDate, 1, 13, 19, D),
        f(F::BirthDateCheck, 1, 19, 20, D),
        f(F::Sex, 1, 20, 21, N),
        f(F::ExpiryDate, 1, 21, 27, D),
        f(F::ExpiryDateCheck, 1, 27, 28, D),
        f(F::OptionalData, 1, 28, 42, N),
        f(F::OptionalDataCheck, 1, 42, 43, D),
        f(F::Composite, 1, 43, 44, D),
    ],
    checks: &[
        c(CheckName::DocumentNumber, &[(1, 0, 9)], (1, 9)),
        c(CheckName::BirthDate, &[(1, 13, 19)], (1, 19)),
        c(CheckName::ExpiryDate, &[(1, 21, 27)], (1, 27)),
        c(CheckName::OptionalData, &[(1, 28, 42)], (1, 42)),
        c(
            CheckName::Composite,
            &[(1, 0, 10), (1, 13, 20), (1, 21, 43)],
            (1, 43),
        ),
    ],
};

/// MRV-A, Part 7 §4.2.2: line 2 as TD3's, the optional data to its end and no composite.
static MRV_A: Layout = Layout {
    format: Format::MrvA,
    fields: &[
        f(F::DocumentCode, 0, 0, 2, A),
        f(F::IssuingState, 0, 2, 5, A),
        f(F::Name, 0, 5, 44, A),
        f(F::DocumentNumber, 1, 0, 9, N),
        f(F::DocumentNumberCheck, 1, 9, 10, D),
        f(F::Nationality, 1, 10, 13, A),
        f(F::BirthDate, 1, 13, 19, D),
        f(F::BirthDateCheck, 1, 19, 20, D),
        f(F::Sex, 1, 20, 21, N),
        f(F::ExpiryDate, 1, 21, 27, D),
        f(F::ExpiryDateCheck, 1, 27, 28, D),
        f(F::OptionalData, 1, 28, 44, N),
    ],
    checks: &[
        c(CheckName::DocumentNumber, &[(1, 0, 9)], (1, 9)),
        c(CheckName::BirthDate, &[(1, 13, 19)], (1, 19)),
        c(CheckName::ExpiryDate, &[(1, 21, 27)], (1, 27)),
    ],
};

/// TD2, Part 6 §4.2.2: the composite covers `L2[0..10] + L2[13..20] + L2[21..35]`.
static TD2: Layout = Layout {
    format: Format::Td2,
    fields: &[
        f(F::DocumentCode, 0, 0, 2, A),
        f(F::IssuingState, 0, 2, 5, A),
        f(F::Name, 0, 5, 36, A),
        f(F::DocumentNumber, 1, 0, 9, N),
        f(F::DocumentNumberCheck, 1, 9, 10, D),
        f(F::Nationality, 1, 10, 13, A),
        f(F::BirthDate, 1, 13, 19, D),
        f(F::BirthDateCheck, 1, 19, 20, D),
        f(F::Sex, 1, 20, 21, N),
        f(F::ExpiryDate, 1, 21, 27, D),
        f(F::ExpiryDateCheck, 1, 27, 28, D),
        f(F::OptionalData, 1, 28, 35, N),
        f(F::Composite, 1, 35, 36, D),
    ],
    checks: &[
        c(CheckName::DocumentNumber, &[(1, 0, 9)], (1, 9)),
        c(CheckName::BirthDate, &[(1, 13, 19)], (1, 19)),
        c(CheckName::ExpiryDate, &[(1, 21, 27)], (1, 27)),
        c(
            CheckName::Composite,
            &[(1, 0, 10), (1, 13, 20), (1, 21, 35)],
            (1, 35),
        ),
    ],
};

/// MRV-B, Part 7 §4.2.2: line 2 as TD2's, the optional data to its end and no composite.
static MRV_B: Layout = Layout {
    format: Format::MrvB,
    fields: &[
        f(F::DocumentCode, 0, 0, 2, A),
        f(F::IssuingState, 0, 2, 5, A),
        f(F::Name, 0, 5, 36, A),
        f(F::DocumentNumber, 1, 0, 9, N),
        f(F::DocumentNumberCheck, 1, 9, 10, D),
        f(F::Nationality, 1, 10, 13, A),
        f(F::BirthDate, 1, 13, 19, D),
        f(F::BirthDateCheck, 1, 19, 20, D),
        f(F::Sex, 1, 20, 21, N),
        f(F::ExpiryDate, 1, 21, 27, D),
        f(F::ExpiryDateCheck, 1, 27, 28, D),
        f(F::OptionalData, 1, 28, 36, N),
    ],
    checks: &[
        c(CheckName::DocumentNumber, &[(1, 0, 9)], (1, 9)),
        c(CheckName::BirthDate, &[(1, 13, 19)], (1, 19)),
        c(CheckName::ExpiryDate, &[(1, 21, 27)], (1, 27)),
    ],
};

/// TD1, Part 5 §4.2.2: the composite covers `L1[5..30] + L2[0..7] + L2[8..15] + L2[18..29]`.
static TD1: Layout = Layout {
    format: Format::Td1,
    fields: &[
        f(F::DocumentCode, 0, 0, 2, A),
        f(F::IssuingState, 0, 2, 5, A),
        f(F::DocumentNumber, 0, 5, 14, N),
        f(F::DocumentNumberCheck, 0, 14, 15, D),
        f(F::OptionalData, 0, 15, 30, N),
        f(F::BirthDate, 1, 0, 6, D),
        f(F::BirthDateCheck, 1, 6, 7, D),
        f(F::Sex, 1, 7, 8, N),
        f(F::ExpiryDate, 1, 8, 14, D),
        f(F::ExpiryDateCheck, 1, 14, 15, D),
        f(F::Nationality, 1, 15, 18, A),
        f(F::OptionalData, 1, 18, 29, N),
        f(F::Composite, 1, 29, 30, D),
        f(F::Name, 2, 0, 30, A),
    ],
    checks: &[
        c(CheckName::DocumentNumber, &[(0, 5, 14)], (0, 14)),
        c(CheckName::BirthDate, &[(1, 0, 6)], (1, 6)),
        c(CheckName::ExpiryDate, &[(1, 8, 14)], (1, 14)),
        c(
            CheckName::Composite,
            &[(0, 5, 30), (1, 0, 7), (1, 8, 15), (1, 18, 29)],
            (1, 29),
        ),
    ],
};

/// CS/CD card line 1 as implemented by third-party readers (RULES.md §10): code, card number
/// and check, expiry and check, birth date and check, then an overall digit whose algorithm is
/// unknown (GA/T 704.16 not obtained): read, reported as unknown, never enforced. Line 2 holds
/// the name in GBK letters, then the pinyin name; line 3 is not interpreted (the readers
/// disagree on it).
const CN_FIELDS: [Spec; 13] = [
    f(F::DocumentCode, 0, 0, 2, A),
    f(F::DocumentNumber, 0, 2, 11, N),
    f(F::DocumentNumberCheck, 0, 11, 12, D),
    f(F::Other, 0, 12, 13, N),
    f(F::ExpiryDate, 0, 13, 19, D),
    f(F::ExpiryDateCheck, 0, 19, 20, D),
    f(F::Other, 0, 20, 21, N),
    f(F::BirthDate, 0, 21, 27, D),
    f(F::BirthDateCheck, 0, 27, 28, D),
    f(F::Other, 0, 28, 29, N),
    // Not repaired: nothing would confirm a repair of a digit whose rule is unknown.
    f(F::Composite, 0, 29, 30, N),
    // GBK nibbles are `A`–`P`: `S` and `Z` are not among them, so the type decides nothing.
    f(F::NativeName, 1, 0, 12, N),
    f(F::Name, 1, 12, 30, A),
];

const CN_CHECKS: [CheckSpec; 3] = [
    c(CheckName::DocumentNumber, &[(0, 2, 11)], (0, 11)),
    c(CheckName::ExpiryDate, &[(0, 13, 19)], (0, 19)),
    c(CheckName::BirthDate, &[(0, 21, 27)], (0, 27)),
];

static CS: Layout = Layout {
    format: Format::Cs,
    fields: &CN_FIELDS,
    checks: &CN_CHECKS,
};

static CD: Layout = Layout {
    format: Format::Cd,
    fields: &CN_FIELDS,
    checks: &CN_CHECKS,
};

/// Reads a zone as OCR or a person gave it: each line trimmed and upper-cased; `today` decides
/// the centuries of the two-digit years (a birth date is never after it; an expiry date lies
/// within 50 years either side). Confusable characters are repaired where the field's type
/// decides them and only if the repaired zone then passes every enforced check; otherwise the
/// zone is read as given and `repairs` is empty.
pub fn read<S: AsRef<str>>(lines: &[S], today: NaiveDate) -> Result<Mrz, MrzError> {
    let lines = normalise(lines)?;
    let layout = detect(&lines)?;
    let raw = parse(&lines, layout, today);
    let (fixed, repairs) = repair(&lines, layout);
    if !repairs.is_empty() {
        let repaired = parse(&fixed, layout, today);
        if repaired.valid {
            return Ok(Mrz {
                repairs,
                ..repaired
            });
        }
    }
    Ok(raw)
}

fn normalise<S: AsRef<str>>(lines: &[S]) -> Result<Vec<Vec<u8>>, MrzError> {
    if !(2..=3).contains(&lines.len()) {
        return Err(MrzError::LineCount { got: lines.len() });
    }
    let lines: Vec<String> = lines
        .iter()
        .map(|l| l.as_ref().trim().to_ascii_uppercase())
        .collect();
    let width = lines[0].chars().count();
    if ![30, 36, 44].contains(&width) {
        return Err(MrzError::LineLength {
            line: 1,
            got: width,
        });
    }
    for (i, l) in lines.iter().enumerate().skip(1) {
        let got = l.chars().count();
        if got != width {
            return Err(MrzError::LineLength { line: i + 1, got });
        }
    }
    if (width == 30) != (lines.len() == 3) {
        return Err(MrzError::LineCount { got: lines.len() });
    }
    for (i, l) in lines.iter().enumerate() {
        if let Some(position) = l
            .chars()
            .position(|c| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '<'))
        {
            return Err(MrzError::Characters {
                line: i + 1,
                position,
            });
        }
    }
    Ok(lines.into_iter().map(String::into_bytes).collect())
}

fn as_letter(c: u8) -> u8 {
    CONFUSIONS
        .iter()
        .find(|(d, _)| *d == c)
        .map_or(c, |(_, l)| *l)
}

fn as_digit(c: u8) -> u8 {
    CONFUSIONS
        .iter()
        .find(|(_, l)| *l == c)
        .map_or(c, |(d, _)| *d)
}

fn detect(lines: &[Vec<u8>]) -> Result<&'static Layout, MrzError> {
    // The document code is a letter field: a confusable digit in it is read as its letter.
    let code = [as_letter(lines[0][0]), as_letter(lines[0][1])];
    match (lines[0].len(), code[0]) {
        (44, b'P') => Ok(&TD3),
        (44, b'V') => Ok(&MRV_A),
        (36, b'V') => Ok(&MRV_B),
        (36, b'I' | b'A' | b'C') => Ok(&TD2),
        (30, _) if &code == b"CS" && !td1_line2(&lines[1]) => Ok(&CS),
        (30, _) if &code == b"CD" && !td1_line2(&lines[1]) => Ok(&CD),
        (30, b'I' | b'A' | b'C') => Ok(&TD1),
        _ => Err(MrzError::FormatUnknown),
    }
}

/// A TD1's second line opens with a birth date, its check digit and a sex; a CS/CD card's
/// with the GBK letters of a name. ICAO allows a TD1 coded `CS`, so the line decides.
fn td1_line2(l: &[u8]) -> bool {
    l[..7]
        .iter()
        .all(|c| as_digit(*c).is_ascii_digit() || *c == b'<')
        && matches!(l[7], b'M' | b'F' | b'X' | b'<')
}

/// The repairs that the field types decide, applied to a copy of the lines.
fn repair(lines: &[Vec<u8>], layout: &Layout) -> (Vec<Vec<u8>>, Vec<Repair>) {
    let mut fixed = lines.to_vec();
    let mut repairs = Vec::new();
    for spec in layout.fields {
        let mut mine = Vec::new();
        let line = &lines[spec.line];
        for (pos, &from) in line.iter().enumerate().take(spec.end).skip(spec.start) {
            let to = match spec.kind {
                Kind::Digits => as_digit(from),
                Kind::Alpha => as_letter(from),
                Kind::Any => from,
            };
            if to != from {
                mine.push(Repair {
                    field: spec.field,
                    line: spec.line + 1,
                    position: pos,
                    from: char::from(from),
                    to: char::from(to),
                });
            }
        }
        if mine.is_empty() {
            continue;
        }
        let mut candidate = fixed[spec.line].clone();
        for r in &mine {
            candidate[r.position] = r.to as u8;
        }
        // No check digit covers a country code: a repaired one must at least be a real code.
        if matches!(spec.field, F::IssuingState | F::Nationality) {
            let code = String::from_utf8_lossy(&candidate[spec.start..spec.end]).into_owned();
            if country_name(&code).is_none() {
                continue;
            }
        }
        fixed[spec.line] = candidate;
        repairs.extend(mine);
    }
    (fixed, repairs)
}

fn span(lines: &[Vec<u8>], line: usize, start: usize, end: usize) -> &str {
    // Lines hold ASCII only (checked in `normalise`).
    std::str::from_utf8(&lines[line][start..end]).unwrap_or("")
}

fn field<'a>(lines: &'a [Vec<u8>], layout: &Layout, which: Field) -> &'a str {
    layout
        .fields
        .iter()
        .find(|s| s.field == which)
        .map_or("", |s| span(lines, s.line, s.start, s.end))
}

/// The check digit `digit` over `data`. Filler in a check digit's place is accepted only over
/// a field that is all filler (an unused TD3 personal number, Part 4 §4.2.2.2): `<` and
/// `0` have the same value, so accepting it elsewhere would let a misread `0` pass.
fn verify(data: &str, digit: u8) -> bool {
    if digit == b'<' {
        return data.bytes().all(|c| c == b'<');
    }
    mrz::verify(data, char::from(digit))
}

fn parse(lines: &[Vec<u8>], layout: &'static Layout, today: NaiveDate) -> Mrz {
    let mut checks = Checks::default();
    for c in layout.checks {
        let data: String = c
            .over
            .iter()
            .map(|(l, s, e)| span(lines, *l, *s, *e))
            .collect();
        let ok = Some(verify(&data, lines[c.digit.0][c.digit.1]));
        match c.check {
            CheckName::DocumentNumber => checks.document_number = ok,
            CheckName::BirthDate => checks.birth_date = ok,
            CheckName::ExpiryDate => checks.expiry_date = ok,
            CheckName::OptionalData => checks.optional_data = ok,
            CheckName::Composite => checks.composite = ok,
        }
    }
    let mut optional: Vec<String> = layout
        .fields
        .iter()
        .filter(|s| s.field == F::OptionalData)
        .map(|s| span(lines, s.line, s.start, s.end).to_string())
        .collect();
    let mut number = field(lines, layout, F::DocumentNumber)
        .trim_end_matches('<')
        .to_string();
    // A number longer than nine characters (TD1 and TD2 only): `<` in the check digit's place,
    // the rest of the number and its check digit open the optional data (Doc 9303 Parts 5 and 6,
    // the note on long document numbers); the check covers the whole number.
    if matches!(layout.format, Format::Td1 | Format::Td2)
        && field(lines, layout, F::DocumentNumberCheck) == "<"
        && !field(lines, layout, F::DocumentNumber).contains('<')
    {
        if let Some(first) = optional.first_mut() {
            let rest: String = first.chars().take_while(|c| *c != '<').collect();
            if !rest.is_empty() {
                let full = format!(
                    "{}{}",
                    field(lines, layout, F::DocumentNumber),
                    &rest[..rest.len() - 1]
                );
                checks.document_number = Some(
                    rest.len() >= 2 && verify(&full, *rest.as_bytes().last().unwrap_or(&b'<')),
                );
                number = full;
                *first = first[rest.len()..].to_string();
            }
        }
    }
    let birth = date(field(lines, layout, F::BirthDate), Role::Birth, today);
    let expiry = date(field(lines, layout, F::ExpiryDate), Role::Expiry, today);
    checks.dates = match (birth, expiry) {
        (Date::Invalid, _) | (_, Date::Invalid) => Some(false),
        (Date::Unknown, _) | (_, Date::Unknown) => None,
        _ => Some(true),
    };
    let (surname, given_names) = split_name(field(lines, layout, F::Name));
    let (issuing_state, nationality, sex) = match layout.format {
        // The cards are issued by the Mainland to Chinese citizens; the sex is on line 3, which
        // is not interpreted.
        Format::Cs | Format::Cd => ("CHN".to_string(), "CHN".to_string(), None),
        _ => (
            field(lines, layout, F::IssuingState)
                .trim_end_matches('<')
                .to_string(),
            field(lines, layout, F::Nationality)
                .trim_end_matches('<')
                .to_string(),
            match field(lines, layout, F::Sex) {
                "M" => Some(Sex::Male),
                "F" => Some(Sex::Female),
                "X" | "<" => Some(Sex::Unspecified),
                _ => None,
            },
        ),
    };
    Mrz {
        format: layout.format,
        valid: checks.all_pass(),
        checks,
        repairs: Vec::new(),
        document_code: field(lines, layout, F::DocumentCode)
            .trim_end_matches('<')
            .to_string(),
        issuing_state,
        document_number: number,
        nationality,
        birth_date: birth.value(),
        expiry_date: expiry.value(),
        sex,
        surname,
        given_names,
        optional_data: optional
            .iter()
            .map(|o| o.trim_matches('<'))
            .filter(|o| !o.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// Splits a name field into its primary identifier (before the first `<<`) and secondary
/// identifier, reading each remaining `<` as a space (Part 3 §4.6).
pub fn split_name(field: &str) -> (String, String) {
    let field = field.trim_end_matches('<');
    let (primary, secondary) = field.split_once("<<").unwrap_or((field, ""));
    let words = |s: &str| {
        s.split('<')
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    };
    (words(primary), words(secondary))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Birth,
    Expiry,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Date {
    Valid(NaiveDate),
    /// Parts printed as `<` (unknown; Part 3 §4.8 allows it for birth dates).
    Unknown,
    Invalid,
}

impl Date {
    fn value(self) -> Option<NaiveDate> {
        match self {
            Date::Valid(d) => Some(d),
            _ => None,
        }
    }
}

/// The two-digit year's century by role (RULES.md §10): a birth date is the latest one not
/// after `today`; an expiry date lies between 50 years before and 49 years after `today`'s
/// year, so a ten-year passport issued this year and a long-expired visa both read right.
fn date(yymmdd: &str, role: Role, today: NaiveDate) -> Date {
    let b = yymmdd.as_bytes();
    if b.len() != 6 || !b.iter().all(|c| c.is_ascii_digit() || *c == b'<') {
        return Date::Invalid;
    }
    if b.contains(&b'<') {
        // Only a birth date may be partly unknown, and then by whole parts: `<<` for the day
        // or the month or the year (Part 3 §4.8). A single `<` is a misread digit.
        let whole = b
            .chunks(2)
            .all(|p| p == b"<<" || p.iter().all(u8::is_ascii_digit));
        return if role == Role::Birth && whole {
            Date::Unknown
        } else {
            Date::Invalid
        };
    }
    let n = |i: usize| u32::from(b[i] - b'0') * 10 + u32::from(b[i + 1] - b'0');
    let (yy, month, day) = (n(0) as i32, n(2), n(4));
    let year = match role {
        Role::Birth => {
            if (2000 + yy, month, day) <= (today.year(), today.month(), today.day()) {
                2000 + yy
            } else {
                1900 + yy
            }
        }
        Role::Expiry => {
            let mut y = today.year() - today.year().rem_euclid(100) + yy;
            if y > today.year() + 49 {
                y -= 100;
            } else if y < today.year() - 50 {
                y += 100;
            }
            y
        }
    };
    NaiveDate::from_ymd_opt(year, month, day).map_or(Date::Invalid, Date::Valid)
}

#[cfg(test)]
mod tests;
