//! The production centre (制证中心, issue 12): its system clients, batches of approved
//! applications, and what a batch's items tell the centre.
//!
//! The centre's system is a principal of its own ([`Principal::System`]) with a bearer token
//! of which the store keeps only the hash; administrators create and revoke it (here, the
//! admin API and `wujing production-client`). Staff with the `producer` role use the same
//! batch routes with their session, and the staff page, but they see applicants masked: only
//! the centre prints names and identity numbers ([`Action::ProductionCentre`]), and each of
//! its reads of a batch is audited before it is answered.
//!
//! Per-document reports (produced with the number, dispatched) are
//! [`App::report_document`](crate::App::report_document) in `lifecycle.rs`, the same one
//! transaction as a staff step.

use crate::admin::Actor;
use crate::auth::{random_token, token_hash, SYSTEM_TOKEN_PREFIX};
use crate::authz::{hall_scope, permits, Action, Principal, PRODUCTION_CENTRE};
use crate::{App, AppError, AppResult, Code};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use wujing_domain::application::State;
use wujing_domain::idnum::mask_id_number;
use wujing_store::{AdminChange, AdminOutcome, NewAudit, NewProductionBatch};

/// The most applications one batch takes.
pub const BATCH_LIMIT_MAX: u32 = 200;
/// A batch's size when the request does not say.
pub const BATCH_LIMIT_DEFAULT: u32 = 50;
/// How many batches the list shows.
pub const RECENT_BATCHES: u32 = 20;

/// `POST /api/v1/production/batches`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchInput {
    /// At most this many applications (1 to 200; 50 when absent).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// A batch, with its items when one batch is asked for.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchView {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    /// Who made it: a system client's or a staff member's name.
    pub created_by: String,
    pub size: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<BatchItem>>,
}

/// What the centre needs to print one document, and where it stands.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchItem {
    pub application_id: i64,
    pub business: String,
    pub business_name_zh: String,
    pub business_name_en: String,
    /// `passport`, `hkm_permit`, `tw_permit`, `foreign_visa` or `foreign_residence`.
    pub document_kind: String,
    pub expedited: bool,
    pub due_date: NaiveDate,
    /// The application's state now (`in_production`, `produced`, `dispatched`, …).
    pub status: String,
    pub document_number: Option<String>,
    /// The accepting hall, where the document is collected.
    pub hall_id: String,
    /// `counter`, `locker` or `mail` (then `dispatched` needs the tracking number).
    pub collection_method: String,
    /// The applicant, for printing (a booking's, or an online application's). `None` for a
    /// walk-in: reception keeps no name or number on file for one.
    pub applicant: Option<PrintApplicant>,
}

/// The applicant as printed on the document: in full for the production centre, masked for
/// staff (`masked: true`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PrintApplicant {
    pub name: String,
    pub id_number: String,
    pub masked: bool,
}

/// A system client, as administrators see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SystemClientView {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Shown once, when the client is created; only its hash is kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// `POST /api/v1/admin/system-clients`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSystemClientInput {
    /// 1 to 60 letters, digits, `.`, `-` or `_` (it names the client in the audit trail).
    pub name: String,
    /// What the client is: `production_centre` (the default), or a channel gateway that relays
    /// citizens' bookings from its app — `police_app` (警民通), `wechat` or `weibo` — whose
    /// bookings then record that channel.
    #[serde(default)]
    pub kind: Option<String>,
}

/// The kinds a system client may be: the production centre, or a channel gateway.
pub fn system_client_kind(kind: Option<&str>) -> AppResult<&'static str> {
    match kind.map(str::trim).filter(|k| !k.is_empty()) {
        None => Ok(PRODUCTION_CENTRE),
        Some(k) if k == PRODUCTION_CENTRE => Ok(PRODUCTION_CENTRE),
        Some(k) => wujing_domain::Channel::gateways()
            .find(|c| c.as_str() == k)
            .map(|c| c.as_str())
            .ok_or_else(|| Code::SystemClientKindInvalid.into()),
    }
}

/// A name: first character kept, the rest starred (`李**`).
pub fn mask_name(name: &str) -> String {
    let mut chars = name.trim().chars();
    match chars.next() {
        Some(first) => std::iter::once(first)
            .chain(chars.filter(|c| !c.is_whitespace()).map(|_| '*'))
            .collect(),
        None => String::new(),
    }
}

