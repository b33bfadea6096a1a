//! Self-service machines as first-class devices (M8, M11): what kind of machine a device is, the
//! channel its applications come in by, whether it stands at a window, and what a heartbeat's
//! peripheral states mean (which of them is a fault).
//!
//! Which *actions* each kind may perform is decided in one place only, the authorisation table
//! of `wujing_app::authz`; this module says what the kinds are.

use crate::channels::Channel;
use serde::{Deserialize, Serialize};

/// The machines of the seed's halls and round-the-clock points (BRIEF M8), plus the three
/// older terminals. Stored as [`DeviceKind::as_str`] (a CHECK in migration 32 lists the same
/// strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DeviceKind {
    /// 办证易: 24-hour payment and self-service re-issue of Hong Kong/Macau endorsements.
    #[serde(rename = "bzy")]
    Banzhengyi,
    /// 前台通: at the counter: reads identity data, takes payment, collects the rating.
    #[serde(rename = "qtt")]
    Qiantaitong,
    /// 网e捷: status query, payment, collection, on-site production.
    #[serde(rename = "wej")]
    Wangejie,
    /// 证件通: captures foreigners' passport data (MRZ).
    #[serde(rename = "zjt")]
    Zhengjiantong,
    /// 填表机: reads the ID card or passport and prints the filled application form.
    #[serde(rename = "tbj")]
    Tianbiaoji,
    /// 取证机: the pickup locker.
    #[serde(rename = "qzj")]
    Quzhengji,
    /// 申请易: e-passport application in one stop (fingerprints, signature, form).
    #[serde(rename = "sqy")]
    Shenqingyi,
    /// 预约机: in-hall appointment machine (reads the ID card, picks time and place).
    #[serde(rename = "yyj")]
    Yuyueji,
    /// The hall's check-in kiosk (the `/kiosk` screen).
    #[serde(rename = "check_in")]
    CheckIn,
    /// A window's rating terminal.
    #[serde(rename = "rating_terminal")]
    RatingTerminal,
    /// The hall's display board.
    #[serde(rename = "display_board")]
    DisplayBoard,
}

impl DeviceKind {
    pub const ALL: [DeviceKind; 11] = [
        DeviceKind::Banzhengyi,
        DeviceKind::Qiantaitong,
        DeviceKind::Wangejie,
        DeviceKind::Zhengjiantong,
        DeviceKind::Tianbiaoji,
        DeviceKind::Quzhengji,
        DeviceKind::Shenqingyi,
        DeviceKind::Yuyueji,
        DeviceKind::CheckIn,
        DeviceKind::RatingTerminal,
        DeviceKind::DisplayBoard,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Banzhengyi => "bzy",
            DeviceKind::Qiantaitong => "qtt",
            DeviceKind::Wangejie => "wej",
            DeviceKind::Zhengjiantong => "zjt",
            DeviceKind::Tianbiaoji => "tbj",
            DeviceKind::Quzhengji => "qzj",
            DeviceKind::Shenqingyi => "sqy",
            DeviceKind::Yuyueji => "yyj",
            DeviceKind::CheckIn => "check_in",
            DeviceKind::RatingTerminal => "rating_terminal",
            DeviceKind::DisplayBoard => "display_board",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            DeviceKind::Banzhengyi => "办证易",
            DeviceKind::Qiantaitong => "前台通",
            DeviceKind::Wangejie => "网e捷",
            DeviceKind::Zhengjiantong => "证件通",
            DeviceKind::Tianbiaoji => "填表机",
            DeviceKind::Quzhengji => "取证机",
            DeviceKind::Shenqingyi => "申请易",
            DeviceKind::Yuyueji => "预约机",
            DeviceKind::CheckIn => "签到机",
            DeviceKind::RatingTerminal => "评价器",
            DeviceKind::DisplayBoard => "叫号显示屏",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            DeviceKind::Banzhengyi => "Banzhengyi (endorsement re-issue)",
            DeviceKind::Qiantaitong => "Qiantaitong (counter terminal)",
            DeviceKind::Wangejie => "Wangejie (query, payment, collection)",
            DeviceKind::Zhengjiantong => "Zhengjiantong (passport capture)",
            DeviceKind::Tianbiaoji => "Form filler",
            DeviceKind::Quzhengji => "Pickup locker",
            DeviceKind::Shenqingyi => "Shenqingyi (e-passport application)",
            DeviceKind::Yuyueji => "Appointment machine",
            DeviceKind::CheckIn => "Check-in kiosk",
            DeviceKind::RatingTerminal => "Rating terminal",
            DeviceKind::DisplayBoard => "Display board",
        }
    }

    /// Whether the device stands at one window (and must be bound to it): 前台通 works beside
    /// the officer, the rating terminal asks about the window's own tickets.
    pub fn needs_window(self) -> bool {
        matches!(self, DeviceKind::Qiantaitong | DeviceKind::RatingTerminal)
    }

    /// The acceptance channel of what a citizen does at this machine (M4): 办证易 and 网e捷
    /// are counted under their own names, every other machine as self-service.
    pub fn channel(self) -> Channel {
        match self {
            DeviceKind::Banzhengyi => Channel::Banzhengyi,
            DeviceKind::Wangejie => Channel::Wangejie,
            _ => Channel::SelfService,
        }
    }
}

