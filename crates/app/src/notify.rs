//! The notification port: messages are written to the outbox in the same transaction as the
//! change that causes them, and a dispatcher delivers them afterwards through a provider, at
//! least once, with retries and exponential backoff. Every message carries an idempotency key
//! that providers pass on, so a gateway can drop a redelivery and the citizen gets one text.
//!
//! This crate speaks no network protocol: the console provider is here, the SMS gateway and
//! SMTP clients are adapters in `wujing-outbound`, wired in by the composition root.

use crate::{App, AppResult, Code};
use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use std::io::Write as _;
use std::sync::Arc;
use wujing_domain::idnum::mask_phone;
/// A message of the outbox, as handed to a provider.
pub use wujing_store::Message;
use wujing_store::NewMessage;

/// Where messages go when the app is given no provider for them: the console, the embedded
/// default, so a newcomer sees the codes and confirmations. The SMS gateway and the SMTP relay
/// are adapters of the `wujing-outbound` crate, handed to the app by the composition root
/// ([`App::with_sms_provider`], [`App::with_mail_provider`]).
#[derive(Debug, Clone, Default)]
pub enum SmsConfig {
    /// Print to standard output.
    #[default]
    Console,
    /// Print to standard output and append to this file.
    ConsoleFile(std::path::PathBuf),
}

/// A way to deliver a message. `Err` means "try again later".
#[async_trait]
pub trait Provider: Send + Sync {
    async fn send(&self, m: &Message) -> Result<(), String>;
}

/// The console provider `cfg` describes.
pub fn provider(cfg: &SmsConfig) -> Arc<dyn Provider> {
    match cfg {
        SmsConfig::Console => Arc::new(Console { file: None }),
        SmsConfig::ConsoleFile(p) => Arc::new(Console {
            file: Some(p.clone()),
        }),
    }
}

/// A plausible e-mail address (the relay has the last word).
pub fn parse_email(e: &str) -> AppResult<String> {
    let ok = e.len() <= 254
        && !e
            .chars()
            .any(|c| c.is_whitespace() || c == '<' || c == '>' || c == ',')
        && e.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
        });
    if ok {
        Ok(e.to_string())
    } else {
        Err(crate::AppError::new(
            Code::EmailInvalid,
            "电子邮箱地址格式不正确",
            "the e-mail address is not valid",
        ))
    }
}

/// The subject line of an e-mail, in the message's language, under the signature the
/// (signed) text carries.
pub fn subject_of(m: &Message) -> String {
    let english = m.body.starts_with('[');
    let sign = if english {
        m.body.find(']').map(|i| &m.body[..=i])
    } else {
        m.body
            .starts_with('【')
            .then(|| m.body.find('】').map(|i| &m.body[..i + '】'.len_utf8()]))
            .flatten()
    };
    let what = match (m.topic.as_str(), english) {
        ("confirmation", false) => "预约成功",
        ("confirmation", true) => " Booking confirmed",
        ("reminder", false) => "预约提醒",
        ("reminder", true) => " Reminder",
        (_, false) => "通知",
        (_, true) => " Notice",
    };
    match sign {
        Some(s) => format!("{s}{what}"),
        None => what.trim_start().to_string(),
    }
}

struct Console {
    file: Option<std::path::PathBuf>,
}

#[async_trait]
impl Provider for Console {
    async fn send(&self, m: &Message) -> Result<(), String> {
        // The console stands in for the citizen's phone; the number itself stays masked.
        let line = format!(
            "[outbox] {} to {} ({}): {}\n",
            m.channel,
            mask_phone(&m.recipient),
            m.topic,
            m.body
        );
        print!("{line}");
        if let Some(p) = &self.file {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .and_then(|mut f| f.write_all(line.as_bytes()))
                .map_err(|e| format!("cannot append to {}: {e}", p.display()))?;
        }
        Ok(())
    }
}

/// The citizen's language for texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some(l) if l.to_ascii_lowercase().starts_with("en") => Lang::En,
            _ => Lang::Zh,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

/// What one dispatcher pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: u32,
    pub failed: u32,
    /// Claimed but given back untried (the server is shutting down).
    pub released: u64,
}

/// The delay before attempt `n + 1`: 5 s, 10 s, 20 s … at most an hour.
pub fn backoff(attempts: u32) -> TimeDelta {
    let secs = 5i64.saturating_mul(1i64 << attempts.saturating_sub(1).min(12));
    TimeDelta::seconds(secs.min(3600))
}

pub(crate) fn message(
    key: String,
    phone: &str,
    topic: &str,
    body: String,
    now: DateTime<Utc>,
) -> NewMessage {
    NewMessage {
        idempotency_key: key,
        channel: "sms".into(),
        recipient: phone.to_string(),
        topic: topic.into(),
        body,
        created_at: now,
    }
}

impl App {
    /// Text messages go through `p` instead of the console.
    pub fn with_sms_provider(mut self, p: Arc<dyn Provider>) -> Self {
        self.notifier = p;
        self
    }

