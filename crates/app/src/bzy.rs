//! 办证易 (issue 17, docs/KIOSK.md §7.1): the card holder's fees due paid on the kiosk's
//! terminal, round the clock (shared with 网e捷), and the self-service re-issue of Hong
//! Kong/Macao tourist endorsements on an e-card permit (RULES.md §6).
//!
//! **Fees due.** What a holder owes is what the payments use case has open for them: their
//! online applications (全程网办) awaiting payment, each at the fee fixed when it was priced.
//! Counter fees are taken at the window with the service and are never "due" afterwards. A
//! card read proves holding the card, nothing more: the kiosk shows only the holder's own fees,
//! by business and amount. The kiosk starts (or reuses) the purpose's payment through the
//! payment port, its terminal charges the order's reference (`payment.charge`), and the
//! server settles it with the provider ([`App::settle_terminal_payment`]): only a `paid` in the
//! database is paid, and the purpose's hook then submits the application as an online payment
//! would.
//!
//! **Re-issue.** Card read → [`App::reissue_offer`] (the rules of
//! [`wujing_domain::reissue::assess`] on the registry and the endorsements on record) → the
//! face match on the kiosk (the chip's photo against a live one; only `match` with liveness
//! `passed` is accepted, and the server checks the verdict again) → [`App::reissue_open`]
//! (one live re-issue per permit, held by the database) → [`App::reissue_choose`] (priced
//! from the catalogue, the payment started) → the terminal → [`App::reissue_paid`] (settled,
//! the endorsements recorded and the payload signed) → `card_writer.write_endorsement` →
//! [`App::reissue_written`] (the read-back hash must be the payload's). Any failure is
//! [`App::reissue_failed`] with its reason: the endorsements recorded are deleted and a fee
//! taken is refunded through the port. Every step is audited with the holder's blind key;
//! nothing personal is logged. A re-issue left open for [`STALE_MINUTES`] is failed as
//! `abandoned` (and refunded) by the next opening of the permit or the sweeper.

use crate::admin::Actor;
use crate::authz::{Action, Principal};
use crate::payments::{PaymentPurpose, PaymentStatus};
use crate::{App, AppError, AppResult, Code};
use base64::Engine;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use wujing_domain::idnum::mask_id_number;
use wujing_domain::reissue::{self, Destination, EndorsementRecord, Offer, Refusal};
use wujing_store::{AdminChange, AdminOutcome, OnlineBy, Reissue, ReissueStep, StoreError};

/// The payment purpose of a re-issue (`id` is the re-issue's).
pub const REISSUE_PURPOSE: &str = "endorsement_reissue";

/// A re-issue untouched this long was left by its kiosk (the citizen walked away, the page
/// died): failed as `abandoned`, a fee taken refunded.
pub const STALE_MINUTES: i64 = 15;

/// The named secret (in the store) the endorsement payloads are signed with.
pub const PAYLOAD_SECRET: &str = "endorsement_payload_hmac";

/// The card read at the kiosk: the holder's identity number from the chip.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardHolder {
    pub id_number: String,
}

/// A fee the card holder owes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FeeDue {
    /// The payment purpose (`online_application`) and its id: what `pay` names.
    pub purpose_kind: String,
    pub purpose_id: i64,
    pub business_zh: String,
    pub business_en: String,
    /// The online application's reference (not personal data: the citizen's receipt shows it).
    pub reference: String,
    pub amount_yuan: i64,
}

/// The holder's fees due, their identity shown masked.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FeesDue {
    pub holder: String,
    pub fees: Vec<FeeDue>,
}

/// Which fee to pay.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayFee {
    pub id_number: String,
    pub purpose_kind: String,
    pub purpose_id: i64,
}

/// What the kiosk's terminal is to charge.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TerminalCharge {
    pub payment_id: i64,
    /// The order's reference at the provider: `payment.charge`'s `reference`.
    pub reference: String,
    pub amount_yuan: i64,
    pub amount_fen: i64,
    pub subject_zh: String,
    pub subject_en: String,
}

/// The terminal approved: its transaction id, and the holder (the server checks that the
/// payment is theirs).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TerminalApproved {
    pub id_number: String,
    pub transaction_id: String,
}

/// The terminal declined (`declined`, or another error): recorded, nothing paid.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TerminalDeclined {
    pub id_number: String,
    /// The bridge's error code (`declined`, `timeout`, `device_error`, …).
    pub code: String,
}

/// A paid fee's receipt, as printed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KioskReceipt {
    /// The row's number: the receipt's address for this kiosk's printer, never shown (it counts
    /// the payments taken).
    pub payment_id: i64,
    /// The payment order's number the citizen is shown and told to keep: the provider's order
    /// reference, the one on their bank or wallet statement and the one the payments office
    /// finds the payment by.
    pub order_no: String,
    pub subject_zh: String,
    pub subject_en: String,
    pub amount_yuan: i64,
    pub paid_at: Option<DateTime<Utc>>,
    /// The holder, masked.
    pub holder: String,
}

