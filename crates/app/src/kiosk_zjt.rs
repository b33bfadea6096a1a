//! 证件通 (zjt, issue 17): a foreigner's passport read by the machine's MRZ reader, checked
//! here, and taken into one of two use cases (docs/KIOSK.md §7.4):
//!
//! - **check-in**: a foreigner has no resident ID card for the check-in kiosk to read, so the
//!   checked zone's passport identity (number, nationality, birth date, normalised as booking
//!   does) finds today's active booking at this hall through every passport linked to the
//!   person, and checks it in through the check-in use case itself
//!   ([`App::check_in_booking`]: the same rules, errors, queue, ticket and audit entry);
//! - **accommodation registration** (境外人员住宿登记) for a stay at a private home: the passport
//!   fills the guest (`lodging::prefill`), a visa's zone (MRV-A/B) the date the stay is allowed
//!   until, and the registration goes through the online host registration's own use case
//!   ([`App::register_host_by`]: the same limit, validation, record, worklist and audit). The
//!   answer, its reference and one-time code, is also rendered as a receipt for the printer.
//!
//! Every zone is re-read and checked here: a failed check digit is `mrz_check_failed`, and the
//! screen asks for the passport to be laid flat and read again. Nothing of the zone or the
//! host is logged (`Debug` shows none of it); what the screen is answered is masked.

use crate::authz::{Action, Principal};
use crate::hall::TicketView;
use crate::lodging::{HostInput, HostReceipt};
use crate::{App, AppError, AppResult, Code};
use base64::Engine;
use chrono::{NaiveDate, TimeZone};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wujing_domain::lodging::{self as rules, Host, Problem, Stay};
use wujing_domain::mrz::{Format, Mrz};

/// Which page of the document a zone was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ZjtPage {
    /// The passport's photo page (TD3), or a travel document card (TD1, TD2).
    Passport,
    /// A visa (MRV-A or MRV-B) in that passport.
    Visa,
}

/// A zone as the reader gave it.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZjtReadInput {
    /// The zone's lines as read (`mrz.read`).
    pub mrz: Vec<String>,
    /// The page it should be: `passport` (default) or `visa`.
    #[serde(default)]
    pub page: Option<ZjtPage>,
}

impl std::fmt::Debug for ZjtReadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZjtReadInput")
            .field("page", &self.page)
            .finish_non_exhaustive()
    }
}

/// A zone read and checked, as the screen may show it: masked.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ZjtRead {
    pub page: ZjtPage,
    /// The name, masked (`E*******`).
    pub name: String,
    /// ICAO code (`DEU` for a zone's `D<<`).
    pub nationality: String,
    /// The document number, masked (`L8*****36`).
    pub document_number: String,
    /// A visa's (or permit card's) last day of stay, to fill the registration.
    pub stay_until: Option<NaiveDate>,
}

/// The passport read for a check-in.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZjtCheckInInput {
    /// The passport's zone as read.
    pub mrz: Vec<String>,
}

impl std::fmt::Debug for ZjtCheckInInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZjtCheckInInput").finish_non_exhaustive()
    }
}

/// A check-in made: the ticket, and its printout.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ZjtCheckIn {
    pub ticket: TicketView,
    /// The ticket as a PDF in base64 for the bridge's printer (as `/kiosk/tickets/{id}/pdf`);
    /// null when none could be rendered (the ticket stands).
    pub ticket_pdf: Option<String>,
}

