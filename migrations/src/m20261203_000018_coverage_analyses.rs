//! Coverage analyses of the consumer funnel (issue #17, `funnel.md`).
//!
//! - `coverage_analyses`: one row per analysis, of the org whose key asked and of the
//!   verification that named the person. `report` is the analysis (the person's masked
//!   name, the contracts, the summary, the table version) as JSON sealed by the vault
//!   (`report_enc`, `report_key_id`; `report` stays `''`). `shares_with_agents` is the
//!   third-party consent (the analysis becomes a lead).
//! - `analysis_consents`: each consent given with an analysis, at its version and time.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("coverage_analyses")
                    .col(string_len("id", 36).primary_key())
                    .col(string_len("org_id", 36))
                    .col(string_len("verification_id", 36))
                    .col(string("report").default(""))
                    .col(blob_null("report_enc"))
                    .col(integer_null("report_key_id"))
                    .col(boolean("shares_with_agents"))
                    .col(big_integer("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("coverage_analyses", "org_id")
                            .to("organizations", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_coverage_analyses_org")
                    .table("coverage_analyses")
                    .col("org_id")
                    .col("created_at")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("analysis_consents")
                    .col(string_len("id", 36).primary_key())
                    .col(string_len("analysis_id", 36))
                    .col(string_len("terms_id", 64))
                    .col(string_len("version", 32))
                    .col(big_integer("consented_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("analysis_consents", "analysis_id")
                            .to("coverage_analyses", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_analysis_consents_analysis")
                    .table("analysis_consents")
                    .col("analysis_id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("analysis_consents").to_owned()).await?;
        manager.drop_table(Table::drop().table("coverage_analyses").to_owned()).await
    }
}
