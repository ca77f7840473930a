//! Outbound counsel cases from a spreadsheet (`saveObCsCounselInfoListExcel`): the
//! `excelColumns` map, the request's type numbers, and each sheet row turned into a
//! [`NewCounselCase`] or the list of what is wrong with it. Pure: the file itself is read
//! by `infra::counsel_excel`.
//!
//! Invariants:
//! - `excelColumns` lists one key per sheet column, in sheet order: `mbrNo` (회원번호),
//!   `ordNo` (주문번호), `accpCont` (접수내용), `custNm` (고객명), `custTelNo` (고객연락처),
//!   or `skip` for a column to ignore. A key is matched without regard to ASCII case or
//!   surrounding spaces, and its Korean label is accepted for it (`고객연락처` = `custTelNo`).
//!   The list must name `custTelNo` and at least one of `mbrNo`/`ordNo`; `accpCont` and
//!   `custNm` are optional columns. An unknown key, a key named twice (`skip` excepted), an
//!   empty item (`a,,b`: write `skip`), an empty list or more than [`MAX_COLUMNS`] items is
//!   a field error on `excelColumns`; every such error is reported, not only the first;
//! - sheet columns after the last listed one are ignored, as are `skip` columns;
//! - the first non-blank row is a header, and skipped, when its `custTelNo` cell is text
//!   without a single digit (a label: `고객연락처`, `custTelNo`, `연락처`, ...); otherwise it
//!   is data. A label can never be a phone number, and a data row whose phone has a digit
//!   is validated (and reported if bad), so no case is ever dropped silently as a header;
//! - a row is blank, and skipped, when every listed (non-`skip`) cell is blank;
//! - a row is accepted only if every listed cell is valid; otherwise every bad cell is
//!   reported as a [`RowError`] naming the row (its number in the sheet, 1-based, the
//!   header being row 1) and the column key. Cell rules:
//!   - `custTelNo` is required, a Korean or Vietnamese mobile ([`PhoneNumber::parse`]); a
//!     numeric cell of 9 or 10 digits gets back the leading zero the spreadsheet dropped
//!     (`1012345678` → `01012345678`); a negative, fractional or non-finite number is no
//!     phone; a masked value (`010-****-5678`, from an export) is refused as masked;
//!   - `mbrNo`/`ordNo`: at least one of them per row; each 1 to [`MAX_NO_CHARS`] visible
//!     ASCII characters (`!`..=`~`); a numeric cell must be a whole number below 2^53
//!     (above it the spreadsheet has already rounded it: type it as text);
//!   - `custNm` is optional, a [`PersonName`]; a masked name (holding `*`) is refused;
//!   - `accpCont` is optional, NFC-normalized, at most [`MAX_ACCP_CONT_CHARS`] characters,
//!     with no control character other than tab and line breaks;
//!   - text is trimmed; a blank cell is a missing value;
//! - `cnslTypNo` and `obTypNo` are checked once per request ([`CaseTypes::parse`]), 1 to
//!   [`MAX_TYP_NO_CHARS`] ASCII letters or digits each, and copied into every case;
//! - errors name keys and positions, never echo a cell's value (it may be personal data).

use unicode_normalization::UnicodeNormalization;

use crate::counsel::NewCounselCase;
use crate::error::{FieldError, ValidationError};
use crate::import::Cell;
use crate::pii::{PersonName, PhoneNumber};

/// Most data rows (the header excluded) one file may hold.
pub const MAX_ROWS: usize = 50_000;
/// Largest upload, in bytes (20 MiB).
pub const MAX_FILE_BYTES: u64 = 20 * 1024 * 1024;
/// Most bytes the zip entries of one upload may declare, all together, uncompressed
/// (100 MiB): checked before anything is decompressed.
pub const MAX_UNCOMPRESSED_BYTES: u64 = 100 * 1024 * 1024;
/// Most zip entries an upload may hold (a workbook has a few dozen).
pub const MAX_ZIP_ENTRIES: usize = 10_000;
/// Most items in `excelColumns`.
pub const MAX_COLUMNS: usize = 64;
/// Longest `accpCont`, in characters.
pub const MAX_ACCP_CONT_CHARS: usize = 2_000;
/// Longest `mbrNo` or `ordNo`, in characters.
pub const MAX_NO_CHARS: usize = 40;
/// Longest `cnslTypNo` or `obTypNo`, in characters.
pub const MAX_TYP_NO_CHARS: usize = 20;

const COLUMNS_FIELD: &str = "excelColumns";

/// What a sheet column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnKey {
    MbrNo,
    OrdNo,
    AccpCont,
    CustNm,
    CustTelNo,
    /// A column to ignore.
    Skip,
}

