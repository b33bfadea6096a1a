//! The authority's face (issue 15): the name, emblem, hotline, notices and filing number the
//! portal shows, and the signature of every text message. Stored as the organisation's
//! settings (one JSON value per key), changed only by administrators, each change audited in
//! its own transaction; read through a short cache because every portal page shows it.

use crate::admin::Actor;
use crate::{Action, App, AppError, AppResult, Code, Principal};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use wujing_domain::authority::{Authority, EmblemType, MAX_EMBLEM_BYTES};
use wujing_store::AdminChange;

const AUTHORITY_KEY: &str = "authority";
const EMBLEM_KEY: &str = "authority.emblem";

/// What the portal shows of the authority: its details and, if the operator supplied one,
/// its emblem.
#[derive(Debug, Clone)]
pub struct Face {
    pub authority: Authority,
    pub emblem: Option<Emblem>,
}

#[derive(Debug, Clone)]
pub struct Emblem {
    pub kind: EmblemType,
    pub bytes: Arc<Vec<u8>>,
    /// A short digest of the bytes: the emblem's address changes with its content, so
    /// browsers may keep it for long.
    pub version: String,
}

#[derive(Serialize, Deserialize)]
struct StoredEmblem {
    content_type: String,
    data: String,
}

impl App {
    /// The authority's face: the configured one, else the product's default.
    pub async fn face(&self) -> AppResult<Arc<Face>> {
        if let Some(f) = self.caches.face() {
            return Ok(f);
        }
        let authority = match self.store.setting(AUTHORITY_KEY).await? {
            // A value this code wrote; one it cannot read (a later version's) falls back to
            // the default rather than take the portal down.
            Some(v) => serde_json::from_str(&v).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "the stored authority does not parse; showing the default");
                Authority::product_default()
            }),
            None => Authority::product_default(),
        };
        let emblem = match self.store.setting(EMBLEM_KEY).await? {
            Some(v) => serde_json::from_str::<StoredEmblem>(&v)
                .ok()
                .and_then(|s| {
                    base64::engine::general_purpose::STANDARD
                        .decode(s.data)
                        .ok()
                })
                .and_then(|bytes| {
                    EmblemType::sniff(&bytes).map(|kind| Emblem {
                        kind,
                        version: wujing_domain::audit::hex(&Sha256::digest(&bytes))[..12]
                            .to_string(),
                        bytes: Arc::new(bytes),
                    })
                }),
            None => None,
        };
        let f = Arc::new(Face { authority, emblem });
        self.caches.set_face(Some(f.clone()));
        Ok(f)
    }

    /// Replaces the authority's details (administrators; audited with what changed).
    pub async fn set_authority(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        proposed: Authority,
    ) -> AppResult<Authority> {
        self.require(p, Action::ManageAuthority, None)?;
        let a = proposed.normalised().map_err(|problems| {
            let fields: Vec<_> = problems
                .iter()
                .map(|i| json!({"field": i.field, "zh": i.problem_zh, "en": i.problem_en}))
                .collect();
            let first = &problems[0];
            AppError::new(
                Code::AuthorityInvalid,
                format!("{}：{}", first.field, first.problem_zh),
                format!("{}: {}", first.field, first.problem_en),
            )
            .with_details(json!({ "fields": fields }))
        })?;
        let before = self.face().await?.authority.clone();
        let changed: Vec<&str> = diff(&before, &a);
        let value = serde_json::to_string(&a).map_err(internal)?;
        self.audit(
            &Actor::new(p, client_addr),
            AdminChange::PutSetting {
                key: AUTHORITY_KEY.into(),
                value,
            },
            "authority.update",
            AUTHORITY_KEY.into(),
            None,
            json!({ "changed": changed }),
        )
        .await?;
        self.caches.set_face(None);
        Ok(a)
    }

    /// Replaces the emblem with an image the operator supplies (PNG or JPEG, at most
    /// [`MAX_EMBLEM_BYTES`]; the type is read from the bytes). Administrators; audited.
    pub async fn set_emblem(
        &self,
        p: &Principal,
        client_addr: Option<&str>,
        bytes: &[u8],
    ) -> AppResult<()> {
        self.require(p, Action::ManageAuthority, None)?;
        let kind = EmblemType::sniff(bytes)
            .filter(|_| bytes.len() <= MAX_EMBLEM_BYTES)
            .ok_or_else(|| {
                AppError::from(Code::EmblemInvalid)
                    .with_details(json!({ "max_bytes": MAX_EMBLEM_BYTES }))
            })?;
        let value = serde_json::to_string(&StoredEmblem {
            content_type: kind.content_type().into(),
            data: base64::engine::general_purpose::STANDARD.encode(bytes),
        })
        .map_err(internal)?;
        self.audit(
            &Actor::new(p, client_addr),
            AdminChange::PutSetting {
                key: EMBLEM_KEY.into(),
                value,
            },
            "authority.emblem",
            EMBLEM_KEY.into(),
            None,
            json!({ "content_type": kind.content_type(), "bytes": bytes.len() }),
        )
        .await?;
        self.caches.set_face(None);
        Ok(())
    }

    /// The authority's details as an administrator sees them to edit.
    pub async fn authority_for_admin(&self, p: &Principal) -> AppResult<Authority> {
        self.require(p, Action::ManageAuthority, None)?;
        Ok(self.face().await?.authority.clone())
    }

    /// Sets the demo organisation's face, unless an operator already set one (`wujing serve`
    /// calls it after loading the demo). Audited as the demo's doing: nobody is signed in.
    pub async fn set_demo_authority(&self) -> AppResult<()> {
        if self.store.setting(AUTHORITY_KEY).await?.is_some() {
            return Ok(());
        }
        let value = serde_json::to_string(&demo_authority()).map_err(internal)?;
        let actor = Actor {
            id: "system:demo".into(),
            name: "演示数据 demo".into(),
            client_addr: None,
            station: None,
            hall: None,
        };
        self.audit(
            &actor,
            AdminChange::PutSetting {
                key: AUTHORITY_KEY.into(),
                value,
            },
            "authority.update",
            AUTHORITY_KEY.into(),
            None,
            json!({ "changed": "demo" }),
        )
        .await?;
        self.caches.set_face(None);
        Ok(())
    }
}

