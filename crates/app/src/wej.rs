//! 网e捷 (issue 17, docs/KIOSK.md §7.3): the card holder's own applications by an ID card read,
//! each in plain words, and their fees due (paid as at 办证易, [`crate::bzy`]: the same use
//! cases, through 网e捷's own paths). A card read proves holding the card, nothing more: the
//! kiosk shows only the holder's own applications, without the identity number, names or
//! addresses (a screen in a hall may be seen by others), and forgets them after the session.

use crate::authz::{Action, Principal};
use crate::bzy::{CardHolder, FeeDue};
use crate::{App, AppResult};
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use wujing_domain::application::State;
use wujing_domain::idnum::mask_id_number;

/// One application as the kiosk shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KioskApplication {
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
        let mut applications = Vec::new();
        let mut found = self.store.applications_of(&key).await?;
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
}
