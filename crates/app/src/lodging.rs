//! Temporary accommodation registration (境外人员住宿登记, issue 14 §3): hotels registered by
//! their police station, a hotel's registrations (API for its property-management system, or
//! the small-hotel page), check-out, a private host's registration online with the station's
//! verification, the station's worklist and its CSV export, and the retention sweep.
//!
//! Who is who:
//! - a **hotel** is a principal of its own: `Principal::System` of kind [`HOTEL`], whose `id` is
//!   the hotel's (table `lodging_hotels`, not `system_clients`), authenticated by its API token
//!   (`wjhotel_…`) or by its page's session (`wjhs_…`, cookie `wujing_hotel`). It reads and
//!   changes only its own stays: every lookup is by (its id, the stay id).
//! - the **police station** is a site of kind `police_station`; its officers and leaders
//!   granted for that site work the worklist (`Action::Lodging`), its hall manager (and
//!   leaders) register hotels (`Action::ManageHotels`). An administrator may do both anywhere.
//! - a **private host or the foreigner** is anonymous: the registration answers a reference and
//!   a one-time code; reading its status later is an owner proof, throttled like the others.
//!
//! Every hotel registration, check-out, verification, worklist view, record view and export
//! is an audited change or read (`lodging.*`), with the passport's blind key as the citizen.

use crate::admin::Actor;
use crate::auth::{random_token, token_hash, verify_password};
use crate::authz::{Action, Principal, SystemPrincipal};
use crate::{App, AppError, AppResult, Code};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use wujing_domain::lodging::{self as rules, Guest, Host, Lateness, Stay};
use wujing_domain::SiteKind;
use wujing_store::{
    AdminChange, AdminOutcome, HotelBy, LodgingStep, NewHotel, NewRegistration, Registration,
    RegistrationBy,
};

/// The kind of system principal a hotel is.
pub const HOTEL: &str = "hotel";
/// How a hotel's API token begins.
pub const HOTEL_TOKEN_PREFIX: &str = "wjhotel_";
/// How a hotel page's session token begins (cookie `wujing_hotel`).
pub const HOTEL_SESSION_PREFIX: &str = "wjhs_";
/// The most stays in one batch upload.
pub const MAX_BATCH: usize = 100;
/// How far back the worklist reaches (days of check-in).
pub const WORKLIST_DAYS: i64 = 60;
/// A hotel page's session lasts a front-desk shift.
const SESSION_HOURS: i64 = 12;

/// One guest stay as a hotel's system sends it.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
pub struct StayInput {
    /// The property-management system's own id of this guest stay: the idempotency key.
    pub stay_id: String,
    /// The guest (domain `lodging::Guest`: surname, given_names, chinese_name, sex, birth_date,
    /// nationality, document_kind, document_number, document_expiry, visa_kind, stay_until, …).
    #[schema(value_type = Object)]
    pub guest: Guest,
    /// The stay: check_in (RFC 3339), departure (planned), room, arriving_from, going_to.
    #[schema(value_type = Object)]
    pub stay: Stay,
}

/// A registration online by a private host (or the foreigner with the host's details).
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
pub struct HostInput {
    /// The police station (site id of kind `police_station`) of the address.
    pub station: String,
    #[schema(value_type = Object)]
    pub host: Host,
    #[schema(value_type = Object)]
    pub guest: Guest,
    #[schema(value_type = Object)]
    pub stay: Stay,
    /// `zh` or `en`: the language of the answer's texts.
    #[serde(default)]
    pub lang: String,
}

/// A registration as its hotel (or registrant) sees it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct RegistrationView {
    pub reference: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stay_id: Option<String>,
    /// `registered`, `checked_out`, or for a host's registration `pending`, `accepted`,
    /// `queried`.
    pub status: String,
    /// `on_time`, `warning_only` (≤ 3 days late) or `late`.
    pub lateness: String,
    pub check_in: DateTime<Utc>,
    pub registered_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left_on: Option<NaiveDate>,
    /// The station's note on a queried host registration.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub station_note: String,
}

/// A host's registration just made: the reference and the code that proves it later (shown
/// once).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HostReceipt {
    pub reference: String,
    pub code: String,
    pub lateness: String,
}

/// One item of a batch: its stay id, and the registration or the error.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BatchItem {
    pub stay_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration: Option<RegistrationView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub error: Option<serde_json::Value>,
}

/// A hotel as its station sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HotelView {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub address: String,
    pub station: String,
    pub revoked: bool,
    /// Shown once, at creation: the API token and the page's password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// A hotel to register.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct HotelInput {
    pub station: String,
    /// The page's sign-in name: 3–40 of a–z, 0–9, `-`.
    pub code: String,
    pub name: String,
    pub address: String,
}

/// One line of the station's worklist, personal data masked.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WorkItem {
    pub id: i64,
    pub reference: String,
    /// `hotel` or `host`.
    pub source: String,
    /// The hotel's name, or the host's address (masked to its first characters).
    pub place: String,
    pub guest: String,
    pub nationality: String,
    pub nationality_name: String,
    pub document: String,
    pub check_in: DateTime<Utc>,
    /// China time of the check-in, for the page.
    pub check_in_local: String,
    pub registered_at: DateTime<Utc>,
    pub lateness: String,
    pub lateness_zh: String,
    pub lateness_en: String,
    pub stay_until: NaiveDate,
    pub overstay: bool,
    /// Other registrations of the same passport sharing a night (at another address).
    pub duplicates: i64,
    pub departure: Option<NaiveDate>,
    pub left_on: Option<NaiveDate>,
    pub verification: Option<String>,
    pub station_note: String,
    pub anonymised: bool,
}

