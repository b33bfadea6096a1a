//! Foreigners as applicants (issue 14 §2): the passport identity (normalised by
//! `wujing_domain::foreign`), the key a foreigner's booking is stored under, the renewal link an
//! officer records at the counter, and the history seen through it.
//!
//! A booking is stored under its identity's key, and "one active booking per identity and
//! business" is the unique index on that key. A foreigner who renews their passport is one
//! person with two keys; the store keeps, for linked passports only, the **person key** (the
//! first passport's) and a foreigner's booking is stored under it. The resident-ID path is
//! untouched: [`App::booking_key`] answers a resident without a query, and only a foreigner's
//! confirmation reads one row.
//!
//! One narrow race is left: a booking confirmed with the new passport while the officer records
//! the link (between the booking's key lookup and its commit) is stored under the new
//! passport's own key. The link is recorded with the person at the counter, so such a booking
//! would be their own, made during their own visit; the history still sees it (every passport
//! key of the person is read).

use crate::admin::Actor;
use crate::authz::Action;
use crate::{App, AppError, AppResult, Code, Principal};
use chrono::{NaiveDate, TimeDelta};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use wujing_domain::application::State;
use wujing_domain::foreign::{self as rules, ForeignIdError};
use wujing_domain::idnum::mask_id_number;
use wujing_domain::{Answers, Identity};
use wujing_store::{AdminChange, PassportLink};

/// How far back a visa extension recorded here counts towards the cumulative limit when the
/// applicant gives no date of entry: a visa's stay is at most 180 days (art. 29) and its
/// extensions at most as long again, so an extension older than a year belongs to another stay.
const EXTENSION_HISTORY_DAYS: i64 = 365;

/// The error of a refused passport identity, in the API's codes.
pub(crate) fn id_error(e: ForeignIdError) -> AppError {
    match e {
        ForeignIdError::Nationality => AppError::new(
            Code::NationalityInvalid,
            "国籍代码不在国际民航组织（ICAO）代码表中：请按护照机读区填写三位字母代码（如DEU、GBR）；无国籍或难民填写XXA、XXB或XXC",
            "the nationality is not an ICAO code: give the three letters of your passport's machine-readable zone (such as DEU or GBR); stateless persons and refugees give XXA, XXB or XXC",
        ),
        ForeignIdError::PassportNumber => Code::PassportNumberInvalid.into(),
        ForeignIdError::BirthDateRequired => Code::BirthDateRequired.into(),
        ForeignIdError::BirthDateInFuture => Code::BirthDateInvalid.into(),
    }
    .with_details(json!({ "field": match e {
        ForeignIdError::Nationality => "nationality",
        ForeignIdError::PassportNumber => "id_number",
        _ => "birth_date",
    } }))
}

/// A passport identity from what was typed or read: every part in its one stored form.
pub(crate) fn passport_identity(
    nationality: Option<&str>,
    number: &str,
    birth_date: Option<NaiveDate>,
    today: NaiveDate,
) -> AppResult<Identity> {
    Ok(Identity::Foreign {
        nationality: rules::nationality(nationality.unwrap_or("")).map_err(id_error)?,
        passport_number: rules::passport_number(number).map_err(id_error)?,
        birth_date: Some(rules::birth_date(birth_date, today).map_err(id_error)?),
    })
}

/// An officer's record that a foreigner's new passport replaces the old one (same holder: one
/// nationality and one birth date for both).
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PassportLinkInput {
    /// ICAO code, as in the passports' machine-readable zone (`DEU`, `D<<`, `GBR`…).
    pub nationality: String,
    pub birth_date: NaiveDate,
    pub old_passport_number: String,
    pub new_passport_number: String,
}

/// A recorded link, masked.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PassportLinkView {
    pub nationality: String,
    pub old_passport_number: String,
    pub new_passport_number: String,
    /// How many passports the person now has on record here.
    pub passports: usize,
    /// The person's applications found through all of them.
    pub applications: usize,
}

impl App {
    /// The key a booking of `identity` is stored under: a resident's identity key (no query);
    /// a foreigner's person key when their passport was linked, else the passport's key.
    pub(crate) async fn booking_key(&self, identity: &Identity) -> AppResult<String> {
        let key = self.identity_key(identity);
        match identity {
            Identity::Resident(_) => Ok(key),
            Identity::Foreign { .. } => {
                Ok(self.store.foreign_person_key(&key).await?.unwrap_or(key))
            }
        }
    }

