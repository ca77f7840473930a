//! Orders and their lines. A line carries its delivery counters and its allocation
//! ledger credit (the engine's stored state), changed in the same transaction as the
//! assignment that delivers a lead to it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("orders")
                    .col(string_len("id", 36).primary_key())
                    .col(string_len("org_id", 36))
                    .col(string_len("buyer_user_id", 36))
                    .col(string_len("product_id", 36))
                    .col(string_len("status", 16))
                    .col(big_integer_null("daily_limit"))
                    .col(text_null("memo"))
                    .col(big_integer("unit_price_minor"))
                    .col(boolean("prices_exclude_vat"))
                    .col(big_integer("quantity"))
                    .col(big_integer("delivered"))
                    .col(big_integer("subtotal_minor"))
                    .col(big_integer("vat_minor"))
                    .col(big_integer("total_minor"))
                    .col(big_integer("refunded_minor"))
                    .col(big_integer("created_at"))
                    .col(big_integer("updated_at"))
                    .col(big_integer_null("cancelled_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_orders_buyer_created")
                    .table("orders")
                    .col("buyer_user_id")
                    .col("created_at")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("order_lines")
                    .col(string_len("id", 36).primary_key())
                    .col(string_len("order_id", 36))
                    .col(string_len("product_id", 36))
                    .col(string_len("region", 32))
                    .col(big_integer("quantity"))
                    .col(big_integer("delivered"))
                    .col(big_integer("credit"))
                    .col(boolean("open"))
                    .col(big_integer("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("order_lines", "order_id")
                            .to("orders", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_order_lines_open_pool")
                    .table("order_lines")
                    .col("product_id")
                    .col("region")
                    .col("open")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("ix_order_lines_order").table("order_lines").col("order_id").to_owned())
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_leads_pool")
                    .table("leads")
                    .col("status")
                    .col("product_id")
                    .col("region")
                    .col("created_at")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("ix_leads_pool").table("leads").to_owned()).await?;
        for table in ["order_lines", "orders"] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
