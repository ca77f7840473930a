//! A source's own side of its leads: the source's id for a lead (`leads.source_lead_id`)
//! and the status it last reported through `changeStatus`.
//!
//! Invariants:
//! - a source's id names at most one lead of that source: the unique index
//!   `ux_leads_source_lead_id` on (`source_id`, `source_lead_id`) holds it, whatever the
//!   callers do;
//! - a source reaches only leads whose `source_id` is its own: a lead of another source,
//!   or one registered without a source, is "not found", the same answer as an unknown id;
//! - a status report writes only the source columns (`source_status`, `source_status_at`,
//!   `source_detail`, `source_note_enc`, plus `updated_at`), each report replacing the
//!   previous one as a whole; never the lead's contact, product, owner or lifecycle
//!   status. The note is sealed like the lead's other PII (column `source_note`, bound to
//!   the lead id), and so is the report's detail (free JSON such as `sale`: column
//!   `source_detail`, sealed into `source_detail_enc`, the plaintext column left `NULL`);
//! - the source's id is written with the lead, inside the intake's transaction
//!   (`IntakeIds::source_lead_id`). The intake use case checks first that the id is free
//!   and names the earlier lead when it is not; of two concurrent creates with one id
//!   that both pass that check, the unique index fails the second insert, its
//!   transaction writes nothing, and the use case refuses it as a duplicate;
//! - [`SeaLeadRepository::set_source_lead_id`] gives an existing lead an id afterwards
//!   (operators, tests), under the same index;
//! - no write here is an `intake.status_changed` event (`events.md`): that event tells a
//!   source that the lifecycle `status` it is shown ([`shown_status`]) changed, and a
//!   report changes only the source's own columns, never that status; echoing the
//!   source's own report back to it would tell it nothing. The writes that change the
//!   shown status write the event: an AS approval returning the lead (`RETURNED`,
//!   `as_claims::decide`), and an order taking a pooled lead (`POOL` → `ASSIGNED`,
//!   `orders::create`). An intake or import that delivers a lead at once writes none:
//!   the source's own answer already said `ASSIGNED`, so nothing it was shown changed.

use domain::error::RepoError;
use domain::intake::{SourceLead, SourceLeadIdSet, SourceSide, SourceStatusReport};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::crypto::{FieldContext, LEAD_SOURCE_DETAIL};
use crate::entities::lead;
use crate::error::unavailable;
use crate::leads::SeaLeadRepository;
use crate::{from_millis, to_millis};

/// The sealed column of the source's note.
const NOTE_COLUMN: &str = "source_note";

fn corrupt(id: &str, what: impl std::fmt::Display) -> RepoError {
    crate::error::corrupt("leads", id, what)
}

/// The lifecycle status a source is shown: a held lead shows what its source was told at
/// intake, never the flag.
fn shown_status(row: &lead::Model) -> String {
    match &row.held_shown_status {
        Some(shown) if row.status == domain::lead::LeadStatus::DuplicateOtherProvider.as_str() => shown.clone(),
        _ => row.status.clone(),
    }
}

fn source_lead(row: &lead::Model) -> Result<SourceLead, RepoError> {
    Ok(SourceLead {
        id: row.id.parse().map_err(|e| corrupt(&row.id, e))?,
        source_lead_id: row.source_lead_id.clone(),
        status: shown_status(row),
        source_status: row.source_status.clone(),
        source_status_at: row.source_status_at.map(from_millis),
    })
}

/// The lead a source names by `key`: its own id for the lead first, then the LDBDS lead id
/// (only for a lead of that source).
async fn find_for_source(
    conn: &impl ConnectionTrait,
    source_id: Uuid,
    key: &str,
) -> Result<Option<lead::Model>, RepoError> {
    let source = source_id.to_string();
    let by_source_id = lead::Entity::find()
        .filter(lead::Column::SourceId.eq(source.as_str()))
        .filter(lead::Column::SourceLeadId.eq(key))
        .one(conn)
        .await
        .map_err(unavailable)?;
    if by_source_id.is_some() {
        return Ok(by_source_id);
    }
    let Ok(lead_id) = key.parse::<Uuid>() else { return Ok(None) };
    lead::Entity::find_by_id(lead_id.to_string())
        .filter(lead::Column::SourceId.eq(source.as_str()))
        .one(conn)
        .await
        .map_err(unavailable)
}

impl SeaLeadRepository {
    /// The lead of a source holding the source's id `source_lead_id`, if any.
    ///
    /// # Errors
    /// Storage failures or a corrupted row.
    pub async fn lead_by_source_lead_id(
        &self,
        source_id: Uuid,
        source_lead_id: &str,
    ) -> Result<Option<Uuid>, RepoError> {
        let row = lead::Entity::find()
            .filter(lead::Column::SourceId.eq(source_id.to_string()))
            .filter(lead::Column::SourceLeadId.eq(source_lead_id))
            .one(self.db.conn())
            .await
            .map_err(unavailable)?;
        row.map(|r| r.id.parse().map_err(|e| corrupt(&r.id, e))).transpose()
    }

