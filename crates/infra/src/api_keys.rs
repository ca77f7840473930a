//! API keys: `ldb_live_<prefix>_<secret>`, 32 random bytes of secret, shown once.
//!
//! Invariants:
//! - only the SHA-256 of the whole key is stored; the plaintext exists only in the
//!   return value of [`issue`];
//! - a revoked key, an unknown prefix and a wrong secret all authenticate as `None`
//!   alike;
//! - authentication writes nothing: `last_used_at` is written behind, for many keys in one
//!   statement ([`write_last_used`], driven by `crate::principal_cache`), and never moves
//!   back;
//! - a revocation drops the key from this process's caches at once and, on PostgreSQL,
//!   notifies the other nodes in the same statement ([`revoke`]);
//! - a key holds scopes from [`SCOPES`] only (checked at issue): `*` (everything) or the
//!   areas it may call; the API refuses a route outside them (`INSUFFICIENT_SCOPE`), for
//!   the key itself and for every Bearer token it minted.

use ring::digest::{self as sha, SHA256};
use ring::rand::{SecureRandom, SystemRandom};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use thiserror::Error;
use time::OffsetDateTime;
use uuid::Uuid;

use domain::reference::OrgKind;

use crate::entities::{api_key, organization};
use crate::to_millis;

const KEY_PREFIX: &str = "ldb_live_";

/// The scopes a key may hold: `*` is every area; each other one is an area of the API
/// (`reference`: products, regions, AS reasons; `tokens`: minting user tokens; `leads`;
/// `orders`; `as`: AS requests and their evidence files; `users`; `counsel`; `intake`: the
/// source endpoints under `/lead-platform`; `orgs`: partner onboarding).
pub const SCOPES: &[&str] =
    &["*", "reference", "tokens", "leads", "orders", "as", "users", "counsel", "intake", "orgs", "webhooks", "funnel"];

#[derive(Debug, Error)]
pub enum ApiKeyError {
    #[error("the system random generator failed")]
    Random,
    #[error(
        "unknown scope `{0}`; a key's scopes are some of: *, reference, tokens, leads, orders, as, users, counsel, intake, orgs, webhooks"
    )]
    UnknownScope(String),
    #[error("a key needs at least one scope")]
    NoScope,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// A key just created; `plaintext` is shown to its owner once and never stored (nor
/// printed by `Debug`).
#[derive(Clone)]
pub struct IssuedKey {
    pub id: Uuid,
    pub org_id: Uuid,
    pub plaintext: String,
}

domain::redacting_debug!(IssuedKey { show: [id, org_id], redact: [plaintext] });

/// Who a valid key speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPrincipal {
    pub key_id: Uuid,
    pub org_id: Uuid,
    pub org_code: String,
    pub org_kind: OrgKind,
    pub scopes: Vec<String>,
}

