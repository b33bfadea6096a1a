//! The application's life after the counter (issue 12): the review queue, review decisions,
//! the production steps and collection at a counter.
//!
//! Every step is one store transaction ([`wujing_store::HallStore::transition_application`]):
//! the conditional move from the state this use case saw, the history row, the audit entry and
//! the citizen's text. The move table is the domain's ([`wujing_domain::application`]); it is
//! asked first for a clear answer, and the database's CHECK holds it anyway.
//!
//! Production steps are taken one by one by staff with the `producer` role here, or reported by
//! the production centre's system per document ([`App::report_document`], idempotent for a
//! machine that retries); batches are in [`crate::production`].
//!
//! Also here: the way of collection (a counter, a pickup locker, or mail with an address and
//! a tracking number), chosen at acceptance, later by the citizen from the slip, or by staff
//! at a counter, until the document leaves; supplements brought to a counter of any hall; and
//! the leaders' list of overdue applications. The pickup locker and the sweeper (lapsing,
//! reminders, the return to the vault) are in [`crate::locker`]; they move applications
//! through [`App::move_application`] like staff do, and their texts are here ([`Notice`]).

use crate::admin::Actor;
use crate::authz::{hall_scope, Action, Principal};
use crate::records::{Application, ApplicationEvent};
use crate::{App, AppError, AppResult, Code};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use wujing_domain::application::{next, Collection, Event, RefusalReason, State};
use wujing_store::{
    AdminChange, ApplicationMove, LockerAssignment, NewAudit, NewMessage, StoreError,
};

/// How many applications a queue shows at most.
pub const QUEUE_LIMIT: u32 = 200;

/// A review decision.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefuseInput {
    /// `identity_unverified`, `false_materials`, `exit_restricted`, `not_eligible` or `other`.
    ///
    /// A code only, no free text: the history is not sealed, and a note could carry a name or
    /// a number.
    pub reason: String,
}

/// A production step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductionStep {
    /// Approved → in production.
    Start,
    /// In production → produced; needs the document number.
    Produced,
    /// Produced → dispatched to the collection site.
    Dispatched,
    /// Dispatched → ready for collection (arrived at the site); not for a mailed document.
    Ready,
    /// Dispatched → collected: a mailed document delivered by the carrier.
    Delivered,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductionInput {
    pub step: ProductionStep,
    /// The document's number (5 to 20 capital letters or digits), for `produced`.
    #[serde(default)]
    pub document_number: Option<String>,
    /// The carrier's tracking number (e.g. `EA123456785CN`), for `dispatched` of a document
    /// to be mailed.
    #[serde(default)]
    pub tracking_number: Option<String>,
}

/// Review's request for a supplement.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupplementRequest {
    /// The materials still to bring, by their names (1 to 10, each one line of at most 100
    /// characters); the citizen reads them in the text and on the status page.
    pub missing: Vec<String>,
}

/// A hand-over at a counter.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectInput {
    /// The applicant signed the receipt (签收) after the identity check: required, and
    /// recorded with the hand-over.
    #[serde(default)]
    pub signed: bool,
}

/// What a counter finds for the person whose identity document it holds.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct CounterLookup {
    /// Waiting for a supplement, in any hall: the counter can take it.
    pub pending_supplement: Vec<Application>,
    /// Ready (or back in the vault) at this hall: the counter can hand it over.
    pub to_collect: Vec<Application>,
}

/// An application found by its applicant's identity number and phone code.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct MyApplication {
    pub business_zh: String,
    pub business_en: String,
    pub hall_zh: String,
    pub hall_en: String,
    pub accepted_at: chrono::DateTime<chrono::Utc>,
    pub application: crate::booking::VisitApplication,
    /// The slip's own link (`/slip/{code}?k=…`), where the way of collection can be changed.
    pub link: String,
}

/// How the applicant receives the document.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionInput {
    /// `counter`, `locker` (the collection site's pickup locker, opened with the ID card and a
    /// one-time code sent by text) or `mail` (EMS, to `mail_address`).
    pub method: String,
    /// One line, 8 to 120 characters; required for `mail`, ignored otherwise.
    #[serde(default)]
    pub mail_address: Option<String>,
}

impl CollectionInput {
    /// The method and, for mail, the address in its one-line form.
    pub(crate) fn parse(&self) -> AppResult<(Collection, Option<String>)> {
        let method = Collection::parse(self.method.trim())
            .ok_or_else(|| AppError::from(Code::CollectionInvalid))?;
        let address = match method {
            Collection::Mail => Some(
                self.mail_address
                    .as_deref()
                    .and_then(wujing_domain::application::mail_address)
                    .ok_or_else(|| AppError::from(Code::MailAddressInvalid))?,
            ),
            _ => None,
        };
        // A bidi override would make the parcel's label read other than it is stored.
        if let Some(c) = address
            .as_deref()
            .and_then(wujing_domain::text::forbidden_in_line)
        {
            return Err(AppError::text_invalid(c));
        }
        Ok((method, address))
    }
}

/// What the production centre reports of one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentStep {
    /// In production → produced; needs the document number.
    Produced,
    /// Produced → dispatched to the collection site (or mailed, with the tracking number).
    Dispatched,
}

