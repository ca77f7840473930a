//! Leads (PII encrypted, blind-indexed), assignments (the history of ownership, at most
//! one open per lead, enforced by a partial unique index), and the read side of AS
//! requests.
//!
//! The lead row carries a copy of its open assignment's owner, source, distributor,
//! assigned/used times and its latest AS status, written in the same transaction as the
//! assignment, so every list is one indexed query without joins per row.

use sea_orm_migration::{prelude::*, schema::*};

use crate::shared::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("leads")
                    .col(string_len("id", 36).primary_key())
                    .col(string_len("product_id", 36))
                    .col(string_len("provider_org_id", 36))
                    .col(string_len_null("source_id", 36))
                    .col(string_len_null("source_lead_id", 128))
                    .col(string_len("region", 32))
                    .col(string_len_null("gender", 16))
                    .col(text_null("metadata"))
                    .col(string_len("status", 16))
                    .col(blob("name_enc"))
                    .col(blob("phone_enc"))
                    .col(blob_null("email_enc"))
                    .col(blob_null("address_enc"))
                    .col(blob_null("birth_date_enc"))
                    .col(blob_null("memo_enc"))
                    .col(string_len("name_bidx", 64))
                    .col(string_len("phone_bidx", 64))
                    .col(string_len("phone_last4_bidx", 64))
                    .col(string_len_null("email_bidx", 64))
                    .col(integer("enc_key_id"))
                    .col(string_len_null("owner_user_id", 36))
                    .col(string_len_null("owner_org_id", 36))
                    .col(string_len_null("assignment_id", 36))
                    .col(string_len_null("assignment_source", 16))
                    .col(string_len_null("distributor_user_id", 36))
                    .col(big_integer_null("assigned_at"))
                    .col(big_integer_null("used_at"))
                    .col(big_integer_null("last_distributed_at"))
                    .col(string_len_null("latest_as_status", 16))
                    .col(big_integer("created_at"))
                    .col(big_integer("updated_at"))
                    .to_owned(),
            )
            .await?;
        index(manager, "leads", "ix_leads_owner_assigned", &["owner_user_id", "assigned_at", "id"]).await?;
        index(manager, "leads", "ix_leads_owner_used", &["owner_user_id", "used_at", "id"]).await?;
        index(manager, "leads", "ix_leads_distributor", &["distributor_user_id", "last_distributed_at", "id"]).await?;
        index(manager, "leads", "ix_leads_phone", &["phone_bidx"]).await?;
        index(manager, "leads", "ix_leads_phone_last4", &["phone_last4_bidx"]).await?;
        index(manager, "leads", "ix_leads_email", &["email_bidx"]).await?;
        index(manager, "leads", "ix_leads_name", &["name_bidx"]).await?;
        index(manager, "leads", "ix_leads_enc_key", &["enc_key_id"]).await?;
        manager
            .create_table(
                Table::create()
                    .table("assignments")
                    .col(string_len("id", 36).primary_key())
                    .col(string_len("lead_id", 36))
                    .col(string_len("owner_user_id", 36))
                    .col(string_len("owner_org_id", 36))
                    .col(string_len("source", 16))
                    .col(string_len_null("distributor_user_id", 36))
                    .col(string_len_null("order_line_id", 36))
                    .col(string_len_null("restored_from_id", 36))
                    .col(big_integer("assigned_at"))
                    .col(big_integer_null("used_at"))
                    .col(big_integer_null("ended_at"))
                    .col(string_len_null("end_reason", 16))
                    .foreign_key(
                        ForeignKey::create()
                            .from("assignments", "lead_id")
                            .to("leads", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        // At most one open assignment per lead, whatever the application does.
        manager
            .create_index(
                Index::create()
                    .name("ux_assignments_open_per_lead")
                    .table("assignments")
                    .col("lead_id")
                    .unique()
                    .and_where(Expr::col("ended_at").is_null())
                    .to_owned(),
            )
            .await?;
        index(manager, "assignments", "ix_assignments_lead", &["lead_id", "assigned_at"]).await?;
        manager
            .create_table(
                Table::create()
                    .table("as_requests")
                    .col(string_len("id", 36).primary_key())
                    .col(string_len("lead_id", 36))
                    .col(string_len("assignment_id", 36))
                    .col(string_len("requester_user_id", 36))
                    .col(string_len("reason_code", 32))
                    .col(text("description"))
                    .col(string_len("status", 16))
                    .col(big_integer("created_at"))
                    .col(big_integer("updated_at"))
                    .to_owned(),
            )
            .await?;
        index(manager, "as_requests", "ix_as_requests_lead", &["lead_id", "created_at"]).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["as_requests", "assignments", "leads"] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
