//! Coverage analyses in storage ([`SeaAnalysisRepository`], the port
//! `domain::ports::AnalysisRepository`); issue #17, `funnel.md`.
//!
//! Invariants:
//! - the report (masked name, gender, contracts, summary, table version) is stored only
//!   sealed (`crypto::ANALYSIS_REPORT`, bound to the analysis id); `report` stays `''`;
//! - an analysis and its consents are written in one write transaction;
//! - a read names the org: another org's analysis is absent.

use std::sync::Arc;

use domain::error::RepoError;
use domain::funnel::coverage::{
    Analysis, Category, CategorySummary, Contract, ContractStatus, Coverage, CoverageReport, CoverageStatus, Won,
};
use domain::funnel::identity::Gender;
use domain::funnel::terms::{Consent, THIRD_PARTY_PROVISION};
use domain::ports::AnalysisRepository;
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

use crate::crypto::{ANALYSIS_REPORT, Keyring};
use crate::db::Db;
use crate::db::stmt;
use crate::error::{corrupt, unavailable};
use crate::{from_millis, to_millis};

const TABLE: &str = "coverage_analyses";

/// The sealed JSON of a report (its own shape, so the domain types stay free of it).
#[derive(Serialize, Deserialize)]
struct StoredReport {
    masked_name: String,
    gender: String,
    age: u8,
    table_version: String,
    monthly_premium_total: u64,
    contracts: Vec<StoredContract>,
    summary: Vec<StoredSummary>,
}

#[derive(Serialize, Deserialize)]
struct StoredContract {
    insurer: String,
    product: String,
    contract_date: String,
    status: String,
    monthly_premium: u64,
    coverages: Vec<(String, u64)>,
}

#[derive(Serialize, Deserialize)]
struct StoredSummary {
    category: String,
    held: u64,
    recommended: u64,
    status: String,
}

fn stored(report: &CoverageReport) -> StoredReport {
    StoredReport {
        masked_name: report.masked_name.clone(),
        gender: report.gender.as_str().to_owned(),
        age: report.analysis.age,
        table_version: report.analysis.table_version.clone(),
        monthly_premium_total: report.analysis.monthly_premium_total.0,
        contracts: report
            .contracts
            .iter()
            .map(|c| StoredContract {
                insurer: c.insurer.clone(),
                product: c.product.clone(),
                contract_date: c.contract_date.to_string(),
                status: c.status.code().to_owned(),
                monthly_premium: c.monthly_premium.0,
                coverages: c.coverages.iter().map(|v| (v.category.code().to_owned(), v.amount.0)).collect(),
            })
            .collect(),
        summary: report
            .analysis
            .summary
            .iter()
            .map(|s| StoredSummary {
                category: s.category.code().to_owned(),
                held: s.held.0,
                recommended: s.recommended.0,
                status: s.status.code().to_owned(),
            })
            .collect(),
    }
}

fn category(code: &str) -> Result<Category, String> {
    Category::parse(code).ok_or_else(|| format!("unknown category {code}"))
}

