//! Uploaded files (evidence for AS requests).
//!
//! - `uploaded_files`: one row per presigned upload, made `PENDING` when the URL is
//!   issued and `UPLOADED` once the complete, declared content is stored (local: after
//!   the streamed body was checked and renamed into place; S3: after a HEAD confirmed
//!   it). `sha256` is known for local uploads. `as_id` is set once, when an AS request
//!   takes the file; the file's owner is (`org_id`, `user_id`).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("uploaded_files")
                    .col(string_len("file_key", 36).primary_key())
                    .col(string_len("org_id", 36))
                    .col(string_len("user_id", 36))
                    .col(string_len("purpose", 32))
                    .col(string_len("file_name", 255))
                    .col(string_len("content_type", 64))
                    .col(big_integer("size"))
                    .col(string_len_null("sha256", 64))
                    .col(string_len("status", 16))
                    .col(string_len_null("as_id", 36))
                    .col(big_integer("created_at"))
                    .col(big_integer("expires_at"))
                    .col(big_integer_null("uploaded_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("uploaded_files", "org_id")
                            .to("organizations", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("uploaded_files", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("ix_uploaded_files_as").table("uploaded_files").col("as_id").to_owned())
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_uploaded_files_owner")
                    .table("uploaded_files")
                    .col("org_id")
                    .col("user_id")
                    .col("created_at")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("uploaded_files").if_exists().to_owned()).await?;
        Ok(())
    }
}
