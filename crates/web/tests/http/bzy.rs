//! 办证易 over HTTP (issue 17), on SQLite and PostgreSQL: the endorsement re-issue from the card
//! to the card written (offer, face, choice, terminal, signed payload, read-back), every refusal
//! of RULES.md §6 told with its reason, a declined payment and a failed write ending at a counter
//! (the fee refunded), one re-issue per permit at a time; and a holder's fee due paid on the
//! terminal, the application submitted by it. Each step leaves its audit entry.

use super::remote::{self, Resp};
use super::Harness;
use axum::http::StatusCode;
use serde_json::{json, Value};
use wujing_app::{PaymentPurpose, PaymentStatus};
use wujing_store::{AuditQuery, DynStore};
use wujing_testkit::both_dialects;

/// Guangzhou 户籍, e-card permit CA3528174 to 2031, a G on record: G or L, every option.
const CHEN: &str = "440106198503030116";
/// 长沙 户籍 with a Guangzhou 居住证 and an L on record: G or L.
const WANG: &str = "43010219881111033X";
/// 喀什 户籍, an L on record: L only.
const ZHANG: &str = "653101199001010451";
/// Permit CC2837465, no endorsement ever: a first one goes to a counter.
const ZHOU: &str = "44010519600101089X";
/// A registered state functionary.
const HUANG: &str = "440103198012120660";
/// Permit to 2027-02-20: too short for any option.
const HE: &str = "440104198207222030";
/// Permit to 2027-09-10: 3-month options only.
const SUN: &str = "440106199003151020";
/// A book permit (W…): not an e-card.
const LIU: &str = "440106197505050554";

async fn device(h: &Harness, kind: &str, name: &str) -> String {
    let admin = h.admin_principal().await;
    h.app
        .create_device(
            &admin,
            None,
            &wujing_app::DeviceInput {
                name: name.into(),
                hall_id: "tianhe".into(),
                kind: kind.into(),
                window_number: None,
            },
        )
        .await
        .unwrap()
        .token
        .unwrap()
}

async fn post(h: &Harness, token: &str, uri: &str, body: Value) -> (StatusCode, Value) {
    let auth = format!("Bearer {token}");
    h.call("POST", uri, Some(body), &[("authorization", auth.as_str())])
        .await
}

fn face(matched: bool, liveness: &str) -> Value {
    json!({"match": matched, "score": if matched { 0.93 } else { 0.41 }, "threshold": 0.8,
           "liveness": liveness, "provider": "test"})
}

fn reason(v: &Value) -> &str {
    v["error"]["details"]["reason"].as_str().unwrap_or_default()
}

