//! Staff administration, hall administration, identity reveal and the audit trail (M14).
//!
//! Every change here is one store call that applies the change and appends its audit entry in
//! the same transaction, so there is never a change without its record or a record without its
//! change.

use crate::auth::{check_password_policy, random_token, token_hash, StaffView};
use crate::authz::{Action, Principal};
use crate::{App, AppError, AppResult, Code};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;
pub use wujing_domain::audit::Checkpoint;
use wujing_domain::audit::{verify_chain, verify_checkpoints, AuditEntry, ChainBreak};
use wujing_domain::idnum::{mask_id_number, mask_phone};
use wujing_domain::staff::{Role, RoleGrant};
use wujing_domain::Pool;
use wujing_store::{AdminChange, AdminOutcome, AuditQuery, NewAudit, StoreError};

/// Who acts, from where: what every audit entry records.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: String,
    pub name: String,
    pub client_addr: Option<String>,
    pub station: Option<String>,
    /// The hall the action concerns, recorded with the entry so that a leader or supervisor
    /// scoped to halls reads it ([`Actor::in_hall`]); `None` for organisation-wide actions,
    /// which only organisation-wide readers see. A device acts in its own hall.
    pub hall: Option<String>,
}

impl Actor {
    pub fn new(p: &Principal, client_addr: Option<&str>) -> Self {
        let (id, name, station, hall) = match p {
            Principal::Staff(s) => (format!("staff:{}", s.id), s.username.clone(), None, None),
            Principal::Device(d) => (
                format!("device:{}", d.id),
                d.name.clone(),
                Some(format!("device:{}", d.id)),
                Some(d.hall_id.clone()),
            ),
            // A system client acts for the whole organisation; its station is itself.
            Principal::System(c) => (
                format!("system:{}", c.id),
                c.name.clone(),
                Some(format!("system:{}", c.id)),
                None,
            ),
            Principal::Anonymous => ("anonymous".into(), "anonymous".into(), None, None),
        };
        Self {
            id,
            name,
            client_addr: client_addr.map(str::to_string),
            station,
            hall,
        }
    }

    /// The entry concerns `hall` (a counter action, a check-in, a hall's settings, a refund,
    /// a booking at the hall…): its readers include the hall's leaders and supervisors.
    pub fn in_hall(mut self, hall: impl Into<String>) -> Self {
        self.hall = Some(hall.into());
        self
    }

    pub(crate) fn staff_account(a: &wujing_store::StaffAccount, client_addr: Option<&str>) -> Self {
        Self {
            id: format!("staff:{}", a.id),
            name: a.username.clone(),
            client_addr: client_addr.map(str::to_string),
            station: None,
            hall: None,
        }
    }

    /// An officer acting at a counter window.
    pub fn at_window(p: &Principal, client_addr: Option<&str>, window: u32) -> Self {
        Self {
            station: Some(format!("window:{window}")),
            ..Self::new(p, client_addr)
        }
    }

