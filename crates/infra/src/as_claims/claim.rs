//! A new AS: the facts its rule decides over, read under the claim's locks; the AS row,
//! its history, evidence, counters and audit row; its review case (or, for a plain
//! case the product approves on its own, the approval). Also the evidence check before a
//! claim, over [`Files`].
//!
//! Events, in the claim's transaction with one outbox insert: `as.created` to each
//! operator org (`orgCode` the claimant's org), `counsel.case.assigned` when the review
//! case reaches a manager at once, and an auto-approval's `as.decided` (and
//! `intake.status_changed`, see `decide`). Their cost: the operator orgs' read, the
//! outbox insert, and the event directory's read of the claimant's org code on a cold
//! cache. A refused claim writes nothing, events included.

use std::collections::HashSet;

use domain::as_claim::{
    AUTO_APPROVAL_COMMENT, AsAction, AsActor, AsClaim, AsError, AsRefusal, ClaimFacts, EvidenceRefusal, NewAsClaim,
    SYSTEM_ACTOR,
};
use domain::counsel::NewCounselCase;
use domain::error::RepoError;
use domain::events::{AsCreated, event_time};
use domain::files::FilePurpose;
use domain::identity::User;
use domain::ids::new_id;
use domain::lead::{AsStatus, AssignmentSource};
use domain::ports::{ClaimRule, EvidenceFiles};
use domain::reference::Compensation;
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use time::OffsetDateTime;
use uuid::Uuid;

use super::transitions::{set_lead_as_status, write_audit, write_history};
use super::{SeaAsClaimRepository, line_by_id, locked_order, product_by_id};
use crate::counsel::{Assigned, review};
use crate::crypto::AS_DESCRIPTION;
use crate::entities::{as_request, assignment, lead, order, order_line};
use crate::error::{corrupt, unavailable};
use crate::files::{self, FileUseError, Files};
use crate::{from_millis, pools, to_millis};

/// `cnslTypNo` of the counsel cases made for AS reviews.
pub const AS_REVIEW_CASE_TYPE: &str = "AS";

/// A file key refused for use as evidence, as the AS use cases name it.
pub(super) fn file_refusal(err: FileUseError) -> AsError {
    match err {
        FileUseError::NotFound(key) => EvidenceRefusal::NotFound(key).into(),
        FileUseError::NotUploaded(key) => EvidenceRefusal::NotUploaded(key).into(),
        FileUseError::WrongPurpose(key) => EvidenceRefusal::WrongPurpose(key).into(),
        FileUseError::AlreadyAttached(key) => EvidenceRefusal::AlreadyAttached(key).into(),
        FileUseError::Repo(e) => e.into(),
    }
}

impl EvidenceFiles for Files {
    async fn confirm_evidence(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        keys: &[Uuid],
        now: OffsetDateTime,
    ) -> Result<(), AsError> {
        self.confirm_for_use(org_id, user_id, FilePurpose::AsEvidence, keys, now).await.map_err(file_refusal)?;
        Ok(())
    }
}

/// The facts about a lead's purchase: its latest `ORDER`/`REPLACEMENT` assignment and the
/// first use since then.
struct Purchase {
    assigned_at: i64,
    line_id: String,
    first_used_at: Option<i64>,
}

async fn purchase_of(conn: &impl ConnectionTrait, lead_id: &str) -> Result<Option<Purchase>, RepoError> {
    let rows = assignment::Entity::find()
        .filter(assignment::Column::LeadId.eq(lead_id))
        .order_by_asc(assignment::Column::AssignedAt)
        .order_by_asc(assignment::Column::Id)
        .all(conn)
        .await
        .map_err(unavailable)?;
    let bought = [AssignmentSource::Order.as_str(), AssignmentSource::Replacement.as_str()];
    let Some(purchase) = rows.iter().rev().find(|a| bought.contains(&a.source.as_str())) else { return Ok(None) };
    let Some(line_id) = purchase.order_line_id.clone() else { return Ok(None) };
    let first_used_at = rows.iter().filter(|a| a.assigned_at >= purchase.assigned_at).filter_map(|a| a.used_at).min();
    Ok(Some(Purchase { assigned_at: purchase.assigned_at, line_id, first_used_at }))
}

