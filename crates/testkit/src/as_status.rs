//! Test data the API does not write directly: an AS request row with a given status on a
//! lead, its status copied onto the lead (what `hasAs` and the transfer rules read).
//!
//! Invariant: the row is a plain `as_requests` row of the lead's open assignment, written
//! with portable SQL, so the same call works on SQLite and PostgreSQL.

use domain::lead::AsStatus;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DbErr};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::TestDb;

/// Inserts an AS request of `requester` on `lead_id` with `status` at `at`, and copies the
/// status onto the lead; its id.
///
/// # Errors
/// The driver's error; [`DbErr::RecordNotFound`] for an unknown lead.
pub async fn record_as_status(
    db: &TestDb,
    lead_id: Uuid,
    requester: Uuid,
    status: AsStatus,
    at: OffsetDateTime,
) -> Result<Uuid, DbErr> {
    let conn = db.db.conn();
    let lead = lead_id.to_string();
    let find = Query::select()
        .column(Alias::new("assignment_id"))
        .from(Alias::new("leads"))
        .and_where(Expr::col(Alias::new("id")).eq(lead.as_str()))
        .to_owned();
    let row = conn.query_one(&find).await?.ok_or_else(|| DbErr::RecordNotFound(format!("lead {lead_id}")))?;
    let assignment: Option<String> = row.try_get("", "assignment_id")?;
    let id = domain::ids::new_id();
    let ms = infra::to_millis(at);
    let insert = Query::insert()
        .into_table(Alias::new("as_requests"))
        .columns(
            [
                "id",
                "lead_id",
                "assignment_id",
                "requester_user_id",
                "reason_code",
                "description",
                "status",
                "created_at",
                "updated_at",
                "auto_approved",
            ]
            .map(Alias::new),
        )
        .values_panic([
            id.to_string().into(),
            lead.clone().into(),
            assignment.unwrap_or_default().into(),
            requester.to_string().into(),
            "ETC".into(),
            String::new().into(),
            status.as_str().into(),
            ms.into(),
            ms.into(),
            false.into(),
        ])
        .to_owned();
    conn.execute(&insert).await?;
    let copy = Query::update()
        .table(Alias::new("leads"))
        .value(Alias::new("latest_as_status"), status.as_str())
        .and_where(Expr::col(Alias::new("id")).eq(lead.as_str()))
        .to_owned();
    conn.execute(&copy).await?;
    Ok(id)
}