fn valid_client_name(n: &str) -> bool {
    (1..=60).contains(&n.len())
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

impl App {
    /// Staff make and read batches for the whole organisation: a producer granted for one hall
    /// would otherwise take other halls' applications.
    fn require_batches(&self, p: &Principal) -> AppResult<()> {
        self.require(p, Action::ProductionBatches, None)?;
        if matches!(p, Principal::Staff(_)) && hall_scope(p, Action::ProductionBatches).is_some() {
            return Err(crate::authz::denied(p));
        }
        Ok(())
    }

    /// How many approved applications wait for a batch.
    pub async fn production_waiting(&self, p: &Principal) -> AppResult<u64> {
        self.require_batches(p)?;
        Ok(self
            .store
            .count_applications_in_state(State::Approved.as_str())
            .await?)
    }

    /// Takes up to `limit` approved applications (urgent first, then by due date) into a new
    /// batch, in one transaction: each moves to `in_production` with its history row and audit
    /// entry. Answers the batch with its items, as [`App::production_batch`] would.
    pub async fn create_production_batch(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        input: &BatchInput,
    ) -> AppResult<BatchView> {
        self.require_batches(p)?;
        let limit = input.limit.unwrap_or(BATCH_LIMIT_DEFAULT);
        if !(1..=BATCH_LIMIT_MAX).contains(&limit) {
            return Err(Code::BatchLimitInvalid.into());
        }
        let actor = Actor::new(p, client_addr);
        let b = self
            .store
            .create_production_batch(&NewProductionBatch {
                limit,
                audit: NewAudit {
                    at: self.clock.now(),
                    actor: actor.id.clone(),
                    actor_name: actor.name.clone(),
                    action: format!("application.{}", State::InProduction.as_str()),
                    // Each application's entry gets its subject, citizen and hall.
                    subject: String::new(),
                    citizen: None,
                    detail: json!({}),
                    client_addr: actor.client_addr.clone(),
                    station: actor.station.clone(),
                    hall_id: None,
                },
            })
            .await?;
        self.production_batch(p, client_addr, b.id).await
    }

    /// The newest batches, without their items.
    pub async fn production_batches(&self, p: &Principal) -> AppResult<Vec<BatchView>> {
        self.require_batches(p)?;
        Ok(self
            .store
            .production_batches(RECENT_BATCHES)
            .await?
            .into_iter()
            .map(|b| BatchView {
                id: b.id,
                created_at: b.created_at,
                created_by: b.actor_name,
                size: b.size,
                items: None,
            })
            .collect())
    }

    /// One batch with its items. The production centre gets each applicant's name and
    /// identity number in full, to print them, and the read is audited (`production.batch_read`,
    /// naming the applications) before it is answered; staff get them masked, unaudited as a
    /// queue page is.
    pub async fn production_batch(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        id: i64,
    ) -> AppResult<BatchView> {
        self.require_batches(p)?;
        let b = self
            .store
            .production_batch(id)
            .await?
            .ok_or_else(|| AppError::from(Code::BatchNotFound))?;
        let apps = self.store.batch_applications(id).await?;
        let unmasked = permits(p, Action::ProductionCentre, None);
        let mut items = Vec::with_capacity(apps.len());
        for a in &apps {
            // A booked application's applicant is the booking's; one submitted online (no
            // ticket) has the identity proved by the code to the registered phone; one made at
            // a 申请易 the card read there.
            let who = match (a.booking_id, a.ticket_id) {
                (Some(bid), _) => self
                    .store
                    .booking_by_id(bid)
                    .await?
                    .map(|bk| (bk.name, bk.id_number)),
                // One submitted online, or at a 申请易 kiosk (the card read there).
                (None, None) => match self
                    .store
                    .online_application(&wujing_store::OnlineBy::Application(a.id))
                    .await?
                {
                    Some(o) => Some((o.name, o.id_number)),
                    None => self
                        .store
                        .kiosk_applicant(a.id)
                        .await?
                        .map(|k| (k.name, k.id_number)),
                },
                (None, Some(_)) => None,
            };
            let applicant = who.map(|(name, id_number)| {
                if unmasked {
                    PrintApplicant {
                        name,
                        id_number,
                        masked: false,
                    }
                } else {
                    PrintApplicant {
                        name: mask_name(&name),
                        id_number: mask_id_number(&id_number),
                        masked: true,
                    }
                }
            });
            let business = self.catalogue.business(&a.business);
            items.push(BatchItem {
                application_id: a.id,
                business: a.business.clone(),
                business_name_zh: business
                    .map_or_else(|| a.business.clone(), |x| x.name_zh.clone()),
                business_name_en: business
                    .map_or_else(|| a.business.clone(), |x| x.name_en.clone()),
                document_kind: business.map_or("", |x| x.document.as_str()).to_string(),
                expedited: a.expedited,
                due_date: a.ready_by,
                status: a.status.clone(),
                document_number: a.document_number.clone(),
                hall_id: a.hall_id.clone(),
                collection_method: a.collection_method.clone(),
                applicant,
            });
        }
        if unmasked {
            self.audit(
                &Actor::new(p, client_addr),
                AdminChange::RecordOnly,
                "production.batch_read",
                format!("batch:{id}"),
                None,
                json!({
                    "applications": apps.iter().map(|a| a.id).collect::<Vec<_>>(),
                    "fields": ["name", "id_number"],
                }),
            )
            .await?;
        }
        Ok(BatchView {
            id: b.id,
            created_at: b.created_at,
            created_by: b.actor_name,
            size: b.size,
            items: Some(items),
        })
    }

    pub async fn system_clients(&self, p: &Principal) -> AppResult<Vec<SystemClientView>> {
        self.require(p, Action::ManageSystemClients, None)?;
        Ok(self
            .store
            .system_clients()
            .await?
            .into_iter()
            .map(|c| SystemClientView {
                id: c.id,
                name: c.name,
                kind: c.kind,
                created_at: c.created_at,
                revoked_at: c.revoked_at,
                token: None,
            })
            .collect())
    }

    /// Creates a production centre's client (an administrator, through the API).
    pub async fn create_system_client(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        input: &NewSystemClientInput,
    ) -> AppResult<SystemClientView> {
        self.require(p, Action::ManageSystemClients, None)?;
        let kind = system_client_kind(input.kind.as_deref())?;
        self.create_system_client_as(&Actor::new(p, client_addr), &input.name, kind)
            .await
    }

    /// Creates a system client of `kind` ([`system_client_kind`]) as `actor` (the command
    /// line, whoever has the server's shell, is trusted as `create-admin` is). Its token is
    /// answered once; only its hash is stored, and the audit entry names the client, never the
    /// token.
    pub async fn create_system_client_as(
        &self,
        actor: &Actor,
        name: &str,
        kind: &str,
    ) -> AppResult<SystemClientView> {
        let name = name.trim();
        if !valid_client_name(name) {
            return Err(Code::SystemClientNameInvalid.into());
        }
        let token = format!("{SYSTEM_TOKEN_PREFIX}{}", random_token());
        let out = self
            .audit(
                actor,
                AdminChange::CreateSystemClient {
                    name: name.into(),
                    kind: kind.into(),
                    token_hash: token_hash(&token),
                },
                "system_client.create",
                format!("system_client:{name}"),
                None,
                json!({ "name": name, "kind": kind }),
            )
            .await?;
        let AdminOutcome::Created(id) = out else {
            unreachable!("create returns an id")
        };
        Ok(SystemClientView {
            id,
            name: name.into(),
            kind: kind.into(),
            created_at: self.clock.now(),
            revoked_at: None,
            token: Some(token),
        })
    }

    pub async fn revoke_system_client(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        id: i64,
    ) -> AppResult<()> {
        self.require(p, Action::ManageSystemClients, None)?;
        self.revoke_system_client_as(&Actor::new(p, client_addr), id)
            .await
    }

    /// Revokes a client by id or name: its token is refused (401) from the next request on.
    pub async fn revoke_system_client_as(&self, actor: &Actor, id: i64) -> AppResult<()> {
        self.audit(
            actor,
            AdminChange::RevokeSystemClient { id },
            "system_client.revoke",
            format!("system_client:{id}"),
            None,
            json!({}),
        )
        .await
        .map_err(|e| {
            if e.kind == crate::ErrorKind::NotFound {
                AppError::new(
                    Code::NotFound,
                    "没有这个系统客户端，或已吊销",
                    "no such system client, or revoked already",
                )
            } else {
                e
            }
        })?;
        Ok(())
    }

    /// A client's id by its name (the command line revokes by name).
    pub async fn system_client_id(&self, name: &str) -> AppResult<Option<i64>> {
        Ok(self
            .store
            .system_clients()
            .await?
            .into_iter()
            .find(|c| c.name == name)
            .map(|c| c.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_their_first_character_only() {
        assert_eq!(mask_name("李娜"), "李*");
        assert_eq!(mask_name("欧阳明月"), "欧***");
        assert_eq!(mask_name("John Smith"), "J********");
        assert_eq!(mask_name(""), "");
    }

    #[test]
    fn client_names_are_plain_words() {
        assert!(valid_client_name("centre-gz.1"));
        assert!(!valid_client_name(""));
        assert!(!valid_client_name("centre gz"));
        assert!(!valid_client_name(&"a".repeat(61)));
    }
}
