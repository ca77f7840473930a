use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "uploaded_files")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub file_key: String,
    pub org_id: String,
    pub user_id: String,
    /// `AS_EVIDENCE`.
    pub purpose: String,
    /// Empty: the name is in `file_name_enc` (rows from before the vault held it here
    /// until the start-up step sealed them).
    pub file_name: String,
    /// The sanitized client file name, a vault envelope (`uploaded_files`, `file_name`,
    /// `file_key`); `None` only for rows not sealed yet.
    pub file_name_enc: Option<Vec<u8>>,
    /// Canonical (`image/png`, ...).
    pub content_type: String,
    pub size: i64,
    /// Lowercase hex; known for local uploads.
    pub sha256: Option<String>,
    /// `PENDING` or `UPLOADED`.
    pub status: String,
    pub as_id: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub uploaded_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
