//! A user's generation (`users.generation`): access tokens carry the generation they were
//! issued at, and a token whose generation is no longer the user's is refused. The
//! repository bumps it in the same `UPDATE` that deletes, revives (a recreated `mohomId`
//! reuses its row) or changes the role or status of a user. Existing users start at 0;
//! tokens issued before this migration carry no generation and stop verifying.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table("users").add_column(big_integer("generation").default(0)).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("users").drop_column("generation").to_owned()).await
    }
}