impl KeyPrincipal {
    /// True when the key holds `scope` or `*`.
    #[must_use]
    pub fn allows(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == "*" || s == scope)
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

fn sha256_hex(text: &str) -> String {
    hex(sha::digest(&SHA256, text.as_bytes()).as_ref())
}

/// Creates a key for an org.
///
/// # Errors
/// [`ApiKeyError::UnknownScope`] or [`ApiKeyError::NoScope`] (nothing written);
/// [`ApiKeyError::Random`] if the OS random source fails, else the driver's error.
pub async fn issue(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    label: &str,
    scopes: &[&str],
    now: OffsetDateTime,
) -> Result<IssuedKey, ApiKeyError> {
    if let Some(unknown) = scopes.iter().find(|s| !SCOPES.contains(s)) {
        return Err(ApiKeyError::UnknownScope((*unknown).to_owned()));
    }
    if scopes.is_empty() {
        return Err(ApiKeyError::NoScope);
    }
    let rng = SystemRandom::new();
    let mut prefix = [0u8; 6];
    let mut secret = [0u8; 32];
    rng.fill(&mut prefix).map_err(|_| ApiKeyError::Random)?;
    rng.fill(&mut secret).map_err(|_| ApiKeyError::Random)?;
    let prefix = hex(&prefix);
    let plaintext = format!("{KEY_PREFIX}{prefix}_{}", hex(&secret));
    let id = domain::ids::new_id();
    let row = api_key::ActiveModel {
        id: Set(id.to_string()),
        org_id: Set(org_id.to_string()),
        prefix: Set(prefix),
        secret_sha256: Set(sha256_hex(&plaintext)),
        label: Set(label.to_owned()),
        scopes: Set(scopes.join(",")),
        created_at: Set(to_millis(now)),
        revoked_at: Set(None),
        last_used_at: Set(None),
    };
    api_key::Entity::insert(row).exec_without_returning(conn).await?;
    Ok(IssuedKey { id, org_id, plaintext })
}

/// True when `presented` has the shape of a key (`ldb_live_`, 12 hex digits, `_`): what
/// is not is refused without a look at the database or the caches.
#[must_use]
pub fn well_formed(presented: &str) -> bool {
    prefix_of(presented).is_some()
}

fn prefix_of(presented: &str) -> Option<&str> {
    let rest = presented.strip_prefix(KEY_PREFIX)?;
    let (prefix, _secret) = rest.split_once('_')?;
    (prefix.len() == 12 && prefix.bytes().all(|b| b.is_ascii_hexdigit())).then_some(prefix)
}

/// The SHA-256 (hex) of a whole presented key: what is stored, and what the principal
/// cache finds a key by.
#[must_use]
pub fn digest(presented: &str) -> String {
    sha256_hex(presented)
}

/// Resolves a presented key to its principal in one read (the key with its org); `None`
/// for anything that is not a live key. Writes nothing: its use is noted by the caller
/// (`PrincipalCache`) and written behind ([`write_last_used`]).
///
/// # Errors
/// The driver's error only.
pub async fn lookup(conn: &impl ConnectionTrait, presented: &str) -> Result<Option<KeyPrincipal>, DbErr> {
    let Some(prefix) = prefix_of(presented) else { return Ok(None) };
    let Some((key, org)) = api_key::Entity::find()
        .filter(api_key::Column::Prefix.eq(prefix))
        .find_also_related(organization::Entity)
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let Some(org) = org else { return Ok(None) };
    // Comparing digests, not secrets: timing reveals at most how many leading hex digits of
    // a SHA-256 match, which gives no way to a preimage.
    let stored_matches = key.secret_sha256 == sha256_hex(presented);
    if !stored_matches || key.revoked_at.is_some() {
        return Ok(None);
    }
    principal(key, org).map(Some)
}

/// Writes the last use of many keys in one statement (`UPDATE … FROM (VALUES …)` on
/// PostgreSQL, a `CASE` on SQLite); a `last_used_at` never moves back. Returns the rows
/// updated. An empty list sends nothing.
///
/// # Errors
/// The driver's error.
pub async fn write_last_used(conn: &impl ConnectionTrait, uses: &[(Uuid, i64)]) -> Result<u64, DbErr> {
    use sea_orm::{DbBackend, Statement, Value};
    if uses.is_empty() {
        return Ok(0);
    }
    let mut values: Vec<Value> = Vec::with_capacity(uses.len() * 2);
    let sql = match conn.get_database_backend() {
        DbBackend::Postgres => {
            let rows: Vec<String> =
                (0..uses.len()).map(|i| format!("(${}, ${}::bigint)", 2 * i + 1, 2 * i + 2)).collect();
            for (id, at) in uses {
                values.push(id.to_string().into());
                values.push((*at).into());
            }
            format!(
                "UPDATE api_keys AS k SET last_used_at = v.t FROM (VALUES {}) AS v(id, t) \
                 WHERE k.id = v.id AND (k.last_used_at IS NULL OR k.last_used_at < v.t)",
                rows.join(", ")
            )
        }
        _ => {
            let whens = vec!["WHEN ? THEN ?"; uses.len()].join(" ");
            let ids = vec!["?"; uses.len()].join(", ");
            for (id, at) in uses {
                values.push(id.to_string().into());
                values.push((*at).into());
            }
            for (id, _) in uses {
                values.push(id.to_string().into());
            }
            format!(
                "UPDATE api_keys SET last_used_at = max(coalesce(last_used_at, 0), CASE id {whens} END) \
                 WHERE id IN ({ids})"
            )
        }
    };
    let stmt = Statement::from_sql_and_values(conn.get_database_backend(), sql, values);
    conn.execute_raw(stmt).await.map(|r| r.rows_affected())
}

fn principal(key: api_key::Model, org: organization::Model) -> Result<KeyPrincipal, DbErr> {
    let (Ok(key_id), Ok(org_id), Ok(org_kind)) =
        (key.id.parse::<Uuid>(), org.id.parse::<Uuid>(), org.kind.parse::<OrgKind>())
    else {
        return Err(DbErr::Custom(format!("api key {} has a corrupted row", key.id)));
    };
    let scopes = key.scopes.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect();
    Ok(KeyPrincipal { key_id, org_id, org_code: org.code, org_kind, scopes })
}

/// The principal of a live (unrevoked) key by its id, in one read; `None` when the key is
/// revoked or unknown. A Bearer token names the key that minted it, and this is what it
/// is checked against on every request.
///
/// # Errors
/// The driver's error only.
pub async fn live_by_id(conn: &impl ConnectionTrait, key_id: Uuid) -> Result<Option<KeyPrincipal>, DbErr> {
    let found = api_key::Entity::find_by_id(key_id.to_string())
        .filter(api_key::Column::RevokedAt.is_null())
        .find_also_related(organization::Entity)
        .one(conn)
        .await?;
    match found {
        Some((key, Some(org))) => principal(key, org).map(Some),
        _ => Ok(None),
    }
}

/// Revokes a key; returns false when no live key has this id. The key's cached principal
/// is dropped in this process at once, and on PostgreSQL the same statement notifies the
/// other nodes ([`crate::invalidation`]).
///
/// # Errors
/// The driver's error.
pub async fn revoke(conn: &impl ConnectionTrait, key_id: Uuid, now: OffsetDateTime) -> Result<bool, DbErr> {
    use sea_orm::QueryTrait;
    let update = api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAt, Expr::value(to_millis(now)))
        .filter(api_key::Column::Id.eq(key_id.to_string()))
        .filter(api_key::Column::RevokedAt.is_null())
        .build(conn.get_database_backend());
    let revoked = crate::invalidation::exec_notifying(conn, update, "key").await?;
    crate::invalidation::key_changed(key_id);
    Ok(revoked == 1)
}

/// How many keys an org has (live or revoked).
///
/// # Errors
/// The driver's error.
pub async fn count_for_org(conn: &impl ConnectionTrait, org_id: Uuid) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    api_key::Entity::find().filter(api_key::Column::OrgId.eq(org_id.to_string())).count(conn).await
}
