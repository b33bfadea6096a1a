//! Fully online business (全程网办, issue 13) through HTTP, on SQLite and PostgreSQL: an
//! eligible resident renews a passport without a visit (code to the registered phone, photo
//! refused then accepted, paid after a declined attempt, a duplicate notification harmless,
//! submitted once, reviewed), a state functionary is told why only after the code, the photo
//! and the address stay sealed and private, and a refusal refunds the fee.

use super::{code_of, test_config, Harness};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use std::sync::{Arc, OnceLock};
use wujing_app::{App, Clock, PaymentPurpose, PaymentStatus};
use wujing_store::DynStore;
use wujing_testkit::{both_dialects, photo_jpeg};

/// Demo registry: Guangzhou hukou, passport expiring 2027-02-01 (renewal due), fingerprints on
/// file, registered phone 13800138001.
pub(crate) const LI: &str = "440104199208150221";
pub(crate) const LI_PHONE: &str = "13800138001";
/// Demo registry: a registered state functionary (phone 13800138005).
const HUANG: &str = "440103198012120660";
const HUANG_PHONE: &str = "13800138005";
pub(crate) const ADDRESS: &str = "广州市越秀区解放北路618号5楼";

/// The simulated provider's notifications, delivered straight to the app's callback (the
/// server's loopback HTTP client is the pay branch's; the signature is checked all the same).
struct Direct(OnceLock<App>);