fn sha256_b64(payload: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(payload)
        .unwrap();
    sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn actions(h: &Harness) -> Vec<String> {
    let mut all = h
        .store
        .audit_search(&AuditQuery {
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap();
    all.sort_by_key(|e| e.seq);
    all.into_iter().map(|e| e.action).collect()
}

async fn payment_status(h: &Harness, reissue: i64) -> PaymentStatus {
    h.app
        .payment_for(&PaymentPurpose::new("endorsement_reissue", reissue))
        .await
        .unwrap()
        .unwrap()
        .status
}

async fn reissue_end_to_end(store: DynStore) {
    let h = remote::harness(store).await;
    let bzy = device(&h, "bzy", "办证易 测试").await;
    let wej = device(&h, "wej", "网e捷 测试").await;
    let api = "/api/v1/kiosk/bzy/endorsements";

    // Each branch of the rules, told with its reason.
    for (who, why) in [
        (ZHOU, "first_endorsement"),
        (HUANG, "state_functionary"),
        (HE, "validity_too_short"),
        (LIU, "not_e_card"),
        ("440106199307070246", "no_permit"),
    ] {
        let (s, v) = post(&h, &bzy, &format!("{api}/offer"), json!({"id_number": who})).await;
        assert_eq!(
            (s, v["error"]["code"].as_str(), reason(&v)),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("endorsement_reissue_refused"),
                why
            ),
            "{who}: {v}"
        );
    }
    let offer = |who: &'static str| {
        let (h, bzy) = (&h, bzy.clone());
        async move { post(h, &bzy, &format!("{api}/offer"), json!({"id_number": who})).await }
    };
    let (s, v) = offer(CHEN).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["types"], json!(["G", "L"]));
    assert_eq!(v["permit"], "CA****174");
    assert_eq!(v["options"].as_array().unwrap().len(), 4);
    assert!(!v.to_string().contains("CA3528174"), "the permit is masked");
    assert_eq!(offer(WANG).await.1["types"], json!(["G", "L"]));
    assert_eq!(offer(ZHANG).await.1["types"], json!(["L"]));
    let sun = offer(SUN).await.1;
    let opts: Vec<&str> = sun["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["option"].as_str().unwrap())
        .collect();
    assert_eq!(opts, ["3m1", "3m2"]);
    // Another kind of device is refused the re-issue.
    let (s, _) = post(
        &h,
        &wej,
        &format!("{api}/offer"),
        json!({"id_number": CHEN}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // A face that does not match (or a failed liveness) opens nothing.
    for f in [face(false, "passed"), face(true, "failed")] {
        let (s, v) = post(&h, &bzy, api, json!({"id_number": CHEN, "face": f})).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("face_not_verified")),
            "{v}"
        );
    }

    // 陈晓明: G to both, one year, one entry; declined first.
    let (s, opened) = post(
        &h,
        &bzy,
        api,
        json!({"id_number": CHEN, "face": face(true, "passed")}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{opened}");
    let id = opened["id"].as_i64().unwrap();
    // One re-issue per permit at a time.
    let (s, v) = post(
        &h,
        &bzy,
        api,
        json!({"id_number": CHEN, "face": face(true, "passed")}),
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (
            StatusCode::CONFLICT,
            Some("endorsement_reissue_in_progress")
        )
    );
    // Macao's G has no two-entry option.
    let (s, v) = post(
        &h,
        &bzy,
        &format!("{api}/{id}/choice"),
        json!({"id_number": CHEN, "kind": "G", "destinations": ["hk", "macau"], "option": "3m2"}),
    )
    .await;
    assert_eq!(
        (s, reason(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "option_not_allowed")
    );
    let (s, c) = post(
        &h,
        &bzy,
        &format!("{api}/{id}/choice"),
        json!({"id_number": CHEN, "kind": "G", "destinations": ["hk", "macau"], "option": "1y1"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["charge"]["amount_yuan"], 30, "15 per destination");
    assert_eq!(c["charge"]["amount_fen"], 3000);
    assert!(c["charge"]["reference"]
        .as_str()
        .unwrap()
        .starts_with("sim_"));
    // The terminal declined: the kiosk fails it; nothing to refund.
    let (s, out) = post(
        &h,
        &bzy,
        &format!("{api}/{id}/failed"),
        json!({"reason": "payment_declined"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert_eq!(
        (out["status"].as_str(), out["refunded"].as_bool()),
        (Some("failed"), Some(false))
    );
    // A failed re-issue goes no further.
    let (s, _) = post(
        &h,
        &bzy,
        &format!("{api}/{id}/paid"),
        json!({"id_number": CHEN, "transaction_id": "emu-1"}),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);

    // Again, paid this time, and written.
    let (_, opened) = post(
        &h,
        &bzy,
        api,
        json!({"id_number": CHEN, "face": face(true, "passed")}),
    )
    .await;
    let id = opened["id"].as_i64().unwrap();
    let (_, c) = post(
        &h,
        &bzy,
        &format!("{api}/{id}/choice"),
        json!({"id_number": CHEN, "kind": "G", "destinations": ["hk"], "option": "1y1"}),
    )
    .await;
    assert_eq!(c["charge"]["amount_yuan"], 15);
    let (s, signed) = post(
        &h,
        &bzy,
        &format!("{api}/{id}/paid"),
        json!({"id_number": CHEN, "transaction_id": "emu-0001"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{signed}");
    assert_eq!(payment_status(&h, id).await, PaymentStatus::Paid);
    assert_eq!(signed["document_number"], "CA3528174");
    assert_eq!(signed["lines"][0]["valid_until"], "2027-11-30");
    let payload = signed["payload"].as_str().unwrap();
    let sha = sha256_b64(payload);
    assert_eq!(signed["payload_sha256"], sha.as_str());
    // The card read back the payload: done.
    let (s, done) = post(
        &h,
        &bzy,
        &format!("{api}/{id}/written"),
        json!({"read_back_sha256": sha}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "written");
    // On record now: the next offer still stands, and the history has the kiosk's endorsement.
    let history = h.store.endorsements_of(CHEN).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].option, "1y1");

    // 张伟 (L only): G is refused; L paid, then the write fails: refunded, nothing on record.
    let (_, opened) = post(
        &h,
        &bzy,
        api,
        json!({"id_number": ZHANG, "face": face(true, "passed")}),
    )
    .await;
    let id = opened["id"].as_i64().unwrap();
    let (s, v) = post(
        &h,
        &bzy,
        &format!("{api}/{id}/choice"),
        json!({"id_number": ZHANG, "kind": "G", "destinations": ["hk"], "option": "3m1"}),
    )
    .await;
    assert_eq!(
        (s, reason(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "type_not_allowed")
    );
    let (s, _) = post(
        &h,
        &bzy,
        &format!("{api}/{id}/choice"),
        json!({"id_number": ZHANG, "kind": "L", "destinations": ["hk"], "option": "3m1"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = post(
        &h,
        &bzy,
        &format!("{api}/{id}/paid"),
        json!({"id_number": ZHANG, "transaction_id": "emu-2"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h.store.endorsements_of(ZHANG).await.unwrap().len(), 2);
    let (s, out) = post(
        &h,
        &bzy,
        &format!("{api}/{id}/failed"),
        json!({"reason": "write_failed"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert_eq!(out["refunded"], true);
    assert_eq!(payment_status(&h, id).await, PaymentStatus::Refunded);
    assert_eq!(h.store.endorsements_of(ZHANG).await.unwrap().len(), 1);

    // 王强: a card that reads back something else: refunded, told so.
    let (_, opened) = post(
        &h,
        &bzy,
        api,
        json!({"id_number": WANG, "face": face(true, "passed")}),
    )
    .await;
    let id = opened["id"].as_i64().unwrap();
    post(
        &h,
        &bzy,
        &format!("{api}/{id}/choice"),
        json!({"id_number": WANG, "kind": "G", "destinations": ["macau"], "option": "3m1"}),
    )
    .await;
    post(
        &h,
        &bzy,
        &format!("{api}/{id}/paid"),
        json!({"id_number": WANG, "transaction_id": "emu-3"}),
    )
    .await;
    let (s, v) = post(
        &h,
        &bzy,
        &format!("{api}/{id}/written"),
        json!({"read_back_sha256": "00".repeat(32)}),
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("card_write_mismatch")
        )
    );
    assert_eq!(payment_status(&h, id).await, PaymentStatus::Refunded);

    // The receipt of a payment just taken prints; nothing personal on it.
    let paid = h
        .app
        .payment_for(&PaymentPurpose::new(
            "endorsement_reissue",
            opened["id"].as_i64().unwrap() - 2,
        ))
        .await
        .unwrap()
        .unwrap();
    let auth = format!("Bearer {bzy}");
    let (s, _) = h
        .call(
            "GET",
            &format!("/kiosk/bzy/receipts/{}/pdf", paid.id),
            None,
            &[("authorization", auth.as_str())],
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    // Every step is in the trail.
    let trail = actions(&h).await;
    for a in [
        "endorsement_reissue.assess",
        "endorsement_reissue.face_refused",
        "endorsement_reissue.open",
        "endorsement_reissue.choose",
        "endorsement_reissue.sign",
        "endorsement_reissue.written",
        "endorsement_reissue.fail",
        "online_payment.refund",
    ] {
        assert!(trail.iter().any(|x| x == a), "{a} in {trail:?}");
    }
}
both_dialects!(endorsement_reissue_over_http, reissue_end_to_end);

/// 李娜 owes an online application's fee: a 办证易 (and a 网e捷) shows it to her card only,
/// the terminal's payment is settled, and the application is submitted.
async fn fee_due_paid_at_the_kiosk(store: DynStore) {
    let h = remote::harness(store).await;
    let cookie = remote::signed_in(&h, remote::LI, "李娜", remote::LI_PHONE).await;
    let photo = wujing_testkit::photo_jpeg(354, 472, [250, 250, 250], 75);
    let up: Resp = remote::upload(&h, &cookie, &photo).await;
    assert!(remote::flashed(&up).contains("kind=ok"));
    let col = remote::form(
        &h,
        "/online/app/collection",
        &cookie,
        &[("method", "mail"), ("mail_address", remote::ADDRESS)],
    )
    .await;
    assert!(remote::flashed(&col).contains("kind=ok"));
    // She started paying online and walked away: the fee is due.
    let first = remote::form(&h, "/online/app/pay", &cookie, &[]).await;
    remote::checkout_reference(&first).await;

    let bzy = device(&h, "bzy", "办证易 测试").await;
    let wej = device(&h, "wej", "网e捷 测试").await;
    let (s, v) = post(
        &h,
        &bzy,
        "/api/v1/kiosk/bzy/fees",
        json!({"id_number": CHEN}),
    )
    .await;
    assert_eq!(
        (s, v["fees"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(0)),
        "{v}"
    );
    let (s, v) = post(
        &h,
        &wej,
        "/api/v1/kiosk/wej/fees",
        json!({"id_number": remote::LI}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["holder"],
        wujing_domain::idnum::mask_id_number(remote::LI)
    );
    let fee = v["fees"][0].clone();
    assert_eq!(fee["amount_yuan"], 120);
    // A device of another kind's path is refused; another holder cannot pay it.
    let (s, _) = post(
        &h,
        &bzy,
        "/api/v1/kiosk/wej/fees",
        json!({"id_number": remote::LI}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let pay = json!({"id_number": CHEN, "purpose_kind": fee["purpose_kind"], "purpose_id": fee["purpose_id"]});
    let (s, v) = post(&h, &bzy, "/api/v1/kiosk/bzy/payments", pay).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("kiosk_fee_not_due"))
    );
    let pay = json!({"id_number": remote::LI, "purpose_kind": fee["purpose_kind"], "purpose_id": fee["purpose_id"]});
    let (s, c) = post(&h, &bzy, "/api/v1/kiosk/bzy/payments", pay.clone()).await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["amount_fen"], 12000);
    let pid = c["payment_id"].as_i64().unwrap();
    // Declined on the terminal: recorded, still due.
    let (s, _) = post(
        &h,
        &bzy,
        &format!("/api/v1/kiosk/bzy/payments/{pid}/declined"),
        json!({"id_number": remote::LI, "code": "declined"}),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // Paying again with another card (the kiosk's "pay again" after a decline) charges the same
    // payment order, not a second one: it can be paid once only.
    let (s, again) = post(&h, &bzy, "/api/v1/kiosk/bzy/payments", pay.clone()).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(
        (&again["payment_id"], &again["reference"]),
        (&c["payment_id"], &c["reference"])
    );
    // Approved: settled, paid, submitted.
    let (s, r) = post(
        &h,
        &bzy,
        &format!("/api/v1/kiosk/bzy/payments/{pid}/paid"),
        json!({"id_number": remote::LI, "transaction_id": "emu-0001"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["amount_yuan"], 120);
    // The number the citizen keeps is the payment order's, not the row's sequential one.
    assert_eq!(r["order_no"], c["reference"]);
    assert_ne!(r["order_no"].as_str(), Some(pid.to_string().as_str()));
    assert_eq!(
        h.store
            .count_applications_in_state("accepted")
            .await
            .unwrap(),
        1
    );
    let (_, v) = post(
        &h,
        &bzy,
        "/api/v1/kiosk/bzy/fees",
        json!({"id_number": remote::LI}),
    )
    .await;
    assert_eq!(v["fees"].as_array().map(Vec::len), Some(0));
    let trail = actions(&h).await;
    for a in [
        "kiosk.fees_due",
        "kiosk.payment_start",
        "kiosk.payment_declined",
        "kiosk.payment_paid",
    ] {
        assert!(trail.iter().any(|x| x == a), "{a}");
    }

    // 网e捷 lists the application, submitted, with its way of collection still open to change.
    let (s, v) = post(
        &h,
        &wej,
        "/api/v1/kiosk/wej/status",
        json!({"id_number": remote::LI}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let app = v["applications"][0].clone();
    assert_eq!(app["status"], "accepted", "{v}");
    assert_eq!(app["collection_method"], "mail");
    assert_eq!(app["can_choose_collection"], true);
    let id = app["id"].as_i64().unwrap();
    let choose = |who: &str, method: &str, address: Option<&str>| {
        let mut b = json!({"id_number": who, "application": id, "method": method});
        if let Some(a) = address {
            b["mail_address"] = json!(a);
        }
        b
    };
    // Another card holder cannot touch it, and learns nothing: as an unknown application.
    for body in [
        choose(CHEN, "counter", None),
        json!({"id_number": remote::LI, "application": id + 1000, "method": "counter"}),
    ] {
        let (s, e) = post(&h, &wej, "/api/v1/kiosk/wej/collection", body).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("application_not_found")),
            "{e}"
        );
    }
    // Bad input is told and changes nothing; a 办证易 may not use 网e捷's path.
    let (s, e) = post(
        &h,
        &wej,
        "/api/v1/kiosk/wej/collection",
        choose(remote::LI, "drone", None),
    )
    .await;
    assert_eq!(e["error"]["code"], "collection_invalid", "{s} {e}");
    let (s, e) = post(
        &h,
        &wej,
        "/api/v1/kiosk/wej/collection",
        choose(remote::LI, "mail", Some("短")),
    )
    .await;
    assert_eq!(e["error"]["code"], "mail_address_invalid", "{s} {e}");
    let (s, _) = post(
        &h,
        &bzy,
        "/api/v1/kiosk/wej/collection",
        choose(remote::LI, "counter", None),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, v) = post(
        &h,
        &wej,
        "/api/v1/kiosk/wej/status",
        json!({"id_number": remote::LI}),
    )
    .await;
    assert_eq!(v["applications"][0]["collection_method"], "mail");
    // Her own choice: the hall's pickup locker, recorded and audited as hers.
    let (s, a) = post(
        &h,
        &wej,
        "/api/v1/kiosk/wej/collection",
        choose(remote::LI, "locker", None),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert_eq!(
        (a["id"].as_i64(), &a["collection_method"]),
        (Some(id), &json!("locker"))
    );
    assert_eq!(
        h.store
            .application(id)
            .await
            .unwrap()
            .unwrap()
            .collection_method,
        "locker"
    );
    assert!(actions(&h)
        .await
        .iter()
        .any(|x| x == "application.collection"));
}
both_dialects!(fee_due_paid_over_http, fee_due_paid_at_the_kiosk);

/// 立等可取 at 网e捷: 陈晓明's G endorsement, booked, accepted at a counter and approved, is
/// written onto his e-card permit at the machine and ends collected, each move in its history
/// from the machine; another holder learns nothing, a passport or an unapproved application is
/// refused with its code, a read-back that differs leaves it produced.
async fn endorsement_written_on_site(store: DynStore) {
    let h = Harness::new(store).await;
    let officer = h.sign_in_as("officer@tianhe").await;
    let reviewer = h.sign_in_as("reviewer").await;
    let wej = device(&h, "wej", "网e捷 立等可取").await;
    let bzy = device(&h, "bzy", "办证易 测试").await;

    // His G endorsement (a year, two entries, Hong Kong), booked and accepted at a window.
    let slot = h.slot("tianhe", "hkm_endorsement_g").await;
    let (s, hold) = h
        .post(
            "/api/v1/holds",
            json!({"slot_id": slot["slot_id"], "business": "hkm_endorsement_g"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{hold}");
    let (s, b) = h
        .post(
            "/api/v1/bookings",
            json!({"hold_id": hold["hold_id"], "applicant": super::applicant(CHEN, "陈晓明"),
                   "answers": {"option": "1y2", "destination": "hk"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (g, _) = super::lifecycle::accept_booking(
        &h,
        &officer,
        b["code"].as_str().unwrap(),
        "hkm_endorsement_g",
        json!({}),
    )
    .await;
    let id = g["id"].as_i64().unwrap();
    let write = |who: &str, app: i64| json!({"id_number": who, "application": app});

    // Not approved yet: refused, nothing moves.
    let (s, e) = post(&h, &wej, "/api/v1/kiosk/wej/writes", write(CHEN, id)).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("onsite_write_state")),
        "{e}"
    );
    assert!(e["error"]["message"].as_str().unwrap().contains("窗口"));
    let (_, v) = post(
        &h,
        &wej,
        "/api/v1/kiosk/wej/status",
        json!({"id_number": CHEN}),
    )
    .await;
    assert_eq!(v["applications"][0]["can_write_here"], false, "{v}");
    for step in ["review", "approve"] {
        let (s, v) = h
            .call(
                "POST",
                &format!("/api/v1/applications/{id}/{step}"),
                None,
                &reviewer.headers(),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (_, v) = post(
        &h,
        &wej,
        "/api/v1/kiosk/wej/status",
        json!({"id_number": CHEN}),
    )
    .await;
    assert_eq!(
        (
            &v["applications"][0]["status"],
            &v["applications"][0]["can_write_here"]
        ),
        (&json!("approved"), &json!(true)),
        "{v}"
    );

    // A passport application (郑华's, approved) is not written here.
    let (p, _) = super::lifecycle::accept_booked(&h, &officer, "440112200001010139").await;
    let pid = p["id"].as_i64().unwrap();
    for step in ["review", "approve"] {
        h.call(
            "POST",
            &format!("/api/v1/applications/{pid}/{step}"),
            None,
            &reviewer.headers(),
        )
        .await;
    }
    let (s, e) = post(
        &h,
        &wej,
        "/api/v1/kiosk/wej/writes",
        write("440112200001010139", pid),
    )
    .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("onsite_write_not_offered")
        ),
        "{e}"
    );
    // Another card holder, or an unknown application: as unknown; a 办证易 may not.
    for body in [write("440112200001010139", id), write(CHEN, id + 1000)] {
        let (s, e) = post(&h, &wej, "/api/v1/kiosk/wej/writes", body).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("application_not_found")),
            "{e}"
        );
    }
    let (s, _) = post(&h, &bzy, "/api/v1/kiosk/wej/writes", write(CHEN, id)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        h.store.application(id).await.unwrap().unwrap().status,
        "approved"
    );

    // His own: produced at the machine, the payload signed for his permit.
    let (s, w) = post(&h, &wej, "/api/v1/kiosk/wej/writes", write(CHEN, id)).await;
    assert_eq!(s, StatusCode::OK, "{w}");
    assert_eq!(w["permit_number"], "CA3528174");
    assert_eq!(
        w["endorsement"],
        json!({"type": "G", "valid_until": "2027-11-30", "entries": 2})
    );
    let payload = w["payload"].as_str().unwrap();
    assert_eq!(w["payload_sha256"].as_str().unwrap(), sha256_b64(payload));
    let a = h.store.application(id).await.unwrap().unwrap();
    assert_eq!(
        (a.status.as_str(), a.document_number.as_deref()),
        ("produced", Some(format!("CA3528174-{id}").as_str()))
    );
    // Asked again: it is no longer approved.
    let (s, e) = post(&h, &wej, "/api/v1/kiosk/wej/writes", write(CHEN, id)).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("onsite_write_state"))
    );

    // The writer read back something else: left produced, to a counter.
    let written = format!("/api/v1/kiosk/wej/writes/{id}/written");
    let (s, e) = post(
        &h,
        &wej,
        &written,
        json!({"id_number": CHEN, "read_back_sha256": "00".repeat(32)}),
    )
    .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("onsite_write_mismatch")
        ),
        "{e}"
    );
    assert!(e["error"]["message"].as_str().unwrap().contains("窗口"));
    assert_eq!(
        h.store.application(id).await.unwrap().unwrap().status,
        "produced"
    );
    // A write that failed is recorded, still produced, with the next step.
    let (s, f) = post(
        &h,
        &wej,
        &format!("/api/v1/kiosk/wej/writes/{id}/failed"),
        json!({"id_number": CHEN, "reason": "write_failed"}),
    )
    .await;
    assert_eq!(
        (s, &f["status"], &f["written"]),
        (StatusCode::OK, &json!("produced"), &json!(false)),
        "{f}"
    );
    assert!(f["next_zh"].as_str().unwrap().contains("窗口"));
    // Another holder's read-back is not heard.
    let (s, _) = post(
        &h,
        &wej,
        &written,
        json!({"id_number": "440112200001010139", "read_back_sha256": w["payload_sha256"]}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The payload read back (upper case, as some writers report): collected at the machine.
    let hash = w["payload_sha256"].as_str().unwrap().to_ascii_uppercase();
    let (s, o) = post(
        &h,
        &wej,
        &written,
        json!({"id_number": CHEN, "read_back_sha256": hash}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{o}");
    assert_eq!(
        (&o["status"], &o["written"]),
        (&json!("collected"), &json!(true))
    );
    let a = h.store.application(id).await.unwrap().unwrap();
    assert_eq!(a.status, "collected");
    let events = h.store.application_events(id).await.unwrap();
    let tail: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e.note == "on_site")
        .map(|e| (e.to_state.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(
        tail.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        [
            "in_production",
            "produced",
            "dispatched",
            "ready_for_collection",
            "collected"
        ]
    );
    assert!(
        tail.iter().all(|(_, by)| by.starts_with("device:")),
        "{tail:?}"
    );
    let trail = actions(&h).await;
    for x in [
        "application.in_production",
        "application.produced",
        "application.dispatched",
        "application.ready_for_collection",
        "application.collected",
        "kiosk.write_mismatch",
        "kiosk.write_failed",
    ] {
        assert!(trail.iter().any(|a| a == x), "{x}");
    }
    // Told again (a retried request): the same answer, nothing more moves.
    let (s, o) = post(
        &h,
        &wej,
        &written,
        json!({"id_number": CHEN, "read_back_sha256": w["payload_sha256"]}),
    )
    .await;
    assert_eq!((s, &o["status"]), (StatusCode::OK, &json!("collected")));
    assert_eq!(
        h.store.application_events(id).await.unwrap().len(),
        events.len()
    );
    let (_, v) = post(
        &h,
        &wej,
        "/api/v1/kiosk/wej/status",
        json!({"id_number": CHEN}),
    )
    .await;
    assert_eq!(v["applications"][0]["status_zh"], "已领取", "{v}");
}
both_dialects!(
    endorsement_written_on_site_over_http,
    endorsement_written_on_site
);
