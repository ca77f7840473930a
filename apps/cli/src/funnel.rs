//! `ldbds funnel …`: the consumer funnel's operations from the command line.
//!
//! `purge` deletes health data (medical analyses, NHIS sessions and their consents) whose
//! retention (`funnel.medical_retention_days`, 90 by default) has ended, and identity
//! verifications older than as many days: the same use case as the server's periodic
//! task (`domain::service::medical::purge`), one write transaction. Running it twice
//! deletes nothing the second time.

use std::sync::Arc;

use clap::Subcommand;
use infra::config::Settings;
use infra::medical::SeaMedicalRepository;

#[derive(Subcommand)]
pub(crate) enum FunnelCommand {
    /// Delete health data past its retention, and identity verifications as old.
    Purge,
}

pub(crate) async fn run(settings: Settings, cmd: FunnelCommand) -> anyhow::Result<()> {
    match cmd {
        FunnelCommand::Purge => {
            let db = crate::open(&settings).await?;
            db.migrate_up().await?;
            let (keyring, _) = infra::vault::keyring_from_settings(&settings)?;
            let repo = SeaMedicalRepository::new(db.clone(), Arc::new(keyring));
            let retention = time::Duration::days(i64::from(settings.funnel.medical_retention_days));
            let purged = domain::service::medical::purge(&repo, crate::time_now(), retention).await?;
            println!(
                "purged (retention {} days): medical analyses {}, health sessions {}, identity verifications {}",
                settings.funnel.medical_retention_days,
                purged.medical_analyses,
                purged.health_sessions,
                purged.identity_verifications
            );
            db.close().await?;
            Ok(())
        }
    }
}
