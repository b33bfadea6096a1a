//! How an application is getting on, as its applicant sees it (issue 12 §3): the steps it
//! went through and what comes next, in both languages. Read only through an owner proof (the
//! booking view); it carries states, times and system texts, never who moved it.

use crate::booking::ApplicationStep;
use chrono::NaiveDate;
use wujing_domain::application::{RefusalReason, State};
use wujing_domain::calendar::china_offset;
use wujing_store::{Application, ApplicationEvent, Hall};

/// Where a document is collected: the accepting hall's name and address (zh-CN, en).
pub(crate) fn place(hall: &Hall) -> (String, String) {
    (
        format!("{}（{}）", hall.name_zh, hall.address_zh),
        format!("{} ({})", hall.name_en, hall.address_en),
    )
}

/// The history for the citizen: state and time only. The event's actor (a staff id) and
/// note stay with staff.
pub(crate) fn steps(events: &[ApplicationEvent]) -> Vec<ApplicationStep> {
    events
        .iter()
        .map(|e| {
            let s = State::parse(&e.to_state);
            ApplicationStep {
                state: e.to_state.clone(),
                // A state unknown to this build (a newer migration) still shows, by its code.
                name_zh: s.map_or(e.to_state.clone(), |s| s.name_zh().into()),
                name_en: s.map_or(e.to_state.clone(), |s| s.name_en().into()),
                at: e.at.with_timezone(&china_offset()),
            }
        })
        .collect()
}

/// A mail address as its owner sees it on a page that a shared link may show: the first six
/// characters (the city and district, enough to recognise it), the rest elided.
pub(crate) fn mask_address(a: &str) -> String {
    let head: String = a.chars().take(6).collect();
    if a.chars().count() > 6 {
        format!("{head}……")
    } else {
        head
    }
}

