//! 预约机 (yyj, issue 17): booking in the hall, with the ID card read by the machine.
//!
//! The machine is a device of one hall; what it books goes through the booking spine — the
//! same hold and confirmation as the portal's ([`App::hold`], `confirm_on`), the same database
//! statements, limits and eligibility — on the device's channel (`DeviceKind::channel`, for
//! 预约机 `self_service`), never one the page states. The card read replaces typing the
//! identity number and name; it proves that the citizen holds the card, nothing more, so the
//! registry's reasons are shown no more than on the portal. The phone number is typed on the
//! keypad (the booking's texts go to it) and, where the server requires verified phones, the
//! code sent to it is asked for as on the portal. Only this hall's seats are offered (today
//! and the next six days), and the answer carries the slip as a PDF for the bridge's printer,
//! so that no other route serves a citizen's slip to the machine.

use crate::authz::{Action, Principal};
use crate::booking::{ApplicantInput, BookingView, ConfirmInput, HoldInput};
use crate::views::SlotView;
use crate::{App, AppError, AppResult, Code};
use base64::Engine;
use chrono::{NaiveDate, TimeDelta};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Days a 预约机 offers: today and the next six.
pub const KIOSK_BOOKING_DAYS: i64 = 7;

/// Which seats the machine shows.
#[derive(Debug, Clone, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KioskSlotsQuery {
    /// Business code, e.g. `passport_first`.
    pub business: String,
    /// The day (default today); today to six days ahead.
    pub date: Option<NaiveDate>,
}

/// This hall's free seats of one day for a business.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KioskSlots {
    pub hall_id: String,
    pub business: String,
    pub date: NaiveDate,
    /// The days the machine offers.
    pub days: Vec<NaiveDate>,
    pub slots: Vec<SlotView>,
}

/// A booking at the machine: the seat, and who (from the card read and the keypad).
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KioskBookInput {
    pub slot_id: i64,
    pub business: String,
    /// The name read from the card.
    pub name: String,
    /// The identity number read from the card.
    pub id_number: String,
    /// Mainland mobile number, typed on the keypad.
    pub phone: String,
    /// The code sent to the phone, when the server requires verified phones.
    #[serde(default)]
    pub phone_code: Option<String>,
    /// `zh-CN` (default) or `en`: the texts' language.
    #[serde(default)]
    pub lang: Option<String>,
}

/// Neither the identity number nor the phone ever reaches a log.
impl std::fmt::Debug for KioskBookInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KioskBookInput")
            .field("slot_id", &self.slot_id)
            .field("business", &self.business)
            .finish_non_exhaustive()
    }
}

/// The booking made, and its slip for the printer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KioskBooking {
    /// As the portal's answer: the applicant masked.
    pub booking: BookingView,
    /// The slip (code, hall, business, time; the applicant masked), a PDF in base64; `null`
    /// when no form can be rendered (no font installed): the booking stands, and the screen
    /// shows the code to note (it was also texted).
    pub slip_pdf: Option<String>,
}

impl App {
    fn kiosk_hall(&self, p: &Principal, action: Action) -> AppResult<String> {
        self.require(p, action, None)?;
        match p {
            Principal::Device(d) => Ok(d.hall_id.clone()),
            _ => Err(crate::authz::denied(p)),
        }
    }

    /// The days a 预约机 offers, from today.
    pub fn kiosk_booking_days(&self) -> Vec<NaiveDate> {
        let today = self.clock.today();
        (0..KIOSK_BOOKING_DAYS)
            .map(|i| today + TimeDelta::days(i))
            .collect()
    }

