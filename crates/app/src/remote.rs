//! Fully online business (全程网办, issue 13): apply, upload the photo, pay online, and follow
//! the application through review, production and the mail, without visiting a hall.
//!
//! The path: the applicant gives the business, identity number and name; a one-time code goes
//! to the phone **registered** for that identity (never one they type), shown masked; the
//! code, once used, opens an online application (its secret goes to the browser, its
//! reference to the citizen). Before the code, every refusal that would tell a registry fact
//! (no record, another name, no phone) is the one generic `remote_not_available`, counted by
//! the owner-proof throttle; after it, the full reasons (`remote_state_functionary`, …) are
//! shown. Then the answers, the photo (checked against RULES.md §5, sealed at rest), the way
//! of collection (mail with a sealed address, or the online site's locker), the fee from the
//! catalogue on the day, the payment through the payment port, and the submission: one store
//! transaction that creates the application (no ticket, channel `web`) at the configured
//! online-acceptance site, whose reviewers take it from there. The submission happens on the
//! citizen's return (reconciling with [`App::payment_for`]) and in the payment hook
//! ([`crate::payment_hooks`]), whichever comes first; the other finds it done. A refused or
//! withdrawn remote application is refunded in the move's path ([`App::refund_remote`]).

use crate::admin::Actor;
use crate::authz::{Action, Principal};
use crate::notify::Lang;
use crate::payments::{PaymentPurpose, PaymentStatus, PaymentView};
use crate::{App, AppError, AppResult, Code};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use wujing_domain::application::{Processing, State};
use wujing_domain::idnum::mask_phone;
use wujing_domain::remote::{check_photo, remote_check, remote_conditions, Background, PhotoFacts};
use wujing_domain::{Answers, Facts, Identity, Reason};
use wujing_store::{
    AdminChange, AdminOutcome, NewAudit, NewOnlineApplication, OnlineApplication, OnlineBy,
    OnlineStep, Private, StoreError,
};

/// The payment purpose of an online application (`id` is the online application's).
pub const PURPOSE_KIND: &str = "online_application";

/// Who acts for the citizen in the history and the trail: the online service itself.
const ONLINE_ACTOR: &str = "system:online";

/// Step 1: what the applicant says of themselves.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoteIdentity {
    pub business: String,
    pub id_number: String,
    pub name: String,
    /// `zh-CN` (default) or `en`: the language of the texts.
    #[serde(default)]
    pub lang: Option<String>,
}

/// Step 2: the code from the registered phone.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoteVerify {
    pub business: String,
    pub id_number: String,
    pub name: String,
    pub code: String,
    #[serde(default)]
    pub lang: Option<String>,
}

/// Where the code went: the registered phone, masked (`138****1234`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RemoteCodeSent {
    pub masked_phone: String,
    pub expires_in_seconds: i64,
    pub resend_after_seconds: i64,
}

/// An open online application's handle: its reference (quoted by the citizen) and the secret
/// only this browser holds.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RemoteSession {
    pub reference: String,
    pub secret: String,
}

/// A reason with its code and texts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReasonView {
    pub code: String,
    pub zh: String,
    pub en: String,
}

impl From<Reason> for ReasonView {
    fn from(r: Reason) -> Self {
        Self {
            code: r.code.to_string(),
            zh: r.zh,
            en: r.en,
        }
    }
}

/// An online application as its applicant sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RemoteView {
    pub reference: String,
    pub business: String,
    pub business_zh: String,
    pub business_en: String,
    /// `draft`, `awaiting_payment`, `submitted`, `abandoned`.
    pub status: String,
    pub masked_phone: String,
    /// Every reason the applicant cannot apply online now (registry facts included: the
    /// applicant proved the registered phone); empty: eligible.
    pub reasons: Vec<ReasonView>,
    /// The renewal reason given, if any.
    pub renewal_reason: Option<String>,
    /// `None`: no photo yet; empty: accepted; else what is wrong with it.
    pub photo: Option<Vec<ReasonView>>,
    /// `locker` or `mail`.
    pub collection_method: Option<String>,
    /// The mail address (the applicant's own, behind the secret).
    pub mail_address: Option<String>,
    /// The fee on the day (catalogue, versioned by date).
    pub fee_yuan: Option<i64>,
    /// The latest payment's status, if a payment was started.
    pub payment: Option<PaymentStatus>,
    /// The application, once submitted: its id, state and due date.
    pub application_id: Option<i64>,
    pub application_status: Option<String>,
    pub ready_by: Option<chrono::NaiveDate>,
    pub tracking_number: Option<String>,
    /// The status page's link (no log-in), once submitted.
    pub status_link: Option<String>,
    /// The online-acceptance site's names (where the locker is).
    pub site_zh: String,
    pub site_en: String,
}