/// One option the holder may choose, priced.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EndorsementOption {
    /// `3m1`, `3m2`, `1y1`, `1y2`.
    pub option: String,
    pub months: u32,
    pub entries: u32,
    /// The fee per destination.
    pub fee_yuan: u32,
    /// Types for which Macao offers it too (Macao's G has 3m1 and 1y1 only).
    pub macau_types: Vec<String>,
}

/// What the holder may re-issue.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OfferView {
    /// The permit, masked (`CA****174`).
    pub permit: String,
    pub permit_expires_on: NaiveDate,
    /// `G` and `L`, or `L` only.
    pub types: Vec<String>,
    pub options: Vec<EndorsementOption>,
}

/// The face-matching port's verdict (the bridge's `face.match`; the photos stay on the kiosk).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FaceVerdict {
    #[serde(rename = "match")]
    pub matched: bool,
    pub score: f64,
    pub threshold: f64,
    /// `passed` or `failed`.
    pub liveness: String,
    pub provider: String,
}

/// The face matched: open a re-issue.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenReissue {
    pub id_number: String,
    pub face: FaceVerdict,
}

/// An opened re-issue and what it may be.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReissueOpened {
    pub id: i64,
    pub offer: OfferView,
}

/// The citizen's choice.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReissueChoice {
    pub id_number: String,
    /// `G` or `L`.
    pub kind: String,
    /// `hk`, `macau`, or both.
    pub destinations: Vec<String>,
    pub option: String,
}

/// One endorsement to be written.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EndorsementLine {
    pub destination: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub option: String,
    pub entries: u32,
    pub valid_until: NaiveDate,
    pub fee_yuan: u32,
}

/// The chosen re-issue, priced, and the terminal's charge.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReissueCharge {
    pub id: i64,
    pub lines: Vec<EndorsementLine>,
    pub charge: TerminalCharge,
}

/// Paid and signed: what the card writer writes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReissueSigned {
    pub id: i64,
    /// The permit's number (`card_writer.write_endorsement`'s `document_number`; not shown).
    pub document_number: String,
    pub lines: Vec<EndorsementLine>,
    /// Base64 of the signed payload, written as given.
    pub payload: String,
    /// SHA-256 (hex) of the payload's bytes: what the read-back must hash to.
    pub payload_sha256: String,
}

/// The card writer's read-back.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReissueWrite {
    pub read_back_sha256: String,
}

/// Why a re-issue stopped at the kiosk.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReissueFailure {
    /// `payment_declined`, `write_failed`, `cancelled` or `timeout`.
    pub reason: String,
}

/// A re-issue's outcome as the kiosk shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReissueOutcome {
    pub id: i64,
    /// `written` or `failed`.
    pub status: String,
    pub failure: Option<String>,
    /// A fee taken was (or is being) refunded.
    pub refunded: bool,
}

/// The citizen's words for a refusal (the kiosk shows both languages).
pub fn refusal_text(r: Refusal) -> (&'static str, &'static str) {
    match r {
        Refusal::NotInRegistry => (
            "没有查到您的户籍信息，请到窗口办理",
            "your registry record was not found; please go to a counter",
        ),
        Refusal::StateFunctionary => (
            "登记备案的国家工作人员不能自助办理签注，请持审批材料到窗口办理",
            "registered state functionaries cannot renew at a kiosk; please bring your approval to a counter",
        ),
        Refusal::Military => (
            "现役军人不能自助办理签注，请到窗口办理",
            "serving military personnel cannot renew at a kiosk; please go to a counter",
        ),
        Refusal::NoPermit => (
            "没有查到有效的往来港澳通行证，请到窗口办理",
            "no valid Exit-Entry Permit for HK and Macao was found; please go to a counter",
        ),
        Refusal::NotECard => (
            "本机只能为电子往来港澳通行证办理签注，请到窗口办理",
            "the kiosk renews endorsements on the e-card permit only; please go to a counter",
        ),
        Refusal::FirstEndorsement => (
            "首次签注须到窗口办理",
            "a first endorsement is done at a counter",
        ),
        Refusal::ValidityTooShort => (
            "通行证有效期不足4个月，请先到窗口换领通行证",
            "the permit expires within 4 months; please renew the permit at a counter first",
        ),
        Refusal::TypeNotAllowed => (
            "您可自助办理的签注种类不含此项（非广东户籍只能办理团队旅游L签注），其他签注请到窗口办理",
            "that type is not open to you here (outside Guangdong residence, group tour L only); please go to a counter for others",
        ),
        Refusal::OptionNotAllowed => (
            "所选的有效期或次数不能办理，请重新选择或到窗口办理",
            "that validity or number of entries cannot be issued; choose again or go to a counter",
        ),
    }
}