    /// This hall's free, bookable seats of one day (today to six days ahead) for a business,
    /// as the portal's availability shows them (released days only, seats not yet begun).
    pub async fn kiosk_slots(&self, p: &Principal, q: &KioskSlotsQuery) -> AppResult<KioskSlots> {
        let hall = self.kiosk_hall(p, Action::KioskBook)?;
        let days = self.kiosk_booking_days();
        let date = q.date.unwrap_or(days[0]);
        if !days.contains(&date) {
            return Err(AppError::new(
                Code::DateRangeInvalid,
                "本机可预约今天起7天内的时段",
                "this machine books today and the next six days",
            ));
        }
        let v = self
            .availability(&crate::views::AvailabilityQuery {
                business: q.business.clone(),
                halls: Some(hall.clone()),
                from: Some(date),
                to: Some(date),
                only_free: Some(true),
            })
            .await?;
        Ok(KioskSlots {
            hall_id: hall,
            business: v.business,
            date,
            days,
            slots: v.slots,
        })
    }

    /// Books a seat of this hall for the citizen whose card was read: the portal's hold and
    /// confirmation on the device's channel, then the slip. A seat of another hall is
    /// `slot_not_at_site`.
    pub async fn kiosk_book(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        input: &KioskBookInput,
    ) -> AppResult<KioskBooking> {
        let hall = self.kiosk_hall(p, Action::KioskBook)?;
        let Principal::Device(d) = p else {
            return Err(crate::authz::denied(p));
        };
        let slot = self
            .slot_meta(input.slot_id)
            .await?
            .ok_or_else(|| AppError::from(Code::SlotNotFound))?;
        if slot.hall_id != hall {
            return Err(Code::SlotNotAtSite.into());
        }
        // The card's reading and the typed phone are checked before a seat is held, so that a
        // mistyped phone does not hold a seat for the hold's lifetime.
        let applicant = ApplicantInput::resident(&input.name, &input.id_number, &input.phone);
        self.parse_applicant(&applicant)?;
        let held = self
            .hold(
                &HoldInput {
                    slot_id: input.slot_id,
                    business: input.business.clone(),
                },
                client_addr.map(str::to_string),
            )
            .await?;
        let booking = self
            .confirm_on(
                d.kind.channel(),
                &ConfirmInput {
                    hold_id: held.hold_id,
                    applicant,
                    answers: Default::default(),
                    channel: None,
                    lang: input.lang.clone(),
                    phone_code: input.phone_code.clone(),
                    email: None,
                },
                client_addr.map(str::to_string),
            )
            .await?;
        self.count_use(p, "book").await;
        let slip_pdf = self
            .kiosk_slip_pdf(&booking)
            .await
            .ok()
            .map(|pdf| base64::engine::general_purpose::STANDARD.encode(pdf));
        Ok(KioskBooking { booking, slip_pdf })
    }

    /// The slip of a booking made at the machine: what the citizen needs to come back (the
    /// code, the hall, the business, the time), the applicant masked — a slip left in the
    /// tray tells a stranger nothing about whose it is.
    async fn kiosk_slip_pdf(&self, b: &BookingView) -> AppResult<Vec<u8>> {
        let mut rows = vec![
            ("预约号 Booking code".to_string(), b.code.clone()),
            (
                "业务 Business".into(),
                format!("{} {}", b.business.name_zh, b.business.name_en),
            ),
            (
                "大厅 Hall".into(),
                format!("{}（{}）", b.hall.name_zh, b.address_zh),
            ),
            (
                "时间 Time".into(),
                format!("{} {}–{}", b.date, b.start, b.end),
            ),
            ("申请人 Applicant".into(), b.applicant.name.clone()),
            ("证件号码 ID number".into(), b.applicant.id_number.clone()),
        ];
        if let Some(f) = b.fee_yuan {
            rows.push((
                "费用 Fee".into(),
                format!("{f} 元 yuan（窗口缴纳 paid at the window）"),
            ));
        }
        let form = wujing_forms::Form {
            title: format!("预约凭条 {}", b.code),
            subtitle: format!("Booking slip {} · {}", b.code, b.hall.name_en),
            rows,
            notes: vec![
                "请按预约时间携带身份证到大厅签到取号；预约号也已发送到您的手机。".into(),
                "Come at the time booked with your ID card and check in; the code was also sent to your phone.".into(),
            ],
            language: "zh-CN".into(),
        };
        self.render_form(form).await
    }
}
