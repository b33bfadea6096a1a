//! The authority's face through HTTP (issue 15), on SQLite and PostgreSQL: the portal shows
//! the product's own name until an administrator sets the authority's, then its name, hotline,
//! notices and filing number in every page's header and footer; text messages are signed with
//! its signature when they are delivered (queued ones included); the emblem is an image
//! checked by its bytes; only administrators change any of it, and each change is audited.

use super::sites::{enc, staff_cookie};
use super::{code_of, Harness};
use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::json;
use std::sync::{Arc, Mutex};
use wujing_app::notify::{Message, Provider};
use wujing_store::{AuditQuery, DynStore};
use wujing_testkit::both_dialects;

/// Keeps what it is handed, as a gateway would receive it.
#[derive(Default)]
struct Phone(Mutex<Vec<String>>);

#[async_trait]
impl Provider for Phone {
    async fn send(&self, m: &Message) -> Result<(), String> {
        self.0.lock().unwrap().push(m.body.clone());
        Ok(())
    }
}

fn guangzhou() -> serde_json::Value {
    json!({
        "name_zh": "广州市公安局出入境管理支队",
        "name_en": "Guangzhou Exit-Entry Administration",
        "sign_zh": "广州出入境",
        "sign_en": "GZ Exit-Entry",
        "hotline": "020-12367",
        "privacy_zh": "第一段隐私声明。\n\n第二段隐私声明。",
        "privacy_en": "Privacy, first paragraph.\n\nPrivacy, second paragraph.",
        "accessibility_zh": "无障碍声明。",
        "accessibility_en": "Accessibility statement.",
        "filing_number": "粤ICP备12345678号"
    })
}

async fn page(h: &Harness, path: &str, lang: &str) -> String {
    let a = h.form("GET", path, "", &[("accept-language", lang)]).await;
    assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.body);
    a.body
}

async fn entries(h: &Harness, action: &str) -> usize {
    h.store
        .audit_search(&AuditQuery {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == action)
        .count()
}

async fn the_portal_and_texts_speak_for_the_configured_authority(store: DynStore) {
    let h = Harness::new(store).await;
    let phone = Arc::new(Phone::default());
    let app = h.app.clone().with_sms_provider(phone.clone());

    // Before any configuration: the product's own name, never an authority's.
    let home = page(&h, "/", "zh-CN").await;
    assert!(
        home.contains("无境 出入境服务") && home.contains("12367"),
        "{home}"
    );
    assert!(!home.contains("公安局"));

    // A code queued before the change…
    let (s, v) = h
        .post(
            "/api/v1/phone-codes",
            json!({"phone": "13800138000", "purpose": "book"}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");

    // Only an administrator changes the face.
    let officer = h.sign_in_as("officer@tianhe").await;
    let (s, v) = h
        .call(
            "PUT",
            "/api/v1/admin/authority",
            Some(guangzhou()),
            &officer.headers(),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::FORBIDDEN, "forbidden"),
        "{v}"
    );
    let admin = h.sign_in_as("admin").await;
    let (s, v) = h
        .call(
            "PUT",
            "/api/v1/admin/authority",
            Some(guangzhou()),
            &admin.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["sign_zh"], "广州出入境");
    assert_eq!(entries(&h, "authority.update").await, 1);

    // …is signed with the new signature when it is delivered.
    app.deliver_due().await.unwrap();
    let sent = phone.0.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].starts_with("【广州出入境】您的验证码是"),
        "{sent:?}"
    );

    // Every portal page carries the name, hotline, notices' links and filing number.
    let home = page(&h, "/", "zh-CN").await;
    for s in [
        "广州市公安局出入境管理支队",
        "tel:020-12367",
        "href=\"/privacy\"",
        "href=\"/accessibility\"",
        "粤ICP备12345678号",
    ] {
        assert!(home.contains(s), "{s} missing");
    }
    assert!(!home.contains("无境 Wujing"));
    let en = page(&h, "/", "en").await;
    assert!(en.contains("Guangzhou Exit-Entry Administration"));
    let privacy = page(&h, "/privacy", "en").await;
    assert!(
        privacy.contains("<p>Privacy, first paragraph.</p>")
            && privacy.contains("<p>Privacy, second paragraph.</p>"),
        "{privacy}"
    );
    assert!(page(&h, "/accessibility", "zh-CN")
        .await
        .contains("无障碍声明。"));

    // A refused change names every bad field and changes nothing.
    let mut bad = guangzhou();
    bad["sign_zh"] = json!("【广州】");
    bad["hotline"] = json!("call us");
    bad["name_en"] = json!("");
    let (s, v) = h
        .call(
            "PUT",
            "/api/v1/admin/authority",
            Some(bad),
            &admin.headers(),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::BAD_REQUEST, "authority_invalid"),
        "{v}"
    );
    let fields: Vec<_> = v["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(fields, ["name_en", "sign_zh", "hotline"], "{v}");
    let (_, now) = h
        .call("GET", "/api/v1/admin/authority", None, &admin.headers())
        .await;
    assert_eq!(now["sign_zh"], "广州出入境");
    assert_eq!(entries(&h, "authority.update").await, 1);
}

