//! Which acceptance channel a caller is (M4): decided here, from the principal, for every
//! booking, lottery entry, ticket and application.
//!
//! A channel is what leaders count ("how many came by WeChat, how many by the hotline"), so it
//! must not be a label the caller states: an anonymous script could otherwise pass itself off
//! as a counter or a kiosk. The caller's credentials say it instead — a staff role, a device of
//! a site, a registered channel gateway (the police–citizen app's, WeChat's or Weibo's backend,
//! a system client whose kind is its channel), or nobody (the web).

use crate::{AppError, AppResult, Code, Principal};
use wujing_domain::channels::Channel;

/// The channel of a citizen-facing request: a booking, a lottery entry.
///
/// Citizen endpoints do not use the staff session (docs/SECURITY.md), so a staff member's
/// browser on the portal is the web like anyone's; staff book for a caller only through the
/// hotline's own routes ([`telephone`]).
pub(crate) fn of_citizen_request(p: &Principal) -> AppResult<Channel> {
    match p {
        Principal::Anonymous | Principal::Staff(_) => Ok(Channel::Web),
        Principal::Device(d) => Ok(d.kind.channel()),
        Principal::System(s) => match Channel::parse(&s.kind) {
            Some(c) if Channel::gateways().any(|g| g == c) => Ok(c),
            // The production centre makes documents; it does not book for citizens.
            _ => Err(Code::Forbidden.into()),
        },
    }
}

/// The channel of something issued or accepted in a site: a ticket taken at reception or at a
/// kiosk, an application accepted at a counter. `police_station` sites record their own
/// channel, so that the reach of 便民到基层 (M13) shows in the statistics.
pub(crate) fn of_site_request(p: &Principal, police_station: bool) -> Channel {
    match p {
        Principal::Staff(_) if police_station => Channel::PoliceStation,
        Principal::Staff(_) => Channel::Counter,
        // The machine's kind says its channel: 办证易 and 网e捷 are counted by name.
        Principal::Device(d) => d.kind.channel(),
        // The citizen's own phone (checking in by the booking's QR code), or a gateway.
        Principal::Anonymous => Channel::Web,
        Principal::System(s) => Channel::parse(&s.kind).unwrap_or(Channel::Web),
    }
}

/// The hotline's channel, for the operator's own routes.
pub(crate) fn telephone() -> Channel {
    Channel::Telephone
}

/// A channel named in a request (the field older clients send) must be the one the caller is;
/// naming another is refused rather than silently corrected, so a client learns at once that
/// the label is no longer theirs to choose.
pub(crate) fn check_stated(stated: Option<&str>, actual: Channel) -> AppResult<()> {
    let Some(s) = stated.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(());
    };
    match Channel::parse(s) {
        None => Err(AppError::new(
            Code::ChannelInvalid,
            format!("未知的受理渠道“{s}”"),
            format!("unknown channel \"{s}\""),
        )),
        Some(c) if c == actual => Ok(()),
        Some(_) => Err(AppError::new(
            Code::ChannelNotYours,
            format!(
                "受理渠道由调用方的身份确定，不能声明为“{s}”（本次为“{}”）",
                actual.name_zh()
            ),
            format!(
                "the channel is set by who calls; you cannot state \"{s}\" (yours is \"{}\")",
                actual.as_str()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::{DevicePrincipal, SystemPrincipal};

    fn system(kind: &str) -> Principal {
        Principal::System(SystemPrincipal {
            id: 1,
            name: "x".into(),
            kind: kind.into(),
        })
    }

    #[test]
    fn each_caller_kind_has_its_channel() {
        assert_eq!(
            of_citizen_request(&Principal::Anonymous).unwrap(),
            Channel::Web
        );
        let device = Principal::Device(DevicePrincipal {
            id: 1,
            name: "k".into(),
            hall_id: "h".into(),
            kind: wujing_domain::DeviceKind::CheckIn,
            window_number: None,
        });
        let bzy = Principal::Device(DevicePrincipal {
            id: 2,
            name: "b".into(),
            hall_id: "h".into(),
            kind: wujing_domain::DeviceKind::Banzhengyi,
            window_number: None,
        });
        assert_eq!(of_citizen_request(&bzy).unwrap(), Channel::Banzhengyi);
        assert_eq!(of_site_request(&bzy, false), Channel::Banzhengyi);
        assert_eq!(of_citizen_request(&device).unwrap(), Channel::SelfService);
        assert_eq!(
            of_citizen_request(&system("wechat")).unwrap(),
            Channel::Wechat
        );
        assert_eq!(
            of_citizen_request(&system("police_app")).unwrap(),
            Channel::PoliceApp
        );
        assert!(of_citizen_request(&system("production_centre")).is_err());
        assert_eq!(of_site_request(&device, false), Channel::SelfService);
        assert_eq!(of_site_request(&Principal::Anonymous, false), Channel::Web);
    }

    #[test]
    fn an_anonymous_caller_cannot_state_a_staff_or_device_channel() {
        for c in Channel::ALL {
            let r = check_stated(Some(c.as_str()), Channel::Web);
            assert_eq!(r.is_ok(), c == Channel::Web, "{c}");
        }
        assert_eq!(
            check_stated(Some("hotline"), Channel::Web)
                .unwrap_err()
                .code,
            Code::ChannelInvalid
        );
        assert!(check_stated(None, Channel::Web).is_ok());
    }
}
