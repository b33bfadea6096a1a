//! The telephone channel (M4): a hotline operator books for a caller.
//!
//! The operator searches seats and holds one like the portal does, then asks for a code sent to
//! the caller's own phone; the caller reads it out and the booking is confirmed with it, so a
//! booking on the telephone is bound to a phone its owner controls exactly as a web booking is
//! (M3). The booking records the `telephone` channel. Each booking attempt is written to the
//! audit trail with the operator before the booking is made: no hotline booking exists without
//! its entry (an entry whose booking then failed records an attempt).

use crate::admin::Actor;
use crate::citizen::CodeSent;
use crate::notify::Lang;
use crate::{Action, App, AppResult, BookingView, Code, ConfirmInput, Principal};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use wujing_store::AdminChange;

/// `POST /api/v1/hotline/phone-codes`: the code for the caller's phone.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HotlineCodeInput {
    /// The caller's mobile phone.
    pub phone: String,
    /// `zh-CN` (default) or `en`: the language of the text.
    #[serde(default)]
    pub lang: Option<String>,
}

impl App {
    /// Sends the caller the code they will read out, under the same per-phone limits as any
    /// code.
    pub async fn hotline_send_code(
        &self,
        p: &Principal,
        input: &HotlineCodeInput,
        client_addr: Option<&str>,
    ) -> AppResult<CodeSent> {
        self.require(p, Action::Hotline, None)?;
        self.issue_phone_code(
            &input.phone,
            "book",
            Lang::parse(input.lang.as_deref()),
            true,
            client_addr,
        )
        .await
    }

    /// Confirms a hold for the caller on the telephone channel. The code is always required:
    /// the operator's word is not proof that the caller is the applicant.
    pub async fn hotline_book(
        &self,
        p: &Principal,
        input: &ConfirmInput,
        client_addr: Option<String>,
    ) -> AppResult<BookingView> {
        self.require(p, Action::Hotline, None)?;
        let channel = crate::channels::telephone();
        crate::channels::check_stated(input.channel.as_deref(), channel)?;
        if input
            .phone_code
            .as_deref()
            .is_none_or(|c| c.trim().is_empty())
        {
            return Err(Code::PhoneCodeRequired.into());
        }
        let applicant = self.parse_applicant(&input.applicant)?;
        self.audit(
            &Actor::new(p, client_addr.as_deref()),
            AdminChange::RecordOnly,
            "booking.hotline",
            format!("hold:{}", input.hold_id),
            Some(self.identity_key(&applicant.identity)),
            json!({ "channel": channel.as_str(), "phone": crate::admin::masked_phone(&applicant.phone) }),
        )
        .await?;
        self.confirm_on(channel, input, client_addr).await
    }
}
