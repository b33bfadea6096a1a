//! What the citizen portal needs beyond the booking spine: one-time phone codes, links to a
//! booking's slip that need no log-in, and finding one's bookings (M1–M4).

use crate::notify::{message, Lang};
use crate::{App, AppError, AppResult, BookingView, Code};
use chrono::TimeDelta;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use wujing_store::{NewPhoneCode, PhoneCodeCheck};

/// A code lives ten minutes; a new one can be asked for after a minute; five per hour per phone.
pub const CODE_TTL: TimeDelta = TimeDelta::minutes(10);
pub const CODE_RESEND: TimeDelta = TimeDelta::seconds(60);
pub const CODES_PER_HOUR: u32 = 5;
pub const CODE_ATTEMPTS: u32 = 5;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    pub phone: String,
    /// `book` (default) or `lookup`.
    #[serde(default)]
    pub purpose: Option<String>,
    /// `zh-CN` (default) or `en`: the language of the text.
    #[serde(default)]
    pub lang: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CodeSent {
    pub expires_in_seconds: i64,
    pub resend_after_seconds: i64,
}

fn code_hash(phone: &str, code: &str) -> String {
    wujing_domain::audit::hex(&Sha256::digest(
        format!("{phone}:{}", code.trim()).as_bytes(),
    ))
}

fn purpose_of(p: Option<&str>) -> AppResult<&'static str> {
    match p.unwrap_or("book") {
        "book" => Ok("book"),
        "lookup" => Ok("lookup"),
        _ => Err(AppError::new(
            Code::PurposeInvalid,
            "用途须为 book 或 lookup",
            "purpose must be book or lookup",
        )),
    }
}

impl App {
    /// Sends a six-digit code to a phone through the outbox.
    pub async fn send_phone_code(
        &self,
        r: &CodeRequest,
        client_addr: Option<&str>,
    ) -> AppResult<CodeSent> {
        let purpose = purpose_of(r.purpose.as_deref())?;
        self.issue_phone_code(
            &r.phone,
            purpose,
            Lang::parse(r.lang.as_deref()),
            false,
            client_addr,
        )
        .await
    }

    /// Issues a code under the per-phone limits. A code the hotline asks for says so: the
    /// caller is told to read it out only on a call they made themselves, where every other
    /// code warns that staff never ask for one.
    pub(crate) async fn issue_phone_code(
        &self,
        phone: &str,
        purpose: &'static str,
        lang: Lang,
        hotline: bool,
        client_addr: Option<&str>,
    ) -> AppResult<CodeSent> {
        let phone = crate::booking::parse_phone(phone)?;
        let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
        let now = self.clock.now();
        let body = match (lang, hotline) {
            (Lang::Zh, false) => format!("【无境】您的验证码是 {code}，10分钟内有效。工作人员不会向您索取验证码，请勿告诉他人。"),
            (Lang::En, false) => format!("[Wujing] Your code is {code}, valid for 10 minutes. Staff never ask for it; do not share it."),
            (Lang::Zh, true) => format!("【无境】出入境预约热线正在为您预约，验证码 {code}，10分钟内有效。仅在您本人拨打热线预约时告诉坐席；如未拨打，请勿告诉任何人。"),
            (Lang::En, true) => format!("[Wujing] The exit-entry booking hotline is booking for you: code {code}, valid for 10 minutes. Read it out only on a call you made yourself; otherwise tell no one."),
        };
        // A random key: every code is its own message.
        let key = format!("code:{}", crate::auth::random_token());
        self.store
            .issue_phone_code(
                &NewPhoneCode {
                    phone: phone.clone(),
                    purpose: purpose.into(),
                    code_hash: code_hash(&phone, &code),
                    now,
                    expires_at: now + CODE_TTL,
                    client_addr: client_addr.map(str::to_string),
                },
                CODE_RESEND,
                CODES_PER_HOUR,
                &message(key, &phone, "phone_code", body, now),
            )
            .await
            .map_err(|e| match e {
                wujing_store::StoreError::RateLimited { retry_after_secs } => {
                    let mut err = AppError::new(
                        Code::CodeRateLimited,
                        format!("验证码发送过于频繁，请{retry_after_secs}秒后再试"),
                        format!("too many codes; try again in {retry_after_secs} s"),
                    );
                    err.retry_after = Some(retry_after_secs.max(1) as u64);
                    err
                }
                other => other.into(),
            })?;
        Ok(CodeSent {
            expires_in_seconds: CODE_TTL.num_seconds(),
            resend_after_seconds: CODE_RESEND.num_seconds(),
        })
    }

    /// Checks a code without using it up, and names it for the action that will (a booking or
    /// lottery entry consumes it in its own transaction). The eligibility pre-check calls only
    /// this, so the code a citizen gives the pre-check still confirms the booking. The error
    /// says how many tries are left, or that the code was used.
    pub async fn check_phone_code(&self, phone: &str, purpose: &str, code: &str) -> AppResult<i64> {
        let phone = crate::booking::parse_phone(phone)?;
        match self
            .store
            .verify_phone_code(
                &phone,
                purpose,
                &code_hash(&phone, code),
                self.clock.now(),
                CODE_ATTEMPTS,
            )
            .await?
        {
            PhoneCodeCheck::Valid { id } => Ok(id),
            PhoneCodeCheck::Used => Err(Code::PhoneCodeUsed.into()),
            PhoneCodeCheck::Wrong { attempts_left } => Err(AppError::new(
                Code::PhoneCodeWrong,
                format!("验证码不正确，还可尝试{attempts_left}次"),
                format!("wrong code; {attempts_left} tries left"),
            )
            .with_details(serde_json::json!({ "attempts_left": attempts_left }))),
            PhoneCodeCheck::NoCode => Err(AppError::new(
                Code::PhoneCodeExpired,
                "验证码已失效，请重新获取",
                "the code has expired; ask for a new one",
            )),
        }
    }

