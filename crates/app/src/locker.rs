//! The pickup locker (取证机) of a collection site, and the sweeper of applications (issue 12).
//!
//! A hall's administrator sets up its compartments. When a document to be collected from the
//! locker arrives (`Arrive`), the move's transaction puts it in a free compartment with a fresh
//! one-time pickup code (8 digits from the operating system's CSPRNG), keeps only the code's
//! keyed MAC (bound to the applicant's identity key, so that a code is worth nothing with
//! another identity number) and queues the text with the code ([`App::move_application`]). At
//! the locker, a device of the hall, the citizen types the identity number and the code: one
//! transaction frees the compartment with its code (one use), moves the application to
//! `collected`, writes its history and the audit entry. Wrong numbers are counted with the
//! owner-proof throttle before they are compared, per identity number, per locker and per
//! address, and every miss gets the same answer, so that the locker does not tell whether an
//! identity number has a document waiting.
//!
//! The sweeper ([`App::sweep_applications`], run by `wujing serve`) lapses applications whose
//! supplement deadline passed, reminds once of a document that waits, and returns one that
//! waited too long to the vault (its compartment freed); each as its own transaction through
//! the same move as staff's, by `system:sweeper`, so a second run finds nothing left to do.

use crate::admin::Actor;
use crate::authz::{Action, Principal};
use crate::booking::proof_error;
use crate::lifecycle::{Notice, Step};
use crate::{App, AppError, AppResult, Code};
use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use wujing_domain::application::Event;
use wujing_domain::idnum::ResidentId;
use wujing_store::{AdminChange, AdminOutcome, NewAudit, StoreError};

/// The most compartments a hall's locker has.
pub const MAX_COMPARTMENTS: usize = 500;
/// Compartments per row of generated labels (`A-01` … `A-20`, `B-01` …).
const PER_ROW: usize = 20;
/// Applications one sweep takes per kind; the next run takes the rest.
const SWEEP_BATCH: u32 = 500;
/// Who the sweeper's moves are recorded as, in the history and the audit trail.
pub const SWEEPER: &str = "system:sweeper";

/// How a hall's locker is to be: a count of compartments (labelled `A-01` … by rows of 20),
/// or the labels on the doors. Compartments no longer listed are removed, unless occupied.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LockerSetup {
    /// 0 to 500.
    #[serde(default)]
    pub count: Option<u32>,
    /// Each 1 to 16 capital letters, digits or hyphens, no repeats; at most 500.
    #[serde(default)]
    pub labels: Option<Vec<String>>,
}

/// One compartment as its administrator sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Compartment {
    pub label: String,
    pub occupied: bool,
    /// The application whose document it holds (no personal data).
    pub application_id: Option<i64>,
    pub assigned_at: Option<DateTime<Utc>>,
}

/// A hall's locker and its occupancy.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LockerView {
    pub hall_id: String,
    pub total: usize,
    pub free: usize,
    pub compartments: Vec<Compartment>,
}

/// What the citizen types at the locker.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LockerCollectInput {
    /// The applicant's resident identity number.
    pub id_number: String,
    /// The 8-digit pickup code from the text message.
    pub code: String,
}

/// Neither the identity number nor the code ever reaches a log.
impl std::fmt::Debug for LockerCollectInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockerCollectInput").finish_non_exhaustive()
    }
}

/// The compartment that opens.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LockerPickup {
    pub compartment: String,
}

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    pub lapsed: u32,
    pub reminded: u32,
    pub returned: u32,
}

/// A one-time pickup code: 8 digits from the operating system's CSPRNG.
pub(crate) fn pickup_code() -> String {
    format!("{:08}", rand::rngs::OsRng.gen_range(0..100_000_000u32))
}

