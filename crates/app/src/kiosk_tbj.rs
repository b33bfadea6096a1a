//! 填表机 (tbj, issue 17): the application form filled from an ID card or a passport read at
//! the machine, printed on its printer.
//!
//! A resident's card gives the name and the identity number (from which the sex and date of
//! birth follow); a passport's machine-readable zone, re-read and checked here (its check
//! digits: a misread is refused, and the screen asks for a new read), gives a foreigner's
//! names, passport number, nationality, sex, birth and expiry dates. What neither gives — the
//! mobile number — is typed on the keypad. The form is rendered like a booking's
//! (`crates/app/src/forms.rs`), from what was read and typed, never from the registry records
//! (a card read proves the citizen holds the card, nothing more), and the household city is
//! left for the applicant to write. Nothing is stored: the answer is the PDF.

use crate::authz::{Action, Principal};
use crate::{App, AppError, AppResult, Code};
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wujing_domain::idnum::Sex;

/// What the machine read, and what the citizen chose and typed.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KioskFormInput {
    /// The business the form is for (a citizen's with a card, a foreigner's with a passport).
    pub business: String,
    /// From the ID card: the name.
    #[serde(default)]
    pub name: Option<String>,
    /// From the ID card: the identity number.
    #[serde(default)]
    pub id_number: Option<String>,
    /// From the passport reader: the zone's lines as read.
    #[serde(default)]
    pub mrz: Option<Vec<String>>,
    /// Typed on the keypad.
    pub phone: String,
}

/// Nothing of the input ever reaches a log.
impl std::fmt::Debug for KioskFormInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KioskFormInput")
            .field("business", &self.business)
            .finish_non_exhaustive()
    }
}

/// The filled form.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KioskForm {
    /// The application form, a PDF in base64.
    pub pdf: String,
}

impl App {
    /// Fills and renders the application form for the card or passport read at the 填表机
    /// `p`. Exactly one of the card's fields and the passport's zone; a zone whose check digits
    /// fail is `mrz_check_failed`; a business of the other group (a foreigner's with a card, a
    /// citizen's with a passport) is `unknown_business`.
    pub async fn kiosk_form(&self, p: &Principal, input: &KioskFormInput) -> AppResult<KioskForm> {
        self.require(p, Action::KioskForm, None)?;
        if !matches!(p, Principal::Device(_)) {
            return Err(crate::authz::denied(p));
        }
        let business = self.business(&input.business)?;
        let phone = crate::booking::parse_phone(&input.phone)?;
        let today = self.clock.today();
        let unknown = || {
            AppError::new(
                Code::UnknownBusiness,
                "所选业务与所读证件不符",
                "the business chosen does not go with the document read",
            )
        };
        let mut rows = vec![(
            "申请类别 Application".to_string(),
            format!("{} {}", business.name_zh, business.name_en),
        )];
        let title;
        match (&input.name, &input.id_number, &input.mrz) {
            (Some(name), Some(id), None) => {
                if business.group != "citizen" {
                    return Err(unknown());
                }
                let applicant = self.parse_applicant(&crate::booking::ApplicantInput::resident(
                    name,
                    id,
                    phone.as_str(),
                ))?;
                let wujing_domain::Identity::Resident(id) = &applicant.identity else {
                    return Err(unknown());
                };
                title = "中国公民出入境证件申请表".to_string();
                rows.push(("姓名 Name".into(), applicant.name.clone()));
                let sex = match id.sex() {
                    Sex::Male => "男 M",
                    Sex::Female => "女 F",
                };
                rows.push(("性别 Sex".into(), sex.into()));
                rows.push((
                    "出生日期 Date of birth".into(),
                    id.birth_date().format("%Y-%m-%d").to_string(),
                ));
                rows.push(("公民身份号码 ID number".into(), id.as_str().to_string()));
                // Left for the applicant to write: the card's address is not the household
                // registration, and the records are not read for a form (forms.rs).
                rows.push(("户籍所在地 Household registration".into(), String::new()));
            }
            (None, None, Some(lines)) => {
                if business.group != "foreigner" {
                    return Err(unknown());
                }
                let v = wujing_domain::mrz::read(lines, today)
                    .map(crate::mrz::MrzView::from)
                    .map_err(crate::mrz::refusal)?;
                if !v.valid {
                    return Err(Code::MrzCheckFailed.into());
                }
                title = "外国人签证证件申请表".to_string();
                rows.push(("姓 Surname".into(), v.surname.clone()));
                rows.push(("名 Given names".into(), v.given_names.clone()));
                rows.push(("国籍 Nationality".into(), v.nationality.clone()));
                rows.push(("护照号码 Passport number".into(), v.document_number.clone()));
                rows.push((
                    "性别 Sex".into(),
                    match v.sex.as_deref() {
                        Some("M") => "男 M".into(),
                        Some("F") => "女 F".into(),
                        _ => String::new(),
                    },
                ));
                rows.push((
                    "出生日期 Date of birth".into(),
                    v.birth_date.map(|d| d.to_string()).unwrap_or_default(),
                ));
                rows.push((
                    "护照有效期至 Passport valid until".into(),
                    v.expiry_date.map(|d| d.to_string()).unwrap_or_default(),
                ));
            }
            _ => {
                return Err(AppError::new(
                    Code::BodyInvalid,
                    "请读取身份证或护照（其中之一）",
                    "read an ID card or a passport (one of them)",
                ))
            }
        }
        rows.push(("联系电话 Phone".into(), phone.as_str().to_string()));
        rows.push(("填表日期 Date".into(), today.to_string()));
        let form = wujing_forms::Form {
            title,
            subtitle: format!("Application form · {}", business.name_en),
            rows,
            notes: vec![
                "本表由填表机根据您的证件预填，请核对无误后签名，到窗口办理；如有错误，请在窗口更正。".into(),
                "Filled from your document at the form machine. Check it, sign it and bring it to a counter; an officer corrects any mistake.".into(),
            ],
            language: "zh-CN".into(),
        };
        let pdf = self.render_form(form).await?;
        self.count_use(p, "form").await;
        Ok(KioskForm {
            pdf: base64::engine::general_purpose::STANDARD.encode(pdf),
        })
    }
}
