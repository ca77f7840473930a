//! `ldbds`: the LDBDS server and its administration commands.
//!
//! Exit codes: 0 success, 2 bad usage or configuration, 1 runtime failure.

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use infra::config::Settings;
use infra::db::{Db, MigrateAction};
use infra::fixtures;

#[derive(Parser)]
#[command(
    name = "ldbds",
    version,
    about = "LDBDS: lead (DB) distribution platform",
    long_about = "LDBDS takes leads in from partner sources, sells them through orders, delivers each lead to exactly one owner, and handles AS claims and CS work.\n\nWithout a subcommand, `ldbds` runs the server (`ldbds serve`).\n\nConfiguration: config/base.toml, then config/{LDBDS_ENV}.toml (LDBDS_ENV = dev|test|production, default dev), then the file in LDBDS_CONFIG_FILE, then LDBDS__SECTION__KEY variables (e.g. LDBDS__DATABASE__URL=postgres://postgres@127.0.0.1/ldbds).",
    after_help = "Exit codes: 0 ok, 2 bad usage or configuration, 1 runtime failure."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Apply, revert or inspect database migrations.
    Migrate {
        #[arg(value_enum, default_value_t = MigrateArg::Up)]
        action: MigrateArg,
    },
    /// Load the reference data (regions, AS reasons); with --demo also the demo orgs,
    /// source TCB, products and one API key per demo org that has none.
    Seed {
        #[arg(long)]
        demo: bool,
    },
    /// Print the OpenAPI 3.1 document (what /api-docs/openapi.json serves).
    Openapi,
    /// Encryption keys and API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Organizations: onboarding a partner (add, sources add) and SSO settings.
    #[command(subcommand)]
    Orgs(OrgsCommand),
    /// An org's users: create one (e.g. the operator's CS managers) or list them.
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// Counsel allocation set-up: queues and their CS managers (weight, capacity, flag).
    #[command(subcommand)]
    Counsel(counsel::CounselCommand),
    /// An org's webhook endpoints: list, create, show, disable, enable, delete,
    /// rotate-secret, test.
    #[command(subcommand)]
    Webhooks(webhooks::WebhooksCommand),
    /// The consumer funnel: purge health data past its retention (and old identity
    /// verifications).
    #[command(subcommand)]
    Funnel(funnel::FunnelCommand),
    /// Import leads from a CSV or XLSX file into a product's pool: every row validated,
    /// bad rows in an error report, good rows in batched transactions; running the same
    /// file again imports nothing twice.
    ///
    /// The header must have name, phone and region columns (English, Korean or
    /// Vietnamese labels: 이름/연락처/지역, ...); email, address, birth date, gender and
    /// memo are optional; other columns are ignored.
    Import {
        /// The file (.csv in UTF-8, or .xlsx: its first sheet).
        file: std::path::PathBuf,
        /// The source code the leads come from, e.g. TCB.
        #[arg(long)]
        source: String,
        /// The product (id or code); the source's default product when omitted.
        #[arg(long)]
        product: Option<String>,
        /// Valid rows per transaction.
        #[arg(long, default_value_t = 500)]
        batch: usize,
        /// Where the row-level error report goes (default: FILE's name + .errors.csv).
        #[arg(long)]
        errors: Option<std::path::PathBuf>,
        /// Write the import's statement counts by kind to this JSON file (default: the
        /// LDBDS_STATEMENTS_JSON variable, else none): the round-trip budget's measure.
        #[arg(long)]
        statements_json: Option<std::path::PathBuf>,
    },
}

/// Bad usage found while running a command (exit code 2).
#[derive(Debug)]
pub(crate) struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

#[derive(Subcommand)]
enum KeysCommand {
    /// Count encrypted rows per key id.
    Status,
    /// Re-encrypt every row under the active key, in resumable batches.
    Rotate {
        /// Rows per transaction.
        #[arg(long, default_value_t = 500)]
        batch: u64,
    },
    /// Dev/test keys only: add a key version to <data_dir>/dev-keys; it becomes the active key.
    New,
    /// Dev/test keys only: retire a key id in <data_dir>/dev-keys (run `keys rotate` first).
    Retire { id: u32 },
    /// Create an API key for an organization (shown once).
    CreateApiKey {
        /// The organization's code, e.g. mohom.
        #[arg(long)]
        org: String,
        #[arg(long, default_value = "cli")]
        label: String,
        /// Comma-separated scopes: `*` (all) or some of reference, tokens, leads, orders,
        /// as, users, counsel, intake, orgs, webhooks. Tokens the key mints have the same
        /// scopes.
        #[arg(long, default_value = "*")]
        scopes: String,
    },
    /// Revoke an API key by its id.
    Revoke { key_id: uuid::Uuid },
}

