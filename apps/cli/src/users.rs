//! `ldbds users ...`: an org's users from the command line, so a newcomer can create the
//! operator's CS managers (and a partner's members) without calling the HTTP API.
//!
//! Invariants (the same as `POST|GET /api/v1/users`, because the same code runs):
//! - the fields are parsed by `domain::identity::NewUser::parse`, which names every bad
//!   field at once; the org's kind decides which roles it may hold (`UserService`);
//! - personal data is encrypted and blind-indexed by `SeaUserRepository`, and printed
//!   masked only;
//! - a creation is audited (`user.created`, actor `cli`) by `UserService`, like the API's.
//!
//! Bad input (a field, an unknown org, a role the org may not hold, an existing
//! `mohomId`) exits with 2; storage failures with 1.

use std::sync::Arc;

use clap::Subcommand;
use domain::identity::{NewUser, User, UserFields, UserQuery, UserSortKey, roles_for};
use domain::pagination::{MAX_LIMIT, PageRequest, Sort, SortOrder};
use domain::pii::mask;
use domain::ports::SystemClock;
use domain::service::orgs::Org;
use domain::service::users::{ActedBy, OrgScope, UserError, UserService};
use infra::config::Settings;
use infra::db::Db;
use infra::users::SeaUserRepository;

use crate::Usage;

#[derive(Subcommand)]
pub(crate) enum UsersCommand {
    /// Create a user of an org (or revive a deleted one with the same mohomId).
    Add {
        /// The org's code, e.g. ldbds-operator (the demo operator) or mohom.
        #[arg(long)]
        org: String,
        /// The user's login id, unique in the org.
        #[arg(long)]
        mohom_id: String,
        #[arg(long)]
        name: String,
        /// A Korean or Vietnamese mobile number, any common format.
        #[arg(long)]
        phone: String,
        /// Required, as by the users API.
        #[arg(long)]
        email: String,
        /// CS_MANAGER or ADMIN (the operator), MEMBER or LEADER (a partner); by default
        /// the first of its org's roles: CS_MANAGER for the operator, MEMBER for a partner.
        #[arg(long)]
        role: Option<String>,
        /// The user's team (a CS manager's department, `deptCd`).
        #[arg(long)]
        team: Option<String>,
    },
    /// List an org's active users, personal data masked.
    List {
        #[arg(long)]
        org: String,
    },
}

fn usage(err: impl std::fmt::Display) -> anyhow::Error {
    anyhow::Error::new(Usage(err.to_string()))
}

/// Refusals are bad usage (exit 2); storage failures are runtime failures (exit 1).
fn refusal(err: UserError) -> anyhow::Error {
    match err {
        UserError::Repo(repo) => anyhow::Error::new(repo),
        other => usage(other),
    }
}

fn print_user(u: &User) {
    println!(
        "{:<16} {:<10} team {:<10} {} {} {}",
        u.mohom_id.as_str(),
        u.role.as_str(),
        u.team_id.as_deref().unwrap_or("-"),
        mask::mask_name(u.name.as_str()),
        u.phone.as_ref().map_or_else(|| "-".to_owned(), |p| mask::mask_phone(&p.national())),
        u.email.as_ref().map_or_else(|| "-".to_owned(), |e| mask::mask_email(e.as_str())),
    );
}

async fn find_org(db: &Db, code: &str) -> anyhow::Result<Org> {
    infra::orgs::find_by_code(db.conn(), code.trim())
        .await?
        .ok_or_else(|| usage(format!("--org: no organization with code {code}")))
}

pub(crate) async fn run(settings: Settings, command: UsersCommand) -> anyhow::Result<()> {
    let db = crate::open(&settings).await?;
    db.migrate_up().await?;
    let (keyring, _) = infra::vault::keyring_from_settings(&settings)?;
    let keyring = Arc::new(keyring);
    let repo = SeaUserRepository::new(db.conn().clone(), Arc::clone(&keyring));
    let service = UserService::new(&repo, &SystemClock);
    match command {
        UsersCommand::Add { org, mohom_id, name, phone, email, role, team } => {
            let org = find_org(&db, &org).await?;
            let role = role.or_else(|| roles_for(org.kind).first().map(|r| r.as_str().to_owned()));
            let new = NewUser::parse(&UserFields {
                mohom_id: Some(&mohom_id),
                name: Some(&name),
                phone: Some(&phone),
                email: Some(&email),
                role: role.as_deref(),
                team_id: team.as_deref(),
            })
            .map_err(usage)?;
            let by = ActedBy { actor: "cli", request_id: None };
            let scope = OrgScope { org_id: org.id, kind: org.kind };
            let user = service.create(by, scope, new).await.map_err(refusal)?;
            print!("user created in {}: ", org.code);
            print_user(&user);
        }
        UsersCommand::List { org } => {
            let org = find_org(&db, &org).await?;
            let sort = Sort { key: UserSortKey::MohomId, order: SortOrder::Asc };
            for number in 1u64.. {
                let page = PageRequest::parse(Some(&number.to_string()), Some(&MAX_LIMIT.to_string()))?;
                let query = UserQuery { role: None, search: None, page, sort };
                let found = service.list(org.id, &query).await.map_err(refusal)?;
                found.items.iter().for_each(print_user);
                if page.page() >= found.total_pages() {
                    break;
                }
            }
        }
    }
    db.close().await?;
    Ok(())
}
