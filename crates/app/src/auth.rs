//! Staff sign-in: argon2id password hashes, sessions in the database, CSRF tokens, log-in
//! throttling held in the database, and device tokens for kiosks (M14).

use crate::authz::{DevicePrincipal, Principal, StaffPrincipal};
use crate::{App, AppError, AppResult, Code};
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use chrono::TimeDelta;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use wujing_store::{AdminChange, LoginAttempt, LoginGate, StaffSession};

/// Argon2id cost. The default follows OWASP's minimum (19 MiB, 2 passes); tests use the
/// cheapest parameters so that a suite of log-ins takes milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct PasswordCost {
    pub memory_kib: u32,
    pub passes: u32,
}

impl Default for PasswordCost {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            passes: 2,
        }
    }
}

impl PasswordCost {
    /// Only for tests: fast and weak.
    pub fn cheap() -> Self {
        Self {
            memory_kib: 8,
            passes: 1,
        }
    }

    fn hasher(self) -> Argon2<'static> {
        let params = Params::new(self.memory_kib.max(8), self.passes.max(1), 1, None)
            .expect("valid argon2 parameters");
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }
}

/// Sign-in tunables. Attempts are counted before the password is checked (an attempt that
/// succeeds gives its count back), per client address and per user name:
///
/// * an address gets `addr_attempts` within `throttle_window`, then waits out the window;
/// * a user name gets `user_free_attempts` at once; after that each attempt owes a delay of
///   `user_delay_step × (n − free + 1)` before the next one (30 s, 60 s, 90 s, …), at most
///   `user_max_delay`, from whatever address. The account is never locked outright: the right
///   password from an address not itself throttled signs in once the delay has passed, and
///   an administrator can lift the delay at once (`staff.unlock_sign_in`).
#[derive(Debug, Clone, Copy)]
pub struct AuthConfig {
    pub password_cost: PasswordCost,
    pub session_ttl: TimeDelta,
    /// A key (user name or address) quiet for this long starts counting again.
    pub throttle_window: TimeDelta,
    pub user_free_attempts: u32,
    pub user_delay_step: TimeDelta,
    pub user_max_delay: TimeDelta,
    pub addr_attempts: u32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            password_cost: PasswordCost::default(),
            session_ttl: TimeDelta::hours(12),
            throttle_window: TimeDelta::minutes(15),
            user_free_attempts: 5,
            user_delay_step: TimeDelta::seconds(30),
            user_max_delay: TimeDelta::minutes(5),
            addr_attempts: 30,
        }
    }
}

impl AuthConfig {
    /// The gates an attempt passes, address first: an attempt refused for its address then
    /// counts nothing against the user name, so a throttled address cannot keep an account
    /// waiting.
    pub(crate) fn gates(&self, user_key: String, addr_key: String) -> Vec<LoginGate> {
        vec![
            LoginGate {
                key: addr_key,
                free: self.addr_attempts.max(1),
                step: self.throttle_window,
                max_delay: self.throttle_window,
                window: self.throttle_window,
            },
            LoginGate {
                key: user_key,
                free: self.user_free_attempts.max(1),
                step: self.user_delay_step,
                max_delay: self.user_max_delay,
                window: self.throttle_window,
            },
        ]
    }
}

/// The throttle key of a user name.
pub(crate) fn user_throttle_key(username: &str) -> String {
    format!("user:{}", username.trim().to_ascii_lowercase())
}

pub const MIN_PASSWORD_CHARS: usize = 10;

/// Hashes a password with a fresh salt (blocking: call from `spawn_blocking`).
pub fn hash_password(cost: PasswordCost, password: &str) -> String {
    cost.hasher()
        .hash_password(password.as_bytes())
        .expect("argon2 hashing cannot fail with valid parameters")
        .to_string()
}

/// Checks a password against a stored PHC string; the string's own parameters apply.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

pub fn check_password_policy(username: &str, password: &str) -> AppResult<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AppError::new(
            Code::PasswordTooShort,
            format!("密码至少需要{MIN_PASSWORD_CHARS}个字符"),
            format!("the password needs at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if password.eq_ignore_ascii_case(username) {
        return Err(AppError::new(
            Code::PasswordIsUsername,
            "密码不能与用户名相同",
            "the password must not be the user name",
        ));
    }
    Ok(())
}

