//! 申请易 (issue 17, mode 7): an e-passport application in one stop at a kiosk — the ID card
//! read, the business, the photo (checked against RULES.md §5 here, the camera only frames
//! it), the fingerprints in the order of §5 ([`wujing_domain::biometrics::next_capture`], asked
//! after every capture and again over the whole record at submission), the signature, the
//! printed form; the application is created accepted with the channel of the kind
//! (`self_service`), without ticket, window or officer, and reviewed like any other.
//!
//! The biometrics are sensitive personal data: they reach the server only in the submission,
//! are sealed at rest with the data key ([`wujing_store::KioskStep::SqySubmit`]), never logged
//! (their types print their length only), read only by an officer of the accepting hall
//! ([`App::application_biometrics`]), and deleted once the document is produced or after
//! [`crate::Config::biometrics_retention_days`] ([`App::sweep_biometrics`]). Each write, read
//! and deletion has its audit entry in the transaction that does it.
//!
//! What the card reader read is proof of holding the card, nothing more: the identity number
//! is checked (GB 11643) and the application goes to review, where the officer checks the
//! person against the registry as for any application.

use crate::admin::Actor;
use crate::authz::{permits, Action, DevicePrincipal, Principal};
use crate::remote::{measure_photo, ReasonView};
use crate::{App, AppError, AppResult, Code};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use wujing_domain::application::Processing;
use wujing_domain::biometrics::{
    next_capture, signature_asked, Capture, Finger, PlanInput, Step, MIN_QUALITY,
};
use wujing_domain::remote::check_photo;
use wujing_domain::{Identity, ResidentId};
use wujing_store::{AdminChange, AdminOutcome, BiometricPart, KioskStep, Private, SqyApplication};

/// The businesses a 申请易 takes: the ordinary passport's (its photo, prints and signature
/// are what the machine captures).
pub const SQY_BUSINESSES: [&str; 3] =
    ["passport_first", "passport_renewal", "passport_replacement"];
/// A fingerprint image's largest size (decoded): an ISO 19794-4 image of one finger at 500 dpi
/// is well under this.
const MAX_PRINT_BYTES: usize = 200 * 1024;
/// A signature PNG's largest size (decoded).
const MAX_SIGNATURE_BYTES: usize = 200 * 1024;
/// A photo's largest size for the check (decoded): twice the §5 ceiling, so that a file a
/// little too large is told its size rather than refused bare.
const MAX_PHOTO_BYTES: usize = 2 * wujing_domain::remote::PHOTO_BYTES.1;
/// The sweeper deletes at most this many applications' biometrics per pass.
const SWEEP_BATCH: u32 = 200;

/// A base64 image that never prints itself (a `Debug` of an input must not put a photo or a
/// fingerprint in a log).
#[derive(Clone, Default, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct Image(pub String);

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Image({} bytes)", self.0.len())
    }
}

/// The camera's photo, to be checked.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SqyPhotoInput {
    /// The JPEG, base64 (the bridge's `camera.photo` result's `jpeg`).
    pub jpeg: Image,
}

/// The photo's check: accepted, or each limit it fails with what to do.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SqyPhotoCheck {
    pub accepted: bool,
    pub reasons: Vec<ReasonView>,
}

/// One capture as the reader answered it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SqyCapture {
    /// `right_thumb` … `left_little`.
    pub finger: String,
    /// The NFIQ 2 score; none when the reader gave up (`read_failed`).
    pub quality: Option<u8>,
    /// The print's image, base64 (`fingerprint.capture`'s `image`); only in a submission, only
    /// for a print of sufficient quality.
    #[serde(default)]
    pub image: Option<Image>,
}

/// What the fingerprint plan is asked: who (the card's number gives the age), the guardian's
/// consent, the fingers missing or damaged, and the captures so far in order.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SqyPlanInput {
    pub id_number: String,
    #[serde(default)]
    pub guardian_consent: bool,
    #[serde(default)]
    pub skipped: Vec<String>,
    #[serde(default)]
    pub captures: Vec<SqyCapture>,
}

