//! The audit trail's hash chain (M14).
//!
//! Every entry carries the hash of the entry before it and a hash of its own fields and that
//! previous hash, so editing any entry changes its hash (and breaks the next entry's link),
//! and deleting one leaves a gap in the sequence numbers or a head that no longer matches.
//! The chain proves tampering after the fact; the database's append-only triggers and grants
//! are what make tampering hard in the first place.
//!
//! The hash is an HMAC under the deployment's audit key ([`ChainKey`]), which the database
//! does not hold: whoever owns the database can still edit an entry, but cannot re-hash the
//! chain after it into one that verifies. Entries written before a deployment had the key
//! (up to `ChainKey::keyed_after`, recorded beside the key) keep their plain SHA-256.

use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The key an audit chain is hashed with, and the last entry hashed before there was one.
#[derive(Clone, Copy)]
pub struct ChainKey<'a> {
    pub key: &'a [u8],
    pub keyed_after: i64,
}

impl std::fmt::Debug for ChainKey<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChainKey(keyed after {})", self.keyed_after)
    }
}

/// The hash the first entry links to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One entry of the trail, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// 1, 2, 3, … without gaps: assigned by the appender, not by a sequence, so that a
    /// deleted entry shows as a gap.
    pub seq: i64,
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// `staff:<id>`, `device:<id>`, `cli` or `system`.
    pub actor: String,
    /// The actor's name at the time (staff user name, device name).
    pub actor_name: String,
    /// What was done, e.g. `staff.create`, `identity.reveal`, `capacity.change`.
    pub action: String,
    /// What it was done to, e.g. `staff:3`, `hall:gz-tianhe`, `booking:K7Q2…`.
    pub subject: String,
    /// The identity key of the citizen concerned, when there is one (searchable by auditors).
    pub citizen: Option<String>,
    /// A JSON object with the change (before/after). Never a password or a password hash.
    pub detail: String,
    pub client_addr: Option<String>,
    /// The counter window or device the actor used, when known.
    pub station: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

fn field(h: &mut Vec<u8>, s: &str) {
    // Length-prefixed, so that moving characters between two fields changes the hash.
    h.extend((s.len() as u64).to_be_bytes());
    h.extend(s.as_bytes());
}

fn opt(h: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => h.push(0u8),
        Some(s) => {
            h.push(1u8);
            field(h, s);
        }
    }
}

/// The bytes an entry's hash covers: its sequence number, every field and the previous hash.
fn canonical(e: &AuditEntry) -> Vec<u8> {
    let mut h = Vec::with_capacity(256 + e.detail.len());
    h.extend(e.seq.to_be_bytes());
    h.extend(e.at_ms.to_be_bytes());
    field(&mut h, &e.actor);
    field(&mut h, &e.actor_name);
    field(&mut h, &e.action);
    field(&mut h, &e.subject);
    opt(&mut h, e.citizen.as_deref());
    field(&mut h, &e.detail);
    opt(&mut h, e.client_addr.as_deref());
    opt(&mut h, e.station.as_deref());
    field(&mut h, &e.prev_hash);
    h
}

/// The hash of an entry: HMAC-SHA-256 under the audit key, or — for an entry written before
/// the chain was keyed — plain SHA-256.
pub fn entry_hash(k: ChainKey<'_>, e: &AuditEntry) -> String {
    let bytes = canonical(e);
    if e.seq <= k.keyed_after {
        let mut h = Sha256::new();
        h.update(b"wujing-audit-v1");
        h.update(&bytes);
        return hex(&h.finalize());
    }
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(k.key).expect("HMAC takes any key");
    m.update(b"wujing-audit-v2");
    m.update(&bytes);
    hex(&m.finalize().into_bytes())
}

/// Links `entry` to the chain whose newest entry is `head` (`(seq, hash)`, `None` for an
/// empty chain): it gets the next sequence number, the head's hash as its link, and its own
/// hash. Its own `seq`, `prev_hash` and `hash` are ignored.
pub fn link(k: ChainKey<'_>, head: Option<(i64, String)>, mut entry: AuditEntry) -> AuditEntry {
    let (prev_seq, prev_hash) = head.unwrap_or_else(|| (0, GENESIS.to_string()));
    entry.seq = prev_seq + 1;
    entry.prev_hash = prev_hash;
    entry.hash = entry_hash(k, &entry);
    entry
}

