//! Codes in words for the staff pages: one place that turns any status or kind code the
//! domain stores (a ticket's `serving`, an application's `pending_supplement`, a pool's
//! `on_site`, a payment's `card`, an urgent reason's `funeral`, a rating's `slow`…) into the
//! page's language, so that no staff page shows a raw code. Each name comes from the module
//! that owns the code; this only gathers them.

use wujing_app::hall::{ticket_status_words, URGENT_REASONS};
use wujing_app::ratings::REASONS;
use wujing_domain::application::{Collection, RefusalReason, State};
use wujing_domain::{Channel, Pool};

/// The code in words, or `None` for a string that is no code this build knows.
pub fn code_words(code: &str, en: bool) -> Option<String> {
    let pick = |zh: &str, english: &str| Some(if en { english } else { zh }.to_string());
    let (zh, english) = ticket_status_words(code);
    if english != "other" {
        return pick(zh, english);
    }
    if let Some(s) = State::parse(code) {
        // The English side reads the code with spaces: "pending supplement".
        return pick(s.name_zh(), &english_words(s.as_str()));
    }
    if let Some(p) = Pool::parse(code) {
        return pick(
            match p {
                Pool::Online => "网上预约",
                Pool::OnSite => "现场取号",
                Pool::Expedite => "加急",
            },
            match p {
                Pool::Online => "online",
                Pool::OnSite => "on site",
                Pool::Expedite => "expedited",
            },
        );
    }
    if let Some(c) = Channel::parse(code) {
        return pick(c.name_zh(), &english_words(c.as_str()));
    }
    if let Some(c) = Collection::parse(code) {
        return pick(c.name_zh(), &english_words(c.as_str()));
    }
    if let Some(r) = RefusalReason::parse(code) {
        return pick(r.zh(), &english_words(r.as_str()));
    }
    for (c, zh, english) in URGENT_REASONS.iter().chain(REASONS) {
        if *c == code {
            return pick(zh, english);
        }
    }
    if let Some(k) = wujing_domain::DeviceKind::parse(code) {
        return pick(k.name_zh(), k.name_en());
    }
    // A machine's alert reasons and the peripheral states that are faults (a heartbeat's audit
    // entry); `ok`, `error` or `offline` are left alone: they are plain words too.
    if code.starts_with("fault:") || code.starts_with("jam:") {
        let (zh, english) = wujing_domain::device::alert_words(code, "error");
        let zh = zh.trim_end_matches("故障").to_string();
        let english = english.trim_end_matches(": error").to_string();
        return pick(&zh, &english);
    }
    if matches!(
        code,
        "paper_low" | "paper_out" | "disconnected" | "door_open"
    ) {
        let (zh, english) = wujing_domain::device::state_words(code);
        return pick(zh, english);
    }
    match code {
        "walk_in" => pick("现场取号", "walk-in"),
        "appointment" => pick("预约", "appointment"),
        "on_time" => pick("按时", "on time"),
        "warning_only" => pick("逾期（仅警告）", "late (warning only)"),
        "card" => pick("银行卡", "bank card"),
        "qr" => pick("扫码支付", "QR payment"),
        "cash" => pick("现金", "cash"),
        "satisfied" => pick("满意", "satisfied"),
        "basic" => pick("基本满意", "fairly satisfied"),
        "unsatisfied" => pick("不满意", "unsatisfied"),
        "same_identity" => pick("同一身份退号后重新预约", "same person booked again"),
        "seat_handoff" => pick("退号后号源被他人约走", "seat taken by another"),
        _ => None,
    }
}

/// A window's kind in words (`expedite` reads as the pool's word). Apart from [`code_words`]:
/// `general` and `collection` are also plain keys of audit details.
pub fn window_kind_words(kind: &str, en: bool) -> String {
    let (zh, english) = match kind {
        "general" => ("综合窗口", "General"),
        "foreigners" => ("外国人窗口", "Foreigners"),
        "expedite" => ("加急窗口", "Expedited"),
        "collection" => ("领证窗口", "Collection"),
        other => return other.to_string(),
    };
    if en {
        format!("{zh} {english}")
    } else {
        zh.to_string()
    }
}

