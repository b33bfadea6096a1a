//! The scalping signals as a staff page: the same reading as `GET /api/v1/ops/signals`, with
//! the same authorisation and hall scope, laid out for leaders and supervisors in words
//! rather than as JSON. Phones and addresses arrive masked from the app; nothing here unmasks.

use crate::extract::{PageContext, PageQuery};
use crate::pages::render;
use crate::{ApiResult, AppState};
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use wujing_app::{SignalsQuery, SignalsView, MIN_ABANDONED_HOLDS, MIN_IDENTITIES};

#[derive(Template)]
#[template(path = "signals.html")]
struct SignalsPage {
    page: PageContext,
    msg: String,
    msg_kind: String,
    v: SignalsView,
    /// The start of the window, in the halls' local time.
    since: String,
    /// Now, in the halls' local time.
    until: String,
    /// Each cancel-and-rebook pair with its kind and gap in words.
    pairs: Vec<PairRow>,
    min_identities: u32,
    min_holds: u32,
    /// The windows offered as links: (hours, label).
    windows: [(u32, &'static str); 4],
}

struct PairRow {
    cancelled_code: String,
    new_code: String,
    kind: &'static str,
    gap: String,
}

/// A pair's kind in words; an unknown kind (a newer build's) is named as such rather than shown
/// as its code.
fn kind_zh(kind: &str, en: bool) -> &'static str {
    match (kind, en) {
        ("same_identity", false) => "同一身份退号后重新预约",
        ("same_identity", true) => "Same person cancelled and booked again",
        ("seat_handoff", false) => "退号后号源随即被他人约走",
        ("seat_handoff", true) => "Another person took the returned seat at once",
        (_, false) => "其他",
        (_, true) => "Other",
    }
}

/// A gap in seconds as minutes and seconds: "2 分 05 秒", "2 min 05 s".
fn gap_text(secs: f64, en: bool) -> String {
    let s = secs.max(0.0).round() as u64;
    let (m, s) = (s / 60, s % 60);
    match (m, en) {
        (0, false) => format!("{s} 秒"),
        (0, true) => format!("{s} s"),
        (m, false) => format!("{m} 分 {s:02} 秒"),
        (m, true) => format!("{m} min {s:02} s"),
    }
}

pub async fn page(
    State(s): State<AppState>,
    page: PageContext,
    PageQuery(q): PageQuery<SignalsQuery>,
) -> ApiResult<Response> {
    let v = s.app.signals(&page.principal, &q).await?;
    let now = s.app.clock.now();
    let local = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&wujing_domain::calendar::china_offset())
            .format("%Y-%m-%d %H:%M")
            .to_string()
    };
    let en = page.en;
    Ok(render(&SignalsPage {
        msg: String::new(),
        msg_kind: String::new(),
        since: local(now - chrono::TimeDelta::hours(i64::from(v.hours))),
        until: local(now),
        pairs: v
            .cancel_rebook
            .iter()
            .map(|p| PairRow {
                cancelled_code: p.cancelled_code.clone(),
                new_code: p.new_code.clone(),
                kind: kind_zh(&p.kind, en),
                gap: gap_text(p.gap_seconds, en),
            })
            .collect(),
        min_identities: MIN_IDENTITIES,
        min_holds: MIN_ABANDONED_HOLDS,
        windows: [
            (24, "24 小时 24 h"),
            (72, "3 天 3 days"),
            (168, "7 天 7 days"),
            (720, "30 天 30 days"),
        ],
        v,
        page,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_and_kinds_read_as_words() {
        assert_eq!(gap_text(4.4, false), "4 秒");
        assert_eq!(gap_text(125.0, false), "2 分 05 秒");
        assert_eq!(gap_text(125.0, true), "2 min 05 s");
        assert_eq!(kind_zh("seat_handoff", false), "退号后号源随即被他人约走");
        assert_eq!(kind_zh("something_new", false), "其他");
    }
}
