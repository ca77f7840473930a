//! Ports: what the domain needs from the outside world. Adapters live in `infra`,
//! in-memory doubles in `testkit`.
//!
//! Futures returned by ports are `Send` so that use cases can run on any executor.

// Each area's ports, in their own files, re-exported here.
mod leads;
#[allow(unused_imports)] // until the area fills it; removed at merge
pub use self::leads::*;
mod intake;
#[allow(unused_imports)] // until the area fills it; removed at merge
pub use self::intake::*;
mod orders;
#[allow(unused_imports)] // until the area fills it; removed at merge
pub use self::orders::*;
mod as_claims;
#[allow(unused_imports)] // until the area fills it; removed at merge
pub use self::as_claims::*;
mod counsel;
pub use self::counsel::*;
mod files;
#[allow(unused_imports)] // until the area fills it; removed at merge
pub use self::files::*;

use std::future::Future;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::RepoError;
use crate::identity::{MohomId, User, UserQuery};
use crate::pagination::Page;
use crate::reference::{AsReason, Country, Product, ProductQuery, Region};
use crate::service::orgs::{IssuedApiKey, Org, Source};

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
