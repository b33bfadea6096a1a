//! Sites through HTTP (issue 13 §2), on SQLite and PostgreSQL: an administrator creates a
//! police station with two windows and three businesses, audited in the creation's
//! transaction; it is bookable at once and the portal's hall choice lists it for those
//! businesses only; a refused creation names each field and writes nothing; only
//! administrators create, a site's hall manager edits; booking, walk-ins and check-ins of a
//! business a site does not offer are refused; the demo's police stations are there with their
//! short lists; the staff pages show each error beside its field.

use super::staff::Session;
use super::{code_of, Harness};
use axum::http::StatusCode;
use serde_json::{json, Value};
use wujing_store::{AuditQuery, DynStore};
use wujing_testkit::both_dialects;

/// Demo registry: 郑华, Guangzhou hukou, no passport yet.
const ZHENG: &str = "440112200001010139";
/// Demo registry: 陈晓明, Guangzhou hukou, holds a passport.
const CHEN: &str = super::CHEN;

const SITE: &str = "conghua-taiping-ps";
const THREE: [&str; 3] = ["passport_first", "hkm_permit", "hkm_endorsement_g"];

fn police_station() -> Value {
    json!({
        "id": SITE,
        "district": "conghua",
        "kind": "police_station",
        "name_zh": "从化区太平派出所出入境受理点",
        "name_en": "Conghua Taiping Police Station",
        "address_zh": "广州市从化区太平镇（演示地址）",
        "address_en": "Taiping Town, Conghua (demo address)",
        "weekdays": [1, 2, 3, 4, 5],
        "sessions": "09:00-12:00,14:00-17:00",
        "slot_minutes": 30,
        "businesses": THREE,
        "windows": [{"number": 1, "kind": "general"}, {"number": 2, "kind": "general"}],
        "capacity": {"online": 2, "on_site": 1, "expedite": 0}
    })
}

