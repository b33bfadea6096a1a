//! The business catalogue: what a hall accepts, what it costs, how long it takes.
//!
//! Fees, endorsement menus, processing times and the open-city list change by notice several times
//! a year (RULES.md "Design consequence"), so they are data with effective dates
//! (`data/catalogue.json`), and every lookup names the date it is made for.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which part of the population a business serves; halls declare which groups they accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    Citizen,
    Foreigner,
}

/// The document a business issues or writes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    Passport,
    HkmPermit,
    TwPermit,
    ForeignVisa,
    ForeignResidence,
}

impl DocumentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passport => "passport",
            Self::HkmPermit => "hkm_permit",
            Self::TwPermit => "tw_permit",
            Self::ForeignVisa => "foreign_visa",
            Self::ForeignResidence => "foreign_residence",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "passport" => Self::Passport,
            "hkm_permit" => Self::HkmPermit,
            "tw_permit" => Self::TwPermit,
            "foreign_visa" => Self::ForeignVisa,
            "foreign_residence" => Self::ForeignResidence,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Business {
    pub code: String,
    pub document: DocumentKind,
    #[serde(default)]
    pub endorsement: Option<String>,
    pub group: Group,
    pub name_zh: String,
    pub name_en: String,
    versions: Vec<BusinessVersion>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BusinessVersion {
    pub effective_from: NaiveDate,
    /// A flat fee; endorsements and residence permits price each option instead.
    #[serde(default)]
    pub fee_yuan: Option<u32>,
    pub processing_working_days: u32,
    /// A commitment in calendar days instead ("a decision within 15 days": foreigners' visa
    /// extensions and stay permits, issue 14 §2); `processing_working_days` is then unused.
    #[serde(default)]
    pub processing_calendar_days: Option<u32>,
    pub in_person: bool,
    #[serde(default)]
    pub options: Vec<String>,
    #[serde(default)]
    pub suspended: bool,
    pub source: String,
}

#[derive(Debug, Clone, Deserialize)]
struct OptionFees {
    effective_from: NaiveDate,
    fees: BTreeMap<String, u32>,
}

#[derive(Debug, Clone, Deserialize)]
struct OpenCities {
    effective_from: NaiveDate,
    cities: Vec<String>,
}

/// One business as it stands on a given date.
#[derive(Debug, Clone, Serialize)]
pub struct BusinessTerms<'a> {
    pub business: &'a Business,
    pub version: &'a BusinessVersion,
    /// `(option code, fee)` in catalogue order; empty for flat-fee businesses.
    pub option_fees: Vec<(String, u32)>,
}

impl BusinessTerms<'_> {
    /// How long an application of this business may take: a calendar-day commitment when the
    /// catalogue gives one (neither urgent service nor the cross-province time applies to it),
    /// else [`crate::application::Processing::of`] the working days.
    pub fn processing(
        &self,
        expedited: bool,
        cross_province: bool,
    ) -> crate::application::Processing {
        match self.version.processing_calendar_days {
            Some(days) => crate::application::Processing::CalendarDays { days },
            None => crate::application::Processing::of(
                self.version.processing_working_days,
                expedited,
                cross_province,
            ),
        }
    }

    /// The fee for the flat business or the chosen option.
    pub fn fee_for(&self, option: Option<&str>) -> Option<u32> {
        match option {
            None => self.version.fee_yuan,
            Some(o) => self
                .option_fees
                .iter()
                .find(|(c, _)| c == o)
                .map(|(_, f)| *f),
        }
    }
}

/// A version of the fully online (全程网办) pilot: where the applicant's 户籍 must be, and which
/// businesses may be handled without a visit.
#[derive(Debug, Clone, Deserialize)]
pub struct RemotePilot {
    pub effective_from: NaiveDate,
    pub cities: Vec<String>,
    pub businesses: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Catalogue {
    businesses: Vec<Business>,
    option_fees: Vec<OptionFees>,
    option_names: BTreeMap<String, (String, String)>,
    open_cities: Vec<OpenCities>,
    #[serde(default)]
    remote_pilots: Vec<RemotePilot>,
}

/// Picks the entry in force on `on`: the latest whose `effective_from` is not after it.
fn in_force<T>(items: &[T], on: NaiveDate, from: impl Fn(&T) -> NaiveDate) -> Option<&T> {
    items
        .iter()
        .filter(|i| from(i) <= on)
        .max_by_key(|i| from(i))
}

impl Catalogue {
    /// The catalogue shipped with this build.
    pub fn builtin() -> Self {
        Self::from_json(include_str!("../data/catalogue.json")).expect("shipped catalogue parses")
    }

