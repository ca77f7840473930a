//! What a held lead's source was told (issue #13, defect 2): `leads.held_shown_status`,
//! the delivery status a fresh lead would have had at intake (`ASSIGNED` or `POOL`).
//! `changeStatus` shows it to the source instead of `DUPLICATE_OTHER_PROVIDER`, so the
//! answer at intake and the status read back right after it agree for held and fresh
//! leads alike.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table("leads").add_column(string_len_null("held_shown_status", 16)).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("leads").drop_column("held_shown_status").to_owned()).await
    }
}
