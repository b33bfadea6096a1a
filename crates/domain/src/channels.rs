//! Acceptance channels (受理渠道, M4): how an application, a booking or a ticket came in.
//!
//! The list follows the Guangzhou administration's ten channels: the hall counter, the police
//! stations it extends to, the web portal, the telephone hotline, its self-service machines
//! (办证易, 网e捷 and the others), and the messaging apps (警民通, WeChat, Weibo). A channel is
//! never a label a caller states: the use cases derive it from who the caller is (a staff role, a
//! device, a registered channel gateway, or an anonymous citizen on the portal), so the
//! statistics leaders steer by cannot be skewed by whoever writes a request. The databases repeat
//! `ALL` as CHECKs (PostgreSQL) and triggers (SQLite) in migration 28.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A counter of an exit-entry hall or service point.
    Counter,
    /// A counter at a police station's acceptance point (便民到基层, M13).
    PoliceStation,
    /// The citizen portal or the public API used without credentials.
    Web,
    /// The hotline: an operator books on the caller's behalf.
    Telephone,
    /// 办证易: the 24-hour endorsement self-service machine.
    Banzhengyi,
    /// 网e捷: query, payment and collection machine.
    Wangejie,
    /// Any other self-service machine (申请易, 预约机, 前台通, 填表机, …).
    SelfService,
    /// 警民通: the police–citizen app, through its registered gateway.
    PoliceApp,
    /// The WeChat service account, through its registered gateway.
    Wechat,
    /// The Weibo service account, through its registered gateway.
    Weibo,
}

/// What kind of caller a channel belongs to: who may give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind {
    /// Staff at a site: only a staff principal acting at a counter.
    Staff,
    /// A device of a site: only a device principal.
    Device,
    /// A registered external gateway (a system client) relaying citizens' requests.
    Gateway,
    /// Anyone without credentials.
    Anonymous,
}

impl Channel {
    pub const ALL: [Channel; 10] = [
        Channel::Counter,
        Channel::PoliceStation,
        Channel::Web,
        Channel::Telephone,
        Channel::Banzhengyi,
        Channel::Wangejie,
        Channel::SelfService,
        Channel::PoliceApp,
        Channel::Wechat,
        Channel::Weibo,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Counter => "counter",
            Channel::PoliceStation => "police_station",
            Channel::Web => "web",
            Channel::Telephone => "telephone",
            Channel::Banzhengyi => "banzhengyi",
            Channel::Wangejie => "wangejie",
            Channel::SelfService => "self_service",
            Channel::PoliceApp => "police_app",
            Channel::Wechat => "wechat",
            Channel::Weibo => "weibo",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Channel::Counter => "办证大厅窗口",
            Channel::PoliceStation => "派出所受理点",
            Channel::Web => "网上办事大厅",
            Channel::Telephone => "电话预约",
            Channel::Banzhengyi => "办证易",
            Channel::Wangejie => "网e捷",
            Channel::SelfService => "自助办证设备",
            Channel::PoliceApp => "警民通",
            Channel::Wechat => "微信",
            Channel::Weibo => "微博",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            Channel::Counter => "Hall counter",
            Channel::PoliceStation => "Police station",
            Channel::Web => "Web portal",
            Channel::Telephone => "Telephone",
            Channel::Banzhengyi => "Banzhengyi machine",
            Channel::Wangejie => "Wangejie machine",
            Channel::SelfService => "Self-service machine",
            Channel::PoliceApp => "Police–citizen app",
            Channel::Wechat => "WeChat",
            Channel::Weibo => "Weibo",
        }
    }

    pub fn kind(self) -> ChannelKind {
        match self {
            Channel::Counter | Channel::PoliceStation | Channel::Telephone => ChannelKind::Staff,
            Channel::Banzhengyi | Channel::Wangejie | Channel::SelfService => ChannelKind::Device,
            Channel::PoliceApp | Channel::Wechat | Channel::Weibo => ChannelKind::Gateway,
            Channel::Web => ChannelKind::Anonymous,
        }
    }

    /// The channels a registered gateway may relay for.
    pub fn gateways() -> impl Iterator<Item = Channel> {
        Channel::ALL
            .into_iter()
            .filter(|c| c.kind() == ChannelKind::Gateway)
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_channels_each_parse_back_from_its_code() {
        assert_eq!(Channel::ALL.len(), 10);
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
            assert!(!c.name_zh().is_empty() && !c.name_en().is_empty());
        }
        assert_eq!(Channel::parse("hotline"), None);
    }

    #[test]
    fn only_the_web_is_open_to_anonymous_callers() {
        let open: Vec<_> = Channel::ALL
            .into_iter()
            .filter(|c| c.kind() == ChannelKind::Anonymous)
            .collect();
        assert_eq!(open, vec![Channel::Web]);
        assert_eq!(
            Channel::gateways().collect::<Vec<_>>(),
            vec![Channel::PoliceApp, Channel::Wechat, Channel::Weibo]
        );
    }
}
