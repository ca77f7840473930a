//! AS claims end to end (issue #7).
//!
//! - `as_requests` gains what a decision needs: the order, line and product the claimed
//!   lead was bought through, the requester's org, the compensation applied, whether it
//!   was auto-approved, who decided and when. A partial unique index allows at most one
//!   open (`REQUESTED`/`IN_REVIEW`) AS per lead, whatever the application does.
//! - `as_status_history`: every transition of an AS (who, when, comment), never deleted.
//! - `orders.as_open` / `as_approved`: the counters the order's AS cap is checked
//!   against, moved in the transaction that moves the AS.
//! - `order_lines.replacements_owed`: units reopened by approved `REPLACEMENT` AS whose
//!   replacement lead has not been delivered yet; the next delivery to the line is a
//!   `REPLACEMENT` assignment and takes one off.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

async fn add(manager: &SchemaManager<'_>, table: &'static str, column: &mut ColumnDef) -> Result<(), DbErr> {
    manager.alter_table(Table::alter().table(table).add_column(column).to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add(manager, "as_requests", &mut string_len_null("order_id", 36)).await?;
        add(manager, "as_requests", &mut string_len_null("order_line_id", 36)).await?;
        add(manager, "as_requests", &mut string_len_null("product_id", 36)).await?;
        add(manager, "as_requests", &mut string_len_null("requester_org_id", 36)).await?;
        add(manager, "as_requests", &mut string_len_null("compensation", 16)).await?;
        add(manager, "as_requests", boolean("auto_approved").default(false)).await?;
        add(manager, "as_requests", &mut big_integer_null("decided_at")).await?;
        add(manager, "as_requests", &mut string_len_null("decided_by", 80)).await?;
        add(manager, "orders", big_integer("as_open").default(0)).await?;
        add(manager, "orders", big_integer("as_approved").default(0)).await?;
        add(manager, "order_lines", big_integer("replacements_owed").default(0)).await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_as_requests_open_per_lead")
                    .table("as_requests")
                    .col("lead_id")
                    .unique()
                    .and_where(Expr::col("status").is_in(["REQUESTED", "IN_REVIEW"]))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_as_requests_requester")
                    .table("as_requests")
                    .col("requester_user_id")
                    .col("created_at")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("ix_as_requests_created").table("as_requests").col("created_at").to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("as_status_history")
                    .col(string_len("id", 36).primary_key())
                    .col(string_len("as_id", 36))
                    .col(string_len_null("from_status", 16))
                    .col(string_len("to_status", 16))
                    .col(string_len("actor", 80))
                    .col(string_len_null("actor_user_id", 36))
                    .col(text_null("comment"))
                    .col(big_integer("at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_as_status_history_as")
                            .from("as_status_history", "as_id")
                            .to("as_requests", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_as_status_history_as")
                    .table("as_status_history")
                    .col("as_id")
                    .col("at")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("as_status_history").if_exists().to_owned()).await?;
        manager.drop_index(Index::drop().name("ux_as_requests_open_per_lead").table("as_requests").to_owned()).await?;
        manager.drop_index(Index::drop().name("ix_as_requests_requester").table("as_requests").to_owned()).await?;
        manager.drop_index(Index::drop().name("ix_as_requests_created").table("as_requests").to_owned()).await?;
        for (table, column) in [
            ("as_requests", "order_id"),
            ("as_requests", "order_line_id"),
            ("as_requests", "product_id"),
            ("as_requests", "requester_org_id"),
            ("as_requests", "compensation"),
            ("as_requests", "auto_approved"),
            ("as_requests", "decided_at"),
            ("as_requests", "decided_by"),
            ("orders", "as_open"),
            ("orders", "as_approved"),
            ("order_lines", "replacements_owed"),
        ] {
            manager.alter_table(Table::alter().table(table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
