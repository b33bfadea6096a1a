//! 网e捷 (issue 17, docs/KIOSK.md §7.3): the card holder's own applications by an ID card read,
//! each in plain words, and their fees due (paid as at 办证易, [`crate::bzy`]: the same use
//! cases, through 网e捷's own paths). A card read proves holding the card, nothing more: the
//! kiosk shows only the holder's own applications, without the identity number, names or
//! addresses (a screen in a hall may be seen by others), and forgets them after the session.
//!
//! **On-site write (立等可取, RULES.md §6 "online application + kiosk printing").** An approved
//! application for a Hong Kong/Macao tourist endorsement (a business whose catalogue
//! `endorsement` is G or L on the `hkm_permit`) is written onto the holder's e-card permit
//! here instead of waiting for production and collection: [`App::kiosk_write_start`] moves it
//! Approved → InProduction → Produced (the document's number: the registry's e-card permit
//! number and the application's, `CA3528174-17`) and answers the payload signed as 办证易
//! signs a re-issue ([`App::sign_payload`]); the card writer writes it and reads it back;
//! [`App::kiosk_write_written`] checks the read-back as 办证易 does ([`crate::bzy::read_back`])
//! and moves it Produced → Dispatched → ReadyForCollection → Collected. Every move goes
//! through [`App::move_application`] (history, audit entry), noted `on_site`. The payload is not
//! stored: it is signed again from the application and its `produced` event (the same bytes),
//! so the expected hash needs no column. A failed write or a mismatch leaves it Produced: the
//! endorsement stays the applicant's and a counter writes it.

use crate::authz::{Action, Principal};
use crate::bzy::{CardHolder, EndorsementLine, FeeDue};
use crate::lifecycle::Step;
use crate::{App, AppError, AppResult, Code};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use wujing_domain::application::{Event, State};
use wujing_domain::idnum::mask_id_number;
use wujing_domain::reissue::{self, Destination};

/// One application as the kiosk shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KioskApplication {
    /// What the collection choice names (with the card's number again as the proof).
    pub id: i64,
    /// Whether the way of collection may still be chosen (until the document leaves).
    pub can_choose_collection: bool,
    /// Whether it may be written onto the permit at this machine now (立等可取: an approved
    /// Hong Kong/Macao G or L endorsement).
    pub can_write_here: bool,
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
                can_write_here: state == Some(State::Approved)
                    && self.on_site_kind(&a.business).is_some(),
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

/// An application to write onto the permit at 网e捷: the card's number (the proof) and the
/// application.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KioskWriteInput {
    pub id_number: String,
    pub application: i64,
}

/// The card writer's read-back, with the card's number again.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KioskWriteReadBack {
    pub id_number: String,
    /// SHA-256 (hex) of what the writer read back.
    pub read_back_sha256: String,
}

/// The write did not happen at the machine.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KioskWriteFailure {
    pub id_number: String,
    /// `write_failed`, `cancelled` or `timeout`.
    pub reason: String,
}

macro_rules! no_number_in_logs {
    ($t:ty) => {
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t)).finish_non_exhaustive()
            }
        }
    };
}
no_number_in_logs!(KioskWriteInput);
no_number_in_logs!(KioskWriteReadBack);
no_number_in_logs!(KioskWriteFailure);

/// The endorsement as `card_writer.write_endorsement` takes it (`params.endorsement`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WriterEndorsement {
    #[serde(rename = "type")]
    pub kind: String,
    pub valid_until: NaiveDate,
    pub entries: u32,
}

/// Produced and signed: what the card writer writes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KioskWrite {
    pub application: i64,
    /// The permit's number (`card_writer.write_endorsement`'s `document_number`; not shown).
    pub permit_number: String,
    pub endorsement: WriterEndorsement,
    pub lines: Vec<EndorsementLine>,
    /// Base64 of the signed payload, written as given.
    pub payload: String,
    /// SHA-256 (hex) of the payload's bytes: what the read-back must hash to.
    pub payload_sha256: String,
}

