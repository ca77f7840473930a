//! Organizations and their SSO settings; lead sources and their project mappings.
//!
//! Invariants: an org's SSO secret is stored only encrypted (table `organizations`,
//! column `sso_secret`, bound to the org id); SSO token ids (`jti`) are remembered per org
//! until they expire, so a token is accepted once. A source's project code selects at
//! most one product (`source_projects`, keyed by source and code); an unmapped code
//! selects nothing and the intake falls back to the source's default product.
//!
//! [`SeaOrgRepository`] is the onboarding port: org and source codes are unique (their
//! unique indexes settle races: the loser gets `RepoError::Conflict` and its transaction
//! writes nothing), and each org, source or API key is written in one transaction with
//! its audit entry.
//!
//! Cached copies (ADR 0009): an org's SSO change drops the org from the principal caches,
//! and a source or project mapping written here reloads the reference caches, in this
//! process at once and, on PostgreSQL, on the other nodes through the notification sent
//! in the same statement or transaction ([`crate::invalidation`]). A new API key needs
//! nothing dropped: unknown keys are never cached.

use std::collections::BTreeMap;

use domain::error::RepoError;
use domain::intake::Source;
use domain::reference::OrgKind;
use domain::service::orgs::Org;
use domain::service::tokens::OrgSso;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryTrait};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::crypto::{FieldContext, Keyring};
use crate::entities::{organization, sso_token_use};
use crate::error::{corrupt, unavailable};

fn sso_ctx(id: &str) -> FieldContext<'_> {
    FieldContext { table: "organizations", column: "sso_secret", row_id: id }
}

fn to_org(row: &organization::Model) -> Result<Org, RepoError> {
    Ok(Org {
        id: row.id.parse().map_err(|e| corrupt("organizations", &row.id, e))?,
        code: row.code.clone(),
        name: row.name.clone(),
        kind: row.kind.parse().map_err(|e| corrupt("organizations", &row.id, e))?,
        created_at: crate::from_millis(row.created_at),
    })
}

/// # Errors
/// Storage failures or a corrupted row.
pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<Org>, RepoError> {
    let row = organization::Entity::find_by_id(id.to_string()).one(conn).await.map_err(unavailable)?;
    row.as_ref().map(to_org).transpose()
}

/// # Errors
/// Storage failures or a corrupted row.
pub async fn find_by_code(conn: &impl ConnectionTrait, code: &str) -> Result<Option<Org>, RepoError> {
    let row = organization::Entity::find()
        .filter(organization::Column::Code.eq(code))
        .one(conn)
        .await
        .map_err(unavailable)?;
    row.as_ref().map(to_org).transpose()
}

/// Sets an org's SSO secret (encrypted), redirect allow-list and default redirect.
///
/// # Errors
/// Encryption or storage failures.
pub async fn set_sso(
    conn: &impl ConnectionTrait,
    keyring: &Keyring,
    org_id: Uuid,
    secret: &[u8],
    allowlist: &[String],
    default_redirect: Option<&str>,
) -> Result<(), RepoError> {
    let id = org_id.to_string();
    let sealed = keyring.encrypt(secret, &sso_ctx(&id)).map_err(|e| RepoError::Unavailable(e.to_string()))?;
    let update = organization::Entity::update_many()
        .col_expr(organization::Column::SsoSecretEnc, Expr::value(sealed))
        .col_expr(organization::Column::SsoRedirectAllowlist, Expr::value(allowlist.join("\n")))
        .col_expr(organization::Column::SsoDefaultRedirect, Expr::value(default_redirect.map(str::to_owned)))
        .filter(organization::Column::Id.eq(id.as_str()))
        .build(conn.get_database_backend());
    crate::invalidation::exec_notifying(conn, update, "org").await.map_err(unavailable)?;
    crate::invalidation::org_changed(org_id);
    Ok(())
}

/// An org's SSO configuration, or `None` when it has no SSO secret.
///
/// # Errors
/// Decryption (a tampered or retired-key secret: a corrupted row) or storage failures.
pub async fn sso(conn: &impl ConnectionTrait, keyring: &Keyring, org_id: Uuid) -> Result<Option<OrgSso>, RepoError> {
    let id = org_id.to_string();
    let Some(row) = organization::Entity::find_by_id(id.clone()).one(conn).await.map_err(unavailable)? else {
        return Ok(None);
    };
    sso_of_row(keyring, row)
}

