//! Regression tests for the protection of citizens' data (issue: data protected as a public
//! authority must), each named after the property it protects, on both databases.

use super::{test_config, Harness};
use axum::http::StatusCode;
use serde_json::json;
use wujing_store::DynStore;
use wujing_testkit::both_dialects;

/// A phone counts once however it is written: the per-phone code limit cannot be multiplied by
/// writing one mobile number as `137…`, `+86 137…` and `+0086137…` (SMS bombing).
async fn one_phone_however_written_shares_its_code_limit(store: DynStore) {
    let h = Harness::with_config(store, test_config()).await;
    let (s, v) = h
        .post("/api/v1/phone-codes", json!({"phone": "13700137009"}))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    for other in ["+8613700137009", "+008613700137009", "0086 137-0013-7009"] {
        let (s, v) = h.post("/api/v1/phone-codes", json!({"phone": other})).await;
        assert_eq!(
            (s, super::code_of(&v)),
            (StatusCode::TOO_MANY_REQUESTS, "code_rate_limited"),
            "{other}"
        );
    }
    // The one code went to the canonical number.
    assert_eq!(
        h.store.messages_to("13700137009", 5).await.unwrap().len(),
        1
    );
}
both_dialects!(
    phone_canonical,
    one_phone_however_written_shares_its_code_limit
);
