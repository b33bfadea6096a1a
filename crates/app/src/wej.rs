//! 网e捷 (issue 17, docs/KIOSK.md §7.3): the card holder's own applications by an ID card read,
//! each in plain words, and their fees due (paid as at 办证易, [`crate::bzy`]: the same use
//! cases, through 网e捷's own paths). A card read proves holding the card, nothing more: the
//! kiosk shows only the holder's own applications, without the identity number, names or
//! addresses (a screen in a hall may be seen by others), and forgets them after the session.

use crate::authz::{Action, Principal};
use crate::bzy::{CardHolder, FeeDue};
use crate::{App, AppResult};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use wujing_domain::application::State;
use wujing_domain::idnum::mask_id_number;

/// One application as the kiosk shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KioskApplication {
    /// What the collection choice names (with the card's number again as the proof).
    pub id: i64,
    /// Whether the way of collection may still be chosen (until the document leaves).
    pub can_choose_collection: bool,
    pub business_zh: String,
    pub business_en: String,
    /// The lifecycle's state (`under_review`, `ready_for_collection`, …).
    pub status: String,
    /// The state in plain words.
    pub status_zh: String,
    pub status_en: String,
    /// The accepting hall.
    pub hall_zh: String,
    pub hall_en: String,
    /// When it is expected ready (while not final).
    pub ready_by: Option<NaiveDate>,
    /// `counter`, `locker` or `mail`.
    pub collection_method: String,
}

/// The holder's applications (newest first) and fees due.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KioskStatusView {
    pub holder: String,
    pub applications: Vec<KioskApplication>,
    pub fees: Vec<FeeDue>,
}

impl App {
    /// The card holder's applications and fees due (audited `kiosk.status`).
    pub async fn kiosk_status(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        input: &CardHolder,
    ) -> AppResult<KioskStatusView> {
        self.require(p, Action::KioskStatus, None)?;
        let id = self.parse_resident_id(&input.id_number)?;
        let masked = mask_id_number(id.as_str());
        let key = self.identity_key(&wujing_domain::Identity::Resident(id));
        let applications = self.kiosk_status_of(&key).await?;
        // The fees due, as 办证易 lists them (its own audit entry).
        let fees = self.kiosk_fees_due(p, client_addr, input).await?.fees;
        self.audit(
            &crate::admin::Actor::new(p, client_addr),
            wujing_store::AdminChange::RecordOnly,
            "kiosk.status",
            format!("identity:{masked}"),
            Some(key),
            json!({ "applications": applications.len() }),
        )
        .await?;
        self.count_use(p, "status").await;
        Ok(KioskStatusView {
            holder: masked,
            applications,
            fees,
        })
    }

    /// The applications of the person with `key`, newest first, in plain words.
    async fn kiosk_status_of(&self, key: &str) -> AppResult<Vec<KioskApplication>> {
        let mut applications = Vec::new();
        let mut found = self.store.applications_of(key).await?;
        found.sort_by_key(|a| std::cmp::Reverse(a.accepted_at));
        for a in found {
            let state = State::parse(&a.status);
            let (bz, be) = self
                .catalogue
                .business(&a.business)
                .map(|b| (b.name_zh.clone(), b.name_en.clone()))
                .unwrap_or_else(|| (a.business.clone(), a.business.clone()));
            let (hz, he) = match self.hall(&a.hall_id).await {
                Ok(h) => (h.name_zh, h.name_en),
                Err(_) => (String::new(), String::new()),
            };
            let open = state.is_some_and(|s| {
                !matches!(
                    s,
                    State::Collected | State::Refused | State::Withdrawn | State::Lapsed
                )
            });
            applications.push(KioskApplication {
                id: a.id,
                can_choose_collection: state
                    .is_some_and(wujing_domain::application::Collection::can_choose_in),
                business_zh: bz,
                business_en: be,
                status: a.status.clone(),
                status_zh: state.map_or(a.status.clone(), |s| s.name_zh().into()),
                status_en: state.map_or(a.status.clone(), |s| s.name_en().into()),
                hall_zh: hz,
                hall_en: he,
                ready_by: open.then_some(a.ready_by),
                collection_method: a.collection_method.clone(),
            });
        }
        Ok(applications)
    }

    /// The card holder chooses how to receive one of their own applications' documents at the
    /// machine (counter, locker or mail, as on the slip). The card read is the proof, checked
    /// again here: an application that is not the holder's answers as an unknown one. Audited
    /// as the holder's own change, from this machine.
    pub async fn kiosk_choose_collection(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        input: &KioskCollectionInput,
    ) -> AppResult<KioskApplication> {
        self.require(p, Action::KioskStatus, None)?;
        let id = self.parse_resident_id(&input.id_number)?;
        let key = self.identity_key(&wujing_domain::Identity::Resident(id));
        let not_found = || crate::AppError::from(crate::Code::ApplicationNotFound);
        let a = self
            .application_in(input.application)
            .await
            .map_err(|_| not_found())?;
        if a.identity_key != key {
            return Err(not_found());
        }
        let actor = crate::admin::Actor::new(p, client_addr).in_hall(&a.hall_id);
        self.record_collection(
            &actor,
            &a,
            &crate::lifecycle::CollectionInput {
                method: input.method.clone(),
                mail_address: input.mail_address.clone(),
            },
        )
        .await?;
        self.count_use(p, "collection").await;
        let view = self.kiosk_status_of(&key).await?;
        view.into_iter()
            .find(|x| x.id == a.id)
            .ok_or_else(not_found)
    }
}

/// A way of collection chosen at 网e捷: the card's number (the proof), the application, and
/// the method (`counter`, `locker`, `mail` with `mail_address`).
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KioskCollectionInput {
    pub id_number: String,
    pub application: i64,
    pub method: String,
    #[serde(default)]
    pub mail_address: Option<String>,
}

/// Neither the number nor the address reaches a log.
impl std::fmt::Debug for KioskCollectionInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KioskCollectionInput")
            .field("application", &self.application)
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}