fn refused(r: Refusal) -> AppError {
    let (zh, en) = refusal_text(r);
    AppError::new(Code::EndorsementReissueRefused, zh, en)
        .with_details(json!({ "reason": r.as_str() }))
}

/// `CA****174`: the first two and last three characters.
fn mask_permit(n: &str) -> String {
    let c: Vec<char> = n.chars().collect();
    if c.len() < 6 {
        return "*".repeat(c.len());
    }
    format!(
        "{}{}{}",
        c[..2].iter().collect::<String>(),
        "*".repeat(c.len() - 5),
        c[c.len() - 3..].iter().collect::<String>()
    )
}

fn line_view(l: &reissue::Line) -> EndorsementLine {
    EndorsementLine {
        destination: l.destination.as_str().into(),
        kind: l.kind.clone(),
        option: l.option.clone(),
        entries: l.entries,
        valid_until: l.valid_until,
        fee_yuan: l.fee_yuan,
    }
}

/// The card writer's read-back hash, normalised (trimmed, lower-case hex), and whether it is
/// the payload's `expected` hash: the one check of a write at any kiosk (办证易, 网e捷).
pub(crate) fn read_back(expected: Option<&str>, given: &str) -> (String, bool) {
    let hash = given.trim().to_ascii_lowercase();
    let matches = expected.is_some_and(|e| e == hash);
    (hash, matches)
}

fn hex(b: &[u8]) -> String {
    wujing_domain::audit::hex(b)
}

fn device_of(p: &Principal) -> AppResult<&crate::authz::DevicePrincipal> {
    match p {
        Principal::Device(d) => Ok(d),
        _ => Err(crate::authz::denied(p)),
    }
}

impl App {
    fn holder_key(&self, id_number: &str) -> AppResult<(String, String)> {
        let id = self.parse_resident_id(id_number)?;
        let masked = mask_id_number(id.as_str());
        Ok((
            self.identity_key(&wujing_domain::Identity::Resident(id)),
            masked,
        ))
    }

    /// Writes an audit entry of the kiosk's step (no change of its own).
    async fn kiosk_audit(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        action: &str,
        subject: String,
        citizen: &str,
        detail: serde_json::Value,
    ) -> AppResult<()> {
        let d = device_of(p)?;
        self.audit(
            &Actor::new(p, client_addr).in_hall(&d.hall_id),
            AdminChange::RecordOnly,
            action,
            subject,
            Some(citizen.to_string()),
            detail,
        )
        .await?;
        Ok(())
    }

    /// The card holder's fees due (audited `kiosk.fees_due`).
    pub async fn kiosk_fees_due(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        input: &CardHolder,
    ) -> AppResult<FeesDue> {
        self.require(p, Action::KioskPay, None)?;
        let (key, masked) = self.holder_key(&input.id_number)?;
        let mut fees = Vec::new();
        for id in self.store.awaiting_payment_of(&key).await? {
            let Some(o) = self.store.online_application(&OnlineBy::Id(id)).await? else {
                continue;
            };
            let Some(amount) = o.fee_yuan.filter(|f| *f > 0) else {
                continue;
            };
            let (zh, en) = self
                .catalogue
                .business(&o.business)
                .map(|b| (b.name_zh.clone(), b.name_en.clone()))
                .unwrap_or_else(|| (o.business.clone(), o.business.clone()));
            fees.push(FeeDue {
                purpose_kind: crate::remote::PURPOSE_KIND.into(),
                purpose_id: o.id,
                business_zh: zh,
                business_en: en,
                reference: o.reference,
                amount_yuan: amount,
            });
        }
        self.kiosk_audit(
            p,
            client_addr,
            "kiosk.fees_due",
            format!("identity:{masked}"),
            &key,
            json!({ "fees": fees.len() }),
        )
        .await?;
        Ok(FeesDue {
            holder: masked,
            fees,
        })
    }

    /// The order of a payment as the terminal charges it.
    async fn terminal_charge(&self, payment_id: i64) -> AppResult<TerminalCharge> {
        let p = self
            .store
            .online_payment(payment_id)
            .await?
            .ok_or_else(|| AppError::from(Code::OnlinePaymentNotFound))?;
        let reference = p
            .provider_ref
            .ok_or_else(|| AppError::from(Code::PaymentProviderFailed))?;
        Ok(TerminalCharge {
            payment_id: p.id,
            reference,
            amount_yuan: p.amount_yuan,
            amount_fen: p.amount_yuan * 100,
            subject_zh: p.subject_zh,
            subject_en: p.subject_en,
        })
    }