#[async_trait::async_trait]
impl wujing_app::payments::simulated::CallbackSender for Direct {
    async fn post(
        &self,
        _url: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<u16, String> {
        let app = self.0.get().ok_or("not ready")?;
        match app.payment_callback("simulated", &body, headers).await {
            Ok(_) => Ok(200),
            Err(e) => Ok(e.kind_status()),
        }
    }
}

trait KindStatus {
    fn kind_status(&self) -> u16;
}

impl KindStatus for wujing_app::AppError {
    fn kind_status(&self) -> u16 {
        match self.kind {
            wujing_app::ErrorKind::Unauthorized => 401,
            wujing_app::ErrorKind::NotFound => 404,
            _ => 400,
        }
    }
}

pub(crate) async fn harness(store: DynStore) -> Harness {
    let app = App::new(store.clone(), test_config(), Clock::manual(super::start()));
    app.load_demo().await.unwrap();
    let sender = Arc::new(Direct(OnceLock::new()));
    let app = app
        .enable_simulated_payments("http://127.0.0.1:1", sender.clone())
        .await
        .unwrap();
    let _ = sender.0.set(app.clone());
    Harness {
        router: wujing_web::router_with(app.clone(), wujing_web::WebOptions::default()),
        app,
        store,
    }
}

pub(crate) struct Resp {
    status: StatusCode,
    location: String,
    cookie: Option<String>,
    content_type: String,
    cache: String,
    body: String,
    bytes: Vec<u8>,
}

async fn send(h: &Harness, req: Request<Body>) -> Resp {
    let res = h.raw(req).await;
    let header = |n: &str| {
        res.headers()
            .get(n)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let (location, content_type, cache) = (
        header("location"),
        header("content-type"),
        header("cache-control"),
    );
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("wujing_online="))
        .map(|c| c.split(';').next().unwrap().to_string());
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    Resp {
        status,
        location,
        cookie,
        content_type,
        cache,
        body: String::from_utf8_lossy(&bytes).into(),
        bytes,
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

pub(crate) async fn form(h: &Harness, uri: &str, cookie: &str, fields: &[(&str, &str)]) -> Resp {
    let body = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&");
    send(
        h,
        Request::builder()
            .method("POST")
            .uri(uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", cookie)
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

pub(crate) async fn get(h: &Harness, uri: &str, cookie: &str) -> Resp {
    send(
        h,
        Request::builder()
            .uri(uri)
            .header("cookie", cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

pub(crate) async fn upload(h: &Harness, cookie: &str, photo: &[u8]) -> Resp {
    let boundary = "wujingboundary7MA4YWxk";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"me.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(photo);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    send(
        h,
        Request::builder()
            .method("POST")
            .uri("/online/app/photo")
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .header("cookie", cookie)
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

/// The six digits of the newest text to `phone`.
async fn last_code(h: &Harness, phone: &str) -> String {
    let m = h.store.messages_to(phone, 1).await.unwrap().remove(0);
    m.body
        .split("验证码是")
        .nth(1)
        .unwrap_or(&m.body)
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect()
}

/// Through the identity step and the code: the online application's cookie.
pub(crate) async fn signed_in(h: &Harness, id: &str, name: &str, phone: &str) -> String {
    let base = [
        ("business", "passport_renewal"),
        ("id_number", id),
        ("name", name),
    ];
    let sent = form(
        h,
        "/online",
        "",
        &[&base[..], &[("action", "send")]].concat(),
    )
    .await;
    assert_eq!(sent.status, StatusCode::OK);
    let masked = wujing_domain::idnum::mask_phone(phone);
    assert!(sent.body.contains(&masked), "{}", sent.body);
    let code = last_code(h, phone).await;
    let verified = form(
        h,
        "/online",
        "",
        &[&base[..], &[("action", "verify"), ("code", code.as_str())]].concat(),
    )
    .await;
    assert_eq!(
        (verified.status, verified.location.as_str()),
        (StatusCode::SEE_OTHER, "/online/app"),
        "{}",
        verified.body
    );
    verified.cookie.expect("the online application's cookie")
}

/// The flashed message of a post/redirect/get answer, decoded enough to compare.
pub(crate) fn flashed(r: &Resp) -> String {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    r.location.clone()
}

pub(crate) async fn checkout_reference(r: &Resp) -> String {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    r.location
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string()
}

async fn an_eligible_resident_renews_a_passport_without_a_visit(store: DynStore) {
    let h = harness(store).await;
    // The portal's home leads here.
    let home = get(&h, "/", "").await;
    assert!(home.body.contains("href=\"/online\""));
    let start = get(&h, "/online", "").await;
    assert!(start.body.contains("网上办理"), "{}", start.body);

    let cookie = signed_in(&h, LI, "李娜", LI_PHONE).await;
    let page = get(&h, "/online/app", &cookie).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.cache, "no-store");
    assert!(page.body.contains("您符合网上办理条件"), "{}", page.body);
    assert!(page.body.contains("120"), "the fee of the day");

    // A bad photo is refused with what is wrong, next to the upload.
    let bad = upload(&h, &cookie, &photo_jpeg(354, 472, [250, 250, 250], 20)).await;
    assert!(flashed(&bad).contains("kind=error"), "{}", bad.location);
    let page = get(&h, "/online/app", &cookie).await;
    assert!(page.body.contains("photo_file_too_small"), "{}", page.body);
    assert!(page.body.contains("照片文件应为20–80KB"));
    // Paying before a good photo and a way of collection is refused.
    let early = form(&h, "/online/app/pay", &cookie, &[]).await;
    assert!(flashed(&early).contains("kind=error"));
    // A good one is accepted, and shown to its applicant only.
    let photo = photo_jpeg(354, 472, [250, 250, 250], 75);
    let good = upload(&h, &cookie, &photo).await;
    assert!(flashed(&good).contains("kind=ok"), "{}", good.location);
    let own = get(&h, "/online/app/photo", &cookie).await;
    assert_eq!(
        (own.status, own.content_type.as_str(), own.bytes == photo),
        (StatusCode::OK, "image/jpeg", true)
    );
    assert!(own.cache.contains("no-store"));
    assert_eq!(
        get(&h, "/online/app/photo", "").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&h, "/online/app/photo", "wujing_online=WX.forged")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let col = form(
        &h,
        "/online/app/collection",
        &cookie,
        &[("method", "mail"), ("mail_address", ADDRESS)],
    )
    .await;
    assert!(flashed(&col).contains("kind=ok"), "{}", col.location);

    // Pay: declined first, then paid; the notification sent twice.
    let first = form(&h, "/online/app/pay", &cookie, &[]).await;
    let r1 = checkout_reference(&first).await;
    assert!(
        first.location.contains("/pay/simulated/"),
        "{}",
        first.location
    );
    let back = h.app.simulated_decide(&r1, false).await.unwrap();
    let reference = back.split('/').nth(3).unwrap().split('?').next().unwrap();
    let returned = get(&h, &format!("/online/return/{reference}"), &cookie).await;
    assert!(returned.body.contains("支付未成功"), "{}", returned.body);
    let o = h
        .app
        .remote_view(reference, cookie.split_once('.').unwrap().1)
        .await
        .unwrap();
    assert_eq!(o.application_id, None);
    let second = form(&h, "/online/app/pay", &cookie, &[]).await;
    let r2 = checkout_reference(&second).await;
    assert_ne!(r1, r2, "a new attempt is a new payment");
    h.app.simulated_decide(&r2, true).await.unwrap();
    // Submitted by the hook already; the duplicate notification changes nothing.
    h.app.simulated_resend(&r2).await.unwrap();
    let returned = get(&h, &format!("/online/return/{reference}"), &cookie).await;
    assert!(
        returned.body.contains("已缴费，申请已提交"),
        "{}",
        returned.body
    );
    assert_eq!(
        h.store
            .count_applications_in_state("accepted")
            .await
            .unwrap(),
        1
    );
    let v = h
        .app
        .remote_view(reference, cookie.split_once('.').unwrap().1)
        .await
        .unwrap();
    let id = v.application_id.unwrap();
    assert_eq!(v.payment, Some(PaymentStatus::Paid));
    // Due in 7 working days from Tue 2026-12-01.
    assert_eq!(v.ready_by.unwrap().to_string(), "2026-12-10");
    // The confirmation text went to the registered phone, with the status link.
    let texts = h.store.messages_to(LI_PHONE, 5).await.unwrap();
    let confirm = texts
        .iter()
        .find(|m| m.topic == "application")
        .expect("the submission's text");
    assert!(confirm
        .body
        .contains(&format!("/online/status/{reference}?k=")));
    let link = confirm.body.split("http://127.0.0.1:8080").nth(1).unwrap();
    let status = get(&h, link.trim(), "").await;
    assert_eq!(status.status, StatusCode::OK, "{}", status.body);
    assert!(status.body.contains(reference));
    // The page is the applicant's record of the fee paid online.
    assert!(
        status.body.contains("id=\"online-paid\"") && status.body.contains("网上缴费于"),
        "{}",
        status.body
    );
    // The order number shown is the provider's, not the payment's row number; the application's
    // row number is not shown either (sequential numbers tell volumes).
    assert!(
        status.body.contains(&format!("订单号 {r2}")),
        "{}",
        status.body
    );
    assert!(
        !returned.body.contains(&format!(">#{id}<")),
        "{}",
        returned.body
    );
    assert_eq!(
        get(&h, &format!("/online/status/{reference}?k=wrong"), "")
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // The reviewer of the online site sees it with the photo, and takes it into review.
    let reviewer = h.sign_in_as("reviewer@gz-city").await;
    let (s, html) = h
        .call("GET", "/staff/review", None, &reviewer.headers())
        .await;
    assert_eq!(s, StatusCode::OK);
    let html = html.as_str().unwrap().to_string();
    assert!(html.contains("网上办理 Online"), "{html}");
    assert!(html.contains(&format!("/staff/applications/{id}/photo")));
    let pic = get(
        &h,
        &format!("/staff/applications/{id}/photo"),
        &reviewer.cookie,
    )
    .await;
    assert_eq!((pic.status, pic.bytes == photo), (StatusCode::OK, true));
    assert!(pic.cache.contains("no-store"));
    // Another hall's reviewer does not see it; a citizen may not ask.
    let other = h.sign_in_as("reviewer@tianhe").await;
    assert_eq!(
        get(
            &h,
            &format!("/staff/applications/{id}/photo"),
            &other.cookie
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    // Without a session: to the sign-in page.
    assert_eq!(
        get(&h, &format!("/staff/applications/{id}/photo"), "")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let (s, a) = h
        .post_as(
            &reviewer,
            &format!("/api/v1/applications/{id}/review"),
            None,
        )
        .await;
    assert_eq!(
        (s, a["status"].as_str()),
        (StatusCode::OK, Some("under_review")),
        "{a}"
    );
    assert_eq!(a["ticket_id"], serde_json::Value::Null);
    // Nothing can be changed any more.
    let late = upload(&h, &cookie, &photo).await;
    assert!(flashed(&late).contains("kind=error"));
}
both_dialects!(
    an_eligible_resident_renews_a_passport_without_a_visit,
    an_eligible_resident_renews_a_passport_without_a_visit
);

async fn a_state_functionary_is_told_why_only_after_the_code(store: DynStore) {
    let h = harness(store).await;
    // Before the code, a wrong name and an unknown person get the same generic answer.
    let stranger = wujing_testkit::identity(5);
    for (id, name) in [(HUANG, "黄某"), (stranger.as_str(), "无名")] {
        let r = form(
            &h,
            "/online",
            "",
            &[
                ("business", "passport_renewal"),
                ("id_number", id),
                ("name", name),
                ("action", "send"),
            ],
        )
        .await;
        assert!(r.body.contains("无法为此身份办理网上申请"), "{}", r.body);
        assert!(
            !r.body.contains("登记备案"),
            "no registry fact before the code"
        );
    }
    // The right name: the code goes to the registered phone, and the page says nothing of
    // the registry yet.
    let cookie = signed_in(&h, HUANG, "黄敏", HUANG_PHONE).await;
    let page = get(&h, "/online/app", &cookie).await;
    assert!(
        page.body.contains("登记备案人员不能网上办理"),
        "{}",
        page.body
    );
    assert!(page.body.contains("remote_state_functionary"));
    assert!(!page.body.contains("action=\"/online/app/pay\""));
    let pay = form(&h, "/online/app/pay", &cookie, &[]).await;
    assert!(flashed(&pay).contains("kind=error"));
    // The English page says it in English.
    let en = send(
        &h,
        Request::builder()
            .uri("/online/app")
            .header("cookie", format!("{cookie}; wujing_lang=en"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(
        en.body
            .contains("registered state functionaries cannot apply online"),
        "{}",
        en.body
    );
}
both_dialects!(
    a_state_functionary_is_told_why_only_after_the_code,
    a_state_functionary_is_told_why_only_after_the_code
);

async fn a_refused_remote_application_is_refunded(store: DynStore) {
    let h = harness(store).await;
    let cookie = signed_in(&h, LI, "李娜", LI_PHONE).await;
    upload(&h, &cookie, &photo_jpeg(354, 472, [250, 250, 250], 75)).await;
    form(
        &h,
        "/online/app/collection",
        &cookie,
        &[("method", "locker")],
    )
    .await;
    let pay = form(&h, "/online/app/pay", &cookie, &[]).await;
    let r = checkout_reference(&pay).await;
    h.app.simulated_decide(&r, true).await.unwrap();
    let (reference, secret) = cookie
        .trim_start_matches("wujing_online=")
        .split_once('.')
        .unwrap();
    let v = h.app.remote_view(reference, secret).await.unwrap();
    let id = v.application_id.expect("submitted by the hook");
    let reviewer = h.sign_in_as("reviewer").await;
    let (s, _) = h
        .post_as(
            &reviewer,
            &format!("/api/v1/applications/{id}/review"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, a) = h
        .post_as(
            &reviewer,
            &format!("/api/v1/applications/{id}/refuse"),
            Some(serde_json::json!({"reason": "not_eligible"})),
        )
        .await;
    assert_eq!(
        (s, a["status"].as_str()),
        (StatusCode::OK, Some("refused")),
        "{a}"
    );
    let online_id = h
        .store
        .online_application(&wujing_store::OnlineBy::Application(id))
        .await
        .unwrap()
        .unwrap()
        .id;
    let p = h
        .app
        .payment_for(&PaymentPurpose::new(
            wujing_app::remote::PURPOSE_KIND,
            online_id,
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.status, PaymentStatus::Refunded);
    // The refusal text reaches the registered phone too.
    let texts = h.store.messages_to(LI_PHONE, 10).await.unwrap();
    assert!(
        texts
            .iter()
            .any(|m| m.idempotency_key == format!("application:{id}:refused")),
        "{texts:?}"
    );
}
both_dialects!(
    a_refused_remote_application_is_refunded,
    a_refused_remote_application_is_refunded
);

/// A code wrongly given, and a photo of the wrong kind, change nothing; the body limit lets an
/// 80 KB photo through the upload only.
async fn wrong_codes_and_oversized_bodies_are_refused(store: DynStore) {
    let h = harness(store).await;
    let base = [
        ("business", "passport_renewal"),
        ("id_number", LI),
        ("name", "李娜"),
    ];
    form(
        &h,
        "/online",
        "",
        &[&base[..], &[("action", "send")]].concat(),
    )
    .await;
    let r = form(
        &h,
        "/online",
        "",
        &[&base[..], &[("action", "verify"), ("code", "000000")]].concat(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.cookie.is_none());
    assert!(
        r.body.contains("验证码不正确") || r.body.contains("验证码已失效"),
        "{}",
        r.body
    );
    // 100 KB to another form route is over its limit; to the upload it is a photo too large.
    let big = vec![b'a'; 100 * 1024];
    let res = send(
        &h,
        Request::builder()
            .method("POST")
            .uri("/online/app/collection")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(big))
            .unwrap(),
    )
    .await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Another resident (a code a minute per phone).
    let cookie = signed_in(&h, super::CHEN, "陈晓明", "13800138000").await;
    // His passport is not due: the answers give the reason, and then he may go on.
    let page = get(&h, "/online/app", &cookie).await;
    assert!(page.body.contains("renewal_not_due"), "{}", page.body);
    let saved = form(
        &h,
        "/online/app/answers",
        &cookie,
        &[("renewal_reason", "pages_full")],
    )
    .await;
    assert!(flashed(&saved).contains("kind=ok"));
    let large = upload(&h, &cookie, &photo_jpeg(354, 472, [250, 250, 250], 95)).await;
    assert!(flashed(&large).contains("kind=error"));
    let page = get(&h, "/online/app", &cookie).await;
    assert!(page.body.contains("photo_file_too_large"), "{}", page.body);
    let _ = code_of;
}
both_dialects!(
    wrong_codes_and_oversized_bodies_are_refused,
    wrong_codes_and_oversized_bodies_are_refused
);

/// A payment recorded paid without its hook (as after a crash between the two), and an
/// applicant who never comes back: the hourly sweep submits it, once.
async fn the_sweep_submits_a_paid_application_whose_hook_was_lost(store: DynStore) {
    let h = harness(store).await;
    let cookie = signed_in(&h, LI, "李娜", LI_PHONE).await;
    upload(&h, &cookie, &photo_jpeg(354, 472, [250, 250, 250], 75)).await;
    form(
        &h,
        "/online/app/collection",
        &cookie,
        &[("method", "locker")],
    )
    .await;
    let pay = form(&h, "/online/app/pay", &cookie, &[]).await;
    let reference = checkout_reference(&pay).await;
    let p = h
        .store
        .online_payment_by_ref("simulated", &reference)
        .await
        .unwrap()
        .unwrap();
    // Straight into the store: paid, and no hook ran.
    h.store
        .apply_payment_event(
            &wujing_store::NewPaymentEvent {
                provider: "simulated".into(),
                provider_event_id: "lost-hook-1".into(),
                provider_ref: reference.clone(),
                outcome: "paid".into(),
                amount_yuan: p.amount_yuan,
                at: super::start(),
            },
            &wujing_store::NewAudit {
                at: super::start(),
                actor: "system:test".into(),
                actor_name: "test".into(),
                action: String::new(),
                subject: format!("online_payment:{}", p.id),
                citizen: None,
                detail: serde_json::json!({}),
                client_addr: None,
                station: None,
                hall_id: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        h.store
            .count_applications_in_state("accepted")
            .await
            .unwrap(),
        0
    );
    assert_eq!(h.app.sweep_online_applications().await.unwrap(), 1);
    assert_eq!(h.app.sweep_online_applications().await.unwrap(), 0);
    assert_eq!(
        h.store
            .count_applications_in_state("accepted")
            .await
            .unwrap(),
        1
    );
}
both_dialects!(
    the_sweep_submits_a_paid_application_whose_hook_was_lost,
    the_sweep_submits_a_paid_application_whose_hook_was_lost
);
