//! `ldbds orgs add` and `ldbds orgs sources add`: onboarding a partner from the command
//! line, by the same use cases as `POST /api/v1/orgs` and `POST /api/v1/orgs/{code}/sources`
//! (`domain::service::orgs`), so the rules are the API's: codes unique and URL-safe, a
//! source's default product must exist, each write audited (actor `cli`). An API key for
//! the new org comes from `ldbds keys create-api-key --org C`.
//!
//! Bad input (a field, an existing code, an unknown org or product) exits with 2 and
//! writes nothing; storage failures exit with 1.

use clap::Subcommand;
use domain::ports::SystemClock;
use domain::service::orgs::{Actor, NewOrg, NewSource, OnboardError, OrgService};
use infra::config::Settings;
use infra::orgs::SeaOrgRepository;
use infra::reference::SeaReferenceRepository;

use crate::{Usage, open};

#[derive(Subcommand)]
pub(crate) enum OnboardCommand {
    /// Create a partner organization (then `ldbds keys create-api-key --org CODE`).
    Add {
        /// Unique; 1 to 64 characters of A-Z a-z 0-9 . _ -
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        /// PARTNER or PROVIDER.
        #[arg(long, default_value = "PARTNER")]
        kind: String,
    },
    /// An organization's lead sources (the intake's `source` header).
    #[command(subcommand)]
    Sources(SourcesCommand),
}

#[derive(Subcommand)]
pub(crate) enum SourcesCommand {
    /// Add a lead source to an organization, with its default product.
    Add {
        /// The organization's code.
        #[arg(long)]
        org: String,
        /// The source's code, unique across organizations.
        #[arg(long)]
        source: String,
        /// The default product (id or code).
        #[arg(long)]
        product: String,
        /// The source's name (its code when omitted).
        #[arg(long)]
        name: Option<String>,
    },
}

fn refused(err: OnboardError) -> anyhow::Error {
    match err {
        OnboardError::Repo(e) => anyhow::Error::new(e),
        other => Usage(other.to_string()).into(),
    }
}

fn invalid(err: domain::error::ValidationError) -> anyhow::Error {
    Usage(err.to_string()).into()
}

pub(crate) async fn run(settings: Settings, cmd: OnboardCommand) -> anyhow::Result<()> {
    let db = open(&settings).await?;
    db.migrate_up().await?;
    let (keyring, _) = infra::vault::keyring_from_settings(&settings)?;
    let repo = SeaOrgRepository::new(db.clone(), std::sync::Arc::new(keyring));
    let reference = SeaReferenceRepository::new(db.conn().clone());
    let service = OrgService::new(&repo, &reference, &SystemClock);
    match cmd {
        OnboardCommand::Add { code, name, kind } => {
            let new = NewOrg::parse(&code, &name, &kind).map_err(invalid)?;
            let org = service.create_org(Actor("cli"), new).await.map_err(refused)?;
            println!("organization {} ({}) created: {}", org.code, org.kind, org.id);
        }
        OnboardCommand::Sources(SourcesCommand::Add { org, source, product, name }) => {
            let product_id = match product.parse() {
                Ok(id) => id,
                Err(_) => infra::fixtures::product_id_by_code(db.conn(), &product)
                    .await?
                    .ok_or_else(|| Usage(format!("no product with id or code {product}")))?,
            };
            let new = NewSource::parse(&source, name.as_deref(), product_id).map_err(invalid)?;
            let created = service.add_source(Actor("cli"), &org, new).await.map_err(refused)?;
            println!("source {} of {org} created: {} (default product {product_id})", created.code, created.id);
        }
    }
    db.close().await?;
    Ok(())
}