both_dialects!(
    authority_face,
    the_portal_and_texts_speak_for_the_configured_authority
);

async fn put_emblem(h: &Harness, who: &super::staff::Session, bytes: Vec<u8>) -> StatusCode {
    let mut req = Request::builder()
        .method("PUT")
        .uri("/api/v1/admin/authority/emblem")
        .header("content-type", "image/png");
    for (k, v) in who.headers() {
        req = req.header(k, v);
    }
    h.raw(req.body(Body::from(bytes)).unwrap()).await.status()
}

/// The smallest PNG: one white pixel.
fn png() -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    v.extend_from_slice(&[0, 0, 0, 13]);
    v.extend_from_slice(b"IHDR");
    v.extend_from_slice(&[
        0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0, 0x3a, 0x7e, 0x9b, 0x55,
    ]);
    v.extend_from_slice(&[
        0, 0, 0, 10, b'I', b'D', b'A', b'T', 0x78, 0x9c, 0x63, 0xf8, 0x0f, 0, 1, 1, 1, 0,
    ]);
    v.extend_from_slice(&[0x18, 0xdd, 0x8d, 0xb0]);
    v.extend_from_slice(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xae, 0x42, 0x60, 0x82]);
    v
}

async fn the_emblem_is_an_image_checked_by_its_bytes(store: DynStore) {
    let h = Harness::new(store).await;
    assert_eq!(
        h.form("GET", "/emblem", "", &[]).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(!page(&h, "/", "zh-CN").await.contains("/emblem?v="));
    let admin = h.sign_in_as("admin").await;
    let officer = h.sign_in_as("officer@tianhe").await;
    assert_eq!(put_emblem(&h, &officer, png()).await, StatusCode::FORBIDDEN);
    // Script dressed as an image, and an image too large, are refused.
    assert_eq!(
        put_emblem(
            &h,
            &admin,
            b"<svg xmlns='http://www.w3.org/2000/svg' onload='x'/>".to_vec()
        )
        .await,
        StatusCode::BAD_REQUEST
    );
    let mut big = png();
    big.resize(300 * 1024, 0);
    let s = put_emblem(&h, &admin, big).await;
    assert!(
        s == StatusCode::BAD_REQUEST || s == StatusCode::PAYLOAD_TOO_LARGE,
        "{s}"
    );
    assert_eq!(entries(&h, "authority.emblem").await, 0);

    assert_eq!(put_emblem(&h, &admin, png()).await, StatusCode::NO_CONTENT);
    assert_eq!(entries(&h, "authority.emblem").await, 1);
    let home = page(&h, "/", "zh-CN").await;
    let src = home
        .split("src=\"")
        .find(|s| s.starts_with("/emblem?v="))
        .and_then(|s| s.split('"').next())
        .expect("the header shows the emblem")
        .to_string();
    let res = h
        .raw(Request::builder().uri(&src).body(Body::empty()).unwrap())
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/png");
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(bytes.as_ref(), png().as_slice());
}

both_dialects!(
    authority_emblem,
    the_emblem_is_an_image_checked_by_its_bytes
);

/// The administrators' page saves the face and shows each problem beside its field.
async fn the_authority_page_edits_the_face(store: DynStore) {
    let h = Harness::new(store).await;
    let admin = h.sign_in_as("admin").await;
    let p = h
        .form("GET", "/staff/authority", "", &staff_cookie(&admin))
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.body.contains("name=\"sign_zh\"") && p.body.contains("value=\"无境\""));
    let body = |sign: &str| {
        let g = guangzhou();
        let mut f = format!("csrf={}&sign_zh={}", admin.csrf, enc(sign));
        for k in [
            "name_zh",
            "name_en",
            "sign_en",
            "hotline",
            "privacy_zh",
            "privacy_en",
            "accessibility_zh",
            "accessibility_en",
            "filing_number",
        ] {
            f.push_str(&format!("&{k}={}", enc(g[k].as_str().unwrap())));
        }
        f
    };
    let p = h
        .form(
            "POST",
            "/staff/authority",
            &body("[x]"),
            &staff_cookie(&admin),
        )
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST, "{}", p.body);
    assert!(p.body.contains("id=\"e-sign_zh\"") && !p.body.contains("id=\"e-name_zh\""));
    assert!(
        p.body.contains("value=\"[x]\""),
        "the form comes back filled in"
    );
    let p = h
        .form(
            "POST",
            "/staff/authority",
            &body("广州出入境"),
            &staff_cookie(&admin),
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert!(page(&h, "/", "zh-CN")
        .await
        .contains("广州市公安局出入境管理支队"));
    // The notices keep their paragraphs through the form.
    assert!(page(&h, "/privacy", "zh-CN")
        .await
        .contains("<p>第二段隐私声明。</p>"));
}

