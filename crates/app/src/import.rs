//! Importing registry records (population register, document register) from JSON lines.
//!
//! The format is documented in docs/IMPORT.md: one JSON object per line, blank lines and lines
//! starting with `#` ignored. A file is validated completely before anything is written, and
//! every bad line is reported with its number, so that an operator fixes the file in one pass
//! and a bad file changes nothing.

use crate::{App, AppResult};
use chrono::Utc;
use serde::de::DeserializeOwned;
use wujing_domain::{DocumentRecord, PersonRecord, ResidentId};

/// A line that could not be imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

fn parse_lines<T: DeserializeOwned>(
    text: &str,
    check: impl Fn(&T) -> Result<(), String>,
) -> Result<Vec<T>, Vec<LineError>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match serde_json::from_str::<T>(line)
            .map_err(|e| e.to_string())
            .and_then(|v| check(&v).map(|_| v))
        {
            Ok(v) => out.push(v),
            Err(message) => errors.push(LineError {
                line: i + 1,
                message,
            }),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn check_id(id: &str) -> Result<(), String> {
    ResidentId::parse(id, Utc::now().date_naive())
        .map(|_| ())
        .map_err(|e| format!("id_number: {}", e.message_en()))
}

pub fn parse_persons(text: &str) -> Result<Vec<PersonRecord>, Vec<LineError>> {
    parse_lines(text, |p: &PersonRecord| {
        check_id(&p.id_number)?;
        if p.name.trim().is_empty() || p.hukou_city.trim().is_empty() {
            return Err("name and hukou_city must not be empty".into());
        }
        Ok(())
    })
}

pub fn parse_documents(text: &str) -> Result<Vec<DocumentRecord>, Vec<LineError>> {
    parse_lines(text, |d: &DocumentRecord| {
        check_id(&d.id_number)?;
        if d.number.trim().is_empty() {
            return Err("number must not be empty".into());
        }
        if d.expires_on < d.issued_on {
            return Err("expires_on is before issued_on".into());
        }
        Ok(())
    })
}

/// HK/Macao endorsements on record (one per line, `EndorsementRecord`): the history the
/// 办证易 re-issue rules read (a first endorsement goes to a counter, RULES.md §6).
pub fn parse_endorsements(
    text: &str,
) -> Result<Vec<wujing_domain::reissue::EndorsementRecord>, Vec<LineError>> {
    parse_lines(text, |e: &wujing_domain::reissue::EndorsementRecord| {
        check_id(&e.id_number)?;
        if e.permit_number.trim().is_empty() || e.option.trim().is_empty() {
            return Err("permit_number and option must not be empty".into());
        }
        if !["T", "S", "L", "G", "Q", "D"].contains(&e.kind.as_str()) {
            return Err("kind must be one of T, S, L, G, Q, D".into());
        }
        if e.valid_until < e.issued_on {
            return Err("valid_until is before issued_on".into());
        }
        Ok(())
    })
}

/// What an import wrote, or why it wrote nothing.
pub enum ImportOutcome {
    Imported(u64),
    Rejected(Vec<LineError>),
}

impl App {
    pub async fn import_persons(&self, text: &str) -> AppResult<ImportOutcome> {
        match parse_persons(text) {
            Ok(p) => Ok(ImportOutcome::Imported(
                self.store.upsert_persons(&p, self.clock.now()).await?,
            )),
            Err(e) => Ok(ImportOutcome::Rejected(e)),
        }
    }

    pub async fn import_endorsements(&self, text: &str) -> AppResult<ImportOutcome> {
        match parse_endorsements(text) {
            Ok(e) => Ok(ImportOutcome::Imported(
                self.store.import_endorsements(&e, self.clock.now()).await?,
            )),
            Err(e) => Ok(ImportOutcome::Rejected(e)),
        }
    }

    pub async fn import_documents(&self, text: &str) -> AppResult<ImportOutcome> {
        match parse_documents(text) {
            Ok(d) => Ok(ImportOutcome::Imported(
                self.store.upsert_documents(&d, self.clock.now()).await?,
            )),
            Err(e) => Ok(ImportOutcome::Rejected(e)),
        }
    }
}

impl App {
    /// Loads a public-holiday schedule. Seats already generated are not changed: a hall manager
    /// closes a day explicitly (a later issue); this only affects seats generated from now on.
    pub async fn import_holidays(&self, text: &str) -> AppResult<ImportOutcome> {
        match wujing_domain::calendar::parse_declared_days(text) {
            Ok(days) => {
                self.store.put_calendar_days(&days).await?;
                Ok(ImportOutcome::Imported(days.len() as u64))
            }
            Err(e) => Ok(ImportOutcome::Rejected(vec![LineError {
                line: e.line(),
                message: e.to_string(),
            }])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_records_parse() {
        assert!(parse_persons(crate::demo::PERSONS).unwrap().len() >= 10);
        assert!(parse_documents(crate::demo::DOCUMENTS).unwrap().len() >= 8);
        assert!(parse_endorsements(crate::demo::ENDORSEMENTS).unwrap().len() >= 6);
    }

    #[test]
    fn every_bad_line_is_reported_with_its_number() {
        let text = "# header\n\
            {\"id_number\":\"440106198503030116\",\"name\":\"陈晓明\",\"hukou_city\":\"广州\",\"status\":\"active\"}\n\
            \n\
            {\"id_number\":\"440106198503030117\",\"name\":\"x\",\"hukou_city\":\"广州\",\"status\":\"active\"}\n\
            not json\n\
            {\"id_number\":\"440106198503030116\",\"name\":\"x\",\"hukou_city\":\"广州\",\"status\":\"sleeping\"}\n";
        let errs = parse_persons(text).unwrap_err();
        assert_eq!(
            errs.iter().map(|e| e.line).collect::<Vec<_>>(),
            vec![4, 5, 6]
        );
        assert!(errs[0].message.contains("does not check"), "{}", errs[0]);
    }
}
