//! Devices as first-class machines (issue 16, M8, M11): pairing a kiosk without a token ever
//! typed or put in an address, heartbeats with each peripheral's state, the back office's
//! monitoring of devices and round-the-clock points, the alerts a silence or a fault raises (paged
//! through the outbox to the site's leaders and supervisors, escalated like rating alerts, cleared
//! by the device's next good heartbeat or by staff, audited), and usage counters per day, device
//! and mode. The protocol a kiosk speaks is docs/KIOSK.md.

use crate::admin::Actor;
use crate::auth::{random_token, token_hash};
use crate::authz::{Action, DevicePrincipal, Principal};
use crate::notify::message;
use crate::{App, AppError, AppResult, Code};
use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use utoipa::ToSchema;
use wujing_domain::device::{
    is_fault, PAIRING_ALPHABET, PAIRING_CODE_LEN, PERIPHERALS, PERIPHERAL_STATES,
};
use wujing_domain::DeviceKind;
use wujing_store::{
    AdminChange, AdminOutcome, DeviceAlert, DeviceStep, LoginAttempt, LoginGate, NewAudit,
    NewMessage,
};

/// How long a pairing code lives.
pub const PAIRING_TTL: TimeDelta = TimeDelta::minutes(10);
/// How often a device is asked to send its heartbeat (the answer says it).
pub const HEARTBEAT_EVERY_SECS: u32 = 60;

/// What a kiosk shows and keeps while it waits to be paired: the code for its screen and the
/// secret it polls with (never shown).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PairingStarted {
    /// Eight letters and digits (no 0/O, 1/I/L look-alikes) to show on the screen.
    pub code: String,
    /// The kiosk keeps it in memory and polls with it; it proves the pairing is this kiosk's.
    pub secret: String,
    pub expires_at: DateTime<Utc>,
}

/// A poll's answer: still waiting, or paired with the device's fresh token.
#[derive(Debug, Clone)]
pub enum PairingPoll {
    Waiting,
    Paired {
        token: String,
        device: DevicePrincipal,
    },
}

/// A heartbeat (`POST /api/v1/device/heartbeat`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatInput {
    /// Each peripheral the machine has, with its state: peripherals `id_reader`, `mrz_reader`,
    /// `fingerprint`, `signature_pad`, `camera`, `printer`, `locker`, `payment`,
    /// `card_writer`, `network`; states `ok`, `paper_low`, `paper_out`, `error`, `jam`,
    /// `offline`, `disconnected`, `door_open` (all but `ok` and `paper_low` are faults).
    #[serde(default)]
    pub peripherals: BTreeMap<String, String>,
    /// The kiosk software's version, up to 60 characters.
    #[serde(default)]
    pub software: Option<String>,
}

/// What the server answers a heartbeat.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HeartbeatAnswer {
    /// Alerts this heartbeat opened (faults newly reported).
    pub raised: Vec<String>,
    /// Alerts this heartbeat cleared (faults no longer reported, a silence ended).
    pub cleared: Vec<String>,
    /// Seconds until the next heartbeat is due.
    pub next_in_secs: u32,
}

/// A device as the monitoring page shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MonitoredDevice {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub kind_zh: String,
    pub hall_id: String,
    pub window_number: Option<u32>,
    /// A heartbeat within the silence threshold.
    pub online: bool,
    pub last_seen: Option<DateTime<Utc>>,
    /// Peripheral → state, as last reported.
    pub peripherals: BTreeMap<String, String>,
    /// The open alerts' reasons (`silent`, `fault:<peripheral>`).
    pub faults: Vec<String>,
    pub last_transaction_at: Option<DateTime<Utc>>,
}

/// A site with devices, as the monitoring page lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MonitoredSite {
    pub id: String,
    pub name_zh: String,
    pub kind: String,
    /// The site's hours (`00:00-23:59` every day for a round-the-clock point).
    pub hours: String,
    pub devices: u32,
    pub online: u32,
    pub open_alerts: u32,
}

