//! Eligibility rules: booking is pre-acceptance (M1).
//!
//! A citizen who books and then is turned away at the counter has lost a trip and a seat that
//! someone else needed. So every rule that can be decided before the visit is decided here, and
//! the check returns *all* failing reasons at once: fixing one problem should never reveal the
//! next. Rules read the applicant's answers and what Wujing knows of the person (its own issued
//! documents and the imported registry records); they never read a clock, the visit date is given.

use crate::catalogue::{Catalogue, DocumentKind, Group};
use crate::idnum::{mask_id_number, ResidentId};
use chrono::{Months, NaiveDate, TimeDelta};
use serde::{Deserialize, Serialize};

/// How a person is identified. Citizens by resident ID number; foreigners by passport.
#[derive(Clone, PartialEq, Eq)]
pub enum Identity {
    Resident(ResidentId),
    Foreign {
        /// ISO 3166-1 alpha-3 (or ICAO) code, upper case.
        nationality: String,
        passport_number: String,
        birth_date: Option<NaiveDate>,
    },
}

impl Identity {
    /// The key under which "one active booking per identity and business" is enforced.
    pub fn key(&self) -> String {
        match self {
            Self::Resident(id) => format!("CHN:{}", id.as_str()),
            Self::Foreign {
                nationality,
                passport_number,
                ..
            } => format!("P:{nationality}:{passport_number}"),
        }
    }

    pub fn group(&self) -> Group {
        match self {
            Self::Resident(_) => Group::Citizen,
            Self::Foreign { .. } => Group::Foreigner,
        }
    }

    pub fn birth_date(&self) -> Option<NaiveDate> {
        match self {
            Self::Resident(id) => Some(id.birth_date()),
            Self::Foreign { birth_date, .. } => *birth_date,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonStatus {
    Active,
    Deceased,
    Emigrated,
    Cancelled,
}

/// A population-registry record (imported).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRecord {
    pub id_number: String,
    pub name: String,
    /// City of household registration (户籍), in Chinese, e.g. `广州`.
    pub hukou_city: String,
    /// City of a residence permit (居住证), if any.
    #[serde(default)]
    pub residence_permit_city: Option<String>,
    #[serde(default)]
    pub residence_permit_expires: Option<NaiveDate>,
    pub status: PersonStatus,
    /// Registered state functionary (登记备案人员): needs the employer's approval to travel.
    #[serde(default)]
    pub state_functionary: bool,
    /// Fingerprints taken at an earlier application are on file (全程网办 needs them: nobody
    /// comes to a counter to give them). Absent in an import: not on file.
    #[serde(default)]
    pub fingerprints_on_file: bool,
    /// Serving military personnel (现役军人): never handled online.
    #[serde(default)]
    pub military: bool,
    /// The registered real-name phone (实名登记手机): where a remote applicant's one-time code
    /// goes. Sealed at rest like the name.
    #[serde(default)]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentStatus {
    Valid,
    Lost,
    Cancelled,
}

/// A document Wujing or the document registry knows to have been issued (imported).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentRecord {
    pub id_number: String,
    pub kind: DocumentKind,
    pub number: String,
    pub issued_on: NaiveDate,
    pub expires_on: NaiveDate,
    pub status: DocumentStatus,
}

/// The applicant's answers to the booking form. Every field is optional: which ones a business
/// needs is decided by its rules, and a missing one is reported as a reason, not as a parse error.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    /// The endorsement or permit option, e.g. `3m1` or `1yM`.
    pub option: Option<String>,
    /// `hk`, `macau` or `both` for HK/Macau endorsements.
    pub destination: Option<String>,
    /// Guardian's resident ID number, required under 16.
    pub guardian_id_number: Option<String>,
    /// The resident ID number of a family member who comes along to help an elderly or
    /// disabled applicant (issue 15 §10): optional at any age, checked when given, printed on
    /// the form so the counter knows who speaks for the applicant.
    #[serde(default)]
    pub companion_id_number: Option<String>,
    /// Why an unexpired document is renewed: `pages_full`, `damaged`, `info_changed`.
    pub renewal_reason: Option<String>,
    /// Relation to the relative visited (T): `spouse`, `parent`, `parent_in_law`, `child`,
    /// `child_spouse`, `sibling`, `grandparent`, `grandchild`.
    pub relation: Option<String>,
    /// The employer is registered (备案) with the PSB (S, multiple entries).
    pub employer_registered: Option<bool>,
    /// A state functionary's employer has approved the trip.
    pub employer_approval: Option<bool>,
    /// HK/Macau approval of study or work (D).
    pub hkm_approval: Option<bool>,
    /// Taiwan-side entry permit held (Taiwan T, D, Y, F, X, C).
    pub taiwan_entry_permit: Option<bool>,
    /// Foreigners: date of entry into China.
    pub entry_date: Option<NaiveDate>,
    /// Foreigners: the current permitted stay ends on this date.
    pub stay_expires_on: Option<NaiveDate>,
    /// Foreigners: days of stay granted by the visa, and days already added by extensions.
    pub original_stay_days: Option<u32>,
    pub extended_days: Option<u32>,
    pub requested_days: Option<u32>,
    /// Foreigners, residence permits: `work`, `study`, `journalist`, `family_reunion`,
    /// `private_affairs` (`foreign::RESIDENCE_CATEGORIES`).
    #[serde(default)]
    pub residence_category: Option<String>,
    /// Foreigners: the visa says a residence permit is required (absent: it does).
    #[serde(default)]
    pub visa_requires_residence: Option<bool>,
    /// Foreigners: the current residence permit expires on this date.
    #[serde(default)]
    pub permit_expires_on: Option<NaiveDate>,
}

