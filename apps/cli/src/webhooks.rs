//! `ldbds webhooks …`: an org's webhook endpoints from the command line, by the same use
//! cases as `/api/v1/webhooks` (`domain::service::webhooks`), acting as the operator's
//! command line (`Credential::Cli`) for the org named by `--org`.
//!
//! Invariants (the same as the API's, because the same code runs):
//! - the subscription, the URL (under `events.allow_loopback`'s policy, host names
//!   resolved) and the description are checked before anything is written;
//! - a secret is printed by `create` and `rotate-secret` only, once; every other command
//!   prints endpoints without secrets;
//! - an id of another org's endpoint is "not found".
//!
//! Bad input (a field, an unknown org or endpoint, a refused retry) exits with 2 and
//! writes nothing; storage failures exit with 1.

use std::sync::Arc;

use clap::Subcommand;
use domain::ports::SystemClock;
use domain::principal::{Credential, Principal};
use domain::service::webhooks::{EndpointInput, EndpointPatch, WebhookError, WebhookService};
use domain::webhooks::Endpoint;
use infra::config::Settings;
use infra::webhooks::{SeaWebhookRepository, WebhookDestinations};
use uuid::Uuid;

use crate::Usage;

#[derive(Subcommand)]
pub(crate) enum WebhooksCommand {
    /// List an org's endpoints (no secrets).
    List {
        /// The org's code, e.g. mohom.
        #[arg(long)]
        org: String,
    },
    /// Create an endpoint; its signing secret is printed this once.
    Create {
        #[arg(long)]
        org: String,
        /// An absolute https URL to a public address (http and loopback in development).
        #[arg(long)]
        url: String,
        /// Comma-separated event types, or * for all.
        #[arg(long, value_delimiter = ',', default_value = "*")]
        events: Vec<String>,
        /// At most 500 characters.
        #[arg(long)]
        description: Option<String>,
    },
    /// Show one endpoint, with its delivery health.
    Show {
        #[arg(long)]
        org: String,
        #[arg(long)]
        id: Uuid,
    },
    /// Stop deliveries to an endpoint.
    Disable {
        #[arg(long)]
        org: String,
        #[arg(long)]
        id: Uuid,
    },
    /// Deliver to an endpoint again (its failure clock starts afresh).
    Enable {
        #[arg(long)]
        org: String,
        #[arg(long)]
        id: Uuid,
    },
    /// Delete an endpoint and its delivery log.
    Delete {
        #[arg(long)]
        org: String,
        #[arg(long)]
        id: Uuid,
    },
    /// A new signing secret, printed this once; the old one also signs for 24 h.
    RotateSecret {
        #[arg(long)]
        org: String,
        #[arg(long)]
        id: Uuid,
    },
    /// Enqueue a ping event for the endpoint.
    Test {
        #[arg(long)]
        org: String,
        #[arg(long)]
        id: Uuid,
    },
}

/// Refusals are bad usage (exit 2); storage failures are runtime failures (exit 1).
fn refusal(err: WebhookError) -> anyhow::Error {
    match err {
        WebhookError::Repo(repo) => anyhow::Error::new(repo),
        other => anyhow::Error::new(Usage(other.to_string())),
    }
}

fn print_endpoint(e: &Endpoint) {
    let time = |at: Option<time::OffsetDateTime>| at.map_or_else(|| "-".to_owned(), domain::events::event_time);
    println!(
        "{} {:<8} {} events {} last success {} last failure {} failing since {}{}",
        e.id,
        e.status.as_str(),
        e.url,
        e.subscription.stored(),
        time(e.last_success_at),
        time(e.last_failure_at),
        time(e.failing_since),
        e.disabled_reason.as_ref().map_or_else(String::new, |r| format!(" ({r})")),
    );
}

impl WebhooksCommand {
    fn org(&self) -> &str {
        match self {
            Self::List { org }
            | Self::Create { org, .. }
            | Self::Show { org, .. }
            | Self::Disable { org, .. }
            | Self::Enable { org, .. }
            | Self::Delete { org, .. }
            | Self::RotateSecret { org, .. }
            | Self::Test { org, .. } => org,
        }
    }
}

pub(crate) async fn run(settings: Settings, command: WebhooksCommand) -> anyhow::Result<()> {
    let db = crate::open(&settings).await?;
    db.migrate_up().await?;
    let (keyring, _) = infra::vault::keyring_from_settings(&settings)?;
    let repo = SeaWebhookRepository::new(db.clone(), Arc::new(keyring));
    let guard = WebhookDestinations::from_settings(&settings.events);
    let service = WebhookService::new(&repo, &guard, &SystemClock);
    let code = command.org().trim().to_owned();
    let org = infra::orgs::find_by_code(db.conn(), &code)
        .await?
        .ok_or_else(|| Usage(format!("--org: no organization with code {code}")))?;
    let cli = Principal { org_id: org.id, org_kind: org.kind, credential: Credential::Cli, acting: None };
    let status = |status| EndpointPatch { status: Some(status), ..EndpointPatch::default() };
    match command {
        WebhooksCommand::List { .. } => service.list(&cli).await.map_err(refusal)?.iter().for_each(print_endpoint),
        WebhooksCommand::Create { url, events, description, .. } => {
            let input = EndpointInput { url: &url, events: &events, description: description.as_deref() };
            let (endpoint, secret) = service.create(&cli, input).await.map_err(refusal)?;
            print!("webhook endpoint created in {}: ", org.code);
            print_endpoint(&endpoint);
            println!("signing secret (shown once): {}", secret.expose());
        }
        WebhooksCommand::Show { id, .. } => print_endpoint(&service.get(&cli, id).await.map_err(refusal)?),
        WebhooksCommand::Disable { id, .. } => {
            print_endpoint(&service.update(&cli, id, status("DISABLED")).await.map_err(refusal)?);
        }
        WebhooksCommand::Enable { id, .. } => {
            print_endpoint(&service.update(&cli, id, status("ENABLED")).await.map_err(refusal)?);
        }
        WebhooksCommand::Delete { id, .. } => {
            service.delete(&cli, id).await.map_err(refusal)?;
            println!("webhook endpoint {id} deleted");
        }
        WebhooksCommand::RotateSecret { id, .. } => {
            let secret = service.rotate_secret(&cli, id).await.map_err(refusal)?;
            println!("new signing secret (shown once; the old one signs for 24 h more): {}", secret.expose());
        }
        WebhooksCommand::Test { id, .. } => {
            let event = service.ping(&cli, id).await.map_err(refusal)?;
            println!("ping {event} enqueued for {id}");
        }
    }
    db.close().await?;
    Ok(())
}
