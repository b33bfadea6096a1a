//! 前台通 (issue 17, mode 2): the machine on the citizen's side of a counter, bound to one
//! window. It reads the ID card into the officer's console of the same window (for the ticket
//! served there, never another window's), takes the window's current fee on its payment
//! terminal, then is the window's rating terminal (`/rate/{site}/{window}`, issue 16).
//!
//! The fee is the counter's own flow ([`App::take_fee`]'s rules): the server names the amount
//! (the ticket's fee) and the terminal reference, the page charges it with the bridge's
//! `payment.charge`, and the server records the payment — once per ticket (the database's
//! unique receipt per ticket), only for the ticket being served at this window, only for the
//! exact amount — under the officer who called the ticket, with its numbered receipt and
//! audit entry. The page never decides that a fee is paid: it shows what the server answers.

use crate::admin::Actor;
use crate::authz::{permits, Action, DevicePrincipal, Principal};
use crate::records::Payment;
use crate::{App, AppError, AppResult, Code};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use wujing_domain::Identity;
use wujing_store::{AdminChange, KioskStep, NewPayment, Private, Ticket};

/// What the card reader read.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QttCardInput {
    pub id_number: String,
    pub name: String,
}

/// The card read as the officer's console got it: masked on the kiosk's own screen.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QttCardView {
    pub ticket: String,
    pub id_number_masked: String,
    pub name_masked: String,
}

/// The window as the 前台通 sees it: the ticket served, its fee, and whether it is paid.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QttWindow {
    pub window: u32,
    /// The ticket called or served at the window, if any (its label, e.g. `A012`).
    pub ticket: Option<String>,
    /// The fee due for it, in fen (the bridge's unit); none without a ticket being served.
    pub amount_fen: Option<u64>,
    /// The terminal reference to charge it under.
    pub reference: Option<String>,
    pub paid: bool,
}

/// The terminal's answer to `payment.charge`, sent on to be recorded.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QttPaymentInput {
    /// The acquirer's transaction id (`payment.charge`'s `transaction_id`).
    pub transaction_id: String,
    /// `card` or `qr`.
    pub method: String,
    /// What the terminal charged, in fen.
    pub amount_fen: u64,
}

/// The card read at a window, for its officer's console: the name, the number masked as the
/// console masks the booked applicant's (revealing it in full stays the audited reveal), and
/// whether the card's identity is the ticket's — the check the officer needs.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CounterCardRead {
    pub ticket_id: i64,
    pub id_number_masked: String,
    pub name: String,
    pub matches_ticket: bool,
}

fn no_ticket() -> AppError {
    Code::NoTicketServed.into()
}

