//! Ports: what the domain needs from the outside world. Adapters live in `infra`,
//! in-memory doubles in `testkit`.
//!
//! Futures returned by ports are `Send` so that use cases can run on any executor.

// Each area's ports, in their own files, re-exported here.
mod leads;
pub use self::leads::*;
mod intake;
pub use self::intake::*;
mod orders;
pub use self::orders::*;
mod as_claims;
pub use self::as_claims::*;
mod counsel;
pub use self::counsel::*;
mod files;
pub use self::files::*;
mod webhooks;
pub use self::webhooks::*;
mod funnel;
pub use self::funnel::*;
mod medical;
pub use self::medical::*;

use std::future::Future;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::RepoError;
use crate::identity::{MohomId, User, UserQuery};
use crate::pagination::Page;
use crate::reference::{AsReason, Country, OrgKind, Product, ProductQuery, Region};
use crate::service::orgs::{IssuedApiKey, Org, Source};
use crate::service::tokens::{AccessToken, OrgSso, SsoIdentity, TokenGrant, TokenMintError};

/// The current time. Use cases never read the system clock themselves.
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// Read access to reference data.
pub trait ReferenceRepository: Send + Sync {
    /// Regions, ordered as the fixtures list them, optionally one country's.
    fn list_regions(&self, country: Option<Country>) -> impl Future<Output = Result<Vec<Region>, RepoError>> + Send;
    /// Products on sale matching the query, one page of them and the total.
    fn list_products(&self, query: &ProductQuery) -> impl Future<Output = Result<Page<Product>, RepoError>> + Send;
    /// A product whether on sale or not; `None` when it does not exist.
    fn find_product(&self, id: Uuid) -> impl Future<Output = Result<Option<Product>, RepoError>> + Send;
    /// All AS reasons in display order.
    fn list_as_reasons(&self) -> impl Future<Output = Result<Vec<AsReason>, RepoError>> + Send;
}

/// Users, with their personal data encrypted at rest by the adapter.
pub trait UserRepository: Send + Sync {
    /// The user with this `mohomId` in the org, deleted or not.
    fn find(&self, org_id: Uuid, mohom_id: &MohomId) -> impl Future<Output = Result<Option<User>, RepoError>> + Send;
    /// A user by id, deleted or not.
    fn find_by_id(&self, id: Uuid) -> impl Future<Output = Result<Option<User>, RepoError>> + Send;
    /// Inserts a new user; [`RepoError::Conflict`] when the org already has this `mohomId`.
    fn insert(&self, user: &User) -> impl Future<Output = Result<(), RepoError>> + Send;
    /// Replaces the stored user with the same id.
    fn update(&self, user: &User) -> impl Future<Output = Result<(), RepoError>> + Send;
    /// Active users of the org matching the query, one page and the total.
    fn list(&self, org_id: Uuid, query: &UserQuery) -> impl Future<Output = Result<Page<User>, RepoError>> + Send;
    /// A user by id, deleted or not, with its generation now (a token names the
    /// generation it was minted at).
    fn find_for_token(&self, id: Uuid) -> impl Future<Output = Result<Option<(User, i64)>, RepoError>> + Send;
    /// How many leads the user owns now.
    fn owned_leads(&self, user_id: Uuid) -> impl Future<Output = Result<u64, RepoError>> + Send;
}

/// One audited action, for the append-only audit log.
#[derive(Clone)]
pub struct AuditEvent {
    pub org_id: Option<Uuid>,
    /// `key:<id>`, `user:<id>`, `cli` or `system`.
    pub actor: String,
    /// `user.created`, ...
    pub action: &'static str,
    /// `user`, ...
    pub entity: &'static str,
    pub entity_id: Option<String>,
    pub request_id: Option<String>,
    /// What changed (may quote what a person typed: sealed by the adapter).
    pub detail: serde_json::Value,
    pub at: OffsetDateTime,
}