/// The way of collection of an online application.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoteCollection {
    /// `mail` (EMS, to `mail_address`) or `locker` (the online site's pickup locker).
    pub method: String,
    #[serde(default)]
    pub mail_address: Option<String>,
}

/// What the status link shows (no log-in, the link's key is the proof).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RemoteStatus {
    pub reference: String,
    pub business_zh: String,
    pub business_en: String,
    pub status: String,
    pub application: Option<crate::booking::VisitApplication>,
    pub tracking_number: Option<String>,
    /// The fee paid online: the status page is the applicant's record of it (amount, when,
    /// the order number the provider knows it by, and a refund).
    pub payment: Option<PaymentView>,
}

fn secret_hash(secret: &str) -> String {
    wujing_domain::audit::hex(&Sha256::digest(secret.as_bytes()))
}

fn not_found() -> AppError {
    AppError::from(Code::OnlineApplicationNotFound)
}

fn not_available() -> AppError {
    AppError::from(Code::RemoteNotAvailable)
}

fn reasons(v: Vec<Reason>) -> Vec<ReasonView> {
    v.into_iter().map(Into::into).collect()
}

/// The photo's facts: size, and for a JPEG that decodes, its dimensions and background band.
/// The decoder is image-rs's pure-Rust `jpeg-decoder`; a file that does not decode is not a
/// JPEG, whatever its name says.
pub fn measure_photo(bytes: &[u8]) -> PhotoFacts {
    let mut d = jpeg_decoder::Decoder::new(std::io::Cursor::new(bytes));
    let decoded = d.decode().ok().zip(d.info());
    let (dimensions, background) = match decoded {
        Some((pixels, info)) => {
            let (w, h) = (u32::from(info.width), u32::from(info.height));
            let rgb: Option<Vec<u8>> = match info.pixel_format {
                jpeg_decoder::PixelFormat::RGB24 => Some(pixels),
                jpeg_decoder::PixelFormat::L8 => {
                    Some(pixels.iter().flat_map(|&l| [l, l, l]).collect())
                }
                _ => None,
            };
            (
                Some((w, h)),
                rgb.and_then(|p| Background::measure(w, h, &p)),
            )
        }
        None => (None, None),
    };
    PhotoFacts {
        bytes: bytes.len(),
        dimensions,
        background,
    }
}

/// A business that can be handled fully online.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RemoteBusiness {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub fee_yuan: Option<u32>,
}

impl App {
    /// The businesses of the fully online pilot in force today.
    pub fn remote_businesses(&self) -> Vec<RemoteBusiness> {
        let today = self.clock.today();
        self.catalogue
            .businesses()
            .filter(|b| self.catalogue.offered_remotely(&b.code, today))
            .map(|b| RemoteBusiness {
                code: b.code.clone(),
                name_zh: b.name_zh.clone(),
                name_en: b.name_en.clone(),
                fee_yuan: self
                    .catalogue
                    .terms(&b.code, today)
                    .and_then(|t| t.fee_for(None)),
            })
            .collect()
    }

    fn online_site(&self) -> &str {
        &self.config.online_site
    }

    async fn site_names(&self) -> AppResult<(String, String)> {
        let h = self
            .store
            .hall(self.online_site())
            .await?
            .ok_or_else(|| AppError::from(Code::RemoteSiteMissing))?;
        Ok((h.name_zh, h.name_en))
    }

    /// The registry's record under `id_number` when the name is the registered one and a
    /// phone is on file; `None` otherwise (the caller answers all alike). Counted by the
    /// owner-proof throttle (per identity and per client address), so that nobody learns
    /// names or phones by trying.
    async fn registered_phone(
        &self,
        identity_key: &str,
        id_number: &str,
        name: &str,
        client_addr: Option<&str>,
    ) -> AppResult<String> {
        let found = self
            .owner_proof(&format!("remote:{identity_key}"), client_addr, async {
                Ok(self.store.person(id_number).await?.and_then(|p| {
                    let phone = p.phone.filter(|ph| !ph.trim().is_empty())?;
                    (p.name.trim() == name.trim()).then_some(phone)
                }))
            })
            .await?;
        let phone = found.ok_or_else(not_available)?;
        crate::booking::parse_phone(&phone).map_err(|_| not_available())
    }

