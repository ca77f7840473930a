//! The records of the medical coverage analysis in storage (`funnel.md`, 모홈
//! 메디컬보장분석): NHIS simple-authentication sessions and medical analyses.
//!
//! Invariants:
//! - every record carries `purge_after`: health data (민감정보) is deleted with its
//!   analysis after the retention period ([`DEFAULT_RETENTION_DAYS`] unless configured);
//!   a session is kept exactly as long;
//! - a session belongs to one org and one verified person (its verification); its
//!   `reference` is the provider's handle, sealed at rest;
//! - a medical analysis joins a coverage analysis and a session of the same person and
//!   the same org.

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::funnel::identity::Gender;
use crate::funnel::medical::{AuthProvider, AuthStatus, Checkup, MedicalAnalysis};

/// How long health data is kept by default (`funnel.medical_retention_days`).
pub const DEFAULT_RETENTION_DAYS: u16 = 90;

/// An approved session serves check-ups and analyses for this long after approval
/// (the provider may refuse sooner: its own session lifetime rules).
pub const APPROVED_USE: Duration = Duration::minutes(30);

/// An NHIS simple-authentication session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthSession {
    pub id: Uuid,
    pub org_id: Uuid,
    pub verification_id: Uuid,
    pub provider: AuthProvider,
    /// The provider's session handle (sealed at rest).
    pub reference: String,
    /// The last status the provider gave.
    pub status: AuthStatus,
    pub created_at: OffsetDateTime,
    /// When an unapproved session lapses.
    pub expires_at: OffsetDateTime,
    pub approved_at: Option<OffsetDateTime>,
    pub purge_after: OffsetDateTime,
}

impl HealthSession {
    /// The status at `now`: a session not approved by its `expires_at` is `EXPIRED`, and
    /// so is an approved one [`APPROVED_USE`] after its approval; otherwise the stored
    /// one.
    #[must_use]
    pub fn status_at(&self, now: OffsetDateTime) -> AuthStatus {
        match (self.status, self.approved_at) {
            (AuthStatus::Approved, Some(at)) if now >= at + APPROVED_USE => AuthStatus::Expired,
            (AuthStatus::Pending, _) if now >= self.expires_at => AuthStatus::Expired,
            (status, _) => status,
        }
    }
}

/// A stored medical analysis, with what its reports show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MedicalReport {
    pub id: Uuid,
    pub org_id: Uuid,
    pub coverage_analysis_id: Uuid,
    pub session_id: Uuid,
    /// The person, masked (`홍*동`).
    pub masked_name: String,
    pub gender: Gender,
    /// Full years on the day of the analysis.
    pub age: u8,
    pub checkups: Vec<Checkup>,
    pub analysis: MedicalAnalysis,
    pub created_at: OffsetDateTime,
    pub purge_after: OffsetDateTime,
}

/// What one purge deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub medical_analyses: u64,
    pub health_sessions: u64,
    pub identity_verifications: u64,
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn session(status: AuthStatus, approved_at: Option<OffsetDateTime>) -> HealthSession {
        let at = datetime!(2026-12-03 10:00 UTC);
        HealthSession {
            id: Uuid::nil(),
            org_id: Uuid::nil(),
            verification_id: Uuid::nil(),
            provider: AuthProvider::Kakao,
            reference: String::new(),
            status,
            created_at: at,
            expires_at: at + Duration::minutes(5),
            approved_at,
            purge_after: at + Duration::days(90),
        }
    }

    #[test]
    fn a_pending_session_lapses_and_an_approved_one_serves_for_its_use_window() {
        let t0 = datetime!(2026-12-03 10:00 UTC);
        let pending = session(AuthStatus::Pending, None);
        assert_eq!(pending.status_at(t0 + Duration::minutes(4)), AuthStatus::Pending);
        assert_eq!(pending.status_at(t0 + Duration::minutes(5)), AuthStatus::Expired);
        let approved = session(AuthStatus::Approved, Some(t0 + Duration::minutes(1)));
        assert_eq!(approved.status_at(t0 + Duration::minutes(10)), AuthStatus::Approved);
        assert_eq!(approved.status_at(t0 + Duration::minutes(31)), AuthStatus::Expired);
        assert_eq!(session(AuthStatus::Denied, None).status_at(t0 + Duration::days(1)), AuthStatus::Denied);
    }
}
