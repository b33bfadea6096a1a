//! Release policies and the lottery release (NOTES.md §4).
//!
//! In lottery mode nobody can hold a seat of day D before its release: citizens enter during
//! the window before it, each identity once, with their preferred halls, and are checked for
//! eligibility on entry. At the release the entries are put in a random order by
//! `wujing_domain::lottery::draw_order` with a fresh seed that is recorded first, and served
//! in that order: each gets the earliest free seat in the first preferred hall that has one.
//! Losers are offered what is left. Anyone can recompute the order from the published seed.

use crate::booking::{confirm_error, new_code, ApplicantInput};
use crate::views::{slot_view, unknown_business, SlotView};
use crate::{App, AppError, AppResult, Code, Metrics};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use utoipa::ToSchema;
use wujing_domain::eligibility::{Answers, Identity};
use wujing_domain::idnum::mask_id_number;
use wujing_domain::{Pool, ResidentId};
use wujing_store::{
    Draw, EntryStatus, IdKind, LotteryEntry, NewBooking, NewEntry, SlotQuery, StoreError,
};

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryInput {
    /// The day whose seats are wanted.
    pub day: NaiveDate,
    pub business: String,
    /// One to three hall ids, most wanted first.
    pub halls: Vec<String>,
    pub applicant: ApplicantInput,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub answers: Answers,
    /// Deprecated, as in a booking: the channel is derived from the caller.
    #[serde(default)]
    pub channel: Option<String>,
    /// The code sent to the applicant's phone (`POST /api/v1/phone-codes`), required when
    /// confirmations require one: an entry uses up the identity's one entry for the day, so
    /// it needs the same proof of the phone as a booking.
    #[serde(default)]
    pub phone_code: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EntryView {
    /// A random 64-bit number, not a sequence: knowing one entry tells nothing of the others.
    pub entry_id: i64,
    pub day: NaiveDate,
    pub business: String,
    pub halls: Vec<String>,
    /// `entered`, `won` or `lost`.
    pub status: String,
    /// Masked identity number of the entrant.
    pub id_number: String,
    /// When the entries are drawn.
    pub draw_at: DateTime<Utc>,
    /// The booking code when the entry won.
    pub booking_code: Option<String>,
    /// Free seats of the day left after the draw, offered to a losing entry.
    pub alternatives: Vec<SlotView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DrawView {
    pub day: NaiveDate,
    /// The seed of the draw: with the entries in id order it reproduces the draw order
    /// (SplitMix64-driven Fisher–Yates, see `wujing_domain::lottery`).
    pub seed: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub entries: u64,
    pub winners: u64,
}

impl From<Draw> for DrawView {
    fn from(d: Draw) -> Self {
        Self {
            day: d.release_day,
            seed: d.seed.to_string(),
            started_at: d.started_at,
            finished_at: d.finished_at,
            entries: d.entries,
            winners: d.winners,
        }
    }
}

/// A draw unfinished this long after it started is taken over by whoever sees it.
const STALE_DRAW: TimeDelta = TimeDelta::minutes(5);

fn lottery_error(code: Code, zh: String, en: String, at: DateTime<Utc>) -> AppError {
    AppError::new(code, zh, en).with_details(json!({ "at": at }))
}

impl App {
    /// Refuses seats of `day` before their release, and in lottery mode before its draw.
    pub(crate) async fn check_released(&self, day: NaiveDate) -> AppResult<()> {
        let policy = self.config.release;
        let release_at = policy.release_at(day);
        let now = self.clock.now();
        if now < release_at {
            return Err(lottery_error(
                Code::NotYetReleased,
                format!("{day}的预约名额尚未放出，将于{release_at}放出"),
                format!("seats of {day} are released at {release_at}"),
                release_at,
            ));
        }
        if policy.is_lottery() && !self.caches.draw_finished(day) {
            match self.store.draw(day).await? {
                Some(d) if d.finished_at.is_some() => self.caches.set_draw_finished(day),
                _ => {
                    return Err(lottery_error(
                        Code::LotteryPending,
                        format!("{day}的预约名额正在摇号分配，结束后剩余名额开放预约"),
                        format!(
                            "the lottery for {day} is being drawn; remaining seats open afterwards"
                        ),
                        release_at,
                    ))
                }
            }
        }
        Ok(())
    }

    /// Whether day `day`'s online seats can be booked directly now (for listings).
    pub(crate) async fn is_open_for_booking(&self, day: NaiveDate) -> bool {
        self.check_released(day).await.is_ok()
    }

    /// Enters the lottery of a day (one entry per identity and day).
    pub async fn enter_lottery(
        &self,
        p: &crate::Principal,
        input: &EntryInput,
        client_addr: Option<String>,
    ) -> AppResult<EntryView> {
        let channel = crate::channels::of_citizen_request(p)?;
        crate::channels::check_stated(input.channel.as_deref(), channel)?;
        let policy = self.config.release;
        if !policy.is_lottery() {
            return Err(AppError::new(
                Code::LotteryNotUsed,
                "预约名额按时间放出，无需摇号登记，请直接预约",
                "seats are released on a rolling window without a lottery; book directly",
            ));
        }
        let applicant = self.parse_applicant(&input.applicant)?;
        let business = self
            .catalogue
            .business(&input.business)
            .ok_or_else(|| unknown_business(&input.business))?;
        let now = self.clock.now();
        let (opens, draw_at) = (
            policy.entries_open_at(input.day),
            policy.release_at(input.day),
        );
        if now < opens {
            return Err(lottery_error(
                Code::LotteryNotOpen,
                format!("{}的摇号登记将于{opens}开始", input.day),
                format!("entries for {} open at {opens}", input.day),
                opens,
            ));
        }
        if now >= draw_at {
            return Err(lottery_error(
                Code::LotteryClosed,
                format!("{}的摇号登记已截止", input.day),
                format!("entries for {} have closed", input.day),
                draw_at,
            ));
        }
        if input.halls.is_empty() || input.halls.len() > 3 {
            return Err(AppError::new(
                Code::HallsInvalid,
                "请选择一至三个意向大厅",
                "choose one to three halls, most wanted first",
            ));
        }
        let index = self.hall_index().await?;
        for h in &input.halls {
            let hall = index.get(h).ok_or_else(|| crate::views::unknown_hall(h))?;
            if !hall.offers(&business.code) {
                return Err(crate::views::not_offered(hall, &business.code));
            }
        }
        // The phone code first, as a confirmation checks it: an entry uses up the identity's one
        // entry, so nobody may enter for someone without the code sent to their phone. With the
        // code the records' reasons may be shown; without it they stay hidden.
        // Used up with the entry, in its transaction: a refused entry leaves it for the retry.
        let mut phone_code_id = None;
        let control = match input.phone_code.as_deref() {
            Some(code) => {
                phone_code_id = Some(
                    self.check_phone_code(&applicant.phone, "book", code)
                        .await?,
                );
                crate::booking::Control::Phone
            }
            None if self.config.require_phone_code => {
                return Err(AppError::new(
                    Code::PhoneCodeRequired,
                    "请先获取并填写手机验证码",
                    "ask for the code sent to your phone and enter it",
                ))
            }
            None => crate::booking::Control::None,
        };
        self.require_eligible(
            &business.code,
            &applicant,
            &input.answers,
            input.day,
            control,
        )
        .await?;
        let (id_kind, id_number, nationality) = identity_parts(&applicant.identity);
        // A foreigner's linked passports enter, and are awarded a booking, as one person.
        let identity_key = self.booking_key(&applicant.identity).await?;
        let entry = NewEntry {
            // Random over all 64 bits, so that entries cannot be listed by counting.
            id: rand::thread_rng().gen::<i64>(),
            release_day: input.day,
            business: business.code.clone(),
            option_code: input.answers.option.clone(),
            identity_key,
            id_kind,
            id_number,
            nationality,
            name: applicant.name,
            phone: applicant.phone,
            answers_json: serde_json::to_string(&input.answers).unwrap_or_else(|_| "{}".into()),
            hall_ids: input.halls.clone(),
            channel: channel.as_str().to_string(),
            client_addr,
            now,
            phone_code_id,
        };
        match self.store.add_lottery_entry(&entry).await {
            Ok(e) => self.entry_view(&e).await,
            Err(StoreError::AlreadyEntered) => Err(AppError::new(
                Code::AlreadyEntered,
                "该证件号码已登记过这一天的摇号",
                "this identity has already entered this day's lottery",
            )),
            Err(StoreError::NotFound("open lottery")) => Err(lottery_error(
                Code::LotteryClosed,
                format!("{}的摇号登记已截止", input.day),
                format!("entries for {} have closed", input.day),
                draw_at,
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// An entry, for its owner.
    pub async fn lottery_entry(
        &self,
        id: i64,
        id_number: &str,
        client_addr: Option<&str>,
    ) -> AppResult<EntryView> {
        let not_found = || {
            AppError::new(
                Code::EntryNotFound,
                "没有找到与该登记号和证件号码相符的摇号登记",
                "no lottery entry matches this number and identity number",
            )
        };
        let proof = self.normalise_proof(id_number);
        let e = self
            .owner_proof(&format!("entry:{id}"), client_addr, async {
                Ok(self
                    .store
                    .lottery_entry(id)
                    .await?
                    .filter(|e| e.entry.id_number == proof))
            })
            .await?
            .ok_or_else(not_found)?;
        self.entry_view(&e).await
    }

    pub async fn lottery_draw(&self, day: NaiveDate) -> AppResult<DrawView> {
        self.store
            .draw(day)
            .await?
            .map(DrawView::from)
            .ok_or_else(|| {
                AppError::new(
                    Code::DrawNotFound,
                    format!("{day}尚未摇号"),
                    format!("no draw has been made for {day}"),
                )
            })
    }

    async fn entry_view(&self, e: &LotteryEntry) -> AppResult<EntryView> {
        let alternatives = if e.status == EntryStatus::Lost {
            self.free_seats_of(e.entry.release_day, 10).await?
        } else {
            Vec::new()
        };
        Ok(EntryView {
            entry_id: e.id,
            day: e.entry.release_day,
            business: e.entry.business.clone(),
            halls: e.entry.hall_ids.clone(),
            status: e.status.as_str().to_string(),
            id_number: mask_id_number(&e.entry.id_number),
            draw_at: self.config.release.release_at(e.entry.release_day),
            booking_code: e.booking_code.clone(),
            alternatives,
        })
    }

    async fn free_seats_of(&self, day: NaiveDate, limit: u32) -> AppResult<Vec<SlotView>> {
        let index = self.hall_index().await?;
        let slots = self
            .store
            .slots(&SlotQuery {
                from: Some(day),
                to: Some(day),
                pool: Some(Pool::Online),
                only_free: true,
                starts_after: Some(self.clock.now()),
                limit: Some(limit),
                ..Default::default()
            })
            .await?;
        Ok(slots
            .iter()
            .map(|s| slot_view(s, index.get(&s.hall_id).map_or(30, |h| h.slot_minutes)))
            .collect())
    }

    /// Draws every lottery whose release moment has passed; run by the server's sweeper. Only
    /// one instance draws a day: the draw row, with its seed, is written before anything else.
    pub async fn run_due_draws(&self) -> AppResult<Vec<DrawView>> {
        let policy = self.config.release;
        if !policy.is_lottery() {
            return Ok(Vec::new());
        }
        let today = self.clock.today();
        let now = self.clock.now();
        let mut done = Vec::new();
        for d in 0..=i64::from(policy.days_ahead) {
            let day = today + TimeDelta::days(d);
            if policy.release_at(day) > now || self.caches.draw_finished(day) {
                continue;
            }
            match self.store.draw(day).await? {
                Some(d) if d.finished_at.is_some() => {
                    self.caches.set_draw_finished(day);
                    continue;
                }
                // A draw that started long ago and never finished: its drawer died. The same
                // seed gives the same order, so finishing it is the draw that was started;
                // awards are conditional, so racing a slow drawer is harmless.
                Some(d) if now - d.started_at > STALE_DRAW => {
                    let entries = self.store.lottery_entries(day).await?;
                    done.push(self.draw_day(day, d.seed, entries).await?);
                    continue;
                }
                Some(_) => continue,
                None => {}
            }
            let seed: u64 = rand::thread_rng().gen();
            if let Some(entries) = self.store.start_draw(day, seed, now).await? {
                done.push(self.draw_day(day, seed, entries).await?);
            }
        }
        Ok(done)
    }

    async fn draw_day(
        &self,
        day: NaiveDate,
        seed: u64,
        entries: Vec<LotteryEntry>,
    ) -> AppResult<DrawView> {
        // The order covers every entry of the day; a resumed draw skips those already served.
        let order = wujing_domain::lottery::draw_order(&entries, seed);
        let index = self.hall_index().await?;
        // Free seats of the day by hall, earliest first; counts are tracked locally and the
        // store's atomic take remains the judge.
        let mut free: BTreeMap<String, Vec<(i64, u32)>> = BTreeMap::new();
        for s in self
            .store
            .slots(&SlotQuery {
                from: Some(day),
                to: Some(day),
                pool: Some(Pool::Online),
                only_free: true,
                ..Default::default()
            })
            .await?
        {
            free.entry(s.hall_id.clone())
                .or_default()
                .push((s.id, s.free()));
        }
        for e in order.iter().filter(|e| e.status == EntryStatus::Entered) {
            let Ok(identity) = self.entry_identity(e) else {
                continue;
            };
            let answers: Answers = serde_json::from_str(&e.entry.answers_json).unwrap_or_default();
            let applicant = crate::booking::Applicant {
                identity,
                name: e.entry.name.clone(),
                phone: e.entry.phone.clone(),
            };
            // Eligibility can change between entry and draw (a document issued meanwhile).
            if !self
                .eligibility_reasons(&e.entry.business, &applicant, &answers, day)
                .await?
                .is_empty()
            {
                continue;
            }
            let fee = self
                .catalogue
                .terms(&e.entry.business, day)
                .and_then(|t| t.fee_for(e.entry.option_code.as_deref()));
            'halls: for hall in &e.entry.hall_ids {
                // A site that stopped offering the business since the entry awards no seat of it.
                if !index.get(hall).is_some_and(|h| h.offers(&e.entry.business)) {
                    continue;
                }
                let Some(slots) = free.get_mut(hall) else {
                    continue;
                };
                for (slot_id, left) in slots.iter_mut().filter(|(_, l)| *l > 0) {
                    let mut b = NewBooking {
                        code: new_code(self.clock.now()),
                        hold_id: String::new(),
                        business: e.entry.business.clone(),
                        option_code: e.entry.option_code.clone(),
                        identity_key: e.entry.identity_key.clone(),
                        id_kind: e.entry.id_kind,
                        id_number: e.entry.id_number.clone(),
                        nationality: e.entry.nationality.clone(),
                        name: e.entry.name.clone(),
                        phone: e.entry.phone.clone(),
                        answers_json: e.entry.answers_json.clone(),
                        fee_yuan: fee,
                        channel: e.entry.channel.clone(),
                        now: self.clock.now(),
                        client_addr: e.entry.client_addr.clone(),
                        limits: Vec::new(),
                        notices: Vec::new(),
                        lang: "zh-CN".into(),
                        // The entry used its code; the award needs none.
                        phone_code_id: None,
                    };
                    let mut attempt = 0;
                    let r = loop {
                        attempt += 1;
                        match self.store.award_entry(e.id, *slot_id, &b).await {
                            Err(StoreError::CodeTaken) if attempt < 5 => b.code = new_code(b.now),
                            other => break other,
                        }
                    };
                    match r {
                        Ok(_) => {
                            *left -= 1;
                            Metrics::inc(&self.metrics.bookings_confirmed);
                            break 'halls;
                        }
                        Err(StoreError::SlotFull) => *left = 0,
                        // Already holds a booking for this business: the entry loses.
                        Err(StoreError::AlreadyBooked) => break 'halls,
                        // Served meanwhile by another instance finishing a stale draw.
                        Err(StoreError::NotFound("entry")) => break 'halls,
                        // The site stopped offering the business meanwhile: the next hall.
                        Err(StoreError::Refused("business_not_offered")) => continue 'halls,
                        Err(other) => return Err(confirm_error(other)),
                    }
                }
            }
        }
        let draw = self.store.finish_draw(day, self.clock.now()).await?;
        self.caches.set_draw_finished(day);
        tracing::info!(%day, entries = draw.entries, winners = draw.winners, "lottery drawn");
        Ok(draw.into())
    }

    fn entry_identity(&self, e: &LotteryEntry) -> AppResult<Identity> {
        Ok(match e.entry.id_kind {
            IdKind::ResidentId => Identity::Resident(
                ResidentId::parse(&e.entry.id_number, self.clock.today())
                    .map_err(AppError::from)?,
            ),
            IdKind::ForeignPassport => Identity::Foreign {
                nationality: e.entry.nationality.clone().unwrap_or_default(),
                passport_number: e.entry.id_number.clone(),
                birth_date: None,
            },
        })
    }
}

pub(crate) fn identity_parts(i: &Identity) -> (IdKind, String, Option<String>) {
    match i {
        Identity::Resident(id) => (IdKind::ResidentId, id.as_str().to_string(), None),
        Identity::Foreign {
            nationality,
            passport_number,
            ..
        } => (
            IdKind::ForeignPassport,
            passport_number.clone(),
            Some(nationality.clone()),
        ),
    }
}
