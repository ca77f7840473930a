//! Identity verifications of the consumer funnel (issue #17, `funnel.md`).
//!
//! `identity_verifications`: one row per code request. The person's name, birth date,
//! gender and phone are sealed by the vault (`*_enc`, `enc_key_id`); `phone_bidx` and
//! `client_bidx` are blind indexes of the phone and of the client address the request
//! was counted under (the limits count rows by them over the last hour). The code is
//! only its keyed digest (`code_digest`); `attempts` counts its checks. Once verified,
//! `token_digest` (unique) is the keyed digest of the `verificationToken`, valid until
//! `token_expires_at`. `mohom_id` (the inviting member) and `carrier` are codes, not
//! personal data.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("identity_verifications")
                    .col(string_len("id", 36).primary_key())
                    .col(string_len("org_id", 36))
                    .col(blob("name_enc"))
                    .col(blob("birth_date_enc"))
                    .col(blob("gender_enc"))
                    .col(blob("phone_enc"))
                    .col(integer("enc_key_id"))
                    .col(string_len("phone_bidx", 64))
                    .col(string_len("client_bidx", 64))
                    .col(string_len("carrier", 16))
                    .col(string_len_null("mohom_id", 128))
                    .col(string_len("code_digest", 64))
                    .col(small_integer("attempts").default(0))
                    .col(big_integer("expires_at"))
                    .col(big_integer_null("verified_at"))
                    .col(string_len_null("token_digest", 64))
                    .col(big_integer_null("token_expires_at"))
                    .col(big_integer("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("identity_verifications", "org_id")
                            .to("organizations", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols, unique) in [
            ("ix_identity_verifications_phone", &["phone_bidx", "created_at"][..], false),
            ("ix_identity_verifications_client", &["client_bidx", "created_at"][..], false),
            ("ux_identity_verifications_token", &["token_digest"][..], true),
        ] {
            let mut index = Index::create();
            index.name(name).table("identity_verifications");
            for col in cols {
                index.col(*col);
            }
            if unique {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("identity_verifications").to_owned()).await
    }
}