    /// What can be said before the code: the rules that read no registry record (the
    /// business is offered online, age from the number). Registry-based failures wait.
    fn remote_precheck(&self, business: &str, identity: &Identity) -> AppResult<()> {
        let today = self.clock.today();
        let facts = Facts {
            visit_date: today,
            person: None,
            documents: &[],
        };
        let public: Vec<Reason> = remote_conditions(&self.catalogue, business, identity, facts)
            .into_iter()
            .filter(|r| !wujing_domain::eligibility::from_registry(r.code))
            .collect();
        if public.is_empty() {
            Ok(())
        } else {
            Err(AppError::from(Code::RemoteNotEligible)
                .with_details(json!({ "reasons": reasons(public) })))
        }
    }

    /// Step 1: sends a one-time code to the phone registered for the identity, and says where
    /// it went (masked). Anything the registry would have to tell (no record, another name, no
    /// phone) is answered alike: `remote_not_available`.
    pub async fn remote_send_code(
        &self,
        input: &RemoteIdentity,
        client_addr: Option<&str>,
    ) -> AppResult<RemoteCodeSent> {
        self.site_names().await?;
        let id = self.parse_resident_id(&input.id_number)?;
        let identity = Identity::Resident(id.clone());
        self.remote_precheck(&input.business, &identity)?;
        let key = self.identity_key(&identity);
        let phone = self
            .registered_phone(&key, id.as_str(), &input.name, client_addr)
            .await?;
        let sent = self
            .issue_phone_code(
                &phone,
                "remote",
                Lang::parse(input.lang.as_deref()),
                false,
                client_addr,
            )
            .await?;
        Ok(RemoteCodeSent {
            masked_phone: mask_phone(&phone),
            expires_in_seconds: sent.expires_in_seconds,
            resend_after_seconds: sent.resend_after_seconds,
        })
    }

    /// Step 2: the code proves the registered phone; an online application is opened (or the
    /// person's open one of the business taken over) and its secret handed to this browser.
    pub async fn remote_verify(
        &self,
        input: &RemoteVerify,
        client_addr: Option<&str>,
    ) -> AppResult<RemoteSession> {
        self.site_names().await?;
        let id = self.parse_resident_id(&input.id_number)?;
        let identity = Identity::Resident(id.clone());
        self.remote_precheck(&input.business, &identity)?;
        let key = self.identity_key(&identity);
        let phone = self
            .registered_phone(&key, id.as_str(), &input.name, client_addr)
            .await?;
        self.use_phone_code(&phone, "remote", &input.code).await?;
        let secret = crate::auth::random_token();
        let reference = format!(
            "W{}",
            &wujing_domain::audit::hex(&Sha256::digest(crate::auth::random_token().as_bytes()))
                [..10]
                .to_ascii_uppercase()
        );
        let lang = match Lang::parse(input.lang.as_deref()) {
            Lang::En => "en",
            Lang::Zh => "zh-CN",
        };
        let outcome = self
            .online_step(
                client_addr,
                &key,
                "online.start",
                OnlineStep::Start(NewOnlineApplication {
                    reference,
                    secret_hash: secret_hash(&secret),
                    identity_key: key.clone(),
                    id_number: Private(id.as_str().to_string()),
                    name: Private(input.name.trim().to_string()),
                    phone: Private(phone),
                    lang: lang.into(),
                    business: input.business.clone(),
                    answers: "{}".into(),
                }),
                &[],
            )
            .await?;
        let AdminOutcome::Created(online_id) = outcome else {
            return Err(StoreError::Corrupt("no online application id".into()).into());
        };
        let o = self.online(OnlineBy::Id(online_id)).await?;
        Ok(RemoteSession {
            reference: o.reference,
            secret,
        })
    }

    async fn online(&self, by: OnlineBy) -> AppResult<OnlineApplication> {
        self.store
            .online_application(&by)
            .await?
            .ok_or_else(not_found)
    }

    /// The online application behind a reference and its secret; one answer for a wrong
    /// reference and a wrong secret.
    async fn owned_online(&self, reference: &str, secret: &str) -> AppResult<OnlineApplication> {
        let o = self
            .store
            .online_application(&OnlineBy::Reference(reference.trim().to_string()))
            .await?
            .ok_or_else(not_found)?;
        if crate::auth::same_secret(&o.secret_hash, &secret_hash(secret)) {
            Ok(o)
        } else {
            Err(not_found())
        }
    }

