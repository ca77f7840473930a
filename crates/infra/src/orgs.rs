//! Organizations and their SSO settings; lead sources and their project mappings.
//!
//! Invariants: an org's SSO secret is stored only encrypted (table `organizations`,
//! column `sso_secret`, bound to the org id); SSO token ids (`jti`) are remembered per org
//! until they expire, so a token is accepted once. A source's project code selects at
//! most one product (`source_projects`, keyed by source and code); an unmapped code
//! selects nothing and the intake falls back to the source's default product.

use domain::reference::OrgKind;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::crypto::{CryptoError, FieldContext, Keyring};
use crate::entities::{organization, sso_token_use};

/// An organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub kind: OrgKind,
}

/// An org's SSO configuration, decrypted.
pub struct OrgSso {
    pub secret: Vec<u8>,
    pub redirect_allowlist: Vec<String>,
    pub default_redirect: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum OrgError {
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("organization row {0} is corrupted")]
    Corrupt(String),
}

fn sso_ctx(id: &str) -> FieldContext<'_> {
    FieldContext { table: "organizations", column: "sso_secret", row_id: id }
}

fn to_org(row: &organization::Model) -> Result<Org, OrgError> {
    Ok(Org {
        id: row.id.parse().map_err(|_| OrgError::Corrupt(row.id.clone()))?,
        code: row.code.clone(),
        name: row.name.clone(),
        kind: row.kind.parse().map_err(|_| OrgError::Corrupt(row.id.clone()))?,
    })
}

/// # Errors
/// The driver's error or a corrupted row.
pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<Org>, OrgError> {
    let row = organization::Entity::find_by_id(id.to_string()).one(conn).await?;
    row.as_ref().map(to_org).transpose()
}

/// # Errors
/// The driver's error or a corrupted row.
pub async fn find_by_code(conn: &impl ConnectionTrait, code: &str) -> Result<Option<Org>, OrgError> {
    let row = organization::Entity::find().filter(organization::Column::Code.eq(code)).one(conn).await?;
    row.as_ref().map(to_org).transpose()
}

/// Sets an org's SSO secret (encrypted), redirect allow-list and default redirect.
///
/// # Errors
/// Encryption or the driver's error.
pub async fn set_sso(
    conn: &impl ConnectionTrait,
    keyring: &Keyring,
    org_id: Uuid,
    secret: &[u8],
    allowlist: &[String],
    default_redirect: Option<&str>,
) -> Result<(), OrgError> {
    let id = org_id.to_string();
    let sealed = keyring.encrypt(secret, &sso_ctx(&id))?;
    organization::Entity::update_many()
        .col_expr(organization::Column::SsoSecretEnc, Expr::value(sealed))
        .col_expr(organization::Column::SsoRedirectAllowlist, Expr::value(allowlist.join("\n")))
        .col_expr(organization::Column::SsoDefaultRedirect, Expr::value(default_redirect.map(str::to_owned)))
        .filter(organization::Column::Id.eq(id.as_str()))
        .exec(conn)
        .await?;
    Ok(())
}

/// An org's SSO configuration, or `None` when it has no SSO secret.
///
/// # Errors
/// Decryption (a tampered or retired-key secret) or the driver's error.
pub async fn sso(conn: &impl ConnectionTrait, keyring: &Keyring, org_id: Uuid) -> Result<Option<OrgSso>, OrgError> {
    let id = org_id.to_string();
    let Some(row) = organization::Entity::find_by_id(id.clone()).one(conn).await? else { return Ok(None) };
    let Some(sealed) = row.sso_secret_enc else { return Ok(None) };
    let secret = keyring.decrypt(&sealed, &sso_ctx(&id))?;
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

/// A lead source: its org and default product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub id: Uuid,
    pub code: String,
    pub org_id: Uuid,
    pub default_product_id: Option<Uuid>,
}

/// A source by its code (the intake's `source` header).
///
/// # Errors
/// The driver's error or a corrupted row.
pub async fn find_source(conn: &impl ConnectionTrait, code: &str) -> Result<Option<Source>, OrgError> {
    use crate::entities::source;
    let Some(row) = source::Entity::find().filter(source::Column::Code.eq(code)).one(conn).await? else {
        return Ok(None);
    };
    let bad = || OrgError::Corrupt(row.id.clone());
    Ok(Some(Source {
        id: row.id.parse().map_err(|_| bad())?,
        code: row.code.clone(),
        org_id: row.org_id.parse().map_err(|_| bad())?,
        default_product_id: row.default_product_id.as_deref().map(str::parse).transpose().map_err(|_| bad())?,
    }))
}

/// The product a source's project code selects (`source_projects`), when that code is
/// mapped for that source. Codes are compared exactly (the caller trims them).
///
/// # Errors
/// The driver's error or a corrupted row.
pub async fn product_for_project(
    conn: &impl ConnectionTrait,
    source_id: Uuid,
    code: &str,
) -> Result<Option<Uuid>, OrgError> {
    use crate::entities::source_project;
    let key = (source_id.to_string(), code.to_owned());
    let Some(row) = source_project::Entity::find_by_id(key).one(conn).await? else { return Ok(None) };
    row.product_id
        .parse()
        .map(Some)
        .map_err(|_| OrgError::Corrupt(format!("source_projects/{}/{}", row.source_id, row.project_code)))
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
        .await
        .map(|_| ())
}
