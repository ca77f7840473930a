//! Free text typed by people or partners goes through the vault (issue #13, defect 4).
//!
//! Each sealed text column `<c>` gains `<c>_enc` (the envelope, bound to table, column
//! `<c>` and the row id) and `<c>_key_id` (the key it was sealed under, for rotation and
//! `ldbds keys status`). New writes fill only those two and leave `<c>` cleared (`NULL`,
//! or `''` where `<c>` is `NOT NULL`). Rows written before this migration are sealed by
//! the start-up data step (`infra::seal_backfill`), which holds the keys: a migration
//! holds schema only.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (table, plaintext column) of every sealed text column.
const SEALED: [(&str, &str); 7] = [
    ("as_requests", "description"),
    ("as_status_history", "comment"),
    ("audit_log", "detail"),
    ("orders", "memo"),
    ("leads", "metadata"),
    ("leads", "source_detail"),
    ("counsel_cases", "accp_cont"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in SEALED {
            // One column per statement: SQLite's ALTER TABLE adds one at a time.
            manager
                .alter_table(Table::alter().table(table).add_column(blob_null(format!("{column}_enc"))).to_owned())
                .await?;
            manager
                .alter_table(
                    Table::alter().table(table).add_column(integer_null(format!("{column}_key_id"))).to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in SEALED {
            for suffix in ["key_id", "enc"] {
                manager
                    .alter_table(Table::alter().table(table).drop_column(format!("{column}_{suffix}")).to_owned())
                    .await?;
            }
        }
        Ok(())
    }
}