fn day(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

/// What the applicant is to do or expect next in the application's current state:
/// (zh-CN, en). `place` is the accepting hall ([`place`]), where a counter collection happens.
pub(crate) fn next_step(
    a: &Application,
    (place_zh, place_en): &(String, String),
) -> (String, String) {
    let ready = a.ready_by.to_string();
    let (exp_zh, exp_en) = if a.expedited {
        ("（加急）", " (expedited)")
    } else {
        ("", "")
    };
    let Some(state) = State::parse(&a.status) else {
        return (
            format!("预计{ready}前办结。"),
            format!("Expected ready by {ready}."),
        );
    };
    match state {
        State::Accepted => (
            format!("您的申请等待审批，预计{ready}前办结{exp_zh}，办理进度可在本页查看。"),
            format!("Your application is waiting for review. Expected ready by {ready}{exp_en}; this page shows how it is getting on."),
        ),
        State::PendingSupplement => {
            let due = day(a.supplement_due);
            (
                format!("请于{due}前到任一窗口补交：{}；补齐后预计{ready}前办结。", a.missing.join("、")),
                format!("Bring these to any counter by {due}: {}. The document is expected ready by {ready} once they are in.", a.missing.join(", ")),
            )
        }
        State::UnderReview => (
            format!("您的申请正在审批，预计{ready}前办结{exp_zh}。"),
            format!("Your application is being reviewed; expected ready by {ready}{exp_en}."),
        ),
        State::Approved | State::InProduction | State::Produced => (
            format!("您的申请已批准，证件制作中，预计{ready}前可领取{exp_zh}。"),
            format!("Your application was approved and your document is being made; expected ready by {ready}{exp_en}."),
        ),
        State::Dispatched => match a.collection_method.as_str() {
            "mail" => {
                let t = a.tracking_number.as_deref().unwrap_or("");
                (
                    format!("您的证件已通过EMS寄出，运单号{t}，请留意查收。"),
                    format!("Your document has been mailed by EMS, tracking number {t}."),
                )
            }
            _ => (
                format!("您的证件正在送往{place_zh}，送达后本页会通知您领取。"),
                format!("Your document is on its way to {place_en}; this page tells you when to collect it."),
            ),
        },
        State::ReadyForCollection => match a.collection_method.as_str() {
            "locker" => (
                format!("您的证件已可领取：请携带身份证到{place_zh}的自助取证柜领取。"),
                format!("Your document is ready: collect it from the self-service locker at {place_en} with your ID card."),
            ),
            _ => (
                format!("您的证件已可领取：请携带身份证到{place_zh}的窗口领取。"),
                format!("Your document is ready: collect it at a counter of {place_en} with your ID card."),
            ),
        },
        State::Refused => {
            let r = a.refusal_reason.as_deref().and_then(RefusalReason::parse).unwrap_or(RefusalReason::Other);
            (
                format!("您的申请不予批准，原因：{}。如有疑问，请咨询受理单位。", r.zh()),
                format!("Your application was refused: {}. For questions, ask the accepting office.", r.en()),
            )
        }
        State::Collected => (
            "您已领取证件，本次办理完成。".into(),
            "You have collected your document; this application is complete.".into(),
        ),
        State::Withdrawn => (
            "您已撤回申请。如仍需办理，请重新预约。".into(),
            "You withdrew this application. To apply after all, make a new booking.".into(),
        ),
        State::Lapsed => (
            format!("未在{}前补齐材料，申请已终止。如仍需办理，请重新预约。", day(a.supplement_due)),
            format!("The missing materials were not brought by {}; the application is closed. To apply after all, make a new booking.", day(a.supplement_due)),
        ),
        State::ReturnedToVault => (
            format!("您的证件逾期未领，已退回库房；仍可携带身份证到{place_zh}的窗口领取。"),
            format!("Your document was not collected in time and is back in the vault; you can still collect it at a counter of {place_en} with your ID card."),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn application(status: &str) -> Application {
        Application {
            id: 1,
            ticket_id: Some(1),
            business: "passport_first".into(),
            status: status.into(),
            missing: vec!["户口簿".into()],
            supplement_due: NaiveDate::from_ymd_opt(2026, 12, 15),
            expedited: false,
            ready_by: NaiveDate::from_ymd_opt(2026, 12, 10).unwrap(),
            accepted_at: Utc.with_ymd_and_hms(2026, 12, 1, 1, 30, 0).unwrap(),
            hall_id: "tianhe".into(),
            identity_key: "k".into(),
            refusal_reason: None,
            document_number: None,
            collection_method: "counter".into(),
            updated_at: Utc.with_ymd_and_hms(2026, 12, 1, 1, 30, 0).unwrap(),
            booking_id: Some(1),
            tracking_number: None,
            channel: "counter".into(),
        }
    }

    #[test]
    fn a_mail_address_shows_only_its_beginning() {
        assert_eq!(mask_address("广州市天河区天河路100号"), "广州市天河区……");
        assert_eq!(mask_address("广州市"), "广州市");
    }

    fn place() -> (String, String) {
        (
            "天河大厅（天河北路）".into(),
            "Tianhe Hall (Tianhe North Road)".into(),
        )
    }

    #[test]
    fn a_refused_application_tells_the_reason_in_both_languages() {
        let mut a = application("refused");
        a.refusal_reason = Some("not_eligible".into());
        let (zh, en) = next_step(&a, &place());
        assert!(zh.contains(RefusalReason::NotEligible.zh()), "{zh}");
        assert!(en.contains(RefusalReason::NotEligible.en()), "{en}");
    }

    #[test]
    fn a_pending_supplement_names_the_missing_items_and_the_deadline() {
        let (zh, en) = next_step(&application("pending_supplement"), &place());
        assert!(zh.contains("户口簿") && zh.contains("2026-12-15"), "{zh}");
        assert!(en.contains("户口簿") && en.contains("2026-12-15"), "{en}");
    }

    #[test]
    fn every_state_has_a_next_step_in_both_languages() {
        for s in State::ALL {
            let (zh, en) = next_step(&application(s.as_str()), &place());
            assert!(!zh.is_empty() && !en.is_empty(), "{s:?}");
        }
    }

    #[test]
    fn the_citizens_history_is_in_china_time_and_names_no_actor() {
        let e = ApplicationEvent {
            id: 1,
            application_id: 1,
            from_state: None,
            to_state: "accepted".into(),
            at: Utc.with_ymd_and_hms(2026, 12, 1, 17, 5, 0).unwrap(),
            actor: "staff:7".into(),
            note: "n".into(),
        };
        let s = &steps(&[e])[0];
        assert_eq!(s.at.to_rfc3339(), "2026-12-02T01:05:00+08:00");
        assert_eq!(
            (s.name_zh.as_str(), s.name_en.as_str()),
            ("已受理", "accepted")
        );
        let json = serde_json::to_string(s).unwrap();
        assert!(
            !json.contains("staff:7") && !json.contains("actor"),
            "{json}"
        );
    }
}