    /// Every stored key of the person: the person key and each linked passport's.
    pub(crate) async fn person_keys(&self, identity: &Identity) -> AppResult<Vec<String>> {
        let key = self.booking_key(identity).await?;
        let mut keys = self.store.foreign_passport_keys(&key).await?;
        if !keys.contains(&key) {
            keys.push(key);
        }
        Ok(keys)
    }

    /// The applications of a foreigner through every passport linked to them.
    pub(crate) async fn foreign_applications(
        &self,
        identity: &Identity,
    ) -> AppResult<Vec<wujing_store::Application>> {
        let mut out = Vec::new();
        for k in self.person_keys(identity).await? {
            out.extend(self.store.applications_of(&k).await?);
        }
        Ok(out)
    }

    /// The answers with the visa extensions recorded here counted in: the cumulative limit
    /// (art. 29) is checked against the larger of what the applicant declared and the days of
    /// their earlier extension applications (through every passport, not refused, withdrawn or
    /// lapsed) accepted since their entry, or within the last year.
    pub(crate) async fn with_recorded_extensions(
        &self,
        business: &str,
        identity: &Identity,
        answers: &Answers,
        today: NaiveDate,
    ) -> AppResult<Answers> {
        let mut a = answers.clone();
        if business != "foreign_visa_extension" || !matches!(identity, Identity::Foreign { .. }) {
            return Ok(a);
        }
        let since = answers
            .entry_date
            .unwrap_or(today - TimeDelta::days(EXTENSION_HISTORY_DAYS));
        let mut recorded = 0u32;
        for app in self.foreign_applications(identity).await? {
            let done = matches!(
                State::parse(&app.status),
                Some(State::Refused | State::Withdrawn | State::Lapsed)
            );
            if app.business != business || done || self.china_day(app.accepted_at) < since {
                continue;
            }
            let Some(bid) = app.booking_id else { continue };
            if let Some(b) = self.store.booking_by_id(bid).await? {
                let earlier: Answers = serde_json::from_str(&b.answers_json).unwrap_or_default();
                recorded += earlier.requested_days.unwrap_or(0);
            }
        }
        a.extended_days = Some(a.extended_days.unwrap_or(0).max(recorded));
        Ok(a)
    }

    fn china_day(&self, at: chrono::DateTime<chrono::Utc>) -> NaiveDate {
        at.with_timezone(&crate::china_offset()).date_naive()
    }

    /// Records at the counter of `hall` that a foreigner's new passport replaces the old one;
    /// audited in the link's transaction. Afterwards bookings with either passport are the
    /// person's (one active booking per business across both) and their history is read
    /// through both.
    pub async fn link_passports(
        &self,
        p: &Principal,
        hall: &str,
        client_addr: Option<&str>,
        input: &PassportLinkInput,
    ) -> AppResult<PassportLinkView> {
        self.require(p, Action::Counter, Some(hall))?;
        let Principal::Staff(s) = p else {
            return Err(crate::authz::denied(p));
        };
        let today = self.clock.today();
        let old = passport_identity(
            Some(&input.nationality),
            &input.old_passport_number,
            Some(input.birth_date),
            today,
        )?;
        let new = passport_identity(
            Some(&input.nationality),
            &input.new_passport_number,
            Some(input.birth_date),
            today,
        )?;
        let (
            Identity::Foreign {
                nationality,
                passport_number: old_number,
                ..
            },
            Identity::Foreign {
                passport_number: new_number,
                ..
            },
        ) = (&old, &new)
        else {
            unreachable!("passport identities")
        };
        let (old_masked, new_masked) = (mask_id_number(old_number), mask_id_number(new_number));
        let person = self.booking_key(&old).await?;
        self.audit(
            &Actor::new(p, client_addr).in_hall(hall),
            AdminChange::LinkPassports(PassportLink {
                old_key: self.identity_key(&old),
                new_key: self.identity_key(&new),
                staff_id: s.id,
            }),
            "foreign.passport_link",
            format!("passport:{nationality}:{old_masked}->{new_masked}"),
            Some(person),
            json!({ "nationality": nationality }),
        )
        .await?;
        Ok(PassportLinkView {
            nationality: nationality.clone(),
            old_passport_number: old_masked,
            new_passport_number: new_masked,
            passports: self.person_keys(&new).await?.len(),
            applications: self.foreign_applications(&new).await?.len(),
        })
    }
}
