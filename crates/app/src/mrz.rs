//! Reading a travel document's machine-readable zone for anyone (issue 14 §1): the rules are
//! `wujing_domain::mrz`; here the request is counted per client address like the eligibility
//! pre-check, and the answer is shaped for the API.
//!
//! An MRZ is personal data (name, document number, birth date): nothing of it is logged or
//! stored. The counter keys on a keyed hash of the client address only.

use crate::{App, AppError, AppResult, Code};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use wujing_domain::mrz::{self, MrzError};

#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MrzInput {
    /// The zone's two or three lines as read; each is trimmed and upper-cased.
    #[schema(example = json!(["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"]))]
    pub lines: Vec<String>,
}

/// Each check: true passed, false failed, null not part of the format or not checkable.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MrzChecksView {
    pub document_number: Option<bool>,
    pub birth_date: Option<bool>,
    pub expiry_date: Option<bool>,
    /// TD3 only: the personal number's check digit.
    pub optional_data: Option<bool>,
    /// TD1, TD2, TD3; always null on CS/CD cards, whose composite algorithm is unknown and
    /// therefore not enforced.
    pub composite: Option<bool>,
    /// Both dates are calendar dates (null when a birth date has unknown parts, `<<`).
    pub dates: Option<bool>,
}

/// An OCR confusion put right (`0`/`O`, `1`/`I`, `8`/`B`, `5`/`S`, `2`/`Z`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MrzRepairView {
    /// The field: `birth_date`, `expiry_date`, `document_number_check`, `name`, `nationality`…
    pub field: String,
    /// The line, from 1.
    pub line: usize,
    /// The position in the line, from 0 (as in ICAO Doc 9303's layout tables).
    pub position: usize,
    pub from: String,
    pub to: String,
}

/// A read zone. `valid` is whether every enforced check passed; the fields are given either
/// way so that a form can be pre-filled and corrected.
// No `Debug`: a read zone is personal data and must not reach a log through `{:?}`.
#[derive(Clone, Serialize, ToSchema)]
pub struct MrzView {
    /// `td1`, `td2`, `td3`, `mrv_a`, `mrv_b`, `cs` or `cd`.
    pub format: String,
    pub valid: bool,
    pub checks: MrzChecksView,
    pub repairs: Vec<MrzRepairView>,
    pub document_code: String,
    /// ICAO code without filler (`D` for Germany); `CHN` for CS/CD cards.
    pub issuing_state: String,
    pub document_number: String,
    pub nationality: String,
    /// ISO date; null when not a calendar date or partly unknown.
    pub birth_date: Option<chrono::NaiveDate>,
    pub expiry_date: Option<chrono::NaiveDate>,
    /// `M`, `F` or `X`; null on CS/CD cards (their third line is not interpreted).
    pub sex: Option<String>,
    pub surname: String,
    pub given_names: String,
    pub optional_data: String,
}

impl From<mrz::Mrz> for MrzView {
    fn from(m: mrz::Mrz) -> Self {
        Self {
            format: m.format.as_str().into(),
            valid: m.valid,
            checks: MrzChecksView {
                document_number: m.checks.document_number,
                birth_date: m.checks.birth_date,
                expiry_date: m.checks.expiry_date,
                optional_data: m.checks.optional_data,
                composite: m.checks.composite,
                dates: m.checks.dates,
            },
            repairs: m
                .repairs
                .iter()
                .map(|r| MrzRepairView {
                    field: serde_name(&r.field),
                    line: r.line,
                    position: r.position,
                    from: r.from.to_string(),
                    to: r.to.to_string(),
                })
                .collect(),
            document_code: m.document_code,
            issuing_state: m.issuing_state,
            document_number: m.document_number,
            nationality: m.nationality,
            birth_date: m.birth_date,
            expiry_date: m.expiry_date,
            sex: m.sex.map(|s| serde_name(&s)),
            surname: m.surname,
            given_names: m.given_names,
            optional_data: m.optional_data,
        }
    }
}

/// The serde name of a domain enum: the domain names its fields and sexes, the API repeats
/// those names.
fn serde_name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

pub(crate) fn refusal(e: MrzError) -> AppError {
    match e {
        MrzError::LineCount { got } => {
            AppError::from(Code::MrzLineCount).with_details(json!({ "lines": got }))
        }
        MrzError::LineLength { line, got } => AppError::new(
            Code::MrzLineLength,
            format!("机读区第{line}行有{got}个字符：每行应为30、36或44个字符，且各行等长"),
            format!("line {line} of the zone has {got} characters; each line has 30, 36 or 44, all lines alike"),
        )
        .with_details(json!({ "line": line, "length": got })),
        MrzError::Characters { line, position } => AppError::new(
            Code::MrzCharacters,
            format!("机读区第{line}行第{}个字符不是大写字母、数字或填充符<", position + 1),
            format!(
                "character {} of line {line} is not a capital letter, a digit or the filler <",
                position + 1
            ),
        )
        .with_details(json!({ "line": line, "position": position })),
        MrzError::FormatUnknown => AppError::from(Code::MrzFormatUnknown),
    }
}

impl App {
    /// Reads a machine-readable zone (`POST /api/v1/mrz`). Counted per client address under
    /// the eligibility pre-check's per-address limit (its own bucket), before anything is read,
    /// so that refused lines count too.
    pub async fn read_mrz(
        &self,
        input: &MrzInput,
        client_addr: Option<&str>,
    ) -> AppResult<MrzView> {
        self.store
            .count_requests(
                &self.limit_rules(&[(
                    "mrz-addr",
                    client_addr,
                    self.config.limits.checks_per_address,
                )]),
                self.clock.now(),
            )
            .await?;
        mrz::read(&input.lines, self.clock.today())
            .map(MrzView::from)
            .map_err(refusal)
    }
}
