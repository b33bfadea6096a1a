//! The booking spine: hold a seat, confirm it as a pre-accepted application, cancel, reschedule,
//! and the alternatives offered when a slot is full (M1, M2, M3).

use crate::views::{not_offered, slot_view, unknown_business, SlotView};
use crate::{App, AppError, AppResult, Code, Metrics, Principal};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use utoipa::ToSchema;
use wujing_domain::eligibility::{self, Answers, Facts, Identity};
use wujing_domain::idnum::{mask_id_number, mask_phone};
use wujing_domain::{Pool, ResidentId};
use wujing_store::{
    Booking, BookingStatus, Hall, NewBooking, NewHold, Slot, SlotQuery, StoreError,
};

/// Who the applicant is, as typed into the form.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicantInput {
    pub name: String,
    /// `resident_id` (default) or `foreign_passport`.
    #[serde(default)]
    pub id_type: Option<String>,
    /// Resident ID number, or the passport number for foreigners.
    pub id_number: String,
    /// Foreigners: nationality as an ISO 3166-1 alpha-3 code.
    #[serde(default)]
    pub nationality: Option<String>,
    /// Foreigners: date of birth.
    #[serde(default)]
    pub birth_date: Option<NaiveDate>,
    /// Mainland mobile number (11 digits) or an international number with `+`.
    pub phone: String,
}