    /// Checks a code and uses it up at once, for an action that writes nothing else (finding
    /// one's bookings): one conditional update, so of two uses of one code only one passes.
    pub(crate) async fn use_phone_code(
        &self,
        phone: &str,
        purpose: &str,
        code: &str,
    ) -> AppResult<()> {
        let id = self.check_phone_code(phone, purpose, code).await?;
        if self.store.consume_phone_code(id, self.clock.now()).await? {
            Ok(())
        } else {
            Err(Code::PhoneCodeUsed.into())
        }
    }

    /// The key in a booking's slip link (`/slip/{code}?k=…`): whoever has the link sees the
    /// slip, as with a paper slip; the key cannot be guessed from the code.
    pub async fn slip_key(&self, code: &str) -> AppResult<String> {
        Ok(self.slip_key_of(code))
    }

    /// The slip key, computed: the links key lives in the key file, not the database, so a
    /// copy of the database cannot forge slip links.
    pub(crate) fn slip_key_of(&self, code: &str) -> String {
        let mac = self.store.keys().link_mac(code.as_bytes());
        wujing_domain::audit::hex(&mac)[..24].to_string()
    }

    /// When check-in opens and closes for a visit starting at `starts_at` (`HH:MM`, the hall's clock), by the hall
    /// rules the server was started with.
    pub fn checkin_window(&self, starts_at: chrono::DateTime<chrono::Utc>) -> (String, String) {
        let at = |d: chrono::TimeDelta| {
            (starts_at + d)
                .with_timezone(&wujing_domain::calendar::china_offset())
                .format("%H:%M")
                .to_string()
        };
        (
            at(-self.config.hall.checkin_early),
            at(self.config.hall.checkin_late),
        )
    }

    /// A booking by its slip link, as the slip shows it.
    pub async fn booking_by_slip(&self, code: &str, key: &str) -> AppResult<BookingView> {
        let b = self.slip_booking(code, key).await?;
        self.booking_view(&b).await
    }

    /// The pre-filled application form (PDF) of the booking behind a slip link.
    /// Only a booking still to be used has one: a cancelled, lapsed or used booking's slip
    /// no longer offers it, and its address answers why.
    pub async fn application_form_by_slip(&self, code: &str, key: &str) -> AppResult<Vec<u8>> {
        let b = self.slip_booking(code, key).await?;
        match b.status.as_str() {
            "cancelled" => {
                return Err(AppError::new(
                    Code::BookingNotActive,
                    "该预约已取消，申请表不再提供",
                    "the booking is cancelled; its form is no longer offered",
                ))
            }
            "used" => {
                return Err(AppError::new(
                    Code::BookingUsed,
                    "该预约已签到办理，申请表已在窗口填写",
                    "the booking has been used; the form was completed at the window",
                ))
            }
            _ => {}
        }
        let v = self.booking_view(&b).await?;
        if self.has_lapsed(&v) {
            return Err(AppError::new(
                Code::BookingLapsed,
                "签到时间已过，该预约已失效，请重新预约",
                "the check-in time has passed and the booking has lapsed; make a new booking",
            ));
        }
        self.application_form(&b).await
    }

    /// Whether an active booking's check-in window closed without a check-in.
    pub fn has_lapsed(&self, b: &BookingView) -> bool {
        b.status == "active" && self.clock.now() > b.starts_at + self.config.hall.checkin_late
    }

    /// The receipt of the fee paid for a booking's visit, for its holder (the slip's key
    /// proves it, as for the form): a booking never checked in, or a visit without a payment,
    /// has none.
    pub async fn receipt_by_slip(&self, code: &str, key: &str) -> AppResult<Vec<u8>> {
        let b = self.slip_booking(code, key).await?;
        let none = || {
            AppError::new(
                Code::PaymentNotFound,
                "这次预约还没有缴费记录",
                "no fee has been paid for this booking",
            )
        };
        let t = self.store.ticket_of_booking(b.id).await?.ok_or_else(none)?;
        let (pay, refunded_at) = self.receipt_of(&t).await?.ok_or_else(none)?;
        self.render_receipt(&t, &pay, refunded_at).await
    }

    pub(crate) async fn slip_booking(
        &self,
        code: &str,
        key: &str,
    ) -> AppResult<wujing_store::Booking> {
        let not_found =
            || AppError::new(Code::BookingNotFound, "没有找到该预约", "no such booking");
        let code = code.trim().to_ascii_uppercase();
        if !crate::auth::same_secret(&self.slip_key(&code).await?, key) {
            return Err(not_found());
        }
        self.store
            .booking_by_code(&code)
            .await?
            .ok_or_else(not_found)
    }

    /// Active and used bookings of an identity whose phone the caller has just proved (a used
    /// one's slip shows the visit and the application).
    pub async fn my_bookings(
        &self,
        id_number: &str,
        phone: &str,
        code: &str,
    ) -> AppResult<Vec<(BookingView, String)>> {
        let id = self.parse_resident_id(id_number)?;
        self.use_phone_code(phone, "lookup", code).await?;
        let phone = crate::booking::parse_phone(phone)?;
        let mut out = Vec::new();
        for b in self
            .store
            .current_bookings_of(&self.identity_key(&wujing_domain::Identity::Resident(id)))
            .await?
        {
            if b.phone == phone {
                let key = self.slip_key(&b.code).await?;
                out.push((self.booking_view(&b).await?, key));
            }
        }
        Ok(out)
    }
}
