//! A fake SMTP relay on loopback: plain, STARTTLS or implicit TLS, optionally requiring
//! `AUTH PLAIN`, refusing its first connections on request, and recording what it received.

use base64::Engine;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio_rustls::TlsAcceptor;

/// How the relay protects connections.
#[derive(Clone, Default)]
pub enum RelayTls {
    #[default]
    None,
    /// Offers STARTTLS with this certificate.
    StartTls(TlsAcceptor),
    /// Speaks TLS from the first byte.
    Implicit(TlsAcceptor),
}

#[derive(Clone, Default)]
pub struct RelayOptions {
    pub tls: RelayTls,
    /// Connections answered `421` and closed before the relay works.
    pub refuse_first: u32,
    /// Mail is taken only after `AUTH PLAIN` with this user and password.
    pub credentials: Option<(String, String)>,
}

/// What the relay saw.
#[derive(Debug, Clone, Default)]
pub struct RelayLog {
    pub connections: u32,
    /// Connections refused on purpose (`refuse_first`).
    pub refused: u32,
    /// TLS handshakes completed, and failed (an untrusted certificate, say).
    pub tls_sessions: u32,
    pub tls_failures: u32,
    /// Users that authenticated, and failed authentications.
    pub authenticated: Vec<String>,
    pub auth_failures: u32,
    /// `MAIL FROM` of every accepted message, and its `RCPT TO`s.
    pub envelopes: Vec<(String, Vec<String>)>,
    /// The text of every accepted message (between `DATA` and the final dot, dots unstuffed).
    pub mails: Vec<String>,
    /// Whether each accepted message came over TLS.
    pub mails_secure: Vec<bool>,
}

pub struct FakeRelay {
    /// `127.0.0.1:port`.
    pub addr: SocketAddr,
    log: Arc<Mutex<RelayLog>>,
}

struct Shared {
    opts: RelayOptions,
    log: Arc<Mutex<RelayLog>>,
}

impl FakeRelay {
    /// Listens on a free loopback port; the relay runs until the test's runtime ends.
    pub async fn start(opts: RelayOptions) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake relay");
        let addr = listener.local_addr().expect("its address");
        let log = Arc::new(Mutex::new(RelayLog::default()));
        let shared = Arc::new(Shared {
            opts,
            log: log.clone(),
        });
        tokio::spawn(async move {
            let mut refuse = shared.opts.refuse_first;
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                shared.log.lock().unwrap().connections += 1;
                if refuse > 0 {
                    refuse -= 1;
                    shared.log.lock().unwrap().refused += 1;
                    let mut tcp = tcp;
                    let _ = tcp.write_all(b"421 4.3.2 try later\r\n").await;
                    continue;
                }
                let shared = shared.clone();
                tokio::spawn(async move {
                    // A connection lives at most ten seconds: a stuck client ends the test.
                    let _ = tokio::time::timeout(Duration::from_secs(10), connection(tcp, &shared))
                        .await;
                });
            }
        });
        Self { addr, log }
    }

    /// `127.0.0.1:port`, the `server` of a client configuration.
    pub fn server(&self) -> String {
        self.addr.to_string()
    }

    /// What the relay has seen so far.
    pub fn log(&self) -> RelayLog {
        self.log.lock().unwrap().clone()
    }
}

async fn connection(tcp: tokio::net::TcpStream, shared: &Shared) {
    match &shared.opts.tls {
        RelayTls::None => {
            let _ = session(tcp, shared, true, false, false).await;
        }
        RelayTls::Implicit(acceptor) => match acceptor.accept(tcp).await {
            Ok(tls) => {
                shared.log.lock().unwrap().tls_sessions += 1;
                let _ = session(tls, shared, true, true, false).await;
            }
            Err(_) => shared.log.lock().unwrap().tls_failures += 1,
        },
        RelayTls::StartTls(acceptor) => {
            if let Ok(Some(plain)) = session(tcp, shared, true, false, true).await {
                match acceptor.accept(plain).await {
                    Ok(tls) => {
                        shared.log.lock().unwrap().tls_sessions += 1;
                        let _ = session(tls, shared, false, true, false).await;
                    }
                    Err(_) => shared.log.lock().unwrap().tls_failures += 1,
                }
            }
        }
    }
}

