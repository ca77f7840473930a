//! Outbound counsel cases in and out of Excel: the `.xlsx` upload of
//! `saveObCsCounselInfoListExcel` read into a [`Sheet`] ([`read_sheet`]) and its rows into
//! [`NewCounselCase`]s ([`Sheet::cases`], given the customers of the cases its rows name;
//! [`read_cases`] when none do), and the cases of `getObCsCounselInfoListExcel` written as
//! a workbook ([`write_cases`]). An export read back with its `상담번호` column mapped to
//! `cnslNo` is a valid import: the round trip.
//!
//! Invariants of the import (the row rules are `domain::counsel_sheet`'s):
//! - the bytes are refused before anything is decompressed when they are over
//!   [`MAX_FILE_BYTES`], are no zip archive (an `.xls`, an encrypted workbook, a CSV, ...),
//!   hold over [`MAX_ZIP_ENTRIES`] entries, or when the uncompressed sizes their zip
//!   central directory declares add up to over [`MAX_UNCOMPRESSED_BYTES`] (a zip bomb);
//!   the central directory is read with the `zip` crate (the one calamine itself uses),
//!   which also fails any entry that inflates past its declared size, so the declared
//!   sizes bound what calamine can ever decompress;
//! - only the first sheet is read, streamed cell by cell, keeping the cells of the listed
//!   columns only; reading stops at the first row over [`MAX_ROWS`] data rows;
//! - a file calamine cannot read is [`SheetError::NotXlsx`] with its reason, never a
//!   panic: the reading runs under `catch_unwind`, and a panic inside the parser is
//!   reported as an unreadable file;
//! - all or nothing: every row is validated, and one bad row makes the whole file
//!   [`SheetError::Rows`] with every error of every row, in sheet order;
//! - reading is synchronous and CPU-bound (about 0.2 s for 50,000 rows, release build on
//!   2 cores): call it from `web::block`/`spawn_blocking`, not on an async worker.
//!
//! Invariants of the export:
//! - [`ExportRow`] carries the customer's name and phone in plain text, and
//!   [`write_cases`] masks them (`mask_name`, `mask_phone`): masking happens here, in one
//!   place, so a caller cannot forget it; no other column holds customer data;
//! - every text is written as a string cell, never a formula (a `=...` in a case's content
//!   stays text); a text over Excel's 32,767 characters is cut to fit;
//! - the sheet has Korean headers, a frozen header row, an auto-filter, fixed column widths,
//!   and dates as real date-times (`yyyy-mm-dd hh:mm:ss`) in the caller's offset.

use std::collections::HashMap;
use std::io::{Cursor, Read, Seek};
use std::panic::{AssertUnwindSafe, catch_unwind};

use calamine::{Reader, Xlsx};
use domain::counsel::{CaseStatus, NewCounselCase};
use domain::counsel_sheet::{
    CaseTypes, ColumnMap, ExportRow, MAX_FILE_BYTES, MAX_ROWS, MAX_UNCOMPRESSED_BYTES, MAX_ZIP_ENTRIES, Sheet,
    SheetError, SheetRow, is_blank_row, is_header_row,
};
use domain::error::RepoError;
use domain::import::Cell;
use domain::pii::mask::{mask_name, mask_phone};
use domain::ports::CounselWorkbook;
use rust_xlsxwriter::{ExcelDateTime, Format, FormatAlign, Workbook, XlsxError};
use time::{OffsetDateTime, UtcOffset};

use crate::import::xlsx_cell;

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const CFB_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Checks the container before any decompression: size, zip magic, central directory.
///
/// # Errors
/// [`SheetError::TooLarge`], [`SheetError::NotXlsx`] or [`SheetError::ZipBomb`].
pub fn check_container(bytes: &[u8]) -> Result<(), SheetError> {
    let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if len > MAX_FILE_BYTES {
        return Err(SheetError::TooLarge { bytes: len });
    }
    if bytes.is_empty() {
        return Err(SheetError::NotXlsx("the file is empty".into()));
    }
    if bytes.starts_with(CFB_MAGIC) {
        return Err(SheetError::NotXlsx(
            "an Excel 97-2003 (.xls) or password-protected workbook: save it as an unprotected .xlsx".into(),
        ));
    }
    if !bytes.starts_with(ZIP_MAGIC) {
        return Err(SheetError::NotXlsx("an .xlsx file is a zip archive, and this file is not one".into()));
    }
    let archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| SheetError::NotXlsx(format!("a damaged zip archive ({e})")))?;
    if archive.len() > MAX_ZIP_ENTRIES {
        return Err(SheetError::ZipBomb(format!("{} zip entries, over {MAX_ZIP_ENTRIES}", archive.len())));
    }
    let mut declared: u64 = 0;
    let mut workbook = false;
    for i in 0..archive.len() {
        let entry =
            archive.by_index_data(i).map_err(|e| SheetError::NotXlsx(format!("a damaged zip archive ({e})")))?;
        declared = declared.saturating_add(entry.size());
        workbook |= entry.name_raw() == b"xl/workbook.xml";
    }
    if declared > MAX_UNCOMPRESSED_BYTES {
        return Err(SheetError::ZipBomb(format!(
            "its entries declare {declared} bytes uncompressed, over {MAX_UNCOMPRESSED_BYTES}"
        )));
    }
    if !workbook {
        let what = if archive.index_for_name("mimetype").is_some() || archive.index_for_name("content.xml").is_some() {
            "an OpenDocument (.ods) file: save it as .xlsx"
        } else {
            "a zip archive without an Excel workbook (no xl/workbook.xml)"
        };
        return Err(SheetError::NotXlsx(what.into()));
    }
    Ok(())
}

