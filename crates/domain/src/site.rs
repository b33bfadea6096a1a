//! Site kinds: where business is accepted. The article's organisation reaches from the city's
//! exit-entry hall down to police stations in outlying villages; each kind is a row's `kind`
//! (a CHECK in the database lists the same strings) with its names for pages and slips.

use serde::{Deserialize, Serialize};

/// What sort of place a site is. Every kind books, queues and accepts alike; the kind tells a
/// citizen what to expect (a police station has a window or two and a short business list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SiteKind {
    /// 出入境办证大厅: a district's or the city's exit-entry hall.
    Hall,
    /// 服务点: a smaller exit-entry service point.
    ServicePoint,
    /// 派出所受理点: acceptance at a village or town police station.
    PoliceStation,
    /// 24小时自助办证点: reserved for the round-the-clock self-service issue; stored and
    /// listed, with no behaviour of its own yet.
    SelfService,
}

impl SiteKind {
    /// Every kind, in the order a citizen's list groups them (largest sites first).
    pub const ALL: [SiteKind; 4] = [
        SiteKind::Hall,
        SiteKind::ServicePoint,
        SiteKind::PoliceStation,
        SiteKind::SelfService,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SiteKind::Hall => "hall",
            SiteKind::ServicePoint => "service_point",
            SiteKind::PoliceStation => "police_station",
            SiteKind::SelfService => "self_service",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            SiteKind::Hall => "出入境办证大厅",
            SiteKind::ServicePoint => "服务点",
            SiteKind::PoliceStation => "派出所受理点",
            SiteKind::SelfService => "24小时自助办证点",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            SiteKind::Hall => "Exit-entry hall",
            SiteKind::ServicePoint => "Service point",
            SiteKind::PoliceStation => "Police station",
            SiteKind::SelfService => "24-hour self-service point",
        }
    }

    /// The short tag shown beside a site's name in the portal.
    pub fn tag_zh(self) -> &'static str {
        match self {
            SiteKind::Hall => "大厅",
            SiteKind::ServicePoint => "服务点",
            SiteKind::PoliceStation => "派出所",
            SiteKind::SelfService => "自助",
        }
    }

    pub fn tag_en(self) -> &'static str {
        match self {
            SiteKind::Hall => "Hall",
            SiteKind::ServicePoint => "Service point",
            SiteKind::PoliceStation => "Police station",
            SiteKind::SelfService => "Self-service",
        }
    }
}

/// Whether `id` may name a site: 2 to 40 characters of lower-case ASCII letters, digits and
/// inner hyphens. It appears in URLs, audit targets and device bindings, so it stays a slug.
pub fn valid_site_id(id: &str) -> bool {
    (2..=40).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
        && !id.ends_with('-')
        && !id.contains("--")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_stored_string() {
        for k in SiteKind::ALL {
            assert_eq!(SiteKind::parse(k.as_str()), Some(k));
            assert!(!k.name_zh().is_empty() && !k.name_en().is_empty());
        }
        assert_eq!(SiteKind::parse("hall "), None);
        assert_eq!(SiteKind::parse("kiosk"), None);
    }

    #[test]
    fn site_ids_are_slugs() {
        for ok in ["conghua-jiekou", "gz-city", "a1"] {
            assert!(valid_site_id(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "Gz",
            "gz city",
            "gz/city",
            "-gz",
            "gz-",
            "gz--x",
            "广州",
            &"a".repeat(41),
        ] {
            assert!(!valid_site_id(bad), "{bad}");
        }
    }
}
