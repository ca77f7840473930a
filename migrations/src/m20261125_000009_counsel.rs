//! Counsel allocation (issue #8, seed 001): queues of CS work, the managers who are
//! their members, and the cases routed to them.
//!
//! - `counsel_queues`: one row per (`auto_div_gb_cd`, `auto_div_dtl_no`) with its policy;
//!   `picks` is the queue's pick clock (the ledger's, see `domain::allocation::pick_stored`)
//!   and the row every writer of the queue's members and cases locks first.
//! - `counsel_members`: memberships (`autoDivNo`, a database-assigned number) with weight,
//!   capacity, the allocation-possible flag, the open-case counter and the engine ledger
//!   (`credit`, `credit_pick`, as on `order_lines`). A partial unique index allows one
//!   live (not removed) membership per (queue, user).
//! - `counsel_cases`: the cases, customer PII sealed (`*_enc`, `cust_tel_bidx`,
//!   `enc_key_id`), with the current assignment (assignee, membership, kind, the
//!   engine's explanation as JSON) and at most one case per AS request.

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
                    .table("counsel_queues")
                    .col(string_len("id", 36).primary_key())
                    .col(string_len("auto_div_gb_cd", 8))
                    .col(string_len("auto_div_dtl_no", 20))
                    .col(string_len("name", 200))
                    .col(string_len("policy", 16))
                    .col(big_integer("picks").default(0))
                    .col(big_integer("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_counsel_queues_key")
                    .table("counsel_queues")
                    .col("auto_div_gb_cd")
                    .col("auto_div_dtl_no")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("counsel_members")
                    .col(big_pk_auto("auto_div_no"))
                    .col(string_len("queue_id", 36))
                    .col(string_len("user_id", 36))
                    .col(big_integer("weight"))
                    .col(big_integer("capacity"))
                    .col(boolean("possible_yn"))
                    .col(big_integer("open_cases").default(0))
                    .col(big_integer("credit").default(0))
                    .col(big_integer_null("credit_pick"))
                    .col(big_integer_null("last_assigned_at"))
                    .col(big_integer("created_at"))
                    .col(big_integer("updated_at"))
                    .col(big_integer_null("removed_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_counsel_members_queue")
                            .from("counsel_members", "queue_id")
                            .to("counsel_queues", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_counsel_members_user")
                            .from("counsel_members", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_counsel_members_live")
                    .table("counsel_members")
                    .col("queue_id")
                    .col("user_id")
                    .unique()
                    .and_where(Expr::col("removed_at").is_null())
                    .to_owned(),
            )
            .await?;
        index(manager, "counsel_members", "ix_counsel_members_user", &["user_id"]).await?;
        manager
            .create_table(
                Table::create()
                    .table("counsel_cases")
                    .col(string_len("cnsl_no", 36).primary_key())
                    .col(string_len("queue_id", 36))
                    .col(string_len("cnsl_typ_no", 40))
                    .col(string_len_null("ob_typ_no", 40))
                    .col(string_len_null("mbr_no", 40))
                    .col(string_len_null("ord_no", 40))
                    .col(text_null("accp_cont"))
                    .col(blob_null("cust_nm_enc"))
                    .col(blob_null("cust_tel_enc"))
                    .col(string_len_null("cust_tel_bidx", 64))
                    .col(integer("enc_key_id"))
                    .col(string_len("status", 16))
                    .col(string_len_null("assignee_user_id", 36))
                    .col(big_integer_null("auto_div_no"))
                    .col(string_len_null("assign_kind", 8))
                    .col(text_null("explanation"))
                    .col(string_len_null("as_id", 36))
                    .col(big_integer("created_at"))
                    .col(big_integer_null("assigned_at"))
                    .col(big_integer_null("completed_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_counsel_cases_queue")
                            .from("counsel_cases", "queue_id")
                            .to("counsel_queues", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_counsel_cases_member")
                            .from("counsel_cases", "auto_div_no")
                            .to("counsel_members", "auto_div_no")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_counsel_cases_as")
                            .from("counsel_cases", "as_id")
                            .to("as_requests", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        // The waiting list of a queue, oldest first (and its sweep).
        index(manager, "counsel_cases", "ix_counsel_cases_queue_status", &["queue_id", "status", "created_at"]).await?;
        index(manager, "counsel_cases", "ix_counsel_cases_assignee", &["assignee_user_id", "status"]).await?;
        index(manager, "counsel_cases", "ix_counsel_cases_member", &["auto_div_no", "status"]).await?;
        index(manager, "counsel_cases", "ix_counsel_cases_created", &["created_at"]).await?;
        index(manager, "counsel_cases", "ix_counsel_cases_assigned", &["assigned_at"]).await?;
        index(manager, "counsel_cases", "ix_counsel_cases_mbr", &["mbr_no"]).await?;
        index(manager, "counsel_cases", "ix_counsel_cases_ord", &["ord_no"]).await?;
        index(manager, "counsel_cases", "ix_counsel_cases_enc_key", &["enc_key_id"]).await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_counsel_cases_as")
                    .table("counsel_cases")
                    .col("as_id")
                    .unique()
                    .and_where(Expr::col("as_id").is_not_null())
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["counsel_cases", "counsel_members", "counsel_queues"] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