/// The rows of the first sheet that are not blank in their first `columns` cells, each
/// cut to those cells. At most `MAX_ROWS + 1` rows (a header and [`MAX_ROWS`] data rows).
///
/// # Errors
/// The container errors of [`check_container`], [`SheetError::NotXlsx`] for a workbook
/// calamine cannot read, [`SheetError::TooManyRows`].
pub fn read_rows(bytes: &[u8], columns: usize) -> Result<Vec<SheetRow>, SheetError> {
    check_container(bytes)?;
    let read = catch_unwind(AssertUnwindSafe(|| -> Result<Vec<SheetRow>, SheetError> {
        let mut workbook = Xlsx::new(Cursor::new(bytes)).map_err(|e| SheetError::NotXlsx(e.to_string()))?;
        sheet_rows(&mut workbook, columns)
    }));
    read.unwrap_or_else(|_| Err(SheetError::NotXlsx("the workbook could not be parsed".into())))
}

fn sheet_rows<R: Read + Seek>(workbook: &mut Xlsx<R>, columns: usize) -> Result<Vec<SheetRow>, SheetError> {
    let not_xlsx = |e: &dyn std::fmt::Display| SheetError::NotXlsx(e.to_string());
    let Some(sheet) = workbook.sheet_names().first().cloned() else {
        return Err(SheetError::NotXlsx("the workbook has no sheet".into()));
    };
    let mut cells = workbook.worksheet_cells_reader(&sheet).map_err(|e| not_xlsx(&e))?;
    let mut rows: Vec<SheetRow> = Vec::new();
    let mut current: Option<SheetRow> = None;
    let push = |row: SheetRow, rows: &mut Vec<SheetRow>| {
        if row.1.iter().any(|c| !matches!(c, Cell::Empty) && !matches!(c, Cell::Text(t) if t.trim().is_empty())) {
            if rows.len() > MAX_ROWS {
                return Err(SheetError::TooManyRows);
            }
            rows.push(row);
        }
        Ok(())
    };
    while let Some(cell) = cells.next_cell().map_err(|e| not_xlsx(&e))? {
        let (r, c) = cell.get_position();
        let row = u64::from(r) + 1;
        if current.as_ref().is_some_and(|(n, _)| *n != row)
            && let Some(done) = current.take()
        {
            push(done, &mut rows)?;
        }
        let Ok(column) = usize::try_from(c) else { continue };
        if column >= columns {
            continue;
        }
        let (_, values) = current.get_or_insert_with(|| (row, Vec::with_capacity(columns)));
        if values.len() <= column {
            values.resize(column + 1, Cell::Empty);
        }
        values[column] = xlsx_cell(cell.get_value());
    }
    if let Some(done) = current {
        push(done, &mut rows)?;
    }
    Ok(rows)
}

/// The data rows of the first sheet under `map` (the first row not blank in the listed
/// columns skipped when it is a header).
///
/// # Errors
/// The errors of [`read_rows`]; [`SheetError::TooManyRows`].
pub fn read_sheet(bytes: &[u8], map: &ColumnMap) -> Result<Sheet, SheetError> {
    let rows = read_rows(bytes, map.len())?;
    let mut data = rows.into_iter().filter(|(_, cells)| !is_blank_row(map, cells)).peekable();
    if data.peek().is_some_and(|(_, cells)| is_header_row(map, cells)) {
        data.next();
    }
    Sheet::new(map.clone(), data.collect())
}

/// The cases of an upload whose rows name no existing case: [`read_sheet`] then
/// [`Sheet::cases`] (a row naming a case is reported as naming an unknown one).
///
/// # Errors
/// See [`SheetError`]; [`SheetError::Rows`] holds every error of every bad row.
pub fn read_cases(bytes: &[u8], map: &ColumnMap, types: &CaseTypes) -> Result<Vec<NewCounselCase>, SheetError> {
    read_sheet(bytes, map)?.cases(types, &HashMap::new())
}

/// The export's columns: Korean header and width (in characters).
pub const EXPORT_COLUMNS: [(&str, f64); 12] = [
    ("상담번호", 38.0),
    ("회원번호", 14.0),
    ("주문번호", 20.0),
    ("접수내용", 48.0),
    ("고객명", 14.0),
    ("고객연락처", 16.0),
    ("상담유형번호", 14.0),
    ("OB유형번호", 12.0),
    ("상태", 8.0),
    ("담당자", 14.0),
    ("접수일시", 20.0),
    ("배정일시", 20.0),
];