async fn site_entries(h: &Harness, action: &str) -> Vec<wujing_domain::audit::AuditEntry> {
    h.store
        .audit_search(&AuditQuery {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == action)
        .collect()
}

async fn ids(h: &Harness, query: &str) -> Vec<String> {
    let (s, v) = h.get(&format!("/api/v1/halls{query}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_string())
        .collect()
}

/// The "done when": an administrator creates a police-station site with two windows
/// and three businesses; it appears in the portal's hall choice with only those businesses.
/// It is audited, bookable at once, and refuses a business it does not offer.
async fn a_police_station_created_by_an_administrator_is_offered_for_its_businesses_only(
    store: DynStore,
) {
    let h = Harness::new(store).await;
    let admin = h.sign_in_as("admin").await;
    let (s, v) = h
        .post_as(&admin, "/api/v1/admin/sites", Some(police_station()))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        (
            v["kind"].as_str(),
            v["windows"].as_array().unwrap().len(),
            v["businesses"].clone()
        ),
        (
            Some("police_station"),
            2,
            json!(["hkm_endorsement_g", "hkm_permit", "passport_first"])
        )
    );
    // One entry, in the creation's transaction, about the site.
    let entries = site_entries(&h, "site.create").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].subject, format!("hall:{SITE}"));

    // The public list: for each of its businesses, not for others.
    for b in THREE {
        assert!(
            ids(&h, &format!("?business={b}"))
                .await
                .contains(&SITE.to_string()),
            "{b}"
        );
    }
    for b in ["passport_renewal", "tw_permit", "foreign_visa_extension"] {
        assert!(
            !ids(&h, &format!("?business={b}"))
                .await
                .contains(&SITE.to_string()),
            "{b}"
        );
    }
    let (s, v) = h.get("/api/v1/halls?business=no_such_thing").await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_business")
    );

    // The portal's hall choice: listed, with its kind, for passport_first…
    let p = h
        .form(
            "POST",
            "/book/passport_first/check",
            &format!("name={}&id_number={ZHENG}", enc("郑华")),
            &[("cookie", "wujing_lang=zh-CN")],
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(
        p.body.contains("从化区太平派出所出入境受理点"),
        "{}",
        p.body
    );
    assert!(p.body.contains("kind-police_station"), "the kind is shown");
    // …and not for a business it does not offer (passport renewal).
    let p = h
        .form(
            "POST",
            "/book/passport_renewal/check",
            &format!("name={}&id_number={CHEN}", enc("陈晓明")),
            &[("cookie", "wujing_lang=zh-CN")],
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.body.contains("hall-tianhe"), "the halls are listed");
    assert!(
        !p.body.contains("从化区太平派出所"),
        "the police station is not"
    );

    // Bookable at once: a citizen holds a seat of the new site.
    let slot = h.slot(SITE, "passport_first").await;
    assert!(slot["slot_id"].is_i64(), "seats were generated: {slot}");
    let (s, hold) = h
        .post(
            "/api/v1/holds",
            json!({"slot_id": slot["slot_id"], "business": "passport_first"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{hold}");
    // A business it does not offer is refused at the hold.
    let (s, v) = h
        .post(
            "/api/v1/holds",
            json!({"slot_id": slot["slot_id"], "business": "tw_permit"}),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "business_not_offered"),
        "{v}"
    );
    // Availability for such a business never lists the site's seats.
    let (_, v) = h
        .get(&format!(
            "/api/v1/availability?business=tw_permit&halls={SITE}&from=2026-12-02&to=2026-12-02"
        ))
        .await;
    assert_eq!(v["slots"], json!([]), "{v}");
}
both_dialects!(
    done_when,
    a_police_station_created_by_an_administrator_is_offered_for_its_businesses_only
);

/// A refused creation names every bad field (`details.errors`) and writes nothing: no site,
/// no window, no audit entry. Only administrators create sites.
async fn site_creation_is_validated_per_field_and_writes_nothing(store: DynStore) {
    let h = Harness::new(store).await;
    let admin = h.sign_in_as("admin").await;
    let before = ids(&h, "").await;
    let mut bad = police_station();
    bad["id"] = json!("Conghua Taiping");
    bad["district"] = json!("atlantis");
    bad["kind"] = json!("castle");
    bad["sessions"] = json!("14:00-12:00");
    bad["businesses"] = json!(["passport_first", "moon_visa"]);
    bad["windows"] = json!([{"number": 1, "kind": "general"}, {"number": 1, "kind": "general"}]);
    bad["capacity"] = json!({"online": 501});
    bad["name_en"] = json!(" ");
    bad["latitude"] = json!(91.0);
    bad["longitude"] = json!(113.5);
    let (s, v) = h.post_as(&admin, "/api/v1/admin/sites", Some(bad)).await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::BAD_REQUEST, "site_invalid"),
        "{v}"
    );
    let errors = v["error"]["details"]["errors"].as_object().unwrap();
    let fields: Vec<&str> = errors.keys().map(String::as_str).collect();
    assert_eq!(
        fields,
        [
            "businesses",
            "capacity",
            "district",
            "id",
            "kind",
            "location",
            "name_en",
            "sessions",
            "windows"
        ]
    );
    // A latitude without its longitude is refused too.
    let mut half = police_station();
    half["latitude"] = json!(23.5);
    let (s, v) = h.post_as(&admin, "/api/v1/admin/sites", Some(half)).await;
    assert_eq!(
        (s, v["error"]["details"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("location")),
        "{v}"
    );
    assert!(errors["businesses"]["en"]
        .as_str()
        .unwrap()
        .contains("moon_visa"));
    assert!(!errors["id"]["zh"].as_str().unwrap().is_empty());
    // An unknown business alone is the same clear 400.
    let mut one = police_station();
    one["businesses"] = json!(["moon_visa"]);
    let (s, v) = h.post_as(&admin, "/api/v1/admin/sites", Some(one)).await;
    assert_eq!(
        (s, v["error"]["details"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("businesses"))
    );
    // A taken id.
    let mut taken = police_station();
    taken["id"] = json!("tianhe");
    let (s, v) = h.post_as(&admin, "/api/v1/admin/sites", Some(taken)).await;
    assert_eq!(
        (s, v["error"]["details"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("id")),
        "{v}"
    );
    assert_eq!(ids(&h, "").await, before, "nothing written");
    assert!(site_entries(&h, "site.create").await.is_empty(), "no entry");

    // Not an administrator: refused, whatever the hall grants.
    for who in [
        "hall_manager@tianhe",
        "officer@tianhe",
        "leader",
        "supervisor",
    ] {
        let s_ = h.sign_in_as(who).await;
        let (s, v) = h
            .post_as(&s_, "/api/v1/admin/sites", Some(police_station()))
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who}: {v}");
    }
    assert_eq!(ids(&h, "").await, before, "nothing written");
}
both_dialects!(
    site_validation,
    site_creation_is_validated_per_field_and_writes_nothing
);

/// The site's hall manager edits its names, hours and businesses (audited with before and
/// after); another hall's manager may not. A business taken off is refused from then on.
async fn a_site_is_edited_by_its_manager_and_serves_only_what_it_lists(store: DynStore) {
    let h = Harness::new(store).await;
    let admin = h.sign_in_as("admin").await;
    let (s, v) = h
        .post_as(&admin, "/api/v1/admin/sites", Some(police_station()))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let slot = h.slot(SITE, "passport_first").await;
    let edit = json!({
        "name_zh": "太平派出所", "name_en": "Taiping Police Station",
        "address_zh": "太平镇", "address_en": "Taiping Town",
        "weekdays": [1, 3, 5], "sessions": "09:00-12:00", "slot_minutes": 20,
        "businesses": ["hkm_permit", "hkm_endorsement_g"],
        "latitude": 23.4512, "longitude": 113.4376
    });
    let other = h.sign_in_as("hall_manager@tianhe").await;
    let path = format!("/api/v1/admin/sites/{SITE}");
    let (s, _) = h
        .call("PUT", &path, Some(edit.clone()), &other.headers())
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let mine = h.sign_in_as(&format!("hall_manager@{SITE}")).await;
    let (s, v) = h
        .call("PUT", &path, Some(edit.clone()), &mine.headers())
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (
            v["businesses"].clone(),
            v["sessions"].as_str(),
            v["weekdays"].clone()
        ),
        (
            json!(["hkm_endorsement_g", "hkm_permit"]),
            Some("09:00-12:00"),
            json!([1, 3, 5])
        )
    );
    let (s, v) = h.call("GET", &path, None, &mine.headers()).await;
    assert_eq!(
        (s, v["name_en"].as_str()),
        (StatusCode::OK, Some("Taiping Police Station"))
    );
    assert_eq!(
        (v["latitude"].as_f64(), v["longitude"].as_f64()),
        (Some(23.4512), Some(113.4376))
    );
    // The portal's list of halls carries the location, public like the address.
    let (_, halls) = h.get("/api/v1/halls").await;
    let site = halls
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == SITE)
        .unwrap();
    assert_eq!(site["latitude"].as_f64(), Some(23.4512), "{site}");
    let entries = site_entries(&h, "site.change").await;
    assert_eq!(entries.len(), 1);
    let detail: Value = serde_json::from_str(&entries[0].detail).unwrap();
    assert_eq!(detail["before"]["businesses"].as_array().unwrap().len(), 3);
    assert_eq!(detail["after"]["businesses"].as_array().unwrap().len(), 2);
    // A bad edit changes nothing.
    let mut bad = edit.clone();
    bad["businesses"] = json!([]);
    let (s, v) = h.call("PUT", &path, Some(bad), &mine.headers()).await;
    assert_eq!(
        (s, v["error"]["details"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("businesses"))
    );
    assert_eq!(site_entries(&h, "site.change").await.len(), 1);

    // passport_first is no longer offered: a seat generated before is refused for it.
    let (s, v) = h
        .post(
            "/api/v1/holds",
            json!({"slot_id": slot["slot_id"], "business": "passport_first"}),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "business_not_offered"),
        "{v}"
    );
    assert!(!ids(&h, "?business=passport_first")
        .await
        .contains(&SITE.to_string()));
}
both_dialects!(
    site_edit,
    a_site_is_edited_by_its_manager_and_serves_only_what_it_lists
);

