//! Staff identity, authorisation, sessions, CSRF, throttling, hall administration, identity
//! reveal, the audit trail and personal data in logs (M14), on SQLite and PostgreSQL.

use super::{applicant, code_of, test_config, Harness};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::Response;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use tower::ServiceExt;
use wujing_app::{Actor, NewStaffInput, Principal};
use wujing_domain::staff::{Role, RoleGrant};
use wujing_store::DynStore;
use wujing_testkit::both_dialects;

pub const PASSWORD: &str = "correct horse battery";
/// Demo registry: Guangzhou hukou, no passport yet.
const ZHENG: &str = "440112200001010139";

/// A signed-in staff member: the session cookie and the CSRF token.
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

impl Session {
    pub fn headers(&self) -> [(&str, &str); 2] {
        [
            ("cookie", self.cookie.as_str()),
            ("x-csrf-token", self.csrf.as_str()),
        ]
    }
}

impl Harness {
    /// A POST with `who`'s session and CSRF token.
    pub async fn post_as(
        &self,
        who: &Session,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (StatusCode, serde_json::Value) {
        self.call("POST", path, body, &who.headers()).await
    }
}

static NEXT_USER: AtomicU32 = AtomicU32::new(1);

fn grants(spec: &str) -> Vec<RoleGrant> {
    spec.split(',')
        .map(|g| match g.split_once('@') {
            Some((r, h)) => RoleGrant {
                role: Role::parse(r).unwrap(),
                hall: Some(h.into()),
            },
            None => RoleGrant {
                role: Role::parse(g).unwrap(),
                hall: None,
            },
        })
        .collect()
}

impl Harness {
    pub async fn raw(&self, req: Request<Body>) -> Response {
        self.router.clone().oneshot(req).await.unwrap()
    }