fn restored(s: StoredReport) -> Result<(String, Gender, Vec<Contract>, Analysis), String> {
    let gender = Gender::parse(&s.gender).map_err(|e| e.to_string())?;
    let contracts = s
        .contracts
        .into_iter()
        .map(|c| {
            let status = match c.status.as_str() {
                "ACTIVE" => ContractStatus::Active,
                "LAPSED" => ContractStatus::Lapsed,
                "MATURED" => ContractStatus::Matured,
                other => return Err(format!("unknown contract status {other}")),
            };
            let contract_date =
                Date::parse(&c.contract_date, time::macros::format_description!("[year]-[month]-[day]"))
                    .map_err(|e| e.to_string())?;
            let coverages = c
                .coverages
                .into_iter()
                .map(|(code, amount)| Ok(Coverage { category: category(&code)?, amount: Won(amount) }))
                .collect::<Result<Vec<_>, String>>()?;
            Ok(Contract {
                insurer: c.insurer,
                product: c.product,
                contract_date,
                status,
                monthly_premium: Won(c.monthly_premium),
                coverages,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let summary = s
        .summary
        .into_iter()
        .map(|v| {
            let status = match v.status.as_str() {
                "LACK" => CoverageStatus::Lack,
                "ENOUGH" => CoverageStatus::Enough,
                "EXCESS" => CoverageStatus::Excess,
                other => return Err(format!("unknown coverage status {other}")),
            };
            Ok(CategorySummary {
                category: category(&v.category)?,
                held: Won(v.held),
                recommended: Won(v.recommended),
                status,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let analysis = Analysis {
        summary,
        monthly_premium_total: Won(s.monthly_premium_total),
        table_version: s.table_version,
        age: s.age,
    };
    Ok((s.masked_name, gender, contracts, analysis))
}

/// Every consent given with `parent_id` (an analysis, an NHIS session), at its version
/// and time, in one multi-row insert (a handful: the terms of one purpose) into `table`.
pub(crate) async fn insert_consents(
    txn: &impl ConnectionTrait,
    backend: sea_orm::DbBackend,
    table: &str,
    parent_column: &str,
    parent_id: &str,
    consents: &[Consent],
    at: time::OffsetDateTime,
) -> Result<(), RepoError> {
    if consents.is_empty() {
        return Ok(());
    }
    let mut rows = Vec::with_capacity(consents.len());
    let mut values = Vec::with_capacity(consents.len() * 5);
    for (i, consent) in consents.iter().enumerate() {
        let n = i * 5;
        rows.push(format!("(${}, ${}, ${}, ${}, ${})", n + 1, n + 2, n + 3, n + 4, n + 5));
        values.extend([
            Uuid::now_v7().to_string().into(),
            parent_id.to_owned().into(),
            consent.terms_id.clone().into(),
            consent.version.clone().into(),
            to_millis(at).into(),
        ]);
    }
    let sql = format!(
        "INSERT INTO {table} (id, {parent_column}, terms_id, version, consented_at) VALUES {}",
        rows.join(", ")
    );
    txn.execute_raw(stmt(backend, &sql, values)).await.map_err(unavailable)?;
    Ok(())
}

/// Analyses over the database, their reports sealed by the keyring.
#[derive(Clone)]
pub struct SeaAnalysisRepository {
    db: Db,
    keyring: Arc<Keyring>,
}

impl SeaAnalysisRepository {
    #[must_use]
    pub fn new(db: Db, keyring: Arc<Keyring>) -> Self {
        Self { db, keyring }
    }
}

impl AnalysisRepository for SeaAnalysisRepository {
    async fn store(&self, report: &CoverageReport) -> Result<(), RepoError> {
        let id = report.id.to_string();
        let json = serde_json::to_string(&stored(report)).map_err(|e| RepoError::Unavailable(e.to_string()))?;
        let sealed = ANALYSIS_REPORT.seal(&self.keyring, &id, &json).map_err(|e| corrupt(TABLE, &id, e))?;
        let shares = report.consents.iter().any(|c| c.terms_id == THIRD_PARTY_PROVISION);
        let backend = self.db.backend();
        let txn = self.db.begin_write().await.map_err(unavailable)?;
        txn.execute_raw(stmt(
            backend,
            "INSERT INTO coverage_analyses (id, org_id, verification_id, report, report_enc, report_key_id, \
               shares_with_agents, created_at) VALUES ($1, $2, $3, '', $4, $5, $6, $7)",
            vec![
                id.clone().into(),
                report.org_id.to_string().into(),
                report.verification_id.to_string().into(),
                sealed.envelope.into(),
                sealed.key_id.into(),
                shares.into(),
                to_millis(report.created_at).into(),
            ],
        ))
        .await
        .map_err(unavailable)?;
        insert_consents(&*txn, backend, "analysis_consents", "analysis_id", &id, &report.consents, report.created_at)
            .await?;
        txn.commit().await.map_err(unavailable)
    }

    async fn get(&self, org_id: Uuid, id: Uuid) -> Result<Option<CoverageReport>, RepoError> {
        let key = id.to_string();
        let backend = self.db.backend();
        let row = self
            .db
            .conn()
            .query_one_raw(stmt(
                backend,
                "SELECT verification_id, report, report_enc, created_at FROM coverage_analyses \
                 WHERE id = $1 AND org_id = $2",
                vec![key.clone().into(), org_id.to_string().into()],
            ))
            .await
            .map_err(unavailable)?;
        let Some(row) = row else { return Ok(None) };
        let bad = |e: &dyn std::fmt::Display| corrupt(TABLE, &key, e);
        let envelope: Option<Vec<u8>> = row.try_get("", "report_enc").map_err(|e| bad(&e))?;
        let plain: String = row.try_get("", "report").map_err(|e| bad(&e))?;
        let json = ANALYSIS_REPORT
            .open(&self.keyring, &key, envelope.as_deref(), Some(&plain))
            .map_err(|e| bad(&e))?
            .unwrap_or_default();
        let report: StoredReport = serde_json::from_str(&json).map_err(|e| bad(&e))?;
        let (masked_name, gender, contracts, analysis) = restored(report).map_err(|e| bad(&e))?;
        let verification: String = row.try_get("", "verification_id").map_err(|e| bad(&e))?;
        let created_at: i64 = row.try_get("", "created_at").map_err(|e| bad(&e))?;
        let consents = self
            .db
            .conn()
            .query_all_raw(stmt(
                backend,
                "SELECT terms_id, version FROM analysis_consents WHERE analysis_id = $1 ORDER BY terms_id",
                vec![key.clone().into()],
            ))
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(|r| {
                Ok(Consent {
                    terms_id: r.try_get("", "terms_id").map_err(|e| bad(&e))?,
                    version: r.try_get("", "version").map_err(|e| bad(&e))?,
                })
            })
            .collect::<Result<Vec<_>, RepoError>>()?;
        Ok(Some(CoverageReport {
            id,
            org_id,
            verification_id: Uuid::parse_str(&verification).map_err(|e| bad(&e))?,
            masked_name,
            gender,
            contracts,
            analysis,
            consents,
            created_at: from_millis(created_at),
        }))
    }
}