crate::redacting_debug!(AuditEvent {
    show: [org_id, actor, action, entity, entity_id, request_id, at],
    redact: [detail]
});

/// The audit log: entries are appended, never changed.
pub trait AuditLog: Send + Sync {
    fn record(&self, event: &AuditEvent) -> impl Future<Output = Result<(), RepoError>> + Send;
}

/// Partner SSO: an org's settings and the single use of SSO token ids.
pub trait SsoRepository: Send + Sync {
    /// The org's kind and its SSO settings (`None` without an SSO secret); `None` for an
    /// unknown org.
    fn sso_of(&self, org_id: Uuid)
    -> impl Future<Output = Result<Option<(OrgKind, Option<OrgSso>)>, RepoError>> + Send;
    /// Remembers an SSO token id until its token can no longer verify; false when it was
    /// already used (a replay).
    fn consume_sso_jti(
        &self,
        org_id: Uuid,
        jti: &str,
        expires_at: i64,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, RepoError>> + Send;
}

/// Access tokens and the verification of partner-signed SSO tokens (the cryptography
/// stays in the adapter).
pub trait AccessTokens: Send + Sync {
    /// A signed access token for the grant, valid for the configured lifetime.
    ///
    /// # Errors
    /// A signing failure.
    fn mint(&self, grant: &TokenGrant<'_>, now: OffsetDateTime) -> Result<AccessToken, TokenMintError>;
    /// The org an SSO token names in its `iss`, read without verification (to find the
    /// secret that verifies it); `None` when there is none.
    fn sso_issuer(&self, token: &str) -> Option<Uuid>;
    /// What the SSO token says, when it verifies with the org's secret (HS256, `iss` the
    /// org, expiring within 5 minutes, with `sub` and `jti`).
    fn verify_sso(&self, token: &str, org_id: Uuid, secret: &[u8], now: OffsetDateTime) -> Option<SsoIdentity>;
}

/// Organizations, their lead sources and API keys (onboarding). Each write records its
/// audit entry (`actor`) in the same transaction.
pub trait OrgRepository: Send + Sync {
    /// Inserts an org; [`RepoError::Conflict`] when its code is taken.
    fn insert_org(&self, org: &Org, actor: &str) -> impl Future<Output = Result<(), RepoError>> + Send;
    /// Every org, oldest first.
    fn list_orgs(&self) -> impl Future<Output = Result<Vec<Org>, RepoError>> + Send;
    /// Per provider org, how many of its leads are held `DUPLICATE_OTHER_PROVIDER` (orgs
    /// with none are left out).
    fn held_leads_by_provider(&self) -> impl Future<Output = Result<Vec<(Uuid, u64)>, RepoError>> + Send;
    /// The org with this code.
    fn find_org(&self, code: &str) -> impl Future<Output = Result<Option<Org>, RepoError>> + Send;
    /// Inserts a source; [`RepoError::Conflict`] when its code is taken (by any org).
    fn insert_source(&self, source: &Source, actor: &str) -> impl Future<Output = Result<(), RepoError>> + Send;
    /// Issues an API key for the org (all scopes, as `ldbds keys create-api-key`).
    fn issue_api_key(
        &self,
        org_id: Uuid,
        label: &str,
        actor: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<IssuedApiKey, RepoError>> + Send;
}

/// One reveal of plain personal data, for the append-only PII access log.
#[derive(Debug, Clone)]
pub struct PiiAccess {
    pub org_id: Uuid,
    /// The user who saw the data, when a user did.
    pub user_id: Option<Uuid>,
    /// `key:<id>`, `user:<id>` or `cli`.
    pub actor: String,
    /// `lead` or `user`.
    pub subject_kind: &'static str,
    pub subject_id: Uuid,
    /// The revealed fields, e.g. `["name", "phone"]`.
    pub fields: Vec<&'static str>,
    /// `POST /api/v1/leads/{leadId}/use`, ...
    pub endpoint: String,
    pub request_id: Option<String>,
    pub at: OffsetDateTime,
}
