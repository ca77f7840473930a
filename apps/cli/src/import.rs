//! `ldbds import FILE --source CODE [--product ID|CODE]`: leads from a CSV or XLSX file
//! into a product's pool (see `infra::import` for the invariants).
//!
//! Bad usage (an unknown source or product, a file that is not CSV/XLSX, a header without
//! the required columns) exits 2 before anything is written; a bad row is reported and
//! the import goes on; the summary names the report.
//!
//! Statements: the import's batches are counted under the use case [`USE_CASE`], its
//! one-off lookups under [`SETUP_USE_CASE`] and its migrations under
//! [`MIGRATE_USE_CASE`]; `--statements-json PATH` (or
//! `LDBDS_STATEMENTS_JSON`) writes the counts by kind with the rows and the batch size
//! after a completed import, so the harness can judge the statements per batch.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use domain::intake::Source;
use domain::ports::ReferenceRepository;
use domain::reference::{Product, Region};
use indicatif::{ProgressBar, ProgressStyle};
use infra::config::Settings;
use infra::db::Db;
use infra::import::{ImportError, ImportOptions, ImportSource, ImportSummary, import_file};
use infra::leads::SeaLeadRepository;
use infra::reference::SeaReferenceRepository;

use crate::{Usage, open};

pub(crate) struct ImportArgs {
    pub file: PathBuf,
    pub source: String,
    pub product: Option<String>,
    pub batch: usize,
    pub errors: Option<PathBuf>,
    /// Where the statement counts go (else `LDBDS_STATEMENTS_JSON`, else nowhere).
    pub statements_json: Option<PathBuf>,
}

/// The use case an import's statements are counted under.
pub(crate) const USE_CASE: &str = "import";
/// The use case of what an import reads once before its first batch ([`setup`]).
pub(crate) const SETUP_USE_CASE: &str = "import-setup";
/// The use case of the migrations an import applies first.
pub(crate) const MIGRATE_USE_CASE: &str = "import-migrate";
/// The variable `--statements-json` falls back to.
pub(crate) const STATEMENTS_JSON_ENV: &str = "LDBDS_STATEMENTS_JSON";

pub(crate) async fn run(settings: Settings, mut args: ImportArgs) -> anyhow::Result<()> {
    let statements_json =
        args.statements_json.take().or_else(|| std::env::var_os(STATEMENTS_JSON_ENV).map(PathBuf::from));
    let batch = args.batch.max(1);
    let rows = infra::statements::scoped(USE_CASE, import(settings, args)).await?;
    if let Some(path) = statements_json {
        write_statements(&path, rows, batch).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// The statement counts of this process by use case and kind, with the import's rows and
/// batch size: `{"rows": 100000, "batch": 500, "statements": {"import": {"select": 3, ..}, ..}}`.
fn write_statements(path: &std::path::Path, rows: u64, batch: usize) -> anyhow::Result<()> {
    let mut by_use_case = serde_json::Map::new();
    for c in infra::statements::snapshot() {
        let kinds = by_use_case.entry(c.use_case).or_insert_with(|| serde_json::json!({}));
        kinds[c.kind.as_str()] = serde_json::json!(c.total);
    }
    let body = serde_json::json!({ "rows": rows, "batch": batch, "statements": by_use_case });
    std::fs::write(path, serde_json::to_string_pretty(&body)?)?;
    Ok(())
}

/// What an import reads once before its first batch: the source, the product and the
/// regions (counted under [`SETUP_USE_CASE`], apart from the per-batch statements).
async fn setup(db: &Db, args: &ImportArgs) -> anyhow::Result<(Source, Product, Vec<Region>)> {
    let source = infra::orgs::find_source(db.conn(), &args.source)
        .await?
        .ok_or_else(|| Usage(format!("no source with code {}", args.source)))?;
    let product_id = match args.product.as_deref() {
        Some(text) => match text.parse() {
            Ok(id) => id,
            Err(_) => infra::fixtures::product_id_by_code(db.conn(), text)
                .await?
                .ok_or_else(|| Usage(format!("no product with id or code {text}")))?,
        },
        None => source
            .default_product_id
            .ok_or_else(|| Usage(format!("source {} has no default product: name one with --product", source.code)))?,
    };
    let reference = SeaReferenceRepository::new(db.conn().clone());
    let product = reference
        .find_product(product_id)
        .await?
        .ok_or_else(|| Usage(format!("no product with id or code {product_id}")))?;
    let regions = reference.list_regions(None).await?;
    Ok((source, product, regions))
}

/// The import itself; returns the rows read.
async fn import(settings: Settings, args: ImportArgs) -> anyhow::Result<u64> {
    let (keyring, _) = infra::vault::keyring_from_settings(&settings)?;
    let db = open(&settings).await?;
    infra::statements::scoped(MIGRATE_USE_CASE, db.migrate_up()).await?;
    let (source, product, regions) = infra::statements::scoped(SETUP_USE_CASE, setup(&db, &args)).await?;
    let leads = SeaLeadRepository::new(db.clone(), Arc::new(keyring));
    let mut options = ImportOptions::for_file(&args.file);
    options.batch_size = args.batch.max(1);
    if let Some(path) = args.errors {
        options.report_path = path;
    }
    let total = std::fs::metadata(&args.file).map(|m| m.len()).ok();
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed} {msg}") {
            bar.set_style(style);
        }
        bar
    });
    let progress = |s: &ImportSummary| {
        let line = format!(
            "{} rows: {} imported ({} delivered), {} duplicates, {} rejected",
            s.rows, s.imported, s.delivered, s.duplicates, s.rejected
        );
        match &bar {
            Some(bar) => bar.set_message(line),
            None => eprintln!("{line}"),
        }
    };
    let from = ImportSource { org_id: source.org_id, source_id: source.id };
    let summary = match import_file(&leads, &product, &regions, from, &args.file, &options, progress).await {
        Ok(summary) => summary,
        Err(ImportError::Storage(e)) => {
            return Err(e)
                .context("storage failed; the batches before it stay imported, run the import again to complete it");
        }
        Err(ImportError::Report { path, source }) => {
            return Err(source).with_context(|| format!("cannot write the error report {}", path.display()));
        }
        Err(e) => return Err(Usage(e.to_string()).into()),
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    print_summary(&summary, &product.name, total);
    db.close().await?;
    Ok(summary.rows)
}

fn print_summary(s: &ImportSummary, product: &str, bytes: Option<u64>) {
    let seconds = s.elapsed.as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    let rate = if seconds > 0.0 { s.rows as f64 / seconds } else { 0.0 };
    println!(
        "import into {product}: {} rows in {seconds:.1} s ({rate:.0} rows/s{})",
        s.rows,
        bytes.map(|b| format!(", {b} bytes")).unwrap_or_default()
    );
    println!("  imported:   {} ({} delivered to orders, {} pooled)", s.imported, s.delivered, s.pooled);
    println!("  duplicates: {}", s.duplicates);
    if s.held > 0 {
        println!("  held:       {} (another provider sent the phone: flagged for the operator)", s.held);
    }
    println!("  rejected:   {}", s.rejected);
    if let Some(report) = &s.report {
        println!("  error report: {}", report.display());
    }
    if !s.ignored_columns.is_empty() {
        println!("  ignored columns (not imported): {}", s.ignored_columns.join(", "));
    }
}