/// The peripherals a heartbeat reports on (docs/KIOSK.md, "Heartbeats").
pub const PERIPHERALS: [&str; 10] = [
    "id_reader",
    "mrz_reader",
    "fingerprint",
    "signature_pad",
    "camera",
    "printer",
    "locker",
    "payment",
    "card_writer",
    "network",
];

/// A peripheral's state as a heartbeat reports it: `ok` and `paper_low` are working (low paper
/// warns on the monitoring page without an alert); every other state is a fault and raises an
/// alert.
pub const PERIPHERAL_STATES: [&str; 8] = [
    "ok",
    "paper_low",
    "paper_out",
    "error",
    "jam",
    "offline",
    "disconnected",
    "door_open",
];

/// Whether `state` of a peripheral needs somebody to come: anything but `ok` and `paper_low`.
pub fn is_fault(state: &str) -> bool {
    !matches!(state, "ok" | "paper_low")
}

/// A peripheral's name in words (zh, en), for the monitoring page and the staff's texts; an
/// unknown name (a newer agent's) is shown as sent.
pub fn peripheral_words(p: &str) -> (&str, &str) {
    match p {
        "id_reader" => ("身份证阅读器", "ID card reader"),
        "mrz_reader" => ("护照阅读器", "passport reader"),
        "fingerprint" => ("指纹仪", "fingerprint scanner"),
        "signature_pad" => ("签名板", "signature pad"),
        "camera" => ("摄像头", "camera"),
        "printer" => ("打印机", "printer"),
        "locker" => ("智能柜", "locker"),
        "payment" => ("支付终端", "payment terminal"),
        "card_writer" => ("写卡器", "card writer"),
        "network" => ("网络", "network"),
        other => (other, other),
    }
}

/// A peripheral's state in words (zh, en); an unknown state is shown as sent.
pub fn state_words(s: &str) -> (&str, &str) {
    match s {
        "ok" => ("正常", "working"),
        "paper_low" => ("纸张不足", "paper low"),
        "paper_out" => ("缺纸", "out of paper"),
        "error" => ("故障", "error"),
        "jam" => ("卡纸或卡门", "jammed"),
        "offline" => ("离线", "offline"),
        "disconnected" => ("未连接", "disconnected"),
        "door_open" => ("柜门未关", "door open"),
        other => (other, other),
    }
}

