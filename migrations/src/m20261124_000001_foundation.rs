//! Reference data, tenants, API keys, idempotency keys and the audit log.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn fk(from: (&'static str, &'static str), to: (&'static str, &'static str)) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(from.0, from.1).to(to.0, to.1).on_delete(ForeignKeyAction::Restrict).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("organizations")
                    .col(string_len("id", 36).primary_key())
                    .col(string_len_uniq("code", 64))
                    .col(string_len("name", 200))
                    .col(string_len("kind", 16))
                    .col(big_integer("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("regions")
                    .col(string_len("code", 32).primary_key())
                    .col(string_len("name", 100))
                    .col(string_len("country", 2))
                    .col(integer("sort_order"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("as_reasons")
                    .col(string_len("code", 32).primary_key())
                    .col(string_len("label", 100))
                    .col(boolean("requires_evidence"))
                    .col(integer("sort_order"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("products")
                    .col(string_len("id", 36).primary_key())
                    .col(string_len_uniq("code", 64))
                    .col(string_len("name", 200))
                    .col(string_len("category", 64))
                    .col(big_integer("unit_price_minor"))
                    .col(boolean("prices_exclude_vat"))
                    .col(string_len("allocation_policy", 16))
                    .col(string_len("time_zone", 64))
                    .col(integer("duplicate_window_hours"))
                    .col(boolean("on_sale"))
                    .col(integer("as_window_hours"))
                    .col(string_len("as_window_from", 16))
                    .col(string_len("as_allowed_reasons", 255))
                    .col(string_len("as_evidence_reasons", 255))
                    .col(small_integer("as_max_rate_percent"))
                    .col(string_len("as_compensation", 16))
                    .col(boolean("as_auto_approve"))
                    .col(big_integer("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_products_on_sale_created")
                    .table("products")
                    .col("on_sale")
                    .col("created_at")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("sources")
                    .col(string_len("id", 36).primary_key())
                    .col(string_len_uniq("code", 64))
                    .col(string_len("org_id", 36))
                    .col(string_len("name", 200))
                    .col(string_len_null("default_product_id", 36))
                    .col(big_integer("created_at"))
                    .foreign_key(&mut fk(("sources", "org_id"), ("organizations", "id")))
                    .foreign_key(&mut fk(("sources", "default_product_id"), ("products", "id")))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("api_keys")
                    .col(string_len("id", 36).primary_key())
                    .col(string_len("org_id", 36))
                    .col(string_len_uniq("prefix", 16))
                    .col(string_len("secret_sha256", 64))
                    .col(string_len("label", 100))
                    .col(string_len("scopes", 255))
                    .col(big_integer("created_at"))
                    .col(big_integer_null("revoked_at"))
                    .col(big_integer_null("last_used_at"))
                    .foreign_key(&mut fk(("api_keys", "org_id"), ("organizations", "id")))
                    .to_owned(),
            )
            .await?;
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
        manager
            .create_index(
                Index::create()
                    .name("ix_idempotency_keys_created")
                    .table("idempotency_keys")
                    .col("created_at")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("audit_log")
                    .col(string_len("id", 36).primary_key())
                    .col(big_integer("at"))
                    .col(string_len_null("org_id", 36))
                    .col(string_len("actor", 100))
                    .col(string_len("action", 64))
                    .col(string_len("entity", 64))
                    .col(string_len_null("entity_id", 64))
                    .col(string_len_null("request_id", 64))
                    .col(text("detail"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_log_entity")
                    .table("audit_log")
                    .col("entity")
                    .col("entity_id")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "audit_log",
            "idempotency_keys",
            "api_keys",
            "sources",
            "products",
            "as_reasons",
            "regions",
            "organizations",
        ] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
