//! `ldbds import`: a CSV or XLSX file of leads streamed into the pool of one product.
//!
//! Invariants:
//! - the file is read on its own thread and handed over row by row through a bounded
//!   channel, so memory stays flat whatever the file's size, and reading overlaps the
//!   database writes;
//! - every row is validated by `domain::import` (the API's own rules); a bad row is
//!   written to the error report (`row,field,reason`, one line per bad field) and never
//!   stops the import;
//! - valid rows are taken in batches, each one transaction through
//!   [`SeaLeadRepository::intake_batch`] (dedupe, encryption, pool, offer to the
//!   engine): a batch is written whole or not at all;
//! - re-running a file imports nothing twice: its leads are now duplicates (same phone
//!   and product inside the product's duplicate window), counted as such; so an import
//!   stopped half-way is completed by running it again;
//! - a row whose phone only another provider org sent is held, not refused (see
//!   `crate::intake`): stored flagged `DUPLICATE_OTHER_PROVIDER`, counted in `held`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use calamine::{DataRef, Reader, Xlsx, open_workbook};
use domain::error::RepoError;
use domain::import::{Cell, Header, HeaderError, RegionLookup, RowError, parse_row};
use domain::lead::NewLead;
use domain::reference::{Product, Region};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::leads::SeaLeadRepository;
use domain::intake::{IntakeIds, IntakeOutcome};

/// Why an import could not run (a bad row is not one of these: it is reported).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Open { path: PathBuf, source: std::io::Error },
    #[error("{0}: only .csv and .xlsx files can be imported")]
    Format(PathBuf),
    #[error("row {row} is not UTF-8 text: save the file as CSV UTF-8")]
    NotUtf8 { row: u64 },
    #[error("the CSV file is malformed: {0}")]
    Csv(String),
    #[error("the XLSX file cannot be read: {0}")]
    Xlsx(String),
    #[error("{0}")]
    Header(#[from] HeaderError),
    #[error("cannot write the error report {path}: {source}")]
    Report { path: PathBuf, source: std::io::Error },
    #[error("storage: {0}")]
    Storage(#[from] RepoError),
}

/// What the import is told besides the file.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Valid rows per transaction.
    pub batch_size: usize,
    /// Where the row-level error report goes.
    pub report_path: PathBuf,
}

impl ImportOptions {
    /// Batches of 500 rows; the report beside the file (`leads.csv` → `leads.errors.csv`).
    #[must_use]
    pub fn for_file(path: &Path) -> Self {
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "import".to_owned());
        Self { batch_size: 500, report_path: path.with_file_name(format!("{stem}.errors.csv")) }
    }
}

/// Where an import stands (after each batch, and at the end).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Data rows read (the header and blank rows not counted).
    pub rows: u64,
    /// New leads written (delivered + pooled).
    pub imported: u64,
    pub delivered: u64,
    pub pooled: u64,
    /// Rows whose lead this org already sent (this file run before, or another of its
    /// sources): nothing written.
    pub duplicates: u64,
    /// Rows whose phone only another provider org sent inside the window: stored flagged
    /// `DUPLICATE_OTHER_PROVIDER` for the operator, delivered to no order.
    pub held: u64,
    /// Rows refused by validation (each in the report).
    pub rejected: u64,
    /// Header labels that name no field (their columns were not imported).
    pub ignored_columns: Vec<String>,
    /// The error report, when there was a rejected row.
    pub report: Option<PathBuf>,
    pub elapsed: Duration,
}

/// A row as read: its number in the file (1-based) and its cells.
type Row = (u64, Vec<Cell>);

/// Reads `path` on a thread of its own; rows arrive on the returned channel (a read error
/// ends it).
fn spawn_reader(path: &Path) -> Result<mpsc::Receiver<Result<Row, ImportError>>, ImportError> {
    let extension = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    let open = |source| ImportError::Open { path: path.to_owned(), source };
    let (tx, rx) = mpsc::channel(1024);
    match extension.as_str() {
        "csv" => {
            let file = std::fs::File::open(path).map_err(open)?;
            std::thread::spawn(move || read_csv(file, &tx));
        }
        "xlsx" => {
            let workbook: Xlsx<_> =
                open_workbook(path).map_err(|e: calamine::XlsxError| ImportError::Xlsx(e.to_string()))?;
            std::thread::spawn(move || read_xlsx(workbook, &tx));
        }
        _ => return Err(ImportError::Format(path.to_owned())),
    }
    Ok(rx)
}

