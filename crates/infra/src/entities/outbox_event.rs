use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox_events")]
pub struct Model {
    /// `evt_` + UUIDv7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The org that receives the event.
    pub org_id: String,
    pub event_type: String,
    /// One endpoint only (`ping`); `None`: every subscribed endpoint of the org.
    pub endpoint_id: Option<String>,
    pub created_at: i64,
    /// Always `''`: the envelope is in `body_enc`.
    pub body: String,
    pub body_enc: Option<Vec<u8>>,
    pub body_key_id: Option<i32>,
    pub fanned_out_at: Option<i64>,
    pub nats_wanted: bool,
    pub nats_published_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
