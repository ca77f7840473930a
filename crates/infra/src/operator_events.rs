//! Who "the operator" is for the events `events.md` sends to it (`as.created`,
//! `counsel.case.assigned`): every org whose kind is `OPERATOR` (the demo fixtures have
//! one, `fixtures/demo.toml`; counsel finds its managers' orgs the same way).
//!
//! Invariant: the orgs are read in the producer's transaction, one statement, and only
//! when it has operator events to write; a deployment without an operator org sends them
//! nowhere (nothing is written).

use domain::error::RepoError;
use domain::events::{Event, Payload};
use domain::reference::OrgKind;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::entities::organization;
use crate::error::{corrupt, unavailable};
use crate::outbox::Outgoing;

/// An org as an envelope names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OrgRef {
    pub(crate) id: Uuid,
    pub(crate) code: String,
}

/// The operator orgs, in id order: one statement.
///
/// # Errors
/// Storage failures; a stored id that is not a UUID.
pub(crate) async fn operators(conn: &impl ConnectionTrait) -> Result<Vec<OrgRef>, RepoError> {
    organization::Entity::find()
        .filter(organization::Column::Kind.eq(OrgKind::Operator.as_str()))
        .order_by_asc(organization::Column::Id)
        .all(conn)
        .await
        .map_err(unavailable)?
        .into_iter()
        .map(|o| Ok(OrgRef { id: o.id.parse().map_err(|e| corrupt("organizations", &o.id, e))?, code: o.code }))
        .collect()
}

/// `payload` as one event to each of `orgs`, made at `at`.
pub(crate) fn to_each<P: Payload>(orgs: &[OrgRef], payload: &P, at: OffsetDateTime) -> Vec<Outgoing> {
    orgs.iter().map(|org| Outgoing::from(Event::new(org.id, &org.code, payload, at))).collect()
}