fn valid_label(l: &str) -> bool {
    (1..=16).contains(&l.len())
        && l.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

/// The labels a setup asks for: generated from a count, or given (trimmed, upper-cased).
fn labels_of(s: &LockerSetup) -> AppResult<Vec<String>> {
    let invalid = || AppError::from(Code::LockerInvalid);
    match (s.count, &s.labels) {
        (Some(n), None) if n as usize <= MAX_COMPARTMENTS => Ok((0..n as usize)
            .map(|i| {
                let row = char::from(b'A' + (i / PER_ROW) as u8);
                format!("{row}-{:02}", i % PER_ROW + 1)
            })
            .collect()),
        (None, Some(ls)) if ls.len() <= MAX_COMPARTMENTS => {
            let mut out: Vec<String> = Vec::with_capacity(ls.len());
            for l in ls {
                let l = l.trim().to_ascii_uppercase();
                if !valid_label(&l) || out.contains(&l) {
                    return Err(invalid());
                }
                out.push(l);
            }
            Ok(out)
        }
        _ => Err(invalid()),
    }
}

/// The sweeper in the audit trail: a system actor in the application's hall.
fn sweeper(hall: &str) -> Actor {
    Actor {
        id: SWEEPER.into(),
        name: "sweeper".into(),
        client_addr: None,
        station: None,
        hall: Some(hall.into()),
    }
}

impl App {
    /// The keyed MAC a pickup code is stored as, bound to the applicant's (blind) identity
    /// key: the database holds no code, and a code is worth nothing with another identity.
    pub(crate) fn pickup_mac(&self, identity_key: &str, code: &str) -> String {
        self.store
            .keys()
            .index("pickup", &format!("{identity_key}|{code}"))
    }

    /// A hall's locker and its occupancy, for its administrator.
    pub async fn locker(&self, p: &Principal, hall: &str) -> AppResult<LockerView> {
        self.require(p, Action::ManageHalls, Some(hall))?;
        self.hall_by_id(hall).await?;
        let cs = self.store.locker(hall).await?;
        Ok(LockerView {
            hall_id: hall.to_string(),
            total: cs.len(),
            free: cs.iter().filter(|c| c.application_id.is_none()).count(),
            compartments: cs
                .into_iter()
                .map(|c| Compartment {
                    occupied: c.application_id.is_some(),
                    label: c.label,
                    application_id: c.application_id,
                    assigned_at: c.assigned_at,
                })
                .collect(),
        })
    }

    /// Sets up a hall's compartments (audited); an occupied one is never removed
    /// (`compartment_occupied`, nothing changed).
    pub async fn set_locker(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        hall: &str,
        setup: &LockerSetup,
    ) -> AppResult<LockerView> {
        self.require(p, Action::ManageHalls, Some(hall))?;
        let labels = labels_of(setup)?;
        let n = labels.len();
        self.audit(
            &Actor::new(p, client_addr).in_hall(hall),
            AdminChange::SetLocker {
                hall_id: hall.into(),
                labels,
            },
            "locker.set",
            format!("hall:{hall}"),
            None,
            json!({ "compartments": n }),
        )
        .await?;
        self.locker(p, hall).await
    }

    /// A collection at the locker `p` (a device of the hall): the identity number and the
    /// pickup code open the compartment holding the applicant's document. One transaction
    /// frees it (the code with it), moves the application to `collected` and writes the
    /// history and the audit entry. Every miss is `pickup_code_invalid`, counted before the
    /// comparison; over a limit even the right code is `proof_throttled`.
    pub async fn collect_from_locker(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        input: &LockerCollectInput,
    ) -> AppResult<LockerPickup> {
        self.require(p, Action::Locker, None)?;
        let Principal::Device(d) = p else {
            return Err(crate::authz::denied(p));
        };
        let proof = self.normalise_proof(&input.id_number);
        let code: String = input.code.chars().filter(|c| !c.is_whitespace()).collect();
        let device = format!("device:{}", d.id);
        let l = &self.config.limits;
        let subject = format!("locker:{proof}");
        let rules = self.limit_rules(&[
            ("proof", Some(&subject), l.proofs_per_code),
            ("proof_addr", Some(&device), l.proofs_per_address),
            ("proof_addr", client_addr, l.proofs_per_address),
        ]);
        let now = self.clock.now();
        self.store
            .count_owner_proof(&rules, now)
            .await
            .map_err(proof_error)?;
        let wrong = || AppError::from(Code::PickupCodeInvalid);
        let today = self.clock.today();
        let identity = match ResidentId::parse(&proof, today) {
            Ok(id) if code.len() == 8 && code.bytes().all(|b| b.is_ascii_digit()) => {
                self.identity_key(&wujing_domain::Identity::Resident(id))
            }
            _ => return Err(wrong()),
        };
        let code_mac = self.pickup_mac(&identity, &code);
        let Some(c) = self.store.locker_by_code(&d.hall_id, &code_mac).await? else {
            return Err(wrong());
        };
        let Some(application_id) = c.application_id else {
            return Err(wrong());
        };
        let actor = Actor::new(p, client_addr);
        let audit = NewAudit {
            at: now,
            actor: actor.id.clone(),
            actor_name: actor.name.clone(),
            action: "application.collected".into(),
            subject: format!("application:{application_id}"),
            citizen: Some(identity),
            detail: json!({
                "from": "ready_for_collection",
                "to": "collected",
                "compartment": c.label,
            }),
            client_addr: actor.client_addr.clone(),
            station: actor.station.clone(),
            hall_id: actor.hall.clone(),
        };
        let out = self
            .store
            .apply_admin(
                &AdminChange::CollectFromLocker {
                    hall_id: d.hall_id.clone(),
                    application_id,
                    code_mac,
                    actor: device,
                },
                &audit,
            )
            .await;
        match out {
            Ok(AdminOutcome::Compartment(label)) => {
                self.store.forgive_owner_proof(&rules, now).await?;
                Ok(LockerPickup { compartment: label })
            }
            // A concurrent collection with the same code got there first.
            Err(StoreError::Refused("pickup_code_invalid")) => Err(wrong()),
            Ok(_) => {
                Err(StoreError::Corrupt("locker collection without a compartment".into()).into())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// One pass of the sweeper: lapses applications whose supplement deadline has passed,
    /// returns documents uncollected for [`crate::Config::uncollected_days`] to the vault (their
    /// compartment freed), and reminds once of those waiting for
    /// [`crate::Config::pickup_reminder_days`]. Each is its own transaction, with the text;
    /// one that moved meanwhile is skipped. Running it twice does nothing more.
    pub async fn sweep_applications(&self) -> AppResult<SweepReport> {
        let mut r = SweepReport::default();
        let today = self.clock.today();
        for a in self.store.lapsing_applications(today, SWEEP_BATCH).await? {
            if self.sweep_move(&a, Event::Lapse).await? {
                r.lapsed += 1;
            }
        }
        let now = self.clock.now();
        // The return first: a document that waited that long gets the vault's text, not a
        // reminder that is already out of date.
        let vault = now - TimeDelta::days(i64::from(self.config.uncollected_days));
        for a in self
            .store
            .uncollected_applications(vault, false, SWEEP_BATCH)
            .await?
        {
            if self.sweep_move(&a, Event::ReturnToVault).await? {
                r.returned += 1;
            }
        }
        let remind = now - TimeDelta::days(i64::from(self.config.pickup_reminder_days));
        for a in self
            .store
            .uncollected_applications(remind, true, SWEEP_BATCH)
            .await?
        {
            let actor = sweeper(&a.hall_id);
            let audit = NewAudit {
                at: now,
                actor: actor.id.clone(),
                actor_name: actor.name.clone(),
                action: "application.reminded".into(),
                subject: format!("application:{}", a.id),
                citizen: Some(a.identity_key.clone()),
                detail: json!({ "state": a.status }),
                client_addr: None,
                station: None,
                hall_id: actor.hall.clone(),
            };
            let texts = self.notice_texts(&a, Notice::Reminder).await?;
            match self
                .store
                .apply_admin_notifying(
                    &AdminChange::RemindCollection {
                        application_id: a.id,
                    },
                    &audit,
                    &texts,
                )
                .await
            {
                Ok(_) => r.reminded += 1,
                // Reminded or collected meanwhile.
                Err(StoreError::Refused("already_reminded")) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if r != SweepReport::default() {
            tracing::info!(
                lapsed = r.lapsed,
                reminded = r.reminded,
                returned = r.returned,
                "applications swept"
            );
        }
        Ok(r)
    }

    /// A sweeper's move; `false` when the application moved meanwhile.
    async fn sweep_move(&self, a: &wujing_store::Application, event: Event) -> AppResult<bool> {
        match self
            .move_application(
                a,
                event,
                Step::default(),
                &sweeper(&a.hall_id),
                SWEEPER.into(),
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(
                    e.code,
                    Code::ApplicationStateChanged | Code::ApplicationMoveIllegal
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pickup_codes_are_eight_digits() {
        for _ in 0..100 {
            let c = pickup_code();
            assert_eq!(c.len(), 8);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn a_count_makes_rows_of_twenty_and_labels_are_checked() {
        let l = labels_of(&LockerSetup {
            count: Some(21),
            labels: None,
        })
        .unwrap();
        assert_eq!(l[0], "A-01");
        assert_eq!(l[19], "A-20");
        assert_eq!(l[20], "B-01");
        let given = |ls: &[&str]| {
            labels_of(&LockerSetup {
                count: None,
                labels: Some(ls.iter().map(|s| s.to_string()).collect()),
            })
        };
        assert_eq!(given(&[" a-07 "]).unwrap(), vec!["A-07"]);
        assert!(given(&["A-07", "a-07"]).is_err());
        assert!(given(&["A 07"]).is_err());
        assert!(given(&[""]).is_err());
        assert!(labels_of(&LockerSetup {
            count: Some(501),
            labels: None
        })
        .is_err());
        assert!(labels_of(&LockerSetup {
            count: Some(1),
            labels: Some(vec![])
        })
        .is_err());
    }
}
