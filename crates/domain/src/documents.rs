//! What to bring to the hall for each business (shown before booking and on the slip).
//!
//! Derived from the rules in RULES.md §5–§6: identity card (or 户口簿 for minors with a
//! guardian), a photo meeting the exit-entry standard (or the digital-photo receipt), the old
//! document for renewals, the permit itself for endorsements, the supporting papers an
//! endorsement type needs, and for foreigners the passport, the registration of residence and
//! the reason for staying.

use crate::catalogue::{Business, DocumentKind, Group};

/// One item to bring, in both languages.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Item {
    pub zh: &'static str,
    pub en: &'static str,
}

const fn item(zh: &'static str, en: &'static str) -> Item {
    Item { zh, en }
}

/// The documents to bring for `b`.
pub fn to_bring(b: &Business) -> Vec<Item> {
    let mut v = Vec::new();
    if b.group == Group::Foreigner {
        v.push(item(
            "有效护照原件及复印件",
            "Valid passport, original and a copy",
        ));
        v.push(item(
            "近期彩色证件照片一张（33×48毫米）",
            "One recent colour photo (33×48 mm)",
        ));
        v.push(item(
            "住宿登记表（境外人员临时住宿登记）",
            "Registration of temporary residence",
        ));
        v.push(match b.document {
            DocumentKind::ForeignResidence => item(
                "居留事由证明（如工作许可、在学证明或亲属关系证明）",
                "Proof of the reason for residence (work permit, enrolment letter or proof of family ties)",
            ),
            _ => item("延期事由说明及相关证明", "A statement of the reason for the extension, with evidence"),
        });
        if b.document == DocumentKind::ForeignResidence {
            // Law art. 30: fingerprints are taken at the counter, so the applicant comes in person.
            v.push(item(
                "本人到场，在窗口采集指纹",
                "Come in person: your fingerprints are taken at the counter",
            ));
        }
        return v;
    }
    v.push(item("本人居民身份证", "Your resident identity card"));
    let issues_document = b.endorsement.is_none();
    if issues_document {
        v.push(item(
            "符合出入境证件相片标准的照片或数码相片回执（也可在大厅现场拍照）",
            "A photo meeting the exit-entry photo standard, or the digital-photo receipt (photos can also be taken at the hall)",
        ));
    }
    match (b.code.as_str(), b.document) {
        ("passport_renewal", _) => v.push(item("原护照", "Your current passport")),
        ("passport_replacement", _) => v.push(item(
            "护照遗失或被盗的情况说明",
            "A statement of how the passport was lost or stolen",
        )),
        (_, DocumentKind::HkmPermit | DocumentKind::TwPermit) if !issues_document => v.push(item(
            "有效的往来港澳（台湾）通行证",
            "Your valid travel permit for Hong Kong/Macao (or Taiwan)",
        )),
        _ => {}
    }
    match b.endorsement.as_deref() {
        Some("T") => v.push(item(
            "亲属关系证明及亲属在港澳台的身份证明",
            "Proof of the family relationship and of the relative's residence",
        )),
        Some("S") | Some("F") => v.push(item(
            "所在单位备案证明及商务事由证明",
            "Your employer's registration and proof of the business purpose",
        )),
        Some("D") | Some("X") => v.push(item("就读或工作证明", "Proof of study or employment")),
        Some("Y") | Some("Q") | Some("C") => v.push(item(
            "邀请函或相关事由证明",
            "The invitation or proof of the purpose",
        )),
        _ => {}
    }
    v
}

/// What only some applicants bring, with whom it concerns.
pub struct Conditional {
    pub who_zh: &'static str,
    pub who_en: &'static str,
    pub item: Item,
}

/// The documents of `b` that concern only some applicants (minors, state functionaries…):
/// shown apart from [`to_bring`], so that nobody is told to bring what does not apply, and
/// not on the officer's checklist, where an unticked line would count as missing.
pub fn to_bring_if(b: &Business) -> Vec<Conditional> {
    if b.group == Group::Foreigner {
        return Vec::new();
    }
    let mut v = vec![Conditional {
        who_zh: "未满16周岁的申请人",
        who_en: "Applicants under 16",
        item: item(
            "户口簿（可代替身份证），由监护人陪同并出示监护人身份证",
            "The household register (instead of an ID card), with a guardian who shows their own ID card",
        ),
    }];
    if b.endorsement.as_deref() == Some("G") {
        v.push(Conditional {
            who_zh: "非广东户籍的申请人",
            who_en: "Without a Guangdong household registration",
            item: item("本市有效居住证", "A valid local residence permit"),
        });
    }
    v.push(Conditional {
        who_zh: "登记备案的国家工作人员",
        who_en: "State functionaries on record",
        item: item("所在单位出具的审批意见", "The approval of your employer"),
    });
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalogue;

    #[test]
    fn every_business_has_a_list_and_renewal_asks_for_the_old_passport() {
        let c = Catalogue::builtin();
        for b in c.businesses() {
            assert!(to_bring(b).len() >= 2, "{}", b.code);
        }
        let renewal = to_bring(c.business("passport_renewal").unwrap());
        assert!(renewal.iter().any(|i| i.zh == "原护照"));
        let g = to_bring_if(c.business("hkm_endorsement_g").unwrap());
        assert!(g.iter().any(|i| i.item.en.contains("residence permit")));
        let first = to_bring(c.business("passport_first").unwrap());
        assert!(
            !first.iter().any(|i| i.zh.contains("国家工作人员")),
            "only those it concerns are told"
        );
        assert!(
            !to_bring(c.business("hkm_endorsement_g").unwrap())
                .iter()
                .any(|i| i.zh.contains("相片")),
            "endorsements need no new photo"
        );
    }
}
