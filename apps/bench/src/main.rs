//! `ldbds-bench`: the benchmark harness of `performance.md`.
//!
//! `ldbds-bench <scenario> [--db sqlite|postgres] [--clients N] [--duration S] [--rows N]
//! [--nodes N] [--no-budget]` creates a fresh database, seeds it through the product's own
//! bulk paths, runs the real `ldbds` server as a child on a loopback port (N servers on
//! one PostgreSQL database with `--nodes N`, the clients spread round-robin), drives it
//! with the keep-alive clients for S seconds after a warm-up, checks the invariants, and on
//! PostgreSQL runs the reference (`pgbench` with `bench/reference/<scenario>.sql`, or
//! `COPY`) on the same database with the same clients and duration. It prints one table and
//! writes `target/bench/<scenario>-<db>.json` (`-<db>-nodes<N>.json` with several nodes).
//! Beside every figure go the statements per request the server counted (see
//! [`statements`]). Any error response is printed and fails the run (exit 1), as does a
//! broken invariant, and a figure over its round-trip budget (`BUDGET EXCEEDED`) unless
//! `--no-budget`.

mod http;
mod receiver;
mod reference;
mod report;
mod scenarios;
mod statements;
mod target;

use std::process::ExitCode;

use clap::Parser;

use crate::target::{Backend, Target};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    Intake,
    OwnedList,
    SearchPhone,
    Distribute,
    /// `GET /api/v1/leads/{leadId}`: one owned lead's detail, over the owned-list seed.
    Detail,
    /// `ldbds import` into one order line (every row in its region).
    Import,
    /// `ldbds import` into 1,000 owners' lines (one order line each, the 17 regions in turn).
    ImportOwners,
    /// The HTTP Excel import of outbound counsel cases.
    CounselImport,
    Engine,
    /// `intake` with delivery off, then on: webhooks to a verifying loopback receiver.
    Webhook,
    /// Every scenario in turn.
    All,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Self::Intake => "intake",
            Self::OwnedList => "owned-list",
            Self::SearchPhone => "search-phone",
            Self::Distribute => "distribute",
            Self::Detail => "detail",
            Self::Import => "import",
            Self::ImportOwners => "import-owners",
            Self::CounselImport => "counsel-import",
            Self::Engine => "engine",
            Self::Webhook => "webhook",
            Self::All => "all",
        }
    }
}

#[derive(Debug, Clone, Parser)]
#[command(name = "ldbds-bench", about = "The LDBDS benchmark harness (performance.md)")]
pub struct Args {
    pub scenario: Scenario,
    #[arg(long, value_enum, default_value = "sqlite")]
    pub db: Backend,
    /// Concurrent keep-alive clients (and pgbench clients).
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
    /// Measured seconds (after the warm-up), for our side and for pgbench.
    #[arg(long, default_value_t = 20)]
    pub duration: u64,
    /// Warm-up seconds, not measured.
    #[arg(long, default_value_t = 3)]
    pub warmup: u64,
    /// Leads to seed (owned-list, search-phone, detail: 1,000,000; distribute: 200,000;
    /// import, import-owners: 100,000 rows; counsel-import: 50,000 sheet rows, its most).
    #[arg(long)]
    pub rows: Option<u64>,
    /// Servers on one database (PostgreSQL only), each its own process and port; the
    /// clients are spread across them round-robin.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub nodes: u16,
    /// Report the statements per request but do not fail a run over its budget.
    #[arg(long)]
    pub no_budget: bool,
    /// PostgreSQL server URL without a database name.
    #[arg(long, env = "LDBDS_BENCH_PG_URL", default_value = "postgres://postgres@127.0.0.1:5432")]
    pub pg_url: String,
}

/// `n` distinct free loopback ports (every listener held until all are chosen).
fn free_ports(n: u16) -> anyhow::Result<Vec<u16>> {
    let listeners = (0..n).map(|_| std::net::TcpListener::bind("127.0.0.1:0")).collect::<Result<Vec<_>, _>>()?;
    listeners.iter().map(|l| Ok(l.local_addr()?.port())).collect()
}

async fn one(scenario: Scenario, args: &Args) -> anyhow::Result<bool> {
    let outcome = if scenario == Scenario::Engine {
        scenarios::engine(args)
    } else {
        let mut t = Target::create(args.db, scenario.name(), &args.pg_url, free_ports(args.nodes)?).await?;
        let result = match scenario {
            Scenario::Intake => scenarios::intake(&mut t, args).await,
            Scenario::OwnedList => scenarios::owned_list(&mut t, args).await,
            Scenario::SearchPhone => scenarios::search_phone(&mut t, args).await,
            Scenario::Distribute => scenarios::distribute(&mut t, args).await,
            Scenario::Detail => scenarios::detail(&mut t, args).await,
            Scenario::Import => scenarios::import_scenario(&mut t, args, 1).await,
            Scenario::ImportOwners => scenarios::import_scenario(&mut t, args, scenarios::IMPORT_OWNERS).await,
            Scenario::CounselImport => scenarios::counsel_import(&mut t, args).await,
            Scenario::Webhook => scenarios::webhook(&mut t, args).await,
            Scenario::Engine | Scenario::All => unreachable!("handled above"),
        };
        t.cleanup().await;
        result?
    };
    report::print_and_save(scenario.name(), args, &outcome)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ldbds-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let scenarios = if args.scenario == Scenario::All {
        vec![
            Scenario::Engine,
            Scenario::Intake,
            Scenario::Webhook,
            Scenario::Import,
            Scenario::ImportOwners,
            Scenario::CounselImport,
            Scenario::Distribute,
            Scenario::OwnedList,
            Scenario::SearchPhone,
            Scenario::Detail,
        ]
    } else {
        vec![args.scenario]
    };
    let mut ok = true;
    for scenario in scenarios {
        match runtime.block_on(one(scenario, &args)) {
            Ok(clean) => ok &= clean,
            Err(e) => {
                eprintln!("ldbds-bench {}: {e:#}", scenario.name());
                ok = false;
            }
        }
    }
    if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
