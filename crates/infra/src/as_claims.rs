//! AS claims (AS 신청) in storage: claim, transitions (review, cancel, approve, reject),
//! compensation, list and detail.
//!
//! Invariants:
//! - a claim is decided by `domain::as_claim::check_claim` over facts read under locks,
//!   taken in one order by every writer: the pool (only when an approval may reopen one
//!   of its lines), the order row, then the AS and lead rows (`FOR UPDATE` on
//!   PostgreSQL; SQLite's write gate serializes write transactions). Two claims on one
//!   lead, or on one order at its cap, are decided one after the other, and the partial
//!   unique index on open AS per lead backs the one-open rule up;
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

use std::collections::{HashMap, HashSet};

use domain::as_claim::{AsAction, AsRefusal, ClaimFacts, check_claim};
use domain::counsel::NewCounselCase;
use domain::error::RepoError;
use domain::files::FilePurpose;
use domain::identity::User;
use domain::ids::new_id;
use domain::lead::{AsStatus, AssignmentSource, LeadStatus};
use domain::money::Money;
use domain::order::{OrderStatus, amounts};
use domain::pagination::{Page, PageRequest};
use domain::reference::{AsReasonCode, Compensation, Product};
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::{self, AuditEntry};
use crate::counsel::{CounselError, review};
use crate::crypto::{AS_DESCRIPTION, AS_HISTORY_COMMENT, Keyring};
use crate::entities::{as_request, as_status_history, assignment, lead, order, order_line, product};
use crate::error::unavailable;
use crate::files::{self, EvidenceFile, FileUseError};
use crate::leads::SeaLeadRepository;
use crate::pools;
use crate::reference::product_from_row;
use crate::{from_millis, to_millis};

/// The end reason of an assignment returned by an approved AS.
pub const AS_RETURNED: &str = "AS_RETURNED";

/// A claim as the requester sends it.
#[derive(Clone)]
pub struct NewAsClaim {
    pub lead_id: Uuid,
    pub reason: AsReasonCode,
    pub description: String,
    pub file_keys: Vec<Uuid>,
}

// Free text a person typed: not printed.
domain::redacting_debug!(NewAsClaim { show: [lead_id, reason, file_keys], redact: [description] });

/// Who acts, for the history and the audit log.
#[derive(Debug, Clone, Copy)]
pub struct AsActor<'a> {
    /// `user:<id>`, `key:<id>` or `system`.
    pub label: &'a str,
    pub user_id: Option<Uuid>,
    pub org_id: Option<Uuid>,
    pub request_id: Option<&'a str>,
}

/// Whose AS a reader or actor may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsScope {
    /// Only the AS this user requested (others are "not found").
    Requester(Uuid),
    /// Every AS (the operator).
    Operator,
}

/// One transition of an AS.
#[derive(Clone, PartialEq, Eq)]
pub struct AsHistoryEntry {
    pub from: Option<AsStatus>,
    pub to: AsStatus,
    pub actor: String,
    pub comment: Option<String>,
    pub at: OffsetDateTime,
}

// Free text a person typed: not printed.
domain::redacting_debug!(AsHistoryEntry { show: [from, to, actor, at], redact: [comment] });

/// An AS request with its evidence and history.
#[derive(Clone, PartialEq, Eq)]
pub struct AsClaim {
    pub id: Uuid,
    pub lead_id: Uuid,
    pub assignment_id: Uuid,
    pub requester_user_id: Uuid,
    pub order_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub reason: AsReasonCode,
    pub description: String,
    pub status: AsStatus,
    pub compensation: Option<Compensation>,
    pub auto_approved: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub decided_at: Option<OffsetDateTime>,
    pub evidence: Vec<EvidenceFile>,
    /// Oldest first; empty in list pages.
    pub history: Vec<AsHistoryEntry>,
}

// Free text a person typed: not printed.
domain::redacting_debug!(AsClaim {
    show: [
        id,
        lead_id,
        assignment_id,
        requester_user_id,
        order_id,
        product_id,
        reason,
        status,
        compensation,
        auto_approved,
        created_at,
        updated_at,
        decided_at,
        evidence,
        history
    ],
    redact: [description]
});

/// The AS list's filters.
#[derive(Debug, Clone)]
pub struct AsQuery {
    pub requester: Option<Uuid>,
    pub status: Option<AsStatus>,
    pub lead_id: Option<Uuid>,
    /// `createdAt` bounds, both included.
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    pub page: PageRequest,
}

