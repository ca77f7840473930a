use sea_orm::entity::prelude::*;

/// A manager's membership of a counsel queue (`autoDivNo`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "counsel_members")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub auto_div_no: i64,
    pub queue_id: String,
    pub user_id: String,
    pub weight: i64,
    pub capacity: i64,
    pub possible_yn: bool,
    pub open_cases: i64,
    /// The allocation engine's stored credit.
    pub credit: i64,
    /// The queue pick count at which `credit` was stored; `None` while out of the ledger.
    pub credit_pick: Option<i64>,
    pub last_assigned_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub removed_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
