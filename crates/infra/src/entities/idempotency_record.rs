use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_records")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org_id: String,
    /// `key:<api key id>`, `key:<api key id>/user:<user id>` or `user:<user id>`.
    pub principal: String,
    pub idem_key: String,
    pub request_sha256: String,
    /// RUNNING or DONE.
    pub state: String,
    pub response_status: Option<i16>,
    /// The reply, sealed by the vault (AAD: this table, `response_enc`, `id`).
    pub response_enc: Option<Vec<u8>>,
    pub enc_key_id: Option<i32>,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
