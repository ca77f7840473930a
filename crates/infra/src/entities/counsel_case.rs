use sea_orm::entity::prelude::*;

/// A counsel case; customer PII sealed (table `counsel_cases`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "counsel_cases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub cnsl_no: String,
    pub queue_id: String,
    pub cnsl_typ_no: String,
    pub ob_typ_no: Option<String>,
    pub mbr_no: Option<String>,
    pub ord_no: Option<String>,
    pub accp_cont: Option<String>,
    pub cust_nm_enc: Option<Vec<u8>>,
    pub cust_tel_enc: Option<Vec<u8>>,
    pub cust_tel_bidx: Option<String>,
    pub enc_key_id: i32,
    pub status: String,
    pub assignee_user_id: Option<String>,
    pub auto_div_no: Option<i64>,
    pub assign_kind: Option<String>,
    /// The engine's explanation of the assignment, JSON.
    pub explanation: Option<String>,
    pub as_id: Option<String>,
    pub created_at: i64,
    pub assigned_at: Option<i64>,
    pub completed_at: Option<i64>,
    /// `accp_cont` sealed (`crypto::COUNSEL_ACCP_CONT`); `accp_cont` is then `NULL`.
    pub accp_cont_enc: Option<Vec<u8>>,
    pub accp_cont_key_id: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