/// What the worklist counts, for its tabs.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct WorkCounts {
    pub all: usize,
    pub late: usize,
    pub warning_only: usize,
    pub overstay: usize,
    pub duplicates: usize,
    pub departed: usize,
    pub pending: usize,
}

/// A station's worklist.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Worklist {
    pub station: String,
    pub station_name: String,
    /// `all`, `late`, `overstay`, `duplicates`, `departed` or `pending`.
    pub view: String,
    pub counts: WorkCounts,
    pub items: Vec<WorkItem>,
}

/// The views of the worklist.
pub const VIEWS: &[&str] = &[
    "all",
    "late",
    "overstay",
    "duplicates",
    "departed",
    "pending",
];

/// A registration in full, for the station (audited).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RegistrationDetail {
    #[serde(flatten)]
    pub item: WorkItem,
    #[schema(value_type = Object)]
    pub guest: Option<Guest>,
    #[schema(value_type = Object)]
    pub stay: Option<Stay>,
    #[schema(value_type = Option<Object>)]
    pub host: Option<Host>,
}

/// What is sealed: the guest, the stay's details, the host, and the hotel's name and address
/// as they were (a hotel renamed later does not rewrite history).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    guest: Guest,
    stay: Stay,
    #[serde(default)]
    host: Option<Host>,
    #[serde(default)]
    place: String,
    /// The registrant's language (`zh` or `en`): the station's answer is texted in it.
    #[serde(default)]
    lang: String,
}

fn invalid(problems: Vec<rules::Problem>) -> AppError {
    let details = json!({ "problems": problems.iter().map(|p| json!({
        "field": p.field, "code": p.code, "zh": p.zh, "en": p.en,
    })).collect::<Vec<_>>() });
    let zh = problems
        .iter()
        .map(|p| p.zh.as_str())
        .collect::<Vec<_>>()
        .join("；");
    let en = problems
        .iter()
        .map(|p| p.en.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    AppError::new(Code::LodgingInvalid, zh, en).with_details(details)
}

fn not_found() -> AppError {
    Code::LodgingNotFound.into()
}

/// A reference citizens and hotels quote: `LR` and ten characters without look-alikes.
fn new_reference() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    let tail: String = (0..10)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    format!("LR{tail}")
}

/// Eight digits, for a host to prove the registration later.
fn new_code() -> String {
    format!("{:08}", rand::thread_rng().gen_range(0..100_000_000u32))
}

fn sha256(s: &str) -> String {
    wujing_domain::audit::hex(&Sha256::digest(s.as_bytes()))
}

fn china_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&wujing_domain::calendar::china_offset())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn status_of(r: &Registration) -> String {
    match (&r.verification, r.left_on) {
        (Some(v), _) => v.clone(),
        (None, Some(_)) => "checked_out".into(),
        (None, None) => "registered".into(),
    }
}

fn view(r: &Registration) -> RegistrationView {
    RegistrationView {
        reference: r.reference.clone(),
        stay_id: r.stay_id.clone(),
        status: status_of(r),
        lateness: r.lateness.clone(),
        check_in: r.check_in,
        registered_at: r.registered_at,
        left_on: r.left_on,
        station_note: r.station_note.clone(),
    }
}

/// The hotel a principal is, if it is one.
fn hotel_of(p: &Principal) -> AppResult<&SystemPrincipal> {
    match p {
        Principal::System(s) if s.kind == HOTEL => Ok(s),
        _ => Err(crate::authz::denied(p)),
    }
}

impl App {
    fn hotel_actor(&self, h: &SystemPrincipal, site: &str, client_addr: Option<&str>) -> Actor {
        Actor {
            id: format!("hotel:{}", h.id),
            name: h.name.clone(),
            client_addr: client_addr.map(str::to_string),
            station: Some(format!("hotel:{}", h.id)),
            hall: Some(site.to_string()),
        }
    }

    /// The police station `site`, or `lodging_site_invalid`.
    async fn police_station(&self, site: &str) -> AppResult<wujing_store::Hall> {
        match self.store.hall(site).await? {
            Some(h) if h.kind == SiteKind::PoliceStation => Ok(h),
            _ => Err(Code::LodgingSiteInvalid.into()),
        }
    }

    /// A hotel principal for an API token or a page session token, if either is live.
    pub async fn hotel_principal(&self, token: &str) -> AppResult<Option<Principal>> {
        let hotel = if token.starts_with(HOTEL_SESSION_PREFIX) {
            self.store
                .hotel_session(&token_hash(token), self.clock.now())
                .await?
                .map(|(_, h)| h)
        } else {
            self.store.hotel(HotelBy::Token(&token_hash(token))).await?
        };
        Ok(hotel.map(|h| {
            Principal::System(SystemPrincipal {
                id: h.id,
                name: h.name,
                kind: HOTEL.into(),
            })
        }))
    }

    /// Registers a hotel for a police station: answers its API token and page password, once.
    pub async fn create_hotel(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        input: &HotelInput,
    ) -> AppResult<HotelView> {
        self.require(p, Action::ManageHotels, Some(&input.station))?;
        self.police_station(&input.station).await?;
        let code = input.code.trim().to_ascii_lowercase();
        let (name, address) = (input.name.trim(), input.address.trim());
        let code_ok = (3..=40).contains(&code.len())
            && code
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        let text_ok = |s: &str, max: usize| {
            !s.is_empty()
                && s.chars().count() <= max
                && wujing_domain::text::forbidden_in_line(s).is_none()
        };
        if !code_ok || !text_ok(name, 80) || !text_ok(address, 200) {
            return Err(Code::HotelInvalid.into());
        }
        let token = format!("{HOTEL_TOKEN_PREFIX}{}", random_token());
        let password = random_token()[..16].to_string();
        let hash = self.hash_password_blocking(&password).await?;
        self.create_hotel_with(
            &Actor::new(p, client_addr),
            &input.station,
            &code,
            name,
            address,
            &token,
            hash,
        )
        .await
        .map(|mut v| {
            v.password = Some(password);
            v
        })
    }