    pub fn from_json(s: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(s)
    }

    pub fn businesses(&self) -> impl Iterator<Item = &Business> {
        self.businesses.iter()
    }

    pub fn business(&self, code: &str) -> Option<&Business> {
        self.businesses.iter().find(|b| b.code == code)
    }

    /// The terms of `code` on `on`, or `None` when the business is unknown or not yet defined.
    pub fn terms(&self, code: &str, on: NaiveDate) -> Option<BusinessTerms<'_>> {
        let business = self.business(code)?;
        let version = in_force(&business.versions, on, |v| v.effective_from)?;
        let fees = in_force(&self.option_fees, on, |f| f.effective_from);
        let option_fees = version
            .options
            .iter()
            .filter_map(|o| Some((o.clone(), *fees?.fees.get(o)?)))
            .collect();
        Some(BusinessTerms {
            business,
            version,
            option_fees,
        })
    }

    pub fn option_name(&self, option: &str) -> Option<(&str, &str)> {
        self.option_names
            .get(option)
            .map(|(zh, en)| (zh.as_str(), en.as_str()))
    }

    /// The fully online pilot in force on `on`, if any.
    pub fn remote_pilot(&self, on: NaiveDate) -> Option<&RemotePilot> {
        in_force(&self.remote_pilots, on, |p| p.effective_from)
    }

    /// Whether `business` may be handled fully online on `on` (for someone of a pilot city).
    pub fn offered_remotely(&self, business: &str, on: NaiveDate) -> bool {
        self.remote_pilot(on)
            .is_some_and(|p| p.businesses.iter().any(|b| b == business))
    }

    /// Whether `city` was an open city for individual HK/Macau travel (G) on `on`.
    pub fn is_open_city(&self, city: &str, on: NaiveDate) -> bool {
        in_force(&self.open_cities, on, |c| c.effective_from)
            .is_some_and(|c| c.cities.iter().any(|x| x == city))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn fees_follow_their_effective_dates() {
        let c = Catalogue::builtin();
        let before = c.terms("passport_first", d(2019, 6, 30)).unwrap();
        let after = c.terms("passport_first", d(2019, 7, 1)).unwrap();
        assert_eq!(before.fee_for(None), Some(160));
        assert_eq!(after.fee_for(None), Some(120));
        assert!(c.terms("passport_first", d(2010, 1, 1)).is_none());
        let g = c.terms("hkm_endorsement_g", d(2026, 11, 27)).unwrap();
        assert_eq!(g.fee_for(Some("3m1")), Some(15));
        assert_eq!(g.fee_for(Some("1y2")), Some(30));
        assert_eq!(g.fee_for(Some("1yM")), None, "not on the G menu");
        let t = c.terms("hkm_endorsement_t", d(2026, 11, 27)).unwrap();
        assert_eq!(t.fee_for(Some("1yM")), Some(80));
    }

    #[test]
    fn every_business_in_the_brief_is_present_and_priced() {
        let c = Catalogue::builtin();
        let today = d(2026, 11, 27);
        for code in [
            "passport_first",
            "passport_renewal",
            "passport_replacement",
            "hkm_permit",
            "hkm_endorsement_t",
            "hkm_endorsement_s",
            "hkm_endorsement_l",
            "hkm_endorsement_g",
            "hkm_endorsement_q",
            "hkm_endorsement_d",
            "tw_permit",
            "tw_endorsement_l",
            "tw_endorsement_t",
            "foreign_visa_extension",
            "foreign_residence_permit",
        ] {
            let t = c.terms(code, today).unwrap_or_else(|| panic!("{code}"));
            assert!(
                t.version.fee_yuan.is_some() || !t.option_fees.is_empty(),
                "{code} has a price"
            );
            for (o, _) in &t.option_fees {
                assert!(c.option_name(o).is_some(), "{o} has a name");
            }
        }
        assert!(
            c.terms("tw_endorsement_g", today)
                .unwrap()
                .version
                .suspended
        );
    }

    #[test]
    fn open_cities_grow_over_time() {
        let c = Catalogue::builtin();
        assert!(c.is_open_city("广州", d(2026, 1, 1)));
        assert!(!c.is_open_city("兰州", d(2024, 4, 1)));
        assert!(c.is_open_city("兰州", d(2024, 5, 27)));
        assert!(!c.is_open_city("喀什", d(2026, 1, 1)));
    }
}
