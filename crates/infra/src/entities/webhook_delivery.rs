use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub endpoint_id: String,
    pub event_id: String,
    pub event_type: String,
    pub event_created_at: i64,
    /// `PENDING`, `SUCCEEDED`, `FAILED` or `GAVE_UP`.
    pub status: String,
    /// Attempts made so far.
    pub attempt: i32,
    pub response_status: Option<i32>,
    pub latency_ms: Option<i64>,
    /// Our classification of the last failure (`timeout`, `connect`, `http 503`, ...);
    /// never the receiver's body.
    pub error: Option<String>,
    /// When a `PENDING` delivery is due.
    pub next_attempt_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