    /// Writes a hotel with a given token and password hash (the demo's fixed credentials).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn create_hotel_with(
        &self,
        actor: &Actor,
        station: &str,
        code: &str,
        name: &str,
        address: &str,
        token: &str,
        password_hash: String,
    ) -> AppResult<HotelView> {
        let out = self
            .audit(
                &actor.clone().in_hall(station),
                AdminChange::Lodging(LodgingStep::CreateHotel(NewHotel {
                    code: code.into(),
                    name: name.into(),
                    address: address.into(),
                    site_id: station.into(),
                    password_hash,
                    token_hash: token_hash(token),
                })),
                "lodging.hotel_create",
                format!("hotel:{code}"),
                None,
                json!({ "code": code, "station": station }),
            )
            .await?;
        let AdminOutcome::Created(id) = out else {
            unreachable!("create returns an id")
        };
        Ok(HotelView {
            id,
            code: code.into(),
            name: name.into(),
            address: address.into(),
            station: station.into(),
            revoked: false,
            token: Some(token.into()),
            password: None,
        })
    }

    /// The hotels of a station's area.
    pub async fn hotels(&self, p: &Principal, station: &str) -> AppResult<Vec<HotelView>> {
        self.require(p, Action::ManageHotels, Some(station))?;
        Ok(self
            .store
            .hotels_of_site(station)
            .await?
            .into_iter()
            .map(|h| HotelView {
                id: h.id,
                code: h.code,
                name: h.name,
                address: h.address,
                station: h.site_id,
                revoked: h.revoked,
                token: None,
                password: None,
            })
            .collect())
    }

    /// The small-hotel page's sign-in: the hotel's code and password, throttled like staff
    /// sign-ins (per code and per address, counted before the password is checked). Answers
    /// the session token for the cookie.
    pub async fn hotel_sign_in(
        &self,
        code: &str,
        password: &str,
        client_addr: Option<&str>,
    ) -> AppResult<String> {
        let now = self.clock.now();
        let code = code.trim().to_ascii_lowercase();
        let key = format!("hotel:{code}");
        let addr_key = format!("addr:{}", client_addr.unwrap_or("-"));
        let gates = self.config.auth.gates(key.clone(), addr_key.clone());
        if let wujing_store::LoginAttempt::Refused { until, .. } =
            self.store.login_attempt(&gates, now).await?
        {
            let secs = ((until - now).num_milliseconds().max(1) as u64).div_ceil(1000);
            return Err(crate::auth::throttled(secs));
        }
        let hotel = self.store.hotel(HotelBy::Code(&code)).await?;
        let hash = hotel
            .as_ref()
            .map_or(crate::auth::DUMMY_HASH.to_string(), |h| {
                h.password_hash.clone()
            });
        let pw = password.to_string();
        let ok = tokio::task::spawn_blocking(move || verify_password(&hash, &pw))
            .await
            .unwrap_or(false);
        let hotel = match hotel {
            Some(h) if ok && !h.revoked => h,
            _ => return Err(Code::HotelSignInFailed.into()),
        };
        self.store.login_succeeded(&key, &[addr_key]).await?;
        let token = format!("{HOTEL_SESSION_PREFIX}{}", random_token());
        let actor = Actor {
            id: format!("hotel:{}", hotel.id),
            name: hotel.name.clone(),
            client_addr: client_addr.map(str::to_string),
            station: Some(format!("hotel:{}", hotel.id)),
            hall: Some(hotel.site_id.clone()),
        };
        self.audit(
            &actor,
            AdminChange::Lodging(LodgingStep::StartSession {
                hotel_id: hotel.id,
                token_hash: token_hash(&token),
                csrf_token: random_token(),
                expires_at: now + Duration::hours(SESSION_HOURS),
            }),
            "lodging.hotel_sign_in",
            format!("hotel:{}", hotel.id),
            None,
            json!({}),
        )
        .await?;
        Ok(token)
    }

    /// The page's session: the hotel's name and the CSRF token its forms echo.
    pub async fn hotel_page_session(
        &self,
        token: Option<&str>,
    ) -> AppResult<Option<(String, String)>> {
        let Some(t) = token.filter(|t| t.starts_with(HOTEL_SESSION_PREFIX)) else {
            return Ok(None);
        };
        Ok(self
            .store
            .hotel_session(&token_hash(t), self.clock.now())
            .await?
            .map(|(csrf, h)| (h.name, csrf)))
    }

    /// A hotel page form must echo its session's CSRF token.
    pub async fn check_hotel_csrf(
        &self,
        token: Option<&str>,
        given: Option<&str>,
    ) -> AppResult<()> {
        match self.hotel_page_session(token).await? {
            Some((_, csrf)) if given.is_some_and(|g| crate::auth::same_secret(g, &csrf)) => Ok(()),
            _ => Err(Code::CsrfInvalid.into()),
        }
    }

    pub async fn hotel_sign_out(&self, p: &Principal, token: Option<&str>) -> AppResult<()> {
        let (Ok(h), Some(t)) = (hotel_of(p), token) else {
            return Ok(());
        };
        let actor = Actor {
            id: format!("hotel:{}", h.id),
            name: h.name.clone(),
            client_addr: None,
            station: None,
            hall: None,
        };
        self.audit(
            &actor,
            AdminChange::Lodging(LodgingStep::EndSession {
                token_hash: token_hash(t),
            }),
            "lodging.hotel_sign_out",
            format!("hotel:{}", h.id),
            None,
            json!({}),
        )
        .await?;
        Ok(())
    }

    /// A hotel registers one guest stay. Idempotent per stay id: the same stay again answers
    /// the registration that exists (the same answer); the same stay id with a different
    /// registration is `lodging_stay_conflict`. Late registrations are accepted and marked.
    pub async fn register_stay(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        input: &StayInput,
    ) -> AppResult<RegistrationView> {
        let h = hotel_of(p)?;
        let stay_id = input.stay_id.trim();
        if stay_id.is_empty()
            || stay_id.len() > 64
            || wujing_domain::text::forbidden_in_line(stay_id).is_some()
        {
            return Err(invalid(vec![rules::Problem {
                field: "stay_id",
                code: "stay_id_invalid",
                zh: "住宿单号须为 1 至 64 个字符".into(),
                en: "the stay id must have 1 to 64 characters".into(),
            }]));
        }
        let hotel = self
            .store
            .hotel(HotelBy::Id(h.id))
            .await?
            .ok_or_else(|| crate::authz::denied(p))?;
        let by = RegistrationBy::Stay {
            hotel_id: h.id,
            stay_id: stay_id.into(),
        };
        let (guest, stay) = (normalised(&input.guest), input.stay.clone());
        let request_hash =
            sha256(&serde_json::to_string(&(&guest, &stay)).expect("registrations serialise"));
        // A replay is answered before validation: a retry must get the first answer even when
        // the clock has since made the same body late or its check-in "too old".
        if let Some(r) = self.store.registration(&by).await? {
            return replay(&r, &request_hash);
        }
        let now = self.clock.now();
        let problems = rules::validate(&guest, &stay, now, self.clock.today());
        if !problems.is_empty() {
            return Err(invalid(problems));
        }
        let record = Record {
            guest,
            stay,
            host: None,
            place: format!("{} {}", hotel.name, hotel.address),
            lang: String::new(),
        };
        let new = self.new_registration(
            &record,
            "hotel",
            Some(h.id),
            Some(stay_id.into()),
            request_hash.clone(),
            None,
            &hotel.site_id,
        );
        let citizen = new.passport_key.clone();
        let outcome = self
            .audit(
                &self.hotel_actor(h, &hotel.site_id, client_addr),
                AdminChange::Lodging(LodgingStep::Register(new.clone())),
                "lodging.register",
                format!("lodging:{}", new.reference),
                Some(citizen),
                json!({ "stay_id": stay_id, "lateness": new.lateness }),
            )
            .await;
        match outcome {
            Ok(_) => {}
            // Registered meanwhile by a concurrent post of the same stay (the store's
            // `lodging_stay_exists`, not a registered code, so `change_refused` here): its answer.
            Err(e) if e.code == Code::ChangeRefused => {
                let r = self.store.registration(&by).await?.ok_or_else(not_found)?;
                return replay(&r, &request_hash);
            }
            Err(e) => return Err(e),
        }
        let r = self.store.registration(&by).await?.ok_or_else(not_found)?;
        Ok(view(&r))
    }

    /// A batch of stays: each item registered on its own (its own transaction), so that one
    /// bad item does not lose the good ones; each answers its registration or its error.
    pub async fn register_batch(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        items: &[StayInput],
    ) -> AppResult<Vec<BatchItem>> {
        hotel_of(p)?;
        if items.is_empty() || items.len() > MAX_BATCH {
            return Err(Code::LodgingBatchInvalid.into());
        }
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let r = self.register_stay(p, client_addr, item).await;
            out.push(match r {
                Ok(v) => BatchItem {
                    stay_id: item.stay_id.clone(),
                    registration: Some(v),
                    error: None,
                },
                // A lost database fails the whole request: the caller retries it, and the
                // items already written answer the same on the retry.
                Err(e) if e.code == Code::Unavailable => return Err(e),
                Err(e) => BatchItem {
                    stay_id: item.stay_id.clone(),
                    registration: None,
                    error: Some(json!({
                        "code": e.code.as_str(),
                        "message": e.en,
                        "details": e.details.as_ref().and_then(|d| serde_json::from_str::<serde_json::Value>(d.get()).ok()),
                    })),
                },
            });
        }
        Ok(out)
    }

    /// A hotel reads one of its own stays (another hotel's stay id finds nothing).
    pub async fn hotel_stay(&self, p: &Principal, stay_id: &str) -> AppResult<RegistrationView> {
        let h = hotel_of(p)?;
        self.store
            .registration(&RegistrationBy::Stay {
                hotel_id: h.id,
                stay_id: stay_id.into(),
            })
            .await?
            .map(|r| view(&r))
            .ok_or_else(not_found)
    }

    /// A hotel records a guest's check-out (today, China time, unless the body names the day).
    pub async fn check_out(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        stay_id: &str,
        day: Option<NaiveDate>,
    ) -> AppResult<RegistrationView> {
        let h = hotel_of(p)?;
        let by = RegistrationBy::Stay {
            hotel_id: h.id,
            stay_id: stay_id.into(),
        };
        let r = self.store.registration(&by).await?.ok_or_else(not_found)?;
        let today = self.clock.today();
        let day = day.unwrap_or(today);
        if day > today {
            return Err(Code::CheckOutInvalid.into());
        }
        self.audit(
            &self.hotel_actor(h, &r.site_id, client_addr),
            AdminChange::Lodging(LodgingStep::CheckOut {
                hotel_id: h.id,
                stay_id: stay_id.into(),
                day,
            }),
            "lodging.check_out",
            format!("lodging:{}", r.reference),
            Some(r.passport_key.clone()),
            json!({ "stay_id": stay_id, "day": day }),
        )
        .await
        .map_err(|e| {
            if e.code == Code::NotFound || e.kind == crate::ErrorKind::NotFound {
                not_found()
            } else {
                e
            }
        })?;
        let r = self.store.registration(&by).await?.ok_or_else(not_found)?;
        Ok(view(&r))
    }

    #[allow(clippy::too_many_arguments)]
    fn new_registration(
        &self,
        record: &Record,
        source: &str,
        hotel_id: Option<i64>,
        stay_id: Option<String>,
        request_hash: String,
        proof_hash: Option<String>,
        site: &str,
    ) -> NewRegistration {
        let g = &record.guest;
        let check_in = record.stay.check_in.expect("validated");
        NewRegistration {
            reference: new_reference(),
            source: source.into(),
            hotel_id,
            stay_id,
            request_hash,
            proof_hash,
            site_id: site.into(),
            passport_key: self
                .store
                .keys()
                .identity_key(&rules::passport_key(&g.nationality, &g.document_number)),
            nationality: g.nationality.clone(),
            record: serde_json::to_string(record).expect("records serialise"),
            check_in,
            first_night: rules::china_day(check_in),
            departure: record.stay.departure,
            stay_until: g.stay_until.expect("validated"),
            lateness: rules::lateness(check_in, self.clock.now()).as_str().into(),
        }
    }

    /// A private host (or the foreigner) registers a stay online for the station of the
    /// address. Answers the reference and a code (shown once) that proves it later.
    pub async fn register_host(
        &self,
        input: &HostInput,
        client_addr: Option<&str>,
    ) -> AppResult<HostReceipt> {
        self.register_host_by(input, client_addr, None, Vec::new())
            .await
    }

    /// The host's registration, online (`by` none: the registrant is anonymous) or at a
    /// 证件通 of the organisation (`by` the device, named in the audit entry): the same limit,
    /// validation, record, station worklist and audit action. `problems` are the caller's own
    /// (a kiosk's unreadable date), listed with the rules' own.
    pub(crate) async fn register_host_by(
        &self,
        input: &HostInput,
        client_addr: Option<&str>,
        by: Option<&Principal>,
        mut problems: Vec<rules::Problem>,
    ) -> AppResult<HostReceipt> {
        // Anonymous writes to a station's worklist: counted per address like the pre-check, so
        // that nobody floods the station.
        self.store
            .count_requests(
                &self.limit_rules(&[(
                    "lodging-addr",
                    client_addr,
                    self.config.limits.checks_per_address,
                )]),
                self.clock.now(),
            )
            .await?;
        let station = self.police_station(&input.station).await?;
        let now = self.clock.now();
        let today = self.clock.today();
        let guest = normalised(&input.guest);
        problems.extend(rules::validate_host(&input.host, today));
        problems.extend(rules::validate(&guest, &input.stay, now, today));
        if !problems.is_empty() {
            return Err(invalid(problems));
        }
        let code = new_code();
        let record = Record {
            place: input.host.address.clone(),
            guest,
            stay: input.stay.clone(),
            host: Some(input.host.clone()),
            lang: if input.lang == "en" { "en" } else { "zh" }.into(),
        };
        let request_hash = sha256(&serde_json::to_string(&record).expect("records serialise"));
        let new = self.new_registration(
            &record,
            "host",
            None,
            None,
            request_hash,
            Some(sha256(&code)),
            &station.id,
        );
        // The registrant is anonymous; the entry makes the station's worklist attributable
        // (who registered what, when) without naming anyone but by blind key.
        let actor = match by {
            Some(p) => Actor::new(p, client_addr).in_hall(&station.id),
            None => Actor {
                id: "anonymous".into(),
                name: "host".into(),
                client_addr: None,
                station: None,
                hall: Some(station.id.clone()),
            },
        };
        self.audit(
            &actor,
            AdminChange::Lodging(LodgingStep::Register(new.clone())),
            "lodging.host_register",
            format!("lodging:{}", new.reference),
            Some(new.passport_key.clone()),
            json!({ "lateness": new.lateness }),
        )
        .await?;
        Ok(HostReceipt {
            reference: new.reference,
            code,
            lateness: new.lateness,
        })
    }

    /// A host's registration by its reference and code: an owner proof, counted per reference
    /// and per address before it is compared (`proof_throttled` past the limits); a wrong code
    /// and an unknown reference answer alike.
    pub async fn host_registration_status(
        &self,
        reference: &str,
        code: &str,
        client_addr: Option<&str>,
    ) -> AppResult<RegistrationView> {
        let reference = reference.trim().to_ascii_uppercase();
        let given = sha256(code.trim());
        let found = self
            .owner_proof(&format!("lodging:{reference}"), client_addr, async {
                Ok(self
                    .store
                    .registration(&RegistrationBy::Reference(reference.clone()))
                    .await?
                    .filter(|r| {
                        r.proof_hash
                            .as_deref()
                            .is_some_and(|h| crate::auth::same_secret(h, &given))
                    }))
            })
            .await?;
        found.map(|r| view(&r)).ok_or_else(not_found)
    }

    /// The station's worklist (audited `lodging.worklist_view`).
    pub async fn lodging_worklist(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        station: &str,
        view_name: &str,
    ) -> AppResult<Worklist> {
        let w = self.worklist_of(p, station, view_name).await?;
        self.audit(
            &Actor::new(p, client_addr).in_hall(station),
            AdminChange::RecordOnly,
            "lodging.worklist_view",
            format!("station:{station}"),
            None,
            json!({ "view": w.view, "rows": w.items.len() }),
        )
        .await?;
        Ok(w)
    }

    async fn worklist_of(
        &self,
        p: &Principal,
        station: &str,
        view_name: &str,
    ) -> AppResult<Worklist> {
        // Which sites are police stations is public; whether this caller works at one is not
        // decided before the station is known.
        let hall = self.police_station(station).await?;
        self.require(p, Action::Lodging, Some(station))?;
        let view_name = if view_name.is_empty() {
            "all"
        } else {
            view_name
        };
        if !VIEWS.contains(&view_name) {
            return Err(Code::QueryInvalid.into());
        }
        let now = self.clock.now();
        let today = self.clock.today();
        let rows = self
            .store
            .lodging_worklist(
                station,
                now - Duration::days(WORKLIST_DAYS),
                today + Duration::days(1),
            )
            .await?;
        let all: Vec<WorkItem> = rows.iter().map(|r| work_item(r, today)).collect();
        let counts = WorkCounts {
            all: all.len(),
            late: all.iter().filter(|i| i.lateness != "on_time").count(),
            warning_only: all.iter().filter(|i| i.lateness == "warning_only").count(),
            overstay: all.iter().filter(|i| i.overstay).count(),
            duplicates: all.iter().filter(|i| i.duplicates > 0).count(),
            departed: all.iter().filter(|i| i.left_on.is_some()).count(),
            pending: all
                .iter()
                .filter(|i| matches!(i.verification.as_deref(), Some("pending" | "queried")))
                .count(),
        };
        let items = all
            .into_iter()
            .filter(|i| match view_name {
                "late" => i.lateness != "on_time",
                "overstay" => i.overstay,
                "duplicates" => i.duplicates > 0,
                "departed" => i.left_on.is_some(),
                "pending" => matches!(i.verification.as_deref(), Some("pending" | "queried")),
                _ => true,
            })
            .collect();
        Ok(Worklist {
            station: station.into(),
            station_name: hall.name_zh,
            view: view_name.into(),
            counts,
            items,
        })
    }

    /// The worklist as CSV (masked like the page; audited `lodging.worklist_export`).
    pub async fn lodging_export(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        station: &str,
        view_name: &str,
    ) -> AppResult<String> {
        let w = self.worklist_of(p, station, view_name).await?;
        self.audit(
            &Actor::new(p, client_addr).in_hall(station),
            AdminChange::RecordOnly,
            "lodging.worklist_export",
            format!("station:{station}"),
            None,
            json!({ "view": w.view, "rows": w.items.len() }),
        )
        .await?;
        let mut out = String::from(
            "reference,source,place,guest,nationality,document,check_in,registered_at,lateness,stay_until,overstay,duplicates,departure,left_on,verification\n",
        );
        for i in &w.items {
            let cells = [
                i.reference.clone(),
                i.source.clone(),
                i.place.clone(),
                i.guest.clone(),
                i.nationality.clone(),
                i.document.clone(),
                i.check_in_local.clone(),
                china_time(i.registered_at),
                i.lateness.clone(),
                i.stay_until.to_string(),
                i.overstay.to_string(),
                i.duplicates.to_string(),
                i.departure.map(|d| d.to_string()).unwrap_or_default(),
                i.left_on.map(|d| d.to_string()).unwrap_or_default(),
                i.verification.clone().unwrap_or_default(),
            ];
            out.push_str(
                &cells
                    .iter()
                    .map(|c| wujing_domain::text::csv_cell(c))
                    .collect::<Vec<_>>()
                    .join(","),
            );
            out.push('\n');
        }
        Ok(out)
    }

    /// One registration in full, for the station of its area (audited `lodging.read`).
    pub async fn lodging_registration(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        id: i64,
    ) -> AppResult<RegistrationDetail> {
        let r = self
            .store
            .registration(&RegistrationBy::Id(id))
            .await?
            .ok_or_else(not_found)?;
        if !crate::authz::permits(p, Action::Lodging, Some(&r.site_id)) {
            // Another station's registration is as absent as an unknown one.
            return Err(not_found());
        }
        let record: Option<Record> = serde_json::from_str(&r.record).ok();
        self.audit(
            &Actor::new(p, client_addr).in_hall(&r.site_id),
            AdminChange::RecordOnly,
            "lodging.read",
            format!("lodging:{}", r.reference),
            Some(r.passport_key.clone()),
            json!({ "id": id }),
        )
        .await?;
        let item = work_item(&r, self.clock.today());
        Ok(match record {
            Some(rec) => RegistrationDetail {
                item,
                guest: Some(rec.guest),
                stay: Some(rec.stay),
                host: rec.host,
            },
            None => RegistrationDetail {
                item,
                guest: None,
                stay: None,
                host: None,
            },
        })
    }

    /// The station accepts a host's registration, or queries it with a note for the registrant.
    pub async fn verify_lodging(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        id: i64,
        decision: &str,
        note: &str,
    ) -> AppResult<RegistrationView> {
        let r = self
            .store
            .registration(&RegistrationBy::Id(id))
            .await?
            .ok_or_else(not_found)?;
        if !crate::authz::permits(p, Action::Lodging, Some(&r.site_id)) {
            return Err(not_found());
        }
        let note = note.trim();
        let note_ok =
            note.chars().count() <= 200 && wujing_domain::text::forbidden_in_line(note).is_none();
        if !matches!(decision, "accepted" | "queried")
            || !note_ok
            || (decision == "queried" && note.is_empty())
        {
            return Err(Code::LodgingDecisionInvalid.into());
        }
        let actor = Actor::new(p, client_addr).in_hall(&r.site_id);
        let now = self.clock.now();
        // The registrant learns the station's answer by text, in the decision's transaction.
        let record: Option<Record> = serde_json::from_str(&r.record).ok();
        let texts: Vec<_> = record
            .as_ref()
            .and_then(|rec| rec.host.as_ref().map(|h| (rec, h)))
            .and_then(|(rec, h)| {
                let phone = wujing_domain::phone::canonical(&h.phone).ok()?;
                let link = format!("{}/lodging", self.config.public_url);
                let body = match (decision, rec.lang.as_str()) {
                    ("accepted", "en") => format!("[Wujing] Accommodation registration {} has been verified by the police station.", r.reference),
                    ("accepted", _) => format!("【无境】您的境外人员住宿登记 {} 已经派出所核查通过。", r.reference),
                    (_, "en") => format!("[Wujing] Accommodation registration {}: the police station asks for a correction: {note}. See {link} with your reference and code.", r.reference),
                    _ => format!("【无境】您的境外人员住宿登记 {} 需要补正：{note}。请凭登记号和查询码查看：{link}", r.reference),
                };
                Some(crate::notify::message(
                    format!("lodging:{}:{decision}:{}", r.reference, now.timestamp_millis()),
                    &phone,
                    "lodging_verification",
                    body,
                    now,
                ))
            })
            .into_iter()
            .collect();
        let audit = wujing_store::NewAudit {
            at: now,
            actor: actor.id.clone(),
            actor_name: actor.name.clone(),
            action: "lodging.verify".into(),
            subject: format!("lodging:{}", r.reference),
            citizen: Some(r.passport_key.clone()),
            detail: json!({ "decision": decision }),
            client_addr: actor.client_addr.clone(),
            station: actor.station.clone(),
            hall_id: actor.hall.clone(),
        };
        self.store
            .apply_admin_notifying(
                &AdminChange::Lodging(LodgingStep::Verify {
                    id,
                    site_id: r.site_id.clone(),
                    decision: decision.into(),
                    note: note.into(),
                    by: actor.id.clone(),
                }),
                &audit,
                &texts,
            )
            .await?;
        let r = self
            .store
            .registration(&RegistrationBy::Id(id))
            .await?
            .ok_or_else(not_found)?;
        Ok(view(&r))
    }

    /// The retention sweep: registrations checked in more than
    /// [`crate::Config::lodging_retention_days`] ago lose their personal data (run hourly with
    /// the other retention pass; audited by `system:sweeper` when it changed anything).
    pub async fn sweep_lodging(&self) -> AppResult<u64> {
        let before =
            self.clock.now() - Duration::days(i64::from(self.config.lodging_retention_days));
        let actor = Actor {
            id: crate::locker::SWEEPER.into(),
            name: "sweeper".into(),
            client_addr: None,
            station: None,
            hall: None,
        };
        match self
            .audit(
                &actor,
                AdminChange::Lodging(LodgingStep::Anonymise { before }),
                "lodging.anonymise",
                "lodging".into(),
                None,
                json!({ "before": before }),
            )
            .await
        {
            Ok(AdminOutcome::SlotsChanged(n)) => {
                if n > 0 {
                    tracing::info!(
                        rows = n,
                        "retention: accommodation registrations anonymised"
                    );
                }
                Ok(n)
            }
            Ok(_) => Ok(0),
            // Nothing was due: the store refuses, so that no empty entry is written.
            Err(e) if e.code == Code::ChangeRefused => Ok(0),
            Err(e) => Err(e),
        }
    }
}