both_dialects!(authority_page, the_authority_page_edits_the_face);

/// The page's emblem form as a browser sends it: the CSRF field (when given) and the file part
/// (empty when no file was chosen).
async fn upload_emblem(
    h: &Harness,
    who: &super::staff::Session,
    csrf: Option<&str>,
    file: &[u8],
) -> (StatusCode, String) {
    let boundary = "----wujingEmblemBoundary7MA4YWxk";
    let mut body = Vec::new();
    if let Some(c) = csrf {
        body.extend_from_slice(
            format!("--{boundary}\r\ncontent-disposition: form-data; name=\"csrf\"\r\n\r\n{c}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\ncontent-disposition: form-data; name=\"emblem\"; filename=\"e.png\"\r\ncontent-type: image/png\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let res = h
        .raw(
            Request::builder()
                .method("POST")
                .uri("/staff/authority/emblem")
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .header("cookie", who.cookie.as_str())
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into())
}

/// The administrators' page uploads the emblem through the API's use case: only with the
/// session's CSRF token and only for administrators; a missing, disguised or oversized file
/// comes back as the page with the reason beside the field (400 `emblem_invalid`, nothing
/// stored, never a 500); a PNG is stored, audited once and shown in the portal's header.
async fn the_authority_page_uploads_the_emblem(store: DynStore) {
    let h = Harness::new(store).await;
    let admin = h.sign_in_as("admin").await;
    let officer = h.sign_in_as("officer@tianhe").await;
    let p = h
        .form("GET", "/staff/authority", "", &staff_cookie(&admin))
        .await;
    assert!(
        p.body.contains("enctype=\"multipart/form-data\"") && p.body.contains("name=\"emblem\""),
        "the page has the upload form: {}",
        p.body
    );
    assert!(!p.body.contains("PUT /api"), "no pointer to the API");

    let (s, _) = upload_emblem(&h, &officer, Some(&officer.csrf), &png()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = upload_emblem(&h, &admin, None, &png()).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "no CSRF token, no upload");
    let (s, _) = upload_emblem(&h, &admin, Some("not-the-token"), &png()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let refused = |what: &str, s: StatusCode, body: &str, says: &str| {
        assert_eq!(s, StatusCode::BAD_REQUEST, "{what}: {body}");
        assert!(
            body.contains("id=\"e-emblem\" data-code=\"emblem_invalid\"") && body.contains(says),
            "{what}: the reason beside the field: {body}"
        );
        assert!(body.contains("aria-invalid=\"true\""), "{what}");
    };
    let (s, b) = upload_emblem(&h, &admin, Some(&admin.csrf), b"").await;
    refused("no file", s, &b, "请选择徽标图片文件");
    let (s, b) = upload_emblem(
        &h,
        &admin,
        Some(&admin.csrf),
        b"<svg xmlns='http://www.w3.org/2000/svg' onload='x'/>",
    )
    .await;
    refused("script as an image", s, &b, "徽标须为 PNG 或 JPEG 图片");
    let mut big = png();
    big.resize(300 * 1024, 0);
    let (s, b) = upload_emblem(&h, &admin, Some(&admin.csrf), &big).await;
    refused("over 256 KB", s, &b, "不超过 256 KB");
    // Far over the route's limit: refused before it is read, as an error page, not a 500.
    let mut huge = png();
    huge.resize(2 * 1024 * 1024, 0);
    let (s, _) = upload_emblem(&h, &admin, Some(&admin.csrf), &huge).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(entries(&h, "authority.emblem").await, 0);
    assert_eq!(
        h.form("GET", "/emblem", "", &[]).await.status,
        StatusCode::NOT_FOUND
    );

    // An emblem over the server's default body limit (64 KB) but within the emblem's own.
    let mut fine = png();
    fine.resize(100 * 1024, 0);
    let (s, b) = upload_emblem(&h, &admin, Some(&admin.csrf), &fine).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{b}");
    assert_eq!(entries(&h, "authority.emblem").await, 1);
    let p = h
        .form("GET", "/staff/authority", "", &staff_cookie(&admin))
        .await;
    assert!(p.body.contains("src=\"/emblem?v="), "the page shows it");
    assert!(page(&h, "/", "zh-CN").await.contains("/emblem?v="));
    // The API takes the same size.
    assert_eq!(put_emblem(&h, &admin, fine).await, StatusCode::NO_CONTENT);
}

both_dialects!(authority_emblem_page, the_authority_page_uploads_the_emblem);