    /// The online application `purpose_id`, when it is a fee due of `key`.
    async fn due_of(
        &self,
        key: &str,
        purpose_kind: &str,
        purpose_id: i64,
    ) -> AppResult<wujing_store::OnlineApplication> {
        if purpose_kind != crate::remote::PURPOSE_KIND {
            return Err(Code::KioskFeeNotDue.into());
        }
        match self
            .store
            .online_application(&OnlineBy::Id(purpose_id))
            .await?
        {
            Some(o)
                if o.identity_key == key
                    && o.status == "awaiting_payment"
                    && o.fee_yuan.is_some_and(|f| f > 0) =>
            {
                Ok(o)
            }
            _ => Err(Code::KioskFeeNotDue.into()),
        }
    }

    /// Starts (or reuses) the payment of one of the holder's fees due: what the terminal
    /// charges (audited `kiosk.payment_start`).
    pub async fn kiosk_pay(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        input: &PayFee,
    ) -> AppResult<TerminalCharge> {
        self.require(p, Action::KioskPay, None)?;
        let d = device_of(p)?;
        let (key, masked) = self.holder_key(&input.id_number)?;
        let o = self
            .due_of(&key, &input.purpose_kind, input.purpose_id)
            .await?;
        let (zh, en) = self
            .catalogue
            .business(&o.business)
            .map_or(("网上办理", "Online application"), |b| {
                (b.name_zh.as_str(), b.name_en.as_str())
            });
        let view = self
            .start_payment(
                &PaymentPurpose::new(crate::remote::PURPOSE_KIND, o.id),
                o.fee_yuan.unwrap_or_default(),
                &format!("{zh}（网上办理）"),
                &format!("{en} (online)"),
                &format!("/kiosk/{}", d.kind.as_str()),
            )
            .await?;
        let charge = self.terminal_charge(view.id).await?;
        self.kiosk_audit(
            p,
            client_addr,
            "kiosk.payment_start",
            format!("online_payment:{}", view.id),
            &key,
            json!({ "purpose": crate::remote::PURPOSE_KIND, "purpose_id": o.id, "amount_yuan": charge.amount_yuan, "holder": masked }),
        )
        .await?;
        Ok(charge)
    }

    /// The terminal approved a fee's payment: settled with the provider; answers the receipt
    /// once the payment is `paid` (audited `kiosk.payment_paid`), `kiosk_payment_not_confirmed`
    /// otherwise.
    pub async fn kiosk_paid(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        payment_id: i64,
        input: &TerminalApproved,
    ) -> AppResult<KioskReceipt> {
        self.require(p, Action::KioskPay, None)?;
        let (key, masked) = self.holder_key(&input.id_number)?;
        let pay = self
            .store
            .online_payment(payment_id)
            .await?
            .ok_or_else(|| AppError::from(Code::OnlinePaymentNotFound))?;
        // Only the holder's own online application's payment (a paid one stays readable for
        // the receipt).
        let own = pay.purpose_kind == crate::remote::PURPOSE_KIND
            && self
                .store
                .online_application(&OnlineBy::Id(pay.purpose_id))
                .await?
                .is_some_and(|o| o.identity_key == key);
        if !own {
            return Err(Code::KioskFeeNotDue.into());
        }
        let view = self
            .settle_terminal_payment(payment_id, &input.transaction_id)
            .await?;
        if view.status != PaymentStatus::Paid {
            return Err(Code::KioskPaymentNotConfirmed.into());
        }
        // The hook submitted it already; a lost hook is made good here (idempotent).
        self.submit_if_paid(pay.purpose_id).await?;
        self.kiosk_audit(
            p,
            client_addr,
            "kiosk.payment_paid",
            format!("online_payment:{payment_id}"),
            &key,
            json!({ "amount_yuan": view.amount_yuan }),
        )
        .await?;
        self.count_use(p, "pay").await;
        Ok(KioskReceipt {
            payment_id,
            order_no: pay.provider_ref.clone().unwrap_or_default(),
            subject_zh: pay.subject_zh,
            subject_en: pay.subject_en,
            amount_yuan: view.amount_yuan,
            paid_at: view.paid_at,
            holder: masked,
        })
    }

    /// The terminal declined (or failed): recorded (audited `kiosk.payment_declined`); the
    /// payment stays open at the provider and nothing is paid.
    pub async fn kiosk_declined(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        payment_id: i64,
        input: &TerminalDeclined,
    ) -> AppResult<()> {
        self.require(p, Action::KioskPay, None)?;
        let (key, _) = self.holder_key(&input.id_number)?;
        let code: String = input
            .code
            .chars()
            .filter(|c| c.is_ascii_lowercase() || *c == '_')
            .take(30)
            .collect();
        self.kiosk_audit(
            p,
            client_addr,
            "kiosk.payment_declined",
            format!("online_payment:{payment_id}"),
            &key,
            json!({ "code": code }),
        )
        .await
    }