/// The same stay again: the first answer when it is the same registration.
fn replay(r: &Registration, request_hash: &str) -> AppResult<RegistrationView> {
    if crate::auth::same_secret(&r.request_hash, request_hash) {
        Ok(view(r))
    } else {
        Err(Code::LodgingStayConflict.into())
    }
}

/// A guest as compared and stored: nationality and document number normalised.
fn normalised(g: &Guest) -> Guest {
    Guest {
        nationality: rules::normalise_nationality(&g.nationality),
        document_number: rules::normalise_document(&g.document_number),
        surname: g.surname.trim().to_string(),
        given_names: g.given_names.trim().to_string(),
        ..g.clone()
    }
}

fn work_item(r: &Registration, today: NaiveDate) -> WorkItem {
    let record: Option<Record> = serde_json::from_str(&r.record).ok();
    let (guest, document, place) = match &record {
        Some(rec) => (
            rules::mask_name(&format!("{} {}", rec.guest.surname, rec.guest.given_names)),
            rules::mask_document(&rec.guest.document_number),
            if rec.host.is_some() {
                // A private address says where someone lives: only its beginning.
                rec.place.chars().take(8).collect::<String>() + "…"
            } else {
                rec.place.clone()
            },
        ),
        None => ("—".into(), "—".into(), "—".into()),
    };
    let lateness = Lateness::parse(&r.lateness).unwrap_or(Lateness::OnTime);
    WorkItem {
        id: r.id,
        reference: r.reference.clone(),
        source: r.source.clone(),
        place,
        guest,
        nationality: r.nationality.clone(),
        nationality_name: wujing_domain::mrz::country_name(&r.nationality)
            .unwrap_or_default()
            .into(),
        document,
        check_in: r.check_in,
        check_in_local: china_time(r.check_in),
        registered_at: r.registered_at,
        lateness: r.lateness.clone(),
        lateness_zh: lateness.name_zh().into(),
        lateness_en: lateness.name_en().into(),
        stay_until: r.stay_until,
        overstay: !r.anonymised && rules::overstays(r.stay_until, r.left_on, r.departure, today),
        duplicates: r.duplicates,
        departure: r.departure,
        left_on: r.left_on,
        verification: r.verification.clone(),
        station_note: r.station_note.clone(),
        anonymised: r.anonymised,
    }
}

