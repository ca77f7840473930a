//! Idempotency records per principal, replies sealed (issue #13, defect 1).
//!
//! `idempotency_keys` was keyed by (org, key) and kept the reply in plain text, so one
//! member could replay another's reply. `idempotency_records` is keyed by (principal,
//! key): the API key id, plus the acting user when a `mohomId` or a Bearer token names
//! one. The reply is a vault envelope (`response_enc`, `enc_key_id`).
//!
//! The old rows are dropped, not carried over: they name no principal, so none of them
//! could be replayed safely, and they hold replies in plain text. A retry of a request
//! sent before the upgrade (records live 24 h) runs again; `docs/decisions.md` says so.

use sea_orm_migration::{prelude::*, schema::*};

use crate::shared::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("idempotency_keys").if_exists().to_owned()).await?;
        manager
            .create_table(
                Table::create()
                    .table("idempotency_records")
                    .col(string_len("id", 36).primary_key())
                    .col(string_len("org_id", 36))
                    .col(string_len("principal", 120))
                    .col(string_len("idem_key", 255))
                    .col(string_len("request_sha256", 64))
                    .col(string_len("state", 16))
                    .col(small_integer_null("response_status"))
                    .col(blob_null("response_enc"))
                    .col(integer_null("enc_key_id"))
                    .col(big_integer("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_idempotency_records_key")
                    .table("idempotency_records")
                    .col("principal")
                    .col("idem_key")
                    .unique()
                    .to_owned(),
            )
            .await?;
        index(manager, "idempotency_records", "ix_idempotency_records_created", &["created_at"]).await?;
        index(manager, "idempotency_records", "ix_idempotency_records_enc_key", &["enc_key_id"]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("idempotency_records").if_exists().to_owned()).await?;
        manager
            .create_table(
                Table::create()
                    .table("idempotency_keys")
                    .col(string_len("org_id", 36))
                    .col(string_len("idem_key", 255))
                    .col(string_len("request_sha256", 64))
                    .col(string_len("state", 16))
                    .col(small_integer_null("response_status"))
                    .col(text_null("response_body"))
                    .col(big_integer("created_at"))
                    .primary_key(Index::create().col("org_id").col("idem_key"))
                    .to_owned(),
            )
            .await?;
        index(manager, "idempotency_keys", "ix_idempotency_keys_created", &["created_at"]).await
    }
}