// Personal data never reaches a log through `{:?}`: these types mask identity and document
// numbers in their `Debug` output.
impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Resident(id) => write!(f, "Resident({id:?})"),
            Self::Foreign {
                nationality,
                passport_number,
                ..
            } => write!(
                f,
                "Foreign({nationality}, {})",
                mask_id_number(passport_number)
            ),
        }
    }
}

impl std::fmt::Debug for PersonRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersonRecord")
            .field("id_number", &mask_id_number(&self.id_number))
            .field("hukou_city", &self.hukou_city)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for DocumentRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentRecord")
            .field("id_number", &mask_id_number(&self.id_number))
            .field("kind", &self.kind)
            .field("number", &mask_id_number(&self.number))
            .field("expires_on", &self.expires_on)
            .field("status", &self.status)
            .finish()
    }
}

impl std::fmt::Debug for Answers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answers")
            .field("option", &self.option)
            .field("destination", &self.destination)
            .field(
                "guardian_id_number",
                &self.guardian_id_number.as_deref().map(mask_id_number),
            )
            .field(
                "companion_id_number",
                &self.companion_id_number.as_deref().map(mask_id_number),
            )
            .finish_non_exhaustive()
    }
}

/// What Wujing knows when it checks: the visit date and the person's records.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub visit_date: NaiveDate,
    pub person: Option<&'a PersonRecord>,
    pub documents: &'a [DocumentRecord],
}

/// One failing rule: a stable code and a message in each supported language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    pub code: &'static str,
    pub zh: String,
    pub en: String,
}

/// The reasons that come from the population and document registries' records rather than
/// from what the applicant said: who is registered, under which name, with which documents,
/// status and household city. Shown only to an applicant who has proven control of the
/// identity (issue 11): to anyone else they would disclose a stranger's records.
pub const REGISTRY_REASONS: &[&str] = &[
    "identity_not_active",
    "name_mismatch",
    "functionary_approval_required",
    "document_already_held",
    "no_document_to_renew",
    "document_reported_lost",
    "renewal_not_due",
    "document_not_reported_lost",
    "permit_required",
    "permit_expires_too_soon",
    "residence_not_verified",
    "not_resident_of_open_city",
];

/// Whether a reason code comes from the registries' records (see [`REGISTRY_REASONS`]).
pub fn from_registry(code: &str) -> bool {
    REGISTRY_REASONS.contains(&code) || crate::remote::REMOTE_REGISTRY_REASONS.contains(&code)
}

/// A reason with its code and texts (for rule modules beside this one).
/// The relations to the person visited that a family-visit endorsement (T) knows:
/// (code, zh-CN, en).
pub const RELATIONS: [(&str, &str, &str); 8] = [
    ("spouse", "配偶", "Spouse"),
    ("parent", "父母", "Parent"),
    ("child", "子女", "Child"),
    ("parent_in_law", "配偶的父母", "Parent-in-law"),
    ("child_spouse", "子女的配偶", "Son- or daughter-in-law"),
    ("sibling", "兄弟姐妹", "Brother or sister"),
    ("grandparent", "祖父母、外祖父母", "Grandparent"),
    ("grandchild", "孙子女、外孙子女", "Grandchild"),
];

/// The renewal reasons (code, zh-CN, en); the empty code is the ordinary one, expiry.
pub const RENEWAL_REASONS: [(&str, &str, &str); 4] = [
    ("", "有效期不足或即将到期", "Expiring"),
    ("pages_full", "签证页即将用完", "Pages full"),
    ("damaged", "证件损毁", "Damaged"),
    ("info_changed", "登记项目变更", "Details changed"),
];

/// The destinations of a Hong Kong/Macao endorsement (code, zh-CN, en).
pub const DESTINATIONS: [(&str, &str, &str); 3] = [
    ("hk", "香港", "Hong Kong"),
    ("macau", "澳门", "Macao"),
    ("both", "香港和澳门", "Both"),
];