/// The MAC that signs a checkpoint `(seq, hash)` exported off the database.
pub fn checkpoint_mac(k: ChainKey<'_>, seq: i64, hash: &str) -> String {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(k.key).expect("HMAC takes any key");
    m.update(b"wujing-audit-checkpoint");
    m.update(&seq.to_be_bytes());
    m.update(hash.as_bytes());
    hex(&m.finalize().into_bytes())
}

/// The Chinese name of an audit action, for the staff's audit page (the code stays beside it
/// for searching). `None` for an action this build does not know (written by a newer one).
pub fn action_zh(action: &str) -> Option<&'static str> {
    if let Some(state) = action.strip_prefix("application.") {
        if let Some(s) = crate::application::State::parse(state) {
            return Some(s.name_zh());
        }
    }
    Some(match action {
        "alert.acknowledge" => "确认差评提醒",
        // The actions of issues 13–17 (the walk of issue 15 found them shown as codes).
        "application.photo_read" => "查看申请照片",
        "appraisal.view" => "查看民警考评",
        "authority.emblem" => "更换徽标",
        "authority.update" => "修改服务机构信息",
        "biometrics.delete" => "删除生物特征信息",
        "biometrics.read" => "查看生物特征信息",
        "biometrics.write" => "采集生物特征信息",
        "booking.hotline" => "热线代为预约",
        "counter.card_read" => "窗口读取身份证",
        "device.pair" => "配对终端",
        "device.status" => "终端状态变化",
        "device_alert.clear" => "解除终端告警",
        "endorsement_reissue.assess" => "签注续签资格核验",
        "endorsement_reissue.choose" => "选择续签签注",
        "endorsement_reissue.face_refused" => "续签人像比对未通过",
        "endorsement_reissue.fail" => "签注写入失败",
        "endorsement_reissue.open" => "开始签注续签",
        "endorsement_reissue.sign" => "签发签注数据",
        "endorsement_reissue.written" => "签注写入完成",
        "foreign.passport_link" => "登记护照换发",
        "kiosk.fees_due" => "自助机查询待缴费用",
        "kiosk.payment_declined" => "自助机缴费未成功",
        "kiosk.payment_paid" => "自助机缴费成功",
        "kiosk.payment_start" => "自助机发起缴费",
        "kiosk.status" => "自助机查询办理进度",
        "kiosk.write_failed" => "自助机写卡失败",
        "kiosk.write_mismatch" => "自助机写卡校验不符",
        "locker.jam" => "取证柜卡门",
        "locker.jam_cleared" => "解除取证柜卡门",
        "lodging.anonymise" => "住宿登记到期匿名化",
        "lodging.check_out" => "住宿退房",
        "lodging.host_register" => "个人房东住宿登记",
        "lodging.hotel_create" => "新建旅馆",
        "lodging.hotel_sign_in" => "旅馆登录",
        "lodging.hotel_sign_out" => "旅馆退出",
        "lodging.read" => "查看住宿登记",
        "lodging.register" => "旅馆住宿登记",
        "lodging.verify" => "核查住宿登记",
        "lodging.worklist_export" => "导出住宿登记",
        "lodging.worklist_view" => "查看住宿登记工作台",
        "online.answers" => "网办填写申请信息",
        "online.await_payment" => "网办待缴费",
        "online.collection" => "网办选择领证方式",
        "online.photo" => "网办上传照片",
        "online.start" => "网办开始申请",
        "online.submit" => "网办提交申请",
        "reconciliation.export" => "导出对账明细",
        "application.accept" => "受理申请",
        "application.collection" => "更改领证方式",
        "application.lookup" => "凭证件查询申请",
        "application.reminded" => "提醒领证",
        "audit.read" => "查阅审计记录",
        "booking.lookup" => "查询预约",
        "calendar.close" => "设置闭厅日",
        "calendar.open" => "取消闭厅日",
        "capacity.change" => "调整号源",
        "device.create" => "登记终端",
        "device.revoke" => "停用终端",
        "hall.change" => "修改大厅信息",
        "identity.reveal" => "查看完整证件号码",
        "locker.set" => "设置取证机格口",
        "online_payment.amount_mismatch" => "网上缴费金额不符（未入账）",
        "online_payment.declined" => "网上缴费未成功",
        "online_payment.not_accepted" => "网上缴费未入账，原路退回",
        "online_payment.paid" => "网上缴费成功",
        "online_payment.refund" => "网上缴费退款",
        "payment.record" => "收费",
        "payment.refund" => "退费",
        "production.batch_read" => "制证中心读取批次",
        "session.sign_in" => "登录",
        "site.change" => "修改办证点",
        "site.create" => "新建办证点",
        "session.sign_in_failed" => "登录失败",
        "session.sign_out" => "退出登录",
        "staff.change" => "修改工作人员账号",
        "staff.create" => "新建工作人员账号",
        "staff.password_change" => "修改密码",
        "staff.unlock_sign_in" => "解除登录限制",
        "system_client.create" => "新建制证中心接入",
        "system_client.revoke" => "停用制证中心接入",
        "ticket.call" => "叫号",
        "ticket.check_in" => "签到取号",
        "ticket.finish" => "办结",
        "ticket.no_show" => "过号",
        "ticket.park" => "暂挂",
        "ticket.recall" => "重呼",
        "ticket.requeue" => "重新排队",
        "ticket.start" => "开始受理",
        "ticket.transfer" => "转队列",
        "ticket.unpark" => "召回暂挂",
        "ticket.walk_in" => "现场取号",
        "urgent.approve" => "批准加急",
        "urgent.reject" => "不批准加急",
        "urgent.request" => "申请加急",
        "window.add" => "新增窗口",
        "window.remove" => "撤销窗口",
        _ => return None,
    })
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Where and how a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChainBreak {
    /// The entry's fields no longer give its hash: it was edited.
    Edited { seq: i64 },
    /// The entry does not link to the hash of the entry before it (that one was edited and
    /// re-hashed, or replaced).
    Relinked { seq: i64 },
    /// Entries `from..=to` are missing.
    Missing { from: i64, to: i64 },
    /// The head records more entries (or another last hash) than the table holds: the newest
    /// entries were deleted.
    TailMissing { head_seq: i64, last_seq: i64 },
    /// A checkpoint exported earlier names an entry the chain no longer has with that hash:
    /// the chain was cut back or rewritten after the checkpoint was taken.
    CheckpointMismatch { seq: i64 },
    /// A checkpoint's signature is not the audit key's: the checkpoint file was tampered with.
    CheckpointForged { seq: i64 },
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Edited { seq } => write!(f, "entry {seq} was edited (its hash does not match its fields)"),
            Self::Relinked { seq } => write!(f, "entry {seq} does not link to entry {}: the chain was rewritten there", seq - 1),
            Self::Missing { from, to } if from == to => write!(f, "entry {from} was deleted"),
            Self::Missing { from, to } => write!(f, "entries {from} to {to} were deleted"),
            Self::CheckpointMismatch { seq } => write!(
                f,
                "entry {seq} is not the one checkpointed: the trail was cut back or rewritten after the checkpoint"
            ),
            Self::CheckpointForged { seq } => write!(
                f,
                "the checkpoint of entry {seq} is not signed with the audit key: the checkpoint file was altered"
            ),
            Self::TailMissing { head_seq, last_seq } => write!(
                f,
                "the newest entries were deleted or altered: the head records entry {head_seq}, the table ends at {last_seq}"
            ),
        }
    }
}