/// A device's alert.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeviceAlertView {
    pub id: i64,
    pub device_id: i64,
    pub hall_id: String,
    /// `silent` or `fault:<peripheral>`.
    pub reason: String,
    pub state: String,
    pub raised_at: DateTime<Utc>,
    pub escalated_at: Option<DateTime<Utc>>,
    pub cleared_at: Option<DateTime<Utc>>,
    /// `device:<id>` (its heartbeat) or `staff:<id>`.
    pub cleared_by: Option<String>,
    /// Who cleared it in words: the staff member's name, or that the device recovered.
    pub cleared_by_name: Option<String>,
    pub note: Option<String>,
}

impl From<DeviceAlert> for DeviceAlertView {
    fn from(a: DeviceAlert) -> Self {
        Self {
            id: a.id,
            device_id: a.device_id,
            hall_id: a.hall_id,
            reason: a.reason,
            state: a.state,
            raised_at: a.raised_at,
            escalated_at: a.escalated_at,
            cleared_at: a.cleared_at,
            cleared_by_name: a.cleared_by.as_ref().map(|by| {
                if by.starts_with("device:") {
                    "设备恢复正常 The device recovered".to_string()
                } else {
                    by.clone()
                }
            }),
            cleared_by: a.cleared_by,
            note: a.note,
        }
    }
}

/// The back office's view of its machines.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Monitoring {
    pub sites: Vec<MonitoredSite>,
    pub devices: Vec<MonitoredDevice>,
    /// The pickup lockers' compartments of the sites with a 取证机 (issue 17).
    pub lockers: Vec<crate::locker::MonitoredLocker>,
    /// Open alerts, and those of the last day.
    pub alerts: Vec<DeviceAlertView>,
}

/// What one pass of the device watch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WatchReport {
    pub silent: u32,
    pub escalated: u32,
}

fn pairing_code() -> String {
    let mut rng = rand::thread_rng();
    (0..PAIRING_CODE_LEN)
        .map(|_| PAIRING_ALPHABET[rng.gen_range(0..PAIRING_ALPHABET.len())] as char)
        .collect()
}

fn pairing_throttled(secs: u64) -> AppError {
    let mut e = AppError::from(Code::PairingThrottled);
    e.retry_after = Some(secs);
    e
}

/// Words for an alert's reason in a text message.
fn reason_zh(reason: &str, state: &str) -> String {
    wujing_domain::device::alert_words(reason, state).0
}

impl App {
    /// A kiosk asks for a pairing code (`POST /api/v1/device/pairings`). Anyone may ask — the
    /// code proves nothing until an administrator confirms it for a device — but at most
    /// [`PAIRING_STARTS`] an address per ten minutes, counted in the database.
    pub async fn start_pairing(&self, client_addr: Option<&str>) -> AppResult<PairingStarted> {
        let now = self.clock.now();
        let gate = LoginGate {
            key: format!("pairing:addr:{}", client_addr.unwrap_or("-")),
            free: PAIRING_STARTS,
            step: PAIRING_TTL,
            max_delay: PAIRING_TTL,
            window: PAIRING_TTL,
        };
        if let LoginAttempt::Refused { until, .. } = self.store.login_attempt(&[gate], now).await? {
            return Err(pairing_throttled(
                ((until - now).num_seconds().max(1)) as u64,
            ));
        }
        let (code, secret) = (pairing_code(), random_token());
        let expires_at = now + PAIRING_TTL;
        self.store
            .device_step(
                &DeviceStep::StartPairing {
                    code_hash: token_hash(&code),
                    secret_hash: token_hash(&secret),
                    expires_at,
                },
                now,
                &[],
            )
            .await?;
        Ok(PairingStarted {
            code,
            secret,
            expires_at,
        })
    }

    /// The kiosk polls with its secret (`POST /api/v1/device/pairings/poll`): once an
    /// administrator confirmed its code, it receives the device's fresh token, once (the
    /// pairing is deleted as the token is set, in one transaction); the device's earlier token
    /// stops working.
    pub async fn poll_pairing(&self, secret: &str) -> AppResult<PairingPoll> {
        let token = random_token();
        let out = self
            .store
            .device_step(
                &DeviceStep::ClaimPairing {
                    secret_hash: token_hash(secret.trim()),
                    token_hash: token_hash(&token),
                },
                self.clock.now(),
                &[],
            )
            .await?;
        match out {
            AdminOutcome::Created(_) => match self.authenticate(None, Some(&token)).await? {
                Principal::Device(device) => Ok(PairingPoll::Paired { token, device }),
                _ => Err(Code::DeviceRevoked.into()),
            },
            _ => Ok(PairingPoll::Waiting),
        }
    }

