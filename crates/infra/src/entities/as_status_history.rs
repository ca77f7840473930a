use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "as_status_history")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub as_id: String,
    pub from_status: Option<String>,
    pub to_status: String,
    /// Who moved it: `user:<id>`, `apikey:<id>` or `system`.
    pub actor: String,
    pub actor_user_id: Option<String>,
    pub comment: Option<String>,
    pub at: i64,
    /// `comment` sealed (`crypto::AS_HISTORY_COMMENT`); `comment` is then `NULL`.
    pub comment_enc: Option<Vec<u8>>,
    pub comment_key_id: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
