use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org_id: String,
    pub url: String,
    /// `*`, or the subscribed event types, comma-separated.
    pub events: String,
    /// Cleared: the description is in `description_enc`.
    pub description: Option<String>,
    pub description_enc: Option<Vec<u8>>,
    pub description_key_id: Option<i32>,
    /// `ENABLED` or `DISABLED`.
    pub status: String,
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<i64>,
    /// Always `''`: the secret is in `secret_enc`.
    pub secret: String,
    pub secret_enc: Option<Vec<u8>>,
    pub secret_key_id: Option<i32>,
    pub previous_secret: Option<String>,
    pub previous_secret_enc: Option<Vec<u8>>,
    pub previous_secret_key_id: Option<i32>,
    /// Until when the previous secret also signs (a rotation's 24 h).
    pub previous_secret_until: Option<i64>,
    pub last_success_at: Option<i64>,
    pub last_failure_at: Option<i64>,
    /// The first failure since the last success; `None` while healthy.
    pub failing_since: Option<i64>,
    /// The lease of the dispatcher sending this endpoint's deliveries.
    pub claimed_until: Option<i64>,
    pub claimed_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
