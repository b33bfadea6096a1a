//! Self-service re-issue (签注再签) of Hong Kong/Macao tourist endorsements on an e-card permit at a
//! 办证易 kiosk, RULES.md §6 ("Kiosk 立等可取 tourist endorsement renewal, Guangzhou rules"), as
//! one pure function of the registry's facts and the day: [`assess`] says what the holder may
//! choose (or why not, which sends them to a counter), [`price`] checks a choice against that
//! offer and prices it from the catalogue (RULES.md §4).
//!
//! The rules, each a branch of [`assess`]:
//! - the holder must be an active registry person, not a state functionary (登记备案人员) and not
//!   serving military;
//! - they must hold a valid, unexpired e-card 往来港澳通行证 (number `C…`; book permits have
//!   lapsed, RULES.md §1);
//! - a previous HK/Macao endorsement must be on record: a first endorsement goes to a counter;
//! - Guangdong 户籍, or a valid Guangzhou 居住证 with a previous tourist (G or L) endorsement:
//!   G or L; anyone else: L only;
//! - validity margins: a 3-month option needs the permit valid for more than 3 months + 20
//!   days, and one Guangdong guide says more than 4 months; we take the stricter, 4 months. A
//!   1-year option needs more than 1 year + 20 days. Options the permit cannot carry are not
//!   offered; a permit that carries none is refused.
//!
//! Macao's individual tour (G) has only 3m1 and 1y1 (RULES.md §2).

use crate::catalogue::Catalogue;
use crate::eligibility::{DocumentRecord, DocumentStatus, PersonRecord, PersonStatus};
use crate::DocumentKind;
use chrono::{Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

/// The 21 prefectures of Guangdong (RULES.md §6: all are G open cities), as the registry
/// writes a 户籍 city.
pub const GUANGDONG_CITIES: &[&str] = &[
    "广州", "深圳", "珠海", "汕头", "佛山", "韶关", "湛江", "肇庆", "江门", "茂名", "惠州", "梅州",
    "汕尾", "河源", "阳江", "清远", "东莞", "中山", "潮州", "揭阳", "云浮",
];

/// The city whose 居住证 holders may choose G at these kiosks (the Guangzhou rules).
pub const RESIDENCE_PERMIT_CITY: &str = "广州";

/// The options a kiosk re-issues, in menu order: validity × entries.
pub const OPTIONS: &[&str] = &["3m1", "3m2", "1y1", "1y2"];

/// Where an endorsement is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Destination {
    Hk,
    Macau,
}

impl Destination {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hk => "hk",
            Self::Macau => "macau",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "hk" => Some(Self::Hk),
            "macau" => Some(Self::Macau),
            _ => None,
        }
    }
}

/// An endorsement on record (the registry's import, or one a kiosk wrote).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndorsementRecord {
    pub id_number: String,
    pub permit_number: String,
    pub destination: Destination,
    /// The type letter: `T`, `S`, `L`, `G`, `Q` or `D`.
    pub kind: String,
    /// `3m1`, `1y2`, `1yM`, …
    pub option: String,
    pub issued_on: NaiveDate,
    pub valid_until: NaiveDate,
}

impl EndorsementRecord {
    fn is_tourist(&self) -> bool {
        matches!(self.kind.as_str(), "G" | "L")
    }
}

/// Why the kiosk cannot re-issue: each sends the citizen to a counter with this reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// No registry record, or a record not active (deceased, emigrated, cancelled).
    NotInRegistry,
    StateFunctionary,
    Military,
    /// No valid, unexpired 往来港澳通行证 on record.
    NoPermit,
    /// The permit is not an e-card (its number does not start with `C`).
    NotECard,
    /// No endorsement was ever issued: the first one is done at a counter.
    FirstEndorsement,
    /// The permit expires too soon for any option (within 4 months).
    ValidityTooShort,
    /// The type is not open to this holder (G outside Guangdong residence).
    TypeNotAllowed,
    /// The option is not on the menu for this type and destination, or the permit's validity
    /// cannot carry it.
    OptionNotAllowed,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotInRegistry => "not_in_registry",
            Self::StateFunctionary => "state_functionary",
            Self::Military => "military",
            Self::NoPermit => "no_permit",
            Self::NotECard => "not_e_card",
            Self::FirstEndorsement => "first_endorsement",
            Self::ValidityTooShort => "validity_too_short",
            Self::TypeNotAllowed => "type_not_allowed",
            Self::OptionNotAllowed => "option_not_allowed",
        }
    }
}

/// What the holder may choose at the kiosk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Offer {
    pub permit_number: String,
    pub permit_expires_on: NaiveDate,
    /// `G` and `L`, or `L` only.
    pub types: Vec<String>,
    /// The options the permit's validity carries, in menu order.
    pub options: Vec<String>,
}