    /// The receipt of a payment this kind of kiosk just took, as a PDF for its printer: the
    /// subject, amount, time, site and payment number, nothing personal (so a guessed number
    /// shows nobody's data). Only a payment paid in the last [`STALE_MINUTES`]; an older one's
    /// receipt is the payments office's.
    pub async fn kiosk_receipt_pdf(&self, p: &Principal, payment_id: i64) -> AppResult<Vec<u8>> {
        self.require(p, Action::KioskPay, None)?;
        let d = device_of(p)?;
        let pay = self
            .store
            .online_payment(payment_id)
            .await?
            .filter(|x| {
                x.status == "paid"
                    && x.paid_at
                        .is_some_and(|t| t > self.clock.now() - TimeDelta::minutes(STALE_MINUTES))
            })
            .ok_or_else(|| AppError::from(Code::OnlinePaymentNotFound))?;
        let h = self.hall(&d.hall_id).await?;
        let paid = pay
            .paid_at
            .unwrap_or_else(|| self.clock.now())
            .with_timezone(&wujing_domain::calendar::china_offset());
        let form = wujing_forms::Form {
            title: "缴费凭条".into(),
            subtitle: format!("Payment receipt · {}", h.name_en),
            rows: vec![
                (
                    "事项 Item".into(),
                    format!("{} {}", pay.subject_zh, pay.subject_en),
                ),
                ("金额 Amount".into(), format!("¥{}", pay.amount_yuan)),
                // The provider's order number, not the row's (a sequential number tells how
                // many payments were taken).
                (
                    "订单号 Order no.".into(),
                    pay.provider_ref.clone().unwrap_or_default(),
                ),
                ("地点 Site".into(), h.name_zh.clone()),
                (
                    "时间 Paid".into(),
                    paid.format("%Y-%m-%d %H:%M").to_string(),
                ),
            ],
            notes: vec![
                "请妥善保管本凭条。".into(),
                "Please keep this receipt.".into(),
            ],
            language: "zh-CN".into(),
        };
        self.render_form(form).await
    }

    // --- Re-issue -----------------------------------------------------------------------

    async fn assess_reissue(&self, id_number: &str) -> AppResult<Result<Offer, Refusal>> {
        let (person, documents) = self.store.facts(id_number).await?;
        let history = self.store.endorsements_of(id_number).await?;
        Ok(reissue::assess(
            person.as_ref(),
            &documents,
            &history,
            self.clock.today(),
        ))
    }

    fn offer_view(&self, o: &Offer) -> OfferView {
        let today = self.clock.today();
        let options = o
            .options
            .iter()
            .filter_map(|opt| {
                let fee = self
                    .catalogue
                    .terms("hkm_endorsement_l", today)
                    .and_then(|t| t.fee_for(Some(opt)))?;
                Some(EndorsementOption {
                    option: opt.clone(),
                    months: if opt.starts_with("1y") { 12 } else { 3 },
                    entries: if opt.ends_with('2') { 2 } else { 1 },
                    fee_yuan: fee,
                    macau_types: o
                        .types
                        .iter()
                        .filter(|t| reissue::on_menu(t, Destination::Macau, opt))
                        .cloned()
                        .collect(),
                })
            })
            .collect();
        OfferView {
            permit: mask_permit(&o.permit_number),
            permit_expires_on: o.permit_expires_on,
            types: o.types.clone(),
            options,
        }
    }

    /// What the card holder may re-issue here, or why not (`endorsement_reissue_refused`
    /// with `details.reason`); audited `endorsement_reissue.assess` either way.
    pub async fn reissue_offer(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        input: &CardHolder,
    ) -> AppResult<OfferView> {
        self.require(p, Action::Endorse, None)?;
        let (key, masked) = self.holder_key(&input.id_number)?;
        let outcome = self.assess_reissue(input.id_number.trim()).await?;
        self.kiosk_audit(
            p,
            client_addr,
            "endorsement_reissue.assess",
            format!("identity:{masked}"),
            &key,
            match &outcome {
                Ok(o) => json!({ "eligible": true, "types": o.types, "options": o.options }),
                Err(r) => json!({ "eligible": false, "reason": r.as_str() }),
            },
        )
        .await?;
        outcome.map(|o| self.offer_view(&o)).map_err(refused)
    }