fn read_csv(file: impl Read, tx: &mpsc::Sender<Result<Row, ImportError>>) {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(file);
    let mut record = csv::ByteRecord::new();
    let mut row: u64 = 0;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => return,
            Ok(true) => {}
            Err(e) => {
                let _ = tx.blocking_send(Err(ImportError::Csv(e.to_string())));
                return;
            }
        }
        row += 1;
        let mut cells = Vec::with_capacity(record.len());
        for (i, field) in record.iter().enumerate() {
            // A byte-order mark (spreadsheets write one) is not part of the first label.
            let field = if row == 1 && i == 0 { field.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(field) } else { field };
            let Ok(text) = std::str::from_utf8(field) else {
                let _ = tx.blocking_send(Err(ImportError::NotUtf8 { row }));
                return;
            };
            cells.push(if text.is_empty() { Cell::Empty } else { Cell::Text(text.to_owned()) });
        }
        if tx.blocking_send(Ok((row, cells))).is_err() {
            return;
        }
    }
}

/// A calamine cell as a domain cell (the lead import and the counsel import).
pub(crate) fn xlsx_cell(value: &DataRef<'_>) -> Cell {
    match value {
        DataRef::Empty => Cell::Empty,
        // Sheet integers stay far below 2^53 in practice; above, the rounding is the sheet's.
        #[allow(clippy::cast_precision_loss)]
        DataRef::Int(i) => Cell::Number(*i as f64),
        DataRef::Float(f) => Cell::Number(*f),
        DataRef::String(s) => Cell::Text(s.clone()),
        DataRef::SharedString(s) => Cell::Text((*s).to_owned()),
        DataRef::Bool(b) => Cell::Text(b.to_string()),
        DataRef::DateTime(d) if d.is_datetime() => {
            let (y, m, day, ..) = d.to_ymd_hms_milli();
            time::Month::try_from(m)
                .ok()
                .and_then(|m| time::Date::from_calendar_date(i32::from(y), m, day).ok())
                .map_or_else(|| Cell::Number(d.as_f64()), Cell::Date)
        }
        DataRef::DateTime(d) => Cell::Number(d.as_f64()),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => Cell::Text(s.clone()),
        DataRef::Error(e) => Cell::Text(format!("#{e}")),
    }
}

fn read_xlsx<R: Read + std::io::Seek>(mut workbook: Xlsx<R>, tx: &mpsc::Sender<Result<Row, ImportError>>) {
    let fail = |e: &dyn std::fmt::Display| {
        let _ = tx.blocking_send(Err(ImportError::Xlsx(e.to_string())));
    };
    let Some(sheet) = workbook.sheet_names().first().cloned() else {
        return fail(&"the workbook has no sheet");
    };
    let mut cells = match workbook.worksheet_cells_reader(&sheet) {
        Ok(reader) => reader,
        Err(e) => return fail(&e),
    };
    let mut current: Option<Row> = None;
    loop {
        let cell = match cells.next_cell() {
            Ok(Some(cell)) => cell,
            Ok(None) => break,
            Err(e) => return fail(&e),
        };
        let (r, c) = cell.get_position();
        let row = u64::from(r) + 1;
        if current.as_ref().is_some_and(|(n, _)| *n != row)
            && let Some(done) = current.take()
            && tx.blocking_send(Ok(done)).is_err()
        {
            return;
        }
        let (_, values) = current.get_or_insert_with(|| (row, Vec::new()));
        let column = usize::try_from(c).unwrap_or(usize::MAX);
        if column < 16_384 {
            if values.len() <= column {
                values.resize(column + 1, Cell::Empty);
            }
            values[column] = xlsx_cell(cell.get_value());
        }
    }
    if let Some(done) = current {
        let _ = tx.blocking_send(Ok(done));
    }
}

/// The error report, created on the first rejected row.
struct Report {
    path: PathBuf,
    writer: Option<csv::Writer<std::fs::File>>,
}