/// The Korean label of a status.
#[must_use]
pub fn status_label(status: CaseStatus) -> &'static str {
    match status {
        CaseStatus::Waiting => "대기",
        CaseStatus::Assigned => "배정",
        CaseStatus::Completed => "완료",
    }
}

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0} cases do not fit in one sheet (at most 1,048,575)")]
    TooManyRows(usize),
    #[error("writing the workbook: {0}")]
    Xlsx(#[from] XlsxError),
}

/// Excel's longest cell text.
const MAX_CELL_CHARS: usize = 32_767;
/// Excel's last row (0-based), the header taking row 0.
const MAX_SHEET_ROWS: usize = 1_048_575;

fn cell_text(text: &str) -> String {
    if text.chars().count() <= MAX_CELL_CHARS {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(MAX_CELL_CHARS - 1).collect();
        cut.push('…');
        cut
    }
}

fn excel_datetime(at: OffsetDateTime, offset: UtcOffset) -> Result<ExcelDateTime, XlsxError> {
    let at = at.to_offset(offset);
    let year = u16::try_from(at.year()).map_err(|_| XlsxError::DateTimeRangeError(at.year().to_string()))?;
    ExcelDateTime::from_ymd(year, u8::from(at.month()), at.day())?.and_hms(
        u16::from(at.hour()),
        at.minute(),
        f64::from(at.second()),
    )
}

/// The cases as an `.xlsx` workbook of one sheet, `상담목록` (see the module invariants);
/// date-times are shown at `offset` (Asia/Seoul is `+09:00`).
///
/// # Errors
/// More rows than a sheet holds, or a writer failure (a date before 1900).
pub fn write_cases(rows: &[ExportRow], offset: UtcOffset) -> Result<Vec<u8>, ExportError> {
    if rows.len() > MAX_SHEET_ROWS {
        return Err(ExportError::TooManyRows(rows.len()));
    }
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("상담목록")?;
    let header = Format::new().set_bold().set_background_color(0x00D9_E1F2).set_align(FormatAlign::Center);
    let when = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let text = Format::new();
    for (col, (label, width)) in (0u16..).zip(EXPORT_COLUMNS) {
        sheet.write_string_with_format(0, col, label, &header)?;
        sheet.set_column_width(col, width)?;
    }
    for (row, case) in (1u32..).zip(rows) {
        let texts: [Option<&str>; 10] = [
            Some(&case.cnsl_no),
            case.mbr_no.as_deref(),
            case.ord_no.as_deref(),
            case.accp_cont.as_deref(),
            None,
            None,
            Some(&case.cnsl_typ_no),
            case.ob_typ_no.as_deref(),
            Some(status_label(case.status)),
            case.manager.as_deref(),
        ];
        let name = case.cust_nm.as_deref().map(mask_name);
        let phone = case.cust_tel.as_deref().map(mask_phone);
        for (col, value) in (0u16..).zip(texts) {
            let value = match col {
                4 => name.as_deref(),
                5 => phone.as_deref(),
                _ => value,
            };
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                sheet.write_string_with_format(row, col, cell_text(value), &text)?;
            }
        }
        sheet.write_datetime_with_format(row, 10, excel_datetime(case.received_at, offset)?, &when)?;
        if let Some(at) = case.assigned_at {
            sheet.write_datetime_with_format(row, 11, excel_datetime(at, offset)?, &when)?;
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    let last_row = u32::try_from(rows.len()).unwrap_or(u32::MAX);
    sheet.autofilter(0, 0, last_row, 11)?;
    Ok(workbook.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_no_xlsx_and_never_a_panic() {
        for bytes in [&b""[..], b"mbrNo,custTelNo\n1,010", CFB_MAGIC, b"PK\x03\x04 truncated", b"PK\x05\x06"] {
            assert!(matches!(check_container(bytes), Err(SheetError::NotXlsx(_))), "{bytes:?}");
        }
    }

    #[test]
    fn long_texts_are_cut_to_an_excel_cell() {
        assert_eq!(cell_text("짧다"), "짧다");
        let long = "가".repeat(40_000);
        assert_eq!(cell_text(&long).chars().count(), MAX_CELL_CHARS);
    }
}

/// The `.xlsx` reader and writer behind `domain::ports::CounselWorkbook`: each call runs
/// on tokio's blocking pool, off the request's worker.
#[derive(Debug, Clone, Copy, Default)]
pub struct XlsxWorkbook;

impl CounselWorkbook for XlsxWorkbook {
    async fn read(&self, bytes: Vec<u8>, map: ColumnMap) -> Result<Sheet, SheetError> {
        tokio::task::spawn_blocking(move || read_sheet(&bytes, &map))
            .await
            .unwrap_or_else(|e| Err(SheetError::NotXlsx(format!("the reader stopped: {e}"))))
    }

    async fn write(&self, rows: Vec<ExportRow>, offset: UtcOffset) -> Result<Vec<u8>, RepoError> {
        tokio::task::spawn_blocking(move || write_cases(&rows, offset))
            .await
            .map_err(|e| RepoError::Unavailable(format!("excel writer: {e}")))?
            .map_err(|e| RepoError::Unavailable(format!("excel writer: {e}")))
    }
}