fn internal(e: serde_json::Error) -> AppError {
    AppError::new(Code::InternalError, "系统内部错误", e.to_string())
}

/// The names of the fields that differ (the audit says what changed, not the notices' text).
fn diff(a: &Authority, b: &Authority) -> Vec<&'static str> {
    let pairs: [(&'static str, &str, &str); 10] = [
        ("name_zh", &a.name_zh, &b.name_zh),
        ("name_en", &a.name_en, &b.name_en),
        ("sign_zh", &a.sign_zh, &b.sign_zh),
        ("sign_en", &a.sign_en, &b.sign_en),
        ("hotline", &a.hotline, &b.hotline),
        ("privacy_zh", &a.privacy_zh, &b.privacy_zh),
        ("privacy_en", &a.privacy_en, &b.privacy_en),
        ("accessibility_zh", &a.accessibility_zh, &b.accessibility_zh),
        ("accessibility_en", &a.accessibility_en, &b.accessibility_en),
        ("filing_number", &a.filing_number, &b.filing_number),
    ];
    pairs
        .into_iter()
        .filter(|(_, x, y)| x != y)
        .map(|(f, _, _)| f)
        .collect()
}

/// The demo organisation's face: plausible values for the Guangzhou model, with a filing
/// number that says it is a demonstration.
pub fn demo_authority() -> Authority {
    Authority {
        name_zh: "广州市公安局出入境管理支队".into(),
        name_en: "Guangzhou Public Security Bureau, Exit-Entry Administration".into(),
        sign_zh: "广州市公安局出入境管理支队".into(),
        sign_en: "Guangzhou Exit-Entry".into(),
        filing_number: "演示站点 无备案号 · Demo site, no filing number".into(),
        ..Authority::product_default()
    }
}