#[derive(Subcommand)]
enum OrgsCommand {
    /// Generate and set an org's SSO secret (printed once), its redirect allow-list and default.
    SetSso {
        #[arg(long)]
        org: String,
        /// An allowed redirect URI (repeatable; exact match).
        #[arg(long = "redirect")]
        redirects: Vec<String>,
        /// Where to redirect when the requested URI is not allowed.
        #[arg(long)]
        default: Option<String>,
    },
    #[command(flatten)]
    Onboard(orgs::OnboardCommand),
}

#[derive(Clone, Copy, ValueEnum)]
enum MigrateArg {
    /// Apply every pending migration.
    Up,
    /// Revert the last applied migration.
    Down,
    /// List migrations and whether each is applied.
    Status,
    /// Drop everything and apply every migration again.
    Fresh,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("ldbds: {err}");
            return ExitCode::from(2);
        }
    };
    init_tracing(&settings);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("ldbds: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => actix_web::rt::System::new().block_on(serve(settings)),
        Command::Migrate { action } => runtime.block_on(migrate(settings, action)),
        Command::Seed { demo } => runtime.block_on(seed(settings, demo)),
        Command::Keys(cmd) => runtime.block_on(keys::run(settings, cmd)),
        Command::Orgs(cmd) => runtime.block_on(keys::run_orgs(settings, cmd)),
        Command::Users(cmd) => runtime.block_on(users::run(settings, cmd)),
        Command::Counsel(cmd) => runtime.block_on(counsel::run(settings, cmd)),
        Command::Webhooks(cmd) => runtime.block_on(webhooks::run(settings, cmd)),
        Command::Funnel(cmd) => runtime.block_on(funnel::run(settings, cmd)),
        Command::Import { file, source, product, batch, errors, statements_json } => runtime.block_on(import::run(
            settings,
            import::ImportArgs { file, source, product, batch, errors, statements_json },
        )),
        Command::Openapi => {
            println!("{}", api::openapi::document_json());
            Ok(())
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("ldbds: {err:#}");
            if err.downcast_ref::<Usage>().is_some() { ExitCode::from(2) } else { ExitCode::FAILURE }
        }
    }
}

/// Logs go to standard error, coloured only when it is a terminal (never in a file or a
/// pipe), through the API's telemetry so the server and every command log alike.
fn init_tracing(settings: &Settings) {
    api::telemetry::init(&settings.log);
}

pub(crate) async fn open(settings: &Settings) -> anyhow::Result<Db> {
    if settings.uses_embedded_database() {
        infra::db::create_data_dir(&settings.data_dir)?;
    }
    Ok(Db::connect(&settings.database_url(), settings.pool()).await?)
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let bind = settings.server.bind.clone();
    let prepared = api::startup::prepare(settings).await?;
    let base = format!("http://{bind}");
    for path in &prepared.generated_keys {
        println!(
            "LDBDS: generated a development key into {path}; keep it: without it the encrypted data cannot be read."
        );
    }
    if let Some(demo) = &prepared.demo {
        println!("LDBDS: first start of the embedded database; demo data loaded.");
        for (org, key) in &demo.new_keys {
            let whose = match org.as_str() {
                "mohom" => "partner",
                "ldbds-operator" => "operator",
                other => other,
            };
            println!("  API key ({whose}, org {org}): {key}");
        }
        println!("  These keys are shown once; only their hashes are stored.");
    }
    println!("LDBDS listening on {base}  (docs: {base}/docs, OpenAPI: {base}/api-docs/openapi.json)");
    tracing::info!(%bind, "server starting");
    api::startup::serve(prepared.state).await
}

async fn migrate(settings: Settings, action: MigrateArg) -> anyhow::Result<()> {
    let db = open(&settings).await?;
    let action = match action {
        MigrateArg::Up => MigrateAction::Up,
        MigrateArg::Down => MigrateAction::Down,
        MigrateArg::Status => MigrateAction::Status,
        MigrateArg::Fresh => MigrateAction::Fresh,
    };
    for state in infra::db::run_migrations(&db, action).await? {
        println!("{:<8} {}", if state.applied { "applied" } else { "pending" }, state.name);
    }
    db.close().await?;
    Ok(())
}

async fn seed(settings: Settings, demo: bool) -> anyhow::Result<()> {
    let db = open(&settings).await?;
    db.migrate_up().await?;
    let report = if demo { fixtures::seed_demo(&db, time_now()).await? } else { fixtures::seed_reference(&db).await? };
    println!(
        "regions {}, AS reasons {}, organizations {}, sources {}, products {}",
        report.regions, report.as_reasons, report.organizations, report.sources, report.products
    );
    for (org, key) in &report.new_keys {
        println!("new API key for org {org} (shown once): {key}");
    }
    if demo && report.new_keys.is_empty() {
        println!("no new API keys: every demo org already has one");
    }
    db.close().await?;
    Ok(())
}

mod counsel;
mod funnel;
mod import;
mod keys;
mod orgs;
mod users;
mod webhooks;

fn time_now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}
