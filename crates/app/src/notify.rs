//! The notification port: messages are written to the outbox in the same transaction as the
//! change that causes them, and a dispatcher delivers them afterwards through a provider, at
//! least once, with retries and exponential backoff. Every message carries an idempotency key
//! that providers pass on, so a gateway can drop a redelivery and the citizen gets one text.

use crate::{App, AppResult, Code};
use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use std::io::Write as _;
use std::sync::Arc;
use wujing_domain::idnum::mask_phone;
use wujing_store::{Message, NewMessage};

/// Where SMS messages go.
#[derive(Debug, Clone, Default)]
pub enum SmsConfig {
    /// Print to standard output (and append to a file when given): the embedded default, so a
    /// newcomer sees the codes and confirmations.
    #[default]
    Console,
    ConsoleFile(std::path::PathBuf),
    /// POST JSON to an SMS gateway, signed with HMAC-SHA256 over the body.
    Http {
        url: String,
        secret: String,
    },
}

/// Where e-mail goes: an SMTP relay on the local network (plain SMTP; the relay handles TLS
/// and the onward delivery), or the console like text messages.
#[derive(Debug, Clone, Default)]
pub enum MailConfig {
    #[default]
    Console,
    Smtp {
        server: String,
        from: String,
    },
}

/// A way to deliver a message. `Err` means "try again later".
#[async_trait]
pub trait Provider: Send + Sync {
    async fn send(&self, m: &Message) -> Result<(), String>;
}

pub fn provider(cfg: &SmsConfig) -> Arc<dyn Provider> {
    match cfg {
        SmsConfig::Console => Arc::new(Console { file: None }),
        SmsConfig::ConsoleFile(p) => Arc::new(Console {
            file: Some(p.clone()),
        }),
        SmsConfig::Http { url, secret } => Arc::new(HttpGateway {
            url: url.clone(),
            secret: secret.clone(),
        }),
    }
}