    /// The face matched on the kiosk: a re-issue of the holder's permit opens (audited
    /// `endorsement_reissue.open`; a verdict that is not a match with liveness passed is
    /// `face_not_verified`, audited `endorsement_reissue.face_refused`).
    pub async fn reissue_open(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        input: &OpenReissue,
    ) -> AppResult<ReissueOpened> {
        self.require(p, Action::Endorse, None)?;
        let d = device_of(p)?;
        let (key, masked) = self.holder_key(&input.id_number)?;
        let f = &input.face;
        let sane = (0.0..=1.0).contains(&f.score) && (0.0..=1.0).contains(&f.threshold);
        let provider: String = f.provider.chars().take(60).collect();
        if !(f.matched && f.liveness == "passed" && sane && f.score >= f.threshold) {
            self.kiosk_audit(
                p,
                client_addr,
                "endorsement_reissue.face_refused",
                format!("identity:{masked}"),
                &key,
                json!({ "match": f.matched, "liveness": f.liveness.chars().take(10).collect::<String>(), "score": f.score, "threshold": f.threshold, "provider": provider }),
            )
            .await?;
            return Err(Code::FaceNotVerified.into());
        }
        let offer = self
            .assess_reissue(input.id_number.trim())
            .await?
            .map_err(refused)?;
        let out = self
            .audit(
                &Actor::new(p, client_addr).in_hall(&d.hall_id),
                AdminChange::Reissue(ReissueStep::OpenReissue {
                    device_id: d.id,
                    hall_id: d.hall_id.clone(),
                    id_number: input.id_number.trim().to_string(),
                    permit_number: offer.permit_number.clone(),
                    stale_before: self.clock.now() - TimeDelta::minutes(STALE_MINUTES),
                }),
                "endorsement_reissue.open",
                format!("permit:{}", mask_permit(&offer.permit_number)),
                Some(key),
                json!({ "face": { "score": f.score, "threshold": f.threshold, "provider": provider } }),
            )
            .await?;
        let AdminOutcome::Created(id) = out else {
            return Err(StoreError::Corrupt("re-issue without an id".into()).into());
        };
        Ok(ReissueOpened {
            id,
            offer: self.offer_view(&offer),
        })
    }

    /// The re-issue `id` of this device, and the holder's key (the card on the reader must
    /// be the one the re-issue was opened for).
    async fn own_reissue(
        &self,
        p: &Principal,
        id: i64,
        id_number: Option<&str>,
    ) -> AppResult<(Reissue, Option<(String, Offer)>)> {
        self.require(p, Action::Endorse, None)?;
        let d = device_of(p)?;
        let r = self
            .store
            .reissue(id)
            .await?
            .filter(|r| r.device_id == d.id)
            .ok_or_else(|| AppError::from(Code::EndorsementReissueNotFound))?;
        let Some(n) = id_number else {
            return Ok((r, None));
        };
        let (key, _) = self.holder_key(n)?;
        let offer = self.assess_reissue(n.trim()).await?.map_err(refused)?;
        if offer.permit_number != r.permit_number {
            return Err(Code::EndorsementReissueNotFound.into());
        }
        Ok((r, Some((key, offer))))
    }

    fn lines_of(&self, offer: &Offer, r: &Reissue) -> AppResult<Vec<reissue::Line>> {
        let dest: Vec<Destination> = r
            .destinations
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .filter_map(Destination::parse)
            .collect();
        reissue::price(
            offer,
            r.kind.as_deref().unwrap_or_default(),
            &dest,
            r.option.as_deref().unwrap_or_default(),
            &self.catalogue,
            self.clock.today(),
        )
        .map_err(refused)
    }

    /// The citizen's choice, checked and priced (RULES.md §4), and its payment started:
    /// what the terminal charges (audited `endorsement_reissue.choose`).
    pub async fn reissue_choose(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        id: i64,
        input: &ReissueChoice,
    ) -> AppResult<ReissueCharge> {
        let (r, facts) = self.own_reissue(p, id, Some(&input.id_number)).await?;
        let (key, offer) = facts.expect("asked with the card");
        let mut dest = Vec::new();
        for d in &input.destinations {
            match Destination::parse(d) {
                Some(x) if !dest.contains(&x) => dest.push(x),
                Some(_) => {}
                None => return Err(refused(Refusal::OptionNotAllowed)),
            }
        }
        dest.sort_by_key(|d| d.as_str());
        let lines = reissue::price(
            &offer,
            &input.kind,
            &dest,
            &input.option,
            &self.catalogue,
            self.clock.today(),
        )
        .map_err(refused)?;
        let amount: i64 = lines.iter().map(|l| i64::from(l.fee_yuan)).sum();
        let destinations = dest
            .iter()
            .map(|d| d.as_str())
            .collect::<Vec<_>>()
            .join(",");
        self.audit(
            &Actor::new(p, client_addr).in_hall(&r.hall_id),
            AdminChange::Reissue(ReissueStep::Choose {
                id,
                device_id: r.device_id,
                kind: input.kind.clone(),
                destinations: destinations.clone(),
                option: input.option.clone(),
                amount_yuan: amount,
            }),
            "endorsement_reissue.choose",
            format!("endorsement_reissue:{id}"),
            Some(key),
            json!({ "type": input.kind, "destinations": destinations, "option": input.option, "amount_yuan": amount }),
        )
        .await?;
        let view = self
            .start_payment(
                &PaymentPurpose::new(REISSUE_PURPOSE, id),
                amount,
                "港澳旅游签注再签",
                "HK/Macao tourist endorsement",
                "/kiosk/bzy",
            )
            .await?;
        Ok(ReissueCharge {
            id,
            lines: lines.iter().map(line_view).collect(),
            charge: self.terminal_charge(view.id).await?,
        })
    }

