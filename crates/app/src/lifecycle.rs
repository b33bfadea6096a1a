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
//! machine that retries); batches are in [`crate::production`]. The pickup locker, mail,
//! supplements brought at another site, lapsing and the return to the vault come later.

use crate::admin::Actor;
use crate::authz::{hall_scope, Action, Principal};
use crate::records::{Application, ApplicationEvent};
use crate::{App, AppError, AppResult, Code};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use wujing_domain::application::{next, Event, RefusalReason, State};
use wujing_store::{ApplicationMove, NewAudit, NewMessage, StoreError};

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
    /// Dispatched → ready for collection (arrived at the site).
    Ready,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductionInput {
    pub step: ProductionStep,
    /// The document's number (5 to 20 capital letters or digits), for `produced`.
    #[serde(default)]
    pub document_number: Option<String>,
}

/// What the production centre reports of one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentStep {
    /// In production → produced; needs the document number.
    Produced,
    /// Produced → dispatched to the collection site.
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
    async fn application_in(&self, id: i64) -> AppResult<wujing_store::Application> {
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
            id,
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
            id,
            Action::Review,
            Event::Approve,
            Step::default(),
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
            id,
            Action::Review,
            Event::Refuse,
            Step {
                reason: Some(reason),
                ..Step::default()
            },
        )
        .await
    }

    /// A production step (audited; "ready" tells the citizen where to collect).
    pub async fn production_step(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        id: i64,
        input: &ProductionInput,
    ) -> AppResult<Application> {
        let (event, number) = match input.step {
            ProductionStep::Start => (Event::StartProduction, None),
            ProductionStep::Produced => {
                let n = input
                    .document_number
                    .as_deref()
                    .map(str::trim)
                    .filter(|n| valid_document_number(n))
                    .ok_or_else(|| AppError::from(Code::DocumentNumberInvalid))?;
                (Event::Produce, Some(n.to_string()))
            }
            ProductionStep::Dispatched => (Event::Dispatch, None),
            ProductionStep::Ready => (Event::Arrive, None),
        };
        self.step(
            p,
            client_addr,
            id,
            Action::Produce,
            event,
            Step {
                document_number: number,
                ..Step::default()
            },
        )
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
        let r = self
            .step(
                p,
                client_addr,
                id,
                Action::ProductionBatches,
                event,
                Step {
                    document_number: number.clone(),
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
    ) -> AppResult<Application> {
        self.step(
            p,
            client_addr,
            id,
            Action::Counter,
            Event::Collect,
            Step::default(),
        )
        .await
    }

    /// One step: authorised in the application's hall, checked against the move table, then
    /// the store's one transaction (move, history, audit entry, text).
    async fn step(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        id: i64,
        action: Action,
        event: Event,
        step: Step,
    ) -> AppResult<Application> {
        let a = self.application_in(id).await?;
        self.require(p, action, Some(&a.hall_id))?;
        // Staff, or the production centre's system: each named in the history by its id.
        if !matches!(p, Principal::Staff(_) | Principal::System(_)) {
            return Err(crate::authz::denied(p));
        }
        let from = State::parse(&a.status)
            .ok_or_else(|| AppError::from(StoreError::Corrupt("application state".into())))?;
        let to = next(from, event).map_err(|_| AppError::from(Code::ApplicationMoveIllegal))?;
        let actor = Actor::new(p, client_addr).in_hall(&a.hall_id);
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
            }),
            client_addr: actor.client_addr.clone(),
            station: actor.station.clone(),
            hall_id: actor.hall.clone(),
        };
        let messages = self.texts_for(&a, to, step.reason).await?;
        let moved = self
            .store
            .transition_application(
                &ApplicationMove {
                    id,
                    from: from.as_str().into(),
                    to: to.as_str().into(),
                    actor: actor.id.clone(),
                    // No free text from staff: the history is not sealed.
                    note: String::new(),
                    refusal_reason: step.reason.map(|r| r.as_str().to_string()),
                    document_number: step.document_number,
                },
                &audit,
                &messages,
            )
            .await
            .map_err(move_error)?;
        Ok(moved.into())
    }

    /// The citizen's text for a step that matters to them (approved, refused, ready), to the
    /// booking's phone in the booking's language; none for a walk-in (no phone on file) or
    /// another step. Queued in the move's transaction, keyed by application and state so
    /// that a redelivery is recognised.
    async fn texts_for(
        &self,
        a: &wujing_store::Application,
        to: State,
        reason: Option<RefusalReason>,
    ) -> AppResult<Vec<NewMessage>> {
        if !matches!(
            to,
            State::Approved | State::Refused | State::ReadyForCollection
        ) {
            return Ok(Vec::new());
        }
        let Some(booking_id) = a.booking_id else {
            return Ok(Vec::new());
        };
        let Some(b) = self.store.booking_by_id(booking_id).await? else {
            return Ok(Vec::new());
        };
        let hall = self.store.hall(&a.hall_id).await?;
        let en = b.lang.starts_with("en");
        let body = match (to, en) {
            (State::Approved, false) => {
                format!("【出入境】您的申请已审批通过，正在制证，预计{}前可领取。", a.ready_by)
            }
            (State::Approved, true) => format!(
                "[Exit-Entry] Your application is approved and the document is being made; expected by {}.",
                a.ready_by
            ),
            (State::Refused, false) => format!(
                "【出入境】您的申请不予批准：{}。如有疑问请咨询受理大厅。",
                reason.map_or("", RefusalReason::zh)
            ),
            (State::Refused, true) => format!(
                "[Exit-Entry] Your application was refused: {}. Please ask the accepting hall.",
                reason.map_or("", RefusalReason::en)
            ),
            (_, false) => format!(
                "【出入境】您的证件已可领取，请携带身份证到{}窗口领取。",
                hall.as_ref().map_or("受理大厅", |h| h.name_zh.as_str())
            ),
            (_, true) => format!(
                "[Exit-Entry] Your document is ready: collect it with your ID card at {}.",
                hall.as_ref()
                    .map_or("the accepting hall", |h| h.name_en.as_str())
            ),
        };
        Ok(vec![crate::notify::message(
            format!("application:{}:{}", a.id, to.as_str()),
            &b.phone,
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

/// What a step records besides the move.
#[derive(Debug, Default)]
struct Step {
    reason: Option<RefusalReason>,
    document_number: Option<String>,
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
