//! The kiosk shell's server side, shared by every kiosk screen — the check-in screen and the
//! eight machines' modes (docs/KIOSK.md §6): the start address that is a kiosk's whole
//! configuration, the language and older-adult mode chosen for one citizen, the site's names,
//! and the `t` the templates speak through.
//!
//! A screen's template embeds a [`Shell`] as `shell` and includes `kiosk_shell.html` (the
//! language and mode switch) and `kiosk_idle.html` (the idle countdown); its script runs on
//! `static/shell.js` (keypad, idle reset, the wipe, card reads, printing). Keeping the three in
//! one place is what keeps every machine's wipe the same.

use crate::extract::{CARE_COOKIE, LANG_COOKIE};
use crate::AppState;
use axum::http::HeaderMap;
use serde::Deserialize;
use wujing_app::Principal;

/// How a kiosk is set up: its start address is its configuration. `print=auto` prints each
/// ticket on the kiosk's printer (chromium's `--kiosk-printing` prints without a dialog, or the
/// bridge's printer when there is one); `bridge=PORT` is the local agent's port (docs/KIOSK.md
/// §5; 47800 when absent); `idle=SECONDS` how long the screen waits for a touch before it wipes
/// itself (60 when absent; 10 to 600).
#[derive(Deserialize, Default)]
pub struct KioskQuery {
    #[serde(default)]
    print: Option<String>,
    #[serde(default)]
    bridge: Option<String>,
    #[serde(default)]
    idle: Option<String>,
}

/// The idle delay when the start address names none: long enough to read and type an
/// identity number with the keypad, short enough that the next citizen finds a clean screen.
const KIOSK_IDLE_SECS: u32 = 60;

impl KioskQuery {
    /// The start address at `path`: only the settings understood, each checked, in one order.
    fn start(&self, path: &str) -> (String, bool, u32) {
        let print = self.print.as_deref() == Some("auto");
        let bridge = self
            .bridge
            .as_deref()
            .and_then(|b| b.parse::<u16>().ok())
            .filter(|p| *p >= 1024);
        let idle = self
            .idle
            .as_deref()
            .and_then(|i| i.parse::<u32>().ok())
            .map_or(KIOSK_IDLE_SECS, |i| i.clamp(10, 600));
        let mut q = Vec::new();
        if print {
            q.push("print=auto".to_string());
        }
        if let Some(b) = bridge {
            q.push(format!("bridge={b}"));
        }
        if idle != KIOSK_IDLE_SECS {
            q.push(format!("idle={idle}"));
        }
        let start = if q.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{}", q.join("&"))
        };
        (start, print, idle)
    }
}

/// What every kiosk screen knows about itself and the citizen in front of it.
pub struct Shell {
    /// The site's names, at the top of the screen and on what it prints.
    pub hall_zh: String,
    pub hall_en: String,
    /// The kiosk prints by itself (its start address has `print=auto`).
    pub print: bool,
    /// The kiosk's start address (the screen's path with its configuration), where every
    /// citizen's session begins again and where its forms post, so the configuration is never
    /// lost.
    pub start: String,
    /// Seconds without a touch before the screen is wiped and starts again.
    pub idle: u32,
    /// The language chosen on this screen for this citizen: `both` (none chosen), `zh`, `en`.
    pub lang: &'static str,
    /// The older-adult mode (the portal's `wujing_care` cookie).
    pub care: bool,
}

impl Shell {
    /// The shell of the screen at `path` (`/kiosk`, `/kiosk/bzy`, …) for the device `p`.
    pub async fn new(
        s: &AppState,
        p: &Principal,
        q: &KioskQuery,
        headers: &HeaderMap,
        path: &str,
    ) -> Self {
        let (hall_zh, hall_en) = match p {
            Principal::Device(d) => match s.app.hall(&d.hall_id).await {
                Ok(h) => (h.name_zh, h.name_en),
                Err(_) => (String::new(), String::new()),
            },
            _ => (String::new(), String::new()),
        };
        let (start, print, idle) = q.start(path);
        // Chosen on the screen by its switch for one citizen and wiped after them: absent, the
        // screen speaks both languages, as a hall serving foreigners must.
        let lang = match crate::auth::cookie(headers, LANG_COOKIE) {
            Some("en") => "en",
            Some("zh-CN") => "zh",
            _ => "both",
        };
        Self {
            hall_zh,
            hall_en,
            print,
            start,
            idle,
            lang,
            care: crate::auth::cookie(headers, CARE_COOKIE) == Some("on"),
        }
    }

    /// A text in the screen's language: both, joined by a dot, until one is chosen.
    pub fn t(&self, zh: &str, en: &str) -> String {
        match self.lang {
            "zh" => zh.to_string(),
            "en" => en.to_string(),
            _ if zh.is_empty() || en.is_empty() => format!("{zh}{en}"),
            _ => format!("{zh} · {en}"),
        }
    }

    /// The page's `lang`: Chinese unless English was chosen.
    pub fn html_lang(&self) -> &'static str {
        if self.lang == "en" {
            "en"
        } else {
            "zh-CN"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_address_keeps_only_checked_settings_in_one_order() {
        let q = KioskQuery {
            print: Some("auto".into()),
            bridge: Some("80".into()),
            idle: Some("5".into()),
        };
        assert_eq!(
            q.start("/kiosk/bzy"),
            ("/kiosk/bzy?print=auto&idle=10".to_string(), true, 10)
        );
        let q = KioskQuery {
            print: None,
            bridge: Some("47801".into()),
            idle: Some("60".into()),
        };
        assert_eq!(
            q.start("/kiosk"),
            ("/kiosk?bridge=47801".to_string(), false, 60)
        );
        assert_eq!(
            KioskQuery::default().start("/kiosk"),
            ("/kiosk".to_string(), false, 60)
        );
    }
}