    /// The terminal approved: the payment is settled with the provider; once `paid`, the
    /// endorsements are recorded and the payload signed (audited `endorsement_reissue.sign`).
    pub async fn reissue_paid(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        id: i64,
        input: &TerminalApproved,
    ) -> AppResult<ReissueSigned> {
        let (r, facts) = self.own_reissue(p, id, Some(&input.id_number)).await?;
        let (key, offer) = facts.expect("asked with the card");
        if r.status != "open" || r.amount_yuan.is_none() {
            return Err(Code::EndorsementReissueState.into());
        }
        let purpose = PaymentPurpose::new(REISSUE_PURPOSE, id);
        let payment = self
            .payment_for(&purpose)
            .await?
            .ok_or_else(|| AppError::from(Code::KioskPaymentNotConfirmed))?;
        let view = self
            .settle_terminal_payment(payment.id, &input.transaction_id)
            .await?;
        if view.status != PaymentStatus::Paid {
            return Err(Code::KioskPaymentNotConfirmed.into());
        }
        let lines = self.lines_of(&offer, &r)?;
        let today = self.clock.today();
        let endorsements: Vec<EndorsementRecord> = lines
            .iter()
            .map(|l| EndorsementRecord {
                id_number: String::new(),
                permit_number: r.permit_number.clone(),
                destination: l.destination,
                kind: l.kind.clone(),
                option: l.option.clone(),
                issued_on: today,
                valid_until: l.valid_until,
            })
            .collect();
        let (payload, payload_sha256) = self
            .sign_payload(("reissue", id), &r.permit_number, self.clock.now(), &lines)
            .await?;
        self.audit(
            &Actor::new(p, client_addr).in_hall(&r.hall_id),
            AdminChange::Reissue(ReissueStep::Sign {
                id,
                device_id: r.device_id,
                endorsements,
                payload_sha256: payload_sha256.clone(),
            }),
            "endorsement_reissue.sign",
            format!("endorsement_reissue:{id}"),
            Some(key),
            json!({ "payment": payment.id, "payload_sha256": payload_sha256 }),
        )
        .await?;
        Ok(ReissueSigned {
            id,
            document_number: r.permit_number,
            lines: lines.iter().map(line_view).collect(),
            payload,
            payload_sha256,
        })
    }

    /// The payload written onto the card: the endorsements as JSON, a full stop, and the
    /// HMAC-SHA256 of the JSON under the store's named secret (base64url). A production
    /// deployment signs with the issuing authority's key in its HSM instead; the card's reader
    /// verifies it. Answers base64 of the bytes and their SHA-256. `subject` names what is
    /// written (`("reissue", id)` here, `("application", id)` for 网e捷's on-site write,
    /// [`crate::wej`]); the same inputs give the same bytes.
    pub(crate) async fn sign_payload(
        &self,
        subject: (&str, i64),
        permit: &str,
        issued_at: DateTime<Utc>,
        lines: &[reissue::Line],
    ) -> AppResult<(String, String)> {
        use hmac::{Hmac, KeyInit, Mac};
        let secret = self
            .store
            .secret(PAYLOAD_SECRET, &crate::auth::random_token())
            .await?;
        let mut doc = json!({
            "v": 1,
            "permit": permit,
            "issued_at": issued_at.to_rfc3339(),
            "endorsements": lines.iter().map(|l| json!({
                "destination": l.destination.as_str(),
                "type": l.kind,
                "option": l.option,
                "entries": l.entries,
                "valid_until": l.valid_until,
            })).collect::<Vec<_>>(),
        });
        doc[subject.0] = json!(subject.1);
        let body = serde_json::to_vec(&doc).expect("a payload serialises");
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
            .expect("HMAC takes any key length");
        mac.update(&body);
        let sig =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        let mut bytes = body;
        bytes.push(b'.');
        bytes.extend_from_slice(sig.as_bytes());
        let sha = hex(&Sha256::digest(&bytes));
        Ok((
            base64::engine::general_purpose::STANDARD.encode(&bytes),
            sha,
        ))
    }

