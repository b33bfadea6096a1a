//! Fully online business (全程网办, issue 13), written once for both dialects over an
//! [`AdminTx`]: the steps of an online application (each a conditional update on the state it
//! needs, with the caller's audit entry in the same transaction) and its reads, sealing the
//! personal data on the way in and opening it on the way out.
//!
//! The submission is the one step that reaches beyond the online row: in one transaction the
//! row is claimed (`awaiting_payment` only), the application is created without a ticket
//! (channel `web`) from the row's own columns (the sealed address is copied, never opened),
//! the row is marked submitted with it, and the first history row is written. A second
//! submission — the payment callback and the citizen's return racing, or a repeated
//! callback — finds nothing to claim and is refused, writing nothing.

use crate::admin::{refuse_on, AdminTx, Arg, Violation};
use crate::keys::Keys;
use crate::model::{AdminOutcome, OnlineApplication, OnlineBy, OnlineStep};
use crate::sql;
use crate::{Result, StoreError};
use base64::Engine;
use chrono::{DateTime, Utc};

fn changed(n: u64, code: &'static str) -> Result<AdminOutcome> {
    if n == 0 {
        Err(StoreError::Refused(code))
    } else {
        Ok(AdminOutcome::Done)
    }
}

/// Applies one step inside the caller's transaction.
pub(crate) async fn apply(
    tx: &mut impl AdminTx,
    keys: &Keys,
    step: &OnlineStep,
    now: DateTime<Utc>,
) -> Result<AdminOutcome> {
    use Arg::*;
    match step {
        OnlineStep::Start(n) => {
            let (id_number, name, phone) = (
                keys.seal(&n.id_number.0),
                keys.seal(&n.name.0),
                keys.seal(&n.phone.0),
            );
            let id = tx
                .first_i64(
                    sql::START_ONLINE,
                    &[
                        Text(&n.reference),
                        Text(&n.secret_hash),
                        Text(&n.identity_key),
                        Text(&id_number),
                        Text(&name),
                        Text(&phone),
                        Text(&n.lang),
                        Text(&n.business),
                        Text(&n.answers),
                        At(now),
                    ],
                )
                .await?;
            Ok(AdminOutcome::Created(id.ok_or(StoreError::Corrupt(
                "no online application id".into(),
            ))?))
        }
        OnlineStep::Answers { id, answers } => changed(
            tx.exec(sql::ONLINE_SET_ANSWERS, &[Int(*id), Text(answers), At(now)])
                .await?,
            "online_not_draft",
        ),
        OnlineStep::Photo { id, photo, check } => {
            let sealed = keys.seal(&photo.0);
            changed(
                tx.exec(
                    sql::ONLINE_SET_PHOTO,
                    &[Int(*id), Text(&sealed), Text(check), At(now)],
                )
                .await?,
                "online_not_draft",
            )
        }
        OnlineStep::Collection {
            id,
            method,
            mail_address,
        } => {
            let sealed = mail_address.as_ref().map(|a| keys.seal(&a.0));
            changed(
                tx.exec(
                    sql::ONLINE_SET_COLLECTION,
                    &[Int(*id), Text(method), OptText(sealed.as_deref()), At(now)],
                )
                .await
                .map_err(refuse_on(Violation::Check, "collection_invalid"))?,
                "online_not_draft",
            )
        }
        OnlineStep::AwaitPayment { id, fee_yuan } => changed(
            tx.exec(
                sql::ONLINE_AWAIT_PAYMENT,
                &[Int(*id), Int(*fee_yuan), At(now)],
            )
            .await
            .map_err(refuse_on(Violation::Check, "online_incomplete"))?,
            "online_not_draft",
        ),
        OnlineStep::Submit {
            id,
            hall_id,
            ready_by,
        } => {
            let n = tx
                .exec(sql::ONLINE_CLAIM_SUBMIT, &[Int(*id), At(now)])
                .await?;
            if n == 0 {
                return Err(StoreError::Refused("online_not_payable"));
            }
            let app = tx
                .first_i64(
                    sql::INSERT_REMOTE_APPLICATION,
                    &[
                        Int(*id),
                        Text(hall_id),
                        Day(*ready_by),
                        At(now),
                        Bool(false),
                    ],
                )
                .await?
                .ok_or(StoreError::NotFound("online application"))?;
            tx.exec(sql::ONLINE_SUBMITTED, &[Int(*id), Int(app), At(now)])
                .await?;
            tx.exec(sql::INSERT_REMOTE_FIRST_EVENT, &[Int(app), At(now)])
                .await?;
            Ok(AdminOutcome::Created(app))
        }
        OnlineStep::Abandon { id } => changed(
            tx.exec(sql::ONLINE_ABANDON, &[Int(*id), At(now)]).await?,
            "online_not_open",
        ),
    }
}