/// The org's decrypted SSO configuration, if it has a secret.
fn sso_of_row(keyring: &Keyring, row: organization::Model) -> Result<Option<OrgSso>, RepoError> {
    let Some(sealed) = row.sso_secret_enc else { return Ok(None) };
    let secret = keyring.decrypt(&sealed, &sso_ctx(&row.id)).map_err(|e| corrupt("organizations", &row.id, e))?;
    let redirect_allowlist = row
        .sso_redirect_allowlist
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(Some(OrgSso { secret, redirect_allowlist, default_redirect: row.sso_default_redirect }))
}

/// Remembers an SSO token id; false when it was already used (a replay).
///
/// # Errors
/// The driver's error.
pub async fn consume_sso_jti(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    jti: &str,
    expires_at: i64,
    now: OffsetDateTime,
) -> Result<bool, DbErr> {
    // Forget ids whose tokens can no longer verify (1 h beyond their expiry).
    sso_token_use::Entity::delete_many()
        .filter(sso_token_use::Column::ExpiresAt.lt(now.unix_timestamp() - 3600))
        .exec(conn)
        .await?;
    let row = sso_token_use::ActiveModel {
        org_id: Set(org_id.to_string()),
        jti: Set(jti.to_owned()),
        expires_at: Set(expires_at),
    };
    let inserted = sso_token_use::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([sso_token_use::Column::OrgId, sso_token_use::Column::Jti]).do_nothing().to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(inserted == 1)
}

/// The org SSO secrets not under the active key, for rotation: (org id, envelope).
///
/// # Errors
/// The driver's error.
pub async fn sso_secrets(conn: &impl ConnectionTrait) -> Result<Vec<(String, Vec<u8>)>, DbErr> {
    let rows = organization::Entity::find().filter(organization::Column::SsoSecretEnc.is_not_null()).all(conn).await?;
    Ok(rows.into_iter().filter_map(|r| r.sso_secret_enc.map(|e| (r.id, e))).collect())
}

/// Replaces an org's SSO secret envelope (rotation).
///
/// # Errors
/// The driver's error.
pub async fn replace_sso_envelope(conn: &impl ConnectionTrait, org_id: &str, envelope: Vec<u8>) -> Result<(), DbErr> {
    organization::Entity::update_many()
        .col_expr(organization::Column::SsoSecretEnc, Expr::value(envelope))
        .filter(organization::Column::Id.eq(org_id))
        .exec(conn)
        .await
        .map(|_| ())
}

/// A source by its code (the intake's `source` header), with its project map.
///
/// # Errors
/// Storage failures or a corrupted row.
pub async fn find_source(conn: &impl ConnectionTrait, code: &str) -> Result<Option<Source>, RepoError> {
    use crate::entities::{source, source_project};
    let Some(row) =
        source::Entity::find().filter(source::Column::Code.eq(code)).one(conn).await.map_err(unavailable)?
    else {
        return Ok(None);
    };
    let bad = |e: uuid::Error| corrupt("sources", &row.id, e);
    let mapped = source_project::Entity::find()
        .filter(source_project::Column::SourceId.eq(row.id.as_str()))
        .all(conn)
        .await
        .map_err(unavailable)?;
    let mut projects = BTreeMap::new();
    for m in mapped {
        let product = m.product_id.parse().map_err(|e| corrupt("source_projects", &m.source_id, e))?;
        projects.insert(m.project_code, product);
    }
    Ok(Some(Source {
        id: row.id.parse().map_err(bad)?,
        code: row.code.clone(),
        org_id: row.org_id.parse().map_err(bad)?,
        default_product_id: row.default_product_id.as_deref().map(str::parse).transpose().map_err(bad)?,
        projects,
    }))
}

/// The product a source's project code selects (`source_projects`), when that code is
/// mapped for that source. Codes are compared exactly (the caller trims them).
///
/// # Errors
/// Storage failures or a corrupted row.
pub async fn product_for_project(
    conn: &impl ConnectionTrait,
    source_id: Uuid,
    code: &str,
) -> Result<Option<Uuid>, RepoError> {
    use crate::entities::source_project;
    let key = (source_id.to_string(), code.to_owned());
    let Some(row) = source_project::Entity::find_by_id(key).one(conn).await.map_err(unavailable)? else {
        return Ok(None);
    };
    row.product_id.parse().map(Some).map_err(|e| corrupt("source_projects", &row.source_id, e))
}