/// The next step of the fingerprint capture.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SqyPlanView {
    /// `capture` (put `finger` on the reader), `complete`, `not_taken` (under 16 without the
    /// guardian's consent) or `insufficient` (fewer than two valid prints: a counter takes them).
    pub step: String,
    pub finger: Option<String>,
    /// What the screen says.
    pub zh: String,
    pub en: String,
    /// The fingers with a valid print so far.
    pub valid: Vec<String>,
    /// The least quality a print must reach (the bridge's `min_quality`).
    pub min_quality: u8,
    /// Whether fingerprints are mandatory (16+) or taken only with consent.
    pub mandatory: bool,
    /// Whether the applicant is asked to sign (not a pre-school child).
    pub signature_asked: bool,
}

/// The submission: the card read, the business, and every capture.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SqySubmitInput {
    pub id_number: String,
    pub name: String,
    /// `passport_first`, `passport_renewal` or `passport_replacement`.
    pub business: String,
    pub photo: Image,
    #[serde(default)]
    pub guardian_consent: bool,
    #[serde(default)]
    pub skipped: Vec<String>,
    #[serde(default)]
    pub captures: Vec<SqyCapture>,
    /// The signature pad's PNG, base64; none for one unable to sign or a pre-school child.
    #[serde(default)]
    pub signature: Option<Image>,
    /// The applicant declares being unable to sign (the officer checks it at review).
    #[serde(default)]
    pub unable_to_sign: bool,
}

/// The application made, for the screen and the printed form.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SqyReceipt {
    pub application_id: i64,
    /// What the applicant is shown and the form carries (`App::application_reference`): the
    /// row number would tell how many applications were taken.
    pub reference: String,
    pub business_zh: String,
    pub business_en: String,
    pub ready_by: chrono::NaiveDate,
    /// The applicant's name masked (the screen may be seen by others).
    pub name_masked: String,
    pub fingerprints: usize,
    /// `signed`, `unable` or `not_asked`.
    pub signature: String,
    /// The filled form, a PDF in base64, for the kiosk's printer; none when forms cannot be
    /// rendered (the screen then sends the applicant to the counter for a printed one).
    pub form_pdf: Option<String>,
}

/// One part of an application's biometrics, for the officer who checks it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BiometricView {
    /// `photo`, `signature` or a finger.
    pub part: String,
    pub quality: Option<i32>,
    /// `image/jpeg`, `image/png` or `application/octet-stream` (a print's ISO image).
    pub media_type: String,
    /// The image, base64.
    pub data: String,
}

/// An application's biometrics as the accepting hall's officer sees them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApplicationBiometrics {
    pub application_id: i64,
    /// `taken` or `not_taken` (under 16 without the guardian's consent).
    pub fingerprints: String,
    pub guardian_consent: bool,
    pub signature: String,
    /// Deleted after production or the retention: `parts` is then empty.
    pub deleted: bool,
    pub parts: Vec<BiometricView>,
}

fn invalid(zh: impl Into<String>, en: impl Into<String>) -> AppError {
    AppError::new(Code::BiometricsInvalid, zh, en)
}

fn decode(img: &Image, max: usize, what: &str) -> AppResult<Vec<u8>> {
    let b = base64::engine::general_purpose::STANDARD
        .decode(img.0.trim())
        .map_err(|_| {
            invalid(
                "采集数据格式有误，请重新采集",
                format!("the {what} is not base64"),
            )
        })?;
    if b.is_empty() || b.len() > max {
        return Err(invalid(
            "采集数据过大或为空，请重新采集",
            format!("the {what} is empty or too large"),
        ));
    }
    Ok(b)
}

fn finger(s: &str) -> AppResult<Finger> {
    Finger::parse(s.trim()).ok_or_else(|| {
        invalid(
            "手指名称有误",
            format!("unknown finger {s:?}: right_thumb … left_little"),
        )
    })
}