/// An alert's reason in words (zh, en): `silent`, `fault:<peripheral>` with the state it
/// reported, or `jam:<compartment>`.
pub fn alert_words(reason: &str, state: &str) -> (String, String) {
    if let Some(label) = reason.strip_prefix("jam:") {
        return (
            format!("格口 {label} 柜门卡住，证件未能取出"),
            format!("compartment {label} jammed: the document could not be taken"),
        );
    }
    match reason.strip_prefix("fault:") {
        Some(p) => {
            let (pz, pe) = peripheral_words(p);
            let (sz, se) = state_words(state);
            (format!("{pz}{sz}"), format!("{pe}: {se}"))
        }
        None => (
            "长时间无心跳（可能断电或断网）".into(),
            "silent: no heartbeat (power or network lost?)".into(),
        ),
    }
}

/// The letters a pairing code is written in: no 0/O, 1/I/L, 2/Z, 5/S or 8/B, so that an
/// administrator reading it off a kiosk's screen cannot mistype one for another.
pub const PAIRING_ALPHABET: &[u8] = b"34679ACDEFGHJKMNPQRTUVWXY";
/// How many letters a pairing code has: 25^8 ≈ 1.5·10^11 codes against a handful of attempts.
pub const PAIRING_CODE_LEN: usize = 8;

/// A pairing code as typed (spaces, hyphens and case ignored), in its one stored form, or
/// `None` when it cannot be one.
pub fn normalise_pairing_code(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == PAIRING_CODE_LEN && code.bytes().all(|b| PAIRING_ALPHABET.contains(&b)))
        .then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_and_serialises_as_stored() {
        for k in DeviceKind::ALL {
            assert_eq!(DeviceKind::parse(k.as_str()), Some(k));
            assert_eq!(
                serde_json::to_value(k).unwrap(),
                serde_json::json!(k.as_str())
            );
        }
        assert_eq!(DeviceKind::parse("kiosk"), None);
    }

    #[test]
    fn the_channel_comes_from_the_kind() {
        assert_eq!(DeviceKind::Banzhengyi.channel(), Channel::Banzhengyi);
        assert_eq!(DeviceKind::Wangejie.channel(), Channel::Wangejie);
        assert_eq!(DeviceKind::Yuyueji.channel(), Channel::SelfService);
        assert_eq!(DeviceKind::CheckIn.channel(), Channel::SelfService);
    }

    #[test]
    fn only_window_machines_need_a_window() {
        let w: Vec<_> = DeviceKind::ALL
            .into_iter()
            .filter(|k| k.needs_window())
            .collect();
        assert_eq!(w, [DeviceKind::Qiantaitong, DeviceKind::RatingTerminal]);
    }

    #[test]
    fn faults_are_the_states_that_need_somebody() {
        assert!(!is_fault("ok") && !is_fault("paper_low"));
        for s in ["paper_out", "error", "jam", "offline"] {
            assert!(is_fault(s), "{s}");
        }
    }

    #[test]
    fn every_peripheral_and_state_has_words() {
        for p in PERIPHERALS {
            assert_ne!(peripheral_words(p).0, p, "{p}");
        }
        for s in PERIPHERAL_STATES {
            assert_ne!(state_words(s).0, s, "{s}");
        }
        assert_eq!(alert_words("fault:printer", "paper_out").0, "打印机缺纸");
        assert_eq!(
            alert_words("fault:printer", "paper_out").1,
            "printer: out of paper"
        );
        assert!(alert_words("jam:A-01", "jam").0.contains("A-01"));
    }

    #[test]
    fn pairing_codes_are_read_forgivingly_and_stored_one_way() {
        assert_eq!(
            normalise_pairing_code("acd3-4fgh").as_deref(),
            Some("ACD34FGH")
        );
        assert_eq!(normalise_pairing_code("ACD34FG"), None);
        assert_eq!(
            normalise_pairing_code("ACD34FG0"),
            None,
            "0 is not a letter of it"
        );
    }
}