impl ApplicantInput {
    /// A resident applicant (the citizen portal's case).
    pub fn resident(name: &str, id_number: &str, phone: &str) -> Self {
        Self {
            name: name.into(),
            id_type: None,
            id_number: id_number.into(),
            nationality: None,
            birth_date: None,
            phone: phone.into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldInput {
    pub slot_id: i64,
    pub business: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HoldView {
    pub hold_id: String,
    pub business: String,
    pub slot: SlotView,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EligibilityInput {
    pub business: String,
    pub applicant: ApplicantInput,
    /// Answers to the business's questions; see the API guide for the fields.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub answers: Answers,
    /// The intended visit date (default: today).
    #[serde(default)]
    pub date: Option<NaiveDate>,
    /// The code sent to the applicant's phone (`POST /api/v1/phone-codes`, purpose `book`):
    /// with it the registry records are checked too, and their reasons are shown when the
    /// name is the one registered for the identity number.
    #[serde(default)]
    pub phone_code: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReasonView {
    pub code: String,
    pub message_zh: String,
    pub message_en: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EligibilityView {
    pub eligible: bool,
    pub reasons: Vec<ReasonView>,
    /// The fee for this business and option on the visit date.
    pub fee_yuan: Option<u32>,
    /// Whether the registry records were part of the check. Without a phone code they are
    /// not: `eligible` then means eligible as far as can be checked without the records, which
    /// are checked when the booking is confirmed with the code.
    pub records_checked: bool,
}

/// How far the caller has shown that the identity is theirs, which decides whether reasons
/// that come from the registry records may be shown (issue 11): a stranger who knows a name
/// and an identity number must learn nothing from the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Control {
    /// Nothing proven: only the reasons that do not come from the records.
    None,
    /// The code sent to the applicant's phone was given: the records' reasons are shown when
    /// the name is also the one registered for the number.
    Phone,
    /// Reception staff with the identity card in hand.
    InPerson,
}

/// The reasons a caller may see: every one when `shown`; otherwise those that do not come from
/// the registry records, and in place of any that do, one `records_not_confirmed` that is the
/// same whatever the records say (an unknown number, another name, a lost passport…).
fn reasons_shown(reasons: Vec<ReasonView>, shown: bool) -> Vec<ReasonView> {
    if shown {
        return reasons;
    }
    let before = reasons.len();
    let mut out: Vec<ReasonView> = reasons
        .into_iter()
        .filter(|r| !eligibility::from_registry(&r.code))
        .collect();
    if out.len() < before {
        out.push(ReasonView {
            code: "records_not_confirmed".into(),
            message_zh: "您填写的信息未能与登记记录核对一致，或记录显示暂不能办理此项业务。请核对姓名（与身份证一致）和所选业务；填写发送到您手机的验证码且姓名与登记一致时，会显示具体原因。".into(),
            message_en: "Your details could not be confirmed against the records, or the records do not allow this business now. Check that the name is as on your identity card and the business chosen; the reasons are shown once you give the code sent to your phone with the name as registered.".into(),
        });
    }
    out
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmInput {
    pub hold_id: String,
    pub applicant: ApplicantInput,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub answers: Answers,
    /// Deprecated: the acceptance channel (M4) is derived from the caller — `web` without
    /// credentials, a registered gateway's own channel, `telephone` on the hotline's route. A
    /// stated channel other than the caller's is refused (`channel_not_yours`).
    #[serde(default)]
    pub channel: Option<String>,
    /// Language of the texts about the booking: `zh-CN` (default) or `en`.
    #[serde(default)]
    pub lang: Option<String>,
    /// The code sent to the applicant's phone (`POST /api/v1/phone-codes`); required when the
    /// server requires verified phones.
    #[serde(default)]
    pub phone_code: Option<String>,
    /// An e-mail address for the confirmation, besides the text message.
    #[serde(default)]
    pub email: Option<String>,
}

/// The refusal of an ineligible applicant, with the reasons `control` allows the caller to see;
/// `named`: the registry knows the identity under the name given.
pub(crate) fn not_eligible(reasons: Vec<ReasonView>, control: Control, named: bool) -> AppError {
    let shown = match control {
        Control::None => false,
        Control::Phone => named,
        Control::InPerson => true,
    };
    AppError::new(
        Code::NotEligible,
        "不符合办理条件，详见各项原因",
        "the applicant is not eligible; see the reasons",
    )
    .with_details(json!({ "reasons": reasons_shown(reasons, shown) }))
}

/// Proof that the caller owns a booking: its identity number.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnerProof {
    pub id_number: String,
}

#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RescheduleInput {
    pub id_number: String,
    pub slot_id: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NamedRef {
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApplicantView {
    pub name: String,
    /// Masked: personal information is never shown in full by default.
    pub id_number: String,
    pub phone: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BookingView {
    pub code: String,
    /// `active`, `cancelled`, or `used`: checked in at the hall (no longer changeable; see
    /// `visit`).
    pub status: String,
    pub business: NamedRef,
    pub option: Option<String>,
    pub hall: NamedRef,
    pub address_zh: String,
    pub address_en: String,
    pub date: NaiveDate,
    pub start: String,
    pub end: String,
    pub applicant: ApplicantView,
    pub fee_yuan: Option<u32>,
    /// `null` when the business commits to calendar days instead (`processing_calendar_days`).
    pub processing_working_days: Option<u32>,
    /// A foreigner's visa extension or stay permit: a decision within 15 (calendar) days.
    pub processing_calendar_days: Option<u32>,
    pub channel: String,
    pub created_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub reschedule_count: u32,
    /// A used booking's visit: its ticket and, once accepted, its application.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visit: Option<VisitView>,
    /// The booked slot and its start as an instant: for the pages that link to other times
    /// and write calendar files; not part of the API's answer.
    #[serde(skip)]
    pub slot_id: i64,
    #[serde(skip)]
    pub starts_at: DateTime<Utc>,
}

/// What happened at the hall to a used booking.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VisitView {
    /// The ticket's number, e.g. `A012`.
    pub ticket: String,
    /// `waiting`, `called`, `serving`, `parked`, `missed` or `done`.
    pub ticket_status: String,
    pub checked_in_at: DateTime<Utc>,
    /// The application taken at the counter, once accepted.
    pub application: Option<VisitApplication>,
    /// The fee paid at the window, once paid: its receipt is at `/slip/{code}/receipt.pdf`.
    pub receipt: Option<VisitReceipt>,
}

/// A fee paid at the window, as its payer sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VisitReceipt {
    pub receipt_no: String,
    pub amount_yuan: u32,
    pub paid_at: DateTime<Utc>,
    /// Set when the fee was refunded (an application withdrawn or refused at acceptance).
    pub refunded_at: Option<DateTime<Utc>>,
}

/// An application as its applicant sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VisitApplication {
    /// The state's code: `accepted` or `pending_supplement` at first, then as the application
    /// moves on (`under_review`, `approved`, … `ready_for_collection`, `collected`, `refused`).
    pub status: String,
    /// The expected date the document is ready.
    pub ready_by: NaiveDate,
    /// Materials still to bring, and by when.
    pub missing: Vec<String>,
    pub supplement_due: Option<NaiveDate>,
    pub expedited: bool,
    /// The current state's name in Chinese, e.g. `审批中`.
    pub status_zh: String,
    /// The current state's name in English, e.g. `under review`.
    pub status_en: String,
    /// The reason's code, once refused (its text is in `next_step_*`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal_reason: Option<String>,
    /// The steps so far, oldest first: states and times only, never who made the move.
    pub history: Vec<ApplicationStep>,
    /// What the applicant is to do or expect next, in Chinese: the expected date, the missing
    /// materials and their deadline, where to collect the document, or the refusal's reason.
    pub next_step_zh: String,
    /// The same in English.
    pub next_step_en: String,
    /// `counter`, `locker` or `mail`.
    pub collection_method: String,
    /// The way of collection in Chinese and English, e.g. `自助取证机领取`.
    pub collection_zh: String,
    pub collection_en: String,
    /// Whether the way of collection can still be changed (until the document leaves).
    pub can_choose_collection: bool,
    /// The mail address, masked (its first characters), when mailed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mail_address: Option<String>,
    /// The carrier's tracking number, once mailed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
}

/// One step of an application's history, as its applicant sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApplicationStep {
    /// The state it moved to, e.g. `under_review`.
    pub state: String,
    /// The state's name in Chinese.
    pub name_zh: String,
    /// The state's name in English.
    pub name_en: String,
    /// When, in China Standard Time (`+08:00`).
    #[schema(value_type = String, format = DateTime, example = "2026-12-01T10:30:00+08:00")]
    pub at: DateTime<chrono::FixedOffset>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlternativeView {
    pub slot: SlotView,
    pub hall_name_zh: String,
    pub hall_name_en: String,
    pub same_district: bool,
}

/// What a citizen is offered when the wanted slot is full (M2).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlternativesView {
    /// Nearest free slots in the same hall, nearest first.
    pub same_hall: Vec<AlternativeView>,
    /// The same slot in other halls: same district first, then the least loaded.
    pub other_halls: Vec<AlternativeView>,
}

// Requests carrying identity numbers and phones print them masked.
impl std::fmt::Debug for ApplicantInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplicantInput")
            .field("id_type", &self.id_type)
            .field("id_number", &mask_id_number(&self.id_number))
            .field("phone", &mask_phone(&self.phone))
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for OwnerProof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OwnerProof({})", mask_id_number(&self.id_number))
    }
}

impl std::fmt::Debug for RescheduleInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RescheduleInput")
            .field("id_number", &mask_id_number(&self.id_number))
            .field("slot_id", &self.slot_id)
            .finish()
    }
}

const ALTERNATIVES: usize = 5;
/// Booking codes avoid characters that are easily confused when read aloud or handwritten.
/// Public for the check-in kiosk's keypad, which offers exactly these letters.
pub const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// Random characters of a booking code: 10 × log2(31) ≈ 49.5 bits, so that guessing codes is
/// no way to a booking (≥ 40 bits; the minute characters are guessable and not counted).
pub(crate) const CODE_RANDOM_CHARS: usize = 10;

