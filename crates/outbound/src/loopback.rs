//! The simulated payment provider's notifications: an HTTP POST to this server's own callback
//! route, on a loopback address only. The simulation never sends anything off the machine, so
//! a misconfigured URL cannot leak a signed notification elsewhere.

use crate::{error_chain, tls};
use async_trait::async_trait;
use std::net::IpAddr;
use std::time::Duration;
use wujing_app::payments::simulated::CallbackSender;

const TIMEOUT: Duration = Duration::from_secs(10);

/// Posts to `http://127.0.0.1:…` / `http://[::1]:…` / `http://localhost:…` only.
pub struct LoopbackPoster {
    client: reqwest::Client,
}

impl LoopbackPoster {
    pub fn new() -> Result<Self, String> {
        // reqwest builds its TLS configuration even for a client that speaks plain HTTP.
        tls::init();
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!(
                "wujing-simulated-payments/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|e| format!("cannot set up the loopback client: {}", error_chain(&e)))?;
        Ok(Self { client })
    }
}

/// Whether `url` is plain HTTP to this machine.
pub fn is_loopback_url(url: &str) -> bool {
    let Ok(u) = reqwest::Url::parse(url) else {
        return false;
    };
    let host = u.host_str().unwrap_or("");
    u.scheme() == "http"
        && (host == "localhost"
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .is_ok_and(|a| a.is_loopback()))
}

#[async_trait]
impl CallbackSender for LoopbackPoster {
    async fn post(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<u16, String> {
        if !is_loopback_url(url) {
            return Err(format!("{url} is not a loopback HTTP address"));
        }
        let mut req = self.client.post(url).body(body);
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let answer = req
            .send()
            .await
            .map_err(|e| format!("callback: {}", error_chain(&e.without_url())))?;
        let status = answer.status().as_u16();
        let _ = answer.bytes().await;
        Ok(status)
    }
}