/// An answer's words from one of the lists above, `zh en`; the code itself when unknown.
pub fn answer_words(list: &[(&str, &str, &str)], code: &str) -> String {
    list.iter()
        .find(|(c, _, _)| *c == code)
        .map_or_else(|| code.to_string(), |(_, zh, en)| format!("{zh} {en}"))
}

/// What a citizen refused with `code` can do instead (zh-CN, en): another business, another
/// endorsement type, a counter. The reason itself says why; this says where to go next.
pub fn advice(code: &str) -> Option<(&'static str, &'static str)> {
    Some(match code {
        "renewal_not_due" => ("护照有效期还长，暂不必换发。如证件损毁、签证页将用完或登记项目有变，请返回上一步选择相应的换发原因。", "Your passport is valid long enough. If it is damaged, its pages are nearly full or your details changed, go back and choose that reason."),
        "document_already_held" => ("您已持有有效证件，不能首次申请。证件即将到期请预约“换发”，遗失请预约“补发”。", "You hold a valid document already. Book a renewal when it nears expiry, or a replacement if it is lost."),
        "no_document_to_renew" => ("没有查到可换发的证件，请预约“首次申请”。", "No document to renew was found: book a first application."),
        "document_not_reported_lost" => ("补发前须先挂失证件：请到任一出入境窗口或拨打服务热线办理挂失。", "Report the document lost first, at any exit-entry counter or through the hotline."),
        "document_reported_lost" => ("该证件已挂失作废，请预约“补发”。", "That document is reported lost and void: book a replacement."),
        "not_resident_of_open_city" => ("个人旅游签注（G）限开放城市户籍或居住证持有人；可改选团队旅游签注（L）。", "Individual-tour endorsements (G) are for residents of open cities; a group-tour endorsement (L) is open to you."),
        "option_not_allowed_for_relation" => ("可改选一次或三个月一次有效的探亲签注。", "Choose a single-entry or a 3-month single-entry family-visit endorsement instead."),
        "relative_required" => ("请在上一步选择您与被探望人的关系。", "Go back and choose your relation to the person visited."),
        "guardian_required" | "guardian_invalid" => ("未满16周岁的申请人须由监护人陪同：请在上一步展开“为未满16周岁的孩子预约”，填写监护人身份证号码。", "An applicant under 16 comes with a guardian: go back, open “Booking for a child under 16” and enter the guardian's ID number."),
        "companion_invalid" => ("请在上一步展开“为长辈或行动不便的家人预约”，核对陪同家属的身份证号码；不需要陪同可留空。", "Go back, open “Booking for an elderly or disabled relative” and check the companion's ID number, or leave it empty."),
        "functionary_approval_required" => ("请先按规定向所在单位申请出国（境）审批，带审批意见到窗口办理。", "Ask your employer for the approval state functionaries need, and bring it to a counter."),
        "name_mismatch" => ("请填写与身份证一致的姓名（包括生僻字）。如登记信息有误，请到户籍派出所更正。", "Enter your name exactly as on your ID card. If the registered name is wrong, ask your household-registration police station."),
        "identity_not_active" => ("请到户籍所在地派出所核实户籍状态后再申请。", "Ask your household-registration police station about the state of your registration."),
        "permit_required" | "permit_expires_too_soon" => ("签注须签在有效的通行证上：请先预约办理或换发通行证（可同时申请签注）。", "An endorsement goes on a valid permit: book a new or renewed permit first (the endorsement can be applied for with it)."),
        "taiwan_entry_permit_required" => ("请先取得台湾方面的入台许可，再预约签注。", "Get the Taiwan entry permit first, then book the endorsement."),
        "approval_required" | "employer_not_registered" => ("请准备好相关批准或备案证明后再预约；也可到窗口咨询。", "Get the approval or registration first, or ask at a counter."),
        "business_suspended" => ("该业务暂停网上预约，请拨打服务热线或到大厅咨询。", "Online booking of this business is suspended: call the hotline or ask at a hall."),
        "entry_date_in_future" => ("请在入境当日或之后再预约；如入境日期填错，请改正后再核对。", "Book from your date of entry on; if the date was typed wrong, correct it and check again."),
        "extension_too_late" | "residence_extension_too_late" | "stay_expired" | "residence_permit_expired" | "residence_application_late" => ("已来不及按期申请，请尽快到出入境大厅外国人窗口说明情况。", "It is too late to apply on time: go to a hall's foreigners' counter as soon as possible and explain."),
        "remote_not_pilot_hukou" | "remote_not_registered" | "remote_not_resident" | "remote_no_previous_document" | "remote_no_fingerprints" | "remote_state_functionary" | "remote_military" | "remote_no_phone" | "remote_not_offered" => ("这项业务不能网上办理，请预约到大厅办理。", "This cannot be done online: book a visit to a hall instead."),
        _ => return None,
    })
}

