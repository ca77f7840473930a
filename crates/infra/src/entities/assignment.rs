use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "assignments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub lead_id: String,
    pub owner_user_id: String,
    pub owner_org_id: String,
    pub source: String,
    pub distributor_user_id: Option<String>,
    pub order_line_id: Option<String>,
    pub restored_from_id: Option<String>,
    pub assigned_at: i64,
    pub used_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub end_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