pub fn mailer(cfg: &MailConfig, console: &SmsConfig) -> Arc<dyn Provider> {
    match cfg {
        MailConfig::Console => provider(match console {
            SmsConfig::Http { .. } => &SmsConfig::Console,
            other => other,
        }),
        MailConfig::Smtp { server, from } => Arc::new(Smtp {
            server: server.clone(),
            from: from.clone(),
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

struct Smtp {
    server: String,
    from: String,
}

fn subject_of(m: &Message) -> &'static str {
    match (m.topic.as_str(), m.body.starts_with('[')) {
        ("confirmation", false) => "【无境】预约成功",
        ("confirmation", true) => "[Wujing] Booking confirmed",
        ("reminder", false) => "【无境】预约提醒",
        ("reminder", true) => "[Wujing] Reminder",
        (_, false) => "【无境】通知",
        (_, true) => "[Wujing] Notice",
    }
}

#[async_trait]
impl Provider for Smtp {
    async fn send(&self, m: &Message) -> Result<(), String> {
        use base64::Engine;
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
        let exchange = async {
            let stream = tokio::net::TcpStream::connect(&self.server)
                .await
                .map_err(|e| format!("connect {}: {e}", self.server))?;
            let (r, mut w) = stream.into_split();
            let mut r = BufReader::new(r);
            // Reads one (possibly multi-line) reply and checks its class.
            async fn reply(
                r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
                want: char,
            ) -> Result<(), String> {
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).await.map_err(|e| e.to_string())? == 0 {
                        return Err("the relay closed the connection".into());
                    }
                    if line.len() < 4 || !line.starts_with(want) {
                        return Err(format!("the relay answered {:?}", line.trim_end()));
                    }
                    if line.as_bytes()[3] == b' ' {
                        return Ok(());
                    }
                }
            }
            reply(&mut r, '2').await?;
            for (cmd, want) in [
                ("EHLO wujing\r\n".to_string(), '2'),
                (format!("MAIL FROM:<{}>\r\n", self.from), '2'),
                (format!("RCPT TO:<{}>\r\n", m.recipient), '2'),
                ("DATA\r\n".to_string(), '3'),
            ] {
                w.write_all(cmd.as_bytes())
                    .await
                    .map_err(|e| e.to_string())?;
                reply(&mut r, want).await?;
            }
            let body = b64(&m.body)
                .as_bytes()
                .chunks(76)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join("\r\n");
            let msg = format!(
                "From: Wujing <{}>\r\nTo: <{}>\r\nSubject: =?UTF-8?B?{}?=\r\nMessage-ID: <{}@wujing>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n.\r\n",
                self.from,
                m.recipient,
                b64(subject_of(m)),
                m.idempotency_key.replace([':', '<', '>'], "."),
                body
            );
            w.write_all(msg.as_bytes())
                .await
                .map_err(|e| e.to_string())?;
            reply(&mut r, '2').await?;
            let _ = w.write_all(b"QUIT\r\n").await;
            Ok(())
        };
        tokio::time::timeout(std::time::Duration::from_secs(20), exchange)
            .await
            .map_err(|_| "the relay timed out".to_string())?
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

/// Signs a gateway request body: `sha256=<hex HMAC-SHA256(secret, body)>`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(body);
    format!(
        "sha256={}",
        wujing_domain::audit::hex(&mac.finalize().into_bytes())
    )
}

struct HttpGateway {
    url: String,
    secret: String,
}

#[async_trait]
impl Provider for HttpGateway {
    async fn send(&self, m: &Message) -> Result<(), String> {
        let body = serde_json::json!({
            "idempotency_key": m.idempotency_key,
            "to": m.recipient,
            "text": m.body,
            "topic": m.topic,
        })
        .to_string();
        let status = http_post(
            &self.url,
            &[
                ("Idempotency-Key", &m.idempotency_key),
                ("X-Wujing-Signature", &sign(&self.secret, body.as_bytes())),
            ],
            &body,
        )
        .await?;
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(format!("gateway answered {status}"))
        }
    }
}

/// A minimal HTTP/1.1 POST over plain TCP (`http://host:port/path`), bounded by 10 s: enough for
/// a gateway relay on the local network; TLS termination is the relay's job.
async fn http_post(url: &str, headers: &[(&str, &str)], body: &str) -> Result<u16, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url
        .strip_prefix("http://")
        .ok_or("only http:// gateway URLs are supported")?;
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(a, p)| (a, format!("/{p}")));
    let exchange = async {
        let mut s = tokio::net::TcpStream::connect(authority)
            .await
            .map_err(|e| format!("connect {authority}: {e}"))?;
        let mut req = format!(
            "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        req.push_str(body);
        s.write_all(req.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.map_err(|e| e.to_string())?;
        let head = String::from_utf8_lossy(&out[..out.len().min(32)]).to_string();
        head.split_whitespace()
            .nth(1)
            .and_then(|c| c.parse::<u16>().ok())
            .ok_or_else(|| format!("not an HTTP answer: {head:?}"))
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), exchange)
        .await
        .map_err(|_| "gateway timed out".to_string())?
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
    /// Delivers the messages that are due, once each per pass.
    pub async fn deliver_due(&self) -> AppResult<DeliveryReport> {
        let now = self.clock.now();
        let batch = self
            .store
            .claim_messages(now, TimeDelta::minutes(1), 100)
            .await?;
        let mut r = DeliveryReport::default();
        for m in batch {
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
        match lang {
            Lang::Zh => format!(
                "【无境】预约成功：{}，{} {}（{}）。预约号 {code}，请携带身份证及所需材料按时到场。",
                terms.map_or(business, |t| t.name_zh.as_str()),
                when,
                hall.name_zh,
                hall.address_zh
            ),
            Lang::En => format!(
                "[Wujing] Booked: {}, {} at {} ({}). Booking code {code}. Bring your ID card and the documents listed.",
                terms.map_or(business, |t| t.name_en.as_str()),
                when,
                hall.name_en,
                hall.address_en
            ),
        }
    }
}