    /// Stores the source's own id for a lead of that source.
    ///
    /// # Errors
    /// Storage failures; [`RepoError::NotFound`] when the lead is not of that source.
    pub async fn set_source_lead_id(
        &self,
        lead_id: Uuid,
        source_id: Uuid,
        source_lead_id: &str,
    ) -> Result<SourceLeadIdSet, RepoError> {
        let txn = self.db.begin_write().await.map_err(unavailable)?;
        let done = lead::Entity::update_many()
            .col_expr(lead::Column::SourceLeadId, Expr::value(source_lead_id))
            .filter(lead::Column::Id.eq(lead_id.to_string()))
            .filter(lead::Column::SourceId.eq(source_id.to_string()))
            .exec(&*txn)
            .await;
        let done = match done {
            Ok(done) => done,
            Err(e) if matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) => {
                return Ok(SourceLeadIdSet::Taken);
            }
            Err(e) => return Err(unavailable(e)),
        };
        if done.rows_affected != 1 {
            return Err(RepoError::NotFound);
        }
        txn.commit().await.map_err(unavailable)?;
        Ok(SourceLeadIdSet::Stored)
    }

    /// Records a source's status report on the lead it names by `key` (its own id for the
    /// lead, or the LDBDS lead id); `None` when the source has no such lead (nothing is
    /// written then).
    ///
    /// # Errors
    /// Storage failures, a corrupted row, or sealing the note.
    pub async fn report_source_status(
        &self,
        source_id: Uuid,
        key: &str,
        report: &SourceStatusReport,
        now: OffsetDateTime,
    ) -> Result<Option<SourceLead>, RepoError> {
        let now_ms = to_millis(now);
        let txn = self.db.begin_write().await.map_err(unavailable)?;
        let Some(row) = find_for_source(&*txn, source_id, key).await? else { return Ok(None) };
        let note = report.note.as_deref().map(|n| self.seal(&row.id, NOTE_COLUMN, n)).transpose()?;
        let detail = LEAD_SOURCE_DETAIL
            .seal(&self.keyring, &row.id, &report.detail.to_string())
            .map_err(|e| corrupt(&row.id, e))?;
        let done = lead::Entity::update_many()
            .col_expr(lead::Column::SourceStatus, Expr::value(report.status.as_str()))
            .col_expr(lead::Column::SourceStatusAt, Expr::value(now_ms))
            .col_expr(lead::Column::SourceDetail, Expr::value(Option::<String>::None))
            .col_expr(lead::Column::SourceDetailEnc, Expr::value(Some(detail.envelope)))
            .col_expr(lead::Column::SourceDetailKeyId, Expr::value(Some(detail.key_id)))
            .col_expr(lead::Column::SourceNoteEnc, Expr::value(note))
            .col_expr(lead::Column::UpdatedAt, Expr::value(now_ms))
            .filter(lead::Column::Id.eq(row.id.as_str()))
            .filter(lead::Column::SourceId.eq(source_id.to_string()))
            .exec(&*txn)
            .await
            .map_err(unavailable)?;
        if done.rows_affected != 1 {
            return Err(corrupt(&row.id, "lead vanished inside its transaction"));
        }
        // The lifecycle status is read in the same transaction as the write.
        let status = lead::Entity::find_by_id(row.id.clone())
            .one(&*txn)
            .await
            .map_err(unavailable)?
            .map_or_else(|| shown_status(&row), |r| shown_status(&r));
        txn.commit().await.map_err(unavailable)?;
        let mut lead = source_lead(&row)?;
        lead.status = status;
        lead.source_status = Some(report.status.clone());
        lead.source_status_at = Some(from_millis(now_ms));
        Ok(Some(lead))
    }

    /// A lead's stored source side, the note decrypted (see [`SourceSide`]).
    ///
    /// # Errors
    /// Storage failures or a corrupted row.
    pub async fn source_side(&self, lead_id: Uuid) -> Result<Option<SourceSide>, RepoError> {
        let Some(row) = lead::Entity::find_by_id(lead_id.to_string()).one(self.db.conn()).await.map_err(unavailable)?
        else {
            return Ok(None);
        };
        let note = row
            .source_note_enc
            .as_deref()
            .map(|sealed| {
                let ctx = FieldContext { table: "leads", column: NOTE_COLUMN, row_id: &row.id };
                self.keyring.decrypt_string(sealed, &ctx).map_err(|e| corrupt(&row.id, e))
            })
            .transpose()?;
        let detail = LEAD_SOURCE_DETAIL
            .open(&self.keyring, &row.id, row.source_detail_enc.as_deref(), row.source_detail.as_deref())
            .map_err(|e| corrupt(&row.id, e))?
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| corrupt(&row.id, e))?;
        Ok(Some(SourceSide {
            lead: source_lead(&row)?,
            source_id: row.source_id.as_deref().map(str::parse).transpose().map_err(|e| corrupt(&row.id, e))?,
            product_id: row.product_id.parse().map_err(|e| corrupt(&row.id, e))?,
            detail,
            note,
        }))
    }
}
