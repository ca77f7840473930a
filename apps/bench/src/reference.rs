//! The reference side on PostgreSQL: `pgbench` with the scenario's script from
//! `bench/reference/`, same clients and duration, same database, run right after our side
//! (the server stopped), or `COPY` of the same CSV for `import` (and of the same rows
//! for `counsel-import`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use tokio::process::Command;

use crate::Args;
use crate::target::{Backend, Target};

/// What the reference measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Reference {
    pub what: String,
    /// Transactions (or rows, for `COPY`) per second.
    pub rate: f64,
    pub command: String,
}

/// A PostgreSQL client tool: on PATH, else the newest `/usr/lib/postgresql/*/bin`.
fn tool(name: &str) -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(name)).any(|p| p.is_file()))
        .unwrap_or(false);
    if on_path {
        return PathBuf::from(name);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin").join(name))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found.pop().unwrap_or_else(|| PathBuf::from(name))
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/reference")
}

async fn setup(t: &Target, scenario: &str) -> anyhow::Result<()> {
    let path = dir().join(format!("{scenario}-setup.sql"));
    let sql = std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
    t.exec(&sql).await
}

/// `pgbench` with `bench/reference/<scenario>.sql`; `None` on SQLite.
pub async fn run(
    t: &Target,
    args: &Args,
    scenario: &str,
    vars: &[(&str, String)],
) -> anyhow::Result<Option<Reference>> {
    if t.backend != Backend::Postgres {
        return Ok(None);
    }
    setup(t, scenario).await?;
    let mut vars = vars.to_vec();
    if scenario != "intake" {
        vars.push(("count", t.count("SELECT COUNT(*) AS n FROM bench_ref_keys").await?.to_string()));
    }
    let script = dir().join(format!("{scenario}.sql"));
    let mut cmd = Command::new(tool("pgbench"));
    cmd.args(["-n", "-M", "prepared"])
        .arg(format!("-c{}", args.clients))
        .arg(format!("-j{}", args.clients.min(2)))
        .arg(format!("-T{}", args.duration))
        .arg("-f")
        .arg(&script);
    for (k, v) in &vars {
        cmd.arg("-D").arg(format!("{k}={v}"));
    }
    cmd.arg(&t.url);
    let shown = format!(
        "pgbench -n -M prepared -c{} -j{} -T{} -f bench/reference/{scenario}.sql{}",
        args.clients,
        args.clients.min(2),
        args.duration,
        vars.iter().map(|(k, v)| format!(" -D {k}={v}")).collect::<String>()
    );
    let out = cmd.output().await.context("pgbench did not run (is it installed? postgresql-client)")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("{shown} failed: {}{}", stdout, String::from_utf8_lossy(&out.stderr));
    }
    let tps = stdout
        .lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .with_context(|| format!("no tps in pgbench output:\n{stdout}"))?;
    Ok(Some(Reference { what: format!("pgbench {scenario}.sql transactions/s"), rate: tps, command: shown }))
}

/// `COPY` of the CSV into a table with the CSV's columns and three indexes, timed
/// (psql `\copy`); `None` on SQLite.
pub async fn copy(t: &Target, csv: &Path, rows: u64) -> anyhow::Result<Option<Reference>> {
    if t.backend != Backend::Postgres {
        return Ok(None);
    }
    setup(t, "import").await?;
    copy_into(t, "bench_ref_import", csv, "leads.csv", rows).await.map(Some)
}

/// `COPY` of the counsel rows' CSV (`mbrNo, ordNo, accpCont, custNm, custTelNo`) into a
/// scratch table indexed like `counsel_cases`' lookups (member, order, phone), timed;
/// `None` on SQLite. The setup is inline: the scratch table is this harness's alone.
pub async fn copy_counsel(t: &Target, csv: &Path, rows: u64) -> anyhow::Result<Option<Reference>> {
    if t.backend != Backend::Postgres {
        return Ok(None);
    }
    t.exec(
        "DROP TABLE IF EXISTS bench_ref_counsel; \
         CREATE TABLE bench_ref_counsel (mbr_no text, ord_no text, accp_cont text, cust_nm text, cust_tel text); \
         CREATE INDEX ON bench_ref_counsel (mbr_no); \
         CREATE INDEX ON bench_ref_counsel (ord_no); \
         CREATE INDEX ON bench_ref_counsel (cust_tel);",
    )
    .await?;
    copy_into(t, "bench_ref_counsel", csv, "counsel.csv", rows).await.map(Some)
}

#[allow(clippy::cast_precision_loss)]
async fn copy_into(t: &Target, table: &str, csv: &Path, shown_file: &str, rows: u64) -> anyhow::Result<Reference> {
    let started = Instant::now();
    let copy = format!("\\copy {table} FROM '{}' WITH (FORMAT csv, HEADER true)", csv.display());
    let out =
        Command::new(tool("psql")).arg(&t.url).arg("-qc").arg(&copy).output().await.context("psql did not run")?;
    if !out.status.success() {
        bail!("{copy} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(Reference {
        what: "COPY rows/s".into(),
        rate: rows as f64 / seconds,
        command: format!("psql -c \"\\copy {table} FROM {shown_file} WITH (FORMAT csv, HEADER true)\""),
    })
}
