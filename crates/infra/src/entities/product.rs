use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "products")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub code: String,
    pub name: String,
    pub category: String,
    pub unit_price_minor: i64,
    pub prices_exclude_vat: bool,
    pub allocation_policy: String,
    pub time_zone: String,
    pub duplicate_window_hours: i32,
    pub on_sale: bool,
    pub as_window_hours: i32,
    pub as_window_from: String,
    /// Comma-separated reason codes.
    pub as_allowed_reasons: String,
    /// Comma-separated reason codes.
    pub as_evidence_reasons: String,
    pub as_max_rate_percent: i16,
    pub as_compensation: String,
    pub as_auto_approve: bool,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