/// Twelve characters: two for the minute (cycling every 31² minutes, about 16 hours) and ten
/// random. Codes made in the same minute sit together in the unique index, so a burst of
/// bookings dirties a few index pages instead of one random page each. A code is a reference,
/// not the only secret: reading or changing a booking also takes the identity number, and
/// failed attempts are limited (`proof_throttled`).
pub(crate) fn new_code(now: chrono::DateTime<chrono::Utc>) -> String {
    let n = CODE_ALPHABET.len() as i64;
    let minute = now.timestamp().div_euclid(60).rem_euclid(n * n);
    let mut rng = rand::thread_rng();
    let mut code = String::with_capacity(2 + CODE_RANDOM_CHARS);
    code.push(CODE_ALPHABET[(minute / n) as usize] as char);
    code.push(CODE_ALPHABET[(minute % n) as usize] as char);
    code.extend(
        (0..CODE_RANDOM_CHARS)
            .map(|_| CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())] as char),
    );
    code
}

/// `TOKEN.SLOT.BUSINESS`: a confirmation learns the slot and business from the id itself,
/// without reading the hold first. The id is still only a key: the store's conditional update
/// matches it exactly, so an edited id matches no hold. The token is 44 bits of milliseconds
/// then 84 random bits: ids sort by time, so new holds append to the key's index instead of
/// dirtying a random page at every commit.
fn new_hold_id(slot_id: i64, business: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    let ms = (now.timestamp_millis().max(0) as u64) & 0xFFF_FFFF_FFFF;
    let random = rand::thread_rng().gen::<u128>() & ((1u128 << 84) - 1);
    format!("{ms:011x}{random:021x}.{slot_id}.{business}")
}

fn parse_hold_id(id: &str) -> Option<(i64, &str)> {
    let mut parts = id.splitn(3, '.');
    parts.next().filter(|t| t.len() == 32)?;
    let slot = parts.next()?.parse().ok()?;
    let business = parts.next()?;
    Some((slot, business))
}

/// A parsed applicant: the identity used for binding (M3) and the contact data.
pub struct Applicant {
    pub identity: Identity,
    pub name: String,
    pub phone: String,
}

/// A phone number in its canonical form (see `wujing_domain::phone`), so that every limit and
/// comparison counts one phone once however it was written.
pub(crate) fn parse_phone(p: &str) -> AppResult<String> {
    wujing_domain::phone::canonical(p).map_err(|_| {
AppError::new(Code::PhoneInvalid,
            "手机号码格式不正确：应为11位中国大陆手机号，或以+开头的国际号码",
            "the phone number should be an 11-digit mainland mobile number or an international number starting with +",
        )
    })
}

impl App {
    pub fn parse_applicant(&self, a: &ApplicantInput) -> AppResult<Applicant> {
        let name = a.name.trim();
        if let Some(c) = wujing_domain::text::forbidden_in_line(name) {
            return Err(AppError::text_invalid(c));
        }
        if name.is_empty() || name.chars().count() > 64 {
            return Err(AppError::new(
                Code::NameRequired,
                "请填写姓名（不超过64个字）",
                "enter the applicant's name (at most 64 characters)",
            ));
        }
        let phone = parse_phone(&a.phone)?;
        let identity = match a.id_type.as_deref().unwrap_or("resident_id") {
            "resident_id" => Identity::Resident(self.parse_resident_id(&a.id_number)?),
            "foreign_passport" => crate::foreign::passport_identity(
                a.nationality.as_deref(),
                &a.id_number,
                a.birth_date,
                self.clock.today(),
            )?,
            other => {
                return Err(AppError::new(
                    Code::IdTypeInvalid,
                    format!("不支持的证件类型“{other}”"),
                    format!("unsupported identity document type \"{other}\""),
                ))
            }
        };
        Ok(Applicant {
            identity,
            name: name.to_string(),
            phone,
        })
    }

    pub(crate) fn parse_resident_id(&self, s: &str) -> AppResult<ResidentId> {
        ResidentId::parse(s, self.clock.today())
            .map_err(|e| AppError::from(e).with_details(json!({ "field": "id_number" })))
    }

    /// Checks eligibility (M1) and returns every failing reason the caller may see: without a
    /// phone code only the rules that need no registry records (age, options, answers), read
    /// without touching the records, so that any name with any number answers alike; with the
    /// code, the records too, their reasons shown when the name is the registered one.
    /// Counted per identity and per client address like holds (`rate_limited`).
    pub async fn check_eligibility(
        &self,
        input: &EligibilityInput,
        client_addr: Option<&str>,
    ) -> AppResult<EligibilityView> {
        let applicant = self.parse_applicant(&input.applicant)?;
        if self.catalogue.business(&input.business).is_none() {
            return Err(unknown_business(&input.business));
        }
        let key = self.identity_key(&applicant.identity);
        self.store
            .count_requests(
                &self.limit_rules(&[
                    (
                        "check-identity",
                        Some(key.as_str()),
                        self.config.limits.checks_per_identity,
                    ),
                    (
                        "check-addr",
                        client_addr,
                        self.config.limits.checks_per_address,
                    ),
                ]),
                self.clock.now(),
            )
            .await?;
        let date = input.date.unwrap_or_else(|| self.clock.today());
        let mut answers = input.answers.clone();
        wujing_domain::foreign::complete_answers(&input.business, &mut answers);
        let (reasons, records_checked) = match input.phone_code.as_deref() {
            None => (
                self.rules_reasons(&input.business, &applicant, &answers, date),
                false,
            ),
            Some(code) => {
                // Verified, not used up: the same code then confirms the booking.
                self.check_phone_code(&applicant.phone, "book", code)
                    .await?;
                let (reasons, named) = self
                    .assess(&input.business, &applicant, &answers, date)
                    .await?;
                (reasons_shown(reasons, named), true)
            }
        };
        let fee = self
            .catalogue
            .terms(&input.business, date)
            .and_then(|t| t.fee_for(answers.option.as_deref()));
        Ok(EligibilityView {
            eligible: reasons.is_empty(),
            reasons,
            fee_yuan: fee,
            records_checked,
        })
    }

