//! Reading AS requests back: one with its evidence and history, a page of them, and who
//! reviews one now. Sealed text is opened here, bound to its row.

use std::collections::HashMap;

use domain::as_claim::{AsClaim, AsHistoryEntry, AsQuery, AsScope};
use domain::counsel::CaseStatus;
use domain::error::RepoError;
use domain::pagination::Page;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::SeaAsClaimRepository;
use crate::crypto::{AS_DESCRIPTION, AS_HISTORY_COMMENT, Keyring};
use crate::entities::{as_request, as_status_history, counsel_case};
use crate::error::{corrupt, unavailable};
use crate::files::{self, EvidenceFile};
use crate::{from_millis, to_millis};

impl SeaAsClaimRepository {
    /// One AS within `scope`, with evidence and history.
    ///
    /// # Errors
    /// Storage failures or an unreadable row.
    pub async fn get_as(&self, id: Uuid, scope: AsScope) -> Result<Option<AsClaim>, RepoError> {
        let claim = self.load(self.db.conn(), &id.to_string()).await?;
        Ok(claim.filter(|c| scope.reaches(c)))
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

    /// The user the AS's review case is assigned to now (none while it waits, once it is
    /// completed, or without a review case).
    ///
    /// # Errors
    /// Storage failures or an unreadable row.
    pub async fn assigned_reviewer(&self, id: Uuid) -> Result<Option<Uuid>, RepoError> {
        let case = counsel_case::Entity::find()
            .filter(counsel_case::Column::AsId.eq(id.to_string()))
            .one(self.db.conn())
            .await
            .map_err(unavailable)?;
        let Some(case) = case.filter(|c| c.status == CaseStatus::Assigned.as_str()) else { return Ok(None) };
        case.assignee_user_id
            .as_deref()
            .map(|user| user.parse().map_err(|e| corrupt("counsel_cases", &case.cnsl_no, e)))
            .transpose()
    }

    /// One AS with its evidence and history, through `conn` (inside a transaction, the
    /// AS as that transaction left it).
    pub(super) async fn load(&self, conn: &impl ConnectionTrait, key: &str) -> Result<Option<AsClaim>, RepoError> {
        let keyring = &*self.keyring;
        let Some(row) = as_request::Entity::find_by_id(key.to_owned()).one(conn).await.map_err(unavailable)? else {
            return Ok(None);
        };
        let id: Uuid = key.parse().map_err(|e| corrupt("as_requests", key, e))?;
        let history = as_status_history::Entity::find()
            .filter(as_status_history::Column::AsId.eq(key))
            .order_by_asc(as_status_history::Column::At)
            .order_by_asc(as_status_history::Column::Id)
            .all(conn)
            .await
            .map_err(unavailable)?
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
        let evidence = evidence.remove(&id).unwrap_or_default();
        Ok(Some(from_row(keyring, row, evidence, history)?))
    }
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
