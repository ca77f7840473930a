//! Schema migrations, in order. Each migration works on SQLite and PostgreSQL alike.
//!
//! Storage conventions (see `docs/adr/0002-storage-representations.md`):
//! - ids are UUIDv7 text (36 chars), made by the application;
//! - instants are `BIGINT` milliseconds since the Unix epoch, UTC (`*_at` columns);
//! - money is `BIGINT` hundredths (`*_minor` columns), exact on both databases;
//! - closed code sets are text with their wire spelling.

pub use sea_orm_migration::MigrationStatus;
pub use sea_orm_migration::prelude::*;

mod m20261124_000001_foundation;
mod m20261124_000002_identity;
mod m20261124_000003_leads;
mod m20261124_000004_orders;
mod m20261124_000005_intake;
mod m20261124_000006_ledger;
mod m20261125_000007_files;
mod m20261125_000008_as_claims;
mod m20261125_000009_counsel;
mod m20261202_000010_lead_hold;
mod m20261202_000011_sealed_text;
mod m20261202_000012_idempotency_principal;
mod m20261202_000013_user_generation;
mod m20261202_000014_file_names_sealed;
mod m20261202_000015_held_shown_status;
mod m20261203_000016_webhooks;
mod m20261203_000017_identity_verifications;
mod m20261203_000018_coverage_analyses;
mod m20261203_000019_medical_analyses;

mod shared;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_foundation::Migration),
            Box::new(m20261124_000002_identity::Migration),
            Box::new(m20261124_000003_leads::Migration),
            Box::new(m20261124_000004_orders::Migration),
            Box::new(m20261124_000005_intake::Migration),
            Box::new(m20261124_000006_ledger::Migration),
            Box::new(m20261125_000007_files::Migration),
            Box::new(m20261125_000008_as_claims::Migration),
            Box::new(m20261125_000009_counsel::Migration),
            Box::new(m20261202_000010_lead_hold::Migration),
            Box::new(m20261202_000011_sealed_text::Migration),
            Box::new(m20261202_000012_idempotency_principal::Migration),
            Box::new(m20261202_000013_user_generation::Migration),
            Box::new(m20261202_000014_file_names_sealed::Migration),
            Box::new(m20261202_000015_held_shown_status::Migration),
            Box::new(m20261203_000016_webhooks::Migration),
            Box::new(m20261203_000017_identity_verifications::Migration),
            Box::new(m20261203_000018_coverage_analyses::Migration),
            Box::new(m20261203_000019_medical_analyses::Migration),
        ]
    }
}