/// 32 random bytes, URL-safe base64.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// How a system client's token begins, so that a bearer token says which table holds it
/// (and a leaked one is recognisable in a secret scan).
pub const SYSTEM_TOKEN_PREFIX: &str = "wjsys_";

/// What the database keeps of a token.
pub fn token_hash(token: &str) -> String {
    wujing_domain::audit::hex(&Sha256::digest(token.as_bytes()))
}

/// Equal in time independent of where the strings differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A fresh session: its token goes into the session cookie, never into the body; the CSRF
/// token is what state-changing requests and forms must echo.
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct SignedIn {
    #[serde(skip)]
    pub token: String,
    pub csrf_token: String,
    pub staff: StaffView,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn")
            .field("staff", &self.staff.username)
            .finish_non_exhaustive()
    }
}

/// A staff account as answers show it: never the password hash.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StaffView {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    #[schema(value_type = Vec<Object>)]
    pub roles: Vec<wujing_domain::staff::RoleGrant>,
    pub disabled: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Masked.
    pub phone: Option<String>,
}

impl From<&wujing_store::StaffAccount> for StaffView {
    fn from(a: &wujing_store::StaffAccount) -> Self {
        Self {
            id: a.id,
            username: a.username.clone(),
            display_name: a.display_name.clone(),
            roles: a.roles.clone(),
            disabled: a.disabled,
            created_at: a.created_at,
            phone: a.phone.as_deref().map(wujing_domain::idnum::mask_phone),
        }
    }
}

fn login_failed() -> AppError {
    AppError::new(
        Code::LoginFailed,
        "用户名或密码错误",
        "wrong user name or password",
    )
}

pub(crate) fn throttled(secs: u64) -> AppError {
    let (zh, en) = if secs < 120 {
        (format!("{secs}秒"), format!("{secs} seconds"))
    } else {
        (
            format!("{}分钟", secs.div_ceil(60)),
            format!("{} minutes", secs.div_ceil(60)),
        )
    };
    let mut e = AppError::new(
        Code::LoginThrottled,
        format!("登录尝试过于频繁，请{zh}后再试"),
        format!("too many sign-in attempts; try again in {en}"),
    );
    e.retry_after = Some(secs);
    e
}

impl App {
    pub(crate) async fn hash_password_blocking(&self, password: &str) -> AppResult<String> {
        let cost = self.config.auth.password_cost;
        let p = password.to_string();
        tokio::task::spawn_blocking(move || hash_password(cost, &p))
            .await
            .map_err(|e| AppError::new(Code::InternalError, "系统内部错误", e.to_string()))
    }

