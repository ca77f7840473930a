//! The allocation ledger made cheap to serialize, and the intake's source-side state.
//!
//! - `allocation_pools`: one row per (product, region), the pool's lock and its pick
//!   counter. Every writer of a pool's order lines (intake, order creation, cancel)
//!   locks this row first, so an intake touches one locked row and one line, however
//!   many lines are open (see `docs/performance.md`).
//! - `order_lines.credit_pick`: the pool pick count at which the line's stored credit was
//!   written (`NULL`: the line is not in the ledger yet, or frozen while ineligible).
//! - `orders.day_start` / `delivered_today`: the pacing counter for `dailyLimit`, whose
//!   days are counted in the product's time zone.
//! - `leads.source_lead_id` becomes unique per source (the source's own id for the lead), and the
//!   status the source last reported through `changeStatus`.
//! - `source_projects`: a source's project codes that select another product.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("allocation_pools")
                    .col(string_len("product_id", 36))
                    .col(string_len("region", 32))
                    .col(big_integer("picks"))
                    .primary_key(Index::create().col("product_id").col("region"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(Table::alter().table("order_lines").add_column(big_integer_null("credit_pick")).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table("orders").add_column(big_integer_null("day_start")).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter().table("orders").add_column(big_integer("delivered_today").default(0)).to_owned(),
            )
            .await?;
        manager
            .alter_table(Table::alter().table("leads").add_column(string_len_null("source_status", 32)).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table("leads").add_column(big_integer_null("source_status_at")).to_owned())
            .await?;
        manager.alter_table(Table::alter().table("leads").add_column(text_null("source_detail")).to_owned()).await?;
        manager.alter_table(Table::alter().table("leads").add_column(blob_null("source_note_enc")).to_owned()).await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_leads_source_lead_id")
                    .table("leads")
                    .col("source_id")
                    .col("source_lead_id")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("source_projects")
                    .col(string_len("source_id", 36))
                    .col(string_len("project_code", 64))
                    .col(string_len("product_id", 36))
                    .primary_key(Index::create().col("source_id").col("project_code"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("source_projects").if_exists().to_owned()).await?;
        manager.drop_index(Index::drop().name("ux_leads_source_lead_id").table("leads").to_owned()).await?;
        for column in ["source_note_enc", "source_detail", "source_status_at", "source_status"] {
            manager.alter_table(Table::alter().table("leads").drop_column(column).to_owned()).await?;
        }
        for column in ["delivered_today", "day_start"] {
            manager.alter_table(Table::alter().table("orders").drop_column(column).to_owned()).await?;
        }
        manager.alter_table(Table::alter().table("order_lines").drop_column("credit_pick").to_owned()).await?;
        manager.drop_table(Table::drop().table("allocation_pools").if_exists().to_owned()).await?;
        Ok(())
    }
}
