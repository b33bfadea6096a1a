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

/// A view of the station's accommodation worklist (`wujing_app::lodging::VIEWS`) in words:
/// its tab on the worklist, and what a `lodging.worklist` audit entry says was viewed.
pub fn worklist_view_words(view: &str) -> Option<(&'static str, &'static str)> {
    Some(match view {
        "all" => ("全部", "All"),
        "late" => ("逾期登记", "Late"),
        "overstay" => ("超期停留", "Overstay"),
        "duplicates" => ("重复登记", "Duplicates"),
        "departed" => ("已离开", "Departed"),
        "pending" => ("待核查", "Pending"),
        _ => return None,
    })
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

/// An audit entry's detail as labelled fields for the audit page: each key by its name in the
/// page's language (nested keys joined with "·"), each value in words: status and kind codes,
/// roles and businesses by their names, yes/no, instants in the halls' local time, sites and
/// devices by their names (`name`, as for [`subject_words`]). Staff read the trail to answer
/// "who did what to whom"; a JSON object or a bare code answers neither.
pub fn detail_fields(v: &serde_json::Value, en: bool, name: Names) -> Vec<(String, String)> {
    use serde_json::Value;
    type Out = Vec<(String, String)>;
    fn walk(prefix: &str, v: &Value, en: bool, names: Names, out: &mut Out) {
        match v {
            Value::Null => {}
            Value::Object(m) => {
                for (k, x) in m {
                    let name = key_words(k, en);
                    let name = if prefix.is_empty() {
                        name
                    } else {
                        format!("{prefix} · {name}")
                    };
                    // A site's id reads as its name, a device's number as its name.
                    let id = match x {
                        Value::String(s) => Some(s.clone()),
                        Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    };
                    let kind = match k.as_str() {
                        "hall" | "hall_id" | "site" | "station" => Some("site"),
                        "device" | "device_id" => Some("device"),
                        _ => None,
                    };
                    // The worklist's view by its tab's name ("all" is no code elsewhere).
                    let view = (k == "view")
                        .then(|| x.as_str().and_then(worklist_view_words))
                        .flatten()
                        .map(|(zh, english)| {
                            if en {
                                format!("{zh} {english}")
                            } else {
                                zh.to_string()
                            }
                        });
                    match view.or_else(|| kind.zip(id).and_then(|(kind, id)| names(kind, &id))) {
                        Some(n) => out.push((name, n)),
                        None => walk(&name, x, en, names, out),
                    }
                }
            }
            // (A role grant is one value: "窗口民警@tianhe".)
            Value::Array(a) if a.iter().any(|x| x.is_object() && x.get("role").is_none()) => {
                // A list of records (a site's windows, a batch's items): each numbered.
                for (i, x) in a.iter().enumerate() {
                    walk(&format!("{prefix} {}", i + 1), x, en, names, out);
                }
            }
            Value::Array(a) => {
                fn item(x: &Value, en: bool, names: Names) -> String {
                    match x {
                        Value::Array(a) => a
                            .iter()
                            .map(|x| item(x, en, names))
                            .collect::<Vec<_>>()
                            .join(" "),
                        other => value_words(other, en, names),
                    }
                }
                let items: Vec<String> = a.iter().map(|x| item(x, en, names)).collect();
                let sep = if en { ", " } else { "、" };
                let shown = if items.is_empty() {
                    if en { "无 None" } else { "无" }.to_string()
                } else {
                    items.join(sep)
                };
                out.push((prefix.to_string(), shown));
            }
            other => out.push((prefix.to_string(), value_words(other, en, names))),
        }
    }
    let mut out = vec![];
    walk("", v, en, name, &mut out);
    out
}

/// Names of what audit entries mention by id: `name(kind, id)` with `kind` "site" (a hall,
/// service point or police station by its id) or as the entries write it ("device", "hotel",
/// "system", "staff"); `None` when it is not known (deleted, or a newer kind).
pub type Names<'a> = &'a dyn Fn(&str, &str) -> Option<String>;

/// Where an audit entry was made from (its station: `window:2`, `device:15`, `hotel:3`,
/// `system:1`) in words: a window by its number, the others by their names.
pub fn station_words(station: &str, en: bool, names: Names) -> String {
    let Some((kind, id)) = station.split_once(':') else {
        return station.to_string();
    };
    if kind == "window" {
        return if en {
            format!("{id} 号窗口 Window {id}")
        } else {
            format!("{id} 号窗口")
        };
    }
    subject_words(station, en, names)
}

/// An audit entry's subject (`hall:tianhe`, `staff:3`, `device:15`) as words: a site by its
/// name; a device, hotel, system client or staff account by its kind and name; else its kind
/// named and the id, as it is what staff search and quote.
pub fn subject_words(subject: &str, en: bool, names: Names) -> String {
    let pick = |zh: &str, english: &str| {
        if en {
            format!("{zh} {english}")
        } else {
            zh.to_string()
        }
    };
    // The organisation's settings are named by their keys.
    match subject {
        "authority" => return pick("服务机构信息", "The authority's face"),
        "authority.emblem" => return pick("徽标", "Emblem"),
        _ => {}
    }
    let Some((kind, id)) = subject.split_once(':') else {
        return subject.to_string();
    };
    if matches!(kind, "hall" | "site" | "station") {
        if let Some(n) = names("site", id) {
            return n;
        }
    }
    let (zh, english) = match kind {
        "hall" | "site" => ("办证点", "Site"),
        "staff" => ("工作人员账号", "Staff account"),
        "device" => ("终端", "Device"),
        "hotel" => ("旅馆", "Hotel"),
        "booking" => ("预约", "Booking"),
        "ticket" => ("号票", "Ticket"),
        "application" => ("申请", "Application"),
        "payment" => ("缴费", "Payment"),
        "online" => ("网办申请", "Online application"),
        "lodging" | "registration" => ("住宿登记", "Registration"),
        "alert" => ("提醒", "Alert"),
        "batch" => ("制证批次", "Production batch"),
        "client" | "system" => ("系统客户端", "System client"),
        "identity" => ("证件号码", "ID number"),
        _ => return subject.to_string(),
    };
    let label = pick(zh, english);
    if let Some(n) = names(kind, id) {
        return format!("{label} {n}");
    }
    let id = if id.bytes().all(|b| b.is_ascii_digit()) {
        format!("#{id}")
    } else {
        id.to_string()
    };
    format!("{label} {id}")
}

/// Who made an audit entry, in words: the command line and the system's own jobs named as
/// such rather than by their internal codes.
pub fn actor_words(actor: &str, en: bool) -> String {
    let pick = |zh: &str, english: &str| {
        if en {
            format!("{zh} {english}")
        } else {
            zh.to_string()
        }
    };
    match actor.split_once(':') {
        Some(("cli", "unknown")) => pick("命令行", "Command line"),
        Some(("cli", who)) => format!("{}（{who}）", pick("命令行", "Command line")),
        Some(("system", "sweeper")) => pick("系统定时任务", "System sweeper"),
        Some(("system", job)) => format!("{}（{}）", pick("系统", "System"), english_words(job)),
        _ => actor.to_string(),
    }
}

/// The catalogue's names of businesses, for codes met in audit details.
static CATALOGUE: std::sync::LazyLock<wujing_domain::catalogue::Catalogue> =
    std::sync::LazyLock::new(wujing_domain::catalogue::Catalogue::builtin);

/// One value of an audit detail in words.
fn value_words(v: &serde_json::Value, en: bool, names: Names) -> String {
    use serde_json::Value;
    let pick = |zh: &str, english: &str| {
        if en {
            format!("{zh} {english}")
        } else {
            zh.to_string()
        }
    };
    match v {
        Value::Bool(true) => pick("是", "Yes"),
        Value::Bool(false) => pick("否", "No"),
        Value::String(s) => {
            if let Some(b) = CATALOGUE.business(s) {
                return pick(&b.name_zh, &b.name_en);
            }
            if let Some(r) = wujing_domain::staff::Role::parse(s) {
                return pick(r.name_zh(), &english_words(r.as_str()));
            }
            if let Ok(at) = chrono::DateTime::parse_from_rfc3339(s) {
                // Instants are stored in UTC; staff read the halls' days in China time.
                return at
                    .with_timezone(&wujing_domain::calendar::china_offset())
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string();
            }
            staff_words(s, en)
        }
        Value::Object(g) if g.contains_key("role") => {
            // A role grant: the role, in its hall (by name).
            let role = value_words(&g["role"], en, names);
            match g.get("hall").and_then(Value::as_str) {
                Some(h) => format!(
                    "{role}@{}",
                    names("site", h).unwrap_or_else(|| h.to_string())
                ),
                None => role,
            }
        }
        other => other.to_string(),
    }
}

/// The name of an audit detail's key: the common ones by name, a code by its words, else the
/// key with spaces for its underscores.
fn key_words(key: &str, en: bool) -> String {
    let (zh, english) = match key {
        "reason" => ("原因", "Reason"),
        "reasons" => ("原因", "Reasons"),
        "hall" | "hall_id" => ("大厅", "Hall"),
        "site" => ("办证点", "Site"),
        "from" => ("自", "From"),
        "to" => ("至", "To"),
        "kind" => ("类型", "Kind"),
        "field" => ("字段", "Field"),
        "fields" => ("字段", "Fields"),
        "amount_yuan" | "order_amount_yuan" => ("金额（元）", "Amount (yuan)"),
        "fee_yuan" => ("费用（元）", "Fee (yuan)"),
        "window" => ("窗口", "Window"),
        "windows" => ("窗口", "Windows"),
        "note" => ("备注", "Note"),
        "code" => ("代码", "Code"),
        "before" => ("修改前", "Before"),
        "after" => ("修改后", "After"),
        "status" => ("状态", "Status"),
        "state" => ("状态", "State"),
        "name_zh" => ("中文名称", "Chinese name"),
        "name_en" => ("英文名称", "English name"),
        "name" => ("名称", "Name"),
        "method" => ("方式", "Method"),
        "roles" => ("角色", "Roles"),
        "role" => ("角色", "Role"),
        "purpose" => ("用途", "Purpose"),
        "provider" => ("支付渠道", "Provider"),
        "display_name" => ("姓名", "Name"),
        "username" => ("用户名", "Username"),
        "channel" => ("渠道", "Channel"),
        "business" => ("业务", "Business"),
        "businesses" => ("业务", "Businesses"),
        "address_zh" => ("中文地址", "Chinese address"),
        "address_en" => ("英文地址", "English address"),
        "weekdays" => ("办公日", "Weekdays"),
        "sessions" => ("办公时段", "Sessions"),
        "slot_minutes" => ("时段分钟数", "Slot minutes"),
        "ticket" => ("号票", "Ticket"),
        "score" => ("评价", "Score"),
        "receipt" => ("收据号", "Receipt"),
        "outcome" => ("结果", "Outcome"),
        "option" | "options" => ("选项", "Options"),
        "number" => ("号码", "Number"),
        "day" => ("日期", "Day"),
        "disabled" => ("停用", "Disabled"),
        "changed" => ("修改项", "Changed"),
        "queue" => ("队列", "Queue"),
        "pool" => ("号源类别", "Pool"),
        "phone" => ("手机", "Phone"),
        "station" => ("派出所", "Police station"),
        "staff" => ("工作人员", "Staff"),
        "decision" => ("决定", "Decision"),
        "document_number" => ("证件号码", "Document number"),
        "district" => ("区", "District"),
        "device" => ("设备", "Device"),
        "capacity" => ("每时段号数", "Seats per slot"),
        "content_type" => ("文件类型", "File type"),
        "bytes" => ("大小（字节）", "Size (bytes)"),
        "collection" => ("领取方式", "Collection"),
        "tracking_number" => ("邮件单号", "Tracking number"),
        "batch" => ("批次", "Batch"),
        "compartment" => ("格口", "Compartment"),
        "nationality" => ("国籍", "Nationality"),
        "password_reset" => ("重置密码", "Password reset"),
        "payment_id" => ("支付单号", "Payment"),
        "type" | "types" => ("类型", "Type"),
        "lateness" => ("登记时效", "Lateness"),
        "stay_id" => ("住宿编号", "Stay"),
        "view" => ("查看内容", "View"),
        "retention_days" => ("保留天数", "Retention days"),
        "valid_until" => ("有效期至", "Valid until"),
        "issued_at" => ("签发时间", "Issued at"),
        "at" => ("时间", "Time"),
        "by" => ("操作人", "By"),
        "event" => ("事件", "Event"),
        "alert" => ("提醒", "Alert"),
        "cleared" => ("已解除", "Cleared"),
        "raised" => ("已报告", "Raised"),
        "threshold" => ("阈值", "Threshold"),
        "limit" => ("上限", "Limit"),
        "max_bytes" => ("最大字节数", "Max bytes"),
        "missing" => ("缺少材料", "Missing"),
        "ready_by" => ("预计可取日期", "Ready by"),
        "to_collect" => ("待领取", "To collect"),
        "compartments" => ("格口数", "Compartments"),
        "rows" => ("条数", "Rows"),
        "results" => ("结果条数", "Results"),
        "id" => ("编号", "No."),
        other => {
            return match code_words(other, false) {
                Some(_) => staff_words(other, en),
                None => english_words(other),
            }
        }
    };
    if en {
        format!("{zh} {english}")
    } else {
        zh.to_string()
    }
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
            detail_fields(
                &serde_json::json!({"raised": [["fault:printer", "paper_out"]]}),
                false,
                &|_, _| None
            ),
            [("已报告".to_string(), "打印机 缺纸".to_string())]
        );
        assert_eq!(window_kind_words("foreigners", false), "外国人窗口");
        let site = |kind: &str, id: &str| match (kind, id) {
            ("site", "tianhe") => Some("天河大厅".to_string()),
            ("device", "15") => Some("天河大厅 填表机 9".to_string()),
            ("hotel", "3") => Some("如家酒店".to_string()),
            _ => None,
        };
        assert_eq!(subject_words("hall:tianhe", false, &site), "天河大厅");
        assert_eq!(
            subject_words("device:15", false, &site),
            "终端 天河大厅 填表机 9"
        );
        assert_eq!(subject_words("device:16", false, &site), "终端 #16");
        assert_eq!(subject_words("hotel:3", true, &site), "旅馆 Hotel 如家酒店");
        assert_eq!(
            station_words("device:15", false, &site),
            "终端 天河大厅 填表机 9"
        );
        assert_eq!(station_words("window:2", false, &site), "2 号窗口");
        assert_eq!(
            detail_fields(&serde_json::json!({"view": "all", "rows": 1}), true, &site),
            [
                ("条数 Rows".to_string(), "1".to_string()),
                ("查看内容 View".into(), "全部 All".into())
            ]
        );
        assert_eq!(
            detail_fields(&serde_json::json!({"device": 15}), false, &site),
            [("设备".to_string(), "天河大厅 填表机 9".to_string())]
        );
        assert_eq!(
            subject_words("staff:tianhemgr", true, &site),
            "工作人员账号 Staff account tianhemgr"
        );
        assert_eq!(subject_words("authority.emblem", false, &site), "徽标");
        assert_eq!(subject_words("settings", false, &site), "settings");
        assert_eq!(actor_words("cli:unknown", false), "命令行");
        assert_eq!(actor_words("王丽", false), "王丽");
        assert_eq!(
            detail_fields(
                &serde_json::json!({
                    "business": "passport_first",
                    "roles": [{"role": "officer", "hall": "tianhe"}],
                    "disabled": false,
                    "at": "2026-12-02T01:20:00Z",
                    "status": "serving",
                    "capacity": {"on_site": 3},
                    "hall": "tianhe",
                }),
                false,
                &|kind, id| (kind == "site" && id == "tianhe")
                    .then(|| "天河区出入境办证大厅".to_string())
            ),
            [
                ("时间".to_string(), "2026-12-02 09:20:00".to_string()),
                ("业务".into(), "首次申请普通护照".into()),
                ("每时段号数 · 现场取号".into(), "3".into()),
                ("停用".into(), "否".into()),
                ("大厅".into(), "天河区出入境办证大厅".into()),
                ("角色".into(), "窗口民警@天河区出入境办证大厅".into()),
                ("状态".into(), "受理中".into()),
            ]
        );
        assert_eq!(device_mode_words("status", true), "进度查询 Status query");
        assert_eq!(
            detail_fields(
                &serde_json::json!({"status": "serving", "capacity": {"on_site": 3}}),
                false,
                &|_, _| None
            ),
            [
                ("每时段号数 · 现场取号".to_string(), "3".to_string()),
                ("状态".into(), "受理中".into())
            ]
        );
    }
}