    /// Creates an account with roles like `officer@tianhe,leader` and returns its user name.
    pub async fn create_account(&self, spec: &str) -> String {
        let n = NEXT_USER.fetch_add(1, Ordering::Relaxed);
        let username = format!("user{n}");
        self.app
            .create_staff(
                &Actor::cli(),
                &NewStaffInput {
                    username: username.clone(),
                    display_name: format!("测试{n}"),
                    password: PASSWORD.into(),
                    roles: grants(spec),
                    phone: Some(format!("139{n:08}")),
                },
            )
            .await
            .unwrap();
        username
    }

    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
    ) -> (StatusCode, Value, Option<String>) {
        let req = Request::builder()
            .method("POST")
            .uri("/api/v1/staff/session")
            .header("content-type", "application/json")
            .body(Body::from(
                json!({"username": username, "password": password}).to_string(),
            ))
            .unwrap();
        let res = self.raw(req).await;
        let status = res.status();
        let cookie = res
            .headers()
            .get("set-cookie")
            .map(|v| v.to_str().unwrap().to_string());
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&body).unwrap_or(Value::Null),
            cookie,
        )
    }

    pub async fn sign_in_as(&self, spec: &str) -> Session {
        let u = self.create_account(spec).await;
        self.session_of(&u).await
    }

    pub async fn session_of(&self, username: &str) -> Session {
        let (s, v, cookie) = self.sign_in(username, PASSWORD).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let cookie = cookie.unwrap();
        Session {
            cookie: cookie.split(';').next().unwrap().to_string(),
            csrf: v["csrf_token"].as_str().unwrap().to_string(),
        }
    }

    pub(crate) async fn admin_principal(&self) -> Principal {
        let s = self.sign_in_as("admin").await;
        let token = s.cookie.split_once('=').unwrap().1.to_string();
        self.app.authenticate(Some(&token), None).await.unwrap()
    }

    /// A booking at `hall` for a fresh identity; returns its code.
    pub async fn book_at(&self, hall: &str, id: &str) -> String {
        let slot = self.slot(hall, "passport_first").await;
        let (s, hold) = self
            .post(
                "/api/v1/holds",
                json!({"slot_id": slot["slot_id"], "business": "passport_first"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{hold}");
        let (s, b) = self
            .post(
                "/api/v1/bookings",
                json!({"hold_id": hold["hold_id"], "applicant": applicant(id, "郑华")}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        b["code"].as_str().unwrap().to_string()
    }
}

/// `kiosk` is a check-in kiosk; `terminal` a rating terminal at window 1; `locker` a pickup
/// locker (取证机): three kinds of device, each with its own rights (issue 16); `bzy` a 办证易 and
/// `wej` a 网e捷 (issue 17).
const EVERYONE: &[&str] = &[
    "anonymous",
    "kiosk",
    "terminal",
    "locker",
    "bzy",
    "wej",
    "yyj",
    "tbj",
    "zjt",
    "officer",
    "leader",
    "supervisor",
    "hall_manager",
    "admin",
    "reviewer",
    "producer",
    "hotline",
    "system",
];
const STAFF: &[&str] = &[
    "officer",
    "leader",
    "supervisor",
    "hall_manager",
    "admin",
    "reviewer",
    "producer",
    "hotline",
];

/// The expected decision for every route. A route missing here, or listed here but missing
/// from the router, fails the test.
fn expected() -> Vec<(&'static str, &'static str, &'static [&'static str])> {
    // Leaders and hall managers steer their halls: signals, alerts, the audit (issue 15 §12).
    let signals: &[&str] = &["leader", "supervisor", "hall_manager", "admin"];
    let audit: &[&str] = &["leader", "supervisor", "hall_manager", "admin"];
    let alerts: &[&str] = &["leader", "supervisor", "hall_manager", "admin"];
    let lookup: &[&str] = &["officer", "supervisor", "hall_manager", "admin"];
    let reveal: &[&str] = &["officer", "supervisor", "admin"];
    let admin: &[&str] = &["admin"];
    let halls: &[&str] = &["hall_manager", "admin"];
    let devices: &[&str] = &[
        "kiosk", "terminal", "locker", "bzy", "wej", "yyj", "tbj", "zjt",
    ];
    let bzy: &[&str] = &["bzy"];
    let terminal: &[&str] = &["terminal"];
    let locker: &[&str] = &["locker"];
    let yyj: &[&str] = &["yyj"];
    let tbj: &[&str] = &["tbj"];
    let zjt: &[&str] = &["zjt"];
    let monitor: &[&str] = &["leader", "supervisor", "hall_manager", "admin"];
    let appraisal: &[&str] = &["officer", "leader", "supervisor", "admin"];
    vec![
        ("GET", "/healthz", EVERYONE),
        ("GET", "/readyz", EVERYONE),
        ("GET", "/metrics", admin),
        ("GET", "/api/openapi.json", EVERYONE),
        ("GET", "/api/v1/halls", EVERYONE),
        ("GET", "/api/v1/halls/{id}", EVERYONE),
        ("GET", "/api/v1/businesses", EVERYONE),
        ("GET", "/api/v1/businesses/{code}", EVERYONE),
        ("GET", "/api/v1/availability", EVERYONE),
        ("POST", "/api/v1/eligibility", EVERYONE),
        ("POST", "/api/v1/mrz", EVERYONE),
        ("POST", "/api/v1/phone-codes", EVERYONE),
        ("POST", "/api/v1/holds", EVERYONE),
        ("POST", "/api/v1/bookings", EVERYONE),
        ("GET", "/api/v1/bookings/{code}", EVERYONE),
        ("POST", "/api/v1/bookings/{code}/cancel", EVERYONE),
        ("POST", "/api/v1/bookings/{code}/reschedule", EVERYONE),
        ("POST", "/api/v1/lottery/entries", EVERYONE),
        ("GET", "/api/v1/lottery/entries/{id}", EVERYONE),
        ("GET", "/api/v1/lottery/draws/{day}", EVERYONE),
        ("GET", "/api/v1/ops/signals", signals),
        ("GET", "/api/v1/kiosk/me", devices),
        ("POST", "/api/v1/device/pairings", EVERYONE),
        ("POST", "/api/v1/device/pairings/poll", EVERYONE),
        ("POST", "/api/v1/device/heartbeat", devices),
        ("POST", "/api/v1/admin/devices/{id}/pair", admin),
        ("POST", "/staff/admin/devices/{id}/pair", admin),
        ("GET", "/api/v1/monitoring", monitor),
        ("POST", "/api/v1/monitoring/alerts/{id}/clear", monitor),
        ("GET", "/staff/monitoring", monitor),
        ("GET", "/staff/capacity", monitor),
        ("POST", "/staff/monitoring/alerts/{id}/clear", monitor),
        ("POST", "/api/v1/staff/session", EVERYONE),
        ("DELETE", "/api/v1/staff/session", STAFF),
        ("GET", "/api/v1/staff/me", STAFF),
        ("POST", "/api/v1/staff/me/password", STAFF),
        ("GET", "/api/v1/staff/bookings/{code}", lookup),
        ("POST", "/api/v1/staff/bookings/{code}/reveal", reveal),
        ("GET", "/api/v1/admin/staff", admin),
        ("POST", "/api/v1/admin/staff", admin),
        ("GET", "/api/v1/admin/staff/{id}", admin),
        ("POST", "/api/v1/admin/staff/{id}/unlock", admin),
        ("PATCH", "/api/v1/admin/staff/{id}", admin),
        ("GET", "/api/v1/admin/devices", admin),
        ("POST", "/api/v1/admin/devices", admin),
        ("POST", "/api/v1/admin/devices/{id}/revoke", admin),
        ("PUT", "/api/v1/admin/halls/{id}", halls),
        ("GET", "/api/v1/admin/halls/{id}/windows", halls),
        ("POST", "/api/v1/admin/halls/{id}/windows", halls),
        ("DELETE", "/api/v1/admin/halls/{id}/windows/{number}", halls),
        ("POST", "/api/v1/admin/halls/{id}/capacity", halls),
        ("GET", "/api/v1/admin/halls/{id}/calendar", halls),
        ("POST", "/api/v1/admin/halls/{id}/calendar", halls),
        ("GET", "/api/v1/audit", audit),
        (
            "POST",
            "/api/v1/halls/{id}/checkins",
            &["kiosk", "yyj", "officer", "admin"],
        ),
        ("GET", "/api/v1/halls/{id}/tickets", &["officer", "admin"]),
        (
            "POST",
            "/api/v1/halls/{id}/windows/{number}/call",
            &["officer", "admin"],
        ),
        (
            "POST",
            "/api/v1/halls/{id}/windows/{number}/tickets/{ticket}/action",
            &["officer", "admin"],
        ),
        (
            "POST",
            "/api/v1/halls/{id}/windows/{number}/tickets/{ticket}/fee",
            &["officer", "admin"],
        ),
        (
            "GET",
            "/api/v1/halls/{id}/reconciliation",
            &["leader", "hall_manager", "admin"],
        ),
        ("GET", "/staff/counter/{id}/{number}", &["officer", "admin"]),
        (
            "POST",
            "/staff/counter/{id}/{number}",
            &["officer", "admin"],
        ),
        ("GET", "/", EVERYONE),
        ("GET", "/lang", EVERYONE),
        ("GET", "/text", EVERYONE),
        ("GET", "/book/{business}", EVERYONE),
        ("GET", "/foreigners", EVERYONE),
        ("GET", "/foreigners/book/{business}", EVERYONE),
        ("POST", "/foreigners/book/{business}/check", EVERYONE),
        (
            "POST",
            "/api/v1/halls/{id}/passport-links",
            &["officer", "admin"],
        ),
        ("GET", "/staff/halls/{id}/passports", &["officer", "admin"]),
        ("POST", "/staff/halls/{id}/passports", &["officer", "admin"]),
        ("POST", "/book/{business}/check", EVERYONE),
        ("POST", "/book/{business}/times", EVERYONE),
        ("POST", "/book/{business}/hold", EVERYONE),
        ("POST", "/book/{business}/confirm", EVERYONE),
        ("GET", "/slip/{code}", EVERYONE),
        ("GET", "/slip/{code}/booking.ics", EVERYONE),
        ("GET", "/slip/{code}/form.pdf", EVERYONE),
        ("GET", "/slip/{code}/receipt.pdf", EVERYONE),
        ("POST", "/slip/{code}/change", EVERYONE),
        ("POST", "/book/{business}/edit", EVERYONE),
        ("POST", "/book/{business}/halls", EVERYONE),
        ("GET", "/slip/{code}/print", EVERYONE),
        ("POST", "/slip/{code}/reschedule", EVERYONE),
        ("GET", "/my", EVERYONE),
        ("POST", "/my", EVERYONE),
        ("GET", "/status", EVERYONE),
        ("POST", "/status", EVERYONE),
        ("POST", "/slip/{code}/collection", EVERYONE),
        ("POST", "/api/v1/applications/mine", EVERYONE),
        ("POST", "/api/v1/bookings/{code}/collection", EVERYONE),
        ("POST", "/api/v1/bookings/{code}/withdraw", EVERYONE),
        ("POST", "/slip/{code}/withdraw", EVERYONE),
        ("GET", "/staff/login", EVERYONE),
        ("POST", "/staff/login", EVERYONE),
        ("POST", "/staff/logout", STAFF),
        ("GET", "/staff", STAFF),
        ("GET", "/staff/password", STAFF),
        ("POST", "/staff/password", STAFF),
        ("GET", "/staff/admin/staff", admin),
        ("POST", "/staff/admin/staff", admin),
        ("POST", "/staff/admin/staff/{id}", admin),
        ("GET", "/staff/admin/devices", admin),
        ("POST", "/staff/admin/devices", admin),
        ("POST", "/staff/admin/devices/{id}/revoke", admin),
        ("GET", "/staff/admin/halls", halls),
        ("GET", "/staff/admin/halls/{id}", halls),
        ("POST", "/staff/admin/halls/{id}", halls),
        // Sites: creating and listing are the administrators'; one site its hall manager's too.
        ("GET", "/api/v1/admin/authority", admin),
        ("PUT", "/api/v1/admin/authority", admin),
        ("PUT", "/api/v1/admin/authority/emblem", admin),
        ("GET", "/staff/authority", admin),
        ("POST", "/staff/authority", admin),
        ("POST", "/staff/authority/emblem", admin),
        ("GET", "/staff/reception/{id}", &["officer", "admin"]),
        ("POST", "/staff/reception/{id}", &["officer", "admin"]),
        ("GET", "/privacy", EVERYONE),
        ("GET", "/accessibility", EVERYONE),
        ("GET", "/emblem", EVERYONE),
        ("GET", "/api/v1/admin/sites", admin),
        ("POST", "/api/v1/admin/sites", admin),
        ("GET", "/api/v1/admin/sites/{id}", halls),
        ("PUT", "/api/v1/admin/sites/{id}", halls),
        ("GET", "/staff/sites", admin),
        ("POST", "/staff/sites", admin),
        ("GET", "/staff/sites/{id}", halls),
        ("POST", "/staff/sites/{id}", halls),
        ("GET", "/staff/audit", audit),
        ("GET", "/staff/signals", signals),
        ("GET", "/staff/stats", monitor),
        ("GET", "/staff/stats.csv", monitor),
        ("GET", "/staff/stats.xlsx", monitor),
        ("GET", "/staff/appraisal", appraisal),
        (
            "POST",
            "/api/v1/halls/{id}/windows/{number}/rating",
            terminal,
        ),
        ("GET", "/api/v1/alerts", alerts),
        ("POST", "/api/v1/alerts/{id}/ack", alerts),
        ("GET", "/device", EVERYONE),
        ("POST", "/device", EVERYONE),
        ("GET", "/rate/{id}/{number}", terminal),
        ("POST", "/rate/{id}/{number}", terminal),
        ("GET", "/staff/alerts", alerts),
        ("POST", "/staff/alerts/{id}/ack", alerts),
        ("GET", "/static/{file}", EVERYONE),
        ("GET", "/board/{id}", EVERYONE),
        ("GET", "/board/{id}/events", EVERYONE),
        (
            "POST",
            "/api/v1/halls/{id}/windows/{number}/tickets/{ticket}/accept",
            &["officer", "admin"],
        ),
        (
            "POST",
            "/api/v1/halls/{id}/windows/{number}/tickets/{ticket}/urgent",
            &["officer", "admin"],
        ),
        (
            "POST",
            "/api/v1/halls/{id}/tickets/{ticket}/refund",
            &["leader", "admin"],
        ),
        (
            "GET",
            "/api/v1/halls/{id}/tickets/{ticket}/receipt.pdf",
            &["officer", "leader", "hall_manager", "admin"],
        ),
        (
            "POST",
            "/api/v1/halls/{id}/walk-ins",
            &["kiosk", "yyj", "officer", "admin"],
        ),
        ("GET", "/api/v1/urgent", &["leader", "admin"]),
        ("POST", "/api/v1/urgent/{id}/decision", &["leader", "admin"]),
        ("GET", "/staff/urgent", &["leader", "admin"]),
        ("POST", "/staff/urgent/{id}", &["leader", "admin"]),
        (
            "GET",
            "/staff/reconciliation",
            &["leader", "hall_manager", "admin"],
        ),
        (
            "GET",
            "/staff/reconciliation.csv",
            &["leader", "hall_manager", "admin"],
        ),
        ("GET", "/kiosk", &["kiosk", "yyj", "officer", "admin"]),
        ("POST", "/kiosk", &["kiosk", "yyj", "officer", "admin"]),
        (
            "GET",
            "/kiosk/tickets/{id}/pdf",
            &["kiosk", "yyj", "officer", "admin"],
        ),
        // The kiosk modes 申请易 and 前台通 (issue 17): their machines only, none of the
        // matrix's principals (tests/http/kiosk_modes.rs drives them with devices of their kind).
        ("GET", "/kiosk/sqy", NO_ONE),
        ("GET", "/kiosk/qtt", NO_ONE),
        ("POST", "/api/v1/kiosk/sqy/photo", NO_ONE),
        ("POST", "/api/v1/kiosk/sqy/fingerprints/next", NO_ONE),
        ("POST", "/api/v1/kiosk/sqy/applications", NO_ONE),
        ("GET", "/api/v1/applications/{id}/biometrics", STAFF),
        ("GET", "/api/v1/kiosk/qtt/window", NO_ONE),
        ("POST", "/api/v1/kiosk/qtt/card", NO_ONE),
        ("POST", "/api/v1/kiosk/qtt/payment", NO_ONE),
        ("POST", "/api/v1/kiosk/qzj/open", locker),
        ("POST", "/api/v1/kiosk/qzj/collect", locker),
        ("POST", "/api/v1/kiosk/qzj/jam", locker),
        ("GET", "/api/v1/kiosk/yyj/slots", yyj),
        ("POST", "/api/v1/kiosk/yyj/bookings", yyj),
        (
            "POST",
            "/api/v1/monitoring/lockers/{id}/compartments/{label}/clear",
            monitor,
        ),
        (
            "POST",
            "/staff/monitoring/lockers/{id}/compartments/{label}/clear",
            monitor,
        ),
        ("GET", "/kiosk/qzj", locker),
        ("GET", "/kiosk/yyj", yyj),
        ("GET", "/kiosk/tbj", tbj),
        ("POST", "/api/v1/kiosk/tbj/forms", tbj),
        ("GET", "/kiosk/zjt", zjt),
        ("POST", "/api/v1/kiosk/zjt/read", zjt),
        ("POST", "/api/v1/kiosk/zjt/checkins", zjt),
        ("POST", "/api/v1/kiosk/zjt/lodging", zjt),
        ("GET", "/locker", locker),
        ("POST", "/locker", locker),
        ("POST", "/api/v1/locker/collect", locker),
        // The kiosk modes (issue 17): a shared action answers a device of its kind only, through
        // its own kind's path.
        ("POST", "/api/v1/kiosk/bzy/fees", bzy),
        ("POST", "/api/v1/kiosk/bzy/payments", bzy),
        ("POST", "/api/v1/kiosk/bzy/payments/{id}/paid", bzy),
        ("POST", "/api/v1/kiosk/bzy/payments/{id}/declined", bzy),
        ("POST", "/api/v1/kiosk/wej/fees", &["wej"]),
        ("POST", "/api/v1/kiosk/wej/payments", &["wej"]),
        ("POST", "/api/v1/kiosk/wej/payments/{id}/paid", &["wej"]),
        ("POST", "/api/v1/kiosk/wej/payments/{id}/declined", &["wej"]),
        ("POST", "/api/v1/kiosk/bzy/endorsements/offer", bzy),
        ("POST", "/api/v1/kiosk/bzy/endorsements", bzy),
        ("POST", "/api/v1/kiosk/bzy/endorsements/{id}/choice", bzy),
        ("POST", "/api/v1/kiosk/bzy/endorsements/{id}/paid", bzy),
        ("POST", "/api/v1/kiosk/bzy/endorsements/{id}/written", bzy),
        ("POST", "/api/v1/kiosk/bzy/endorsements/{id}/failed", bzy),
        ("GET", "/kiosk/bzy", bzy),
        ("GET", "/kiosk/bzy/receipts/{id}/pdf", bzy),
        ("POST", "/api/v1/kiosk/wej/status", &["wej"]),
        ("POST", "/api/v1/kiosk/wej/collection", &["wej"]),
        ("POST", "/api/v1/kiosk/wej/writes", &["wej"]),
        (
            "POST",
            "/api/v1/kiosk/wej/writes/{application}/written",
            &["wej"],
        ),
        (
            "POST",
            "/api/v1/kiosk/wej/writes/{application}/failed",
            &["wej"],
        ),
        ("GET", "/kiosk/wej", &["wej"]),
        ("GET", "/kiosk/wej/receipts/{id}/pdf", &["wej"]),
        ("GET", "/api/v1/admin/halls/{id}/locker", halls),
        ("PUT", "/api/v1/admin/halls/{id}/locker", halls),
        (
            "GET",
            "/api/v1/applications/review-queue",
            &["reviewer", "admin"],
        ),
        ("GET", "/api/v1/applications/{id}", STAFF),
        (
            "POST",
            "/api/v1/applications/{id}/review",
            &["reviewer", "admin"],
        ),
        (
            "POST",
            "/api/v1/applications/{id}/approve",
            &["reviewer", "admin"],
        ),
        (
            "POST",
            "/api/v1/applications/{id}/refuse",
            &["reviewer", "admin"],
        ),
        (
            "POST",
            "/api/v1/applications/{id}/supplement-request",
            &["reviewer", "admin"],
        ),
        (
            "POST",
            "/api/v1/applications/{id}/production",
            &["producer", "admin"],
        ),
        (
            "POST",
            "/api/v1/applications/{id}/collect",
            &["officer", "admin"],
        ),
        (
            "POST",
            "/api/v1/applications/{id}/collection",
            &["officer", "admin"],
        ),
        (
            "POST",
            "/api/v1/halls/{id}/applications/lookup",
            &["officer", "admin"],
        ),
        (
            "POST",
            "/api/v1/halls/{id}/applications/{application}/supplement",
            &["officer", "admin"],
        ),
        ("GET", "/api/v1/applications/overdue", signals),
        ("GET", "/staff/overdue", signals),
        ("GET", "/staff/review", &["reviewer", "admin"]),
        ("POST", "/staff/review/{id}", &["reviewer", "admin"]),
        // Fully online business (issue 13): the citizen's pages, and the reviewers' photo.
        ("GET", "/online", EVERYONE),
        ("POST", "/online", EVERYONE),
        ("GET", "/online/app", EVERYONE),
        ("POST", "/online/app/answers", EVERYONE),
        ("POST", "/online/app/photo", EVERYONE),
        ("GET", "/online/app/photo", EVERYONE),
        ("POST", "/online/app/collection", EVERYONE),
        ("POST", "/online/app/pay", EVERYONE),
        ("GET", "/online/return/{reference}", EVERYONE),
        ("GET", "/online/status/{reference}", EVERYONE),
        (
            "GET",
            "/staff/applications/{id}/photo",
            &["reviewer", "admin"],
        ),
        (
            "POST",
            "/api/v1/production/batches",
            &["producer", "admin", "system"],
        ),
        (
            "GET",
            "/api/v1/production/batches",
            &["producer", "admin", "system"],
        ),
        (
            "GET",
            "/api/v1/production/batches/{id}",
            &["producer", "admin", "system"],
        ),
        (
            "POST",
            "/api/v1/production/documents/{id}",
            &["producer", "admin", "system"],
        ),
        ("GET", "/api/v1/admin/system-clients", admin),
        ("POST", "/api/v1/admin/system-clients", admin),
        ("POST", "/api/v1/admin/system-clients/{id}/revoke", admin),
        ("GET", "/staff/production", &["producer", "admin"]),
        ("POST", "/staff/production/batch", &["producer", "admin"]),
        ("POST", "/staff/production/{id}", &["producer", "admin"]),
        ("POST", "/api/v1/hotline/phone-codes", &["hotline", "admin"]),
        ("POST", "/api/v1/hotline/bookings", &["hotline", "admin"]),
        ("GET", "/staff/hotline", &["hotline", "admin"]),
        ("POST", "/staff/hotline/hold", &["hotline", "admin"]),
        ("POST", "/staff/hotline/confirm", &["hotline", "admin"]),
        // Online payment: authenticated by the provider's signature, not by a principal.
        ("POST", "/api/v1/payments/callback/{provider}", EVERYONE),
        ("GET", "/pay/simulated/{reference}", EVERYONE),
        ("POST", "/pay/simulated/{reference}", EVERYONE),
        // Accommodation registration (issue 14 §3): a hotel's routes open to no one of the
        // matrix (a hotel principal only: tests/http/lodging.rs), the station's to its officers
        // and leaders, its hotels to its hall manager and leaders.
        ("POST", "/api/v1/lodging/registrations", NO_ONE),
        ("POST", "/api/v1/lodging/registrations/batch", NO_ONE),
        ("GET", "/api/v1/lodging/registrations/{stay}", NO_ONE),
        (
            "POST",
            "/api/v1/lodging/registrations/{stay}/check-out",
            NO_ONE,
        ),
        ("POST", "/api/v1/lodging/host", EVERYONE),
        ("POST", "/api/v1/lodging/host/status", EVERYONE),
        ("GET", "/api/v1/lodging/worklist", LODGING),
        ("GET", "/api/v1/lodging/worklist.csv", LODGING),
        ("GET", "/api/v1/lodging/worklist/{id}", LODGING),
        ("POST", "/api/v1/lodging/worklist/{id}/verify", LODGING),
        (
            "GET",
            "/api/v1/lodging/hotels",
            &["hall_manager", "leader", "admin"],
        ),
        (
            "POST",
            "/api/v1/lodging/hotels",
            &["hall_manager", "leader", "admin"],
        ),
        ("GET", "/staff/lodging", LODGING),
        ("GET", "/staff/lodging.csv", LODGING),
        (
            "GET",
            "/staff/lodging/hotels",
            &["hall_manager", "leader", "admin"],
        ),
        (
            "POST",
            "/staff/lodging/hotels",
            &["hall_manager", "leader", "admin"],
        ),
        ("GET", "/staff/lodging/{id}", LODGING),
        ("POST", "/staff/lodging/{id}/verify", LODGING),
        ("GET", "/hotel", EVERYONE),
        ("POST", "/hotel", NO_ONE),
        ("POST", "/hotel/sign-in", EVERYONE),
        ("POST", "/hotel/sign-out", NO_ONE),
        ("GET", "/lodging", EVERYONE),
        ("POST", "/lodging", EVERYONE),
        ("POST", "/lodging/status", EVERYONE),
    ]
}

const NO_ONE: &[&str] = &[];
const LODGING: &[&str] = &["officer", "leader", "admin"];

async fn authorization_matrix(store: DynStore) {
    let h = Harness::new(store).await;
    let table = wujing_web::route_table();
    let routes: BTreeSet<(String, &str)> =
        table.iter().map(|(m, p, _)| (m.to_string(), *p)).collect();
    let exp = expected();
    let listed: BTreeSet<(String, &str)> =
        exp.iter().map(|(m, p, _)| (m.to_string(), *p)).collect();
    let unlisted: Vec<_> = routes.difference(&listed).collect();
    assert!(
        unlisted.is_empty(),
        "routes without an entry in the matrix: {unlisted:?}"
    );
    let stale: Vec<_> = listed.difference(&routes).collect();
    assert!(
        stale.is_empty(),
        "matrix entries without a route: {stale:?}"
    );

    // Targets: a booking in the officer's and manager's hall, an account and a device to act on.
    let code = h.book_at("tianhe", ZHENG).await;
    let admin = h.admin_principal().await;
    let target_staff = h.create_account("officer@tianhe").await;
    let target_id = h
        .store
        .staff_by_username(&target_staff)
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string();
    let device = |name: &str, kind: &str, window: Option<u32>| wujing_app::DeviceInput {
        name: name.into(),
        hall_id: "tianhe".into(),
        kind: kind.into(),
        window_number: window,
    };
    let kiosk = h
        .app
        .create_device(&admin, None, &device("一号自助机", "check_in", None))
        .await
        .unwrap();
    let kiosk_token = kiosk.token.unwrap();
    let terminal_token = h
        .app
        .create_device(
            &admin,
            None,
            &device("1号窗评价器", "rating_terminal", Some(1)),
        )
        .await
        .unwrap()
        .token
        .unwrap();
    let locker_token = h
        .app
        .create_device(&admin, None, &device("取证机", "qzj", None))
        .await
        .unwrap()
        .token
        .unwrap();
    let bzy_token = h
        .app
        .create_device(&admin, None, &device("办证易", "bzy", None))
        .await
        .unwrap()
        .token
        .unwrap();
    let yyj_token = h
        .app
        .create_device(&admin, None, &device("预约机", "yyj", None))
        .await
        .unwrap()
        .token
        .unwrap();
    let wej_token = h
        .app
        .create_device(&admin, None, &device("网e捷", "wej", None))
        .await
        .unwrap()
        .token
        .unwrap();
    let tbj_token = h
        .app
        .create_device(&admin, None, &device("填表机", "tbj", None))
        .await
        .unwrap()
        .token
        .unwrap();
    let zjt_token = h
        .app
        .create_device(&admin, None, &device("证件通", "zjt", None))
        .await
        .unwrap()
        .token
        .unwrap();
    let target_device = h
        .app
        .create_device(&admin, None, &device("备用机", "check_in", None))
        .await
        .unwrap()
        .id
        .to_string();
    let system_token = h
        .app
        .create_system_client(
            &admin,
            None,
            &wujing_app::NewSystemClientInput {
                name: "centre".into(),
                kind: None,
            },
        )
        .await
        .unwrap()
        .token
        .unwrap();
    let specs = [
        ("officer", "officer@tianhe"),
        ("leader", "leader"),
        ("supervisor", "supervisor"),
        ("hall_manager", "hall_manager@tianhe"),
        ("admin", "admin"),
        ("reviewer", "reviewer"),
        ("producer", "producer"),
        ("hotline", "hotline"),
    ];
    let mut accounts = Vec::new();
    for (role, spec) in specs {
        accounts.push((role, h.create_account(spec).await));
    }

    let mut wrong = Vec::new();
    for (method, path, allowed) in &exp {
        let id = if path.contains("/staff/{id}") {
            target_id.as_str()
        } else if path.contains("/devices/{id}") {
            target_device.as_str()
        } else if path.contains("/lottery/") || path.contains("/applications/") {
            "1"
        } else {
            "tianhe"
        };
        let uri = path
            .replace("{id}", id)
            .replace("{code}", &code)
            .replace("{day}", "2026-12-03")
            .replace("{business}", "passport_first")
            // Window 1: the rating terminal's own window.
            .replace("{number}", "1")
            .replace("{ticket}", "1")
            .replace("/writes/{application}", "/writes/1")
            .replace("{provider}", "simulated")
            .replace("{reference}", "sim_unknown")
            .replace("{label}", "A-01");
        for role in EVERYONE {
            let session = match *role {
                "anonymous" | "kiosk" | "terminal" | "locker" | "bzy" | "wej" | "yyj" | "tbj"
                | "zjt" | "system" => None,
                r => {
                    let user = &accounts.iter().find(|(x, _)| *x == r).unwrap().1;
                    Some(h.session_of(user).await)
                }
            };
            let mut req = Request::builder().method(*method).uri(&uri);
            let device_token = match *role {
                "kiosk" => Some(&kiosk_token),
                "terminal" => Some(&terminal_token),
                "locker" => Some(&locker_token),
                "bzy" => Some(&bzy_token),
                "wej" => Some(&wej_token),
                "yyj" => Some(&yyj_token),
                "tbj" => Some(&tbj_token),
                "zjt" => Some(&zjt_token),
                _ => None,
            };
            if let Some(t) = device_token {
                req = req.header("authorization", format!("Bearer {t}"));
            }
            if *role == "system" {
                req = req.header("authorization", format!("Bearer {system_token}"));
            }
            let page = path.starts_with("/staff");
            if let Some(s) = &session {
                req = req.header("cookie", &s.cookie);
                if !page {
                    req = req.header("x-csrf-token", &s.csrf);
                }
            }
            let body = if *method == "GET" {
                Body::empty()
            } else if page {
                req = req.header("content-type", "application/x-www-form-urlencoded");
                Body::from(format!(
                    "csrf={}",
                    session.as_ref().map_or("", |s| s.csrf.as_str())
                ))
            } else {
                req = req.header("content-type", "application/json");
                Body::from("{}")
            };
            let res = h.raw(req.body(body).unwrap()).await;
            let status = res.status();
            let location = res
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default();
            let denied = status == StatusCode::UNAUTHORIZED
                || status == StatusCode::FORBIDDEN
                || location.starts_with("/staff/login?next=");
            assert_ne!(
                status,
                StatusCode::INTERNAL_SERVER_ERROR,
                "{method} {uri} as {role}"
            );
            if denied == allowed.contains(role) {
                wrong.push(format!("{method} {path} as {role}: {status} {location}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "unexpected decisions:\n{}",
        wrong.join("\n")
    );

    // Hall scope: a manager of one hall cannot touch another.
    let m = h
        .session_of(
            &accounts
                .iter()
                .find(|(r, _)| *r == "hall_manager")
                .unwrap()
                .1,
        )
        .await;
    let (s, v) = h
        .call(
            "GET",
            "/api/v1/admin/halls/gz-city/windows",
            None,
            &m.headers(),
        )
        .await;
    assert_eq!((s, code_of(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, _) = h
        .call(
            "GET",
            "/api/v1/admin/halls/tianhe/windows",
            None,
            &m.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // An officer of another hall cannot look up this hall's booking.
    let o = h.sign_in_as("officer@gz-city").await;
    let (s, _) = h
        .call(
            "GET",
            &format!("/api/v1/staff/bookings/{code}"),
            None,
            &o.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A revoked device token is refused.
    h.app.revoke_device(&admin, None, kiosk.id).await.unwrap();
    let (s, v) = h
        .call(
            "GET",
            "/api/v1/kiosk/me",
            None,
            &[("authorization", &format!("Bearer {kiosk_token}"))],
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNAUTHORIZED, "device_token_invalid")
    );
}
both_dialects!(matrix, authorization_matrix);

async fn sessions_csrf_and_throttling(store: DynStore) {
    let h = Harness::new(store.clone()).await;
    let user = h.create_account("admin").await;

    // Wrong password and unknown user look the same.
    let (s, v, c) = h.sign_in(&user, "wrong password!").await;
    assert_eq!(
        (s, code_of(&v), c),
        (StatusCode::UNAUTHORIZED, "login_failed", None)
    );
    let (s, v, _) = h.sign_in("nobody", "wrong password!").await;
    assert_eq!((s, code_of(&v)), (StatusCode::UNAUTHORIZED, "login_failed"));

    // A session: HttpOnly, SameSite=Strict, no Secure on plain HTTP; hash never answered.
    let (s, v, cookie) = h.sign_in(&user, super::staff::PASSWORD).await;
    assert_eq!(s, StatusCode::OK);
    let cookie = cookie.unwrap();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && !cookie.contains("Secure"),
        "{cookie}"
    );
    assert!(!v.to_string().contains("argon2"));
    let me = Session {
        cookie: cookie.split(';').next().unwrap().to_string(),
        csrf: v["csrf_token"].as_str().unwrap().to_string(),
    };
    let (s, v) = h
        .call("GET", "/api/v1/staff/me", None, &[("cookie", &me.cookie)])
        .await;
    assert_eq!(
        (s, v["username"].as_str()),
        (StatusCode::OK, Some(user.as_str()))
    );

    // The session lives in the database: a second app server on the same store accepts it.
    let other = wujing_app::App::new(
        store.clone(),
        test_config(),
        wujing_app::Clock::manual(super::start()),
    );
    let other_router = wujing_web::router(other);
    let res = other_router
        .oneshot(
            Request::get("/api/v1/staff/me")
                .header("cookie", &me.cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // CSRF: a state-changing request with the cookie needs the token.
    let body = json!({"username": "newbie", "display_name": "新人", "password": "a long password", "roles": [{"role": "leader"}]});
    let (s, v) = h
        .call(
            "POST",
            "/api/v1/admin/staff",
            Some(body.clone()),
            &[("cookie", &me.cookie)],
        )
        .await;
    assert_eq!((s, code_of(&v)), (StatusCode::FORBIDDEN, "csrf_invalid"));
    let (s, v) = h
        .call(
            "POST",
            "/api/v1/admin/staff",
            Some(body.clone()),
            &[("cookie", &me.cookie), ("x-csrf-token", "forged")],
        )
        .await;
    assert_eq!((s, code_of(&v)), (StatusCode::FORBIDDEN, "csrf_invalid"));
    assert!(
        h.store.staff_by_username("newbie").await.unwrap().is_none(),
        "nothing was written"
    );
    let (s, v) = h
        .call("POST", "/api/v1/admin/staff", Some(body), &me.headers())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // Forms carry the token as a field.
    let form = |csrf: &str| {
        Request::post("/staff/admin/staff")
            .header("cookie", &me.cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "csrf={csrf}&username=formuser&display_name=%E8%A1%A8&password=another+long+one&roles=officer%40tianhe"
            )))
            .unwrap()
    };
    let res = h.raw(form("nope")).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = h.raw(form(&me.csrf)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .contains("kind=ok"));
    let formuser = h
        .store
        .staff_by_username("formuser")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(formuser.roles, grants("officer@tianhe"));

    // Password hashes appear in no answer or page.
    for uri in [
        "/api/v1/admin/staff",
        &format!("/api/v1/admin/staff/{}", formuser.id),
        "/staff/admin/staff",
        "/api/v1/audit",
    ] {
        let res = h
            .raw(
                Request::get(uri)
                    .header("cookie", &me.cookie)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK, "{uri}");
        let text = String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec())
            .unwrap();
        assert!(text.contains("formuser"), "{uri}");
        assert!(
            !text.contains("$argon2") && !text.contains("password_hash"),
            "{uri} leaks a hash"
        );
    }

    // Disabling an account ends its sessions at once.
    let victim = h.session_of_password("formuser", "another long one").await;
    let (s, _) = h
        .call(
            "PATCH",
            &format!("/api/v1/admin/staff/{}", formuser.id),
            Some(json!({"disabled": true})),
            &me.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = h
        .call("GET", "/api/v1/staff/me", None, &victim.headers())
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, v, _) = h.sign_in("formuser", "another long one").await;
    assert_eq!((s, code_of(&v)), (StatusCode::UNAUTHORIZED, "login_failed"));
    // An administrator cannot lock themselves out.
    let my_id = h.store.staff_by_username(&user).await.unwrap().unwrap().id;
    let (s, v) = h
        .call(
            "PATCH",
            &format!("/api/v1/admin/staff/{my_id}"),
            Some(json!({"disabled": true})),
            &me.headers(),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::BAD_REQUEST, "cannot_lock_self_out")
    );

    // Changing one's password ends every session; the new one works.
    let (s, v) = h
        .call(
            "POST",
            "/api/v1/staff/me/password",
            Some(json!({"current": super::staff::PASSWORD, "new": "short"})),
            &me.headers(),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::BAD_REQUEST, "password_too_short")
    );
    let (s, _) = h
        .call(
            "POST",
            "/api/v1/staff/me/password",
            Some(json!({"current": super::staff::PASSWORD, "new": "a brand new secret"})),
            &me.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = h.call("GET", "/api/v1/staff/me", None, &me.headers()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, _) = h.sign_in(&user, "a brand new secret").await;
    assert_eq!(s, StatusCode::OK);
    // Signing out ends the session.
    let again = h.session_of_password(&user, "a brand new secret").await;
    let (s, _) = h
        .call("DELETE", "/api/v1/staff/session", None, &again.headers())
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = h
        .call("GET", "/api/v1/staff/me", None, &again.headers())
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Throttling, held in the database: after five attempts the user name owes a delay, even
    // for the right password, and on another app server too.
    let target = h.create_account("leader").await;
    for _ in 0..5 {
        let (s, _, _) = h.sign_in(&target, "not the password").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, v, _) = h.sign_in(&target, super::staff::PASSWORD).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "login_throttled")
    );
    let other = wujing_app::App::new(
        store,
        test_config(),
        wujing_app::Clock::manual(h.app.clock.now()),
    );
    let e = other
        .login(&target, super::staff::PASSWORD, None)
        .await
        .unwrap_err();
    assert_eq!(e.code.as_str(), "login_throttled");
    assert_eq!(e.retry_after, Some(30));
    // Once the delay has passed it works again.
    h.app.clock.advance(chrono::TimeDelta::seconds(31));
    let (s, _, _) = h.sign_in(&target, super::staff::PASSWORD).await;
    assert_eq!(s, StatusCode::OK);
}
both_dialects!(sessions, sessions_csrf_and_throttling);

/// Finding 4 of issue 11: attempts are counted before the password is checked, in one atomic
/// statement, so parallel guesses cannot all read the same count.
async fn parallel_wrong_passwords_are_evaluated_at_most_up_to_the_limit(store: DynStore) {
    let h = Harness::new(store).await;
    let target = h.create_account("admin").await;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..60 {
        let router = h.router.clone();
        let target = target.clone();
        set.spawn(async move {
            let req = Request::builder()
                .method("POST")
                .uri("/api/v1/staff/session")
                .header("content-type", "application/json")
                .body(Body::from(
                    json!({"username": target, "password": "not the password"}).to_string(),
                ))
                .unwrap();
            let res = router.oneshot(req).await.unwrap();
            let status = res.status();
            let retry = res.headers().contains_key("retry-after");
            let body = res.into_body().collect().await.unwrap().to_bytes();
            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            (status, code_of(&v).to_string(), retry)
        });
    }
    let (mut evaluated, mut throttled) = (0, 0);
    while let Some(r) = set.join_next().await {
        match r.unwrap() {
            (StatusCode::UNAUTHORIZED, c, _) if c == "login_failed" => evaluated += 1,
            (StatusCode::TOO_MANY_REQUESTS, c, true) if c == "login_throttled" => throttled += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    // Only a 401 says that the password was checked.
    let limit = test_config().auth.user_free_attempts;
    assert!(
        evaluated <= limit,
        "{evaluated} attempts reached the password check"
    );
    assert_eq!(evaluated + throttled, 60);
}
both_dialects!(
    parallel_login,
    parallel_wrong_passwords_are_evaluated_at_most_up_to_the_limit
);

/// Finding 11 of issue 11: failures for a user name impose a growing delay, not a lock; the
/// right password from an address that is not itself throttled signs in once it has passed.
async fn failures_delay_an_account_but_never_lock_out_the_right_password(store: DynStore) {
    let h = Harness::new(store).await;
    let target = h.create_account("admin").await;
    let (attacker, owner) = (Some("203.0.113.9"), Some("198.51.100.7"));
    let clock = &h.app.clock;
    // Five free attempts, then 30 s, 60 s, 90 s … between attempts.
    for _ in 0..5 {
        let e = h.app.login(&target, "guess", attacker).await.unwrap_err();
        assert_eq!(e.code.as_str(), "login_failed");
    }
    let mut waited = Vec::new();
    for _ in 0..3 {
        let e = h.app.login(&target, "guess", attacker).await.unwrap_err();
        assert_eq!(e.code.as_str(), "login_throttled");
        let wait = e.retry_after.unwrap();
        waited.push(wait);
        // The owner is held back by the same delay, but only by it.
        let e = h
            .app
            .login(&target, super::staff::PASSWORD, owner)
            .await
            .unwrap_err();
        assert_eq!(e.code.as_str(), "login_throttled");
        clock.advance(chrono::TimeDelta::seconds(wait as i64));
        let e = h.app.login(&target, "guess", attacker).await.unwrap_err();
        assert_eq!(e.code.as_str(), "login_failed");
    }
    assert_eq!(waited, vec![30, 60, 90]);
    // The delay is capped, and then the owner's right password signs in.
    clock.advance(chrono::TimeDelta::minutes(5));
    h.app
        .login(&target, super::staff::PASSWORD, owner)
        .await
        .unwrap();
    // Success starts the user name again from nothing.
    for _ in 0..5 {
        let e = h.app.login(&target, "guess", attacker).await.unwrap_err();
        assert_eq!(e.code.as_str(), "login_failed");
    }
    let e = h
        .app
        .login(&target, super::staff::PASSWORD, owner)
        .await
        .unwrap_err();
    assert_eq!(e.code.as_str(), "login_throttled");
    // An administrator lifts the delay at once, audited; the guesser's address stays counted.
    let admin = h.sign_in_as("admin").await;
    let id = h
        .store
        .staff_by_username(&target)
        .await
        .unwrap()
        .unwrap()
        .id;
    let (s, _) = h
        .call(
            "POST",
            &format!("/api/v1/admin/staff/{id}/unlock"),
            None,
            &admin.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    h.app
        .login(&target, super::staff::PASSWORD, owner)
        .await
        .unwrap();
    let trail = h
        .store
        .audit_search(&wujing_store::AuditQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(trail
        .iter()
        .any(|e| e.action == "staff.unlock_sign_in" && e.subject == format!("staff:{id}")));
}
both_dialects!(
    no_lockout,
    failures_delay_an_account_but_never_lock_out_the_right_password
);

impl Harness {
    async fn session_of_password(&self, username: &str, password: &str) -> Session {
        let (s, v, cookie) = self.sign_in(username, password).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        Session {
            cookie: cookie.unwrap().split(';').next().unwrap().to_string(),
            csrf: v["csrf_token"].as_str().unwrap().to_string(),
        }
    }
}

#[tokio::test]
async fn secure_cookies_when_served_over_tls() {
    let (store, _g) = wujing_testkit::sqlite_store().await;
    let h = Harness::with_options(
        store,
        test_config(),
        wujing_web::WebOptions {
            secure_cookies: true,
            ..Default::default()
        },
    )
    .await;
    let user = h.create_account("leader").await;
    let (_, _, cookie) = h.sign_in(&user, PASSWORD).await;
    assert!(cookie.unwrap().contains("; Secure"));
}

/// Hall administration through the API: capacity changes in place, closures, windows, all
/// audited; then the audit trail is searched by citizen and by staff member, and a reveal is
/// recorded.
async fn hall_administration_and_audit(store: DynStore) {
    let h = Harness::new(store).await;
    let m = h.sign_in_as("hall_manager@tianhe").await;
    let code = h.book_at("tianhe", ZHENG).await;
    let slot = h.slot("tianhe", "passport_first").await;
    let before = slot["free"].as_i64().unwrap();

    let (s, v) = h
        .call(
            "POST",
            "/api/v1/admin/halls/tianhe/capacity",
            Some(json!({"pool": "online", "seats_per_slot": 0, "from": "2026-12-02"})),
            &m.headers(),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::CONFLICT, "capacity_below_taken"),
        "the booked seat blocks zero"
    );
    let (s, v) = h
        .call(
            "POST",
            "/api/v1/admin/halls/tianhe/capacity",
            Some(json!({"pool": "online", "seats_per_slot": 40, "from": "2026-12-02"})),
            &m.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["slots_changed"].as_u64().unwrap() > 0);
    let after = h.slot("tianhe", "passport_first").await;
    assert_eq!(
        after["slot_id"], slot["slot_id"],
        "seats are changed in place, not rebuilt"
    );
    assert!(after["free"].as_i64().unwrap() > before);
    let (s, v) = h.get(&format!("/api/v1/bookings/{code}")).await;
    assert_ne!(s, StatusCode::NOT_FOUND, "{v}");

    // Close a day without bookings; its seats vanish; reopen.
    let (s, v) = h
        .call(
            "POST",
            "/api/v1/admin/halls/tianhe/calendar",
            Some(json!({"day": "2026-12-04", "closed": true, "note": "台风"})),
            &m.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = h.get("/api/v1/availability?business=passport_first&halls=tianhe&from=2026-12-04&to=2026-12-04").await;
    assert!(
        v["slots"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["free"] == 0),
        "{v}"
    );
    let (_, v) = h
        .call(
            "GET",
            "/api/v1/admin/halls/tianhe/calendar",
            None,
            &m.headers(),
        )
        .await;
    assert_eq!(v["closed_days"], json!(["2026-12-04"]));
    let (s, _) = h
        .call(
            "POST",
            "/api/v1/admin/halls/tianhe/calendar",
            Some(json!({"day": "2026-12-04", "closed": false})),
            &m.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = h.get("/api/v1/availability?business=passport_first&halls=tianhe&from=2026-12-04&to=2026-12-04").await;
    assert!(v["slots"][0]["free"].as_i64().unwrap() > 0, "{v}");
    // Windows.
    let (s, _) = h
        .call(
            "POST",
            "/api/v1/admin/halls/tianhe/windows",
            Some(json!({"number": 41, "kind": "expedite"})),
            &m.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = h
        .call(
            "POST",
            "/api/v1/admin/halls/tianhe/windows",
            Some(json!({"number": 41, "kind": "expedite"})),
            &m.headers(),
        )
        .await;
    assert_eq!((s, code_of(&v)), (StatusCode::CONFLICT, "window_exists"));
    let (s, _) = h
        .call(
            "DELETE",
            "/api/v1/admin/halls/tianhe/windows/41",
            None,
            &m.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // Staff see the booking masked; revealing the full number is audited.
    let o = h.sign_in_as("officer@tianhe").await;
    let (s, v) = h
        .call(
            "GET",
            &format!("/api/v1/staff/bookings/{code}"),
            None,
            &o.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        !v.to_string().contains(ZHENG) && !v.to_string().contains("13800138000"),
        "{v}"
    );
    let (s, v) = h
        .call(
            "POST",
            &format!("/api/v1/staff/bookings/{code}/reveal"),
            Some(json!({"reason": ""})),
            &o.headers(),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::BAD_REQUEST, "reason_required")
    );
    let (s, v) = h
        .call(
            "POST",
            &format!("/api/v1/staff/bookings/{code}/reveal"),
            Some(json!({"reason": "窗口核对身份"})),
            &o.headers(),
        )
        .await;
    assert_eq!((s, v["id_number"].as_str()), (StatusCode::OK, Some(ZHENG)));

    let sup = h.sign_in_as("supervisor").await;
    let (s, v) = h
        .call(
            "GET",
            &format!("/api/v1/audit?citizen={}", ZHENG),
            None,
            &sup.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let entries = v.as_array().unwrap();
    // The masked lookup is audited too (finding 13), before the reveal.
    assert_eq!(entries.len(), 2, "{v}");
    assert_eq!(entries[0]["action"], "identity.reveal");
    // The trail holds a pseudonym (the blind index), not even a masked number: entries of one
    // citizen are found by searching with the full number, as here.
    let citizen = entries[0]["citizen"].as_str().unwrap();
    assert!(
        citizen.starts_with("CHN:") && !citizen.contains(&ZHENG[..4]),
        "{citizen}"
    );
    assert_eq!(entries[1]["action"], "booking.lookup");
    assert!(!v.to_string().contains(ZHENG));
    let manager_name = h
        .app
        .staff_list(&h.admin_principal().await)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.roles == grants("hall_manager@tianhe"))
        .unwrap()
        .username;
    let (_, v) = h
        .call(
            "GET",
            &format!("/api/v1/audit?staff={manager_name}"),
            None,
            &sup.headers(),
        )
        .await;
    let actions: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "window.remove",
            "window.add",
            "calendar.open",
            "calendar.close",
            "capacity.change",
            "session.sign_in"
        ],
        "refused changes leave no entry"
    );
    assert_eq!(h.app.audit_verify().await.unwrap(), Ok(v_len_all(&h).await));
    // The audit page renders for the supervisor, masked.
    let res = h
        .raw(
            Request::get(format!("/staff/audit?citizen={}", ZHENG))
                .header("cookie", &sup.cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let page =
        String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    // The auditor's own query is echoed in the search form; the entries below show only the
    // citizen's pseudonym.
    let (_, table) = page.split_once("<table").unwrap();
    assert!(
        table.contains("查看完整证件号码") && table.contains(citizen) && !table.contains(ZHENG),
        "{table}"
    );
    assert!(!table.contains(ZHENG), "{table}");
}
both_dialects!(hall_admin, hall_administration_and_audit);

async fn v_len_all(h: &Harness) -> u64 {
    h.store.audit_chain().await.unwrap().0.len() as u64
}

/// Pages: anonymous visitors are sent to sign in; a signed-in administrator gets the home page
/// with the administration links and can sign in through the form.
#[tokio::test]
async fn staff_pages_sign_in_through_the_form() {
    let (store, _g) = wujing_testkit::sqlite_store().await;
    let h = Harness::new(store).await;
    let user = h.create_account("admin").await;
    let res = h
        .raw(
            Request::get("/staff/admin/halls")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()["location"],
        "/staff/login?next=/staff/admin/halls"
    );
    let res = h
        .raw(Request::get("/staff/login").body(Body::empty()).unwrap())
        .await;
    let login_csrf = res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let token = login_csrf.split_once('=').unwrap().1.to_string();
    let post = |cookie: &str, csrf: &str| {
        Request::post("/staff/login")
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(format!("csrf={csrf}&username={user}&password=correct+horse+battery&next=%2Fstaff%2Fadmin%2Fhalls")))
            .unwrap()
    };
    // Without the double-submit cookie the form is refused.
    let res = h.raw(post("", &token)).await;
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/staff/login?kind=error"));
    let res = h.raw(post(&login_csrf, &token)).await;
    assert_eq!(res.headers()["location"], "/staff/admin/halls");
    let session = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("wujing_session="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let res = h
        .raw(
            Request::get("/staff")
                .header("cookie", &session)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let page =
        String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    for link in [
        "/staff/admin/staff",
        "/staff/admin/halls",
        "/staff/audit",
        "/staff/admin/devices",
    ] {
        assert!(page.contains(link), "{link}");
    }
    let res = h
        .raw(
            Request::get("/staff/admin/halls/tianhe")
                .header("cookie", &session)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let page =
        String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(page.contains("天河") && page.contains("name=\"csrf\""));
}

/// A captured log of a whole booking flow, failures and a staff reveal included, holds no full
/// identity number and no phone.
#[tokio::test]
async fn logs_carry_no_personal_data() {
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (store, _g) = wujing_testkit::sqlite_store().await;
    let h = Harness::new(store).await;
    let code = h.book_at("tianhe", ZHENG).await;
    let (s, _) = h
        .call(
            "GET",
            &format!("/api/v1/bookings/{code}"),
            None,
            &[("x-id-number", ZHENG)],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // Failures: a bad phone, a wrong checksum, an already-booked identity.
    let slot = h.slot("tianhe", "passport_first").await;
    let (_, hold) = h
        .post(
            "/api/v1/holds",
            json!({"slot_id": slot["slot_id"], "business": "passport_first"}),
        )
        .await;
    let bad = json!({"hold_id": hold["hold_id"], "applicant": {"name": "郑华", "id_number": ZHENG, "phone": "1380013800"}});
    assert_eq!(
        h.post("/api/v1/bookings", bad).await.0,
        StatusCode::BAD_REQUEST
    );
    let wrong_sum = "440112200001010138";
    let bad = json!({"hold_id": hold["hold_id"], "applicant": {"name": "郑华", "id_number": wrong_sum, "phone": "13800138000"}});
    assert_eq!(
        h.post("/api/v1/bookings", bad).await.0,
        StatusCode::BAD_REQUEST
    );
    let again = json!({"hold_id": hold["hold_id"], "applicant": applicant(ZHENG, "郑华")});
    assert_eq!(
        h.post("/api/v1/bookings", again).await.0,
        StatusCode::CONFLICT
    );
    let o = h.sign_in_as("officer@tianhe").await;
    let (s, _) = h
        .call(
            "POST",
            &format!("/api/v1/staff/bookings/{code}/reveal"),
            Some(json!({"reason": "核对"})),
            &o.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = h
        .post(
            &format!("/api/v1/bookings/{code}/cancel"),
            json!({"id_number": ZHENG}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    let log = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("route=/api/v1/bookings"),
        "the flow was logged:\n{log}"
    );
    assert!(log.lines().count() >= 8, "{log}");
    for secret in [
        ZHENG,
        wrong_sum,
        "13800138000",
        "1380013800",
        PASSWORD,
        "$argon2",
    ] {
        assert!(!log.contains(secret), "the log contains {secret}:\n{log}");
    }
}

/// A reader scoped to halls (security finding 10): a supervisor of one hall reads the audit
/// entries about that hall only (not another hall's, not organisation-wide ones such as
/// accounts and sign-ins) and may not search by an identity number; a leader of one hall sees
/// the scalping signals of bookings at that hall only; organisation-wide readers see both
/// halls. The API and the staff page go through the same use cases.
async fn hall_scoped_readers_see_only_their_halls_audit_and_signals(store: DynStore) {
    let h = Harness::with_options(
        store,
        test_config(),
        wujing_web::WebOptions {
            trust_forwarded_for: true,
            ..Default::default()
        },
    )
    .await;
    let admin = h.admin_principal().await;
    // Audit entries about each hall, and one about a booking at tianhe (with its citizen).
    for hall in ["tianhe", "yuexiu"] {
        h.app
            .add_window(&admin, None, hall, 901, "general")
            .await
            .unwrap();
    }
    let reveal_code = h.book_at("tianhe", ZHENG).await;
    h.app
        .reveal_identity(&admin, None, &reveal_code, "核对")
        .await
        .unwrap();

    // Signals at each hall: one phone behind three identities (from one address), five holds
    // left to expire from another address, and a cancel→rebook pair.
    let mut pair_codes = std::collections::HashMap::new();
    for (n, (hall, phone, booker, grabber)) in [
        ("tianhe", "13900001111", "192.0.2.10", "203.0.113.50"),
        ("yuexiu", "13900002222", "100.64.0.10", "198.51.100.60"),
    ]
    .into_iter()
    .enumerate()
    {
        let slot = h.slot(hall, "passport_first").await;
        let hold = |addr: &'static str| {
            let (h, slot) = (&h, slot.clone());
            async move {
                let (s, v) = h
                    .call(
                        "POST",
                        "/api/v1/holds",
                        Some(json!({"slot_id": slot["slot_id"], "business": "passport_first"})),
                        &[("x-forwarded-for", addr)],
                    )
                    .await;
                assert_eq!(s, StatusCode::CREATED, "{v}");
                v["hold_id"].as_str().unwrap().to_string()
            }
        };
        let ids: Vec<String> = (0..3)
            .map(|i| wujing_testkit::identity(8100 + 10 * n as u32 + i))
            .collect();
        let mut codes = Vec::new();
        for id in &ids {
            let hid = hold(booker).await;
            let (s, b) = h
                .call(
                    "POST",
                    "/api/v1/bookings",
                    Some(json!({"hold_id": hid, "applicant": {"name": "市民", "id_number": id, "phone": phone}})),
                    &[("x-forwarded-for", booker)],
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{b}");
            codes.push(b["code"].as_str().unwrap().to_string());
        }
        let (s, _) = h
            .post(
                &format!("/api/v1/bookings/{}/cancel", codes[0]),
                json!({"id_number": ids[0]}),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let hid = hold(booker).await;
        let (s, b) = h
            .call(
                "POST",
                "/api/v1/bookings",
                Some(json!({"hold_id": hid, "applicant": {"name": "市民", "id_number": ids[0], "phone": phone}})),
                &[("x-forwarded-for", booker)],
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        pair_codes.insert(hall, codes[0].clone());
        for _ in 0..5 {
            hold(grabber).await;
        }
    }
    h.app.clock.advance(chrono::TimeDelta::minutes(11));
    assert_eq!(h.app.sweep().await.unwrap().expired_holds, 10);

    let signals = |s: Session| {
        let h = &h;
        async move {
            let (st, v) = h
                .call("GET", "/api/v1/ops/signals", None, &s.headers())
                .await;
            assert_eq!(st, StatusCode::OK, "{v}");
            let keys = |list: &str, field: &str| -> BTreeSet<String> {
                v[list]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e[field].as_str().unwrap().to_string())
                    .collect()
            };
            (
                keys("shared_phones", "key"),
                keys("shared_addresses", "key"),
                keys("abandoned_holds", "client_addr"),
                keys("cancel_rebook", "cancelled_code"),
            )
        }
    };
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    let tianhe = (
        set(&["139****1111"]),
        set(&["192.0.2.*"]),
        set(&["203.0.113.*"]),
        set(&[pair_codes["tianhe"].as_str()]),
    );
    let yuexiu = (
        set(&["139****2222"]),
        set(&["100.64.0.*"]),
        set(&["198.51.100.*"]),
        set(&[pair_codes["yuexiu"].as_str()]),
    );
    assert_eq!(signals(h.sign_in_as("leader@tianhe").await).await, tianhe);
    assert_eq!(
        signals(h.sign_in_as("supervisor@yuexiu").await).await,
        yuexiu
    );
    let everything = signals(h.sign_in_as("leader").await).await;
    assert_eq!(
        everything,
        (
            &tianhe.0 | &yuexiu.0,
            &tianhe.1 | &yuexiu.1,
            &tianhe.2 | &yuexiu.2,
            &tianhe.3 | &yuexiu.3,
        )
    );

    // The trail.
    let subjects = |s: &Session, query: &'static str| {
        let (h, cookie, csrf) = (&h, s.cookie.clone(), s.csrf.clone());
        async move {
            let headers = [("cookie", cookie.as_str()), ("x-csrf-token", csrf.as_str())];
            let (st, v) = h
                .call("GET", &format!("/api/v1/audit{query}"), None, &headers)
                .await;
            assert_eq!(st, StatusCode::OK, "{v}");
            v.as_array()
                .unwrap()
                .iter()
                .map(|e| e["subject"].as_str().unwrap().to_string())
                .collect::<BTreeSet<String>>()
        }
    };
    let hall_sup = h.sign_in_as("supervisor@tianhe,officer@yuexiu").await;
    let seen = subjects(&hall_sup, "?limit=1000").await;
    assert_eq!(
        seen,
        set(&["hall:tianhe", &format!("booking:{reveal_code}")]),
        "only entries about the supervisor's hall, none of another hall or of no hall"
    );
    let org_sup = h.sign_in_as("supervisor").await;
    let all = subjects(&org_sup, "?limit=1000").await;
    assert!(
        all.contains("hall:tianhe") && all.contains("hall:yuexiu"),
        "{all:?}"
    );
    assert!(all.iter().any(|s| s.starts_with("staff:")), "{all:?}");
    // The limit counts only what the scoped reader may see (narrowed in the query).
    let (_, v) = h
        .call("GET", "/api/v1/audit?limit=1", None, &hall_sup.headers())
        .await;
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    // A search by identity number: refused to the hall's supervisor, answered to the
    // organisation's.
    let (s, v) = h
        .call(
            "GET",
            &format!("/api/v1/audit?citizen={ZHENG}"),
            None,
            &hall_sup.headers(),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::FORBIDDEN, "audit_search_by_identity_forbidden")
    );
    let (s, v) = h
        .call(
            "GET",
            &format!("/api/v1/audit?citizen={ZHENG}"),
            None,
            &org_sup.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    // An organisation-wide leader and a hall manager read the trail (their scope) but may not
    // follow one person through it.
    for who in ["leader", "hall_manager@tianhe"] {
        let reader = h.sign_in_as(who).await;
        let (s, _) = h
            .call("GET", "/api/v1/audit?limit=5", None, &reader.headers())
            .await;
        assert_eq!(s, StatusCode::OK, "{who}");
        let (s, v) = h
            .call(
                "GET",
                &format!("/api/v1/audit?citizen={ZHENG}"),
                None,
                &reader.headers(),
            )
            .await;
        assert_eq!(
            (s, code_of(&v)),
            (StatusCode::FORBIDDEN, "audit_search_by_identity_forbidden"),
            "{who}"
        );
    }
    // The staff page: the same scope, and the same refusal.
    let page = |query: &'static str| {
        let (h, cookie) = (&h, hall_sup.cookie.clone());
        async move {
            let res = h
                .raw(
                    Request::get(format!("/staff/audit{query}"))
                        .header("cookie", cookie)
                        .body(Body::empty())
                        .unwrap(),
                )
                .await;
            let status = res.status();
            let body = res.into_body().collect().await.unwrap().to_bytes();
            (status, String::from_utf8(body.to_vec()).unwrap())
        }
    };
    // Entries about a hall name it (the subject cell) by its name.
    let halls = h.app.halls().await.unwrap();
    let cell = |id: &str| {
        let name = &halls.iter().find(|x| x.id == id).unwrap().name_zh;
        format!("<td>{name}</td>")
    };
    let (s, body) = page("").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains(&cell("tianhe")) && !body.contains(&cell("yuexiu")),
        "{body}"
    );
    let (s, body) = page(concat!("?citizen=", "440112200001010139")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains("限定大厅的人员不能按证件号码检索审计记录"),
        "{body}"
    );
    assert!(
        !body.contains(&cell("tianhe")),
        "no entries with the refusal: {body}"
    );
}
both_dialects!(
    hall_scope,
    hall_scoped_readers_see_only_their_halls_audit_and_signals
);

/// The audit page: fifty entries a page, newest first, with links to older and newer pages
/// that keep the search; the actions in words, hall time and no "UTC"; an empty state.
async fn audit_page_pages_through_the_trail(store: DynStore) {
    let h = Harness::new(store).await;
    let user = h.create_account("supervisor").await;
    let sup = h.session_of(&user).await;
    let get = |uri: String| {
        let (h, cookie) = (&h, sup.cookie.clone());
        async move {
            let res = h
                .raw(
                    Request::get(uri)
                        .header("cookie", cookie)
                        .body(Body::empty())
                        .unwrap(),
                )
                .await;
            assert_eq!(res.status(), StatusCode::OK);
            let body = res.into_body().collect().await.unwrap().to_bytes();
            String::from_utf8(body.to_vec()).unwrap()
        }
    };
    // Every reading is itself an entry: sixty readings make a trail of more than a page.
    for _ in 0..60 {
        get("/staff/audit".into()).await;
    }
    let rows = |body: &str| body.matches("<tr><td>").count();
    let link = |body: &str, key: &str| {
        let at = body
            .find(&format!("href=\"/staff/audit?{key}="))
            .map(|i| &body[i + 6..])?;
        Some(at[..at.find('"').unwrap()].replace("&amp;", "&"))
    };
    let first = get(format!("/staff/audit?staff={user}")).await;
    assert_eq!(rows(&first), 50);
    assert!(
        first.contains("查阅审计记录") && !first.contains("UTC"),
        "{first}"
    );
    assert!(
        link(&first, "after").is_none(),
        "the newest page has no newer one"
    );
    let older = link(&first, "before").expect("an older page");
    assert!(older.contains(&format!("staff={user}")), "{older}");
    let second = get(older).await;
    // 60 readings, a sign-in and the one that shows the first page: 12 on the second.
    assert!(
        rows(&second) >= 11 && rows(&second) < 50,
        "{}",
        rows(&second)
    );
    assert!(
        link(&second, "before").is_none(),
        "the oldest page has no older one"
    );
    let back = get(link(&second, "after").expect("a newer page")).await;
    assert_eq!(rows(&back), 50);
    assert!(link(&back, "before").is_some());
    let none = get("/staff/audit?staff=nobody".into()).await;
    assert!(
        none.contains("没有符合条件的记录") && rows(&none) == 0,
        "{none}"
    );
    // The whole trail reads as words: who (the command line by name), what it was done to
    // (an account, not `staff:user1`), the detail as labelled fields, never JSON.
    let mut page = get("/staff/audit".into()).await;
    let mut all = page.clone();
    while let Some(l) = link(&page, "before") {
        page = get(l).await;
        all.push_str(&page);
    }
    assert!(
        all.contains("新建工作人员账号") && all.contains("命令行") && all.contains("工作人员账号 "),
        "{all}"
    );
    assert!(
        all.contains("<dt>用户名</dt>") && all.contains("<dt>角色</dt><dd>督察</dd>"),
        "{all}"
    );
    for raw in ["cli:", "staff:user", "{\"", "&quot;username&quot;"] {
        assert!(!all.contains(raw), "{raw} on the audit page");
    }
}
both_dialects!(audit_pages, audit_page_pages_through_the_trail);

/// The staff pages the walk of issue 15 found unstyled are on the staff design system: each
/// form is one of its forms (a bordered `site-form`, a `filters` bar, or a table cell's form),
/// each field has a visible label tied to it by `for`, each table scrolls inside a named region
/// (so a 390 px phone scrolls the table, not the page), and each table has a header row.
#[tokio::test]
async fn the_staff_forms_use_the_design_system() {
    let (store, _g) = wujing_testkit::sqlite_store().await;
    let h = Harness::new(store).await;
    let admin = h.sign_in_as("admin").await;
    for path in [
        "/staff/password",
        "/staff/admin/staff",
        "/staff/reconciliation",
        "/staff/halls/tianhe/passports",
    ] {
        let res = h
            .raw(
                Request::get(path)
                    .header("cookie", admin.cookie.as_str())
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let body = res.into_body().collect().await.unwrap().to_bytes();
        let html = String::from_utf8(body.to_vec()).unwrap();
        let main = &html[html.find("<main>").unwrap()..];
        for form in main.split("<form").skip(1) {
            let tag = &form[..form.find('>').unwrap()];
            assert!(
                ["site-form", "filters", "row", "inline"]
                    .iter()
                    .any(|c| tag.contains(c)),
                "{path}: an unstyled form <form{tag}>"
            );
        }
        for input in main
            .split("<input")
            .skip(1)
            .chain(main.split("<select").skip(1))
        {
            let tag = &input[..input.find('>').unwrap()];
            if tag.contains("type=\"hidden\"") {
                continue;
            }
            let id = tag
                .split("id=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .unwrap_or_else(|| panic!("{path}: a field without an id: {tag}"));
            assert!(
                main.contains(&format!("<label for=\"{id}\"")),
                "{path}: no label for {id}"
            );
        }
        for table in main.split("<table").skip(1) {
            assert!(
                table.contains("<thead>"),
                "{path}: a table without a header row"
            );
        }
        assert_eq!(
            main.matches("<table").count(),
            main.matches("<div class=\"scroll\" tabindex=\"0\" role=\"region\"")
                .count(),
            "{path}: every table in a scrolling region"
        );
    }
}
