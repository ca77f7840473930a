//! Reference and demo data from `fixtures/`, compiled into the binary.
//!
//! Invariants:
//! - loading is idempotent: rows are matched by their natural key (`code`), existing
//!   rows are updated in place and keep their ids;
//! - the reference set (regions, AS reasons) is what every deployment needs; the demo
//!   set (orgs, the `TCB` source, products, API keys) is for a first look and tests;
//! - an org gets a demo API key only when it has none, so a key is printed once;
//! - a source's `projects` (project code = product code) are upserted under the source's
//!   stored id; mappings absent from the file are left alone (an operator may add more).

use std::collections::{BTreeMap, HashMap};

use domain::money::Money;
use domain::reference::{
    AllocationPolicy, AsPolicy, AsPolicyParts, AsReasonCode, AsWindowStart, Compensation, Country, OrgKind, Product,
};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use serde::Deserialize;
use thiserror::Error;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::api_keys::{self, ApiKeyError};
use crate::audit::{self, AuditEntry};
use crate::db::Db;
use crate::entities::{as_reason, organization, region, source};
use crate::to_millis;

const REGIONS: &str = include_str!("../../../fixtures/regions.toml");
const AS_REASONS: &str = include_str!("../../../fixtures/as_reasons.toml");
const DEMO: &str = include_str!("../../../fixtures/demo.toml");

