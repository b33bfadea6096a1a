//! Fully online business (全程网办, RULES.md §6): who may apply without visiting a hall, and
//! the digital photo such an application carries (RULES.md §5).
//!
//! Nobody sees the applicant, so the conditions lean on the registry: 16 or over, 户籍 in a
//! pilot city (catalogue data, versioned by date), a document of the kind held before (the
//! photo and fingerprints on file are what the counter would otherwise take), fingerprints on
//! file, and neither a registered state functionary nor serving military (both need a person
//! to look at papers). On top, the business's own rules ([`crate::eligibility::check`]) apply as
//! at a counter. Every failing condition is a stable reason code with zh-CN and en texts; those
//! read from the registry are listed in [`REMOTE_REGISTRY_REASONS`] and shown only after the
//! applicant proved control of the registered phone.

use crate::catalogue::Catalogue;
use crate::eligibility::{check, reason_of, Answers, Facts, Identity, Reason};

const REMOTE_MIN_AGE: u32 = 16;

/// The remote conditions read from the registry (shown only after the phone code).
pub const REMOTE_REGISTRY_REASONS: &[&str] = &[
    "remote_not_registered",
    "remote_no_phone",
    "remote_not_pilot_hukou",
    "remote_no_previous_document",
    "remote_no_fingerprints",
    "remote_state_functionary",
    "remote_military",
];

/// The conditions of handling `business` fully online for `identity`, without the business's
/// own rules: every failing one.
pub fn remote_conditions(
    catalogue: &Catalogue,
    business: &str,
    identity: &Identity,
    facts: Facts<'_>,
) -> Vec<Reason> {
    let today = facts.visit_date;
    let mut out = Vec::new();
    let pilot = catalogue.remote_pilot(today);
    if !catalogue.offered_remotely(business, today) {
        out.push(reason_of(
            "remote_not_offered",
            "此项业务暂不能网上办理，请到出入境办证大厅办理",
            "this business cannot be handled online yet; please apply at an exit-entry hall",
        ));
    }
    let Identity::Resident(id) = identity else {
        out.push(reason_of(
            "remote_not_resident",
            "网上办理仅面向持居民身份证的内地居民",
            "online handling is for mainland residents with a resident identity card",
        ));
        return out;
    };
    if id.age_on(today) < REMOTE_MIN_AGE {
        out.push(reason_of(
            "remote_under_16",
            "未满16周岁的申请人须由监护人陪同到办证大厅办理",
            "applicants under 16 apply at a hall, accompanied by a guardian",
        ));
    }
    let Some(p) = facts.person else {
        out.push(reason_of(
            "remote_not_registered",
            "户籍信息中没有查到您的登记，请到办证大厅办理",
            "the population register has no record for you; please apply at a hall",
        ));
        return out;
    };
    if p.phone.as_deref().is_none_or(|ph| ph.trim().is_empty()) {
        out.push(reason_of(
            "remote_no_phone",
            "没有登记实名手机号码，无法验证身份，请到办证大厅办理",
            "no real-name phone is registered to verify you; please apply at a hall",
        ));
    }
    if !pilot.is_some_and(|pl| pl.cities.contains(&p.hukou_city)) {
        out.push(reason_of(
            "remote_not_pilot_hukou",
            "网上办理仅限试点城市户籍居民，请到办证大厅办理",
            "online handling is only for residents registered (户籍) in a pilot city; please apply at a hall",
        ));
    }
    let document = catalogue.business(business).map(|b| b.document);
    if !facts
        .documents
        .iter()
        .any(|d| Some(d.kind) == document && d.id_number == id.as_str())
    {
        out.push(reason_of(
            "remote_no_previous_document",
            "网上办理仅限换发或补发，您没有申领过该证件，请到办证大厅办理",
            "online handling is only for a document held before; please apply at a hall",
        ));
    }
    if !p.fingerprints_on_file {
        out.push(reason_of(
            "remote_no_fingerprints",
            "没有留存您的指纹信息，请到办证大厅办理并采集指纹",
            "no fingerprints are on file for you; please apply at a hall, where they are taken",
        ));
    }
    if p.state_functionary {
        out.push(reason_of(
            "remote_state_functionary",
            "登记备案人员不能网上办理，请到办证大厅办理",
            "registered state functionaries cannot apply online; please apply at a hall",
        ));
    }
    if p.military {
        out.push(reason_of(
            "remote_military",
            "现役军人不能网上办理，请到办证大厅办理",
            "serving military personnel cannot apply online; please apply at a hall",
        ));
    }
    out
}