/// Checks a chain given in sequence order, and its recorded head `(seq, hash)`. Returns the
/// first break.
pub fn verify_chain<'a>(
    k: ChainKey<'_>,
    entries: impl IntoIterator<Item = &'a AuditEntry>,
    head: Option<(i64, &str)>,
) -> Result<u64, ChainBreak> {
    let mut prev_seq = 0;
    let mut prev_hash = GENESIS.to_string();
    let mut n = 0;
    for e in entries {
        if e.seq != prev_seq + 1 {
            return Err(ChainBreak::Missing {
                from: prev_seq + 1,
                to: e.seq - 1,
            });
        }
        if entry_hash(k, e) != e.hash {
            return Err(ChainBreak::Edited { seq: e.seq });
        }
        if e.prev_hash != prev_hash {
            return Err(ChainBreak::Relinked { seq: e.seq });
        }
        prev_seq = e.seq;
        prev_hash = e.hash.clone();
        n += 1;
    }
    let (head_seq, head_hash) = head.unwrap_or((0, GENESIS));
    if head_seq != prev_seq || head_hash != prev_hash {
        return Err(ChainBreak::TailMissing {
            head_seq,
            last_seq: prev_seq,
        });
    }
    Ok(n)
}

/// A signed checkpoint of the chain, exported off the database (`wujing audit checkpoint`):
/// the sequence number and hash of the newest entry, and their MAC under the audit key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    /// When it was taken, milliseconds since the Unix epoch (not signed: informative).
    #[serde(default)]
    pub at_ms: i64,
    pub mac: String,
}