/// How an on-site write ended, in the citizen's words.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KioskWriteOutcome {
    pub application: i64,
    /// The lifecycle's state: `collected` when written, `produced` when not.
    pub status: String,
    pub written: bool,
    pub message_zh: String,
    pub message_en: String,
    /// What to do next.
    pub next_zh: String,
    pub next_en: String,
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

/// The reasons a write stops at the machine.
const WRITE_FAILURES: [&str; 3] = ["write_failed", "cancelled", "timeout"];

impl App {
    /// The endorsement type (`G` or `L`) of a business 网e捷 writes on site: a Hong
    /// Kong/Macao endorsement of type G or L in the catalogue.
    fn on_site_kind(&self, business: &str) -> Option<String> {
        let b = self.catalogue.business(business)?;
        (b.document == wujing_domain::DocumentKind::HkmPermit)
            .then_some(())
            .and(b.endorsement.as_deref())
            .filter(|e| matches!(*e, "G" | "L"))
            .map(str::to_string)
    }

    /// The holder's own application `id` (another person's, or none: `application_not_found`
    /// alike) of a business written on site (else `onsite_write_not_offered`): the
    /// application, its endorsement type, the holder's key and identity number.
    async fn own_on_site(
        &self,
        p: &Principal,
        id_number: &str,
        id: i64,
    ) -> AppResult<(wujing_store::Application, String, String, String)> {
        self.require(p, Action::KioskStatus, None)?;
        let number = self.parse_resident_id(id_number)?;
        let plain = number.as_str().to_string();
        let key = self.identity_key(&wujing_domain::Identity::Resident(number));
        let not_found = || AppError::from(Code::ApplicationNotFound);
        let a = self.application_in(id).await.map_err(|_| not_found())?;
        if a.identity_key != key {
            return Err(not_found());
        }
        let kind = self
            .on_site_kind(&a.business)
            .ok_or_else(|| AppError::from(Code::OnsiteWriteNotOffered))?;
        Ok((a, kind, key, plain))
    }

    /// The holder's e-card permit number, from the registry (what the writer writes onto).
    async fn on_site_permit(&self, id_number: &str) -> AppResult<String> {
        let (_, documents) = self.store.facts(id_number).await?;
        reissue::e_card_permit(&documents, self.clock.today())
            .map(|d| d.number.clone())
            .map_err(|r| {
                AppError::from(Code::OnsiteWriteNoPermit)
                    .with_details(json!({ "reason": r.as_str() }))
            })
    }

    /// The endorsement lines of the application as applied for (the booking's or online
    /// application's option and destination), valid from `issued_on`.
    async fn on_site_lines(
        &self,
        a: &wujing_store::Application,
        kind: &str,
        issued_on: NaiveDate,
    ) -> AppResult<Vec<reissue::Line>> {
        let (option, answers) = if let Some(b) = a.booking_id {
            match self.store.booking_by_id(b).await? {
                Some(b) => (b.option_code, b.answers_json),
                None => (None, String::new()),
            }
        } else {
            match self
                .store
                .online_application(&wujing_store::OnlineBy::Application(a.id))
                .await?
            {
                Some(o) => (None, o.answers),
                None => (None, String::new()),
            }
        };
        let answers: serde_json::Value = serde_json::from_str(&answers).unwrap_or_default();
        let option = option
            .or_else(|| answers["option"].as_str().map(str::to_string))
            .unwrap_or_default();
        let destinations = match answers["destination"].as_str().unwrap_or("hk") {
            "both" => vec![Destination::Hk, Destination::Macau],
            d => Destination::parse(d).into_iter().collect(),
        };
        let unknown = || {
            AppError::from(Code::OnsiteWriteNotOffered)
                .with_details(json!({ "reason": "option_unknown" }))
        };
        let (valid_until, entries) = reissue::validity(&option, issued_on).ok_or_else(unknown)?;
        let fee = self
            .catalogue
            .terms(&a.business, issued_on)
            .and_then(|t| t.fee_for(Some(&option)))
            .unwrap_or_default();
        if destinations.is_empty()
            || destinations
                .iter()
                .any(|d| !reissue::on_menu(kind, *d, &option))
        {
            return Err(unknown());
        }
        Ok(destinations
            .into_iter()
            .map(|destination| reissue::Line {
                destination,
                kind: kind.to_string(),
                option: option.clone(),
                entries,
                valid_until,
                fee_yuan: fee,
            })
            .collect())
    }

