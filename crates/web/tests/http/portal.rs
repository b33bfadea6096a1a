//! The citizen portal through the router: the booking journey by forms in zh-CN and en, the
//! reasons page, the alternatives when full, the slip with its calendar file and PDF form,
//! cancel and reschedule, and my bookings. The same journeys run in a real browser in
//! `tests/browser` (scripts/test).

use super::{test_config, Harness};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use wujing_store::DynStore;
use wujing_testkit::both_dialects;

const CHEN: &str = "440106198503030116"; // demo: 陈晓明, passport valid to 2030

pub(crate) struct Page {
    pub(crate) status: StatusCode,
    pub(crate) location: String,
    pub(crate) body: String,
    pub(crate) bytes: Vec<u8>,
}

impl Page {
    fn field(&self, name: &str) -> String {
        let pat = format!("name=\"{name}\" value=\"");
        let i = self
            .body
            .find(&pat)
            .unwrap_or_else(|| panic!("no field {name} in:\n{}", self.body))
            + pat.len();
        self.body[i..].split('"').next().unwrap().to_string()
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl Harness {
    pub(crate) async fn page(
        &self,
        method: &str,
        uri: &str,
        form: &[(&str, &str)],
        lang: &str,
    ) -> Page {
        let body = form
            .iter()
            .map(|(k, v)| format!("{k}={}", enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", format!("wujing_lang={lang}"))
            .body(Body::from(body))
            .unwrap();
        let res = self.raw(req).await;
        let status = res.status();
        let location = res
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let bytes = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        Page {
            status,
            location,
            body: String::from_utf8_lossy(&bytes).into(),
            bytes,
        }
    }

    /// My bookings in Chinese: a lookup code sent to `phone`, then the lookup with it.
    pub(crate) async fn my_bookings(&self, id_number: &str, phone: &str) -> Page {
        let sent = self
            .page(
                "POST",
                "/my",
                &[
                    ("id_number", id_number),
                    ("phone", phone),
                    ("action", "send"),
                ],
                "zh-CN",
            )
            .await;
        assert!(sent.body.contains("验证码已发送"), "{}", sent.body);
        let code = self.last_code(phone).await;
        self.page(
            "POST",
            "/my",
            &[
                ("id_number", id_number),
                ("phone", phone),
                ("action", "find"),
                ("code", &code),
            ],
            "zh-CN",
        )
        .await
    }

    pub(crate) async fn last_code(&self, phone: &str) -> String {
        let m = self.store.messages_to(phone, 1).await.unwrap().remove(0);
        m.body
            .chars()
            .filter(char::is_ascii_digit)
            .take(6)
            .collect()
    }
}

async fn journey(store: DynStore) {
    let mut config = test_config();
    config.require_phone_code = true;
    let h = Harness::with_config(store, config).await;
    for (lang, heading) in [
        ("zh-CN", "出入境业务网上预约"),
        ("en", "Book an exit-entry appointment"),
    ] {
        let home = h.page("GET", "/", &[], lang).await;
        assert!(home.body.contains(heading), "{lang}");
    }
    // An applicant the rules refuse sees every reason and takes no seat.
    let child = wujing_domain::idnum::compose(
        "440106",
        chrono::NaiveDate::from_ymd_opt(2015, 5, 1).unwrap(),
        11,
    );
    let p = h
        .page(
            "POST",
            "/book/passport_first/check",
            &[("name", "陈小明"), ("id_number", &child)],
            "zh-CN",
        )
        .await;
    assert!(
        p.body.contains("guardian_required") && p.body.contains("监护人"),
        "{}",
        p.body
    );
    // What the records say waits for the phone code: the pre-check says so, and the
    // confirmation with the code gives the records' reasons.
    let p = h
        .page(
            "POST",
            "/book/passport_renewal/check",
            &[("name", "陈晓明"), ("id_number", CHEN)],
            "en",
        )
        .await;
    assert!(
        p.body.contains("your records are checked when you confirm")
            && !p.body.contains("renewal_not_due"),
        "{}",
        p.body
    );
    let (ctx, day, hall) = (p.field("ctx"), p.field("day"), p.field("hall"));
    let t = h
        .page(
            "POST",
            "/book/passport_renewal/times",
            &[("ctx", &ctx), ("hall", &hall), ("day", &day)],
            "en",
        )
        .await;
    let slot = t.field("slot_id");
    let held = h
        .page(
            "POST",
            "/book/passport_renewal/hold",
            &[("ctx", &ctx), ("slot_id", &slot)],
            "en",
        )
        .await;
    let hold_id = held.field("hold_id");
    let own_phone = "13800138009";
    let sent = h
        .page(
            "POST",
            "/book/passport_renewal/confirm",
            &[
                ("ctx", &ctx),
                ("hold_id", &hold_id),
                ("phone", own_phone),
                ("action", "send"),
            ],
            "en",
        )
        .await;
    assert!(sent.body.contains("Code sent"), "{}", sent.body);
    let code = h.last_code(own_phone).await;
    let refused = h
        .page(
            "POST",
            "/book/passport_renewal/confirm",
            &[
                ("ctx", &ctx),
                ("hold_id", &hold_id),
                ("phone", own_phone),
                ("action", "confirm"),
                ("code", &code),
            ],
            "en",
        )
        .await;
    assert!(
        refused.body.contains("You cannot apply yet")
            && refused.body.contains("renewal_not_due")
            && refused.body.contains("released within minutes"),
        "{}",
        refused.body
    );
    // Eligible: halls with days, then times, then a hold.
    let p = h
        .page(
            "POST",
            "/book/passport_renewal/check",
            &[
                ("name", "陈晓明"),
                ("id_number", CHEN),
                ("renewal_reason", "pages_full"),
            ],
            "en",
        )
        .await;
    assert!(
        p.body.contains("You can apply") && p.body.contains("Fee 120"),
        "{}",
        p.body
    );
    let ctx = p.field("ctx");
    let day = p.field("day");
    let hall = p.field("hall");
    let t = h
        .page(
            "POST",
            "/book/passport_renewal/times",
            &[("ctx", &ctx), ("hall", &hall), ("day", &day)],
            "en",
        )
        .await;
    let slot = t.field("slot_id");
    let held = h
        .page(
            "POST",
            "/book/passport_renewal/hold",
            &[("ctx", &ctx), ("slot_id", &slot)],
            "en",
        )
        .await;
    assert!(
        held.body.contains("Your place is held") && held.body.contains("44**************16"),
        "{}",
        held.body
    );
    // The time left reads as a duration, not as a clock time ("10:00"), without a script.
    let left = countdown(&held.body);
    assert!(
        !left.contains(':') && (left.ends_with(" min") || left.ends_with(" s")),
        "{left}"
    );
    assert!(held.body.contains(" left to confirm"), "{}", held.body);
    let hold_id = held.field("hold_id");
    let phone = "13800138000";
    let sent = h
        .page(
            "POST",
            "/book/passport_renewal/confirm",
            &[
                ("ctx", &ctx),
                ("hold_id", &hold_id),
                ("phone", phone),
                ("action", "send"),
            ],
            "en",
        )
        .await;
    assert!(sent.body.contains("Code sent"), "{}", sent.body);
    let wrong = h
        .page(
            "POST",
            "/book/passport_renewal/confirm",
            &[
                ("ctx", &ctx),
                ("hold_id", &hold_id),
                ("phone", phone),
                ("action", "confirm"),
                ("code", "99999x"),
            ],
            "en",
        )
        .await;
    assert!(wrong.body.contains("wrong code"), "{}", wrong.body);
    let code = h.last_code(phone).await;
    let done = h
        .page(
            "POST",
            "/book/passport_renewal/confirm",
            &[
                ("ctx", &ctx),
                ("hold_id", &hold_id),
                ("phone", phone),
                ("action", "confirm"),
                ("code", &code),
            ],
            "en",
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(done.location.starts_with("/slip/"), "{}", done.location);
    let slip = h.page("GET", &done.location, &[], "zh-CN").await;
    assert!(
        slip.body.contains("预约成功")
            && slip.body.contains("<svg")
            && slip.body.contains("原护照"),
        "{}",
        slip.body
    );
    assert!(!slip.body.contains(CHEN), "the slip masks the number");
    let booking_code = done.location[6..].split('?').next().unwrap().to_string();
    let key = done.location.split("k=").nth(1).unwrap().to_string();
    let confirmation = h.store.messages_to(phone, 1).await.unwrap().remove(0);
    assert_eq!(confirmation.topic, "confirmation");
    assert!(
        confirmation.body.starts_with("[Wujing] Booked")
            && confirmation.body.contains(&booking_code)
    );
    let ics = h
        .page(
            "GET",
            &format!("/slip/{booking_code}/booking.ics?k={key}"),
            &[],
            "zh-CN",
        )
        .await;
    assert!(
        ics.body.starts_with("BEGIN:VCALENDAR")
            && ics.body.contains(&format!("UID:{booking_code}@wujing"))
    );
    let bad = h
        .page("GET", &format!("/slip/{booking_code}?k=nope"), &[], "zh-CN")
        .await;
    assert_eq!(bad.status, StatusCode::NOT_FOUND);
    assert!(
        bad.body.contains("没有找到该预约"),
        "an HTML page, not JSON"
    );

    // Reschedule (the proof first), then cancel.
    let wrong_proof = h
        .page(
            "POST",
            &format!("/slip/{booking_code}/change?k={key}"),
            &[("id_number", "440106198503030124"), ("action", "cancel")],
            "zh-CN",
        )
        .await;
    // A wrong number is refused on the slip itself, as an error (not a success).
    assert_eq!(
        wrong_proof.status,
        StatusCode::NOT_FOUND,
        "{}",
        wrong_proof.body
    );
    assert!(
        wrong_proof.body.contains("class=\"msg error\""),
        "{}",
        wrong_proof.body
    );
    assert_eq!(
        h.store
            .booking_by_code(&booking_code)
            .await
            .unwrap()
            .unwrap()
            .status
            .as_str(),
        "active"
    );
    let r = h
        .page(
            "POST",
            &format!("/slip/{booking_code}/change?k={key}"),
            &[("id_number", CHEN), ("action", "reschedule")],
            "zh-CN",
        )
        .await;
    let new_slot = r.field("slot_id");
    let moved = h
        .page(
            "POST",
            &format!("/slip/{booking_code}/reschedule?k={key}"),
            &[("id_number", CHEN), ("slot_id", &new_slot)],
            "zh-CN",
        )
        .await;
    assert!(moved.location.ends_with("done=moved"), "{}", moved.location);
    let b = h
        .store
        .booking_by_code(&booking_code)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((b.slot.id.to_string(), b.reschedule_count), (new_slot, 1));

    // My bookings: id number + a lookup code (a minute after the last code to this phone).
    h.app.clock.advance(chrono::TimeDelta::seconds(61));
    let my = h.my_bookings(CHEN, phone).await;
    assert!(
        my.body.contains(&format!("/slip/{booking_code}?k={key}")),
        "{}",
        my.body
    );
    // Cancelling asks first, and changes nothing until confirmed.
    let ask = h
        .page(
            "POST",
            &format!("/slip/{booking_code}/change?k={key}"),
            &[("id_number", CHEN), ("action", "cancel")],
            "zh-CN",
        )
        .await;
    assert_eq!(ask.status, StatusCode::OK);
    assert!(ask.body.contains("确认取消"), "{}", ask.body);
    assert_eq!(
        h.store
            .booking_by_code(&booking_code)
            .await
            .unwrap()
            .unwrap()
            .status
            .as_str(),
        "active"
    );
    let c = h
        .page(
            "POST",
            &format!("/slip/{booking_code}/change?k={key}"),
            &[("id_number", CHEN), ("action", "cancel_confirmed")],
            "zh-CN",
        )
        .await;
    assert_eq!(c.status, StatusCode::SEE_OTHER);
    assert!(c.location.ends_with("done=cancelled"), "{}", c.location);
    assert_eq!(
        h.store
            .booking_by_code(&booking_code)
            .await
            .unwrap()
            .unwrap()
            .status
            .as_str(),
        "cancelled"
    );
}
both_dialects!(portal_journey, journey);

/// A full slot answers with the alternatives, each a one-step booking button.
#[tokio::test]
async fn full_slot_offers_alternatives() {
    let (store, _g) = wujing_testkit::sqlite_store().await;
    let h = Harness::new(store).await;
    let p = h
        .page(
            "POST",
            "/book/passport_renewal/check",
            &[
                ("name", "陈晓明"),
                ("id_number", CHEN),
                ("renewal_reason", "pages_full"),
            ],
            "zh-CN",
        )
        .await;
    let ctx = p.field("ctx");
    let slot = h.slot("tianhe", "passport_renewal").await;
    let id = slot["slot_id"].as_i64().unwrap();
    let cap = slot["free"].as_i64().unwrap();
    for _ in 0..cap {
        let (s, _) = h
            .post(
                "/api/v1/holds",
                serde_json::json!({"slot_id": id, "business": "passport_renewal"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let full = h
        .page(
            "POST",
            "/book/passport_renewal/hold",
            &[("ctx", &ctx), ("slot_id", &id.to_string())],
            "zh-CN",
        )
        .await;
    assert!(
        full.body.contains("该时段已约满") && full.body.contains("其他大厅的同一时间"),
        "{}",
        full.body
    );
    let alt = full.field("slot_id");
    let held = h
        .page(
            "POST",
            "/book/passport_renewal/hold",
            &[("ctx", &ctx), ("slot_id", &alt)],
            "zh-CN",
        )
        .await;
    assert!(held.body.contains("已为您保留名额"), "{}", held.body);
    let left = countdown(&held.body);
    assert!(
        !left.contains(':') && (left.ends_with(" 分钟") || left.ends_with(" 秒")),
        "{left}"
    );
}

/// The hold page's time left as the server wrote it (the script only counts it down).
fn countdown(body: &str) -> String {
    let start = body.find("id=\"countdown\"").expect("a countdown");
    let text = &body[start..];
    let text = &text[text.find('>').unwrap() + 1..];
    text[..text.find('<').unwrap()].to_string()
}

/// The PDF form: one page under 300 KB whose text has the applicant's name and the business.
#[tokio::test]
async fn the_form_is_a_small_pdf_with_the_chinese_text_needs_pdf_tools() {
    let (store, _g) = wujing_testkit::sqlite_store().await;
    let h = Harness::new(store).await;
    let slot = h.slot("tianhe", "passport_renewal").await;
    let (_, hold) = h
        .post(
            "/api/v1/holds",
            serde_json::json!({"slot_id": slot["slot_id"], "business": "passport_renewal"}),
        )
        .await;
    let (s, b) = h
        .post(
            "/api/v1/bookings",
            serde_json::json!({"hold_id": hold["hold_id"], "applicant": super::applicant(CHEN, "陈晓明"), "answers": {"renewal_reason": "pages_full"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let code = b["code"].as_str().unwrap();
    let key = h.app.slip_key(code).await.unwrap();
    let pdf = h
        .page(
            "GET",
            &format!("/slip/{code}/form.pdf?k={key}"),
            &[],
            "zh-CN",
        )
        .await;
    if pdf.status == StatusCode::SERVICE_UNAVAILABLE {
        wujing_testkit::missing("a CJK font", "apt-get install fonts-wqy-microhei");
    }
    assert_eq!(pdf.status, StatusCode::OK, "{}", pdf.body);
    assert!(pdf.bytes.starts_with(b"%PDF-"));
    assert!(pdf.bytes.len() < 300 * 1024, "{} bytes", pdf.bytes.len());
    let path = std::env::temp_dir().join(format!("wujing-form-{code}.pdf"));
    std::fs::write(&path, &pdf.bytes).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args([path.to_str().unwrap(), "-"])
        .output();
    let _ = std::fs::remove_file(&path);
    let out = match out {
        Ok(o) => o,
        Err(_) => wujing_testkit::missing("pdftotext", "apt-get install poppler-utils"),
    };
    let text = String::from_utf8_lossy(&out.stdout);
    for expected in ["陈晓明", "换发普通护照", CHEN, code, "出入境证件申请表"] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
}