/// Maps a source's project code to a product, replacing an earlier mapping of that code.
///
/// # Errors
/// The driver's error (an unknown source or product breaks no constraint of this table:
/// the caller names existing ones).
pub async fn map_project(
    conn: &impl ConnectionTrait,
    source_id: Uuid,
    code: &str,
    product_id: Uuid,
) -> Result<(), DbErr> {
    use crate::entities::source_project;
    let row = source_project::ActiveModel {
        source_id: Set(source_id.to_string()),
        project_code: Set(code.to_owned()),
        product_id: Set(product_id.to_string()),
    };
    source_project::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([source_project::Column::SourceId, source_project::Column::ProjectCode])
                .update_column(source_project::Column::ProductId)
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    // In the caller's transaction when `conn` is one: the other nodes hear of it at commit.
    crate::invalidation::notify(conn, crate::invalidation::Change::Reference).await?;
    crate::invalidation::reference_changed();
    Ok(())
}

/// The onboarding port ([`domain::ports::OrgRepository`]): orgs, their sources and API
/// keys, each write in one transaction with its audit entry (the request id of the
/// current request, when there is one, is the caller's to log).
#[derive(Clone)]
pub struct SeaOrgRepository {
    db: crate::db::Db,
    /// Seals the audit detail of each creation.
    keyring: std::sync::Arc<crate::crypto::Keyring>,
}

impl SeaOrgRepository {
    #[must_use]
    pub fn new(db: crate::db::Db, keyring: std::sync::Arc<crate::crypto::Keyring>) -> Self {
        Self { db, keyring }
    }
}

/// A unique-index violation is the code being taken; anything else is the database.
fn code_taken(what: &str) -> impl Fn(DbErr) -> domain::error::RepoError + '_ {
    move |err| match err.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => domain::error::RepoError::Conflict(what.to_owned()),
        _ => unavailable(err),
    }
}

#[allow(clippy::too_many_arguments)]
async fn audit_write(
    keyring: &crate::crypto::Keyring,
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    actor: &str,
    action: &str,
    entity: &str,
    entity_id: &str,
    detail: serde_json::Value,
    at: OffsetDateTime,
) -> Result<(), domain::error::RepoError> {
    let entry = crate::audit::AuditEntry {
        org_id: Some(org_id),
        actor,
        action,
        entity,
        entity_id: Some(entity_id),
        request_id: None,
        detail,
    };
    crate::audit::record(conn, keyring, entry, at).await.map_err(unavailable)
}

impl domain::ports::OrgRepository for SeaOrgRepository {
    async fn insert_org(&self, org: &domain::service::orgs::Org, actor: &str) -> Result<(), domain::error::RepoError> {
        let txn = self.db.begin_write().await.map_err(unavailable)?;
        let row = organization::ActiveModel {
            id: Set(org.id.to_string()),
            code: Set(org.code.clone()),
            name: Set(org.name.clone()),
            kind: Set(org.kind.as_str().to_owned()),
            created_at: Set(crate::to_millis(org.created_at)),
            ..Default::default()
        };
        organization::Entity::insert(row)
            .exec_without_returning(&*txn)
            .await
            .map_err(code_taken("organizations.code"))?;
        let detail = serde_json::json!({ "code": org.code, "kind": org.kind.as_str() });
        audit_write(
            &self.keyring,
            &*txn,
            org.id,
            actor,
            "org.created",
            "organization",
            &org.id.to_string(),
            detail,
            org.created_at,
        )
        .await?;
        txn.commit().await.map_err(unavailable)
    }

    async fn list_orgs(&self) -> Result<Vec<domain::service::orgs::Org>, domain::error::RepoError> {
        use sea_orm::QueryOrder;
        let rows = organization::Entity::find()
            .order_by_asc(organization::Column::CreatedAt)
            .order_by_asc(organization::Column::Id)
            .all(self.db.conn())
            .await
            .map_err(unavailable)?;
        rows.iter().map(to_org).collect()
    }