/// The demo's police stations: in outlying districts, one or two windows, their short list,
/// shorter hours; the article's 18 halls keep every business they had (the foreigners' only
/// where they serve foreigners). A walk-in or a booking of a business a police station does
/// not offer is refused, and so is a check-in at a site that no longer offers the booking's.
async fn the_demo_police_stations_offer_a_short_list(store: DynStore) {
    let h = Harness::new(store).await;
    for (id, district, windows) in [
        ("conghua-jiekou-ps", "conghua", 2),
        ("zengcheng-xintang-ps", "zengcheng", 1),
    ] {
        let (s, v) = h.get(&format!("/api/v1/halls/{id}")).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(
            (
                v["kind"].as_str(),
                v["district"]["id"].as_str(),
                v["window_count"].as_u64(),
                v["sessions"].clone()
            ),
            (
                Some("police_station"),
                Some(district),
                Some(windows),
                json!(["09:00-12:00", "14:00-17:00"])
            )
        );
        assert_eq!(
            v["businesses"],
            json!([
                "hkm_endorsement_g",
                "hkm_endorsement_t",
                "hkm_permit",
                "passport_first",
                "passport_renewal"
            ])
        );
    }
    let (_, tianhe) = h.get("/api/v1/halls/tianhe").await;
    assert_eq!(tianhe["kind"], "hall");
    assert_eq!(
        tianhe["businesses"].as_array().unwrap().len(),
        24,
        "tianhe serves foreigners (four foreigners' businesses, issue 14 §2)"
    );
    let (_, yuexiu) = h.get("/api/v1/halls/yuexiu").await;
    assert_eq!(
        yuexiu["businesses"].as_array().unwrap().len(),
        20,
        "no foreigners' business"
    );
    let foreign = ids(&h, "?business=foreign_visa_extension").await;
    assert!(foreign.contains(&"tianhe".to_string()) && !foreign.contains(&"yuexiu".to_string()));
    assert!(!foreign.iter().any(|i| i.ends_with("-ps")));

    // A walk-in for a business the station does not offer.
    let officer = h.sign_in_as("officer@conghua-jiekou-ps").await;
    let (s, v) = h
        .post_as(
            &officer,
            "/api/v1/halls/conghua-jiekou-ps/walk-ins",
            Some(json!({"business": "tw_permit", "name": "郑华", "id_number": ZHENG})),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "business_not_offered"),
        "{v}"
    );

    // A booking at the station, then the business taken off its list: the check-in is refused.
    let code = h.book_at("conghua-jiekou-ps", ZHENG).await;
    let admin = h.sign_in_as("admin").await;
    let (s, v) = h
        .call(
            "PUT",
            "/api/v1/admin/sites/conghua-jiekou-ps",
            Some(json!({
                "name_zh": "从化区公安分局街口派出所出入境受理点", "name_en": "Conghua Jiekou Police Station",
                "address_zh": "街口街", "address_en": "Jiekou", "weekdays": [1, 2, 3, 4, 5],
                "sessions": "09:00-12:00,14:00-17:00", "slot_minutes": 30, "businesses": ["hkm_permit"]
            })),
            &admin.headers(),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = h
        .post_as(
            &officer,
            "/api/v1/halls/conghua-jiekou-ps/checkins",
            Some(json!({"code": code, "id_number": ZHENG})),
        )
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "business_not_offered"),
        "{v}"
    );
}
both_dialects!(demo_sites, the_demo_police_stations_offer_a_short_list);