impl ColumnKey {
    pub const ALL: [Self; 6] = [Self::MbrNo, Self::OrdNo, Self::AccpCont, Self::CustNm, Self::CustTelNo, Self::Skip];

    /// The key as `excelColumns` and the row errors spell it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::MbrNo => "mbrNo",
            Self::OrdNo => "ordNo",
            Self::AccpCont => "accpCont",
            Self::CustNm => "custNm",
            Self::CustTelNo => "custTelNo",
            Self::Skip => "skip",
        }
    }

    /// The Korean label (the export's header); `skip` has none.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::MbrNo => "회원번호",
            Self::OrdNo => "주문번호",
            Self::AccpCont => "접수내용",
            Self::CustNm => "고객명",
            Self::CustTelNo => "고객연락처",
            Self::Skip => "",
        }
    }

    /// A key of `excelColumns`: the key in any ASCII case or its Korean label, trimmed.
    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        Self::ALL.into_iter().find(|k| k.as_str().eq_ignore_ascii_case(raw) || (*k != Self::Skip && k.label() == raw))
    }
}

/// The spreadsheet column letters of a 0-based index (`0` → `A`, `27` → `AB`).
#[must_use]
pub fn column_letters(index: usize) -> String {
    let mut n = index + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        // rem < 26: always an ASCII capital.
        letters.push(char::from(b'A' + u8::try_from(rem).unwrap_or(0)));
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect()
}

/// `excelColumns`, parsed: the key of each sheet column, in sheet order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMap {
    columns: Vec<ColumnKey>,
}

impl ColumnMap {
    /// Parses `mbrNo,ordNo,accpCont,custNm,custTelNo` (see the module invariants).
    ///
    /// # Errors
    /// Field errors on `excelColumns`: an empty list, too many items, an empty item, an
    /// unknown key, a key named twice, or a required key missing — all of them.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        if raw.trim().is_empty() {
            return Err(ValidationError::single(
                COLUMNS_FIELD,
                "is required: column keys in sheet order, e.g. mbrNo,ordNo,accpCont,custNm,custTelNo",
            ));
        }
        let items: Vec<&str> = raw.split(',').collect();
        if items.len() > MAX_COLUMNS {
            return Err(ValidationError::single(COLUMNS_FIELD, format!("must list at most {MAX_COLUMNS} columns")));
        }
        let mut errors = Vec::new();
        let mut columns = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let at = format!("item {} (column {})", i + 1, column_letters(i));
            if item.trim().is_empty() {
                errors.push(FieldError::new(COLUMNS_FIELD, format!("{at} is empty: write `skip` to ignore a column")));
                columns.push(ColumnKey::Skip);
                continue;
            }
            match ColumnKey::parse(item) {
                Some(key) => {
                    if key != ColumnKey::Skip
                        && let Some(first) = columns.iter().position(|k| *k == key)
                    {
                        errors.push(FieldError::new(
                            COLUMNS_FIELD,
                            format!("{at} names `{}` again (first at item {})", key.as_str(), first + 1),
                        ));
                    }
                    columns.push(key);
                }
                None => {
                    let shown: String = item.trim().chars().take(40).collect();
                    errors.push(FieldError::new(
                        COLUMNS_FIELD,
                        format!(
                            "{at} `{shown}` is no column key: use mbrNo, ordNo, accpCont, custNm, custTelNo or skip"
                        ),
                    ));
                    columns.push(ColumnKey::Skip);
                }
            }
        }
        if !columns.contains(&ColumnKey::CustTelNo) {
            errors.push(FieldError::new(COLUMNS_FIELD, "must name the `custTelNo` column"));
        }
        if !columns.contains(&ColumnKey::MbrNo) && !columns.contains(&ColumnKey::OrdNo) {
            errors.push(FieldError::new(COLUMNS_FIELD, "must name the `mbrNo` or the `ordNo` column"));
        }
        if errors.is_empty() { Ok(Self { columns }) } else { Err(ValidationError(errors)) }
    }

    /// The key of each sheet column, in order.
    #[must_use]
    pub fn columns(&self) -> &[ColumnKey] {
        &self.columns
    }

    /// How many sheet columns are listed (the ones after them are ignored).
    #[must_use]
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// Never true: a parsed map names at least two columns.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// The 0-based sheet column of `key` (`skip`: the first one).
    #[must_use]
    pub fn position(&self, key: ColumnKey) -> Option<usize> {
        self.columns.iter().position(|k| *k == key)
    }
}

/// The request's `cnslTypNo` and `obTypNo`, checked once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseTypes {
    cnsl_typ_no: String,
    ob_typ_no: String,
}