    /// The reasons of the rules that need no registry records, computed without reading them.
    fn rules_reasons(
        &self,
        business: &str,
        a: &Applicant,
        answers: &Answers,
        visit_date: NaiveDate,
    ) -> Vec<ReasonView> {
        let reasons = eligibility::check(
            &self.catalogue,
            business,
            &a.name,
            &a.identity,
            answers,
            Facts {
                visit_date,
                person: None,
                documents: &[],
            },
        );
        reasons
            .into_iter()
            .filter(|r| !eligibility::from_registry(r.code))
            .map(|r| ReasonView {
                code: r.code.to_string(),
                message_zh: r.zh,
                message_en: r.en,
            })
            .collect()
    }

    /// Every reason against the applicant, from the rules and the registry records, and
    /// whether the records know the identity under the name given.
    pub(crate) async fn assess(
        &self,
        business: &str,
        a: &Applicant,
        answers: &Answers,
        visit_date: NaiveDate,
    ) -> AppResult<(Vec<ReasonView>, bool)> {
        let (person, documents) = match &a.identity {
            Identity::Resident(id) => self.store.facts(id.as_str()).await?,
            Identity::Foreign { .. } => (None, Vec::new()),
        };
        // A foreigner's earlier extensions, through every passport of theirs (issue 14 §2).
        let answers = &self
            .with_recorded_extensions(business, &a.identity, answers, visit_date)
            .await?;
        let named = person
            .as_ref()
            .is_some_and(|p| p.name.trim() == a.name.trim());
        let reasons = eligibility::check(
            &self.catalogue,
            business,
            &a.name,
            &a.identity,
            answers,
            Facts {
                visit_date,
                person: person.as_ref(),
                documents: &documents,
            },
        );
        Ok((
            reasons
                .into_iter()
                .map(|r| ReasonView {
                    code: r.code.to_string(),
                    message_zh: r.zh,
                    message_en: r.en,
                })
                .collect(),
            named,
        ))
    }

    pub(crate) async fn eligibility_reasons(
        &self,
        business: &str,
        a: &Applicant,
        answers: &Answers,
        visit_date: NaiveDate,
    ) -> AppResult<Vec<ReasonView>> {
        Ok(self.assess(business, a, answers, visit_date).await?.0)
    }

    /// `not_eligible` unless the applicant is eligible by the rules and the records; the
    /// reasons given are those `control` allows the caller to see.
    pub(crate) async fn require_eligible(
        &self,
        business: &str,
        applicant: &Applicant,
        answers: &Answers,
        visit_date: NaiveDate,
        control: Control,
    ) -> AppResult<()> {
        let (reasons, named) = self
            .assess(business, applicant, answers, visit_date)
            .await?;
        if reasons.is_empty() {
            return Ok(());
        }
        Metrics::inc(&self.metrics.eligibility_refusals);
        Err(not_eligible(reasons, control, named))
    }

    /// An identity number given as proof of ownership, in the form it is stored in.
    pub(crate) fn normalise_proof(&self, id_number: &str) -> String {
        let proof = id_number.trim().to_ascii_uppercase();
        match ResidentId::parse(&proof, self.clock.today()) {
            Ok(id) => id.as_str().to_string(),
            // A passport number in its stored form (issue 14 §2: spaces and fillers dropped).
            Err(_) => wujing_domain::foreign::passport_number(&proof).unwrap_or(proof),
        }
    }

    /// A slot a citizen may book online for `business`, or why not.
    async fn bookable_slot(
        &self,
        slot_id: i64,
        business: &str,
    ) -> AppResult<(Slot, std::sync::Arc<Hall>)> {
        let slot = self.slot_meta(slot_id).await?.ok_or_else(|| {
            AppError::new(
                Code::SlotNotFound,
                format!("没有编号为{slot_id}的时段"),
                format!("there is no slot {slot_id}"),
            )
        })?;
        if slot.pool != Pool::Online {
            return Err(AppError::new(
                Code::SlotNotBookable,
                "该时段留给现场取号或加急窗口，不能网上预约",
                "this slot is kept for walk-ins or the expedite desk and cannot be booked online",
            ));
        }
        let now = self.clock.now();
        if slot.starts_at <= now {
            return Err(AppError::new(
                Code::SlotInPast,
                "该时段已经开始或已过去",
                "this slot has already started",
            ));
        }
        self.check_released(slot.day).await?;
        let last = self.clock.today() + TimeDelta::days(i64::from(self.config.horizon_days));
        if slot.day > last {
            return Err(AppError::new(
                Code::DateOutOfRange,
                format!("只能预约{last}及以前的时段"),
                format!("slots can be booked up to {last}"),
            ));
        }
        let hall = self.hall_by_id(&slot.hall_id).await?;
        if !hall.offers(business) {
            return Err(not_offered(&hall, business));
        }
        Ok((slot, hall))
    }

    /// The answer to a full slot, with alternatives computed at most once per cache period:
    /// at release time thousands of citizens ask for the same full slot within a second.
    async fn slot_full(&self, slot: &Slot, hall: &Hall, business: &str) -> AppError {
        let key = (slot.id, business.to_string());
        let details = match self.caches.alternatives(&key) {
            Some(d) => d,
            None => {
                let value = match self.alternatives(slot, hall, business).await {
                    Ok(a) => json!({ "alternatives": a }),
                    Err(_) => json!({}),
                };
                let d: std::sync::Arc<serde_json::value::RawValue> =
                    serde_json::value::to_raw_value(&value)
                        .expect("JSON values serialise")
                        .into();
                self.caches.set_alternatives(key, d.clone());
                d
            }
        };
        AppError::new(
            Code::SlotFull,
            "该时段已约满，请选择其他时段或其他大厅",
            "this slot is full; choose another time or another hall",
        )
        .with_shared_details(details)
    }