    /// Signs a staff member in. Unknown user, wrong password and disabled account get the
    /// same answer; attempts are counted per user name and per address in the database before
    /// the password is checked (see [`AuthConfig`]), so guessing is throttled across every app
    /// server and however many guesses run in parallel.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        client_addr: Option<&str>,
    ) -> AppResult<SignedIn> {
        let now = self.clock.now();
        let cfg = self.config.auth;
        let user = username.trim().to_ascii_lowercase();
        let user_key = user_throttle_key(&user);
        let addr_key = format!("addr:{}", client_addr.unwrap_or("-"));
        // Counted before the password is checked, atomically in the database: parallel
        // guesses cannot all read the same count and all be evaluated.
        let gates = cfg.gates(user_key.clone(), addr_key.clone());
        if let LoginAttempt::Refused { key, until } = self.store.login_attempt(&gates, now).await? {
            let secs = ((until - now).num_milliseconds().max(1) as u64).div_ceil(1000);
            tracing::info!(outcome = "throttled", "staff sign-in");
            // Refused attempts are recorded too, within bounds, since a refusal counts nothing
            // in the database: one refused by the user name's delay was counted under the
            // address gate before it (at most `addr_attempts` per address and window), so
            // those are bounded by the throttle itself; one refused by the address gate is
            // counted nowhere, so only the first refusal of each address delay is recorded (per
            // app server, `Caches::first_refusal`). Nobody fills the trail faster than the
            // throttle lets them try.
            let gate = if key == addr_key {
                "address"
            } else {
                "user_name"
            };
            if gate == "user_name" || self.caches.first_refusal(&key, until, now) {
                let account = self.store.staff_by_username(&user).await?;
                self.record_failed_sign_in(
                    account.as_ref(),
                    client_addr,
                    serde_json::json!({ "reason": "throttled", "gate": gate }),
                )
                .await?;
            }
            return Err(throttled(secs));
        }
        let account = self.store.staff_by_username(&user).await?;
        // Unknown users cost the same hash as known ones, so timing does not tell them apart.
        let hash = account
            .as_ref()
            .map(|a| a.password_hash.clone())
            .unwrap_or_else(|| DUMMY_HASH.to_string());
        let pw = password.to_string();
        let ok = tokio::task::spawn_blocking(move || verify_password(&hash, &pw))
            .await
            .unwrap_or(false);
        let reason = match &account {
            Some(a) if ok && !a.disabled => None,
            Some(a) if ok && a.disabled => Some("account_disabled"),
            Some(_) => Some("wrong_password"),
            None => Some("unknown_user"),
        };
        let account = match (account, reason) {
            (Some(a), None) => a,
            (account, reason) => {
                // The attempt is already counted (and so bounded by the throttle).
                tracing::info!(outcome = "failed", "staff sign-in");
                self.record_failed_sign_in(
                    account.as_ref(),
                    client_addr,
                    serde_json::json!({ "reason": reason }),
                )
                .await?;
                return Err(login_failed());
            }
        };
        self.store.login_succeeded(&user_key, &[addr_key]).await?;
        let token = random_token();
        let session = StaffSession {
            token_hash: token_hash(&token),
            staff_id: account.id,
            csrf_token: random_token(),
            created_at: now,
            expires_at: now + cfg.session_ttl,
            client_addr: client_addr.map(str::to_string),
        };
        self.store.create_session(&session).await?;
        let actor = crate::admin::Actor::staff_account(&account, client_addr);
        self.audit(
            &actor,
            AdminChange::RecordOnly,
            "session.sign_in",
            format!("staff:{}", account.id),
            None,
            serde_json::json!({}),
        )
        .await?;
        Ok(SignedIn {
            token,
            csrf_token: session.csrf_token,
            staff: StaffView::from(&account),
            expires_at: session.expires_at,
        })
    }

    /// A refused sign-in (`session.sign_in_failed`), with the client address. When the user
    /// name matched an account, that account is the entry's actor and subject, so that the
    /// trail searched by that staff member shows the attempts made in its name. A name that
    /// matches no account is never written anywhere (it may be a password typed into the
    /// wrong box): the actor is then `anonymous` and the subject `staff:unknown`. Recorded in
    /// a transaction of its own: the attempt was counted by the throttle's statement before the
    /// password was checked, and whether it failed is known only after.
    async fn record_failed_sign_in(
        &self,
        account: Option<&wujing_store::StaffAccount>,
        client_addr: Option<&str>,
        detail: serde_json::Value,
    ) -> AppResult<()> {
        let (actor, subject) = match account {
            Some(a) => (
                crate::admin::Actor::staff_account(a, client_addr),
                format!("staff:{}", a.id),
            ),
            None => (
                crate::admin::Actor::new(&Principal::Anonymous, client_addr),
                "staff:unknown".to_string(),
            ),
        };
        self.audit(
            &actor,
            AdminChange::RecordOnly,
            "session.sign_in_failed",
            subject,
            None,
            detail,
        )
        .await?;
        Ok(())
    }

    /// Signs out: the session ends in the same transaction as its audit entry
    /// (`session.sign_out`). A request without a live session has nothing to end or record.
    pub async fn logout(&self, p: &Principal, client_addr: Option<&str>) -> AppResult<()> {
        if let Principal::Staff(s) = p {
            self.audit(
                &crate::admin::Actor::new(p, client_addr),
                AdminChange::EndSession {
                    token_hash: s.session_hash.clone(),
                },
                "session.sign_out",
                format!("staff:{}", s.id),
                None,
                serde_json::json!({}),
            )
            .await?;
        }
        Ok(())
    }

    /// Who is calling: a device by its bearer token, staff by the session cookie, or nobody.
    /// A wrong device token is an error (the kiosk must be told); a stale cookie is just
    /// anonymous, so that public pages keep working.
    pub async fn authenticate(
        &self,
        session: Option<&str>,
        bearer: Option<&str>,
    ) -> AppResult<Principal> {
        if let Some(t) = bearer.filter(|t| {
            t.starts_with(crate::lodging::HOTEL_TOKEN_PREFIX)
                || t.starts_with(crate::lodging::HOTEL_SESSION_PREFIX)
        }) {
            return self
                .hotel_principal(t)
                .await?
                .ok_or_else(|| Code::HotelTokenInvalid.into());
        }
        if let Some(t) = bearer.filter(|t| t.starts_with(SYSTEM_TOKEN_PREFIX)) {
            return match self
                .store
                .system_client_by_token_hash(&token_hash(t))
                .await?
            {
                Some(c) => Ok(Principal::System(crate::authz::SystemPrincipal {
                    id: c.id,
                    name: c.name,
                    kind: c.kind,
                })),
                None => Err(Code::SystemTokenInvalid.into()),
            };
        }
        if let Some(t) = bearer {
            return match self.store.device_by_token_hash(&token_hash(t)).await? {
                Some(d) => Ok(Principal::Device(DevicePrincipal {
                    id: d.id,
                    // The database's CHECK lists the kinds; a row outside it is corrupt.
                    kind: wujing_domain::DeviceKind::parse(&d.kind).ok_or_else(|| {
                        AppError::new(Code::InternalError, "系统内部错误", "unknown device kind")
                    })?,
                    window_number: d.window_number,
                    name: d.name,
                    hall_id: d.hall_id,
                })),
                None => Err(AppError::new(
                    Code::DeviceTokenInvalid,
                    "设备令牌无效或已吊销",
                    "the device token is invalid or revoked",
                )),
            };
        }
        let Some(t) = session else {
            return Ok(Principal::Anonymous);
        };
        let h = token_hash(t);
        Ok(match self.store.session(&h, self.clock.now()).await? {
            Some((s, a)) => Principal::Staff(StaffPrincipal {
                id: a.id,
                username: a.username,
                display_name: a.display_name,
                roles: a.roles,
                csrf_token: s.csrf_token,
                session_hash: h,
            }),
            None => Principal::Anonymous,
        })
    }

    /// A state-changing request made with the session cookie must carry the session's CSRF
    /// token (header or form field).
    pub fn check_csrf(&self, p: &Principal, given: Option<&str>) -> AppResult<()> {
        match p {
            Principal::Staff(s) if !given.is_some_and(|g| same_secret(g, &s.csrf_token)) => {
                Err(AppError::new(
                    Code::CsrfInvalid,
                    "页面已过期或来源不明，请刷新后重试",
                    "the form has expired or did not come from Wujing; reload and try again",
                ))
            }
            _ => Ok(()),
        }
    }

    /// Changes one's own password; every session of the account ends, this one included.
    pub async fn change_password(
        &self,
        p: &Principal,
        current: &str,
        new: &str,
        client_addr: Option<&str>,
    ) -> AppResult<()> {
        let Principal::Staff(s) = p else {
            return Err(crate::authz::denied(p));
        };
        let account = self
            .store
            .staff_by_id(s.id)
            .await?
            .ok_or_else(|| crate::authz::denied(p))?;
        let (hash, cur) = (account.password_hash.clone(), current.to_string());
        let ok = tokio::task::spawn_blocking(move || verify_password(&hash, &cur))
            .await
            .unwrap_or(false);
        if !ok {
            return Err(AppError::new(
                Code::CurrentPasswordWrong,
                "当前密码不正确",
                "the current password is wrong",
            ));
        }
        check_password_policy(&account.username, new)?;
        let hash = self.hash_password_blocking(new).await?;
        let actor = crate::admin::Actor::new(p, client_addr);
        self.audit(
            &actor,
            AdminChange::UpdateStaff {
                id: s.id,
                display_name: None,
                roles: None,
                disabled: None,
                password_hash: Some(hash),
                phone: None,
            },
            "staff.password_change",
            format!("staff:{}", s.id),
            None,
            serde_json::json!({ "by": "self" }),
        )
        .await?;
        Ok(())
    }
}

/// A valid argon2id hash of a random string, verified against when the user name is unknown.
pub(crate) const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Hk1CCzf4iZ3nW6S1S0fJfT6Yq0bL8b9m7rZ1nV8u3eM";
