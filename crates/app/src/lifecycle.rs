//! The application's life after the counter (issue 12): the review queue, review decisions,
//! the production steps and collection at a counter.
//!
//! Every step is one store transaction ([`wujing_store::HallStore::transition_application`]):
//! the conditional move from the state this use case saw, the history row, the audit entry and
//! the citizen's text. The move table is the domain's ([`wujing_domain::application`]); it is
//! asked first for a clear answer, and the database's CHECK holds it anyway.
//!
//! Production is done by staff with the `producer` role for now; the production centre's own
//! system (batches, a system principal) is a later step of issue 12, as are mail and
//! supplements brought at another site. The pickup locker and the sweeper (lapsing, reminders,
//! the return to the vault) are in [`crate::locker`]; they move applications through
//! [`App::move_application`] like staff do.

use crate::admin::Actor;
use crate::authz::{hall_scope, Action, Principal};
use crate::records::{Application, ApplicationEvent};
use crate::{App, AppError, AppResult, Code};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use wujing_domain::application::{next, Event, RefusalReason, State};
use wujing_store::{ApplicationMove, LockerAssignment, NewAudit, NewMessage, StoreError};

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
        let Principal::Staff(s) = p else {
            return Err(crate::authz::denied(p));
        };
        let actor = Actor::new(p, client_addr).in_hall(&a.hall_id);
        self.move_application(&a, event, step, &actor, format!("staff:{}", s.id))
            .await
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
            }),
            client_addr: actor.client_addr.clone(),
            station: actor.station.clone(),
            hall_id: actor.hall.clone(),
        };
        let (messages, locker) =
            if to == State::ReadyForCollection && a.collection_method == "locker" {
                // Decided here (issue 12 is silent): when every compartment of the site is
                // occupied, the document is not held back; it waits at the counter, and the text
                // says so instead of giving a code. The store picks which text goes out, in the
                // transaction that knows whether a compartment was free.
                // Without a phone on file (a walk-in) nobody could learn the code: no
                // compartment, the document waits at the counter.
                let code = crate::locker::pickup_code();
                let texts = self.texts_for(a, Notice::InLocker(&code)).await?;
                let assignment = (!texts.is_empty()).then(|| LockerAssignment {
                    code_mac: self.pickup_mac(&a.identity_key, &code),
                    messages: texts,
                });
                (self.texts_for(a, Notice::LockerFull).await?, assignment)
            } else {
                let notice = match to {
                    State::Approved => Some(Notice::Approved),
                    State::Refused => step.reason.map(Notice::Refused),
                    State::ReadyForCollection => Some(Notice::Ready),
                    State::Lapsed => Some(Notice::Lapsed),
                    State::ReturnedToVault => Some(Notice::ReturnedToVault),
                    _ => None,
                };
                let messages = match notice {
                    Some(n) => self.texts_for(a, n).await?,
                    None => Vec::new(),
                };
                (messages, None)
            };
        let moved = self
            .store
            .transition_application(
                &ApplicationMove {
                    id,
                    from: from.as_str().into(),
                    to: to.as_str().into(),
                    actor: by,
                    // No free text from staff: the history is not sealed.
                    note: String::new(),
                    refusal_reason: step.reason.map(|r| r.as_str().to_string()),
                    document_number: step.document_number,
                    locker,
                },
                &audit,
                &messages,
            )
            .await
            .map_err(move_error)?;
        Ok(moved.into())
    }

    /// The citizen's text about `notice`, to the booking's phone in the booking's language;
    /// none for a walk-in (no phone on file). Queued in the caller's transaction, keyed by
    /// application and what it says, so that a redelivery (or a second sweep) is recognised.
    /// The body can carry a pickup code: it is sealed in the outbox like every text, and
    /// never logged (`NewMessage`'s `Debug` leaves it out).
    pub(crate) async fn texts_for(
        &self,
        a: &wujing_store::Application,
        notice: Notice<'_>,
    ) -> AppResult<Vec<NewMessage>> {
        let Some(booking_id) = a.booking_id else {
            return Ok(Vec::new());
        };
        let Some(b) = self.store.booking_by_id(booking_id).await? else {
            return Ok(Vec::new());
        };
        let hall = self.store.hall(&a.hall_id).await?;
        let en = b.lang.starts_with("en");
        let site = if en {
            hall.as_ref()
                .map_or("the accepting hall", |h| h.name_en.as_str())
        } else {
            hall.as_ref().map_or("受理大厅", |h| h.name_zh.as_str())
        };
        let body = notice.body(en, site, a);
        Ok(vec![crate::notify::message(
            format!("application:{}:{}", a.id, notice.key()),
            &b.phone,
            "application",
            body,
            self.clock.now(),
        )])
    }
}