/// A per-document report of the production centre. There is no `ready`: the centre does not
/// see the document arrive; the collection site's staff (or its locker) say so.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentReport {
    pub step: DocumentStep,
    /// The document's number (5 to 20 capital letters or digits), for `produced`.
    #[serde(default)]
    pub document_number: Option<String>,
    /// The carrier's tracking number (e.g. `EA123456785CN`), for `dispatched` of a document
    /// to be mailed (`collection_method` `mail` in the batch).
    #[serde(default)]
    pub tracking_number: Option<String>,
}

/// An application with its history, for staff.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct ApplicationDetail {
    pub application: Application,
    pub history: Vec<ApplicationEvent>,
}

/// The refusal reasons by code, with their Chinese text (the review page's choices).
pub fn refusal_reasons() -> Vec<(&'static str, &'static str)> {
    RefusalReason::ALL
        .into_iter()
        .map(|r| (r.as_str(), r.zh()))
        .collect()
}

fn not_found() -> AppError {
    Code::ApplicationNotFound.into()
}

/// Store refusals of a move as the registry's codes.
fn move_error(e: StoreError) -> AppError {
    match e {
        StoreError::NotFound(_) => not_found(),
        other => other.into(),
    }
}

fn valid_document_number(n: &str) -> bool {
    (5..=20).contains(&n.len())
        && n.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

impl App {
    pub(crate) async fn application_in(&self, id: i64) -> AppResult<wujing_store::Application> {
        self.store.application(id).await?.ok_or_else(not_found)
    }

    /// The review queue: applications waiting for review or under it, of one hall or of every
    /// hall the reviewer covers; urgent ones first, then by due date.
    pub async fn review_queue(
        &self,
        p: &Principal,
        hall: Option<&str>,
    ) -> AppResult<Vec<Application>> {
        self.require(p, Action::Review, hall)?;
        let halls: Vec<Option<String>> = match (hall, hall_scope(p, Action::Review)) {
            (Some(h), _) => vec![Some(h.to_string())],
            (None, None) => vec![None],
            (None, Some(hs)) => hs.into_iter().map(Some).collect(),
        };
        let mut out = Vec::new();
        for h in &halls {
            for state in [State::Accepted, State::UnderReview] {
                out.extend(
                    self.store
                        .applications_in_state(state.as_str(), h.as_deref(), QUEUE_LIMIT)
                        .await?,
                );
            }
        }
        out.sort_by_key(|a| (!a.expedited, a.ready_by, a.id));
        out.truncate(QUEUE_LIMIT as usize);
        Ok(out.into_iter().map(Into::into).collect())
    }

    /// An application and its history (for review, production and the counter).
    pub async fn application_detail(&self, p: &Principal, id: i64) -> AppResult<ApplicationDetail> {
        let a = self.application_in(id).await?;
        if !(crate::authz::permits(p, Action::Review, Some(&a.hall_id))
            || crate::authz::permits(p, Action::Produce, Some(&a.hall_id))
            || crate::authz::permits(p, Action::Counter, Some(&a.hall_id)))
        {
            // Another hall's application is not there for this caller.
            return Err(not_found());
        }
        let history = self
            .store
            .application_events(id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect();
        Ok(ApplicationDetail {
            application: a.into(),
            history,
        })
    }

    /// Takes an application into review (audited).
    pub async fn start_review(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        id: i64,
    ) -> AppResult<Application> {
        self.step(
            p,
            client_addr,
            self.application_in(id).await?,
            Action::Review,
            Event::StartReview,
            Step::default(),
        )
        .await
    }

    /// Approves an application under review (audited; the citizen is told).
    pub async fn approve(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        id: i64,
    ) -> AppResult<Application> {
        self.step(
            p,
            client_addr,
            self.application_in(id).await?,
            Action::Review,
            Event::Approve,
            Step::default(),
        )
        .await
    }

    /// Review finds a material missing after all: the application waits for it (the citizen
    /// is told what and by when, and brings it to a counter of any hall); audited.
    pub async fn require_supplement(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        id: i64,
        input: &SupplementRequest,
    ) -> AppResult<Application> {
        let missing: Vec<String> = input
            .missing
            .iter()
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .collect();
        if missing.is_empty()
            || missing.len() > 10
            || missing.iter().any(|m| m.chars().count() > 100)
        {
            return Err(Code::MissingItemsInvalid.into());
        }
        if let Some(c) = missing
            .iter()
            .find_map(|m| wujing_domain::text::forbidden_in_line(m))
        {
            return Err(AppError::text_invalid(c));
        }
        let due = self.hall_day() + chrono::TimeDelta::days(crate::hall::SUPPLEMENT_DAYS);
        self.step(
            p,
            client_addr,
            self.application_in(id).await?,
            Action::Review,
            Event::RequireSupplement,
            Step {
                supplement: Some((missing, due)),
                ..Step::default()
            },
        )
        .await
    }

    /// Refuses an application under review with a coded reason (audited; the citizen is told
    /// the reason's text).
    pub async fn refuse(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        id: i64,
        input: &RefuseInput,
    ) -> AppResult<Application> {
        let reason = RefusalReason::parse(input.reason.trim())
            .ok_or_else(|| AppError::from(Code::RefusalReasonInvalid))?;
        self.step(
            p,
            client_addr,
            self.application_in(id).await?,
            Action::Review,
            Event::Refuse,
            Step {
                reason: Some(reason),
                ..Step::default()
            },
        )
        .await
    }

    /// A production step (audited; "ready" tells the citizen where to collect, "dispatched"
    /// of a mailed document the tracking number).
    pub async fn production_step(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        id: i64,
        input: &ProductionInput,
    ) -> AppResult<Application> {
        let a = self.application_in(id).await?;
        let mail = a.collection_method == Collection::Mail.as_str();
        let mut step = Step::default();
        let event = match input.step {
            ProductionStep::Start => Event::StartProduction,
            ProductionStep::Produced => {
                let n = input
                    .document_number
                    .as_deref()
                    .map(str::trim)
                    .filter(|n| valid_document_number(n))
                    .ok_or_else(|| AppError::from(Code::DocumentNumberInvalid))?;
                step.document_number = Some(n.to_string());
                Event::Produce
            }
            ProductionStep::Dispatched => {
                if mail {
                    step.tracking_number = Some(
                        input
                            .tracking_number
                            .as_deref()
                            .and_then(wujing_domain::application::tracking_number)
                            .ok_or_else(|| AppError::from(Code::TrackingNumberInvalid))?,
                    );
                }
                Event::Dispatch
            }
            // A mailed document has no collection site to arrive at, and only a mailed one is
            // delivered by the carrier.
            ProductionStep::Ready if mail => return Err(Code::ApplicationMoveIllegal.into()),
            ProductionStep::Ready => Event::Arrive,
            ProductionStep::Delivered if !mail => return Err(Code::ApplicationMoveIllegal.into()),
            ProductionStep::Delivered => Event::Collect,
        };
        self.step(p, client_addr, a, Action::Produce, event, step)
            .await
    }

    /// The production centre reports one document (`POST /api/v1/production/documents/{id}`):
    /// produced with its number, or dispatched to the collection site. Through the same one
    /// transaction as a staff step. A retried report that is already true (same step, same
    /// number) answers the application again without a second event, so that a machine that
    /// lost an answer may simply retry; another number for a document that has one is refused
    /// (`document_already_numbered`), a number that is another document's too
    /// (`document_number_taken`).
    pub async fn report_document(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        id: i64,
        input: &DocumentReport,
    ) -> AppResult<Application> {
        self.require(p, Action::ProductionBatches, None)?;
        let (event, number) = match input.step {
            DocumentStep::Produced => (
                Event::Produce,
                Some(
                    input
                        .document_number
                        .as_deref()
                        .map(str::trim)
                        .filter(|n| valid_document_number(n))
                        .ok_or_else(|| AppError::from(Code::DocumentNumberInvalid))?
                        .to_string(),
                ),
            ),
            DocumentStep::Dispatched => (Event::Dispatch, None),
        };
        let a = self.application_in(id).await?;
        self.require(p, Action::ProductionBatches, Some(&a.hall_id))?;
        if let Some(done) = already_reported(&a, event.target(), number.as_deref())? {
            return Ok(done);
        }
        // A step that is not the next one is said so first (not that a number is missing).
        if State::parse(&a.status).is_none_or(|from| next(from, event).is_err()) {
            return Err(Code::ApplicationMoveIllegal.into());
        }
        // A document to be mailed leaves with the carrier's tracking number, as from staff.
        let tracking_number =
            if event == Event::Dispatch && a.collection_method == Collection::Mail.as_str() {
                Some(
                    input
                        .tracking_number
                        .as_deref()
                        .and_then(wujing_domain::application::tracking_number)
                        .ok_or_else(|| AppError::from(Code::TrackingNumberInvalid))?,
                )
            } else {
                None
            };
        let r = self
            .step(
                p,
                client_addr,
                a,
                Action::ProductionBatches,
                event,
                Step {
                    document_number: number.clone(),
                    tracking_number,
                    ..Step::default()
                },
            )
            .await;
        match r {
            // The same report, sent twice at once: the other one moved it.
            Err(e) if e.code == Code::ApplicationStateChanged => {
                let a = self.application_in(id).await?;
                already_reported(&a, event.target(), number.as_deref())?.ok_or(e)
            }
            r => r,
        }
    }

    /// The document handed over at a counter of the collection site, after the identity
    /// check; the history and the audit entry record who handed it over.
    pub async fn collect_at_counter(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        id: i64,
        input: &CollectInput,
    ) -> AppResult<Application> {
        if !input.signed {
            return Err(Code::SignatureRequired.into());
        }
        let a = self.application_in(id).await?;
        // Dispatched → collected is the carrier's delivery, not a counter's hand-over.
        if !matches!(
            State::parse(&a.status),
            Some(State::ReadyForCollection | State::ReturnedToVault)
        ) {
            return Err(Code::ApplicationMoveIllegal.into());
        }
        self.step(
            p,
            client_addr,
            a,
            Action::Counter,
            Event::Collect,
            Step {
                signed: true,
                ..Step::default()
            },
        )
        .await
    }

    /// The missing materials brought to a counter of `hall`, which may be another hall than
    /// the accepting one (M5: supplements at any site): the application moves on to review.
    /// The history notes the hall; the audit entry is the counter's hall's.
    pub async fn supplement(
        &self,
        p: &Principal,
        hall: &str,
        client_addr: Option<&str>,
        id: i64,
    ) -> AppResult<Application> {
        self.require(p, Action::Counter, Some(hall))?;
        let a = self.application_in(id).await?;
        self.step(
            p,
            client_addr,
            a,
            Action::Counter,
            Event::Supplement,
            Step {
                at_hall: Some(hall.to_string()),
                ..Step::default()
            },
        )
        .await
    }

    /// What the counter of `hall` can do for the person whose identity document it holds:
    /// supplements waiting in any hall, documents to hand over at this one (audited as a
    /// lookup; other applications of the person are not shown).
    pub async fn counter_lookup(
        &self,
        p: &Principal,
        hall: &str,
        client_addr: Option<&str>,
        id_number: &str,
    ) -> AppResult<CounterLookup> {
        self.require(p, Action::Counter, Some(hall))?;
        let id = self.parse_resident_id(id_number)?;
        let key = self.identity_key(&wujing_domain::Identity::Resident(id));
        let mut found = CounterLookup {
            pending_supplement: Vec::new(),
            to_collect: Vec::new(),
        };
        for a in self.store.applications_of(&key).await? {
            match State::parse(&a.status) {
                Some(State::PendingSupplement) => found.pending_supplement.push(a.into()),
                Some(State::ReadyForCollection | State::ReturnedToVault) if a.hall_id == hall => {
                    found.to_collect.push(a.into())
                }
                _ => {}
            }
        }
        self.audit(
            &Actor::new(p, client_addr).in_hall(hall),
            AdminChange::RecordOnly,
            "application.lookup",
            format!(
                "identity:{}",
                wujing_domain::idnum::mask_id_number(id_number.trim())
            ),
            Some(key),
            json!({
                "pending_supplement": found.pending_supplement.len(),
                "to_collect": found.to_collect.len(),
            }),
        )
        .await?;
        Ok(found)
    }

    /// The applicant's applications by identity number and a code sent to the phone they
    /// booked with (the status query of the portal and the API). Walk-in applications have no
    /// phone on file to prove ownership with and are not shown (the counter's receipt tells
    /// them the date).
    pub async fn my_applications(
        &self,
        id_number: &str,
        phone: &str,
        code: &str,
    ) -> AppResult<Vec<MyApplication>> {
        let id = self.parse_resident_id(id_number)?;
        self.use_phone_code(phone, "lookup", code).await?;
        let phone = crate::booking::parse_phone(phone)?;
        let key = self.identity_key(&wujing_domain::Identity::Resident(id));
        let mut out = Vec::new();
        for a in self.store.applications_of(&key).await? {
            let Some(booking_id) = a.booking_id else {
                continue;
            };
            let Some(b) = self.store.booking_by_id(booking_id).await? else {
                continue;
            };
            if b.phone != phone {
                continue;
            }
            let hall = self.hall_by_id(&a.hall_id).await?;
            let (business_zh, business_en) = self
                .catalogue
                .business(&a.business)
                .map(|x| (x.name_zh.to_string(), x.name_en.to_string()))
                .unwrap_or_else(|| (a.business.clone(), a.business.clone()));
            out.push(MyApplication {
                business_zh,
                business_en,
                hall_zh: hall.name_zh.clone(),
                hall_en: hall.name_en.clone(),
                accepted_at: a.accepted_at,
                link: format!("/slip/{}?k={}", b.code, self.slip_key(&b.code).await?),
                application: self.visit_application(a).await?,
            });
        }
        Ok(out)
    }

    /// The way of collection chosen or changed by staff at a counter of the application's
    /// hall (audited).
    pub async fn choose_collection(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        id: i64,
        input: &CollectionInput,
    ) -> AppResult<Application> {
        let a = self.application_in(id).await?;
        self.require(p, Action::Counter, Some(&a.hall_id))?;
        let actor = Actor::new(p, client_addr).in_hall(&a.hall_id);
        self.record_collection(&actor, &a, input).await
    }

    /// The way of collection chosen or changed by the citizen from the slip (the slip link
    /// is the owner proof; audited as the citizen's own change).
    pub async fn choose_collection_by_slip(
        &self,
        code: &str,
        key: &str,
        client_addr: Option<&str>,
        input: &CollectionInput,
    ) -> AppResult<Application> {
        let b = self.slip_booking(code, key).await?;
        let a = self
            .application_of_booking(b.id)
            .await?
            .ok_or_else(not_found)?;
        let actor = Actor::new(&Principal::Anonymous, client_addr).in_hall(&a.hall_id);
        self.record_collection(&actor, &a, input).await
    }

    /// The same by the booking code and the applicant's identity number (the API's owner
    /// proof, limited against guessing like the booking's other owner routes).
    pub async fn choose_collection_by_owner(
        &self,
        code: &str,
        id_number: &str,
        client_addr: Option<&str>,
        input: &CollectionInput,
    ) -> AppResult<Application> {
        let b = self.owned_booking(code, id_number, client_addr).await?;
        let a = self
            .application_of_booking(b.id)
            .await?
            .ok_or_else(not_found)?;
        let actor = Actor::new(&Principal::Anonymous, client_addr).in_hall(&a.hall_id);
        self.record_collection(&actor, &a, input).await
    }

    /// The applicant withdraws the application of this booking before a decision (accepted,
    /// waiting for a supplement, or under review), with the owner proof; audited as the
    /// citizen's, named `citizen` in the history.
    pub async fn withdraw_by_owner(
        &self,
        code: &str,
        id_number: &str,
        client_addr: Option<&str>,
    ) -> AppResult<Application> {
        let b = self.owned_booking(code, id_number, client_addr).await?;
        let a = self
            .application_of_booking(b.id)
            .await?
            .ok_or_else(not_found)?;
        let actor = Actor::new(&Principal::Anonymous, client_addr).in_hall(&a.hall_id);
        self.move_application(
            &a,
            Event::Withdraw,
            Step::default(),
            &actor,
            "citizen".into(),
        )
        .await
    }

    pub(crate) async fn application_of_booking(
        &self,
        booking_id: i64,
    ) -> AppResult<Option<wujing_store::Application>> {
        let Some(t) = self.store.ticket_of_booking(booking_id).await? else {
            return Ok(None);
        };
        Ok(self.store.application_of(t.id).await?)
    }

    pub(crate) async fn record_collection(
        &self,
        actor: &Actor,
        a: &wujing_store::Application,
        input: &CollectionInput,
    ) -> AppResult<Application> {
        let (method, mail_address) = input.parse()?;
        if !State::parse(&a.status).is_some_and(Collection::can_choose_in) {
            return Err(Code::CollectionFixed.into());
        }
        self.audit(
            actor,
            AdminChange::ChooseCollection {
                id: a.id,
                method: method.as_str().into(),
                mail_address,
            },
            "application.collection",
            format!("application:{}", a.id),
            Some(a.identity_key.clone()),
            // The address is the citizen's: sealed in the row, never in the trail.
            json!({ "method": method.as_str() }),
        )
        .await?;
        Ok(self.application_in(a.id).await?.into())
    }

    /// Applications past their due date that are not ready yet, of one hall or of every hall
    /// the leader covers, oldest due first.
    pub async fn overdue(&self, p: &Principal, hall: Option<&str>) -> AppResult<Vec<Application>> {
        self.require(p, Action::ViewSignals, hall)?;
        let today = self.hall_day();
        let halls: Vec<Option<String>> = match (hall, hall_scope(p, Action::ViewSignals)) {
            (Some(h), _) => vec![Some(h.to_string())],
            (None, None) => vec![None],
            (None, Some(hs)) => hs.into_iter().map(Some).collect(),
        };
        let mut out = Vec::new();
        for h in &halls {
            out.extend(
                self.store
                    .overdue_applications(today, h.as_deref(), QUEUE_LIMIT)
                    .await?,
            );
        }
        out.sort_by_key(|a| (a.ready_by, a.id));
        out.truncate(QUEUE_LIMIT as usize);
        Ok(out.into_iter().map(Into::into).collect())
    }

    /// One step: authorised in the application's hall (or, for a supplement, the counter's),
    /// checked against the move table, then the store's one transaction (move, history, audit
    /// entry, text).
    async fn step(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        a: wujing_store::Application,
        action: Action,
        event: Event,
        step: Step,
    ) -> AppResult<Application> {
        let hall = step.at_hall.clone().unwrap_or_else(|| a.hall_id.clone());
        self.require(p, action, Some(&hall))?;
        // Staff, or the production centre's system: each named in the history by its id.
        if !matches!(p, Principal::Staff(_) | Principal::System(_)) {
            return Err(crate::authz::denied(p));
        }
        let actor = Actor::new(p, client_addr).in_hall(&hall);
        // Named in the history by its id: `staff:<id>` or `system:<id>`.
        let by = actor.id.clone();
        self.move_application(&a, event, step, &actor, by).await
    }

    /// A move of `a` by `event`, whoever decided it (staff, or the sweeper as
    /// `system:sweeper`): checked against the move table, then the store's one transaction
    /// (move, history row by `by`, audit entry by `actor`, the citizen's text). An arrival of
    /// a document to be collected from the locker also takes a compartment there, with a fresh
    /// one-time pickup code whose text is queued only if a compartment was free.
    pub(crate) async fn move_application(
        &self,
        a: &wujing_store::Application,
        event: Event,
        step: Step,
        actor: &Actor,
        by: String,
    ) -> AppResult<Application> {
        let id = a.id;
        let from = State::parse(&a.status)
            .ok_or_else(|| AppError::from(StoreError::Corrupt("application state".into())))?;
        let to = next(from, event).map_err(|_| AppError::from(Code::ApplicationMoveIllegal))?;
        let now = self.clock.now();
        let audit = NewAudit {
            at: now,
            actor: actor.id.clone(),
            actor_name: actor.name.clone(),
            action: format!("application.{}", to.as_str()),
            subject: format!("application:{id}"),
            citizen: Some(a.identity_key.clone()),
            detail: json!({
                "from": from.as_str(),
                "to": to.as_str(),
                "reason": step.reason.map(RefusalReason::as_str),
                "document_number": step.document_number,
                "tracking_number": step.tracking_number,
                "hall": step.at_hall,
                "signed": step.signed.then_some(true),
                "missing": step.supplement.as_ref().map(|(m, _)| m),
                "supplement_due": step.supplement.as_ref().map(|(_, d)| d),
                "on_site": step.on_site.then_some(true),
            }),
            client_addr: actor.client_addr.clone(),
            station: actor.station.clone(),
            hall_id: actor.hall.clone(),
        };
        let notice = match to {
            State::Lapsed => Some(Notice::Lapsed),
            State::ReturnedToVault => Some(Notice::ReturnedToVault),
            _ => None,
        };
        let (messages, locker) = if step.on_site {
            // Written onto the permit at 网e捷 while the citizen waits: no compartment, no
            // "ready" text; only the last move tells them it is done.
            (self.texts_for(a, to, &step).await?, None)
        } else if to == State::ReadyForCollection
            && a.collection_method == Collection::Locker.as_str()
        {
            // Decided here (issue 12 is silent): when every compartment of the site is
            // occupied, the document is not held back; it waits at the counter, and the text
            // says so instead of giving a code. The store picks which text goes out, in the
            // transaction that knows whether a compartment was free. Without a phone on file
            // (a walk-in) nobody could learn the code: no compartment either.
            let code = crate::locker::pickup_code();
            let texts = self.notice_texts(a, Notice::InLocker(&code)).await?;
            let assignment = (!texts.is_empty()).then(|| LockerAssignment {
                code_mac: self.pickup_mac(&a.identity_key, &code),
                messages: texts,
            });
            (self.notice_texts(a, Notice::LockerFull).await?, assignment)
        } else if let Some(n) = notice {
            (self.notice_texts(a, n).await?, None)
        } else {
            (self.texts_for(a, to, &step).await?, None)
        };
        let moved = self
            .store
            .transition_application(
                &ApplicationMove {
                    id,
                    from: from.as_str().into(),
                    to: to.as_str().into(),
                    actor: by,
                    // No free text from staff: the history is not sealed. A supplement
                    // brought elsewhere names the hall (not personal data).
                    note: if step.signed {
                        "signed".into()
                    } else if step.on_site {
                        "on_site".into()
                    } else {
                        step.at_hall
                            .as_ref()
                            .filter(|h| **h != a.hall_id)
                            .map(|h| format!("hall:{h}"))
                            .unwrap_or_default()
                    },
                    refusal_reason: step.reason.map(|r| r.as_str().to_string()),
                    document_number: step.document_number.clone(),
                    tracking_number: step.tracking_number.clone(),
                    locker,
                    supplement: step.supplement.clone(),
                },
                &audit,
                &messages,
            )
            .await
            .map_err(move_error)?;
        // A refused or withdrawn application submitted online gets its fee back. The move is
        // committed: a refund the provider cannot make now stays due at the payment port
        // (its refund pass retries); the move is not undone for it.
        if let Err(e) = self.refund_remote(actor, id, to).await {
            tracing::warn!(application = id, code = %e.code, "refund of a remote application not made now");
        }
        Ok(moved.into())
    }

    /// The citizen's text about a locker or sweeper `notice`, to the booking's phone in the
    /// booking's language, with the link to the status; none for a walk-in (no phone on file).
    /// Queued in the caller's transaction, keyed by application and what it says, so that a
    /// redelivery (or a second sweep) is recognised. The body can carry a pickup code: it is
    /// sealed in the outbox like every text, and never logged (`NewMessage`'s `Debug` leaves it
    /// out).
    pub(crate) async fn notice_texts(
        &self,
        a: &wujing_store::Application,
        notice: Notice<'_>,
    ) -> AppResult<Vec<NewMessage>> {
        let Some((phone, lang, link)) = self.citizen_contact(a).await? else {
            return Ok(Vec::new());
        };
        let hall = self.store.hall(&a.hall_id).await?;
        let en = lang.starts_with("en");
        let site = if en {
            hall.as_ref()
                .map_or("the accepting hall", |h| h.name_en.as_str())
        } else {
            hall.as_ref().map_or("受理大厅", |h| h.name_zh.as_str())
        };
        let body = notice.body(en, site, a, &link);
        Ok(vec![crate::notify::message(
            format!("application:{}:{}", a.id, notice.key()),
            &phone,
            "application",
            body,
            self.clock.now(),
        )])
    }

    /// Where the citizen's texts about `a` go: the booking's phone, language and slip link;
    /// for an application submitted online (no ticket), the registered phone given at the
    /// code, the language of the visit and the online status link; none for a walk-in.
    pub(crate) async fn citizen_contact(
        &self,
        a: &wujing_store::Application,
    ) -> AppResult<Option<(String, String, String)>> {
        if let Some(booking_id) = a.booking_id {
            let Some(b) = self.store.booking_by_id(booking_id).await? else {
                return Ok(None);
            };
            let link = self.status_link(&b).await?;
            return Ok(Some((b.phone.clone(), b.lang.clone(), link)));
        }
        if a.ticket_id.is_none() {
            return self.remote_contact(a.id).await;
        }
        Ok(None)
    }

    /// The link a text carries to the application's status: the booking's slip (its own
    /// secret link), which shows the history, the next step and the choice of collection.
    pub(crate) async fn status_link(&self, b: &wujing_store::Booking) -> AppResult<String> {
        Ok(format!(
            "{}/slip/{}?k={}",
            self.config.public_url.trim_end_matches('/'),
            b.code,
            self.slip_key(&b.code).await?
        ))
    }

    /// The citizen's text for a step that matters to them, to the booking's phone in the
    /// booking's language, with the link to the status; none for a walk-in (no phone on
    /// file) or another step. Queued in the move's transaction, keyed by application and
    /// state so that a redelivery is recognised.
    async fn texts_for(
        &self,
        a: &wujing_store::Application,
        to: State,
        step: &Step,
    ) -> AppResult<Vec<NewMessage>> {
        let mail = a.collection_method == Collection::Mail.as_str();
        let tells = match to {
            State::Collected if step.on_site => true,
            _ if step.on_site => false,
            State::Accepted => step.at_hall.is_some(),
            State::PendingSupplement => step.supplement.is_some(),
            State::Approved | State::Refused | State::ReadyForCollection => true,
            State::Dispatched | State::Collected => mail,
            _ => false,
        };
        if !tells {
            return Ok(Vec::new());
        }
        let Some((phone, lang, link)) = self.citizen_contact(a).await? else {
            return Ok(Vec::new());
        };
        let hall = self.store.hall(&a.hall_id).await?;
        let en = lang.starts_with("en");
        let reason = step.reason;
        let tracking = step.tracking_number.as_deref().unwrap_or("");
        let body = match (to, en) {
            (State::PendingSupplement, false) => {
                let (items, due) = step.supplement.as_ref().expect("told only with a request");
                format!(
                    "【无境】审批中发现您的申请尚缺：{}。请于{due}前到任一出入境窗口补交，逾期申请终止。进度：{link}",
                    items.join("、")
                )
            }
            (State::PendingSupplement, true) => {
                let (items, due) = step.supplement.as_ref().expect("told only with a request");
                format!(
                    "[Wujing] Review found your application still needs: {}. Bring it to any exit-entry counter by {due}, or the application lapses. Status: {link}",
                    items.join(", ")
                )
            }
            (State::Accepted, false) => format!(
                "【无境】您补交的材料已收到，申请进入审批，预计{}前办结。进度：{link}",
                a.ready_by
            ),
            (State::Accepted, true) => format!(
                "[Wujing] The missing materials are in; your application goes to review, expected ready by {}. Status: {link}",
                a.ready_by
            ),
            (State::Approved, false) => format!(
                "【无境】您的申请已审批通过，正在制证，预计{}前可领取。进度：{link}",
                a.ready_by
            ),
            (State::Approved, true) => format!(
                "[Wujing] Your application is approved and the document is being made; expected by {}. Status: {link}",
                a.ready_by
            ),
            (State::Refused, false) => format!(
                "【无境】您的申请不予批准：{}。如有疑问请咨询受理大厅。详情：{link}",
                reason.map_or("", RefusalReason::zh)
            ),
            (State::Refused, true) => format!(
                "[Wujing] Your application was refused: {}. Please ask the accepting hall. Details: {link}",
                reason.map_or("", RefusalReason::en)
            ),
            (State::Dispatched, false) => format!(
                "【无境】您的证件已通过EMS寄出，运单号{tracking}，请留意查收。进度：{link}"
            ),
            (State::Dispatched, true) => format!(
                "[Wujing] Your document has been mailed by EMS, tracking number {tracking}. Status: {link}"
            ),
            (State::Collected, false) if step.on_site => format!(
                "【无境】您的签注已在网e捷自助机写入电子往来港澳通行证，本次办理完成。如非本人办理，请联系受理大厅。进度：{link}"
            ),
            (State::Collected, true) if step.on_site => format!(
                "[Wujing] Your endorsement was written onto your e-card permit at a self-service machine; this application is complete. If this was not you, please contact the accepting hall. Status: {link}"
            ),
            (State::Collected, false) => {
                format!("【无境】您的证件已妥投，本次办理完成。进度：{link}")
            }
            (State::Collected, true) => format!(
                "[Wujing] Your document has been delivered; this application is complete. Status: {link}"
            ),
            (_, false) => format!(
                "【无境】您的证件已可领取，请携带身份证到{}窗口领取。进度：{link}",
                hall.as_ref().map_or("受理大厅", |h| h.name_zh.as_str())
            ),
            (_, true) => format!(
                "[Wujing] Your document is ready: collect it with your ID card at {}. Status: {link}",
                hall.as_ref()
                    .map_or("the accepting hall", |h| h.name_en.as_str())
            ),
        };
        Ok(vec![crate::notify::message(
            format!("application:{}:{}", a.id, to.as_str()),
            &phone,
            "application",
            body,
            self.clock.now(),
        )])
    }
}

/// Whether a report is already true of `a`: the application again (nothing to do), or
/// `document_already_numbered` when the document has another number.
fn already_reported(
    a: &wujing_store::Application,
    target: State,
    number: Option<&str>,
) -> AppResult<Option<Application>> {
    if let (Some(n), Some(has)) = (number, a.document_number.as_deref()) {
        if n != has {
            return Err(Code::DocumentAlreadyNumbered.into());
        }
    }
    Ok((a.status == target.as_str()).then(|| a.clone().into()))
}

/// What a text to the applicant about the locker or a sweep says (the other steps' texts are
/// [`App::texts_for`]'s).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Notice<'a> {
    /// In the site's pickup locker, with the one-time code.
    InLocker(&'a str),
    /// To be collected from the locker, but every compartment was occupied.
    LockerFull,
    Lapsed,
    /// Still waiting after [`crate::Config::pickup_reminder_days`].
    Reminder,
    ReturnedToVault,
}

impl Notice<'_> {
    /// The idempotency key's last part: one text per application and state (the locker's two
    /// "ready" texts are alternatives of the counter's), and one reminder.
    fn key(self) -> &'static str {
        match self {
            Notice::InLocker(_) | Notice::LockerFull => "ready_for_collection",
            Notice::Lapsed => "lapsed",
            Notice::Reminder => "reminder",
            Notice::ReturnedToVault => "returned_to_vault",
        }
    }

    fn body(self, en: bool, site: &str, a: &wujing_store::Application, link: &str) -> String {
        let locker = a.collection_method == Collection::Locker.as_str();
        let due = a.supplement_due.map_or_else(String::new, |d| d.to_string());
        match (self, en) {
            (Notice::InLocker(code), false) => format!(
                "【无境】您的证件已存入{site}自助取证机，请在取证机输入身份证号码和取件码{code}领取。取件码仅可使用一次，请勿告知他人。进度：{link}"
            ),
            (Notice::InLocker(code), true) => format!(
                "[Wujing] Your document is in the pickup locker at {site}: enter your ID number and the pickup code {code} at the locker. The code works once; keep it to yourself. Status: {link}"
            ),
            (Notice::LockerFull, false) => format!(
                "【无境】您的证件已可领取。自助取证机暂无空余格口，请携带身份证到{site}窗口领取。进度：{link}"
            ),
            (Notice::LockerFull, true) => format!(
                "[Wujing] Your document is ready. The pickup locker is full, so please collect it with your ID card at a counter of {site}. Status: {link}"
            ),
            (Notice::Lapsed, false) => format!(
                "【无境】您的申请未在{due}前补充材料，已终止办理。如需办理请重新申请。进度：{link}"
            ),
            (Notice::Lapsed, true) => format!(
                "[Wujing] The missing document was not brought by {due}, so your application has lapsed. Please apply again if you still need it. Status: {link}"
            ),
            (Notice::Reminder, false) if locker => format!(
                "【无境】提醒：您的证件仍在{site}待领取，请凭身份证号码和此前短信中的取件码到自助取证机领取；逾期未领将退回库房。进度：{link}"
            ),
            (Notice::Reminder, true) if locker => format!(
                "[Wujing] Reminder: your document still waits at {site}. Collect it at the pickup locker with your ID number and the code from our earlier text; uncollected documents go back to the vault. Status: {link}"
            ),
            (Notice::Reminder, false) => format!(
                "【无境】提醒：您的证件仍在{site}待领取，请尽快携带身份证到窗口领取；逾期未领将退回库房。进度：{link}"
            ),
            (Notice::Reminder, true) => format!(
                "[Wujing] Reminder: your document still waits at {site}. Please collect it with your ID card at a counter soon; uncollected documents go back to the vault. Status: {link}"
            ),
            (Notice::ReturnedToVault, false) => format!(
                "【无境】您的证件逾期未领，已退回库房，请携带身份证到{site}窗口领取。进度：{link}"
            ),
            (Notice::ReturnedToVault, true) => format!(
                "[Wujing] Your document was not collected in time and is back in the vault: collect it with your ID card at a counter of {site}. Status: {link}"
            ),
        }
    }
}

