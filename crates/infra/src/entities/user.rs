use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org_id: String,
    pub mohom_id: String,
    pub role: String,
    pub team_id: Option<String>,
    pub name_enc: Vec<u8>,
    pub phone_enc: Option<Vec<u8>>,
    pub email_enc: Option<Vec<u8>>,
    pub name_bidx: String,
    pub phone_bidx: Option<String>,
    pub phone_last4_bidx: Option<String>,
    pub email_bidx: Option<String>,
    pub enc_key_id: i32,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    /// Bumped whenever the role or status changes (delete, revival, role change): access
    /// tokens of an older generation are refused.
    pub generation: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