/// What a text to the applicant says.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Notice<'a> {
    Approved,
    Refused(RefusalReason),
    /// Ready at a counter of the collection site.
    Ready,
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
    /// The idempotency key's last part: one text per application and state (the three
    /// "ready" texts are alternatives of one), and one reminder.
    fn key(self) -> &'static str {
        match self {
            Notice::Approved => "approved",
            Notice::Refused(_) => "refused",
            Notice::Ready | Notice::InLocker(_) | Notice::LockerFull => "ready_for_collection",
            Notice::Lapsed => "lapsed",
            Notice::Reminder => "reminder",
            Notice::ReturnedToVault => "returned_to_vault",
        }
    }

    fn body(self, en: bool, site: &str, a: &wujing_store::Application) -> String {
        match (self, en) {
            (Notice::Approved, false) => {
                format!("【出入境】您的申请已审批通过，正在制证，预计{}前可领取。", a.ready_by)
            }
            (Notice::Approved, true) => format!(
                "[Exit-Entry] Your application is approved and the document is being made; expected by {}.",
                a.ready_by
            ),
            (Notice::Refused(r), false) => format!(
                "【出入境】您的申请不予批准：{}。如有疑问请咨询受理大厅。",
                r.zh()
            ),
            (Notice::Refused(r), true) => format!(
                "[Exit-Entry] Your application was refused: {}. Please ask the accepting hall.",
                r.en()
            ),
            (Notice::Ready, false) => {
                format!("【出入境】您的证件已可领取，请携带身份证到{site}窗口领取。")
            }
            (Notice::Ready, true) => format!(
                "[Exit-Entry] Your document is ready: collect it with your ID card at {site}."
            ),
            (Notice::InLocker(code), false) => format!(
                "【出入境】您的证件已存入{site}自助取证机，请在取证机输入身份证号码和取件码{code}领取。取件码仅可使用一次，请勿告知他人。"
            ),
            (Notice::InLocker(code), true) => format!(
                "[Exit-Entry] Your document is in the pickup locker at {site}: enter your ID number and the pickup code {code} at the locker. The code works once; keep it to yourself."
            ),
            (Notice::LockerFull, false) => format!(
                "【出入境】您的证件已可领取。自助取证机暂无空余格口，请携带身份证到{site}窗口领取。"
            ),
            (Notice::LockerFull, true) => format!(
                "[Exit-Entry] Your document is ready. The pickup locker is full, so please collect it with your ID card at a counter of {site}."
            ),
            (Notice::Lapsed, false) => format!(
                "【出入境】您的申请未在{}前补充材料，已终止办理。如需办理请重新申请。",
                a.supplement_due.map_or_else(String::new, |d| d.to_string())
            ),
            (Notice::Lapsed, true) => format!(
                "[Exit-Entry] The missing document was not brought by {}, so your application has lapsed. Please apply again if you still need it.",
                a.supplement_due.map_or_else(String::new, |d| d.to_string())
            ),
            (Notice::Reminder, false) if a.collection_method == "locker" => format!(
                "【出入境】提醒：您的证件仍在{site}待领取，请凭身份证号码和此前短信中的取件码到自助取证机领取；逾期未领将退回库房。"
            ),
            (Notice::Reminder, true) if a.collection_method == "locker" => format!(
                "[Exit-Entry] Reminder: your document still waits at {site}. Collect it at the pickup locker with your ID number and the code from our earlier text; uncollected documents go back to the vault."
            ),
            (Notice::Reminder, false) => format!(
                "【出入境】提醒：您的证件仍在{site}待领取，请尽快携带身份证到窗口领取；逾期未领将退回库房。"
            ),
            (Notice::Reminder, true) => format!(
                "[Exit-Entry] Reminder: your document still waits at {site}. Please collect it with your ID card at a counter soon; uncollected documents go back to the vault."
            ),
            (Notice::ReturnedToVault, false) => format!(
                "【出入境】您的证件逾期未领，已退回库房，请携带身份证到{site}窗口领取。"
            ),
            (Notice::ReturnedToVault, true) => format!(
                "[Exit-Entry] Your document was not collected in time and is back in the vault: collect it with your ID card at a counter of {site}."
            ),
        }
    }
}

/// What a step records besides the move.
#[derive(Debug, Default)]
pub(crate) struct Step {
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
