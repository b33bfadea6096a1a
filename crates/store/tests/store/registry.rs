//! The person and document registries.

use crate::t0;
use chrono::NaiveDate;
use wujing_domain::eligibility::{DocumentStatus, PersonStatus};
use wujing_domain::{DocumentKind, DocumentRecord, PersonRecord};
use wujing_store::*;
use wujing_testkit::{both_dialects, identity};

async fn registries_round_trip(store: DynStore) {
    let id = identity(7);
    let p = PersonRecord {
        id_number: id.clone(),
        name: "李华".into(),
        hukou_city: "广州".into(),
        residence_permit_city: Some("深圳".into()),
        residence_permit_expires: Some(NaiveDate::from_ymd_opt(2027, 6, 30).unwrap()),
        status: PersonStatus::Active,
        state_functionary: true,
        fingerprints_on_file: true,
        military: false,
        phone: None,
    };
    store
        .upsert_persons(std::slice::from_ref(&p), t0())
        .await
        .unwrap();
    assert_eq!(store.person(&id).await.unwrap(), Some(p.clone()));
    let mut p2 = p.clone();
    p2.status = PersonStatus::Emigrated;
    store.upsert_persons(&[p2.clone()], t0()).await.unwrap();
    assert_eq!(store.person(&id).await.unwrap(), Some(p2));
    let d = DocumentRecord {
        id_number: id.clone(),
        kind: DocumentKind::HkmPermit,
        number: "CA1234567".into(),
        issued_on: NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
        expires_on: NaiveDate::from_ymd_opt(2030, 1, 1).unwrap(),
        status: DocumentStatus::Valid,
    };
    let mut lost = d.clone();
    lost.number = "E12345678".into();
    lost.kind = DocumentKind::Passport;
    lost.status = DocumentStatus::Lost;
    store
        .upsert_documents(&[d.clone(), lost.clone()], t0())
        .await
        .unwrap();
    store
        .upsert_documents(std::slice::from_ref(&d), t0())
        .await
        .unwrap();
    assert_eq!(store.documents_of(&id).await.unwrap().len(), 2);
    assert!(store.person("440106199001010000").await.unwrap().is_none());
}
both_dialects!(registries, registries_round_trip);