    /// Holds a seat (M3: the seat counts against capacity at once).
    pub async fn hold(
        &self,
        input: &HoldInput,
        client_addr: Option<String>,
    ) -> AppResult<HoldView> {
        let business = self
            .catalogue
            .business(&input.business)
            .ok_or_else(|| unknown_business(&input.business))?;
        let (slot, hall) = self.bookable_slot(input.slot_id, &business.code).await?;
        if self.caches.is_full(slot.id) {
            Metrics::inc(&self.metrics.holds_refused_full);
            return Err(self.slot_full(&slot, &hall, &business.code).await);
        }
        let now = self.clock.now();
        let r = self
            .store
            .create_hold(&NewHold {
                id: new_hold_id(slot.id, &business.code, now),
                limits: self.limit_rules(&[(
                    "hold-addr",
                    client_addr.as_deref(),
                    self.config.limits.holds_per_address,
                )]),
                slot_id: slot.id,
                business: business.code.clone(),
                now,
                expires_at: now + self.config.hold_ttl,
                client_addr,
            })
            .await;
        match r {
            Ok(h) => {
                self.caches.clear_full(slot.id);
                Metrics::inc(&self.metrics.holds_created);
                // The counter read before the hold, plus this hold: a lower bound, good enough
                // for display and free of a second read on the hot path.
                let mut s = slot;
                s.taken = (s.taken + 1).min(s.capacity);
                Ok(HoldView {
                    hold_id: h.id,
                    business: h.business,
                    slot: slot_view(&s, hall.slot_minutes),
                    expires_at: h.expires_at,
                })
            }
            Err(StoreError::SlotFull) => {
                self.caches.mark_full(slot.id);
                Metrics::inc(&self.metrics.holds_refused_full);
                Err(self.slot_full(&slot, &hall, &business.code).await)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Confirms a hold with the applicant's identity: eligibility is checked again against the
    /// visit date, and the identity binding (M3) is enforced by the database.
    pub async fn confirm(
        &self,
        p: &Principal,
        input: &ConfirmInput,
        client_addr: Option<String>,
    ) -> AppResult<BookingView> {
        let channel = crate::channels::of_citizen_request(p)?;
        crate::channels::check_stated(input.channel.as_deref(), channel)?;
        self.confirm_on(channel, input, client_addr).await
    }

    /// Confirms on a channel the caller was already found to be.
    pub(crate) async fn confirm_on(
        &self,
        channel: wujing_domain::Channel,
        input: &ConfirmInput,
        client_addr: Option<String>,
    ) -> AppResult<BookingView> {
        let applicant = self.parse_applicant(&input.applicant)?;
        let (slot_id, business) = parse_hold_id(&input.hold_id).ok_or_else(hold_not_found)?;
        let slot = self.slot_meta(slot_id).await?.ok_or_else(hold_not_found)?;
        // The code first: a refusal shows the records' reasons only to whoever gave it.
        // The code is verified here (wrong tries count) and used up only with the booking, in
        // its transaction: a confirmation refused for any reason (the hold expired, not
        // eligible, the identity already booked) leaves the code for the retry, and of two
        // confirmations with one code only one can book.
        let mut phone_code_id = None;
        let control = match input.phone_code.as_deref() {
            Some(code) => {
                phone_code_id = Some(
                    self.check_phone_code(&applicant.phone, "book", code)
                        .await?,
                );
                Control::Phone
            }
            None if self.config.require_phone_code => {
                return Err(AppError::new(
                    Code::PhoneCodeRequired,
                    "请先获取并填写手机验证码",
                    "ask for the code sent to your phone and enter it",
                ))
            }
            None => Control::None,
        };
        // A residence permit's fee band follows from its duration (issue 14 §2).
        let mut answers = input.answers.clone();
        wujing_domain::foreign::complete_answers(business, &mut answers);
        self.require_eligible(business, &applicant, &answers, slot.day, control)
            .await?;
        let fee = self
            .catalogue
            .terms(business, slot.day)
            .and_then(|t| t.fee_for(answers.option.as_deref()));
        let (id_kind, id_number, nationality) = crate::lottery::identity_parts(&applicant.identity);
        let lang = crate::notify::Lang::parse(input.lang.as_deref());
        let hall = self.hall_by_id(&slot.hall_id).await?;
        let email = match input
            .email
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            Some(e) => Some(crate::notify::parse_email(e)?),
            None => None,
        };
        let notices = |code: &str| {
            let text = self.confirmation_text(lang, code, business, &hall, &slot);
            let mut v = vec![crate::notify::message(
                format!("confirm:{code}"),
                &applicant.phone,
                "confirmation",
                text.clone(),
                self.clock.now(),
            )];
            if let Some(e) = &email {
                let mut m = crate::notify::message(
                    format!("confirm-mail:{code}"),
                    e,
                    "confirmation",
                    text,
                    self.clock.now(),
                );
                m.channel = "email".into();
                v.push(m);
            }
            v
        };
        let code = new_code(self.clock.now());
        let mut nb = NewBooking {
            notices: notices(&code),
            lang: lang.code().to_string(),
            code,
            hold_id: input.hold_id.clone(),
            business: business.to_string(),
            option_code: answers.option.clone(),
            // A foreigner's linked passports share one key (issue 14 §2).
            identity_key: self.booking_key(&applicant.identity).await?,
            id_kind,
            id_number,
            nationality,
            name: applicant.name.clone(),
            phone: applicant.phone.clone(),
            answers_json: serde_json::to_string(&answers).unwrap_or_else(|_| "{}".into()),
            fee_yuan: fee,
            channel: channel.as_str().to_string(),
            now: self.clock.now(),
            limits: self.limit_rules(&[
                (
                    "identity",
                    Some(self.identity_key(&applicant.identity).as_str()),
                    self.config.limits.confirms_per_identity,
                ),
                (
                    "phone",
                    Some(applicant.phone.as_str()),
                    self.config.limits.confirms_per_phone,
                ),
                (
                    "confirm-addr",
                    client_addr.as_deref(),
                    self.config.limits.confirms_per_address,
                ),
            ]),
            client_addr,
            phone_code_id,
        };
        for _ in 0..5 {
            match self.store.confirm_hold(&nb).await {
                Ok(b) => {
                    Metrics::inc(&self.metrics.bookings_confirmed);
                    return self.booking_view(&b).await;
                }
                Err(StoreError::CodeTaken) => {
                    nb.code = new_code(nb.now);
                    nb.notices = notices(&nb.code);
                }
                Err(e) => return Err(confirm_error(e)),
            }
        }
        Err(AppError::new(
            Code::InternalError,
            "系统内部错误，请重试",
            "internal error; please retry",
        ))
    }

    /// Rate rules for the given `(kind, value, limit)`s, skipping absent values and limits of 0.
    /// Keys are blind indexes: the counters table never holds an identity number, phone or
    /// address, nor an unkeyed hash of one that a copy could be searched with.
    pub(crate) fn limit_rules(
        &self,
        parts: &[(&str, Option<&str>, u32)],
    ) -> Vec<wujing_store::RateRule> {
        let keys = self.store.keys();
        parts
            .iter()
            .filter(|(_, v, limit)| v.is_some() && *limit > 0)
            .map(|(kind, v, limit)| wujing_store::RateRule {
                key: format!("{kind}:{}", keys.index(kind, v.unwrap_or_default())),
                limit: *limit,
            })
            .collect()
    }

    /// The failure limits of an owner proof of `subject` (a booking code or a lottery entry)
    /// from `client_addr`: per subject, so that one booking cannot be searched for its identity
    /// number, and per address, so that many cannot.
    fn proof_rules(&self, subject: &str, client_addr: Option<&str>) -> Vec<wujing_store::RateRule> {
        let l = &self.config.limits;
        self.limit_rules(&[
            ("proof", Some(subject), l.proofs_per_code),
            ("proof_addr", client_addr, l.proofs_per_address),
        ])
    }

    /// Checks an owner proof: `matches` compares the identity number once the attempt is
    /// counted (first, atomically, in the database), and a match takes the attempt back, so
    /// only failures use up the limits. Over a limit the proof is refused even when right,
    /// until the window ends: the way on is the phone code (my bookings).
    pub(crate) async fn owner_proof<T>(
        &self,
        subject: &str,
        client_addr: Option<&str>,
        matches: impl std::future::Future<Output = AppResult<Option<T>>>,
    ) -> AppResult<Option<T>> {
        let rules = self.proof_rules(subject, client_addr);
        let now = self.clock.now();
        self.store
            .count_owner_proof(&rules, now)
            .await
            .map_err(proof_error)?;
        let found = matches.await?;
        if found.is_some() {
            self.store.forgive_owner_proof(&rules, now).await?;
        }
        Ok(found)
    }

    pub(crate) async fn owned_booking(
        &self,
        code: &str,
        id_number: &str,
        client_addr: Option<&str>,
    ) -> AppResult<Booking> {
        let code = code.trim().to_ascii_uppercase();
        let proof = self.normalise_proof(id_number);
        let found = self
            .owner_proof(&format!("booking:{code}"), client_addr, async {
                Ok(self
                    .store
                    .booking_by_code(&code)
                    .await?
                    .filter(|b| b.id_number == proof))
            })
            .await?;
        // A wrong identity number gets the same answer as an unknown code, so that codes
        // cannot be probed for bookings.
        found.ok_or_else(|| {
            AppError::new(
                Code::BookingNotFound,
                "没有找到与该预约号和证件号码相符的预约",
                "no booking matches this code and identity number",
            )
        })
    }

    pub async fn booking(
        &self,
        code: &str,
        proof: &OwnerProof,
        client_addr: Option<&str>,
    ) -> AppResult<BookingView> {
        let b = self
            .owned_booking(code, &proof.id_number, client_addr)
            .await?;
        self.booking_view(&b).await
    }

    /// Cancels a booking. The seat returns to the public pool only after the configured delay
    /// (NOTES.md §2: immediate return is how seats are handed to a buyer).
    pub async fn cancel(
        &self,
        code: &str,
        proof: &OwnerProof,
        client_addr: Option<&str>,
    ) -> AppResult<BookingView> {
        let b = self
            .owned_booking(code, &proof.id_number, client_addr)
            .await?;
        if b.status == BookingStatus::Used {
            return Err(used());
        }
        let now = self.clock.now();
        if b.slot.starts_at <= now {
            return Err(AppError::new(
                Code::BookingStarted,
                "预约时段已开始，不能再取消",
                "the booked slot has started and can no longer be cancelled",
            ));
        }
        let c = self
            .store
            .cancel_booking(b.id, now, now + self.config.return_delay)
            .await
            .map_err(confirm_error)?;
        if self.config.return_delay <= TimeDelta::zero() {
            self.caches.seats_freed();
        }
        Metrics::inc(&self.metrics.bookings_cancelled);
        self.booking_view(&c).await
    }

    /// Moves a booking to another slot: the new seat is taken before the old one is released.
    pub async fn reschedule(
        &self,
        code: &str,
        input: &RescheduleInput,
        client_addr: Option<&str>,
    ) -> AppResult<BookingView> {
        let b = self
            .owned_booking(code, &input.id_number, client_addr)
            .await?;
        match b.status {
            BookingStatus::Active => {}
            BookingStatus::Used => return Err(used()),
            BookingStatus::Cancelled => return Err(not_active()),
        }
        if b.slot.id == input.slot_id {
            return Err(AppError::new(
                Code::SameSlot,
                "新时段与原时段相同",
                "the new slot is the one already booked",
            ));
        }
        let (slot, hall) = self.bookable_slot(input.slot_id, &b.business).await?;
        let now = self.clock.now();
        match self
            .store
            .reschedule_booking(b.id, slot.id, now, now + self.config.return_delay)
            .await
        {
            Ok(moved) => {
                if self.config.return_delay <= TimeDelta::zero() {
                    self.caches.seats_freed();
                }
                Metrics::inc(&self.metrics.bookings_rescheduled);
                self.booking_view(&moved).await
            }
            Err(StoreError::SlotFull) => Err(self.slot_full(&slot, &hall, &b.business).await),
            Err(e) => Err(confirm_error(e)),
        }
    }

    /// Free slots near a full one (M2): the nearest in the same hall, and the same time in other
    /// sites offering the business, same district first and then the least loaded.
    pub(crate) async fn alternatives(
        &self,
        slot: &Slot,
        hall: &Hall,
        business: &str,
    ) -> AppResult<AlternativesView> {
        let now = self.clock.now();
        let index = self.hall_index().await?;
        let halls: BTreeMap<&String, &Hall> = index
            .iter()
            .filter(|(_, h)| h.offers(business))
            .map(|(id, h)| (id, &**h))
            .collect();
        let last = self.clock.today() + TimeDelta::days(i64::from(self.config.horizon_days));
        let mut same = self
            .store
            .slots(&SlotQuery {
                hall_ids: Some(vec![hall.id.clone()]),
                from: Some(slot.day),
                to: Some((slot.day + TimeDelta::days(7)).min(last)),
                pool: Some(Pool::Online),
                only_free: true,
                starts_after: Some(now),
                ..Default::default()
            })
            .await?;
        same.retain(|s| s.id != slot.id);
        same.sort_by_key(|s| (s.starts_at - slot.starts_at).num_minutes().abs());
        let mut others = self
            .store
            .slots(&SlotQuery {
                from: Some(slot.day),
                to: Some(slot.day),
                start: Some(slot.start),
                pool: Some(Pool::Online),
                only_free: true,
                starts_after: Some(now),
                ..Default::default()
            })
            .await?;
        others.retain(|s| s.hall_id != hall.id && halls.contains_key(&s.hall_id));
        others.sort_by(|a, b| {
            let key = |s: &Slot| {
                let other_district = halls[&s.hall_id].district_id != hall.district_id;
                (other_district, s.taken as f64 / s.capacity.max(1) as f64)
            };
            let (ka, kb) = (key(a), key(b));
            ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
        });
        let view = |s: &Slot| {
            let h = halls.get(&s.hall_id).copied().unwrap_or(hall);
            AlternativeView {
                slot: slot_view(s, h.slot_minutes),
                hall_name_zh: h.name_zh.clone(),
                hall_name_en: h.name_en.clone(),
                same_district: h.district_id == hall.district_id,
            }
        };
        Ok(AlternativesView {
            same_hall: same.iter().take(ALTERNATIVES).map(view).collect(),
            other_halls: others.iter().take(ALTERNATIVES).map(view).collect(),
        })
    }

    /// The seat a live hold keeps, for the page that asks for confirmation; an expired or
    /// unknown hold answers `hold_expired`, since to the citizen both mean "choose again".
    pub async fn held_seat(&self, hold_id: &str) -> AppResult<HeldSeat> {
        let gone = || {
            AppError::new(
                Code::HoldExpired,
                "保留已过期，请重新选择时段",
                "the hold has expired; choose a time again",
            )
        };
        let hold = self.store.hold(hold_id).await?.ok_or_else(gone)?;
        let slot = self.slot_meta(hold.slot_id).await?.ok_or_else(gone)?;
        Ok(HeldSeat {
            day: slot.day,
            start: slot.start,
            hall: self.hall(&slot.hall_id).await?,
            expires_at: hold.expires_at,
        })
    }

    async fn visit_of(&self, booking_id: i64) -> AppResult<Option<VisitView>> {
        let Some(t) = self.store.ticket_of_booking(booking_id).await? else {
            return Ok(None);
        };
        let application = match self.store.application_of(t.id).await? {
            None => None,
            Some(a) => Some(self.visit_application(a).await?),
        };
        let receipt = self
            .receipt_of(&t)
            .await?
            .map(|(p, refunded_at)| VisitReceipt {
                receipt_no: p.receipt_no,
                amount_yuan: p.amount_yuan,
                paid_at: p.paid_at,
                refunded_at,
            });
        Ok(Some(VisitView {
            ticket: t.label,
            ticket_status: t.status,
            checked_in_at: t.created_at,
            application,
            receipt,
        }))
    }

    /// A ticket's payment and when it was refunded, if it was: read from its hall's day of
    /// payments (the reconciliation's query), which carries the refund.
    pub(crate) async fn receipt_of(
        &self,
        t: &wujing_store::Ticket,
    ) -> AppResult<Option<(wujing_store::Payment, Option<DateTime<Utc>>)>> {
        Ok(self
            .store
            .payments_of_day(&t.hall_id, t.day)
            .await?
            .into_iter()
            .find(|d| d.payment.ticket_id == t.id)
            .map(|d| (d.payment, d.refunded_at)))
    }

    /// An application as its applicant sees it: state, history, next step, collection.
    pub(crate) async fn visit_application(
        &self,
        a: wujing_store::Application,
    ) -> AppResult<VisitApplication> {
        use wujing_domain::application::{Collection, State};
        let events = self.store.application_events(a.id).await?;
        let hall = self.hall_by_id(&a.hall_id).await?;
        let (next_step_zh, next_step_en) =
            crate::progress::next_step(&a, &crate::progress::place(&hall));
        let state = State::parse(&a.status);
        let method = Collection::parse(&a.collection_method).unwrap_or(Collection::Counter);
        let mail_address = match method {
            Collection::Mail => self
                .store
                .application_mail_address(a.id)
                .await?
                .map(|m| crate::progress::mask_address(&m)),
            _ => None,
        };
        Ok(VisitApplication {
            status_zh: state.map_or(a.status.clone(), |s| s.name_zh().into()),
            status_en: state.map_or(a.status.clone(), |s| s.name_en().into()),
            history: crate::progress::steps(&events),
            next_step_zh,
            next_step_en,
            collection_method: method.as_str().into(),
            collection_zh: method.name_zh().into(),
            collection_en: method.name_en().into(),
            can_choose_collection: state.is_some_and(Collection::can_choose_in),
            mail_address,
            tracking_number: a.tracking_number,
            refusal_reason: a.refusal_reason,
            status: a.status,
            ready_by: a.ready_by,
            missing: a.missing,
            supplement_due: a.supplement_due,
            expedited: a.expedited,
        })
    }

    pub(crate) async fn booking_view(&self, b: &Booking) -> AppResult<BookingView> {
        let hall = self.hall_by_id(&b.slot.hall_id).await?;
        let terms = self.catalogue.terms(&b.business, b.slot.day);
        let (bzh, ben) = self
            .catalogue
            .business(&b.business)
            .map_or((b.business.clone(), b.business.clone()), |x| {
                (x.name_zh.clone(), x.name_en.clone())
            });
        let sv = slot_view(&b.slot, hall.slot_minutes);
        // Only a used booking has a visit to read: views of active bookings (the confirmation
        // at the release minute among them) cost no extra query.
        let visit = match b.status {
            BookingStatus::Used => self.visit_of(b.id).await?,
            _ => None,
        };
        Ok(BookingView {
            code: b.code.clone(),
            status: b.status.as_str().to_string(),
            business: NamedRef {
                id: b.business.clone(),
                name_zh: bzh,
                name_en: ben,
            },
            option: b.option_code.clone(),
            hall: NamedRef {
                id: hall.id.clone(),
                name_zh: hall.name_zh.clone(),
                name_en: hall.name_en.clone(),
            },
            address_zh: hall.address_zh.clone(),
            address_en: hall.address_en.clone(),
            date: sv.date,
            start: sv.start,
            end: sv.end,
            applicant: ApplicantView {
                name: b.name.clone(),
                id_number: mask_id_number(&b.id_number),
                phone: mask_phone(&b.phone),
            },
            fee_yuan: b.fee_yuan,
            processing_working_days: terms
                .as_ref()
                .filter(|t| t.version.processing_calendar_days.is_none())
                .map(|t| t.version.processing_working_days),
            processing_calendar_days: terms
                .as_ref()
                .and_then(|t| t.version.processing_calendar_days),
            channel: b.channel.clone(),
            created_at: b.created_at,
            cancelled_at: b.cancelled_at,
            reschedule_count: b.reschedule_count,
            visit,
            slot_id: b.slot.id,
            starts_at: b.slot.starts_at,
        })
    }
}

/// An owner proof over its failure limits: `proof_throttled` with the seconds to wait.
pub(crate) fn proof_error(e: StoreError) -> AppError {
    match e {
        StoreError::RateLimited { retry_after_secs } => {
            let secs = retry_after_secs.max(1) as u64;
            let mut err = AppError::new(
                Code::ProofThrottled,
                format!("证件号码核对失败次数过多，请{secs}秒后再试，或用手机验证码查询我的预约"),
                format!("too many failed identity checks; try again in {secs} s, or find your bookings with a phone code"),
            )
            .with_details(serde_json::json!({ "retry_after_seconds": secs }));
            err.retry_after = Some(secs);
            err
        }
        other => other.into(),
    }
}

fn hold_not_found() -> AppError {
    AppError::new(
        Code::HoldNotFound,
        "没有找到该锁定的时段，请重新选择",
        "the hold was not found; choose a slot again",
    )
}

fn used() -> AppError {
    AppError::new(
        Code::BookingUsed,
        "该预约已签到办理，不能再改约或取消",
        "the booking has been checked in and used; it can no longer be rescheduled or cancelled",
    )
}

fn not_active() -> AppError {
    AppError::new(
        Code::BookingNotActive,
        "该预约已取消",
        "the booking is no longer active",
    )
}

pub(crate) fn confirm_error(e: StoreError) -> AppError {
    match e {
        StoreError::NotFound("hold") => hold_not_found(),
        StoreError::HoldExpired => AppError::new(
            Code::HoldExpired,
            "锁定的时段已超时释放，请重新选择",
            "the hold has expired and its seat was released; choose a slot again",
        ),
        StoreError::HoldUsed => AppError::new(
            Code::HoldUsed,
            "该锁定已用于一笔预约",
            "this hold has already been used for a booking",
        ),
        StoreError::AlreadyBooked => AppError::new(
            Code::AlreadyBooked,
            "您已有一笔同类业务的有效预约；如需改期，请使用改约",
            "this identity already has an active booking for this business; reschedule it instead",
        ),
        StoreError::BookingNotActive => not_active(),
        StoreError::BookingUsed => used(),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_ids_carry_slot_and_business_and_sort_by_time() {
        let t = chrono::DateTime::from_timestamp_millis(1_790_000_000_000).unwrap();
        let a = new_hold_id(42, "passport_first", t);
        let b = new_hold_id(
            7,
            "hkm_endorsement_g",
            t + chrono::TimeDelta::milliseconds(1),
        );
        assert_eq!(parse_hold_id(&a), Some((42, "passport_first")));
        assert_eq!(parse_hold_id(&b), Some((7, "hkm_endorsement_g")));
        assert!(a < b, "{a} < {b}");
        assert_ne!(a, new_hold_id(42, "passport_first", t), "random part");
        assert_eq!(parse_hold_id("42.passport_first.abc"), None);
        assert_eq!(parse_hold_id("nonsense"), None);
    }

    #[test]
    fn booking_codes_carry_at_least_40_random_bits() {
        let bits = CODE_RANDOM_CHARS as f64 * (CODE_ALPHABET.len() as f64).log2();
        assert!(bits >= 40.0, "{bits}");
        let t = chrono::DateTime::from_timestamp(1_790_000_040, 0).unwrap();
        assert_eq!(new_code(t).len(), 2 + CODE_RANDOM_CHARS);
    }

    #[test]
    fn codes_are_readable_and_share_a_prefix_within_a_minute() {
        let t = chrono::DateTime::from_timestamp(1_790_000_040, 0).unwrap();
        let (a, b) = (new_code(t), new_code(t + chrono::TimeDelta::seconds(10)));
        for c in [&a, &b] {
            assert_eq!(c.len(), 12);
            assert!(c.bytes().all(|b| CODE_ALPHABET.contains(&b)), "{c}");
        }
        assert_eq!(a[..2], b[..2]);
        assert_ne!(a[..2], new_code(t + chrono::TimeDelta::minutes(1))[..2]);
    }
}

/// A held seat as the confirmation page shows it.
#[derive(Debug, Clone)]
pub struct HeldSeat {
    pub day: chrono::NaiveDate,
    pub start: chrono::NaiveTime,
    pub hall: crate::HallView,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}
