//! Medical analyses and NHIS sessions in storage ([`SeaMedicalRepository`], the port
//! `domain::ports::MedicalRepository`); issue #17, `funnel.md` 모홈 메디컬보장분석.
//!
//! Invariants:
//! - health data is stored only sealed: a session's provider handle
//!   (`crypto::HEALTH_AUTH_REFERENCE`) and an analysis's report (check-ups, flags,
//!   recommendations, the masked person: `crypto::MEDICAL_REPORT`), each bound to its
//!   row id; the plaintext columns stay `''`;
//! - a session and its consents are written in one write transaction;
//! - a read names the org: another org's row is absent;
//! - the purge deletes, in one write transaction, every analysis and session (with its
//!   consents) whose `purge_after` has come, and every identity verification created
//!   before the cut-off.

use std::sync::Arc;

use domain::error::RepoError;
use domain::funnel::coverage::{Category, CoverageStatus, Won};
use domain::funnel::health::{HealthSession, MedicalReport, Purged};
use domain::funnel::identity::Gender;
use domain::funnel::medical::{
    AuthProvider, AuthStatus, Checkup, Judgement, Measure, MedicalAnalysis, Recommendation, RiskFlag, RiskKind,
};
use domain::funnel::terms::Consent;
use domain::ports::MedicalRepository;
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, QueryResult};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::crypto::{HEALTH_AUTH_REFERENCE, Keyring, MEDICAL_REPORT};
use crate::db::{Db, stmt};
use crate::error::{corrupt, unavailable};
use crate::{from_millis, to_millis};

const SESSIONS: &str = "health_auth_sessions";
const ANALYSES: &str = "medical_analyses";

/// The sealed JSON of a medical report (its own shape, so the domain types stay free
/// of serde).
#[derive(Serialize, Deserialize)]
struct StoredReport {
    masked_name: String,
    gender: String,
    age: u8,
    checkups: Vec<StoredCheckup>,
    flags: Vec<StoredFlag>,
    recommendations: Vec<StoredRecommendation>,
    latest_year: Option<i32>,
}

#[derive(Serialize, Deserialize)]
struct StoredCheckup {
    year: i32,
    date: String,
    values: Vec<(String, String)>,
}

#[derive(Serialize, Deserialize)]
struct StoredFlag {
    kind: String,
    level: String,
    measures: Vec<(String, String)>,
    year: i32,
}

#[derive(Serialize, Deserialize)]
struct StoredRecommendation {
    rank: u8,
    category: String,
    status: String,
    gap: u64,
    score: u32,
    reasons: Vec<String>,
}

fn values_out(values: &[(Measure, Decimal)]) -> Vec<(String, String)> {
    values.iter().map(|(m, v)| (m.code().to_owned(), v.to_string())).collect()
}

fn values_in(values: Vec<(String, String)>) -> Result<Vec<(Measure, Decimal)>, String> {
    values
        .into_iter()
        .map(|(code, value)| {
            let measure = Measure::parse(&code).ok_or_else(|| format!("unknown measure {code}"))?;
            let value = value.parse::<Decimal>().map_err(|e| e.to_string())?;
            Ok((measure, value))
        })
        .collect()
}

fn stored(report: &MedicalReport) -> StoredReport {
    StoredReport {
        masked_name: report.masked_name.clone(),
        gender: report.gender.as_str().to_owned(),
        age: report.age,
        checkups: report
            .checkups
            .iter()
            .map(|c| StoredCheckup { year: c.year, date: c.date.to_string(), values: values_out(&c.values) })
            .collect(),
        flags: report
            .analysis
            .flags
            .iter()
            .map(|f| StoredFlag {
                kind: f.kind.code().to_owned(),
                level: f.level.code().to_owned(),
                measures: values_out(&f.measures),
                year: f.year,
            })
            .collect(),
        recommendations: report
            .analysis
            .recommendations
            .iter()
            .map(|r| StoredRecommendation {
                rank: r.rank,
                category: r.category.code().to_owned(),
                status: r.status.code().to_owned(),
                gap: r.gap.0,
                score: r.score,
                reasons: r.reasons.iter().map(|k| k.code().to_owned()).collect(),
            })
            .collect(),
        latest_year: report.analysis.latest_year,
    }
}