/// What a machine was used for (the usage counters, `count_use`) in words. Apart from
/// [`code_words`]: `status`, `form` or `pay` are also plain keys of audit details.
pub fn device_mode_words(mode: &str, en: bool) -> String {
    let (zh, english) = match mode {
        "check_in" => ("签到", "Check-in"),
        "book" => ("预约", "Booking"),
        "form" => ("填表", "Form filling"),
        "locker" => ("柜取证件", "Locker collection"),
        "pay" => ("缴费", "Payment"),
        "reissue" => ("签注自助续签", "Endorsement re-issue"),
        "rate" => ("评价", "Rating"),
        "status" => ("进度查询", "Status query"),
        "collection" => ("选择领证方式", "Collection choice"),
        "write" => ("签注立等可取写入", "On-site endorsement write"),
        "apply" => ("自助申请", "Self-service application"),
        "card_read" => ("读取身份证", "ID card read"),
        "lodging" => ("住宿登记", "Accommodation registration"),
        other => return staff_words(other, en),
    };
    if en {
        format!("{zh} {english}")
    } else {
        zh.to_string()
    }
}

/// A code with its underscores as spaces: the English side of names kept only in Chinese.
fn english_words(code: &str) -> String {
    code.replace('_', " ")
}

/// A code as staff pages show it: Chinese words, with the English beside them on English pages
/// (like every staff label), capitalised as a label is; a string that is no code, itself.
pub fn staff_words(value: &str, en: bool) -> String {
    let Some(zh) = code_words(value, false) else {
        return value.to_string();
    };
    if !en {
        return zh;
    }
    let english = code_words(value, true).unwrap_or_default();
    let mut c = english.chars();
    match c.next() {
        Some(f) => format!("{zh} {}{}", f.to_uppercase(), c.as_str()),
        None => zh,
    }
}

/// An audit entry's detail as one line of "name：value" pairs, codes in words, nested objects
/// flattened with their parent's name, instead of JSON.
pub fn detail_text(v: &serde_json::Value, en: bool) -> String {
    use serde_json::Value;
    fn walk(prefix: &str, v: &Value, en: bool, out: &mut Vec<String>) {
        match v {
            Value::Null => {}
            Value::Object(m) => {
                for (k, x) in m {
                    let k = staff_words(k, en);
                    let name = if prefix.is_empty() {
                        k
                    } else {
                        format!("{prefix}·{k}")
                    };
                    walk(&name, x, en, out);
                }
            }
            Value::Array(a) => {
                // Nested lists (a heartbeat's `[reason, state]` pairs) read as words too.
                fn item(x: &Value, en: bool) -> String {
                    match x {
                        Value::String(s) => staff_words(s, en),
                        Value::Array(a) => {
                            a.iter().map(|x| item(x, en)).collect::<Vec<_>>().join(" ")
                        }
                        other => other.to_string(),
                    }
                }
                let items: Vec<String> = a.iter().map(|x| item(x, en)).collect();
                out.push(format!("{prefix}：{}", items.join("、")));
            }
            Value::String(s) => out.push(format!("{prefix}：{}", staff_words(s, en))),
            other => out.push(format!("{prefix}：{other}")),
        }
    }
    let mut out = vec![];
    walk("", v, en, &mut out);
    out.join("；")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_as_words_in_the_pages_language() {
        for code in [
            "called",
            "serving",
            "done",
            "pending_supplement",
            "slow",
            "funeral",
            "card",
            "online",
            "on_site",
        ] {
            let zh = code_words(code, false).unwrap_or_else(|| panic!("{code}"));
            assert!(!zh.is_ascii(), "{code}: {zh}");
            assert!(code_words(code, true).is_some());
        }
        assert_eq!(code_words("on_site", true).as_deref(), Some("on site"));
        assert_eq!(
            code_words("pending_supplement", true).as_deref(),
            Some("pending supplement")
        );
        assert_eq!(code_words("天河", false), None);
        assert_eq!(staff_words("serving", true), "受理中 Serving");
        assert_eq!(staff_words("on_site", false), "现场取号");
        assert_eq!(staff_words("qzj", false), "取证机");
        assert_eq!(staff_words("fault:printer", false), "打印机");
        assert_eq!(staff_words("paper_out", false), "缺纸");
        assert_eq!(
            detail_text(
                &serde_json::json!({"raised": [["fault:printer", "paper_out"]]}),
                false
            ),
            "raised：打印机 缺纸"
        );
        assert_eq!(window_kind_words("foreigners", false), "外国人窗口");
        assert_eq!(device_mode_words("status", true), "进度查询 Status query");
        assert_eq!(
            detail_text(
                &serde_json::json!({"status": "serving", "capacity": {"on_site": 3}}),
                false
            ),
            "capacity·现场取号：3；status：受理中"
        );
    }
}
