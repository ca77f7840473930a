use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organizations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub created_at: i64,
    /// The org's SSO signing secret, encrypted (table organizations, column sso_secret).
    pub sso_secret_enc: Option<Vec<u8>>,
    /// Allowed SSO redirect URIs, one per line (exact match).
    pub sso_redirect_allowlist: Option<String>,
    pub sso_default_redirect: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