/// One SMTP dialogue. Returns the stream when the client asked for STARTTLS (and was told to
/// go ahead), for the caller to upgrade.
async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    shared: &Shared,
    greet: bool,
    secure: bool,
    offer_starttls: bool,
) -> std::io::Result<Option<S>> {
    let mut s = BufReader::new(stream);
    if greet {
        s.write_all(b"220 fake relay ESMTP\r\n").await?;
    }
    let needs_auth = shared.opts.credentials.is_some();
    let mut authenticated = false;
    let mut from = String::new();
    let mut to = Vec::new();
    loop {
        let mut line = String::new();
        if s.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        let verb = line
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let arg = line.trim_end()[verb.len().min(line.trim_end().len())..].trim();
        let reply: String = match verb.as_str() {
            "EHLO" | "HELO" => {
                let mut r = String::from("250-fake relay\r\n");
                if offer_starttls && !secure {
                    r.push_str("250-STARTTLS\r\n");
                }
                if needs_auth {
                    r.push_str("250-AUTH PLAIN\r\n");
                }
                r.push_str("250 OK\r\n");
                r
            }
            "STARTTLS" if offer_starttls && !secure => {
                s.write_all(b"220 2.0.0 go ahead\r\n").await?;
                s.flush().await?;
                return Ok(Some(s.into_inner()));
            }
            "AUTH" => {
                let (user, ok) = check_plain(arg, shared.opts.credentials.as_ref());
                let mut log = shared.log.lock().unwrap();
                if ok {
                    authenticated = true;
                    log.authenticated.push(user);
                    "235 2.7.0 authenticated\r\n".into()
                } else {
                    log.auth_failures += 1;
                    "535 5.7.8 bad credentials\r\n".into()
                }
            }
            "MAIL" if needs_auth && !authenticated => {
                "530 5.7.0 authentication required\r\n".into()
            }
            "MAIL" => {
                from = arg.to_string();
                to.clear();
                "250 OK\r\n".into()
            }
            "RCPT" => {
                to.push(arg.to_string());
                "250 OK\r\n".into()
            }
            "DATA" => {
                s.write_all(b"354 go on\r\n").await?;
                let mut mail = String::new();
                loop {
                    let mut l = String::new();
                    if s.read_line(&mut l).await? == 0 {
                        return Ok(None);
                    }
                    if l == ".\r\n" {
                        break;
                    }
                    mail.push_str(l.strip_prefix('.').unwrap_or(&l));
                }
                let mut log = shared.log.lock().unwrap();
                log.envelopes
                    .push((std::mem::take(&mut from), std::mem::take(&mut to)));
                log.mails.push(mail);
                log.mails_secure.push(secure);
                "250 2.0.0 queued\r\n".into()
            }
            "RSET" | "NOOP" => "250 OK\r\n".into(),
            "QUIT" => {
                s.write_all(b"221 bye\r\n").await?;
                return Ok(None);
            }
            _ => "500 5.5.2 what\r\n".into(),
        };
        s.write_all(reply.as_bytes()).await?;
    }
}

/// `AUTH PLAIN <base64(authzid \0 user \0 password)>`: the user, and whether it matches.
fn check_plain(arg: &str, want: Option<&(String, String)>) -> (String, bool) {
    let Some(b64) = arg
        .strip_prefix("PLAIN ")
        .or_else(|| arg.strip_prefix("plain "))
    else {
        return (String::new(), false);
    };
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else {
        return (String::new(), false);
    };
    let parts: Vec<&[u8]> = raw.split(|b| *b == 0).collect();
    let [_, user, password] = parts.as_slice() else {
        return (String::new(), false);
    };
    let user = String::from_utf8_lossy(user).into_owned();
    let ok = want.is_some_and(|(u, p)| *u == user && p.as_bytes() == *password);
    (user, ok)
}
