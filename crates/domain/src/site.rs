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
    /// 24小时自助办证点 (M11): machines only, open round the clock, no windows and no seats to
    /// book; its devices are watched from the back office (docs/KIOSK.md).
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

impl SiteKind {
    /// A self-service point has machines, not counters: no windows, no seats.
    pub fn has_windows(self) -> bool {
        self != SiteKind::SelfService
    }
}

/// A round-the-clock point's hours: every day, the whole day (the last minute is 23:59, since
/// a time of day has no 24:00).
pub const ROUND_THE_CLOCK: &str = "00:00-23:59";

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

/// Where a site is, in WGS-84 degrees, as a browser's geolocation reports positions: the
/// portal orders halls by distance in the citizen's own browser, so the citizen's position
/// never reaches the server.
///
/// The fields are private so that every point passed [`GeoPoint::new`]: never NaN, which is
/// what makes `Eq` honest.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GeoPoint {
    latitude: f64,
    longitude: f64,
}

impl Eq for GeoPoint {}

impl GeoPoint {
    pub fn latitude(&self) -> f64 {
        self.latitude
    }

    pub fn longitude(&self) -> f64 {
        self.longitude
    }

    /// A point from its two coordinates, both finite and in range; `None` otherwise.
    pub fn new(latitude: f64, longitude: f64) -> Option<Self> {
        let ok = latitude.is_finite()
            && longitude.is_finite()
            && (-90.0..=90.0).contains(&latitude)
            && (-180.0..=180.0).contains(&longitude);
        ok.then_some(Self {
            latitude,
            longitude,
        })
    }

    /// The great-circle distance in kilometres (haversine on a sphere of the Earth's mean
    /// radius): good to a fraction of a percent at city scale, which is all the ordering needs.
    /// The portal's script computes the same in the browser; this one is its reference.
    pub fn distance_km(&self, other: &GeoPoint) -> f64 {
        const EARTH_RADIUS_KM: f64 = 6371.0088;
        let (p1, p2) = (self.latitude.to_radians(), other.latitude.to_radians());
        let dp = p2 - p1;
        let dl = (other.longitude - self.longitude).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_KM * a.sqrt().asin()
    }
}

#[cfg(test)]
mod geo_tests {
    use super::GeoPoint;

    #[test]
    fn coordinates_out_of_range_are_refused() {
        assert!(GeoPoint::new(23.13, 113.26).is_some());
        for (lat, lon) in [
            (90.1, 0.0),
            (-90.1, 0.0),
            (0.0, 180.5),
            (f64::NAN, 1.0),
            (1.0, f64::INFINITY),
        ] {
            assert!(GeoPoint::new(lat, lon).is_none(), "{lat},{lon}");
        }
    }

    #[test]
    fn distances_match_known_values() {
        // Guangzhou Tower to Baiyun airport terminal 2: about 32 km as the crow flies.
        let tower = GeoPoint::new(23.1066, 113.3245).unwrap();
        let airport = GeoPoint::new(23.3924, 113.2988).unwrap();
        let d = tower.distance_km(&airport);
        assert!((31.5..32.5).contains(&d), "{d}");
        // A degree of latitude is 111.2 km on the mean sphere.
        let a = GeoPoint::new(0.0, 0.0).unwrap();
        let b = GeoPoint::new(1.0, 0.0).unwrap();
        assert!((a.distance_km(&b) - 111.195).abs() < 0.01);
        assert_eq!(a.distance_km(&a), 0.0);
    }
}