/// Why an AS operation did nothing.
#[derive(Debug, thiserror::Error)]
pub enum AsError {
    /// No such lead or AS within the caller's reach (no existence leak).
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Refused(#[from] AsRefusal),
    #[error(transparent)]
    File(FileUseError),
    #[error(transparent)]
    Repo(#[from] RepoError),
}

impl From<FileUseError> for AsError {
    fn from(err: FileUseError) -> Self {
        match err {
            FileUseError::Repo(e) => Self::Repo(e),
            other => Self::File(other),
        }
    }
}

fn corrupt(table: &str, id: &str, what: impl std::fmt::Display) -> RepoError {
    tracing::error!(table, id, %what, "unreadable row");
    RepoError::Corrupted(format!("{table}/{id}"))
}

fn db(err: sea_orm::DbErr) -> AsError {
    AsError::Repo(unavailable(err))
}

/// The facts about a lead's purchase: its latest `ORDER`/`REPLACEMENT` assignment and the
/// first use since then.
struct Purchase {
    assigned_at: i64,
    line_id: String,
    first_used_at: Option<i64>,
}

async fn purchase_of(conn: &impl ConnectionTrait, lead_id: &str) -> Result<Option<Purchase>, AsError> {
    let rows = assignment::Entity::find()
        .filter(assignment::Column::LeadId.eq(lead_id))
        .order_by_asc(assignment::Column::AssignedAt)
        .order_by_asc(assignment::Column::Id)
        .all(conn)
        .await
        .map_err(db)?;
    let bought = [AssignmentSource::Order.as_str(), AssignmentSource::Replacement.as_str()];
    let Some(purchase) = rows.iter().rev().find(|a| bought.contains(&a.source.as_str())) else { return Ok(None) };
    let Some(line_id) = purchase.order_line_id.clone() else { return Ok(None) };
    let first_used_at = rows.iter().filter(|a| a.assigned_at >= purchase.assigned_at).filter_map(|a| a.used_at).min();
    Ok(Some(Purchase { assigned_at: purchase.assigned_at, line_id, first_used_at }))
}

async fn product_by_id(conn: &impl ConnectionTrait, id: &str) -> Result<Product, AsError> {
    let row = product::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await
        .map_err(db)?
        .ok_or_else(|| corrupt("products", id, "missing product"))?;
    Ok(product_from_row(row)?)
}

async fn locked_order(conn: &impl ConnectionTrait, id: &str) -> Result<order::Model, AsError> {
    Ok(order::Entity::find_by_id(id.to_owned())
        .lock_exclusive()
        .one(conn)
        .await
        .map_err(db)?
        .ok_or_else(|| corrupt("orders", id, "missing order"))?)
}

async fn line_by_id(conn: &impl ConnectionTrait, id: &str) -> Result<order_line::Model, AsError> {
    Ok(order_line::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await
        .map_err(db)?
        .ok_or_else(|| corrupt("order_lines", id, "missing order line"))?)
}

#[allow(clippy::too_many_arguments)]
async fn write_history(
    conn: &impl ConnectionTrait,
    keyring: &Keyring,
    as_id: &str,
    from: Option<AsStatus>,
    to: AsStatus,
    actor: &AsActor<'_>,
    comment: Option<&str>,
    at: i64,
) -> Result<(), AsError> {
    let id = new_id().to_string();
    let (comment_enc, comment_key_id) =
        AS_HISTORY_COMMENT.seal_opt(keyring, &id, comment).map_err(|e| corrupt("as_status_history", &id, e))?;
    let row = as_status_history::ActiveModel {
        id: Set(id),
        as_id: Set(as_id.to_owned()),
        from_status: Set(from.map(|s| s.as_str().to_owned())),
        to_status: Set(to.as_str().to_owned()),
        actor: Set(actor.label.to_owned()),
        actor_user_id: Set(actor.user_id.map(|u| u.to_string())),
        comment: Set(None),
        at: Set(at),
        comment_enc: Set(comment_enc),
        comment_key_id: Set(comment_key_id),
    };
    as_status_history::Entity::insert(row).exec_without_returning(conn).await.map_err(db)?;
    Ok(())
}

async fn write_audit(
    conn: &impl ConnectionTrait,
    keyring: &Keyring,
    actor: &AsActor<'_>,
    action: &str,
    as_id: &str,
    detail: serde_json::Value,
    now: OffsetDateTime,
) -> Result<(), AsError> {
    let entry = AuditEntry {
        org_id: actor.org_id,
        actor: actor.label,
        action,
        entity: "as_request",
        entity_id: Some(as_id),
        request_id: actor.request_id,
        detail,
    };
    audit::record(conn, keyring, entry, now).await.map_err(db)
}

async fn set_lead_as_status(
    conn: &impl ConnectionTrait,
    lead_id: &str,
    status: AsStatus,
    now_ms: i64,
) -> Result<(), AsError> {
    lead::Entity::update_many()
        .col_expr(lead::Column::LatestAsStatus, Expr::value(status.as_str()))
        .col_expr(lead::Column::UpdatedAt, Expr::value(now_ms))
        .filter(lead::Column::Id.eq(lead_id))
        .exec(conn)
        .await
        .map_err(db)?;
    Ok(())
}

impl SeaLeadRepository {
    /// Claims a lead back (AS 신청); see the module invariants. `evidence` must have been
    /// confirmed (`files::Files::confirm_for_use`) for the same keys.
    ///
    /// # Errors
    /// [`AsError::NotFound`] when the requester does not own the lead; the first rule the
    /// claim breaks; a file key that cannot be attached; storage failures. Nothing is
    /// written then.
    pub async fn claim_as(
        &self,
        requester: &User,
        new: &NewAsClaim,
        actor: &AsActor<'_>,
        now: OffsetDateTime,
    ) -> Result<AsClaim, AsError> {
        let now_ms = to_millis(now);
        let lead_key = new.lead_id.to_string();
        let requester_key = requester.id.to_string();
        let txn = self.db.begin_write().await.map_err(db)?;
        let owned = |select: sea_orm::Select<lead::Entity>| {
            select
                .filter(lead::Column::Id.eq(lead_key.as_str()))
                .filter(lead::Column::OwnerUserId.eq(requester_key.as_str()))
        };
        let Some(seen) = owned(lead::Entity::find()).one(&*txn).await.map_err(db)? else {
            return Err(AsError::NotFound);
        };
        let product = product_by_id(&*txn, &seen.product_id).await?;
        let purchase = purchase_of(&*txn, &lead_key).await?;
        // Locks in the writers' order: pool (an auto-approval may reopen its line), order,
        // then the lead, read again under its lock.
        let mut bought = None;
        if let Some(p) = &purchase {
            let line = line_by_id(&*txn, &p.line_id).await?;
            if product.as_policy.auto_approve() && product.as_policy.compensation() == Compensation::Replacement {
                pools::lock(&*txn, &line.product_id, &line.region).await?;
            }
            let order_row = locked_order(&*txn, &line.order_id).await?;
            // Units returned for replacement still count as delivered for the cap, or
            // every approval would shrink the cap until its replacement arrived.
            let owed: i64 = order_line::Entity::find()
                .filter(order_line::Column::OrderId.eq(line.order_id.as_str()))
                .all(&*txn)
                .await
                .map_err(db)?
                .iter()
                .map(|l| l.replacements_owed)
                .sum();
            bought = Some((line, order_row, owed));
        }
        let Some(lead_row) = owned(lead::Entity::find()).lock_exclusive().one(&*txn).await.map_err(db)? else {
            return Err(AsError::NotFound);
        };
        let open_as = lead_row
            .latest_as_status
            .as_deref()
            .map(str::parse::<AsStatus>)
            .transpose()
            .map_err(|e| corrupt("leads", &lead_key, e))?
            .is_some_and(AsStatus::is_open);
        let count = |v: i64| u64::try_from(v).unwrap_or(0);
        let facts = ClaimFacts {
            purchased_at: purchase.as_ref().map(|p| from_millis(p.assigned_at)),
            first_used_at: purchase.as_ref().and_then(|p| p.first_used_at).map(from_millis),
            open_as,
            order_delivered: bought.as_ref().map_or(0, |(_, o, owed)| count(o.delivered + owed)),
            order_open_as: bought.as_ref().map_or(0, |(_, o, _)| count(o.as_open)),
            order_approved_as: bought.as_ref().map_or(0, |(_, o, _)| count(o.as_approved)),
            reason: new.reason,
            evidence_files: new.file_keys.iter().collect::<HashSet<_>>().len(),
            now,
        };
        let verdict = check_claim(&product.as_policy, &facts)?;
        let Some((line, order_row, _)) = bought else {
            return Err(AsRefusal::NotPurchased("no order delivered this lead").into());
        };
        let id = new_id();
        let key = id.to_string();
        let description =
            AS_DESCRIPTION.seal(&self.keyring, &key, &new.description).map_err(|e| corrupt("as_requests", &key, e))?;
        let row = as_request::ActiveModel {
            id: Set(key.clone()),
            lead_id: Set(lead_key.clone()),
            assignment_id: Set(lead_row.assignment_id.clone().unwrap_or_default()),
            requester_user_id: Set(requester_key.clone()),
            reason_code: Set(new.reason.as_str().to_owned()),
            description: Set(String::new()),
            description_enc: Set(Some(description.envelope)),
            description_key_id: Set(Some(description.key_id)),
            status: Set(AsStatus::Requested.as_str().to_owned()),
            created_at: Set(now_ms),
            updated_at: Set(now_ms),
            order_id: Set(Some(order_row.id.clone())),
            order_line_id: Set(Some(line.id.clone())),
            product_id: Set(Some(product.id.to_string())),
            requester_org_id: Set(Some(requester.org_id.to_string())),
            compensation: Set(None),
            auto_approved: Set(false),
            decided_at: Set(None),
            decided_by: Set(None),
        };
        as_request::Entity::insert(row).exec_without_returning(&*txn).await.map_err(|e| match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => AsError::Refused(AsRefusal::AlreadyOpen),
            _ => db(e),
        })?;
        write_history(&*txn, &self.keyring, &key, None, AsStatus::Requested, actor, None, now_ms).await?;
        files::attach(&*txn, id, requester.org_id, requester.id, FilePurpose::AsEvidence, &new.file_keys).await?;
        set_lead_as_status(&*txn, &lead_key, AsStatus::Requested, now_ms).await?;
        order::Entity::update_many()
            .col_expr(order::Column::AsOpen, Expr::col(order::Column::AsOpen).add(1))
            .filter(order::Column::Id.eq(order_row.id.as_str()))
            .exec(&*txn)
            .await
            .map_err(db)?;
        let detail = serde_json::json!({
            "leadId": lead_key, "orderId": order_row.id, "reasonCode": new.reason.as_str(),
            "files": new.file_keys.len(), "autoApproved": verdict.auto_approved,
        });
        write_audit(&*txn, &self.keyring, actor, "as.create", &key, detail, now).await?;
        if !verdict.auto_approved
            && let Some(queue) = review::as_review_queue(&*txn).await?
        {
            // The claim becomes an AS-review counsel case, routed like any case; when it
            // reaches a manager at once, the AS is `IN_REVIEW` already.
            let case = NewCounselCase {
                cnsl_typ_no: AS_REVIEW_CASE_TYPE.to_owned(),
                ob_typ_no: None,
                mbr_no: Some(requester.mohom_id.as_str().to_owned()),
                ord_no: Some(order_row.id.clone()),
                accp_cont: Some(format!("AS {} ({}): {}", key, new.reason.as_str(), new.description)),
                cust_nm: None,
                cust_tel: None,
                as_id: Some(id),
            };
            crate::counsel::open_case_in(&*txn, &self.keyring, &queue, &case, actor.label, now).await?;
        }
        if verdict.auto_approved {
            let system = AsActor { label: "system", user_id: None, ..*actor };
            let comment = "auto-approved: a wrong number with evidence, claimed within 24 h of use";
            self.move_as(&*txn, &key, AsAction::Approve, &product, &system, Some(comment), now).await?;
            as_request::Entity::update_many()
                .col_expr(as_request::Column::AutoApproved, Expr::value(true))
                .filter(as_request::Column::Id.eq(key.as_str()))
                .exec(&*txn)
                .await
                .map_err(db)?;
        }
        let claim = load(&*txn, &self.keyring, &key).await?.ok_or_else(|| corrupt("as_requests", &key, "vanished"))?;
        txn.commit().await.map_err(db)?;
        Ok(claim)
    }

    /// Moves an AS by `action` (cancel by its requester; review, approve, reject by the
    /// operator), with its effects (see the module invariants).
    ///
    /// # Errors
    /// [`AsError::NotFound`] outside `scope`; [`AsRefusal::InvalidState`] when the status
    /// does not allow the action (also when another request moved it first); storage
    /// failures. Nothing is written then.
    pub async fn act_on_as(
        &self,
        id: Uuid,
        action: AsAction,
        scope: AsScope,
        actor: &AsActor<'_>,
        comment: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<AsClaim, AsError> {
        let key = id.to_string();
        let txn = self.db.begin_write().await.map_err(db)?;
        let Some(row) = as_request::Entity::find_by_id(key.clone()).one(&*txn).await.map_err(db)? else {
            return Err(AsError::NotFound);
        };
        if let AsScope::Requester(user) = scope
            && row.requester_user_id != user.to_string()
        {
            return Err(AsError::NotFound);
        }
        let status: AsStatus = row.status.parse().map_err(|e| corrupt("as_requests", &key, e))?;
        status.apply(action)?;
        let product_key = row.product_id.clone().ok_or_else(|| corrupt("as_requests", &key, "no product"))?;
        let product = product_by_id(&*txn, &product_key).await?;
        self.move_as(&*txn, &key, action, &product, actor, comment, now).await?;
        let claim = load(&*txn, &self.keyring, &key).await?.ok_or_else(|| corrupt("as_requests", &key, "vanished"))?;
        txn.commit().await.map_err(db)?;
        Ok(claim)
    }

    /// One transition inside the caller's transaction: locks, the conditional update, the
    /// counters, history, audit and, for an approval, the return and the compensation.
    #[allow(clippy::too_many_arguments)]
    async fn move_as(
        &self,
        conn: &impl ConnectionTrait,
        key: &str,
        action: AsAction,
        product: &Product,
        actor: &AsActor<'_>,
        comment: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(), AsError> {
        let now_ms = to_millis(now);
        let row = as_request::Entity::find_by_id(key.to_owned())
            .one(conn)
            .await
            .map_err(db)?
            .ok_or_else(|| corrupt("as_requests", key, "vanished"))?;
        let line = match &row.order_line_id {
            Some(line_id) => Some(line_by_id(conn, line_id).await?),
            None => None,
        };
        // The writers' lock order: pool (a replacement reopens its line), then the order.
        if action == AsAction::Approve
            && product.as_policy.compensation() == Compensation::Replacement
            && let Some(line) = &line
        {
            pools::lock(conn, &line.product_id, &line.region).await?;
        }
        let order_row = match &row.order_id {
            Some(order_id) => Some(locked_order(conn, order_id).await?),
            None => None,
        };
        // The review case's queue, before the AS row: a sweep of that queue locks the
        // queue first and then moves the AS it assigns (`start_review`).
        let review = review::lock_review_of(conn, key).await?;
        // Read again under the AS row's own lock: a transition that committed while this
        // one waited for the pool or order lock is the status this one starts from.
        let row = as_request::Entity::find_by_id(key.to_owned())
            .lock_exclusive()
            .one(conn)
            .await
            .map_err(db)?
            .ok_or_else(|| corrupt("as_requests", key, "vanished"))?;
        let allowed: Vec<&str> = AsStatus::allowed_before(action).iter().map(|s| s.as_str()).collect();
        let current: AsStatus = row.status.parse().map_err(|e| corrupt("as_requests", key, e))?;
        let next = current.apply(action)?;
        // History stays a chain in time order even when `now` was read before a wait.
        let last_at = as_status_history::Entity::find()
            .filter(as_status_history::Column::AsId.eq(key))
            .order_by_desc(as_status_history::Column::At)
            .one(conn)
            .await
            .map_err(db)?
            .map_or(now_ms, |h| h.at);
        let at_ms = std::cmp::Ord::max(now_ms, last_at);
        let mut update = as_request::Entity::update_many()
            .col_expr(as_request::Column::Status, Expr::value(next.as_str()))
            .col_expr(as_request::Column::UpdatedAt, Expr::value(now_ms))
            .filter(as_request::Column::Id.eq(key))
            .filter(as_request::Column::Status.is_in(allowed));
        if next.is_final() {
            update = update
                .col_expr(as_request::Column::DecidedAt, Expr::value(now_ms))
                .col_expr(as_request::Column::DecidedBy, Expr::value(actor.label));
        }
        if update.exec(conn).await.map_err(db)?.rows_affected != 1 {
            // Another request moved it first: report the status it has now.
            let now_status = as_request::Entity::find_by_id(key.to_owned())
                .one(conn)
                .await
                .map_err(db)?
                .and_then(|r| r.status.parse().ok())
                .unwrap_or(current);
            return Err(AsRefusal::InvalidState { status: now_status, action }.into());
        }
        write_history(conn, &self.keyring, key, Some(current), next, actor, comment, at_ms).await?;
        set_lead_as_status(conn, &row.lead_id, next, now_ms).await?;
        if let Some(order_row) = &order_row {
            let mut counters = order::Entity::update_many().filter(order::Column::Id.eq(order_row.id.as_str()));
            if next.is_final() {
                counters = counters.col_expr(order::Column::AsOpen, Expr::col(order::Column::AsOpen).sub(1));
            }
            if next == AsStatus::Approved {
                counters = counters.col_expr(order::Column::AsApproved, Expr::col(order::Column::AsApproved).add(1));
            }
            if next.is_final() {
                counters.exec(conn).await.map_err(db)?;
            }
        }
        if next.is_final()
            && let Some(case) = &review
        {
            review::close_review_in(conn, &self.keyring, case, actor.label, now).await.map_err(|e| match e {
                CounselError::Repo(repo) => AsError::Repo(repo),
                other => AsError::Repo(RepoError::Conflict(other.to_string())),
            })?;
        }
        let mut detail = serde_json::json!({ "from": current.as_str(), "to": next.as_str(), "comment": comment });
        if next == AsStatus::Approved {
            let given = self.return_and_compensate(conn, &row, product, line.as_ref(), order_row.as_ref(), now).await?;
            detail["compensation"] = serde_json::Value::from(given.map(Compensation::as_str));
        }
        let audit_action = match action {
            AsAction::Review => "as.review",
            AsAction::Cancel => "as.cancel",
            AsAction::Approve => "as.approve",
            AsAction::Reject => "as.reject",
        };
        write_audit(conn, &self.keyring, actor, audit_action, key, detail, now).await
    }

    /// An approval's effects on the lead and the order; returns the compensation given.
    async fn return_and_compensate(
        &self,
        conn: &impl ConnectionTrait,
        row: &as_request::Model,
        product: &Product,
        line: Option<&order_line::Model>,
        order_row: Option<&order::Model>,
        now: OffsetDateTime,
    ) -> Result<Option<Compensation>, AsError> {
        let now_ms = to_millis(now);
        assignment::Entity::update_many()
            .col_expr(assignment::Column::EndedAt, Expr::value(now_ms))
            .col_expr(assignment::Column::EndReason, Expr::value(AS_RETURNED))
            .filter(assignment::Column::LeadId.eq(row.lead_id.as_str()))
            .filter(assignment::Column::EndedAt.is_null())
            .exec(conn)
            .await
            .map_err(db)?;
        let none = Option::<String>::None;
        lead::Entity::update_many()
            .col_expr(lead::Column::Status, Expr::value(LeadStatus::Returned.as_str()))
            .col_expr(lead::Column::OwnerUserId, Expr::value(none.clone()))
            .col_expr(lead::Column::OwnerOrgId, Expr::value(none.clone()))
            .col_expr(lead::Column::AssignmentId, Expr::value(none.clone()))
            .col_expr(lead::Column::AssignmentSource, Expr::value(none.clone()))
            .col_expr(lead::Column::DistributorUserId, Expr::value(none))
            .col_expr(lead::Column::AssignedAt, Expr::value(Option::<i64>::None))
            .col_expr(lead::Column::UsedAt, Expr::value(Option::<i64>::None))
            .col_expr(lead::Column::UpdatedAt, Expr::value(now_ms))
            .filter(lead::Column::Id.eq(row.lead_id.as_str()))
            .exec(conn)
            .await
            .map_err(db)?;
        let (Some(line), Some(order_row)) = (line, order_row) else { return Ok(None) };
        let status: OrderStatus = order_row.status.parse().map_err(|e| corrupt("orders", &order_row.id, e))?;
        let given = if product.as_policy.compensation() == Compensation::Replacement && status != OrderStatus::Cancelled
        {
            order_line::Entity::update_many()
                .col_expr(order_line::Column::Delivered, Expr::col(order_line::Column::Delivered).sub(1))
                .col_expr(order_line::Column::ReplacementsOwed, Expr::col(order_line::Column::ReplacementsOwed).add(1))
                .col_expr(order_line::Column::Open, Expr::value(true))
                .col_expr(order_line::Column::CreditPick, Expr::value(Option::<i64>::None))
                .filter(order_line::Column::Id.eq(line.id.as_str()))
                .exec(conn)
                .await
                .map_err(db)?;
            order::Entity::update_many()
                .col_expr(order::Column::Delivered, Expr::col(order::Column::Delivered).sub(1))
                .col_expr(order::Column::Status, Expr::value(status.after_return().as_str()))
                .col_expr(order::Column::UpdatedAt, Expr::value(now_ms))
                .filter(order::Column::Id.eq(order_row.id.as_str()))
                .exec(conn)
                .await
                .map_err(db)?;
            // A lead already waiting in the pool is the replacement, now.
            let waiting = lead::Entity::find()
                .filter(lead::Column::Status.eq(LeadStatus::Pool.as_str()))
                .filter(lead::Column::ProductId.eq(line.product_id.as_str()))
                .filter(lead::Column::Region.eq(line.region.as_str()))
                .order_by_asc(lead::Column::CreatedAt)
                .order_by_asc(lead::Column::Id)
                .one(conn)
                .await
                .map_err(db)?;
            if let Some(waiting) = waiting {
                let lead_id = waiting.id.parse().map_err(|e| corrupt("leads", &waiting.id, e))?;
                self.offer(conn, &mut HashSet::new(), product, &line.region, lead_id, now_ms).await?;
            }
            Compensation::Replacement
        } else {
            let unit =
                Money::from_minor(order_row.unit_price_minor).map_err(|e| corrupt("orders", &order_row.id, e))?;
            let refund = amounts(unit, 1, order_row.prices_exclude_vat)
                .and_then(|a| a.total.to_minor())
                .map_err(|e| corrupt("orders", &order_row.id, e))?;
            order::Entity::update_many()
                .col_expr(order::Column::RefundedMinor, Expr::col(order::Column::RefundedMinor).add(refund))
                .col_expr(order::Column::UpdatedAt, Expr::value(now_ms))
                .filter(order::Column::Id.eq(order_row.id.as_str()))
                .exec(conn)
                .await
                .map_err(db)?;
            Compensation::Refund
        };
        as_request::Entity::update_many()
            .col_expr(as_request::Column::Compensation, Expr::value(given.as_str()))
            .filter(as_request::Column::Id.eq(row.id.as_str()))
            .exec(conn)
            .await
            .map_err(db)?;
        Ok(Some(given))
    }

    /// One AS within `scope`, with evidence and history.
    ///
    /// # Errors
    /// Storage failures or an unreadable row.
    pub async fn get_as(&self, id: Uuid, scope: AsScope) -> Result<Option<AsClaim>, RepoError> {
        let claim = load(self.db.conn(), &self.keyring, &id.to_string()).await.map_err(into_repo)?;
        Ok(claim.filter(|c| match scope {
            AsScope::Requester(user) => c.requester_user_id == user,
            AsScope::Operator => true,
        }))
    }

    /// AS requests matching `q`, newest first, one page (without history).
    ///
    /// # Errors
    /// Storage failures or an unreadable row.
    pub async fn list_as(&self, q: &AsQuery) -> Result<Page<AsClaim>, RepoError> {
        let conn = self.db.conn();
        let mut select = as_request::Entity::find();
        if let Some(user) = q.requester {
            select = select.filter(as_request::Column::RequesterUserId.eq(user.to_string()));
        }
        if let Some(status) = q.status {
            select = select.filter(as_request::Column::Status.eq(status.as_str()));
        }
        if let Some(lead_id) = q.lead_id {
            select = select.filter(as_request::Column::LeadId.eq(lead_id.to_string()));
        }
        if let Some(from) = q.from {
            select = select.filter(as_request::Column::CreatedAt.gte(to_millis(from)));
        }
        if let Some(to) = q.to {
            select = select.filter(as_request::Column::CreatedAt.lte(to_millis(to)));
        }
        let total = select.clone().count(conn).await.map_err(unavailable)?;
        let rows = select
            .order_by_desc(as_request::Column::CreatedAt)
            .order_by_desc(as_request::Column::Id)
            .offset(q.page.offset())
            .limit(q.page.limit())
            .all(conn)
            .await
            .map_err(unavailable)?;
        let ids = rows
            .iter()
            .map(|r| r.id.parse().map_err(|e| corrupt("as_requests", &r.id, e)))
            .collect::<Result<Vec<Uuid>, RepoError>>()?;
        let mut evidence = files::evidence_of(conn, &self.keyring, &ids).await?;
        let items = rows
            .into_iter()
            .zip(ids)
            .map(|(row, id)| from_row(&self.keyring, row, evidence.remove(&id).unwrap_or_default(), Vec::new()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page { items, request: q.page, total })
    }
}

/// `cnslTypNo` of the counsel cases made for AS reviews.
pub const AS_REVIEW_CASE_TYPE: &str = "AS";

/// Moves an AS from `REQUESTED` to `IN_REVIEW` inside the caller's transaction, when its
/// review case reaches a CS manager (counsel allocation); an AS already past
/// `REQUESTED` is left as it is. Writes the history row, the `as.review` audit row (the
/// same shape as [`SeaLeadRepository::act_on_as`]'s) and the lead's status, like every
/// other transition.
///
/// # Errors
/// Storage failures.
pub async fn start_review(
    conn: &impl ConnectionTrait,
    keyring: &Keyring,
    as_id: Uuid,
    actor: &str,
    now: OffsetDateTime,
) -> Result<bool, RepoError> {
    let key = as_id.to_string();
    let now_ms = to_millis(now);
    let moved = as_request::Entity::update_many()
        .col_expr(as_request::Column::Status, Expr::value(AsStatus::InReview.as_str()))
        .col_expr(as_request::Column::UpdatedAt, Expr::value(now_ms))
        .filter(as_request::Column::Id.eq(key.as_str()))
        .filter(as_request::Column::Status.eq(AsStatus::Requested.as_str()))
        .exec(conn)
        .await
        .map_err(unavailable)?;
    if moved.rows_affected != 1 {
        return Ok(false);
    }
    let Some(row) = as_request::Entity::find_by_id(key.clone()).one(conn).await.map_err(unavailable)? else {
        return Ok(false);
    };
    let system = AsActor { label: actor, user_id: None, org_id: None, request_id: None };
    write_history(conn, keyring, &key, Some(AsStatus::Requested), AsStatus::InReview, &system, None, now_ms)
        .await
        .map_err(into_repo)?;
    set_lead_as_status(conn, &row.lead_id, AsStatus::InReview, now_ms).await.map_err(into_repo)?;
    let detail = serde_json::json!({
        "from": AsStatus::Requested.as_str(), "to": AsStatus::InReview.as_str(), "comment": null,
    });
    write_audit(conn, keyring, &system, "as.review", &key, detail, now).await.map_err(into_repo)?;
    Ok(true)
}

fn into_repo(err: AsError) -> RepoError {
    match err {
        AsError::Repo(e) => e,
        other => RepoError::Corrupted(other.to_string()),
    }
}

async fn load(conn: &impl ConnectionTrait, keyring: &Keyring, key: &str) -> Result<Option<AsClaim>, AsError> {
    let Some(row) = as_request::Entity::find_by_id(key.to_owned()).one(conn).await.map_err(db)? else {
        return Ok(None);
    };
    let id: Uuid = key.parse().map_err(|e| corrupt("as_requests", key, e))?;
    let history = as_status_history::Entity::find()
        .filter(as_status_history::Column::AsId.eq(key))
        .order_by_asc(as_status_history::Column::At)
        .order_by_asc(as_status_history::Column::Id)
        .all(conn)
        .await
        .map_err(db)?
        .into_iter()
        .map(|h| {
            let bad = |e: &dyn std::fmt::Display| corrupt("as_status_history", &h.id, e);
            Ok(AsHistoryEntry {
                from: h.from_status.as_deref().map(str::parse).transpose().map_err(|e| bad(&e))?,
                to: h.to_status.parse().map_err(|e| bad(&e))?,
                actor: h.actor.clone(),
                comment: AS_HISTORY_COMMENT
                    .open(keyring, &h.id, h.comment_enc.as_deref(), h.comment.as_deref())
                    .map_err(|e| bad(&e))?,
                at: from_millis(h.at),
            })
        })
        .collect::<Result<Vec<_>, RepoError>>()?;
    let mut evidence: HashMap<Uuid, Vec<EvidenceFile>> = files::evidence_of(conn, keyring, &[id]).await?;
    Ok(Some(from_row(keyring, row, evidence.remove(&id).unwrap_or_default(), history)?))
}

fn from_row(
    keyring: &Keyring,
    row: as_request::Model,
    evidence: Vec<EvidenceFile>,
    history: Vec<AsHistoryEntry>,
) -> Result<AsClaim, RepoError> {
    let key = row.id.clone();
    let bad = |e: &dyn std::fmt::Display| corrupt("as_requests", &key, e);
    let uuid = |text: &str| text.parse::<Uuid>().map_err(|e| bad(&e));
    let opt_uuid = |text: &Option<String>| text.as_deref().map(uuid).transpose();
    Ok(AsClaim {
        id: uuid(&row.id)?,
        lead_id: uuid(&row.lead_id)?,
        assignment_id: uuid(&row.assignment_id)?,
        requester_user_id: uuid(&row.requester_user_id)?,
        order_id: opt_uuid(&row.order_id)?,
        product_id: opt_uuid(&row.product_id)?,
        reason: row.reason_code.parse().map_err(|e| bad(&e))?,
        description: AS_DESCRIPTION
            .open(keyring, &key, row.description_enc.as_deref(), Some(&row.description))
            .map_err(|e| bad(&e))?
            .unwrap_or_default(),
        status: row.status.parse().map_err(|e| bad(&e))?,
        compensation: row.compensation.as_deref().map(str::parse).transpose().map_err(|e| bad(&e))?,
        auto_approved: row.auto_approved,
        created_at: from_millis(row.created_at),
        updated_at: from_millis(row.updated_at),
        decided_at: row.decided_at.map(from_millis),
        evidence,
        history,
    })
}
