//! Identity and the PII vault: users (PII encrypted, blind indexes), SSO settings of
//! organizations, single-use SSO token ids, and the append-only PII access log.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for column in [
            blob_null("sso_secret_enc"),
            text_null("sso_redirect_allowlist"),
            string_len_null("sso_default_redirect", 2048),
        ] {
            manager.alter_table(Table::alter().table("organizations").add_column(column).to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table("users")
                    .col(string_len("id", 36).primary_key())
                    .col(string_len("org_id", 36))
                    .col(string_len("mohom_id", 128))
                    .col(string_len("role", 16))
                    .col(string_len_null("team_id", 128))
                    .col(blob("name_enc"))
                    .col(blob_null("phone_enc"))
                    .col(blob_null("email_enc"))
                    .col(string_len("name_bidx", 64))
                    .col(string_len_null("phone_bidx", 64))
                    .col(string_len_null("phone_last4_bidx", 64))
                    .col(string_len_null("email_bidx", 64))
                    .col(integer("enc_key_id"))
                    .col(string_len("status", 16))
                    .col(big_integer("created_at"))
                    .col(big_integer("updated_at"))
                    .col(big_integer_null("deleted_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("users", "org_id")
                            .to("organizations", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("ux_users_org_mohom", &["org_id", "mohom_id"][..]),
            ("ix_users_org_phone", &["org_id", "phone_bidx"][..]),
            ("ix_users_org_phone_last4", &["org_id", "phone_last4_bidx"][..]),
            ("ix_users_org_email", &["org_id", "email_bidx"][..]),
            ("ix_users_org_name", &["org_id", "name_bidx"][..]),
            ("ix_users_org_role", &["org_id", "role", "created_at"][..]),
            ("ix_users_enc_key", &["enc_key_id"][..]),
        ] {
            let mut index = Index::create().name(name).table("users").to_owned();
            for col in cols {
                index.col(*col);
            }
            if name.starts_with("ux_") {
                index.unique();
            }
            manager.create_index(index).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table("sso_token_uses")
                    .col(string_len("org_id", 36))
                    .col(string_len("jti", 255))
                    .col(big_integer("expires_at"))
                    .primary_key(Index::create().col("org_id").col("jti"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("pii_access_log")
                    .col(string_len("id", 36).primary_key())
                    .col(big_integer("at"))
                    .col(string_len("org_id", 36))
                    .col(string_len_null("user_id", 36))
                    .col(string_len("actor", 100))
                    .col(string_len("subject_kind", 16))
                    .col(string_len("subject_id", 36))
                    .col(string_len("fields", 255))
                    .col(string_len("endpoint", 255))
                    .col(string_len_null("request_id", 64))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_pii_access_subject")
                    .table("pii_access_log")
                    .col("subject_kind")
                    .col("subject_id")
                    .col("at")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["pii_access_log", "sso_token_uses", "users"] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        for column in ["sso_default_redirect", "sso_redirect_allowlist", "sso_secret_enc"] {
            manager.alter_table(Table::alter().table("organizations").drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