impl SeaAsClaimRepository {
    /// Claims a lead back (AS 신청); see the module invariants. `rule` decides over the
    /// facts read under the locks (the use case passes `domain::as_claim::check_claim`).
    /// The evidence keys must have been confirmed (`EvidenceFiles::confirm_evidence`).
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
        rule: impl ClaimRule,
    ) -> Result<AsClaim, AsError> {
        let now_ms = to_millis(now);
        let lead_key = new.lead_id.to_string();
        let requester_key = requester.id.to_string();
        let txn = self.db.begin_write().await.map_err(unavailable)?;
        let owned = |select: sea_orm::Select<lead::Entity>| {
            select
                .filter(lead::Column::Id.eq(lead_key.as_str()))
                .filter(lead::Column::OwnerUserId.eq(requester_key.as_str()))
        };
        let Some(seen) = owned(lead::Entity::find()).one(&*txn).await.map_err(unavailable)? else {
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
                .map_err(unavailable)?
                .iter()
                .map(|l| l.replacements_owed)
                .sum();
            bought = Some((line, order_row, owed));
        }
        let Some(lead_row) = owned(lead::Entity::find()).lock_exclusive().one(&*txn).await.map_err(unavailable)? else {
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
        let verdict = rule(&product.as_policy, &facts)?;
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
            _ => unavailable(e).into(),
        })?;
        write_history(&*txn, &self.keyring, &key, None, AsStatus::Requested, actor, None, now_ms).await?;
        files::attach(&*txn, id, requester.org_id, requester.id, FilePurpose::AsEvidence, &new.file_keys)
            .await
            .map_err(file_refusal)?;
        set_lead_as_status(&*txn, &lead_key, AsStatus::Requested, now_ms).await?;
        order::Entity::update_many()
            .col_expr(order::Column::AsOpen, Expr::col(order::Column::AsOpen).add(1))
            .filter(order::Column::Id.eq(order_row.id.as_str()))
            .exec(&*txn)
            .await
            .map_err(unavailable)?;
        let detail = serde_json::json!({
            "leadId": lead_key, "orderId": order_row.id, "reasonCode": new.reason.as_str(),
            "files": new.file_keys.len(), "autoApproved": verdict.auto_approved,
        });
        write_audit(&*txn, &self.keyring, actor, "as.create", &key, detail, now).await?;
        let mut assigned = Assigned::default();
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
            assigned = crate::counsel::open_case_in(&*txn, &self.keyring, &queue, &case, actor.label, now).await?.1;
        }
        let mut moved = None;
        if verdict.auto_approved {
            let system = AsActor { label: SYSTEM_ACTOR, user_id: None, ..*actor };
            moved = Some(
                self.move_as(&*txn, &key, AsAction::Approve, &product, &system, Some(AUTO_APPROVAL_COMMENT), now)
                    .await?,
            );
            as_request::Entity::update_many()
                .col_expr(as_request::Column::AutoApproved, Expr::value(true))
                .filter(as_request::Column::Id.eq(key.as_str()))
                .exec(&*txn)
                .await
                .map_err(unavailable)?;
        }
        let created = AsCreated {
            as_id: id,
            lead_id: new.lead_id,
            org_code: self.db.event_directory().org_code(&*txn, &requester.org_id.to_string()).await?.to_string(),
            reason_code: new.reason.as_str().to_owned(),
            created_at: event_time(now),
        };
        self.write_events(&txn, Some(&created), moved.as_ref(), &assigned, now).await?;
        let claim = self.load(&*txn, &key).await?.ok_or_else(|| corrupt("as_requests", &key, "vanished"))?;
        txn.commit().await.map_err(unavailable)?;
        Ok(claim)
    }
}