/// Everything that stands between the applicant and a fully online application of
/// `business`: the remote conditions, then the business's own rules (as at a counter; a state
/// functionary's "approval required" is left out, the remote refusal says more).
pub fn remote_check(
    catalogue: &Catalogue,
    business: &str,
    applicant_name: &str,
    identity: &Identity,
    answers: &Answers,
    facts: Facts<'_>,
) -> Vec<Reason> {
    let mut out = remote_conditions(catalogue, business, identity, facts);
    let functionary = out.iter().any(|r| r.code == "remote_state_functionary");
    for r in check(
        catalogue,
        business,
        applicant_name,
        identity,
        answers,
        facts,
    ) {
        let said = out.iter().any(|o| o.code == r.code);
        let superseded = functionary && r.code == "functionary_approval_required";
        if !said && !superseded {
            out.push(r);
        }
    }
    out
}

// --- The digital photo (RULES.md §5) -------------------------------------------------------------

/// §5: at least 354×472 px, at most 480×640.
pub const PHOTO_WIDTH: (u32, u32) = (354, 480);
pub const PHOTO_HEIGHT: (u32, u32) = (472, 640);
/// §5: 20–80 KB, counted as KiB (1 KB = 1024 bytes, as a phone's file manager shows it).
pub const PHOTO_BYTES: (usize, usize) = (20 * 1024, 80 * 1024);
/// 3:4 within 2 %: 354×472 is exactly 3:4, and a crop one or two pixels off is still fine.
pub const PHOTO_RATIO_TOLERANCE_PERCENT: u32 = 2;
/// A light background: the sampled band's mean luma (0–255, BT.601) at least this.
pub const BACKGROUND_MIN_LUMA: u32 = 170;
/// Unsaturated: HSV saturation of the band's mean colour (percent) at most this. Light grey
/// is ~0, a light ID-photo blue such as (200, 225, 245) ~18, a yellow wall ~60.
pub const BACKGROUND_MAX_SATURATION_PERCENT: u32 = 30;
/// Plain: each channel's standard deviation within the band at most this.
pub const BACKGROUND_MAX_SPREAD: u32 = 24;

/// What the photo check measured: the file size, the decoded dimensions (none when the file is
/// not a JPEG that decodes), and the background band's statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhotoFacts {
    pub bytes: usize,
    pub dimensions: Option<(u32, u32)>,
    pub background: Option<Background>,
}

/// The top corners' band: mean colour and its largest per-channel standard deviation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Background {
    pub mean: [u8; 3],
    pub spread: u32,
}

impl Background {
    /// Measures the top-left and top-right corner patches (each a tenth of the width and of the
    /// height, where the head never is) of an RGB image, row-major.
    pub fn measure(width: u32, height: u32, rgb: &[u8]) -> Option<Self> {
        let (w, h) = (width as usize, height as usize);
        if w == 0 || h == 0 || rgb.len() < w * h * 3 {
            return None;
        }
        let (pw, ph) = ((w / 10).max(1), (h / 10).max(1));
        let mut sum = [0u64; 3];
        let mut sq = [0u64; 3];
        let mut n = 0u64;
        for y in 0..ph {
            for x in (0..pw).chain(w - pw..w) {
                let i = (y * w + x) * 3;
                for c in 0..3 {
                    let v = u64::from(rgb[i + c]);
                    sum[c] += v;
                    sq[c] += v * v;
                }
                n += 1;
            }
        }
        let mean = [0, 1, 2].map(|c| (sum[c] / n) as u8);
        let spread = (0..3)
            .map(|c| {
                let m = sum[c] as f64 / n as f64;
                ((sq[c] as f64 / n as f64 - m * m).max(0.0)).sqrt() as u32
            })
            .max()
            .unwrap_or(0);
        Some(Self { mean, spread })
    }

    fn luma(self) -> u32 {
        let [r, g, b] = self.mean.map(u32::from);
        (299 * r + 587 * g + 114 * b) / 1000
    }

    fn saturation_percent(self) -> u32 {
        let max = u32::from(*self.mean.iter().max().unwrap_or(&0));
        let min = u32::from(*self.mean.iter().min().unwrap_or(&0));
        // Black has no hue: counted as fully saturated, so never a light background.
        ((max - min) * 100).checked_div(max).unwrap_or(100)
    }

    /// Light, unsaturated and plain.
    pub fn acceptable(self) -> bool {
        self.luma() >= BACKGROUND_MIN_LUMA
            && self.saturation_percent() <= BACKGROUND_MAX_SATURATION_PERCENT
            && self.spread <= BACKGROUND_MAX_SPREAD
    }
}