pub fn reason_of(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Reason {
    reason(code, zh, en)
}

fn reason(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Reason {
    Reason {
        code,
        zh: zh.into(),
        en: en.into(),
    }
}

const RENEWAL_WINDOW_DAYS: i64 = 180;
const CHINESE_ADULT_FOR_TRAVEL_DOCS: u32 = 16;

/// Checks every rule of `business` and returns every reason it fails; empty means eligible.
/// An unknown business code yields a single `unknown_business` reason.
pub fn check(
    catalogue: &Catalogue,
    business: &str,
    applicant_name: &str,
    identity: &Identity,
    answers: &Answers,
    facts: Facts<'_>,
) -> Vec<Reason> {
    let mut out = Vec::new();
    let Some(terms) = catalogue.terms(business, facts.visit_date) else {
        return vec![reason(
            "unknown_business",
            format!("没有“{business}”这项业务"),
            format!("there is no business \"{business}\""),
        )];
    };
    let b = terms.business;
    if terms.version.suspended {
        out.push(reason(
            "business_suspended",
            format!("{}已暂停办理", b.name_zh),
            format!("{} is suspended", b.name_en),
        ));
    }
    if identity.group() != b.group {
        out.push(match b.group {
            Group::Citizen => reason(
                "identity_type_mismatch",
                "此项业务须使用居民身份证预约",
                "this business is booked with a resident identity number",
            ),
            Group::Foreigner => reason(
                "identity_type_mismatch",
                "此项业务须使用外国护照预约",
                "this business is booked with a foreign passport",
            ),
        });
        return out;
    }

    // Options (endorsement menus, residence-permit durations).
    let option = answers.option.as_deref();
    if !terms.option_fees.is_empty() {
        match option {
            None => out.push(reason(
                "option_required",
                "请选择签注或证件的种类与有效期",
                "choose the validity and number of entries",
            )),
            Some(o) if terms.fee_for(Some(o)).is_none() => out.push(reason(
                "option_not_offered",
                format!("{}不提供“{o}”", b.name_zh),
                format!("{} does not offer \"{o}\"", b.name_en),
            )),
            Some(o)
                if b.code == "hkm_endorsement_g"
                    && answers.destination.as_deref() != Some("hk")
                    && !matches!(o, "3m1" | "1y1") =>
            {
                // RULES.md §2: Macau individual travel is 3 months or 1 year, one entry only.
                out.push(reason(
                    "option_not_offered",
                    "赴澳门个人旅游签注只有三个月一次或一年一次",
                    "individual travel to Macao is only 3 months or 1 year, one entry",
                ))
            }
            Some(_) => {}
        }
    }

    match identity {
        Identity::Resident(id) => citizen_rules(
            catalogue,
            b.code.as_str(),
            b.document,
            id,
            applicant_name,
            answers,
            facts,
            &mut out,
        ),
        Identity::Foreign { .. } => foreigner_rules(b.code.as_str(), answers, facts, &mut out),
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn citizen_rules(
    catalogue: &Catalogue,
    code: &str,
    document: DocumentKind,
    id: &ResidentId,
    name: &str,
    answers: &Answers,
    facts: Facts<'_>,
    out: &mut Vec<Reason>,
) {
    let today = facts.visit_date;
    if let Some(p) = facts.person {
        if p.status != PersonStatus::Active {
            out.push(reason(
                "identity_not_active",
                "户籍信息显示该身份已注销，请到派出所核实",
                "the population register shows this identity as no longer active",
            ));
        }
        if p.name.trim() != name.trim() {
            out.push(reason(
                "name_mismatch",
                "姓名与身份号码登记的姓名不一致",
                "the name does not match the one registered for this identity number",
            ));
        }
        if p.state_functionary && answers.employer_approval != Some(true) {
            out.push(reason(
                "functionary_approval_required",
                "登记备案的国家工作人员须先取得所在单位的出国（境）审批意见",
                "a registered state functionary needs the employer's approval first",
            ));
        }
    }

    // Minors (RULES.md §5): under 16 the guardian comes along and shows their own ID card.
    if id.age_on(today) < CHINESE_ADULT_FOR_TRAVEL_DOCS {
        match answers.guardian_id_number.as_deref() {
            None => out.push(reason(
                "guardian_required",
                "未满16周岁的申请人须由监护人陪同，请填写监护人身份号码",
                "applicants under 16 come with a guardian: give the guardian's identity number",
            )),
            Some(g) => match ResidentId::parse(g, today) {
                Ok(g) if g.age_on(today) >= 18 && g != *id => {}
                Ok(_) => out.push(reason(
                    "guardian_invalid",
                    "监护人须为年满18周岁的其他人",
                    "the guardian must be another person aged 18 or over",
                )),
                Err(e) => out.push(reason(
                    "guardian_invalid",
                    format!("监护人身份号码有误：{}", e.message_zh()),
                    format!(
                        "the guardian's identity number is wrong: {}",
                        e.message_en()
                    ),
                )),
            },
        }
    }

    // A companion for an elderly or disabled applicant: optional, but a number given must be
    // another adult's valid one, or the counter would be told of somebody who is not.
    if let Some(c) = answers.companion_id_number.as_deref() {
        match ResidentId::parse(c, today) {
            Ok(c) if c.age_on(today) >= 18 && c != *id => {}
            Ok(_) => out.push(reason(
                "companion_invalid",
                "陪同家属须为年满18周岁的其他人",
                "the companion must be another person aged 18 or over",
            )),
            Err(e) => out.push(reason(
                "companion_invalid",
                format!("陪同家属身份号码有误：{}", e.message_zh()),
                format!(
                    "the companion's identity number is wrong: {}",
                    e.message_en()
                ),
            )),
        }
    }

    let held: Vec<&DocumentRecord> = facts
        .documents
        .iter()
        .filter(|d| d.kind == document && d.id_number == id.as_str())
        .collect();
    let valid = held
        .iter()
        .filter(|d| d.status == DocumentStatus::Valid && d.expires_on >= today)
        .max_by_key(|d| d.expires_on);
    let lost = held.iter().any(|d| d.status == DocumentStatus::Lost);
    let renewal_reason_given = matches!(
        answers.renewal_reason.as_deref(),
        Some("pages_full" | "damaged" | "info_changed")
    );
    let far_from_expiry =
        |d: &DocumentRecord| d.expires_on > today + TimeDelta::days(RENEWAL_WINDOW_DAYS);

    match code {
        "passport_first" if !held.is_empty() => out.push(reason(
            "document_already_held",
            "您已申领过护照，请选择换发或补发",
            "a passport was issued before: choose renewal or replacement",
        )),
        "passport_renewal" => match valid {
            None if held.is_empty() => out.push(reason(
                "no_document_to_renew",
                "没有查到您持有的护照，请选择首次申领",
                "no passport on record: choose first issue",
            )),
            None if lost => out.push(reason(
                "document_reported_lost",
                "您的护照已报失，请选择补发",
                "your passport was reported lost: choose replacement",
            )),
            Some(d) if far_from_expiry(d) && !renewal_reason_given => out.push(reason(
                "renewal_not_due",
                format!("护照有效期至{}，尚无换发必要；如签证页用完、损毁或信息变更请注明原因", d.expires_on),
                format!(
                    "the passport is valid until {}; renewal needs a reason (pages full, damaged, details changed)",
                    d.expires_on
                ),
            )),
            _ => {}
        },
        "passport_replacement" if !lost => out.push(reason(
            "document_not_reported_lost",
            "补发须先报失原护照；没有查到报失记录",
            "a replacement needs the old passport reported lost; no report is on record",
        )),
        "hkm_permit" | "tw_permit" => {
            if let Some(d) = valid {
                if far_from_expiry(d) && !renewal_reason_given {
                    out.push(reason(
                        "document_already_held",
                        format!("您持有的通行证有效期至{}，尚无换发必要", d.expires_on),
                        format!("your permit is valid until {}; no renewal is needed", d.expires_on),
                    ));
                }
            }
        }
        _ if code.starts_with("hkm_endorsement_") || code.starts_with("tw_endorsement_") => {
            endorsement_rules(catalogue, code, id, answers, facts, valid.copied(), out)
        }
        _ => {}
    }
}

fn option_months(option: &str) -> Option<u32> {
    let (n, unit) = option.split_at(option.find(['m', 'y'])?);
    let n: u32 = n.parse().ok()?;
    Some(if unit.starts_with('y') { n * 12 } else { n })
}

fn endorsement_rules(
    catalogue: &Catalogue,
    code: &str,
    id: &ResidentId,
    answers: &Answers,
    facts: Facts<'_>,
    permit: Option<&DocumentRecord>,
    out: &mut Vec<Reason>,
) {
    let today = facts.visit_date;
    match permit {
        None => out.push(reason(
            "permit_required",
            "签注须加注在有效的电子通行证上，请先申领通行证",
            "an endorsement goes on a valid e-permit: apply for the permit first",
        )),
        Some(p) => {
            // The endorsement cannot outlive the card it is written on.
            let months = answers
                .option
                .as_deref()
                .and_then(option_months)
                .unwrap_or(3);
            let needed = today
                .checked_add_months(Months::new(months))
                .unwrap_or(today);
            if p.expires_on < needed {
                out.push(reason(
                    "permit_expires_too_soon",
                    format!("通行证有效期至{}，短于所选签注的有效期，请先换发通行证", p.expires_on),
                    format!(
                        "the permit expires on {}, before the endorsement would: renew the permit first",
                        p.expires_on
                    ),
                ));
            }
        }
    }
    let option = answers.option.as_deref().unwrap_or("");
    match code {
        "hkm_endorsement_g" => match facts.person {
            None => out.push(reason(
                "residence_not_verified",
                "无法核实您的户籍或居住证所在地，个人旅游签注须到户籍地办理",
                "your registered residence could not be verified; apply where you are registered",
            )),
            Some(p) => {
                let permit_city = p
                    .residence_permit_city
                    .as_deref()
                    .filter(|_| p.residence_permit_expires.is_none_or(|e| e >= today));
                let open = catalogue.is_open_city(&p.hukou_city, today)
                    || permit_city.is_some_and(|c| catalogue.is_open_city(c, today));
                if !open {
                    out.push(reason(
                        "not_resident_of_open_city",
                        "个人旅游签注仅限开放城市户籍居民或持有效居住证者申请",
                        "individual travel is only for residents (户籍 or residence permit) of the open cities",
                    ));
                }
            }
        },
        "hkm_endorsement_s"
            if option.ends_with('M') && answers.employer_registered != Some(true) =>
        {
            out.push(reason(
                "employer_not_registered",
                "多次商务签注须由已在公安机关备案的企业申请",
                "multiple-entry business endorsements need an employer registered with the PSB",
            ))
        }
        "hkm_endorsement_t" => {
            let close = matches!(
                answers.relation.as_deref(),
                Some("spouse" | "parent" | "parent_in_law" | "child" | "child_spouse")
            );
            match answers.relation.as_deref() {
                None => out.push(reason(
                    "relative_required",
                    "探亲签注须写明与港澳亲属的关系",
                    "a family-visit endorsement needs your relation to the relative",
                )),
                Some(_) if option == "3mM" && !close => out.push(reason(
                    "option_not_allowed_for_relation",
                    "三个月多次探亲签注仅限探望配偶、父母、配偶父母、子女及其配偶",
                    "3 months multiple is only for visiting a spouse, parents, parents-in-law, children or their spouses",
                )),
                Some(r)
                    if option == "1yM"
                        && !(id.age_on(today) >= 60 && close)
                        && r != "spouse" =>
                {
                    out.push(reason(
                        "option_not_allowed_for_relation",
                        "一年多次探亲签注仅限年满60周岁探望直系亲属或探望配偶",
                        "1 year multiple is for applicants 60 or over visiting close family, or for visiting a spouse",
                    ))
                }
                _ => {}
            }
        }
        "hkm_endorsement_d" if answers.hkm_approval != Some(true) => out.push(reason(
            "approval_required",
            "逗留签注须持港澳方面的就学或就业批准",
            "a stay endorsement needs the HK or Macao approval of study or work",
        )),
        "tw_endorsement_t" | "tw_endorsement_d" | "tw_endorsement_y" | "tw_endorsement_f"
        | "tw_endorsement_x" | "tw_endorsement_c"
            if answers.taiwan_entry_permit != Some(true) =>
        {
            out.push(reason(
                "taiwan_entry_permit_required",
                "此类赴台签注须持台湾地区入出境许可证",
                "this Taiwan endorsement needs the Taiwan-side entry permit",
            ))
        }
        _ => {}
    }
}

fn foreigner_rules(code: &str, answers: &Answers, facts: Facts<'_>, out: &mut Vec<Reason>) {
    crate::foreign::rules(code, answers, facts, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idnum::compose;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    const TODAY: (i32, u32, u32) = (2026, 12, 1);
    fn today() -> NaiveDate {
        d(TODAY.0, TODAY.1, TODAY.2)
    }
    fn resident(birth: NaiveDate) -> (ResidentId, String) {
        let s = compose("440106", birth, 11);
        (ResidentId::parse(&s, today()).unwrap(), s)
    }
    fn person(id: &str, city: &str) -> PersonRecord {
        PersonRecord {
            id_number: id.into(),
            name: "陈晓明".into(),
            hukou_city: city.into(),
            residence_permit_city: None,
            residence_permit_expires: None,
            status: PersonStatus::Active,
            state_functionary: false,
            fingerprints_on_file: true,
            military: false,
            phone: None,
        }
    }
    fn permit(id: &str, kind: DocumentKind, expires: NaiveDate) -> DocumentRecord {
        DocumentRecord {
            id_number: id.into(),
            kind,
            number: "CA1234567".into(),
            issued_on: d(2020, 1, 1),
            expires_on: expires,
            status: DocumentStatus::Valid,
        }
    }
    fn codes(r: &[Reason]) -> Vec<&'static str> {
        r.iter().map(|r| r.code).collect()
    }

    /// What remains once the registry's reasons are set aside does not depend on the records:
    /// the anonymous answer can be computed without reading them (issue 11).
    #[test]
    fn reasons_not_from_the_registry_do_not_depend_on_the_records() {
        let c = Catalogue::builtin();
        let (id, s) = resident(d(2015, 5, 1));
        let mut stranger = person(&s, "喀什");
        stranger.name = "别人".into();
        stranger.state_functionary = true;
        stranger.status = PersonStatus::Cancelled;
        let mut lost = permit(&s, DocumentKind::Passport, d(2027, 1, 1));
        lost.status = DocumentStatus::Lost;
        let docs = [permit(&s, DocumentKind::HkmPermit, d(2027, 1, 1)), lost];
        for b in c.businesses() {
            let answers = Answers {
                option: Some("3mM".into()),
                ..Answers::default()
            };
            let without = |person, documents| {
                let r = check(
                    &c,
                    &b.code,
                    "陈晓明",
                    &Identity::Resident(id.clone()),
                    &answers,
                    Facts {
                        visit_date: today(),
                        person,
                        documents,
                    },
                );
                codes(&r)
                    .into_iter()
                    .filter(|c| !from_registry(c))
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                without(None, &[]),
                without(Some(&stranger), &docs),
                "{}",
                b.code
            );
        }
    }

    #[test]
    fn adult_first_passport_with_nothing_on_record_is_eligible() {
        let c = Catalogue::builtin();
        let (id, _) = resident(d(1990, 5, 1));
        let r = check(
            &c,
            "passport_first",
            "陈晓明",
            &Identity::Resident(id),
            &Answers::default(),
            Facts {
                visit_date: today(),
                person: None,
                documents: &[],
            },
        );
        assert!(r.is_empty(), "{r:?}");
    }

    #[test]
    fn all_failing_reasons_are_returned_together() {
        let c = Catalogue::builtin();
        let (id, s) = resident(d(2015, 5, 1));
        let mut p = person(&s, "喀什");
        p.name = "别人".into();
        let r = check(
            &c,
            "hkm_endorsement_g",
            "陈晓明",
            &Identity::Resident(id),
            &Answers::default(),
            Facts {
                visit_date: today(),
                person: Some(&p),
                documents: &[],
            },
        );
        assert_eq!(
            codes(&r),
            vec![
                "option_required",
                "name_mismatch",
                "guardian_required",
                "permit_required",
                "not_resident_of_open_city"
            ]
        );
        assert!(r.iter().all(|r| !r.zh.is_empty() && !r.en.is_empty()));
    }

    #[test]
    fn individual_travel_for_open_city_resident_with_valid_permit() {
        let c = Catalogue::builtin();
        let (id, s) = resident(d(1985, 3, 3));
        let p = person(&s, "广州");
        let docs = [permit(&s, DocumentKind::HkmPermit, d(2030, 1, 1))];
        let answers = Answers {
            option: Some("1y2".into()),
            destination: Some("hk".into()),
            ..Default::default()
        };
        let facts = Facts {
            visit_date: today(),
            person: Some(&p),
            documents: &docs,
        };
        let ident = Identity::Resident(id);
        assert!(check(&c, "hkm_endorsement_g", "陈晓明", &ident, &answers, facts).is_empty());
        // Macau offers one-entry options only.
        let macau = Answers {
            destination: Some("macau".into()),
            ..answers.clone()
        };
        assert_eq!(
            codes(&check(
                &c,
                "hkm_endorsement_g",
                "陈晓明",
                &ident,
                &macau,
                facts
            )),
            vec!["option_not_offered"]
        );
        // A permit that ends before the endorsement would.
        let short = [permit(&s, DocumentKind::HkmPermit, d(2027, 3, 1))];
        let r = check(
            &c,
            "hkm_endorsement_g",
            "陈晓明",
            &ident,
            &answers,
            Facts {
                documents: &short,
                ..facts
            },
        );
        assert_eq!(codes(&r), vec!["permit_expires_too_soon"]);
    }

    #[test]
    fn renewal_and_replacement_follow_document_state() {
        let c = Catalogue::builtin();
        let (id, s) = resident(d(1980, 1, 1));
        let ident = Identity::Resident(id);
        let mut pass = permit(&s, DocumentKind::Passport, d(2031, 1, 1));
        let run = |code: &str, docs: &[DocumentRecord], a: &Answers| {
            codes(&check(
                &c,
                code,
                "陈晓明",
                &ident,
                a,
                Facts {
                    visit_date: today(),
                    person: None,
                    documents: docs,
                },
            ))
        };
        let none = Answers::default();
        assert_eq!(
            run("passport_first", &[pass.clone()], &none),
            vec!["document_already_held"]
        );
        assert_eq!(
            run("passport_renewal", &[pass.clone()], &none),
            vec!["renewal_not_due"]
        );
        let full = Answers {
            renewal_reason: Some("pages_full".into()),
            ..Default::default()
        };
        assert!(run("passport_renewal", &[pass.clone()], &full).is_empty());
        assert_eq!(
            run("passport_renewal", &[], &none),
            vec!["no_document_to_renew"]
        );
        assert_eq!(
            run("passport_replacement", &[pass.clone()], &none),
            vec!["document_not_reported_lost"]
        );
        pass.status = DocumentStatus::Lost;
        assert!(run("passport_replacement", &[pass.clone()], &none).is_empty());
        assert_eq!(
            run("passport_renewal", &[pass], &none),
            vec!["document_reported_lost"]
        );
    }

    #[test]
    fn foreigners_are_held_to_the_law_deadlines() {
        let c = Catalogue::builtin();
        let ident = Identity::Foreign {
            nationality: "DEU".into(),
            passport_number: "C01X00T47".into(),
            birth_date: None,
        };
        let facts = Facts {
            visit_date: today(),
            person: None,
            documents: &[],
        };
        let late = Answers {
            stay_expires_on: Some(today() + TimeDelta::days(3)),
            original_stay_days: Some(30),
            requested_days: Some(10),
            ..Default::default()
        };
        assert_eq!(
            codes(&check(
                &c,
                "foreign_visa_extension",
                "Anna Müller",
                &ident,
                &late,
                facts
            )),
            vec!["extension_too_late"]
        );
        let fine = Answers {
            stay_expires_on: Some(today() + TimeDelta::days(20)),
            original_stay_days: Some(30),
            extended_days: Some(0),
            requested_days: Some(30),
            ..Default::default()
        };
        assert!(check(
            &c,
            "foreign_visa_extension",
            "Anna Müller",
            &ident,
            &fine,
            facts
        )
        .is_empty());
        let (id, _) = resident(d(1990, 1, 1));
        assert_eq!(
            codes(&check(
                &c,
                "foreign_visa_extension",
                "x",
                &Identity::Resident(id),
                &fine,
                facts
            )),
            vec!["identity_type_mismatch"]
        );
    }

    #[test]
    fn debug_output_masks_personal_data() {
        let (id, s) = resident(d(1990, 1, 1));
        let p = person(&s, "广州");
        let doc = permit(&s, DocumentKind::Passport, d(2031, 1, 1));
        let answers = Answers {
            guardian_id_number: Some(s.clone()),
            companion_id_number: Some(s.clone()),
            ..Default::default()
        };
        let foreign = Identity::Foreign {
            nationality: "DEU".into(),
            passport_number: "C01X00T47".into(),
            birth_date: None,
        };
        for text in [
            format!("{:?}", Identity::Resident(id)),
            format!("{p:?}"),
            format!("{doc:?}"),
            format!("{answers:?}"),
        ] {
            assert!(!text.contains(&s), "{text}");
        }
        assert!(!format!("{foreign:?}").contains("C01X00T47"));
        assert!(!format!("{doc:?}").contains("CA1234567"));
    }

    #[test]
    fn suspended_business_says_so() {
        let c = Catalogue::builtin();
        let (id, s) = resident(d(1990, 1, 1));
        let docs = [permit(&s, DocumentKind::TwPermit, d(2031, 1, 1))];
        let a = Answers {
            option: Some("6m1".into()),
            ..Default::default()
        };
        let r = check(
            &c,
            "tw_endorsement_g",
            "x",
            &Identity::Resident(id),
            &a,
            Facts {
                visit_date: today(),
                person: None,
                documents: &docs,
            },
        );
        assert_eq!(codes(&r), vec!["business_suspended"]);
    }

    #[test]
    fn a_companion_is_optional_and_checked_when_given() {
        let c = Catalogue::builtin();
        let (id, s) = resident(d(1940, 5, 5));
        let p = person(&s, "广州");
        let run = |companion: Option<&str>| {
            let a = Answers {
                companion_id_number: companion.map(str::to_string),
                ..Default::default()
            };
            codes(&check(
                &c,
                "passport_first",
                "陈晓明",
                &Identity::Resident(id.clone()),
                &a,
                Facts {
                    visit_date: today(),
                    person: Some(&p),
                    documents: &[],
                },
            ))
            .into_iter()
            .filter(|c| *c == "companion_invalid")
            .count()
        };
        assert_eq!(run(None), 0);
        // Another adult: fine. The applicant themself, a child, a wrong number: refused.
        assert_eq!(run(Some("440106198503030116")), 0);
        assert_eq!(run(Some(&s)), 1);
        assert_eq!(run(Some("440112201501010017")), 1);
        assert_eq!(run(Some("440106198503030117")), 1);
    }
}