/// A private-home accommodation registration made at the machine.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZjtLodgingInput {
    /// The passport's zone as read.
    pub passport: Vec<String>,
    /// A visa's zone as read, when the guest stays on a visa in that passport.
    #[serde(default)]
    pub visa: Option<Vec<String>>,
    /// The kind of visa or permit (`L`, `F`, `visa_free`, …: `lodging::VISA_KINDS`).
    pub visa_kind: String,
    /// The last day of the permitted stay, `YYYY-MM-DD` or `YYYYMMDD` as typed; absent: the
    /// visa's zone (or a permit card's) gives it.
    #[serde(default)]
    pub stay_until: Option<String>,
    /// The host's name (from the ID card read, or typed).
    pub host_name: String,
    /// The host's resident ID number (from the card, or typed).
    pub host_id_number: String,
    /// The host's phone, typed on the keypad.
    pub host_phone: String,
    /// The address in China where the guest stays.
    pub address: String,
    /// The police station of the address (a site of kind `police_station`).
    pub station: String,
    /// The day the guest moved in; absent: today.
    #[serde(default)]
    pub check_in: Option<NaiveDate>,
    /// `zh` or `en`: the language of texts about the registration.
    #[serde(default)]
    pub lang: String,
}

/// Nothing of the input ever reaches a log.
impl std::fmt::Debug for ZjtLodgingInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZjtLodgingInput")
            .field("visa_kind", &self.visa_kind)
            .field("station", &self.station)
            .finish_non_exhaustive()
    }
}

/// The registration made: the reference and code (shown once) and their printout.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ZjtReceipt {
    pub reference: String,
    /// The 8-digit code that proves the registration later (its status on the portal).
    pub code: String,
    /// `on_time`, `warning_only` or `late`.
    pub lateness: String,
    /// The police station's names.
    pub station_zh: String,
    pub station_en: String,
    /// The receipt as a PDF in base64 for the bridge's printer; null when none could be
    /// rendered (the registration stands, and the screen shows the reference and code).
    pub receipt_pdf: Option<String>,
}

fn wrong_page(page: ZjtPage) -> AppError {
    let (zh, en) = match page {
        ZjtPage::Passport => (
            "读取的不是护照资料页：请把护照资料页（有照片的一页）平放在阅读器上",
            "this is not the passport's photo page: put the page with the photo flat on the reader",
        ),
        ZjtPage::Visa => (
            "读取的不是该护照上的签证：请放上本护照中签证所在的一页",
            "this is not a visa of this passport: put the page of this passport with the visa on the reader",
        ),
    };
    AppError::new(Code::MrzWrongPage, zh, en)
}

/// A zone read, its check digits checked, and of the page asked for.
fn checked(lines: &[String], page: ZjtPage, today: NaiveDate) -> AppResult<Mrz> {
    let m = wujing_domain::mrz::read(lines, today).map_err(crate::mrz::refusal)?;
    if !m.valid {
        return Err(Code::MrzCheckFailed.into());
    }
    let visa = matches!(m.format, Format::MrvA | Format::MrvB);
    // A Mainland travel permit (CS/CD) is no foreigner's passport.
    let permit = matches!(m.format, Format::Cs | Format::Cd);
    match page {
        ZjtPage::Passport if visa || permit => Err(wrong_page(page)),
        ZjtPage::Visa if !visa => Err(wrong_page(page)),
        _ => Ok(m),
    }
}

/// A typed date: `YYYY-MM-DD` or the keypad's `YYYYMMDD`.
fn typed_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    let digits: String = s.chars().filter(|c| *c != '-').collect();
    let shape = match s.len() {
        8 => digits.len() == 8,
        10 => digits.len() == 8 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-',
        _ => false,
    };
    if !shape || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDate::parse_from_str(&digits, "%Y%m%d").ok()
}

