//! Ports of the medical coverage analysis (`funnel.md` "Medical coverage analysis"):
//! the health-data provider that runs the NHIS simple authentication (간편인증) and
//! returns the person's general health check-ups.
//!
//! Invariants every adapter keeps:
//! - a session not approved within
//!   [`HEALTH_AUTH_TTL`](crate::funnel::medical::HEALTH_AUTH_TTL) of its start expires
//!   (the ticket's `expires_at`); an approved one serves check-ups for as long as the
//!   provider allows. Its reference is the provider's session handle and holds no
//!   personal data;
//! - check-ups are released only for a session the person approved, and only to the
//!   person it was started for; anything else is a [`ProviderFailure`];
//! - a failure's reason never names the person (no name, birth date or phone).

use std::future::Future;

use time::OffsetDateTime;

use super::ProviderFailure;
use crate::funnel::identity::IdentityClaim;
use crate::funnel::medical::{AuthProvider, AuthStatus, Checkup};

/// A started simple-authentication session: the provider's reference to it (no
/// personal data) and when it lapses if not approved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthAuthTicket {
    pub reference: String,
    pub expires_at: OffsetDateTime,
}

/// The health-data provider (NHIS simple authentication and check-ups).
pub trait HealthData: Send + Sync {
    /// Asks the person to approve in `provider`'s app; unapproved, the session lapses
    /// [`HEALTH_AUTH_TTL`](crate::funnel::medical::HEALTH_AUTH_TTL) after `now`.
    fn start_auth(
        &self,
        person: &IdentityClaim,
        provider: AuthProvider,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<HealthAuthTicket, ProviderFailure>> + Send;

    /// Where the session `reference` stands at `now`.
    fn auth_status(
        &self,
        reference: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<AuthStatus, ProviderFailure>> + Send;

    /// The person's general health check-ups, through the approved session
    /// `reference`; refused unless the session is approved and is the person's.
    fn checkups(
        &self,
        person: &IdentityClaim,
        reference: &str,
    ) -> impl Future<Output = Result<Vec<Checkup>, ProviderFailure>> + Send;
}