    /// One step of an online application with its audit entry (the online service acting for
    /// the citizen; never personal data in the entry).
    async fn online_step(
        &self,
        client_addr: Option<&str>,
        identity_key: &str,
        action: &str,
        step: OnlineStep,
        messages: &[wujing_store::NewMessage],
    ) -> AppResult<AdminOutcome> {
        let subject = match &step {
            OnlineStep::Start(_) => "online_application:new".to_string(),
            OnlineStep::Answers { id, .. }
            | OnlineStep::Photo { id, .. }
            | OnlineStep::Collection { id, .. }
            | OnlineStep::AwaitPayment { id, .. }
            | OnlineStep::Submit { id, .. }
            | OnlineStep::Abandon { id } => format!("online_application:{id}"),
        };
        let detail = match &step {
            OnlineStep::Photo { check, .. } => json!({ "check": check }),
            OnlineStep::Collection { method, .. } => json!({ "method": method }),
            OnlineStep::AwaitPayment { fee_yuan, .. } => json!({ "fee_yuan": fee_yuan }),
            OnlineStep::Submit { hall_id, .. } => json!({ "hall": hall_id }),
            _ => json!({}),
        };
        let audit = NewAudit {
            at: self.clock.now(),
            actor: ONLINE_ACTOR.into(),
            actor_name: "online".into(),
            action: action.into(),
            subject,
            citizen: Some(identity_key.to_string()),
            detail,
            client_addr: client_addr.map(str::to_string),
            station: None,
            hall_id: Some(self.online_site().to_string()),
        };
        Ok(self
            .store
            .apply_admin_notifying(&AdminChange::Online(step), &audit, messages)
            .await?)
    }

    fn answers_of(o: &OnlineApplication) -> Answers {
        serde_json::from_str(&o.answers).unwrap_or_default()
    }

    /// Every reason the applicant cannot apply online now (registry facts included).
    async fn remote_reasons(&self, o: &OnlineApplication) -> AppResult<Vec<Reason>> {
        let id = self.parse_resident_id(&o.id_number)?;
        let (person, documents) = self.store.facts(&o.id_number).await?;
        Ok(remote_check(
            &self.catalogue,
            &o.business,
            &o.name,
            &Identity::Resident(id),
            &Self::answers_of(o),
            Facts {
                visit_date: self.clock.today(),
                person: person.as_ref(),
                documents: &documents,
            },
        ))
    }

    fn online_fee(&self, o: &OnlineApplication) -> Option<i64> {
        let terms = self.catalogue.terms(&o.business, self.clock.today())?;
        terms
            .fee_for(Self::answers_of(o).option.as_deref())
            .map(i64::from)
    }

    async fn remote_view_of(&self, o: OnlineApplication) -> AppResult<RemoteView> {
        let (site_zh, site_en) = self.site_names().await?;
        let b = self.catalogue.business(&o.business);
        let payment = self
            .payment_for(&PaymentPurpose::new(PURPOSE_KIND, o.id))
            .await?
            .map(|p| p.status);
        let application = match o.application_id {
            Some(a) => self.store.application(a).await?,
            None => None,
        };
        let reasons = if o.status == "draft" {
            reasons(self.remote_reasons(&o).await?)
        } else {
            Vec::new()
        };
        let photo = o.photo_check.as_ref().map(|codes| {
            codes
                .iter()
                .map(|c| {
                    let (zh, en) = photo_text(c);
                    ReasonView {
                        code: c.clone(),
                        zh,
                        en,
                    }
                })
                .collect()
        });
        let status_link = match &application {
            Some(_) => Some(self.remote_status_link(&o.reference)),
            None => None,
        };
        Ok(RemoteView {
            reference: o.reference.clone(),
            business: o.business.clone(),
            business_zh: b.map(|b| b.name_zh.clone()).unwrap_or_default(),
            business_en: b.map(|b| b.name_en.clone()).unwrap_or_default(),
            status: o.status.clone(),
            masked_phone: mask_phone(&o.phone),
            reasons,
            renewal_reason: Self::answers_of(&o).renewal_reason,
            photo,
            collection_method: o.collection_method.clone(),
            mail_address: o.mail_address.clone(),
            fee_yuan: o.fee_yuan.or_else(|| self.online_fee(&o)),
            payment,
            application_id: o.application_id,
            application_status: application.as_ref().map(|a| a.status.clone()),
            ready_by: application.as_ref().map(|a| a.ready_by),
            tracking_number: application.and_then(|a| a.tracking_number),
            status_link,
            site_zh,
            site_en,
        })
    }