impl App {
    /// The 前台通 calling, and its window.
    fn qtt_device<'a>(&self, p: &'a Principal) -> AppResult<(&'a DevicePrincipal, u32)> {
        match p {
            Principal::Device(d) if permits(p, Action::KioskQtt, Some(&d.hall_id)) => d
                .window_number
                .map(|w| (d, w))
                .ok_or_else(|| crate::authz::denied(p)),
            _ => Err(crate::authz::denied(p)),
        }
    }

    /// The ticket called or being served at the window today.
    async fn window_ticket(&self, hall: &str, window: u32) -> AppResult<Option<Ticket>> {
        Ok(self
            .store
            .tickets_of_day(hall, self.clock.today())
            .await?
            .into_iter()
            .filter(|t| {
                t.window_number == Some(window) && (t.status == "called" || t.status == "serving")
            })
            .max_by_key(|t| (t.called_at, t.id)))
    }

    fn qtt_reference(t: &Ticket, window: u32) -> String {
        format!("QTT-{}-{window}-{}", t.hall_id, t.id)
    }

    /// The window's ticket, its fee and whether it is paid.
    pub async fn qtt_window(&self, p: &Principal) -> AppResult<QttWindow> {
        let (d, window) = self.qtt_device(p)?;
        let t = self.window_ticket(&d.hall_id, window).await?;
        let Some(t) = t else {
            return Ok(QttWindow {
                window,
                ticket: None,
                amount_fen: None,
                reference: None,
                paid: false,
            });
        };
        let fee = self.fee_of(&t).await?;
        let paid = self.store.payment_of(t.id).await?.is_some();
        Ok(QttWindow {
            window,
            ticket: Some(t.label.clone()),
            amount_fen: (t.status == "serving" && fee > 0).then_some(u64::from(fee) * 100),
            reference: Some(Self::qtt_reference(&t, window)),
            paid,
        })
    }

    /// The card read into the console of this window, for the ticket called or served there
    /// (audited as `counter.card_read`; the number and name sealed, one row per window).
    pub async fn qtt_card(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        input: &QttCardInput,
    ) -> AppResult<QttCardView> {
        let (d, window) = self.qtt_device(p)?;
        let id = self.parse_resident_id(&input.id_number)?;
        let name = input.name.trim();
        if name.is_empty()
            || name.chars().count() > 60
            || wujing_domain::text::forbidden_in_line(name).is_some()
        {
            return Err(Code::NameRequired.into());
        }
        let t = self
            .window_ticket(&d.hall_id, window)
            .await?
            .ok_or_else(no_ticket)?;
        let key = self.identity_key(&Identity::Resident(id.clone()));
        self.audit(
            &Actor::at_window(p, client_addr, window).in_hall(&d.hall_id),
            AdminChange::Kiosk(KioskStep::CardRead {
                hall_id: d.hall_id.clone(),
                window_number: window,
                ticket_id: t.id,
                id_number: Private(id.as_str().to_string()),
                name: Private(name.to_string()),
            }),
            "counter.card_read",
            format!("ticket:{}", t.label),
            Some(key),
            json!({ "window": window }),
        )
        .await?;
        self.count_use(p, "card_read").await;
        Ok(QttCardView {
            ticket: t.label,
            id_number_masked: id.masked(),
            name_masked: wujing_domain::text::mask_person_name(name),
        })
    }

    /// Records the fee the terminal charged for the ticket served at this window (see the
    /// module comment).
    pub async fn qtt_payment(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        input: &QttPaymentInput,
    ) -> AppResult<Payment> {
        let (d, window) = self.qtt_device(p)?;
        if !["card", "qr"].contains(&input.method.as_str()) {
            return Err(AppError::new(
                Code::MethodInvalid,
                "付款方式须为 card 或 qr",
                "the method must be card or qr",
            ));
        }
        let reference = input.transaction_id.trim();
        if reference.is_empty()
            || reference.len() > 64
            || wujing_domain::text::forbidden_in_line(reference).is_some()
        {
            return Err(Code::ReferenceRequired.into());
        }
        let t = self
            .window_ticket(&d.hall_id, window)
            .await?
            .filter(|t| t.status == "serving")
            .ok_or_else(no_ticket)?;
        let Some(officer_id) = t.officer_id else {
            return Err(no_ticket());
        };
        let amount = self.fee_of(&t).await?;
        if input.amount_fen != u64::from(amount) * 100 {
            return Err(Code::TerminalAmountMismatch.into());
        }
        let pay = self
            .store
            .record_payment(&NewPayment {
                ticket_id: t.id,
                amount_yuan: amount,
                method: input.method.clone(),
                reference: reference.into(),
                window_number: window,
                officer_id,
                now: self.clock.now(),
            })
            .await
            .map_err(|e| match e {
                wujing_store::StoreError::Refused(_) => {
                    AppError::new(Code::AlreadyPaid, "该号已缴费", "this ticket has been paid")
                }
                other => other.into(),
            })?;
        self.audit(
            &Actor::at_window(p, client_addr, window).in_hall(&t.hall_id),
            AdminChange::RecordOnly,
            "payment.record",
            format!("ticket:{}", t.label),
            Some(t.identity_key.clone()),
            json!({ "receipt": pay.receipt_no, "amount_yuan": amount, "method": input.method, "terminal": "qtt" }),
        )
        .await?;
        self.count_use(p, "pay").await;
        Ok(pay.into())
    }

    /// The card read at a window, for its officer's console: only while the ticket it was read
    /// for is the one given (the ticket the console shows as served).
    pub async fn counter_card_read(
        &self,
        p: &Principal,
        hall: &str,
        window: u32,
        ticket_id: i64,
    ) -> AppResult<Option<CounterCardRead>> {
        self.require(p, Action::Counter, Some(hall))?;
        let Some(c) = self
            .store
            .counter_card_read(hall, window)
            .await?
            .filter(|c| c.ticket_id == ticket_id)
        else {
            return Ok(None);
        };
        let ticket_key = self.store.ticket(ticket_id).await?.map(|t| t.identity_key);
        let card_key = wujing_domain::ResidentId::parse(&c.id_number, self.clock.today())
            .ok()
            .map(|id| self.identity_key(&Identity::Resident(id)));
        Ok(Some(CounterCardRead {
            ticket_id: c.ticket_id,
            id_number_masked: wujing_domain::idnum::mask_id_number(&c.id_number),
            name: c.name,
            matches_ticket: card_key.is_some() && card_key == ticket_key,
        }))
    }
}
