use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org_id: String,
    pub buyer_user_id: String,
    pub product_id: String,
    pub status: String,
    pub daily_limit: Option<i64>,
    pub memo: Option<String>,
    pub unit_price_minor: i64,
    pub prices_exclude_vat: bool,
    pub quantity: i64,
    pub delivered: i64,
    pub subtotal_minor: i64,
    pub vat_minor: i64,
    pub total_minor: i64,
    pub refunded_minor: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub cancelled_at: Option<i64>,
    /// Start (UTC ms) of the product-time-zone day `delivered_today` counts.
    pub day_start: Option<i64>,
    pub delivered_today: i64,
    /// Open (`REQUESTED`/`IN_REVIEW`) and approved AS of the order: its AS cap's counters.
    pub as_open: i64,
    pub as_approved: i64,
    /// `memo` sealed (`crypto::ORDER_MEMO`); `memo` is then `NULL`.
    pub memo_enc: Option<Vec<u8>>,
    pub memo_key_id: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