impl Report {
    fn write(&mut self, errors: &[RowError]) -> Result<(), ImportError> {
        let io = |source| ImportError::Report { path: self.path.clone(), source };
        if self.writer.is_none() {
            let mut writer = csv::Writer::from_path(&self.path).map_err(|e| io(e.into()))?;
            writer.write_record(["row", "field", "reason"]).map_err(|e| io(e.into()))?;
            self.writer = Some(writer);
        }
        if let Some(writer) = self.writer.as_mut() {
            for e in errors {
                writer.write_record([e.row.to_string().as_str(), &e.field, &e.reason]).map_err(|e| io(e.into()))?;
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<Option<PathBuf>, ImportError> {
        match self.writer {
            Some(mut writer) => {
                writer.flush().map_err(|source| ImportError::Report { path: self.path.clone(), source })?;
                Ok(Some(self.path))
            }
            None => Ok(None),
        }
    }
}

/// Who the imported leads come from.
#[derive(Debug, Clone, Copy)]
pub struct ImportSource {
    pub org_id: Uuid,
    pub source_id: Uuid,
}

/// Imports `path` into `product`'s pool (see the module invariants). `progress` is called
/// after each batch with the running totals.
///
/// # Errors
/// An unreadable file or header, a report that cannot be written, or a storage failure
/// (the batches before it stay imported; running the file again completes it).
pub async fn import_file(
    leads: &SeaLeadRepository,
    product: &Product,
    regions: &[Region],
    from: ImportSource,
    path: &Path,
    options: &ImportOptions,
    mut progress: impl FnMut(&ImportSummary),
) -> Result<ImportSummary, ImportError> {
    let started = Instant::now();
    let mut rows = spawn_reader(path)?;
    let regions = RegionLookup::new(regions);
    let mut summary = ImportSummary::default();
    let labels = match rows.recv().await {
        Some(Ok((_, cells))) => cells.iter().map(label).collect::<Vec<_>>(),
        Some(Err(e)) => return Err(e),
        None => return Err(HeaderError::Empty.into()),
    };
    let header = Header::parse(&labels)?;
    summary.ignored_columns.clone_from(&header.ignored);
    let mut report = Report { path: options.report_path.clone(), writer: None };
    let batch_size = options.batch_size.max(1);
    let mut batch: Vec<(NewLead, IntakeIds)> = Vec::with_capacity(batch_size);
    let mut today = OffsetDateTime::now_utc().date();
    // The planner's statistics lag a bulk load (autovacuum analyzes after the fact): the
    // duplicate lookup must not be planned for a table a fraction of its size.
    let mut analyze_at = 5_000;
    while let Some(next) = rows.recv().await {
        let (row, cells) = next?;
        match parse_row(&header, row, &cells, product.id, &regions, today) {
            Ok(None) => continue,
            Ok(Some(lead)) => batch.push((lead, IntakeIds::default())),
            Err(errors) => {
                summary.rejected += 1;
                report.write(&errors)?;
            }
        }
        summary.rows += 1;
        if batch.len() >= batch_size {
            take(leads, product, from, &mut batch, &mut summary).await?;
            if summary.imported >= analyze_at {
                leads.refresh_statistics().await?;
                analyze_at = summary.imported.saturating_mul(2);
            }
            summary.elapsed = started.elapsed();
            progress(&summary);
            today = OffsetDateTime::now_utc().date();
        }
    }
    take(leads, product, from, &mut batch, &mut summary).await?;
    summary.report = report.finish()?;
    summary.elapsed = started.elapsed();
    progress(&summary);
    Ok(summary)
}

fn label(cell: &Cell) -> String {
    match cell {
        Cell::Empty => String::new(),
        Cell::Text(t) => t.clone(),
        Cell::Number(n) => n.to_string(),
        Cell::Date(d) => d.to_string(),
    }
}

async fn take(
    leads: &SeaLeadRepository,
    product: &Product,
    from: ImportSource,
    batch: &mut Vec<(NewLead, IntakeIds)>,
    summary: &mut ImportSummary,
) -> Result<(), ImportError> {
    if batch.is_empty() {
        return Ok(());
    }
    let outcomes = leads.intake_batch(product, batch, from.org_id, from.source_id, OffsetDateTime::now_utc()).await?;
    for outcome in outcomes {
        match outcome {
            IntakeOutcome::Duplicate { .. } => summary.duplicates += 1,
            IntakeOutcome::Held { .. } => summary.held += 1,
            IntakeOutcome::Pooled { .. } => {
                summary.imported += 1;
                summary.pooled += 1;
            }
            IntakeOutcome::Delivered { .. } => {
                summary.imported += 1;
                summary.delivered += 1;
            }
        }
    }
    batch.clear();
    Ok(())
}