    async fn held_leads_by_provider(&self) -> Result<Vec<(Uuid, u64)>, domain::error::RepoError> {
        use crate::entities::lead;
        use sea_orm::{QuerySelect, sea_query::Func};
        let rows: Vec<(String, i64)> = lead::Entity::find()
            .select_only()
            .column(lead::Column::ProviderOrgId)
            .column_as(Expr::from(Func::count(Expr::col(lead::Column::Id))), "n")
            .filter(lead::Column::Status.eq(domain::lead::LeadStatus::DuplicateOtherProvider.as_str()))
            .group_by(lead::Column::ProviderOrgId)
            .into_tuple()
            .all(self.db.conn())
            .await
            .map_err(unavailable)?;
        rows.into_iter()
            .map(|(org, n)| {
                let id =
                    org.parse().map_err(|_| domain::error::RepoError::Corrupted(format!("leads/provider {org}")))?;
                Ok((id, u64::try_from(n).unwrap_or(0)))
            })
            .collect()
    }

    async fn find_org(&self, code: &str) -> Result<Option<domain::service::orgs::Org>, domain::error::RepoError> {
        let row = organization::Entity::find()
            .filter(organization::Column::Code.eq(code))
            .one(self.db.conn())
            .await
            .map_err(unavailable)?;
        row.as_ref().map(to_org).transpose()
    }

    async fn insert_source(
        &self,
        source: &domain::service::orgs::Source,
        actor: &str,
    ) -> Result<(), domain::error::RepoError> {
        use crate::entities::source as source_entity;
        let txn = self.db.begin_write().await.map_err(unavailable)?;
        let row = source_entity::ActiveModel {
            id: Set(source.id.to_string()),
            code: Set(source.code.clone()),
            org_id: Set(source.org_id.to_string()),
            name: Set(source.name.clone()),
            default_product_id: Set(Some(source.default_product_id.to_string())),
            created_at: Set(crate::to_millis(source.created_at)),
        };
        source_entity::Entity::insert(row).exec_without_returning(&*txn).await.map_err(code_taken("sources.code"))?;
        let detail = serde_json::json!({ "code": source.code, "defaultProductId": source.default_product_id });
        let id = source.id.to_string();
        audit_write(
            &self.keyring,
            &*txn,
            source.org_id,
            actor,
            "source.created",
            "source",
            &id,
            detail,
            source.created_at,
        )
        .await?;
        crate::invalidation::notify(&*txn, crate::invalidation::Change::Reference).await.map_err(unavailable)?;
        txn.commit().await.map_err(unavailable)?;
        // A new source is reference data: the intake finds it from memory.
        crate::invalidation::reference_changed();
        Ok(())
    }

    async fn issue_api_key(
        &self,
        org_id: Uuid,
        label: &str,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<domain::service::orgs::IssuedApiKey, domain::error::RepoError> {
        let txn = self.db.begin_write().await.map_err(unavailable)?;
        let key = crate::api_keys::issue(&*txn, org_id, label, &["*"], now).await.map_err(|e| match e {
            crate::api_keys::ApiKeyError::Db(e) => unavailable(e),
            crate::api_keys::ApiKeyError::Random
            | crate::api_keys::ApiKeyError::UnknownScope(_)
            | crate::api_keys::ApiKeyError::NoScope => domain::error::RepoError::Unavailable(e.to_string()),
        })?;
        let detail = serde_json::json!({ "label": label });
        audit_write(
            &self.keyring,
            &*txn,
            org_id,
            actor,
            "api_key.created",
            "api_key",
            &key.id.to_string(),
            detail,
            now,
        )
        .await?;
        txn.commit().await.map_err(unavailable)?;
        Ok(domain::service::orgs::IssuedApiKey {
            id: key.id,
            org_id,
            label: label.to_owned(),
            key: domain::service::orgs::ApiKeySecret::new(key.plaintext),
            created_at: now,
        })
    }
}

impl domain::ports::SsoRepository for SeaOrgRepository {
    async fn sso_of(&self, org_id: Uuid) -> Result<Option<(OrgKind, Option<OrgSso>)>, RepoError> {
        let row =
            organization::Entity::find_by_id(org_id.to_string()).one(self.db.conn()).await.map_err(unavailable)?;
        let Some(row) = row else { return Ok(None) };
        let kind: OrgKind = row.kind.parse().map_err(|e| corrupt("organizations", &row.id, e))?;
        Ok(Some((kind, sso_of_row(&self.keyring, row)?)))
    }

    async fn consume_sso_jti(
        &self,
        org_id: Uuid,
        jti: &str,
        expires_at: i64,
        now: OffsetDateTime,
    ) -> Result<bool, RepoError> {
        consume_sso_jti(self.db.conn(), org_id, jti, expires_at, now).await.map_err(unavailable)
    }
}