    /// An administrator confirms the code a kiosk shows for device `id` (audited,
    /// `device.pair`). Each administrator has [`PAIRING_CONFIRMS`] tries, then waits: the code is
    /// the proof that whoever confirms stands at the kiosk, and must not be guessed.
    pub async fn confirm_pairing(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        id: i64,
        code: &str,
    ) -> AppResult<()> {
        self.require(p, Action::ManageDevices, None)?;
        let Principal::Staff(s) = p else {
            return Err(crate::authz::denied(p));
        };
        let now = self.clock.now();
        let key = format!("pairing:staff:{}", s.id);
        let gate = LoginGate {
            key: key.clone(),
            free: PAIRING_CONFIRMS,
            step: TimeDelta::minutes(1),
            max_delay: TimeDelta::minutes(15),
            window: TimeDelta::minutes(15),
        };
        if let LoginAttempt::Refused { until, .. } = self.store.login_attempt(&[gate], now).await? {
            return Err(pairing_throttled(
                ((until - now).num_seconds().max(1)) as u64,
            ));
        }
        let code = wujing_domain::device::normalise_pairing_code(code)
            .ok_or_else(|| AppError::from(Code::PairingUnknown))?;
        let device = self
            .store
            .devices()
            .await?
            .into_iter()
            .find(|d| d.id == id)
            .ok_or_else(|| AppError::new(Code::NotFound, "找不到该设备", "no such device"))?;
        if device.revoked_at.is_some() {
            return Err(Code::DeviceRevoked.into());
        }
        self.audit(
            &Actor::new(p, client_addr).in_hall(&device.hall_id),
            AdminChange::Device(DeviceStep::ConfirmPairing {
                code_hash: token_hash(&code),
                device_id: id,
            }),
            "device.pair",
            format!("device:{id}"),
            None,
            json!({ "kind": device.kind, "hall": device.hall_id }),
        )
        .await?;
        self.store.login_succeeded(&key, &[]).await?;
        Ok(())
    }

    /// A heartbeat from the calling device: the status is recorded; a fault newly reported
    /// opens an alert (paging the site's leaders and supervisors once), and an open alert whose
    /// fault is no longer reported — or the silence this heartbeat ends — is cleared by the
    /// device. Raising or clearing is audited (`device.status`) in the same transaction; a
    /// heartbeat that changes nothing is not.
    pub async fn heartbeat(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        input: &HeartbeatInput,
    ) -> AppResult<HeartbeatAnswer> {
        self.require(p, Action::Kiosk, None)?;
        let Principal::Device(d) = p else {
            return Err(crate::authz::denied(p));
        };
        let software = input.software.as_deref().map(str::trim);
        if input.peripherals.iter().any(|(k, v)| {
            !PERIPHERALS.contains(&k.as_str()) || !PERIPHERAL_STATES.contains(&v.as_str())
        }) || software.is_some_and(|s| {
            s.chars().count() > 60 || wujing_domain::text::forbidden_in_line(s).is_some()
        }) {
            return Err(Code::HeartbeatInvalid.into());
        }
        let now = self.clock.now();
        let open: Vec<DeviceAlert> = self
            .store
            .device_alerts(true, now)
            .await?
            .into_iter()
            .filter(|a| a.device_id == d.id)
            .collect();
        let faults: Vec<(String, String)> = input
            .peripherals
            .iter()
            .filter(|(_, state)| is_fault(state))
            .map(|(k, state)| (format!("fault:{k}"), state.clone()))
            .collect();
        let raise: Vec<(String, String)> = faults
            .iter()
            .filter(|(r, _)| !open.iter().any(|a| &a.reason == r))
            .cloned()
            .collect();
        // Only what a heartbeat can tell: a peripheral's fault or the silence. A compartment's
        // jam (`jam:<label>`) is cleared by staff with the jam (issue 17), whatever the locker
        // reports as a whole.
        let clear: Vec<String> = open
            .iter()
            .filter(|a| a.reason == "silent" || a.reason.starts_with("fault:"))
            .filter(|a| !faults.iter().any(|(r, _)| *r == a.reason))
            .map(|a| a.reason.clone())
            .collect();
        let step = DeviceStep::Heartbeat {
            device_id: d.id,
            hall_id: d.hall_id.clone(),
            peripherals: serde_json::to_string(&input.peripherals).expect("a map serialises"),
            software: software.map(str::to_string),
            raise: raise.clone(),
            clear: clear.clone(),
        };
        if raise.is_empty() && clear.is_empty() {
            self.store.device_step(&step, now, &[]).await?;
        } else {
            let actor = Actor::new(p, client_addr);
            let audit = NewAudit {
                at: now,
                actor: actor.id.clone(),
                actor_name: actor.name.clone(),
                action: "device.status".into(),
                subject: format!("device:{}", d.id),
                citizen: None,
                detail: json!({ "raised": raise, "cleared": clear }),
                client_addr: actor.client_addr.clone(),
                station: actor.station.clone(),
                hall_id: actor.hall.clone(),
            };
            let pages = self.device_pages(d, &raise, now, false).await?;
            self.store
                .apply_admin_notifying(&AdminChange::Device(step), &audit, &pages)
                .await?;
        }
        Ok(HeartbeatAnswer {
            raised: raise.into_iter().map(|(r, _)| r).collect(),
            cleared: clear,
            next_in_secs: HEARTBEAT_EVERY_SECS,
        })
    }

