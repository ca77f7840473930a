//! The system under test: a fresh database, the real `ldbds` binary seeded and serving
//! on a loopback port (or N servers on N ports over one PostgreSQL database, `--nodes`),
//! and direct SQL access for seeding in bulk and checking invariants.
//!
//! Invariants:
//! - every run starts from an empty database (a new temporary SQLite directory, or a
//!   PostgreSQL database dropped and created again), so figures never depend on a
//!   previous run's rows;
//! - the nodes of one run share the database and the data directory and nothing else
//!   (each its own process and port); they start one after the other, so only the first
//!   applies migrations.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};
use tokio::process::{Child, Command};

/// Which database a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct Target {
    pub backend: Backend,
    /// The scenario's working directory (data dir, generated files).
    pub work: PathBuf,
    /// `postgres://…/<db>` for PostgreSQL; empty for the embedded SQLite default.
    pub url: String,
    pg_admin: Option<(String, String)>,
    pub bin: PathBuf,
    /// One port per node; the first node also serves the seeding calls.
    pub ports: Vec<u16>,
    pub partner_key: String,
    pub operator_key: String,
    pub sql: DatabaseConnection,
    servers: Vec<Child>,
}

/// The `ldbds` binary beside this one. Under `cargo run` (which sets `CARGO`) it is built
/// first with the same profile, so it is never stale.
pub fn ldbds_binary() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe()?;
    let bin = me.with_file_name("ldbds");
    // `cargo` from PATH (the rustup proxy honours rust-toolchain.toml), not `$CARGO`.
    if std::env::var_os("CARGO").is_some() || !bin.exists() {
        let release = me.parent().is_some_and(|d| d.ends_with("release"));
        let mut cmd = std::process::Command::new("cargo");
        cmd.args(["build", "-q", "-p", "ldbds"]);
        if release {
            cmd.arg("--release");
        }
        if !cmd.status()?.success() {
            bail!("cargo build -p ldbds failed");
        }
    }
    Ok(bin)
}

impl Target {
    /// A fresh database named after the scenario, migrated and seeded with the demo data.
    pub async fn create(backend: Backend, scenario: &str, pg_url: &str, ports: Vec<u16>) -> anyhow::Result<Self> {
        if ports.is_empty() {
            bail!("no port to serve on");
        }
        if ports.len() > 1 && backend != Backend::Postgres {
            bail!("--nodes {} needs --db postgres: SQLite is one process's database", ports.len());
        }
        let bin = ldbds_binary()?;
        let work = std::env::temp_dir().join(format!("ldbds-bench-{scenario}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work)?;
        let (url, pg_admin) = match backend {
            Backend::Sqlite => (String::new(), None),
            Backend::Postgres => {
                let base = pg_url.trim_end_matches('/');
                // Unique per run: two harnesses on one server (CI beside a manual run) never meet.
                let name = format!("ldbds_bench_{}_{}", scenario.replace('-', "_"), std::process::id());
                let admin = Database::connect(format!("{base}/postgres")).await.with_context(|| {
                    format!("PostgreSQL does not answer at {base} (set --pg-url or run on --db sqlite)")
                })?;
                admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
                admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await?;
                admin.close().await?;
                (format!("{base}/{name}"), Some((base.to_owned(), name)))
            }
        };
        let mut target = Self {
            backend,
            work,
            url,
            pg_admin,
            bin,
            ports,
            partner_key: String::new(),
            operator_key: String::new(),
            sql: DatabaseConnection::default(),
            servers: Vec::new(),
        };
        let seeded = target.ldbds(&["seed", "--demo"]).await?;
        for line in seeded.lines() {
            let key = line.rsplit(' ').next().unwrap_or_default().to_owned();
            if line.contains("for org mohom ") {
                target.partner_key = key;
            } else if line.contains("for org ldbds-operator ") {
                target.operator_key = key;
            }
        }
        if target.partner_key.is_empty() {
            bail!("`ldbds seed --demo` printed no partner key:\n{seeded}");
        }
        target.sql = Database::connect(target.sql_url()).await?;
        Ok(target)
    }

    fn sql_url(&self) -> String {
        match self.backend {
            Backend::Sqlite => format!("sqlite://{}?mode=rwc", self.work.join("data").join("ldbds.db").display()),
            Backend::Postgres => self.url.clone(),
        }
    }

    fn env(&self, cmd: &mut Command) {
        cmd.env("LDBDS__DATA_DIR", self.work.join("data"))
            .env("LDBDS__DATABASE__URL", &self.url)
            .env("LDBDS__SERVER__BIND", self.addr())
            .env("LDBDS__RATE_LIMIT__PER_SECOND", "10000000")
            .env("LDBDS__RATE_LIMIT__BURST", "10000000")
            // The load measures the server, not its per-user search and reveal limits.
            .env("LDBDS__RATE_LIMIT__SEARCH__PER_SECOND", "10000000")
            .env("LDBDS__RATE_LIMIT__SEARCH__BURST", "10000000")
            .env("LDBDS__RATE_LIMIT__REVEAL__PER_SECOND", "10000000")
            .env("LDBDS__RATE_LIMIT__REVEAL__BURST", "10000000")
            .env("LDBDS__LOG__LEVEL", "error")
            .env_remove("RUST_LOG");
    }

    /// The first node's address (seeding, checks).
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.ports[0])
    }

