//! AS claims (AS 신청) in storage: the adapter of `domain::ports::AsClaimRepository`
//! (claim, transitions, compensation, list and detail) and of
//! `domain::ports::EvidenceFiles` over [`Files`].
//!
//! Invariants:
//! - a claim's facts are read under locks taken in one order by every writer: the pool
//!   (only when an approval may reopen one of its lines), the order row, then the AS and
//!   lead rows (`FOR UPDATE` on PostgreSQL; SQLite's write gate serializes write
//!   transactions). The use case's rule decides over them; two claims on one lead, or
//!   on one order at its cap, are decided one after the other, and the partial unique
//!   index on open AS per lead backs the one-open rule up;
//! - a transition is a conditional update from the statuses the state machine allows
//!   (`AsStatus::allowed_before`): approve racing cancel moves the AS once, and the loser
//!   writes nothing;
//! - the order's `as_open`/`as_approved`, the lead's `latest_as_status`, the status
//!   history and the audit log move in the transaction that moves the AS;
//! - approval ends the open assignment (`AS_RETURNED`), makes the lead `RETURNED` and
//!   ownerless (it leaves every list of the buyer's team), and compensates the order:
//!   `REPLACEMENT` reopens one unit of the lead's line under the pool's lock (line
//!   `delivered − 1`, `replacements_owed + 1`, out of the ledger so it rejoins at its
//!   frozen credit, without a burst) and offers the pool's oldest lead at once; the next
//!   delivery to the line is the `REPLACEMENT` assignment (intake, import or this offer,
//!   all under the same lock, so exactly one). `REFUND`, and any approval on a cancelled
//!   order, adds one unit price (VAT included when the price excludes it) to
//!   `refunded_minor`;
//! - what people type is sealed: the description (`crypto::AS_DESCRIPTION`), each
//!   transition's comment (`crypto::AS_HISTORY_COMMENT`) and the audit details, each bound
//!   to its row; the plaintext columns stay cleared.
//!
//! Layout: `claim` (a new AS, its review case, the evidence check), `decide` (moving an
//! AS and an approval's effects), `transitions` (what every transition writes, and the
//! review start counsel allocation calls; it knows nothing of counsel), `reads` (detail,
//! list, the assigned reviewer).

mod claim;
mod decide;
mod reads;
pub(crate) mod transitions;

use std::sync::Arc;

use domain::as_claim::{AsAction, AsActor, AsClaim, AsError, AsQuery, AsScope, NewAsClaim};
use domain::error::RepoError;
use domain::identity::User;
use domain::pagination::Page;
use domain::ports::{AsClaimRepository, ClaimRule};
use domain::reference::Product;
use sea_orm::{ConnectionTrait, EntityTrait, QuerySelect};
use time::OffsetDateTime;
use uuid::Uuid;

pub use claim::AS_REVIEW_CASE_TYPE;

use crate::crypto::Keyring;
use crate::db::Db;
use crate::entities::{order, order_line, product};
use crate::error::{corrupt, unavailable};
use crate::leads::SeaLeadRepository;
use crate::reference::product_from_row;

/// AS requests over one database.
#[derive(Clone, Debug)]
pub struct SeaAsClaimRepository {
    db: Db,
    keyring: Arc<Keyring>,
    /// An approved `REPLACEMENT` offers a pool lead through the leads' delivery path.
    leads: SeaLeadRepository,
}

impl SeaAsClaimRepository {
    #[must_use]
    pub fn new(db: Db, keyring: Arc<Keyring>) -> Self {
        let leads = SeaLeadRepository::new(db.clone(), Arc::clone(&keyring));
        Self { db, keyring, leads }
    }
}

impl AsClaimRepository for SeaAsClaimRepository {
    async fn claim<R: ClaimRule>(
        &self,
        requester: &User,
        new: &NewAsClaim,
        actor: &AsActor<'_>,
        now: OffsetDateTime,
        rule: R,
    ) -> Result<AsClaim, AsError> {
        self.claim_as(requester, new, actor, now, rule).await
    }

    async fn transition(
        &self,
        id: Uuid,
        action: AsAction,
        scope: AsScope,
        actor: &AsActor<'_>,
        comment: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<AsClaim, AsError> {
        self.act_on_as(id, action, scope, actor, comment, now).await
    }

    async fn find(&self, id: Uuid, scope: AsScope) -> Result<Option<AsClaim>, RepoError> {
        self.get_as(id, scope).await
    }

    async fn list(&self, query: &AsQuery) -> Result<Page<AsClaim>, RepoError> {
        self.list_as(query).await
    }

    async fn reviewer(&self, id: Uuid) -> Result<Option<Uuid>, RepoError> {
        self.assigned_reviewer(id).await
    }
}

async fn product_by_id(conn: &impl ConnectionTrait, id: &str) -> Result<Product, RepoError> {
    let row = product::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| corrupt("products", id, "missing product"))?;
    product_from_row(row)
}

async fn locked_order(conn: &impl ConnectionTrait, id: &str) -> Result<order::Model, RepoError> {
    order::Entity::find_by_id(id.to_owned())
        .lock_exclusive()
        .one(conn)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| corrupt("orders", id, "missing order"))
}

async fn line_by_id(conn: &impl ConnectionTrait, id: &str) -> Result<order_line::Model, RepoError> {
    order_line::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| corrupt("order_lines", id, "missing order line"))
}