    /// The texts an alert of `device` sends: to the site's leaders and supervisors (and the
    /// organisation-wide ones), or, escalated, to every organisation-wide leader, supervisor and
    /// administrator — the same people as a rating alert's.
    pub(crate) async fn device_pages(
        &self,
        device: &DevicePrincipal,
        raised: &[(String, String)],
        now: DateTime<Utc>,
        escalation: bool,
    ) -> AppResult<Vec<NewMessage>> {
        if raised.is_empty() {
            return Ok(Vec::new());
        }
        let site = self
            .hall(&device.hall_id)
            .await
            .map(|h| h.name_zh)
            .unwrap_or_else(|_| device.hall_id.clone());
        let what: Vec<String> = raised.iter().map(|(r, s)| reason_zh(r, s)).collect();
        let body = format!(
            "【无境】{}设备提醒：{} 的{}“{}”{}。请安排处理，并在监控页确认。",
            if escalation { "升级" } else { "" },
            site,
            device.kind.name_zh(),
            device.name,
            what.join("、")
        );
        let staff = self.store.staff_list().await?;
        let tag = if escalation { "escalate" } else { "raise" };
        let reasons: Vec<&str> = raised.iter().map(|(r, _)| r.as_str()).collect();
        Ok(
            crate::ratings::pages_to(&staff, &device.hall_id, escalation)
                .into_iter()
                .map(|(id, phone)| {
                    message(
                        format!(
                            "device-alert:{tag}:{}:{}:{}:{id}",
                            device.id,
                            reasons.join(","),
                            now.timestamp_millis()
                        ),
                        &phone,
                        "alert",
                        body.clone(),
                        now,
                    )
                })
                .collect(),
        )
    }