impl CaseTypes {
    /// # Errors
    /// A field error on `cnslTypNo` and/or `obTypNo` when it is not 1 to
    /// [`MAX_TYP_NO_CHARS`] ASCII letters or digits (exactly: the API document's pattern).
    pub fn parse(cnsl_typ_no: &str, ob_typ_no: &str) -> Result<Self, ValidationError> {
        let check = |field: &str, raw: &str, errors: &mut Vec<FieldError>| {
            if raw.is_empty() || raw.len() > MAX_TYP_NO_CHARS || !raw.bytes().all(|b| b.is_ascii_alphanumeric()) {
                errors.push(FieldError::new(field, format!("must be 1 to {MAX_TYP_NO_CHARS} letters or digits")));
            }
            raw.to_owned()
        };
        let mut errors = Vec::new();
        let cnsl_typ_no = check("cnslTypNo", cnsl_typ_no, &mut errors);
        let ob_typ_no = check("obTypNo", ob_typ_no, &mut errors);
        if errors.is_empty() { Ok(Self { cnsl_typ_no, ob_typ_no }) } else { Err(ValidationError(errors)) }
    }

    #[must_use]
    pub fn cnsl_typ_no(&self) -> &str {
        &self.cnsl_typ_no
    }

    #[must_use]
    pub fn ob_typ_no(&self) -> &str {
        &self.ob_typ_no
    }
}

/// The three query parameters of an import, checked together: every field error at once.
///
/// # Errors
/// The field errors of [`ColumnMap::parse`] and [`CaseTypes::parse`], together.
pub fn parse_request(
    excel_columns: &str,
    cnsl_typ_no: &str,
    ob_typ_no: &str,
) -> Result<(ColumnMap, CaseTypes), ValidationError> {
    match (ColumnMap::parse(excel_columns), CaseTypes::parse(cnsl_typ_no, ob_typ_no)) {
        (Ok(map), Ok(types)) => Ok((map, types)),
        (map, types) => {
            let mut errors = map.err().map(|e| e.0).unwrap_or_default();
            errors.extend(types.err().map(|e| e.0).unwrap_or_default());
            Err(ValidationError(errors))
        }
    }
}

/// One thing wrong with one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The row's number in the sheet, 1-based (the header is row 1).
    pub row: u64,
    /// The column's key (never `skip`).
    pub column: ColumnKey,
    /// Why, in words a user can act on; never the cell's value.
    pub reason: String,
}

fn is_blank(cell: &Cell) -> bool {
    match cell {
        Cell::Empty => true,
        Cell::Text(t) => t.trim().is_empty(),
        Cell::Number(_) | Cell::Date(_) => false,
    }
}

/// The cells of the listed, non-`skip` columns, with their keys.
fn listed<'a>(map: &'a ColumnMap, cells: &'a [Cell]) -> impl Iterator<Item = (ColumnKey, &'a Cell)> {
    map.columns.iter().zip(cells).filter(|(k, _)| **k != ColumnKey::Skip).map(|(k, c)| (*k, c))
}

/// Whether every listed (non-`skip`) cell of the row is blank.
#[must_use]
pub fn is_blank_row(map: &ColumnMap, cells: &[Cell]) -> bool {
    listed(map, cells).all(|(_, c)| is_blank(c))
}

/// Whether the first non-blank row is a header: its `custTelNo` cell is text without a
/// digit (see the module invariants).
#[must_use]
pub fn is_header_row(map: &ColumnMap, cells: &[Cell]) -> bool {
    match map.position(ColumnKey::CustTelNo).and_then(|i| cells.get(i)) {
        Some(Cell::Text(t)) => !t.trim().is_empty() && !t.chars().any(|c| c.is_ascii_digit()),
        _ => false,
    }
}

/// A number as the integer text it was typed as, when it is one a spreadsheet holds exactly.
fn integer_text(n: f64) -> Option<String> {
    (n.is_finite() && n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0).then(|| format!("{n:.0}"))
}

fn cell_text(cell: &Cell) -> Option<String> {
    match cell {
        Cell::Empty => None,
        Cell::Text(t) => Some(t.trim().to_owned()),
        Cell::Number(n) => Some(integer_text(*n).unwrap_or_else(|| n.to_string())),
        Cell::Date(d) => Some(d.to_string()),
    }
    .filter(|t| !t.is_empty())
}

/// An `mbrNo`/`ordNo` cell: `Ok(None)` when blank.
fn number_text(cell: &Cell) -> Result<Option<String>, String> {
    let text = match cell {
        Cell::Number(n) => match integer_text(*n) {
            Some(t) => Some(t),
            None => return Err("must be text or a whole number below 2^53 (type long numbers as text)".to_owned()),
        },
        other => cell_text(other),
    };
    match text {
        Some(t) if t.chars().count() > MAX_NO_CHARS || !t.bytes().all(|b| b.is_ascii_graphic()) => {
            Err(format!("must be 1 to {MAX_NO_CHARS} visible ASCII characters (letters, digits, symbols; no spaces)"))
        }
        other => Ok(other),
    }
}