impl Checkpoint {
    /// The checkpoint of a chain's head.
    pub fn of(k: ChainKey<'_>, seq: i64, hash: &str, at_ms: i64) -> Self {
        Self {
            seq,
            hash: hash.to_string(),
            at_ms,
            mac: checkpoint_mac(k, seq, hash),
        }
    }
}

/// Checks the chain against checkpoints taken earlier: each must be signed with the key, and
/// the chain must still hold an entry with that sequence number and hash. Together with
/// [`verify_chain`] this catches what the chain alone cannot: the newest entries deleted and
/// the head rewritten to match, or the whole chain rebuilt.
pub fn verify_checkpoints<'a>(
    k: ChainKey<'_>,
    entries: &'a [AuditEntry],
    checkpoints: impl IntoIterator<Item = &'a Checkpoint>,
) -> Result<usize, ChainBreak> {
    let mut n = 0;
    for c in checkpoints {
        if checkpoint_mac(k, c.seq, &c.hash) != c.mac {
            return Err(ChainBreak::CheckpointForged { seq: c.seq });
        }
        if c.seq == 0 {
            // Taken of an empty trail: anything since extends it.
            n += 1;
            continue;
        }
        // Entries are in sequence order without gaps when the chain verified: index by seq.
        let found = usize::try_from(c.seq - 1)
            .ok()
            .and_then(|i| entries.get(i))
            .filter(|e| e.seq == c.seq && e.hash == c.hash);
        if found.is_none() {
            return Err(ChainBreak::CheckpointMismatch { seq: c.seq });
        }
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_actions_read_in_chinese_and_unknown_ones_stay_codes() {
        assert_eq!(
            action_zh("application.ready_for_collection"),
            Some("可领取")
        );
        assert_eq!(action_zh("ticket.walk_in"), Some("现场取号"));
        assert_eq!(action_zh("application.teleported"), None);
        assert_eq!(action_zh("nonsense"), None);
    }

    const K: ChainKey<'static> = ChainKey {
        key: b"test audit key",
        keyed_after: 0,
    };

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let mut e = AuditEntry {
                    seq,
                    at_ms: 1_700_000_000_000 + seq,
                    actor: "staff:1".into(),
                    actor_name: "admin".into(),
                    action: "staff.create".into(),
                    subject: format!("staff:{}", seq + 1),
                    citizen: None,
                    detail: "{}".into(),
                    client_addr: Some("127.0.0.1".into()),
                    station: None,
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                e.hash = entry_hash(K, &e);
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    fn head(c: &[AuditEntry]) -> Option<(i64, &str)> {
        c.last().map(|e| (e.seq, e.hash.as_str()))
    }

    #[test]
    fn linking_continues_the_chain() {
        let c = chain(3);
        let mut next = c[2].clone();
        next.action = "hall.update".into();
        next.seq = 99; // ignored
        let linked = link(K, Some((c[2].seq, c[2].hash.clone())), next);
        assert_eq!(
            (linked.seq, linked.prev_hash.as_str()),
            (4, c[2].hash.as_str())
        );
        assert_eq!(linked.hash, entry_hash(K, &linked));
        let mut all = c.clone();
        all.push(linked.clone());
        assert_eq!(
            verify_chain(K, &all, Some((4, linked.hash.as_str()))),
            Ok(4)
        );
        let first = link(K, None, c[0].clone());
        assert_eq!(first, c[0], "the first entry links to GENESIS");
    }

    #[test]
    fn intact_chain_verifies() {
        let c = chain(5);
        assert_eq!(verify_chain(K, &c, head(&c)), Ok(5));
        assert_eq!(verify_chain(K, &[], None), Ok(0));
    }

    #[test]
    fn every_kind_of_tampering_is_located() {
        let c = chain(6);
        let h = (6, c[5].hash.clone());
        let mut edited = c.clone();
        edited[2].detail = r#"{"x":1}"#.into();
        assert_eq!(
            verify_chain(K, &edited, Some((h.0, &h.1))),
            Err(ChainBreak::Edited { seq: 3 })
        );
        // Re-hashing the edited entry moves the break to the link after it.
        edited[2].hash = entry_hash(K, &edited[2]);
        assert_eq!(
            verify_chain(K, &edited, Some((h.0, &h.1))),
            Err(ChainBreak::Relinked { seq: 4 })
        );
        let mut deleted = c.clone();
        deleted.drain(1..3);
        assert_eq!(
            verify_chain(K, &deleted, Some((h.0, &h.1))),
            Err(ChainBreak::Missing { from: 2, to: 3 })
        );
        let tail = &c[..4];
        assert_eq!(
            verify_chain(K, tail, Some((h.0, &h.1))),
            Err(ChainBreak::TailMissing {
                head_seq: 6,
                last_seq: 4
            })
        );
    }

    #[test]
    fn field_boundaries_matter() {
        let c = chain(1);
        let mut e = c[0].clone();
        e.actor = "staff:1a".into();
        e.actor_name = "dmin".into();
        assert_ne!(entry_hash(K, &e), c[0].hash);
    }

    #[test]
    fn a_chain_rehashed_without_the_key_does_not_verify() {
        // Whoever owns the database edits entry 2 and re-hashes everything after it with the
        // unkeyed hash (or any key but the deployment's): the first rewritten entry breaks.
        let c = chain(4);
        let forger = ChainKey {
            key: b"not the key",
            keyed_after: 0,
        };
        let mut forged = c.clone();
        forged[1].detail = r#"{"rewritten":true}"#.into();
        let mut prev = forged[0].hash.clone();
        for e in forged.iter_mut().skip(1) {
            e.prev_hash = prev.clone();
            e.hash = entry_hash(forger, e);
            prev = e.hash.clone();
        }
        let head = Some((4, prev.as_str()));
        assert_eq!(
            verify_chain(K, &forged, head),
            Err(ChainBreak::Edited { seq: 2 })
        );
    }

    #[test]
    fn entries_before_the_key_keep_their_plain_hash() {
        // A chain begun before the deployment had an audit key: entries 1–2 plain, 3– keyed.
        let plain = ChainKey {
            key: b"",
            keyed_after: i64::MAX,
        };
        let mut c = vec![];
        let mut head = None;
        for seq in 1..=4 {
            let k = if seq <= 2 {
                plain
            } else {
                ChainKey {
                    keyed_after: 2,
                    ..K
                }
            };
            let e = link(k, head.clone(), chain(1)[0].clone());
            head = Some((e.seq, e.hash.clone()));
            c.push(e);
        }
        let k = ChainKey {
            keyed_after: 2,
            ..K
        };
        let h = head.as_ref().map(|(s, h)| (*s, h.as_str()));
        assert_eq!(verify_chain(k, &c, h), Ok(4));
        // Claiming every entry predates the key does not let a forger off: the keyed ones fail.
        assert_eq!(
            verify_chain(plain, &c, h),
            Err(ChainBreak::Edited { seq: 3 })
        );
    }

    #[test]
    fn checkpoints_are_signed_with_the_key() {
        let a = checkpoint_mac(K, 7, "abc");
        assert_eq!(a, checkpoint_mac(K, 7, "abc"));
        assert_ne!(a, checkpoint_mac(K, 8, "abc"));
        assert_ne!(a, checkpoint_mac(ChainKey { key: b"other", ..K }, 7, "abc"));
    }

    #[test]
    fn checkpoints_catch_a_cut_back_tail_and_forged_checkpoints() {
        let c = chain(5);
        let cp = Checkpoint::of(K, 5, &c[4].hash, 0);
        assert_eq!(verify_checkpoints(K, &c, [&cp]), Ok(1));
        // The newest two entries deleted and the head rewritten: the chain alone verifies…
        let cut = &c[..3];
        assert_eq!(verify_chain(K, cut, Some((3, cut[2].hash.as_str()))), Ok(3));
        // …the checkpoint does not.
        assert_eq!(
            verify_checkpoints(K, cut, [&cp]),
            Err(ChainBreak::CheckpointMismatch { seq: 5 })
        );
        let mut forged = cp.clone();
        forged.seq = 3;
        assert_eq!(
            verify_checkpoints(K, &c, [&forged]),
            Err(ChainBreak::CheckpointForged { seq: 3 })
        );
    }
}
