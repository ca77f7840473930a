//! Events, webhook endpoints and their deliveries (issue #16, `events.md`, ADR 0010).
//!
//! - `outbox_events`: one row per event, written in the transaction of the change it
//!   reports. `body` is the envelope's bytes sealed by the vault (`body_enc`,
//!   `body_key_id`; `body` stays `''`). `endpoint_id` targets one endpoint (`ping`);
//!   `NULL` fans the event out to every subscribed, enabled endpoint of `org_id`.
//!   `fanned_out_at` is set once the dispatcher made its deliveries; the partial index
//!   keeps the events still to fan out. `nats_wanted` is fixed when the event is
//!   written (NATS configured or not) and `nats_published_at` set once the stream
//!   acknowledged it.
//! - `webhook_endpoints`: an org's destinations. `events` is `*` or the subscribed
//!   types, comma-separated. The secret and, during a rotation, the previous one are
//!   sealed (`secret_enc`, `previous_secret_enc`), the description too. `claimed_until`
//!   and `claimed_by` are the lease a dispatcher holds while it sends the endpoint's
//!   deliveries (one sender per endpoint, in order).
//! - `webhook_deliveries`: one row per (endpoint, event), unique; `PENDING` rows carry
//!   their `next_attempt_at`.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("webhook_endpoints")
                    .col(string_len("id", 36).primary_key())
                    .col(string_len("org_id", 36))
                    .col(string_len("url", 2048))
                    .col(string("events"))
                    .col(string_null("description"))
                    .col(blob_null("description_enc"))
                    .col(integer_null("description_key_id"))
                    .col(string_len("status", 16))
                    .col(string_len_null("disabled_reason", 64))
                    .col(big_integer_null("disabled_at"))
                    .col(string("secret").default(""))
                    .col(blob_null("secret_enc"))
                    .col(integer_null("secret_key_id"))
                    .col(string_null("previous_secret"))
                    .col(blob_null("previous_secret_enc"))
                    .col(integer_null("previous_secret_key_id"))
                    .col(big_integer_null("previous_secret_until"))
                    .col(big_integer_null("last_success_at"))
                    .col(big_integer_null("last_failure_at"))
                    .col(big_integer_null("failing_since"))
                    .col(big_integer_null("claimed_until"))
                    .col(string_len_null("claimed_by", 64))
                    .col(big_integer("created_at"))
                    .col(big_integer("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("webhook_endpoints", "org_id")
                            .to("organizations", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_endpoints_org")
                    .table("webhook_endpoints")
                    .col("org_id")
                    .col("created_at")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("outbox_events")
                    .col(string_len("id", 40).primary_key())
                    .col(string_len("org_id", 36))
                    .col(string_len("event_type", 40))
                    .col(string_len_null("endpoint_id", 36))
                    .col(big_integer("created_at"))
                    .col(string("body").default(""))
                    .col(blob_null("body_enc"))
                    .col(integer_null("body_key_id"))
                    .col(big_integer_null("fanned_out_at"))
                    .col(boolean("nats_wanted"))
                    .col(big_integer_null("nats_published_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_outbox_events_to_fan_out")
                    .table("outbox_events")
                    .col("created_at")
                    .and_where(Expr::col("fanned_out_at").is_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_outbox_events_to_publish")
                    .table("outbox_events")
                    .col("created_at")
                    .and_where(Expr::col("nats_wanted").eq(true).and(Expr::col("nats_published_at").is_null()))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("webhook_deliveries")
                    .col(string_len("id", 36).primary_key())
                    .col(string_len("endpoint_id", 36))
                    .col(string_len("event_id", 40))
                    .col(string_len("event_type", 40))
                    .col(big_integer("event_created_at"))
                    .col(string_len("status", 16))
                    .col(integer("attempt"))
                    .col(integer_null("response_status"))
                    .col(big_integer_null("latency_ms"))
                    .col(string_len_null("error", 64))
                    .col(big_integer_null("next_attempt_at"))
                    .col(big_integer_null("delivered_at"))
                    .col(big_integer("created_at"))
                    .col(big_integer("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("webhook_deliveries", "endpoint_id")
                            .to("webhook_endpoints", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("webhook_deliveries", "event_id")
                            .to("outbox_events", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_webhook_deliveries_endpoint_event")
                    .table("webhook_deliveries")
                    .col("endpoint_id")
                    .col("event_id")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_deliveries_log")
                    .table("webhook_deliveries")
                    .col("endpoint_id")
                    .col("event_created_at")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_deliveries_due")
                    .table("webhook_deliveries")
                    .col("endpoint_id")
                    .col("next_attempt_at")
                    .and_where(Expr::col("status").eq("PENDING"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["webhook_deliveries", "outbox_events", "webhook_endpoints"] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