impl App {
    /// The police stations (id, Chinese name, English name), for the host's form.
    pub async fn police_stations(&self) -> AppResult<Vec<(String, String, String)>> {
        Ok(self
            .store
            .halls()
            .await?
            .into_iter()
            .filter(|h| h.kind == SiteKind::PoliceStation)
            .map(|h| (h.id, h.name_zh, h.name_en))
            .collect())
    }

    /// The stations whose worklist `p` may work (`action`), for the page's choice.
    pub async fn lodging_stations(
        &self,
        p: &Principal,
        action: Action,
    ) -> AppResult<Vec<(String, String, String)>> {
        Ok(self
            .police_stations()
            .await?
            .into_iter()
            .filter(|(id, _, _)| crate::authz::permits(p, action, Some(id)))
            .collect())
    }

    /// A batch given as JSON values: an item that is not a stay is that item's `body_invalid`,
    /// and the others are still registered.
    pub async fn register_batch_values(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        items: &[serde_json::Value],
    ) -> AppResult<Vec<BatchItem>> {
        hotel_of(p)?;
        if items.is_empty() || items.len() > MAX_BATCH {
            return Err(Code::LodgingBatchInvalid.into());
        }
        let mut out = Vec::with_capacity(items.len());
        for v in items {
            match serde_json::from_value::<StayInput>(v.clone()) {
                Ok(item) => out.extend(
                    self.register_batch(p, client_addr, std::slice::from_ref(&item))
                        .await?,
                ),
                Err(e) => out.push(BatchItem {
                    stay_id: v
                        .get("stay_id")
                        .and_then(|s| s.as_str())
                        .unwrap_or_default()
                        .chars()
                        .take(64)
                        .collect(),
                    registration: None,
                    error: Some(json!({
                        "code": Code::BodyInvalid.as_str(),
                        "message": format!("not a stay: {e}"),
                    })),
                }),
            }
        }
        Ok(out)
    }
}