/// A `custTelNo` cell: `Ok(None)` when blank.
fn phone(cell: &Cell) -> Result<Option<PhoneNumber>, String> {
    let text = match cell {
        Cell::Number(n) => match integer_text(*n) {
            Some(t) if t.bytes().all(|b| b.is_ascii_digit()) => {
                if t.len() == 9 || t.len() == 10 {
                    format!("0{t}")
                } else {
                    t
                }
            }
            _ => return Err("must be text or a whole positive number".to_owned()),
        },
        other => match cell_text(other) {
            Some(t) => t,
            None => return Ok(None),
        },
    };
    if text.contains('*') {
        return Err("is masked (a masked phone from an export cannot be imported)".to_owned());
    }
    PhoneNumber::parse(&text).map(Some).map_err(|e| first_reason(&e, "is not a Korean or Vietnamese mobile number"))
}

/// A `custNm` cell: `Ok(None)` when blank.
fn name(cell: &Cell) -> Result<Option<PersonName>, String> {
    let Some(text) = cell_text(cell) else { return Ok(None) };
    if text.contains('*') {
        return Err("is masked (a masked name from an export cannot be imported)".to_owned());
    }
    PersonName::parse(&text).map(Some).map_err(|e| first_reason(&e, "is not a valid name"))
}

/// An `accpCont` cell: `Ok(None)` when blank.
fn content(cell: &Cell) -> Result<Option<String>, String> {
    let Some(text) = cell_text(cell) else { return Ok(None) };
    let text: String = text.nfc().collect();
    if text.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
        return Err("must not hold control characters".to_owned());
    }
    if text.chars().count() > MAX_ACCP_CONT_CHARS {
        return Err(format!("must be at most {MAX_ACCP_CONT_CHARS} characters"));
    }
    Ok(Some(text))
}

fn first_reason(e: &ValidationError, fallback: &str) -> String {
    e.0.first().map_or_else(|| fallback.to_owned(), |f| f.reason.clone())
}

/// A sheet row as a case of `types`: `Ok(None)` for a blank row (skipped).
///
/// `row` is the row's number in the sheet (1-based); `cells` are the row's cells from
/// column A on (missing cells are blank, cells after the listed columns are ignored).
///
/// # Errors
/// Every bad cell of the row, each with `row` and its column key.
pub fn validate_row(
    map: &ColumnMap,
    row: u64,
    cells: &[Cell],
    types: &CaseTypes,
) -> Result<Option<NewCounselCase>, Vec<RowError>> {
    if is_blank_row(map, cells) {
        return Ok(None);
    }
    let mut errors = Vec::new();
    let mut fail = |column: ColumnKey, reason: String| errors.push(RowError { row, column, reason });
    let mut case = NewCounselCase {
        cnsl_typ_no: types.cnsl_typ_no.clone(),
        ob_typ_no: Some(types.ob_typ_no.clone()),
        mbr_no: None,
        ord_no: None,
        accp_cont: None,
        cust_nm: None,
        cust_tel: None,
        as_id: None,
    };
    for (key, cell) in listed(map, cells) {
        let outcome = match key {
            ColumnKey::MbrNo => number_text(cell).map(|v| case.mbr_no = v),
            ColumnKey::OrdNo => number_text(cell).map(|v| case.ord_no = v),
            ColumnKey::AccpCont => content(cell).map(|v| case.accp_cont = v),
            ColumnKey::CustNm => name(cell).map(|v| case.cust_nm = v),
            ColumnKey::CustTelNo => phone(cell).map(|v| case.cust_tel = v),
            ColumnKey::Skip => Ok(()),
        };
        if let Err(reason) = outcome {
            fail(key, reason);
        }
    }
    let reported = |errors: &[RowError], key: ColumnKey| errors.iter().any(|e| e.column == key);
    if case.cust_tel.is_none() && !reported(&errors, ColumnKey::CustTelNo) {
        errors.push(RowError { row, column: ColumnKey::CustTelNo, reason: "is required".to_owned() });
    }
    if case.mbr_no.is_none()
        && case.ord_no.is_none()
        && !reported(&errors, ColumnKey::MbrNo)
        && !reported(&errors, ColumnKey::OrdNo)
    {
        let column = if map.position(ColumnKey::MbrNo).is_some() { ColumnKey::MbrNo } else { ColumnKey::OrdNo };
        errors.push(RowError { row, column, reason: "is required: a row needs mbrNo or ordNo".to_owned() });
    }
    if errors.is_empty() { Ok(Some(case)) } else { Err(errors) }
}

#[cfg(test)]
mod tests;
