use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "as_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub lead_id: String,
    pub assignment_id: String,
    pub requester_user_id: String,
    pub reason_code: String,
    pub description: String,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// The order, line and product the lead was bought through.
    pub order_id: Option<String>,
    pub order_line_id: Option<String>,
    pub product_id: Option<String>,
    pub requester_org_id: Option<String>,
    /// `REPLACEMENT` or `REFUND`, once approved.
    pub compensation: Option<String>,
    pub auto_approved: bool,
    pub decided_at: Option<i64>,
    pub decided_by: Option<String>,
    /// `description` sealed (`crypto::AS_DESCRIPTION`); `description` is then `''`.
    pub description_enc: Option<Vec<u8>>,
    pub description_key_id: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