    /// When the application was produced (its latest `produced` event): the payload's time.
    async fn produced_at(&self, id: i64) -> AppResult<DateTime<Utc>> {
        self.store
            .application_events(id)
            .await?
            .into_iter()
            .filter(|e| e.to_state == State::Produced.as_str())
            .map(|e| e.at)
            .max()
            .ok_or_else(|| AppError::from(Code::OnsiteWriteState))
    }

    /// The payload of a produced application, signed (the same bytes each time it is asked).
    async fn on_site_payload(
        &self,
        a: &wujing_store::Application,
        kind: &str,
        permit: &str,
    ) -> AppResult<KioskWrite> {
        let at = self.produced_at(a.id).await?;
        let issued_on = at
            .with_timezone(&wujing_domain::calendar::china_offset())
            .date_naive();
        let lines = self.on_site_lines(a, kind, issued_on).await?;
        let (payload, payload_sha256) = self
            .sign_payload(("application", a.id), permit, at, &lines)
            .await?;
        let first = lines.first().expect("at least one destination");
        Ok(KioskWrite {
            application: a.id,
            permit_number: permit.to_string(),
            endorsement: WriterEndorsement {
                kind: kind.to_string(),
                valid_until: first.valid_until,
                entries: first.entries,
            },
            lines: lines
                .iter()
                .map(|l| EndorsementLine {
                    destination: l.destination.as_str().into(),
                    kind: l.kind.clone(),
                    option: l.option.clone(),
                    entries: l.entries,
                    valid_until: l.valid_until,
                    fee_yuan: l.fee_yuan,
                })
                .collect(),
            payload,
            payload_sha256,
        })
    }

    /// The card holder asks to have an approved G or L endorsement written onto the permit
    /// now: checked (their own, approved, a permit the writer can write), moved Approved →
    /// InProduction → Produced at this machine (each move audited), and the payload signed.
    pub async fn kiosk_write_start(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        input: &KioskWriteInput,
    ) -> AppResult<KioskWrite> {
        let (a, kind, _, id_number) = self
            .own_on_site(p, &input.id_number, input.application)
            .await?;
        if State::parse(&a.status) != Some(State::Approved) {
            return Err(Code::OnsiteWriteState.into());
        }
        let permit = self.on_site_permit(&id_number).await?;
        // What to write is known before anything moves (an unknown option moves nothing).
        self.on_site_lines(&a, &kind, self.clock.today()).await?;
        let actor = self.on_site_actor(p, client_addr)?;
        // The document's number: the permit's, with the application's (an endorsement is no
        // booklet of its own, and the permit's number alone may already name the permit).
        let number = format!("{permit}-{}", a.id);
        // Each move from the state as stored (a stale caller is refused by the store).
        let mut current = a;
        for (event, step) in [
            (Event::StartProduction, Step::on_site(None)),
            (Event::Produce, Step::on_site(Some(number))),
        ] {
            self.move_application(&current, event, step, &actor, actor.id.clone())
                .await?;
            current = self.application_in(current.id).await?;
        }
        let produced = current;
        self.on_site_payload(&produced, &kind, &permit).await
    }

    fn on_site_actor(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
    ) -> AppResult<crate::admin::Actor> {
        match p {
            // Moves at this machine are recorded in its own hall.
            Principal::Device(d) => {
                Ok(crate::admin::Actor::new(p, client_addr).in_hall(&d.hall_id))
            }
            _ => Err(crate::authz::denied(p)),
        }
    }