fn int(v: &Option<String>) -> Option<i64> {
    v.as_deref().and_then(|s| s.parse().ok())
}

fn text(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

fn open(keys: &Keys, what: &str, v: &Option<String>) -> Result<String> {
    crate::seal::open_text(keys, what, v.as_deref().unwrap_or_default())
}

/// An online application, opened.
pub(crate) async fn read(
    tx: &mut impl AdminTx,
    keys: &Keys,
    by: &OnlineBy,
) -> Result<Option<OnlineApplication>> {
    let rows = match by {
        OnlineBy::Id(id) => tx.texts(sql::ONLINE_BY_ID, &[Arg::Int(*id)]).await?,
        OnlineBy::Reference(r) => tx.texts(sql::ONLINE_BY_REFERENCE, &[Arg::Text(r)]).await?,
        OnlineBy::Application(id) => {
            tx.texts(sql::ONLINE_OF_APPLICATION, &[Arg::Int(*id)])
                .await?
        }
    };
    let Some(r) = rows.into_iter().next() else {
        return Ok(None);
    };
    Ok(Some(OnlineApplication {
        id: int(&r[0]).ok_or(StoreError::Corrupt("online application id".into()))?,
        reference: text(&r[1]),
        secret_hash: text(&r[2]),
        identity_key: text(&r[3]),
        id_number: open(keys, "id_number", &r[4])?,
        name: open(keys, "name", &r[5])?,
        phone: open(keys, "phone", &r[6])?,
        lang: text(&r[7]),
        business: text(&r[8]),
        answers: text(&r[9]),
        photo_check: r[10]
            .as_deref()
            .map(|c| serde_json::from_str(c).unwrap_or_default()),
        collection_method: r[11].clone(),
        mail_address: r[12]
            .as_ref()
            .map(|a| crate::seal::open_text(keys, "mail_address", a))
            .transpose()?,
        fee_yuan: int(&r[13]),
        status: text(&r[14]),
        application_id: int(&r[15]),
    }))
}

/// The photo of an online application (the JPEG's bytes), opened.
pub(crate) async fn photo(tx: &mut impl AdminTx, keys: &Keys, id: i64) -> Result<Option<Vec<u8>>> {
    let rows = tx.texts(sql::ONLINE_PHOTO, &[Arg::Int(id)]).await?;
    let Some(sealed) = rows
        .into_iter()
        .next()
        .and_then(|r| r.into_iter().next().flatten())
    else {
        return Ok(None);
    };
    let b64 = crate::seal::open_text(keys, "photo", &sealed)?;
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map(Some)
        .map_err(|_| StoreError::Corrupt("photo".into()))
}

/// The ids of online applications awaiting payment, oldest first, at most `limit`.
pub(crate) async fn awaiting_payment(tx: &mut impl AdminTx, limit: i64) -> Result<Vec<i64>> {
    Ok(tx
        .texts(sql::ONLINE_AWAITING_PAYMENT, &[Arg::Int(limit)])
        .await?
        .iter()
        .filter_map(|r| int(&r[0]))
        .collect())
}
