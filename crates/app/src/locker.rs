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

/// What a held pickup proof found: the compartment, and the attempt's limits to take back.
struct PickupProof {
    device: crate::authz::DevicePrincipal,
    identity: String,
    code_mac: String,
    application_id: i64,
    label: String,
    jammed: bool,
    rules: Vec<wujing_store::RateRule>,
}

/// One compartment on the monitoring page (no personal data: not even the application).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MonitoredCompartment {
    pub label: String,
    /// `free`, `occupied` or `jammed` (a jammed one may hold a document too).
    pub state: String,
    pub occupied: bool,
    pub jammed_at: Option<DateTime<Utc>>,
}

/// A site's pickup locker as the back office watches it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MonitoredLocker {
    pub hall_id: String,
    pub name_zh: String,
    pub total: u32,
    pub occupied: u32,
    pub jammed: u32,
    pub compartments: Vec<MonitoredCompartment>,
}

/// A jam recorded: the compartment, and the next step told to the citizen.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LockerJam {
    pub compartment: String,
    pub next_zh: String,
    pub next_en: String,
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
        let r = self.collect_from_locker_once(p, client_addr, input).await?;
        self.count_use(p, "locker").await;
        Ok(r)
    }

    /// The citizen's proof at the locker `p` (a device of the hall): the identity number and the
    /// pickup code name the compartment holding the applicant's document. Every miss is
    /// `pickup_code_invalid`, counted before the comparison (per identity number, per locker,
    /// per address); over a limit even the right code is `proof_throttled`. The attempt is
    /// taken back only by the caller, once the proof led somewhere (`forgive`).
    async fn prove_pickup(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        input: &LockerCollectInput,
    ) -> AppResult<PickupProof> {
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
        Ok(PickupProof {
            device: d.clone(),
            identity,
            code_mac,
            application_id,
            label: c.label,
            jammed: c.jammed_at.is_some(),
            rules,
        })
    }

    /// The proof held: its attempt is taken back.
    async fn forgive(&self, proof: &PickupProof) -> AppResult<()> {
        self.store
            .forgive_owner_proof(&proof.rules, self.clock.now())
            .await?;
        Ok(())
    }

    /// 取证机, first step (issue 17): the identity number (read from the card) and the pickup
    /// code name the compartment to open, and nothing changes yet — the document is collected
    /// only once its door opened ([`App::collect_from_locker`]), so that a door that does not
    /// open leaves it collectable ([`App::report_locker_jam`]). A jammed compartment is
    /// `compartment_jammed`: the citizen goes to the counter.
    pub async fn locker_compartment_for(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        input: &LockerCollectInput,
    ) -> AppResult<LockerPickup> {
        let proof = self.prove_pickup(p, client_addr, input).await?;
        self.forgive(&proof).await?;
        if proof.jammed {
            return Err(Code::CompartmentJammed.into());
        }
        Ok(LockerPickup {
            compartment: proof.label,
        })
    }

    /// 取证机: the door of the citizen's compartment did not open (the bridge's `locker.open`
    /// answered `device_error` with `state = "jam"`). With the same proof as the collection, in
    /// one transaction: the compartment is marked jammed (the document stays, still
    /// `ready_for_collection`, collectable at the counter; no arrival is put in it), the
    /// device's alert `jam:<label>` opens and pages the site's leaders and supervisors once,
    /// and the audit trail records it (`locker.jam`). Answers what the citizen is told: the
    /// counter, with the reason.
    pub async fn report_locker_jam(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        input: &LockerCollectInput,
    ) -> AppResult<LockerJam> {
        let proof = self.prove_pickup(p, client_addr, input).await?;
        self.forgive(&proof).await?;
        let d = &proof.device;
        let now = self.clock.now();
        let actor = Actor::new(p, client_addr);
        let audit = NewAudit {
            at: now,
            actor: actor.id.clone(),
            actor_name: actor.name.clone(),
            action: "locker.jam".into(),
            subject: format!("application:{}", proof.application_id),
            citizen: Some(proof.identity.clone()),
            detail: json!({ "compartment": proof.label, "device": d.id }),
            client_addr: actor.client_addr.clone(),
            station: actor.station.clone(),
            hall_id: actor.hall.clone(),
        };
        let reason = (format!("jam:{}", proof.label), "jam".to_string());
        let pages = self.device_pages(d, &[reason], now, false).await?;
        self.store
            .apply_admin_notifying(
                &AdminChange::JamCompartment {
                    hall_id: d.hall_id.clone(),
                    label: proof.label.clone(),
                    device_id: d.id,
                },
                &audit,
                &pages,
            )
            .await?;
        let e = AppError::from(Code::CompartmentJammed);
        Ok(LockerJam {
            compartment: proof.label,
            next_zh: e.message(false).to_string(),
            next_en: e.message(true).to_string(),
        })
    }

    /// Staff clear a jammed compartment once its door works again (monitoring; audited
    /// `locker.jam_cleared` with the note): the jam is lifted and its alert cleared. A document
    /// still in it is collectable at the locker again with its code.
    pub async fn clear_locker_jam(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        hall: &str,
        label: &str,
        note: &str,
    ) -> AppResult<()> {
        self.require(p, Action::Monitor, Some(hall))?;
        let Principal::Staff(s) = p else {
            return Err(crate::authz::denied(p));
        };
        let note = note.trim();
        if note.is_empty()
            || note.chars().count() > 500
            || wujing_domain::text::forbidden_in_line(note).is_some()
        {
            return Err(Code::OutcomeRequired.into());
        }
        let label = label.trim().to_ascii_uppercase();
        if !self
            .store
            .locker(hall)
            .await?
            .iter()
            .any(|c| c.label == label)
        {
            return Err(Code::CompartmentUnknown.into());
        }
        self.audit(
            &Actor::new(p, client_addr).in_hall(hall),
            AdminChange::ClearJam {
                hall_id: hall.into(),
                label: label.clone(),
                by: format!("staff:{}", s.id),
                note: note.into(),
            },
            "locker.jam_cleared",
            format!("hall:{hall}"),
            None,
            json!({ "compartment": label, "note": note }),
        )
        .await?;
        Ok(())
    }

    /// A site's compartments for the monitoring page: occupied, free, jammed.
    pub(crate) async fn monitored_locker(
        &self,
        hall: &str,
        name_zh: &str,
    ) -> AppResult<MonitoredLocker> {
        let cs = self.store.locker(hall).await?;
        Ok(MonitoredLocker {
            hall_id: hall.into(),
            name_zh: name_zh.into(),
            total: cs.len() as u32,
            occupied: cs.iter().filter(|c| c.application_id.is_some()).count() as u32,
            jammed: cs.iter().filter(|c| c.jammed_at.is_some()).count() as u32,
            compartments: cs
                .into_iter()
                .map(|c| MonitoredCompartment {
                    state: if c.jammed_at.is_some() {
                        "jammed"
                    } else if c.application_id.is_some() {
                        "occupied"
                    } else {
                        "free"
                    }
                    .into(),
                    occupied: c.application_id.is_some(),
                    label: c.label,
                    jammed_at: c.jammed_at,
                })
                .collect(),
        })
    }

    async fn collect_from_locker_once(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        input: &LockerCollectInput,
    ) -> AppResult<LockerPickup> {
        let proof = self.prove_pickup(p, client_addr, input).await?;
        if proof.jammed {
            self.forgive(&proof).await?;
            return Err(Code::CompartmentJammed.into());
        }
        let wrong = || AppError::from(Code::PickupCodeInvalid);
        let PickupProof {
            device: d,
            identity,
            code_mac,
            application_id,
            label,
            ..
        } = &proof;
        let application_id = *application_id;
        let device = format!("device:{}", d.id);
        let now = self.clock.now();
        let actor = Actor::new(p, client_addr);
        let audit = NewAudit {
            at: now,
            actor: actor.id.clone(),
            actor_name: actor.name.clone(),
            action: "application.collected".into(),
            subject: format!("application:{application_id}"),
            citizen: Some(identity.clone()),
            detail: json!({
                "from": "ready_for_collection",
                "to": "collected",
                "compartment": label,
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
                    code_mac: code_mac.clone(),
                    actor: device,
                },
                &audit,
            )
            .await;
        match out {
            Ok(AdminOutcome::Compartment(label)) => {
                self.forgive(&proof).await?;
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
