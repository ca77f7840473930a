//! Medical coverage analyses of the consumer funnel (issue #17, `funnel.md`, 모홈
//! 메디컬보장분석). Health data is sensitive data (민감정보): nothing of it is stored in
//! clear, and every row here has a `purge_after` (creation + `funnel.medical_retention_days`)
//! after which `ldbds funnel purge` (and the server's periodic task) deletes it.
//!
//! - `health_auth_sessions`: an NHIS simple-authentication session of a verified person
//!   (`verification_id`) for the org whose key asked. `reference` is the provider's
//!   session handle, which can fetch the person's check-ups, so it is sealed
//!   (`reference_enc`, `reference_key_id`; `reference` stays `''`). `status` is the last
//!   status the provider gave (`PENDING`, `APPROVED`, `DENIED`, `EXPIRED`).
//! - `health_consents`: each consent given with a session (purpose `MEDICAL`), at its
//!   version and time; deleted with the session.
//! - `medical_analyses`: one row per analysis, of a coverage analysis and a session of
//!   the same person. `report` (the masked person, the check-ups, the risk flags and the
//!   ranked recommendations, JSON) is sealed (`report_enc`, `report_key_id`).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("health_auth_sessions")
                    .col(string_len("id", 36).primary_key())
                    .col(string_len("org_id", 36))
                    .col(string_len("verification_id", 36))
                    .col(string_len("provider", 16))
                    .col(string("reference").default(""))
                    .col(blob_null("reference_enc"))
                    .col(integer_null("reference_key_id"))
                    .col(string_len("status", 16))
                    .col(big_integer("created_at"))
                    .col(big_integer("expires_at"))
                    .col(big_integer_null("approved_at"))
                    .col(big_integer("purge_after"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("health_auth_sessions", "org_id")
                            .to("organizations", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_health_auth_sessions_purge")
                    .table("health_auth_sessions")
                    .col("purge_after")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("health_consents")
                    .col(string_len("id", 36).primary_key())
                    .col(string_len("session_id", 36))
                    .col(string_len("terms_id", 64))
                    .col(string_len("version", 32))
                    .col(big_integer("consented_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("health_consents", "session_id")
                            .to("health_auth_sessions", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_health_consents_session")
                    .table("health_consents")
                    .col("session_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("medical_analyses")
                    .col(string_len("id", 36).primary_key())
                    .col(string_len("org_id", 36))
                    .col(string_len("coverage_analysis_id", 36))
                    .col(string_len("session_id", 36))
                    .col(string("report").default(""))
                    .col(blob_null("report_enc"))
                    .col(integer_null("report_key_id"))
                    .col(big_integer("created_at"))
                    .col(big_integer("purge_after"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("medical_analyses", "org_id")
                            .to("organizations", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_medical_analyses_purge")
                    .table("medical_analyses")
                    .col("purge_after")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_identity_verifications_created")
                    .table("identity_verifications")
                    .col("created_at")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop().name("ix_identity_verifications_created").table("identity_verifications").to_owned(),
            )
            .await?;
        manager.drop_table(Table::drop().table("medical_analyses").to_owned()).await?;
        manager.drop_table(Table::drop().table("health_consents").to_owned()).await?;
        manager.drop_table(Table::drop().table("health_auth_sessions").to_owned()).await
    }
}