pub(super) fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub(super) fn staff_cookie(s: &Session) -> [(&str, &str); 1] {
    [("cookie", s.cookie.as_str())]
}

/// The staff pages: the list and form for administrators; a refused form comes back filled
/// in with each error beside its field (and nothing written); a valid one goes to the new
/// site's page; its edit form saves and shows its own errors; a hall manager cannot create.
async fn the_site_pages_show_errors_beside_their_fields(store: DynStore) {
    let h = Harness::new(store).await;
    let admin = h.sign_in_as("admin").await;
    let p = h
        .form("GET", "/staff/sites", "", &staff_cookie(&admin))
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.body.contains("conghua-jiekou-ps") && p.body.contains("name=\"businesses\""));
    // A business is shown by its name; its code is only the checkbox's value.
    let shown = p.body.replace("value=\"passport_first\"", "");
    assert!(shown.contains("首次申请普通护照"), "{shown}");
    assert!(
        !shown.contains("passport_first"),
        "no business code on the page: {shown}"
    );

    let form = |id: &str, sessions: &str, businesses: &[&str]| {
        let mut f = format!(
            "csrf={}&id={}&kind=police_station&district=conghua&name_zh={}&name_en=Taiping&address_zh={}&address_en=Taiping&weekdays=1&weekdays=2&sessions={}&slot_minutes=30&general_windows=2&expedite_windows=0&online=2&on_site=1&expedite=0",
            admin.csrf,
            enc(id),
            enc("太平派出所"),
            enc("太平镇"),
            enc(sessions)
        );
        for b in businesses {
            f.push_str(&format!("&businesses={b}"));
        }
        f
    };
    let p = h
        .form(
            "POST",
            "/staff/sites",
            &form("Bad Id", "9-12", &[]),
            &staff_cookie(&admin),
        )
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST, "{}", p.body);
    for field in ["id", "sessions", "businesses"] {
        assert!(
            p.body.contains(&format!("id=\"e-{field}\"")),
            "{field}: {}",
            p.body
        );
    }
    assert!(
        p.body.contains("value=\"Bad Id\""),
        "the form comes back filled in"
    );
    assert!(p.body.contains("aria-invalid=\"true\""));
    assert!(
        !p.body.contains("id=\"e-name_zh\""),
        "a good field has no error"
    );
    assert!(!ids(&h, "").await.contains(&"bad-id".to_string()));

    let p = h
        .form(
            "POST",
            "/staff/sites",
            &form(SITE, "09:00-12:00,14:00-17:00", &THREE),
            &staff_cookie(&admin),
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert!(
        p.location.starts_with(&format!("/staff/sites/{SITE}?")),
        "{}",
        p.location
    );
    let (_, v) = h.get(&format!("/api/v1/halls/{SITE}")).await;
    assert_eq!(
        (v["window_count"].as_u64(), v["kind"].as_str()),
        (Some(2), Some("police_station"))
    );

    let edit_path = format!("/staff/sites/{SITE}");
    let p = h.form("GET", &edit_path, "", &staff_cookie(&admin)).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(
        p.body.contains("value=\"hkm_permit\" checked"),
        "{}",
        p.body
    );
    let edit = |businesses: &[&str]| {
        let mut f = format!(
            "csrf={}&name_zh={}&name_en=Taiping&address_zh={}&address_en=Taiping&weekdays=1&sessions=09:00-12:00&slot_minutes=30",
            admin.csrf,
            enc("太平派出所"),
            enc("太平镇")
        );
        for b in businesses {
            f.push_str(&format!("&businesses={b}"));
        }
        f
    };
    let p = h
        .form("POST", &edit_path, &edit(&[]), &staff_cookie(&admin))
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(p.body.contains("id=\"e-businesses\""), "{}", p.body);
    let p = h
        .form(
            "POST",
            &edit_path,
            &edit(&["hkm_permit"]),
            &staff_cookie(&admin),
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let (_, v) = h.get(&format!("/api/v1/halls/{SITE}")).await;
    assert_eq!(v["businesses"], json!(["hkm_permit"]));

    // The site's own manager edits it from the hall page's link, without the list.
    let own = h.sign_in_as(&format!("hall_manager@{SITE}")).await;
    let p = h
        .form(
            "GET",
            &format!("/staff/admin/halls/{SITE}"),
            "",
            &staff_cookie(&own),
        )
        .await;
    assert!(
        p.body.contains(&format!("href=\"/staff/sites/{SITE}\"")),
        "{}",
        p.body
    );
    let p = h.form("GET", &edit_path, "", &staff_cookie(&own)).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(
        !p.body.contains("href=\"/staff/sites\""),
        "no link to a list it may not read"
    );

    // A hall manager has no site list and creates nothing.
    let m = h.sign_in_as("hall_manager@tianhe").await;
    let p = h.form("GET", "/staff/sites", "", &staff_cookie(&m)).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let p = h
        .form(
            "POST",
            "/staff/sites",
            &form("other-ps", "09:00-12:00", &THREE).replace(&admin.csrf, &m.csrf),
            &staff_cookie(&m),
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(!ids(&h, "").await.contains(&"other-ps".to_string()));
}
both_dialects!(site_pages, the_site_pages_show_errors_beside_their_fields);