impl App {
    /// The guest fields a pasted machine-readable zone fills in (the hotel's and the host's
    /// forms), counted per address like `POST /api/v1/mrz`; a zone that cannot be read is its
    /// `mrz_*` refusal. A zone that reads but fails a check digit still prefills: the person at
    /// the desk checks the fields against the document.
    pub async fn prefill_from_mrz(
        &self,
        lines: &[String],
        client_addr: Option<&str>,
    ) -> AppResult<Guest> {
        self.store
            .count_requests(
                &self.limit_rules(&[(
                    "mrz-addr",
                    client_addr,
                    self.config.limits.checks_per_address,
                )]),
                self.clock.now(),
            )
            .await?;
        wujing_domain::mrz::read(lines, self.clock.today())
            .map(|m| rules::prefill(&m))
            .map_err(crate::mrz::refusal)
    }
}

/// The demo organisation's hotels: (station, code, name, address, API token, page password).
/// Fixed and printed by `wujing serve` when it loads the demo, like every demo credential: the
/// demo organisation is never production (docs/HOTELS.md).
pub const DEMO_HOTELS: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "conghua-jiekou-ps",
        "jiekou-inn",
        "街口旅舍 Jiekou Inn",
        "广州市从化区街口街（演示地址）",
        "wjhotel_demo_jiekou_inn_token",
        "jiekou demo 1",
    ),
    (
        "conghua-jiekou-ps",
        "liuxi-river-hotel",
        "流溪河酒店 Liuxi River Hotel",
        "广州市从化区流溪河畔（演示地址）",
        "wjhotel_demo_liuxi_river_token",
        "liuxi demo 1",
    ),
    (
        "zengcheng-xintang-ps",
        "xintang-business-hotel",
        "新塘商务酒店 Xintang Business Hotel",
        "广州市增城区新塘镇（演示地址）",
        "wjhotel_demo_xintang_token",
        "xintang demo 1",
    ),
];