/// What a step records besides the move.
#[derive(Debug, Default)]
pub(crate) struct Step {
    reason: Option<RefusalReason>,
    document_number: Option<String>,
    tracking_number: Option<String>,
    /// The hall of the counter that takes a supplement (any hall), when not the application's.
    at_hall: Option<String>,
    /// A counter hand-over with the applicant's signature of receipt.
    signed: bool,
    /// Review's request for a supplement: what is missing, and by when.
    supplement: Option<(Vec<String>, chrono::NaiveDate)>,
    /// A move of 网e捷's on-site write ([`crate::wej`]): noted `on_site`, no locker compartment,
    /// no text but the last one's.
    on_site: bool,
}

impl Step {
    /// A move of an endorsement written onto the permit at 网e捷 (the document's number with
    /// `produced`).
    pub(crate) fn on_site(document_number: Option<String>) -> Self {
        Self {
            document_number,
            on_site: true,
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_numbers_are_capitals_and_digits_of_sane_length() {
        assert!(valid_document_number("E12345678"));
        assert!(valid_document_number("C1234"));
        assert!(!valid_document_number("e12345678"));
        assert!(!valid_document_number("E1234 5678"));
        assert!(!valid_document_number("E12"));
        assert!(!valid_document_number(&"E".repeat(21)));
    }
}