    /// The online application as its applicant sees it.
    pub async fn remote_view(&self, reference: &str, secret: &str) -> AppResult<RemoteView> {
        let o = self.owned_online(reference, secret).await?;
        self.remote_view_of(o).await
    }

    fn draft(o: &OnlineApplication) -> AppResult<()> {
        if o.status == "draft" {
            Ok(())
        } else {
            Err(Code::OnlineNotDraft.into())
        }
    }

    /// The answers (the renewal reason for a passport not yet due).
    pub async fn remote_answers(
        &self,
        reference: &str,
        secret: &str,
        renewal_reason: Option<&str>,
    ) -> AppResult<RemoteView> {
        let o = self.owned_online(reference, secret).await?;
        Self::draft(&o)?;
        let reason = renewal_reason
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| match r {
                "pages_full" | "damaged" | "info_changed" => Ok(r.to_string()),
                _ => Err(AppError::new(
                    Code::BodyInvalid,
                    "换发原因须为 pages_full、damaged 或 info_changed",
                    "the renewal reason must be pages_full, damaged or info_changed",
                )),
            })
            .transpose()?;
        let mut answers = Self::answers_of(&o);
        answers.renewal_reason = reason;
        let answers = serde_json::to_string(&answers).expect("answers serialise");
        self.online_step(
            None,
            &o.identity_key,
            "online.answers",
            OnlineStep::Answers { id: o.id, answers },
            &[],
        )
        .await?;
        self.remote_view(reference, secret).await
    }

    /// The photo: checked against RULES.md §5 and kept (sealed) with its check, accepted or
    /// not, so that the page says what is wrong. Answers the failing limits (empty: accepted).
    pub async fn remote_photo(
        &self,
        reference: &str,
        secret: &str,
        bytes: &[u8],
    ) -> AppResult<Vec<ReasonView>> {
        let o = self.owned_online(reference, secret).await?;
        Self::draft(&o)?;
        if bytes.is_empty() {
            return Err(Code::PhotoMissing.into());
        }
        let failing = check_photo(&measure_photo(bytes));
        let codes: Vec<&str> = failing.iter().map(|r| r.code).collect();
        // A photo far outside the limits is not kept: only one that could be a photo is.
        let keep = bytes.len() <= wujing_domain::remote::PHOTO_BYTES.1 * 2;
        if keep {
            self.online_step(
                None,
                &o.identity_key,
                "online.photo",
                OnlineStep::Photo {
                    id: o.id,
                    photo: Private(base64::engine::general_purpose::STANDARD.encode(bytes)),
                    check: serde_json::to_string(&codes).expect("codes serialise"),
                },
                &[],
            )
            .await?;
        }
        Ok(reasons(failing))
    }

    /// How the document reaches the applicant: by mail (the address sealed) or in the online
    /// site's pickup locker.
    pub async fn remote_collection(
        &self,
        reference: &str,
        secret: &str,
        input: &RemoteCollection,
    ) -> AppResult<RemoteView> {
        let o = self.owned_online(reference, secret).await?;
        Self::draft(&o)?;
        let method = input.method.trim();
        if !matches!(method, "mail" | "locker") {
            return Err(AppError::new(
                Code::CollectionInvalid,
                "网上办理的领取方式须为邮寄（mail）或自助取证机（locker）",
                "an online application is collected by mail or from the locker",
            ));
        }
        let (_, address) = crate::lifecycle::CollectionInput {
            method: method.to_string(),
            mail_address: input.mail_address.clone(),
        }
        .parse()?;
        self.online_step(
            None,
            &o.identity_key,
            "online.collection",
            OnlineStep::Collection {
                id: o.id,
                method: method.into(),
                mail_address: address.map(Private),
            },
            &[],
        )
        .await?;
        self.remote_view(reference, secret).await
    }

    /// The applicant's own photo (after the code, behind the secret).
    pub async fn remote_own_photo(&self, reference: &str, secret: &str) -> AppResult<Vec<u8>> {
        let o = self.owned_online(reference, secret).await?;
        self.store.online_photo(o.id).await?.ok_or_else(not_found)
    }

    /// Pays: a draft that is eligible and complete moves to awaiting payment with the fee of
    /// the day, and the payment is started (or the open one returned). A declined payment is
    /// retried by coming here again. Answers the payment (its checkout URL).
    pub async fn remote_pay(&self, reference: &str, secret: &str) -> AppResult<PaymentView> {
        let o = self.owned_online(reference, secret).await?;
        let fee = match o.status.as_str() {
            "draft" => {
                let failing = self.remote_reasons(&o).await?;
                if !failing.is_empty() {
                    return Err(AppError::from(Code::RemoteNotEligible)
                        .with_details(json!({ "reasons": reasons(failing) })));
                }
                let fee = self
                    .online_fee(&o)
                    .ok_or_else(|| AppError::from(Code::NotEligible))?;
                self.online_step(
                    None,
                    &o.identity_key,
                    "online.await_payment",
                    OnlineStep::AwaitPayment {
                        id: o.id,
                        fee_yuan: fee,
                    },
                    &[],
                )
                .await?;
                fee
            }
            "awaiting_payment" => o.fee_yuan.unwrap_or_default(),
            _ => return Err(Code::OnlineNotPayable.into()),
        };
        let b = self.catalogue.business(&o.business);
        let (zh, en) = b.map_or(("网上办理", "Online application"), |b| {
            (b.name_zh.as_str(), b.name_en.as_str())
        });
        self.start_payment(
            &PaymentPurpose::new(PURPOSE_KIND, o.id),
            fee,
            &format!("{zh}（网上办理）"),
            &format!("{en} (online)"),
            &format!("/online/return/{}", o.reference),
        )
        .await
    }

    /// The return from the provider: when paid, the application is submitted (if the payment
    /// hook has not done it already). Answers the view.
    pub async fn remote_reconcile(&self, reference: &str, secret: &str) -> AppResult<RemoteView> {
        let o = self.owned_online(reference, secret).await?;
        self.submit_if_paid(o.id).await?;
        self.remote_view(reference, secret).await
    }

    /// Submits the online application `online_id` when its payment is paid; nothing when it
    /// is not paid or submitted already (idempotent: the payment hook, the citizen's return and
    /// a retried callback may all call it). Answers the application's id, if submitted.
    pub(crate) async fn submit_if_paid(&self, online_id: i64) -> AppResult<Option<i64>> {
        let o = self.online(OnlineBy::Id(online_id)).await?;
        if let Some(a) = o.application_id {
            return Ok(Some(a));
        }
        let paid = self
            .payment_for(&PaymentPurpose::new(PURPOSE_KIND, o.id))
            .await?
            .is_some_and(|p| p.status == PaymentStatus::Paid);
        if !paid || o.status != "awaiting_payment" {
            return Ok(None);
        }
        let today = self.clock.today();
        let days = self
            .catalogue
            .terms(&o.business, today)
            .map_or(7, |t| t.version.processing_working_days);
        let ready_by = self
            .remote_due_date(today, Processing::of(days, false, false))
            .await?;
        // The citizen's text, queued in the submission's transaction (keyed by the online
        // application, so a second submission attempt queues nothing new).
        let link = self.remote_status_link(&o.reference);
        let b = self.catalogue.business(&o.business);
        let body = if o.lang.starts_with("en") {
            format!(
                "[Wujing] Paid and submitted: your online application ({}), reference {}, expected ready by {ready_by}. Status: {link}",
                b.map_or("", |b| b.name_en.as_str()),
                o.reference
            )
        } else {
            format!(
                "【无境】您的网上申请（{}）已缴费提交，申请编号{}，预计{ready_by}前办结。进度：{link}",
                b.map_or("", |b| b.name_zh.as_str()),
                o.reference
            )
        };
        let messages = vec![crate::notify::message(
            format!("online:{}:submitted", o.id),
            &o.phone,
            "application",
            body,
            self.clock.now(),
        )];
        match self
            .online_step(
                None,
                &o.identity_key,
                "online.submit",
                OnlineStep::Submit {
                    id: o.id,
                    hall_id: self.online_site().to_string(),
                    ready_by,
                },
                &messages,
            )
            .await
        {
            Ok(AdminOutcome::Created(a)) => Ok(Some(a)),
            Ok(_) => Ok(None),
            // A concurrent caller submitted it first: its answer is ours.
            Err(e) if e.code == Code::OnlineNotPayable => {
                Ok(self.online(OnlineBy::Id(online_id)).await?.application_id)
            }
            Err(e) => Err(e),
        }
    }

    /// The backstop of the submission: online applications awaiting payment whose payment is
    /// paid (the hook lost by a crash, and the citizen never came back) are submitted. Run
    /// hourly by `wujing serve`; answers how many were submitted.
    pub async fn sweep_online_applications(&self) -> AppResult<u32> {
        let mut n = 0;
        for id in self.store.online_awaiting_payment(200).await? {
            if self.submit_if_paid(id).await?.is_some() {
                n += 1;
            }
        }
        Ok(n)
    }

    async fn remote_due_date(
        &self,
        from: chrono::NaiveDate,
        p: Processing,
    ) -> AppResult<chrono::NaiveDate> {
        let declared = self
            .store
            .calendar_days(from, from + chrono::TimeDelta::days(p.horizon_days()))
            .await?;
        Ok(wujing_domain::application::due_date(from, p, &declared))
    }

    /// The status page's link of an online application: `/online/status/{reference}?k=…`,
    /// keyed like a slip link (the links key is in the key file, not the database).
    pub(crate) fn remote_status_link(&self, reference: &str) -> String {
        format!(
            "{}/online/status/{reference}?k={}",
            self.config.public_url.trim_end_matches('/'),
            self.remote_link_key(reference)
        )
    }

    fn remote_link_key(&self, reference: &str) -> String {
        let mac = self
            .store
            .keys()
            .link_mac(format!("online:{reference}").as_bytes());
        wujing_domain::audit::hex(&mac)[..24].to_string()
    }

    /// The status of a submitted online application by its status link.
    pub async fn remote_status(&self, reference: &str, key: &str) -> AppResult<RemoteStatus> {
        let reference = reference.trim().to_ascii_uppercase();
        if !crate::auth::same_secret(&self.remote_link_key(&reference), key) {
            return Err(not_found());
        }
        let o = self.online(OnlineBy::Reference(reference.clone())).await?;
        let b = self.catalogue.business(&o.business);
        let (application, tracking_number) = match o.application_id {
            Some(id) => {
                let a = self.store.application(id).await?.ok_or_else(not_found)?;
                let tracking = a.tracking_number.clone();
                (Some(self.visit_application(a).await?), tracking)
            }
            None => (None, None),
        };
        let payment = self
            .payment_for(&PaymentPurpose::new(PURPOSE_KIND, o.id))
            .await?
            .filter(|p| {
                matches!(
                    p.status,
                    PaymentStatus::Paid | PaymentStatus::Refunded | PaymentStatus::RefundDue
                )
            });
        Ok(RemoteStatus {
            reference,
            business_zh: b.map(|b| b.name_zh.clone()).unwrap_or_default(),
            business_en: b.map(|b| b.name_en.clone()).unwrap_or_default(),
            status: o.status,
            application,
            tracking_number,
            payment,
        })
    }

    /// The photo of a remote application, for the reviewers of its site (and the producers
    /// and counter staff who may read the application): audited, never cached.
    pub async fn application_photo(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        application_id: i64,
    ) -> AppResult<Vec<u8>> {
        let a = self
            .store
            .application(application_id)
            .await?
            .ok_or_else(not_found)?;
        if !crate::authz::permits(p, Action::Review, Some(&a.hall_id)) {
            return Err(not_found());
        }
        let o = self
            .store
            .online_application(&OnlineBy::Application(application_id))
            .await?
            .ok_or_else(not_found)?;
        let photo = self.store.online_photo(o.id).await?.ok_or_else(not_found)?;
        self.audit(
            &Actor::new(p, client_addr).in_hall(&a.hall_id),
            AdminChange::RecordOnly,
            "application.photo_read",
            format!("application:{application_id}"),
            Some(a.identity_key.clone()),
            json!({}),
        )
        .await?;
        Ok(photo)
    }

    /// The photo check of a remote application (for the review page): `None` for one
    /// accepted at a counter.
    pub async fn application_photo_check(
        &self,
        application_id: i64,
    ) -> AppResult<Option<Vec<String>>> {
        Ok(self
            .store
            .online_application(&OnlineBy::Application(application_id))
            .await?
            .and_then(|o| o.photo_check))
    }

    /// The citizen's phone, language and status link of a remote application (for texts
    /// about its moves): the registered phone given at the code, the language of the visit.
    pub(crate) async fn remote_contact(
        &self,
        application_id: i64,
    ) -> AppResult<Option<(String, String, String)>> {
        Ok(self
            .store
            .online_application(&OnlineBy::Application(application_id))
            .await?
            .map(|o| {
                let link = self.remote_status_link(&o.reference);
                (o.phone, o.lang, link)
            }))
    }

    /// Refunds a remote application's payment when it is refused or withdrawn (after the move
    /// is committed; the refund is idempotent at the payment port). Nothing for one accepted
    /// at a counter.
    pub(crate) async fn refund_remote(
        &self,
        actor: &Actor,
        application_id: i64,
        to: State,
    ) -> AppResult<()> {
        if !matches!(to, State::Refused | State::Withdrawn) {
            return Ok(());
        }
        let Some(o) = self
            .store
            .online_application(&OnlineBy::Application(application_id))
            .await?
        else {
            return Ok(());
        };
        let reason = match to {
            State::Refused => "application refused",
            _ => "application withdrawn",
        };
        self.refund_for(actor, &PaymentPurpose::new(PURPOSE_KIND, o.id), reason)
            .await?;
        Ok(())
    }
}