    /// The sweeper's watch over devices: a device whose last heartbeat is older than
    /// `Config::device_silent_after` gets its `silent` alert (once), and an alert nobody cleared
    /// within the rating alerts' escalation delay is escalated (once). A device that never sent
    /// a heartbeat is silent from when it was paired, or registered if it never was.
    pub async fn watch_devices(&self) -> AppResult<WatchReport> {
        let now = self.clock.now();
        let mut r = WatchReport::default();
        let devices: BTreeMap<i64, wujing_store::Device> = self
            .store
            .devices()
            .await?
            .into_iter()
            .filter(|d| d.revoked_at.is_none())
            .map(|d| (d.id, d))
            .collect();
        let principal = |d: &wujing_store::Device| {
            DeviceKind::parse(&d.kind).map(|kind| DevicePrincipal {
                id: d.id,
                name: d.name.clone(),
                hall_id: d.hall_id.clone(),
                kind,
                window_number: d.window_number,
            })
        };
        let heard: BTreeMap<i64, DateTime<Utc>> = self
            .store
            .device_statuses()
            .await?
            .into_iter()
            .filter_map(|s| Some((s.device_id, s.last_seen?)))
            .collect();
        for d in devices.values() {
            // Its last sign of life: the last heartbeat; for a device that never sent one, when
            // it was paired (the kiosk took its token) or, never paired, registered — a machine
            // registered and never installed, or installed and never heard, is silent too.
            let seen = heard
                .get(&d.id)
                .copied()
                .unwrap_or_else(|| d.paired_at.unwrap_or(d.created_at));
            if seen > now - self.config.device_silent_after {
                continue;
            }
            let Some(dp) = principal(d) else { continue };
            let raised = [("silent".to_string(), "silent".to_string())];
            let pages = self.device_pages(&dp, &raised, now, false).await?;
            let out = self
                .store
                .device_step(
                    &DeviceStep::RaiseSilent {
                        device_id: d.id,
                        hall_id: d.hall_id.clone(),
                    },
                    now,
                    &pages,
                )
                .await?;
            if out == AdminOutcome::SlotsChanged(1) {
                r.silent += 1;
            }
        }
        for a in self.store.device_alerts(true, now).await? {
            if a.escalated_at.is_some() || a.raised_at > now - self.config.hall.escalate_after {
                continue;
            }
            let Some(dp) = devices.get(&a.device_id).and_then(principal) else {
                continue;
            };
            let raised = [(a.reason.clone(), a.state.clone())];
            let pages = self.device_pages(&dp, &raised, now, true).await?;
            let out = self
                .store
                .device_step(&DeviceStep::Escalate { alert_id: a.id }, now, &pages)
                .await?;
            if out == AdminOutcome::SlotsChanged(1) {
                r.escalated += 1;
            }
        }
        Ok(r)
    }

    /// Staff clear a device's alert with a note (audited, `device_alert.clear`): the machine
    /// was seen to, or the alert is known (a point closed for works).
    pub async fn clear_device_alert(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        id: i64,
        note: &str,
    ) -> AppResult<()> {
        let a = self
            .store
            .device_alert(id)
            .await?
            .ok_or_else(|| AppError::from(Code::DeviceAlertNotFound))?;
        self.require(p, Action::Monitor, Some(&a.hall_id))?;
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
        self.audit(
            &Actor::new(p, client_addr).in_hall(&a.hall_id),
            AdminChange::Device(DeviceStep::Clear {
                alert_id: id,
                by: format!("staff:{}", s.id),
                note: note.into(),
            }),
            "device_alert.clear",
            format!("device:{}", a.device_id),
            None,
            json!({ "alert": id, "reason": a.reason, "note": note }),
        )
        .await?;
        Ok(())
    }