fn coverage_status(code: &str) -> Result<CoverageStatus, String> {
    match code {
        "LACK" => Ok(CoverageStatus::Lack),
        "ENOUGH" => Ok(CoverageStatus::Enough),
        "EXCESS" => Ok(CoverageStatus::Excess),
        other => Err(format!("unknown coverage status {other}")),
    }
}

/// The parts of a report its JSON holds.
struct Restored {
    masked_name: String,
    gender: Gender,
    age: u8,
    checkups: Vec<Checkup>,
    analysis: MedicalAnalysis,
}

fn restored(s: StoredReport) -> Result<Restored, String> {
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    let checkups = s
        .checkups
        .into_iter()
        .map(|c| {
            Ok(Checkup {
                year: c.year,
                date: Date::parse(&c.date, date_format).map_err(|e| e.to_string())?,
                values: values_in(c.values)?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let flags = s
        .flags
        .into_iter()
        .map(|f| {
            Ok(RiskFlag {
                kind: RiskKind::parse(&f.kind).ok_or_else(|| format!("unknown risk {}", f.kind))?,
                level: Judgement::parse(&f.level).ok_or_else(|| format!("unknown level {}", f.level))?,
                measures: values_in(f.measures)?,
                year: f.year,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let recommendations = s
        .recommendations
        .into_iter()
        .map(|r| {
            Ok(Recommendation {
                rank: r.rank,
                category: Category::parse(&r.category).ok_or_else(|| format!("unknown category {}", r.category))?,
                status: coverage_status(&r.status)?,
                gap: Won(r.gap),
                score: r.score,
                reasons: r
                    .reasons
                    .iter()
                    .map(|k| RiskKind::parse(k).ok_or_else(|| format!("unknown risk {k}")))
                    .collect::<Result<Vec<_>, String>>()?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Restored {
        masked_name: s.masked_name,
        gender: Gender::parse(&s.gender).map_err(|e| e.to_string())?,
        age: s.age,
        checkups,
        analysis: MedicalAnalysis { flags, recommendations, latest_year: s.latest_year },
    })
}

/// Medical analyses and sessions over the database, sealed by the keyring.
#[derive(Clone)]
pub struct SeaMedicalRepository {
    db: Db,
    keyring: Arc<Keyring>,
}

impl SeaMedicalRepository {
    #[must_use]
    pub fn new(db: Db, keyring: Arc<Keyring>) -> Self {
        Self { db, keyring }
    }

    fn session_of(&self, row: &QueryResult, org_id: Uuid, id: Uuid) -> Result<HealthSession, RepoError> {
        let key = id.to_string();
        let bad = |e: &dyn std::fmt::Display| corrupt(SESSIONS, &key, e);
        let get_str = |col: &str| -> Result<String, RepoError> { row.try_get("", col).map_err(|e| bad(&e)) };
        let get_ms = |col: &str| -> Result<i64, RepoError> { row.try_get("", col).map_err(|e| bad(&e)) };
        let envelope: Option<Vec<u8>> = row.try_get("", "reference_enc").map_err(|e| bad(&e))?;
        let plain = get_str("reference")?;
        let reference = HEALTH_AUTH_REFERENCE
            .open(&self.keyring, &key, envelope.as_deref(), Some(&plain))
            .map_err(|e| bad(&e))?
            .unwrap_or_default();
        let provider = get_str("provider")?;
        let status = get_str("status")?;
        let approved_at: Option<i64> = row.try_get("", "approved_at").map_err(|e| bad(&e))?;
        Ok(HealthSession {
            id,
            org_id,
            verification_id: Uuid::parse_str(&get_str("verification_id")?).map_err(|e| bad(&e))?,
            provider: AuthProvider::parse(&provider).ok_or_else(|| bad(&format!("unknown provider {provider}")))?,
            reference,
            status: AuthStatus::parse(&status).ok_or_else(|| bad(&format!("unknown status {status}")))?,
            created_at: from_millis(get_ms("created_at")?),
            expires_at: from_millis(get_ms("expires_at")?),
            approved_at: approved_at.map(from_millis),
            purge_after: from_millis(get_ms("purge_after")?),
        })
    }
}

impl MedicalRepository for SeaMedicalRepository {
    async fn open_session(&self, session: &HealthSession, consents: &[Consent]) -> Result<(), RepoError> {
        let id = session.id.to_string();
        let sealed = HEALTH_AUTH_REFERENCE
            .seal(&self.keyring, &id, &session.reference)
            .map_err(|e| corrupt(SESSIONS, &id, e))?;
        let backend = self.db.backend();
        let txn = self.db.begin_write().await.map_err(unavailable)?;
        txn.execute_raw(stmt(
            backend,
            "INSERT INTO health_auth_sessions (id, org_id, verification_id, provider, reference, reference_enc, \
               reference_key_id, status, created_at, expires_at, approved_at, purge_after) \
             VALUES ($1, $2, $3, $4, '', $5, $6, $7, $8, $9, NULL, $10)",
            vec![
                id.clone().into(),
                session.org_id.to_string().into(),
                session.verification_id.to_string().into(),
                session.provider.code().into(),
                sealed.envelope.into(),
                sealed.key_id.into(),
                session.status.code().into(),
                to_millis(session.created_at).into(),
                to_millis(session.expires_at).into(),
                to_millis(session.purge_after).into(),
            ],
        ))
        .await
        .map_err(unavailable)?;
        crate::analyses::insert_consents(
            &*txn,
            backend,
            "health_consents",
            "session_id",
            &id,
            consents,
            session.created_at,
        )
        .await?;
        txn.commit().await.map_err(unavailable)
    }

    async fn session(&self, org_id: Uuid, id: Uuid) -> Result<Option<HealthSession>, RepoError> {
        let row = self
            .db
            .conn()
            .query_one_raw(stmt(
                self.db.backend(),
                "SELECT verification_id, provider, reference, reference_enc, status, created_at, expires_at, \
                   approved_at, purge_after FROM health_auth_sessions WHERE id = $1 AND org_id = $2",
                vec![id.to_string().into(), org_id.to_string().into()],
            ))
            .await
            .map_err(unavailable)?;
        row.map(|row| self.session_of(&row, org_id, id)).transpose()
    }

    async fn record_status(
        &self,
        org_id: Uuid,
        id: Uuid,
        status: AuthStatus,
        at: OffsetDateTime,
    ) -> Result<(), RepoError> {
        let approved_at = (status == AuthStatus::Approved).then(|| to_millis(at));
        // Only a pending session moves: a concurrent completion that recorded first wins.
        self.db
            .write_one(stmt(
                self.db.backend(),
                "UPDATE health_auth_sessions SET status = $1, approved_at = $2 \
                 WHERE id = $3 AND org_id = $4 AND status = 'PENDING'",
                vec![status.code().into(), approved_at.into(), id.to_string().into(), org_id.to_string().into()],
            ))
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn store(&self, report: &MedicalReport) -> Result<(), RepoError> {
        let id = report.id.to_string();
        let json = serde_json::to_string(&stored(report)).map_err(|e| RepoError::Unavailable(e.to_string()))?;
        let sealed = MEDICAL_REPORT.seal(&self.keyring, &id, &json).map_err(|e| corrupt(ANALYSES, &id, e))?;
        self.db
            .write_one(stmt(
                self.db.backend(),
                "INSERT INTO medical_analyses (id, org_id, coverage_analysis_id, session_id, report, report_enc, \
                   report_key_id, created_at, purge_after) VALUES ($1, $2, $3, $4, '', $5, $6, $7, $8)",
                vec![
                    id.into(),
                    report.org_id.to_string().into(),
                    report.coverage_analysis_id.to_string().into(),
                    report.session_id.to_string().into(),
                    sealed.envelope.into(),
                    sealed.key_id.into(),
                    to_millis(report.created_at).into(),
                    to_millis(report.purge_after).into(),
                ],
            ))
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn get(&self, org_id: Uuid, id: Uuid) -> Result<Option<MedicalReport>, RepoError> {
        let key = id.to_string();
        let row = self
            .db
            .conn()
            .query_one_raw(stmt(
                self.db.backend(),
                "SELECT coverage_analysis_id, session_id, report, report_enc, created_at, purge_after \
                 FROM medical_analyses WHERE id = $1 AND org_id = $2",
                vec![key.clone().into(), org_id.to_string().into()],
            ))
            .await
            .map_err(unavailable)?;
        let Some(row) = row else { return Ok(None) };
        let bad = |e: &dyn std::fmt::Display| corrupt(ANALYSES, &key, e);
        let envelope: Option<Vec<u8>> = row.try_get("", "report_enc").map_err(|e| bad(&e))?;
        let plain: String = row.try_get("", "report").map_err(|e| bad(&e))?;
        let json = MEDICAL_REPORT
            .open(&self.keyring, &key, envelope.as_deref(), Some(&plain))
            .map_err(|e| bad(&e))?
            .unwrap_or_default();
        let stored: StoredReport = serde_json::from_str(&json).map_err(|e| bad(&e))?;
        let r = restored(stored).map_err(|e| bad(&e))?;
        let coverage: String = row.try_get("", "coverage_analysis_id").map_err(|e| bad(&e))?;
        let session: String = row.try_get("", "session_id").map_err(|e| bad(&e))?;
        let created_at: i64 = row.try_get("", "created_at").map_err(|e| bad(&e))?;
        let purge_after: i64 = row.try_get("", "purge_after").map_err(|e| bad(&e))?;
        Ok(Some(MedicalReport {
            id,
            org_id,
            coverage_analysis_id: Uuid::parse_str(&coverage).map_err(|e| bad(&e))?,
            session_id: Uuid::parse_str(&session).map_err(|e| bad(&e))?,
            masked_name: r.masked_name,
            gender: r.gender,
            age: r.age,
            checkups: r.checkups,
            analysis: r.analysis,
            created_at: from_millis(created_at),
            purge_after: from_millis(purge_after),
        }))
    }

    async fn purge(&self, now: OffsetDateTime, verifications_before: OffsetDateTime) -> Result<Purged, RepoError> {
        let backend = self.db.backend();
        let now = to_millis(now);
        let txn = self.db.begin_write().await.map_err(unavailable)?;
        let run = |sql: &'static str, at: i64| stmt(backend, sql, vec![at.into()]);
        let medical_analyses = txn
            .execute_raw(run("DELETE FROM medical_analyses WHERE purge_after <= $1", now))
            .await
            .map_err(unavailable)?
            .rows_affected();
        txn.execute_raw(run(
            "DELETE FROM health_consents WHERE session_id IN \
               (SELECT id FROM health_auth_sessions WHERE purge_after <= $1)",
            now,
        ))
        .await
        .map_err(unavailable)?;
        let health_sessions = txn
            .execute_raw(run("DELETE FROM health_auth_sessions WHERE purge_after <= $1", now))
            .await
            .map_err(unavailable)?
            .rows_affected();
        let identity_verifications = txn
            .execute_raw(run(
                "DELETE FROM identity_verifications WHERE created_at < $1",
                to_millis(verifications_before),
            ))
            .await
            .map_err(unavailable)?
            .rows_affected();
        txn.commit().await.map_err(unavailable)?;
        Ok(Purged { medical_analyses, health_sessions, identity_verifications })
    }
}