fn plan_of(
    id: &ResidentId,
    today: chrono::NaiveDate,
    consent: bool,
    skipped: &[String],
    captures: &[SqyCapture],
) -> AppResult<PlanInput> {
    Ok(PlanInput {
        age: id.age_on(today),
        guardian_consent: consent,
        skipped: skipped
            .iter()
            .map(|s| finger(s))
            .collect::<AppResult<_>>()?,
        captures: captures
            .iter()
            .map(|c| {
                Ok(Capture {
                    finger: finger(&c.finger)?,
                    quality: c.quality.map(|q| q.min(100)),
                })
            })
            .collect::<AppResult<_>>()?,
    })
}

fn plan_view(step: &Step, age: u32) -> SqyPlanView {
    let mandatory = age >= wujing_domain::biometrics::FINGERPRINT_MANDATORY_AGE;
    let names = |v: &[Finger]| v.iter().map(|f| f.as_str().to_string()).collect();
    let (kind, finger, zh, en, valid) = match step {
        Step::NotTaken => (
            "not_taken",
            None,
            "未满16周岁且监护人未同意，不采集指纹".to_string(),
            "under 16 without the guardian's consent: no fingerprints are taken".to_string(),
            Vec::new(),
        ),
        Step::Capture(f) => {
            let (z, e) = f.names();
            (
                "capture",
                Some(f.as_str().to_string()),
                format!("请将{z}平放在指纹采集器上"),
                format!("put your {e} flat on the reader"),
                Vec::new(),
            )
        }
        Step::Complete(v) => (
            "complete",
            None,
            "指纹采集完成".to_string(),
            "fingerprints taken".to_string(),
            names(v),
        ),
        Step::Insufficient(v) => (
            "insufficient",
            None,
            "未能采集到两枚合格指纹，请到人工窗口办理（手指受伤的请携带二级以上医院证明）"
                .to_string(),
            "fewer than two good prints: please go to a counter (for an injury, bring a certificate from a level-2 or higher hospital)".to_string(),
            names(v),
        ),
    };
    SqyPlanView {
        step: kind.into(),
        finger,
        zh,
        en,
        valid,
        min_quality: MIN_QUALITY,
        mandatory,
        signature_asked: signature_asked(age),
    }
}

