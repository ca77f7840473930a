use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "leads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub product_id: String,
    pub provider_org_id: String,
    pub source_id: Option<String>,
    pub source_lead_id: Option<String>,
    pub region: String,
    pub gender: Option<String>,
    pub metadata: Option<String>,
    pub status: String,
    pub name_enc: Vec<u8>,
    pub phone_enc: Vec<u8>,
    pub email_enc: Option<Vec<u8>>,
    pub address_enc: Option<Vec<u8>>,
    pub birth_date_enc: Option<Vec<u8>>,
    pub memo_enc: Option<Vec<u8>>,
    pub id_number_enc: Option<Vec<u8>>,
    pub passport_enc: Option<Vec<u8>>,
    pub family_book_enc: Option<Vec<u8>>,
    pub name_bidx: String,
    pub phone_bidx: String,
    pub phone_last4_bidx: String,
    pub email_bidx: Option<String>,
    pub enc_key_id: i32,
    pub owner_user_id: Option<String>,
    pub owner_org_id: Option<String>,
    pub assignment_id: Option<String>,
    pub assignment_source: Option<String>,
    pub distributor_user_id: Option<String>,
    pub assigned_at: Option<i64>,
    pub used_at: Option<i64>,
    pub last_distributed_at: Option<i64>,
    pub latest_as_status: Option<String>,
    pub source_status: Option<String>,
    /// A held lead's delivery status as its source was told at intake (`ASSIGNED` or `POOL`).
    pub held_shown_status: Option<String>,
    pub source_status_at: Option<i64>,
    /// JSON of the source's status report (`changeStatus`); cleared once sealed.
    pub source_detail: Option<String>,
    pub source_note_enc: Option<Vec<u8>>,
    pub created_at: i64,
    pub updated_at: i64,
    /// `metadata` sealed (`crypto::LEAD_METADATA`); `metadata` is then `NULL`.
    pub metadata_enc: Option<Vec<u8>>,
    pub metadata_key_id: Option<i32>,
    /// `source_detail` sealed (`crypto::LEAD_SOURCE_DETAIL`); `source_detail` is then `NULL`.
    pub source_detail_enc: Option<Vec<u8>>,
    pub source_detail_key_id: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
