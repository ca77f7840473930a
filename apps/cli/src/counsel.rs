//! `ldbds counsel ...`: set up counsel allocation from the command line: queues, their
//! CS managers (weight, capacity, the allocation-possible flag), and a look at both.
//!
//! The same use cases as the operator API (`domain::service::counsel`, over the same
//! repository), so the rules are the same: a queue's name is a `QueueName`, its policy is
//! `ROUND_ROBIN`, `WEIGHTED` or `LEAST_LOADED`, a member is an active `CS_MANAGER` (or
//! `ADMIN`) of an operator org, and switching a manager on or adding capacity sweeps the
//! waiting cases at once. Bad input exits with 2.

use std::sync::Arc;

use clap::Subcommand;
use domain::counsel::{CounselError, Membership, QueueKey};
use domain::ports::SystemClock;
use domain::principal::{Credential, Principal};
use domain::reference::OrgKind;
use domain::service::counsel::{AddMember, CounselService, NewQueue};
use infra::config::Settings;
use infra::counsel::SeaCounselRepository;
use infra::counsel_excel::XlsxWorkbook;

use crate::Usage;

#[derive(Subcommand)]
pub(crate) enum CounselCommand {
    /// Create a queue.
    QueueAdd {
        /// CS023 group: 10 inquiry, 20 AS review, 50 outbound.
        #[arg(long)]
        group: String,
        /// The detail number (outbound imports use their obTypNo).
        #[arg(long)]
        detail: String,
        #[arg(long)]
        name: String,
        /// ROUND_ROBIN, WEIGHTED or LEAST_LOADED.
        #[arg(long, default_value = "ROUND_ROBIN")]
        policy: String,
    },
    /// List the queues.
    Queues,
    /// Add a CS manager (login id) to a queue.
    MemberAdd {
        #[arg(long)]
        group: String,
        #[arg(long)]
        detail: String,
        /// The manager's login id (mohomId of an operator user).
        #[arg(long)]
        user: String,
        #[arg(long, default_value_t = 1)]
        weight: u32,
        /// Most open cases at once.
        #[arg(long, default_value_t = 10)]
        capacity: u32,
        /// Add with the allocation-possible flag off.
        #[arg(long)]
        off: bool,
    },
    /// Change a membership's weight and capacity.
    MemberSet {
        auto_div_no: i64,
        #[arg(long)]
        weight: u32,
        #[arg(long)]
        capacity: u32,
    },
    /// Remove a membership (its open cases go back to the queue).
    MemberRemove { auto_div_no: i64 },
    /// Switch memberships' allocation-possible flag (Y sweeps waiting cases).
    Toggle {
        /// Y or N.
        #[arg(long)]
        state: String,
        auto_div_nos: Vec<i64>,
    },
    /// List memberships, optionally of one queue.
    Members {
        #[arg(long)]
        group: Option<String>,
        #[arg(long)]
        detail: Option<String>,
    },
}

fn usage(err: impl std::fmt::Display) -> anyhow::Error {
    anyhow::Error::new(Usage(err.to_string()))
}

/// Refusals are bad usage (exit 2); storage failures are runtime failures (exit 1).
fn refusal(err: CounselError) -> anyhow::Error {
    match err {
        CounselError::Repo(repo) => anyhow::Error::new(repo),
        other => usage(other),
    }
}

fn key(group: &str, detail: &str) -> anyhow::Result<QueueKey> {
    QueueKey::parse(group, detail).map_err(usage)
}

fn print_member(m: &Membership) {
    println!(
        "{:>8}  {} {:<10} {:<16} weight {:>3}  capacity {:>5}  open {:>5}  {}",
        m.auto_div_no,
        m.queue.group.as_str(),
        m.queue.detail,
        m.mohom_id,
        m.terms.weight,
        m.terms.capacity,
        m.open_cases,
        if m.possible { "Y" } else { "N" }
    );
}

/// The command line's principal: the operator, by construction (no org of its own; a
/// manager is looked up in any operator org).
fn operator() -> Principal {
    Principal { org_id: uuid::Uuid::nil(), org_kind: OrgKind::Operator, credential: Credential::Cli, acting: None }
}

pub(crate) async fn run(settings: Settings, command: CounselCommand) -> anyhow::Result<()> {
    let db = crate::open(&settings).await?;
    db.migrate_up().await?;
    let (keyring, _) = infra::vault::keyring_from_settings(&settings)?;
    let repo = SeaCounselRepository::new(db.clone(), Arc::new(keyring));
    let counsel = CounselService::new(&repo, &XlsxWorkbook, &SystemClock);
    let cli = operator();
    match command {
        CounselCommand::QueueAdd { group, detail, name, policy } => {
            let new = NewQueue { group: &group, detail: &detail, name: &name, policy: Some(&policy) };
            let queue = counsel.create_queue(&cli, new).await.map_err(refusal)?;
            println!(
                "queue {} {} created ({}, {})",
                queue.key.group.as_str(),
                queue.key.detail,
                queue.name,
                queue.policy
            );
        }
        CounselCommand::Queues => {
            for q in counsel.queues().await? {
                println!("{} {:<10} {:<12} {}", q.key.group.as_str(), q.key.detail, q.policy.as_str(), q.name);
            }
        }
        CounselCommand::MemberAdd { group, detail, user, weight, capacity, off } => {
            let key = key(&group, &detail)?;
            let add = AddMember { key: &key, login: user.trim(), weight, capacity, possible: !off };
            let member = counsel.add_member(&cli, add).await.map_err(|e| match e {
                CounselError::UserNotFound => usage(format!("no active user {user} in an operator org")),
                other => refusal(other),
            })?;
            print_member(&member);
        }
        CounselCommand::MemberSet { auto_div_no, weight, capacity } => {
            print_member(&counsel.update_member(&cli, auto_div_no, weight, capacity).await.map_err(refusal)?);
        }
        CounselCommand::MemberRemove { auto_div_no } => {
            let returned = counsel.remove_member(&cli, auto_div_no).await.map_err(refusal)?;
            println!("membership {auto_div_no} removed; {returned} open case(s) went back to the queue");
        }
        CounselCommand::Toggle { state, auto_div_nos } => {
            let possible = match state.trim() {
                "Y" => true,
                "N" => false,
                _ => return Err(usage("--state must be Y or N")),
            };
            for m in counsel.set_possible(&cli, &auto_div_nos, possible).await.map_err(refusal)? {
                print_member(&m);
            }
        }
        CounselCommand::Members { group, detail } => {
            let group = group.map(|g| g.parse().map_err(|_| usage("--group must be 10, 20 or 50"))).transpose()?;
            for m in counsel.memberships(group, detail.as_deref(), None).await? {
                print_member(&m);
            }
        }
    }
    db.close().await?;
    Ok(())
}