    /// The command line (`wujing create-admin`), run by whoever has the server's shell.
    pub fn cli() -> Self {
        let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
        Self {
            id: "cli".into(),
            name: format!("cli:{user}"),
            client_addr: None,
            station: None,
            hall: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewStaffInput {
    pub username: String,
    pub display_name: String,
    pub password: String,
    #[schema(value_type = Vec<Object>)]
    pub roles: Vec<RoleGrant>,
    /// Leaders' and supervisors' mobile, for alerts.
    #[serde(default)]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct StaffChangeInput {
    pub display_name: Option<String>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub roles: Option<Vec<RoleGrant>>,
    pub disabled: Option<bool>,
    /// A new password set by an administrator (the account's sessions end).
    pub password: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeviceView {
    pub id: i64,
    pub name: String,
    /// The site it stands in.
    pub hall_id: String,
    /// `bzy`, `qtt`, `wej`, `zjt`, `tbj`, `qzj`, `sqy`, `yyj`, `check_in`, `rating_terminal`
    /// or `display_board`.
    pub kind: String,
    /// The window of a 前台通 or a rating terminal.
    pub window_number: Option<u32>,
    pub created_at: DateTime<Utc>,
    /// When an administrator last confirmed its pairing code (absent: never paired, or bound
    /// with its token).
    pub paired_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Shown once, when the device is created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// A device to register.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceInput {
    pub name: String,
    /// The site (a hall or a self-service point).
    pub hall_id: String,
    /// `bzy`, `qtt`, `wej`, `zjt`, `tbj`, `qzj`, `sqy`, `yyj`, `check_in`, `rating_terminal`
    /// or `display_board`.
    pub kind: String,
    /// Required for `qtt` and `rating_terminal`, absent for every other kind.
    #[serde(default)]
    pub window_number: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct HallInfoInput {
    pub name_zh: String,
    pub name_en: String,
    pub address_zh: String,
    pub address_en: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CapacityInput {
    /// `online`, `on_site` or `expedite`.
    pub pool: String,
    pub seats_per_slot: u32,
    /// First day the new capacity applies to (default: today).
    pub from: Option<NaiveDate>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct HallDayInput {
    pub day: NaiveDate,
    pub closed: bool,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangeResult {
    pub slots_changed: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RevealView {
    pub code: String,
    pub id_number: String,
    pub phone: String,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditSearch {
    /// A citizen's resident identity number, or a foreigner's passport as `P:NAT:NUMBER`.
    pub citizen: Option<String>,
    /// A staff user name.
    pub staff: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub limit: Option<u32>,
    /// Paging: only entries older than this sequence number (the last one of the page read).
    pub before: Option<i64>,
    /// Paging back: only the entries just newer than this sequence number (still newest first).
    pub after: Option<i64>,
}

/// An audit entry as auditors see it: the citizen's number masked.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditView {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub actor_name: String,
    pub action: String,
    pub subject: String,
    pub citizen: Option<String>,
    #[schema(value_type = Object)]
    pub detail: Value,
    pub client_addr: Option<String>,
    pub station: Option<String>,
    pub hash: String,
}

fn mask_identity_key(k: &str) -> String {
    // Stored identity keys are `R:<blind index>` or `P:<blind index>`: nothing personal is
    // left to mask, and the first characters are enough to tell entries of one citizen
    // apart on a page; searching by the full number finds them all.
    match k.split_once(':') {
        Some((kind, idx)) if idx.len() > 8 => format!("{kind}:{}…", &idx[..8]),
        _ => mask_id_number(k),
    }
}

impl From<&AuditEntry> for AuditView {
    fn from(e: &AuditEntry) -> Self {
        Self {
            seq: e.seq,
            at: DateTime::from_timestamp_millis(e.at_ms).unwrap_or_default(),
            actor: e.actor.clone(),
            actor_name: e.actor_name.clone(),
            action: e.action.clone(),
            subject: e.subject.clone(),
            citizen: e.citizen.as_deref().map(mask_identity_key),
            detail: serde_json::from_str(&e.detail).unwrap_or(Value::Null),
            client_addr: e.client_addr.clone(),
            station: e.station.clone(),
            hash: e.hash.clone(),
        }
    }
}

fn valid_username(u: &str) -> bool {
    (3..=32).contains(&u.len())
        && u.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

impl App {
    /// Applies a change with its audit entry (one transaction).
    pub(crate) async fn audit(
        &self,
        actor: &Actor,
        change: AdminChange,
        action: &str,
        subject: String,
        citizen: Option<String>,
        detail: Value,
    ) -> AppResult<AdminOutcome> {
        let entry = NewAudit {
            at: self.clock.now(),
            actor: actor.id.clone(),
            actor_name: actor.name.clone(),
            action: action.to_string(),
            subject,
            citizen,
            detail,
            client_addr: actor.client_addr.clone(),
            station: actor.station.clone(),
            hall_id: actor.hall.clone(),
        };
        self.store
            .apply_admin(&change, &entry)
            .await
            .map_err(AppError::from)
    }

    async fn check_roles(&self, roles: &[RoleGrant]) -> AppResult<()> {
        for g in roles {
            let bad = |zh: String, en: String| AppError::new(Code::RoleInvalid, zh, en);
            match (&g.hall, g.role) {
                (Some(_), Role::Admin) => {
                    return Err(bad(
                        "系统管理员不能限定大厅".into(),
                        "an administrator cannot be limited to a hall".into(),
                    ))
                }
                (None, r) if r.hall_scoped() => {
                    return Err(bad(
                        format!("“{}”须指定大厅", r.name_zh()),
                        format!("the role {} needs a hall", r.as_str()),
                    ))
                }
                (Some(h), _) if self.store.hall(h).await?.is_none() => {
                    return Err(crate::views::unknown_hall(h))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Creates a staff account. The command line's first administrator comes through here
    /// too, with the `cli` actor.
    pub async fn create_staff(&self, actor: &Actor, input: &NewStaffInput) -> AppResult<StaffView> {
        let username = input.username.trim().to_ascii_lowercase();
        if !valid_username(&username) {
            return Err(AppError::new(
                Code::UsernameInvalid,
                "用户名须为3到32位小写字母、数字或 . _ -",
                "the user name must be 3 to 32 lower-case letters, digits or . _ -",
            ));
        }
        let display_name = input.display_name.trim().to_string();
        if display_name.is_empty() || display_name.chars().count() > 40 {
            return Err(AppError::new(
                Code::DisplayNameInvalid,
                "姓名须为1到40个字符",
                "the name must be 1 to 40 characters",
            ));
        }
        check_password_policy(&username, &input.password)?;
        self.check_roles(&input.roles).await?;
        let phone = match input
            .phone
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            Some(p) => Some(crate::booking::parse_phone(p)?),
            None => None,
        };
        let hash = self.hash_password_blocking(&input.password).await?;
        let out = self
            .audit(
                actor,
                AdminChange::CreateStaff {
                    username: username.clone(),
                    display_name: display_name.clone(),
                    password_hash: hash,
                    roles: input.roles.clone(),
                    phone,
                },
                "staff.create",
                format!("staff:{username}"),
                None,
                json!({ "username": username, "display_name": display_name, "roles": input.roles }),
            )
            .await?;
        let AdminOutcome::Created(id) = out else {
            unreachable!("create returns an id")
        };
        let a = self
            .store
            .staff_by_id(id)
            .await?
            .ok_or(StoreError::NotFound("staff account"))?;
        Ok(StaffView::from(&a))
    }

    pub async fn staff_list(&self, p: &Principal) -> AppResult<Vec<StaffView>> {
        self.require(p, Action::ManageStaff, None)?;
        Ok(self
            .store
            .staff_list()
            .await?
            .iter()
            .map(StaffView::from)
            .collect())
    }

    pub async fn staff_account(&self, p: &Principal, id: i64) -> AppResult<StaffView> {
        self.require(p, Action::ManageStaff, None)?;
        let a = self.store.staff_by_id(id).await?.ok_or_else(|| {
            AppError::new(
                Code::StaffNotFound,
                "没有这个工作人员账号",
                "no such staff account",
            )
        })?;
        Ok(StaffView::from(&a))
    }

    /// Lifts the sign-in delay that failed attempts put on an account's user name (audited).
    /// Addresses stay throttled: the guesser's address does not get its attempts back.
    pub async fn unlock_sign_in(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        id: i64,
    ) -> AppResult<()> {
        self.require(p, Action::ManageStaff, None)?;
        let a = self.store.staff_by_id(id).await?.ok_or_else(|| {
            AppError::new(
                Code::StaffNotFound,
                "没有这个工作人员账号",
                "no such staff account",
            )
        })?;
        self.audit(
            &Actor::new(p, client_addr),
            AdminChange::UnlockSignIn {
                key: crate::auth::user_throttle_key(&a.username),
            },
            "staff.unlock_sign_in",
            format!("staff:{id}"),
            None,
            json!({}),
        )
        .await?;
        Ok(())
    }

    pub async fn change_staff(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        id: i64,
        input: &StaffChangeInput,
    ) -> AppResult<StaffView> {
        self.require(p, Action::ManageStaff, None)?;
        let before = self.staff_account(p, id).await?;
        if let Principal::Staff(me) = p {
            if me.id == id
                && (input.disabled == Some(true)
                    || input
                        .roles
                        .as_ref()
                        .is_some_and(|r| !r.iter().any(|g| g.role == Role::Admin)))
            {
                return Err(AppError::new(
                    Code::CannotLockSelfOut,
                    "不能停用自己或撤销自己的管理员角色",
                    "you cannot disable yourself or remove your own administrator role",
                ));
            }
        }
        if let Some(r) = &input.roles {
            self.check_roles(r).await?;
        }
        let display_name = input.display_name.as_ref().map(|d| d.trim().to_string());
        let hash = match &input.password {
            Some(pw) => {
                check_password_policy(&before.username, pw)?;
                Some(self.hash_password_blocking(pw).await?)
            }
            None => None,
        };
        let phone = match input
            .phone
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            Some(p) => Some(crate::booking::parse_phone(p)?),
            None => None,
        };
        let actor = Actor::new(p, client_addr);
        self.audit(
            &actor,
            AdminChange::UpdateStaff {
                id,
                display_name: display_name.clone(),
                roles: input.roles.clone(),
                disabled: input.disabled,
                password_hash: hash,
                phone,
            },
            "staff.change",
            format!("staff:{id}"),
            None,
            json!({
                "before": { "display_name": before.display_name, "roles": before.roles, "disabled": before.disabled },
                "after": { "display_name": display_name, "roles": input.roles, "disabled": input.disabled },
                "password_reset": input.password.is_some(),
            }),
        )
        .await?;
        self.staff_account(p, id).await
    }

    pub async fn devices(&self, p: &Principal) -> AppResult<Vec<DeviceView>> {
        self.require(p, Action::ManageDevices, None)?;
        Ok(self
            .store
            .devices()
            .await?
            .into_iter()
            .map(|d| DeviceView {
                id: d.id,
                name: d.name,
                hall_id: d.hall_id,
                kind: d.kind,
                window_number: d.window_number,
                created_at: d.created_at,
                paired_at: d.paired_at,
                revoked_at: d.revoked_at,
                token: None,
            })
            .collect())
    }

    /// Registers a device of a kind in a site (and at a window for 前台通 and rating
    /// terminals). Its token is in this answer only and only its hash is stored; a kiosk usually
    /// gets a fresh one by pairing instead ([`App::confirm_pairing`]), so the token need never
    /// be typed or copied.
    pub async fn create_device(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        input: &DeviceInput,
    ) -> AppResult<DeviceView> {
        self.require(p, Action::ManageDevices, None)?;
        let (hall_id, window) = (input.hall_id.trim(), input.window_number);
        let kind = wujing_domain::DeviceKind::parse(input.kind.trim())
            .ok_or_else(|| AppError::from(Code::DeviceKindInvalid))?;
        if kind.needs_window() != window.is_some() {
            return Err(Code::DeviceWindowInvalid.into());
        }
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 60 {
            return Err(AppError::new(
                Code::DeviceNameInvalid,
                "设备名称须为1到60个字符",
                "the device name must be 1 to 60 characters",
            ));
        }
        let token = random_token();
        let out = self
            .audit(
                &Actor::new(p, client_addr).in_hall(hall_id),
                AdminChange::CreateDevice {
                    name: name.into(),
                    hall_id: hall_id.into(),
                    token_hash: token_hash(&token),
                    kind: kind.as_str().into(),
                    window_number: window,
                },
                "device.create",
                format!("hall:{hall_id}"),
                None,
                json!({ "name": name, "hall": hall_id, "kind": kind.as_str(), "window": window }),
            )
            .await
            .map_err(|e| match e.code {
                Code::NotFound if e.en.starts_with("window") => Code::DeviceWindowInvalid.into(),
                _ => e,
            })?;
        let AdminOutcome::Created(id) = out else {
            unreachable!("create returns an id")
        };
        Ok(DeviceView {
            id,
            name: name.into(),
            hall_id: hall_id.into(),
            kind: kind.as_str().into(),
            window_number: window,
            created_at: self.clock.now(),
            paired_at: None,
            revoked_at: None,
            token: Some(token),
        })
    }

    pub async fn revoke_device(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        id: i64,
    ) -> AppResult<()> {
        self.require(p, Action::ManageDevices, None)?;
        // The device's hall, so that the hall's readers see its revocation.
        let hall = self
            .store
            .devices()
            .await?
            .into_iter()
            .find(|d| d.id == id)
            .map(|d| d.hall_id);
        let mut actor = Actor::new(p, client_addr);
        actor.hall = hall;
        self.audit(
            &actor,
            AdminChange::RevokeDevice { id },
            "device.revoke",
            format!("device:{id}"),
            None,
            json!({}),
        )
        .await?;
        Ok(())
    }

    pub async fn update_hall_info(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        hall: &str,
        i: &HallInfoInput,
    ) -> AppResult<()> {
        self.require(p, Action::ManageHalls, Some(hall))?;
        let before = self
            .store
            .hall(hall)
            .await?
            .ok_or_else(|| crate::views::unknown_hall(hall))?;
        for (v, field) in [
            (&i.name_zh, "name_zh"),
            (&i.name_en, "name_en"),
            (&i.address_zh, "address_zh"),
            (&i.address_en, "address_en"),
        ] {
            // A hall's name and address go on one line of slips, calendar files and boards.
            if let Some(c) = wujing_domain::text::forbidden_in_line(v) {
                return Err(AppError::text_invalid(c));
            }
            if v.trim().is_empty() || v.chars().count() > 200 {
                return Err(AppError::new(
                    Code::HallFieldInvalid,
                    format!("{field} 须为1到200个字符"),
                    format!("{field} must be 1 to 200 characters"),
                )
                .with_details(json!({ "field": field })));
            }
        }
        self.audit(
            &Actor::new(p, client_addr).in_hall(hall),
            AdminChange::UpdateHall {
                id: hall.into(),
                name_zh: i.name_zh.trim().into(),
                name_en: i.name_en.trim().into(),
                address_zh: i.address_zh.trim().into(),
                address_en: i.address_en.trim().into(),
            },
            "hall.change",
            format!("hall:{hall}"),
            None,
            json!({ "before": { "name_zh": before.name_zh, "name_en": before.name_en, "address_zh": before.address_zh, "address_en": before.address_en },
                    "after": { "name_zh": i.name_zh, "name_en": i.name_en, "address_zh": i.address_zh, "address_en": i.address_en } }),
        )
        .await?;
        self.invalidate_halls();
        Ok(())
    }

    pub async fn hall_windows(&self, p: &Principal, hall: &str) -> AppResult<Vec<crate::Window>> {
        self.require(p, Action::ManageHalls, Some(hall))?;
        self.windows_of(hall).await
    }

    /// The windows of a hall, for its officers' links to their consoles.
    pub async fn counter_windows(
        &self,
        p: &Principal,
        hall: &str,
    ) -> AppResult<Vec<crate::Window>> {
        self.require(p, Action::Counter, Some(hall))?;
        self.windows_of(hall).await
    }

    async fn windows_of(&self, hall: &str) -> AppResult<Vec<crate::Window>> {
        Ok(self
            .store
            .windows(hall)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// The halls whose settings the caller may change.
    pub async fn manageable_halls(&self, p: &Principal) -> AppResult<Vec<crate::HallSettings>> {
        let mut halls: Vec<crate::HallSettings> = self
            .hall_index()
            .await?
            .values()
            .filter(|h| crate::authz::permits(p, Action::ManageHalls, Some(&h.id)))
            .map(|h| crate::HallSettings::from(h.as_ref()))
            .collect();
        halls.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(halls)
    }

    /// One hall's settings, for its manager.
    pub async fn hall_settings(&self, p: &Principal, hall: &str) -> AppResult<crate::HallSettings> {
        self.require(p, Action::ManageHalls, Some(hall))?;
        Ok(crate::HallSettings::from(
            self.hall_by_id(hall).await?.as_ref(),
        ))
    }

    /// Every hall's id, for choosing where a device stands.
    pub async fn hall_ids(&self) -> AppResult<Vec<String>> {
        let mut ids: Vec<String> = self.hall_index().await?.keys().cloned().collect();
        ids.sort();
        Ok(ids)
    }

    pub async fn add_window(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        hall: &str,
        number: u32,
        kind: &str,
    ) -> AppResult<()> {
        self.require(p, Action::ManageHalls, Some(hall))?;
        if !(1..=999).contains(&number)
            || !["general", "foreigners", "expedite", "collection"].contains(&kind)
        {
            return Err(AppError::new(Code::WindowInvalid,
                "窗口号须为1到999，类型须为 general、foreigners、expedite 或 collection",
                "the window number must be 1 to 999 and the kind general, foreigners, expedite or collection",
            ));
        }
        self.audit(
            &Actor::new(p, client_addr).in_hall(hall),
            AdminChange::AddWindow {
                hall_id: hall.into(),
                number,
                kind: kind.into(),
            },
            "window.add",
            format!("hall:{hall}"),
            None,
            json!({ "number": number, "kind": kind }),
        )
        .await?;
        self.invalidate_halls();
        Ok(())
    }

    pub async fn remove_window(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        hall: &str,
        number: u32,
    ) -> AppResult<()> {
        self.require(p, Action::ManageHalls, Some(hall))?;
        self.audit(
            &Actor::new(p, client_addr).in_hall(hall),
            AdminChange::RemoveWindow {
                hall_id: hall.into(),
                number,
            },
            "window.remove",
            format!("hall:{hall}"),
            None,
            json!({ "number": number }),
        )
        .await?;
        self.invalidate_halls();
        Ok(())
    }

    /// Changes a pool's seats per slot from a day on, in place: existing bookings keep their
    /// seats, and a change that would leave a slot overbooked is refused.
    pub async fn set_capacity(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        hall: &str,
        i: &CapacityInput,
    ) -> AppResult<ChangeResult> {
        self.require(p, Action::ManageHalls, Some(hall))?;
        let pool = Pool::parse(&i.pool).ok_or_else(|| {
            AppError::new(
                Code::PoolInvalid,
                "号源池须为 online、on_site 或 expedite",
                "the pool must be online, on_site or expedite",
            )
        })?;
        if i.seats_per_slot > 500 {
            return Err(AppError::new(
                Code::CapacityInvalid,
                "每个时段最多500个号",
                "at most 500 seats per slot",
            ));
        }
        let today = self.clock.today();
        let from = i.from.unwrap_or(today);
        if from < today {
            return Err(AppError::new(
                Code::FromInPast,
                "不能修改过去日期的容量",
                "capacity of past days cannot change",
            ));
        }
        let before = self
            .store
            .hall(hall)
            .await?
            .ok_or_else(|| crate::views::unknown_hall(hall))?;
        let old = before
            .capacity
            .iter()
            .find(|(p, _)| *p == pool)
            .map(|(_, s)| *s);
        let out = self
            .audit(
                &Actor::new(p, client_addr).in_hall(hall),
                AdminChange::SetCapacity { hall_id: hall.into(), pool, seats: i.seats_per_slot, from_day: from },
                "capacity.change",
                format!("hall:{hall}"),
                None,
                json!({ "pool": pool.as_str(), "from": from, "before": old, "after": i.seats_per_slot }),
            )
            .await?;
        self.after_seat_change();
        // Days beyond the existing seats get the new capacity when they are generated.
        self.generate_horizon().await?;
        Ok(ChangeResult {
            slots_changed: match out {
                AdminOutcome::SlotsChanged(n) => n,
                _ => 0,
            },
        })
    }

    pub async fn set_hall_day(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        hall: &str,
        i: &HallDayInput,
    ) -> AppResult<ChangeResult> {
        self.require(p, Action::ManageHalls, Some(hall))?;
        if i.day < self.clock.today() {
            return Err(AppError::new(
                Code::DayInPast,
                "不能修改过去的日期",
                "past days cannot change",
            ));
        }
        let out = self
            .audit(
                &Actor::new(p, client_addr).in_hall(hall),
                AdminChange::SetHallDay {
                    hall_id: hall.into(),
                    day: i.day,
                    closed: i.closed,
                    note: i.note.trim().into(),
                },
                if i.closed {
                    "calendar.close"
                } else {
                    "calendar.open"
                },
                format!("hall:{hall}"),
                None,
                json!({ "day": i.day, "note": i.note }),
            )
            .await?;
        self.after_seat_change();
        if !i.closed {
            self.generate_horizon().await?;
        }
        Ok(ChangeResult {
            slots_changed: match out {
                AdminOutcome::SlotsChanged(n) => n,
                _ => 0,
            },
        })
    }

    pub async fn hall_closures(&self, p: &Principal, hall: &str) -> AppResult<Vec<NaiveDate>> {
        self.require(p, Action::ManageHalls, Some(hall))?;
        let today = self.clock.today();
        Ok(self
            .store
            .hall_closures(hall, today, today + chrono::TimeDelta::days(366))
            .await?)
    }

    async fn booking_for_staff(
        &self,
        p: &Principal,
        action: Action,
        code: &str,
    ) -> AppResult<wujing_store::Booking> {
        let b = self
            .store
            .booking_by_code(&code.trim().to_ascii_uppercase())
            .await?
            .ok_or_else(|| {
                AppError::new(
                    Code::BookingNotFound,
                    "没有这个预约号",
                    "no booking with this code",
                )
            })?;
        self.require(p, action, Some(&b.slot.hall_id))?;
        Ok(b)
    }

    /// A booking as staff see it: personal data masked. Audited (`booking.lookup`), because
    /// even a masked booking tells who is going where and when; recorded before the view is
    /// answered, so that nothing is shown that is not in the trail.
    pub async fn staff_booking(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        code: &str,
    ) -> AppResult<crate::BookingView> {
        let b = self
            .booking_for_staff(p, Action::LookupBooking, code)
            .await?;
        let view = self.booking_view(&b).await?;
        self.audit(
            &Actor::new(p, client_addr).in_hall(&b.slot.hall_id),
            AdminChange::RecordOnly,
            "booking.lookup",
            format!("booking:{}", b.code),
            Some(b.identity_key.clone()),
            json!({}),
        )
        .await?;
        Ok(view)
    }

    /// The full identity number and phone of a booking's applicant: an audited act.
    pub async fn reveal_identity(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        code: &str,
        reason: &str,
    ) -> AppResult<RevealView> {
        let b = self
            .booking_for_staff(p, Action::RevealIdentity, code)
            .await?;
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 200 {
            return Err(AppError::new(
                Code::ReasonRequired,
                "查看完整证件号须填写事由（200字以内）",
                "revealing a full number needs a reason (up to 200 characters)",
            ));
        }
        self.audit(
            &Actor::new(p, client_addr).in_hall(&b.slot.hall_id),
            AdminChange::RecordOnly,
            "identity.reveal",
            format!("booking:{}", b.code),
            Some(b.identity_key.clone()),
            json!({ "reason": reason, "fields": ["id_number", "phone"] }),
        )
        .await?;
        Ok(RevealView {
            code: b.code,
            id_number: b.id_number,
            phone: b.phone,
        })
    }

    /// The names of what the entries mention by number — devices, hotels, system clients and
    /// staff accounts, as subject, actor or station (`device:15`, `hotel:3`, `hotel:grand-inn`,
    /// `system:2`, `staff:4`) — keyed as written, so that the audit page shows "天河大厅 填表机 9"
    /// where the entry holds `device:15`. Only what `entries` (already narrowed to the reader's
    /// halls) mention: one read per kind mentioned, a hotel's by its key.
    pub async fn audit_names(
        &self,
        p: &Principal,
        entries: &[AuditView],
    ) -> AppResult<std::collections::HashMap<String, String>> {
        self.require(p, Action::ViewAudit, None)?;
        let wanted: std::collections::HashSet<&str> = entries
            .iter()
            .flat_map(|e| {
                [
                    Some(e.subject.as_str()),
                    Some(e.actor.as_str()),
                    e.station.as_deref(),
                ]
            })
            .flatten()
            .collect();
        let of = |kind: &str| -> Vec<&str> {
            let mut ids: Vec<&str> = wanted
                .iter()
                .filter_map(|k| k.strip_prefix(kind).and_then(|k| k.strip_prefix(':')))
                .collect();
            ids.sort_unstable();
            ids
        };
        let mut names = std::collections::HashMap::new();
        if !of("device").is_empty() {
            for d in self.store.devices().await? {
                let key = format!("device:{}", d.id);
                if wanted.contains(key.as_str()) {
                    names.insert(key, d.name);
                }
            }
        }
        if !of("system").is_empty() {
            for c in self.store.system_clients().await? {
                let key = format!("system:{}", c.id);
                if wanted.contains(key.as_str()) {
                    names.insert(key, c.name);
                }
            }
        }
        // A hotel is written by its number once registered, by its code when created.
        for id in of("hotel") {
            let by = match id.parse::<i64>() {
                Ok(n) => wujing_store::HotelBy::Id(n),
                Err(_) => wujing_store::HotelBy::Code(id),
            };
            if let Some(h) = self.store.hotel(by).await? {
                names.insert(format!("hotel:{id}"), h.name);
            }
        }
        if !of("staff").is_empty() {
            for a in self.store.staff_list().await? {
                let key = format!("staff:{}", a.id);
                if wanted.contains(key.as_str()) {
                    names.insert(key, a.username);
                }
            }
        }
        Ok(names)
    }

    /// Searches the trail, newest first; every search (an API call or a view of the audit
    /// page) is itself recorded (`audit.read`), after the search and before its results are
    /// answered. The entry's citizen is the citizen searched for, so that the trail shows who
    /// looked a person up in it; the criteria in its detail carry only the pseudonym.
    ///
    /// A reader scoped to halls gets only the entries about its halls (narrowed in the store
    /// query, so limits count only those), and may not search by an identity number: that
    /// would find a person across the organisation's trail by the one key the entries hide.
    pub async fn audit_search(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        q: &AuditSearch,
    ) -> AppResult<Vec<AuditView>> {
        self.require(p, Action::ViewAudit, None)?;
        let halls = crate::authz::hall_scope(p, Action::ViewAudit);
        // Following one person through the whole trail is for organisation-wide supervisors
        // and administrators only: leaders and hall managers read their halls' entries, not a
        // citizen's history (docs/OPERATIONS.md, "The audit trail").
        let may_follow_a_person = matches!(p, Principal::Staff(s) if s.roles.iter().any(|g| {
            g.hall.is_none() && matches!(g.role, Role::Supervisor | Role::Admin)
        }));
        let citizen = match q
            .citizen
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            None => None,
            Some(_) if halls.is_some() || !may_follow_a_person => {
                return Err(Code::AuditSearchByIdentityForbidden.into());
            }
            Some(c) if c.starts_with("P:") => {
                Some(self.store.keys().identity_key(&c.to_ascii_uppercase()))
            }
            Some(c) => Some(self.identity_key(&wujing_domain::Identity::Resident(
                self.parse_resident_id(c)?,
            ))),
        };
        let staff = q
            .staff
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_ascii_lowercase);
        let limit = q.limit.unwrap_or(100).clamp(1, 1000);
        let rows = match &staff {
            None => Some(None),
            Some(u) => self
                .store
                .staff_by_username(u)
                .await?
                .map(|a| Some(format!("staff:{}", a.id))),
        };
        let rows = match rows {
            // A user name that is no account matches nothing.
            None => vec![],
            Some(actor) => {
                self.store
                    .audit_search(&AuditQuery {
                        citizen: citizen.clone(),
                        actor,
                        from: q.from,
                        to: q.to,
                        halls,
                        before: q.before,
                        after: q.after,
                        limit,
                    })
                    .await?
            }
        };
        self.audit(
            &Actor::new(p, client_addr),
            AdminChange::RecordOnly,
            "audit.read",
            "audit".into(),
            citizen.clone(),
            json!({
                "citizen": citizen.as_deref().map(mask_identity_key),
                "staff": staff,
                "from": q.from,
                "to": q.to,
                "limit": limit,
                "results": rows.len(),
            }),
        )
        .await?;
        Ok(rows.iter().map(AuditView::from).collect())
    }

    /// Walks the whole chain: the number of entries, or the first break.
    pub async fn audit_verify(&self) -> AppResult<Result<u64, ChainBreak>> {
        self.audit_verify_with(&[]).await
    }

    /// Walks the whole chain and checks it against checkpoints exported earlier (see
    /// [`App::audit_checkpoint`]): the number of entries, or the first break.
    pub async fn audit_verify_with(
        &self,
        checkpoints: &[Checkpoint],
    ) -> AppResult<Result<u64, ChainBreak>> {
        let (rows, head) = self.store.audit_chain().await?;
        let k = self.store.keys().chain_key();
        Ok(
            verify_chain(k, &rows, head.as_ref().map(|(s, h)| (*s, h.as_str())))
                .and_then(|n| verify_checkpoints(k, &rows, checkpoints).map(|_| n)),
        )
    }

    /// A signed checkpoint of the chain's newest entry, to keep off the database (an
    /// append-only file on another machine, a ticket, a printout): a later `audit verify`
    /// against it shows whether the trail was cut back or rebuilt since.
    pub async fn audit_checkpoint(&self) -> AppResult<Checkpoint> {
        let (_, head) = self.store.audit_chain().await?;
        let (seq, hash) = head.unwrap_or_else(|| (0, wujing_domain::audit::GENESIS.to_string()));
        Ok(Checkpoint::of(
            self.store.keys().chain_key(),
            seq,
            &hash,
            self.clock.now().timestamp_millis(),
        ))
    }

    /// Whether any staff account exists (the first start prints how to create one).
    pub async fn has_staff(&self) -> AppResult<bool> {
        Ok(!self.store.staff_list().await?.is_empty())
    }
}

/// The phone of a booking masked, for pages that show who booked.
pub fn masked_phone(p: &str) -> String {
    mask_phone(p)
}