    /// E-mails go through `p` instead of the console.
    pub fn with_mail_provider(mut self, p: Arc<dyn Provider>) -> Self {
        self.mailer = p;
        self
    }

    /// Delivers the messages that are due, once each per pass.
    pub async fn deliver_due(&self) -> AppResult<DeliveryReport> {
        self.deliver_due_until(|| false).await
    }

    /// [`Self::deliver_due`], stopping between two messages once `stop` says so (the server is
    /// shutting down): the messages of the batch not yet tried are given back at once rather
    /// than left leased for a minute, so that another app server (or this one's successor)
    /// delivers them without waiting.
    pub async fn deliver_due_until(&self, stop: impl Fn() -> bool) -> AppResult<DeliveryReport> {
        let now = self.clock.now();
        let batch = self
            .store
            .claim_messages(now, TimeDelta::minutes(1), 100)
            .await?;
        let mut r = DeliveryReport::default();
        if batch.is_empty() {
            return Ok(r);
        }
        // Texts are stored with the product's tag where the signature goes and signed now,
        // with the authority as it is configured at delivery.
        let face = self.face().await?;
        let mut batch = batch.into_iter();
        while let Some(mut m) = batch.next() {
            if stop() {
                let untried: Vec<i64> = std::iter::once(m.id).chain(batch.map(|m| m.id)).collect();
                r.released = self.store.release_messages(&untried).await?;
                break;
            }
            m.body = face.authority.sign(&m.body);
            let provider = if m.channel == "email" {
                &self.mailer
            } else {
                &self.notifier
            };
            match provider.send(&m).await {
                Ok(()) => {
                    self.store.message_delivered(m.id, self.clock.now()).await?;
                    r.delivered += 1;
                }
                Err(e) => {
                    tracing::warn!(message = m.id, attempts = m.attempts, error = %e, "delivery failed; will retry");
                    self.store
                        .message_failed(m.id, self.clock.now() + backoff(m.attempts), &e)
                        .await?;
                    r.failed += 1;
                }
            }
        }
        Ok(r)
    }

    /// Queues tomorrow's reminders (once per booking: the key is the booking code).
    pub async fn enqueue_reminders(&self) -> AppResult<u64> {
        let now = self.clock.now();
        let tomorrow = self.clock.today() + TimeDelta::days(1);
        let mut out = Vec::new();
        for b in self.store.active_bookings_on(tomorrow).await? {
            let Ok(hall) = self.hall_by_id(&b.slot.hall_id).await else {
                continue;
            };
            let lang = Lang::parse(
                serde_json::from_str::<serde_json::Value>(&b.answers_json)
                    .ok()
                    .and_then(|v| v["lang"].as_str().map(str::to_string))
                    .as_deref(),
            );
            let business = self
                .catalogue
                .business(&b.business)
                .map_or(b.business.clone(), |x| match lang {
                    Lang::Zh => x.name_zh.clone(),
                    Lang::En => x.name_en.clone(),
                });
            let when = format!("{} {}", b.slot.day, b.slot.start.format("%H:%M"));
            let body = match lang {
                Lang::Zh => format!("【无境】提醒：您明天 {when} 在{}办理{}，预约号 {}。请按时携带材料到场。", hall.name_zh, business, b.code),
                Lang::En => format!("[Wujing] Reminder: tomorrow {when}, {} at {}, booking {}. Please bring your documents.", business, hall.name_en, b.code),
            };
            out.push(message(
                format!("reminder:{}", b.code),
                &b.phone,
                "reminder",
                body,
                now,
            ));
        }
        Ok(self.store.enqueue(&out).await?)
    }

    /// The confirmation text of a booking.
    pub(crate) fn confirmation_text(
        &self,
        lang: Lang,
        code: &str,
        business: &str,
        hall: &wujing_store::Hall,
        slot: &wujing_store::Slot,
    ) -> String {
        let terms = self.catalogue.business(business);
        let when = format!("{} {}", slot.day, slot.start.format("%H:%M"));
        // The check-in window as the hall's clock reads it, and the slip's own link: the text
        // alone is enough to arrive on time and to change or cancel.
        let (opens, closes) = self.checkin_window(slot.starts_at);
        let link = format!(
            "{}/slip/{code}?k={}",
            self.config.public_url.trim_end_matches('/'),
            self.slip_key_of(code)
        );
        match lang {
            Lang::Zh => format!(
                "【无境】预约成功：{}，{} {}（{}）。预约号 {code}。请于{opens}至{closes}到场签到，逾时需改约或现场取号；请携带身份证及所需材料。凭证：{link}",
                terms.map_or(business, |t| t.name_zh.as_str()),
                when,
                hall.name_zh,
                hall.address_zh
            ),
            Lang::En => format!(
                "[Wujing] Booked: {}, {} at {} ({}). Booking code {code}. Check in between {opens} and {closes}; later, reschedule or take a walk-in number. Bring your ID card and the documents listed. Slip: {link}",
                terms.map_or(business, |t| t.name_en.as_str()),
                when,
                hall.name_en,
                hall.address_en
            ),
        }
    }
}