/// The latest day a permit may expire on and still be refused for `option`: the permit must
/// be valid *after* this day.
fn margin(option: &str, today: NaiveDate) -> Option<NaiveDate> {
    if option.starts_with("3m") {
        // Stricter of "3 months + 20 days" and "4 months" (RULES.md §6).
        let a = today.checked_add_months(Months::new(3))? + Days::new(20);
        let b = today.checked_add_months(Months::new(4))?;
        Some(a.max(b))
    } else if option.starts_with("1y") {
        Some(today.checked_add_months(Months::new(12))? + Days::new(20))
    } else {
        None
    }
}

/// Whether `option` exists for `kind` to `destination` (RULES.md §2: Macao's G is 3m1 and 1y1
/// only).
pub fn on_menu(kind: &str, destination: Destination, option: &str) -> bool {
    if !OPTIONS.contains(&option) {
        return false;
    }
    match (kind, destination) {
        ("G", Destination::Macau) => matches!(option, "3m1" | "1y1"),
        ("G" | "L", _) => true,
        _ => false,
    }
}

/// The holder's valid, unexpired 往来港澳通行证 (the latest issued) when it is an e-card: what a
/// kiosk's card writer can write an endorsement onto (办证易's re-issue, 网e捷's on-site write).
pub fn e_card_permit(
    documents: &[DocumentRecord],
    today: NaiveDate,
) -> Result<&DocumentRecord, Refusal> {
    let permit = documents
        .iter()
        .filter(|d| {
            d.kind == DocumentKind::HkmPermit
                && d.status == DocumentStatus::Valid
                && d.expires_on >= today
        })
        .max_by_key(|d| d.issued_on)
        .ok_or(Refusal::NoPermit)?;
    if !permit.number.starts_with('C') {
        return Err(Refusal::NotECard);
    }
    Ok(permit)
}

/// An endorsement option's last valid day and number of entries when issued on `issued_on`
/// (`3m…` three months, `1y…` a year, less a day; `…2` two entries, else one).
pub fn validity(option: &str, issued_on: NaiveDate) -> Option<(NaiveDate, u32)> {
    let months = if option.starts_with("1y") {
        12
    } else if option.starts_with("3m") {
        3
    } else {
        return None;
    };
    let valid_until = issued_on
        .checked_add_months(Months::new(months))
        .and_then(|d| d.pred_opt())?;
    Some((valid_until, if option.ends_with('2') { 2 } else { 1 }))
}

/// What the holder of `permits` (their registry documents) may re-issue on `today`.
pub fn assess(
    person: Option<&PersonRecord>,
    documents: &[DocumentRecord],
    history: &[EndorsementRecord],
    today: NaiveDate,
) -> Result<Offer, Refusal> {
    let person = person
        .filter(|p| p.status == PersonStatus::Active)
        .ok_or(Refusal::NotInRegistry)?;
    if person.state_functionary {
        return Err(Refusal::StateFunctionary);
    }
    if person.military {
        return Err(Refusal::Military);
    }
    let permit = e_card_permit(documents, today)?;
    if history.is_empty() {
        return Err(Refusal::FirstEndorsement);
    }
    let options: Vec<String> = OPTIONS
        .iter()
        .filter(|o| margin(o, today).is_some_and(|m| permit.expires_on > m))
        .map(|o| o.to_string())
        .collect();
    if options.is_empty() {
        return Err(Refusal::ValidityTooShort);
    }
    let guangdong = GUANGDONG_CITIES.contains(&person.hukou_city.as_str());
    let guangzhou_resident = person.residence_permit_city.as_deref() == Some(RESIDENCE_PERMIT_CITY)
        && person.residence_permit_expires.is_some_and(|e| e >= today)
        && history.iter().any(EndorsementRecord::is_tourist);
    let types = if guangdong || guangzhou_resident {
        vec!["G".to_string(), "L".to_string()]
    } else {
        vec!["L".to_string()]
    };
    Ok(Offer {
        permit_number: permit.number.clone(),
        permit_expires_on: permit.expires_on,
        types,
        options,
    })
}

/// One endorsement of a priced choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    pub destination: Destination,
    pub kind: String,
    pub option: String,
    pub entries: u32,
    pub valid_until: NaiveDate,
    pub fee_yuan: u32,
}

