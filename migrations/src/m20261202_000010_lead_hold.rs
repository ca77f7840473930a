//! Held leads (issue #13): `leads.status` takes `DUPLICATE_OTHER_PROVIDER` (24
//! characters), the status of a source's lead whose phone another provider org sent
//! earlier inside the product's duplicate window: kept for the operator, never offered to
//! an order.
//!
//! The column was `VARCHAR(16)`; PostgreSQL enforces that length, so it becomes
//! `VARCHAR(32)` there. SQLite does not enforce declared lengths (a `VARCHAR(16)` column
//! has TEXT affinity), so nothing changes on SQLite and no table is rebuilt.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

async fn status_length(manager: &SchemaManager<'_>, length: u32) -> Result<(), DbErr> {
    if manager.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    manager
        .alter_table(
            Table::alter()
                .table("leads")
                .modify_column(ColumnDef::new("status").string_len(length).not_null())
                .to_owned(),
        )
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        status_length(manager, 32).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // PostgreSQL refuses this while a held lead exists (its status would not fit).
        status_length(manager, 16).await
    }
}