impl App {
    /// Registers the demo hotels (with the demo's fixed credentials) where their station exists.
    pub(crate) async fn load_demo_hotels(&self) -> AppResult<usize> {
        let mut n = 0;
        for (station, code, name, address, token, password) in DEMO_HOTELS {
            if self.store.hall(station).await?.is_none()
                || self.store.hotel(HotelBy::Code(code)).await?.is_some()
            {
                continue;
            }
            let hash = self.hash_password_blocking(password).await?;
            self.create_hotel_with(&Actor::cli(), station, code, name, address, token, hash)
                .await?;
            n += 1;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::{permits, StaffPrincipal};
    use wujing_domain::staff::{Role, RoleGrant};

    fn system(kind: &str) -> Principal {
        Principal::System(SystemPrincipal {
            id: 1,
            name: "x".into(),
            kind: kind.into(),
        })
    }

    fn staff(role: Role, hall: Option<&str>) -> Principal {
        Principal::Staff(StaffPrincipal {
            id: 1,
            username: "u".into(),
            display_name: "U".into(),
            roles: vec![RoleGrant {
                role,
                hall: hall.map(str::to_string),
            }],
            csrf_token: String::new(),
            session_hash: String::new(),
        })
    }

    #[test]
    fn only_a_hotel_acts_as_a_hotel_and_a_hotel_reaches_nothing_else() {
        let hotel = system(HOTEL);
        assert!(permits(&hotel, Action::Hotel, None));
        assert!(!permits(&system("production_centre"), Action::Hotel, None));
        assert!(!permits(&staff(Role::Admin, None), Action::Hotel, None));
        for a in [
            Action::Lodging,
            Action::ManageHotels,
            Action::Staff,
            Action::ProductionBatches,
            Action::ProductionCentre,
        ] {
            assert!(!permits(&hotel, a, None), "{a:?}");
        }
    }

    #[test]
    fn a_station_officer_works_only_the_worklist_of_the_station() {
        let o = staff(Role::Officer, Some("conghua-jiekou-ps"));
        assert!(permits(&o, Action::Lodging, Some("conghua-jiekou-ps")));
        assert!(!permits(&o, Action::Lodging, Some("zengcheng-xintang-ps")));
        assert!(!permits(
            &o,
            Action::ManageHotels,
            Some("conghua-jiekou-ps")
        ));
        let m = staff(Role::HallManager, Some("conghua-jiekou-ps"));
        assert!(permits(&m, Action::ManageHotels, Some("conghua-jiekou-ps")));
        assert!(!permits(&m, Action::Lodging, Some("conghua-jiekou-ps")));
    }
}