/// Every limit of §5 the photo fails (empty: accepted), each with its code and texts.
pub fn check_photo(f: &PhotoFacts) -> Vec<Reason> {
    let mut out = Vec::new();
    let kb = f.bytes.div_ceil(1024);
    if f.bytes < PHOTO_BYTES.0 {
        out.push(reason_of(
            "photo_file_too_small",
            format!("照片文件应为20–80KB，当前约{kb}KB，请使用更清晰的照片"),
            format!(
                "the photo file should be 20–80 KB; this one is about {kb} KB: use a sharper photo"
            ),
        ));
    } else if f.bytes > PHOTO_BYTES.1 {
        out.push(reason_of(
            "photo_file_too_large",
            format!("照片文件应为20–80KB，当前约{kb}KB，请压缩后再上传"),
            format!("the photo file should be 20–80 KB; this one is about {kb} KB: compress it"),
        ));
    }
    let Some((w, h)) = f.dimensions else {
        out.push(reason_of(
            "photo_not_jpeg",
            "照片须为JPEG格式（.jpg）的图片文件",
            "the photo must be a JPEG (.jpg) image",
        ));
        return out;
    };
    if !(PHOTO_WIDTH.0..=PHOTO_WIDTH.1).contains(&w) {
        out.push(reason_of(
            "photo_width",
            format!("照片宽度应为354–480像素，当前为{w}像素"),
            format!("the photo should be 354–480 pixels wide; this one is {w}"),
        ));
    }
    if !(PHOTO_HEIGHT.0..=PHOTO_HEIGHT.1).contains(&h) {
        out.push(reason_of(
            "photo_height",
            format!("照片高度应为472–640像素，当前为{h}像素"),
            format!("the photo should be 472–640 pixels high; this one is {h}"),
        ));
    }
    // 3:4 means 4w = 3h; off by at most the tolerance of 3h.
    let (a, b) = (u64::from(w) * 4, u64::from(h) * 3);
    if a.abs_diff(b) * 100 > b * u64::from(PHOTO_RATIO_TOLERANCE_PERCENT) {
        out.push(reason_of(
            "photo_ratio",
            format!("照片宽高比应为3:4（如354×472像素），当前为{w}×{h}"),
            format!("the photo should be 3:4 (e.g. 354×472 pixels); this one is {w}×{h}"),
        ));
    }
    if !f.background.is_some_and(Background::acceptable) {
        out.push(reason_of(
            "photo_background",
            "照片背景应为白色或浅灰、浅蓝色的纯色背景",
            "the background should be plain white, light grey or light blue",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::DocumentKind;
    use crate::eligibility::{DocumentRecord, DocumentStatus, PersonRecord, PersonStatus};
    use crate::idnum::{compose, ResidentId};
    use chrono::NaiveDate;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn today() -> NaiveDate {
        d(2026, 12, 1)
    }
    fn resident(birth: NaiveDate) -> (Identity, String) {
        let s = compose("440106", birth, 11);
        (
            Identity::Resident(ResidentId::parse(&s, today()).unwrap()),
            s,
        )
    }
    fn person(id: &str) -> PersonRecord {
        PersonRecord {
            id_number: id.into(),
            name: "陈晓明".into(),
            hukou_city: "广州".into(),
            residence_permit_city: None,
            residence_permit_expires: None,
            status: PersonStatus::Active,
            state_functionary: false,
            fingerprints_on_file: true,
            military: false,
            phone: Some("13800001234".into()),
        }
    }
    fn passport(id: &str) -> DocumentRecord {
        DocumentRecord {
            id_number: id.into(),
            kind: DocumentKind::Passport,
            number: "E12345678".into(),
            issued_on: d(2017, 3, 1),
            expires_on: d(2027, 3, 1),
            status: DocumentStatus::Valid,
        }
    }
    fn codes(
        id: &Identity,
        p: Option<&PersonRecord>,
        docs: &[DocumentRecord],
        business: &str,
    ) -> Vec<&'static str> {
        let c = Catalogue::builtin();
        let facts = Facts {
            visit_date: today(),
            person: p,
            documents: docs,
        };
        remote_check(&c, business, "陈晓明", id, &Answers::default(), facts)
            .iter()
            .map(|r| r.code)
            .collect()
    }

    #[test]
    fn an_adult_guangzhou_resident_with_a_passport_and_fingerprints_renews_online() {
        let (id, s) = resident(d(1990, 5, 1));
        assert!(codes(&id, Some(&person(&s)), &[passport(&s)], "passport_renewal").is_empty());
    }

    #[test]
    fn each_remote_condition_fails_with_its_own_code() {
        let (id, s) = resident(d(1990, 5, 1));
        let docs = [passport(&s)];
        let with = |f: fn(&mut PersonRecord)| {
            let mut p = person(&s);
            f(&mut p);
            codes(&id, Some(&p), &docs, "passport_renewal")
        };
        assert_eq!(
            with(|p| p.hukou_city = "北京".into()),
            ["remote_not_pilot_hukou"]
        );
        assert_eq!(
            with(|p| p.fingerprints_on_file = false),
            ["remote_no_fingerprints"]
        );
        assert_eq!(
            with(|p| p.state_functionary = true),
            ["remote_state_functionary"]
        );
        assert_eq!(with(|p| p.military = true), ["remote_military"]);
        assert_eq!(with(|p| p.phone = None), ["remote_no_phone"]);
        let p = person(&s);
        assert!(
            codes(&id, Some(&p), &[], "passport_renewal").contains(&"remote_no_previous_document")
        );
        assert_eq!(
            codes(&id, None, &docs, "passport_renewal"),
            ["remote_not_registered"]
        );
        assert_eq!(
            codes(&id, Some(&p), &docs, "passport_first")[0],
            "remote_not_offered"
        );
        let (minor, m) = resident(d(2012, 5, 1));
        let mut mp = person(&m);
        mp.id_number = m.clone();
        assert!(
            codes(&minor, Some(&mp), &[passport(&m)], "passport_renewal")
                .contains(&"remote_under_16")
        );
    }

    #[test]
    fn remote_reasons_from_the_registry_are_listed_as_such() {
        for code in REMOTE_REGISTRY_REASONS {
            assert!(crate::eligibility::from_registry(code), "{code}");
        }
        assert!(!crate::eligibility::from_registry("remote_under_16"));
        assert!(!crate::eligibility::from_registry("remote_not_offered"));
    }

    #[test]
    fn the_pilot_starts_on_its_date() {
        let c = Catalogue::builtin();
        assert!(!c.offered_remotely("passport_renewal", d(2024, 5, 5)));
        assert!(c.offered_remotely("passport_renewal", d(2024, 5, 6)));
    }

    fn good() -> PhotoFacts {
        PhotoFacts {
            bytes: 40 * 1024,
            dimensions: Some((354, 472)),
            background: Some(Background {
                mean: [250, 250, 250],
                spread: 3,
            }),
        }
    }
    fn photo_codes(f: PhotoFacts) -> Vec<&'static str> {
        check_photo(&f).iter().map(|r| r.code).collect()
    }

    #[test]
    fn a_photo_within_every_limit_passes() {
        assert!(photo_codes(good()).is_empty());
        let blue = PhotoFacts {
            background: Some(Background {
                mean: [200, 225, 245],
                spread: 5,
            }),
            dimensions: Some((480, 640)),
            ..good()
        };
        assert!(photo_codes(blue).is_empty());
    }

    #[test]
    fn each_photo_limit_fails_with_its_own_code() {
        let f = |g: fn(&mut PhotoFacts)| {
            let mut p = good();
            g(&mut p);
            photo_codes(p)
        };
        assert_eq!(f(|p| p.bytes = 19 * 1024), ["photo_file_too_small"]);
        assert_eq!(f(|p| p.bytes = 81 * 1024), ["photo_file_too_large"]);
        assert_eq!(f(|p| p.dimensions = None), ["photo_not_jpeg"]);
        assert_eq!(
            f(|p| p.dimensions = Some((300, 400))),
            ["photo_width", "photo_height"]
        );
        assert_eq!(f(|p| p.dimensions = Some((400, 472))), ["photo_ratio"]);
        assert_eq!(
            f(|p| p.background = Some(Background {
                mean: [90, 90, 90],
                spread: 2
            })),
            ["photo_background"]
        );
        assert_eq!(
            f(|p| p.background = Some(Background {
                mean: [240, 220, 80],
                spread: 2
            })),
            ["photo_background"]
        );
        assert_eq!(
            f(|p| p.background = Some(Background {
                mean: [230, 230, 230],
                spread: 60
            })),
            ["photo_background"]
        );
    }

    #[test]
    fn the_background_is_measured_in_the_top_corners() {
        // White image with a dark "head" in the middle top: the corners stay white.
        let (w, h) = (40u32, 40u32);
        let mut rgb = vec![255u8; (w * h * 3) as usize];
        for y in 0..10 {
            for x in 15..25 {
                let i = ((y * w + x) * 3) as usize;
                rgb[i..i + 3].copy_from_slice(&[20, 20, 20]);
            }
        }
        let b = Background::measure(w, h, &rgb).unwrap();
        assert!(b.acceptable(), "{b:?}");
    }
}
