use sea_orm::entity::prelude::*;

/// A counsel queue: (group code, detail number), its policy, and its pick clock; the row
/// every writer of the queue's members and cases locks first.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "counsel_queues")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub auto_div_gb_cd: String,
    pub auto_div_dtl_no: String,
    pub name: String,
    pub policy: String,
    pub picks: i64,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