/// The zh-CN and en texts of a photo check code (the stored check keeps only codes).
fn photo_text(code: &str) -> (String, String) {
    let (zh, en) = match code {
        "photo_file_too_small" => (
            "照片文件应为20–80KB，请使用更清晰的照片",
            "the photo file should be 20–80 KB: use a sharper photo",
        ),
        "photo_file_too_large" => (
            "照片文件应为20–80KB，请压缩后再上传",
            "the photo file should be 20–80 KB: compress it",
        ),
        "photo_not_jpeg" => (
            "照片须为JPEG格式（.jpg）的图片文件",
            "the photo must be a JPEG (.jpg) image",
        ),
        "photo_width" => (
            "照片宽度应为354–480像素",
            "the photo should be 354–480 pixels wide",
        ),
        "photo_height" => (
            "照片高度应为472–640像素",
            "the photo should be 472–640 pixels high",
        ),
        "photo_ratio" => (
            "照片宽高比应为3:4（如354×472像素）",
            "the photo should be 3:4 (e.g. 354×472 pixels)",
        ),
        "photo_background" => (
            "照片背景应为白色或浅灰、浅蓝色的纯色背景",
            "the background should be plain white, light grey or light blue",
        ),
        _ => ("照片不符合要求", "the photo does not meet the requirements"),
    };
    (zh.into(), en.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wujing_testkit::photo_jpeg;

    const WHITE: [u8; 3] = [250, 250, 250];

    fn codes(bytes: &[u8]) -> Vec<&'static str> {
        check_photo(&measure_photo(bytes))
            .iter()
            .map(|r| r.code)
            .collect()
    }

    #[test]
    fn a_decoded_photo_within_the_limits_is_accepted() {
        let good = photo_jpeg(354, 472, WHITE, 75);
        let f = measure_photo(&good);
        assert_eq!(f.dimensions, Some((354, 472)));
        assert!(codes(&good).is_empty(), "{:?}", codes(&good));
        // Light blue and the largest size pass too.
        assert!(codes(&photo_jpeg(480, 640, [200, 225, 245], 60)).is_empty());
    }

    #[test]
    fn each_limit_is_measured_on_the_decoded_file() {
        assert_eq!(
            codes(&photo_jpeg(354, 472, WHITE, 20)),
            ["photo_file_too_small"]
        );
        assert_eq!(
            codes(&photo_jpeg(354, 472, WHITE, 95)),
            ["photo_file_too_large"]
        );
        assert_eq!(
            codes(&photo_jpeg(300, 400, WHITE, 85)),
            ["photo_width", "photo_height"]
        );
        assert_eq!(codes(&photo_jpeg(400, 472, WHITE, 75)), ["photo_ratio"]);
        assert_eq!(
            codes(&photo_jpeg(354, 472, [60, 60, 60], 75)),
            ["photo_background"]
        );
        // Not a JPEG, whatever its name: 30 KB of something else.
        let mut not_jpeg = b"\x89PNG\r\n\x1a\n".to_vec();
        not_jpeg.resize(30 * 1024, 7);
        assert_eq!(codes(&not_jpeg), ["photo_not_jpeg"]);
        // A JPEG cut short does not decode either.
        let good = photo_jpeg(354, 472, WHITE, 75);
        assert!(codes(&good[..good.len() / 2]).contains(&"photo_not_jpeg"));
    }
}
