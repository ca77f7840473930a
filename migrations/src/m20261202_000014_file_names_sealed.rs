//! Evidence file names through the vault (issue #13, defect 4).
//!
//! - `uploaded_files.file_name_enc`: the sanitized client file name as a vault envelope
//!   (AAD `uploaded_files` / `file_name` / `file_key`). New rows write only this column
//!   and leave `file_name` empty; rows stored before are sealed, and their `file_name`
//!   emptied, by the server's start-up step (`infra::files::seal_legacy`), which needs the
//!   keys a migration does not have. `file_name` stays (empty) so that step can run after
//!   this migration on both databases; a later migration may drop it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table("uploaded_files").add_column(blob_null("file_name_enc")).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("uploaded_files").drop_column("file_name_enc").to_owned()).await
    }
}