    /// Every node's address.
    pub fn addrs(&self) -> Vec<String> {
        self.ports.iter().map(|p| format!("127.0.0.1:{p}")).collect()
    }

    /// Runs an `ldbds` command to completion; returns its stdout.
    pub async fn ldbds(&self, args: &[&str]) -> anyhow::Result<String> {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args).stdin(Stdio::null());
        self.env(&mut cmd);
        let out = cmd.output().await?;
        if !out.status.success() {
            bail!("ldbds {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Starts `ldbds serve` on every node's port, one after the other, each waited for
    /// until its `/readyz` answers 200.
    pub async fn start_server(&mut self) -> anyhow::Result<()> {
        for addr in self.addrs() {
            let mut cmd = Command::new(&self.bin);
            cmd.arg("serve").stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::inherit()).kill_on_drop(true);
            self.env(&mut cmd);
            cmd.env("LDBDS__SERVER__BIND", &addr);
            self.servers.push(cmd.spawn()?);
            let mut ready = false;
            for _ in 0..200 {
                if let Ok(mut conn) = crate::http::Conn::open(&addr, "").await
                    && let Ok((status, _)) = conn.send(&crate::http::Call::get("/readyz")).await
                    && status.is_success()
                {
                    ready = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if !ready {
                bail!("the server did not become ready on {addr}");
            }
        }
        Ok(())
    }

    /// The largest peak resident set (VmHWM) of the nodes, in MiB.
    #[allow(clippy::cast_precision_loss)]
    pub fn server_peak_rss_mib(&self) -> Option<f64> {
        let peak = |child: &Child| -> Option<u64> {
            let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()?)).ok()?;
            status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()
        };
        let kib = self.servers.iter().filter_map(peak).max()?;
        Some(kib as f64 / 1024.0)
    }

    pub async fn stop_server(&mut self) {
        for mut child in self.servers.drain(..) {
            let _ = child.kill().await;
        }
    }

    pub async fn exec(&self, sql: &str) -> anyhow::Result<()> {
        self.sql.execute_unprepared(sql).await.with_context(|| format!("SQL failed: {sql}"))?;
        Ok(())
    }

    /// One integer from a query whose single column is named `n`.
    pub async fn count(&self, sql: &str) -> anyhow::Result<i64> {
        let row = self
            .sql
            .query_one_raw(Statement::from_string(self.db_backend(), sql))
            .await?
            .with_context(|| format!("no row: {sql}"))?;
        Ok(row.try_get::<i64>("", "n")?)
    }

    /// Strings of the single column `v`.
    pub async fn strings(&self, sql: &str) -> anyhow::Result<Vec<String>> {
        let rows = self.sql.query_all_raw(Statement::from_string(self.db_backend(), sql)).await?;
        rows.iter().map(|r| r.try_get::<String>("", "v").map_err(Into::into)).collect()
    }

    pub fn db_backend(&self) -> DbBackend {
        match self.backend {
            Backend::Sqlite => DbBackend::Sqlite,
            Backend::Postgres => DbBackend::Postgres,
        }
    }

    /// Stops the server and removes the database and the working directory.
    pub async fn cleanup(mut self) {
        self.stop_server().await;
        let _ = self.sql.close_by_ref().await;
        if let Some((base, name)) = &self.pg_admin
            && let Ok(admin) = Database::connect(format!("{base}/postgres")).await
        {
            let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
        }
        let _ = std::fs::remove_dir_all(&self.work);
    }
}

/// Writes `rows` generated leads as the importer's CSV (Korean headers, unique phones,
/// `regions` in turn).
pub fn write_leads_csv(path: &Path, rows: u64, regions: &[&str]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "이름,연락처,지역,이메일,생년월일")?;
    for i in 0..rows {
        let region = regions[usize::try_from(i)? % regions.len()];
        writeln!(
            out,
            "고객{},{},{region},c{i}@example.com,19{}-0{}-1{}",
            i % 997,
            kr_phone(i),
            50 + i % 50,
            1 + i % 9,
            i % 10
        )?;
    }
    out.flush()?;
    Ok(())
}

/// The generated phone of row `i`: unique for i < 50,000,000.
pub fn kr_phone(i: u64) -> String {
    format!("010-{:04}-{:04}", 5000 + i / 10_000, i % 10_000)
}

pub const KR_REGIONS: [&str; 17] = [
    "서울", "부산", "대구", "인천", "광주", "대전", "울산", "세종", "경기", "강원", "충북", "충남", "전북", "전남",
    "경북", "경남", "제주",
];