    /// The back office's monitoring (`/staff/monitoring`): the sites with devices (round-the-
    /// clock points first), every device the caller watches with its last heartbeat, open
    /// faults and last transaction, and the alerts.
    pub async fn monitoring(&self, p: &Principal) -> AppResult<Monitoring> {
        self.require(p, Action::Monitor, None)?;
        let now = self.clock.now();
        let watched = |hall: &str| crate::authz::permits(p, Action::Monitor, Some(hall));
        let statuses: BTreeMap<i64, wujing_store::DeviceStatus> = self
            .store
            .device_statuses()
            .await?
            .into_iter()
            .map(|s| (s.device_id, s))
            .collect();
        let alerts: Vec<DeviceAlert> = self
            .store
            .device_alerts(false, now - TimeDelta::days(1))
            .await?
            .into_iter()
            .filter(|a| watched(&a.hall_id))
            .collect();
        let mut devices = Vec::new();
        for d in self.store.devices().await? {
            if d.revoked_at.is_some() || !watched(&d.hall_id) {
                continue;
            }
            let s = statuses.get(&d.id);
            let last_seen = s.and_then(|s| s.last_seen);
            devices.push(MonitoredDevice {
                id: d.id,
                kind_zh: DeviceKind::parse(&d.kind)
                    .map_or_else(|| d.kind.clone(), |k| k.name_zh().to_string()),
                kind: d.kind,
                name: d.name,
                hall_id: d.hall_id,
                window_number: d.window_number,
                online: last_seen.is_some_and(|t| t > now - self.config.device_silent_after),
                last_seen,
                peripherals: s
                    .and_then(|s| serde_json::from_str(&s.peripherals).ok())
                    .unwrap_or_default(),
                faults: alerts
                    .iter()
                    .filter(|a| a.device_id == d.id && a.cleared_at.is_none())
                    .map(|a| a.reason.clone())
                    .collect(),
                last_transaction_at: s.and_then(|s| s.last_transaction_at),
            });
        }
        let mut sites: Vec<MonitoredSite> = Vec::new();
        for h in self.halls().await? {
            let mine: Vec<&MonitoredDevice> =
                devices.iter().filter(|d| d.hall_id == h.id).collect();
            if mine.is_empty() {
                continue;
            }
            sites.push(MonitoredSite {
                id: h.id.clone(),
                name_zh: h.name_zh.clone(),
                kind: h.kind.as_str().into(),
                hours: h.sessions.join(","),
                devices: mine.len() as u32,
                online: mine.iter().filter(|d| d.online).count() as u32,
                open_alerts: mine.iter().map(|d| d.faults.len() as u32).sum(),
            });
        }
        sites.sort_by_key(|s| (s.kind != "self_service", s.id.clone()));
        let mut lockers = Vec::new();
        for s in &sites {
            if devices
                .iter()
                .any(|d| d.hall_id == s.id && d.kind == DeviceKind::Quzhengji.as_str())
            {
                lockers.push(self.monitored_locker(&s.id, &s.name_zh).await?);
            }
        }
        let mut alerts: Vec<DeviceAlertView> = alerts.into_iter().map(Into::into).collect();
        for a in &mut alerts {
            let staff = a
                .cleared_by
                .as_deref()
                .and_then(|b| b.strip_prefix("staff:"));
            if let Some(id) = staff.and_then(|id| id.parse::<i64>().ok()) {
                if let Some(s) = self.store.staff_by_id(id).await? {
                    a.cleared_by_name = Some(s.display_name);
                }
            }
        }
        Ok(Monitoring {
            sites,
            devices,
            lockers,
            alerts,
        })
    }

    /// Counts a use of the calling device in `mode` (check_in, rate, locker…) for the
    /// statistics, and records the time of its last transaction. Called after the citizen's
    /// action succeeded; a failure here is logged and does not undo that action.
    pub(crate) async fn count_use(&self, p: &Principal, mode: &str) {
        let Principal::Device(d) = p else { return };
        let step = DeviceStep::Usage {
            device_id: d.id,
            day: self.clock.today(),
            mode: mode.into(),
        };
        if let Err(e) = self.store.device_step(&step, self.clock.now(), &[]).await {
            tracing::warn!(error = %e, device = d.id, mode, "device use not counted");
        }
    }

    /// The usage counters of the days `from..=to` (for the statistics issue).
    pub async fn device_usage(
        &self,
        p: &Principal,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> AppResult<Vec<wujing_store::DeviceUsage>> {
        self.require(p, Action::Monitor, None)?;
        Ok(self.store.device_usage(from, to).await?)
    }
}

/// Pairing codes an address may ask for per ten minutes (a kiosk asks again when its code
/// lapses, every ten minutes at most).
pub const PAIRING_STARTS: u32 = 20;
/// Wrong codes an administrator may enter before waiting.
pub const PAIRING_CONFIRMS: u32 = 5;

#[cfg(test)]
mod tests {
    use super::*;
    use wujing_store::StoreError;

    #[test]
    fn pairing_codes_are_of_the_alphabet_and_read_back() {
        for _ in 0..50 {
            let c = pairing_code();
            assert_eq!(
                wujing_domain::device::normalise_pairing_code(&c).as_deref(),
                Some(c.as_str())
            );
        }
    }

    #[test]
    fn a_store_refusal_of_a_pairing_is_its_code() {
        let e: AppError = StoreError::Refused("pairing_unknown").into();
        assert_eq!(e.code, Code::PairingUnknown);
        let e: AppError = StoreError::Refused("device_alert_cleared").into();
        assert_eq!(e.code, Code::DeviceAlertCleared);
    }
}