#[derive(Debug, Error)]
pub enum FixtureError {
    #[error("fixture {file}: {reason}")]
    Invalid { file: &'static str, reason: String },
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Key(#[from] ApiKeyError),
}

fn invalid(file: &'static str, reason: impl ToString) -> FixtureError {
    FixtureError::Invalid { file, reason: reason.to_string() }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionFile {
    region: Vec<RegionRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionRow {
    code: String,
    name: String,
    country: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonFile {
    reason: Vec<ReasonRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonRow {
    code: String,
    label: String,
    requires_evidence: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoFile {
    organization: Vec<OrgRow>,
    source: Vec<SourceRow>,
    product: Vec<ProductRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrgRow {
    code: String,
    name: String,
    kind: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceRow {
    code: String,
    name: String,
    org: String,
    default_product: Option<String>,
    /// Project code -> product code: the codes that select a product for this source.
    #[serde(default)]
    projects: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductRow {
    code: String,
    name: String,
    category: String,
    unit_price: String,
    prices_exclude_vat: bool,
    allocation_policy: String,
    time_zone: String,
    duplicate_window_hours: u32,
    on_sale: bool,
    as_policy: PolicyRow,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyRow {
    window_hours: u32,
    window_starts_from: String,
    allowed_reasons: Vec<String>,
    evidence_required: Vec<String>,
    max_rate_percent: u8,
    compensation: String,
    auto_approve: bool,
}

fn parse_policy(file: &'static str, p: &PolicyRow) -> Result<AsPolicy, FixtureError> {
    let codes = |list: &[String]| -> Result<Vec<AsReasonCode>, FixtureError> {
        list.iter().map(|c| c.parse().map_err(|e| invalid(file, e))).collect()
    };
    AsPolicy::new(AsPolicyParts {
        window_hours: p.window_hours,
        window_starts_from: p.window_starts_from.parse::<AsWindowStart>().map_err(|e| invalid(file, e))?,
        allowed_reasons: codes(&p.allowed_reasons)?,
        evidence_required: codes(&p.evidence_required)?,
        max_rate_percent: p.max_rate_percent,
        compensation: p.compensation.parse::<Compensation>().map_err(|e| invalid(file, e))?,
        auto_approve: p.auto_approve,
    })
    .map_err(|e| invalid(file, e))
}

/// Counts of what a load wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub regions: usize,
    pub as_reasons: usize,
    pub organizations: usize,
    pub sources: usize,
    pub products: usize,
    /// Keys created by this load: (org code, plaintext key). Shown once.
    pub new_keys: Vec<(String, String)>,
}

/// Loads the regions and AS reasons (upsert by code).
///
/// # Errors
/// A malformed fixture or the driver's error; nothing is written on error.
pub async fn seed_reference(db: &Db) -> Result<SeedReport, FixtureError> {
    let regions: RegionFile = toml::from_str(REGIONS).map_err(|e| invalid("regions.toml", e))?;
    let reasons: ReasonFile = toml::from_str(AS_REASONS).map_err(|e| invalid("as_reasons.toml", e))?;
    let txn = db.begin_write().await?;
    for (order, row) in regions.region.iter().enumerate() {
        row.country.parse::<Country>().map_err(|e| invalid("regions.toml", e))?;
        let model = region::ActiveModel {
            code: Set(row.code.clone()),
            name: Set(row.name.clone()),
            country: Set(row.country.clone()),
            sort_order: Set(i32::try_from(order).unwrap_or(i32::MAX)),
        };
        region::Entity::insert(model)
            .on_conflict(
                OnConflict::column(region::Column::Code)
                    .update_columns([region::Column::Name, region::Column::Country, region::Column::SortOrder])
                    .to_owned(),
            )
            .exec_without_returning(&*txn)
            .await?;
    }
    for (order, row) in reasons.reason.iter().enumerate() {
        row.code.parse::<AsReasonCode>().map_err(|e| invalid("as_reasons.toml", e))?;
        let model = as_reason::ActiveModel {
            code: Set(row.code.clone()),
            label: Set(row.label.clone()),
            requires_evidence: Set(row.requires_evidence),
            sort_order: Set(i32::try_from(order).unwrap_or(i32::MAX)),
        };
        as_reason::Entity::insert(model)
            .on_conflict(
                OnConflict::column(as_reason::Column::Code)
                    .update_columns([
                        as_reason::Column::Label,
                        as_reason::Column::RequiresEvidence,
                        as_reason::Column::SortOrder,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&*txn)
            .await?;
    }
    crate::invalidation::notify(&*txn, crate::invalidation::Change::Reference).await?;
    txn.commit().await?;
    crate::invalidation::reference_changed();
    Ok(SeedReport { regions: regions.region.len(), as_reasons: reasons.reason.len(), ..SeedReport::default() })
}

/// Loads the reference set and the demo set, and creates an API key for each demo org
/// that has none yet.
///
/// # Errors
/// A malformed fixture or the driver's error; nothing of the demo set is written on error.
pub async fn seed_demo(db: &Db, now: OffsetDateTime) -> Result<SeedReport, FixtureError> {
    let mut report = seed_reference(db).await?;
    let demo: DemoFile = toml::from_str(DEMO).map_err(|e| invalid("demo.toml", e))?;
    let txn = db.begin_write().await?;
    let now_ms = to_millis(now);

    let mut org_ids: HashMap<String, Uuid> = HashMap::new();
    for row in &demo.organization {
        row.kind.parse::<OrgKind>().map_err(|e| invalid("demo.toml", e))?;
        let existing =
            organization::Entity::find().filter(organization::Column::Code.eq(row.code.as_str())).one(&*txn).await?;
        let id = match existing {
            Some(org) => {
                let id = org.id.parse::<Uuid>().map_err(|e| invalid("demo.toml", e))?;
                let mut active: organization::ActiveModel = org.into();
                active.name = Set(row.name.clone());
                active.kind = Set(row.kind.clone());
                organization::Entity::update(active).exec(&*txn).await?;
                id
            }
            None => {
                let id = domain::ids::new_id();
                let model = organization::ActiveModel {
                    id: Set(id.to_string()),
                    code: Set(row.code.clone()),
                    name: Set(row.name.clone()),
                    kind: Set(row.kind.clone()),
                    created_at: Set(now_ms),
                    ..Default::default()
                };
                organization::Entity::insert(model).exec_without_returning(&*txn).await?;
                id
            }
        };
        org_ids.insert(row.code.clone(), id);
    }

    let mut product_ids: HashMap<String, String> = HashMap::new();
    for row in &demo.product {
        let policy = parse_policy("demo.toml", &row.as_policy)?;
        let price: Money = row.unit_price.parse().map_err(|e| invalid("demo.toml", e))?;
        let product = Product {
            id: domain::ids::new_id(),
            code: row.code.clone(),
            name: row.name.clone(),
            category: row.category.clone(),
            unit_price: price,
            prices_exclude_vat: row.prices_exclude_vat,
            allocation_policy: row
                .allocation_policy
                .parse::<AllocationPolicy>()
                .map_err(|e| invalid("demo.toml", e))?,
            time_zone: row.time_zone.clone(),
            duplicate_window_hours: row.duplicate_window_hours,
            on_sale: row.on_sale,
            as_policy: policy,
        };
        let stored_id = crate::reference::upsert_product(&*txn, &product, now).await.map_err(|e| match e {
            crate::reference::SaveError::Db(e) => FixtureError::Db(e),
            other => invalid("demo.toml", other),
        })?;
        product_ids.insert(row.code.clone(), stored_id.to_string());
    }

    for row in &demo.source {
        let org_id = org_ids.get(&row.org).ok_or_else(|| invalid("demo.toml", format!("unknown org {}", row.org)))?;
        let default_product = match &row.default_product {
            Some(code) => Some(
                product_ids
                    .get(code)
                    .cloned()
                    .ok_or_else(|| invalid("demo.toml", format!("unknown product {code}")))?,
            ),
            None => None,
        };
        let model = source::ActiveModel {
            id: Set(domain::ids::new_id().to_string()),
            code: Set(row.code.clone()),
            org_id: Set(org_id.to_string()),
            name: Set(row.name.clone()),
            default_product_id: Set(default_product),
            created_at: Set(now_ms),
        };
        source::Entity::insert(model)
            .on_conflict(
                OnConflict::column(source::Column::Code)
                    .update_columns([source::Column::OrgId, source::Column::Name, source::Column::DefaultProductId])
                    .to_owned(),
            )
            .exec_without_returning(&*txn)
            .await?;
        if row.projects.is_empty() {
            continue;
        }
        // On conflict the source keeps its first id: read it back rather than trust ours.
        let stored = source::Entity::find()
            .filter(source::Column::Code.eq(row.code.as_str()))
            .one(&*txn)
            .await?
            .ok_or_else(|| invalid("demo.toml", format!("source {} vanished", row.code)))?;
        let source_id = stored.id.parse::<Uuid>().map_err(|e| invalid("demo.toml", e))?;
        for (project, product) in &row.projects {
            let product_id = product_ids
                .get(product)
                .ok_or_else(|| invalid("demo.toml", format!("unknown product {product}")))?
                .parse::<Uuid>()
                .map_err(|e| invalid("demo.toml", e))?;
            crate::orgs::map_project(&*txn, source_id, project, product_id).await?;
        }
    }

    for row in &demo.organization {
        let Some(org_id) = org_ids.get(&row.code).copied() else { continue };
        if api_keys::count_for_org(&*txn, org_id).await? == 0 {
            let key = api_keys::issue(&*txn, org_id, "demo", &["*"], now).await?;
            // The keys are not loaded yet: the entry carries no detail to seal.
            audit::record_without_detail(
                &*txn,
                AuditEntry {
                    org_id: Some(org_id),
                    actor: "system",
                    action: "api_key.created",
                    entity: "api_key",
                    entity_id: Some(&key.id.to_string()),
                    request_id: None,
                    detail: serde_json::Value::Null,
                },
                now,
            )
            .await?;
            report.new_keys.push((row.code.clone(), key.plaintext));
        }
    }
    crate::invalidation::notify(&*txn, crate::invalidation::Change::Reference).await?;
    txn.commit().await?;
    // Sources and products changed: reloaded from what is now committed.
    crate::invalidation::reference_changed();
    report.organizations = demo.organization.len();
    report.sources = demo.source.len();
    report.products = demo.product.len();
    Ok(report)
}

/// The id of an org by its code (demo and CLI use).
///
/// # Errors
/// The driver's error.
pub async fn org_id_by_code(conn: &impl ConnectionTrait, code: &str) -> Result<Option<Uuid>, DbErr> {
    let row = organization::Entity::find().filter(organization::Column::Code.eq(code)).one(conn).await?;
    Ok(row.and_then(|r| r.id.parse().ok()))
}

/// The id of a product by its code.
///
/// # Errors
/// The driver's error.
pub async fn product_id_by_code(conn: &impl ConnectionTrait, code: &str) -> Result<Option<Uuid>, DbErr> {
    use crate::entities::product;
    let row = product::Entity::find().filter(product::Column::Code.eq(code)).one(conn).await?;
    Ok(row.and_then(|r| r.id.parse().ok()))
}