impl App {
    /// The 申请易 calling: a device of that kind, in its own site.
    fn sqy_device<'a>(&self, p: &'a Principal) -> AppResult<&'a DevicePrincipal> {
        match p {
            Principal::Device(d) if permits(p, Action::KioskSqy, Some(&d.hall_id)) => Ok(d),
            _ => Err(crate::authz::denied(p)),
        }
    }

    /// Checks the camera's photo against RULES.md §5 (file size, JPEG, dimensions, 3:4, the
    /// background). Nothing is kept: the photo is stored only with the submission.
    pub async fn sqy_photo(
        &self,
        p: &Principal,
        input: &SqyPhotoInput,
    ) -> AppResult<SqyPhotoCheck> {
        self.sqy_device(p)?;
        let bytes = decode(&input.jpeg, MAX_PHOTO_BYTES, "photo")?;
        let reasons: Vec<ReasonView> = check_photo(&measure_photo(&bytes))
            .into_iter()
            .map(Into::into)
            .collect();
        Ok(SqyPhotoCheck {
            accepted: reasons.is_empty(),
            reasons,
        })
    }

    /// The fingerprint plan's next step for the captures so far.
    pub async fn sqy_plan(&self, p: &Principal, input: &SqyPlanInput) -> AppResult<SqyPlanView> {
        self.sqy_device(p)?;
        let today = self.clock.today();
        let id = self.parse_resident_id(&input.id_number)?;
        let plan = plan_of(
            &id,
            today,
            input.guardian_consent,
            &input.skipped,
            &input.captures,
        )?;
        Ok(plan_view(&next_capture(&plan), plan.age))
    }

    /// Creates the application with its biometrics (see the module comment), after checking
    /// every step again: the business, the photo, the fingerprint plan over the whole record
    /// (each valid print with its image), the signature.
    pub async fn sqy_submit(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        input: &SqySubmitInput,
    ) -> AppResult<SqyReceipt> {
        let d = self.sqy_device(p)?;
        let today = self.clock.today();
        let id = self.parse_resident_id(&input.id_number)?;
        let name = input.name.trim();
        if name.is_empty()
            || name.chars().count() > 60
            || wujing_domain::text::forbidden_in_line(name).is_some()
        {
            return Err(AppError::from(Code::NameRequired));
        }
        let business = input.business.trim();
        if !SQY_BUSINESSES.contains(&business) {
            return Err(Code::KioskBusinessInvalid.into());
        }
        let hall = self.hall_by_id(&d.hall_id).await?;
        if !hall.offers(business) {
            return Err(crate::views::not_offered(&hall, business));
        }
        // The photo, again: the page may not skip the check.
        let photo = decode(&input.photo, MAX_PHOTO_BYTES, "photo")?;
        if !check_photo(&measure_photo(&photo)).is_empty() {
            return Err(Code::PhotoInvalid.into());
        }
        let plan = plan_of(
            &id,
            today,
            input.guardian_consent,
            &input.skipped,
            &input.captures,
        )?;
        let age = plan.age;
        let mut parts = vec![BiometricPart {
            part: "photo".into(),
            quality: None,
            data: Private(input.photo.0.trim().to_string()),
        }];
        let fingerprints = match next_capture(&plan) {
            Step::NotTaken => "not_taken",
            Step::Complete(valid) => {
                for f in valid {
                    // The first capture of the finger that reached the threshold, with its image.
                    let c = input
                        .captures
                        .iter()
                        .find(|c| {
                            Finger::parse(c.finger.trim()) == Some(f)
                                && c.quality.is_some_and(|q| q >= MIN_QUALITY)
                        })
                        .expect("a valid finger has its capture");
                    let image = c.image.as_ref().ok_or_else(|| {
                        invalid(
                            "缺少指纹图像",
                            format!("the {} print has no image", f.as_str()),
                        )
                    })?;
                    decode(image, MAX_PRINT_BYTES, "fingerprint")?;
                    parts.push(BiometricPart {
                        part: f.as_str().into(),
                        quality: c.quality.map(i32::from),
                        data: Private(image.0.trim().to_string()),
                    });
                }
                "taken"
            }
            Step::Capture(_) | Step::Insufficient(_) => {
                return Err(Code::FingerprintsIncomplete.into())
            }
        };
        let signature = match (&input.signature, signature_asked(age), input.unable_to_sign) {
            (_, false, _) => "not_asked",
            (Some(png), true, false) => {
                let bytes = decode(png, MAX_SIGNATURE_BYTES, "signature")?;
                if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
                    return Err(invalid("签名须为PNG图像", "the signature must be a PNG"));
                }
                parts.push(BiometricPart {
                    part: "signature".into(),
                    quality: None,
                    data: Private(png.0.trim().to_string()),
                });
                "signed"
            }
            (None, true, true) => "unable",
            (Some(_), true, true) => {
                return Err(invalid(
                    "已选择无法签名，不应再提交签名",
                    "a signature was sent for one unable to sign",
                ))
            }
            (None, true, false) => return Err(Code::SignatureMissing.into()),
        };
        let days = self
            .catalogue
            .terms(business, today)
            .map_or(7, |t| t.version.processing_working_days);
        let cross = self
            .store
            .person(id.as_str())
            .await?
            .is_some_and(|p| wujing_domain::application::is_cross_province(&p.hukou_city));
        let processing = Processing::of(days, false, cross);
        let declared = self
            .store
            .calendar_days(
                today,
                today + chrono::TimeDelta::days(processing.horizon_days()),
            )
            .await?;
        let ready_by = wujing_domain::application::due_date(today, processing, &declared);
        // Before the write: once the application exists, the answer must not fail for want of
        // its reference's key.
        let reference_key = self.reference_key().await?;
        let key = self.identity_key(&Identity::Resident(id.clone()));
        let written: Vec<String> = parts.iter().map(|p| p.part.clone()).collect();
        let n_prints = written.len() - 1 - usize::from(signature == "signed");
        let out = self
            .audit(
                &Actor::new(p, client_addr).in_hall(&d.hall_id),
                AdminChange::Kiosk(KioskStep::SqySubmit(SqyApplication {
                    hall_id: d.hall_id.clone(),
                    business: business.into(),
                    identity_key: key.clone(),
                    id_number: Private(id.as_str().to_string()),
                    name: Private(name.to_string()),
                    ready_by,
                    device_id: d.id,
                    guardian_consent: input.guardian_consent,
                    fingerprints: fingerprints.into(),
                    signature: signature.into(),
                    parts,
                })),
                "biometrics.write",
                format!("device:{}", d.id),
                Some(key),
                json!({ "business": business, "parts": written, "channel": "self_service" }),
            )
            .await?;
        let AdminOutcome::Created(application_id) = out else {
            return Err(AppError::new(
                Code::InternalError,
                "系统内部错误",
                "no application",
            ));
        };
        let b = self.catalogue.business(business);
        let (business_zh, business_en) = b
            .map(|b| (b.name_zh.clone(), b.name_en.clone()))
            .unwrap_or_default();
        let reference = crate::reference::reference(reference_key.as_bytes(), application_id);
        let form_pdf = self
            .sqy_form(
                &id,
                name,
                &business_zh,
                &business_en,
                &reference,
                ready_by,
                &hall,
                n_prints,
                signature,
            )
            .await
            .ok()
            .map(|pdf| base64::engine::general_purpose::STANDARD.encode(pdf));
        self.count_use(p, "apply").await;
        Ok(SqyReceipt {
            application_id,
            reference,
            business_zh,
            business_en,
            ready_by,
            name_masked: wujing_domain::text::mask_person_name(name),
            fingerprints: n_prints,
            signature: signature.into(),
            form_pdf,
        })
    }

    /// The filled application form, for the kiosk's printer: who, what, where, when, and what
    /// was captured (never the captures themselves).
    #[allow(clippy::too_many_arguments)]
    async fn sqy_form(
        &self,
        id: &ResidentId,
        name: &str,
        business_zh: &str,
        business_en: &str,
        reference: &str,
        ready_by: chrono::NaiveDate,
        hall: &wujing_store::Hall,
        prints: usize,
        signature: &str,
    ) -> AppResult<Vec<u8>> {
        use wujing_domain::idnum::Sex;
        let sex = match id.sex() {
            Sex::Male => "男 M",
            Sex::Female => "女 F",
        };
        let signed = match signature {
            "signed" => "已签名 signed",
            "unable" => "无法签名 unable to sign",
            _ => "免签（学龄前儿童）not asked (pre-school child)",
        };
        let rows = vec![
            (
                "申请类别 Application".to_string(),
                format!("{business_zh} {business_en}"),
            ),
            ("姓名 Name".into(), name.to_string()),
            ("性别 Sex".into(), sex.into()),
            (
                "出生日期 Date of birth".into(),
                id.birth_date().format("%Y-%m-%d").to_string(),
            ),
            ("公民身份号码 ID number".into(), id.as_str().to_string()),
            ("户籍所在地 Household registration".into(), String::new()),
            ("受理编号 Application no.".into(), reference.to_string()),
            ("受理单位 Accepted at".into(), hall.name_zh.clone()),
            (
                "受理方式 Channel".into(),
                "自助申请（申请易）self-service kiosk".into(),
            ),
            ("预计办结 Expected by".into(), ready_by.to_string()),
            ("相片 Photo".into(), "已采集 taken".into()),
            (
                "指纹 Fingerprints".into(),
                if prints == 0 {
                    "未采集 not taken".to_string()
                } else {
                    format!("{prints} 枚 prints")
                },
            ),
            ("签名 Signature".into(), signed.into()),
        ];
        let form = wujing_forms::Form {
            title: "中国公民普通护照申请表".into(),
            subtitle: format!("Passport application · {business_en} · No. {reference}"),
            rows,
            notes: vec![
                "本表由申请易自助机根据身份证读取信息生成，请核对无误；如有错误，请到窗口更正。".into(),
                "Filled by the self-service kiosk from your ID card. Check it; an officer corrects any mistake at a counter.".into(),
            ],
            language: "zh-CN".into(),
        };
        self.render_form(form).await
    }

    /// An application's biometrics, for an officer of the accepting hall (a counter officer or
    /// a reviewer granted there): audited (`biometrics.read`), never cached. Anyone else, and
    /// an application not made at a kiosk: `application_not_found`.
    pub async fn application_biometrics(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        application_id: i64,
    ) -> AppResult<ApplicationBiometrics> {
        let not_found = || AppError::from(Code::ApplicationNotFound);
        let Principal::Staff(s) = p else {
            return Err(not_found());
        };
        let a = self
            .store
            .application(application_id)
            .await?
            .ok_or_else(not_found)?;
        // An officer of the accepting hall checks them (a counter officer or a reviewer granted
        // there, or organisation-wide): nobody else, not even an administrator, whose role is
        // to run the system, not to look at people's fingerprints.
        use wujing_domain::staff::Role;
        let officer_here = s.roles.iter().any(|g| {
            matches!(g.role, Role::Officer | Role::Reviewer)
                && g.hall.as_deref().is_none_or(|h| h == a.hall_id)
        });
        if !officer_here {
            return Err(not_found());
        }
        let k = self
            .store
            .kiosk_applicant(application_id)
            .await?
            .ok_or_else(not_found)?;
        let stored = self.store.application_biometrics(application_id).await?;
        self.audit(
            &Actor::new(p, client_addr).in_hall(&a.hall_id),
            AdminChange::RecordOnly,
            "biometrics.read",
            format!("application:{application_id}"),
            Some(a.identity_key.clone()),
            json!({ "parts": stored.iter().map(|b| b.part.clone()).collect::<Vec<_>>() }),
        )
        .await?;
        Ok(ApplicationBiometrics {
            application_id,
            fingerprints: k.fingerprints,
            guardian_consent: k.guardian_consent,
            signature: k.signature,
            deleted: k.biometrics_deleted,
            parts: stored
                .into_iter()
                .map(|b| BiometricView {
                    media_type: match b.part.as_str() {
                        "photo" => "image/jpeg",
                        "signature" => "image/png",
                        _ => "application/octet-stream",
                    }
                    .into(),
                    part: b.part,
                    quality: b.quality,
                    data: b.data,
                })
                .collect(),
        })
    }

    /// One pass of the biometrics' deletion: the applications whose document was produced (or
    /// went further), and those older than [`crate::Config::biometrics_retention_days`]
    /// whatever became of them. Each deletion is its own transaction with its audit entry
    /// (`biometrics.delete` by `system:sweeper`); one deleted meanwhile is skipped. Answers how
    /// many applications' biometrics were deleted.
    pub async fn sweep_biometrics(&self) -> AppResult<u64> {
        let now = self.clock.now();
        let cutoff =
            now - chrono::TimeDelta::days(i64::from(self.config.biometrics_retention_days));
        let mut n = 0;
        for id in self.store.biometrics_due(cutoff, SWEEP_BATCH).await? {
            let Some(a) = self.store.application(id).await? else {
                continue;
            };
            let actor = Actor {
                id: "system:sweeper".into(),
                name: "sweeper".into(),
                client_addr: None,
                station: None,
                hall: Some(a.hall_id.clone()),
            };
            match self
                .audit(
                    &actor,
                    AdminChange::Kiosk(KioskStep::DeleteBiometrics { application_id: id }),
                    "biometrics.delete",
                    format!("application:{id}"),
                    Some(a.identity_key.clone()),
                    json!({ "status": a.status, "retention_days": self.config.biometrics_retention_days }),
                )
                .await
            {
                Ok(_) => n += 1,
                Err(e) if e.code == Code::ChangeRefused => {}
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }
}
