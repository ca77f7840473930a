use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub order_id: String,
    pub product_id: String,
    pub region: String,
    pub quantity: i64,
    pub delivered: i64,
    /// The allocation engine's stored credit.
    pub credit: i64,
    /// The pool pick count at which `credit` was stored; `None` while out of the ledger.
    pub credit_pick: Option<i64>,
    pub open: bool,
    pub created_at: i64,
    /// Units reopened by approved `REPLACEMENT` AS, not yet redelivered.
    pub replacements_owed: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