    /// The card writer read the payload back: when its hash is the payload's, the endorsement
    /// is on the permit and the application moves on to Collected at this machine (Produced →
    /// Dispatched → ReadyForCollection → Collected, each move audited). A retry after a crash
    /// between the moves takes the remaining ones. Another hash leaves it where it is:
    /// `onsite_write_mismatch` (audited `kiosk.write_mismatch`), to a counter.
    pub async fn kiosk_write_written(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        application: i64,
        input: &KioskWriteReadBack,
    ) -> AppResult<KioskWriteOutcome> {
        let (mut a, kind, key, id_number) =
            self.own_on_site(p, &input.id_number, application).await?;
        let state = State::parse(&a.status);
        if state == Some(State::Collected) {
            return Ok(written_outcome(a.id));
        }
        if !matches!(
            state,
            Some(State::Produced | State::Dispatched | State::ReadyForCollection)
        ) {
            return Err(Code::OnsiteWriteState.into());
        }
        let permit = self.on_site_permit(&id_number).await?;
        let expected = self.on_site_payload(&a, &kind, &permit).await?;
        let (hash, matches) =
            crate::bzy::read_back(Some(&expected.payload_sha256), &input.read_back_sha256);
        let actor = self.on_site_actor(p, client_addr)?;
        if !matches {
            self.audit(
                &actor,
                wujing_store::AdminChange::RecordOnly,
                "kiosk.write_mismatch",
                format!("application:{}", a.id),
                Some(key),
                json!({ "read_back_sha256": hash, "status": a.status }),
            )
            .await?;
            return Err(Code::OnsiteWriteMismatch.into());
        }
        for event in [Event::Dispatch, Event::Arrive, Event::Collect] {
            let from = State::parse(&a.status);
            if from.is_some_and(|s| wujing_domain::application::next(s, event).is_err()) {
                continue;
            }
            self.move_application(&a, event, Step::on_site(None), &actor, actor.id.clone())
                .await?;
            a = self.application_in(a.id).await?;
        }
        self.count_use(p, "write").await;
        Ok(written_outcome(a.id))
    }

    /// The write did not happen (the writer failed, the citizen cancelled or walked away):
    /// recorded (audited `kiosk.write_failed`); the application stays Produced, the endorsement
    /// the applicant's, and a counter writes it.
    pub async fn kiosk_write_failed(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        application: i64,
        input: &KioskWriteFailure,
    ) -> AppResult<KioskWriteOutcome> {
        let (a, _, key, _) = self.own_on_site(p, &input.id_number, application).await?;
        if !WRITE_FAILURES.contains(&input.reason.as_str()) {
            return Err(AppError::new(
                Code::BodyInvalid,
                "原因须为 write_failed、cancelled 或 timeout",
                "the reason must be write_failed, cancelled or timeout",
            ));
        }
        if State::parse(&a.status) != Some(State::Produced) {
            return Err(Code::OnsiteWriteState.into());
        }
        self.audit(
            &self.on_site_actor(p, client_addr)?,
            wujing_store::AdminChange::RecordOnly,
            "kiosk.write_failed",
            format!("application:{}", a.id),
            Some(key),
            json!({ "reason": input.reason }),
        )
        .await?;
        Ok(KioskWriteOutcome {
            application: a.id,
            status: a.status,
            written: false,
            message_zh: "签注未写入证件".into(),
            message_en: "The endorsement was not written onto your permit".into(),
            next_zh: "签注已制好，仍归您所有：请持通行证和身份证到窗口写入".into(),
            next_en: "It is made and stays yours: bring your permit and ID card to a counter to have it written".into(),
        })
    }
}

fn written_outcome(id: i64) -> KioskWriteOutcome {
    KioskWriteOutcome {
        application: id,
        status: State::Collected.as_str().into(),
        written: true,
        message_zh: "签注已写入您的通行证，本次办理完成".into(),
        message_en: "The endorsement is on your permit; this application is complete".into(),
        next_zh: "请取回通行证和身份证".into(),
        next_en: "Please take your permit and ID card".into(),
    }
}