/// A choice checked against the offer and priced from the catalogue on `today` (RULES.md §4:
/// 15 for one entry, 30 for two, per destination): one line per destination.
pub fn price(
    offer: &Offer,
    kind: &str,
    destinations: &[Destination],
    option: &str,
    catalogue: &Catalogue,
    today: NaiveDate,
) -> Result<Vec<Line>, Refusal> {
    if !offer.types.iter().any(|t| t == kind) {
        return Err(Refusal::TypeNotAllowed);
    }
    if destinations.is_empty()
        || !offer.options.iter().any(|o| o == option)
        || destinations.iter().any(|d| !on_menu(kind, *d, option))
    {
        return Err(Refusal::OptionNotAllowed);
    }
    let business = format!("hkm_endorsement_{}", kind.to_lowercase());
    let fee = catalogue
        .terms(&business, today)
        .and_then(|t| t.fee_for(Some(option)))
        .ok_or(Refusal::OptionNotAllowed)?;
    let (valid_until, entries) = validity(option, today).ok_or(Refusal::OptionNotAllowed)?;
    let mut seen = Vec::new();
    let mut lines = Vec::new();
    for d in destinations {
        if seen.contains(d) {
            continue;
        }
        seen.push(*d);
        lines.push(Line {
            destination: *d,
            kind: kind.to_string(),
            option: option.to_string(),
            entries,
            valid_until,
            fee_yuan: fee,
        });
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn today() -> NaiveDate {
        d(2026, 12, 1)
    }

    fn person(hukou: &str) -> PersonRecord {
        PersonRecord {
            id_number: "440106198503030116".into(),
            name: "陈晓明".into(),
            hukou_city: hukou.into(),
            residence_permit_city: None,
            residence_permit_expires: None,
            status: PersonStatus::Active,
            state_functionary: false,
            fingerprints_on_file: true,
            military: false,
            phone: None,
        }
    }

    fn permit(number: &str, expires: NaiveDate) -> DocumentRecord {
        DocumentRecord {
            id_number: "440106198503030116".into(),
            kind: DocumentKind::HkmPermit,
            number: number.into(),
            issued_on: d(2021, 6, 1),
            expires_on: expires,
            status: DocumentStatus::Valid,
        }
    }

    fn prior(kind: &str) -> Vec<EndorsementRecord> {
        vec![EndorsementRecord {
            id_number: "440106198503030116".into(),
            permit_number: "CA3528174".into(),
            destination: Destination::Hk,
            kind: kind.into(),
            option: "3m1".into(),
            issued_on: d(2025, 1, 1),
            valid_until: d(2025, 3, 31),
        }]
    }

    fn far() -> NaiveDate {
        d(2031, 5, 31)
    }

    #[test]
    fn a_guangdong_holder_with_history_may_choose_g_or_l_and_every_option() {
        let o = assess(
            Some(&person("深圳")),
            &[permit("CA3528174", far())],
            &prior("T"),
            today(),
        )
        .unwrap();
        assert_eq!(o.types, ["G", "L"]);
        assert_eq!(o.options, OPTIONS);
        assert_eq!(o.permit_number, "CA3528174");
    }

    #[test]
    fn out_of_province_is_l_only() {
        let o = assess(
            Some(&person("长沙")),
            &[permit("CA3528174", far())],
            &prior("G"),
            today(),
        )
        .unwrap();
        assert_eq!(o.types, ["L"]);
    }

    #[test]
    fn a_guangzhou_residence_permit_with_a_prior_tourist_endorsement_opens_g() {
        let mut p = person("长沙");
        p.residence_permit_city = Some("广州".into());
        p.residence_permit_expires = Some(d(2027, 8, 31));
        let docs = [permit("CB1938265", far())];
        assert_eq!(
            assess(Some(&p), &docs, &prior("L"), today()).unwrap().types,
            ["G", "L"]
        );
        // A prior endorsement that was not a tourist one does not.
        assert_eq!(
            assess(Some(&p), &docs, &prior("T"), today()).unwrap().types,
            ["L"]
        );
        // Nor does an expired residence permit, or one of another city.
        p.residence_permit_expires = Some(d(2026, 11, 30));
        assert_eq!(
            assess(Some(&p), &docs, &prior("L"), today()).unwrap().types,
            ["L"]
        );
        p.residence_permit_expires = Some(d(2027, 8, 31));
        p.residence_permit_city = Some("深圳".into());
        assert_eq!(
            assess(Some(&p), &docs, &prior("L"), today()).unwrap().types,
            ["L"]
        );
    }

    #[test]
    fn the_person_must_be_active_not_a_functionary_nor_military() {
        let docs = [permit("CA3528174", far())];
        assert_eq!(
            assess(None, &docs, &prior("G"), today()),
            Err(Refusal::NotInRegistry)
        );
        let mut p = person("广州");
        p.status = PersonStatus::Emigrated;
        assert_eq!(
            assess(Some(&p), &docs, &prior("G"), today()),
            Err(Refusal::NotInRegistry)
        );
        let mut p = person("广州");
        p.state_functionary = true;
        assert_eq!(
            assess(Some(&p), &docs, &prior("G"), today()),
            Err(Refusal::StateFunctionary)
        );
        let mut p = person("广州");
        p.military = true;
        assert_eq!(
            assess(Some(&p), &docs, &prior("G"), today()),
            Err(Refusal::Military)
        );
    }

    #[test]
    fn a_valid_e_card_permit_is_required() {
        let p = person("广州");
        assert_eq!(
            assess(Some(&p), &[], &prior("G"), today()),
            Err(Refusal::NoPermit)
        );
        let mut lost = permit("CA3528174", far());
        lost.status = DocumentStatus::Lost;
        assert_eq!(
            assess(Some(&p), &[lost], &prior("G"), today()),
            Err(Refusal::NoPermit)
        );
        let expired = permit("CA3528174", d(2026, 11, 30));
        assert_eq!(
            assess(Some(&p), &[expired], &prior("G"), today()),
            Err(Refusal::NoPermit)
        );
        let mut passport = permit("E12345678", far());
        passport.kind = DocumentKind::Passport;
        assert_eq!(
            assess(Some(&p), &[passport], &prior("G"), today()),
            Err(Refusal::NoPermit)
        );
        assert_eq!(
            assess(
                Some(&p),
                &[permit("W12345678", far())],
                &prior("G"),
                today()
            ),
            Err(Refusal::NotECard)
        );
    }

    #[test]
    fn a_first_endorsement_goes_to_a_counter() {
        assert_eq!(
            assess(
                Some(&person("广州")),
                &[permit("CC2837465", far())],
                &[],
                today()
            ),
            Err(Refusal::FirstEndorsement)
        );
    }

    #[test]
    fn validity_margins_take_the_stricter_rule() {
        let p = person("广州");
        let offer = |expires| {
            assess(
                Some(&p),
                &[permit("CA3528174", expires)],
                &prior("G"),
                today(),
            )
        };
        // 3 months + 20 days from 2026-12-01 is 2027-03-21; 4 months is 2027-04-01 (stricter).
        assert_eq!(offer(d(2027, 3, 25)), Err(Refusal::ValidityTooShort));
        assert_eq!(offer(d(2027, 4, 1)), Err(Refusal::ValidityTooShort));
        assert_eq!(offer(d(2027, 4, 2)).unwrap().options, ["3m1", "3m2"]);
        // One year + 20 days is 2027-12-21: on it, 3-month options only; the day after, all.
        assert_eq!(offer(d(2027, 12, 21)).unwrap().options, ["3m1", "3m2"]);
        assert_eq!(offer(d(2027, 12, 22)).unwrap().options, OPTIONS);
    }

    #[test]
    fn a_choice_is_checked_and_priced_per_destination() {
        let c = Catalogue::builtin();
        let offer = assess(
            Some(&person("广州")),
            &[permit("CA3528174", far())],
            &prior("G"),
            today(),
        )
        .unwrap();
        let both = [Destination::Hk, Destination::Macau];
        let lines = price(&offer, "G", &both, "1y1", &c, today()).unwrap();
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| l.fee_yuan == 15 && l.entries == 1));
        assert_eq!(lines[0].valid_until, d(2027, 11, 30));
        let l2 = price(&offer, "L", &[Destination::Hk], "3m2", &c, today()).unwrap();
        assert_eq!(
            (l2[0].fee_yuan, l2[0].entries, l2[0].valid_until),
            (30, 2, d(2027, 2, 28))
        );
        // Macao's G has no two-entry option; HK's has.
        assert_eq!(
            price(&offer, "G", &both, "3m2", &c, today()),
            Err(Refusal::OptionNotAllowed)
        );
        assert!(price(&offer, "G", &[Destination::Hk], "3m2", &c, today()).is_ok());
        assert_eq!(
            price(&offer, "G", &[], "3m1", &c, today()),
            Err(Refusal::OptionNotAllowed)
        );
        assert_eq!(
            price(&offer, "T", &[Destination::Hk], "3m1", &c, today()),
            Err(Refusal::TypeNotAllowed)
        );
        assert_eq!(
            price(&offer, "L", &[Destination::Hk], "1yM", &c, today()),
            Err(Refusal::OptionNotAllowed)
        );
    }

    #[test]
    fn an_out_of_province_holder_cannot_choose_g_nor_an_option_the_permit_cannot_carry() {
        let c = Catalogue::builtin();
        let offer = assess(
            Some(&person("喀什")),
            &[permit("CA7716253", d(2027, 6, 1))],
            &prior("L"),
            today(),
        )
        .unwrap();
        assert_eq!(
            price(&offer, "G", &[Destination::Hk], "3m1", &c, today()),
            Err(Refusal::TypeNotAllowed)
        );
        assert_eq!(
            price(&offer, "L", &[Destination::Hk], "1y1", &c, today()),
            Err(Refusal::OptionNotAllowed)
        );
        assert!(price(&offer, "L", &[Destination::Hk], "3m1", &c, today()).is_ok());
    }
}