    /// The card writer read back the payload: the re-issue is done (audited
    /// `endorsement_reissue.written`). A read-back of anything else fails it as
    /// `write_mismatch`, with the refund: `card_write_mismatch`.
    pub async fn reissue_written(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        id: i64,
        input: &ReissueWrite,
    ) -> AppResult<ReissueOutcome> {
        let (r, _) = self.own_reissue(p, id, None).await?;
        if r.status != "signed" {
            return Err(Code::EndorsementReissueState.into());
        }
        let (hash, matches) = read_back(r.payload_sha256.as_deref(), &input.read_back_sha256);
        if !matches {
            self.fail_reissue(p, client_addr, &r, "write_mismatch")
                .await?;
            return Err(Code::CardWriteMismatch.into());
        }
        self.audit(
            &Actor::new(p, client_addr).in_hall(&r.hall_id),
            AdminChange::Reissue(ReissueStep::Written {
                id,
                device_id: r.device_id,
                read_back_sha256: hash.clone(),
            }),
            "endorsement_reissue.written",
            format!("endorsement_reissue:{id}"),
            None,
            json!({ "read_back_sha256": hash }),
        )
        .await?;
        self.count_use(p, "reissue").await;
        Ok(ReissueOutcome {
            id,
            status: "written".into(),
            failure: None,
            refunded: false,
        })
    }

    /// The kiosk stopped the re-issue (declined payment, a write that failed, the citizen
    /// cancelled or walked away): failed with the reason, the endorsements it recorded
    /// deleted, a fee taken refunded through the port (audited `endorsement_reissue.fail`).
    pub async fn reissue_failed(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        id: i64,
        input: &ReissueFailure,
    ) -> AppResult<ReissueOutcome> {
        let (r, _) = self.own_reissue(p, id, None).await?;
        let reason = match input.reason.as_str() {
            "payment_declined" | "write_failed" | "cancelled" | "timeout" => input.reason.clone(),
            _ => {
                return Err(AppError::new(
                    Code::BodyInvalid,
                    "原因须为 payment_declined、write_failed、cancelled 或 timeout",
                    "the reason must be payment_declined, write_failed, cancelled or timeout",
                ))
            }
        };
        if r.status == "failed" {
            // Told twice (a retried request): the same answer.
            let refunded = self.reissue_refunded(id).await?;
            return Ok(ReissueOutcome {
                id,
                status: r.status,
                failure: r.failure,
                refunded,
            });
        }
        self.fail_reissue(p, client_addr, &r, &reason).await
    }

    async fn reissue_refunded(&self, id: i64) -> AppResult<bool> {
        Ok(self
            .payment_for(&PaymentPurpose::new(REISSUE_PURPOSE, id))
            .await?
            .is_some_and(|p| {
                matches!(p.status, PaymentStatus::Refunded | PaymentStatus::RefundDue)
            }))
    }

    async fn fail_reissue(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        r: &Reissue,
        reason: &str,
    ) -> AppResult<ReissueOutcome> {
        let actor = Actor::new(p, client_addr).in_hall(&r.hall_id);
        let device = match p {
            Principal::Device(d) => Some(d.id),
            _ => None,
        };
        self.audit(
            &actor,
            AdminChange::Reissue(ReissueStep::Fail {
                id: r.id,
                device_id: device,
                failure: reason.to_string(),
            }),
            "endorsement_reissue.fail",
            format!("endorsement_reissue:{}", r.id),
            None,
            json!({ "reason": reason, "was": r.status }),
        )
        .await?;
        let refunded = self
            .refund_for(
                &actor,
                &PaymentPurpose::new(REISSUE_PURPOSE, r.id),
                &format!("签注再签未完成：{reason}"),
            )
            .await?
            .is_some();
        Ok(ReissueOutcome {
            id: r.id,
            status: "failed".into(),
            failure: Some(reason.to_string()),
            refunded,
        })
    }

    /// Fails and refunds re-issues left live for [`STALE_MINUTES`] (the sweeper): answers how
    /// many.
    pub async fn sweep_reissues(&self) -> AppResult<u32> {
        let before = self.clock.now() - TimeDelta::minutes(STALE_MINUTES);
        let mut n = 0;
        for r in self.store.stale_reissues(before).await? {
            match self
                .fail_reissue(&Principal::Anonymous, None, &r, "abandoned")
                .await
            {
                Ok(_) => n += 1,
                // Finished meanwhile by its kiosk.
                Err(e) if e.code == Code::EndorsementReissueState => {}
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }

    /// The payment hook's arm: a re-issue paid after it ended (the acquirer's notification
    /// came late) is refunded.
    pub(crate) async fn reissue_paid_hook(&self, id: i64) -> AppResult<()> {
        let Some(r) = self.store.reissue(id).await? else {
            return Ok(());
        };
        if r.status == "failed" {
            let actor = Actor {
                id: crate::payments::PAYMENTS_ACTOR.into(),
                name: "payments".into(),
                client_addr: None,
                station: None,
                hall: Some(r.hall_id.clone()),
            };
            self.refund_for(
                &actor,
                &PaymentPurpose::new(REISSUE_PURPOSE, id),
                "签注再签已终止，退回费用",
            )
            .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_permit_number_is_masked_but_for_its_ends() {
        assert_eq!(mask_permit("CA3528174"), "CA****174");
        assert_eq!(mask_permit("C1234"), "*****");
    }
}