impl App {
    /// The device `p`, a 证件通 of its site, or 403.
    fn zjt_device<'a>(&self, p: &'a Principal) -> AppResult<&'a crate::authz::DevicePrincipal> {
        self.require(p, Action::KioskPassport, None)?;
        match p {
            Principal::Device(d) => Ok(d),
            _ => Err(crate::authz::denied(p)),
        }
    }

    /// Reads and checks one zone at the 证件通, for the screen to show (masked) before going
    /// on; nothing is stored or counted.
    pub async fn zjt_read(&self, p: &Principal, input: &ZjtReadInput) -> AppResult<ZjtRead> {
        self.zjt_device(p)?;
        let page = input.page.unwrap_or(ZjtPage::Passport);
        let m = checked(&input.mrz, page, self.clock.today())?;
        let g = rules::prefill(&m);
        let name = if g.surname.is_empty() {
            g.given_names.clone()
        } else {
            g.surname.clone()
        };
        Ok(ZjtRead {
            page,
            name: rules::mask_name(&name),
            nationality: g.nationality,
            document_number: rules::mask_document(&g.document_number),
            stay_until: g.stay_until,
        })
    }

    /// Checks in, at the 证件通's hall, the foreigner whose passport was read: today's active
    /// booking here of any passport linked to the person, checked in exactly as at the
    /// check-in kiosk (one checked in already is `already_checked_in`, as there). No booking
    /// today here is `booking_not_found` with the next step.
    pub async fn zjt_check_in(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        input: &ZjtCheckInInput,
    ) -> AppResult<ZjtCheckIn> {
        let d = self.zjt_device(p)?;
        let hall = d.hall_id.clone();
        let today = self.hall_day();
        let m = checked(&input.mrz, ZjtPage::Passport, self.clock.today())?;
        let identity = crate::foreign::passport_identity(
            Some(&m.nationality),
            &m.document_number,
            m.birth_date,
            self.clock.today(),
        )?;
        // Today's bookings here of every passport of the person; an active one first, else
        // one checked in or cancelled already, which the check-in refuses with its own error.
        let mut here = Vec::new();
        for key in self.person_keys(&identity).await? {
            here.extend(
                self.store
                    .current_bookings_of(&key)
                    .await?
                    .into_iter()
                    .filter(|b| b.slot.hall_id == hall && b.slot.day == today),
            );
        }
        let active = here
            .iter()
            .position(|b| b.status == wujing_store::BookingStatus::Active);
        let found = match active {
            Some(i) => Some(here.swap_remove(i)),
            None => here.into_iter().next(),
        };
        let b = found.ok_or_else(|| {
            AppError::new(
                Code::BookingNotFound,
                "没有找到您今天在本大厅的预约。请在网上办事大厅“外国人”栏目预约，或到咨询台咨询",
                "no booking of yours today at this hall: book on the portal's pages for foreigners, or ask at the information desk",
            )
        })?;
        let ticket = self.check_in_booking(p, &hall, client_addr, b).await?;
        self.count_use(p, "check_in").await;
        let pdf = match self.store.ticket(ticket.id).await {
            Ok(Some(t)) => self.ticket_pdf(&t).await.ok(),
            _ => None,
        };
        Ok(ZjtCheckIn {
            ticket,
            ticket_pdf: pdf.map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
        })
    }

    /// Registers a foreigner's stay at a private home from the 证件通: the guest from the
    /// passport's zone (and a visa's), the host as read or typed, through the online host
    /// registration's use case; answers its reference and code with a receipt to print.
    pub async fn zjt_register(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        input: &ZjtLodgingInput,
    ) -> AppResult<ZjtReceipt> {
        self.zjt_device(p)?;
        let today = self.clock.today();
        let passport = checked(&input.passport, ZjtPage::Passport, today)?;
        let mut guest = rules::prefill(&passport);
        if let Some(lines) = &input.visa {
            let visa = checked(lines, ZjtPage::Visa, today)?;
            if rules::normalise_document(&visa.document_number)
                != rules::normalise_document(&passport.document_number)
            {
                return Err(wrong_page(ZjtPage::Visa));
            }
            guest.stay_until = visa.expiry_date;
        }
        guest.visa_kind = input.visa_kind.trim().to_string();
        let mut problems = Vec::new();
        match input.stay_until.as_deref().map(str::trim) {
            None | Some("") => {}
            Some(s) => match typed_date(s) {
                Some(d) => guest.stay_until = Some(d),
                None => problems.push(Problem {
                    field: "stay_until",
                    code: "stay_until_invalid",
                    zh: "停留截止日期应为8位数字，如20270131".into(),
                    en: "the last day of stay is 8 digits, such as 20270131".into(),
                }),
            },
        }
        // The hour of arrival is not asked: today is now, an earlier day its noon.
        let now = self.clock.now();
        let check_in = match input.check_in {
            None => now,
            Some(d) if d >= today => now,
            Some(d) => wujing_domain::calendar::china_offset()
                .from_local_datetime(&d.and_hms_opt(12, 0, 0).expect("noon"))
                .single()
                .map_or(now, |t| t.with_timezone(&chrono::Utc)),
        };
        let host_input = HostInput {
            station: input.station.trim().to_string(),
            host: Host {
                name: input.host_name.trim().to_string(),
                id_number: input.host_id_number.trim().to_ascii_uppercase(),
                phone: input.host_phone.trim().to_string(),
                relationship: String::new(),
                address: input.address.trim().to_string(),
            },
            guest,
            stay: Stay {
                check_in: Some(check_in),
                ..Stay::default()
            },
            lang: if input.lang == "en" { "en" } else { "zh" }.into(),
        };
        let HostReceipt {
            reference,
            code,
            lateness,
        } = self
            .register_host_by(&host_input, client_addr, Some(p), problems)
            .await?;
        self.count_use(p, "lodging").await;
        let station = self.store.hall(&host_input.station).await?;
        let (station_zh, station_en) = station.map(|h| (h.name_zh, h.name_en)).unwrap_or_default();
        let g = &host_input.guest;
        let form = wujing_forms::Form {
            title: "境外人员住宿登记回执".into(),
            // The station's English name in the subtitle: both in one cell shrink to unreadable.
            subtitle: format!("Accommodation registration receipt · {station_en}"),
            rows: vec![
                ("登记编号 Reference".into(), reference.clone()),
                ("查询码 Code".into(), code.clone()),
                ("派出所 Police station".into(), station_zh.clone()),
                (
                    "住客 Guest".into(),
                    format!("{} ({})", rules::mask_name(&g.surname), g.nationality),
                ),
                (
                    "证件 Document".into(),
                    rules::mask_document(&g.document_number),
                ),
                ("入住日期 Check-in".into(), rules::china_day(check_in).to_string()),
                (
                    "登记时间 Registered".into(),
                    now.with_timezone(&wujing_domain::calendar::china_offset())
                        .format("%Y-%m-%d %H:%M")
                        .to_string(),
                ),
            ],
            notes: vec![
                "请妥善保管登记编号和查询码，凭其在网上查询派出所的核查结果。".into(),
                "Keep the reference and the code: with them you can see the police station's check of this registration online.".into(),
            ],
            language: "zh-CN".into(),
        };
        let pdf = self.render_form(form).await.ok();
        Ok(ZjtReceipt {
            reference,
            code,
            lateness,
            station_zh,
            station_en,
            receipt_pdf: pdf.map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_dates_take_both_forms() {
        let d = NaiveDate::from_ymd_opt(2027, 1, 31);
        assert_eq!(typed_date("20270131"), d);
        assert_eq!(typed_date(" 2027-01-31 "), d);
        assert_eq!(typed_date("20271331"), None);
        assert_eq!(typed_date("2027013"), None);
        assert_eq!(typed_date("2027-1-31"), None);
        assert_eq!(typed_date("2027013a"), None);
    }

    #[test]
    fn the_inputs_debug_shows_nothing_personal() {
        let i = ZjtLodgingInput {
            passport: vec!["P<UTOERIKSSON<<ANNA".into()],
            visa: None,
            visa_kind: "L".into(),
            stay_until: None,
            host_name: "张三".into(),
            host_id_number: "11010519491231002X".into(),
            host_phone: "13800138000".into(),
            address: "街口街 1 号".into(),
            station: "s".into(),
            check_in: None,
            lang: String::new(),
        };
        let shown = format!("{i:?}");
        for secret in [
            "ERIKSSON",
            "张三",
            "11010519491231002X",
            "13800138000",
            "街口街",
        ] {
            assert!(!shown.contains(secret), "{shown}");
        }
        let c = ZjtCheckInInput {
            mrz: vec!["P<UTOERIKSSON".into()],
        };
        assert!(!format!("{c:?}").contains("ERIKSSON"));
    }
}
